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
import { fillBorder } from './border.js';
import { greyCodes } from './align.js';

/** Default clipping codes (JPEG noise keeps saturation a bit below 255). */
export const CLIP_LOW = 4;
export const CLIP_HIGH = 250;

/**
 * Per channel, the codes at or below `low` / at or above `high` are clipped (no information
 * beyond a bound). Film scans and some cameras have a black level well above 0 (the memorial
 * scans sit at codes 13-18): codes there say nothing about radiance.
 */
export interface ClipLevels {
  low: readonly [number, number, number];
  high: readonly [number, number, number];
}

export const DEFAULT_CLIP: ClipLevels = { low: [CLIP_LOW, CLIP_LOW, CLIP_LOW], high: [CLIP_HIGH, CLIP_HIGH, CLIP_HIGH] };

/**
 * Clip levels from the bracket itself. Black: the 5th percentile of the shortest exposure (mostly
 * dark in a real bracket: its shadows sit on the black level), trusted up to 24. White: the
 * 99.9th percentile of the longest exposure when it is 230..254 (a camera or scan saturating
 * below 255), else the default. A margin of 4 codes is added for noise.
 */
export function estimateClipLevels(codes: readonly Uint8Array[], times: readonly number[]): ClipLevels {
  const shortest = codes[times.indexOf(Math.min(...times))]!;
  const longest = codes[times.indexOf(Math.max(...times))]!;
  const low: number[] = [];
  const high: number[] = [];
  for (let c = 0; c < 3; c++) {
    const black = Math.min(24, channelPercentile(shortest, c, 0.05));
    const white = channelPercentile(longest, c, 0.999);
    low.push(Math.max(CLIP_LOW, black + 4));
    high.push(white >= 230 && white < 255 ? Math.min(CLIP_HIGH, white - 4) : CLIP_HIGH);
  }
  return { low: [low[0]!, low[1]!, low[2]!], high: [high[0]!, high[1]!, high[2]!] };
}

function channelPercentile(codes: Uint8Array, c: number, p: number): number {
  const hist = new Uint32Array(256);
  const step = 3 * Math.max(1, Math.floor(codes.length / 3 / 300000));
  let n = 0;
  for (let k = c; k < codes.length; k += step) {
    hist[codes[k]!]++;
    n++;
  }
  let acc = 0;
  for (let z = 0; z < 256; z++) {
    acc += hist[z]!;
    if (acc >= p * n) return z;
  }
  return 255;
}

/** Merge weight of a code in channel c: a hat over the unclipped codes, 0 on clipped ones. */
export function mergeWeightTable(clip: ClipLevels = DEFAULT_CLIP, c = 1): Float32Array {
  const lo = clip.low[c as 0 | 1 | 2];
  const hi = clip.high[c as 0 | 1 | 2];
  const w = new Float32Array(256);
  for (let z = 0; z < 256; z++) {
    if (z <= lo || z >= hi) w[z] = 0;
    else w[z] = Math.min(z - lo, hi - z) / ((hi - lo) / 2);
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
  /** Clipping codes per channel (default 4 and 250). */
  clip?: ClipLevels;
  /** Index of the reference exposure: fully clipped or fully rejected pixels come from it (or from the consistent extreme exposure). */
  reference: number;
}

/**
 * Linear radiance (interleaved RGB Float32, arbitrary common scale): per channel, the weighted
 * mean of E_j = exp(g(Z_j)) / dt_j with hat weights times consistency. (Debevec & Malik average
 * ln E; averaging E itself is the maximum-likelihood choice for shot noise, and spares an exp per
 * sample.) Pixels clipped in every usable exposure take the shortest consistent exposure
 * (saturated) or the longest consistent one (black), the best bounds the bracket has.
 */
export function mergeRadiance(input: MergeInput): Float32Array {
  const out = new Float32Array(input.width * input.height * 3);
  mergeRadianceRows(input, out, 0, input.height);
  return out;
}

/**
 * mergeRadiance for rows y0 <= y < y1 only, into `out` (the whole picture's interleaved RGB):
 * every pixel depends on its own samples alone, so bands of rows can be merged on different
 * threads with the same result.
 */
export function mergeRadianceRows(input: MergeInput, out: Float32Array, y0: number, y1: number): void {
  const { codes, width, times, response, reference } = input;
  const lut = logTables(response, times);
  const clip = input.clip ?? DEFAULT_CLIP;
  const W = [0, 1, 2].map((c) => mergeWeightTable(clip, c));
  // Exposure indices from the shortest to the longest.
  const byTime = times.map((_, j) => j).sort((a, b) => times[a]! - times[b]!);
  const cons = input.consistency ?? [];
  // Per exposure, one table interleaving [w, w * E] per code and channel: two lookups per sample.
  // The hat weight is multiplied by (issue 20, coloured speckle in the shadows):
  // - the exposure time (relative to the shortest): the mean of E = f(z) / t is the maximum-
  //   likelihood estimate under photon noise with weights proportional to t (Var E ~ E / t);
  // - the inverse variance of ln E a code carries relative to the curve's typical slope,
  //   (s_typ / g'(z))^2 capped at 1: where the curve is steep (a film toe just above black, the
  //   shoulder) one code step is a large jump in E.
  // Weighted by the hat alone, a short exposure's code a few steps above black dominated the
  // mean of E in the shadows (memorial: single pixels with one channel 20-30x too bright).
  const slopeWeight = W.map((_, c) => inverseSlopeWeight(response.log[c as 0 | 1 | 2]!));
  const shortestTime = Math.min(...times);
  const tables = codes.map((_, j) => {
    const t = new Float32Array(256 * 6);
    const timeWeight = times[j]! / shortestTime;
    for (let c = 0; c < 3; c++) {
      for (let z = 0; z < 256; z++) {
        const tw = timeWeight * slopeWeight[c]![z]!;
        t[(z * 3 + c) * 2] = tw * W[c]![z]!;
        t[(z * 3 + c) * 2 + 1] = tw * W[c]![z]! * Math.exp(lut[j]![c]![z]!);
      }
    }
    return t;
  });
  const linear = lut.map((per) => per.map((l) => l.map(Math.exp)));
  const consArr: (Float32Array | null)[] = codes.map((_, j) => cons[j] ?? null);
  // In ghost regions the result must agree with what the reference's own code says (its
  // interval, widened by the curve misfit the deghosting tolerates): a soft ghost mask leaves
  // some weight on frames that saw something else there, and where the reference is clipped in a
  // channel those frames are all that is left (the red paddle of hdr/dynamic pingpong, black in
  // green and blue, became a translucent cyan ghost). The bound applies in proportion to the
  // ghost mask (fully from a mask of 0.25), so static regions keep the less noisy longer
  // exposures in the shadows, where the reference's own interval would be too narrow for a
  // curve's toe.
  const bound = consArr.some((c) => c !== null) ? referenceBounds(lut[reference]!, clip) : null;
  const i0 = y0 * width;
  const i1 = y1 * width;
  // Pixels without a usable sample in some channel (total weight <= 1e-4) take the fallback.
  const missing = accumulate(codes, tables, consArr, out, i0, i1);
  for (let m = 0; m < missing.length; m += 2) {
    const i = missing[m]!;
    const flags = missing[m + 1]!;
    for (let c = 0; c < 3; c++) if (flags & (1 << c)) out[i * 3 + c] = fallback(codes, linear, clip, cons, i, i * 3, c as 0 | 1 | 2, reference, byTime);
  }
  // A black-clipped code says E <= f(black + BLACK_NOISE) / t (a half-line), which binds where a
  // longer exposure saw black and only a shorter one a code just above it (memorial: a dust speck
  // in the 1/32 s frame, codes 60-68 where the 0.25 s frame is black, gave a blue dot; the 1/32 s
  // frame's green code 21 beside the 2 s frame's black 19 a green one). Only exposures longer than
  // the reference cap: a shorter one's black is a loose bound (and each capping exposure is a pass).
  const capping = byTime.filter((j) => times[j]! > times[reference]!);
  const caps = Float32Array.from(capping.flatMap((j) => [0, 1, 2].map((c) => Math.exp(lut[j]![c]![Math.min(255, clip.low[c as 0 | 1 | 2] + BLACK_NOISE)]!))));
  capByBlackCodes(
    out,
    capping.map((j) => codes[j]!),
    capping.map((j) => consArr[j]!),
    clip.low,
    caps,
    i0,
    i1,
  );
  if (bound !== null) boundByReference(out, codes[reference]!, consArr, bound, i0, i1);
}

/** Codes of noise above the black level that a black-clipped code still allows (as deghosting's intervals). */
const BLACK_NOISE = 4;

// The passes over the pixels are functions of their own: V8 optimises each loop separately.

/**
 * out = min(out, cap) per channel where a capping exposure's code is at or below black and that
 * exposure is consistent (mask under half); caps[e * 3 + c] belongs to exposure e of `capCodes`.
 */
function capByBlackCodes(
  out: Float32Array,
  capCodes: readonly Uint8Array[],
  capCons: readonly (Float32Array | null)[],
  black: readonly [number, number, number],
  caps: Float32Array,
  i0: number,
  i1: number,
): void {
  const [b0, b1, b2] = black;
  const E = capCodes.length;
  for (let i = i0, k = i0 * 3; i < i1; i++, k += 3) {
    let v0 = out[k]!,
      v1 = out[k + 1]!,
      v2 = out[k + 2]!;
    for (let e = 0; e < E; e++) {
      const cj = capCodes[e]!;
      const za = cj[k]!;
      const zb = cj[k + 1]!;
      const zc = cj[k + 2]!;
      if (za > b0 && zb > b1 && zc > b2) continue;
      const cons = capCons[e]!;
      if (cons !== null && cons[i]! < 0.5) continue;
      if (za <= b0 && v0 > caps[e * 3]!) v0 = caps[e * 3]!;
      if (zb <= b1 && v1 > caps[e * 3 + 1]!) v1 = caps[e * 3 + 1]!;
      if (zc <= b2 && v2 > caps[e * 3 + 2]!) v2 = caps[e * 3 + 2]!;
    }
    out[k] = v0;
    out[k + 1] = v1;
    out[k + 2] = v2;
  }
}

/**
 * Weighted means per channel into out (interleaved RGB). Pixel-major with the sums in registers:
 * each input is read once and the output written once (a frame-major pass would stream two n*3
 * accumulators through memory once per exposure).
 */
function accumulate(
  codes: readonly Uint8Array[],
  tables: readonly Float32Array[],
  consArr: readonly (Float32Array | null)[],
  out: Float32Array,
  i0: number,
  i1: number,
): number[] {
  const P = codes.length;
  // Pairs (pixel, bit flags of the channels whose total weight is <= 1e-4).
  const missing: number[] = [];
  for (let i = i0, k = i0 * 3; i < i1; i++, k += 3) {
    let w0 = 0,
      w1 = 0,
      w2 = 0,
      a0 = 0,
      a1 = 0,
      a2 = 0;
    for (let j = 0; j < P; j++) {
      const cw = consArr[j]!;
      const m = cw === null ? 1 : cw[i]!;
      if (m === 0) continue;
      const cj = codes[j]!;
      const t = tables[j]!;
      const ia = cj[k]! * 6;
      const ib = cj[k + 1]! * 6 + 2;
      const ic = cj[k + 2]! * 6 + 4;
      w0 += m * t[ia]!;
      a0 += m * t[ia + 1]!;
      w1 += m * t[ib]!;
      a1 += m * t[ib + 1]!;
      w2 += m * t[ic]!;
      a2 += m * t[ic + 1]!;
    }
    out[k] = a0 / w0;
    out[k + 1] = a1 / w1;
    out[k + 2] = a2 / w2;
    if (!(w0 > 1e-4 && w1 > 1e-4 && w2 > 1e-4)) missing.push(i, (w0 > 1e-4 ? 0 : 1) | (w1 > 1e-4 ? 0 : 2) | (w2 > 1e-4 ? 0 : 4));
  }
  return missing;
}

/** In ghost regions, each channel moved towards the reference code's interval, in proportion to the ghost mask (fully from 0.25). */
function boundByReference(
  out: Float32Array,
  refCodes: Uint8Array,
  consArr: readonly (Float32Array | null)[],
  bound: { lo: Float32Array[]; hi: Float32Array[] },
  i0: number,
  i1: number,
): void {
  const P = consArr.length;
  for (let i = i0, k = i0 * 3; i < i1; i++, k += 3) {
    let ghost = 0;
    for (let j = 0; j < P; j++) {
      const cw = consArr[j]!;
      if (cw !== null && 1 - cw[i]! > ghost) ghost = 1 - cw[i]!;
    }
    const g = ghost >= 0.25 ? 1 : ghost * 4;
    if (g > 0) {
      for (let c = 0; c < 3; c++) {
        const z = refCodes[k + c]!;
        const v = out[k + c]!;
        const lo = bound.lo[c]![z]!;
        const hi = bound.hi[c]![z]!;
        const clamped = v < lo ? lo : v > hi ? hi : v;
        out[k + c] = v + g * (clamped - v);
      }
    }
  }
}

/**
 * Per code: min(1, (s_typ / s(z))^2), s(z) the curve's slope (ln E per code, over +-2 codes) and
 * s_typ its median over codes WELL_LOW..WELL_HIGH: the inverse variance of ln E from a code's
 * noise, relative to a typical code.
 */
function inverseSlopeWeight(g: Float32Array): Float32Array {
  const slope = new Float32Array(256);
  for (let z = 0; z < 256; z++) {
    const a = Math.max(0, z - 2);
    const b = Math.min(255, z + 2);
    slope[z] = (g[b]! - g[a]!) / (b - a);
  }
  const typical = median(slope.slice(WELL_LOW, WELL_HIGH + 1));
  // Floored, so a pixel seen only in steep codes keeps a merge (the fallback starts at a total weight of 1e-4).
  return slope.map((s) => (s > typical ? Math.max(0.02, (typical / s) ** 2) : 1));
}

/** Curve misfit between exposures that the reference bound tolerates (ln units; deghosting removes offsets up to 0.3). */
const BOUND_MISFIT = 0.3;

/** Linear-radiance bounds per channel and code of the reference (codeIntervals without the toe/shoulder widening, widened by BOUND_MISFIT). */
function referenceBounds(lutRef: Float32Array[], clip: ClipLevels): { lo: Float32Array[]; hi: Float32Array[] } {
  const { lo, hi } = codeIntervals([lutRef], clip, 4, false);
  const toLinear = (t: Float32Array, sign: number) => t.map((v) => (Math.abs(v) >= 1e29 ? (sign < 0 ? 0 : Infinity) : Math.exp(v + sign * BOUND_MISFIT)));
  return { lo: lo[0]!.map((t) => toLinear(t, -1)), hi: hi[0]!.map((t) => toLinear(t, 1)) };
}

/** Nothing usable: clipped everywhere, or every well-exposed sample was rejected as a ghost. */
function fallback(
  codes: readonly Uint8Array[],
  linear: Float32Array[][],
  clip: ClipLevels,
  cons: readonly (Float32Array | null)[],
  i: number,
  k: number,
  c: 0 | 1 | 2,
  reference: number,
  byTime: readonly number[],
): number {
  const zr = codes[reference]![k + c]!;
  let pick = reference;
  // Saturated: the shortest exposure that holds data here; black: the longest. The reference
  // (always consistent) ends either search. (Taking the reference as soon as the extreme exposure
  // was unusable gave memorial's left edge, edge fill in the 16 s exposure only, a green strip:
  // green black-clipped in the reference, read far below its clip level, beside red and blue
  // from the 2 s exposure.)
  if (zr >= clip.high[c]) pick = firstConsistent(cons, i, byTime);
  else if (zr <= clip.low[c]) pick = firstConsistent(cons, i, [...byTime].reverse());
  return linear[pick]![c]![codes[pick]![k + c]!]!;
}

/** The first exposure in `order` that is consistent at pixel i (no ghost mask, or under half). */
function firstConsistent(cons: readonly (Float32Array | null)[], i: number, order: readonly number[]): number {
  for (const j of order) {
    const c = cons[j];
    if (!c || c[i]! > 0.5) return j;
  }
  return order[0]!;
}

export interface DeghostOptions {
  /**
   * Smallest disagreement (ln units of radiance, i.e. 0.3 = 35 %) that can count as a ghost; the
   * actual threshold of each exposure is the larger of this and 3 robust sigmas of its
   * (smoothed) disagreement with the reference over the frame, so noisy brackets (film grain,
   * high ISO) do not light up everywhere. Default 0.3.
   */
  threshold?: number;
  /** Radius of the box that averages the signed disagreement before thresholding (noise). Default 2. */
  smooth?: number;
  /** Noise of a code, in codes: a code z means "somewhere in z +- noise". Default 4. */
  noise?: number;
  /** Radius of the erosion that opens the thresholded map before dilation (isolated noise specks). Default 1; 0 turns it off. */
  open?: number;
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
  /** Per exposure: the threshold used (ln units) and the median log offset removed (curve misfit). */
  thresholds: number[];
  offsets: number[];
}

/** Most pixels the ghost masks are computed on (more: on every f-th pixel, then upsampled). */
const DEGHOST_PIXELS = 0.3e6;

/** Codes counted as well exposed when estimating offsets and noise. */
const WELL_LOW = 20;
const WELL_HIGH = 235;

/**
 * Ghost masks of every exposure against the reference. `valid` optionally gives, per exposure,
 * the rectangle that holds real data (after an alignment shift the replicated border does not):
 * outside it the exposure is rejected.
 */
export function detectGhosts(
  input: Omit<MergeInput, 'consistency'> & { fills?: readonly (Uint8Array | null)[] },
  opts: DeghostOptions = {},
  valid?: readonly (ValidRect | null)[],
): DeghostResult {
  const plan = planGhosts(input, opts, valid);
  return finishGhosts(plan, ghostJobs(plan).map(exposureGhost));
}

/** What detectGhosts works on: the (decimated) codes, fills and rectangles, and the filter radii at that size. */
export interface GhostPlan {
  input: Omit<MergeInput, 'consistency'>;
  opts: DeghostOptions;
  /** Decimation factor (1: full size) and the working size. */
  f: number;
  w: number;
  h: number;
  codes: readonly Uint8Array[];
  /** Edge fill at full size and at the working size. */
  fills: readonly (Uint8Array | null)[];
  workFills: readonly (Uint8Array | null)[];
  rects: readonly (ValidRect | null)[] | undefined;
  dilate: number;
  feather: number;
}

export function planGhosts(
  input: Omit<MergeInput, 'consistency'> & { fills?: readonly (Uint8Array | null)[] },
  opts: DeghostOptions = {},
  valid?: readonly (ValidRect | null)[],
): GhostPlan {
  const { codes, width, height } = input;
  const dilate = Math.max(2, Math.round(opts.dilate ?? 0.006 * Math.min(width, height)));
  const feather = Math.max(1, Math.round(opts.feather ?? dilate));
  // Masks are smooth (dilated, feathered over ~0.6 % of the picture): above DEGHOST_PIXELS they
  // are found on every f-th pixel and upsampled (memorial's 0.39 MP: f = 2, pingpong's 2 MP:
  // f = 3, 12 MP: f = 7). At 1.2 MP memorial ran at full size and deghosting was 0.22 of its
  // 0.45 s; at 0.3 MP the ghost benchmark moved by < 0.05 dB (issue 23).
  const f = Math.max(1, Math.ceil(Math.sqrt((width * height) / DEGHOST_PIXELS)));
  // Edge fill (registration padding of film scans) is missing data, not motion: found at full
  // resolution, so one-pixel wedges are not lost to the decimation below.
  const fills = input.fills ?? codes.map((c) => fillBorder(c, width, height, input.clip ?? DEFAULT_CLIP));
  if (f === 1) return { input, opts, f, w: width, h: height, codes, fills, workFills: fills, rects: valid, dilate, feather };
  const w = Math.floor(width / f);
  const h = Math.floor(height / f);
  return {
    input,
    opts,
    f,
    w,
    h,
    codes: codes.map((c) => decimateCodes(c, width, w, h, f)),
    fills,
    workFills: fills.map((m) => (m ? decimateMaskAny(m, width, height, w, h, f) : null)),
    rects: valid?.map((r) => (r ? { x0: Math.ceil(r.x0 / f), y0: Math.ceil(r.y0 / f), x1: Math.floor(r.x1 / f), y1: Math.floor(r.y1 / f) } : null)),
    dilate: Math.max(1, Math.round(dilate / f)),
    feather: Math.max(1, Math.round(feather / f)),
  };
}

/**
 * One exposure's share of deghosting, self-contained (only its codes and the reference's), so
 * the exposures can be worked on in parallel threads.
 */
export interface ExposureGhostJob {
  j: number;
  reference: number;
  cj: Uint8Array;
  ref: Uint8Array;
  width: number;
  height: number;
  times: readonly number[];
  response: ResponseCurve;
  clip: ClipLevels;
  opts: DeghostOptions;
  dilate: number;
  feather: number;
  rect: ValidRect;
  fillJ: Uint8Array | null;
  fillRef: Uint8Array | null;
}

export interface ExposureGhost {
  /** 1 - the feathered mask (0 on the exposure's edge fill). */
  consistency: Float32Array;
  /** The feathered mask itself, null when nothing was flagged. */
  mask: Float32Array | null;
  threshold: number;
  offset: number;
}

/** The jobs of every exposure but the reference, in exposure order. */
export function ghostJobs(plan: GhostPlan): ExposureGhostJob[] {
  const { input, w, h, codes, workFills } = plan;
  const { reference } = input;
  const jobs: ExposureGhostJob[] = [];
  for (let j = 0; j < codes.length; j++) {
    if (j === reference) continue;
    jobs.push({
      j,
      reference,
      cj: codes[j]!,
      ref: codes[reference]!,
      width: w,
      height: h,
      times: input.times,
      response: input.response,
      clip: input.clip ?? DEFAULT_CLIP,
      opts: plan.opts,
      dilate: plan.dilate,
      feather: plan.feather,
      rect: plan.rects?.[j] ?? { x0: 0, y0: 0, x1: w, y1: h },
      fillJ: workFills[j] ?? null,
      fillRef: workFills[reference] ?? null,
    });
  }
  return jobs;
}

/**
 * The DeghostResult from the exposures' results (in ghostJobs order): masks combined by their
 * maximum, upsampled to full size (the consistency planes into arrays from `alloc`, e.g. shared memory).
 */
export function finishGhosts(
  plan: GhostPlan,
  results: readonly ExposureGhost[],
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): DeghostResult {
  const { input, f, w, h, fills } = plan;
  const { width, height, reference } = input;
  const mask = new Float32Array(w * h);
  const consistency: (Float32Array | null)[] = [];
  const thresholds: number[] = [];
  const offsets: number[] = [];
  let next = 0;
  for (let j = 0; j < plan.codes.length; j++) {
    if (j === reference) {
      consistency.push(null);
      thresholds.push(0);
      offsets.push(0);
      continue;
    }
    const r = results[next++]!;
    consistency.push(r.consistency);
    thresholds.push(r.threshold);
    offsets.push(r.offset);
    if (r.mask) maxInto(mask, r.mask);
  }
  if (f === 1) return { consistency, mask, thresholds, offsets };
  return {
    consistency: consistency.map((c, j) => (c ? withoutFill(upsampleNearest(c, w, h, width, height, f, alloc(width * height)), fills[j] ?? null) : null)),
    mask: upsampleNearest(mask, w, h, width, height, f, new Float32Array(width * height)),
    thresholds,
    offsets,
  };
}

function maxInto(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) if (src[i]! > dst[i]!) dst[i] = src[i]!;
}

/** Consistency 0 where the exposure holds edge fill (no data). */
function withoutFill(cons: Float32Array, fill: Uint8Array | null): Float32Array {
  if (fill) for (let i = 0; i < cons.length; i++) if (fill[i]) cons[i] = 0;
  return cons;
}

/** 1 per f x f block when any of its pixels is set (the block's pixels beyond w*f, h*f are ignored). */
function decimateMaskAny(src: Uint8Array, width: number, height: number, w: number, h: number, f: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < Math.min(height, h * f); y++) {
    for (let x = 0; x < Math.min(width, w * f); x++) if (src[y * width + x]) out[Math.floor(y / f) * w + Math.floor(x / f)] = 1;
  }
  return out;
}

/**
 * One pixel per f x f block (its top-left one) of interleaved RGB codes. Decimation rather than
 * block means: every exposure is sampled at the same pixels, so the comparison stays exact, and
 * the disagreement is smoothed afterwards anyway.
 */
function decimateCodes(src: Uint8Array, width: number, w: number, h: number, f: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const r = y * f * width * 3;
    const o = y * w * 3;
    for (let x = 0, p = r; x < w; x++, p += 3 * f) {
      out[o + x * 3] = src[p]!;
      out[o + x * 3 + 1] = src[p + 1]!;
      out[o + x * 3 + 2] = src[p + 2]!;
    }
  }
  return out;
}

/**
 * Upsampling of a w x h plane of f x f block values to width x height: nearest block (the maps
 * are feathered over many blocks, so a step of 1/f of a feather is invisible), one row built and
 * copied f times; the border beyond w*f or h*f repeats the last block.
 */
function upsampleNearest(src: Float32Array, w: number, h: number, width: number, height: number, f: number, out: Float32Array): Float32Array {
  const xs = new Int32Array(width);
  for (let x = 0; x < width; x++) xs[x] = Math.min(w - 1, Math.floor(x / f));
  for (let y = 0; y < height; y += f) {
    const sy = Math.min(h - 1, Math.floor(y / f));
    const r = sy * w;
    const o = y * width;
    for (let x = 0; x < width; x++) out[o + x] = src[r + xs[x]!]!;
    for (let k = 1; k < f && y + k < height; k++) out.copyWithin(o + k * width, o, o + width);
  }
  return out;
}

/** Deghosting of one exposure against the reference (see detectGhosts). */
export function exposureGhost(job: ExposureGhostJob): ExposureGhost {
  const { j, reference, cj, ref, width, height, times, response, clip, opts, dilate, feather, rect, fillJ, fillRef } = job;
  const n = width * height;
  const minThreshold = opts.threshold ?? 0.3;
  const smooth = Math.max(0, Math.round(opts.smooth ?? 2));
  const open = Math.max(0, Math.round(opts.open ?? 1));
  const noise = Math.max(0, Math.min(64, Math.round(opts.noise ?? 4)));
  const lut = logTables(response, times);
  // Interval tables: a well-exposed code z means ln E in [L(z - noise), L(z + noise)]; a clipped
  // code a half-line beyond the clipping level.
  const { lo, hi } = codeIntervals(lut, clip, noise);
  const diff = new Float32Array(n);
  const tmp = new Float32Array(n);
  const tmp2 = new Float32Array(n);
  const refGrey = greyCodes(ref, width, height);
  const offset = medianOffset(cj, ref, lut[j]!, lut[reference]!, n);
  // Signed gap between the exposure's interval (minus the offset) and the reference's, per
  // channel, read from one table per channel indexed by the code pair (65536 entries: built
  // once per exposure instead of four interval lookups and a comparison chain per sample);
  // the channel with the largest magnitude speaks for the pixel. Bounded, so one wild pixel
  // cannot dominate its neighbourhood after smoothing.
  const [t0, t1, t2] = [0, 1, 2].map((c) => gapTable(lo[j]![c]!, hi[j]![c]!, lo[reference]![c]!, hi[reference]![c]!, offset));
  gapPlane(cj, ref, t0!, t1!, t2!, diff);
  // Edge fill in either frame is no evidence of motion.
  if (fillJ !== null) zeroWhere(diff, fillJ);
  if (fillRef !== null) zeroWhere(diff, fillRef);
  if (smooth > 0) boxMeanInto(diff, width, height, smooth, diff, tmp);
  const threshold = Math.max(minThreshold, 3 * robustSigma(diff, cj, ref, n));
  // Soft threshold: 0 below the threshold, 1 from twice the threshold. The threshold rises with
  // the noise of the disagreement at the reference's brightness (codeThresholds): shot noise is
  // far larger in ln units in the shadows than at mid-grey, and one threshold for the frame lit
  // up the dark half of a high-ISO static bracket (32 % flagged).
  softThresholdByCode(diff, codeThresholds(diff, refGrey, threshold), refGrey, tmp);
  // Morphological opening of the support (v > 0): a moving object is a region, while noise that
  // got past the threshold (shot noise where a curve is steep, film grain) is isolated specks
  // of a pixel or two. The opened support keeps the soft values it covers unchanged (a
  // textured object keeps its full mask) and drops the specks; objects under 3x3 working pixels
  // are lost with them, far below what a ghost mask is for.
  const any = open > 0 ? keepOnly(tmp, openSupport(tmp, width, height, open)) : anyPositive(tmp);
  if (!any && rect.x0 <= 0 && rect.y0 <= 0 && rect.x1 >= width && rect.y1 >= height) {
    // Nothing flagged and no missing border: dilating and feathering zeros gives zeros.
    return { consistency: withoutFill(new Float32Array(n).fill(1), fillJ), mask: null, threshold, offset };
  }
  // Outside its valid rectangle the exposure has no data (set after the opening, so a
  // one-pixel strip survives); negated for the max filter below (max = -min(-x)).
  negateInsideRect(tmp, width, height, rect);
  // Dilate to cover the object's outline, then feather twice (~triangle), so seams are soft.
  minFilterInto(tmp, width, height, dilate, diff);
  negate(diff);
  boxMeanInto(diff, width, height, feather, tmp, tmp2);
  boxMeanInto(tmp, width, height, feather, diff, tmp2);
  const mask = new Float32Array(n);
  const cons = consistencyFromFeathered(diff, mask);
  // The exposure's own edge fill is not data: it gets no weight, but it is not a ghost.
  return { consistency: withoutFill(cons, fillJ), mask, threshold, offset };
}

/**
 * Interval tables: per exposure and channel, a code z means ln E in [lo[z], hi[z]]: +-noise codes
 * around z read through the curve, so wide where the curve is steep (dark codes) and noisy
 * shadows are not taken for motion; a clipped code is a half-line beyond the clipping level.
 * Near the clipping levels (a film toe or shoulder, a sensor's black level) curves fit worst and
 * codes are least trustworthy: the interval widens by up to 1 ln unit in the 24 codes above
 * black and 0.5 in the 12 codes below white.
 */
export function codeIntervals(
  lut: readonly Float32Array[][],
  clip: ClipLevels,
  noise: number,
  widenNearClip = true,
): { lo: Float32Array[][]; hi: Float32Array[][] } {
  const lo: Float32Array[][] = [];
  const hi: Float32Array[][] = [];
  for (let j = 0; j < lut.length; j++) {
    lo.push([]);
    hi.push([]);
    for (let c = 0; c < 3; c++) {
      const L = lut[j]![c]!;
      const l = new Float32Array(256);
      const h = new Float32Array(256);
      const clipLow = clip.low[c as 0 | 1 | 2];
      const clipHigh = clip.high[c as 0 | 1 | 2];
      for (let z = 0; z < 256; z++) {
        const toe = widenNearClip ? Math.max(0, 1 - (z - clipLow) / 24) : 0;
        const shoulder = widenNearClip ? 0.5 * Math.max(0, 1 - (clipHigh - z) / 12) : 0;
        l[z] = z <= clipLow ? -1e30 : L[Math.max(0, Math.min(z, clipHigh) - noise)]! - toe - shoulder;
        h[z] = z >= clipHigh ? 1e30 : L[Math.min(255, Math.max(z, clipLow) + noise)]! + toe + shoulder;
      }
      lo[j]!.push(l);
      hi[j]!.push(h);
    }
  }
  return { lo, hi };
}

// One loop per function below: V8 optimises each on its own. In one long function with a dozen
// sequential loops, on-stack replacement compiled it with no type feedback for the later loops
// and deoptimised on reaching them, so most passes ran unoptimised (~15x slower per pixel).

/** diff[i]: the signed gap of the channel with the largest magnitude, from the three code-pair tables. */
function gapPlane(cj: Uint8Array, ref: Uint8Array, t0: Float32Array, t1: Float32Array, t2: Float32Array, diff: Float32Array): void {
  const n = diff.length;
  for (let i = 0, k = 0; i < n; i++, k += 3) {
    const a = t0[(cj[k]! << 8) | ref[k]!]!;
    const b = t1[(cj[k + 1]! << 8) | ref[k + 1]!]!;
    const c = t2[(cj[k + 2]! << 8) | ref[k + 2]!]!;
    let g = (a < 0 ? -a : a) >= (b < 0 ? -b : b) ? a : b;
    if ((c < 0 ? -c : c) > (g < 0 ? -g : g)) g = c;
    diff[i] = g;
  }
}

function zeroWhere(v: Float32Array, where: Uint8Array): void {
  for (let i = 0; i < v.length; i++) if (where[i]) v[i] = 0;
}

/** out = clamp((|v| - t) / t, 0, 1) with t = thresholds[grey code of the reference]. */
function softThresholdByCode(v: Float32Array, thresholds: Float32Array, grey: Uint8Array, out: Float32Array): void {
  for (let i = 0; i < v.length; i++) {
    const t = thresholds[grey[i]!]!;
    const x = (Math.abs(v[i]!) - t) / t;
    out[i] = x <= 0 ? 0 : x >= 1 ? 1 : x;
  }
}

/** Bins of the reference's grey code over which the noise of the disagreement is measured. */
const NOISE_BINS = 16;
/** Fewest samples a bin needs for its own noise estimate. */
const NOISE_BIN_MIN = 64;

/**
 * Threshold per grey code of the reference: the larger of the frame's threshold and 3 robust
 * sigmas (1.4826 MAD about 0) of the smoothed disagreement among the pixels whose reference grey
 * code falls in the same bin of 16 codes (a subsample), interpolated linearly between bin centres.
 * A moving object only raises its bin's threshold when it covers most of that bin's pixels (the
 * median ignores the rest), which a ghost on a static background does not.
 */
function codeThresholds(diff: Float32Array, grey: Uint8Array, base: number): Float32Array {
  const n = diff.length;
  const step = Math.max(1, Math.floor(n / 200000));
  const width = 256 / NOISE_BINS;
  const counts = new Int32Array(NOISE_BINS);
  for (let i = 0; i < n; i += step) counts[(grey[i]! / width) | 0]++;
  const bins = Array.from(counts, (c) => new Float32Array(c));
  counts.fill(0);
  for (let i = 0; i < n; i += step) {
    const b = (grey[i]! / width) | 0;
    bins[b]![counts[b]!++] = diff[i]!;
  }
  // Offset and spread about the bin's median: noise clipped at black biases the dark codes (an
  // offset), shot noise spreads them; a ghost covering under half of a bin moves neither much.
  const level = bins.map((d) => (d.length >= NOISE_BIN_MIN ? Math.max(base, binLevel(d)) : base));
  const out = new Float32Array(256);
  for (let z = 0; z < 256; z++) {
    const x = Math.min(NOISE_BINS - 1, Math.max(0, (z + 0.5) / width - 0.5));
    const b = Math.floor(x);
    const f = x - b;
    out[z] = b + 1 < NOISE_BINS ? level[b]! * (1 - f) + level[b + 1]! * f : level[b]!;
  }
  return out;
}

/** |median(d)| + 3 x 1.4826 median |d - median(d)|: the bin's systematic offset plus 3 robust sigmas of its spread (reorders d). */
function binLevel(d: Float32Array): number {
  const m = median(d);
  for (let i = 0; i < d.length; i++) d[i] = Math.abs(d[i]! - m);
  return Math.abs(m) + 3 * 1.4826 * median(d);
}

/** Zeroes v where keep is 0; true when any kept pixel is left. */
function keepOnly(v: Float32Array, keep: Uint8Array): boolean {
  let any = false;
  for (let i = 0; i < v.length; i++) {
    if (keep[i] === 0) v[i] = 0;
    else any = true;
  }
  return any;
}

function anyPositive(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i]! > 0) return true;
  return false;
}

/** v = -v inside the rectangle, -1 outside it. */
function negateInsideRect(v: Float32Array, width: number, height: number, rect: ValidRect): void {
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const inside = y >= rect.y0 && y < rect.y1;
    for (let x = 0; x < width; x++) v[row + x] = !inside || x < rect.x0 || x >= rect.x1 ? -1 : -v[row + x]!;
  }
}

function negate(v: Float32Array): void {
  for (let i = 0; i < v.length; i++) v[i] = -v[i]!;
}

/** 1 - min(1, 1.5 v) (the core of a dilated region stays fully masked); raises mask to the masked amount. */
function consistencyFromFeathered(v: Float32Array, mask: Float32Array): Float32Array {
  const cons = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]! * 1.5;
    const m = x > 1 ? 1 : x;
    cons[i] = 1 - m;
    if (m > mask[i]!) mask[i] = m;
  }
  return cons;
}

/**
 * gap[(zj << 8) | zr]: the signed gap between exposure j's interval for code zj (moved by
 * -offset) and the reference's for code zr, bounded to +-3 ln units.
 */
function gapTable(loJ: Float32Array, hiJ: Float32Array, loR: Float32Array, hiR: Float32Array, offset: number): Float32Array {
  const t = new Float32Array(65536);
  for (let zj = 0; zj < 256; zj++) {
    const lj = loJ[zj]! - offset;
    const hj = hiJ[zj]! - offset;
    for (let zr = 0; zr < 256; zr++) {
      const g = signedGap(lj, hj, loR[zr]!, hiR[zr]!);
      t[(zj << 8) | zr] = g > 3 ? 3 : g < -3 ? -3 : g;
    }
  }
  return t;
}

/**
 * Morphological opening of the support (v > 0) of a plane: 1 where the (2r+1)^2 erosion of the
 * support, dilated back, is set. Windows are clipped at the border (as minFilterInto's).
 */
function openSupport(v: Float32Array, w: number, h: number, r: number): Uint8Array {
  const n = w * h;
  const out = new Uint8Array(n);
  // The opening lies inside the support, and deciding a support pixel looks r rows either way:
  // only the rows of the support, widened by r, are worked on (the same result; a static
  // bracket's map is mostly zero).
  let first = -1;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (v[i]! > 0) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) return out;
  const y0 = Math.max(0, Math.floor(first / w) - r);
  const y1 = Math.min(h - 1, Math.floor(last / w) + r);
  const band = v.subarray(y0 * w, (y1 + 1) * w);
  const bh = y1 - y0 + 1;
  const zero = new Uint8Array(w * bh);
  for (let i = 0; i < zero.length; i++) zero[i] = band[i]! > 0 ? 0 : 1;
  // Eroded support: no zero in the window. Then dilated: some eroded pixel in the window.
  const hasZero = windowAny(zero, w, bh, r);
  for (let i = 0; i < hasZero.length; i++) hasZero[i] = hasZero[i] ? 0 : 1;
  out.set(windowAny(hasZero, w, bh, r), y0 * w);
  return out;
}

/** 1 where the clipped (2r+1)^2 window around a pixel holds a non-zero of `src` (separable ORs; r is small). */
function windowAny(src: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const rows = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) orRow(src, rows, y * w, w, r);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) orInto(out, rows, o, yy * w, w);
  }
  return out;
}

/** dst[o + x] = OR of src[o + x - r .. o + x + r], clipped to the row. */
function orRow(src: Uint8Array, dst: Uint8Array, o: number, w: number, r: number): void {
  for (let x = 0; x < w; x++) {
    let v = 0;
    const x1 = Math.min(w - 1, x + r);
    for (let xx = Math.max(0, x - r); xx <= x1; xx++) v |= src[o + xx]!;
    dst[o + x] = v !== 0 ? 1 : 0;
  }
}

function orInto(dst: Uint8Array, src: Uint8Array, o: number, so: number, w: number): void {
  for (let x = 0; x < w; x++) dst[o + x] |= src[so + x]!;
}

function signedGap(lj: number, hj: number, lr: number, hr: number): number {
  if (lj > hr) return lj - hr;
  if (hj < lr) return hj - lr;
  return 0;
}

/** Median of L_j - L_ref over well-exposed pixel pairs (green), on a subsample: the response curve's misfit between two exposures. */
function medianOffset(cj: Uint8Array, ref: Uint8Array, lutJ: Float32Array[], lutR: Float32Array[], n: number): number {
  const step = Math.max(1, Math.floor(n / 100000));
  const d = new Float32Array(Math.ceil(n / step));
  let m = 0;
  const gj = lutJ[1]!;
  const gr = lutR[1]!;
  for (let i = 0; i < n; i += step) {
    const a = cj[i * 3 + 1]!;
    const b = ref[i * 3 + 1]!;
    if (a >= WELL_LOW && a <= WELL_HIGH && b >= WELL_LOW && b <= WELL_HIGH) d[m++] = gj[a]! - gr[b]!;
  }
  // Trusted only with a real overlap (2 % of the frame), and bounded: far-apart exposures overlap
  // only at the ends of the curve, where its misfit says little about the rest.
  if (m < Math.max(100, 0.02 * d.length)) return 0;
  const med = median(d.subarray(0, m));
  return Math.max(-0.3, Math.min(0.3, med));
}

/** 1.4826 * median |diff| over pixels well exposed in both (a subsample): the noise of the smoothed disagreement. */
function robustSigma(diff: Float32Array, cj: Uint8Array, ref: Uint8Array, n: number): number {
  const step = Math.max(1, Math.floor(n / 100000));
  const d = new Float32Array(Math.ceil(n / step));
  let m = 0;
  for (let i = 0; i < n; i += step) {
    const a = cj[i * 3 + 1]!;
    const b = ref[i * 3 + 1]!;
    if (a >= WELL_LOW && a <= WELL_HIGH && b >= WELL_LOW && b <= WELL_HIGH) d[m++] = Math.abs(diff[i]!);
  }
  return m < 100 ? 0 : 1.4826 * median(d.subarray(0, m));
}

/** Median of a typed array: the element of rank length >> 1 (reordered in place by quickselect, O(n); a full sort was the slowest step of deghosting). */
function median(d: Float32Array): number {
  return selectRank(d, d.length >> 1);
}

/** The k-th smallest element of d (Hoare's quickselect with a median-of-three pivot; reorders d). */
function selectRank(d: Float32Array, k: number): number {
  let lo = 0;
  let hi = d.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // Median of three as the pivot: sorted or constant runs stay O(n).
    const a = d[lo]!,
      b = d[mid]!,
      c = d[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (d[i]! < pivot) i++;
      while (d[j]! > pivot) j--;
      if (i <= j) {
        const t = d[i]!;
        d[i] = d[j]!;
        d[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return d[k]!;
  }
  return d[k]!;
}
