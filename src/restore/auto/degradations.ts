/**
 * Synthetic degradations: the one definition of each, used to make training data for the
 * degradation recogniser (training/prepare/recognizer.ts) and synthetic test images (bench/analyze.ts).
 *
 * Every function is pure (seeded where random), takes a RawImage in [0, 1] and returns a new one
 * quantised to 8 bits (what a saved photo carries), except where stated. Rain is not here: it is
 * `synthesizeRain` (derain/rainModel.ts), the model I = T (J + S) + (1 - T) A, reused as is.
 *
 * Physical sketches:
 * - haze: the scattering model I = J t + A (1 - t), t = exp(-beta d), with a depth proxy d in
 *   [0, 1] (far at the top of the frame and in bright low-texture areas such as sky): no depth
 *   maps exist for the clean photos, and this ordering is what outdoor scenes usually have;
 * - low light: the photo is linearised (sRGB ~ gamma 2.2), scaled by an exposure factor, given
 *   Poisson-Gaussian sensor noise at that exposure (shot noise ~ signal), re-encoded, then a
 *   tone gamma (camera curves lift or crush shadows differently);
 * - sensor noise: Gaussian read noise plus signal-dependent shot noise, per channel;
 * - blur: Gaussian (lens softness), disc (defocus) and line (linear motion) kernels, edges replicated;
 * - JPEG: a real encode and decode by sharp (libjpeg-turbo / mozjpeg) at a given quality and
 *   chroma subsampling.
 */
import sharp from 'sharp';
import { invalidOption } from '../../core/errors.js';
import { createImage, type RawImage } from '../../core/image/types.js';
import { decodeImage } from '../../core/image/io.js';
import { gaussianSampler, mulberry32 } from '../../core/random.js';

const to8 = (v: number): number => (v <= 0 ? 0 : v >= 1 ? 1 : Math.round(v * 255) / 255);

function quantise(img: RawImage): RawImage {
  const out = createImage(img.width, img.height, img.channels);
  for (let i = 0; i < out.data.length; i++) out.data[i] = to8(img.data[i]);
  return out;
}

function checkRange(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw invalidOption(name, `a number in [${lo}, ${hi}]`, v);
  return v;
}

export interface SensorNoiseOptions {
  /** Read-noise standard deviation in 8-bit levels, [0, 100]. */
  sigma: number;
  /** Shot-noise gain: variance += shot * value (value in [0, 1]); 0 = pure Gaussian. Default 0. */
  shot?: number;
  seed?: number;
}

/** Gaussian read noise plus signal-dependent shot noise, per channel, rounded to 8 bits. */
export function addSensorNoise(img: RawImage, opts: SensorNoiseOptions): RawImage {
  const sigma = checkRange('sigma', opts.sigma, 0, 100) / 255;
  const shot = checkRange('shot', opts.shot ?? 0, 0, 1);
  const g = gaussianSampler(mulberry32(opts.seed ?? 1));
  const out = createImage(img.width, img.height, img.channels);
  for (let i = 0; i < out.data.length; i++) {
    const v = img.data[i];
    const sd = Math.sqrt(sigma * sigma + shot * Math.max(0, v));
    out.data[i] = to8(v + sd * g());
  }
  return out;
}

/** Convolution with a normalised 2-D kernel (odd size k x k), edges replicated. */
function convolve(img: RawImage, kernel: Float32Array, k: number): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const r = (k - 1) / 2;
  const taps: Array<[number, number, number]> = [];
  for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) if (kernel[j * k + i] !== 0) taps.push([i - r, j - r, kernel[j * k + i]]);
  const out = createImage(w, h, c);
  const od = out.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * c;
      for (const [dx, dy, wt] of taps) {
        const xx = x + dx < 0 ? 0 : x + dx >= w ? w - 1 : x + dx;
        const yy = y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy;
        const s = (yy * w + xx) * c;
        for (let ch = 0; ch < c; ch++) od[o + ch] += wt * data[s + ch];
      }
    }
  }
  return quantise(out);
}

/** Separable Gaussian blur (radius ceil(3 sigma), edges replicated), rounded to 8 bits. sigma in (0, 20]. */
export function gaussianBlur(img: RawImage, sigma: number): RawImage {
  checkRange('sigma', sigma, 1e-3, 20);
  const { width: w, height: h, channels: c } = img;
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const kn = k.map((v) => v / sum);
  const tmp = new Float32Array(img.data.length);
  const out = createImage(w, h, c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) acc += kn[t + r] * img.data[(y * w + Math.min(w - 1, Math.max(0, x + t))) * c + ch];
        tmp[(y * w + x) * c + ch] = acc;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) acc += kn[t + r] * tmp[(Math.min(h - 1, Math.max(0, y + t)) * w + x) * c + ch];
        out.data[(y * w + x) * c + ch] = to8(acc);
      }
    }
  }
  return out;
}

/** Defocus: a uniform disc of `radius` pixels, (0, 10]. */
export function defocusBlur(img: RawImage, radius: number): RawImage {
  checkRange('radius', radius, 0.5, 10);
  const r = Math.ceil(radius);
  const k = 2 * r + 1;
  const kernel = new Float32Array(k * k);
  let sum = 0;
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < k; i++) {
      // Antialiased disc edge: coverage falls from 1 to 0 over one pixel.
      const d = Math.hypot(i - r, j - r);
      const v = Math.max(0, Math.min(1, radius + 0.5 - d));
      kernel[j * k + i] = v;
      sum += v;
    }
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return convolve(img, kernel, k);
}

/** Linear motion: a line of `length` pixels, [2, 31], at `angleDeg` from the x axis. */
export function motionBlur(img: RawImage, length: number, angleDeg: number): RawImage {
  checkRange('length', length, 2, 31);
  checkRange('angleDeg', angleDeg, -360, 360);
  const r = Math.ceil(length / 2);
  const k = 2 * r + 1;
  const kernel = new Float32Array(k * k);
  const a = (angleDeg * Math.PI) / 180;
  const steps = Math.ceil(length * 4);
  for (let s = 0; s <= steps; s++) {
    const t = (s / steps - 0.5) * length;
    // Bilinear splat of each point of the line.
    const fx = r + t * Math.cos(a);
    const fy = r - t * Math.sin(a);
    const x0 = Math.floor(fx);
    const y0 = Math.floor(fy);
    const ax = fx - x0;
    const ay = fy - y0;
    const put = (x: number, y: number, v: number) => {
      if (x >= 0 && x < k && y >= 0 && y < k) kernel[y * k + x] += v;
    };
    put(x0, y0, (1 - ax) * (1 - ay));
    put(x0 + 1, y0, ax * (1 - ay));
    put(x0, y0 + 1, (1 - ax) * ay);
    put(x0 + 1, y0 + 1, ax * ay);
  }
  const sum = kernel.reduce((p, v) => p + v, 0);
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return convolve(img, kernel, k);
}

/**
 * Depth proxy in [0, 1] (1 = far) for haze synthesis without a depth map: 0.7 x the height in
 * the frame (top far) + 0.3 x a heavily smoothed brightness (sky and distant bright areas far).
 */
export function hazeDepthProxy(img: RawImage): Float32Array {
  const { width: w, height: h, channels: c, data } = img;
  const n = w * h;
  const lum = new Float32Array(n);
  for (let i = 0; i < n; i++) lum[i] = c === 3 ? (data[i * 3] + data[i * 3 + 1] + data[i * 3 + 2]) / 3 : data[i];
  // Box-smoothed brightness on a coarse 8x8 grid, bilinearly read back.
  const gw = 8;
  const gh = 8;
  const grid = new Float32Array(gw * gh);
  const cnt = new Float32Array(gw * gh);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const g = Math.min(gh - 1, Math.floor((y * gh) / h)) * gw + Math.min(gw - 1, Math.floor((x * gw) / w));
      grid[g] += lum[y * w + x];
      cnt[g]++;
    }
  for (let i = 0; i < grid.length; i++) grid[i] /= Math.max(1, cnt[i]);
  const d = new Float32Array(n);
  for (let y = 0; y < h; y++) {
    const gy = Math.max(0, Math.min(gh - 1.001, ((y + 0.5) * gh) / h - 0.5));
    const y0 = Math.floor(gy);
    const ty = gy - y0;
    for (let x = 0; x < w; x++) {
      const gx = Math.max(0, Math.min(gw - 1.001, ((x + 0.5) * gw) / w - 0.5));
      const x0 = Math.floor(gx);
      const tx = gx - x0;
      const b =
        (1 - ty) * ((1 - tx) * grid[y0 * gw + x0] + tx * grid[y0 * gw + x0 + 1]) +
        ty * ((1 - tx) * grid[(y0 + 1) * gw + x0] + tx * grid[(y0 + 1) * gw + x0 + 1]);
      d[y * w + x] = 0.7 * (1 - y / Math.max(1, h - 1)) + 0.3 * b;
    }
  }
  return d;
}

export interface HazeOptions {
  /** Scattering coefficient for depth 1, [0, 5]: mean transmission ~exp(-beta * 0.65). */
  beta: number;
  /** Atmospheric light A, per channel in [0, 1]. Default [0.9, 0.9, 0.9]. */
  airlight?: readonly number[];
  /** Depth per pixel in [0, 1] (width*height). Default hazeDepthProxy(img). */
  depth?: Float32Array;
}

/** Haze by the scattering model I = J t + A (1 - t), t = exp(-beta (0.3 + 0.7 d)); returns the image and the mean transmission. */
export function synthesizeHaze(img: RawImage, opts: HazeOptions): { image: RawImage; meanTransmission: number } {
  const beta = checkRange('beta', opts.beta, 0, 5);
  const A = opts.airlight ?? [0.9, 0.9, 0.9];
  if (!Array.isArray(A) || A.length < img.channels || A.some((v) => !(v >= 0 && v <= 1))) throw invalidOption('airlight', 'one value in [0, 1] per channel', A);
  const n = img.width * img.height;
  const d = opts.depth ?? hazeDepthProxy(img);
  if (d.length !== n) throw invalidOption('depth', `width*height = ${n} values`, d.length);
  const out = createImage(img.width, img.height, img.channels);
  const c = img.channels;
  let tsum = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(-beta * (0.3 + 0.7 * d[i]));
    tsum += t;
    for (let ch = 0; ch < c; ch++) out.data[i * c + ch] = to8(img.data[i * c + ch] * t + A[ch] * (1 - t));
  }
  return { image: out, meanTransmission: tsum / n };
}

export interface LowLightOptions {
  /** Linear exposure factor, (0, 1]: 0.1 = 3.3 stops under. */
  exposure: number;
  /** Tone gamma applied after re-encoding, [0.5, 2]: > 1 crushes shadows further. Default 1. */
  gamma?: number;
  /** Read noise at the dark level, 8-bit levels. Default 0. */
  readNoise?: number;
  /** Shot-noise gain in linear units (variance += shot * linear value). Default 0. */
  shot?: number;
  seed?: number;
}

/** Under-exposure in linear light with sensor noise at that exposure (see the module notes). */
export function darken(img: RawImage, opts: LowLightOptions): RawImage {
  const exposure = checkRange('exposure', opts.exposure, 1e-3, 1);
  const gamma = checkRange('gamma', opts.gamma ?? 1, 0.5, 2);
  const read = checkRange('readNoise', opts.readNoise ?? 0, 0, 50) / 255;
  const shot = checkRange('shot', opts.shot ?? 0, 0, 0.1);
  const g = gaussianSampler(mulberry32(opts.seed ?? 1));
  const out = createImage(img.width, img.height, img.channels);
  for (let i = 0; i < out.data.length; i++) {
    const lin = Math.max(0, img.data[i]) ** 2.2 * exposure;
    const noisy = Math.max(0, lin + Math.sqrt(shot * lin) * g());
    const enc = noisy ** (1 / 2.2) + read * g();
    out.data[i] = to8(Math.max(0, enc) ** gamma);
  }
  return out;
}

/** A JPEG encode and decode by sharp at `quality` (1-100), 4:2:0 chroma unless `chroma444`. */
export async function jpegRoundTrip(img: RawImage, quality: number, chroma444 = false): Promise<RawImage> {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw invalidOption('quality', 'an integer in [1, 100]', quality);
  const raw = Buffer.alloc(img.data.length);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.round(to8(img.data[i]) * 255);
  const jpg = await sharp(raw, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .jpeg({ quality, chromaSubsampling: chroma444 ? '4:4:4' : '4:2:0' })
    .toBuffer();
  return (await decodeImage(jpg)).image;
}
