/**
 * Learned illumination-aware gamma correction (IAGC, the S8 design): the classical method of
 * gamma.ts with its gamma learned coarse to fine, plus a light residual refinement. The networks
 * are trained here (training/lowlight_iagc.py; cards in models/lowlight-iagc and
 * models/lowlight-iagc-refine):
 *
 *   1. L = estimateIllumination(img): the same edge-preserving illumination map as the classical
 *      method (max over RGB, self-guided filter).
 *   2. Coarse: the ESTIMATOR network (`lowlight-iagc`) runs once on a thumbnail of the whole
 *      picture (area-averaged by the smallest integer factor that brings the longer side to <= 128
 *      px) and returns, per cell of a grid 1/4 of the thumbnail, coefficients (a, b, c) of
 *          log gamma = a + b t + c t^2,   t = 2 L - 1
 *      (the classical log gamma = ln(alpha) t with learned global and local corrections), and three
 *      white-balance gains (the largest 1).
 *   3. Fine: the coefficient grid is upsampled bilinearly to full resolution and evaluated at each
 *      pixel's own L, so the gamma follows the illumination's edges at full resolution; gamma is
 *      clamped to [0.2, 1]: it never darkens (a first model allowed [0.1, 2] and crushed the
 *      shadows of real night photos to black while blowing out their lights), and V^0.2 reaches
 *      254/255 only where V >= 0.98 already.
 *   4. y_c = gain_c x_c V^gamma / V with V = max(R, G, B): V^gamma by powTaylorArray (Taylor series,
 *      no Math.pow per pixel). V^gamma <= 1 and the gains are <= 1, so the gamma stage never clips a highlight.
 *   5. Optional (`refine: true`): the REFINER network (`lowlight-iagc-refine`, four 3x3 convolutions)
 *      adds a residual for noise and colour left by the gamma; local, so it runs tiled. Off by
 *      default: it gains nothing on the held-out source and blows out bright regions of real
 *      photos (see IagcOptions.refine).
 *
 * Why the network outputs a gamma map instead of a finished image (one ONNX with the pow inside):
 * the global part must see the WHOLE picture (a tiled network would pick a different exposure per
 * tile and leave seams), while the per-pixel part must run at full resolution on pictures of any
 * size. Splitting at the gamma map gives both: the estimator runs on a thumbnail of fixed size, the
 * full-resolution steps are a few operations per pixel here (with the project's one pow, exposed as
 * the physical gamma map the CLI writes with --maps), and the refiner tiles. An ONNX Pow would have
 * been exact but hides the map; the Taylor pow's error (< 1e-4 at order 4) is far below 8-bit steps.
 */
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { checkImage } from '../../core/filters/darkChannel.js';
import { resampleRegion, resizeArea } from '../../core/image/geometry.js';
import { createImage, toRgb, type RawImage } from '../../core/image/types.js';
import type { LoadModelOptions } from '../../core/models/imageModel.js';
import type { ImageModel } from '../../core/models/imageModel.js';
import { TrainedModel } from '../../core/models/trainedModel.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { runExpert } from '../expert.js';
import { estimateIllumination, type IlluminationOptions } from './gamma.js';
import { expTaylor, POW_TAYLOR_DEFAULT_ORDER, POW_TAYLOR_MAX_ORDER, powTaylorArray } from './powTaylor.js';

export const IAGC_ESTIMATOR = 'lowlight-iagc';
export const IAGC_REFINER = 'lowlight-iagc-refine';
/** Longest thumbnail side the estimator sees (as in training/lowlight_iagc.py). */
export const IAGC_THUMB_MAX = 128;
/** Gamma is clamped to [IAGC_GAMMA_MIN, IAGC_GAMMA_MAX] (the log-domain clamp of training). */
export const IAGC_GAMMA_MIN = 0.2;
export const IAGC_GAMMA_MAX = 1;
/** V below this is treated as this in V^gamma / V (as in training; the pixel is then ~black anyway). */
const V_FLOOR = 1 / 1024;

export interface IagcOptions extends TaskControl, LoadModelOptions, IlluminationOptions {
  /**
   * Also run the residual refiner (default false). Measured (bench/students/lowlight-iagc.ts):
   * on the held-out McMaster pairs it changes PSNR by +0.01 dB (18.02 -> 18.03, PyTorch, 384 px),
   * and on real photos it pushes bright regions to white (DICM/10 at 384 px: 6 % of pixels
   * saturated after the gamma stage, 49 % after the refiner), so the default is the gamma stage.
   */
  refine?: boolean;
  /** Taylor order of powTaylorArray, integer 1..8 (default 4). */
  order?: number;
  /** Refiner tiling: largest tile side (default from its card, 512) and overlap (default 16). */
  maxTile?: number;
  overlap?: number;
  /** Networks the caller loaded and owns (otherwise loaded and disposed here). */
  estimator?: TrainedModel;
  refiner?: ImageModel;
}

export interface IagcResult {
  /** The enhanced image (RGB, [0, 1]). */
  image: RawImage;
  /** The learned gamma stage (equal to `image` unless refine is true). */
  gammaStage: RawImage;
  /** Illumination map L (width*height, [0, 1]). */
  illumination: Float32Array;
  /** Per-pixel gamma (width*height, [0.2, 1]). */
  gamma: Float32Array;
  /** White-balance gains R, G, B (the largest 1). */
  gains: [number, number, number];
  /** The thumbnail the estimator saw (width x height). */
  thumbnail: { width: number; height: number };
}

/** The estimator's thumbnail size: the smallest integer factor f with max(w, h) / f <= 128, sides rounded. */
export function iagcThumbnailSize(width: number, height: number): { width: number; height: number; factor: number } {
  const factor = Math.max(1, Math.ceil(Math.max(width, height) / IAGC_THUMB_MAX));
  return { width: Math.max(1, Math.round(width / factor)), height: Math.max(1, Math.round(height / factor)), factor };
}

/**
 * Per-pixel gamma from the coefficient grid (gw x gh cells, (a, b, c) interleaved) and L:
 * exp(clamp(a + b t + c t^2, ln 0.2, 0)), t = 2L - 1, the grid upsampled bilinearly (pixel centres,
 * as torch's interpolate with align_corners=False).
 */
export function iagcGammaMap(coeffs: Float32Array, gw: number, gh: number, L: Float32Array, width: number, height: number): Float32Array {
  if (coeffs.length !== gw * gh * 3) throw invalidOption('coeffs', `${gw}x${gh}x3 values`, coeffs.length);
  if (L.length !== width * height) throw invalidOption('L', `${width}x${height} values`, L.length);
  const up = resampleRegion({ width: gw, height: gh, channels: 3, data: coeffs }, 0, 0, gw, gh, width, height).data;
  const lo = Math.log(IAGC_GAMMA_MIN);
  const hi = Math.log(IAGC_GAMMA_MAX);
  const gamma = new Float32Array(width * height);
  for (let i = 0, j = 0; i < gamma.length; i++, j += 3) {
    const t = 2 * L[i] - 1;
    const lg = up[j] + up[j + 1] * t + up[j + 2] * t * t;
    gamma[i] = expTaylor(lg < lo ? lo : lg > hi ? hi : lg);
  }
  return gamma;
}

/** y_c = min(1, gain_c x_c V^gamma / V), V = max(R, G, B) floored at 1/1024; V^gamma by powTaylorArray. */
export function applyGammaMap(img: RawImage, gamma: Float32Array, gains: readonly number[] = [1, 1, 1], order = POW_TAYLOR_DEFAULT_ORDER): RawImage {
  if (img.channels !== 3) throw invalidOption('img', 'an RGB image', `${img.channels} channel(s)`);
  const n = img.width * img.height;
  if (gamma.length !== n) throw invalidOption('gamma', `${n} values`, gamma.length);
  const d = img.data;
  const V = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    let v = d[j] > d[j + 1] ? d[j] : d[j + 1];
    if (d[j + 2] > v) v = d[j + 2];
    V[i] = v < V_FLOOR ? V_FLOOR : v > 1 ? 1 : v;
  }
  const Vg = new Float64Array(n);
  powTaylorArray(V, gamma, Vg, order);
  const out = createImage(img.width, img.height, 3);
  const o = out.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const f = Vg[i] / V[i];
    for (let c = 0; c < 3; c++) {
      const x = d[j + c];
      const y = (x < 0 ? 0 : x) * f * gains[c];
      o[j + c] = y > 1 ? 1 : y;
    }
  }
  return out;
}

/** Learned illumination-aware gamma (see the module notes). Grey input is enhanced as RGB. */
export async function enhanceLowLightIagc(input: RawImage, opts: IagcOptions = {}): Promise<IagcResult> {
  checkImage(input);
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const refine = opts.refine ?? false;
  if (typeof refine !== 'boolean') throw invalidOption('refine', 'a boolean', opts.refine);
  const order = opts.order ?? POW_TAYLOR_DEFAULT_ORDER;
  if (!Number.isInteger(order) || order < 1 || order > POW_TAYLOR_MAX_ORDER)
    throw invalidOption('order', `an integer in [1, ${POW_TAYLOR_MAX_ORDER}]`, opts.order);
  const img = toRgb(input);
  const { width: w, height: h } = img;
  const control: TaskControl = { onProgress: opts.onProgress, signal: opts.signal };
  const stage = (done: number): void => {
    throwIfAborted(control.signal);
    report(control, 'lowlight iagc', done, 3);
  };
  stage(0);
  const L = estimateIllumination(img, { radius: opts.radius, eps: opts.eps });
  const thumb = iagcThumbnailSize(w, h);
  const small = thumb.width === w && thumb.height === h ? img : resizeArea(img, thumb.width, thumb.height);

  const estimator = opts.estimator ?? (await TrainedModel.load(IAGC_ESTIMATOR, { threads: opts.threads, device: opts.device }));
  let out: Awaited<ReturnType<typeof estimator.run>>;
  try {
    out = await estimator.run({ thumb: { data: small.data, shape: [1, thumb.height, thumb.width, 3] } });
  } finally {
    if (!opts.estimator) await estimator.dispose();
  }
  const coeffs = out.coeffs;
  const gainsT = out.gains;
  if (!coeffs || !gainsT || coeffs.shape.length !== 4 || coeffs.shape[3] !== 3 || gainsT.data.length !== 3) {
    throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${IAGC_ESTIMATOR} returned unexpected outputs (${Object.keys(out).join(', ')})`);
  }
  stage(1);
  const gamma = iagcGammaMap(coeffs.data, coeffs.shape[2], coeffs.shape[1], L, w, h);
  const gains: [number, number, number] = [gainsT.data[0], gainsT.data[1], gainsT.data[2]];
  const gammaStage = applyGammaMap(img, gamma, gains, order);
  stage(2);
  const image = refine
    ? await runExpert(gammaStage, IAGC_REFINER, {
        model: opts.refiner,
        maxTile: opts.maxTile,
        overlap: opts.overlap,
        threads: opts.threads,
        cacheDir: opts.cacheDir,
        signal: opts.signal,
      })
    : gammaStage;
  stage(3);
  return { image, gammaStage, illumination: L, gamma, gains, thumbnail: { width: thumb.width, height: thumb.height } };
}
