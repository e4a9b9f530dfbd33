/**
 * Speed of every restoration expert through our ONNX path (onnxruntime-node, CPU).
 *
 *   npm run bench:experts -- [--image <file>] [--only derain,upscale-slim-x2,...] [--out <dir>] [--threads N]
 *
 * - MAXIM experts (derain, dehaze indoor/outdoor, lowlight, denoise, deblur, retouch) on a
 *   512x512 centre crop of one image (one 512x512 tile: no tiling overhead);
 *   ESRGAN upscalers (slim/medium/thick at x2 and x4) on a 128x128 centre crop.
 *   Default image: ../shared/data/dehaze/real-hazy/canyon.png (768x576) relative to the repo root.
 * - Per expert: load the model, one warm-up run (ONNX conversion or cache read + session
 *   creation + first inference; split into "prepare" and "first run" through the 'prepare model'
 *   progress events), then one timed run. Reported: seconds, seconds per input megapixel, seconds
 *   per output megapixel, and the process's peak RSS so far. The model is disposed before the next.
 * - At the end the process's peak RSS (process.resourceUsage().maxRSS) is recorded.
 *
 * Speed only: the crop has no ground truth; quality is measured by the per-task benchmarks.
 * Output: table on stdout, <out>/experts-<timestamp>.json, <out>/experts-latest.json,
 * <out>/experts-latest.png (default out: bench/results).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  decodeImage,
  deblur,
  dehaze,
  denoise,
  derain,
  getModelCard,
  ImageModel,
  lowlight,
  retouch,
  upscale,
  type ExpertOptions,
  type RawImage,
} from '../src/index.js';
import { cropImage } from '../src/core/tiling/index.js';
import {
  commandLine,
  cpuDelta,
  cpuSnapshot,
  hbarChart,
  loadavg,
  machineInfo,
  now,
  peakRssMiB,
  round,
  svgDoc,
  table,
  text,
  timestamp,
  writeJsonPair,
  writeSvgPng,
} from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_IMAGE = path.resolve(REPO, '../shared/data/dehaze/real-hazy/canyon.png');

interface Expert {
  key: string;
  task: string;
  model: string;
  crop: number;
  run: (img: RawImage, o: ExpertOptions) => Promise<RawImage>;
  scale: number;
}

const MAXIM_CROP = 512;
const ESRGAN_CROP = 128;

const EXPERTS: Expert[] = [
  { key: 'derain', task: 'derain', model: 'maxim-deraining', crop: MAXIM_CROP, scale: 1, run: (i, o) => derain(i, o) },
  { key: 'dehaze-indoor', task: 'dehaze', model: 'maxim-dehazing-indoor', crop: MAXIM_CROP, scale: 1, run: (i, o) => dehaze(i, { ...o, variant: 'indoor' }) },
  {
    key: 'dehaze-outdoor',
    task: 'dehaze',
    model: 'maxim-dehazing-outdoor',
    crop: MAXIM_CROP,
    scale: 1,
    run: (i, o) => dehaze(i, { ...o, variant: 'outdoor' }),
  },
  { key: 'lowlight', task: 'lowlight', model: 'maxim-enhancement', crop: MAXIM_CROP, scale: 1, run: (i, o) => lowlight(i, o) },
  { key: 'denoise', task: 'denoise', model: 'maxim-denoising', crop: MAXIM_CROP, scale: 1, run: (i, o) => denoise(i, o) },
  { key: 'deblur', task: 'deblur', model: 'maxim-deblurring', crop: MAXIM_CROP, scale: 1, run: (i, o) => deblur(i, o) },
  { key: 'retouch', task: 'retouch', model: 'maxim-retouching', crop: MAXIM_CROP, scale: 1, run: (i, o) => retouch(i, o) },
  ...(['slim', 'medium', 'thick'] as const).flatMap((size) =>
    ([2, 4] as const).map(
      (scale): Expert => ({
        key: `upscale-${size}-x${scale}`,
        task: 'upscale',
        model: `esrgan-${size}-x${scale}`,
        crop: ESRGAN_CROP,
        scale,
        run: (i, o) => upscale(i, { ...o, size, scale }),
      }),
    ),
  ),
];

const { values: args } = parseArgs({
  options: {
    image: { type: 'string', default: DEFAULT_IMAGE },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (args.help) {
  console.log(`npm run bench:experts -- [--image FILE] [--only ${EXPERTS.map((e) => e.key).join(',')}] [--out DIR] [--threads N]`);
  process.exit(0);
}
const threads = args.threads === undefined ? undefined : Number(args.threads);
if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
  console.error(`--threads: expected an integer >= 1, got "${args.threads}"`);
  process.exit(2);
}
const only = args.only?.split(',').filter(Boolean);
const unknown = only?.filter((k) => !EXPERTS.some((e) => e.key === k));
if (unknown?.length) {
  console.error(`--only: unknown expert(s) ${unknown.join(', ')}; known: ${EXPERTS.map((e) => e.key).join(', ')}`);
  process.exit(2);
}
const imageFile = path.resolve(args.image!);
if (!existsSync(imageFile)) {
  console.error(`--image ${imageFile} does not exist`);
  process.exit(2);
}
const outDir = path.resolve(args.out!);

function centreCrop(img: RawImage, size: number): RawImage {
  if (img.width < size || img.height < size) throw new Error(`${imageFile} is ${img.width}x${img.height}, smaller than the ${size}x${size} crop`);
  return cropImage(img, Math.floor((img.width - size) / 2), Math.floor((img.height - size) / 2), size, size);
}

function stats(img: RawImage): { min: number; max: number; mean: number; finite: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = true;
  for (const v of img.data) {
    if (!Number.isFinite(v)) finite = false;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min: round(min, 4), max: round(max, 4), mean: round(sum / img.data.length, 4), finite };
}

interface Row {
  expert: string;
  model: string;
  input: string;
  output: string;
  warmupSeconds: number;
  prepareSeconds: number;
  firstRunSeconds: number;
  seconds: number;
  secondsPerInputMP: number;
  secondsPerOutputMP: number;
  cpuSeconds: number;
  cpuSecondsPerInputMP: number;
  othersMeanCores: number;
  peakRssMiBSoFar: number;
  loadavg1: number;
  outputStats: ReturnType<typeof stats>;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const stamp = timestamp();
  const source = (await decodeImage(imageFile)).image;
  const crops = new Map([MAXIM_CROP, ESRGAN_CROP].map((s) => [s, centreCrop(source, s)]));
  const experts = only ? EXPERTS.filter((e) => only.includes(e.key)) : EXPERTS;
  console.log(
    `experts bench: ${experts.length} experts on centre crops of ${imageFile} (${source.width}x${source.height}); threads ${threads ?? `default (${machine.availableParallelism})`}; load ${machine.loadavgAtStart.join(' ')}`,
  );

  const rows: Row[] = [];
  for (const e of experts) {
    const img = crops.get(e.crop)!;
    const model = await ImageModel.load(e.model, { threads });
    try {
      let prepStart = 0;
      let prep = 0;
      const onProgress = (ev: { stage: string; done: number }): void => {
        if (ev.stage !== 'prepare model') return;
        if (ev.done === 0) prepStart = now();
        else prep += now() - prepStart;
      };
      const tw = now();
      await e.run(img, { model, onProgress });
      const warm = now() - tw;
      const warmPrep = prep;
      prep = 0;
      const c0 = cpuSnapshot();
      const t = now();
      const out = await e.run(img, { model, onProgress });
      const seconds = now() - t - prep;
      const cpu = cpuDelta(c0, cpuSnapshot());
      if (out.width !== img.width * e.scale || out.height !== img.height * e.scale) {
        throw new Error(`${e.key}: output ${out.width}x${out.height}, expected ${img.width * e.scale}x${img.height * e.scale}`);
      }
      const inMP = (img.width * img.height) / 1e6;
      const row: Row = {
        expert: e.key,
        model: getModelCard(e.model).id,
        input: `${img.width}x${img.height}`,
        output: `${out.width}x${out.height}`,
        warmupSeconds: warm,
        prepareSeconds: warmPrep,
        firstRunSeconds: warm - warmPrep,
        seconds,
        secondsPerInputMP: seconds / inMP,
        secondsPerOutputMP: seconds / (inMP * e.scale * e.scale),
        cpuSeconds: cpu.ownCpuSeconds,
        cpuSecondsPerInputMP: cpu.ownCpuSeconds / inMP,
        othersMeanCores: cpu.othersMeanCores,
        peakRssMiBSoFar: peakRssMiB(),
        loadavg1: loadavg()[0]!,
        outputStats: stats(out),
      };
      rows.push(row);
      console.log(
        `  ${e.key.padEnd(18)} ${row.input} -> ${row.output}  warm-up ${warm.toFixed(1)} s (prepare ${warmPrep.toFixed(1)})  run ${seconds.toFixed(2)} s = ${row.secondsPerInputMP.toFixed(1)} s/MP in (cpu ${row.cpuSecondsPerInputMP.toFixed(1)} s/MP, others ${row.othersMeanCores.toFixed(2)} cores)  peak RSS ${row.peakRssMiBSoFar} MiB`,
      );
    } finally {
      await model.dispose();
    }
  }
  machine.loadavgAtEnd = loadavg();
  const peak = peakRssMiB();

  console.log(
    '\n' +
      table(
        ['expert', 'input', 'output', 'warm-up s', 'run s', 's/MP in', 's/MP out', 'CPU s/MP in', 'others cores', 'peak RSS MiB'],
        rows.map((r) => [
          r.expert,
          r.input,
          r.output,
          r.warmupSeconds,
          r.seconds,
          r.secondsPerInputMP,
          r.secondsPerOutputMP,
          r.cpuSecondsPerInputMP,
          r.othersMeanCores,
          r.peakRssMiBSoFar,
        ]),
      ),
  );
  console.log(
    `\npeak RSS of the process (resourceUsage().maxRSS): ${peak} MiB; load average ${machine.loadavgAtStart.join(' ')} -> ${machine.loadavgAtEnd.join(' ')}`,
  );

  const result = {
    benchmark: 'experts',
    date: new Date().toISOString(),
    command: commandLine(),
    options: { image: imageFile, only: only ?? null, threads: threads ?? null, out: outDir },
    convention:
      'Centre crops of one image: 512x512 for MAXIM (one tile, no tiling overhead), 128x128 for ESRGAN (one tile). One warm-up run per expert (ONNX conversion or cache read + onnxruntime session creation + first inference), then one timed run; seconds per megapixel = timed seconds / input megapixels (s/MP out uses output pixels). Times include the library call (tiling, range scaling, blending) but not image decoding. cpuSeconds = user+system CPU time of this process during the timed run (all threads); othersMeanCores = CPU used meanwhile by other processes / wall time (contention). Machine shared with other work: see loadavg.',
    machine,
    peakRssMiB: peak,
    experts: rows,
  };
  const files = await writeJsonPair(outDir, 'experts', stamp, result);
  const png = path.join(outDir, 'experts-latest.png');
  await writeSvgPng(png, plot(rows, machine, peak));
  console.log(`wrote ${files.join(', ')}, ${png}`);
}

function plot(rows: Row[], machine: ReturnType<typeof machineInfo>, peak: number): string {
  const W = 1200;
  const H = 140 + rows.length * 34 + 120;
  const parts = [
    text(W / 2, 30, 'clearsight experts on onnxruntime-node (CPU): seconds per input megapixel, lower is better', {
      size: 18,
      anchor: 'middle',
      weight: 'bold',
    }),
    text(W / 2, 54, `MAXIM on a 512x512 crop, ESRGAN on a 128x128 crop; one warm-up run, then one timed run; ${machine.cpuCount} x ${machine.cpuModel}`, {
      size: 13,
      anchor: 'middle',
      fill: '#444',
    }),
    hbarChart(
      { x: 30, y: 70, w: W - 40, h: rows.length * 34 + 90 },
      rows.map((r) => ({
        label: `${r.expert} (${r.input} -> ${r.output})`,
        value: r.secondsPerInputMP,
        color: r.expert.startsWith('upscale') ? '#ff7f0e' : '#1f77b4',
        note: `s/MP  (${r.seconds.toFixed(2)} s/run, warm-up ${r.warmupSeconds.toFixed(1)} s)`,
      })),
      { title: 'seconds per input megapixel', unit: 'seconds per input megapixel', labelWidth: 330, rightMargin: 330 },
    ),
    text(
      30,
      H - 20,
      `other processes used ${(rows.reduce((a, r) => a + r.othersMeanCores, 0) / Math.max(1, rows.length)).toFixed(2)} of ${machine.cpuCount} cores during the timed runs (mean); peak RSS ${peak} MiB; node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}; load avg ${machine.loadavgAtStart[0]} -> ${machine.loadavgAtEnd?.[0]} (shared machine)`,
      { size: 12.5, fill: '#333' },
    ),
  ];
  return svgDoc(W, H, parts.join('\n'));
}

await main();
