/**
 * The cross-correlation the synchroniser needs (2-D, circular, against a precomputed spectrum),
 * on the shared radix-2 FFT of core/fft. Sizes must be powers of two (callers zero-pad).
 */
import { fft2d } from '../../core/fft.js';

/** Spectrum of a real w x h grid, for repeated cross-correlations against it. */
export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
  w: number;
  h: number;
}

export function spectrum(b: Float64Array, w: number, h: number): Spectrum {
  const re = Float64Array.from(b);
  const im = new Float64Array(w * h);
  fft2d(re, im, w, h);
  return { re, im, w, h };
}

/** crossCorrelate2d(a, b) with b given by its spectrum. */
export function crossCorrelateSpectrum(a: Float64Array, b: Spectrum): Float64Array {
  const { w, h } = b;
  const ar = Float64Array.from(a);
  const ai = new Float64Array(w * h);
  fft2d(ar, ai, w, h);
  for (let i = 0; i < ar.length; i++) {
    const r = ar[i] * b.re[i] + ai[i] * b.im[i];
    const m = ai[i] * b.re[i] - ar[i] * b.im[i];
    ar[i] = r;
    ai[i] = m;
  }
  fft2d(ar, ai, w, h, true);
  return ar;
}
