import type { RawImage } from '../core/image/types.js';
import { invalidOption } from '../core/errors.js';
import { ESRGAN_SCALES, ESRGAN_SIZES, type EsrganScale, type EsrganSize } from '../core/models/registry.js';
import { runExpert, type ExpertOptions } from './expert.js';

/**
 * One verb per capability. Each runs a pretrained expert (MAXIM for restoration,
 * ESRGAN for upscaling) through our ONNX path; see docs/models.md for the cards.
 */
export const derain = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, 'maxim-deraining', options);

export interface DehazeOptions extends ExpertOptions {
  /** Indoor (RESIDE ITS) or outdoor (RESIDE OTS) weights; default outdoor. */
  variant?: 'indoor' | 'outdoor';
}

export function dehaze(img: RawImage, options: DehazeOptions = {}): Promise<RawImage> {
  const variant = options.variant ?? 'outdoor';
  if (variant !== 'indoor' && variant !== 'outdoor') throw invalidOption('variant', '"indoor" or "outdoor"', variant);
  return runExpert(img, `maxim-dehazing-${variant}`, options);
}

export const lowlight = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, 'maxim-enhancement', options);
export const denoise = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, 'maxim-denoising', options);
export const deblur = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, 'maxim-deblurring', options);
export const retouch = (img: RawImage, options: ExpertOptions = {}): Promise<RawImage> => runExpert(img, 'maxim-retouching', options);

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
