/**
 * Deraining benchmark: MAXIM (Rain13K weights, @upscalerjs/maxim-deraining) through our
 * tfjs -> ONNX path on onnxruntime-node, against the clean ground truth, and optionally against
 * the same weights run by tfjs-wasm (the numerical reference) and with x8 TTA.
 *
 *   npm run bench:derain -- [--data <dir with rainy/ and clean/>] [--limit N]
 *                           [--tta-count N] [--reference-count N] [--out <dir>] [--threads N]
 *
 * Data: pairs rainy/N.png <-> clean/N.png, in numeric order of N. Default data dir:
 * ../shared/data/derain/rain100H-dev (relative to the repository root) when present.
 *
 * Metrics (the deraining papers' convention): PSNR and SSIM on the Y channel of MATLAB-style
 * YCbCr (Y = 16 + 65.481 R + 128.553 G + 24.966 B, R,G,B in [0,1]), no border crop, outputs
 * clamped and rounded to 8 bits first (as the saved PNG), SSIM with an 11x11 Gaussian window
 * (sigma 1.5). See src/core/metrics.
 *
 * Timing: one ImageModel is loaded for the whole run and passed to derain(), so onnxruntime
 * sessions are reused across images. MAXIM needs sides that are multiples of 64: the library
 * pads by reflection (480x320 -> 512x320 tile, 320x480 -> 320x512), so the set has two static
 * shapes. The time spent preparing a session for a shape (ONNX conversion or cache read +
 * session creation; detected through the 'prepare model' progress events) is subtracted from
 * that image's time and reported separately as warm-up.
 *
 * Reference (--reference-count N, default 2): the same weights in tfjs-wasm (single-threaded
 * SIMD build), fed exactly the tiles our path sees (planTiles with the model card's tiling
 * parameters + runTiled, reflection padding to multiples of 64), on the first N pairs.
 *
 * Output: a table on stdout, <out>/derain-<timestamp>.json, <out>/derain-latest.json and a
 * plot <out>/derain-latest.png (default out: bench/results).
 */
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { decodeImage, derain, getModelCard, ImageModel, psnr, ssim, type RawImage } from '../src/index.js';
import { planTiles, runTiled, type TilePlan } from '../src/core/index.js';
import { defaultCacheDir } from '../src/core/models/cache.js';
import { readRegion } from '../src/core/tiling/index.js';
import { modelJsonPath } from '../src/core/models/registry.js';
import { loadTfjsReference, type TfjsReference } from '../src/core/models/tfjsReference.js';
import {
  commandLine,
  cpuDelta,
  cpuSnapshot,
  type CpuDelta,
  hbarChart,
  legend,
  line,
  loadavg,
  machineInfo,
  mean,
  median,
  niceStep,
  intArg,
  now,
  peakRssMiB,
  rect,
  round,
  svgDoc,
  table,
  text,
  timestamp,
  trimNum,
  uncontendedMean,
  writeJsonPair,
  writeSvgPng,
} from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_DATA = path.resolve(REPO, '../shared/data/derain/rain100H-dev');
const MODEL = 'maxim-deraining';
const Y_CONVENTION =
  'PSNR/SSIM on the Y channel of MATLAB-style YCbCr (Y = 16 + 65.481 R + 128.553 G + 24.966 B, R,G,B in [0,1]; Y not rounded), ' +
  'images clamped and rounded to 8 bits first, no border crop, peak 255; SSIM: 11x11 Gaussian window, sigma 1.5, valid filtering (BasicSR calculate_psnr/ssim with test_y_channel=True, crop_border=0).';

// ---------------------------------------------------------------------------------------------
// Arguments

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    limit: { type: 'string' },
    'tta-count': { type: 'string', default: '0' },
    'reference-count': { type: 'string', default: '2' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

if (args.help) {
  console.log('npm run bench:derain -- [--data DIR] [--limit N] [--tta-count N] [--reference-count N] [--out DIR] [--threads N]');
  process.exit(0);
}

const limit = intArg('limit', args.limit, 1);
const ttaCount = intArg('tta-count', args['tta-count'], 0)!;
const refCount = intArg('reference-count', args['reference-count'], 0)!;
const threads = intArg('threads', args.threads, 1);
const outDir = path.resolve(args.out!);
const dataDir = path.resolve(args.data ?? DEFAULT_DATA);

// ---------------------------------------------------------------------------------------------
// Data

interface Pair {
  name: string;
  rainy: string;
  clean: string;
}

async function listPairs(dir: string): Promise<Pair[]> {
  const rainyDir = path.join(dir, 'rainy');
  const cleanDir = path.join(dir, 'clean');
  if (!existsSync(rainyDir) || !existsSync(cleanDir)) {
    console.error(`--data ${dir}: expected sub-folders rainy/ and clean/ (default data dir ${DEFAULT_DATA}${existsSync(DEFAULT_DATA) ? '' : ' is absent'})`);
    process.exit(2);
  }
  const names = (await readdir(rainyDir)).filter((f) => /^\d+\.png$/i.test(f)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  const pairs: Pair[] = [];
  for (const f of names) {
    const clean = path.join(cleanDir, f);
    if (!existsSync(clean)) {
      console.error(`no ground truth for ${path.join(rainyDir, f)} (expected ${clean})`);
      process.exit(2);
    }
    pairs.push({ name: f.replace(/\.png$/i, ''), rainy: path.join(rainyDir, f), clean });
  }
  if (pairs.length === 0) {
    console.error(`no N.png files in ${rainyDir}`);
    process.exit(2);
  }
  return limit ? pairs.slice(0, limit) : pairs;
}

const load = async (file: string): Promise<RawImage> => (await decodeImage(file)).image;

const metricsY = (a: RawImage, gt: RawImage): { psnrY: number; ssimY: number } => ({
  psnrY: psnr(a, gt, { channel: 'y' }),
  ssimY: ssim(a, gt, { channel: 'y' }),
});

/** Max |a - b| over all samples, after clamping both to [0,1] (and before, as `raw`). */
function maxAbsDiff(a: RawImage, b: RawImage): { clamped: number; raw: number; levels8bit: number; meanAbs: number } {
  let clamped = 0;
  let raw = 0;
  let levels = 0;
  let sum = 0;
  const c01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!;
    const y = b.data[i]!;
    raw = Math.max(raw, Math.abs(x - y));
    const d = Math.abs(c01(x) - c01(y));
    clamped = Math.max(clamped, d);
    sum += d;
    levels = Math.max(levels, Math.abs(Math.round(c01(x) * 255) - Math.round(c01(y) * 255)));
  }
  return { clamped, raw, levels8bit: levels, meanAbs: sum / a.data.length };
}

const planOf = (p: TilePlan): { tile: string; padRight: number; padBottom: number; tiles: number } => ({
  tile: `${p.tileWidth}x${p.tileHeight}`,
  padRight: p.padRight,
  padBottom: p.padBottom,
  tiles: p.tiles.length,
});

/** Runs `fn` and returns [result, seconds excluding session preparation, preparation seconds, CPU accounting]. */
async function timedExcludingPrepare<T>(fn: (onProgress: (e: { stage: string; done: number }) => void) => Promise<T>): Promise<[T, number, number, CpuDelta]> {
  let prepStart = 0;
  let prep = 0;
  const onProgress = (e: { stage: string; done: number }): void => {
    if (e.stage !== 'prepare model') return;
    if (e.done === 0) prepStart = now();
    else prep += now() - prepStart;
  };
  const c0 = cpuSnapshot();
  const t0 = now();
  const r = await fn(onProgress);
  const t1 = now();
  return [r, t1 - t0 - prep, prep, cpuDelta(c0, cpuSnapshot())];
}

// ---------------------------------------------------------------------------------------------
// Main

interface ImageRow {
  name: string;
  width: number;
  height: number;
  plan: ReturnType<typeof planOf>;
  input: { psnrY: number; ssimY: number };
  ours: {
    psnrY: number;
    ssimY: number;
    seconds: number;
    cpuSeconds: number;
    othersMeanCores: number;
    sessionPrepareSeconds: number;
    firstOfShape: boolean;
    loadavg1: number;
  };
  tta?: { psnrY: number; ssimY: number; seconds: number; cpuSeconds: number; othersMeanCores: number; gainPsnrY: number; gainSsimY: number };
  tfjs?: {
    psnrY: number;
    ssimY: number;
    seconds: number;
    cpuSeconds: number;
    othersMeanCores: number;
    speedRatioCpu: number;
    speedRatio: number;
    absPsnrYDiff: number;
    maxAbsDiff: number;
    maxAbsDiffRaw: number;
    maxAbsDiff8bitLevels: number;
    meanAbsDiff: number;
    psnrRgbOursVsTfjs: number;
  };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const stamp = timestamp();
  const pairs = await listPairs(dataDir);
  const card = getModelCard(MODEL);
  const cacheDir = path.join(defaultCacheDir(), 'models');
  const cacheBefore = new Set(existsSync(cacheDir) ? await readdir(cacheDir) : []);
  const nRef = Math.min(refCount, pairs.length);
  const nTta = Math.min(ttaCount, pairs.length);

  console.log(`derain bench: ${pairs.length} pairs from ${dataDir}; model ${card.id}; threads ${threads ?? `default (${machine.availableParallelism})`}`);
  console.log(
    `TTA x8 on first ${nTta}, tfjs-wasm reference on first ${nRef}; load ${machine.loadavgAtStart.join(' ')} on ${machine.cpuCount} x ${machine.cpuModel}`,
  );

  const model = await ImageModel.load(MODEL, { threads });
  const rows: ImageRow[] = [];
  const warmup: Array<{ shape: string; image: string; seconds: number; prepareSeconds: number; firstRunSeconds?: number; convertedThisRun?: boolean }> = [];
  const kept = new Map<string, RawImage>(); // our outputs for the reference comparison
  const t0 = now();
  try {
    // ---- warm-up: one inference per distinct tile shape (session preparation + first run) ----
    // onnxruntime's first run on a fresh session also allocates its buffers; doing it here keeps
    // every timed image in steady state. Reported separately, never mixed into per-image times.
    const seenShapes = new Set<string>();
    for (const pair of pairs) {
      const meta = await decodeImage(pair.rainy);
      const { width, height } = meta.image;
      const plan = planTiles(width, height, { maxTile: card.io.maxTile, overlap: card.io.overlap, divisibility: card.io.divisibility });
      const shape = `${plan.tileWidth}x${plan.tileHeight}`;
      if (seenShapes.has(shape)) continue;
      seenShapes.add(shape);
      const tile = readRegion(meta.image, plan.tiles[0]!.x, plan.tiles[0]!.y, plan.tileWidth, plan.tileHeight);
      const [, firstRun, prep] = await timedExcludingPrepare((onProgress) => model.predict(tile, { onProgress }));
      warmup.push({ shape, image: pair.name, seconds: round(prep + firstRun, 3), prepareSeconds: round(prep, 3), firstRunSeconds: round(firstRun, 3) });
      console.log(`  warm-up ${shape} (on image ${pair.name}): session preparation ${prep.toFixed(1)} s + first run ${firstRun.toFixed(1)} s`);
    }

    // ---- ours, every pair ----
    for (const pair of pairs) {
      const [rainy, clean] = await Promise.all([load(pair.rainy), load(pair.clean)]);
      const plan = planTiles(rainy.width, rainy.height, { maxTile: card.io.maxTile, overlap: card.io.overlap, divisibility: card.io.divisibility });
      const [out, seconds, prep, cpu] = await timedExcludingPrepare((onProgress) => derain(rainy, { model, onProgress }));
      if (out.width !== rainy.width || out.height !== rainy.height) {
        throw new Error(`derain returned ${out.width}x${out.height} for a ${rainy.width}x${rainy.height} input (${pair.rainy})`);
      }
      const shape = `${plan.tileWidth}x${plan.tileHeight}`;
      const first = prep > 0;
      if (first) warmup.push({ shape, image: pair.name, seconds: round(prep, 3), prepareSeconds: round(prep, 3) });
      const row: ImageRow = {
        name: pair.name,
        width: rainy.width,
        height: rainy.height,
        plan: planOf(plan),
        input: metricsY(rainy, clean),
        ours: {
          ...metricsY(out, clean),
          seconds,
          cpuSeconds: cpu.ownCpuSeconds,
          othersMeanCores: cpu.othersMeanCores,
          sessionPrepareSeconds: prep,
          firstOfShape: first,
          loadavg1: loadavg()[0]!,
        },
      };
      rows.push(row);
      if (rows.length <= nRef) kept.set(pair.name, out);
      console.log(
        `  ${pair.name.padStart(3)}  ${rainy.width}x${rainy.height}  input ${row.input.psnrY.toFixed(2)} dB  ours ${row.ours.psnrY.toFixed(2)} dB / ${row.ours.ssimY.toFixed(4)}  ` +
          `${seconds.toFixed(2)} s (cpu ${cpu.ownCpuSeconds.toFixed(1)} s, others ${cpu.othersMeanCores.toFixed(2)} cores)${first ? ` (+${prep.toFixed(1)} s warm-up for ${shape})` : ''}`,
      );
    }

    // ---- x8 TTA ----
    for (const row of rows.slice(0, nTta)) {
      const pair = pairs.find((p) => p.name === row.name)!;
      const [rainy, clean] = await Promise.all([load(pair.rainy), load(pair.clean)]);
      const [out, seconds, prep, cpu] = await timedExcludingPrepare((onProgress) => derain(rainy, { model, tta: true, onProgress }));
      if (prep > 0) warmup.push({ shape: 'tta (transposed shape)', image: pair.name, seconds: round(prep, 3), prepareSeconds: round(prep, 3) });
      const m = metricsY(out, clean);
      row.tta = {
        ...m,
        seconds,
        cpuSeconds: cpu.ownCpuSeconds,
        othersMeanCores: cpu.othersMeanCores,
        gainPsnrY: m.psnrY - row.ours.psnrY,
        gainSsimY: m.ssimY - row.ours.ssimY,
      };
      console.log(
        `  TTA ${row.name.padStart(3)}  ${m.psnrY.toFixed(2)} dB (${row.tta.gainPsnrY >= 0 ? '+' : ''}${row.tta.gainPsnrY.toFixed(3)})  ${seconds.toFixed(1)} s`,
      );
    }
  } finally {
    await model.dispose();
  }
  const oursEnd = now();

  // ---- tfjs-wasm reference on the same tiles ----
  let tfjsLoadSeconds: number | undefined;
  const tfjsModelJson = modelJsonPath(card);
  if (nRef > 0) {
    const tl = now();
    const ref: TfjsReference = await loadTfjsReference(tfjsModelJson, 'graph');
    tfjsLoadSeconds = now() - tl;
    console.log(`  tfjs-wasm: model loaded in ${tfjsLoadSeconds.toFixed(1)} s (${path.relative(REPO, tfjsModelJson)})`);
    try {
      for (const row of rows.slice(0, nRef)) {
        const pair = pairs.find((p) => p.name === row.name)!;
        const [rainy, clean] = await Promise.all([load(pair.rainy), load(pair.clean)]);
        const plan = planTiles(rainy.width, rainy.height, { maxTile: card.io.maxTile, overlap: card.io.overlap, divisibility: card.io.divisibility });
        const c0 = cpuSnapshot();
        const ts = now();
        const out = await runTiled(
          rainy,
          plan,
          async (tile) => {
            const r = await ref.predict(tile.data, [1, tile.height, tile.width, 3]);
            return { width: r.shape[2]!, height: r.shape[1]!, channels: 3, data: r.data };
          },
          { scale: card.io.scale },
        );
        const seconds = now() - ts;
        const cpu = cpuDelta(c0, cpuSnapshot());
        const m = metricsY(out, clean);
        const ours = kept.get(row.name)!;
        const d = maxAbsDiff(ours, out);
        row.tfjs = {
          ...m,
          seconds,
          cpuSeconds: cpu.ownCpuSeconds,
          othersMeanCores: cpu.othersMeanCores,
          speedRatio: seconds / row.ours.seconds,
          speedRatioCpu: cpu.ownCpuSeconds / row.ours.cpuSeconds,
          absPsnrYDiff: Math.abs(row.ours.psnrY - m.psnrY),
          maxAbsDiff: d.clamped,
          maxAbsDiffRaw: d.raw,
          maxAbsDiff8bitLevels: d.levels8bit,
          meanAbsDiff: d.meanAbs,
          psnrRgbOursVsTfjs: psnr(ours, out, { channel: 'rgb' }),
        };
        console.log(
          `  tfjs ${row.name.padStart(3)}  ${m.psnrY.toFixed(2)} dB / ${m.ssimY.toFixed(4)}  ${seconds.toFixed(1)} s (x${row.tfjs.speedRatio.toFixed(1)} ours)  ` +
            `|dPSNR| ${row.tfjs.absPsnrYDiff.toFixed(4)}  max|d| ${d.clamped.toExponential(2)}`,
        );
      }
    } finally {
      ref.dispose();
    }
  }
  const tEnd = now();
  machine.loadavgAtEnd = loadavg();
  const cacheAfter = existsSync(cacheDir) ? await readdir(cacheDir) : [];
  const converted = cacheAfter.filter((f) => !cacheBefore.has(f) && f.endsWith('.onnx'));
  for (const w of warmup)
    if (/^\d+x\d+$/.test(w.shape)) w.convertedThisRun = converted.some((f) => f.includes(`-1x${w.shape.split('x').reverse().join('x')}x3-`));

  // ---- summary ----
  const refRows = rows.filter((r) => r.tfjs);
  const ttaRows = rows.filter((r) => r.tta);
  const oursSecs = rows.map((r) => r.ours.seconds);
  const summary = {
    pairs: rows.length,
    input: { psnrY: mean(rows.map((r) => r.input.psnrY)), ssimY: mean(rows.map((r) => r.input.ssimY)) },
    ours: {
      psnrY: mean(rows.map((r) => r.ours.psnrY)),
      ssimY: mean(rows.map((r) => r.ours.ssimY)),
      secondsPerImageMean: mean(oursSecs),
      secondsPerImageMedian: median(oursSecs),
      secondsPerImageMin: Math.min(...oursSecs),
      secondsPerImageMax: Math.max(...oursSecs),
      cpuSecondsPerImageMean: mean(rows.map((r) => r.ours.cpuSeconds)),
      othersMeanCores: mean(rows.map((r) => r.ours.othersMeanCores)),
      uncontended: uncontendedMean(rows.map((r) => r.ours)),
      megapixelsPerSecond: mean(rows.map((r) => (r.width * r.height) / 1e6 / r.ours.seconds)),
      warmupSeconds: warmup,
      warmupSecondsTotal: warmup.reduce((a, w) => a + w.seconds, 0),
    },
    tta: ttaRows.length
      ? {
          pairs: ttaRows.length,
          psnrY: mean(ttaRows.map((r) => r.tta!.psnrY)),
          ssimY: mean(ttaRows.map((r) => r.tta!.ssimY)),
          oursPsnrYSamePairs: mean(ttaRows.map((r) => r.ours.psnrY)),
          meanGainPsnrY: mean(ttaRows.map((r) => r.tta!.gainPsnrY)),
          meanGainSsimY: mean(ttaRows.map((r) => r.tta!.gainSsimY)),
          secondsPerImageMean: mean(ttaRows.map((r) => r.tta!.seconds)),
          slowdownVsPlain: mean(ttaRows.map((r) => r.tta!.seconds)) / mean(ttaRows.map((r) => r.ours.seconds)),
          cpuSecondsPerImageMean: mean(ttaRows.map((r) => r.tta!.cpuSeconds)),
        }
      : undefined,
    reference: refRows.length
      ? {
          engine: 'tfjs-wasm (single-threaded SIMD build, @tensorflow/tfjs-backend-wasm), same tiles as ours',
          modelJson: path.relative(REPO, tfjsModelJson),
          pairs: refRows.length,
          loadSeconds: tfjsLoadSeconds,
          tfjs: { psnrY: mean(refRows.map((r) => r.tfjs!.psnrY)), ssimY: mean(refRows.map((r) => r.tfjs!.ssimY)) },
          oursSamePairs: { psnrY: mean(refRows.map((r) => r.ours.psnrY)), ssimY: mean(refRows.map((r) => r.ours.ssimY)) },
          meanAbsPsnrYDiff: mean(refRows.map((r) => r.tfjs!.absPsnrYDiff)),
          maxAbsPixelDiff: Math.max(...refRows.map((r) => r.tfjs!.maxAbsDiff)),
          maxAbsPixelDiffRaw: Math.max(...refRows.map((r) => r.tfjs!.maxAbsDiffRaw)),
          maxAbsPixelDiff8bitLevels: Math.max(...refRows.map((r) => r.tfjs!.maxAbsDiff8bitLevels)),
          tfjsSecondsPerImageMean: mean(refRows.map((r) => r.tfjs!.seconds)),
          oursSecondsPerImageSamePairs: mean(refRows.map((r) => r.ours.seconds)),
          speedRatioPerImage: refRows.map((r) => ({ name: r.name, ratio: r.tfjs!.speedRatio })),
          speedRatioOverall: refRows.reduce((a, r) => a + r.tfjs!.seconds, 0) / refRows.reduce((a, r) => a + r.ours.seconds, 0),
          tfjsCpuSecondsPerImageMean: mean(refRows.map((r) => r.tfjs!.cpuSeconds)),
          oursCpuSecondsPerImageSamePairs: mean(refRows.map((r) => r.ours.cpuSeconds)),
          speedRatioCpuOverall: refRows.reduce((a, r) => a + r.tfjs!.cpuSeconds, 0) / refRows.reduce((a, r) => a + r.ours.cpuSeconds, 0),
          othersMeanCoresDuringTfjs: mean(refRows.map((r) => r.tfjs!.othersMeanCores)),
          othersMeanCoresDuringOurs: mean(refRows.map((r) => r.ours.othersMeanCores)),
          tfjsUncontended: uncontendedMean(refRows.map((r) => r.tfjs!)),
        }
      : undefined,
    wallSeconds: { ours: oursEnd - t0, tfjs: tEnd - oursEnd, total: tEnd - t0 },
    peakRssMiB: peakRssMiB(),
  };

  // ---- table ----
  const headers = [
    'image',
    'size',
    'in PSNR-Y',
    'ours PSNR-Y',
    'ours SSIM-Y',
    'ours s',
    ...(nTta ? ['TTA PSNR-Y', 'TTA gain'] : []),
    ...(nRef ? ['tfjs PSNR-Y', 'tfjs SSIM-Y', 'tfjs s', 'tfjs/ours', 'max|d|'] : []),
  ];
  const body: Array<Array<string | number>> = rows.map((r) => [
    r.name,
    `${r.width}x${r.height}`,
    r.input.psnrY,
    r.ours.psnrY,
    r.ours.ssimY,
    r.ours.seconds,
    ...(nTta ? (r.tta ? [r.tta.psnrY, r.tta.gainPsnrY] : ['', '']) : []),
    ...(nRef ? (r.tfjs ? [r.tfjs.psnrY, r.tfjs.ssimY, r.tfjs.seconds, r.tfjs.speedRatio, r.tfjs.maxAbsDiff.toExponential(2)] : ['', '', '', '', '']) : []),
  ]);
  body.push([
    `mean (${rows.length})`,
    '',
    summary.input.psnrY,
    summary.ours.psnrY,
    summary.ours.ssimY,
    summary.ours.secondsPerImageMean,
    ...(nTta ? [summary.tta!.psnrY, summary.tta!.meanGainPsnrY] : []),
    ...(nRef
      ? [
          summary.reference!.tfjs.psnrY,
          summary.reference!.tfjs.ssimY,
          summary.reference!.tfjsSecondsPerImageMean,
          summary.reference!.speedRatioOverall,
          summary.reference!.maxAbsPixelDiff.toExponential(2),
        ]
      : []),
  ]);
  console.log(`\n${table(headers, body)}`);
  console.log(`\n${Y_CONVENTION}`);
  console.log(
    `warm-up (session preparation + first run per tile shape; excluded from per-image times): ${warmup.map((w) => `${w.shape} ${w.seconds.toFixed(1)} s`).join(', ') || 'none'}`,
  );
  if (summary.tta)
    console.log(
      `TTA x8 on ${summary.tta.pairs}: mean gain ${summary.tta.meanGainPsnrY.toFixed(3)} dB PSNR-Y, ${summary.tta.meanGainSsimY.toFixed(4)} SSIM-Y, ${summary.tta.slowdownVsPlain.toFixed(1)}x the time`,
    );
  if (summary.reference) {
    const r = summary.reference;
    console.log(
      `tfjs-wasm on ${r.pairs}: PSNR-Y ${r.tfjs.psnrY.toFixed(3)} vs ours ${r.oursSamePairs.psnrY.toFixed(3)} dB; SSIM-Y ${r.tfjs.ssimY.toFixed(4)} vs ${r.oursSamePairs.ssimY.toFixed(4)}; ` +
        `mean |dPSNR-Y| ${r.meanAbsPsnrYDiff.toFixed(4)} dB; max |pixel diff| ${r.maxAbsPixelDiff.toExponential(3)} ([0,1], ${r.maxAbsPixelDiff8bitLevels} 8-bit levels); ` +
        `speed tfjs/ours ${r.speedRatioOverall.toFixed(1)}x wall, ${r.speedRatioCpuOverall.toFixed(1)}x CPU time (tfjs-wasm is single-threaded)`,
    );
  }
  console.log(
    `ours: ${summary.ours.secondsPerImageMean.toFixed(2)} s wall, ${summary.ours.cpuSecondsPerImageMean.toFixed(2)} s CPU per image; other processes kept ${summary.ours.othersMeanCores.toFixed(2)} of ${machine.cpuCount} cores busy on average`,
  );
  console.log(
    `ours on the ${summary.ours.uncontended.count} images timed while others used < ${summary.ours.uncontended.maxOthersCores} cores: ${summary.ours.uncontended.secondsMean.toFixed(2)} s mean, ${summary.ours.uncontended.secondsMedian.toFixed(2)} s median`,
  );
  console.log(`load average ${machine.loadavgAtStart.join(' ')} -> ${machine.loadavgAtEnd.join(' ')}; peak RSS ${summary.peakRssMiB} MiB`);

  // ---- files ----
  const result = {
    benchmark: 'derain',
    date: new Date().toISOString(),
    command: commandLine(),
    options: { data: dataDir, limit: limit ?? null, ttaCount: nTta, referenceCount: nRef, threads: threads ?? null, out: outDir },
    model: { id: card.id, package: card.packageName, io: card.io, paperFigures: card.paperFigures },
    metricConvention: Y_CONVENTION,
    timingConvention:
      'seconds per image = wall time of derain() (tiling, reflection padding, inference, blending), image decoding and metrics excluded. cpuSeconds = user+system CPU time of this process over the same interval (all threads); othersMeanCores = CPU used meanwhile by other processes (/proc/stat busy minus ours) / wall time, i.e. how many cores of contention the measurement suffered. Before timing, one inference per distinct tile shape warms the model up (ONNX conversion or cache read + onnxruntime session creation + first run), reported as summary.ours.warmupSeconds; any session preparation that still happens inside a timed call (e.g. a new shape under TTA) is subtracted and listed there too. tfjs seconds = wall time of runTiled with the tfjs-wasm model on the same tile plan. Machine shared with other work: see loadavg.',
    machine,
    summary,
    images: rows,
  };
  const files = await writeJsonPair(outDir, 'derain', stamp, result);
  const png = path.join(outDir, 'derain-latest.png');
  await writeSvgPng(png, plot(rows, summary, machine, card.paperFigures.find((f) => f.dataset === 'Rain100H')?.value));
  console.log(`\nwrote ${files.join(', ')}, ${png}`);
}

// ---------------------------------------------------------------------------------------------
// Plot

type Summary = {
  pairs: number;
  input: { psnrY: number };
  ours: { psnrY: number; secondsPerImageMean: number; cpuSecondsPerImageMean: number; othersMeanCores: number; warmupSecondsTotal: number };
  tta?: { pairs: number; meanGainPsnrY: number; secondsPerImageMean: number };
  reference?: {
    pairs: number;
    tfjs: { psnrY: number };
    tfjsSecondsPerImageMean: number;
    tfjsCpuSecondsPerImageMean: number;
    speedRatioCpuOverall: number;
    oursSecondsPerImageSamePairs: number;
    speedRatioOverall: number;
    meanAbsPsnrYDiff: number;
    maxAbsPixelDiff: number;
  };
};

const C_IN = '#9e9e9e';
const C_OURS = '#1f77b4';
const C_TFJS = '#ff7f0e';
const C_TTA = '#2ca02c';

function plot(rows: ImageRow[], s: Summary, machine: ReturnType<typeof machineInfo>, paperPsnr?: number): string {
  const W = Math.max(1200, 120 + rows.length * 30);
  const H = 880;
  const parts: string[] = [];
  parts.push(
    text(W / 2, 30, `MAXIM deraining (Rain13K weights): ${s.pairs} Rain100H pairs, PSNR on Y (MATLAB YCbCr, 8-bit, no crop)`, {
      size: 18,
      anchor: 'middle',
      weight: 'bold',
    }),
  );

  // Panel 1: per-image PSNR-Y bars.
  const px = 80;
  const legendRows = W < 1500 ? 2 : 1;
  const py = 80 + (legendRows - 1) * 21;
  const pw = W - px - 30;
  const ph = 420;
  const vals = rows.flatMap((r) => [r.input.psnrY, r.ours.psnrY, r.tfjs?.psnrY ?? 0, paperPsnr ?? 0]);
  const step = niceStep(Math.max(...vals), 8);
  const yMax = Math.ceil(Math.max(...vals) / step) * step;
  const Y = (v: number): number => py + ph - (v / yMax) * ph;
  for (let t = 0; t <= yMax + 1e-9; t += step) {
    parts.push(line(px, Y(t), px + pw, Y(t), '#e3e3e3'));
    parts.push(text(px - 8, Y(t) + 4, trimNum(t), { size: 12, anchor: 'end', fill: '#444' }));
  }
  parts.push(text(24, py + ph / 2, 'PSNR-Y (dB)', { size: 14, anchor: 'middle', rotate: -90 }));
  const gw = pw / rows.length;
  const hasRef = rows.some((r) => r.tfjs);
  rows.forEach((r, i) => {
    const series = [{ v: r.input.psnrY, c: C_IN }, { v: r.ours.psnrY, c: C_OURS }, ...(hasRef ? [{ v: r.tfjs?.psnrY, c: C_TFJS }] : [])];
    const bw = (gw * 0.8) / series.length;
    series.forEach((b, j) => {
      if (b.v === undefined) return;
      parts.push(rect(px + i * gw + gw * 0.1 + j * bw, Y(b.v), bw, Y(0) - Y(b.v), b.c));
    });
    if (rows.length <= 60 || i % 2 === 0) parts.push(text(px + i * gw + gw / 2, py + ph + 16, r.name, { size: 10, anchor: 'middle', fill: '#444' }));
  });
  parts.push(text(px + pw / 2, py + ph + 36, 'image (Rain100H index)', { size: 13, anchor: 'middle' }));
  parts.push(line(px, Y(s.ours.psnrY), px + pw, Y(s.ours.psnrY), C_OURS, 1.5, '6 4'));
  parts.push(line(px, Y(s.input.psnrY), px + pw, Y(s.input.psnrY), '#616161', 1.5, '6 4'));
  if (paperPsnr) parts.push(line(px, Y(paperPsnr), px + pw, Y(paperPsnr), '#d62728', 1.5, '2 3'));
  parts.push(line(px, py, px, py + ph, '#222'));
  parts.push(line(px, py + ph, px + pw, py + ph, '#222'));
  parts.push(
    legend(
      px + 10,
      py - 14 - (legendRows - 1) * 21,
      [
        { color: C_IN, label: `rainy input (mean ${s.input.psnrY.toFixed(2)} dB)` },
        { color: C_OURS, label: `ours, ONNX (mean ${s.ours.psnrY.toFixed(2)} dB)` },
        ...(s.reference ? [{ color: C_TFJS, label: `tfjs-wasm, same weights (first ${s.reference.pairs}: ${s.reference.tfjs.psnrY.toFixed(2)} dB)` }] : []),
        ...(paperPsnr ? [{ color: '#d62728', label: `paper, full Rain100H: ${paperPsnr} dB`, dash: true }] : []),
      ],
      13,
      pw - 20,
    ),
  );

  // Panel 2: speed.
  const sy = py + ph + 70;
  const speedRows = [
    { label: `ours ONNX, mean of ${s.pairs}`, value: s.ours.secondsPerImageMean, color: C_OURS },
    ...(s.reference
      ? [
          { label: `ours ONNX, first ${s.reference.pairs}`, value: s.reference.oursSecondsPerImageSamePairs, color: C_OURS },
          {
            label: `tfjs-wasm, first ${s.reference.pairs}`,
            value: s.reference.tfjsSecondsPerImageMean,
            color: C_TFJS,
            note: `(${s.reference.speedRatioOverall.toFixed(1)}x ours)`,
          },
        ]
      : []),
    ...(s.tta
      ? [
          {
            label: `ours x8 TTA, first ${s.tta.pairs}`,
            value: s.tta.secondsPerImageMean,
            color: C_TTA,
            note: `(gain ${s.tta.meanGainPsnrY >= 0 ? '+' : ''}${s.tta.meanGainPsnrY.toFixed(2)} dB)`,
          },
        ]
      : []),
  ];
  parts.push(
    hbarChart({ x: 30, y: sy, w: W * 0.62, h: H - sy - 20 }, speedRows, {
      title: 'Speed: seconds per image (480x320 / 320x480), lower is better',
      unit: 'seconds per image',
    }),
  );
  const notes = [
    `warm-up (session + first run per shape), excluded: ${s.ours.warmupSecondsTotal.toFixed(1)} s`,
    `CPU time per image: ours ${s.ours.cpuSecondsPerImageMean.toFixed(1)} s${s.reference ? `, tfjs ${s.reference.tfjsCpuSecondsPerImageMean.toFixed(1)} s (${s.reference.speedRatioCpuOverall.toFixed(1)}x)` : ''}`,
    `other processes used ${s.ours.othersMeanCores.toFixed(2)} of ${machine.cpuCount} cores meanwhile (mean)`,
    ...(s.reference
      ? [
          `ours vs tfjs: mean |dPSNR-Y| ${s.reference.meanAbsPsnrYDiff.toFixed(4)} dB`,
          `max |pixel diff| ${s.reference.maxAbsPixelDiff.toExponential(2)} (in [0,1])`,
        ]
      : []),
    `${machine.cpuCount} x ${machine.cpuModel.slice(0, 40)}`,
    `node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`,
    `load avg ${machine.loadavgAtStart[0]} -> ${machine.loadavgAtEnd?.[0]} (shared machine)`,
  ];
  notes.forEach((n, i) => {
    parts.push(text(W * 0.64 + 10, sy + 40 + i * 22, n, { size: 12.5, fill: '#333' }));
  });
  return svgDoc(W, H, parts.join('\n'));
}

await main();
