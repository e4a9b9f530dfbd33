import type { RawImage } from '../core/image/types.js';
import { invalidOption } from '../core/errors.js';
import type { TaskControl } from '../core/progress.js';
import { createImage } from '../core/image/types.js';
import { dehazeAuto, dehazePrior, type DehazePriorOptions } from './dehaze/index.js';
import { chooseLowlightMethod, enhanceLowLightGamma, enhanceLowLightIagc, type LowLightGammaOptions, type LowLightGammaResult } from './lowlight/index.js';
import { ESRGAN_SCALES, ESRGAN_SIZES, type EsrganScale, type EsrganSize } from '../core/models/registry.js';
import { runExpert, type ExpertOptions } from './expert.js';
import type { ImageModel } from '../core/models/imageModel.js';

/**
 * One verb per capability. Each runs a pretrained expert (MAXIM for restoration,
 * ESRGAN for upscaling) through our ONNX path; see docs/models.md for the cards.
 */
export type DerainModel = 'fast' | 'maxim';
export const DERAIN_MODELS: readonly DerainModel[] = ['fast', 'maxim'];
/**
 * The model each expert runs, by registry name: the one place that names them (the task table, the
 * auto planner and the experts below read these).
 */
export const EXPERT_MODELS = {
  lowlight: 'maxim-enhancement',
  denoise: 'maxim-denoising',
  deblur: 'maxim-deblurring',
  retouch: 'maxim-retouching',
  derain: 'maxim-deraining',
} as const;

/** The MAXIM dehazing weights for a variant. */
export const dehazeModelName = (variant: 'indoor' | 'outdoor' = 'outdoor'): string => `maxim-dehazing-${variant}`;

/** The registry name of each deraining network: the student trained here (models/derain-fast) and its teacher. */
export const DERAIN_MODEL_NAMES: Readonly<Record<DerainModel, string>> = { fast: 'derain-fast', maxim: EXPERT_MODELS.derain };
/**
 * MAXIM stays the default: the fast student (2.0.0) derains a megapixel in ~0.6-0.75 s on one thread
 * at load ~10 (MAXIM: 116 s on a quiet machine) but is 6.55 dB below it on held-out Rain100H pairs (24.75 vs 31.30 dB
 * PSNR-Y, `npm run bench:students`; docs/models.md); the rule is that the student becomes the
 * default only within 0.5 dB.
 */
export const DEFAULT_DERAIN_MODEL: DerainModel = 'maxim';

export interface DerainOptions extends Omit<ExpertOptions, 'model'> {
  /**
   * 'maxim' (default): MAXIM trained on Rain13K, best quality, ~100 s a megapixel on 2 CPU cores.
   * 'fast': the student distilled from it here (models/derain-fast): about a second a megapixel,
   * but ~7 dB lower PSNR on heavy rain (Rain100H) and visibly weaker on real photos.
   * Or a deraining ImageModel the caller loaded and owns.
   */
  model?: DerainModel | ImageModel;
}

/** The registry name of the network `derain` runs for these options (validated). */
export function derainModelName(options: Pick<DerainOptions, 'model'> = {}): string {
  const model = options.model ?? DEFAULT_DERAIN_MODEL;
  if (typeof model === 'object' && model !== null) return model.card.name;
  if (!DERAIN_MODELS.includes(model)) throw invalidOption('model', `one of ${DERAIN_MODELS.join(', ')} (or a loaded ImageModel)`, model);
  return DERAIN_MODEL_NAMES[model];
}

export function derain(img: RawImage, options: DerainOptions = {}): Promise<RawImage> {
  const { model, ...rest } = options;
  const name = derainModelName(options);
  return runExpert(img, name, typeof model === 'object' ? { ...rest, model } : rest);
}

export type DehazeMethod = 'learned' | 'prior' | 'auto';
export const DEHAZE_METHODS: readonly DehazeMethod[] = ['learned', 'prior', 'auto'];

export interface DehazeOptions extends ExpertOptions {
  /**
   * 'learned' (default): the MAXIM expert. 'prior': the dark channel prior (dehazePrior: no
   * network, fast; call dehazePrior itself for the transmission and atmospheric light). 'auto':
   * the network, except on moderate haze it barely acts on (real photographs), where the prior
   * dehazes the input (dehazeAuto; issue 20).
   */
  method?: DehazeMethod;
  /** Indoor (RESIDE ITS) or outdoor (RESIDE OTS) weights; default outdoor. Learned method only. */
  variant?: 'indoor' | 'outdoor';
  /** Parameters of the prior method (patch radius, omega, t0, ...). */
  prior?: Omit<DehazePriorOptions, keyof TaskControl>;
}

export function dehaze(img: RawImage, options: DehazeOptions = {}): Promise<RawImage> {
  const method = options.method ?? 'learned';
  if (!DEHAZE_METHODS.includes(method)) throw invalidOption('method', `one of ${DEHAZE_METHODS.join(', ')}`, method);
  if (method === 'prior') {
    return Promise.resolve(dehazePrior(img, { ...options.prior, onProgress: options.onProgress, signal: options.signal }).image);
  }
  const variant = options.variant ?? 'outdoor';
  if (variant !== 'indoor' && variant !== 'outdoor') throw invalidOption('variant', '"indoor" or "outdoor"', variant);
  if (method === 'auto') return dehazeAuto(img, (x) => runExpert(x, dehazeModelName(variant), options), options.prior).then((r) => r.image);
  return runExpert(img, dehazeModelName(variant), options);
}

export type LowlightMethod = 'auto' | 'learned' | 'gamma' | 'fuse' | 'iagc';
export const LOWLIGHT_METHODS: readonly LowlightMethod[] = ['auto', 'learned', 'gamma', 'fuse', 'iagc'];

export interface LowlightOptions extends ExpertOptions {
  /**
   * 'auto' (default): 'learned' for uniformly dark input, else 'fuse' (chooseLowlightMethod:
   * the expert alone clips whatever is already lit). 'learned': the MAXIM expert (LOL).
   * 'gamma': illumination-aware gamma (enhanceLowLightGamma: no network). 'fuse': both,
   * combined as lowlightFuse documents.
   * 'iagc': the gamma learned coarse to fine by a small network trained here, plus a residual
   * refinement (enhanceLowLightIagc; call it for the gamma map), ~100x faster than 'learned'.
   */
  method?: LowlightMethod;
  /** Parameters of the gamma step ('gamma' and 'fuse'). */
  gamma?: Omit<LowLightGammaOptions, keyof TaskControl>;
}

export function lowlight(img: RawImage, options: LowlightOptions = {}): Promise<RawImage> {
  const requested = options.method ?? 'auto';
  if (!LOWLIGHT_METHODS.includes(requested)) throw invalidOption('method', `one of ${LOWLIGHT_METHODS.join(', ')}`, requested);
  const method = requested === 'auto' ? chooseLowlightMethod(img) : requested;
  if (method === 'gamma') return Promise.resolve(enhanceLowLightGamma(img, { ...options.gamma, onProgress: options.onProgress, signal: options.signal }).image);
  if (method === 'fuse') return lowlightFuse(img, options).then((r) => r.image);
  if (method === 'iagc') {
    if (options.tta) throw invalidOption('tta', 'false or absent with method "iagc" (its networks are not run as a self-ensemble)', options.tta);
    const { maxTile, overlap, threads, device, cacheDir, onProgress, signal } = options;
    return enhanceLowLightIagc(img, { maxTile, overlap, threads, device, cacheDir, onProgress, signal }).then((r) => r.image);
  }
  return runExpert(img, EXPERT_MODELS.lowlight, options);
}

export interface LowlightFuseResult {
  /** The fused image. */
  image: RawImage;
  /** The learned expert's output. */
  expert: RawImage;
  /** The gamma method's result (image, illumination, gamma map, Taylor error). */
  gamma: LowLightGammaResult;
  /** Per-pixel weight of the expert in the fusion (width*height, [0, 1]). */
  weight: Float32Array;
}

/** Illumination below FUSE_DARK: all expert; above FUSE_BRIGHT: all gamma; linear in between. */
export const FUSE_DARK = 0.1;
export const FUSE_BRIGHT = 0.5;

/**
 * Low-light fusion of the learned expert and the illumination-aware gamma:
 *   out = w E + (1 - w) G,  w = clamp((FUSE_BRIGHT - L) / (FUSE_BRIGHT - FUSE_DARK), 0, 1),
 * with L the gamma method's illumination map (edge-preserving, so the weight follows objects).
 * Very dark regions lean on the expert, which brightens and denoises them; well-lit regions on
 * the gamma, which leaves them nearly as they are (the LOL-trained expert tends to blow out
 * regions that were already exposed).
 *
 * Why this combination (measured on LOL eval15 low/1.png and LIME/6.bmp; no ground truth is
 * available for them here, so no-reference statistics and a look, not PSNR). On LOL 1.png the
 * expert clips 13% of the pixels (max channel > 0.98: the white cabinet), the gamma clips none
 * but amplifies noise (Immerkaer sigma 4.1/255 vs the expert's 0.5); the fusion clips none with
 * sigma 0.7 and mean luma 0.35 (expert 0.42, gamma 0.27). Gamma first then the expert over-
 * exposed badly (42% clipped, sigma 7.1); the expert then the gamma changed almost nothing (the
 * expert's output has mean illumination ~0.5, so alpha ~1). On LIME 6.bmp (city lights at night)
 * the fusion again removes the expert's clipping (5.4% -> 0%) at a mean luma between the two.
 */
export async function lowlightFuse(img: RawImage, options: Omit<LowlightOptions, 'method'> = {}): Promise<LowlightFuseResult> {
  const { gamma: gammaOptions, ...expertOptions } = options;
  // The gamma step first: it validates its options and is fast.
  const gamma = enhanceLowLightGamma(img, { ...gammaOptions, signal: options.signal });
  const expert = await runExpert(img, EXPERT_MODELS.lowlight, expertOptions);
  const L = gamma.illumination;
  const n = L.length;
  const ch = img.channels;
  const weight = new Float32Array(n);
  const out = createImage(img.width, img.height, ch);
  const e = expert.data;
  const g = gamma.image.data;
  const o = out.data;
  const span = FUSE_BRIGHT - FUSE_DARK;
  for (let i = 0, j = 0; i < n; i++, j += ch) {
    const v = (FUSE_BRIGHT - L[i]) / span;
    const w = v < 0 ? 0 : v > 1 ? 1 : v;
    weight[i] = w;
    for (let c = 0; c < ch; c++) o[j + c] = w * e[j + c] + (1 - w) * g[j + c];
  }
  return { image: out, expert, gamma, weight };
}
export const denoise = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, EXPERT_MODELS.denoise, options);
export const deblur = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, EXPERT_MODELS.deblur, options);
export const retouch = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, EXPERT_MODELS.retouch, options);

export interface UpscaleOptions extends ExpertOptions {
  scale?: EsrganScale;
  size?: EsrganSize;
}

/** The registry name of the upscaler that `upscale` picks for these options (validated). */
export function upscaleModelName(options: Pick<UpscaleOptions, 'scale' | 'size'> = {}): string {
  const scale = options.scale ?? 4;
  const size = options.size ?? 'slim';
  if (!ESRGAN_SCALES.includes(scale)) throw invalidOption('scale', `one of ${ESRGAN_SCALES.join(', ')}`, scale);
  if (!ESRGAN_SIZES.includes(size)) throw invalidOption('size', `one of ${ESRGAN_SIZES.join(', ')}`, size);
  return `esrgan-${size}-x${scale}`;
}

export function upscale(img: RawImage, options: UpscaleOptions = {}): Promise<RawImage> {
  return runExpert(img, upscaleModelName(options), options);
}
