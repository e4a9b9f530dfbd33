import { invalidOption } from '../errors.js';
import { createImage, type RawImage } from './types.js';

/**
 * The eight symmetries of the square (rotations by 90 degrees, with and without a
 * mirror): the self-ensemble ("x8 TTA") of the restoration literature runs a network
 * on each, undoes the symmetry and averages.
 *
 * Symmetry k (0..7): mirror left-right when k >= 4, then rotate (k % 4) x 90 degrees clockwise.
 */
export const DIHEDRAL_COUNT = 8;

export function applyDihedral(img: RawImage, k: number): RawImage {
  const mirrored = k >= 4 ? remap(img, img.width, img.height, (x, y) => [img.width - 1 - x, y]) : img;
  return rotateClockwise(mirrored, k % 4);
}

export function invertDihedral(img: RawImage, k: number): RawImage {
  const unrotated = rotateClockwise(img, (4 - (k % 4)) % 4);
  return k >= 4 ? remap(unrotated, unrotated.width, unrotated.height, (x, y) => [unrotated.width - 1 - x, y]) : unrotated;
}

function rotateClockwise(img: RawImage, quarterTurns: number): RawImage {
  const { width: w, height: h } = img;
  switch (quarterTurns) {
    case 0:
      return img;
    case 1: // output (x, y) comes from input (y, h-1-x); output is h wide
      return remap(img, h, w, (x, y) => [y, h - 1 - x]);
    case 2:
      return remap(img, w, h, (x, y) => [w - 1 - x, h - 1 - y]);
    default:
      return remap(img, h, w, (x, y) => [w - 1 - y, x]);
  }
}

/** Builds an image of size outW x outH whose pixel (x, y) is img at source(x, y). */
function remap(img: RawImage, outW: number, outH: number, source: (x: number, y: number) => [number, number]): RawImage {
  const c = img.channels;
  const data = new Float32Array(outW * outH * c);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const [sx, sy] = source(x, y);
      const from = (sy * img.width + sx) * c;
      const to = (y * outW + x) * c;
      for (let ch = 0; ch < c; ch++) data[to + ch] = img.data[from + ch];
    }
  }
  return { width: outW, height: outH, channels: c, data };
}

/** Copies the `w` x `h` rectangle at (x, y); it must lie inside the image. */
export function cropImage(img: RawImage, x: number, y: number, w: number, h: number): RawImage {
  requireInteger('x', x, 0);
  requireInteger('y', y, 0);
  requireInteger('w', w, 1);
  requireInteger('h', h, 1);
  if (x + w > img.width) throw invalidOption('w', `x + w <= image width ${img.width}`, w);
  if (y + h > img.height) throw invalidOption('h', `y + h <= image height ${img.height}`, h);
  return copyInside(img, x, y, w, h);
}

/** Row-wise block copy of an in-bounds rectangle. */
function copyInside(img: RawImage, x: number, y: number, w: number, h: number): RawImage {
  const c = img.channels;
  const out = createImage(w, h, c);
  const rowLen = w * c;
  for (let row = 0; row < h; row++) {
    const start = ((y + row) * img.width + x) * c;
    out.data.set(img.data.subarray(start, start + rowLen), row * rowLen);
  }
  return out;
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw invalidOption(name, `an integer >= ${min}`, value);
}

/**
 * Resamples the source rectangle (sx, sy, sw, sh) — real-valued, may reach outside the image,
 * where edge pixels are repeated — to an outW x outH image by bilinear interpolation at pixel
 * centres. Enlarging interpolates; shrinking by more than 2x aliases (prefilter first, or use
 * resizeArea), which is fine for the face crops and warps it is used for.
 */
export function resampleRegion(img: RawImage, sx: number, sy: number, sw: number, sh: number, outW: number, outH: number): RawImage {
  requireInteger('outW', outW, 1);
  requireInteger('outH', outH, 1);
  if (!(sw > 0 && sh > 0)) throw invalidOption('sw/sh', 'a source rectangle of positive size', { sw, sh });
  const { width: w, height: h, channels: c, data: src } = img;
  const out = createImage(outW, outH, c);
  const d = out.data;
  const kx = sw / outW;
  const ky = sh / outH;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(h - 1, Math.max(0, sy + (y + 0.5) * ky - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(w - 1, Math.max(0, sx + (x + 0.5) * kx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const tx = fx - x0;
      const a = (y0 * w + x0) * c;
      const b = (y0 * w + x1) * c;
      const e = (y1 * w + x0) * c;
      const f = (y1 * w + x1) * c;
      const o = (y * outW + x) * c;
      for (let ch = 0; ch < c; ch++) {
        const top = src[a + ch] + (src[b + ch] - src[a + ch]) * tx;
        const bottom = src[e + ch] + (src[f + ch] - src[e + ch]) * tx;
        d[o + ch] = top + (bottom - top) * ty;
      }
    }
  }
  return out;
}

/**
 * Area-averaging resize (each output pixel the mean of the source area it covers): the right
 * filter for shrinking; for enlarging it degenerates to nearest neighbour, use resampleRegion.
 */
export function resizeArea(img: RawImage, outW: number, outH: number): RawImage {
  requireInteger('outW', outW, 1);
  requireInteger('outH', outH, 1);
  const { width: w, height: h, channels: c, data: src } = img;
  const out = createImage(outW, outH, c);
  const d = out.data;
  const sx = w / outW;
  const sy = h / outH;
  for (let y = 0; y < outH; y++) {
    const ya = y * sy;
    const yb = ya + sy;
    for (let x = 0; x < outW; x++) {
      const xa = x * sx;
      const xb = xa + sx;
      const o = (y * outW + x) * c;
      let wsum = 0;
      for (let yy = Math.floor(ya); yy < Math.min(h, Math.ceil(yb)); yy++) {
        const wy = Math.min(yb, yy + 1) - Math.max(ya, yy);
        for (let xx = Math.floor(xa); xx < Math.min(w, Math.ceil(xb)); xx++) {
          const wgt = wy * (Math.min(xb, xx + 1) - Math.max(xa, xx));
          const s = (yy * w + xx) * c;
          for (let ch = 0; ch < c; ch++) d[o + ch] += wgt * src[s + ch];
          wsum += wgt;
        }
      }
      for (let ch = 0; ch < c; ch++) d[o + ch] /= wsum;
    }
  }
  return out;
}
