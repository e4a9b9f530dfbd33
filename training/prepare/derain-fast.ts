/**
 * Patch sets for the fast derainer (training/derain_fast.py), written into training/cache/:
 *
 *   derain-rain100h  the Rain100H dev pairs (rainy, clean) as they are (480x320 or 320x480: portrait
 *                    pairs are NOT turned, which would make their near-vertical streaks run
 *                    sideways), each at the top left of a 480x480 zero canvas; the item's `width`
 *                    and `height` say which part is the image (the trainer crops inside it).
 *                    Fixed split by pair number: 1-30 train, 31-50 test (never trained on; the set
 *                    here has 50 pairs).
 *   derain-synth     256x256 crops of ../shared/data/clean-photos with synthetic rain from the
 *                    library's synthesizeRain (the one definition of rain): (rainy, clean).
 *                    Group = the photo's source set (CBSD68, Kodak24, McMaster, Set14).
 *   derain-teacher   256x256 crops, (rainy, teacher, clean): MAXIM deraining (our ONNX path,
 *                    ImageModel 'maxim-deraining', 1 thread) run on real rainy photos
 *                    (ddn_xmu/real_world, rain_real_raindrop: no clean image, clean = zeros,
 *                    hasClean false) interleaved with synthetic-rain crops (hasClean true).
 *                    The teacher is slow (~6-30 s a crop here), so the set stops after
 *                    --teacher-count crops (default 38: what a 20-minute budget gave on the
 *                    shared machine when the committed model was trained) or --teacher-budget
 *                    seconds; the order is fixed, so either is a reproducible prefix.
 *
 *   node --import tsx training/prepare/derain-fast.ts [--only rain100h,synth,teacher]
 *        [--teacher-count 38] [--teacher-budget s] [--smoke] [--out training/cache] [--data ../shared/data]
 *
 * --smoke writes tiny sets (a few items, teacher on two 64x64 crops) for the pipeline test.
 */
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cropImage, decodeImage, ImageModel, type RawImage } from '../../src/index.js';
import { synthesizeRain, gradientTransmission, type SynthesizeRainOptions } from '../../src/restore/index.js';
import { mulberry32 } from '../../src/core/random.js';
import { PatchSetWriter, sha256File, toUint8, type ItemMeta } from './patchset.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const SEED = 15;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'rain100h,synth,teacher' },
    'teacher-budget': { type: 'string', default: 'Infinity' },
    'teacher-count': { type: 'string', default: '38' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    data: { type: 'string', default: path.resolve(REPO, '../shared/data') },
  },
});
const smoke = args.smoke;
const outRoot = args.out ?? path.join(REPO, 'training', 'cache', smoke ? 'smoke' : '');
const data = args.data;
const command = `node --import tsx training/prepare/derain-fast.ts ${process.argv.slice(2).join(' ')}`.trim();
const only = new Set(args.only.split(','));

/** Rain100H dev pair numbers used for training; the rest (71-100) are the held-out test pairs. */
export const RAIN100H_TRAIN_MAX = 30;

const listImages = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.(png|jpe?g|bmp)$/i.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => path.join(dir, f));

const load = async (file: string): Promise<RawImage> => (await decodeImage(file)).image;
/** Side of the square canvas a Rain100H pair is stored on (its longer side). */
const RAIN100H_CANVAS = 480;

/** `img` at the top left of a side x side black canvas, as uint8 HWC bytes (orientation kept). */
function onCanvas(img: RawImage, side: number): Uint8Array {
  const bytes = toUint8(img);
  const out = new Uint8Array(side * side * 3);
  for (let y = 0; y < img.height; y++) out.set(bytes.subarray(y * img.width * 3, (y + 1) * img.width * 3), y * side * 3);
  return out;
}

async function rain100h(): Promise<void> {
  const dir = path.join(data, 'derain/rain100H-dev');
  const all = listImages(path.join(dir, 'rainy')).map((f) => Number(path.basename(f, '.png')));
  const numbers = smoke ? [1, 2, RAIN100H_TRAIN_MAX + 1, RAIN100H_TRAIN_MAX + 2] : all;
  const w = new PatchSetWriter(path.join(outRoot, 'derain-rain100h'), {
    name: 'derain-rain100h',
    command,
    seed: SEED,
    arrays: {
      rainy: { shape: [RAIN100H_CANVAS, RAIN100H_CANVAS, 3], dtype: 'uint8' },
      clean: { shape: [RAIN100H_CANVAS, RAIN100H_CANVAS, 3], dtype: 'uint8' },
    },
    notes: `Rain100H dev pairs in their own orientation at the top left of a ${RAIN100H_CANVAS}x${RAIN100H_CANVAS} zero canvas (item width/height = the image); split by pair number: 1-${RAIN100H_TRAIN_MAX} train, ${RAIN100H_TRAIN_MAX + 1}-${Math.max(...numbers)} test`,
  });
  for (const n of numbers) {
    const rainyPath = path.join(dir, 'rainy', `${n}.png`);
    const cleanPath = path.join(dir, 'clean', `${n}.png`);
    const rainy = await load(rainyPath);
    const clean = await load(cleanPath);
    if (Math.max(rainy.width, rainy.height) > RAIN100H_CANVAS) throw new Error(`${rainyPath}: ${rainy.width}x${rainy.height}, larger than ${RAIN100H_CANVAS}`);
    if (clean.width !== rainy.width || clean.height !== rainy.height)
      throw new Error(`${cleanPath}: ${clean.width}x${clean.height}, rainy is ${rainy.width}x${rainy.height}`);
    w.add(
      { rainy: onCanvas(rainy, RAIN100H_CANVAS), clean: onCanvas(clean, RAIN100H_CANVAS) },
      {
        group: 'rain100H',
        split: n <= RAIN100H_TRAIN_MAX ? 'train' : 'test',
        pair: n,
        width: rainy.width,
        height: rainy.height,
        source: { path: path.relative(data, rainyPath), sha256: sha256File(rainyPath) },
      },
    );
  }
  console.log(`derain-rain100h: ${w.count} pairs, manifest sha256 ${w.close()}`);
}

/** Rain parameters drawn from `rand`: light to Rain100H-heavy streaks, sometimes a veil. */
function rainParams(rand: () => number, h: number, w: number): { opts: SynthesizeRainOptions; meta: Record<string, unknown> } {
  const between = (a: number, b: number): number => a + (b - a) * rand();
  const density = between(0.002, 0.02);
  const lo = Math.round(between(6, 20));
  const length: [number, number] = [lo, lo + Math.round(between(8, 40))];
  const angle = between(-25, 25);
  const i0 = between(0.15, 0.5);
  const intensity: [number, number] = [i0, Math.min(1, i0 + between(0.1, 0.4))];
  const thickness = 1 + Math.floor(rand() * 3);
  const veiled = rand() < 0.35;
  const top = veiled ? between(0.6, 0.95) : 1;
  const bottom = veiled ? between(top, 1) : 1;
  const a = between(0.7, 0.95);
  const seed = Math.floor(rand() * 2 ** 31);
  const streaks = { density, length, angle, angleJitter: between(1, 8), intensity, thickness };
  return {
    opts: { streaks, transmission: veiled ? gradientTransmission(w, h, top, bottom) : 1, atmosphericLight: [a, a, a], seed },
    meta: { generator: 'synthesizeRain', streaks, veil: veiled ? { top, bottom } : null, atmosphericLight: a, seed },
  };
}

interface CleanCrop {
  readonly file: string;
  readonly group: string;
  readonly crop: [number, number, number, number];
  readonly clean: RawImage;
}

/** `count` random size x size crops of the clean photos, photo order shuffled by `rand`. */
async function cleanCrops(rand: () => number, size: number, perPhoto: number, maxPhotos: number): Promise<CleanCrop[]> {
  const root = path.join(data, 'clean-photos');
  const files = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => listImages(path.join(root, e.name)).map((file) => ({ file, group: e.name })));
  // Fisher-Yates with the seeded generator: a fixed, source-mixed order.
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [files[i], files[j]] = [files[j], files[i]];
  }
  const out: CleanCrop[] = [];
  for (const { file, group } of files.slice(0, maxPhotos)) {
    const img = await load(file);
    if (img.width < size || img.height < size) continue;
    for (let k = 0; k < perPhoto; k++) {
      const x = Math.floor(rand() * (img.width - size + 1));
      const y = Math.floor(rand() * (img.height - size + 1));
      out.push({ file, group, crop: [x, y, size, size], clean: cropImage(img, x, y, size, size) });
    }
  }
  return out;
}

function cleanMeta(c: CleanCrop, degradation: Record<string, unknown>): ItemMeta {
  return { group: c.group, split: 'train', source: { path: path.relative(data, c.file), sha256: sha256File(c.file) }, crop: c.crop, degradation };
}

async function synth(): Promise<void> {
  const rand = mulberry32(SEED);
  const size = smoke ? 128 : 256;
  const crops = await cleanCrops(rand, size, smoke ? 1 : 3, smoke ? 4 : Infinity);
  const w = new PatchSetWriter(path.join(outRoot, 'derain-synth'), {
    name: 'derain-synth',
    command,
    seed: SEED,
    arrays: { rainy: { shape: [size, size, 3], dtype: 'uint8' }, clean: { shape: [size, size, 3], dtype: 'uint8' } },
    notes: 'synthetic rain (synthesizeRain) over clean-photo crops; target = the clean crop',
  });
  for (const c of crops) {
    const { opts, meta } = rainParams(rand, size, size);
    w.add({ rainy: synthesizeRain(c.clean, opts).image, clean: c.clean }, cleanMeta(c, meta));
  }
  console.log(`derain-synth: ${w.count} crops, manifest sha256 ${w.close()}`);
}

async function teacher(): Promise<void> {
  const budget = Number(args['teacher-budget']);
  const maxCount = Number(args['teacher-count']);
  const rand = mulberry32(SEED + 1);
  const size = smoke ? 128 : 256; // multiples of MAXIM's 64
  // Real rainy photos: 3 crops each (no clean image exists).
  const realFiles = [
    ...listImages(path.join(data, 'derain/samples/ddn_xmu/real_world')).map((file) => ({ file, group: 'ddn_xmu-real' })),
    ...listImages(path.join(data, 'real-degraded/rain_real_raindrop')).map((file) => ({ file, group: 'rain_real_raindrop' })),
  ].slice(0, smoke ? 1 : Infinity);
  const real: Array<{ meta: ItemMeta; rainy: RawImage }> = [];
  for (const { file, group } of realFiles) {
    const img = await load(file);
    for (let k = 0; k < (smoke ? 1 : 3); k++) {
      const x = Math.floor(rand() * (img.width - size + 1));
      const y = Math.floor(rand() * (img.height - size + 1));
      const meta: ItemMeta = {
        group,
        split: 'train',
        source: { path: path.relative(data, file), sha256: sha256File(file) },
        crop: [x, y, size, size],
        hasClean: false,
      };
      real.push({ meta, rainy: cropImage(img, x, y, size, size) });
    }
  }
  const synthetic = (await cleanCrops(rand, size, 1, smoke ? 1 : Infinity)).map((c) => {
    const { opts, meta } = rainParams(rand, size, size);
    return { meta: { ...cleanMeta(c, meta), hasClean: true } as ItemMeta, rainy: synthesizeRain(c.clean, opts).image, clean: c.clean };
  });
  // Interleave, so that a budget cut keeps both kinds: real, synth, synth, real, synth, synth, ...
  const order: Array<{ meta: ItemMeta; rainy: RawImage; clean?: RawImage }> = [];
  for (let r = 0, s = 0; r < real.length || s < synthetic.length; ) {
    if (r < real.length) order.push(real[r++]);
    for (let k = 0; k < 2 && s < synthetic.length; k++) order.push(synthetic[s++]);
  }
  const w = new PatchSetWriter(path.join(outRoot, 'derain-teacher'), {
    name: 'derain-teacher',
    command,
    seed: SEED,
    arrays: {
      rainy: { shape: [size, size, 3], dtype: 'uint8' },
      teacher: { shape: [size, size, 3], dtype: 'uint8' },
      clean: { shape: [size, size, 3], dtype: 'uint8' },
    },
    notes: `MAXIM deraining (ImageModel maxim-deraining, onnxruntime, 1 thread) on ${size}px crops; clean is zeros where hasClean is false; the first ${maxCount} of the fixed order (budget ${budget} s)`,
  });
  const model = await ImageModel.load('maxim-deraining', { threads: 1 });
  const zeros = new Uint8Array(size * size * 3);
  const start = performance.now();
  try {
    for (const item of order) {
      if ((performance.now() - start) / 1000 > budget || w.count >= maxCount) break;
      const t0 = performance.now();
      const out = await model.predict(item.rainy);
      w.add({ rainy: item.rainy, teacher: out, clean: item.clean ?? zeros }, { ...item.meta, teacherSeconds: Math.round(performance.now() - t0) / 1000 });
      if (w.count % 10 === 0) console.log(`teacher: ${w.count}/${order.length} crops, ${((performance.now() - start) / 1000).toFixed(0)} s`);
    }
  } finally {
    await model.dispose();
  }
  console.log(`derain-teacher: ${w.count} of ${order.length} crops in ${((performance.now() - start) / 1000).toFixed(0)} s, manifest sha256 ${w.close()}`);
}

if (only.has('rain100h')) await rain100h();
if (only.has('synth')) await synth();
if (only.has('teacher')) await teacher();
