/**
 * Smoke run of the tfjs (wasm) reference on the real upscalerjs weights.
 *
 *   node --import tsx bench/tfjs-smoke.ts [--maxim-sizes 64,256] [--out /tmp/clearsight-tfjs-smoke]
 *
 * - MAXIM deraining on the package's fixture (resized to cover, centre-cropped to N x N).
 * - ESRGAN slim x2, medium x4, thick x4 on 64 x 64: output shape, range, and a check of the
 *   input-range convention: the fixture is downscaled by the model's factor, upscaled back by
 *   the model fed in [0,255] and in [0,1], and compared (PSNR, RGB, no border crop) with the
 *   original and with a bicubic upscale.
 * Prints timings and output stats; writes input/output PNGs to the output folder.
 * Not a benchmark (no JSON/plot); 256 x 256 MAXIM takes about a minute on 2 cores, so only
 * sizes <= 64 get a second, warm run.
 */
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

import { initTfjsWasm, loadTfjsReference } from '../src/core/models/tfjsReference.js';

const require = createRequire(import.meta.url);

function packageFile(pkg: string, rel: string): string {
  const entry = require.resolve(pkg);
  const marker = `${path.sep}node_modules${path.sep}${pkg.split('/').join(path.sep)}${path.sep}`;
  return path.join(entry.slice(0, entry.indexOf(marker)), 'node_modules', pkg, rel);
}

const { values: args } = parseArgs({
  options: {
    'maxim-sizes': { type: 'string', default: '64,256' },
    out: { type: 'string', default: '/tmp/clearsight-tfjs-smoke' },
  },
});
const outDir = args.out!;
const maximSizes = args['maxim-sizes']!.split(',').filter(Boolean).map(Number);

/** A w x h crop of a PNG at (left, top), as Float32 HWC RGB in [0,1] (alpha dropped). */
async function loadCrop(file: string, left: number, top: number, w: number, h: number): Promise<Float32Array> {
  const raw = await sharp(file).removeAlpha().extract({ left, top, width: w, height: h }).raw().toBuffer();
  return Float32Array.from(raw, (v) => v / 255);
}

async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const m = await sharp(file).metadata();
  return { width: m.width!, height: m.height! };
}

async function resizeFloat(data: Float32Array, w: number, h: number, toW: number, toH: number, kernel: 'cubic' | 'lanczos3'): Promise<Float32Array> {
  const u8 = Uint8Array.from(data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  const raw = await sharp(u8, { raw: { width: w, height: h, channels: 3 } })
    .resize(toW, toH, { kernel, fit: 'fill' })
    .raw()
    .toBuffer();
  return Float32Array.from(raw, (v) => v / 255);
}

async function writePng(file: string, data: Float32Array, w: number, h: number, scale = 1): Promise<void> {
  const u8 = Uint8Array.from(data, (v) => Math.round(Math.min(1, Math.max(0, v / scale)) * 255));
  await sharp(u8, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
}

function stats(data: Float32Array): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: sum / data.length };
}

/** PSNR in dB on [0,1] data (values clamped to [0,1] first), all channels, no border crop. */
function psnr(a: Float32Array, b: Float32Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.min(1, Math.max(0, a[i]!)) - Math.min(1, Math.max(0, b[i]!));
    se += d * d;
  }
  return 10 * Math.log10(1 / (se / a.length));
}

const fmt = (x: number, d = 4): string => x.toFixed(d);
const scaleData = (d: Float32Array, k: number): Float32Array => (k === 1 ? d : d.map((v) => v * k));

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
}

async function main(): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const [, initS] = await timed(() => initTfjsWasm());
  console.log(`tfjs wasm init: ${fmt(initS, 2)} s`);

  // ---------------- MAXIM deraining ----------------
  // Centre crops of the package fixture; compared with the same crop of the package's own
  // result.png (made by upscalerjs on the whole 480x320 image, so not bit-identical: MAXIM
  // mixes globally, and the crop changes what it sees).
  if (maximSizes.length > 0) {
    const fixture = packageFile('@upscalerjs/maxim-deraining', 'assets/fixture.png');
    const result = packageFile('@upscalerjs/maxim-deraining', 'assets/result.png');
    const { width, height } = await imageSize(fixture);
    const [maxim, loadS] = await timed(() => loadTfjsReference(packageFile('@upscalerjs/maxim-deraining', 'models/model.json'), 'graph'));
    console.log(`\nmaxim-deraining: load ${fmt(loadS, 2)} s`);
    try {
      for (const size of maximSizes) {
        const left = Math.floor((width - size) / 2);
        const top = Math.floor((height - size) / 2);
        const input = await loadCrop(fixture, left, top, size, size);
        const ref = await loadCrop(result, left, top, size, size);
        const [out, s] = await timed(() => maxim.predict(input, [1, size, size, 3]));
        // A second run shows the warm time (kernel setup, weight packing done); only for small sizes.
        const warm = size <= 64 ? ` (warm: ${fmt((await timed(() => maxim.predict(input, [1, size, size, 3])))[1], 2)} s)` : '';
        const st = stats(out.data);
        console.log(
          `  ${size}x${size}: ${fmt(s, 2)} s${warm}  out shape [${out.shape.join(',')}]  ` +
            `min ${fmt(st.min)} max ${fmt(st.max)} mean ${fmt(st.mean)} (input mean ${fmt(stats(input).mean)})\n` +
            `    PSNR vs upscalerjs result.png crop: ours ${fmt(psnr(out.data, ref), 2)} dB, rainy input ${fmt(psnr(input, ref), 2)} dB`,
        );
        await writePng(path.join(outDir, `maxim-deraining-${size}-in.png`), input, size, size);
        await writePng(path.join(outDir, `maxim-deraining-${size}-out.png`), out.data, size, size);
        await writePng(path.join(outDir, `maxim-deraining-${size}-upscalerjs.png`), ref, size, size);
      }
    } finally {
      maxim.dispose();
    }
  }

  // ---------------- ESRGAN ----------------
  // Timing on a 64x64 crop of the package fixture (128x128); the range convention is checked
  // on the whole fixture against the package's samples/<s>x/result.png, feeding [0,255] and [0,1].
  const esrgans: Array<{ pkg: string; scale: number; thick: boolean; range: 1 | 255 }> = [
    { pkg: 'esrgan-slim', scale: 2, thick: false, range: 255 }, // 'rdn'
    { pkg: 'esrgan-medium', scale: 4, thick: false, range: 255 }, // 'rdn'
    { pkg: 'esrgan-thick', scale: 4, thick: true, range: 1 }, // 'rrdn'
  ];
  const size = 64;
  for (const { pkg, scale, thick, range } of esrgans) {
    const fixture = packageFile(`@upscalerjs/${pkg}`, 'assets/fixture.png');
    const sample = packageFile(`@upscalerjs/${pkg}`, `assets/samples/${scale}x/result.png`);
    const file = packageFile(`@upscalerjs/${pkg}`, `models/x${scale}/model.json`);
    const [ref, loadS] = await timed(() => loadTfjsReference(file, 'layers', thick ? { customLayers: 'esrgan-thick' } : {}));
    try {
      const big = size * scale;
      const lr = await loadCrop(fixture, 32, 32, size, size);
      const [, coldS] = await timed(() => ref.predict(scaleData(lr, range), [1, size, size, 3]));
      const [out, s] = await timed(() => ref.predict(scaleData(lr, range), [1, size, size, 3]));
      const ok = out.shape.join() === [1, big, big, 3].join();
      const st = stats(out.data);
      console.log(
        `\n${pkg} x${scale}: load ${fmt(loadS, 2)} s; ${size}x${size} -> ${fmt(coldS, 2)} s cold, ${fmt(s, 2)} s warm; ` +
          `out shape [${out.shape.join(',')}] ${ok ? 'OK' : 'WRONG'}\n` +
          `  raw output for input in [0,${range}]: min ${fmt(st.min, 3)} max ${fmt(st.max, 3)} mean ${fmt(st.mean, 3)} (input mean ${fmt(stats(lr).mean * range, 3)})`,
      );
      await writePng(path.join(outDir, `${pkg}-x${scale}-${size}-in.png`), lr, size, size);
      await writePng(path.join(outDir, `${pkg}-x${scale}-${size}-out.png`), scaleData(out.data, 1 / range), big, big);

      const { width, height } = await imageSize(fixture);
      const full = await loadCrop(fixture, 0, 0, width, height);
      const expected = await loadCrop(sample, 0, 0, width * scale, height * scale);
      const bicubic = await resizeFloat(full, width, height, width * scale, height * scale, 'cubic');
      const parts: string[] = [];
      for (const r of [255, 1] as const) {
        const [y, ts] = await timed(() => ref.predict(scaleData(full, r), [1, height, width, 3]));
        const unit = scaleData(y.data, 1 / r);
        parts.push(`input [0,${r}] ${fmt(psnr(unit, expected), 2)} dB (${fmt(ts, 2)} s)`);
        await writePng(path.join(outDir, `${pkg}-x${scale}-fixture-range${r}.png`), unit, width * scale, height * scale);
      }
      console.log(`  ${width}x${height} fixture, PSNR vs upscalerjs sample: ${parts.join(', ')}, bicubic ${fmt(psnr(bicubic, expected), 2)} dB`);
    } finally {
      ref.dispose();
    }
  }
  console.log(`\nPNGs in ${outDir}`);
}

await main();
