/**
 * Radix-2 complex FFT (iterative, in place, separate real/imaginary Float64Arrays) and the 2-D
 * helpers built on it: one implementation for the forensic spectra, the watermark's
 * synchronisation and the liveness Fourier domain adaptation. fft1d/fft2d take powers of two;
 * dft1d/dft2d take any size (Bluestein's chirp-z on top of the radix-2 FFT, O(n log n)). Forward
 * transform without normalisation; the inverse divides by n, so inverse(forward(x)) = x.
 */
import { invalidOption } from './errors.js';

export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Smallest power of two >= n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

interface Tables {
  cos: Float64Array;
  sin: Float64Array;
  rev: Uint32Array;
}

// Immutable lookup tables keyed by size: a pure cache, not behavioural state.
const tableCache = new Map<number, Tables>();

function tables(n: number): Tables {
  let t = tableCache.get(n);
  if (t) return t;
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  const rev = new Uint32Array(n);
  const bits = Math.log2(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  t = { cos, sin, rev };
  tableCache.set(n, t);
  return t;
}

/**
 * In-place FFT of the n samples (n a power of two) of re/im at off, off + stride, ... (a row of
 * a grid with stride 1, a column with stride = width). `inverse` computes the normalised inverse.
 */
export function fft1d(re: Float64Array, im: Float64Array, n: number, inverse = false, off = 0, stride = 1): void {
  if (n <= 1) return;
  const { cos, sin, rev } = tables(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      const a = off + i * stride;
      const b = off + j * stride;
      let t = re[a];
      re[a] = re[b];
      re[b] = t;
      t = im[a];
      im[a] = im[b];
      im[b] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sign * sin[k * step];
        const a = off + (start + k) * stride;
        const b = a + half * stride;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[off + i * stride] /= n;
      im[off + i * stride] /= n;
    }
  }
}

/** In-place 2-D FFT of a w x h row-major complex grid (both powers of two): rows, then columns. */
export function fft2d(re: Float64Array, im: Float64Array, w: number, h: number, inverse = false): void {
  if (!isPowerOfTwo(w) || !isPowerOfTwo(h) || re.length !== w * h || im.length !== w * h) {
    throw invalidOption('w/h', `powers of two with re/im of w*h = ${w * h} values`, { w, h, re: re.length, im: im.length });
  }
  for (let y = 0; y < h; y++) fft1d(re, im, w, inverse, y * w, 1);
  for (let x = 0; x < w; x++) fft1d(re, im, h, inverse, x, w);
}

/**
 * In-place DFT of n samples of any size (re/im at off, off + stride, ...), same conventions as
 * fft1d. Powers of two go straight to fft1d; other sizes use Bluestein's identity
 * kt = (k^2 + t^2 - (k - t)^2) / 2, which turns the DFT into a circular convolution computed by
 * radix-2 FFTs of size >= 2n - 1.
 */
export function dft1d(re: Float64Array, im: Float64Array, n: number, inverse = false, off = 0, stride = 1): void {
  if (n <= 1) return;
  if (isPowerOfTwo(n)) {
    fft1d(re, im, n, inverse, off, stride);
    return;
  }
  const m = nextPow2(2 * n - 1);
  const sign = inverse ? 1 : -1;
  // chirp c_t = exp(sign * i * pi * t^2 / n); t^2 reduced mod 2n keeps the angle exact for large t
  const cr = new Float64Array(n);
  const ci = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const angle = (Math.PI * ((t * t) % (2 * n))) / n;
    cr[t] = Math.cos(angle);
    ci[t] = sign * Math.sin(angle);
  }
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  for (let t = 0; t < n; t++) {
    const xr = re[off + t * stride];
    const xi = im[off + t * stride];
    ar[t] = xr * cr[t] - xi * ci[t];
    ai[t] = xr * ci[t] + xi * cr[t];
  }
  const br = new Float64Array(m);
  const bi = new Float64Array(m);
  br[0] = cr[0];
  bi[0] = -ci[0];
  for (let t = 1; t < n; t++) {
    br[t] = br[m - t] = cr[t];
    bi[t] = bi[m - t] = -ci[t];
  }
  fft1d(ar, ai, m);
  fft1d(br, bi, m);
  for (let k = 0; k < m; k++) {
    const r = ar[k] * br[k] - ai[k] * bi[k];
    ai[k] = ar[k] * bi[k] + ai[k] * br[k];
    ar[k] = r;
  }
  fft1d(ar, ai, m, true);
  const scale = inverse ? 1 / n : 1;
  for (let k = 0; k < n; k++) {
    re[off + k * stride] = (ar[k] * cr[k] - ai[k] * ci[k]) * scale;
    im[off + k * stride] = (ar[k] * ci[k] + ai[k] * cr[k]) * scale;
  }
}

/** In-place 2-D DFT of a w x h row-major complex grid of any size: rows, then columns. */
export function dft2d(re: Float64Array, im: Float64Array, w: number, h: number, inverse = false): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1 || re.length !== w * h || im.length !== w * h) {
    throw invalidOption('w/h', `positive integers with re/im of w*h = ${w * h} values`, { w, h, re: re.length, im: im.length });
  }
  for (let y = 0; y < h; y++) dft1d(re, im, w, inverse, y * w, 1);
  for (let x = 0; x < w; x++) dft1d(re, im, h, inverse, x, w);
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
  fft2d(re, im, size, size);
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
