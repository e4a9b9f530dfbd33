/**
 * Fourier domain adaptation (Yang & Soatto, CVPR 2020) as an augmentation: replace the
 * low-frequency amplitude spectrum of a source picture with a target camera's, keep the
 * source's phase (which carries the structure). Camera colour response, vignetting and
 * illumination live in the low-frequency amplitude, so training/calibrating on FDA-mixed
 * frames makes the cues less camera-specific.
 */
import { invalidOption } from '../../core/errors.js';
import { dft2d } from '../../core/fft.js';
import type { RawImage } from '../../core/image/types.js';

export interface Spectrum {
  width: number;
  height: number;
  re: Float64Array;
  im: Float64Array;
}

/**
 * 2-D DFT of one channel, in place, any size (core/fft's dft2d: O(WH log WH)); the inverse is
 * normalised by 1 / (WH).
 */
export function dft2(width: number, height: number, re: Float64Array, im: Float64Array, inverse = false): Spectrum {
  dft2d(re, im, width, height, inverse);
  return { width, height, re, im };
}

export function channelSpectrum(img: RawImage, c: number): Spectrum {
  const n = img.width * img.height;
  const re = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = img.data[i * img.channels + c]!;
  return dft2(img.width, img.height, re, new Float64Array(n));
}

/** True when frequency (u, v) lies in the centred low-frequency square of half-side b. */
function isLow(u: number, v: number, w: number, h: number, b: number): boolean {
  const fu = u <= w / 2 ? u : w - u;
  const fv = v <= h / 2 ? v : h - v;
  return fu <= b && fv <= b;
}

/**
 * Source structure with the target's low-frequency amplitude. `beta` in [0, 0.5] sets the
 * swapped square's half-side as beta x min(width, height) (FDA's L); beta 0 swaps only the DC
 * term (the mean colour). Both pictures must have the same size and channels.
 */
export function fourierDomainAdaptation(source: RawImage, target: RawImage, beta = 0.01): RawImage {
  if (!source || !target || source.width !== target.width || source.height !== target.height || source.channels !== target.channels) {
    throw invalidOption(
      'target',
      'a RawImage of the same size and channels as source',
      target ? `${target.width}x${target.height}x${target.channels}` : target,
    );
  }
  if (typeof beta !== 'number' || !(beta >= 0 && beta <= 0.5)) throw invalidOption('beta', 'a number in [0, 0.5]', beta);
  const { width: w, height: h, channels } = source;
  const b = Math.floor(beta * Math.min(w, h));
  const out = new Float32Array(source.data.length);
  for (let c = 0; c < channels; c++) {
    const s = channelSpectrum(source, c);
    const t = channelSpectrum(target, c);
    for (let v = 0; v < h; v++)
      for (let u = 0; u < w; u++) {
        if (!isLow(u, v, w, h, b)) continue;
        const i = v * w + u;
        const amp = Math.hypot(t.re[i]!, t.im[i]!);
        const phase = Math.atan2(s.im[i]!, s.re[i]!);
        s.re[i] = amp * Math.cos(phase);
        s.im[i] = amp * Math.sin(phase);
      }
    dft2(w, h, s.re, s.im, true);
    for (let i = 0; i < w * h; i++) out[i * channels + c] = s.re[i]!;
  }
  return { width: w, height: h, channels, data: out };
}
