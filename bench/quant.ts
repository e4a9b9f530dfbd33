/**
 * Quantized experts and session creation (issue 23 point 3).
 *
 *   npm run bench:quant [-- --pairs 4 --first 21 --crop 256 --photos 4 --esrgan-reps 5 --no-publish]
 *
 * int8: the converted graphs rewritten by core/models/quantize (dynamic int8: weights int8/uint8,
 * activations quantized at run time) against the fp32 graph, one onnxruntime thread, on small
 * crops (MAXIM needs ~1 s per 128x128 tile, ~5 s per 256x256 one on this machine):
 * - MAXIM deraining on the centre `--crop` square of `--pairs` Rain100H dev pairs from `--first`
 *   (default 21..24: pairs 1-2 were used to choose how many nodes stay float, see precision.ts)
 *   (PSNR on the MATLAB-style Y channel against the clean picture, as in the papers);
 * - ESRGAN slim x4 on `--photos` Kodak24 photos: the centre 384x384 crop, area-downscaled to
 *   96x96 and upscaled back (PSNR-Y against the crop); each run repeated (--esrgan-reps).
 * Each crop runs every variant in turn, the order rotating from crop to crop, so that load from
 * other processes falls on all of them alike; times are medians. Variants are made once per graph.
 * The speed-up is measured in CPU time of this process (user + system, one onnxruntime thread):
 * the machine is shared, and wall time varied 2x between identical runs; wall figures are kept.
 *
 * Session creation: MAXIM deraining at one tile shape, one thread, at each graphOptimizationLevel;
 * then with the 'extended' optimised model saved (optimizedModelFilePath) and loaded back with
 * optimisation off; and a new tile shape from scratch (weights hashed, graph converted, session).
 * Writes bench/results/quant-<stamp>.json and docs/benchmarks/quant.json (unless --no-publish).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { cropImage, decodeImage, resizeArea, type RawImage } from '../src/core/image/index.js';
import { psnr } from '../src/core/metrics/index.js';
import { ImageModel } from '../src/core/models/imageModel.js';
import { int8Recipe } from '../src/core/models/precision.js';
import { quantizableNodes, quantizeDynamicInt8, worstNodes, type QuantizableOp } from '../src/core/models/quantize.js';
import { commandLine, loadavg, machineInfo, median, publishJson, round, sharedData, table, timestamp, writeJsonPair } from './lib/common.js';
import { ROOT } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '4' },
    /** First Rain100H dev pair (pairs first..first+pairs-1). */
    first: { type: 'string', default: '21' },
    crop: { type: 'string', default: '256' },
    photos: { type: 'string', default: '4' },
    /** Runs per case and variant (the least CPU time counts): ESRGAN tiles take only tens of ms. */
    'esrgan-reps': { type: 'string', default: '5' },
    'no-publish': { type: 'boolean', default: false },
    'skip-sessions': { type: 'boolean', default: false },
    'skip-esrgan': { type: 'boolean', default: false },
    /** MAXIM int8 variants: operator sets joined by '+', variants by ','. */
    'maxim-variants': { type: 'string', default: 'MatMul+Conv,recipe' },
    /** JSON map node name -> activation SNR (dB) for variants written 'ops@fraction' (keep that fraction float). */
    snr: { type: 'string' },
  },
});
const pairs = Number(args.pairs);
const firstPair = Number(args.first);
const cropSide = Number(args.crop);
const photos = Number(args.photos);

const SESSION: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  enableMemPattern: false,
  enableCpuMemArena: false,
};

interface Variant {
  name: string;
  ops: QuantizableOp[] | null;
  keepFloat?: Set<string>;
  session?: ort.InferenceSession;
  bytes?: number;
  quantizeSeconds?: number;
  /** CPU seconds of each run (user + system, this process): robust to other processes on the cores. */
  times: number[];
  /** Wall seconds of each run. */
  wall: number[];
  psnr: number[];
  /** PSNR of this variant's output against the fp32 output (how much the rounding changed). */
  vsFp32: number[];
}

async function makeVariants(onnx: Uint8Array, specs: Array<{ name: string; ops: QuantizableOp[] | null; keepFloat?: Set<string> }>): Promise<Variant[]> {
  const out: Variant[] = [];
  for (const spec of specs) {
    const t0 = performance.now();
    const bytes = spec.ops ? quantizeDynamicInt8(onnx, { ops: spec.ops, keepFloat: spec.keepFloat }).onnx : onnx;
    const quantizeSeconds = spec.ops ? (performance.now() - t0) / 1000 : undefined;
    const session = await ort.InferenceSession.create(bytes, { ...SESSION, graphOptimizationLevel: 'all' });
    out.push({ ...spec, session, bytes: bytes.length, quantizeSeconds, times: [], wall: [], psnr: [], vsFp32: [] });
  }
  return out;
}

/** Runs an NHWC float model on an interleaved RGB image (values times `gain`), output clamped to [0, 1]. */
async function runNhwc(
  session: ort.InferenceSession,
  img: RawImage,
  gain: number,
  scale: number,
): Promise<{ out: RawImage; seconds: number; cpuSeconds: number }> {
  const data = gain === 1 ? img.data : img.data.map((v) => v * gain);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, img.height, img.width, 3]) };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const res = await session.run(feeds);
  const c1 = process.cpuUsage(c0);
  const cpuSeconds = (c1.user + c1.system) / 1e6;
  const seconds = (performance.now() - t0) / 1000;
  const y = res[session.outputNames[0]].data as Float32Array;
  const o = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) o[i] = Math.min(1, Math.max(0, y[i] / gain));
  return { out: { width: img.width * scale, height: img.height * scale, channels: 3, data: o }, seconds, cpuSeconds };
}

async function compare(variants: Variant[], cases: Array<{ input: RawImage; target: RawImage }>, gain: number, scale: number, reps = 1): Promise<void> {
  for (const [i, c] of cases.entries()) {
    const order = variants.map((_, k) => (k + i) % variants.length);
    const outs = new Map<number, RawImage>();
    for (const k of order) {
      let r = await runNhwc(variants[k].session!, c.input, gain, scale);
      for (let rep = 1; rep < reps; rep++) {
        const again = await runNhwc(variants[k].session!, c.input, gain, scale);
        if (again.cpuSeconds < r.cpuSeconds) r = { ...again, out: r.out };
      }
      variants[k].times.push(r.cpuSeconds);
      variants[k].wall.push(r.seconds);
      variants[k].psnr.push(psnr(r.out, c.target, { channel: 'y' }));
      outs.set(k, r.out);
    }
    for (const [k, v] of variants.entries()) if (k > 0) v.vsFp32.push(psnr(outs.get(k)!, outs.get(0)!, { channel: 'y' }));
    process.stderr.write(
      `  case ${i + 1}/${cases.length}: ${variants.map((v) => `${v.name} cpu ${v.times.at(-1)!.toFixed(2)} s (wall ${v.wall.at(-1)!.toFixed(2)}) ${v.psnr.at(-1)!.toFixed(2)} dB`).join(', ')}\n`,
    );
  }
}

function summarise(variants: Variant[]) {
  const base = variants[0];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return variants.map((v) => ({
    variant: v.name,
    ops: v.ops ?? 'fp32',
    modelMiB: round(v.bytes! / 2 ** 20, 1),
    quantizeSeconds: v.quantizeSeconds !== undefined ? round(v.quantizeSeconds, 2) : null,
    medianCpuSeconds: round(median(v.times), 3),
    medianWallSeconds: round(median(v.wall), 3),
    /** fp32 CPU time / this CPU time (medians). */
    speedup: round(median(base.times) / median(v.times), 2),
    wallSpeedup: round(median(base.wall) / median(v.wall), 2),
    /** Median over cases of fp32 CPU time / this CPU time in the same case. */
    pairedSpeedup: round(median(v.times.map((t, i) => base.times[i] / t)), 2),
    psnrY: round(mean(v.psnr), 3),
    deltaDb: round(mean(v.psnr) - mean(base.psnr), 3),
    worstCaseDeltaDb: round(Math.min(...v.psnr.map((p, i) => p - base.psnr[i])), 3),
    psnrVsFp32: v.vsFp32.length ? round(mean(v.vsFp32), 2) : null,
  }));
}

/** The int8 graph the library offers (--precision int8): the model's recipe. */
function recipeVariant(model: string): { name: string; ops: QuantizableOp[]; keepFloat: Set<string> } {
  const recipe = int8Recipe(model);
  if (!recipe) throw new Error(`no int8 recipe for ${model}`);
  return { name: `int8 recipe (${recipe.ops.join('+')}, ${recipe.keepFloat.length} nodes float)`, ops: recipe.ops, keepFloat: new Set(recipe.keepFloat) };
}

async function maximPart() {
  const model = await ImageModel.load('maxim-deraining', { threads: 1 });
  const onnx = await model.onnxFor([1, cropSide, cropSide, 3]);
  await model.dispose();
  const cases = [];
  for (let i = firstPair; i < firstPair + pairs; i++) {
    const rainy = (await decodeImage(sharedData(`derain/rain100H-dev/rainy/${i}.png`))).image;
    const clean = (await decodeImage(sharedData(`derain/rain100H-dev/clean/${i}.png`))).image;
    const x = Math.floor((rainy.width - cropSide) / 2);
    const y = Math.floor((rainy.height - cropSide) / 2);
    cases.push({ input: cropImage(rainy, x, y, cropSide, cropSide), target: cropImage(clean, x, y, cropSide, cropSide) });
  }
  const snr = args.snr ? new Map(Object.entries(JSON.parse(readFileSync(args.snr, 'utf8')) as Record<string, number>)) : undefined;
  const int8 = args['maxim-variants']!.split(',').map((v) => {
    if (v === 'recipe') return recipeVariant('maxim-deraining');
    const [ops, fraction] = v.split('@');
    if (fraction && !snr) throw new Error(`variant ${v} needs --snr`);
    return { name: `int8 ${v}`, ops: ops.split('+') as QuantizableOp[], keepFloat: fraction ? worstNodes(snr!, Number(fraction)) : undefined };
  });
  // The recipe names nodes of the graph converted at 128x128: they must exist at this shape too.
  const names = new Set(quantizableNodes(onnx, ['MatMul', 'Conv']).map((n) => n.name));
  const missing = int8.flatMap((v) => [...(v.keepFloat ?? [])].filter((n) => !names.has(n)));
  if (missing.length) throw new Error(`${missing.length} nodes kept float are not in the ${cropSide}x${cropSide} graph, e.g. ${missing[0]}`);
  const variants = await makeVariants(onnx, [{ name: 'fp32', ops: null }, ...int8]);
  process.stderr.write(`MAXIM deraining, Rain100H dev pairs ${firstPair}..${firstPair + pairs - 1}, crops ${cropSide}x${cropSide}\n`);
  await compare(variants, cases, 1, 1);
  for (const v of variants) await v.session!.release();
  return summarise(variants);
}

/** ESRGAN: high-resolution crop side (the input is a quarter of it). */
const HR = 384;

async function esrganPart() {
  const name = 'esrgan-slim-x4';
  const model = await ImageModel.load(name, { threads: 1 });
  const gain = model.card.io.range[1];
  const onnx = await model.onnxFor([1, HR / 4, HR / 4, 3]);
  await model.dispose();
  const cases = [];
  for (let i = 1; i <= photos; i++) {
    const photo = (await decodeImage(sharedData(`clean-photos/Kodak24/kodim${String(i).padStart(2, '0')}.png`))).image;
    const hr = cropImage(photo, Math.floor((photo.width - HR) / 2), Math.floor((photo.height - HR) / 2), HR, HR);
    cases.push({ input: resizeArea(hr, HR / 4, HR / 4), target: hr });
  }
  const variants = await makeVariants(onnx, [
    { name: 'fp32', ops: null },
    { name: 'int8 Conv (not offered)', ops: ['Conv'] },
  ]);
  process.stderr.write(`ESRGAN slim x4, ${photos} Kodak24 crops ${HR} -> ${HR / 4} -> ${HR}\n`);
  await compare(variants, cases, gain, 4, Number(args['esrgan-reps']));
  for (const v of variants) await v.session!.release();
  return summarise(variants);
}

/** Session creation for MAXIM deraining at one shape: levels, saved optimised model, new shape. */
async function sessionPart(dir: string) {
  const model = await ImageModel.load('maxim-deraining', { threads: 1 });
  const onnx = await model.onnxFor([1, cropSide, cropSide, 3]);
  await model.dispose();
  const input = new Float32Array(cropSide * cropSide * 3).fill(0.5);
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const measure = async (label: string, source: Uint8Array | string, options: ort.InferenceSession.SessionOptions) => {
    const t0 = performance.now();
    const c0 = cpu();
    const s = await ort.InferenceSession.create(source as Uint8Array, { ...SESSION, ...options });
    const createCpu = cpu() - c0;
    const createSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const c1 = cpu();
    await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [1, cropSide, cropSide, 3]) });
    const runCpu = cpu() - c1;
    const runSeconds = (performance.now() - t1) / 1000;
    await s.release();
    process.stderr.write(
      `  ${label}: create cpu ${createCpu.toFixed(2)} s (wall ${createSeconds.toFixed(2)}), first run cpu ${runCpu.toFixed(2)} s (wall ${runSeconds.toFixed(2)})\n`,
    );
    return {
      label,
      createCpuSeconds: round(createCpu, 3),
      createWallSeconds: round(createSeconds, 3),
      firstRunCpuSeconds: round(runCpu, 3),
      firstRunWallSeconds: round(runSeconds, 3),
    };
  };
  process.stderr.write(`MAXIM deraining sessions at ${cropSide}x${cropSide}, one thread\n`);
  const rows = [];
  for (const level of ['disabled', 'basic', 'extended', 'all'] as const) rows.push(await measure(`level ${level}`, onnx, { graphOptimizationLevel: level }));
  const saved = path.join(dir, 'maxim-extended.onnx');
  rows.push(await measure('level extended, saving the optimised model', onnx, { graphOptimizationLevel: 'extended', optimizedModelFilePath: saved }));
  rows.push(await measure('saved optimised model, level disabled', saved, { graphOptimizationLevel: 'disabled' }));
  rows.push(await measure('saved optimised model, level all', saved, { graphOptimizationLevel: 'all' }));
  // A tile shape never seen: weights hashed, graph converted (cache empty), session created.
  const cacheDir = path.join(dir, 'cache');
  const t0 = cpu();
  const fresh = await ImageModel.load('maxim-deraining', { threads: 1, cacheDir });
  await fresh.warm(cropSide - 64, cropSide);
  const newShapeSeconds = cpu() - t0;
  await fresh.dispose();
  const t1 = cpu();
  const again = await ImageModel.load('maxim-deraining', { threads: 1, cacheDir });
  await again.warm(cropSide - 64, cropSide);
  const cachedShapeSeconds = cpu() - t1;
  await again.dispose();
  process.stderr.write(
    `  new shape: cpu ${newShapeSeconds.toFixed(2)} s (hash, conversion, session), same shape from the cache in a new model object: cpu ${cachedShapeSeconds.toFixed(2)} s (hash, read, session)\n`,
  );
  return {
    shape: `1x${cropSide}x${cropSide}x3`,
    fileMiB: round(onnx.length / 2 ** 20, 1),
    savedOptimisedMiB: round(statSync(saved).size / 2 ** 20, 1),
    rows,
    newShape: {
      shape: `1x${cropSide - 64}x${cropSide}x3`,
      hashConvertCreateCpuSeconds: round(newShapeSeconds, 2),
      hashReadCreateCpuSeconds: round(cachedShapeSeconds, 2),
    },
  };
}

const machineAtStart = machineInfo();
const dir = mkdtempSync(path.join(tmpdir(), 'clearsight-quantbench-'));
try {
  const maxim = await maximPart();
  const esrgan = args['skip-esrgan'] ? [] : await esrganPart();
  const sessions = args['skip-sessions'] ? null : await sessionPart(dir);
  const head = ['variant', 'CPU s', 'wall s', 'speed-up (CPU)', 'wall speed-up', 'PSNR-Y', 'delta dB', 'worst delta', 'vs fp32 dB', 'MiB'];
  const rows = (s: ReturnType<typeof summarise>) =>
    s.map((r) => [
      r.variant,
      r.medianCpuSeconds,
      r.medianWallSeconds,
      r.speedup,
      r.wallSpeedup,
      r.psnrY,
      r.deltaDb,
      r.worstCaseDeltaDb,
      r.psnrVsFp32 ?? '-',
      r.modelMiB,
    ]);
  console.log(
    `MAXIM deraining, Rain100H dev pairs ${firstPair}..${firstPair + pairs - 1}, crops ${cropSide}x${cropSide}, 1 thread\n${table(head, rows(maxim))}`,
  );
  console.log(
    `\nESRGAN slim x4, ${photos} Kodak24 crops (${HR / 4} -> ${HR}), 1 thread, least CPU time of ${args['esrgan-reps']} runs\n${table(head, rows(esrgan))}`,
  );
  if (sessions)
    console.log(
      '\nMAXIM sessions\n' +
        table(
          ['setting', 'create CPU s', 'create wall s', 'first run CPU s', 'first run wall s'],
          sessions.rows.map((r) => [r.label, r.createCpuSeconds, r.createWallSeconds, r.firstRunCpuSeconds, r.firstRunWallSeconds]),
        ),
    );
  const summary = {
    note: 'speed-ups from CPU time (user + system of this process; one onnxruntime thread), wall time beside it; other processes shared the 2 cores (see loadavg); PSNR on the MATLAB-style Y channel, no border crop, outputs clamped to [0, 1] and rounded to 8 bits',
    maxim: {
      model: 'maxim-deraining',
      data: `Rain100H dev pairs ${firstPair}..${firstPair + pairs - 1}, centre ${cropSide}x${cropSide} crop`,
      variants: maxim,
    },
    esrgan: {
      model: 'esrgan-slim-x4',
      data: `Kodak24 kodim01..${String(photos).padStart(2, '0')}, centre ${HR}x${HR} crop area-downscaled to ${HR / 4}x${HR / 4}; times: least CPU time of ${args['esrgan-reps']} runs`,
      variants: esrgan,
    },
    sessions,
  };
  const report = {
    benchmark: 'quant',
    command: commandLine(),
    date: new Date().toISOString(),
    machine: { ...machineAtStart, loadavgAtEnd: loadavg() },
    summary,
  };
  const written = await writeJsonPair(path.join(ROOT, 'bench', 'results'), 'quant', timestamp(), report);
  console.log(`\nwrote ${written.join(', ')}`);
  if (!args['no-publish']) await publishJson('quant', report);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
