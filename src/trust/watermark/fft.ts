/**
 * Minimal radix-2 complex FFT (in place, separate real/imag Float64Arrays) and the two
 * correlations the synchroniser needs: 2-D circular autocorrelation and 2-D circular
 * cross-correlation. Sizes must be powers of two (callers zero-pad).
 */

/** Smallest power of two >= n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

const twiddleCache = new Map<number, { cos: Float64Array; sin: Float64Array; rev: Uint32Array }>();

function tables(n: number): { cos: Float64Array; sin: Float64Array; rev: Uint32Array } {
  let t = twiddleCache.get(n);
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
  // Immutable lookup tables keyed by size: a pure cache, not behavioural state.
  twiddleCache.set(n, t);
  return t;
}

/** In-place FFT of length n (power of two) on re/im starting at `off` with `stride`. */
export function fft1d(re: Float64Array, im: Float64Array, n: number, inverse = false, off = 0, stride = 1): void {
  if (n <= 1) return;
  const { cos, sin, rev } = tables(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      const a = off + i * stride;
      const b = off + j * stride;
      let t = re[a]; re[a] = re[b]; re[b] = t;
      t = im[a]; im[a] = im[b]; im[b] = t;
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

/** In-place 2-D FFT of a w x h row-major grid (both powers of two). */
export function fft2d(re: Float64Array, im: Float64Array, w: number, h: number, inverse = false): void {
  for (let y = 0; y < h; y++) fft1d(re, im, w, inverse, y * w, 1);
  for (let x = 0; x < w; x++) fft1d(re, im, h, inverse, x, w);
}

/**
 * Circular autocorrelation of a real w x h grid (powers of two): out[dy*w+dx] = sum a(x,y) a(x+dx,y+dy).
 */
export function autocorrelate2d(a: Float64Array, w: number, h: number): Float64Array {
  const re = Float64Array.from(a);
  const im = new Float64Array(w * h);
  fft2d(re, im, w, h);
  for (let i = 0; i < re.length; i++) {
    re[i] = re[i] * re[i] + im[i] * im[i];
    im[i] = 0;
  }
  fft2d(re, im, w, h, true);
  return re;
}

/**
 * Circular cross-correlation of two real w x h grids: out[dy*w+dx] = sum a(x+dx, y+dy) b(x, y),
 * i.e. the shift of `b`'s pattern inside `a`.
 */
export function crossCorrelate2d(a: Float64Array, b: Float64Array, w: number, h: number): Float64Array {
  const ar = Float64Array.from(a);
  const ai = new Float64Array(w * h);
  const br = Float64Array.from(b);
  const bi = new Float64Array(w * h);
  fft2d(ar, ai, w, h);
  fft2d(br, bi, w, h);
  for (let i = 0; i < ar.length; i++) {
    // A * conj(B)
    const r = ar[i] * br[i] + ai[i] * bi[i];
    const m = ai[i] * br[i] - ar[i] * bi[i];
    ar[i] = r;
    ai[i] = m;
  }
  fft2d(ar, ai, w, h, true);
  return ar;
}

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
