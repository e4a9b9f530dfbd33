/**
 * Synthetic test pictures: a clean textured scene and rain streaks over it, shared by the
 * degradation-analysis and restore-auto tests (seeded: the same seed is the same picture).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { createImage, resampleRegion, type RawImage } from '../../src/core/image/index.js';
import sharp from 'sharp';
import { mulberry32 as rng } from '../../src/core/random.js';

/** Rounds to 8 bits and clamps, as a decoded file would be. */
export function q8(img: RawImage): RawImage {
  for (let i = 0; i < img.data.length; i++) img.data[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255) / 255;
  return img;
}

/** Smooth random field in [-1, 1]: smoothstep interpolation of a random grid with `cell` px spacing. */
export function valueNoise(r: () => number, w: number, h: number, cell: number): Float32Array {
  const gw = Math.ceil(w / cell) + 2;
  const gh = Math.ceil(h / cell) + 2;
  const g = Float32Array.from({ length: gw * gh }, () => r() * 2 - 1);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const ix = Math.floor(x / cell);
      const iy = Math.floor(y / cell);
      let tx = x / cell - ix;
      let ty = y / cell - iy;
      tx = tx * tx * (3 - 2 * tx);
      ty = ty * ty * (3 - 2 * ty);
      const a = g[iy * gw + ix];
      const b = g[iy * gw + ix + 1];
      const c = g[(iy + 1) * gw + ix];
      const d = g[(iy + 1) * gw + ix + 1];
      out[y * w + x] = (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
  return out;
}

/** A clean, colourful, textured scene with sharp-edged objects. */
export function cleanScene(seed: number, w = 384, h = 256): RawImage {
  const r = rng(seed);
  const img = createImage(w, h, 3);
  const tex = new Float32Array(w * h);
  for (const [cell, amp] of [
    [64, 0.5],
    [32, 0.25],
    [16, 0.14],
    [8, 0.08],
    [4, 0.05],
    [2, 0.035],
  ] as const) {
    const n = valueNoise(r, w, h, cell);
    for (let i = 0; i < tex.length; i++) tex[i] += amp * n[i];
  }
  const hue = [valueNoise(r, w, h, 96), valueNoise(r, w, h, 96), valueNoise(r, w, h, 96)];
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) img.data[i * 3 + c] = 0.42 + 0.3 * hue[c][i] + 0.35 * tex[i];
  for (let k = 0; k < 40; k++) {
    const cx = r() * w;
    const cy = r() * h;
    const rad = 6 + r() * 40;
    const col = [r(), r(), r()];
    col[Math.floor(r() * 3)] *= 0.3;
    const shade = 0.8 + 0.4 * r();
    for (let y = Math.max(0, Math.floor(cy - rad - 1)); y < Math.min(h, cy + rad + 1); y++) {
      for (let x = Math.max(0, Math.floor(cx - rad - 1)); x < Math.min(w, cx + rad + 1); x++) {
        const a = Math.max(0, Math.min(1, rad - Math.hypot(x - cx, y - cy) + 0.5));
        if (!a) continue;
        for (let c = 0; c < 3; c++) {
          const i = (y * w + x) * 3 + c;
          img.data[i] = (1 - a) * img.data[i] + a * (col[c] * shade + 0.25 * tex[y * w + x]);
        }
      }
    }
  }
  return q8(img);
}

/** Rain streaks: thin bright segments at ~100 degrees, screen-blended over the scene. */
export function addRain(J: RawImage, seed: number, count = 900): RawImage {
  const { width: w, height: h } = J;
  const r = rng(seed);
  const layer = new Float32Array(w * h);
  const ang = (100 * Math.PI) / 180;
  for (let k = 0; k < count; k++) {
    const x0 = r() * w;
    const y0 = r() * h;
    const len = 12 + r() * 30;
    const b = 0.25 + 0.35 * r();
    for (let t = 0; t < len; t += 0.5) {
      const xi = Math.round(x0 + Math.cos(ang) * t);
      const yi = Math.round(y0 + Math.sin(ang) * t);
      if (xi < 0 || yi < 0 || xi >= w || yi >= h) continue;
      layer[yi * w + xi] = Math.max(layer[yi * w + xi], b);
      if (xi + 1 < w) layer[yi * w + xi + 1] = Math.max(layer[yi * w + xi + 1], 0.4 * b);
    }
  }
  const out = createImage(w, h, 3);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) out.data[i * 3 + c] = J.data[i * 3 + c] + layer[i] * (1 - J.data[i * 3 + c]);
  return q8(out);
}

/** 320x240 seeded texture (value noise + gradient), as an 8-bit PNG. */
export async function makeTexturePhoto(path: string): Promise<void> {
  const w = 320;
  const h = 240;
  const rnd = rng(5);
  const grid = Float32Array.from({ length: 41 * 31 }, () => rnd());
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const gx = x / 8;
      const gy = y / 8;
      const i = Math.floor(gx);
      const j = Math.floor(gy);
      const fx = gx - i;
      const fy = gy - j;
      const g = (a: number, b: number) => grid[b * 41 + a]!;
      const n = (g(i, j) * (1 - fx) + g(i + 1, j) * fx) * (1 - fy) + (g(i, j + 1) * (1 - fx) + g(i + 1, j + 1) * fx) * fy;
      for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = Math.round(255 * Math.min(1, 0.15 + 0.5 * n + (0.3 * x) / w + 0.05 * c));
    }
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path);
}

/**
 * A real face for the forensic detector tests: the third thumbnail of Human's samples.jpg (a man at
 * a table), doubled so the face passes the detector's size and quality gates.
 */
export async function manAtTable(): Promise<RawImage> {
  const file = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
  const { data, info } = await sharp(file).extract({ left: 326, top: 0, width: 210, height: 158 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const tile: RawImage = { width: info.width, height: info.height, channels: 3, data: Float32Array.from(data, (v) => v / 255) };
  return resampleRegion(tile, 0, 0, tile.width, tile.height, tile.width * 2, tile.height * 2);
}
