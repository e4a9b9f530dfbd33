/**
 * Point sampling of a RawImage between pixel centres: the bilinear read shared by face crops
 * (zero border: the networks saw black past the frame edge) and video super-resolution's motion
 * compensation (clamp border: edge pixels repeat). Whole-image resampling is core/image's
 * resampleRegion / resizeArea.
 */
import type { RawImage } from './image/types.js';

/** What lies outside the picture: black, or the nearest edge pixel. */
export type SampleBorder = 'zero' | 'clamp';

/**
 * Adds `weight` x the bilinear value of `img` at (x, y) (pixel (i, j) is the value at x = i,
 * y = j) to out[o], out[o + 1], ... (one value per channel of img). With the 'zero' border,
 * neighbours outside the picture count as 0; with 'clamp', as the nearest edge pixel.
 */
export function bilinearAccumulate(
  img: RawImage,
  x: number,
  y: number,
  out: Float32Array | Float64Array,
  o: number,
  weight: number,
  border: SampleBorder,
): void {
  const { width: w, height: h, channels: ch, data } = img;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  let w00 = (1 - fx) * (1 - fy);
  let w01 = fx * (1 - fy);
  let w10 = (1 - fx) * fy;
  let w11 = fx * fy;
  if (border === 'zero') {
    if (x0 < 0 || x0 >= w) w00 = w10 = 0;
    if (x0 + 1 < 0 || x0 + 1 >= w) w01 = w11 = 0;
    if (y0 < 0 || y0 >= h) w00 = w01 = 0;
    if (y0 + 1 < 0 || y0 + 1 >= h) w10 = w11 = 0;
  }
  const cx0 = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
  const cy0 = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
  const cx1 = x0 + 1 < 0 ? 0 : x0 + 1 >= w ? w - 1 : x0 + 1;
  const cy1 = y0 + 1 < 0 ? 0 : y0 + 1 >= h ? h - 1 : y0 + 1;
  const a = (cy0 * w + cx0) * ch;
  if (fx === 0 && fy === 0) {
    // on a pixel centre: that pixel alone
    for (let k = 0; k < ch; k++) out[o + k]! += weight * w00 * data[a + k]!;
    return;
  }
  const b = (cy0 * w + cx1) * ch;
  const c = (cy1 * w + cx0) * ch;
  const d = (cy1 * w + cx1) * ch;
  for (let k = 0; k < ch; k++) out[o + k]! += weight * (w00 * data[a + k]! + w01 * data[b + k]! + w10 * data[c + k]! + w11 * data[d + k]!);
}
