/** Luma helpers shared by the embedder and the detector. */
import type { RawImage } from '../../core/image/types.js';
import { luma601, lumaPlane } from '../../core/colour.js';

/**
 * Area-average downscale of a plane by a real factor f >= 1 (each output pixel is the mean of
 * the input pixels whose centres fall in its footprint). Used to bring any image to the
 * detector's working resolution; fast and alias-free enough for the low-frequency watermark.
 */
export function downscalePlane(src: Float32Array, w: number, h: number, f: number): { data: Float32Array; width: number; height: number } {
  if (f <= 1) return { data: src, width: w, height: h };
  const ow = Math.max(1, Math.floor(w / f));
  const oh = Math.max(1, Math.floor(h / f));
  const colOut = new Int32Array(w);
  for (let x = 0; x < w; x++) colOut[x] = Math.min(ow - 1, Math.floor(((x + 0.5) * ow) / w));
  const out = new Float64Array(ow * oh);
  const cnt = new Float64Array(ow * oh);
  for (let y = 0; y < h; y++) {
    const oy = Math.min(oh - 1, Math.floor(((y + 0.5) * oh) / h));
    const row = oy * ow;
    const off = y * w;
    for (let x = 0; x < w; x++) {
      out[row + colOut[x]] += src[off + x];
      cnt[row + colOut[x]] += 1;
    }
  }
  const data = new Float32Array(ow * oh);
  for (let i = 0; i < data.length; i++) data[i] = out[i] / cnt[i];
  return { data, width: ow, height: oh };
}

/**
 * Rec.601 luma of an RGB image, area-averaged down by a real factor f >= 1, in one pass
 * (the detector's first step; one read of the full-resolution pixels).
 */
export function lumaDownscaled(img: RawImage, f: number): { data: Float32Array; width: number; height: number } {
  if (f <= 1 || img.channels === 1) return downscalePlane(lumaPlane(img), img.width, img.height, f);
  const { width: w, height: h } = img;
  const ow = Math.max(1, Math.floor(w / f));
  const oh = Math.max(1, Math.floor(h / f));
  const colOut = new Int32Array(w);
  const colCount = new Float32Array(ow);
  for (let x = 0; x < w; x++) {
    colOut[x] = Math.min(ow - 1, Math.floor(((x + 0.5) * ow) / w));
    colCount[colOut[x]]++;
  }
  const out = new Float32Array(ow * oh);
  const rowCount = new Float32Array(oh);
  const acc = new Float32Array(ow);
  const d = img.data;
  for (let y = 0; y < h; y++) {
    const oy = Math.min(oh - 1, Math.floor(((y + 0.5) * oh) / h));
    rowCount[oy]++;
    acc.fill(0);
    for (let x = 0, j = y * w * 3; x < w; x++, j += 3) acc[colOut[x]] += luma601(d[j], d[j + 1], d[j + 2]);
    const row = oy * ow;
    for (let x = 0; x < ow; x++) out[row + x] += acc[x];
  }
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) out[y * ow + x] /= rowCount[y] * colCount[x];
  }
  return { data: out, width: ow, height: oh };
}
