/**
 * Cue extraction for the liveness people benches as `clearsight liveness` sees a clip: decoded at
 * readVideoFrames' default size (longest side <= 640), tracked with the CLI's tracker settings,
 * cues computed over 5 s windows. A clip longer than one window gives a second window at its end
 * (extra training samples; the first window - what the CLI reads - is the one scored held out).
 * Attacks (print, 15 fps replay, cut-eye print) are simulated from each whole bona fide clip.
 * Every few tracked frames the FaceRes identity embedding of the tracker's square is kept too
 * (the backbone feature of the GFA-CNN idea), at its frame index.
 *
 * The cache is appended clip by clip, so an interrupted run resumes where it stopped.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';

import type { RawImage } from '../../src/core/image/types.js';
import { mulberry32 } from '../../src/core/random.js';
import { embedRegion } from '../../src/face/embed.js';
import type { FaceModels } from '../../src/face/index.js';
import {
  computeCues,
  readVideoFrames,
  trackFace,
  verdictOf,
  type FrameObservation,
  type LivenessThresholds,
  type LivenessVerdictLabel,
} from '../../src/face/liveness/index.js';
import { makePrint, makeReplay } from './attacks.js';
import { personOf, sourceOf } from './people.js';
import { clopperPearson } from '../../src/trust/forensics/stats.js';

export const KINDS = ['bonafide', 'print', 'replay', 'cutEye'] as const;
export type Kind = (typeof KINDS)[number];
export const ATTACKS = ['print', 'replay', 'cutEye'] as const;

export interface WindowSample {
  file: string;
  person: string;
  source: string;
  kind: Kind;
  /** 0 = the clip's first window (what the CLI reads), 1 = the window at its end. */
  window: number;
  startFrame: number;
  values: number[][];
  /** FaceRes embeddings of frames inside the window (may be empty). */
  embeddings: Float32Array[];
  fps: number;
  tracked: number;
  frames: number;
}

export interface ExtractOptions {
  dir: string;
  files: readonly string[];
  cacheFile: string;
  windowSeconds: number;
  /** How much of each clip to decode (>= windowSeconds). */
  clipSeconds: number;
  /** Embed every n-th tracked frame. */
  embedEvery: number;
  log?: (line: string) => void;
}

/** Frame ranges [start, end) of the windows of a clip of `n` frames. */
export function windowsOf(n: number, fps: number, windowSeconds: number): Array<[number, number]> {
  const w = Math.round(windowSeconds * fps);
  if (n <= w) return [[0, n]];
  // the end window only when it adds at least a second of frames the first did not see
  return n - w >= Math.round(fps)
    ? [
        [0, w],
        [n - w, n],
      ]
    : [[0, w]];
}

function windowCues(obs: readonly FrameObservation[], [a, b]: [number, number], fps: number): number[][] {
  const part = obs.slice(a, b).map((o, i) => ({ ...o, index: i, time: o.time - obs[a]!.time, reset: i === 0 ? o.found : o.reset }));
  return computeCues(part, fps).values;
}

export async function loadWindowCache(cacheFile: string): Promise<WindowSample[]> {
  return existsSync(cacheFile) ? (deserialize(await readFile(cacheFile)) as WindowSample[]) : [];
}

export async function extractWindows(models: FaceModels, o: ExtractOptions): Promise<WindowSample[]> {
  const samples = await loadWindowCache(o.cacheFile);
  const done = new Set(samples.map((s) => s.file));
  for (const [i, file] of o.files.entries()) {
    if (done.has(file)) continue;
    const t0 = performance.now();
    const clip = await readVideoFrames(path.join(o.dir, file), { maxSeconds: o.clipSeconds });
    const frames = clip.frames as RawImage[];
    const base = { file, person: personOf(file), source: sourceOf(file), fps: clip.fps };
    const live = await trackFace(models, frames, clip.times);
    // one kind at a time: four 7.5 s clips of 640 px frames would hold gigabytes
    const kinds: Array<[Kind, () => RawImage[]]> = [['bonafide', () => frames]];
    if (live.every((f) => f.found)) {
      const rand = mulberry32(createHash('sha256').update(file).digest().readUInt32LE(0));
      kinds.push(
        ['print', () => makePrint(frames, live, clip.fps, rand, false)],
        ['replay', () => makeReplay(frames, rand)],
        ['cutEye', () => makePrint(frames, live, clip.fps, rand, true)],
      );
    } else o.log?.(`${file}: face lost in some frames; no attacks simulated from it`);
    for (const [kind, make] of kinds) {
      const fr = make();
      const obs = kind === 'bonafide' ? live : await trackFace(models, fr, clip.times);
      const emb = new Map<number, Float32Array>();
      let n = 0;
      for (const ob of obs) if (ob.found && n++ % o.embedEvery === 0) emb.set(ob.index, await embedRegion(models, fr[ob.index]!, ob.region!));
      windowsOf(obs.length, clip.fps, o.windowSeconds).forEach(([a, b], w) => {
        samples.push({
          ...base,
          kind,
          window: w,
          startFrame: a,
          values: windowCues(obs, [a, b], clip.fps),
          embeddings: [...emb].filter(([k]) => k >= a && k < b).map(([, e]) => e),
          tracked: obs.slice(a, b).filter((x) => x.found).length,
          frames: b - a,
        });
      });
    }
    await writeFile(o.cacheFile, serialize(samples));
    o.log?.(
      `[${i + 1}/${o.files.length}] ${file}: ${frames.length} frames at ${frames[0]!.width}x${frames[0]!.height}, ${kinds.length} kinds, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  return samples;
}

export interface Rates {
  /** Bona fide clips NOT judged live ("uncertain" counts as not live). */
  bpcer: { k: number; n: number; rate: number; ci95: [number, number] };
  apcer: number;
  acer: number;
  /** Attack clips judged live, per attack type. */
  perAttack: Record<string, { k: number; n: number; apcer: number; ci95: [number, number] }>;
  /** Verdict counts per kind. */
  verdicts: Record<string, Record<LivenessVerdictLabel, number>>;
}

/** The bench's plain decision: live iff score >= 0.5, no uncertain band. */
export const HALF: LivenessThresholds = { live: 0.5, spoof: 0.5 };

/**
 * Rates of clips at thresholds (one pair for all clips, or one per clip: nested thresholds differ
 * per held-out fold), through the library's verdict mapping: BPCER = bona fide not judged "live"
 * (uncertain or spoof), APCER per attack type = attacks judged "live", ACER = (worst APCER +
 * BPCER) / 2, exact (Clopper-Pearson) 95 % intervals over clips.
 */
export function livenessRates(
  kinds: readonly string[],
  scores: readonly number[],
  thresholds: LivenessThresholds | readonly LivenessThresholds[] = HALF,
): Rates {
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const verdict = scores.map((s, i) => verdictOf(s, Array.isArray(thresholds) ? thresholds[i]! : (thresholds as LivenessThresholds)));
  const at = (k: string) => kinds.flatMap((s, i) => (s === k ? [verdict[i]!] : []));
  const bona = at('bonafide');
  const bk = bona.filter((v) => v !== 'live').length;
  const perAttack = Object.fromEntries(
    ATTACKS.map((a) => {
      const v = at(a);
      const k = v.filter((x) => x === 'live').length;
      const ci = clopperPearson(k, Math.max(1, v.length));
      return [a, { k, n: v.length, apcer: r4(k / Math.max(1, v.length)), ci95: [r4(ci.lo), r4(ci.hi)] as [number, number] }];
    }),
  );
  const bci = clopperPearson(bk, Math.max(1, bona.length));
  const bpcer = bk / Math.max(1, bona.length);
  const apcer = Math.max(...ATTACKS.map((a) => perAttack[a]!.apcer));
  const n = (vs: readonly LivenessVerdictLabel[], l: LivenessVerdictLabel) => vs.filter((v) => v === l).length;
  const count = (vs: LivenessVerdictLabel[]) => ({ live: n(vs, 'live'), uncertain: n(vs, 'uncertain'), spoof: n(vs, 'spoof') });
  return {
    bpcer: { k: bk, n: bona.length, rate: r4(bpcer), ci95: [r4(bci.lo), r4(bci.hi)] },
    apcer: r4(apcer),
    acer: r4((apcer + bpcer) / 2),
    perAttack,
    verdicts: Object.fromEntries([...new Set(kinds)].map((k) => [k, count(at(k))])),
  };
}
