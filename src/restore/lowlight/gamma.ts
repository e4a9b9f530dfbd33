/**
 * Low-light enhancement by illumination-aware gamma correction.
 *
 * 1. Illumination L: the per-pixel max over RGB (the HSV value; the Retinex/LIME initial
 *    illumination estimate, Guo, Li & Ling, "LIME", IEEE TIP 2017), smoothed edge-preservingly
 *    by a guided filter guided by itself (He et al. 2013; O(N), unlike the bilateral filter of
 *    the original method), clamped to [0, 1].
 * 2. Per-pixel gamma from L, the non-linear masking of Moroney ("Local color correction using
 *    non-linear masking", IS&T/SID CIC 2000) with the image-adaptive base of Schettini et al.
 *    ("Contrast image correction method", J. Electronic Imaging 19(2), 2010):
 *        gamma(x) = alpha ^ (2 L(x) - 1),   alpha = max(1, ln(mean L) / ln(0.5)),
 *    clamped to [gammaMin, gammaMax] (default [0.2, 1.5]). In their notation the mask is the
 *    smoothed inverted image M = 1 - L and the exponent is alpha^((0.5 - M) / 0.5), the same
 *    thing. Darker neighbourhoods get a smaller gamma (brightened more), bright ones a gamma
 *    above 1; alpha grows as the image gets darker (mean L = 0.1 -> alpha 3.3, L = 0.1 ->
 *    gamma 0.38), and an image whose mean illumination is >= 0.5 gets alpha = 1, i.e. gamma = 1
 *    everywhere: well-exposed images are left alone. (Schettini et al. also use alpha for
 *    bright images, to darken them; a low-light method should not, hence the max(1, .).)
 * 3. Correction with the pixel's own value (the mask only sets the exponent, so local contrast is
 *    kept): on the HSV value V = max(R, G, B), with the colour ratios preserved,
 *        out_c = in_c * V^gamma / V.
 *    Why V and not each channel: per-channel gamma compresses the ratios between channels
 *    ((r/g)^gamma), visibly washing colours out at gamma ~ 0.3; scaling by V^gamma / V keeps
 *    hue and saturation, and since the largest channel maps to V^gamma <= 1 nothing clips
 *    (scaling luminance instead can push a saturated channel past 1). It also costs one power
 *    per pixel instead of three.
 * 4. V^gamma by powTaylor (truncated Taylor series, no Math.pow per pixel). The result reports
 *    the max |powTaylor - Math.pow| over a deterministic sample of the processed pixels (every
 *    k-th pixel with k = ceil(pixels / errorSamples), so at most `errorSamples`, default 4096,
 *    spread over the whole image), so the check stays cheap.
 */
import { invalidOption } from '../../core/errors.js';
import { createImage, type RawImage } from '../../core/image/types.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { checkImage } from '../../core/filters/darkChannel.js';
import { guidedFilterUnchecked } from '../../core/filters/guided.js';
import { expTaylor, POW_TAYLOR_DEFAULT_ORDER, POW_TAYLOR_MAX_ORDER, powTaylor, powTaylorArray } from './powTaylor.js';

export interface IlluminationOptions {
  /** Smoothing radius (guided filter), integer >= 1. Default round(shorter side / 50), in [2, 20]. */
  radius?: number;
  /** Guided-filter eps (> 0): illumination edges with local variance well above it are kept. Default 1e-3. */
  eps?: number;
}

export interface AdaptiveGammaOptions {
  /** Base of the exponent, >= 1. Default max(1, ln(mean L) / ln(0.5)). */
  alpha?: number;
  /** Smallest gamma, > 0. Default 0.2. */
  gammaMin?: number;
  /** Largest gamma, >= gammaMin. Default 1.5. */
  gammaMax?: number;
}

export interface LowLightGammaOptions extends IlluminationOptions, AdaptiveGammaOptions, TaskControl {
  /** Taylor order of powTaylor, integer 1..8. Default 4 (max error ~1e-4; >= 3 meets 1/255). */
  order?: number;
  /** Pixels sampled to measure the Taylor error vs Math.pow, integer >= 1. Default 4096. */
  errorSamples?: number;
}

export interface LowLightGammaResult {
  /** Enhanced image, same size and channels, in [0, 1]. */
  image: RawImage;
  /** Illumination map L (width*height, [0, 1]). */
  illumination: Float32Array;
  /** Per-pixel gamma (width*height). */
  gamma: Float32Array;
  /** The exponent base actually used. */
  alpha: number;
  /** Max |powTaylor(V, gamma) - Math.pow(V, gamma)| over the sampled pixels. */
  maxTaylorError: number;
  /** How many pixels that maximum was taken over (every k-th pixel). */
  taylorErrorSamples: number;
}

const DEFAULT_EPS = 1e-3;
const DEFAULT_GAMMA_MIN = 0.2;
const DEFAULT_GAMMA_MAX = 1.5;
const DEFAULT_ERROR_SAMPLES = 4096;

/** Default illumination smoothing radius: round(shorter side / 50), clamped to [2, 20]. */
export function defaultIlluminationRadius(width: number, height: number): number {
  return Math.max(2, Math.min(20, Math.round(Math.min(width, height) / 50)));
}

/** Illumination map: max over RGB, smoothed by a self-guided filter, clamped to [0, 1]. */
export function estimateIllumination(img: RawImage, opts: IlluminationOptions = {}): Float32Array {
  checkImage(img);
  const o = resolveIllumination(img, opts);
  return illumination(img, o.radius, o.eps);
}

/**
 * Per-pixel gamma from an illumination map L (values in [0, 1]):
 * gamma = clamp(alpha^(2L - 1), gammaMin, gammaMax); see the module notes for the source.
 */
export function adaptiveGamma(L: Float32Array, opts: AdaptiveGammaOptions = {}): Float32Array {
  if (!(L instanceof Float32Array) || L.length === 0) throw invalidOption('L', 'a non-empty Float32Array', L);
  const o = resolveGamma(opts);
  return gammaMap(L, o.alpha ?? alphaFromMean(meanOf(L)), o.gammaMin, o.gammaMax);
}

/** alpha = max(1, ln(m) / ln(0.5)) for the mean illumination m (floored at 1e-3). */
export function alphaFromMean(meanIllumination: number): number {
  const m = Math.max(1e-3, meanIllumination);
  return Math.max(1, Math.log(m) / Math.log(0.5));
}

export function enhanceLowLightGamma(img: RawImage, opts: LowLightGammaOptions = {}): LowLightGammaResult {
  checkImage(img);
  const io = resolveIllumination(img, opts);
  const go = resolveGamma(opts);
  const order = opts.order ?? POW_TAYLOR_DEFAULT_ORDER;
  if (!Number.isInteger(order) || order < 1 || order > POW_TAYLOR_MAX_ORDER) {
    throw invalidOption('order', `an integer in [1, ${POW_TAYLOR_MAX_ORDER}]`, opts.order);
  }
  const errorSamples = opts.errorSamples ?? DEFAULT_ERROR_SAMPLES;
  if (!Number.isInteger(errorSamples) || errorSamples < 1) throw invalidOption('errorSamples', 'an integer >= 1', opts.errorSamples);
  const control: TaskControl = { onProgress: opts.onProgress, signal: opts.signal };
  const stage = (done: number): void => {
    throwIfAborted(control.signal);
    report(control, 'lowlight gamma', done, 3);
  };
  stage(0);

  const L = illumination(img, io.radius, io.eps);
  stage(1);
  const alpha = go.alpha ?? alphaFromMean(meanOf(L));
  const gamma = gammaMap(L, alpha, go.gammaMin, go.gammaMax);
  stage(2);

  const { width: w, height: h, channels: ch, data } = img;
  const n = w * h;
  const out = createImage(w, h, ch);
  const od = out.data;
  const value = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += ch) value[i] = valueAt(data, j, ch);
  const valueGamma = new Float64Array(n);
  powTaylorArray(value, gamma, valueGamma, order);
  for (let i = 0, j = 0; i < n; i++, j += ch) {
    const v = value[i];
    if (v <= 0) continue; // black stays black (out is zero-filled)
    const f = valueGamma[i] / v;
    for (let c = 0; c < ch; c++) {
      const x = data[j + c];
      const y = (x < 0 ? 0 : x) * f;
      od[j + c] = y > 1 ? 1 : y;
    }
  }

  // Taylor error vs exact pow on every k-th pixel.
  const stride = Math.ceil(n / errorSamples);
  let maxErr = 0;
  let samples = 0;
  for (let i = 0; i < n; i += stride, samples++) {
    const v = valueAt(data, i * ch, ch);
    const err = Math.abs(powTaylor(v, gamma[i], order) - (v > 0 ? v ** gamma[i] : 0));
    if (err > maxErr) maxErr = err;
  }
  stage(3);

  return { image: out, illumination: L, gamma, alpha, maxTaylorError: maxErr, taylorErrorSamples: samples };
}

// ---------------------------------------------------------------------------------------------

/** max(R, G, B) (or the grey value), clamped to [0, 1]. */
function valueAt(d: Float32Array, j: number, ch: number): number {
  let v = d[j];
  if (ch === 3) {
    const g = d[j + 1];
    const b = d[j + 2];
    if (g > v) v = g;
    if (b > v) v = b;
  }
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function illumination(img: RawImage, radius: number, eps: number): Float32Array {
  const n = img.width * img.height;
  const V = new Float32Array(n);
  for (let i = 0; i < n; i++) V[i] = valueAt(img.data, i * img.channels, img.channels);
  const L = guidedFilterUnchecked(V, V, img.width, img.height, radius, eps);
  for (let i = 0; i < n; i++) {
    const v = L[i];
    L[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return L;
}

function gammaMap(L: Float32Array, alpha: number, gMin: number, gMax: number): Float32Array {
  const lnA = Math.log(alpha);
  const g = new Float32Array(L.length);
  for (let i = 0; i < L.length; i++) {
    const v = expTaylor((2 * L[i] - 1) * lnA); // relative error < 5e-5: immaterial for a gamma
    g[i] = v < gMin ? gMin : v > gMax ? gMax : v;
  }
  return g;
}

function meanOf(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

function resolveIllumination(img: RawImage, opts: IlluminationOptions): { radius: number; eps: number } {
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const radius = opts.radius ?? defaultIlluminationRadius(img.width, img.height);
  if (!Number.isInteger(radius) || radius < 1) throw invalidOption('radius', 'an integer >= 1', opts.radius);
  const eps = opts.eps ?? DEFAULT_EPS;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw invalidOption('eps', 'a finite number > 0', opts.eps);
  return { radius, eps };
}

function resolveGamma(opts: AdaptiveGammaOptions): { alpha?: number; gammaMin: number; gammaMax: number } {
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const { alpha } = opts;
  if (alpha !== undefined && (typeof alpha !== 'number' || !(alpha >= 1) || !Number.isFinite(alpha))) {
    throw invalidOption('alpha', 'a finite number >= 1', alpha);
  }
  const gammaMin = opts.gammaMin ?? DEFAULT_GAMMA_MIN;
  if (typeof gammaMin !== 'number' || !(gammaMin > 0) || !Number.isFinite(gammaMin)) {
    throw invalidOption('gammaMin', 'a finite number > 0', opts.gammaMin);
  }
  const gammaMax = opts.gammaMax ?? DEFAULT_GAMMA_MAX;
  if (typeof gammaMax !== 'number' || !(gammaMax >= gammaMin) || !Number.isFinite(gammaMax)) {
    throw invalidOption('gammaMax', `a finite number >= gammaMin (${gammaMin})`, opts.gammaMax);
  }
  return { alpha, gammaMin, gammaMax };
}
