import { createImage, type RawImage } from '../../src/index.js';

/** A smooth, textured, deterministic RGB image in [0,1]. */
export function syntheticImage(w: number, h: number): RawImage {
  const img = createImage(w, h, 3);
  const d = img.data;
  for (let y = 0; y < h; y++) {
    const v = y / h;
    for (let x = 0; x < w; x++) {
      const u = x / w;
      // integer hash noise in [-0.5, 0.5)
      let k = (x * 374761393 + y * 668265263) | 0;
      k = Math.imul(k ^ (k >>> 13), 1274126177);
      const noise = ((k ^ (k >>> 16)) & 0xffff) / 65536 - 0.5;
      const tex = 0.08 * Math.sin(x / 23 + 3 * Math.sin(y / 97)) + 0.06 * Math.cos((x + 2 * y) / 41) + 0.04 * Math.sin(Math.hypot(x - w / 3, y - h / 2) / 15);
      const i = (y * w + x) * 3;
      const r = 0.25 + 0.45 * u + tex + 0.02 * noise;
      const g = 0.3 + 0.35 * v + 0.8 * tex + 0.02 * noise;
      const b = 0.55 - 0.25 * u + 0.2 * v - 0.6 * tex + 0.02 * noise;
      d[i] = r < 0 ? 0 : r > 1 ? 1 : r;
      d[i + 1] = g < 0 ? 0 : g > 1 ? 1 : g;
      d[i + 2] = b < 0 ? 0 : b > 1 ? 1 : b;
    }
  }
  return img;
}
