/**
 * Radix-2 complex FFT (iterative, in place) and the 2-D spectrum helpers built on it.
 * Sizes must be powers of two; callers resample or pad to one. Forward transform without
 * normalisation; the inverse divides by n, so inverse(forward(x)) = x.
 */
import { invalidOption } from './errors.js';

export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** In-place FFT of (re, im), length a power of two. `inverse` computes the normalised inverse. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (!isPowerOfTwo(n) || im.length !== n) throw invalidOption('re/im', 'two arrays of the same power-of-two length', { re: n, im: im.length });
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const xr = re[b] * cr - im[b] * ci;
        const xi = re[b] * ci + im[b] * cr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] /= n;
      im[i] /= n;
    }
  }
}

/** In-place 2-D FFT of a size x size row-major complex array (rows, then columns). */
export function fft2d(re: Float64Array, im: Float64Array, size: number, inverse = false): void {
  if (!isPowerOfTwo(size) || re.length !== size * size || im.length !== size * size) {
    throw invalidOption('size', `a power of two with re/im of size^2 = ${size * size}`, { size, re: re.length, im: im.length });
  }
  const rr = new Float64Array(size);
  const ri = new Float64Array(size);
  for (let pass = 0; pass < 2; pass++) {
    for (let line = 0; line < size; line++) {
      // pass 0: row `line`; pass 1: column `line`.
      const at = (k: number): number => (pass === 0 ? line * size + k : k * size + line);
      for (let k = 0; k < size; k++) {
        rr[k] = re[at(k)];
        ri[k] = im[at(k)];
      }
      fft(rr, ri, inverse);
      for (let k = 0; k < size; k++) {
        re[at(k)] = rr[k];
        im[at(k)] = ri[k];
      }
    }
  }
}

/**
 * Azimuthally averaged power spectrum of a size x size real signal: mean |F|^2 over rings of
 * radius r = 0 .. size/2 (in cycles per `size` samples), in `bins` equal bins. The mean is
 * removed first and a Hann window applied, so the DC term and the image border do not leak
 * into every ring.
 */
export function radialPowerSpectrum(signal: ArrayLike<number>, size: number, bins: number): Float64Array {
  const n = size * size;
  if (signal.length !== n) throw invalidOption('signal', `${n} samples (size^2)`, signal.length);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += signal[i] / n;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const hann = Float64Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (size - 1)));
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) re[y * size + x] = (signal[y * size + x] - mean) * hann[y] * hann[x];
  fft2d(re, im, size);
  const sum = new Float64Array(bins);
  const count = new Float64Array(bins);
  const half = size / 2;
  for (let v = 0; v < size; v++) {
    const fy = v < half ? v : v - size;
    for (let u = 0; u < size; u++) {
      const fx = u < half ? u : u - size;
      const r = Math.sqrt(fx * fx + fy * fy) / half; // 0 .. sqrt(2)
      if (r > 1 || r === 0) continue;
      const b = Math.min(bins - 1, Math.floor(r * bins));
      const i = v * size + u;
      sum[b] += re[i] * re[i] + im[i] * im[i];
      count[b]++;
    }
  }
  for (let b = 0; b < bins; b++) sum[b] = count[b] > 0 ? sum[b] / count[b] : 0;
  return sum;
}
