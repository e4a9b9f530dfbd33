/**
 * Detection and decoding, with synchronisation against resizing and cropping:
 *
 * 1. Luma is brought to a working resolution (short side <= 384, area averaging) and
 *    high-passed (minus a box mean about a cell wide), clipped so strong edges do not dominate.
 * 2. Scale: the mark is periodic, so the residual's autocorrelation along x and y peaks at the
 *    tile period whatever the resize (a self-reference synchronisation, Kutter 1999). Row and
 *    column autocorrelations are computed exactly with zero-padded FFTs (two real rows per
 *    complex FFT) and the best few peaks give candidate periods (sub-pixel, per axis).
 * 3. Shift: for each candidate the residual is folded modulo the period into one tile (every
 *    copy of the tile adds up, which is where most of the robustness comes from: a crop only
 *    rotates the folded tile cyclically), and the cyclic shift is the peak of the tile's FFT
 *    cross-correlation with the key's pilot pattern.
 * 4. The data cells are read with a matched filter, despread (chips, keystream), combined over
 *    their repeats into soft coded bits and decoded by soft Viterbi; the keyed MAC decides
 *    whether a watermark was found.
 */
import { boxFilter } from '../../core/filters/box.js';
import type { RawImage } from '../../core/image/types.js';
import { convEncode, viterbiDecode } from './ecc.js';
import { fft1d, nextPow2 } from '../../core/fft.js';
import { crossCorrelateSpectrum, spectrum, type Spectrum } from './fft.js';
import { resolveKey, type WatermarkKey, type WatermarkSecret } from './key.js';
import { checkImage } from './validate.js';
import { CODED_BITS, DATA_CELLS, PILOT_CELLS, TILE_CELLS, TILES_ACROSS, tileLayout, type TileLayout } from './layout.js';
import { lumaDownscaled } from './luma.js';
import { PAYLOAD_BITS, type Payload, unpackPayload } from './payload.js';

export const WORK_SIDE = 512;
/** Smallest short side the detector accepts. */
export const MIN_VERIFY_SIDE = 64;
const BINS_PER_CELL = 4;
const NORM_RADIUS_CELLS = 2;
const CLIP = 2.5;
/** Working-pixel period from which nearest-bin folding leaves no bin empty in practice. */
const NEAREST_FOLD_MIN_PERIOD = 96;
const BINS = TILE_CELLS * BINS_PER_CELL;
/** Autocorrelation candidates tried, and decode attempts allowed (each is a 2^-24 MAC gamble). */
const PERIOD_CANDIDATES = 3;
const MAX_DECODES = 6;

export interface Extraction {
  found: boolean;
  payload?: Payload;
  /** Decoded payload bits of the best attempt (also when the MAC failed), for evaluation. */
  bits: Uint8Array;
  /** Fraction of the combined coded bits disagreeing with the re-encoded decision. */
  bitErrorRate: number;
  /** Pilot correlation peak in standard deviations over the shift surface (random: about 4). */
  syncScore: number;
  /** Tile period found, in input pixels (x, y). */
  period?: { x: number; y: number };
  /** Sync attempts that were decoded (each a 2^-24 chance for noise to pass the MAC). */
  attempts: number;
}

interface Working {
  r: Float32Array;
  w: number;
  h: number;
  /** Input pixels per working pixel. */
  scale: number;
}

/**
 * Low-level detection: synchronise, decode, check the MAC. verifyWatermark adds the verdict and
 * the identity check; this is for evaluation (bit accuracy also when nothing decodes).
 */
export function extractWatermark(img: RawImage, secret: WatermarkSecret): Extraction {
  checkImage(img, MIN_VERIFY_SIDE, 'verification');
  const key = resolveKey(secret);
  const work = workingResidual(img);
  const layout = tileLayout(key);
  const template = templateSpectrum(pilotTemplate(layout));
  const candidates = periodCandidates(work);
  const tried: Attempt[] = [];
  const tryPeriod = (px: number, py: number) => tried.push(syncAt(work, px, py, template));
  for (const c of candidates) tryPeriod(c.x, c.y);
  let best = decodeBest(tried, layout, key, work);
  if (!best.found && tried.length > 0) {
    // Sub-pixel period errors add up over many tiles: retry the best candidate slightly off.
    const top = tried.reduce((a, b) => (b.z > a.z ? b : a));
    const jitter: Attempt[] = [];
    for (const k of [0.997, 1.003, 0.994, 1.006]) jitter.push(syncAt(work, top.px * k, top.py * k, template));
    const again = decodeBest(jitter, layout, key, work);
    if (again.found) best = { ...again, attempts: again.attempts + tried.length };
  }
  return best;
}

// ---------------------------------------------------------------------------------------------

function workingResidual(img: RawImage): Working {
  const m = Math.min(img.width, img.height);
  const d = lumaDownscaled(img, Math.max(1, m / WORK_SIDE));
  const { width: w, height: h } = d;
  const radius = Math.max(2, Math.round(Math.min(w, h) / (TILES_ACROSS * TILE_CELLS)));
  const low = boxFilter(d.data, w, h, radius);
  const r = new Float32Array(w * h);
  for (let i = 0; i < r.length; i++) r[i] = d.data[i] - low[i];
  // Local normalisation: the host residual's local RMS estimates how much host noise each
  // sample carries (and the embedder's texture mask makes the mark grow in proportion), so
  // dividing by it is the matched weighting; clipping then tames what is left of strong edges.
  const sq = new Float32Array(r.length);
  for (let i = 0; i < r.length; i++) sq[i] = r[i] * r[i];
  const localMs = boxFilter(sq, w, h, NORM_RADIUS_CELLS * radius);
  let msSum = 0;
  for (let i = 0; i < r.length; i++) msSum += localMs[i];
  const floor = (0.05 * msSum) / r.length + 1e-12;
  for (let i = 0; i < r.length; i++) {
    const v = r[i] / Math.sqrt(localMs[i] + floor);
    r[i] = v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
  }
  return { r, w, h, scale: img.width / w };
}

/**
 * Sum over every other row (or column) of the exact linear autocorrelation, lags 0..maxLag.
 * Half the lines carry nearly all the evidence (neighbouring lines are strongly correlated) at
 * half the cost.
 */
function axisAutocorrelation(r: Float32Array, w: number, h: number, alongX: boolean, maxLag: number): Float64Array {
  const len = alongX ? w : h;
  const lines = alongX ? h : w;
  const n = nextPow2(len + maxLag + 1);
  const power = new Float64Array(n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let l = 0; l < lines; l += 4) {
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < len; i++) {
      re[i] = alongX ? r[l * w + i] : r[i * w + l];
      if (l + 2 < lines) im[i] = alongX ? r[(l + 2) * w + i] : r[i * w + l + 2];
    }
    fft1d(re, im, n);
    // Two real lines in one complex FFT: |X_a|^2 + |X_b|^2 = (|Z[k]|^2 + |Z[n-k]|^2) / 2.
    for (let k = 0; k < n; k++) {
      const k2 = (n - k) % n;
      power[k] += (re[k] * re[k] + im[k] * im[k] + re[k2] * re[k2] + im[k2] * im[k2]) / 2;
    }
  }
  const zero = new Float64Array(n);
  fft1d(power, zero, n, true);
  return power.subarray(0, maxLag + 1);
}

interface Period {
  x: number;
  y: number;
  score: number;
}

function periodCandidates(work: Working): Period[] {
  const { r, w, h } = work;
  const m = Math.min(w, h);
  const minLag = Math.max(8, Math.floor(1.2 * TILE_CELLS));
  const maxLag = Math.floor(m / 1.5);
  if (maxLag <= minLag + 2) return [];
  const maxX = maxLag;
  const maxY = maxLag;
  const ax = axisAutocorrelation(r, w, h, true, maxX + 2);
  const ay = axisAutocorrelation(r, w, h, false, maxY + 2);
  // Unbiased (per overlapping pair) correlations, joint over both axes (uniform scaling).
  const nx = (p: number) => ax[p] / ((w - p) * h);
  const ny = (p: number) => ay[p] / ((h - p) * w);
  const joint = new Float64Array(maxLag + 2);
  for (let p = minLag - 1; p <= maxLag + 1; p++) joint[p] = (ax[p] + ay[p]) / ((w - p) * h + (h - p) * w);
  // Local baseline removes the slow decay of the host's own correlation.
  const peaks: Period[] = [];
  for (let p = minLag; p <= maxLag; p++) {
    if (!(joint[p] > joint[p - 1] && joint[p] >= joint[p + 1])) continue;
    const lo = Math.max(minLag - 1, p - 6);
    const hi = Math.min(maxLag + 1, p + 6);
    let base = 0;
    let cnt = 0;
    for (let q = lo; q <= hi; q++)
      if (Math.abs(q - p) > 2) {
        base += joint[q];
        cnt++;
      }
    const score = joint[p] - base / Math.max(1, cnt);
    const x = refinePeak(nx, p, minLag, maxX);
    const y = refinePeak(ny, p, minLag, maxY);
    peaks.push({ x, y, score });
  }
  // The tile period P also puts peaks at 2P, 3P...; folding at a multiple fails, so among the
  // strong peaks prefer the shortest period and drop the multiples of one already chosen.
  peaks.sort((a, b) => b.score - a.score);
  const strong = peaks.slice(0, 6).filter((p) => p.score >= 0.35 * peaks[0].score);
  strong.sort((a, b) => a.x + a.y - (b.x + b.y));
  const chosen: Period[] = [];
  for (const p of strong) {
    const isMultiple = chosen.some((q) => {
      const k = Math.round((p.x + p.y) / (q.x + q.y));
      return k >= 2 && Math.abs((p.x + p.y) / (k * (q.x + q.y)) - 1) < 0.03;
    });
    if (!isMultiple) chosen.push(p);
  }
  // Fill up with the next strongest peaks in case the short ones were host texture.
  for (const p of peaks) if (chosen.length < PERIOD_CANDIDATES && !chosen.includes(p) && !strong.includes(p)) chosen.push(p);
  return chosen.slice(0, PERIOD_CANDIDATES);
}

/** Local maximum of f within +-3% of p, refined to sub-pixel by a parabola. */
function refinePeak(f: (p: number) => number, p: number, minLag: number, maxLag: number, tolerance = 0.03): number {
  const span = Math.max(1, Math.round(p * tolerance));
  let best = p;
  for (let q = Math.max(minLag, p - span); q <= Math.min(maxLag, p + span); q++) if (f(q) > f(best)) best = q;
  const a = f(best - 1);
  const b = f(best);
  const c = f(best + 1);
  const den = a - 2 * b + c;
  const off = den < 0 ? (0.5 * (a - c)) / den : 0;
  return best + Math.max(-0.5, Math.min(0.5, off));
}

// ---------------------------------------------------------------------------------------------

interface Attempt {
  px: number;
  py: number;
  folded: Float64Array;
  dx: number;
  dy: number;
  z: number;
}

function templateSpectrum(t: Float64Array): Spectrum {
  return spectrum(t, BINS, BINS);
}

/** Pilot cells rendered at bin resolution with the embedder's bilinear cell shape. */
function pilotTemplate(layout: TileLayout): Float64Array {
  const cells = new Float64Array(TILE_CELLS * TILE_CELLS);
  for (let i = 0; i < PILOT_CELLS; i++) cells[layout.pilotCells[i]] = layout.pilotSigns[i];
  const t = new Float64Array(BINS * BINS);
  for (let by = 0; by < BINS; by++) {
    const v = (by + 0.5) / BINS_PER_CELL - 0.5;
    const i0 = (Math.floor(v) + TILE_CELLS) % TILE_CELLS;
    const i1 = (i0 + 1) % TILE_CELLS;
    const fy = v - Math.floor(v);
    for (let bx = 0; bx < BINS; bx++) {
      const u = (bx + 0.5) / BINS_PER_CELL - 0.5;
      const j0 = (Math.floor(u) + TILE_CELLS) % TILE_CELLS;
      const j1 = (j0 + 1) % TILE_CELLS;
      const fx = u - Math.floor(u);
      const top = cells[i0 * TILE_CELLS + j0] * (1 - fx) + cells[i0 * TILE_CELLS + j1] * fx;
      const bottom = cells[i1 * TILE_CELLS + j0] * (1 - fx) + cells[i1 * TILE_CELLS + j1] * fx;
      t[by * BINS + bx] = top * (1 - fy) + bottom * fy;
    }
  }
  return t;
}

/** Folds the residual modulo (px, py) working pixels into BINS x BINS and finds the pilot shift. */
function syncAt(work: Working, px: number, py: number, template: Spectrum): Attempt {
  const { r, w, h } = work;
  const sum = new Float64Array(BINS * BINS);
  const cnt = new Float64Array(BINS * BINS);
  const bx0 = new Int32Array(w);
  const bx1 = new Int32Array(w);
  const fxs = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const u = (((x + 0.5) / px) % 1) * BINS - 0.5;
    const b = Math.floor(u);
    fxs[x] = u - b;
    bx0[x] = (b + BINS) % BINS;
    bx1[x] = (b + 1 + BINS) % BINS;
  }
  if (px >= NEAREST_FOLD_MIN_PERIOD && py >= NEAREST_FOLD_MIN_PERIOD) {
    // Enough pixels per bin: each pixel goes to its nearest bin (4x cheaper than splatting).
    const bxn = new Int32Array(w);
    for (let x = 0; x < w; x++) bxn[x] = Math.floor((((x + 0.5) / px) % 1) * BINS) % BINS;
    for (let y = 0; y < h; y++) {
      const rowBin = (Math.floor((((y + 0.5) / py) % 1) * BINS) % BINS) * BINS;
      const off = y * w;
      for (let x = 0; x < w; x++) {
        sum[rowBin + bxn[x]] += r[off + x];
        cnt[rowBin + bxn[x]] += 1;
      }
    }
  } else {
    // Few pixels per bin: bilinear splatting, each pixel adds to its four nearest bins.
    for (let y = 0; y < h; y++) {
      const v = (((y + 0.5) / py) % 1) * BINS - 0.5;
      const b = Math.floor(v);
      const fy = v - b;
      const r0 = ((b + BINS) % BINS) * BINS;
      const r1 = ((b + 1 + BINS) % BINS) * BINS;
      const off = y * w;
      for (let x = 0; x < w; x++) {
        const val = r[off + x];
        const fx = fxs[x];
        const w00 = (1 - fx) * (1 - fy);
        const w01 = fx * (1 - fy);
        const w10 = (1 - fx) * fy;
        const w11 = fx * fy;
        sum[r0 + bx0[x]] += w00 * val;
        cnt[r0 + bx0[x]] += w00;
        sum[r0 + bx1[x]] += w01 * val;
        cnt[r0 + bx1[x]] += w01;
        sum[r1 + bx0[x]] += w10 * val;
        cnt[r1 + bx0[x]] += w10;
        sum[r1 + bx1[x]] += w11 * val;
        cnt[r1 + bx1[x]] += w11;
      }
    }
  }
  const folded = new Float64Array(BINS * BINS);
  for (let i = 0; i < folded.length; i++) folded[i] = cnt[i] > 0 ? sum[i] / cnt[i] : 0;
  const corr = crossCorrelateSpectrum(folded, template);
  let best = 0;
  let mean = 0;
  for (let i = 0; i < corr.length; i++) {
    mean += corr[i];
    if (corr[i] > corr[best]) best = i;
  }
  mean /= corr.length;
  let varSum = 0;
  for (let i = 0; i < corr.length; i++) varSum += (corr[i] - mean) ** 2;
  const sd = Math.sqrt(varSum / corr.length) + 1e-12;
  return { px, py, folded, dx: best % BINS, dy: Math.floor(best / BINS), z: (corr[best] - mean) / sd };
}

/** Matched-filter weights over the 4 bins of a cell around its centre. */
const CELL_WEIGHTS = [0.6, 1, 1, 0.6];

function softCodedBits(a: Attempt, layout: TileLayout): Float64Array {
  const soft = new Float64Array(CODED_BITS);
  for (let s = 0; s < DATA_CELLS; s++) {
    const cell = layout.dataCells[s];
    const ci = Math.floor(cell / TILE_CELLS);
    const cj = cell % TILE_CELLS;
    let v = 0;
    for (let oy = 0; oy < 4; oy++) {
      const by = (ci * BINS_PER_CELL + oy + a.dy) % BINS;
      for (let ox = 0; ox < 4; ox++) {
        const bx = (cj * BINS_PER_CELL + ox + a.dx) % BINS;
        v += CELL_WEIGHTS[oy] * CELL_WEIGHTS[ox] * a.folded[by * BINS + bx];
      }
    }
    const bit = s % CODED_BITS;
    const despread = v * layout.chips[s];
    soft[bit] += layout.keystream[bit] ? -despread : despread;
  }
  return soft;
}

function decodeBest(attempts: Attempt[], layout: TileLayout, key: WatermarkKey, work: Working): Extraction {
  attempts.sort((a, b) => b.z - a.z);
  let fallback: Extraction | undefined;
  for (let i = 0; i < Math.min(MAX_DECODES, attempts.length); i++) {
    const a = attempts[i];
    const soft = softCodedBits(a, layout);
    const bits = viterbiDecode(soft, PAYLOAD_BITS);
    const recoded = convEncode(bits);
    let errors = 0;
    for (let k = 0; k < CODED_BITS; k++) if ((soft[k] > 0 ? 1 : 0) !== recoded[k]) errors++;
    const payload = unpackPayload(bits, key);
    const result: Extraction = {
      found: payload !== undefined,
      ...(payload ? { payload } : {}),
      bits,
      bitErrorRate: errors / CODED_BITS,
      syncScore: a.z,
      period: { x: a.px * work.scale, y: a.py * work.scale },
      attempts: i + 1,
    };
    if (payload) return result;
    fallback ??= result;
  }
  return fallback ?? { found: false, bits: new Uint8Array(PAYLOAD_BITS), bitErrorRate: 0.5, syncScore: 0, attempts: 0 };
}
