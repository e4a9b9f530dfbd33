/**
 * Colour constants and conversions shared by every module: luma weights (one place for
 * 0.299/0.587/0.114), luma planes of RGB pictures and sampled RGB buffers.
 */
import type { RawImage } from './image/types.js';

/** ITU-R BT.601 luma weights of R, G, B (JPEG, most vision code). */
export const LUMA_BT601 = [0.299, 0.587, 0.114] as const;
/** ITU-R BT.709 luma weights of linear-light R, G, B (HDTV, sRGB primaries). */
export const LUMA_BT709 = [0.2126, 0.7152, 0.0722] as const;

/** BT.601 luma of one RGB triple, in the triple's range. */
export function luma601(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** BT.709 luma of one linear RGB triple, in the triple's range. */
export function luma709(r: number, g: number, b: number): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** BT.601 luma of an interleaved RGB buffer (length 3n) as n values. */
export function rgbToLuma(rgb: ArrayLike<number>): Float32Array {
  const n = Math.floor(rgb.length / 3);
  const y = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) y[i] = 0.299 * rgb[j]! + 0.587 * rgb[j + 1]! + 0.114 * rgb[j + 2]!;
  return y;
}

/** BT.601 luma plane of an RGB RawImage (a copy of the plane of a 1-channel one), in the image's range. */
export function lumaPlane(img: RawImage): Float32Array {
  const n = img.width * img.height;
  if (img.channels === 1) return Float32Array.from(img.data.subarray(0, n));
  return rgbToLuma(img.data.subarray(0, 3 * n));
}
