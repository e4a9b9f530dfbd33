import type { RawImage } from '../image/types.js';
import { createImage } from '../image/types.js';
import { requireInt } from './plan.js';
import { cropImage } from '../image/geometry.js';

export { cropImage };

/**
 * Maps any integer index onto [0, n) by mirror reflection without repeating
 * the edge sample (numpy 'reflect': ... 2 1 | 0 1 2 3 | 2 1 0 1 ...).
 * Indices further out than one reflection keep bouncing (period 2n - 2), so a
 * pad larger than the image still has real content. n = 1 has nothing to
 * reflect and replicates the single sample.
 */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * Pads `right` columns and `bottom` rows by reflection (see reflectIndex).
 * Reflection rather than zeros/edge copies because a network sees mirrored
 * content as natural texture, so it produces fewer border artefacts.
 */
export function padReflect(img: RawImage, right: number, bottom: number): RawImage {
  requireInt('right', right, 0);
  requireInt('bottom', bottom, 0);
  return readRegion(img, 0, 0, img.width + right, img.height + bottom);
}

/**
 * Copies the `w` x `h` rectangle at (x, y) of the image reflected infinitely
 * in every direction (see reflectIndex). This is "crop from the padded image"
 * without materialising the padded image: tiling then needs no input copy.
 * Arguments must be integers, w and h >= 1 (callers validate).
 */
export function readRegion(img: RawImage, x: number, y: number, w: number, h: number): RawImage {
  if (x >= 0 && y >= 0 && x + w <= img.width && y + h <= img.height) return cropImage(img, x, y, w, h);
  const c = img.channels;
  const out = createImage(w, h, c);
  const srcCols = Int32Array.from({ length: w }, (_, i) => reflectIndex(x + i, img.width));
  for (let row = 0; row < h; row++) {
    const srcRow = reflectIndex(y + row, img.height) * img.width;
    let dst = row * w * c;
    for (let col = 0; col < w; col++) {
      const src = (srcRow + srcCols[col]) * c;
      for (let k = 0; k < c; k++) out.data[dst++] = img.data[src + k];
    }
  }
  return out;
}
