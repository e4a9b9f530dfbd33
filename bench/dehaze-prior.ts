/**
 * Prior-based dehazing benchmark (dark channel prior + guided-filter refinement, src/restore/dehaze).
 *
 *   node --import tsx bench/dehaze-prior.ts [--data <dir>] [--repeat N] [--out <dir>]
 *
 * 1. Speed on 1-megapixel images (issue 3 target: < 1 s on this machine):
 *    - a smooth synthetic hazy scene, 1000x1000, timed `--repeat` times (default 5) after a warm-up;
 *    - each <data>/real-hazy/*.{jpg,png} (when present), decoded by decodeImage (sharp; BMP by our
 *      codec) and resized with sharp (Lanczos 3) to about 1 MP keeping the aspect ratio, timed `--repeat` times; its native size is timed once.
 *    Time = wall time of dehazePrior() alone (decoding and resizing excluded), median of the runs.
 * 2. Quality on <data>/sots-outdoor-pairs (input/NNNN_*.jpg vs target/NNNN.png): PSNR and SSIM in
 *    RGB (src/core/metrics: 8-bit rounding, peak 255, no border crop, SSIM 11x11 Gaussian window,
 *    sigma 1.5, mean over R, G, B), for the hazy input and for the dehazed output. In RESIDE SOTS
 *    outdoor the ground truth and the hazy image can differ in size by a border crop (see
 *    <data>/SOURCE.md); when they do, the larger one is centre-cropped to the smaller and the
 *    table says so.
 *
 * Default data dir: ../shared/data/dehaze (relative to the repository root). Output: a table on
 * stdout, <out>/dehaze-prior-<timestamp>.json, <out>/dehaze-prior-latest.json and
 * <out>/dehaze-prior-latest.png (default out: bench/results).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

import { createImage, cropImage, decodeImage, type RawImage } from '../src/core/image/index.js';
import { psnr, ssim } from '../src/core/metrics/index.js';
import { dehazePrior } from '../src/restore/dehaze/index.js';
import { commandLine, hbarChart, loadavg, machineInfo, median, now, round, svgDoc, table, text, timestamp, writeJsonPair, writeSvgPng } from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(REPO, '../shared/data/dehaze') },
    repeat: { type: 'string', default: '5' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
  },
});
const dataDir = path.resolve(args.data!);
const repeat = Math.max(1, Number.parseInt(args.repeat!, 10) || 5);
const outDir = path.resolve(args.out!);
const METRIC_CONVENTION =
  'PSNR/SSIM in RGB: images clamped and rounded to 8 bits, peak 255, no border crop; SSIM 11x11 Gaussian window (sigma 1.5), valid filtering, mean over R, G, B (src/core/metrics, channel "rgb").';

/** Smooth synthetic hazy scene: gradients and soft shapes, haze denser towards the top. */
function syntheticHazy(w: number, h: number): RawImage {
  const img = createImage(w, h, 3);
  const A = [0.82, 0.86, 0.9];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = 0.15 + 0.75 * (y / (h - 1));
      const u = x / w;
      const v = y / h;
      const J = [0.5 + 0.45 * Math.sin(6.3 * u + 2 * v), 0.4 + 0.35 * Math.cos(4.1 * v - 3 * u), 0.3 + 0.25 * Math.sin(9 * u * v + 1)];
      for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = J[c] * t + A[c] * (1 - t);
    }
  }
  return img;
}

/**
 * Decodes a file with the library's decoder (sharp, or our BMP codec: two of the "real-hazy"
 * files are BMPs named .png/.jpg), then resizes it with sharp (Lanczos 3, from the 8-bit
 * samples, lossless for these 8-bit sources) to about `pixels` pixels, aspect ratio kept.
 */
async function loadResized(file: string, pixels: number): Promise<{ resized: RawImage; native: RawImage }> {
  const native = (await decodeImage(file)).image;
  const s = Math.sqrt(pixels / (native.width * native.height));
  const w = Math.max(1, Math.round(native.width * s));
  const h = Math.max(1, Math.round(native.height * s));
  const bytes = Buffer.alloc(native.data.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, native.data[i])) * 255);
  const { data, info } = await sharp(bytes, { raw: { width: native.width, height: native.height, channels: 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const f = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) f[i] = data[i] / 255;
  return { resized: createImage(info.width, info.height, 3, f), native };
}

function timeRuns(img: RawImage, runs: number): { median: number; min: number; runs: number[] } {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t = now();
    dehazePrior(img);
    times.push(now() - t);
  }
  return { median: median(times), min: Math.min(...times), runs: times.map((v) => round(v, 4)) };
}

interface SpeedRow {
  name: string;
  width: number;
  height: number;
  megapixels: number;
  secondsMedian: number;
  secondsMin: number;
  runs: number[];
  native?: { width: number; height: number; seconds: number };
}

interface QualityRow {
  name: string;
  size: string;
  cropNote?: string;
  psnrInput: number;
  ssimInput: number;
  psnrPrior: number;
  ssimPrior: number;
  atmosphericLight: number[];
  seconds: number;
}

async function listImages(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Centre-crops a and b to their common size; returns a note when a crop was needed. */
function commonSize(a: RawImage, b: RawImage): { a: RawImage; b: RawImage; note?: string } {
  if (a.width === b.width && a.height === b.height) return { a, b };
  const w = Math.min(a.width, b.width);
  const h = Math.min(a.height, b.height);
  const crop = (img: RawImage): RawImage => (img.width === w && img.height === h ? img : cropImage(img, (img.width - w) >> 1, (img.height - h) >> 1, w, h));
  return { a: crop(a), b: crop(b), note: `input ${a.width}x${a.height} vs target ${b.width}x${b.height}: centre-cropped to ${w}x${h}` };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const stamp = timestamp();
  console.log(
    `dehaze-prior bench: data ${dataDir}; ${repeat} timed runs per image; load ${machine.loadavgAtStart.join(' ')} on ${machine.cpuCount} x ${machine.cpuModel}`,
  );

  // ---- speed ----
  const speed: SpeedRow[] = [];
  const synth = syntheticHazy(1000, 1000);
  dehazePrior(synth); // warm-up (JIT)
  const st = timeRuns(synth, repeat);
  speed.push({ name: 'synthetic (smooth)', width: 1000, height: 1000, megapixels: 1, secondsMedian: st.median, secondsMin: st.min, runs: st.runs });

  for (const file of await listImages(path.join(dataDir, 'real-hazy'))) {
    const { resized: img, native: nat } = await loadResized(file, 1_000_000);
    const t = timeRuns(img, repeat);
    const t0 = now();
    dehazePrior(nat);
    const natSeconds = now() - t0;
    speed.push({
      name: path.basename(file),
      width: img.width,
      height: img.height,
      megapixels: round((img.width * img.height) / 1e6, 3),
      secondsMedian: t.median,
      secondsMin: t.min,
      runs: t.runs,
      native: { width: nat.width, height: nat.height, seconds: round(natSeconds, 4) },
    });
  }

  console.log('\nSpeed (dehazePrior wall time; images resized to ~1 MP; native size timed once):');
  console.log(
    table(
      ['image', 'size', 'MP', 's median', 's min', 'native size', 'native s'],
      speed.map((r) => [
        r.name,
        `${r.width}x${r.height}`,
        r.megapixels,
        r.secondsMedian,
        r.secondsMin,
        r.native ? `${r.native.width}x${r.native.height}` : '-',
        r.native ? r.native.seconds : '-',
      ]),
    ),
  );
  const speedSummary = {
    worstSecondsMedian1MP: Math.max(...speed.map((r) => r.secondsMedian)),
    medianSecondsMedian1MP: median(speed.map((r) => r.secondsMedian)),
    targetSeconds: 1,
  };
  console.log(`worst median ${speedSummary.worstSecondsMedian1MP.toFixed(3)} s per ~1 MP image (target < 1 s)`);

  // ---- quality ----
  const quality: QualityRow[] = [];
  const sots = path.join(dataDir, 'sots-outdoor-pairs');
  for (const file of await listImages(path.join(sots, 'input'))) {
    const id = path.basename(file).split(/[_.]/)[0];
    const targetFile = path.join(sots, 'target', `${id}.png`);
    if (!existsSync(targetFile)) {
      console.warn(`no target for ${file} (expected ${targetFile}), skipped`);
      continue;
    }
    const hazyFull = (await decodeImage(file)).image;
    const targetFull = (await decodeImage(targetFile)).image;
    const t0 = now();
    const res = dehazePrior(hazyFull);
    const seconds = now() - t0;
    const { a: hazy, b: target, note } = commonSize(hazyFull, targetFull);
    const out = note ? commonSize(res.image, targetFull).a : res.image;
    quality.push({
      name: path.basename(file),
      size: `${hazyFull.width}x${hazyFull.height}`,
      cropNote: note,
      psnrInput: psnr(hazy, target, { channel: 'rgb' }),
      ssimInput: ssim(hazy, target, { channel: 'rgb' }),
      psnrPrior: psnr(out, target, { channel: 'rgb' }),
      ssimPrior: ssim(out, target, { channel: 'rgb' }),
      atmosphericLight: res.atmosphericLight.map((v) => round(v, 4)),
      seconds: round(seconds, 4),
    });
  }
  const qSummary = quality.length
    ? {
        pairs: quality.length,
        psnrInputMean: round(quality.reduce((s, r) => s + r.psnrInput, 0) / quality.length, 3),
        psnrPriorMean: round(quality.reduce((s, r) => s + r.psnrPrior, 0) / quality.length, 3),
        ssimInputMean: round(quality.reduce((s, r) => s + r.ssimInput, 0) / quality.length, 4),
        ssimPriorMean: round(quality.reduce((s, r) => s + r.ssimPrior, 0) / quality.length, 4),
      }
    : undefined;
  if (quality.length) {
    console.log(`\nQuality on SOTS-outdoor pairs (${METRIC_CONVENTION}):`);
    console.log(
      table(
        ['pair', 'size', 'PSNR in', 'SSIM in', 'PSNR prior', 'SSIM prior', 'A (r,g,b)', 's'],
        quality.map((r) => [
          r.name,
          r.size,
          r.psnrInput,
          r.ssimInput,
          r.psnrPrior,
          r.ssimPrior,
          r.atmosphericLight.map((v) => v.toFixed(3)).join(','),
          r.seconds,
        ]),
      ),
    );
    const notes = quality.filter((r) => r.cropNote);
    console.log(
      notes.length
        ? notes.map((r) => `note: ${r.name}: ${r.cropNote}`).join('\n')
        : 'note: SOTS outdoor GT and hazy input can differ in size by a border crop (SOURCE.md); here all pairs had equal sizes, no crop applied.',
    );
  } else {
    console.log(`\nno SOTS pairs under ${sots}; quality skipped`);
  }

  machine.loadavgAtEnd = loadavg();
  const result = {
    bench: 'dehaze-prior',
    command: commandLine(),
    timestamp: stamp,
    method:
      'dehazePrior defaults: patch radius 7 (>= 350 px short side), quad-tree + median atmospheric light over the top 0.1% dark channel, omega 0.95, guided filter r = 4 x patch, eps 1e-3, t0 0.1',
    timing:
      'wall time of dehazePrior() only (decode/resize excluded); median of --repeat runs after one warm-up run on the synthetic image; single thread (pure TypeScript). Machine shared with other work: see loadavg.',
    metricConvention: METRIC_CONVENTION,
    sotsSizeNote:
      'RESIDE SOTS outdoor GT and hazy inputs may differ by a border crop; mismatched pairs are centre-cropped to the common size (cropNote per pair).',
    machine,
    speed: { summary: speedSummary, images: speed.map((r) => ({ ...r, secondsMedian: round(r.secondsMedian, 4), secondsMin: round(r.secondsMin, 4) })) },
    quality: {
      summary: qSummary,
      pairs: quality.map((r) => ({
        ...r,
        psnrInput: round(r.psnrInput, 3),
        psnrPrior: round(r.psnrPrior, 3),
        ssimInput: round(r.ssimInput, 4),
        ssimPrior: round(r.ssimPrior, 4),
      })),
    },
  };
  const files = await writeJsonPair(outDir, 'dehaze-prior', stamp, result);
  const png = path.join(outDir, 'dehaze-prior-latest.png');
  await writeSvgPng(png, plot(speed, qSummary));
  console.log(`\nwrote ${files.join(', ')}, ${png}`);
}

function plot(
  speed: SpeedRow[],
  q: { pairs: number; psnrInputMean: number; psnrPriorMean: number; ssimInputMean: number; ssimPriorMean: number } | undefined,
): string {
  const W = 900;
  const H = 120 + speed.length * 30 + 90;
  const parts: string[] = [];
  parts.push(
    hbarChart(
      { x: 20, y: 20, w: W - 40, h: speed.length * 30 + 90 },
      speed.map((r) => ({ label: `${r.name} (${r.width}x${r.height})`, value: round(r.secondsMedian, 3), color: r.secondsMedian < 1 ? '#1f77b4' : '#d62728' })),
      { title: 'dehazePrior: seconds per ~1 MP image (median), target < 1 s', unit: 'seconds', labelWidth: 300 },
    ),
  );
  if (q) {
    parts.push(
      text(
        20,
        H - 20,
        `SOTS outdoor (${q.pairs} pairs, RGB): PSNR ${q.psnrInputMean.toFixed(2)} -> ${q.psnrPriorMean.toFixed(2)} dB, SSIM ${q.ssimInputMean.toFixed(3)} -> ${q.ssimPriorMean.toFixed(3)}`,
        { size: 13 },
      ),
    );
  }
  return svgDoc(W, H, parts.join('\n'));
}

await main();
