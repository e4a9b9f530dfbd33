/**
 * The real-media evaluation of a forensic detector, shared by bench/forensics.ts (CNN and linear
 * detectors) and bench/forensics-backbone.ts (frozen-backbone detector): video level (each
 * clip's mean probability) AUC with Hanley-McNeil and stratified bootstrap intervals, rates at a
 * threshold with exact (Clopper-Pearson) intervals, frame-level AUC with a clip-cluster bootstrap;
 * and the 10 s 720p clip the speed figures use.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createImage, resampleRegion, type RawImage } from '../../src/core/image/index.js';
import { mulberry32 } from '../../src/core/random.js';
import { decodeVideo, rgbToYuv, VideoWriter, yuvToRgb } from '../../src/core/video/index.js';
import { aucHanleyMcNeil, bootstrapInterval, clopperPearson, quantileSorted, rocAuc, STATISTICS } from '../../src/trust/forensics/stats.js';
import { REPO_ROOT, round } from './common.js';
import { listFaceVideos, TEST_PEOPLE, type FaceVideo } from './faceVideos.js';

/** The decision threshold every real-media bench reports its rates at. */
export const REAL_MEDIA_THRESHOLD = 0.5;

/** The command line of the real-media forensic benches (bench/forensics*.ts), parsed. */
export function realMediaBenchArgs(): { videos: string; maxFrames: number; seed: number; smoke: string | undefined } {
  const { values: args } = parseArgs({
    options: {
      videos: { type: 'string', default: path.resolve(REPO_ROOT, '../shared/data/face-videos') },
      'max-frames': { type: 'string', default: '24' },
      seed: { type: 'string', default: '1' },
      // A quick check of the bench itself: the first N clips of each class (figures then mean nothing).
      smoke: { type: 'string' },
    },
  });
  return {
    videos: existsSync(args.videos!) ? args.videos! : '/work/shared/data/face-videos',
    maxFrames: Number(args['max-frames']),
    seed: Number(args.seed),
    smoke: args.smoke,
  };
}

/** The real-media test set: every generated clip and the live clips of the held-out people (`smoke`: the first N of each class). */
export function realMediaTestClips(videos: string, smoke: string | undefined): FaceVideo[] {
  let clips = listFaceVideos(videos).filter((v) => v.label === 'fake' || TEST_PEOPLE.includes(v.person));
  if (smoke) {
    const n = Number(smoke);
    clips = [...clips.filter((v) => v.label === 'fake').slice(0, n), ...clips.filter((v) => v.label === 'real').slice(0, n)];
  }
  if (clips.length === 0) throw new Error(`no face videos under ${videos} (manifest.csv)`);
  return clips;
}

/** A scored clip: its label, its generator (fakes), and per detector key the clip score and frame scores. */
export interface ScoredClip {
  label: 0 | 1;
  source: string;
  frames: ReadonlyArray<Readonly<Record<string, number>>>;
}

const clipScore = (c: ScoredClip, key: string): number | null => (c as unknown as Record<string, number | null>)[key] ?? null;

/** Frame-level AUC interval: resample clips (with replacement, within each class), pool their frames. */
function clusterBootstrapAuc(clips: ScoredClip[], key: string, resamples: number, seed: number): [number, number] {
  const rand = mulberry32(seed);
  const pos = clips.filter((c) => c.label === 1 && c.frames.length);
  const neg = clips.filter((c) => c.label === 0 && c.frames.length);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const scores: number[] = [];
    const labels: number[] = [];
    for (const [group, label] of [
      [pos, 1],
      [neg, 0],
    ] as const) {
      for (let i = 0; i < group.length; i++) {
        const c = group[Math.floor(rand() * group.length)];
        for (const f of c.frames) {
          scores.push(f[key]);
          labels.push(label);
        }
      }
    }
    stats.push(rocAuc({ scores, labels }));
  }
  stats.sort((a, b) => a - b);
  return [quantileSorted(stats, 0.025), quantileSorted(stats, 0.975)];
}

export function evaluateClips(clips: ScoredClip[], key: string, { threshold, seed }: { threshold: number; seed: number }) {
  const scored = clips.filter((c) => clipScore(c, key) !== null);
  const data = { scores: scored.map((c) => clipScore(c, key)!), labels: scored.map((c) => c.label) };
  const pos = scored.filter((c) => c.label === 1);
  const neg = scored.filter((c) => c.label === 0);
  const auc = rocAuc(data);
  const hm = aucHanleyMcNeil(auc, pos.length, neg.length);
  const bs = bootstrapInterval(data, STATISTICS.auc, { seed });
  const tp = pos.filter((c) => clipScore(c, key)! >= threshold).length;
  const fp = neg.filter((c) => clipScore(c, key)! >= threshold).length;
  const frameData = { scores: scored.flatMap((c) => c.frames.map((f) => f[key])), labels: scored.flatMap((c) => c.frames.map(() => c.label)) };
  const frameAuc = rocAuc(frameData);
  const perGenerator: Record<string, { clips: number; detected: number }> = {};
  for (const c of pos) {
    perGenerator[c.source] ??= { clips: 0, detected: 0 };
    const g = perGenerator[c.source];
    g.clips++;
    if (clipScore(c, key)! >= threshold) g.detected++;
  }
  const rate = (k: number, n: number) => {
    const ci = clopperPearson(k, n);
    return { count: k, of: n, rate: round(k / n, 4), exact95: [round(ci.lo, 4), round(ci.hi, 4)] as [number, number] };
  };
  return {
    clips: { fake: pos.length, real: neg.length, unscorable: clips.length - scored.length },
    videoAuc: {
      value: round(auc, 4),
      hanleyMcNeil95: [round(Math.max(0, hm.lo), 4), round(Math.min(1, hm.hi), 4)] as [number, number],
      bootstrap95: [round(bs.lo, 4), round(bs.hi, 4)] as [number, number],
    },
    frameAuc: {
      value: round(frameAuc, 4),
      frames: { fake: frameData.labels.filter((l) => l === 1).length, real: frameData.labels.filter((l) => l === 0).length },
      clusterBootstrap95: clusterBootstrapAuc(scored, key, 2000, seed).map((x) => round(x, 4)) as [number, number],
    },
    threshold: threshold,
    truePositiveRate: rate(tp, pos.length),
    falsePositiveRate: rate(fp, neg.length),
    clipScores: scored.map((c) => [round(clipScore(c, key)!, 5), c.label] as [number, 0 | 1]),
    perGenerator,
  };
}

/** A 10 s 1280x720 30 fps H.264 clip from a held-out real clip: scaled to 720 rows, centred, looped. */
export async function make720p(src: string, file: string): Promise<void> {
  const frames: RawImage[] = [];
  for await (const f of decodeVideo(src, { motionVectors: false })) {
    const rgb = yuvToRgb(f);
    const w = Math.round((rgb.width * 720) / rgb.height);
    const scaled = resampleRegion(rgb, 0, 0, rgb.width, rgb.height, w, 720);
    const canvas = createImage(1280, 720, 3);
    const x0 = Math.floor((1280 - w) / 2);
    for (let y = 0; y < 720; y++) canvas.data.set(scaled.data.subarray(y * w * 3, (y + 1) * w * 3), (y * 1280 + x0) * 3);
    frames.push(canvas);
    if (frames.length >= 150) break;
  }
  const writer = await VideoWriter.open(file, { width: 1280, height: 720, fps: 30, crf: 23, preset: 'veryfast' });
  for (let i = 0; i < 300; i++) writer.write(rgbToYuv(frames[i % frames.length]));
  await writer.finish();
}
