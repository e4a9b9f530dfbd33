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
  recipe: { gain: number[]; bias: number[]; frequency: 'resample' | 'sharpen' | 'blur'; shift: [number, number]; scale: number; maskRadius: number; blurRadius: number; opacity: number };
}

const uniform = (rand: () => number, lo: number, hi: number): number => lo + (hi - lo) * rand();

/**
 * Blends an altered copy of `face` onto itself inside `faceMask` (1 inside the face hull).
 * `rand` is a seeded uniform generator (core/random mulberry32): one seed, one pseudo-fake.
 */
export function selfBlend(face: RawImage, faceMask: Float32Array, rand: () => number): SelfBlendResult {
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

  // Mask: grow or shrink the hull a little (threshold of its box-blurred self), soften the edge.
  const grown = boxFilter(faceMask, w, h, maskRadius);
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
  return { image: out, mask, recipe: { gain, bias, frequency, shift, scale, maskRadius, blurRadius, opacity } };
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
