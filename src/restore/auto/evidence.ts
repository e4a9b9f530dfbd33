/**
 * Raw image statistics behind the degradation scores (private module; `analyzeDegradations` in
 * analyze.ts is the public door). Every function is pure and O(N).
 *
 * Two working pictures are used:
 *
 * - the *overview*: the image box-averaged by an integer factor so that its longer side is at
 *   most OVERVIEW_MAX_SIDE pixels. Global properties (haze veil, exposure, rain streak field)
 *   are scale-free, and a fixed working size keeps the cost bounded for any input;
 * - the *detail crop*: the luminance at the native resolution, the central (at most)
 *   DETAIL_MAX_SIDE x DETAIL_MAX_SIDE pixels, with its origin on the 8x8 grid. Noise and JPEG
 *   blocking live at the pixel level and a downscale would hide them (averaging f x f pixels
 *   divides the noise by f and erases the 8x8 grid). Blur uses the same crop, taken from the
 *   image box-averaged to at most BLUR_MAX_SIDE (the native image up to that size).
 *
 * Luminance is BT.601 luma of the sRGB-encoded values (0.299 R + 0.587 G + 0.114 B), in [0, 1].
 */
import type { RawImage } from '../../core/image/types.js';
import { minOverChannels } from '../../core/filters/darkChannel.js';
import { minFilterInto } from '../../core/filters/minFilter.js';
import { boxMeanInto } from '../../core/filters/box.js';
import { defaultPatchRadius } from '../dehaze/prior.js';
import { luma601, lumaPlane } from '../../core/colour.js';

/** Longer side of the overview, in pixels. */
export const OVERVIEW_MAX_SIDE = 640;
/** Side of the native-resolution detail crop, in pixels (a multiple of 8). */
export const DETAIL_MAX_SIDE = 768;
/**
 * Blur is judged on the image box-averaged to a longer side of at most this many pixels (then the
 * central DETAIL_MAX_SIDE crop): multi-megapixel photographs are soft at the pixel level
 * (demosaicing, lens, in-camera noise reduction) without looking blurred, and the calibration
 * images are all smaller than this.
 */
export const BLUR_MAX_SIDE = 1280;

/** Every statistic the scores are computed from. Names say what they measure; units in the comments. */
export interface DegradationEvidence {
  /** Input size and channels (the calibration images are all colour). */
  width: number;
  height: number;
  channels: 1 | 3;
  /** Box-averaging factor of the overview (1 = native). */
  overviewFactor: number;
  /** Size of the native-resolution detail crop. */
  detailWidth: number;
  detailHeight: number;
  /** Box-averaging factor of the picture blur is measured on (1 = native). */
  blurFactor: number;

  // Haze: dark channel prior (He et al. 2009) on the overview, patch radius defaultPatchRadius.
  /** Patch radius of the dark channel, overview pixels. */
  darkChannelRadius: number;
  /** Mean, median and 90th percentile of the dark channel, [0, 1]. */
  darkChannelMean: number;
  darkChannelMedian: number;
  darkChannelP90: number;
  /**
   * Mean dark channel over the non-sky pixels. Sky (bright, smooth: luminance > 0.55 and local
   * standard deviation < 0.02 in a 7x7 window) has a high dark channel in clear weather too.
   */
  darkChannelNonSkyMean: number;
  /** Median of the dark channel over the non-sky pixels, [0, 1]. */
  darkChannelNonSkyMedian: number;
  /** Fraction of overview pixels classed as sky. */
  skyFraction: number;
  /** Mean HSV saturation (max - min) / max over the non-sky pixels, [0, 1] (0 for grey images). Haze desaturates. */
  saturationMean: number;
  /** Mean local contrast: mean over the non-sky pixels of the 7x7 local standard deviation of luminance. */
  localContrast: number;

  // Exposure: luminance histogram of the overview.
  luminanceMean: number;
  luminanceP5: number;
  luminanceP50: number;
  luminanceP95: number;
  /** Fraction of pixels with luminance < 0.1 (about 26/255 in sRGB). */
  darkFraction: number;

  // Noise (detail crop).
  /**
   * Immerkaer's fast noise estimate ("Fast noise variance estimation", CVIU 1996) over the whole
   * crop, in 8-bit grey levels: sqrt(pi/2) / (6 (W-2)(H-2)) * sum |I * N|, N the 3x3 Laplacian
   * difference mask [1 -2 1; -2 4 -2; 1 -2 1]. Texture inflates it.
   */
  noiseSigmaImmerkaer: number;
  /**
   * The same estimator per 16x16 block, and the 10th percentile over the blocks that are not
   * clipped (mean luminance in [0.02, 0.98]): the flattest tenth of the picture, where texture
   * cannot pass for noise. 8-bit grey levels.
   */
  noiseSigma: number;

  // Blur (detail crop of the picture averaged by blurFactor).
  /** Variance of the 4-neighbour Laplacian of luminance, in squared 8-bit grey levels. */
  laplacianVariance: number;
  /**
   * Crete et al.'s no-reference blur ("The blur effect: perception and estimation with a new
   * no-reference perceptual blur metric", SPIE 2007): the share of the neighbour-difference
   * energy that survives re-blurring with a 9-tap box, max over the two directions. 0 = sharp,
   * 1 = completely blurred; clean photographs are typically 0.2-0.4.
   */
  blurCrete: number;

  // JPEG blocking (detail crop).
  /**
   * Blockiness: mean |horizontal neighbour difference| across the columns of the strongest 8-px
   * phase, over the mean at the other 7 phases, averaged with the same ratio for rows. 1 = no
   * grid; JPEG at quality <= 20 gives ~1.5 and above.
   */
  blockiness: number;
  /** The same ratio measured only where the picture is smooth inside the blocks (see blockinessProfile). */
  blockinessFlat: number;
  /** Phase (0-7) of the strongest column and row discontinuity. */
  blockGridX: number;
  blockGridY: number;

  // Rain streaks: ridge analysis of the overview luminance. Bright thin lines are pixels where
  // the Hessian of the smoothed luminance (binomial, sigma 1) has one strongly negative
  // eigenvalue and one near zero: ridge strength = max(0, -l_min - |l_max|); streakStats keeps
  // only the ridges that persist along their direction (long lines).
  /** Dominant orientation of the persistent bright lines within 45 degrees of vertical, degrees from horizontal (90 = vertical). */
  streakOrientationDeg: number;
  /** Resultant length of the doubled orientation angles of all bright ridges, weighted by strength, [0, 1]. */
  streakCoherence: number;
  /** Persistent bright-line strength per overview pixel within +-15 degrees of the dominant orientation, x 1000. */
  streakEnergy: number;
  /** (band - perpendicular band) / (band + perpendicular band) of that energy, [-1, 1]. */
  streakAnisotropy: number;
  /** Fraction of the cells of a 4x4 grid whose band energy density reaches half the image mean. */
  streakCoverage: number;
}

// ---------------------------------------------------------------------------------------------

export function luminance(img: RawImage): Float32Array {
  return lumaPlane(img);
}

/** Box-average by an integer factor (the last partial row/column of blocks is dropped). */
export function boxDownscale(img: RawImage, f: number): RawImage {
  if (f <= 1) return img;
  const { width: w, channels: c, data } = img;
  const ow = Math.max(1, Math.floor(img.width / f));
  const oh = Math.max(1, Math.floor(img.height / f));
  const fx = Math.min(f, img.width);
  const fy = Math.min(f, img.height);
  const out = new Float32Array(ow * oh * c);
  const acc = new Float64Array(ow * c);
  const inv = 1 / (fx * fy);
  for (let oy = 0; oy < oh; oy++) {
    acc.fill(0);
    for (let dy = 0; dy < fy; dy++) {
      const row = (oy * fy + dy) * w;
      if (c === 3) {
        for (let ox = 0, j = row * 3, a = 0; ox < ow; ox++, a += 3) {
          let r = 0;
          let g = 0;
          let b = 0;
          for (let dx = 0; dx < fx; dx++, j += 3) {
            r += data[j];
            g += data[j + 1];
            b += data[j + 2];
          }
          acc[a] += r;
          acc[a + 1] += g;
          acc[a + 2] += b;
        }
      } else {
        for (let ox = 0, j = row; ox < ow; ox++) {
          let v = 0;
          for (let dx = 0; dx < fx; dx++, j++) v += data[j];
          acc[ox] += v;
        }
      }
    }
    const o = oy * ow * c;
    for (let k = 0; k < ow * c; k++) out[o + k] = acc[k] * inv;
  }
  return { width: ow, height: oh, channels: c, data: out };
}

/** Percentiles from a 1024-bin histogram of values clamped to [0, 1] (bin centres; error < 5e-4). */
function percentilesUnit(values: Float32Array, ps: readonly number[], mask?: Uint8Array): number[] {
  const BINS = 1024;
  const hist = new Float64Array(BINS);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask && !mask[i]) continue;
    const v = values[i];
    const b = v <= 0 ? 0 : v >= 1 ? BINS - 1 : Math.floor(v * BINS);
    hist[b]++;
    count++;
  }
  if (count === 0) return ps.map(() => 0);
  return ps.map((p) => {
    const target = p * count;
    let cum = 0;
    for (let b = 0; b < BINS; b++) {
      cum += hist[b];
      if (cum >= target && cum > 0) return (b + 0.5) / BINS;
    }
    return 1;
  });
}

/** Generic percentile (sorting a copy). */
function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return 0;
  const s = Float64Array.from(values).sort();
  const pos = Math.min(s.length - 1, Math.max(0, p * (s.length - 1)));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

// ---------------------------------------------------------------------------------------------
// Overview statistics: haze and exposure

type OverviewStats = Pick<
  DegradationEvidence,
  | 'darkChannelRadius'
  | 'darkChannelMean'
  | 'darkChannelMedian'
  | 'darkChannelP90'
  | 'darkChannelNonSkyMean'
  | 'darkChannelNonSkyMedian'
  | 'skyFraction'
  | 'saturationMean'
  | 'localContrast'
  | 'luminanceMean'
  | 'luminanceP5'
  | 'luminanceP50'
  | 'luminanceP95'
  | 'darkFraction'
>;

function overviewStats(ov: RawImage, lum: Float32Array): OverviewStats {
  const { width: w, height: h } = ov;
  const n = w * h;
  const radius = defaultPatchRadius(w, h);
  const dark = minOverChannels(ov);
  // Saturation before the min filter overwrites the per-pixel minimum.
  const sat = new Float32Array(n);
  if (ov.channels === 3) {
    const d = ov.data;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const r = d[j];
      const g = d[j + 1];
      const b = d[j + 2];
      const mx = r > g ? (r > b ? r : b) : g > b ? g : b;
      sat[i] = mx > 0.02 ? (mx - dark[i]) / mx : 0;
    }
  }
  minFilterInto(dark, w, h, radius, dark);

  // Local standard deviation of luminance in a 7x7 window.
  const tmp = new Float32Array(n);
  const m1 = new Float32Array(n);
  boxMeanInto(lum, w, h, 3, m1, tmp);
  const sq = new Float32Array(n);
  for (let i = 0; i < n; i++) sq[i] = lum[i] * lum[i];
  boxMeanInto(sq, w, h, 3, sq, tmp);

  const nonSky = new Uint8Array(n);
  let skyCount = 0;
  let dSum = 0;
  let dNonSky = 0;
  let satSum = 0;
  let contrastSum = 0;
  let lSum = 0;
  let darkPix = 0;
  for (let i = 0; i < n; i++) {
    const sd = Math.sqrt(Math.max(0, sq[i] - m1[i] * m1[i]));
    const sky = lum[i] > 0.55 && sd < 0.02;
    dSum += dark[i];
    lSum += lum[i];
    if (lum[i] < 0.1) darkPix++;
    if (sky) {
      skyCount++;
      continue;
    }
    nonSky[i] = 1;
    dNonSky += dark[i];
    satSum += sat[i];
    contrastSum += sd;
  }
  const nonSkyCount = n - skyCount;
  const [dMed, dP90] = percentilesUnit(dark, [0.5, 0.9]);
  const [dNsMed] = nonSkyCount > 0 ? percentilesUnit(dark, [0.5], nonSky) : [dMed];
  const [lP5, lP50, lP95] = percentilesUnit(lum, [0.05, 0.5, 0.95]);
  return {
    darkChannelRadius: radius,
    darkChannelMean: dSum / n,
    darkChannelMedian: dMed,
    darkChannelP90: dP90,
    darkChannelNonSkyMean: nonSkyCount > 0 ? dNonSky / nonSkyCount : dSum / n,
    darkChannelNonSkyMedian: dNsMed,
    skyFraction: skyCount / n,
    saturationMean: nonSkyCount > 0 ? satSum / nonSkyCount : 0,
    localContrast: nonSkyCount > 0 ? contrastSum / nonSkyCount : 0,
    luminanceMean: lSum / n,
    luminanceP5: lP5,
    luminanceP50: lP50,
    luminanceP95: lP95,
    darkFraction: darkPix / n,
  };
}

// ---------------------------------------------------------------------------------------------
// Rain streaks

type StreakStats = Pick<DegradationEvidence, 'streakOrientationDeg' | 'streakCoherence' | 'streakEnergy' | 'streakAnisotropy' | 'streakCoverage'>;

/** [1 2 1]/4 in both directions (edges replicated); returns a new plane. */
function binomial3(src: Float32Array, w: number, h: number): Float32Array {
  const tmp = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const l = src[o + (x > 0 ? x - 1 : x)];
      const r = src[o + (x < w - 1 ? x + 1 : x)];
      tmp[o + x] = 0.25 * l + 0.5 * src[o + x] + 0.25 * r;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const u = (y > 0 ? y - 1 : y) * w;
    const c = y * w;
    const d = (y < h - 1 ? y + 1 : y) * w;
    for (let x = 0; x < w; x++) out[c + x] = 0.25 * tmp[u + x] + 0.5 * tmp[c + x] + 0.25 * tmp[d + x];
  }
  return out;
}

const ORIENT_BINS = 36; // 5 degrees each
/** Half width of the orientation band around the dominant streak direction, in bins (15 degrees). */
const BAND_BINS = 3;
/** Ridge strengths below this (luminance / px^2 after smoothing) are ignored as noise. */
const RIDGE_FLOOR = 0.004;
/** A ridge pixel persists when the ridge pixels this far along its line, both ways, share its orientation. */
const PERSIST_STEP = 4;
/** Orientation tolerance of the persistence test, in bins (10 degrees). */
const PERSIST_BINS = 2;
/** Streak directions searched: within 45 degrees of vertical (bins 9..27), where rain falls. */
const RAIN_BIN_MIN = 9;
const RAIN_BIN_MAX = 27;
const GRID = 4;

const binDistance = (a: number, b: number): number => {
  const d = Math.abs(a - b);
  return Math.min(d, ORIENT_BINS - d);
};

/**
 * Rain streaks: long, thin, bright, parallel lines spread over the picture.
 *
 * 1. Bright ridges of the smoothed luminance (Hessian, see DegradationEvidence) and their line
 *    orientation (5-degree bins).
 * 2. Persistence: a ridge pixel counts as part of a *line* only if the pixels PERSIST_STEP away
 *    along its direction, on both sides, are bright ridges of nearly the same orientation. Short
 *    texture (fur, foliage, noise, JPEG ringing) fails this; streaks and long thin lines pass.
 * 3. The dominant persistent orientation within 45 degrees of vertical; energy = persistent
 *    ridge strength in a +-15 degree band around it, per pixel; anisotropy = (band - perpendicular
 *    band) / (band + perpendicular band): rain has no counterpart across its direction, whereas a
 *    building's verticals come with horizontals; coverage = share of a 4x4 grid's cells holding at
 *    least half the mean band energy density (rain is everywhere).
 */
function streakStats(lum: Float32Array, w: number, h: number): StreakStats {
  const empty: StreakStats = { streakOrientationDeg: 90, streakCoherence: 0, streakEnergy: 0, streakAnisotropy: 0, streakCoverage: 0 };
  if (w < 4 * PERSIST_STEP || h < 4 * PERSIST_STEP) return empty;
  const s = binomial3(binomial3(lum, w, h), w, h); // Gaussian-like, sigma = 1
  const ridges = brightRidges(s, w, h);
  if (ridges.total === 0) return empty;
  const { persistent, hist } = persistentRidges(ridges.bright, ridges.bin, w, h);
  const { best, bestV, perp } = dominantBand(hist);
  const interior = (w - 2 * PERSIST_STEP) * (h - 2 * PERSIST_STEP);
  const covered = coveredCells(persistent, ridges.bin, best, bestV / interior, w, h);
  return {
    streakOrientationDeg: ((best + 0.5) * 180) / ORIENT_BINS,
    streakCoherence: Math.hypot(ridges.cx, ridges.cy) / ridges.total,
    streakEnergy: (1000 * bestV) / interior,
    streakAnisotropy: bestV + perp > 0 ? (bestV - perp) / (bestV + perp) : 0,
    streakCoverage: covered / (GRID * GRID),
  };
}

/**
 * Bright ridges of the smoothed luminance `s`: strength and orientation bin per pixel, and the
 * strength-weighted sum of the doubled orientation vectors (cx, cy) with the total strength.
 */
function brightRidges(s: Float32Array, w: number, h: number): { bright: Float32Array; bin: Uint8Array; cx: number; cy: number; total: number } {
  const n = w * h;
  const bright = new Float32Array(n);
  const bin = new Uint8Array(n);
  let cx = 0;
  let cy = 0;
  let total = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const c = s[i];
      const a = s[i - 1] - 2 * c + s[i + 1]; // Ixx
      const d = s[i - w] - 2 * c + s[i + w]; // Iyy
      const b = 0.25 * (s[i - w - 1] + s[i + w + 1] - s[i - w + 1] - s[i + w - 1]); // Ixy
      const half = 0.5 * (a - d);
      const disc = Math.sqrt(half * half + b * b);
      const mid = 0.5 * (a + d);
      const lMax = mid + disc;
      const lMin = mid - disc;
      const rb = -lMin - Math.abs(lMax);
      if (rb > RIDGE_FLOOR && disc > 0) {
        // Bright ridge: the line runs along the lMax axis, whose doubled angle is
        // (cos 2phi, sin 2phi) = (half, b) / disc.
        bright[i] = rb;
        let ang = 0.5 * Math.atan2(b, half);
        if (ang < 0) ang += Math.PI;
        const k = Math.floor((ang / Math.PI) * ORIENT_BINS);
        bin[i] = k >= ORIENT_BINS ? ORIENT_BINS - 1 : k;
        cx += (rb * half) / disc;
        cy += (rb * b) / disc;
        total += rb;
      }
    }
  }
  return { bright, bin, cx, cy, total };
}

/** The ridges that persist along their line (see streakStats), and their strength per orientation bin. */
function persistentRidges(bright: Float32Array, bin: Uint8Array, w: number, h: number): { persistent: Float32Array; hist: Float64Array } {
  const binCos = new Float64Array(ORIENT_BINS);
  const binSin = new Float64Array(ORIENT_BINS);
  for (let k = 0; k < ORIENT_BINS; k++) {
    const a = ((k + 0.5) * Math.PI) / ORIENT_BINS;
    binCos[k] = Math.round(PERSIST_STEP * Math.cos(a));
    binSin[k] = Math.round(PERSIST_STEP * Math.sin(a));
  }
  const persistent = new Float32Array(w * h);
  const hist = new Float64Array(ORIENT_BINS);
  for (let y = PERSIST_STEP; y < h - PERSIST_STEP; y++) {
    for (let x = PERSIST_STEP; x < w - PERSIST_STEP; x++) {
      const i = y * w + x;
      const v = bright[i];
      if (v === 0) continue;
      const k = bin[i];
      const off = binSin[k] * w + binCos[k];
      const j1 = i + off;
      const j2 = i - off;
      if (bright[j1] > 0 && bright[j2] > 0 && binDistance(bin[j1], k) <= PERSIST_BINS && binDistance(bin[j2], k) <= PERSIST_BINS) {
        persistent[i] = v;
        hist[k] += v;
      }
    }
  }
  return { persistent, hist };
}

/** Dominant near-vertical orientation: heaviest +-BAND_BINS window centred in the rain range; its energy and the perpendicular band's. */
function dominantBand(hist: Float64Array): { best: number; bestV: number; perp: number } {
  const bandSum = (centre: number): number => {
    let sum = 0;
    for (let d = -BAND_BINS; d <= BAND_BINS; d++) sum += hist[(centre + d + ORIENT_BINS) % ORIENT_BINS];
    return sum;
  };
  let best = 18;
  let bestV = -1;
  for (let k = RAIN_BIN_MIN; k <= RAIN_BIN_MAX; k++) {
    const v = bandSum(k);
    if (v > bestV) {
      bestV = v;
      best = k;
    }
  }
  return { best, bestV, perp: bandSum((best + ORIENT_BINS / 2) % ORIENT_BINS) };
}

/** Cells of the GRID x GRID grid whose band energy density reaches half the mean density. */
function coveredCells(persistent: Float32Array, bin: Uint8Array, best: number, meanDensity: number, w: number, h: number): number {
  const cell = new Float64Array(GRID * GRID);
  const cellCount = new Float64Array(GRID * GRID);
  for (let y = PERSIST_STEP; y < h - PERSIST_STEP; y++) {
    const gy = Math.min(GRID - 1, Math.floor((y * GRID) / h));
    for (let x = PERSIST_STEP; x < w - PERSIST_STEP; x++) {
      const i = y * w + x;
      const c = gy * GRID + Math.min(GRID - 1, Math.floor((x * GRID) / w));
      cellCount[c]++;
      if (persistent[i] > 0 && binDistance(bin[i], best) <= BAND_BINS) cell[c] += persistent[i];
    }
  }
  let covered = 0;
  for (let c = 0; c < GRID * GRID; c++) if (cellCount[c] > 0 && meanDensity > 0 && cell[c] / cellCount[c] >= 0.5 * meanDensity) covered++;
  return covered;
}

// ---------------------------------------------------------------------------------------------
// Detail crop: noise, blur, blocking

type DetailStats = Pick<DegradationEvidence, 'noiseSigmaImmerkaer' | 'noiseSigma' | 'blockiness' | 'blockinessFlat' | 'blockGridX' | 'blockGridY'>;

const NOISE_BLOCK = 16;

function detailStats(L: Float32Array, w: number, h: number): DetailStats {
  // Immerkaer, over the whole crop and per block.
  const bw = Math.floor((w - 2) / NOISE_BLOCK);
  const bh = Math.floor((h - 2) / NOISE_BLOCK);
  const blockSum = new Float64Array(Math.max(1, bw * bh));
  const blockLum = new Float64Array(Math.max(1, bw * bh));
  let absSum = 0;
  for (let y = 1; y < h - 1; y++) {
    const by = Math.floor((y - 1) / NOISE_BLOCK);
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const c = L[i];
      const up = L[i - w];
      const dn = L[i + w];
      const lf = L[i - 1];
      const rt = L[i + 1];
      const diag = L[i - w - 1] + L[i - w + 1] + L[i + w - 1] + L[i + w + 1];
      const m = Math.abs(4 * c - 2 * (up + dn + lf + rt) + diag);
      absSum += m;
      const bx = Math.floor((x - 1) / NOISE_BLOCK);
      if (bx < bw && by < bh) {
        blockSum[by * bw + bx] += m;
        blockLum[by * bw + bx] += c;
      }
    }
  }
  const interior = Math.max(1, (w - 2) * (h - 2));
  const k = Math.sqrt(Math.PI / 2) / 6;
  const noiseSigmaImmerkaer = 255 * k * (absSum / interior);
  const blockVals: number[] = [];
  const per = NOISE_BLOCK * NOISE_BLOCK;
  for (let b = 0; b < bw * bh; b++) {
    const ml = blockLum[b] / per;
    if (ml >= 0.02 && ml <= 0.98) blockVals.push(255 * k * (blockSum[b] / per));
  }
  const noiseSigma = blockVals.length ? percentile(blockVals, 0.1) : noiseSigmaImmerkaer;
  return { noiseSigmaImmerkaer, noiseSigma, ...blockinessProfile(L, w, h) };
}

/** Variance of the 4-neighbour Laplacian (squared 8-bit levels) and Crete's blur, on a luminance crop. */
function blurStats(L: Float32Array, w: number, h: number): { laplacianVariance: number; blurCrete: number } {
  let lapSum = 0;
  let lapSq = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1, i = y * w + 1; x < w - 1; x++, i++) {
      const lap = L[i - w] + L[i + w] + L[i - 1] + L[i + 1] - 4 * L[i];
      lapSum += lap;
      lapSq += lap * lap;
    }
  }
  const interior = Math.max(1, (w - 2) * (h - 2));
  const lapMean = lapSum / interior;
  return { laplacianVariance: 255 * 255 * Math.max(0, lapSq / interior - lapMean * lapMean), blurCrete: creteBlur(L, w, h) };
}

/** Crete et al. 2007, both directions, max of the two; every other row (column) is enough for the means. */
function creteBlur(L: Float32Array, w: number, h: number): number {
  const R = 4; // 9-tap box
  if (w < 2 * R + 3 || h < 2 * R + 3) return 0;
  // Horizontal.
  let sF = 0;
  let sV = 0;
  const rowB = new Float32Array(w);
  for (let y = 0; y < h; y += 2) {
    const o = y * w;
    let acc = 0;
    for (let x = 0; x < 2 * R + 1; x++) acc += L[o + x];
    for (let x = R; x < w - R; x++) {
      rowB[x] = acc / (2 * R + 1);
      if (x + R + 1 < w) acc += L[o + x + R + 1] - L[o + x - R];
    }
    for (let x = R + 1; x < w - R; x++) {
      const dF = Math.abs(L[o + x] - L[o + x - 1]);
      const dB = Math.abs(rowB[x] - rowB[x - 1]);
      sF += dF;
      sV += Math.max(0, dF - dB);
    }
  }
  const bh = sF > 0 ? (sF - sV) / sF : 1;
  // Vertical: running column sums, one row at a time.
  let tF = 0;
  let tV = 0;
  const acc = new Float64Array(w);
  for (let y = 0; y < 2 * R + 1; y++) for (let x = 0; x < w; x += 2) acc[x] += L[y * w + x];
  const prevB = new Float32Array(w);
  for (let y = R; y < h - R; y++) {
    for (let x = 0; x < w; x += 2) {
      const b = acc[x] / (2 * R + 1);
      if (y > R) {
        const dF = Math.abs(L[y * w + x] - L[(y - 1) * w + x]);
        const dB = Math.abs(b - prevB[x]);
        tF += dF;
        tV += Math.max(0, dF - dB);
      }
      prevB[x] = b;
      if (y + R + 1 < h) acc[x] += L[(y + R + 1) * w + x] - L[(y - R) * w + x];
    }
  }
  const bv = tF > 0 ? (tF - tV) / tF : 1;
  return Math.max(bh, bv);
}

/**
 * Blockiness along both axes. For every phase p in 0..7, the mean |difference| between
 * neighbours (x, x+1) with x = p (mod 8); the ratio of the strongest phase to the mean of the
 * others. `flat`: only the differences whose two within-block neighbours on each side are small
 * (both < 2/255), where the quantisation steps of a coarse JPEG are not masked by texture.
 * Column differences are taken on every other row and row differences on every other column
 * (the phase means need many samples, not all of them).
 */
function blockinessProfile(L: Float32Array, w: number, h: number): { blockiness: number; blockinessFlat: number; blockGridX: number; blockGridY: number } {
  const FLAT = 2 / 255;
  const hx = new Float64Array(8);
  const cx = new Float64Array(8);
  const fx = new Float64Array(8);
  const fcx = new Float64Array(8);
  for (let y = 0; y < h; y += 2) {
    const o = y * w;
    for (let x = 1; x < w - 2; x++) {
      const d = Math.abs(L[o + x + 1] - L[o + x]);
      const p = x & 7;
      hx[p] += d;
      cx[p]++;
      if (Math.abs(L[o + x] - L[o + x - 1]) < FLAT && Math.abs(L[o + x + 2] - L[o + x + 1]) < FLAT) {
        fx[p] += d;
        fcx[p]++;
      }
    }
  }
  const hy = new Float64Array(8);
  const cy = new Float64Array(8);
  const fy = new Float64Array(8);
  const fcy = new Float64Array(8);
  for (let y = 1; y < h - 2; y++) {
    const p = y & 7;
    const o = y * w;
    for (let x = 0; x < w; x += 2) {
      const d = Math.abs(L[o + w + x] - L[o + x]);
      hy[p] += d;
      cy[p]++;
      if (Math.abs(L[o + x] - L[o - w + x]) < FLAT && Math.abs(L[o + 2 * w + x] - L[o + w + x]) < FLAT) {
        fy[p] += d;
        fcy[p]++;
      }
    }
  }
  const rx = phaseRatio(hx, cx);
  const ry = phaseRatio(hy, cy);
  const frx = phaseRatio(fx, fcx);
  const fry = phaseRatio(fy, fcy);
  return { blockiness: 0.5 * (rx.ratio + ry.ratio), blockinessFlat: 0.5 * (frx.ratio + fry.ratio), blockGridX: rx.phase, blockGridY: ry.phase };
}

function phaseRatio(sum: Float64Array, count: Float64Array): { ratio: number; phase: number } {
  const mean = Array.from(sum, (s, p) => (count[p] > 0 ? s / count[p] : 0));
  let phase = 0;
  for (let p = 1; p < 8; p++) if (mean[p] > mean[phase]) phase = p;
  let others = 0;
  for (let p = 0; p < 8; p++) if (p !== phase) others += mean[p];
  others /= 7;
  return { ratio: others > 1e-9 ? mean[phase] / others : 1, phase };
}

// ---------------------------------------------------------------------------------------------

/** All the evidence for one image. */
export function computeEvidence(img: RawImage): DegradationEvidence {
  const { width: w, height: h } = img;
  const f = Math.max(1, Math.ceil(Math.max(w, h) / OVERVIEW_MAX_SIDE));
  const ov = boxDownscale(img, f);
  const ovLum = luminance(ov);
  const o = overviewStats(ov, ovLum);
  const st = streakStats(ovLum, ov.width, ov.height);

  const detail = centralLuminance(img);
  const ds = detailStats(detail.L, detail.w, detail.h);
  const bf = Math.max(1, Math.ceil(Math.max(w, h) / BLUR_MAX_SIDE));
  const bv = bf === 1 ? detail : centralLuminance(boxDownscale(img, bf));
  const bs = blurStats(bv.L, bv.w, bv.h);
  return {
    width: w,
    height: h,
    channels: img.channels,
    overviewFactor: f,
    detailWidth: detail.w,
    detailHeight: detail.h,
    blurFactor: bf,
    ...o,
    ...ds,
    ...bs,
    ...st,
  };
}

/** Luminance of the central (at most) DETAIL_MAX_SIDE square, its origin on the 8x8 grid. */
function centralLuminance(img: RawImage): { L: Float32Array; w: number; h: number } {
  const { width: w, height: h, channels: c, data: d } = img;
  const dw = Math.min(w, DETAIL_MAX_SIDE);
  const dh = Math.min(h, DETAIL_MAX_SIDE);
  const x0 = Math.floor((w - dw) / 2 / 8) * 8;
  const y0 = Math.floor((h - dh) / 2 / 8) * 8;
  const L = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const src = ((y0 + y) * w + x0) * c;
    const dst = y * dw;
    if (c === 1) L.set(d.subarray(src, src + dw), dst);
    else for (let x = 0, j = src; x < dw; x++, j += 3) L[dst + x] = luma601(d[j], d[j + 1], d[j + 2]);
  }
  return { L, w: dw, h: dh };
}
