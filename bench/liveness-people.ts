/**
 * Liveness across PEOPLE and SOURCES: bona fide clips of 21 real people (face-videos/live-real)
 * and print / screen-replay / cut-eye attacks simulated from each of them, scored by
 *   - the shipped head (DEFAULT_LIVENESS_HEAD as it is when the bench runs; see its source field), and
 *   - the same per-attack-expert logistic head refitted here, evaluated leave-one-person-out and
 *     leave-one-source-out (no person, resp. no source, in both training and test).
 *
 *   node --import tsx bench/liveness-people.ts [--data ../shared/data/face-videos/live-real] [--seconds 1.5]
 *        [--per-person 2] [--max-side 320] [--reuse] [--out bench/results] [--publish] [--write-head]
 *
 * --write-head fits the same head on ALL clips (every person, every source) and writes it as the
 * shipped src/face/liveness/defaultHead.ts. Its figures are the held-out ones printed above it
 * (leave-one-source-out first); the all-data fit's own error is a TRAINING figure.
 *
 * When models/liveness-gru exists (npm run train:liveness-gru, trained on these very clips), its
 * ONNX is scored too - a TRAINING figure - and its card's leave-one-person-out and
 * leave-one-source-out figures (the trainer retrains per held-out group) are printed beside.
 *
 * Attacks come from bench/lib/attacks.ts (the generators of bench/liveness.ts): a print of the
 * clip's middle frame moved by hand tremor (paper grain, gamut loss, sensor noise), the clip
 * replayed on a screen at 15 fps (gamma, moire, refresh band, blur, noise), and the print with
 * the live eyes showing through holes. One of each per bona fide clip, seeded by the file name.
 * Decision: bona fide iff score >= 0.5 (as bench/liveness.ts); APCER per attack type, BPCER,
 * ACER = (worst APCER + BPCER) / 2, exact (Clopper-Pearson) 95 % intervals over clips. Clips of
 * one person share a face and a source, so the intervals are optimistic.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { RawImage } from '../src/core/image/types.js';
import { mulberry32 } from '../src/core/random.js';
import { writeFileAtomic } from '../src/core/fs.js';
import { FaceModels } from '../src/face/index.js';
import { computeCues, CUES, DEFAULT_LIVENESS_HEAD, fitHead, fuse, readVideoFrames, trackFace, type LivenessHead } from '../src/face/liveness/index.js';
import { makePrint, makeReplay } from './lib/attacks.js';
import { livenessRates } from './lib/livenessWindows.js';
import { getModelCard } from '../src/core/models/registry.js';
import { TrainedModel } from '../src/core/models/trainedModel.js';
import { personOf, sourceOf } from './lib/people.js';
import { writeDefaultHead } from './lib/headModule.js';
import { commandLine, machineInfo, round, table, timestamp, writeJsonPair, sharedData } from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: sharedData('face-videos/live-real') },
    seconds: { type: 'string', default: '1.5' },
    'per-person': { type: 'string', default: '2' },
    'max-side': { type: 'string', default: '320' },
    l2: { type: 'string', default: '0.1' },
    reuse: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    publish: { type: 'boolean', default: false },
    'write-head': { type: 'boolean', default: false },
  },
});
const KINDS = ['bonafide', 'print', 'replay', 'cutEye'] as const;
type Kind = (typeof KINDS)[number];
const ATTACKS = ['print', 'replay', 'cutEye'] as const;

interface Sample {
  file: string;
  person: string;
  source: string;
  kind: Kind;
  values: number[][];
  fps: number;
  tracked: number;
  frames: number;
  msPerFrame: number;
}

async function track(models: FaceModels, frames: RawImage[], times: number[], fps: number) {
  const t0 = performance.now();
  const obs = await trackFace(models, frames, times);
  return { obs, values: computeCues(obs, fps).values, msPerFrame: (performance.now() - t0) / frames.length };
}

async function collect(): Promise<Sample[]> {
  const cacheFile = path.join(REPO, 'bench/results/liveness-people-cues.bin');
  if (args.reuse) return deserialize(await readFile(cacheFile)) as Sample[];
  const dir = path.resolve(args.data!);
  const all = (await readdir(dir)).filter((f) => /\.(mp4|mov|webm|mkv)$/i.test(f)).sort();
  const perPerson = Number(args['per-person']);
  const chosen = [...new Set(all.map(personOf))].flatMap((p) => all.filter((f) => personOf(f) === p).slice(0, perPerson));
  const models = await FaceModels.load({ liveness: true, embed: false });
  const samples: Sample[] = [];
  for (const [i, file] of chosen.entries()) {
    const clip = await readVideoFrames(path.join(dir, file), { maxSeconds: Number(args.seconds), maxSide: Number(args['max-side']) });
    const frames = clip.frames as RawImage[];
    const live = await track(models, frames, clip.times, clip.fps);
    const base = { file, person: personOf(file), source: sourceOf(file), fps: clip.fps, frames: frames.length };
    samples.push({ ...base, kind: 'bonafide', values: live.values, tracked: live.obs.filter((o) => o.found).length, msPerFrame: live.msPerFrame });
    if (!live.obs.every((o) => o.found)) {
      process.stderr.write(`${file}: face lost in some frames; no attacks simulated from it\n`);
      continue;
    }
    const seed = createHash('sha256').update(file).digest().readUInt32LE(0);
    const rand = mulberry32(seed);
    const attacks: Array<[Kind, RawImage[]]> = [
      ['print', makePrint(frames, live.obs, clip.fps, rand, false)],
      ['replay', makeReplay(frames, rand)],
      ['cutEye', makePrint(frames, live.obs, clip.fps, rand, true)],
    ];
    for (const [kind, fr] of attacks) {
      const a = await track(models, fr, clip.times, clip.fps);
      samples.push({ ...base, kind, values: a.values, tracked: a.obs.filter((o) => o.found).length, msPerFrame: a.msPerFrame });
    }
    process.stderr.write(
      `[${i + 1}/${chosen.length}] ${file} (${base.person}, ${base.source}): ${frames.length} frames, ${round(live.msPerFrame, 0)} ms/frame\n`,
    );
  }
  await models.dispose();
  await writeFile(cacheFile, serialize(samples));
  return samples;
}

function rates(samples: readonly Sample[], scores: readonly number[]) {
  return livenessRates(
    samples.map((s) => s.kind),
    scores,
  );
}

/** The per-attack-expert logistic head fitted on `samples` (the one fitting code for held-out and shipped heads). */
function fitOn(samples: readonly Sample[], l2: number, source: string): LivenessHead {
  const train = samples.map((s) => ({ values: s.values, live: s.kind === 'bonafide', ...(s.kind !== 'bonafide' ? { attack: s.kind } : {}) }));
  return fitHead(train, { cues: CUES, l2, temperature: 1, source });
}

function heldOut(samples: readonly Sample[], group: (s: Sample) => string, l2: number): number[] {
  const scores = new Array<number>(samples.length).fill(NaN);
  for (const g of new Set(samples.map(group))) {
    const head = fitOn(
      samples.filter((s) => group(s) !== g),
      l2,
      `bench liveness-people, without ${g}`,
    );
    samples.forEach((s, i) => {
      if (group(s) === g) scores[i] = fuse(s.values, head).score;
    });
  }
  return scores;
}

/** The trained temporal model on every clip through onnxruntime, if models/liveness-gru is there. */
async function scoreGru(samples: readonly Sample[]) {
  let card: ReturnType<typeof getModelCard>;
  try {
    card = getModelCard('liveness-gru');
  } catch {
    return undefined;
  }
  const model = await TrainedModel.load('liveness-gru', { threads: 1 });
  const scores: number[] = [];
  for (const s of samples) {
    const T = s.values.length,
      C = CUES.length;
    const cues = new Float32Array(T * C),
      mask = new Float32Array(T);
    s.values.forEach((row, t) => {
      if (!row.some((v) => Number.isFinite(v))) return;
      mask[t] = 1;
      row.forEach((v, j) => {
        cues[t * C + j] = Number.isFinite(v) ? v : 0;
      });
    });
    const out = await model.run({ cues: { data: cues, shape: [1, T, C] }, mask: { data: mask, shape: [1, T] } });
    scores.push(out.live!.data[0]!);
  }
  await model.dispose();
  return { scores, card: { id: card.id, quality: card.trained?.quality ?? [] } };
}

async function main(): Promise<void> {
  const stamp = timestamp();
  const samples = await collect();
  const l2 = Number(args.l2);
  const shipped = samples.map((s) => fuse(s.values, DEFAULT_LIVENESS_HEAD).score);
  const lopo = heldOut(samples, (s) => s.person, l2);
  const loso = heldOut(samples, (s) => s.source, l2);
  const methods: Record<string, ReturnType<typeof rates>> = {
    'shipped head (DEFAULT_LIVENESS_HEAD at run time)': rates(samples, shipped),
    'refit, leave-one-person-out': rates(samples, lopo),
    'refit, leave-one-source-out': rates(samples, loso),
  };
  const people = new Set(samples.map((s) => s.person)).size;
  const sources = [...new Set(samples.map((s) => s.source))];
  const allHead = args['write-head'] ? fitOn(samples, l2, headSource(samples, people, sources, l2, stamp)) : undefined;
  if (allHead)
    methods['all-data head (written), TRAINING figure'] = rates(
      samples,
      samples.map((s) => fuse(s.values, allHead).score),
    );
  const gru = await scoreGru(samples);
  if (gru) methods['GRU + attention, TRAINING figure (fitted on these clips)'] = rates(samples, gru.scores);
  const pct = (x: number) => `${round(100 * x, 1)}`;
  console.log(
    table(
      ['method', 'BPCER % (CI)', 'APCER print / replay / cut-eye %', 'ACER %'],
      Object.entries(methods).map(([m, r]) => [
        m,
        `${pct(r.bpcer.rate)} (${pct(r.bpcer.ci95[0]!)}-${pct(r.bpcer.ci95[1]!)})`,
        ATTACKS.map((a) => `${pct(r.perAttack[a]!.apcer)} (${pct(r.perAttack[a]!.ci95[0]!)}-${pct(r.perAttack[a]!.ci95[1]!)})`).join(' / '),
        pct(r.acer),
      ]),
    ),
  );
  if (gru)
    for (const q of gru.card.quality)
      console.log(`${gru.card.id} (card): ${q.split} ${q.metric} ${round(100 * q.value, 1)} %${q.note ? ` - ${q.note}` : ''} [${q.command}]`);
  const ms = samples.reduce((a, s) => a + s.msPerFrame * s.frames, 0) / samples.reduce((a, s) => a + s.frames, 0);
  console.log(
    `${samples.length} clips (${samples.filter((s) => s.kind === 'bonafide').length} bona fide) of ${people} people from sources ${sources.join(', ')}; tracking ${round(ms, 1)} ms/frame`,
  );
  const result = {
    bench: 'liveness-people',
    command: commandLine(),
    timestamp: stamp,
    machine: machineInfo(),
    ...(args.reuse
      ? { cues: 'reused from bench/results/liveness-people-cues.bin (tracking arguments: those of the run that wrote it)' }
      : { seconds: Number(args.seconds), maxSide: Number(args['max-side']) }),
    l2,
    shippedHead: DEFAULT_LIVENESS_HEAD.source,
    people,
    sources,
    clips: samples.length,
    methods,
    gruCard: gru?.card,
    perClip: samples.map((s, i) => ({
      file: s.file,
      person: s.person,
      source: s.source,
      kind: s.kind,
      tracked: `${s.tracked}/${s.frames}`,
      shipped: round(shipped[i]!, 4),
      leavePersonOut: round(lopo[i]!, 4),
      leaveSourceOut: round(loso[i]!, 4),
      ...(gru ? { gruTraining: round(gru.scores[i]!, 4) } : {}),
    })),
  };
  const written = await writeJsonPair(path.resolve(args.out!), 'liveness-people', stamp, result);
  if (args.publish) await writeFileAtomic(path.join(REPO, 'docs/benchmarks/liveness-people.json'), `${JSON.stringify(result, null, 2)}\n`, { force: true });
  if (allHead) written.push(await writeDefaultHead(REPO, allHead, headDoc(samples, people, sources, methods)));
  console.log(`wrote ${written.join(', ')}`);
}

function headSource(samples: readonly Sample[], people: number, sources: readonly string[], l2: number, stamp: string): string {
  const bona = samples.filter((s) => s.kind === 'bonafide').length;
  return `bench/liveness-people.ts --write-head: ${samples.length} clips (${bona} bona fide + simulated print/replay/cut-eye) of ${people} people from face-videos/live-real (${sources.join(', ')}), L2 ${l2} (${stamp})`;
}

function headDoc(samples: readonly Sample[], people: number, sources: readonly string[], methods: Record<string, ReturnType<typeof rates>>): string[] {
  const pct = (x: number) => `${round(100 * x, 1)} %`;
  const fig = (m: string) => {
    const r = methods[m]!;
    return `BPCER ${pct(r.bpcer.rate)}, APCER ${ATTACKS.map((a) => pct(r.perAttack[a]!.apcer)).join(' / ')}, ACER ${pct(r.acer)}`;
  };
  return [
    'The shipped liveness head, generated by',
    '  node --import tsx bench/liveness-people.ts --reuse --write-head',
    'from the cue cache of',
    '  node --import tsx bench/liveness-people.ts --data <shared>/face-videos/live-real --seconds 1.2 --per-person 1 --max-side 256',
    `Fitted (per-attack logistic experts, fitHead) on ALL ${samples.length} clips: one bona fide clip of each of`,
    `${people} real people from ${sources.length} sources (${sources.join(', ')}) and a print, a 15 fps screen replay`,
    'and a cut-eye print SIMULATED from each (bench/lib/attacks.ts). No real attack clips.',
    'The same fitting, held out (threshold 0.5; APCER print / replay / cut-eye):',
    `  leave-one-source-out: ${fig('refit, leave-one-source-out')}`,
    `  leave-one-person-out: ${fig('refit, leave-one-person-out')}`,
    'Adapt it to a real camera and real attacks with calibrateLiveness().',
  ];
}

await main();
