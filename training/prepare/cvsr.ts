/**
 * Patch set for the compressed-video upscaler (training/cvsr.py), written into
 * training/cache/cvsr/ (git-ignored).
 *
 * Every item is one LR window of a decoded H.264 frame, exactly as vsr feeds cvsr: the decoded
 * frame as RGB plus the L0/L1 neighbours warped onto it by the decoded motion vectors
 * (src/video/cvsr.ts, the same functions the product calls, the same reference order), and the
 * x4 ground truth of that window.
 *
 * Clips (each encoded with our VideoWriter, libx264 preset medium, and decoded with our reader):
 *   photos   clean-photos (CBSD68, McMaster, Set14 train; Kodak24 held out as the validation
 *            source) made into 10-frame clips of 320x240 (or 240x320) by a synthetic camera:
 *            pan with sub-pixel steps, slow zoom, small rotation, hand jitter (bicubic sampling).
 *   calendar Vid4 calendar (41 GT frames, real motion) in two 20-frame clips, train.
 *   guitar   MIT EVM guitar (real H.264 432x192 used as pseudo-GT), first 60 frames, train.
 *   faces    4 face-videos/live-real clips (first 24 frames, longer side 480), train.
 * Degradation per clip (seeded): bicubic (sharp 'cubic', 70 %) or area (30 %) x4 down, Gaussian
 * noise sigma 1-5 levels on 40 % of clips, libx264 CRF uniform in 18..32, bf 3.
 *
 * Never used: Vid4 city/foliage/walk and MIT EVM baby (bench/vsr-models.ts tests on them).
 *
 *   node --import tsx training/prepare/cvsr.ts [--smoke] [--clips-per-photo 3] [--out dir] [--data ../shared/data]
 *
 * Arrays: lr [48, 48, 5] uint8 (R, G, B as round(255 v); L0, L1 as 8-bit luma codes, limited
 * range), gt [192, 192, 3] uint8 RGB.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage } from '../../src/core/image/io.js';
import { resizeArea } from '../../src/core/image/geometry.js';
import type { RawImage } from '../../src/core/image/types.js';
import { gaussianSampler, mulberry32 } from '../../src/core/random.js';
import { decodeVideo, decodeVideoRgb, rgbToYuv, VideoWriter, yuvToRgb, type DecodedFrame } from '../../src/core/video/index.js';
import { analyseForCvsr, neighbourLuma, referenceOrder } from '../../src/video/cvsr.js';
import { PatchSetWriter, sha256File, type ItemMeta } from './patchset.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const SEED = 19;
const LR_PATCH = 48;
const SCALE = 4;

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    'clips-per-photo': { type: 'string', default: '3' },
    out: { type: 'string' },
    data: { type: 'string', default: path.resolve(REPO, '../shared/data') },
  },
});
const smoke = args.smoke;
const data = args.data;
const outDir = args.out ?? path.join(REPO, 'training', 'cache', smoke ? 'smoke/cvsr' : 'cvsr');
const command = `node --import tsx training/prepare/cvsr.ts ${process.argv.slice(2).join(' ')}`.trim();
const rand = mulberry32(SEED);
const gauss = gaussianSampler(rand);
const work = mkdtempSync(path.join(tmpdir(), 'cvsr-prep-'));

const writer = new PatchSetWriter(outDir, {
  name: 'cvsr',
  command,
  seed: SEED,
  arrays: { lr: { shape: [LR_PATCH, LR_PATCH, 5], dtype: 'uint8' }, gt: { shape: [LR_PATCH * SCALE, LR_PATCH * SCALE, 3], dtype: 'uint8' } },
  notes: 'lr: R,G,B round(255v) of yuvToRgb(decoded), then L0/L1 warped luma codes (limited range); gt: x4 RGB. Split by source: Kodak24 = val.',
});

interface Degradation {
  down: 'cubic' | 'area';
  noise: number;
  crf: number;
}

function drawDegradation(): Degradation {
  return { down: rand() < 0.7 ? 'cubic' : 'area', noise: rand() < 0.4 ? 1 + 4 * rand() : 0, crf: 18 + Math.floor(rand() * 15) };
}

async function downscale(img: RawImage, kind: Degradation['down']): Promise<RawImage> {
  const w = img.width / SCALE;
  const h = img.height / SCALE;
  if (kind === 'area') return resizeArea(img, w, h);
  const u8 = Buffer.from(img.data.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  const out = await sharp(u8, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();
  return { width: w, height: h, channels: 3, data: Float32Array.from(out, (v) => v / 255) };
}

/** Keys cubic (a = -0.5) sample of channel c at (x, y), edges clamped. */
function bicubicAt(img: RawImage, x: number, y: number, out: Float32Array, o: number): void {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const w = (t: number): number => {
    const a = Math.abs(t);
    return a <= 1 ? 1.5 * a ** 3 - 2.5 * a ** 2 + 1 : a < 2 ? -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2 : 0;
  };
  const wx = [w(1 + fx), w(fx), w(1 - fx), w(2 - fx)];
  const wy = [w(1 + fy), w(fy), w(1 - fy), w(2 - fy)];
  let r = 0;
  let g = 0;
  let b = 0;
  for (let j = 0; j < 4; j++) {
    const yy = Math.min(img.height - 1, Math.max(0, y0 - 1 + j));
    for (let i = 0; i < 4; i++) {
      const xx = Math.min(img.width - 1, Math.max(0, x0 - 1 + i));
      const k = wy[j] * wx[i];
      const s = (yy * img.width + xx) * 3;
      r += k * img.data[s];
      g += k * img.data[s + 1];
      b += k * img.data[s + 2];
    }
  }
  out[o] = Math.min(1, Math.max(0, r));
  out[o + 1] = Math.min(1, Math.max(0, g));
  out[o + 2] = Math.min(1, Math.max(0, b));
}

/** A synthetic camera over a still photo: `n` frames of w x h, with pan, zoom, rotation and jitter. */
function cameraClip(photo: RawImage, w: number, h: number, n: number): { frames: RawImage[]; motion: Record<string, number> } {
  const slow = rand() < 0.3;
  const vx = (rand() * 2 - 1) * (slow ? 1 : 3.5);
  const vy = (rand() * 2 - 1) * (slow ? 1 : 2.5);
  const zoom0 = 1 + 0.2 * rand();
  const dz = (rand() * 2 - 1) * 0.008;
  const dtheta = ((rand() * 2 - 1) * 0.3 * Math.PI) / 180;
  const jitter = rand() < 0.5 ? 0.6 : 0;
  const travelX = Math.abs(vx) * n;
  const travelY = Math.abs(vy) * n;
  const slackX = Math.max(0, photo.width - w * zoom0 - travelX);
  const slackY = Math.max(0, photo.height - h * zoom0 - travelY);
  let cx = (w * zoom0) / 2 + (vx < 0 ? travelX : 0) + rand() * slackX;
  let cy = (h * zoom0) / 2 + (vy < 0 ? travelY : 0) + rand() * slackY;
  const frames: RawImage[] = [];
  for (let k = 0; k < n; k++) {
    const s = zoom0 * (1 + dz) ** k;
    const th = dtheta * k;
    const c = Math.cos(th) * s;
    const sn = Math.sin(th) * s;
    const jx = jitter * gauss();
    const jy = jitter * gauss();
    const out = new Float32Array(w * h * 3);
    for (let Y = 0; Y < h; Y++) {
      for (let X = 0; X < w; X++) {
        const dx = X + 0.5 - w / 2;
        const dy = Y + 0.5 - h / 2;
        bicubicAt(photo, cx + jx + c * dx - sn * dy - 0.5, cy + jy + sn * dx + c * dy - 0.5, out, (Y * w + X) * 3);
      }
    }
    frames.push({ width: w, height: h, channels: 3, data: out });
    cx += vx;
    cy += vy;
  }
  return { frames, motion: { vx, vy, zoom0, dz, dthetaDeg: (dtheta * 180) / Math.PI, jitter } };
}

/** Degrades GT frames as users' video is, encodes and decodes them through our reader/writer. */
async function degradeAndDecode(gt: readonly RawImage[], d: Degradation): Promise<DecodedFrame[]> {
  const file = path.join(work, 'clip.mp4');
  const first = await downscale(gt[0], d.down);
  const w = await VideoWriter.open(file, { width: first.width, height: first.height, fps: 25, crf: d.crf, preset: 'medium', bFrames: 3, force: true });
  for (const g of gt) {
    const lr = g === gt[0] ? first : await downscale(g, d.down);
    if (d.noise > 0) for (let i = 0; i < lr.data.length; i++) lr.data[i] = Math.min(1, Math.max(0, lr.data[i] + (d.noise / 255) * gauss()));
    w.write(rgbToYuv(lr));
  }
  await w.finish();
  const out: DecodedFrame[] = [];
  for await (const f of decodeVideo(file)) out.push(f);
  return out;
}

async function* replay(frames: readonly DecodedFrame[]): AsyncGenerator<DecodedFrame> {
  yield* frames;
}

let clipCount = 0;
/** Decodes a degraded clip in vsr's reference order and writes `perFrame` random windows of each frame. */
async function addClip(gt: readonly RawImage[], meta: ItemMeta & { degradation: Record<string, unknown> }, d: Degradation, perFrame: number): Promise<void> {
  const decoded = await degradeAndDecode(gt, d);
  clipCount++;
  for await (const o of referenceOrder(replay(decoded))) {
    const f = o.frame;
    const analysis = analyseForCvsr(o);
    const { l0, l1 } = neighbourLuma(f, analysis);
    const rgb = yuvToRgb(f);
    const g = gt[f.index];
    for (let p = 0; p < perFrame; p++) {
      const x = Math.floor(rand() * (f.width - LR_PATCH + 1));
      const y = Math.floor(rand() * (f.height - LR_PATCH + 1));
      const lr = new Uint8Array(LR_PATCH * LR_PATCH * 5);
      for (let j = 0; j < LR_PATCH; j++) {
        for (let i = 0; i < LR_PATCH; i++) {
          const s = (y + j) * f.width + x + i;
          const t = (j * LR_PATCH + i) * 5;
          lr[t] = Math.round(rgb.data[3 * s] * 255);
          lr[t + 1] = Math.round(rgb.data[3 * s + 1] * 255);
          lr[t + 2] = Math.round(rgb.data[3 * s + 2] * 255);
          lr[t + 3] = l0[s];
          lr[t + 4] = l1[s];
        }
      }
      const H = LR_PATCH * SCALE;
      const hr = new Uint8Array(H * H * 3);
      for (let j = 0; j < H; j++) {
        for (let i = 0; i < H; i++) {
          const s = ((y * SCALE + j) * g.width + x * SCALE + i) * 3;
          const t = (j * H + i) * 3;
          for (let k = 0; k < 3; k++) hr[t + k] = Math.round(Math.min(1, Math.max(0, g.data[s + k])) * 255);
        }
      }
      writer.add(
        { lr, gt: hr },
        {
          ...meta,
          crop: [x * SCALE, y * SCALE, H, H],
          degradation: { ...meta.degradation, ...d },
          frame: f.index,
          pictureType: f.pictureType,
          aligned: analysis !== undefined,
        },
      );
    }
  }
}

const listImages = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.(png|jpe?g|bmp)$/i.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

/** Crops to sides divisible by 8 (x4 down lands on even LR sizes for 4:2:0). */
function cropTo8(img: RawImage): RawImage {
  const w = img.width - (img.width % 8);
  const h = img.height - (img.height % 8);
  if (w === img.width && h === img.height) return img;
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * 3, (y * img.width + w) * 3), y * w * 3);
  return { width: w, height: h, channels: 3, data };
}

const started = performance.now();
try {
  // Photos with a synthetic camera. Kodak24 is the validation source (never trained on).
  const photoSets = smoke ? ['Kodak24', 'Set14'] : ['CBSD68', 'McMaster', 'Set14', 'Kodak24'];
  const clipsPerPhoto = smoke ? 1 : Number(args['clips-per-photo']);
  for (const set of photoSets) {
    const dir = path.join(data, 'clean-photos', set);
    const files = listImages(dir).slice(0, smoke ? 1 : undefined);
    const split = set === 'Kodak24' ? 'val' : 'train';
    for (const file of files) {
      const full = path.join(dir, file);
      const photo = (await decodeImage(full)).image;
      const rgb =
        photo.channels === 3
          ? photo
          : { ...photo, channels: 3 as const, data: Float32Array.from({ length: photo.width * photo.height * 3 }, (_, i) => photo.data[Math.floor(i / 3)]) };
      for (let c = 0; c < (split === 'val' ? 1 : clipsPerPhoto); c++) {
        const [w, h] = rgb.width >= rgb.height ? [320, 240] : [240, 320];
        const clip = cameraClip(rgb, w, h, smoke ? 6 : 10);
        await addClip(
          clip.frames,
          { group: `${set}/${file}`, split, source: { path: path.relative(data, full), sha256: sha256File(full) }, degradation: { camera: clip.motion }, set },
          drawDegradation(),
          2,
        );
      }
      console.error(`${set}/${file}: ${writer.count} items, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  if (!smoke) {
    // Vid4 calendar: real motion, GT frames.
    const calDir = path.join(data, 'video/vid4-calendar/GT');
    const sub = readdirSync(calDir)[0];
    const calFiles = listImages(path.join(calDir, sub));
    const cal: RawImage[] = [];
    for (const f of calFiles) cal.push(cropTo8((await decodeImage(path.join(calDir, sub, f))).image));
    for (const part of [cal.slice(0, 20), cal.slice(20, 40)]) {
      await addClip(
        part,
        {
          group: 'vid4-calendar',
          split: 'train',
          source: { path: `video/vid4-calendar/GT/${sub}`, sha256: sha256File(path.join(calDir, sub, calFiles[0])) },
          degradation: {},
          set: 'vid4-calendar',
        },
        drawDegradation(),
        4,
      );
    }
    console.error(`calendar: ${writer.count} items`);
    // Real H.264 clips as pseudo-GT: MIT EVM guitar and four live face clips.
    const realClips: Array<{ file: string; frames: number; perFrame: number; maxSide?: number }> = [
      { file: 'video/more/MIT_EVM_guitar.mp4', frames: 60, perFrame: 2 },
      ...readdirSync(path.join(data, 'face-videos/live-real'))
        .filter((f) => f.endsWith('.mp4'))
        .sort()
        .filter((_, i) => i % 4 === 0)
        .slice(0, 4)
        .map((f) => ({ file: `face-videos/live-real/${f}`, frames: 24, perFrame: 3, maxSide: 480 })),
    ];
    for (const c of realClips) {
      const full = path.join(data, c.file);
      const gt: RawImage[] = [];
      for await (const f of decodeVideoRgb(full, { maxSide: c.maxSide })) {
        gt.push(cropTo8(f.image));
        if (gt.length === c.frames) break;
      }
      for (const part of [gt.slice(0, gt.length >> 1), gt.slice(gt.length >> 1)]) {
        await addClip(
          part,
          { group: c.file, split: 'train', source: { path: c.file, sha256: sha256File(full) }, degradation: {}, set: path.dirname(c.file) },
          drawDegradation(),
          c.perFrame,
        );
      }
      console.error(`${c.file}: ${writer.count} items`);
    }
  }
  const sha = writer.close();
  console.error(
    `wrote ${writer.count} items from ${clipCount} clips to ${outDir} (manifest sha256 ${sha}) in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
