/**
 * Codec-assisted video super-resolution benchmark (issue 5).
 *
 *   npx tsx bench/vsr.ts [--data <vid4-calendar dir>] [--frames N] [--thresholds 4,8,12]
 *                        [--refresh 30] [--tile 32] [--margin 4] [--out <dir>] [--publish]
 *
 * Test videos: the Vid4 "calendar" LR frames (BD degradation: Gaussian sigma 1.6, x4 down,
 * 180x144, 41 frames) converted to YUV 4:2:0 (BT.601 limited range, chroma averaged 2x2) and
 * encoded with the libx264 bundled in node-av's FFmpeg (x264 core 165): CRF 23, preset medium,
 * 25 fps, keyint 250 (one I frame), other settings x264 defaults, once with B-frames (bf 3, the
 * default; b-pyramid normal) and once without (bf 0).
 * Ground truth: the 41 GT frames (720x576).
 *
 * Methods, on the decoded frames: bicubic x4 (sharp, kernel cubic), per-frame ESRGAN-slim x4
 * (mode full), codec-assisted ESRGAN-slim x4 (mode codec) at each skip threshold.
 * Quality: Y-PSNR / Y-SSIM (MATLAB BT.601 luma, as BasicSR test_y_channel), crop_border 0 (the
 * BasicSR/mmagic Vid4 setting), per frame and mean, on the float outputs before re-encoding.
 * Flicker: mean over t of mean |Y_t - Y_{t-1}| (0..255) of the output minus the same for GT.
 * Compute: fraction of network input pixels skipped (windows with their margins counted in full).
 * Speed: frames / wall time of decode + SR, model already converted and warmed up; single process.
 * Decode: frames per second of decodeVideo with motion vectors on a 640x360 H.264 clip made from
 * the GT frames resized to 640x360 (sharp, lanczos3), played forward, backward, forward (121
 * frames), CRF 23 preset medium bf 3.
 *
 * Output: table on stdout; JSON in <out>/vsr-<stamp>.json and vsr-latest.json (default
 * bench/results); with --publish also docs/benchmarks/vsr.json and docs/benchmarks/vsr.png.
 * --decode-only: only the 640x360 decode measurement (vsr-decode-*.json; with --publish
 * docs/benchmarks/vsr-decode.json).
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

import { decodeImage } from '../src/core/image/index.js';
import { writeFileAtomic } from '../src/core/fs.js';
import type { RawImage } from '../src/core/image/types.js';
import { psnr, ssim, rgbToYMatlab } from '../src/core/metrics/index.js';
import { ImageModel } from '../src/core/models/imageModel.js';
import { upscale, upscaleModelName } from '../src/restore/index.js';
import { decodeVideo, rgbToYuv, superResolveFrames, VideoWriter, yuvToRgb, type DecodedFrame, type Upscaler, type VsrOptions } from '../src/video/index.js';
import {
  commandLine,
  loadavg,
  machineInfo,
  mean,
  round,
  table,
  timestamp,
  writeJsonPair,
  writeSvgPng,
  svgDoc,
  text,
  line,
  legend,
  niceStep,
  FONT,
} from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(REPO, '../shared/data/video/vid4-calendar') },
    frames: { type: 'string', default: '41' },
    thresholds: { type: 'string', default: '4,8,12' },
    refresh: { type: 'string', default: '30' },
    tile: { type: 'string', default: '32' },
    margin: { type: 'string', default: '4' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    publish: { type: 'boolean', default: false },
    'decode-only': { type: 'boolean', default: false },
  },
});
const SCALE = 4;
const FRAMES = Math.max(2, Number.parseInt(args.frames!, 10) || 41);
const THRESHOLDS = args
  .thresholds!.split(',')
  .map(Number)
  .filter((t) => t >= 0);
const REFRESH = Number.parseInt(args.refresh!, 10);
const TILE = Number.parseInt(args.tile!, 10);
const MARGIN = Number.parseInt(args.margin!, 10);
const work = path.join(args.out!, 'vsr');

async function loadFrames(dir: string, n: number): Promise<RawImage[]> {
  const names = (await readdir(dir))
    .filter((f) => f.endsWith('.png'))
    .sort()
    .slice(0, n);
  return Promise.all(names.map(async (f) => (await decodeImage(path.join(dir, f))).image));
}

async function encodeClip(file: string, frames: readonly RawImage[], bFrames: number): Promise<void> {
  const w = await VideoWriter.open(file, { width: frames[0].width, height: frames[0].height, fps: 25, crf: 23, preset: 'medium', bFrames, force: true });
  for (const f of frames) w.write(rgbToYuv(f));
  await w.finish();
}

async function bicubic(img: RawImage): Promise<RawImage> {
  const u8 = Buffer.from(img.data.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  const out = await sharp(u8, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(img.width * SCALE, img.height * SCALE, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  return { width: img.width * SCALE, height: img.height * SCALE, channels: 3, data: Float32Array.from(out, (v) => v / 255) };
}

interface MethodResult {
  video: string;
  method: string;
  threshold: number | null;
  frames: number;
  psnrY: number[];
  ssimY: number[];
  meanPsnrY: number;
  meanSsimY: number;
  skippedFraction: number;
  fps: number;
  seconds: number;
  /** Process CPU seconds (user + system, all threads): less sensitive to other load than wall time. */
  cpuSeconds: number;
  /** frames / cpuSeconds. */
  framesPerCpuSecond: number;
  flicker: number;
  /** mean_t mean |(Y_t - Y_(t-1)) - (GT_t - GT_(t-1))|: temporal-difference error vs GT. */
  temporalError: number;
  fullFrames: number;
  decisions: Record<string, number>;
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
}

function temporalErrorOf(ys: readonly Float32Array[], gts: readonly Float32Array[]): number {
  const d: number[] = [];
  for (let t = 1; t < ys.length; t++) {
    let s = 0;
    for (let i = 0; i < ys[t].length; i++) s += Math.abs(ys[t][i] - ys[t - 1][i] - (gts[t][i] - gts[t - 1][i]));
    d.push(s / ys[t].length);
  }
  return mean(d);
}

function flickerOf(ys: readonly Float32Array[]): number {
  const d: number[] = [];
  for (let t = 1; t < ys.length; t++) {
    let s = 0;
    for (let i = 0; i < ys[t].length; i++) s += Math.abs(ys[t][i] - ys[t - 1][i]);
    d.push(s / ys[t].length);
  }
  return mean(d);
}

async function collectDecoded(file: string): Promise<DecodedFrame[]> {
  const out: DecodedFrame[] = [];
  for await (const f of decodeVideo(file)) out.push(f);
  return out;
}

async function* replay(frames: readonly DecodedFrame[]): AsyncGenerator<DecodedFrame> {
  yield* frames;
}

/** --decode-only: the decode-speed measurement alone (it needs only the GT frames). */
async function decodeOnly(): Promise<void> {
  const machine = machineInfo();
  await mkdir(work, { recursive: true });
  const gt = await loadFrames(path.join(args.data!, 'GT/calendar'), FRAMES);
  const decode = await decodeSpeed(gt);
  console.log(
    `decode with motion vectors, 640x360: ${decode.fpsWithVectors.toFixed(1)} fps wall, ${decode.framesPerCpuSecondWithVectors.toFixed(1)} frames per CPU second (without vectors ${decode.fpsWithoutVectors.toFixed(1)} / ${decode.framesPerCpuSecondWithoutVectors.toFixed(1)}), ${decode.frames} frames`,
  );
  const report = { benchmark: 'vsr-decode', command: commandLine(), machine: { ...machine, loadavgAtEnd: loadavg() }, decode };
  await writeJsonPair(args.out!, 'vsr-decode', timestamp(), report);
  if (args.publish) await writeFileAtomic(path.join(REPO, 'docs/benchmarks/vsr-decode.json'), `${JSON.stringify(report, null, 2)}\n`, { force: true });
}

async function main(): Promise<void> {
  const machine = machineInfo();
  await mkdir(work, { recursive: true });
  const lr = await loadFrames(path.join(args.data!, 'LR_x4_gauss1.6/calendar'), FRAMES);
  const gt = await loadFrames(path.join(args.data!, 'GT/calendar'), FRAMES);
  const gtY = gt.map((g) => rgbToYMatlab(g));
  const gtFlicker = flickerOf(gtY);
  console.log(`calendar: ${lr.length} frames ${lr[0].width}x${lr[0].height} -> GT ${gt[0].width}x${gt[0].height}; GT flicker ${gtFlicker.toFixed(3)}`);

  const model = await ImageModel.load(upscaleModelName({ scale: SCALE, size: 'slim' }));
  const esrgan: Upscaler = (img, control) => upscale(img, { scale: SCALE, size: 'slim', model, signal: control?.signal });
  // Warm-up: convert/load the two input shapes used (full frame, 48x48 window) before timing.
  await esrgan(lr[0]);
  const win = TILE + 2 * MARGIN;
  await esrgan({ width: win, height: win, channels: 3, data: new Float32Array(win * win * 3) });

  const results: MethodResult[] = [];
  const videos: Array<{ name: string; bFrames: number; pictureTypes: string }> = [];
  for (const bFrames of [3, 0]) {
    const name = `calendar_crf23_bf${bFrames}`;
    const file = path.join(work, `${name}.mp4`);
    await encodeClip(file, lr, bFrames);
    const decoded = await collectDecoded(file);
    const types = decoded.map((f) => f.pictureType).join('');
    videos.push({ name, bFrames, pictureTypes: types });
    console.log(`${name}: ${decoded.length} frames, picture types ${types}`);

    const score = (
      method: string,
      threshold: number | null,
      outs: RawImage[],
      seconds: number,
      cpuSeconds: number,
      skipped: number,
      full: number,
      decisions: Record<string, number>,
    ) => {
      const psnrY = outs.map((o, i) => psnr(o, gt[i], { channel: 'y', cropBorder: 0 }));
      const ssimY = outs.map((o, i) => ssim(o, gt[i], { channel: 'y', cropBorder: 0 }));
      const outYs = outs.map((o) => rgbToYMatlab(o));
      const r: MethodResult = {
        video: name,
        method,
        threshold,
        frames: outs.length,
        psnrY: psnrY.map((v) => round(v, 4)),
        ssimY: ssimY.map((v) => round(v, 5)),
        meanPsnrY: round(mean(psnrY), 4),
        meanSsimY: round(mean(ssimY), 5),
        skippedFraction: round(skipped, 4),
        fps: round(outs.length / seconds, 3),
        seconds: round(seconds, 3),
        cpuSeconds: round(cpuSeconds, 3),
        framesPerCpuSecond: round(outs.length / cpuSeconds, 3),
        flicker: round(flickerOf(outYs) - gtFlicker, 4),
        temporalError: round(temporalErrorOf(outYs, gtY), 4),
        fullFrames: full,
        decisions,
      };
      results.push(r);
      console.log(
        `  ${method}${threshold === null ? '' : ` t=${threshold}`}: ${r.meanPsnrY.toFixed(3)} dB, SSIM ${r.meanSsimY.toFixed(4)}, skipped ${(100 * r.skippedFraction).toFixed(1)}%, ${r.fps.toFixed(2)} fps, flicker ${r.flicker.toFixed(3)}, temporal error ${r.temporalError.toFixed(3)}`,
      );
    };

    {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const outs: RawImage[] = [];
      for (const f of decoded) outs.push(await bicubic(yuvToRgb(f)));
      score('bicubic', null, outs, (performance.now() - t0) / 1000, cpuSince(c0), 1, 0, {});
    }
    const runVsr = async (method: string, threshold: number | null, opts: VsrOptions) => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const outs: RawImage[] = [];
      let computed = 0;
      let full = 0;
      const decisions: Record<string, number> = {};
      // Decoding is timed too: a fresh decode of the file, as the CLI does.
      for await (const r of superResolveFrames(decodeVideo(file), { upscaler: esrgan, scale: SCALE, ...opts })) {
        outs[r.index] = r.image;
        computed += r.computed;
        if (r.computed >= 1) full++;
        decisions[r.decision] = (decisions[r.decision] ?? 0) + 1;
      }
      score(method, threshold, outs, (performance.now() - t0) / 1000, cpuSince(c0), 1 - computed / outs.length, full, decisions);
    };
    await runVsr('esrgan-per-frame', null, { mode: 'full' });
    for (const t of THRESHOLDS) await runVsr('esrgan-codec', t, { mode: 'codec', skipThreshold: t, refresh: REFRESH, tile: TILE, margin: MARGIN });
    void replay;
  }
  await model.dispose();

  const decode = await decodeSpeed(gt);
  console.log(
    `decode with motion vectors, 640x360: ${decode.fpsWithVectors.toFixed(1)} fps wall, ${decode.framesPerCpuSecondWithVectors.toFixed(1)} frames per CPU second (without vectors ${decode.fpsWithoutVectors.toFixed(1)} / ${decode.framesPerCpuSecondWithoutVectors.toFixed(1)}), ${decode.frames} frames`,
  );

  const rows = results.map((r) => {
    const base = results.find((b) => b.video === r.video && b.method === 'esrgan-per-frame')!;
    return [
      r.video,
      r.method + (r.threshold === null ? '' : ` t=${r.threshold}`),
      r.meanPsnrY,
      r.meanSsimY,
      round(r.meanPsnrY - base.meanPsnrY, 4),
      round(100 * r.skippedFraction, 1),
      r.fps,
      round(r.fps / base.fps, 2),
      round(r.framesPerCpuSecond / base.framesPerCpuSecond, 2),
      r.flicker,
      r.temporalError,
    ];
  });
  console.log(
    `\n${table(['video', 'method', 'Y-PSNR', 'Y-SSIM', 'dPSNR vs per-frame', 'skipped %', 'fps', 'speed-up', 'cpu speed-up', 'flicker', 'temporal err'], rows)}`,
  );

  const stamp = timestamp();
  const report = {
    benchmark: 'vsr',
    command: commandLine(),
    machine: { ...machine, loadavgAtEnd: loadavg() },
    protocol: {
      data: 'Vid4 calendar (VSR-DUF inputs): LR_x4_gauss1.6 (BD) 180x144 -> GT 720x576',
      frames: FRAMES,
      encoder:
        'libx264 (node-av 6.1.1 bundled FFmpeg 8.1.1, x264 core 165): crf 23, preset medium, 25 fps, keyint 250, bf 3 (b-pyramid normal) or bf 0, otherwise defaults; input BT.601 limited-range YUV 4:2:0',
      metric: 'Y (MATLAB BT.601) PSNR/SSIM, crop_border 0, float outputs before re-encoding',
      flicker: 'mean_t mean|Y_t - Y_(t-1)| of output minus that of GT (0..255); lower = steadier output',
      temporalError: 'mean_t mean|(Y_t - Y_(t-1)) - (GT_t - GT_(t-1))| (0..255); lower = motion closer to GT',
      compute: 'network input pixels (windows incl. margins) / frame pixels; skipped = 1 - that',
      speed:
        'frames / wall seconds of decode + SR (fps), and frames / process CPU seconds (framesPerCpuSecond, all threads); model converted and warmed up first; 2-core machine shared with other jobs (see machine.loadavg)',
      upscaler: 'esrgan-slim x4 (@upscalerjs/esrgan-slim via our ONNX converter), windows of tile + 2 margin LR px (see tile/margin)',
      refresh: REFRESH,
      tile: TILE,
      margin: MARGIN,
    },
    gtFlicker: round(gtFlicker, 4),
    videos,
    results,
    decode,
  };
  const files = await writeJsonPair(args.out!, 'vsr', stamp, report);
  const svg = plot(results);
  await writeSvgPng(path.join(args.out!, 'vsr.png'), svg);
  if (args.publish) {
    await writeFileAtomic(path.join(REPO, 'docs/benchmarks/vsr.json'), `${JSON.stringify(report, null, 2)}\n`, { force: true });
    await writeSvgPng(path.join(REPO, 'docs/benchmarks/vsr.png'), svg);
  }
  console.log(`\nwrote ${files.join(', ')}`);
}

async function decodeSpeed(gt: readonly RawImage[]): Promise<{
  frames: number;
  fpsWithVectors: number;
  fpsWithoutVectors: number;
  framesPerCpuSecondWithVectors: number;
  framesPerCpuSecondWithoutVectors: number;
  vectorsPerFrame: number;
  settings: string;
}> {
  const file = path.join(work, 'calendar_640x360.mp4');
  const seq = [...gt, ...[...gt].reverse().slice(1), ...gt.slice(1)];
  const w = await VideoWriter.open(file, { width: 640, height: 360, fps: 25, crf: 23, preset: 'medium', bFrames: 3, force: true });
  for (const g of seq) {
    const u8 = Buffer.from(g.data.map((v) => Math.round(v * 255)));
    const out = await sharp(u8, { raw: { width: g.width, height: g.height, channels: 3 } })
      .resize(640, 360, { kernel: 'lanczos3', fit: 'fill' })
      .raw()
      .toBuffer();
    w.write(rgbToYuv({ width: 640, height: 360, channels: 3, data: Float32Array.from(out, (v) => v / 255) }));
  }
  await w.finish();
  const time = async (mv: boolean) => {
    let best = Infinity;
    let bestCpu = Infinity;
    let n = 0;
    let vectors = 0;
    for (let rep = 0; rep < 5; rep++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      n = 0;
      vectors = 0;
      for await (const f of decodeVideo(file, { motionVectors: mv })) {
        n++;
        vectors += f.vectors.length;
      }
      best = Math.min(best, (performance.now() - t0) / 1000);
      bestCpu = Math.min(bestCpu, cpuSince(c0));
    }
    return { fps: n / best, cpuFps: n / bestCpu, n, vectors };
  };
  const a = await time(true);
  const b = await time(false);
  return {
    frames: a.n,
    fpsWithVectors: round(a.fps, 1),
    fpsWithoutVectors: round(b.fps, 1),
    framesPerCpuSecondWithVectors: round(a.cpuFps, 1),
    framesPerCpuSecondWithoutVectors: round(b.cpuFps, 1),
    vectorsPerFrame: round(a.vectors / a.n, 1),
    settings: '640x360, 121 frames, libx264 crf 23 preset medium bf 3; best of 5 runs; includes demux, decode, vector parsing, plane copies',
  };
}

function plot(results: readonly MethodResult[]): string {
  const W = 760;
  const H = 460;
  const L = 70;
  const R = 20;
  const T = 40;
  const B = 60;
  const codec = results.filter((r) => r.method !== 'bicubic');
  const ys = codec.map((r) => r.meanPsnrY);
  const yMin = Math.min(...ys) - 0.05;
  const yMax = Math.max(...ys) + 0.05;
  const X = (v: number) => L + (v / 100) * (W - L - R);
  const Y = (v: number) => T + ((yMax - v) / (yMax - yMin)) * (H - T - B);
  let body = text(W / 2, 22, 'Vid4 calendar x4 (H.264 CRF 23): Y-PSNR vs network compute skipped', { size: 15, anchor: 'middle', weight: 'bold' });
  body += line(L, H - B, W - R, H - B) + line(L, T, L, H - B);
  for (let v = 0; v <= 100; v += 20) body += line(X(v), H - B, X(v), H - B + 5) + text(X(v), H - B + 20, `${v}%`, { size: 12, anchor: 'middle' });
  const step = niceStep(yMax - yMin, 6);
  for (let v = Math.ceil(yMin / step) * step; v <= yMax; v += step)
    body += line(L - 5, Y(v), L, Y(v)) + line(L, Y(v), W - R, Y(v), '#ddd') + text(L - 8, Y(v) + 4, v.toFixed(2), { size: 12, anchor: 'end' });
  body += text(W / 2, H - 18, 'network compute skipped (% of input pixels)', { size: 13, anchor: 'middle' });
  body += text(18, H / 2, 'mean Y-PSNR (dB)', { size: 13, anchor: 'middle', rotate: -90 });
  const colors: Record<string, string> = { calendar_crf23_bf3: '#1f77b4', calendar_crf23_bf0: '#d62728' };
  for (const video of Object.keys(colors)) {
    const pts = codec.filter((r) => r.video === video).sort((a, b) => a.skippedFraction - b.skippedFraction);
    if (pts.length === 0) continue;
    body += `<polyline fill="none" stroke="${colors[video]}" stroke-width="2" points="${pts.map((p) => `${X(100 * p.skippedFraction)},${Y(p.meanPsnrY)}`).join(' ')}"/>`;
    for (const p of pts) {
      body += `<circle cx="${X(100 * p.skippedFraction)}" cy="${Y(p.meanPsnrY)}" r="4" fill="${colors[video]}"/>`;
      body += text(X(100 * p.skippedFraction) + 6, Y(p.meanPsnrY) - 6, p.threshold === null ? 'per-frame' : `t=${p.threshold}`, { size: 11 });
    }
  }
  body += legend(L + 20, T + 10, [
    { color: colors.calendar_crf23_bf3, label: 'bf 3 (with B-frames)' },
    { color: colors.calendar_crf23_bf0, label: 'bf 0 (no B-frames)' },
  ]);
  void FONT;
  return svgDoc(W, H, body);
}

if (args['decode-only']) await decodeOnly();
else await main();
