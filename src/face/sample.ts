import type { RawImage } from '../core/image/types.js';
import { bilinearAccumulate } from '../core/sampling.js';

/**
 * Resampling of face crops. Every network here wants a square NHWC float tensor cut from the
 * picture along a possibly rotated square; we describe that square by its centre, side and
 * roll angle and sample it bilinearly, with a small supersampling grid when the crop shrinks
 * the picture (a 4000 px portrait cut to 256 px would otherwise alias badly).
 */
export interface SquareRegion {
  /** Centre of the square, in picture pixels. */
  cx: number;
  cy: number;
  /** Side length in picture pixels. */
  size: number;
  /** Roll of the square in radians (positive = clockwise in image coordinates, y down). */
  angle: number;
}

/** Maps a point of the size x size crop (pixel units of the crop) back to the picture. */
export function cropToImage(region: SquareRegion, outSize: number, u: number, v: number): [number, number] {
  const s = region.size / outSize;
  const dx = (u - outSize / 2) * s;
  const dy = (v - outSize / 2) * s;
  const c = Math.cos(region.angle);
  const n = Math.sin(region.angle);
  return [region.cx + c * dx - n * dy, region.cy + n * dx + c * dy];
}

/**
 * Samples `region` of `img` into an outSize x outSize RGB Float32 NHWC buffer, with
 * value = pixel * gain + offset. Outside the picture the border is black (value 0 * gain + offset),
 * which is what the networks saw in training for faces at the frame edge (zero padding).
 * `maxSub` caps the supersampling grid per axis (taps grow with its square).
 */
export function sampleSquare(img: RawImage, region: SquareRegion, outSize: number, gain = 1, offset = 0, maxSub = 4): Float32Array {
  const out = new Float32Array(outSize * outSize * 3);
  const step = region.size / outSize;
  const sub = Math.max(1, Math.min(maxSub, Math.ceil(step)));
  const c = Math.cos(region.angle);
  const n = Math.sin(region.angle);
  const { width, height, channels, data } = img;
  const acc = new Float64Array(3);
  const k = 1 / (sub * sub);
  for (let v = 0; v < outSize; v++) {
    for (let u = 0; u < outSize; u++) {
      let a0 = 0,
        a1 = 0,
        a2 = 0;
      for (let sy = 0; sy < sub; sy++) {
        const dv = (v + (sy + 0.5) / sub - outSize / 2) * step;
        for (let sx = 0; sx < sub; sx++) {
          const du = (u + (sx + 0.5) / sub - outSize / 2) * step;
          // pixel centres sit at integer + 0.5
          const x = region.cx + c * du - n * dv - 0.5;
          const y = region.cy + n * du + c * dv - 0.5;
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          if (channels === 3 && x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
            // interior RGB fast path: the same four weights as core/sampling's bilinearAccumulate
            const fx = x - x0,
              fy = y - y0;
            const p = (y0 * width + x0) * 3,
              q = p + width * 3;
            const w00 = (1 - fy) * (1 - fx),
              w01 = (1 - fy) * fx,
              w10 = fy * (1 - fx),
              w11 = fy * fx;
            a0 += w00 * data[p]!;
            a1 += w00 * data[p + 1]!;
            a2 += w00 * data[p + 2]!;
            a0 += w01 * data[p + 3]!;
            a1 += w01 * data[p + 4]!;
            a2 += w01 * data[p + 5]!;
            a0 += w10 * data[q]!;
            a1 += w10 * data[q + 1]!;
            a2 += w10 * data[q + 2]!;
            a0 += w11 * data[q + 3]!;
            a1 += w11 * data[q + 4]!;
            a2 += w11 * data[q + 5]!;
          } else if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) {
            // all four taps outside the picture: the zero border adds nothing (letterboxed
            // detector inputs are up to half border; skipping them is exact)
          } else {
            acc.fill(0);
            bilinearAccumulate(img, x, y, acc, 0, 1, 'zero');
            if (channels === 3) {
              a0 += acc[0]!;
              a1 += acc[1]!;
              a2 += acc[2]!;
            } else {
              a0 += acc[0]!;
              a1 += acc[0]!;
              a2 += acc[0]!;
            }
          }
        }
      }
      const o = (v * outSize + u) * 3;
      out[o] = a0 * k * gain + offset;
      out[o + 1] = a1 * k * gain + offset;
      out[o + 2] = a2 * k * gain + offset;
    }
  }
  return out;
}
