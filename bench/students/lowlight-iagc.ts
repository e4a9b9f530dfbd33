/**
 * The low-light student (learned illumination-aware gamma, `lowlight --method iagc`) against its
 * reference, the MAXIM enhancement expert (`--method learned`), and the classical gamma
 * (`--method gamma`), on the same images in one run:
 *
 *   node --import tsx bench/students/lowlight-iagc.ts [--data ../shared/data] [--limit N] [--threads 1] [--out bench/results]
 *        [--previous DIR] [--student DIR]
 *   (or through `npm run bench:students`, which imports `bench`)
 *
 * --previous DIR also runs the estimator in DIR (card.json + model.onnx, e.g. the model a retrained
 * candidate would replace) as a fourth method, in the same run. --student DIR runs the estimator in DIR
 * as the student instead of the registry's: a candidate still training, since its worker runs last and
 * waits for DIR/card.json (the exporter writes the card last, so its presence means the folder is complete).
 *
 * 1. Quality with ground truth: the held-out pairs (training/prepare/lowlightPairs.ts): the 18 McMaster
 *    photos (a source the student never trained on), 384 px centre crops darkened by synthesizeLowLight
 *    with seeded parameters, measured on their central 256 px (MAXIM's speed), twice: the 'uniform'
 *    pairs (the whole crop darkened alike) and the 'spatial' pairs (the same base parameters plus an
 *    exposure field and light sources). PSNR/SSIM on RGB (8-bit, no border crop: the LOL papers'
 *    convention) and PSNR on MATLAB Y.
 * 2. Speed: seconds per megapixel of inference with the networks loaded once (loading and MAXIM's
 *    first-shape conversion happen in an untimed warm-up on the first pair); peak RSS of the process.
 *    Each method runs in its own child process, so each peak RSS is its own.
 * 3. Real photos without ground truth (DICM, LIME): each method's output on a fixed selection, shrunk
 *    to <= 384 px on the longer side (MAXIM's speed); the share of pixels whose largest channel is
 *    saturated (>= 254/255) beyond those already saturated in the input, and mean luma; and a
 *    contact sheet PNG (input / MAXIM / gamma / iagc per row) to LOOK at.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type OverlayOptions } from 'sharp';
import { decodeImage } from '../../src/core/image/io.js';
import { cropImage, resizeArea } from '../../src/core/image/geometry.js';
import type { RawImage } from '../../src/core/image/types.js';
import { psnr, ssim } from '../../src/core/metrics/index.js';
import { ImageModel } from '../../src/core/models/imageModel.js';
import { TrainedModel } from '../../src/core/models/trainedModel.js';
import { runExpert } from '../../src/restore/expert.js';
import { enhanceLowLightGamma } from '../../src/restore/lowlight/gamma.js';
import { enhanceLowLightIagc, IAGC_ESTIMATOR, IAGC_REFINER } from '../../src/restore/lowlight/iagc.js';
import { defaultDataRoot, type HeldOutDegradation, heldOutPairs } from '../../training/prepare/lowlightPairs.js';
import { commandLine, mean, now, peakRssMiB, REPO_ROOT, round, table, timestamp, writeJsonPair } from '../lib/common.js';
import type { StudentBench, StudentRow } from './types.js';

const SELF = fileURLToPath(import.meta.url);
/** Run order: the slow teacher first; 'lowlight-iagc-previous' only with --previous. */
const METHODS = ['maxim-enhancement', 'gamma', 'lowlight-iagc', 'lowlight-iagc-previous'] as const;
type Method = (typeof METHODS)[number];
const ROLE: Record<Method, StudentRow['role']> = {
  'lowlight-iagc': 'student',
  'lowlight-iagc-previous': 'baseline',
  'maxim-enhancement': 'teacher',
  gamma: 'baseline',
};
const LABEL: Record<Method, string> = {
  'lowlight-iagc': 'iagc (student)',
  'lowlight-iagc-previous': 'iagc (previous)',
  'maxim-enhancement': 'MAXIM enhancement',
  gamma: 'gamma (classical)',
};
const DEGRADATIONS: readonly HeldOutDegradation[] = ['uniform', 'spatial'];
/** Real low-light photos for the no-reference check and the contact sheet (relative to the data root). */
const REAL_ACCEPTANCE = [
  'lowlight/DICM/01.jpg',
  'lowlight/DICM/05.jpg',
  'lowlight/DICM/10.jpg',
  'lowlight/DICM/22.jpg',
  'lowlight/DICM/30.jpg',
  'lowlight/LIME/1.bmp',
  'lowlight/LIME/6.bmp',
  'lowlight/LOL-eval15-low/1.png',
];
/**
 * Real photos never used to choose anything (`--real-set heldback`): the acceptance set above had
 * already guided the spatial degradation's ranges, so the luma shift is also measured here. Night
 * scenes with lamps (SCI 'difficult': DarkFace / NPE), indoor LOL-like scenes (SCI 'medium'), and
 * LIME / DICM photos not in the acceptance set (LIME 9 left out: it is SCI's finetune_LIME_9).
 */
const REAL_HELDBACK = [
  'real-degraded/lowlight_real/SCI/difficult_2015_02057.jpg',
  'real-degraded/lowlight_real/SCI/difficult_2015_02154.jpg',
  'real-degraded/lowlight_real/SCI/difficult_2015_02243.jpg',
  'real-degraded/lowlight_real/SCI/difficult_2015_05885.jpg',
  'real-degraded/lowlight_real/SCI/difficult_2015_05886.jpg',
  'real-degraded/lowlight_real/SCI/medium_2062.jpg',
  'real-degraded/lowlight_real/SCI/medium_2064.jpg',
  'real-degraded/lowlight_real/SCI/medium_3008.jpg',
  'lowlight/LIME/3.bmp',
  'lowlight/LIME/7.bmp',
  'lowlight/LIME/8.bmp',
  'lowlight/DICM/12.jpg',
  'lowlight/DICM/18.jpg',
  'lowlight/DICM/25.jpg',
];
const REAL_SETS = { acceptance: REAL_ACCEPTANCE, heldback: REAL_HELDBACK } as const;
type RealSet = keyof typeof REAL_SETS;
/** Side of the centre crop of each held-out pair measured here (MAXIM needs ~1-3 min per 384 px pair on a loaded 2-core machine). */
const EVAL_SIDE = 256;
const REAL_SIDE = 384;
const SATURATED = 254 / 255;

interface SetScores {
  images: number;
  psnrRgb: number;
  ssimRgb: number;
  psnrY: number;
  inputPsnrRgb: number;
}

interface WorkerResult {
  method: Method;
  /** Per held-out degradation. */
  sets: Record<HeldOutDegradation, SetScores>;
  secondsPerMegapixel: number;
  peakRssMiB: number;
  real: Array<{ name: string; newlySaturatedPct: number; meanLuma: number }>;
}

/** One method over every image (runs in a child process: its own peak RSS). */
interface ModelDirs {
  readonly previous?: string;
  readonly student?: string;
  /** Which real photos; 'heldback' measures the real photos only (no held-out pairs). */
  readonly realSet?: RealSet;
}

/** Waits (polling) until `file` exists: a candidate model still being exported. */
async function waitFor(file: string, maxMinutes = 90): Promise<void> {
  const end = Date.now() + maxMinutes * 60_000;
  while (!existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file} did not appear within ${maxMinutes} min`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

async function worker(method: Method, dataRoot: string, limit: number, threads: number, outDir: string, dirs: ModelDirs = {}): Promise<WorkerResult> {
  const centre = async (kind: HeldOutDegradation) =>
    (await heldOutPairs(dataRoot, limit, kind)).map((p) => {
      const o = Math.floor((p.clean.width - EVAL_SIDE) / 2);
      return { ...p, clean: cropImage(p.clean, o, o, EVAL_SIDE, EVAL_SIDE), low: cropImage(p.low, o, o, EVAL_SIDE, EVAL_SIDE) };
    });
  const realOnly = dirs.realSet === 'heldback';
  const realPhotos = REAL_SETS[dirs.realSet ?? 'acceptance'];
  const sets = realOnly ? { uniform: [], spatial: [] } : { uniform: await centre('uniform'), spatial: await centre('spatial') };
  let run: (img: RawImage) => Promise<RawImage>;
  let dispose = async (): Promise<void> => {};
  if (method === 'lowlight-iagc') {
    if (dirs.student) await waitFor(path.join(dirs.student, 'card.json'));
    const estimator = dirs.student ? await TrainedModel.loadDir(dirs.student, { threads }) : await TrainedModel.load(IAGC_ESTIMATOR, { threads });
    const refiner = await ImageModel.load(IAGC_REFINER, { threads });
    run = async (img) => (await enhanceLowLightIagc(img, { estimator, refiner, threads })).image;
    dispose = async () => {
      await estimator.dispose();
      await refiner.dispose();
    };
  } else if (method === 'lowlight-iagc-previous') {
    if (!dirs.previous) throw new Error('lowlight-iagc-previous needs --previous DIR');
    const estimator = await TrainedModel.loadDir(dirs.previous, { threads });
    run = async (img) => (await enhanceLowLightIagc(img, { estimator, threads })).image;
    dispose = () => estimator.dispose();
  } else if (method === 'maxim-enhancement') {
    const model = await ImageModel.load('maxim-enhancement', { threads });
    run = (img) => runExpert(img, 'maxim-enhancement', { model, threads });
    dispose = () => model.dispose();
  } else {
    run = async (img) => enhanceLowLightGamma(img).image;
  }
  // warm-up: sessions, MAXIM's conversion for this shape
  await run(realOnly ? shrink((await decodeImage(path.join(dataRoot, realPhotos[0]))).image) : sets.uniform[0].low);
  let seconds = 0;
  let megapixels = 0;
  const scored = {} as Record<HeldOutDegradation, SetScores>;
  for (const kind of DEGRADATIONS) {
    const scores = { psnrRgb: [] as number[], ssimRgb: [] as number[], psnrY: [] as number[], input: [] as number[] };
    for (const p of sets[kind]) {
      const t0 = now();
      const out = await run(p.low);
      seconds += now() - t0;
      megapixels += (p.low.width * p.low.height) / 1e6;
      scores.psnrRgb.push(psnr(out, p.clean));
      scores.ssimRgb.push(ssim(out, p.clean));
      scores.psnrY.push(psnr(out, p.clean, { channel: 'y' }));
      scores.input.push(psnr(p.low, p.clean));
    }
    scored[kind] = {
      images: sets[kind].length,
      psnrRgb: round(mean(scores.psnrRgb), 2),
      ssimRgb: round(mean(scores.ssimRgb), 4),
      psnrY: round(mean(scores.psnrY), 2),
      inputPsnrRgb: round(mean(scores.input), 2),
    };
  }
  const real: WorkerResult['real'] = [];
  const dir = path.join(outDir, 'lowlight-iagc', method);
  await mkdir(dir, { recursive: true });
  for (const rel of realPhotos) {
    const img = shrink((await decodeImage(path.join(dataRoot, rel))).image);
    const out = await run(img);
    real.push({ name: rel, newlySaturatedPct: round(100 * (saturatedShare(out) - saturatedShare(img)), 2), meanLuma: round(meanLuma(out), 3) });
    await savePng(out, path.join(dir, `${rel.replace(/[/.]/g, '_')}.png`));
  }
  await dispose();
  return {
    method,
    sets: scored,
    secondsPerMegapixel: round(seconds / megapixels, 3),
    peakRssMiB: peakRssMiB(),
    real,
  };
}

function shrink(img: RawImage): RawImage {
  const k = REAL_SIDE / Math.max(img.width, img.height);
  return k >= 1 ? img : resizeArea(img, Math.round(img.width * k), Math.round(img.height * k));
}

function saturatedShare(img: RawImage): number {
  let n = 0;
  for (let j = 0; j < img.data.length; j += 3) if (Math.max(img.data[j], img.data[j + 1], img.data[j + 2]) >= SATURATED) n++;
  return n / (img.width * img.height);
}

function meanLuma(img: RawImage): number {
  let s = 0;
  for (let j = 0; j < img.data.length; j += 3) s += 0.299 * img.data[j] + 0.587 * img.data[j + 1] + 0.114 * img.data[j + 2];
  return s / (img.width * img.height);
}

function toU8(img: RawImage): Buffer {
  return Buffer.from(Uint8Array.from(img.data, (v) => Math.round(Math.max(0, Math.min(1, v)) * 255)));
}

async function savePng(img: RawImage, file: string): Promise<void> {
  await sharp(toU8(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toFile(file);
}

function runWorker(method: Method, o: { dataRoot: string; limit?: number; outDir: string; threads: number } & ModelDirs): Promise<WorkerResult> {
  const args = ['--import', 'tsx', SELF, '--worker', method, '--data', o.dataRoot, '--threads', String(o.threads), '--out', o.outDir];
  if (o.limit !== undefined) args.push('--limit', String(o.limit));
  if (o.previous !== undefined) args.push('--previous', o.previous);
  if (o.student !== undefined) args.push('--student', o.student);
  if (o.realSet !== undefined) args.push('--real-set', o.realSet);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`${method} worker failed (exit ${code}): ${out.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(7)) as WorkerResult);
    });
  });
}

/** input / MAXIM / gamma / [iagc previous] / iagc, one row per real photo, labelled. */
async function contactSheet(dataRoot: string, outDir: string, methods: readonly Method[], realSet: RealSet = 'acceptance'): Promise<string> {
  const order: readonly Method[] = ['maxim-enhancement', 'gamma', 'lowlight-iagc-previous', 'lowlight-iagc'];
  const cols: Array<{ label: string; file: (rel: string) => string | Promise<Buffer> }> = [
    { label: 'input', file: async (rel) => savePngBuffer(shrink((await decodeImage(path.join(dataRoot, rel))).image)) },
    ...order
      .filter((m) => methods.includes(m))
      .map((m) => ({
        label: LABEL[m],
        file: (rel: string) => path.join(outDir, 'lowlight-iagc', m, `${rel.replace(/[/.]/g, '_')}.png`),
      })),
  ];
  const cell = REAL_SIDE;
  const head = 28;
  const rowLabel = 22;
  const composites: OverlayOptions[] = [];
  let y = head;
  for (const rel of REAL_SETS[realSet]) {
    let rowH = 0;
    for (let c = 0; c < cols.length; c++) {
      const buf = await cols[c].file(rel);
      const meta = await sharp(buf).metadata();
      composites.push({ input: buf, left: c * (cell + 4), top: y + rowLabel });
      rowH = Math.max(rowH, meta.height ?? 0);
    }
    composites.push({ input: Buffer.from(svgText(rel, cols.length * (cell + 4), rowLabel)), left: 0, top: y });
    y += rowLabel + rowH + 6;
  }
  const width = cols.length * (cell + 4);
  const header = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${head}">${cols.map((c, i) => `<text x="${i * (cell + 4) + cell / 2}" y="20" font-size="18" font-family="DejaVu Sans" text-anchor="middle">${c.label}</text>`).join('')}</svg>`;
  composites.push({ input: Buffer.from(header), left: 0, top: 0 });
  const file = path.join(outDir, realSet === 'acceptance' ? 'lowlight-iagc-contact-sheet.png' : `lowlight-iagc-contact-sheet-${realSet}.png`);
  await sharp({ create: { width, height: y, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toFile(file);
  return file;
}

function svgText(s: string, width: number, height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="4" y="${height - 6}" font-size="14" font-family="DejaVu Sans">${s}</text></svg>`;
}

function savePngBuffer(img: RawImage): Promise<Buffer> {
  return sharp(toU8(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
}

/** The bench, with the estimator in `dirs.previous` (a folder) as an extra method and `dirs.student` as the student, when given. */
function makeBench(dirs: ModelDirs = {}): StudentBench {
  const { previous } = dirs;
  return {
    name: 'lowlight-iagc',
    async run({ dataRoot, limit, outDir, threads }) {
      const modelLabel = (method: Method): string =>
        method === 'gamma'
          ? 'gamma (enhanceLowLightGamma)'
          : method === 'lowlight-iagc-previous'
            ? `lowlight-iagc (previous: ${path.relative(REPO_ROOT, previous ?? '')})`
            : method === 'lowlight-iagc' && dirs.student
              ? `lowlight-iagc (candidate: ${path.relative(REPO_ROOT, dirs.student)})`
              : method;
      const methods = METHODS.filter((m) => m !== 'lowlight-iagc-previous' || previous !== undefined);
      const results: WorkerResult[] = [];
      for (const m of methods) results.push(await runWorker(m, { dataRoot, limit, outDir, threads, ...dirs }));
      const sheet = await contactSheet(dataRoot, outDir, methods, dirs.realSet);
      console.log(`lowlight-iagc: contact sheet ${sheet}`);
      await writeFile(
        path.join(outDir, dirs.realSet === 'heldback' ? 'lowlight-iagc-real-heldback.json' : 'lowlight-iagc-real.json'),
        `${JSON.stringify(
          results.map((r) => ({ method: r.method, real: r.real })),
          null,
          2,
        )}\n`,
      );
      if (dirs.realSet === 'heldback') {
        return results.map((r) => ({
          model: modelLabel(r.method),
          role: ROLE[r.method],
          dataset: `real low-light photos, held back (${REAL_HELDBACK.length}, no ground truth, <= ${REAL_SIDE} px)`,
          split: 'cross-source' as const,
          images: r.real.length,
          metrics: {
            realNewlySaturatedPctMean: round(mean(r.real.map((x) => x.newlySaturatedPct)), 2),
            realMeanLuma: round(mean(r.real.map((x) => x.meanLuma)), 3),
          },
          secondsPerMegapixel: r.secondsPerMegapixel,
          peakRssMiB: r.peakRssMiB,
        }));
      }
      return results.flatMap((r) =>
        DEGRADATIONS.map((kind) => ({
          model: modelLabel(r.method),
          role: ROLE[r.method],
          dataset: `McMaster synthetic low light, ${kind} degradation (held-out source; central ${EVAL_SIDE} px of the 384 px held-out crops)`,
          split: 'cross-source' as const,
          images: r.sets[kind].images,
          metrics: {
            psnrRgb: r.sets[kind].psnrRgb,
            ssimRgb: r.sets[kind].ssimRgb,
            psnrY: r.sets[kind].psnrY,
            inputPsnrRgb: r.sets[kind].inputPsnrRgb,
            realNewlySaturatedPctMean: round(mean(r.real.map((x) => x.newlySaturatedPct)), 2),
            realMeanLuma: round(mean(r.real.map((x) => x.meanLuma)), 3),
          },
          secondsPerMegapixel: r.secondsPerMegapixel,
          peakRssMiB: r.peakRssMiB,
        })),
      );
    },
  };
}

export const bench: StudentBench = makeBench();

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: 'string' },
      data: { type: 'string', default: defaultDataRoot() },
      limit: { type: 'string' },
      threads: { type: 'string', default: '1' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench/results') },
      previous: { type: 'string' },
      student: { type: 'string' },
      'real-set': { type: 'string', default: 'acceptance' },
    },
  });
  const realSet = values['real-set'] as RealSet;
  if (!(realSet in REAL_SETS)) throw new Error(`--real-set: one of ${Object.keys(REAL_SETS).join(', ')}`);
  const dirs: ModelDirs = {
    previous: values.previous ? path.resolve(values.previous) : undefined,
    student: values.student ? path.resolve(values.student) : undefined,
    realSet,
  };
  const dataRoot = path.resolve(values.data!);
  const limit = values.limit ? Number(values.limit) : undefined;
  const threads = Number(values.threads);
  const outDir = path.resolve(values.out!);
  if (values.worker) {
    if (!(METHODS as readonly string[]).includes(values.worker)) throw new Error(`--worker: one of ${METHODS.join(', ')}`);
    const r = await worker(values.worker as Method, dataRoot, limit ?? Infinity, threads, outDir, dirs);
    console.log(`RESULT ${JSON.stringify(r)}`);
    return;
  }
  await mkdir(outDir, { recursive: true });
  const rows = await makeBench(dirs).run({ dataRoot, limit, outDir, threads });
  console.log(
    table(
      ['model', 'role', 'set', 'images', 'PSNR RGB', 'SSIM RGB', 'PSNR Y', 'input PSNR', 'real: new sat. %', 'real: luma', 's/MP', 'peak RSS MiB'],
      rows.map(
        (r) =>
          [
            r.model,
            r.role,
            r.dataset.includes('spatial') ? 'spatial' : r.dataset.includes('uniform') ? 'uniform' : 'real only',
            r.images,
            r.metrics.psnrRgb,
            r.metrics.ssimRgb,
            r.metrics.psnrY,
            r.metrics.inputPsnrRgb,
            r.metrics.realNewlySaturatedPctMean,
            r.metrics.realMeanLuma,
            r.secondsPerMegapixel,
            r.peakRssMiB,
          ].map((v) => v ?? '-'), // the real-only run (--real-set heldback) has no pair metrics
      ),
    ),
  );
  const files = await writeJsonPair(outDir, realSet === 'heldback' ? 'students-lowlight-iagc-real-heldback' : 'students-lowlight-iagc', timestamp(), {
    command: commandLine(),
    threads,
    ...dirs,
    rows,
  });
  console.log(files.join('\n'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
