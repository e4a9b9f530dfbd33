/**
 * Radiance merge (Debevec & Malik's weighted average of ln E = g(Z) - ln dt) and deghosting by
 * consistency with a reference exposure.
 *
 * Deghosting: after exposure normalisation through the response curve, each code of each
 * exposure says "ln E lies in this interval": L +- tol for a well-exposed code (tol grows where
 * the curve is steep, i.e. where one code step is a large radiance step, and with noise), and a
 * half-line for a clipped code (saturated: ln E >= L(zHigh); black: ln E <= L(zLow)). An exposure
 * disagrees with the reference where its interval and the reference's do not overlap; the gap
 * (log units, largest over the channels, smoothed a little against noise) becomes a soft ghost
 * mask, dilated to cover the whole object and feathered so there is no visible seam. The merge
 * weight of that exposure is multiplied by (1 - mask): in a ghost region the result comes from
 * the reference and from the exposures that agree with it, so a moving object appears once, as
 * the reference saw it.
 */
import { boxMeanInto } from '../../core/filters/box.js';
import { minFilterInto } from '../../core/filters/minFilter.js';
import type { ResponseCurve } from './response.js';

/** Codes at or beyond these are treated as clipped (JPEG noise keeps saturation a bit below 255). */
export const CLIP_LOW = 4;
export const CLIP_HIGH = 250;

/** Merge weight of a code: a hat that is 0 on clipped codes. */
export function mergeWeightTable(): Float32Array {
  const w = new Float32Array(256);
  for (let z = 0; z < 256; z++) {
    if (z <= CLIP_LOW || z >= CLIP_HIGH) w[z] = 0;
    else w[z] = Math.min(z - CLIP_LOW, CLIP_HIGH - z) / ((CLIP_HIGH - CLIP_LOW) / 2);
  }
  return w;
}

/** ln E tables: lut[j][c][z] = g_c(z) - ln dt_j. */
function logTables(response: ResponseCurve, times: readonly number[]): Float32Array[][] {
  return times.map((t) => {
    const lt = Math.log(t);
    return [0, 1, 2].map((c) => {
      const g = response.log[c as 0 | 1 | 2];
      const out = new Float32Array(256);
      for (let z = 0; z < 256; z++) out[z] = g[z]! - lt;
      return out;
    });
  });
}

export interface MergeInput {
  /** Aligned 8-bit codes, interleaved RGB, one per exposure. */
  codes: readonly Uint8Array[];
  width: number;
  height: number;
  times: readonly number[];
  response: ResponseCurve;
  /** Per exposure: width*height weights in [0, 1] (1 - ghost mask), or null for 1 everywhere. */
  consistency?: readonly (Float32Array | null)[];
  /** Index of the reference exposure: it keeps a small weight everywhere, so fully clipped or fully rejected pixels come from it. */
  reference: number;
}

/**
 * Linear radiance (interleaved RGB Float32, arbitrary common scale). Pixels clipped in every
 * usable exposure take the shortest exposure (saturated) or the longest (black), which are the
 * best bounds the bracket has.
 */
export function mergeRadiance(input: MergeInput): Float32Array {
  const { codes, width, height, times, response, reference } = input;
  const P = codes.length;
  const n = width * height;
  const lut = logTables(response, times);
  const W = mergeWeightTable();
  const shortest = times.indexOf(Math.min(...times));
  const longest = times.indexOf(Math.max(...times));
  const out = new Float32Array(n * 3);
  const cons = input.consistency ?? [];
  const flat: Float32Array[] = [];
  for (let j = 0; j < P; j++) for (let c = 0; c < 3; c++) flat[j * 3 + c] = lut[j]![c]!;
  for (let i = 0; i < n; i++) {
    const k = i * 3;
    for (let c = 0; c < 3; c++) {
      let acc = 0;
      let ws = 0;
      for (let j = 0; j < P; j++) {
        const z = codes[j]![k + c]!;
        const cj = cons[j];
        const w = cj ? W[z]! * cj[i]! : W[z]!;
        acc += w * flat[j * 3 + c]![z]!;
        ws += w;
      }
      let logE: number;
      if (ws > 1e-4) logE = acc / ws;
      else {
        // Nothing usable: clipped everywhere, or every well-exposed sample was rejected as a ghost.
        const zr = codes[reference]![k + c]!;
        let pick = reference;
        if (zr >= CLIP_HIGH) pick = consistentOr(cons, i, shortest, reference);
        else if (zr <= CLIP_LOW) pick = consistentOr(cons, i, longest, reference);
        logE = flat[pick * 3 + c]![codes[pick]![k + c]!]!;
      }
      out[k + c] = Math.exp(logE);
    }
  }
  return out;
}

function consistentOr(cons: readonly (Float32Array | null)[], i: number, wanted: number, fallback: number): number {
  const c = cons[wanted];
  return !c || c[i]! > 0.5 ? wanted : fallback;
}

export interface DeghostOptions {
  /** Gap (ln units) from which a pixel counts fully as a ghost; softer below. Default 0.35. */
  threshold?: number;
  /** Tolerance added to every interval (ln units) for curve misfit and residual misalignment. Default 0.12. */
  tolerance?: number;
  /** Dilation radius in pixels (default 0.6% of the smaller side, >= 2). */
  dilate?: number;
  /** Feather radius in pixels (default = dilate). */
  feather?: number;
}

/** The pixels of an exposure holding real data: x0 <= x < x1, y0 <= y < y1. */
export interface ValidRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface DeghostResult {
  /** Per exposure: 1 - ghost mask (the reference: null, i.e. 1). */
  consistency: (Float32Array | null)[];
  /** max over the exposures of the feathered ghost masks, width*height in [0, 1]. */
  mask: Float32Array;
}

/**
 * Ghost masks of every exposure against the reference. `valid` optionally marks, per exposure,
 * the pixels that hold real data (after an alignment shift the replicated border does not): the
 * rest is treated as disagreeing.
 */
export function detectGhosts(input: Omit<MergeInput, 'consistency'>, opts: DeghostOptions = {}, valid?: readonly (ValidRect | null)[]): DeghostResult {
  const { codes, width, height, times, response, reference } = input;
  const n = width * height;
  const threshold = opts.threshold ?? 0.35;
  const tolerance = opts.tolerance ?? 0.12;
  const dilate = Math.max(2, Math.round(opts.dilate ?? 0.006 * Math.min(width, height)));
  const feather = Math.max(1, Math.round(opts.feather ?? dilate));
  const lut = logTables(response, times);
  // Interval tables: lo[j][c][z], hi[j][c][z].
  const lo: Float32Array[][] = [];
  const hi: Float32Array[][] = [];
  for (let j = 0; j < codes.length; j++) {
    lo.push([]);
    hi.push([]);
    for (let c = 0; c < 3; c++) {
      const L = lut[j]![c]!;
      const l = new Float32Array(256);
      const h = new Float32Array(256);
      for (let z = 0; z < 256; z++) {
        // Slope: ln-radiance per code around z; 2.5 codes of noise/quantisation.
        const z0 = Math.max(CLIP_LOW, Math.min(CLIP_HIGH, z - 2));
        const z1 = Math.max(CLIP_LOW, Math.min(CLIP_HIGH, z + 2));
        const slope = z1 > z0 ? (L[z1]! - L[z0]!) / (z1 - z0) : 0;
        const tol = tolerance + 2.5 * slope;
        l[z] = z <= CLIP_LOW ? -Infinity : L[Math.min(z, CLIP_HIGH)]! - tol;
        h[z] = z >= CLIP_HIGH ? Infinity : L[Math.max(z, CLIP_LOW)]! + tol;
      }
      lo[j]!.push(l);
      hi[j]!.push(h);
    }
  }
  const consistency: (Float32Array | null)[] = [];
  const mask = new Float32Array(n);
  const gap = new Float32Array(n);
  const tmp = new Float32Array(n);
  const tmp2 = new Float32Array(n);
  const ref = codes[reference]!;
  for (let j = 0; j < codes.length; j++) {
    if (j === reference) {
      consistency.push(null);
      continue;
    }
    const cj = codes[j]!;
    const [l0, l1, l2] = lo[j]!;
    const [h0, h1, h2] = hi[j]!;
    const [r0, r1, r2] = lo[reference]!;
    const [s0, s1, s2] = hi[reference]!;
    const rect = valid?.[j] ?? { x0: 0, y0: 0, x1: width, y1: height };
    for (let i = 0, k = 0; i < n; i++, k += 3) {
      const x = i % width;
      const y = (i - x) / width;
      if (x < rect.x0 || x >= rect.x1 || y < rect.y0 || y >= rect.y1) {
        gap[i] = threshold;
        continue;
      }
      // Gap between [lo_j, hi_j] and [lo_ref, hi_ref], per channel; the largest counts.
      const a0 = Math.max(l0![cj[k]!]! - s0![ref[k]!]!, r0![ref[k]!]! - h0![cj[k]!]!);
      const a1 = Math.max(l1![cj[k + 1]!]! - s1![ref[k + 1]!]!, r1![ref[k + 1]!]! - h1![cj[k + 1]!]!);
      const a2 = Math.max(l2![cj[k + 2]!]! - s2![ref[k + 2]!]!, r2![ref[k + 2]!]! - h2![cj[k + 2]!]!);
      const g = Math.max(a0, a1, a2);
      gap[i] = g > 0 ? Math.min(g, threshold) : 0;
    }
    // Smooth the gap against isolated noise (radius 1), then soft threshold to 0..1.
    boxMeanInto(gap, width, height, 1, tmp, tmp2);
    for (let i = 0; i < n; i++) {
      const v = tmp[i]! / threshold;
      // Below a third of the threshold: noise, not a ghost.
      tmp[i] = v <= 0.33 ? 0 : Math.min(1, (v - 0.33) / 0.5);
    }
    // Dilate (max filter = -min(-x)) to cover the object's outline, then feather twice (~triangle).
    for (let i = 0; i < n; i++) tmp[i] = -tmp[i]!;
    minFilterInto(tmp, width, height, dilate, gap);
    for (let i = 0; i < n; i++) gap[i] = -gap[i]!;
    boxMeanInto(gap, width, height, feather, tmp, tmp2);
    boxMeanInto(tmp, width, height, feather, gap, tmp2);
    const c = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const m = Math.min(1, gap[i]! * 1.5); // keep the core of a dilated region fully masked
      c[i] = 1 - m;
      if (m > mask[i]!) mask[i] = m;
    }
    consistency.push(c);
  }
  return { consistency, mask };
}
