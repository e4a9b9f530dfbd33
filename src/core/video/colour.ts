/**
 * core/video colour: YUV <-> RGB for 8-bit 4:2:0 pictures, with the matrix and range the stream
 * declares (BT.601 or BT.709, limited or full). The file readers convert through swscale; these
 * pure functions serve code that keeps frames as YUV (vsr's motion compensation works on the
 * decoded luma, forensics converts only the frames it analyses) and the writer's way back.
 */
import { invalidOption } from '../errors.js';
import type { RawImage } from '../image/types.js';
import { LUMA_BT601, LUMA_BT709 } from '../colour.js';

export type ColourMatrix = 'bt601' | 'bt709';
export type ColourRange = 'limited' | 'full';

/** A decoded 8-bit 4:2:0 picture (planes tightly packed, chroma ceil(w/2) x ceil(h/2)). */
export interface YuvFrame {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
  /** YCbCr matrix (default 'bt601'). */
  matrix?: ColourMatrix;
  /** Sample range (default 'limited': luma 16-235, chroma 16-240). */
  range?: ColourRange;
}

interface Coefficients {
  kr: number;
  kb: number;
  yOffset: number;
  yScale: number;
  cScale: number;
}

function coefficients(matrix: ColourMatrix = 'bt601', range: ColourRange = 'limited'): Coefficients {
  if (matrix !== 'bt601' && matrix !== 'bt709') throw invalidOption('matrix', '"bt601" or "bt709"', matrix);
  if (range !== 'limited' && range !== 'full') throw invalidOption('range', '"limited" or "full"', range);
  const [kr, , kb] = matrix === 'bt709' ? LUMA_BT709 : LUMA_BT601;
  return range === 'full' ? { kr, kb, yOffset: 0, yScale: 255, cScale: 255 } : { kr, kb, yOffset: 16, yScale: 219, cScale: 224 };
}

/** YUV 4:2:0 -> RGB RawImage in [0, 1] (chroma upsampled by pixel replication). */
export function yuvToRgb(f: YuvFrame): RawImage {
  const { width, height } = f;
  const { kr, kb, yOffset, yScale, cScale } = coefficients(f.matrix, f.range);
  const kg = 1 - kr - kb;
  const rv = 2 * (1 - kr);
  const bu = 2 * (1 - kb);
  const gu = (bu * kb) / kg;
  const gv = (rv * kr) / kg;
  const cw = (width + 1) >> 1;
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = (y >> 1) * cw + (x >> 1);
      const Y = (f.y[y * width + x] - yOffset) / yScale;
      const U = (f.u[c] - 128) / cScale;
      const V = (f.v[c] - 128) / cScale;
      const i = (y * width + x) * 3;
      data[i] = clamp01(Y + rv * V);
      data[i + 1] = clamp01(Y - gu * U - gv * V);
      data[i + 2] = clamp01(Y + bu * U);
    }
  }
  return { width, height, channels: 3, data };
}

/** RGB RawImage in [0, 1] -> YUV 4:2:0 (chroma averaged over each 2x2 block); BT.601 limited unless told. */
export function rgbToYuv(img: RawImage, matrix: ColourMatrix = 'bt601', range: ColourRange = 'limited'): YuvFrame {
  const { width, height, data } = img;
  if (img.channels !== 3) throw invalidOption('image.channels', '3', img.channels);
  const { kr, kb, yOffset, yScale, cScale } = coefficients(matrix, range);
  const kg = 1 - kr - kb;
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const y = new Uint8Array(width * height);
  const u = new Uint8Array(cw * ch);
  const v = new Uint8Array(cw * ch);
  const su = new Float32Array(cw * ch);
  const sv = new Float32Array(cw * ch);
  const n = new Float32Array(cw * ch);
  for (let r = 0; r < height; r++) {
    for (let x = 0; x < width; x++) {
      const i = (r * width + x) * 3;
      const R = data[i];
      const G = data[i + 1];
      const B = data[i + 2];
      const Y = kr * R + kg * G + kb * B;
      y[r * width + x] = toByte(yOffset + yScale * Y);
      const c = (r >> 1) * cw + (x >> 1);
      su[c] += (B - Y) / (2 * (1 - kb));
      sv[c] += (R - Y) / (2 * (1 - kr));
      n[c] += 1;
    }
  }
  for (let c = 0; c < u.length; c++) {
    u[c] = toByte(128 + (cScale * su[c]) / n[c]);
    v[c] = toByte(128 + (cScale * sv[c]) / n[c]);
  }
  return { width, height, y, u, v, matrix, range };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function toByte(x: number): number {
  return x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
}
