/**
 * Camera response recovery after Debevec & Malik, "Recovering High Dynamic Range Radiance Maps
 * from Photographs" (SIGGRAPH 1997).
 *
 * A pixel value Z is a function of exposure X = E * dt: Z = f(E dt). With g = ln f^-1,
 *   g(Z_ij) = ln E_i + ln dt_j        (i: sample pixel, j: exposure)
 * g (256 values per channel) and the ln E_i are found by weighted linear least squares, with a
 * second-difference smoothness term lambda * w(z) g''(z) and g(128) = 0 fixing the free scale.
 * We accumulate the normal equations row by row (every row has 2 or 3 non-zeros, so A is never
 * built) and solve them with a dense Cholesky factorisation: n = 256 + samples <= ~560 unknowns,
 * a few milliseconds.
 */
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import { mulberry32 } from '../../core/random.js';
import { choleskySolve as choleskySolveOrUndefined } from '../../core/linalg.js';

/** The recovered response: per channel, log exposure (ln(E dt), arbitrary common offset) of each code 0..255. */
export interface ResponseCurve {
  /** [R, G, B], each 256 values, non-decreasing. */
  readonly log: readonly [Float32Array, Float32Array, Float32Array];
}

export interface ResponseOptions {
  /** Smoothness weight lambda (Debevec's lambda; OpenCV's default is 10). */
  lambda?: number;
  /** Sample pixels per channel; default from the number of exposures (N (P-1) >= 2 * 256). */
  samples?: number;
  /** Seed of the sample choice. */
  seed?: number;
  /** Clipped codes per channel (they carry no information and get no data weight). */
  clipLow?: readonly number[];
  clipHigh?: readonly number[];
  /** Per-pixel 0..1 weight of how much a pixel may be sampled (e.g. 0 in ghost regions). */
  sampleMask?: Float32Array;
}

/** Debevec's triangle weight on codes, >= 1 everywhere so every sample row counts a little. */
export function triangleWeight(z: number): number {
  return z <= 127 ? z + 1 : 256 - z;
}

/**
 * Recovers the response from a bracket given as 8-bit codes (interleaved RGB, one array per
 * exposure, all width*height*3) and exposure times in seconds.
 */
export function recoverResponse(
  codes: readonly Uint8Array[],
  width: number,
  height: number,
  times: readonly number[],
  opts: ResponseOptions = {},
): ResponseCurve {
  const P = codes.length;
  if (P < 2 || times.length !== P)
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, 'Response recovery needs at least two exposures with one time each', {
      frames: P,
      times: times.length,
    });
  const lambda = opts.lambda ?? 10;
  const samples = opts.samples ?? Math.min(300, Math.max(50, Math.ceil((2 * 256) / (P - 1))));
  const logT = times.map(Math.log);
  // Reference for stratification: the exposure whose codes are most often mid-range.
  const order = times
    .map((t, i) => ({ t, i }))
    .sort((a, b) => a.t - b.t)
    .map((e) => e.i);
  const ref = order[order.length >> 1]!;
  const curves: Float32Array[] = [];
  for (let c = 0; c < 3; c++) {
    const picks = pickSamples(codes, width, height, c, ref, samples, opts.seed ?? 1, opts.sampleMask);
    const lo = opts.clipLow?.[c] ?? -1;
    const hi = opts.clipHigh?.[c] ?? 256;
    let g = solveResponse(codes, picks, c, logT, lambda, lo, hi);
    // Samples on moving objects (or misaligned edges) do not fit any curve: drop the worst fits
    // (residual above 3x the median, at most a quarter of the samples) and solve again.
    const kept = inlierSamples(codes, picks, c, logT, g, lo, hi);
    if (kept.length < picks.length && kept.length >= picks.length * 0.5) g = solveResponse(codes, kept, c, logT, lambda, lo, hi);
    curves.push(g);
  }
  return { log: [curves[0]!, curves[1]!, curves[2]!] };
}

/**
 * Chooses sample pixels: smooth places (low local code variation in the reference exposure, so a
 * one-pixel misalignment or blur changes little), spread evenly over the reference's code range.
 */
function pickSamples(codes: readonly Uint8Array[], w: number, h: number, c: number, ref: number, count: number, seed: number, mask?: Float32Array): number[] {
  const rand = mulberry32(seed * 7919 + c);
  const refCodes = codes[ref]!;
  // Candidates on a jittered grid (~40 per target sample), border excluded.
  const target = count * 40;
  const step = Math.max(1, Math.floor(Math.sqrt(((w - 4) * (h - 4)) / target)));
  const bins: Array<{ p: number; score: number }[]> = Array.from({ length: 64 }, () => []);
  for (let y = 2; y < h - 2; y += step) {
    for (let x = 2; x < w - 2; x += step) {
      const xx = Math.min(w - 3, x + Math.floor(rand() * step));
      const yy = Math.min(h - 3, y + Math.floor(rand() * step));
      const p = yy * w + xx;
      if (mask && mask[p]! < 0.5) continue;
      const z = refCodes[p * 3 + c]!;
      let variation = 0;
      for (const q of [p - 2, p + 2, p - 2 * w, p + 2 * w]) variation += Math.abs(refCodes[q * 3 + c]! - z);
      bins[z >> 2]!.push({ p, score: variation + rand() });
    }
  }
  for (const b of bins) b.sort((a, b2) => a.score - b2.score);
  // Round robin over the code bins: the smoothest candidate of each bin first.
  const picks: number[] = [];
  for (let round = 0; picks.length < count; round++) {
    let any = false;
    for (const b of bins) {
      if (round < b.length) {
        any = true;
        picks.push(b[round]!.p);
        if (picks.length >= count) break;
      }
    }
    if (!any) break;
  }
  return picks;
}

/** Samples whose codes agree with the curve g: RMS over exposures of g(z) - ln t - (their mean). */
function inlierSamples(
  codes: readonly Uint8Array[],
  picks: readonly number[],
  c: number,
  logT: readonly number[],
  g: Float32Array,
  lo: number,
  hi: number,
): number[] {
  const res = picks.map((p) => {
    const v: number[] = [];
    for (let j = 0; j < codes.length; j++) {
      const z = codes[j]![p * 3 + c]!;
      if (z > lo && z < hi) v.push(g[z]! - logT[j]!);
    }
    if (v.length < 2) return 0;
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  });
  const sorted = [...res].sort((a, b) => a - b);
  const limit = Math.max(3 * sorted[sorted.length >> 1]!, sorted[Math.floor(sorted.length * 0.75)]!, 0.05);
  return picks.filter((_, i) => res[i]! <= limit);
}

function solveResponse(
  codes: readonly Uint8Array[],
  picks: readonly number[],
  c: number,
  logT: readonly number[],
  lambda: number,
  clipLow: number,
  clipHigh: number,
): Float32Array {
  // Unknowns: g(0..255) and ln E_i per sample. In the normal equations the ln E block is
  // diagonal (a sample's ln E meets only itself and the g of its own codes), so it is eliminated
  // exactly (Schur complement) and only a 256 x 256 system is factorised: ~100x less work than
  // the full (256 + N)^2 one.
  const G = 256;
  const A = new Float64Array(G * G);
  const bg = new Float64Array(G);
  const P = codes.length;
  const zs = new Int32Array(P);
  const ws = new Float64Array(P);
  for (const pick of picks) {
    const p = pick * 3 + c;
    let n = 0;
    let d = 0; // D_ii = sum w^2
    let be = 0; // b_E,i = sum w^2 * (-ln t)
    for (let j = 0; j < P; j++) {
      const z = codes[j]![p]!;
      if (z <= clipLow || z >= clipHigh) continue;
      const wz = triangleWeight(z);
      const w2 = wz * wz;
      // Row: w g(z) - w lnE = w ln t.
      A[z * G + z] += w2;
      bg[z] += w2 * logT[j]!;
      d += w2;
      be -= w2 * logT[j]!;
      zs[n] = z;
      ws[n] = w2; // B[z, i] = -w^2
      n++;
    }
    if (n === 0) continue;
    // Schur: A -= B D^-1 B^T, b_g -= B D^-1 b_E, with B[z, i] = -w_z^2.
    for (let a = 0; a < n; a++) {
      const za = zs[a]!;
      const fa = ws[a]! / d;
      bg[za] += fa * be; // -(-w^2) / d * be
      for (let k = 0; k < n; k++) A[za * G + zs[k]!] -= fa * ws[k]!;
    }
  }
  // g(128) = 0 (weight 1) and the smoothness rows.
  A[128 * G + 128] += 1;
  for (let z = 1; z < 255; z++) {
    const s = lambda * triangleWeight(z);
    const idx = [z - 1, z, z + 1];
    const co = [s, -2 * s, s];
    for (let a = 0; a < 3; a++) for (let k = 0; k < 3; k++) A[idx[a]! * G + idx[k]!] += co[a]! * co[k]!;
  }
  for (let k = 0; k < G; k++) A[k * G + k] += 1e-9;
  const x = choleskySolve(A, bg, G);
  const g = new Float32Array(256);
  for (let z = 0; z < 256; z++) g[z] = x[z]!;
  return makeMonotone(g);
}

/**
 * Solves M x = b for a symmetric positive definite M (n x n, row-major; overwritten by its
 * Cholesky factor). Throws E_RUNTIME if M is not positive definite.
 */
export function choleskySolve(M: Float64Array, b: Float64Array, n: number): Float64Array {
  const x = choleskySolveOrUndefined(M, b, n);
  if (!x) throw new ClearsightError(ERROR_CODES.RUNTIME, 'Response recovery: the least-squares system is singular (too few distinct pixel values?)');
  return x;
}

/** Forces g to increase (a response is monotone; noise at the ends can fold it), outward from 128. */
function makeMonotone(g: Float32Array): Float32Array {
  const eps = 1e-4;
  for (let z = 129; z < 256; z++) if (g[z]! < g[z - 1]! + eps) g[z] = g[z - 1]! + eps;
  for (let z = 127; z >= 0; z--) if (g[z]! > g[z + 1]! - eps) g[z] = g[z + 1]! - eps;
  return g;
}

/** Largest per-channel departure (ln units, after a constant offset) for which the channel curves count as one shape. */
export const POOL_TOLERANCE = 0.25;

/**
 * One curve for all three channels when the recovered curves have the same shape (issue 20).
 * Debevec-Malik recovery runs per channel, and each channel's curve carries its own fitting error
 * (on a synthetic grey chart shot through one curve, blue came out 0.15 ln above green except
 * near the g(128) = 0 anchor), and any difference between the channel curves is a colour cast
 * that varies with brightness: grey patches reached b* = -6.5 after tone mapping. A camera's
 * JPEG applies one tone curve to white-balanced channels, so when the three curves agree up to a
 * constant within POOL_TOLERANCE over the well-exposed codes, their mean (anchored at g(128) = 0,
 * i.e. equal codes mean grey) is used for all three: greys then stay within |a*|, |b*| < 0.2.
 * Curves that truly differ (film scans, cross-processed pictures) are kept per channel.
 */
export function poolAlikeChannels(response: ResponseCurve, lo = 20, hi = 235): ResponseCurve {
  const [r, g, b] = response.log;
  const mean = new Float32Array(256);
  for (let z = 0; z < 256; z++) mean[z] = (r[z]! + g[z]! + b[z]!) / 3;
  for (const c of [r, g, b]) {
    const diff = Float32Array.from({ length: hi - lo + 1 }, (_, k) => c[lo + k]! - mean[lo + k]!);
    const offset = Float32Array.from(diff).sort()[diff.length >> 1]!;
    for (const d of diff) if (Math.abs(d - offset) > POOL_TOLERANCE) return response;
  }
  const anchor = mean[128]!;
  for (let z = 0; z < 256; z++) mean[z] = mean[z]! - anchor;
  return { log: [mean, Float32Array.from(mean), Float32Array.from(mean)] };
}

/** The response of an ideal sRGB camera (no tone curve beyond the sRGB transfer), for tests and as a fallback. */
export function srgbResponse(): ResponseCurve {
  const g = new Float32Array(256);
  for (let z = 0; z < 256; z++) {
    const v = Math.max(z, 0.5) / 255;
    const lin = v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    g[z] = Math.log(lin);
  }
  const off = g[128]!;
  for (let z = 0; z < 256; z++) g[z] = g[z]! - off;
  return { log: [g, Float32Array.from(g), Float32Array.from(g)] };
}
