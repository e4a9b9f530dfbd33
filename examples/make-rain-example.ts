/**
 * Regenerates examples/rain-clean.png and examples/rain.png: a synthetic, photo-like landscape
 * and the same picture with synthetic rain, for the README quick start and the CLI test.
 *
 * Everything is drawn by this script from a fixed seed, so the images carry no third-party
 * rights (they are released with the project under its MIT licence) and the pixels come out
 * identical on every run:
 *
 *   node --import tsx examples/make-rain-example.ts [outDir]   # default: examples/
 *
 * The rain follows the additive model of the Rain100L/Rain13K synthetic sets, O = B + R, plus a
 * slight veil: thin, bright, oriented streaks with a Gaussian cross-section and a motion-blur
 * taper along their length, in two depth layers (long faint far streaks, shorter bright near ones).
 * Compare a restored image with rain-clean.png to get a PSNR (see the README).
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createImage, writeImage, type RawImage } from '../src/index.js';
import { mulberry32 as prng } from '../src/core/random.js';

export const WIDTH = 320;
export const HEIGHT = 240;
const SEED = 20240601;
/** Drawn at 2x and box-filtered down: cheap anti-aliasing for the scene's edges. */
const SS = 2;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** Integer lattice hash in [0, 1). */
function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x, 374761393) ^ Math.imul(y, 668265263) ^ Math.imul(seed, 2246822519);
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

const smooth = (t: number) => t * t * (3 - 2 * t);

/** Smooth value noise in [0, 1]. */
function valueNoise(x: number, y: number, seed: number): number {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  const fx = smooth(x - xi);
  const fy = smooth(y - yi);
  const a = hash2(xi, yi, seed);
  const b = hash2(xi + 1, yi, seed);
  const c = hash2(xi, yi + 1, seed);
  const d = hash2(xi + 1, yi + 1, seed);
  return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
}

/** Fractal sum of value noise, in [0, 1]. */
function fbm(x: number, y: number, seed: number, octaves = 4): number {
  let sum = 0;
  let amp = 0.5;
  let norm = 0;
  for (let o = 0; o < octaves; o++) {
    sum += amp * valueNoise(x, y, seed + o * 101);
    norm += amp;
    x *= 2.03;
    y *= 2.03;
    amp *= 0.5;
  }
  return sum / norm;
}

// ---------------------------------------------------------------------------------------------
// The clean scene

type Rgb = [number, number, number];
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

interface Tree {
  x: number;
  y: number;
  r: number;
  shade: number;
}

/** Colour of the scene at (u, v), in output-pixel units (fractional: supersampled). */
function sceneAt(u: number, v: number, trees: readonly Tree[]): Rgb {
  // Sky: gradient, soft sun glow, a few clouds.
  const horizon = 0.6 * HEIGHT;
  let c: Rgb = mix([0.42, 0.55, 0.74], [0.82, 0.84, 0.86], clamp01(v / horizon));
  const sun = Math.exp(-((u - 70) ** 2 + (v - 45) ** 2) / (2 * 28 ** 2));
  c = mix(c, [0.97, 0.93, 0.8], 0.55 * sun);
  const cloud = clamp01((fbm(u / 55, v / 22, 11) - 0.5) * 3.2);
  c = mix(c, [0.93, 0.93, 0.95], cloud * clamp01(1.4 - v / horizon));

  // Far hills: bluish, hazy ridge.
  const far = horizon - 18 - 28 * fbm(u / 70, 0.5, 23, 5);
  if (v > far) {
    const t = fbm(u / 12, v / 12, 29);
    c = mix([0.44, 0.52, 0.58], [0.5, 0.58, 0.62], t);
  }
  // Near hills: green with grass texture, darker on the shaded side.
  const near = horizon + 8 + 22 * Math.sin(u / 57 + 0.8) + 9 * fbm(u / 30, 1.5, 31);
  if (v > near) {
    const tex = fbm(u / 6, v / 6, 37, 3);
    const depth = clamp01((v - near) / 70);
    c = mix([0.36, 0.5, 0.24], [0.2, 0.36, 0.13], depth);
    c = mix(c, [0.46, 0.55, 0.28], 0.35 * tex);
  }
  // A dirt path winding to the foreground.
  const pathCentre = 150 + 55 * Math.sin((v - near) / 40) * clamp01((v - horizon) / 60) + (v - horizon) * 0.6;
  const pathHalf = 2 + (v - horizon) * 0.18;
  if (v > near + 2 && Math.abs(u - pathCentre) < pathHalf) {
    const tex = fbm(u / 3, v / 3, 41, 2);
    c = mix([0.6, 0.5, 0.36], [0.5, 0.41, 0.3], tex);
  }

  // A house: walls, roof, window, door.
  const hx0 = 212;
  const hx1 = 262;
  const hy0 = 140;
  const hy1 = 178;
  if (u >= hx0 && u < hx1 && v >= hy0 && v < hy1) {
    const plank = 0.04 * Math.sin(v * 1.9);
    c = [0.78 + plank, 0.66 + plank, 0.5 + plank];
    const lit = u < 237 ? 1 : 0.82;
    c = [c[0] * lit, c[1] * lit, c[2] * lit];
    if (u >= 220 && u < 232 && v >= 148 && v < 160) c = [0.2, 0.26, 0.34];
    if (u >= 242 && u < 252 && v >= 158 && v < hy1) c = [0.36, 0.22, 0.14];
  }
  const roofTop = 118;
  const roofHalf = ((v - roofTop) / (hy0 - roofTop)) * 30;
  if (v >= roofTop && v < hy0 + 1 && Math.abs(u - 237) < roofHalf) {
    const tiles = 0.05 * (Math.floor(v / 3) % 2);
    c = [0.55 - tiles, 0.17, 0.13];
  }

  // Trees: trunk and a textured round crown.
  for (const tr of trees) {
    if (Math.abs(u - tr.x) < tr.r * 0.16 && v > tr.y && v < tr.y + tr.r * 1.6) c = [0.3, 0.2, 0.12];
    const d = Math.hypot(u - tr.x, (v - tr.y) * 1.1);
    const rough = tr.r * (0.85 + 0.3 * fbm(u / 5, v / 5, 53));
    if (d < rough) {
      const light = clamp01(0.5 + (tr.x - u + tr.y - v) / (3 * tr.r));
      const leaf = fbm(u / 2.5, v / 2.5, 59, 3);
      c = mix([0.1, 0.24, 0.08], [0.3, 0.46, 0.16], clamp01(0.6 * light + 0.5 * leaf - 0.1));
      c = [c[0] * tr.shade, c[1] * tr.shade, c[2] * tr.shade];
    }
  }
  return c;
}

export function makeClean(): RawImage {
  const rand = prng(SEED);
  const trees: Tree[] = [];
  for (let i = 0; i < 7; i++) {
    const x = 15 + rand() * 290;
    if (x > 195 && x < 280) continue; // keep the house free
    const y = 150 + rand() * 55;
    trees.push({ x, y, r: 9 + (y - 150) * 0.28 + rand() * 5, shade: 0.85 + rand() * 0.3 });
  }
  trees.sort((a, b) => a.y - b.y); // far first, near ones painted over them

  const img = createImage(WIDTH, HEIGHT, 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const c = sceneAt(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS, trees);
          r += c[0];
          g += c[1];
          b += c[2];
        }
      }
      const i = (y * WIDTH + x) * 3;
      const n = SS * SS;
      // A little sensor-like grain so the picture is not unnaturally smooth.
      const grain = (hash2(x, y, 71) - 0.5) * 0.012;
      img.data[i] = clamp01(r / n + grain);
      img.data[i + 1] = clamp01(g / n + grain);
      img.data[i + 2] = clamp01(b / n + grain);
    }
  }
  return img;
}

// ---------------------------------------------------------------------------------------------
// Rain

/** Adds one streak to the rain layer: Gaussian cross-section, tapered ends (motion blur). */
function drawStreak(layer: Float32Array, x0: number, y0: number, angle: number, length: number, sigma: number, peak: number): void {
  const dx = Math.sin(angle);
  const dy = Math.cos(angle);
  const x1 = x0 + dx * length;
  const y1 = y0 + dy * length;
  const pad = 3 * sigma + 1;
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - pad));
  const maxX = Math.min(WIDTH - 1, Math.ceil(Math.max(x0, x1) + pad));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - pad));
  const maxY = Math.min(HEIGHT - 1, Math.ceil(Math.max(y0, y1) + pad));
  for (let y = minY; y <= maxY; y++) {
    for (let x = minX; x <= maxX; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      const along = px * dx + py * dy; // 0..length on the segment
      const across = px * dy - py * dx;
      if (along < -pad || along > length + pad) continue;
      const t = along / length;
      const taper =
        t < 0
          ? Math.exp(-(along * along) / (2 * sigma * sigma))
          : t > 1
            ? Math.exp(-((along - length) ** 2) / (2 * sigma * sigma))
            : Math.sin(Math.PI * Math.min(1, 0.15 + 0.85 * t)) ** 0.5;
      const v = peak * taper * Math.exp(-(across * across) / (2 * sigma * sigma));
      const i = y * WIDTH + x;
      layer[i] = Math.max(layer[i], v);
    }
  }
}

export function makeRain(clean: RawImage): RawImage {
  const rand = prng(SEED ^ 0x5eed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const layer = new Float32Array(WIDTH * HEIGHT);
  const wind = 0.22; // radians from vertical, leaning right as it falls
  // Far layer: many faint, thin, long-ish streaks.
  for (let k = 0; k < 700; k++) {
    drawStreak(layer, rand() * (WIDTH + 40) - 30, rand() * (HEIGHT + 20) - 20, wind + 0.03 * gauss(), 10 + rand() * 12, 0.45, 0.16 + 0.1 * rand());
  }
  // Near layer: fewer, wider, brighter and longer streaks.
  for (let k = 0; k < 160; k++) {
    drawStreak(
      layer,
      rand() * (WIDTH + 60) - 50,
      rand() * (HEIGHT + 40) - 40,
      wind + 0.03 * gauss(),
      18 + rand() * 22,
      0.7 + 0.3 * rand(),
      0.28 + 0.22 * rand(),
    );
  }
  const veil = 0.05;
  const air: Rgb = [0.86, 0.87, 0.9];
  const out = createImage(WIDTH, HEIGHT, 3);
  for (let i = 0; i < WIDTH * HEIGHT; i++) {
    for (let c = 0; c < 3; c++) {
      const b = clean.data[i * 3 + c] * (1 - veil) + air[c] * veil;
      out.data[i * 3 + c] = clamp01(b + layer[i] * (0.95 + 0.05 * c));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
  const clean = makeClean();
  const rainy = makeRain(clean);
  await writeImage(join(outDir, 'rain-clean.png'), clean, { force: true });
  await writeImage(join(outDir, 'rain.png'), rainy, { force: true });
  console.log(`wrote ${join(outDir, 'rain-clean.png')} and ${join(outDir, 'rain.png')} (${WIDTH}x${HEIGHT})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
