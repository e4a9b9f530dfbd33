/**
 * Tone mapping of linear radiance to a displayable sRGB RawImage in [0, 1].
 *
 * - reinhard: the global photographic operator of Reinhard et al. (SIGGRAPH 2002): luminance
 *   scaled to `key` / (log-average luminance), then L (1 + L / Lwhite^2) / (1 + L); colours keep
 *   their ratios to the luminance.
 * - local: a base/detail operator in the log domain after Durand & Dorsey (SIGGRAPH 2002), with
 *   He's guided filter (O(N), edge-preserving) instead of the bilateral filter: the base layer's
 *   range is compressed to `contrast` (a ratio, e.g. 100:1) while the detail layer is kept (or
 *   boosted), so local contrast survives a large global compression.
 */
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { guidedFilterUnchecked } from '../../core/filters/guided.js';
import { createImage, type RawImage } from '../../core/image/types.js';

export type ToneMapper = 'reinhard' | 'local';
export const TONE_MAPPERS: readonly ToneMapper[] = ['reinhard', 'local'];

export interface ReinhardOptions {
  /** Key (middle grey the log-average maps to). Default 0.18. */
  key?: number;
  /** White point in scaled luminance units (maps to 1); default: the 99.9th percentile of the scaled luminance. */
  white?: number;
  /** Colour saturation exponent s in C_out = (C/L)^s L_out. Default 1. */
  saturation?: number;
}

export interface LocalToneMapOptions {
  /** Output contrast of the base layer (ratio). Default 100. */
  contrast?: number;
  /** Detail gain. Default 1.2. */
  detail?: number;
  /** Guided-filter radius in pixels (default 2% of the smaller side). */
  radius?: number;
  /** Colour saturation exponent. Default 0.8. */
  saturation?: number;
}

export interface ToneMapOptions {
  method?: ToneMapper;
  reinhard?: ReinhardOptions;
  local?: LocalToneMapOptions;
}

function luminance(rad: RawImage): Float32Array {
  if (rad.channels !== 3) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `Tone mapping needs a 3-channel radiance image, got ${rad.channels}`, {});
  const n = rad.width * rad.height;
  const L = new Float32Array(n);
  const d = rad.data;
  for (let i = 0, k = 0; i < n; i++, k += 3) L[i] = 0.2126 * d[k]! + 0.7152 * d[k + 1]! + 0.0722 * d[k + 2]!;
  return L;
}

/** p-quantile (0..1) of positive values through a log histogram (no sort: 12 MP stays fast). */
export function logPercentile(values: Float32Array, p: number): number {
  const [lo, hi] = positiveRange(values);
  if (!(hi > 0)) return 0;
  const bins = 4096;
  const a = Math.log(lo);
  const span = Math.log(hi) - a || 1;
  const hist = new Uint32Array(bins);
  const count = logHistogram(values, a, span, hist);
  const target = p * count;
  let acc = 0;
  for (let b = 0; b < bins; b++) {
    acc += hist[b]!;
    if (acc >= target) return Math.exp(a + ((b + 1) / bins) * span);
  }
  return hi;
}

// Each pass over the pixels is a function of its own (here and below): V8 optimises each loop
// separately instead of deoptimising one long function at every loop it has not run yet.

/** [min, max] of the positive values ([Infinity, -Infinity] when none). */
function positiveRange(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 0) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

/** Histogram of ln v over [a, a + span] in hist.length bins (positive values only); returns their count. */
function logHistogram(values: Float32Array, a: number, span: number, hist: Uint32Array): number {
  const bins = hist.length;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 0) {
      hist[Math.min(bins - 1, Math.floor(((Math.log(v) - a) / span) * bins))]++;
      count++;
    }
  }
  return count;
}

/** Linear [0, 1] -> sRGB-encoded, through a table (Math.pow per sample is too slow at 12 MP). */
const SRGB_TABLE_SIZE = 65536;
let srgbTable: Float32Array | undefined;
function srgbLut(): Float32Array {
  if (!srgbTable) {
    srgbTable = new Float32Array(SRGB_TABLE_SIZE + 1);
    for (let i = 0; i <= SRGB_TABLE_SIZE; i++) {
      const x = i / SRGB_TABLE_SIZE;
      srgbTable[i] = x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
    }
  }
  return srgbTable;
}

/** sRGB encoding of v through the table: 0 below 0 (and NaN), 1 from 1 (Math.round(v * size) = floor(v * size + 0.5) for v > 0). */
function srgbEncodeWith(t: Float32Array, v: number): number {
  return v > 0 ? (v >= 1 ? 1 : t[Math.floor(v * SRGB_TABLE_SIZE + 0.5)]!) : 0;
}

/** Writes C_out = (C / L)^s * Lout, sRGB encoded. */
function applyLuminance(rad: RawImage, L: Float32Array, Lout: Float32Array, s: number): RawImage {
  const out = createImage(rad.width, rad.height, 3);
  const d = rad.data;
  const o = out.data;
  const t = srgbLut();
  if (s === 1) {
    applyRatio(d, L, Lout, o, t);
    return out;
  }
  for (let i = 0, k = 0; i < L.length; i++, k += 3) {
    const l = L[i]!;
    const lo = Lout[i]!;
    if (!(l > 0)) {
      o[k] = o[k + 1] = o[k + 2] = srgbEncodeWith(t, lo);
      continue;
    }
    // s !== 1 here: saturation 1 took applyRatio above.
    o[k] = srgbEncodeWith(t, (Math.max(0, d[k]!) / l) ** s * lo);
    o[k + 1] = srgbEncodeWith(t, (Math.max(0, d[k + 1]!) / l) ** s * lo);
    o[k + 2] = srgbEncodeWith(t, (Math.max(0, d[k + 2]!) / l) ** s * lo);
  }
  return out;
}

/** C_out = C * Lout / L (saturation 1), sRGB encoded; grey Lout where L <= 0. */
function applyRatio(d: Float32Array, L: Float32Array, Lout: Float32Array, o: Float32Array, t: Float32Array): void {
  for (let i = 0, k = 0; i < L.length; i++, k += 3) {
    const l = L[i]!;
    const lo = Lout[i]!;
    if (!(l > 0)) {
      o[k] = o[k + 1] = o[k + 2] = srgbEncodeWith(t, lo);
      continue;
    }
    const f = lo / l;
    o[k] = srgbEncodeWith(t, d[k]! * f);
    o[k + 1] = srgbEncodeWith(t, d[k + 1]! * f);
    o[k + 2] = srgbEncodeWith(t, d[k + 2]! * f);
  }
}

/** exp(mean ln(1e-6 + max(0, L))). */
function logAverage(L: Float32Array): number {
  let logSum = 0;
  for (let i = 0; i < L.length; i++) logSum += Math.log(1e-6 + Math.max(0, L[i]!));
  return Math.exp(logSum / L.length);
}

function scaledPositive(L: Float32Array, scale: number): Float32Array {
  const Ls = new Float32Array(L.length);
  for (let i = 0; i < L.length; i++) Ls[i] = Math.max(0, L[i]!) * scale;
  return Ls;
}

/** Reinhard's curve in place: l (1 + l / white^2) / (1 + l). */
function reinhardCurve(Ls: Float32Array, w2: number): void {
  for (let i = 0; i < Ls.length; i++) {
    const l = Ls[i]!;
    Ls[i] = (l * (1 + l * w2)) / (1 + l);
  }
}

export function toneMapReinhard(rad: RawImage, opts: ReinhardOptions = {}): RawImage {
  const key = opts.key ?? 0.18;
  if (!(key > 0 && key < 10)) throw invalidOption('key', 'a number in (0, 10)', opts.key);
  if (opts.white !== undefined && !(opts.white > 0)) throw invalidOption('white', 'a positive number', opts.white);
  const L = luminance(rad);
  const scale = key / logAverage(L);
  const Ls = scaledPositive(L, scale);
  const white = opts.white ?? Math.max(1, logPercentile(Ls, 0.999));
  reinhardCurve(Ls, 1 / (white * white));
  return applyLuminance(rad, L, Ls, opts.saturation ?? 1);
}

export function toneMapLocal(rad: RawImage, opts: LocalToneMapOptions = {}): RawImage {
  const contrast = opts.contrast ?? 100;
  if (!(contrast > 1)) throw invalidOption('contrast', 'a ratio > 1', opts.contrast);
  const detail = opts.detail ?? 1.2;
  const { width, height } = rad;
  const radius = Math.max(2, Math.round(opts.radius ?? 0.02 * Math.min(width, height)));
  const L = luminance(rad);
  const floor = Math.max(1e-12, logPercentile(L, 0.0005) * 0.5);
  const logL = new Float32Array(L.length);
  for (let i = 0; i < L.length; i++) logL[i] = Math.log10(Math.max(L[i]!, floor));
  // eps 0.1^2: steps above ~0.1 decade (x1.26) count as edges and stay in the base layer.
  const base = guidedFilterUnchecked(logL, logL, width, height, radius, 0.01);
  // Robust base range (0.1..99.9 %): a few specular pixels should not set the compression.
  const sorted = sampleRange(base);
  const bMax = sorted.hi;
  const k = Math.log10(contrast) / Math.max(1e-6, sorted.hi - sorted.lo);
  const Lout = new Float32Array(L.length);
  for (let i = 0; i < L.length; i++) {
    const b = base[i]!;
    const v = (b - bMax) * Math.min(1, k) + (logL[i]! - b) * detail;
    // The base maximum maps to 0.9 of white, leaving headroom for detail on top.
    Lout[i] = 0.9 * 10 ** v;
  }
  return applyLuminance(rad, L, Lout, opts.saturation ?? 0.8);
}

function sampleRange(v: Float32Array): { lo: number; hi: number } {
  const step = Math.max(1, Math.floor(v.length / 200000));
  const s: number[] = [];
  for (let i = 0; i < v.length; i += step) s.push(v[i]!);
  s.sort((a, b) => a - b);
  return { lo: s[Math.floor(0.001 * (s.length - 1))]!, hi: s[Math.floor(0.999 * (s.length - 1))]! };
}

export function toneMap(rad: RawImage, opts: ToneMapOptions = {}): RawImage {
  const method = opts.method ?? 'reinhard';
  if (method === 'reinhard') return toneMapReinhard(rad, opts.reinhard);
  if (method === 'local') return toneMapLocal(rad, opts.local);
  throw invalidOption('method', `one of ${TONE_MAPPERS.join(', ')}`, method);
}
