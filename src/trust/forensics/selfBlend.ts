/**
 * Self-blended images (after Shiohara & Yamasaki, CVPR 2022): a pseudo-fake made from one real
 * face by blending a slightly altered copy of the face back onto itself inside a face-shaped
 * mask. Identity and expression do not change, so a detector trained on these can only learn
 * what face swaps share: the blending boundary, a colour and sharpness mismatch between the
 * pasted region and its surroundings, and the resampling of the source.
 */
import { invalidOption } from '../../core/errors.js';
import { boxFilter } from '../../core/filters/index.js';
import { cropImage, resampleRegion } from '../../core/image/geometry.js';
import { convexHull, polygonMask, type Point } from '../../core/shapes.js';
import { createImage, type RawImage } from '../../core/image/types.js';

export interface SelfBlendResult {
  image: RawImage;
  /** The soft blend mask actually used (0 = original, 1 = altered source). */
  mask: Float32Array;
  /** What was done, for the record. */
  recipe: {
    gain: number[];
    bias: number[];
    frequency: 'resample' | 'sharpen' | 'blur';
    shift: [number, number];
    scale: number;
    maskRadius: number;
    blurRadius: number;
    opacity: number;
    deform?: number;
    contrast?: number;
  };
}

export interface SelfBlendOptions {
  /**
   * Warp the mask by a smooth random displacement field of up to this fraction of the side
   * (SBI's random deformation: real swaps do not follow the landmark hull exactly). Default 0:
   * off, which keeps the recipe, and so the random sequence, of the linear detector's training.
   */
  deform?: number;
  /** Also jitter the source's contrast about its mean by up to this fraction (default 0: off). */
  contrast?: number;
}

const uniform = (rand: () => number, lo: number, hi: number): number => lo + (hi - lo) * rand();

/**
 * Blends an altered copy of `face` onto itself inside `faceMask` (1 inside the face hull).
 * `rand` is a seeded uniform generator (core/random mulberry32): one seed, one pseudo-fake.
 */
export function selfBlend(face: RawImage, faceMask: Float32Array, rand: () => number, opts: SelfBlendOptions = {}): SelfBlendResult {
  const deform = opts.deform ?? 0;
  const contrastJitter = opts.contrast ?? 0;
  if (!(deform >= 0 && deform <= 0.25)) throw invalidOption('deform', 'a fraction in [0, 0.25]', deform);
  if (!(contrastJitter >= 0 && contrastJitter <= 0.5)) throw invalidOption('contrast', 'a fraction in [0, 0.5]', contrastJitter);
  const { width: w, height: h } = face;
  const gain = [0, 1, 2].map(() => uniform(rand, 0.9, 1.1));
  const bias = [0, 1, 2].map(() => uniform(rand, -0.04, 0.04));
  const f = rand();
  const frequency: SelfBlendResult['recipe']['frequency'] = f < 0.5 ? 'resample' : f < 0.75 ? 'sharpen' : 'blur';
  const shift: [number, number] = [uniform(rand, -0.03, 0.03) * w, uniform(rand, -0.03, 0.03) * h];
  const scale = uniform(rand, 0.95, 1.05);
  const maskRadius = Math.round(uniform(rand, 1, Math.max(2, w / 24)));
  const blurRadius = Math.round(uniform(rand, 2, Math.max(3, w / 14)));
  const opacity = rand() < 0.7 ? 1 : uniform(rand, 0.5, 1);

  // Source: geometric jitter, then frequency jitter, then colour jitter.
  const sw = w / scale;
  const sh = h / scale;
  let source = resampleRegion(face, (w - sw) / 2 + shift[0], (h - sh) / 2 + shift[1], sw, sh, w, h);
  if (frequency === 'resample') {
    const k = uniform(rand, 0.45, 0.8);
    const small = resampleRegion(source, 0, 0, w, h, Math.max(8, Math.round(w * k)), Math.max(8, Math.round(h * k)));
    source = resampleRegion(small, 0, 0, small.width, small.height, w, h);
  } else {
    const amount = frequency === 'sharpen' ? uniform(rand, 0.3, 1) : -uniform(rand, 0.4, 0.9);
    source = unsharp(source, amount);
  }
  const sd = source.data;
  for (let i = 0; i < sd.length; i++) sd[i] = sd[i] * gain[i % 3] + bias[i % 3];
  let contrast: number | undefined;
  if (contrastJitter > 0) {
    contrast = uniform(rand, 1 - contrastJitter, 1 + contrastJitter);
    let mean = 0;
    for (let i = 0; i < sd.length; i++) mean += sd[i];
    mean /= sd.length;
    for (let i = 0; i < sd.length; i++) sd[i] = mean + (sd[i] - mean) * contrast;
  }

  // Mask: optionally warp it, grow or shrink the hull a little (threshold of its box-blurred
  // self), soften the edge.
  const shape = deform > 0 ? warpMask(faceMask, w, h, deform, rand) : faceMask;
  const grown = boxFilter(shape, w, h, maskRadius);
  const t = uniform(rand, 0.25, 0.75);
  let mask: Float32Array = grown.map((v) => (v > t ? 1 : 0));
  mask = boxFilter(boxFilter(mask, w, h, blurRadius), w, h, Math.max(1, blurRadius >> 1));
  for (let i = 0; i < mask.length; i++) mask[i] *= opacity;

  const out = createImage(w, h, 3);
  const od = out.data;
  const fd = face.data;
  for (let p = 0; p < w * h; p++) {
    const m = mask[p];
    for (let c = 0; c < 3; c++) {
      const v = sd[p * 3 + c] * m + fd[p * 3 + c] * (1 - m);
      od[p * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  const recipe: SelfBlendResult['recipe'] = { gain, bias, frequency, shift, scale, maskRadius, blurRadius, opacity };
  if (deform > 0) recipe.deform = deform;
  if (contrast !== undefined) recipe.contrast = contrast;
  return { image: out, mask, recipe };
}

/**
 * The mask resampled through a smooth random displacement field: a 4x4 grid of offsets of up
 * to `amount` x side, bilinearly interpolated, so the hull's outline bulges and dents by a few
 * pixels over distances of a quarter face, as a generator's pasted region does.
 */
export function warpMask(mask: Float32Array, w: number, h: number, amount: number, rand: () => number): Float32Array {
  const G = 4;
  const N = G + 1;
  const amp = amount * Math.max(w, h);
  const dx = new Float64Array(N * N);
  const dy = new Float64Array(N * N);
  for (let i = 0; i < N * N; i++) dx[i] = (rand() * 2 - 1) * amp;
  for (let i = 0; i < N * N; i++) dy[i] = (rand() * 2 - 1) * amp;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const gy = (y / Math.max(1, h - 1)) * G;
    const y0 = Math.min(G - 1, Math.floor(gy));
    const fy = gy - y0;
    for (let x = 0; x < w; x++) {
      const gx = (x / Math.max(1, w - 1)) * G;
      const x0 = Math.min(G - 1, Math.floor(gx));
      const fx = gx - x0;
      const a = y0 * N + x0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const sx = Math.round(x + dx[a] * w00 + dx[a + 1] * w01 + dx[a + N] * w10 + dx[a + N + 1] * w11);
      const sy = Math.round(y + dy[a] * w00 + dy[a + 1] * w01 + dy[a + N] * w10 + dy[a + N + 1] * w11);
      out[y * w + x] = sx >= 0 && sx < w && sy >= 0 && sy < h ? mask[sy * w + sx] : 0;
    }
  }
  return out;
}

/** Which part of the face a pseudo-fake replaces: the whole mesh hull, the face below the eyes (lip-sync, lower-face reenactment), or the inner face (no forehead, no jaw line). */
export type BlendRegion = 'hull' | 'lower' | 'inner';

/**
 * The blend mask of one of the regions above from the 468-point mesh ([x, y, z] interleaved,
 * in the picture's pixels), rasterised at w x h: the convex hull of the chosen landmarks.
 */
export function blendRegionMask(landmarks: Float32Array, w: number, h: number, region: BlendRegion): Float32Array {
  const pts: Point[] = [];
  for (let i = 0; i + 2 < landmarks.length; i += 3) pts.push({ x: landmarks[i], y: landmarks[i + 1] });
  if (pts.length < 3) throw invalidOption('landmarks', 'at least 3 points', pts.length);
  let chosen = pts;
  if (region !== 'hull') {
    const cx = pts.reduce((a, p) => a + p.x, 0) / pts.length;
    const cy = pts.reduce((a, p) => a + p.y, 0) / pts.length;
    const spread = Math.sqrt(pts.reduce((a, p) => a + (p.x - cx) ** 2 + (p.y - cy) ** 2, 0) / pts.length);
    // Mesh point 1 is the nose tip: "lower" keeps what lies below a line just above it.
    const noseY = pts.length > 1 ? pts[1].y : cy;
    chosen = region === 'lower' ? pts.filter((p) => p.y >= noseY - 0.25 * spread) : pts.filter((p) => Math.hypot(p.x - cx, p.y - cy) <= 1.1 * spread);
    if (chosen.length < 3) chosen = pts;
  }
  return polygonMask(convexHull(chosen), w, h);
}

/** img + amount * (img - blur(img)): sharpens for amount > 0, blurs for amount in (-1, 0). */
function unsharp(img: RawImage, amount: number): RawImage {
  const { width: w, height: h } = img;
  const out = createImage(w, h, 3);
  for (let c = 0; c < 3; c++) {
    const plane = new Float32Array(w * h);
    for (let p = 0; p < w * h; p++) plane[p] = img.data[p * 3 + c];
    const blurred = boxFilter(plane, w, h, 1);
    for (let p = 0; p < w * h; p++) out.data[p * 3 + c] = plane[p] + amount * (plane[p] - blurred[p]);
  }
  return out;
}

/**
 * A whole picture with one face self-blended at the picture's own resolution (no resampling of
 * anything outside the face's square): the realistic pseudo-fake for end-to-end evaluation.
 * `face` gives the square region (centre, side) and the 468-point mesh for the hull.
 */
export function selfBlendFace(
  img: RawImage,
  face: { region: { cx: number; cy: number; size: number }; landmarks: Float32Array },
  rand: () => number,
): SelfBlendResult {
  if (img.channels !== 3) throw invalidOption('img.channels', '3 (RGB)', img.channels);
  const half = face.region.size * 0.6;
  const x0 = Math.max(0, Math.floor(face.region.cx - half));
  const y0 = Math.max(0, Math.floor(face.region.cy - half));
  const x1 = Math.min(img.width, Math.ceil(face.region.cx + half));
  const y1 = Math.min(img.height, Math.ceil(face.region.cy + half));
  if (x1 - x0 < 16 || y1 - y0 < 16) throw invalidOption('face', 'a face region of at least 16x16 pixels inside the picture', { x0, y0, x1, y1 });
  const crop = cropImage(img, x0, y0, x1 - x0, y1 - y0);
  const pts: Point[] = [];
  for (let i = 0; i + 2 < face.landmarks.length; i += 3) pts.push({ x: face.landmarks[i] - x0, y: face.landmarks[i + 1] - y0 });
  const blended = selfBlend(crop, polygonMask(convexHull(pts), crop.width, crop.height), rand);
  const out: RawImage = { ...img, data: Float32Array.from(img.data) };
  const mask = new Float32Array(img.width * img.height);
  for (let y = 0; y < crop.height; y++) {
    const src = y * crop.width * 3;
    out.data.set(blended.image.data.subarray(src, src + crop.width * 3), ((y0 + y) * img.width + x0) * 3);
    mask.set(blended.mask.subarray(y * crop.width, (y + 1) * crop.width), (y0 + y) * img.width + x0);
  }
  return { image: out, mask, recipe: blended.recipe };
}
