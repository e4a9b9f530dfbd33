/**
 * Which network should vsr use by default? Per-frame quality of each upscaler on real clips
 * degraded as users' video is, plus codec-mode skipping and speed for the candidates (issue 19).
 *
 *   node --import tsx bench/vsr-models.ts [--realesr <realesr-animevideov3-x4.param>] [--frames 6]
 *        [--threads 2] [--speed-threads n] [--data <shared video dir>] [--out bench/results] [--skip-speed]
 *        [--methods esrgan,cvsr,realesr] [--write-card]
 *
 * Clips (x4, BI + H.264): ground truth -> bicubic x4 down (sharp, kernel cubic) -> YUV 4:2:0
 * BT.601 -> libx264 CRF 23, preset medium, bf 3 -> decoded. Ground truth: Vid4 city / foliage /
 * walk (first `frames` of the 10-frame FFV1 files in video/more, read by core/video) and the real
 * natural clip MIT EVM "baby" (h264 960x544; its centre 640x352 crop used as pseudo-GT, as in the
 * issue's news-clip protocol). Nothing here was used to train any model (realesr-animevideov3 and
 * ESRGAN are pretrained elsewhere), so all figures are cross-source.
 * Methods: bicubic x4; ESRGAN-slim (@upscalerjs) per frame (mode full) and in codec mode at skip
 * threshold 8 (the default); cvsr (models/vsr-cvsr, trained here on other sources: see its card)
 * per frame, in codec mode at the library's cvsr defaults (threshold 6, tile 16) and at the
 * earlier ones (threshold 8, tile 32);
 * and realesr (when --realesr is given) the same two ways; codec rows report the skipped compute.
 * Flicker: RMS over frames 1.. of (out_t - out_{t-1}) - (gt_t - gt_{t-1}) on Y (8-bit levels):
 * temporal change the method adds or removes against the ground truth; lower is steadier.
 * Quality: Y-PSNR (MATLAB BT.601 luma, crop_border 0) mean over frames, on float outputs.
 * Speed: 320x180 -> 1280x720 frames per second (wall, SR of decoded frames, after a warm-up frame)
 * on a clip made from Vid4 city resized to 320x180 (sharp, lanczos3), CRF 23; cvsr always, realesr
 * when given.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { psnr } from '../src/core/metrics/index.js';
import type { RawImage } from '../src/core/image/types.js';
import { decodeVideo, decodeVideoRgb, rgbToYuv, superResolveFrames, VideoWriter, yuvToRgb, type DecodedFrame, type VsrOptions } from '../src/video/index.js';
import { commandLine, machineInfo, mean, round, sharedData, table, timestamp, writeJsonPair } from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    realesr: { type: 'string' },
    frames: { type: 'string', default: '6' },
    threads: { type: 'string', default: '2' },
    /** onnxruntime threads for the speed rows (default: --threads). */
    'speed-threads': { type: 'string' },
    data: { type: 'string', default: sharedData('video') },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    'skip-speed': { type: 'boolean', default: false },
    methods: { type: 'string', default: 'esrgan,cvsr,realesr' },
    /** Copy the cvsr figures of this run into models/vsr-cvsr/card.json (quality: cross-source rows; speed). */
    'write-card': { type: 'boolean', default: false },
  },
});
const families = new Set(args.methods!.split(','));
const FRAMES = Number(args.frames);
const THREADS = Number(args.threads);
const SPEED_THREADS = Number(args['speed-threads'] ?? args.threads);
const SCALE = 4;

async function resize(img: RawImage, w: number, h: number, kernel: 'cubic' | 'lanczos3'): Promise<RawImage> {
  const u8 = Buffer.from(img.data.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  const out = await sharp(u8, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { kernel, fit: 'fill' })
    .raw()
    .toBuffer();
  return { width: w, height: h, channels: 3, data: Float32Array.from(out, (v) => v / 255) };
}

function crop(img: RawImage, w: number, h: number): RawImage {
  const x0 = (img.width - w) >> 1;
  const y0 = (img.height - h) >> 1;
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, channels: 3, data };
}

async function readGt(file: string, n: number, cropTo?: [number, number]): Promise<RawImage[]> {
  const out: RawImage[] = [];
  for await (const f of decodeVideoRgb(file)) {
    out.push(cropTo ? crop(f.image, cropTo[0], cropTo[1]) : f.image);
    if (out.length === n) break;
  }
  // Sides divisible by 4 so that x4 down and up land on the GT size.
  return out.map((f) => crop(f, f.width - (f.width % 4), f.height - (f.height % 4)));
}

async function encode(file: string, frames: readonly RawImage[]): Promise<DecodedFrame[]> {
  const w = await VideoWriter.open(file, { width: frames[0].width, height: frames[0].height, fps: 25, crf: 23, preset: 'medium', force: true });
  for (const f of frames) w.write(rgbToYuv(f));
  await w.finish();
  const out: DecodedFrame[] = [];
  for await (const f of decodeVideo(file)) out.push(f);
  return out;
}

async function* replay(frames: readonly DecodedFrame[]): AsyncGenerator<DecodedFrame> {
  yield* frames;
}

function yPsnr(a: RawImage, gt: RawImage): number {
  return psnr(a, gt, { channel: 'y', cropBorder: 0 });
}

/** MATLAB BT.601 luma in 8-bit levels. */
function luma(img: RawImage): Float32Array {
  const y = new Float32Array(img.width * img.height);
  for (let i = 0; i < y.length; i++) y[i] = 16 + 65.481 * img.data[3 * i] + 128.553 * img.data[3 * i + 1] + 24.966 * img.data[3 * i + 2];
  return y;
}

/** RMS of the temporal-difference error against the ground truth (see the header). */
function flicker(out: readonly RawImage[], gt: readonly RawImage[]): number {
  let sum = 0;
  let n = 0;
  for (let t = 1; t < out.length; t++) {
    const [a, b, g0, g1] = [luma(out[t - 1]), luma(out[t]), luma(gt[t - 1]), luma(gt[t])];
    for (let i = 0; i < a.length; i++) {
      const d = b[i] - a[i] - (g1[i] - g0[i]);
      sum += d * d;
      n++;
    }
  }
  return n ? Math.sqrt(sum / n) : 0;
}

interface Row {
  clip: string;
  method: string;
  psnrY: number;
  flicker: number;
  skipped: number | null;
  seconds: number;
}

const dir = await mkdtemp(path.join(tmpdir(), 'vsr-models-'));
const rows: Row[] = [];
const speed: Array<{ method: string; fps: number; fpsPerCpuSecond: number; skipped: number; load: number }> = [];
try {
  const clips: Array<{ name: string; file: string; crop?: [number, number] }> = [
    { name: 'vid4-city', file: path.join(args.data!, 'more/vid4_city_gt_10f.mkv') },
    { name: 'vid4-foliage', file: path.join(args.data!, 'more/vid4_foliage_gt_10f.mkv') },
    { name: 'vid4-walk', file: path.join(args.data!, 'more/vid4_walk_gt_10f.mkv') },
    { name: 'mit-evm-baby (real h264, 640x352 crop)', file: path.join(args.data!, 'more/MIT_EVM_baby.mp4'), crop: [640, 352] },
  ];
  const methods: Array<{ method: string; opts: VsrOptions }> = [
    ...(families.has('esrgan')
      ? [
          { method: 'esrgan-slim full', opts: { model: 'esrgan', size: 'slim', mode: 'full' } as VsrOptions },
          { method: 'esrgan-slim codec t8', opts: { model: 'esrgan', size: 'slim', mode: 'codec', skipThreshold: 8 } as VsrOptions },
        ]
      : []),
    ...(families.has('cvsr')
      ? [
          { method: 'cvsr full', opts: { model: 'cvsr', mode: 'full' } as VsrOptions },
          // The library's codec defaults for cvsr (skip threshold 6, tile 16), then the earlier ones.
          { method: 'cvsr codec', opts: { model: 'cvsr', mode: 'codec' } as VsrOptions },
          { method: 'cvsr codec t8 tile32', opts: { model: 'cvsr', mode: 'codec', skipThreshold: 8, tile: 32 } as VsrOptions },
        ]
      : []),
    ...(families.has('realesr') && args.realesr
      ? [
          { method: 'realesr full', opts: { model: args.realesr, mode: 'full' } as VsrOptions },
          { method: 'realesr codec t8', opts: { model: args.realesr, mode: 'codec', skipThreshold: 8 } as VsrOptions },
        ]
      : []),
  ];
  for (const clip of clips) {
    const gt = await readGt(clip.file, FRAMES, clip.crop);
    const lr = await Promise.all(gt.map((g) => resize(g, g.width / SCALE, g.height / SCALE, 'cubic')));
    const decoded = await encode(path.join(dir, 'clip.mp4'), lr);
    const t0 = performance.now();
    const bic = await Promise.all(decoded.map((d) => resize(yuvImage(d), d.width * SCALE, d.height * SCALE, 'cubic')));
    rows.push({
      clip: clip.name,
      method: 'bicubic',
      psnrY: mean(bic.map((b, i) => yPsnr(b, gt[i]))),
      flicker: flicker(bic, gt),
      skipped: null,
      seconds: (performance.now() - t0) / 1000,
    });
    for (const m of methods) {
      const t = performance.now();
      const ps: number[] = [];
      const outs: RawImage[] = [];
      let computed = 0;
      for await (const r of superResolveFrames(replay(decoded), { ...m.opts, scale: SCALE, threads: THREADS })) {
        ps.push(yPsnr(r.image, gt[r.index]));
        outs.push(r.image);
        computed += r.computed;
      }
      rows.push({
        clip: clip.name,
        method: m.method,
        psnrY: mean(ps),
        flicker: flicker(outs, gt),
        skipped: m.opts.mode === 'codec' ? 1 - computed / ps.length : null,
        seconds: (performance.now() - t) / 1000,
      });
      console.error(`${clip.name} ${m.method}: ${mean(ps).toFixed(3)} dB`);
    }
  }
  if (!args['skip-speed']) {
    const city = await readGt(path.join(args.data!, 'more/vid4_city_gt_10f.mkv'), FRAMES);
    const small = await Promise.all(city.map((f) => resize(f, 320, 180, 'lanczos3')));
    const decoded = await encode(path.join(dir, 'speed.mp4'), small);
    for (const m of methods.filter((x) => x.method.startsWith('realesr') || x.method.startsWith('cvsr'))) {
      let n = 0;
      let computed = 0;
      let t = 0;
      let cpu = process.cpuUsage();
      for await (const r of superResolveFrames(replay(decoded), { ...m.opts, scale: SCALE, threads: SPEED_THREADS })) {
        if (n === 0) {
          t = performance.now(); // warm-up frame (session creation) excluded
          cpu = process.cpuUsage();
        } else computed += r.computed;
        n++;
      }
      const used = process.cpuUsage(cpu);
      speed.push({
        method: m.method,
        fps: (n - 1) / ((performance.now() - t) / 1000),
        // Frames per CPU second of this process (all its threads): what an otherwise idle core gives
        // at --threads 1, the figure least disturbed by other work on a shared machine.
        fpsPerCpuSecond: (n - 1) / ((used.user + used.system) / 1e6),
        skipped: 1 - computed / (n - 1),
        load: os.loadavg()[0],
      });
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** The decoded LR picture as the networks see it. */
function yuvImage(d: DecodedFrame): RawImage {
  return yuvToRgb(d);
}

const clipsSeen = [...new Set(rows.map((r) => r.clip))];
const methodNames = [...new Set(rows.map((r) => r.method))];
console.log(
  table(
    ['method', ...clipsSeen, 'mean', 'vs bicubic'],
    methodNames.map((m) => {
      const v = clipsSeen.map((c) => rows.find((r) => r.clip === c && r.method === m)!.psnrY);
      const b = clipsSeen.map((c) => rows.find((r) => r.clip === c && r.method === 'bicubic')!.psnrY);
      return [m, ...v.map((x) => x.toFixed(3)), mean(v).toFixed(3), (mean(v) - mean(b)).toFixed(3)];
    }),
  ),
);
console.log(
  table(
    ['method (flicker, Y levels)', ...clipsSeen, 'mean'],
    methodNames.map((m) => {
      const v = clipsSeen.map((c) => rows.find((r) => r.clip === c && r.method === m)!.flicker);
      return [m, ...v.map((x) => x.toFixed(2)), mean(v).toFixed(2)];
    }),
  ),
);
for (const r of rows.filter((r) => r.skipped !== null)) console.log(`${r.clip} ${r.method}: ${(100 * r.skipped!).toFixed(1)}% compute skipped`);
for (const s of speed) {
  console.log(
    `320x180 -> 1280x720 ${s.method}: ${s.fps.toFixed(3)} fps wall, ${s.fpsPerCpuSecond.toFixed(3)} frames per CPU second (${(100 * s.skipped).toFixed(1)}% skipped), threads ${SPEED_THREADS}, load ${s.load.toFixed(1)}`,
  );
}
const stamp = timestamp();
await writeJsonPair(args.out!, 'vsr-models', stamp, {
  command: commandLine(),
  machine: machineInfo(),
  frames: FRAMES,
  threads: THREADS,
  speedThreads: SPEED_THREADS,
  rows: rows.map((r) => ({ ...r, psnrY: round(r.psnrY, 4), flicker: round(r.flicker, 3) })),
  speed,
});

if (args['write-card']) await writeCvsrCard();

/** The cvsr rows of this run into its model card (the training script wrote the held-out row). */
async function writeCvsrCard(): Promise<void> {
  const cardPath = path.join(REPO, 'models/vsr-cvsr/card.json');
  // biome-ignore lint/suspicious/noExplicitAny: the card is validated by the registry when loaded
  const card: any = JSON.parse(await readFile(cardPath, 'utf8'));
  const command = commandLine();
  const protocol = `x4: bicubic down, H.264 CRF 23 bf 3, ${FRAMES} frames`;
  const bic = (clip: string) => rows.find((r) => r.clip === clip && r.method === 'bicubic')!.psnrY;
  const cross = [];
  for (const method of ['cvsr codec', 'cvsr full']) {
    const mine = rows.filter((r) => r.method === method);
    if (mine.length === 0) continue;
    for (const r of mine) {
      cross.push({
        dataset: `${r.clip} (${protocol})`,
        split: 'cross-source',
        metric: `Y-PSNR (dB), ${method}`,
        value: round(r.psnrY, 3),
        reference: { name: 'bicubic', value: round(bic(r.clip), 3) },
        note:
          r.skipped === null
            ? `flicker ${r.flicker.toFixed(2)} levels`
            : `${(100 * r.skipped).toFixed(1)} % of the network compute skipped; flicker ${r.flicker.toFixed(2)} levels`,
        command,
      });
    }
    cross.push({
      dataset: `mean of ${mine.length} test clips (${protocol})`,
      split: 'cross-source',
      metric: `Y-PSNR (dB), ${method}`,
      value: round(mean(mine.map((r) => r.psnrY)), 3),
      reference: { name: 'bicubic', value: round(mean(mine.map((r) => bic(r.clip))), 3) },
      command,
    });
  }
  card.quality = [...cross, ...card.quality.filter((q: { split: string }) => q.split !== 'cross-source')];
  card.speed = speed
    .filter((x) => x.method === 'cvsr codec' || x.method === 'cvsr full')
    .flatMap((x) => [
      {
        what: `320x180 -> 1280x720, ${x.method}, ${SPEED_THREADS} threads, wall (load ${x.load.toFixed(1)} on 2 shared cores; ${(100 * x.skipped).toFixed(1)} % skipped)`,
        value: round(x.fps, 3),
        unit: 'frames/s',
        command,
      },
      {
        what: `320x180 -> 1280x720, ${x.method}, ${SPEED_THREADS} threads: frames per CPU second of the process`,
        value: round(x.fpsPerCpuSecond, 3),
        unit: 'frames/CPU s',
        command,
      },
    ]);
  await writeFile(cardPath, `${JSON.stringify(card, null, 2)}\n`);
  console.log(`wrote the cvsr figures into ${path.relative(REPO, cardPath)}`);
}
