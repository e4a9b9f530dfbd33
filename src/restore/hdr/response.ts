/**
 * Camera response recovery after Debevec & Malik, "Recovering High Dynamic Range Radiance Maps
 * from Photographs" (SIGGRAPH 1997).
 *
 * A pixel value Z is a function of exposure X = E * dt: Z = f(E dt). With g = ln f^-1,
 *   g(Z_ij) = ln E_i + ln dt_j        (i: sample pixel, j: exposure)
 * g (256 values per channel) and the ln E_i are found by weighted linear least squares, with a
 * second-difference smoothness term lambda * w(z) g''(z) and g(128) = 0 fixing the free scale.
 * We accumulate the normal equations sample by sample (A is never built), eliminate the ln E_i
 * exactly (their block is diagonal) and solve the remaining 256 x 256 system by Cholesky, a few
 * milliseconds whatever the number of samples.
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
  /**
   * Smoothness weight lambda (Debevec's lambda; OpenCV's default is 10) for exposures one stop
   * apart; multiplied by the square of the widest step between consecutive exposures in stops
   * (see stepSmoothness).
   */
  lambda?: number;
  /** Sample pixels per channel (default DEFAULT_SAMPLES). */
  samples?: number;
  /** Seed of the sample choice. */
  seed?: number;
  /** Clipped codes per channel (they carry no information and get no data weight). */
  clipLow?: readonly number[];
  clipHigh?: readonly number[];
  /** Per-pixel 0..1 weight of how much a pixel may be sampled (e.g. 0 in ghost regions). */
  sampleMask?: Float32Array;
}

/**
 * Sample pixels per channel. Debevec's rule (N (P - 1) >= 2 * 256, here 50..300) leaves the fit
 * at the mercy of which pixels were drawn: on memorial's film scans the curves moved by up to
 * 0.6 ln between seeds with 128 samples, and the ghost benchmark's headline row swung by 4 dB
 * with the ghost masks (issue 23). The normal equations cost O(samples x exposures^2) to build
 * and the solve does not depend on the count, so many samples are cheap.
 */
export const DEFAULT_SAMPLES = 2000;

/** Sample count for which `lambda` has Debevec's (and OpenCV's) meaning; see solveResponse. */
const LAMBDA_SAMPLES = 128;

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
  return fitResponse(codes, width, height, times, opts).response;
}

/** A recovered response and, per channel, the sample pixels it was fitted on (before its outliers were dropped). */
export interface ResponseFit {
  response: ResponseCurve;
  samples: readonly [Int32Array, Int32Array, Int32Array];
}

/** recoverResponse, also returning the samples (for `refitResponse`). */
export function fitResponse(codes: readonly Uint8Array[], width: number, height: number, times: readonly number[], opts: ResponseOptions = {}): ResponseFit {
  const picks = [0, 1, 2].map((c) => channelSamples(codes, width, height, times, c, opts));
  const fit = {
    response: { log: [new Float32Array(256), new Float32Array(256), new Float32Array(256)] as const },
    samples: [picks[0]!, picks[1]!, picks[2]!] as const,
  };
  return { ...fit, response: refitResponse(codes, times, fit, null, opts) };
}

/** The sample pixels of channel c (fitResponse's choice; the channels are independent, so they can be fitted in parallel). */
export function channelSamples(
  codes: readonly Uint8Array[],
  width: number,
  height: number,
  times: readonly number[],
  c: number,
  opts: Pick<ResponseOptions, 'samples' | 'seed' | 'sampleMask'> = {},
): Int32Array {
  const P = codes.length;
  if (P < 2 || times.length !== P)
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, 'Response recovery needs at least two exposures with one time each', {
      frames: P,
      times: times.length,
    });
  // Reference for stratification: the exposure whose codes are most often mid-range.
  const order = times
    .map((t, i) => ({ t, i }))
    .sort((a, b) => a.t - b.t)
    .map((e) => e.i);
  const ref = order[order.length >> 1]!;
  return pickSamples(codes, width, height, c, ref, opts.samples ?? DEFAULT_SAMPLES, opts.seed ?? 1, opts.sampleMask);
}

/**
 * The curves fitted on the given samples, less those where `keep` < 0.5 (after deghosting: the
 * pixels a ghost mask flags). The samples are not drawn again, so a small change of the mask is a
 * small change of the curves (issue 23).
 */
export function refitResponse(
  codes: readonly Uint8Array[],
  times: readonly number[],
  fit: ResponseFit,
  keep: Float32Array | null,
  opts: Pick<ResponseOptions, 'lambda' | 'clipLow' | 'clipHigh'> = {},
): ResponseCurve {
  const log = fit.samples.map((all, c) => {
    const picks = keep ? keptSamples(all, keep) : all;
    // The same samples give the same curve: a static bracket's refit costs nothing.
    if (keep && picks.length === all.length) return fit.response.log[c as 0 | 1 | 2];
    return solveChannel(codes, times, picks, c, opts);
  });
  return { log: [log[0]!, log[1]!, log[2]!] };
}

/** The samples where keep >= 0.5. */
export function keptSamples(picks: Int32Array, keep: Float32Array): Int32Array {
  return picks.filter((p) => keep[p]! >= 0.5);
}

/** Channel c's curve fitted on the given samples, with one pass that drops the worst-fitting samples. */
export function solveChannel(
  codes: readonly Uint8Array[],
  times: readonly number[],
  picks: Int32Array,
  c: number,
  opts: Pick<ResponseOptions, 'lambda' | 'clipLow' | 'clipHigh'> = {},
): Float32Array {
  const lambda = (opts.lambda ?? 10) * stepSmoothness(times);
  const logT = times.map(Math.log);
  const lo = opts.clipLow?.[c] ?? -1;
  const hi = opts.clipHigh?.[c] ?? 256;
  const g = solveResponse(codes, picks, c, logT, lambda, lo, hi);
  // Samples on moving objects (or misaligned edges) do not fit any curve: drop the worst fits
  // (residual above 3x the median, at most a quarter of the samples) and solve again.
  const kept = inlierSamples(codes, picks, c, logT, g, lo, hi);
  return kept.length < picks.length && kept.length >= picks.length * 0.5 ? solveResponse(codes, kept, c, logT, lambda, lo, hi) : g;
}

/**
 * Chooses sample pixels: smooth places (low local code variation in the reference exposure, so a
 * one-pixel misalignment or blur changes little), spread evenly over the reference's code range.
 *
 * The choice does not depend on `mask`: the candidates, their jitter and their scores come from
 * the picture and the seed only, and the mask then drops picks. A fit after deghosting therefore
 * sees the same samples as the first fit, less the flagged ones (issue 23: when the mask also
 * steered the choice, every change of a ghost mask redrew the samples and moved memorial's curves
 * by up to 0.3 ln).
 */
function pickSamples(codes: readonly Uint8Array[], w: number, h: number, c: number, ref: number, count: number, seed: number, mask?: Float32Array): Int32Array {
  const rand = mulberry32(seed * 7919 + c);
  const refCodes = codes[ref]!;
  // Candidates on a jittered grid (~CANDIDATES_PER_SAMPLE per target sample), border excluded.
  const step = Math.max(1, Math.floor(Math.sqrt(((w - 4) * (h - 4)) / (count * CANDIDATES_PER_SAMPLE))));
  const nx = Math.ceil((w - 4) / step);
  const ny = Math.ceil((h - 4) / step);
  const pos = new Int32Array(nx * ny);
  const key = new Float64Array(nx * ny);
  let n = 0;
  for (let y = 2; y < h - 2; y += step) {
    for (let x = 2; x < w - 2; x += step) {
      const xx = Math.min(w - 3, x + Math.floor(rand() * step));
      const yy = Math.min(h - 3, y + Math.floor(rand() * step));
      const p = yy * w + xx;
      const z = refCodes[p * 3 + c]!;
      const variation =
        Math.abs(refCodes[(p - 2) * 3 + c]! - z) +
        Math.abs(refCodes[(p + 2) * 3 + c]! - z) +
        Math.abs(refCodes[(p - 2 * w) * 3 + c]! - z) +
        Math.abs(refCodes[(p + 2 * w) * 3 + c]! - z);
      pos[n] = p;
      // Sort key: code bin first, then smoothness (variation <= 1020, jitter < 1 breaks ties).
      key[n] = (z >> 2) * 2048 + variation + rand();
      n++;
    }
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => key[a]! - key[b]!);
  // Bin starts in the sorted order, then round robin over the bins: the smoothest candidate of
  // each bin first.
  const start = new Int32Array(65);
  for (let i = 0; i < n; i++) start[Math.floor(key[i]! / 2048) + 1]++;
  for (let b = 0; b < 64; b++) start[b + 1] += start[b]!;
  const picks = new Int32Array(Math.min(count, n));
  let m = 0;
  for (let round = 0; m < picks.length; round++) {
    for (let b = 0; b < 64 && m < picks.length; b++) if (start[b]! + round < start[b + 1]!) picks[m++] = pos[order[start[b]! + round]!]!;
  }
  if (!mask) return picks;
  return picks.filter((p) => mask[p]! >= 0.5);
}

/** Candidate pixels looked at per sample wanted (the smoothest of them in each code bin win). */
const CANDIDATES_PER_SAMPLE = 4;

/**
 * The smoothness factor for a bracket: s^2, s the widest step between consecutive exposure times in
 * stops (at least 1). The data only tie g(z) to g(z') where one exposure's code z meets the next
 * one's z' (g(z) - g(z') = ln of the time ratio), so a wave in g that repeats from z' to z costs
 * the data nothing; the wider the step, the longer that wave and the less the second-difference
 * term resists it. On memorial's 5 exposures 3 stops apart, lambda 10 let the red curve wave by
 * up to 0.5 ln against a fit on 13 exposures 1 stop apart (red floor and wood turned green-yellow,
 * issue 20); with 10 x 3^2 the curves are within 0.02-0.06 ln RMS of it.
 */
export function stepSmoothness(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let widest = 1;
  for (let i = 1; i < sorted.length; i++) widest = Math.max(widest, Math.log2(sorted[i]! / sorted[i - 1]!));
  return widest * widest;
}

/** Samples whose codes agree with the curve g: RMS over exposures of g(z) - ln t - (their mean). */
function inlierSamples(
  codes: readonly Uint8Array[],
  picks: Int32Array,
  c: number,
  logT: readonly number[],
  g: Float32Array,
  lo: number,
  hi: number,
): Int32Array {
  const res = new Float32Array(picks.length);
  for (let i = 0; i < picks.length; i++) {
    const p = picks[i]! * 3 + c;
    let s = 0;
    let s2 = 0;
    let k = 0;
    for (let j = 0; j < codes.length; j++) {
      const z = codes[j]![p]!;
      if (z > lo && z < hi) {
        const v = g[z]! - logT[j]!;
        s += v;
        s2 += v * v;
        k++;
      }
    }
    res[i] = k < 2 ? 0 : Math.sqrt(Math.max(0, s2 / k - (s / k) ** 2));
  }
  const sorted = Float32Array.from(res).sort();
  const limit = Math.max(3 * sorted[sorted.length >> 1]!, sorted[Math.floor(sorted.length * 0.75)]!, 0.05);
  return picks.filter((_, i) => res[i]! <= limit);
}

function solveResponse(
  codes: readonly Uint8Array[],
  picks: Int32Array,
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
  // g(128) = 0 (weight 1) and the smoothness rows. lambda is meant per LAMBDA_SAMPLES samples:
  // the data term grows with the number of samples, so the smoothness rows grow with its root.
  const smoothness = lambda * Math.sqrt(Math.max(1, picks.length) / LAMBDA_SAMPLES);
  A[128 * G + 128] += 1;
  for (let z = 1; z < 255; z++) {
    const s = smoothness * triangleWeight(z);
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
