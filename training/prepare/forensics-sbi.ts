/**
 * Patch set for the CNN forensic detector (training/forensics_sbi_cnn.py): pairs of face crops,
 * one real and one self-blended (the library's selfBlend, SBI recipe), each pair degraded the
 * same way as a real video or upload would be (loss of resolution; JPEG or H.264 at several
 * qualities), so that the only difference inside a pair is the blend.
 *
 *   node --import tsx training/prepare/forensics-sbi.ts [--faces ../shared/data/faces]
 *        [--videos ../shared/data/face-videos] [--variants 6] [--seed 1] [--out training/cache/forensics-sbi] [--only photos|videos]
 *
 * Real faces: every face photo under --faces (identities from deepface's list, knn folders,
 * obama-*.jpg), and evenly spaced frames of the live-real clips under --videos, grouped by
 * PERSON (bench/lib/faceVideos.ts). People listed as test there are never read here; the
 * validation people and 20% of the photo identities form the validation split (calibration and
 * early stopping). No generated clip and no FaceForensics++/DFDC material is used.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage, resizeArea, toRgb, cropImage, type RawImage } from '../../src/core/image/index.js';
import { mulberry32 } from '../../src/core/random.js';
import { detectFaces, FaceModels, readVideoFrames, type Face } from '../../src/face/index.js';
import { blendRegionMask, selfBlend, type BlendRegion } from '../../src/trust/forensics/selfBlend.js';
import { cnnCrop, cnnCropSquare, CNN_INPUT } from '../../src/trust/forensics/cnnCrop.js';
import { evenlySpaced } from '../../src/trust/forensics/analyze.js';
import { decodeVideo, probeVideo, rgbToYuv, VideoWriter, yuvToRgb } from '../../src/core/video/index.js';
import { commandLine, REPO_ROOT, sharedData } from '../../bench/lib/common.js';
import { listFacePhotos } from '../../bench/lib/faces.js';
import { listFaceVideos, splitOfPerson } from '../../bench/lib/faceVideos.js';
import { PatchSetWriter, sha256File } from './patchset.js';

const { values: args } = parseArgs({
  options: {
    faces: { type: 'string', default: sharedData('faces') },
    videos: { type: 'string', default: sharedData('face-videos') },
    variants: { type: 'string', default: '6' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(REPO_ROOT, 'training/cache/forensics-sbi') },
    // Photos and video frames can be prepared as two sets by two processes (the trainer reads several).
    only: { type: 'string' },
  },
});
const SEED = Number(args.seed);
const VARIANTS = Number(args.variants);
const CACHE = path.join(REPO_ROOT, 'training/cache/forensics-sbi-faces.json');
/** Frames per clip: MEAD gives 8 short clips per person, the other sources one or two longer ones. */
/** Largest crop side kept: bigger faces (high-resolution photos) are first reduced to it. */
const MAX_CROP = 256;
const framesFor = (rel: string): number => (/MEAD/.test(rel) ? 3 : 12);

type StoredFace = { box: Face['box']; region: Face['region']; quality: number; landmarks: number[] };
interface Picture {
  key: string;
  file: string;
  group: string;
  split: 'train' | 'val';
  kind: 'photo' | 'video-frame';
  load: () => Promise<RawImage>;
}

/** Frames `wanted` of a clip: streamed through the H.264/H.265 reader, or the face module's reader for other codecs. */
async function clipFrames(file: string, count: number): Promise<Map<number, RawImage>> {
  const out = new Map<number, RawImage>();
  try {
    const info = await probeVideo(file);
    const wanted = new Set(evenlySpaced(Math.max(1, info.frameCount), count));
    for await (const f of decodeVideo(file, { motionVectors: false })) if (wanted.has(f.index)) out.set(f.index, yuvToRgb(f));
  } catch {
    const clip = await readVideoFrames(file, { maxSeconds: 10, maxSide: 1280 });
    for (const i of evenlySpaced(clip.frames.length, count)) out.set(i, clip.frames[i]);
  }
  return out;
}

async function pictures(): Promise<Picture[]> {
  const out: Picture[] = [];
  const photos = await listFacePhotos(args.faces!);
  const ids = [...new Set(photos.map((p) => p.identity))].sort();
  const rand = mulberry32(SEED + 7919);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const valIds = new Set(ids.slice(0, Math.round(ids.length * 0.2)));
  for (const p of photos) {
    out.push({
      key: p.file,
      file: p.file,
      group: `photo:${p.identity}`,
      split: valIds.has(p.identity) ? 'val' : 'train',
      kind: 'photo',
      load: async () => toRgb((await decodeImage(p.file)).image),
    });
  }
  for (const v of listFaceVideos(args.videos!)) {
    if (v.label !== 'real') continue;
    const split = splitOfPerson(v.person);
    if (split === 'test') continue;
    let frames: Map<number, RawImage> | undefined;
    const count = framesFor(v.rel);
    // Indices are known only after probing; load lazily, once per clip.
    const indices = await (async () => {
      try {
        const info = await probeVideo(v.file);
        return evenlySpaced(Math.max(1, info.frameCount), count);
      } catch {
        return null;
      }
    })();
    const load = async () => (frames ??= await clipFrames(v.file, count));
    if (indices) {
      for (const i of indices)
        out.push({
          key: `${v.rel}#${i}`,
          file: v.file,
          group: v.person,
          split,
          kind: 'video-frame',
          load: async () => (await load()).get(i) ?? [...(await load()).values()][0],
        });
    } else {
      for (let k = 0; k < count; k++)
        out.push({ key: `${v.rel}#k${k}`, file: v.file, group: v.person, split, kind: 'video-frame', load: async () => [...(await load()).values()][k] });
    }
  }
  return out;
}

async function detectAll(pics: Picture[]): Promise<Record<string, StoredFace[]>> {
  const cache: Record<string, StoredFace[]> = existsSync(CACHE) ? JSON.parse(await readFile(CACHE, 'utf8')) : {};
  const missing = pics.filter((p) => !cache[p.key]);
  if (missing.length) {
    const models = await FaceModels.load({ mesh: true, embed: false });
    try {
      for (const [i, p] of missing.entries()) {
        const faces = await detectFaces(models, await p.load(), { mesh: true, minScore: 0.6 });
        cache[p.key] = faces.filter((f) => f.landmarks).map((f) => ({ box: f.box, region: f.region, quality: f.quality, landmarks: Array.from(f.landmarks!) }));
        process.stderr.write(`\rdetect ${i + 1}/${missing.length}`);
      }
    } finally {
      models.dispose();
    }
    process.stderr.write('\n');
    await mkdir(path.dirname(CACHE), { recursive: true });
    await writeFile(CACHE, JSON.stringify(cache));
  }
  return cache;
}

const toBytes = (img: RawImage): Buffer => Buffer.from(Uint8Array.from(img.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));

async function jpeg(img: RawImage, quality: number): Promise<RawImage> {
  const buf = await sharp(toBytes(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  return (await decodeImage(buf)).image;
}

/** One frame through x264 (4:2:0, the given CRF) and back: what a video encoder does to a picture. */
async function h264(img: RawImage, crf: number, dir: string): Promise<RawImage> {
  const file = path.join(dir, `f${Math.floor(Math.random() * 1e9)}.mp4`);
  const writer = await VideoWriter.open(file, { width: img.width, height: img.height, fps: 25, crf, preset: 'veryfast' });
  writer.write(rgbToYuv(img));
  await writer.finish();
  let out: RawImage | undefined;
  for await (const f of decodeVideo(file, { motionVectors: false })) out ??= yuvToRgb(f);
  await rm(file, { force: true });
  return out!;
}

type Compression = { codec: 'none' } | { codec: 'jpeg'; quality: number } | { codec: 'h264'; crf: number };

function pickCompression(rand: () => number): Compression {
  const r = rand();
  if (r < 0.15) return { codec: 'none' };
  if (r < 0.6) return { codec: 'jpeg', quality: 35 + Math.floor(rand() * 61) };
  return { codec: 'h264', crf: 18 + Math.floor(rand() * 19) };
}

async function compress(img: RawImage, c: Compression, dir: string): Promise<RawImage> {
  return c.codec === 'jpeg' ? jpeg(img, c.quality) : c.codec === 'h264' ? h264(img, c.crf, dir) : img;
}

function pickRegion(rand: () => number): BlendRegion {
  const r = rand();
  return r < 0.6 ? 'hull' : r < 0.85 ? 'inner' : 'lower';
}

async function main(): Promise<void> {
  if (args.only !== undefined && args.only !== 'photos' && args.only !== 'videos') throw new Error(`--only: photos or videos, got ${args.only}`);
  const pics = (await pictures()).filter((p) => args.only === undefined || (args.only === 'photos') === (p.kind === 'photo'));
  console.log(
    `${pics.length} pictures (${pics.filter((p) => p.kind === 'photo').length} photos, ${pics.filter((p) => p.kind === 'video-frame').length} video frames)`,
  );
  const faces = await detectAll(pics);
  const work = await mkdtemp(path.join(tmpdir(), 'cs-sbi-'));
  const writer = new PatchSetWriter(args.out!, {
    name: 'forensics-sbi',
    command: commandLine(),
    seed: SEED,
    arrays: { image: { shape: [CNN_INPUT, CNN_INPUT, 3], dtype: 'uint8' }, label: { shape: [1], dtype: 'float32' } },
    notes: 'Pairs (real, self-blended) of face crops, CNN_INPUT square, same degradation within a pair; label 1 = self-blended.',
  });
  const rand = mulberry32(SEED);
  let pairs = 0;
  try {
    for (const [n, p] of pics.entries()) {
      const list = (faces[p.key] ?? [])
        .filter((f) => Math.max(f.box.width, f.box.height) >= 64 && f.quality >= 0.3)
        .sort((a, b) => b.box.width - a.box.width)
        .slice(0, 3);
      if (list.length === 0) continue;
      const img = await p.load();
      const sha = sha256File(p.file);
      for (const f of list) {
        for (let v = 0; v < VARIANTS; v++) {
          const sq = cnnCropSquare(f.region);
          // Work region: the crop square with a margin, inside the picture.
          const m = sq.size * 0.25;
          const x0 = Math.max(0, Math.floor(sq.x - m));
          const y0 = Math.max(0, Math.floor(sq.y - m));
          const x1 = Math.min(img.width, Math.ceil(sq.x + sq.size + m));
          const y1 = Math.min(img.height, Math.ceil(sq.y + sq.size + m));
          if (x1 - x0 < 32 || y1 - y0 < 32) continue;
          let region = cropImage(img, x0, y0, x1 - x0, y1 - y0);
          // Resolution: half the time as found (at most MAX_CROP px across: what video faces
          // reach), else as if the face were filmed smaller.
          const target = 64 + rand() * 176;
          const k = Math.min(1, MAX_CROP / sq.size, rand() < 0.5 ? 1 : target / sq.size);
          const w = Math.max(32, 2 * Math.round((region.width * k) / 2));
          const h = Math.max(32, 2 * Math.round((region.height * k) / 2));
          const kx = w / region.width;
          const ky = h / region.height;
          region = w === region.width && h === region.height ? region : resizeArea(region, w, h);
          const lm = Float32Array.from(f.landmarks, (val, i) => (i % 3 === 0 ? (val - x0) * kx : i % 3 === 1 ? (val - y0) * ky : val));
          const blendRand = mulberry32(Math.floor(rand() * 2 ** 31));
          const which = pickRegion(rand);
          const deform = 0.01 + 0.03 * rand();
          const fake = selfBlend(region, blendRegionMask(lm, w, h, which), blendRand, { deform, contrast: 0.1 });
          const comp = pickCompression(rand);
          const real = await compress(region, comp, work);
          const blended = await compress(fake.image, comp, work);
          // The detector's crop, with a little of the face detector's jitter.
          const j = sq.size * 0.03;
          const jx = (rand() * 2 - 1) * j;
          const jy = (rand() * 2 - 1) * j;
          const js = 1 + (rand() * 2 - 1) * 0.04;
          const crop = { x: (sq.x + jx - x0) * kx, y: (sq.y + jy - y0) * ky, size: sq.size * js * kx };
          const meta = {
            group: p.group,
            split: p.split,
            source: { path: path.relative(REPO_ROOT, p.file), sha256: sha },
            crop: [x0, y0, x1 - x0, y1 - y0] as const,
            frame: p.key,
            pair: pairs,
            degradation: { scale: Math.round(kx * 1000) / 1000, ...comp },
          };
          writer.add({ image: cnnCrop(real, crop), label: Float32Array.of(0) }, meta);
          writer.add({ image: cnnCrop(blended, crop), label: Float32Array.of(1) }, { ...meta, blend: { region: which, ...fake.recipe } });
          pairs++;
        }
      }
      process.stderr.write(`\rprepare ${n + 1}/${pics.length}: ${pairs} pairs`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const sha = writer.close();
  console.log(`\n${pairs} pairs -> ${path.relative(REPO_ROOT, args.out!)} (manifest sha256 ${sha})`);
}

await main();
