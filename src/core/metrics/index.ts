/**
 * Full-reference image quality metrics, following BasicSR's `calculate_psnr` / `calculate_ssim`
 * (the convention of most restoration papers):
 *
 * - Inputs are RawImages with nominal range [0, dataRange] (RawImage convention: dataRange 1).
 *   They are scaled to 0..255. With `quantize` (default true) they are then clamped and rounded
 *   to integers, i.e. measured as the 8-bit image a user would save (papers evaluate 8-bit PNGs).
 * - `cropBorder` pixels are removed from each side before measuring (BasicSR `crop_border`).
 * - `channel: 'y'` measures the luma of MATLAB's rgb2ycbcr (BasicSR `test_y_channel`):
 *   Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B in [0, 1], so Y is in [16, 235] and
 *   PSNR/SSIM use a peak of 255. Like BasicSR (and unlike MATLAB on uint8 input) Y is not
 *   rounded. For 1-channel images 'y' uses the grey plane unchanged.
 * - PSNR = 10 log10(255^2 / MSE), MSE over all measured samples; identical images give Infinity.
 * - SSIM: 11x11 Gaussian window (sigma 1.5), C1 = (0.01*255)^2, C2 = (0.03*255)^2, 'valid'
 *   filtering (no padding: the map is (H-10)x(W-10)), mean of the map, averaged over channels.
 *
 * Everything is computed in Float64.
 */
import { invalidOption } from '../errors.js';
import type { RawImage } from '../image/types.js';

export interface MetricOptions {
  /** 'rgb' (default): all channels. 'y': MATLAB-style luma (BasicSR test_y_channel). */
  channel?: 'rgb' | 'y';
  /** Pixels removed from each border before measuring. Default 0. */
  cropBorder?: number;
  /** Full-scale value of the input samples. Default 1 (RawImage convention). */
  dataRange?: number;
  /** Clamp and round to 8-bit integers after scaling to 0..255. Default true. */
  quantize?: boolean;
}

const PEAK = 255;

/** MATLAB rgb2ycbcr luma of an RGB RawImage in [0, 1], in 0..255 units (16..235 for in-range input). */
export function rgbToYMatlab(img: RawImage): Float32Array {
  if (img.channels !== 3) throw invalidOption('img.channels', '3 (an RGB image)', img.channels);
  const n = img.width * img.height;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = lumaMatlab(img.data[i * 3] * PEAK, img.data[i * 3 + 1] * PEAK, img.data[i * 3 + 2] * PEAK);
  }
  return y;
}

/** Y from R, G, B in 0..255 (the coefficients are MATLAB's, defined for R, G, B in [0, 1]). */
function lumaMatlab(r: number, g: number, b: number): number {
  return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / PEAK;
}

/** Peak signal-to-noise ratio in dB (Infinity for identical inputs). */
export function psnr(a: RawImage, b: RawImage, opts: MetricOptions = {}): number {
  const { planesA, planesB } = preparePair(a, b, opts);
  let sum = 0;
  let count = 0;
  for (let c = 0; c < planesA.length; c++) {
    const pa = planesA[c].data;
    const pb = planesB[c].data;
    for (let i = 0; i < pa.length; i++) {
      const d = pa[i] - pb[i];
      sum += d * d;
    }
    count += pa.length;
  }
  const mse = sum / count;
  return mse === 0 ? Infinity : 10 * Math.log10((PEAK * PEAK) / mse);
}

/** Structural similarity (BasicSR/MATLAB style, 'valid' Gaussian window), mean over channels. */
export function ssim(a: RawImage, b: RawImage, opts: MetricOptions = {}): number {
  const { planesA, planesB } = preparePair(a, b, opts);
  const { width, height } = planesA[0];
  if (width < WINDOW || height < WINDOW) {
    throw invalidOption('cropBorder', `a crop leaving at least ${WINDOW}x${WINDOW} pixels for SSIM`, `${width}x${height} left`);
  }
  let total = 0;
  for (let c = 0; c < planesA.length; c++) {
    total += ssimPlane(planesA[c].data, planesB[c].data, width, height);
  }
  return total / planesA.length;
}

// ---------------------------------------------------------------------------------------------
// Preparation: scale, quantize, crop, convert to Y, as planes of Float64.

interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

function preparePair(a: RawImage, b: RawImage, opts: MetricOptions): { planesA: Plane[]; planesB: Plane[] } {
  const o = checkOptions(opts);
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw invalidOption('b', `an image of the same size as a (${shape(a)})`, shape(b));
  }
  if (2 * o.cropBorder >= a.width || 2 * o.cropBorder >= a.height) {
    throw invalidOption('cropBorder', `less than half of the image size ${a.width}x${a.height}`, o.cropBorder);
  }
  return { planesA: toPlanes(a, o), planesB: toPlanes(b, o) };
}

interface ResolvedOptions {
  channel: 'rgb' | 'y';
  cropBorder: number;
  dataRange: number;
  quantize: boolean;
}

function checkOptions(opts: MetricOptions): ResolvedOptions {
  const channel = opts.channel ?? 'rgb';
  const cropBorder = opts.cropBorder ?? 0;
  const dataRange = opts.dataRange ?? 1;
  const quantize = opts.quantize ?? true;
  if (channel !== 'rgb' && channel !== 'y') throw invalidOption('channel', '"rgb" or "y"', opts.channel);
  if (!Number.isInteger(cropBorder) || cropBorder < 0) throw invalidOption('cropBorder', 'an integer >= 0', opts.cropBorder);
  if (!(dataRange > 0) || !Number.isFinite(dataRange)) throw invalidOption('dataRange', 'a positive number', opts.dataRange);
  if (typeof quantize !== 'boolean') throw invalidOption('quantize', 'true or false', opts.quantize);
  return { channel, cropBorder, dataRange, quantize };
}

function shape(img: RawImage): string {
  return `${img.width}x${img.height}x${img.channels}`;
}

function toPlanes(img: RawImage, o: ResolvedOptions): Plane[] {
  const width = img.width - 2 * o.cropBorder;
  const height = img.height - 2 * o.cropBorder;
  const scale = PEAK / o.dataRange;
  const c = img.channels;
  const planes: Float64Array[] = Array.from({ length: c }, () => new Float64Array(width * height));
  for (let y = 0; y < height; y++) {
    const rowStart = ((y + o.cropBorder) * img.width + o.cropBorder) * c;
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < c; k++) {
        const v = img.data[rowStart + x * c + k] * scale;
        planes[k][y * width + x] = o.quantize ? Math.round(v > PEAK ? PEAK : v > 0 ? v : 0) : v;
      }
    }
  }
  if (o.channel === 'y' && c === 3) {
    const [r, g, b] = planes;
    const luma = new Float64Array(width * height);
    for (let i = 0; i < luma.length; i++) luma[i] = lumaMatlab(r[i], g[i], b[i]);
    return [{ width, height, data: luma }];
  }
  return planes.map((data) => ({ width, height, data }));
}

// ---------------------------------------------------------------------------------------------
// SSIM internals

const WINDOW = 11;
const SIGMA = 1.5;
const C1 = (0.01 * PEAK) ** 2;
const C2 = (0.03 * PEAK) ** 2;

/** Normalised 1-D Gaussian, as cv2.getGaussianKernel(11, 1.5). */
function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

const KERNEL = gaussianKernel(WINDOW, SIGMA);

/**
 * Separable 'valid' Gaussian filter: output (w-10)x(h-10), the same numbers as BasicSR's
 * cv2.filter2D(img, -1, outer(k, k))[5:-5, 5:-5] (the crop removes every padded pixel).
 */
function filterValid(src: Float64Array, w: number, h: number): Float64Array {
  const k = KERNEL;
  const n = k.length;
  const ow = w - n + 1;
  const oh = h - n + 1;
  const rows = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    const base = y * w;
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i] * src[base + x + i];
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i] * rows[(y + i) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

function ssimPlane(a: Float64Array, b: Float64Array, w: number, h: number): number {
  const aa = new Float64Array(a.length);
  const bb = new Float64Array(a.length);
  const ab = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const mu1 = filterValid(a, w, h);
  const mu2 = filterValid(b, w, h);
  const s11 = filterValid(aa, w, h);
  const s22 = filterValid(bb, w, h);
  const s12 = filterValid(ab, w, h);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i];
    const m2 = mu2[i];
    const v1 = s11[i] - m1 * m1;
    const v2 = s22[i] - m2 * m2;
    const cov = s12[i] - m1 * m2;
    sum += ((2 * m1 * m2 + C1) * (2 * cov + C2)) / ((m1 * m1 + m2 * m2 + C1) * (v1 + v2 + C2));
  }
  return sum / mu1.length;
}
