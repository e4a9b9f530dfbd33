/**
 * The learned JPEG score of the degradation recogniser: a logistic head on grid-aligned
 * statistics measured at the NATIVE resolution.
 *
 * Why a separate head: the recogniser's network reads views reduced to <= 512 px through a
 * stride-2 trunk, which averages away the 8 x 8 block grid (it recognised 0/25 synthetic JPEGs).
 * Blocking lives on the pixel grid, so these features are measured on a few crops of the picture
 * as stored, their origins on multiples of 8 (where a JPEG encoder put its blocks):
 *
 * - boundary: log of the mean |neighbour difference| across block boundaries (x = 7 | 8 mod 8)
 *   over the mean at the six inner phases not next to a boundary (offset 0 vs offsets 2-6),
 *   columns and rows averaged;
 * - boundaryFlat: the same where the two pixels on each side inside the blocks are flat
 *   (|difference| < 2 grey levels), where coarse quantisation steps are not masked by texture;
 * - DCT zeros, low / mid band: of the grid-aligned 8 x 8 DCT (orthonormal, 8-bit levels) of the
 *   blocks that are not clipped, the logit of the share of AC coefficients with |c| < 0.5 at
 *   u + v <= 2 and at 3 <= u + v <= 6. A coarse quantiser zeroes even the low frequencies; a
 *   phone JPEG at quality 90 keeps them (its steps there are 1-3 levels), so the low band
 *   separates "blocky" from "an everyday JPEG";
 * - dcOnly: the logit of the share of unclipped blocks whose AC coefficients are all < 0.5.
 *
 * The head (JPEG_HEAD) is fitted by training/recognizer-jpeg.ts with the project's logistic
 * regression (fitLogistic) on the S1 training bases only: JPEG quality 5-35 = present; the clean
 * photo, quality 70-95 and blurred/noisy versions = absent. The hand evidence (evidence.ts
 * blockiness) stays the explanation shown to the user.
 */
import type { RawImage } from '../../core/image/types.js';
import { predictLogistic, type LogisticModel } from '../../core/logistic.js';

/** Side of each crop (a multiple of 8) and the most crops read. */
export const JPEG_CROP = 256;
export const JPEG_MAX_CROPS = 5;

export const JPEG_FEATURES = ['boundary', 'boundaryFlat', 'dctZeroLow', 'dctZeroMid', 'dcOnly'] as const;
export type JpegFeatures = Record<(typeof JPEG_FEATURES)[number], number>;

/** Crop origins (multiples of 8): the centre and the centres of the four quadrants, as many as fit without overlap. */
function cropOrigins(w: number, h: number): { x: number; y: number; w: number; h: number }[] {
  const cw = Math.min(JPEG_CROP, w - (w % 8) || w);
  const ch = Math.min(JPEG_CROP, h - (h % 8) || h);
  const at = (cx: number, cy: number) => ({
    x: Math.max(0, Math.min(w - cw, Math.floor((cx - cw / 2) / 8) * 8)),
    y: Math.max(0, Math.min(h - ch, Math.floor((cy - ch / 2) / 8) * 8)),
    w: cw,
    h: ch,
  });
  const out = [at(w / 2, h / 2)];
  if (w >= 2 * cw && h >= 2 * ch)
    for (const [fx, fy] of [
      [0.25, 0.25],
      [0.75, 0.25],
      [0.25, 0.75],
      [0.75, 0.75],
    ])
      out.push(at(w * fx, h * fy));
  return out.slice(0, JPEG_MAX_CROPS);
}

/** Luma (BT.601, 8-bit levels, not rounded) of one crop. */
function cropLuma(img: RawImage, c: { x: number; y: number; w: number; h: number }): Float32Array {
  const { width, channels: ch, data } = img;
  const L = new Float32Array(c.w * c.h);
  for (let y = 0; y < c.h; y++) {
    const s = ((c.y + y) * width + c.x) * ch;
    for (let x = 0, j = s; x < c.w; x++, j += ch) {
      L[y * c.w + x] = 255 * (ch === 1 ? data[j] : 0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2]);
    }
  }
  return L;
}

/** Orthonormal 8-point DCT-II basis, C[u][x]. */
const DCT8 = (() => {
  const c = new Float64Array(64);
  for (let u = 0; u < 8; u++) for (let x = 0; x < 8; x++) c[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  return c;
})();

interface Tally {
  boundary: number; // sum |d| across boundaries
  boundaryN: number;
  inner: number; // sum |d| at phases 1..5 (differences x|x+1 with x mod 8 in 1..5)
  innerN: number;
  flatB: number;
  flatBN: number;
  flatI: number;
  flatIN: number;
  zeroLow: number;
  nLow: number;
  zeroMid: number;
  nMid: number;
  dcOnly: number;
  blocks: number;
}

const FLAT = 2;

/** Adds one difference at phase p (x mod 8 of its left / upper pixel) to the tally. */
function addDiff(t: Tally, p: number, d: number, flat: boolean): void {
  if (p === 7) {
    t.boundary += d;
    t.boundaryN++;
    if (flat) {
      t.flatB += d;
      t.flatBN++;
    }
  } else if (p >= 1 && p <= 5) {
    t.inner += d;
    t.innerN++;
    if (flat) {
      t.flatI += d;
      t.flatIN++;
    }
  }
}

function tallyCrop(L: Float32Array, w: number, h: number, t: Tally): void {
  // Differences across columns (every row) and across rows (every column).
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 1; x < w - 2; x++) {
      const flat = Math.abs(L[o + x] - L[o + x - 1]) < FLAT && Math.abs(L[o + x + 2] - L[o + x + 1]) < FLAT;
      addDiff(t, x & 7, Math.abs(L[o + x + 1] - L[o + x]), flat);
    }
  }
  for (let y = 1; y < h - 2; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const flat = Math.abs(L[o + x] - L[o - w + x]) < FLAT && Math.abs(L[o + 2 * w + x] - L[o + w + x]) < FLAT;
      addDiff(t, y & 7, Math.abs(L[o + w + x] - L[o + x]), flat);
    }
  }
  // Grid-aligned 8x8 DCT of every unclipped block.
  const blk = new Float64Array(64);
  const tmp = new Float64Array(64);
  for (let by = 0; by + 8 <= h; by += 8) {
    for (let bx = 0; bx + 8 <= w; bx += 8) {
      let mean = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) mean += blk[y * 8 + x] = L[(by + y) * w + bx + x];
      mean /= 64;
      if (mean < 8 || mean > 247) continue; // clipped: flat for any reason
      // Rows then columns.
      for (let y = 0; y < 8; y++) {
        for (let u = 0; u < 8; u++) {
          let s = 0;
          for (let x = 0; x < 8; x++) s += DCT8[u * 8 + x] * blk[y * 8 + x];
          tmp[y * 8 + u] = s;
        }
      }
      let nonzero = 0;
      for (let v = 0; v < 8; v++) {
        for (let u = 0; u < 8; u++) {
          if (u === 0 && v === 0) continue;
          let s = 0;
          for (let y = 0; y < 8; y++) s += DCT8[v * 8 + y] * tmp[y * 8 + u];
          const zero = Math.abs(s) < 0.5;
          if (!zero) nonzero++;
          if (u + v <= 2) {
            t.nLow++;
            if (zero) t.zeroLow++;
          } else if (u + v <= 6) {
            t.nMid++;
            if (zero) t.zeroMid++;
          }
        }
      }
      t.blocks++;
      if (nonzero === 0) t.dcOnly++;
    }
  }
}

/** logit of a share, with a half-count prior so that 0 and 1 stay finite. */
const logitShare = (k: number, n: number): number => Math.log((k + 0.5) / (n - k + 0.5));

/** The grid-aligned statistics of a picture at its native resolution (pure; ~10-20 ms). */
export function jpegFeatures(img: RawImage): JpegFeatures {
  const t: Tally = {
    boundary: 0,
    boundaryN: 0,
    inner: 0,
    innerN: 0,
    flatB: 0,
    flatBN: 0,
    flatI: 0,
    flatIN: 0,
    zeroLow: 0,
    nLow: 0,
    zeroMid: 0,
    nMid: 0,
    dcOnly: 0,
    blocks: 0,
  };
  for (const c of cropOrigins(img.width, img.height)) if (c.w >= 16 && c.h >= 16) tallyCrop(cropLuma(img, c), c.w, c.h, t);
  // 0.05 grey levels of floor: a flat synthetic picture has no differences at all.
  const ratio = (a: number, na: number, b: number, nb: number) => Math.log((a / Math.max(1, na) + 0.05) / (b / Math.max(1, nb) + 0.05));
  return {
    boundary: ratio(t.boundary, t.boundaryN, t.inner, t.innerN),
    boundaryFlat: ratio(t.flatB, t.flatBN, t.flatI, t.flatIN),
    dctZeroLow: logitShare(t.zeroLow, t.nLow),
    dctZeroMid: logitShare(t.zeroMid, t.nMid),
    dcOnly: logitShare(t.dcOnly, t.blocks),
  };
}

export const jpegFeatureRow = (f: JpegFeatures): number[] => JPEG_FEATURES.map((k) => f[k]);

/**
 * The fitted head: `node --import tsx training/recognizer-jpeg.ts --write` (seed 1) writes this line
 * (features in JPEG_FEATURES order). Validation (every 10th training base, 149 rows): 36/36 JPEG
 * q <= 35 called, 0/113 others (stored files, q 70-95, noise, blur, low light, haze).
 */
export const JPEG_HEAD: LogisticModel = {
  mean: [0.249045, 0.897467, -1.82403, -0.196887, -5.32439],
  scale: [0.285311, 1.00551, 1.54328, 1.73211, 2.78894],
  weights: [1.17732, 2.75801, 0.146334, -0.169298, 0.101241],
  bias: -2.18483,
};

/** P(JPEG blocking present) for a picture, from the fitted head. */
export function jpegScore(img: RawImage, head: LogisticModel = JPEG_HEAD): number {
  return predictLogistic(head, jpegFeatureRow(jpegFeatures(img)));
}
