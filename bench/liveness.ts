/**
 * Liveness benchmark on SIMULATED presentation attacks built from a real face video
 * (`npm run bench:liveness-clip`; `npm run bench:liveness` is the people/sources protocol, bench/liveness-windows.ts).
 *
 *   node --import tsx bench/liveness.ts [--data ../shared/data/faces/face_recognition/short_hamilton_clip.mp4]
 *        [--window 42] [--variants 3] [--bona 4] [--reuse] [--out bench/results] [--publish] [--write-head]
 *   (--write-head: writes the head fitted here, on one clip, as bench/results/liveness-one-clip-head.json;
 *   the SHIPPED head comes from bench/liveness-people.ts --write-head)
 *
 * There is no public spoof video set on this machine. From the one real face clip
 * (short_hamilton_clip.mp4, 640x360, 29.97 fps, 9.2 s, YouTube-compressed, with 3:2 pulldown
 * duplicate frames) we cut disjoint windows of `window` frames inside each shot where a face is
 * tracked on every frame (only the 4.3 s close-up shot qualifies: the wide shot's face is too small,
 * the audience shot's faces are occluded), crop 288x288 around the face, and build per window
 * (seeded, mulberry32):
 *   bona fide: the window as is, and `bona - 1` times through another "camera" (gain, gamma, tint,
 *              noise; every second one mirrored)
 * and `variants` random instances of each attack:
 *   print: the middle frame as a flat photo moved rigidly by hand tremor (translation, roll, scale),
 *          paper grain, colour gamut loss (desaturation, contrast compression, black lift), sensor noise
 *   replay: the window shown on a screen: 15 fps (every frame twice), screen gamma, moire,
 *           a rolling refresh band, slight blur, sensor noise
 *   cut-eye print: the print attack with the live eyes showing through holes in the photo
 *   (stress, outside the target) replay at 30 fps: the screen replay without repeated frames
 * Every clip goes through the same pipeline as `clearsight liveness` (track + cues). Decision
 * "bona fide iff score >= 0.5"; APCER (worst attack type), BPCER, ACER per ISO/IEC 30107-3.
 * Evaluation is leave-one-window-out: heads (one logistic expert per attack family) are fitted on
 * the clips of the other windows only, their L2 strength chosen inside those windows. Also
 * reported: one head for all attacks, each attack family left out of training, the 30 fps replay
 * scored by heads that never saw it, and the single-frame CNNs as shipped (mean, threshold 0.5).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { RawImage } from '../src/core/image/types.js';
import { mulberry32 } from '../src/core/random.js';
import { writeFileAtomic } from '../src/core/fs.js';
import { FaceModels } from '../src/face/index.js';
import {
  checkLivenessFile,
  computeCues,
  CUES,
  fitHead,
  fuse,
  readVideoFrames,
  trackFace,
  type Cue,
  type FrameObservation,
  type LivenessHead,
} from '../src/face/liveness/index.js';
import { pad } from '../src/face/metrics.js';
import { CROP, cropFrame, makePrint, makeReplay, makeSecondCamera, mirror } from './lib/attacks.js';
import { clopperPearson } from '../src/trust/forensics/stats.js';
import { commandLine, hbarChart, machineInfo, round, svgDoc, table, timestamp, writeJsonPair, writeSvgPng, sharedData } from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: sharedData('faces/face_recognition/short_hamilton_clip.mp4') },
    window: { type: 'string', default: '42' },
    variants: { type: 'string', default: '3' },
    /** Bona fide clips per window: the original plus simulated other cameras (every 2nd mirrored). */
    bona: { type: 'string', default: '4' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    publish: { type: 'boolean', default: false },
    'write-head': { type: 'boolean', default: false },
    /** Re-use the tracked observations of the last run (bench/results/liveness-observations.bin): re-evaluate cues/fusion without re-tracking. */
    reuse: { type: 'boolean', default: false },
  },
});
const WINDOW = Number(args.window);
const STRIDE = WINDOW; // disjoint windows: a test window never shares a frame with training
const VARIANTS = Math.max(1, Number(args.variants));
const BONA = Math.max(1, Number(args.bona));
const KINDS = ['bonafide', 'print', 'replay', 'cutEye'] as const;
/** The attacks the target is stated on (the issue's three); STRESS kinds are reported apart. */
const ATTACKS = ['print', 'replay', 'cutEye'] as const;
/** A replay at the camera's full frame rate: no repeated frames, only the screen's own artefacts. */
const STRESS = ['replayFull'] as const;
/** Candidate L2 strengths for the logistic head (picked by nested cross-validation). */
const L2_GRID = [1, 0.1, 0.01];
type Kind = (typeof KINDS)[number] | (typeof STRESS)[number];

// ---------------------------------------------------------------------------------------------

interface Sample {
  window: number;
  shot: number;
  kind: Kind;
  variant: string;
  values: number[][];
  cnnAntispoof: number;
  cnnLiveness: number;
  tracked: number;
  msTrackPerFrame: number;
  msCuesPerFrame: number;
}

async function main(): Promise<void> {
  const stamp = timestamp();
  const clip = await readVideoFrames(path.resolve(args.data!), { maxSeconds: 60 });
  const fps = clip.fps;
  const models = await FaceModels.load({ liveness: true, embed: false });
  const full = await trackFace(models, clip.frames, clip.times);
  // shots: split at detector resets and at frames without a face
  const windows: Array<{ start: number; shot: number }> = [];
  let shot = -1,
    runStart = -1;
  const flush = (end: number) => {
    if (runStart < 0) return;
    for (let s = runStart; s + WINDOW <= end; s += STRIDE) windows.push({ start: s, shot });
  };
  for (let i = 0; i <= full.length; i++) {
    const o = full[i];
    if (!o?.found || o.reset) {
      flush(i);
      runStart = -1;
      if (o?.found && o.reset) {
        shot++;
        runStart = i;
      }
      continue;
    }
    if (runStart < 0) {
      shot++;
      runStart = i;
    }
  }
  const usedShots = [...new Set(windows.map((w) => w.shot))];
  console.log(
    `clip ${clip.frames.length} frames @ ${round(fps, 2)} fps; ${windows.length} windows of ${WINDOW} frames in shots ${usedShots.join(', ')} (starts ${windows.map((w) => w.start).join(' ')})`,
  );

  const samples: Sample[] = [];
  const cacheFile = path.join(REPO, 'bench/results/liveness-observations.bin');
  interface Tracked {
    window: number;
    shot: number;
    kind: Kind;
    variant: string;
    obs: FrameObservation[];
    msTrack: number;
  }
  // tracking is the slow part: with --reuse, clips already in the cache are not tracked again
  // (every clip is still synthesised, so the seeded random stream and the other clips stay the same)
  const cached = args.reuse ? (deserialize(await readFile(cacheFile)) as Tracked[]) : [];
  if (args.reuse) console.log(`re-using ${cached.length} tracked clips from ${cacheFile}`);
  const tracked: Tracked[] = [];
  const rand = mulberry32(2024);
  const times = Array.from({ length: WINDOW }, (_, i) => i / fps);
  for (const [wi, w] of windows.entries()) {
    // a CROP x CROP window around the face (synthesis cost; the face keeps its scale)
    const span = full.slice(w.start, w.start + WINDOW);
    const cx = span.reduce((a, o) => a + o.region!.cx, 0) / span.length,
      cy = span.reduce((a, o) => a + o.region!.cy, 0) / span.length;
    const x0 = Math.round(Math.min(Math.max(0, cx - CROP / 2), clip.width - CROP)),
      y0 = Math.round(Math.min(Math.max(0, cy - CROP / 2), clip.height - CROP));
    const frames = clip.frames.slice(w.start, w.start + WINDOW).map((f) => cropFrame(f, x0, y0, CROP));
    const obs = span.map((o) => ({ ...o, landmarks: o.landmarks!.map((v, i) => (i % 3 === 0 ? v - x0 : i % 3 === 1 ? v - y0 : v)) }));
    const clips: Array<[Kind, string, () => RawImage[]]> = [['bonafide', 'original', () => frames]];
    for (let b = 1; b < BONA; b++) {
      clips.push(['bonafide', `${b % 2 === 0 ? 'mirrored, ' : ''}camera #${b + 1}`, () => makeSecondCamera(b % 2 === 0 ? frames.map(mirror) : frames, rand)]);
    }
    for (let v = 0; v < VARIANTS; v++) {
      clips.push(['print', `rigid photo #${v + 1}`, () => makePrint(frames, obs, fps, rand, false)]);
      clips.push(['replay', `screen 15 fps #${v + 1}`, () => makeReplay(frames, rand)]);
      clips.push(['cutEye', `photo with eye holes #${v + 1}`, () => makePrint(frames, obs, fps, rand, true)]);
    }
    // the stress attack draws from its own stream so adding it leaves the other clips unchanged
    const stressRand = mulberry32(4048 + wi);
    for (let v = 0; v < VARIANTS; v++) clips.push(['replayFull', `screen 30 fps #${v + 1}`, () => makeReplay(frames, stressRand, false)]);
    for (const [kind, variant, make] of clips) {
      const fr = make();
      const hit = cached.find((c) => c.window === wi && c.kind === kind && c.variant === variant);
      if (hit) {
        tracked.push(hit);
        continue;
      }
      const t0 = performance.now();
      const o = await trackFace(models, fr, times);
      tracked.push({ window: wi, shot: w.shot, kind, variant, obs: o, msTrack: (performance.now() - t0) / fr.length });
      process.stderr.write(`\rwindow ${wi + 1}/${windows.length} ${kind.padEnd(10)} tracked ${o.filter((x) => x.found).length}/${fr.length}   `);
    }
  }
  process.stderr.write('\n');
  await writeFile(cacheFile, serialize(tracked));
  for (const t of tracked) {
    const t1 = performance.now();
    const cues = computeCues(t.obs, fps);
    const msCues = (performance.now() - t1) / t.obs.length;
    const found = t.obs.filter((x) => x.found);
    const mean = (f: (x: FrameObservation) => number) => found.reduce((s, x) => s + f(x), 0) / Math.max(1, found.length);
    samples.push({
      window: t.window,
      shot: t.shot,
      kind: t.kind,
      variant: t.variant,
      values: cues.values,
      cnnAntispoof: mean((x) => x.antispoof!),
      cnnLiveness: mean((x) => x.liveness!),
      tracked: found.length,
      msTrackPerFrame: t.msTrack,
      msCuesPerFrame: msCues,
    });
  }

  // ------------------------------------------------------------------ evaluation
  const target = samples.filter((x) => x.kind === 'bonafide' || (ATTACKS as readonly string[]).includes(x.kind));
  const stress = samples.filter((x) => (STRESS as readonly string[]).includes(x.kind));
  /** ISO/IEC 30107-3 rates of scores over a set of clips (attack kinds present in it). */
  const rates = (sub: readonly Sample[], scores: readonly number[]) => {
    const bona = sub.flatMap((x, i) => (x.kind === 'bonafide' ? [scores[i]!] : []));
    const attacks: Record<string, number[]> = {};
    sub.forEach((x, i) => {
      if (x.kind === 'bonafide') return;
      attacks[x.kind] ??= [];
      attacks[x.kind]!.push(scores[i]!);
    });
    return pad(bona, attacks, 0.5);
  };
  type Labelling = 'typed' | 'untyped';
  const toClips = (xs: readonly Sample[], labelling: Labelling) =>
    xs.map((x) => ({ values: x.values, live: x.kind === 'bonafide', ...(x.kind !== 'bonafide' && labelling === 'typed' ? { attack: x.kind } : {}) }));
  const nWindows = Math.max(...samples.map((x) => x.window)) + 1;
  const chosenL2: number[] = [];
  interface Config {
    cues: readonly Cue[];
    temperature?: number;
    labelling?: Labelling;
    train?: (x: Sample) => boolean;
  }
  /** L2 chosen by leave-one-window-out ACER inside `train` (nested: the caller's test window is never in it). */
  const pickL2 = (train: readonly Sample[], c: Config): number => {
    let best = L2_GRID[0]!,
      bestAcer = Infinity;
    const inner = [...new Set(train.map((x) => x.window))];
    for (const l2 of L2_GRID) {
      const sc = new Array<number>(train.length).fill(NaN);
      for (const v of inner) {
        const h = fitHead(
          toClips(
            train.filter((x) => x.window !== v),
            c.labelling ?? 'typed',
          ),
          { cues: c.cues, temperature: c.temperature ?? 1, l2, source: 'bench' },
        );
        train.forEach((x, i) => {
          if (x.window === v) sc[i] = fuse(x.values, h).score;
        });
      }
      const a = rates(train, sc).acer;
      if (a < bestAcer - 1e-12) {
        bestAcer = a;
        best = l2;
      }
    }
    return best;
  };
  /**
   * Leave-one-window-out scores of `clips`: heads fitted on the other windows' clips that pass
   * `train` (default: the target protocol's bona fide + three attacks), L2 chosen inside them.
   */
  const lowo = (clips: readonly Sample[], c: Config): number[] => {
    const out = new Array<number>(clips.length).fill(NaN);
    for (let wi = 0; wi < nWindows; wi++) {
      const train = target.filter((x) => x.window !== wi && (c.train ?? (() => true))(x));
      const l2 = pickL2(train, c);
      chosenL2.push(l2);
      const head = fitHead(toClips(train, c.labelling ?? 'typed'), { cues: c.cues, temperature: c.temperature ?? 1, l2, source: 'bench' });
      clips.forEach((x, i) => {
        if (x.window === wi) out[i] = fuse(x.values, head).score;
      });
    }
    return out;
  };
  const allCues = [...CUES];
  const rows: Array<{ method: string; acer: number; apcer: number; bpcer: number; apcerByType: Record<string, number> }> = [];
  const add = (method: string, scores: number[]) => {
    const r = rates(target, scores);
    rows.push({ method, ...r });
    return r;
  };
  add(
    'CNN antispoof as shipped (mean, >= 0.5)',
    target.map((s) => s.cnnAntispoof),
  );
  add(
    'CNN liveness as shipped (mean, >= 0.5)',
    target.map((s) => s.cnnLiveness),
  );
  add('CNN antispoof+liveness, per-attack experts (LOWO)', lowo(target, { cues: ['antispoof', 'liveness'] }));
  add('all cues, one head for every attack (LOWO)', lowo(target, { cues: allCues, labelling: 'untyped' }));
  add('fusion, uniform pooling, per-attack experts (LOWO)', lowo(target, { cues: allCues, temperature: 1e6 }));
  const fusionScores = lowo(target, { cues: allCues });
  const fusion = add('fusion with attention, per-attack experts (LOWO)', fusionScores);
  // exact 95 % intervals of the fusion's error rates from the clip counts (clips of one window
  // share their source frames, so the effective sample is smaller still)
  const errors = (kind: string, pass: (score: number) => boolean) => {
    const idx = target.map((x, i) => (x.kind === kind ? i : -1)).filter((i) => i >= 0);
    const k = idx.filter((i) => pass(fusionScores[i]!)).length;
    const ci = clopperPearson(k, idx.length);
    return { errors: k, clips: idx.length, low: round(ci.lo, 4), high: round(ci.hi, 4) };
  };
  const intervals = {
    bpcer: errors('bonafide', (s) => s < 0.5),
    ...Object.fromEntries(ATTACKS.map((k) => [`apcer ${k}`, errors(k, (s) => s >= 0.5)])),
  };
  const ablation = allCues.map((c) => ({ cue: c, acer: rates(target, lowo(target, { cues: allCues.filter((x) => x !== c) })).acer }));
  const only = allCues.map((c) => ({ cue: c, acer: rates(target, lowo(target, { cues: [c] })).acer }));

  // generalisation: each attack family left out of training entirely (APCER on it, BPCER as usual)
  const unseen = ATTACKS.map((k) => {
    const sc = lowo(target, { cues: allCues, train: (x) => x.kind !== k });
    const r = rates(
      target.filter((x) => x.kind === 'bonafide' || x.kind === k),
      target.flatMap((x, i) => (x.kind === 'bonafide' || x.kind === k ? [sc[i]!] : [])),
    );
    return { attack: k, apcer: r.apcerByType[k]!, bpcer: r.bpcer };
  });
  // stress: a replay at the full frame rate, scored by the heads of the target protocol
  const stressScores = lowo(stress, { cues: allCues });
  const stressApcer = STRESS.map((k) => ({
    attack: k,
    apcer:
      stress.filter((x) => x.kind === k).filter((x) => stressScores[stress.indexOf(x)]! >= 0.5).length / Math.max(1, stress.filter((x) => x.kind === k).length),
    n: stress.filter((x) => x.kind === k).length,
  }));

  // the shipped head: L2 chosen by leave-one-window-out over all windows, then fitted on all target clips
  const headL2 = pickL2(target, { cues: allCues });
  const headAll = fitHead(toClips(target, 'typed'), {
    l2: headL2,
    source: `bench/liveness.ts: ${target.length} simulated clips from short_hamilton_clip.mp4 (${stamp})`,
  });
  const fused = target.map((x) => fuse(x.values, headAll));
  const contributions = allCues.map((c, j) => ({
    cue: c,
    weights: Object.fromEntries(headAll.experts.map((e) => [e.attack, e.weights[j]!])),
    meanAbsContribution: fused.reduce((s, f) => s + Math.abs(f.cues[c]!.contribution), 0) / fused.length,
  }));
  const decidedBy = Object.fromEntries(
    KINDS.map((k) => [
      k,
      Object.fromEntries(headAll.experts.map((e) => [e.attack, target.filter((x, i) => x.kind === k && fused[i]!.decidedBy === e.attack).length])),
    ]),
  );

  console.log('\nSIMULATED attacks (see header). Decision: bona fide iff score >= 0.5.');
  console.log(
    table(
      ['method', 'APCER', 'BPCER', 'ACER', ...ATTACKS.map((k) => `APCER ${k}`)],
      rows.map((r) => [r.method, pct(r.apcer), pct(r.bpcer), pct(r.acer), ...ATTACKS.map((k) => pct(r.apcerByType[k]!))]),
    ),
  );
  console.log(
    table(
      ['cue', 'ACER without it (LOWO)', 'ACER alone (LOWO)', ...headAll.experts.map((e) => `weight ${e.attack}`), 'mean |contribution|'],
      allCues.map((c, j) => [
        c,
        pct(ablation[j]!.acer),
        pct(only[j]!.acer),
        ...headAll.experts.map((e) => round(e.weights[j]!, 3)),
        round(contributions[j]!.meanAbsContribution, 3),
      ]),
    ),
  );
  console.log(
    `fusion error counts with exact 95 % intervals: ${Object.entries(intervals)
      .map(([k, v]) => `${k} ${v.errors}/${v.clips} [${pct(v.low)}, ${pct(v.high)}]`)
      .join('; ')}`,
  );
  console.log(
    table(
      ['attack left out of training', 'APCER on it', 'BPCER'],
      unseen.map((u) => [u.attack, pct(u.apcer), pct(u.bpcer)]),
    ),
  );
  console.log(
    table(
      ['stress attack (not in training, not in the target)', 'clips', 'APCER'],
      stressApcer.map((u) => [u.attack, u.n, pct(u.apcer)]),
    ),
  );
  console.log(`deciding expert of the shipped head, per kind: ${JSON.stringify(decidedBy)}`);

  const trackMs = samples.reduce((s, x) => s + x.msTrackPerFrame, 0) / samples.length;
  const cuesMs = samples.reduce((s, x) => s + x.msCuesPerFrame, 0) / samples.length;
  // end to end on the first 5 s of the real clip, as the CLI runs it
  const t0 = performance.now();
  const v = await checkLivenessFile(models, path.resolve(args.data!), { maxSeconds: 5, head: headAll });
  const e2e = (performance.now() - t0) / 1000;
  models.dispose();
  console.log(`L2 chosen per outer fold (all configurations, in order): ${chosenL2.join(' ')}; shipped head L2 ${headL2}`);
  console.log(
    `per-frame cost: track (mesh + 2 CNNs + crops, tfjs-wasm) ${round(trackMs, 1)} ms, cues (EAR, Procrustes, EVM, rPPG, texture) ${round(cuesMs, 2)} ms`,
  );
  console.log(`5 s clip end to end (decode + track + cues + fusion, ${v.coverage.total} frames): ${round(e2e, 2)} s -> ${v.verdict} ${v.score}`);

  const result = {
    bench: 'liveness',
    simulated: true,
    command: commandLine(),
    timestamp: stamp,
    data: path.resolve(args.data!),
    machine: machineInfo(),
    protocol: {
      window: WINDOW,
      stride: STRIDE,
      fps: round(fps, 3),
      windows: windows.length,
      shots: usedShots,
      samples: [...KINDS, ...STRESS].map((k) => ({ kind: k, n: samples.filter((s) => s.kind === k).length })),
      decision: 'bona fide iff score >= 0.5',
      evaluation: 'leave-one-window-out (heads fitted on the clips of the other windows; L2 chosen inside them)',
      target: `bona fide vs ${ATTACKS.join(', ')}; APCER = worst attack type`,
      stress: `${STRESS.join(', ')}: scored by the target heads, never trained on`,
      variants: VARIANTS,
      bonaFidePerWindow: BONA,
    },
    results: rows.map((r) => ({ ...r, apcer: round(r.apcer, 4), bpcer: round(r.bpcer, 4), acer: round(r.acer, 4) })),
    fusionIntervals: intervals,
    cues: allCues.map((c, j) => ({
      cue: c,
      acerWithout: round(ablation[j]!.acer, 4),
      acerAlone: round(only[j]!.acer, 4),
      weights: Object.fromEntries(Object.entries(contributions[j]!.weights).map(([k, w]) => [k, round(w, 4)])),
      meanAbsContribution: round(contributions[j]!.meanAbsContribution, 4),
    })),
    unseenAttack: unseen.map((u) => ({ ...u, apcer: round(u.apcer, 4), bpcer: round(u.bpcer, 4) })),
    stress: stressApcer.map((u) => ({ ...u, apcer: round(u.apcer, 4) })),
    decidedBy,
    speed: {
      msTrackPerFrame: round(trackMs, 2),
      msCuesPerFrame: round(cuesMs, 3),
      fiveSecondClipSeconds: round(e2e, 2),
      fiveSecondClipFrames: v.coverage.total,
      verdictOnRealClip: { verdict: v.verdict, score: v.score },
    },
    fusionTarget: { acer: 0.05, met: fusion.acer <= 0.05 },
    l2: { grid: L2_GRID, chosenPerOuterFold: chosenL2, shippedHead: headL2 },
    samples: samples.map((s) => ({
      window: s.window,
      shot: s.shot,
      kind: s.kind,
      variant: s.variant,
      tracked: s.tracked,
      cnnAntispoof: round(s.cnnAntispoof, 4),
      cnnLiveness: round(s.cnnLiveness, 4),
      fusionLowo: target.includes(s) ? round(fusionScores[target.indexOf(s)]!, 4) : round(stressScores[stress.indexOf(s)]!, 4),
    })),
    head: headAll,
  };
  const written = await writeJsonPair(path.resolve(args.out!), 'liveness', stamp, result);
  const svg = plot(rows, contributions);
  await writeSvgPng(path.join(path.resolve(args.out!), 'liveness.png'), svg);
  if (args.publish) {
    await writeFileAtomic(path.join(REPO, 'docs/benchmarks/liveness.json'), `${JSON.stringify(result, null, 2)}\n`, { force: true });
    await writeSvgPng(path.join(REPO, 'docs/benchmarks/liveness.png'), svg);
  }
  if (args['write-head']) written.push(await writeHead(headAll));
  console.log(`wrote ${written.join(', ')}`);
}

const pct = (x: number) => `${round(100 * x, 1)}%`;

function plot(rows: Array<{ method: string; acer: number }>, contributions: Array<{ cue: string; meanAbsContribution: number }>): string {
  const a = hbarChart(
    { x: 20, y: 10, w: 900, h: 260 },
    rows.map((r) => ({ label: r.method, value: 100 * r.acer, color: r.method.startsWith('fusion') ? '#2ca02c' : '#7f7f7f' })),
    { title: 'ACER on simulated attacks (lower is better)', unit: 'ACER %', labelWidth: 330 },
  );
  const b = hbarChart(
    { x: 20, y: 300, w: 900, h: 420 },
    [...contributions]
      .sort((p, q) => q.meanAbsContribution - p.meanAbsContribution)
      .map((c) => ({ label: c.cue, value: c.meanAbsContribution, color: '#1f77b4' })),
    { title: 'per-cue contribution: mean |weight x pooled value| in the deciding expert (all-data head)', unit: 'logit units', labelWidth: 330 },
  );
  return svgDoc(940, 740, `${a}\n${b}`);
}

/**
 * This one-clip head is no longer the shipped one (bench/liveness-people.ts --write-head fits that
 * on 21 people): it is written as JSON beside the results, usable with `clearsight liveness --head`.
 */
async function writeHead(h: LivenessHead): Promise<string> {
  const file = path.join(path.resolve(args.out!), 'liveness-one-clip-head.json');
  await writeFile(file, `${JSON.stringify(h, null, 2)}\n`);
  return file;
}

await main();
