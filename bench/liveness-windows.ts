/**
 * Liveness across PEOPLE and SOURCES on 5 s windows read as `clearsight liveness` reads a clip
 * (longest side <= 640, the CLI's tracker settings; bench/lib/livenessWindows.ts).
 * `npm run bench:liveness` runs this (with --temporal); the older one-clip protocol is `npm run bench:liveness-clip`.
 *
 * 1. Extraction (slow, ~40 min; cached in bench/results/liveness-windows.bin, resumable; a second
 *    process with --reverse --cache bench/results/liveness-windows-rev.bin works from the other end):
 *      node --import tsx bench/liveness-windows.ts --extract [--data <shared>/face-videos/live-real] [--per-person 2]
 * 2. Figures from the cache (under a minute; both caches merged by default):
 *      node --import tsx bench/liveness-windows.ts [--temporal] [--write-head] [--publish] [--adapt] [--explain <regex>]
 *
 * Held out: for every person (resp. source) a head is fitted on ALL windows of the other people
 * (resp. sources) and scores the held-out clips' FIRST window (one score per clip and kind, what
 * the CLI sees). Each row states its thresholds; a clip is judged live iff its verdict is "live"
 * ("uncertain" is not live). Rows:
 *   - the previous shipped head and the shipped head (DEFAULT_LIVENESS_HEAD) at their own thresholds
 *     (fitted on these people: training figures);
 *   - with --temporal the shipped temporal model (models/liveness-gru) at 0.5 (training figure) and
 *     its card's held-out figures;
 *   - the per-attack logistic head refitted leave-one-source-out (fitHead; the one fitting code for
 *     held-out and shipped) at the thresholds of the rule (src/face/liveness/thresholds.ts) chosen
 *     NESTED: for each held-out source from inner leave-one-source-out scores of the other sources
 *     only (the headline); at 0.5; at the rule's thresholds on these scores (what is shipped); at
 *     the previous 0.6 / 0.4;
 *   - the temporal model's recipe retrained without each source, at 0.5 and nested, when
 *     training/liveness_gru.py --nested has written its scores (training/cache/liveness-gru-nested.json);
 *   - leave-one-person-out head, clip-level per-attack logistic experts on the cue means without
 *     and with the first principal components of the clip's mean FaceRes embedding (PCA fitted on
 *     the training fold): does the identity backbone add anything across sources?
 * Adaptation (`--adapt`): for a held-out source, the leave-source-out head recalibrated with
 * calibrateLiveness (the liveness-calibrate path) on k labelled clips of OTHER people of that
 * source (k/2 live, k/2 attacks), scored on the held-out person's clips at 0.5; 20 random draws per k.
 * Exact (Clopper-Pearson) 95 % intervals over clips.
 * --write-head writes the head fitted on ALL windows, with the rule's thresholds on the
 * leave-one-source-out scores, as src/face/liveness/defaultHead.ts.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { writeFileAtomic } from '../src/core/fs.js';
import { mulberry32 } from '../src/core/random.js';
import { fitLogisticNewton, sigmoid } from '../src/core/stats.js';
import { FaceModels } from '../src/face/index.js';
import { TrainedModel } from '../src/core/models/trainedModel.js';
import {
  calibrateLiveness,
  chooseThresholds,
  describeThresholdRule,
  scoreTemporal,
  CUES,
  DEFAULT_LIVENESS_HEAD,
  fitHead,
  fuse,
  type Cue,
  type HeldOutScore,
  type LivenessHead,
  type LivenessThresholds,
  type ThresholdRule,
  THRESHOLD_RULE,
} from '../src/face/liveness/index.js';
import { ATTACKS, extractWindows, HALF, livenessRates, loadWindowCache, type Rates, type WindowSample } from './lib/livenessWindows.js';
import { personOf } from './lib/people.js';
import { writeDefaultHead } from './lib/headModule.js';
import { PREVIOUS_LIVENESS_HEAD } from './lib/livenessHeadPrevious.js';
import { commandLine, machineInfo, REPO_ROOT, round, sharedData, table, timestamp, writeJsonPair } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    extract: { type: 'boolean', default: false },
    /** Extract the clips in reverse order (a second process on the other end of the list, its own --cache). */
    reverse: { type: 'boolean', default: false },
    data: { type: 'string', default: sharedData('face-videos/live-real') },
    'per-person': { type: 'string', default: '2' },
    seconds: { type: 'string', default: '5' },
    'clip-seconds': { type: 'string', default: '7.5' },
    'embed-every': { type: 'string', default: '10' },
    /** Extraction writes the first file; evaluation merges all (the second is the --reverse process's). */
    cache: { type: 'string', default: ['liveness-windows.bin', 'liveness-windows-rev.bin'].map((f) => path.join(REPO_ROOT, 'bench/results', f)).join(',') },
    l2: { type: 'string', default: '0.1' },
    pcs: { type: 'string', default: '4' },
    adapt: { type: 'boolean', default: false },
    /** Bona fide clips whose file matches this regex: the leave-source-out head's deciding expert and cue contributions. */
    explain: { type: 'string' },
    draws: { type: 'string', default: '20' },
    /** calibrateLiveness' alignPriorClips for --adapt (default: the library's; 0 = the alignment before 2026-12-08). */
    'align-prior-clips': { type: 'string' },
    out: { type: 'string', default: path.join(REPO_ROOT, 'bench/results') },
    publish: { type: 'boolean', default: false },
    'write-head': { type: 'boolean', default: false },
    /**
     * The threshold rule as maxBpcer,maxApcer,liveCap (default THRESHOLD_RULE: 0.05,0.05,0.5): other
     * values show how much the nested figures depend on it; --write-head refuses anything but the default.
     */
    rule: { type: 'string' },
    /** Also score the first windows with the shipped temporal model (models/liveness-gru) through scoreTemporal. */
    temporal: { type: 'boolean', default: false },
  },
});

const RULE: ThresholdRule = (() => {
  if (args.rule === undefined) return THRESHOLD_RULE;
  const [maxBpcer, maxApcer, liveCap] = args.rule.split(',').map(Number);
  if (args['write-head']) throw new Error('--write-head ships THRESHOLD_RULE only: drop --rule');
  return { maxBpcer: maxBpcer!, maxApcer: maxApcer!, liveCap: liveCap! };
})();

async function extract(): Promise<void> {
  const dir = path.resolve(args.data!);
  const all = (await readdir(dir)).filter((f) => /\.(mp4|mov|webm|mkv)$/i.test(f)).sort();
  const perPerson = Number(args['per-person']);
  const files = [...new Set(all.map(personOf))].flatMap((p) => all.filter((f) => personOf(f) === p).slice(0, perPerson));
  if (args.reverse) files.reverse();
  const models = await FaceModels.load({ liveness: true, embed: true });
  const samples = await extractWindows(models, {
    dir,
    files,
    cacheFile: path.resolve(args.cache!.split(',')[0]!),
    windowSeconds: Number(args.seconds),
    clipSeconds: Number(args['clip-seconds']),
    embedEvery: Number(args['embed-every']),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  await models.dispose();
  console.log(`${samples.length} window samples from ${new Set(samples.map((s) => s.file)).size} clips in ${args.cache}`);
}

// ---------------------------------------------------------------------------------------------
// the refitted head

function fitOn(train: readonly WindowSample[], l2: number, source: string, nonNegative: readonly Cue[] = []): LivenessHead {
  const clips = train.map((s) => ({ values: s.values, live: s.kind === 'bonafide', ...(s.kind !== 'bonafide' ? { attack: s.kind } : {}) }));
  return fitHead(clips, { cues: CUES, l2, temperature: 1, source, nonNegative });
}

/** Scores of the first windows of each held-out group from a model fitted on the other groups' windows. */
function heldOut(
  samples: readonly WindowSample[],
  group: (s: WindowSample) => string,
  fitScore: (train: WindowSample[], test: WindowSample[], g: string) => number[],
): { test: WindowSample[]; scores: number[] } {
  const test: WindowSample[] = [],
    scores: number[] = [];
  for (const g of [...new Set(samples.map(group))].sort()) {
    const tst = samples.filter((s) => group(s) === g && s.window === 0);
    scores.push(
      ...fitScore(
        samples.filter((s) => group(s) !== g),
        tst,
        g,
      ),
    );
    test.push(...tst);
  }
  return { test, scores };
}

type Scorer = (train: WindowSample[], test: WindowSample[], g: string) => number[];

const headScorer =
  (l2: number, nonNegative: readonly Cue[] = []): Scorer =>
  (train, test, g) => {
    const head = fitOn(train, l2, `bench liveness-windows, without ${g}`, nonNegative);
    return test.map((s) => fuse(s.values, head).score);
  };

// ---------------------------------------------------------------------------------------------
// clip-level experts on cue means (+ identity-embedding components)

function cueMeans(s: WindowSample): number[] {
  return CUES.map((_, j) => {
    const v = s.values.map((r) => r[j]!).filter(Number.isFinite);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
  });
}

function meanEmbedding(s: WindowSample): Float64Array | undefined {
  if (!s.embeddings.length) return undefined;
  const m = new Float64Array(s.embeddings[0]!.length);
  for (const e of s.embeddings) for (let i = 0; i < m.length; i++) m[i]! += e[i]! / s.embeddings.length;
  return m;
}

/** The first k principal axes of rows (power iteration with deflation); rows centred by `mean`. */
function principalAxes(rows: readonly Float64Array[], k: number): { mean: Float64Array; axes: Float64Array[] } {
  const d = rows[0]!.length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i]! += r[i]! / rows.length;
  const X = rows.map((r) => r.map((v, i) => v - mean[i]!));
  const axes: Float64Array[] = [];
  const rand = mulberry32(17);
  for (let a = 0; a < k; a++) {
    let v = Float64Array.from({ length: d }, () => rand() - 0.5);
    for (let it = 0; it < 100; it++) {
      const next = new Float64Array(d);
      for (const x of X) {
        let p = 0;
        for (let i = 0; i < d; i++) p += x[i]! * v[i]!;
        for (let i = 0; i < d; i++) next[i]! += p * x[i]!;
      }
      for (const u of axes) {
        let p = 0;
        for (let i = 0; i < d; i++) p += next[i]! * u[i]!;
        for (let i = 0; i < d; i++) next[i]! -= p * u[i]!;
      }
      const n = Math.hypot(...next) || 1;
      v = next.map((x) => x / n);
    }
    axes.push(v);
  }
  return { mean, axes };
}

const clipScorer = (l2: number, pcs: number) => (train: WindowSample[], test: WindowSample[]) => {
  const embTrain = train.map(meanEmbedding);
  const pca =
    pcs > 0
      ? principalAxes(
          embTrain.filter((e): e is Float64Array => !!e),
          pcs,
        )
      : undefined;
  const feats = (s: WindowSample, e = meanEmbedding(s)) => {
    const f = cueMeans(s);
    if (pca) for (const u of pca.axes) f.push(e ? e.reduce((p, v, i) => p + (v - pca.mean[i]!) * u[i]!, 0) : 0);
    return f;
  };
  const Xtr = train.map((s, i) => feats(s, embTrain[i]));
  const d = Xtr[0]!.length;
  const mu = Array.from({ length: d }, (_, j) => Xtr.reduce((a, r) => a + r[j]!, 0) / Xtr.length);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(Xtr.reduce((a, r) => a + (r[j]! - mu[j]!) ** 2, 0) / Xtr.length) || 1);
  const z = (r: number[]) => r.map((v, j) => Math.max(-6, Math.min(6, (v - mu[j]!) / sd[j]!)));
  const experts = ATTACKS.map((a) => {
    const idx = train.map((s, i) => (s.kind === 'bonafide' || s.kind === a ? i : -1)).filter((i) => i >= 0);
    const nB = idx.filter((i) => train[i]!.kind === 'bonafide').length;
    const rows = idx.map((i) => z(Xtr[i]!));
    const targets = idx.map((i) => (train[i]!.kind === 'bonafide' ? 1 : 0));
    const sampleWeights = idx.map((i) => (train[i]!.kind === 'bonafide' ? idx.length / (2 * nB) : idx.length / (2 * (idx.length - nB))));
    return fitLogisticNewton(rows, { targets, sampleWeights, l2 });
  });
  return test.map((s) => {
    const x = z(feats(s));
    return Math.min(...experts.map((e) => sigmoid(e.bias + e.weights.reduce((p, w, j) => p + w * x[j]!, 0))));
  });
};

// ---------------------------------------------------------------------------------------------
// few-label adaptation

interface AdaptRow {
  source: string;
  k: number;
  draws: number;
  bona: { rejected: number; n: number };
  attacks: { accepted: number; n: number };
}

function adaptation(samples: readonly WindowSample[], l2: number, ks: readonly number[], draws: number): AdaptRow[] {
  const rows: AdaptRow[] = [];
  for (const source of [...new Set(samples.map((s) => s.source))].sort()) {
    const people = [...new Set(samples.filter((s) => s.source === source).map((s) => s.person))];
    if (people.length < 2) continue; // nobody else at this site to calibrate on
    const prior = fitOn(
      samples.filter((s) => s.source !== source),
      l2,
      `without ${source}`,
    );
    for (const k of [0, ...ks]) {
      const row: AdaptRow = { source, k, draws: k === 0 ? 1 : draws, bona: { rejected: 0, n: 0 }, attacks: { accepted: 0, n: 0 } };
      for (const person of people) {
        const test = samples.filter((s) => s.person === person && s.window === 0);
        const pool = samples.filter((s) => s.source === source && s.person !== person && s.window === 0);
        const live = pool.filter((s) => s.kind === 'bonafide'),
          spoof = pool.filter((s) => s.kind !== 'bonafide');
        if (k > 0 && (live.length < k / 2 || spoof.length < k / 2)) continue;
        const rand = mulberry32(1000 * k + people.indexOf(person));
        for (let d = 0; d < row.draws; d++) {
          let head = prior;
          if (k > 0) {
            const pick = <T>(xs: readonly T[], n: number) => shuffle(xs, rand).slice(0, n);
            const chosen = [...pick(live, k / 2), ...pick(spoof, k / 2)];
            head = calibrateLiveness(
              chosen.map((s) => ({
                analysis: {
                  cues: { values: s.values, fps: s.fps, pulse: { bpm: 0, snr: 0, bandEnergyRatio: 0, localPeak: false, minSnr: 1, reliable: false } },
                },
                live: s.kind === 'bonafide',
              })),
              { prior, ...(args['align-prior-clips'] !== undefined ? { alignPriorClips: Number(args['align-prior-clips']) } : {}) },
            );
          }
          for (const s of test) {
            const live = fuse(s.values, head).score >= 0.5;
            if (s.kind === 'bonafide') {
              row.bona.n++;
              if (!live) row.bona.rejected++;
            } else {
              row.attacks.n++;
              if (live) row.attacks.accepted++;
            }
          }
        }
      }
      if (row.bona.n > 0) rows.push(row);
    }
  }
  return rows;
}

function shuffle<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Why the leave-source-out head scores these bona fide clips as it does: deciding expert, cue contributions. */
function explain(samples: readonly WindowSample[], pattern: RegExp, l2: number): void {
  const heads = new Map<string, LivenessHead>();
  for (const s of samples.filter((x) => x.kind === 'bonafide' && x.window === 0 && pattern.test(x.file))) {
    if (!heads.has(s.source))
      heads.set(
        s.source,
        fitOn(
          samples.filter((x) => x.source !== s.source),
          l2,
          `without ${s.source}`,
        ),
      );
    const r = fuse(s.values, heads.get(s.source)!);
    const contributions = Object.entries(r.cues)
      .sort((a, b) => a[1].contribution - b[1].contribution)
      .map(([c, v]) => `${c} ${v.contribution >= 0 ? '+' : ''}${round(v.contribution, 2)} (z ${round(v.pooled, 2)})`);
    console.log(`${s.file}: score ${round(r.score, 3)} decided by ${r.decidedBy}, tracked ${s.tracked}/${s.frames}; ${contributions.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------

/** Per-clip thresholds chosen by the threshold rule from held-out scores (one pair per held-out fold). */
interface Operating {
  test: WindowSample[];
  scores: number[];
  thresholds: LivenessThresholds[];
}

const asHeldOut = (test: readonly WindowSample[], scores: readonly number[]): HeldOutScore[] =>
  test.map((s, i) => ({ score: scores[i]!, live: s.kind === 'bonafide', ...(s.kind !== 'bonafide' ? { attack: s.kind } : {}) }));

/** Class-balanced mean cross-entropy of held-out scores (bona fide and attack halves weigh equally). */
function balancedCrossEntropy(test: readonly WindowSample[], scores: readonly number[]): number {
  const ce = (live: boolean) => {
    const v = scores.filter((_, i) => (test[i]!.kind === 'bonafide') === live).map((p) => -Math.log(Math.min(1 - 1e-9, Math.max(1e-9, live ? p : 1 - p))));
    return v.reduce((a, x) => a + x, 0) / Math.max(1, v.length);
  };
  return (ce(true) + ce(false)) / 2;
}

interface NestedFold extends LivenessThresholds {
  variant: string;
  innerBona: number;
  innerAttacks: number;
}

/**
 * Nested: for each held-out source, everything is chosen from INNER held-out scores only
 * (leave-one-source-out within the other sources: a head fitted on two sources scores the third):
 * the variant (lowest inner ACER at 0.5, then lowest balanced cross-entropy) and the thresholds
 * (the rule on the chosen variant's inner scores). The chosen variant, fitted on all the other
 * sources, scores the held-out source, whose clips are judged at those thresholds. The held-out
 * source's scores never choose anything of their own.
 */
function nested(
  samples: readonly WindowSample[],
  variants: ReadonlyArray<{ name: string; scorer: Scorer }>,
): Operating & { folds: Record<string, NestedFold> } {
  const folds: Record<string, NestedFold> = {};
  const test: WindowSample[] = [],
    scores: number[] = [],
    thresholds: LivenessThresholds[] = [];
  for (const o of [...new Set(samples.map((s) => s.source))].sort()) {
    const rest = samples.filter((s) => s.source !== o);
    const inner = variants.map((v) => {
      const r = heldOut(rest, (s) => s.source, v.scorer);
      return {
        ...v,
        ...r,
        acer: livenessRates(
          r.test.map((s) => s.kind),
          r.scores,
        ).acer,
        ce: balancedCrossEntropy(r.test, r.scores),
      };
    });
    const best = inner.reduce((a, b) => (b.acer < a.acer || (b.acer === a.acer && b.ce < a.ce) ? b : a));
    const t = chooseThresholds(asHeldOut(best.test, best.scores), RULE);
    folds[o] = {
      ...t,
      variant: best.name,
      innerBona: best.test.filter((s) => s.kind === 'bonafide').length,
      innerAttacks: best.test.filter((s) => s.kind !== 'bonafide').length,
    };
    const tst = samples.filter((s) => s.source === o && s.window === 0);
    test.push(...tst);
    scores.push(...best.scorer(rest, tst, o));
    thresholds.push(...tst.map(() => t));
  }
  return { test, scores, thresholds, folds };
}

/** The temporal model's held-out figures as its card states them (training/liveness_gru.py; not re-measured by this bench). */
function cardFigures(card: { quality?: Array<{ split: string; metric: string; value: number; note?: string }> }): string[] {
  return (card.quality ?? []).filter((q) => q.split !== 'training').map((q) => `${q.split}: ${q.metric} ${q.value} (${q.note ?? ''})`);
}

/** Held-out scores of one clip, as training/liveness_gru.py --nested writes them. */
interface ScoredItem {
  file: string;
  kind: string;
  source: string;
  score: number;
}

/**
 * The temporal model's recipe held out, if training/liveness_gru.py --nested has written its scores
 * (Python, about 25 min on 2 shared cores, so not run by this bench): per held-out source the
 * outer scores and the inner leave-one-source-out scores; the threshold rule is applied here.
 */
async function gruNested(
  first: readonly WindowSample[],
): Promise<{ loso: { test: WindowSample[]; scores: number[] }; thresholds: Record<string, LivenessThresholds>; command: string } | undefined> {
  const file = path.join(REPO_ROOT, 'training/cache/liveness-gru-nested.json');
  if (!existsSync(file)) return undefined;
  const run = JSON.parse(await readFile(file, 'utf8')) as { command: string; folds: Record<string, { outer: ScoredItem[]; inner: ScoredItem[] }> };
  const key = (f: string, k: string) => `${f}|${k}`;
  const outer = new Map<string, number>();
  const thresholds: Record<string, LivenessThresholds> = {};
  for (const [o, fold] of Object.entries(run.folds)) {
    for (const x of fold.outer) outer.set(key(x.file, x.kind), x.score);
    thresholds[o] = chooseThresholds(
      fold.inner.map((x) => ({ score: x.score, live: x.kind === 'bonafide', ...(x.kind !== 'bonafide' ? { attack: x.kind } : {}) })),
      RULE,
    );
  }
  const scores = first.map((s) => outer.get(key(s.file, s.kind)));
  if (scores.some((v) => v === undefined)) throw new Error(`${file} does not cover the cached clips: rerun training/liveness_gru.py --nested`);
  return { loso: { test: [...first], scores: scores as number[] }, thresholds, command: run.command };
}

async function evaluate(): Promise<void> {
  const stamp = timestamp();
  // --cache a.bin,b.bin: caches of several extraction processes, merged (first one wins per clip)
  const samples: WindowSample[] = [];
  for (const file of args.cache!.split(',')) {
    const seen = new Set(samples.map((s) => s.file));
    samples.push(...(await loadWindowCache(path.resolve(file))).filter((s) => !seen.has(s.file)));
  }
  if (!samples.length) throw new Error(`no cache at ${args.cache}: run with --extract first`);
  const l2 = Number(args.l2),
    pcs = Number(args.pcs);
  const first = samples.filter((s) => s.window === 0);
  const methods: Record<string, Rates & { thresholds: string }> = {};
  const perClip: Record<string, number[]> = {};
  const describe = (t: LivenessThresholds | readonly LivenessThresholds[]) =>
    Array.isArray(t) ? 'per fold (nested)' : `${(t as LivenessThresholds).live} / ${(t as LivenessThresholds).spoof}`;
  const add = (name: string, r: { test: WindowSample[]; scores: number[] }, thresholds: LivenessThresholds | LivenessThresholds[] = HALF) => {
    methods[name] = {
      thresholds: describe(thresholds),
      ...livenessRates(
        r.test.map((s) => s.kind),
        r.scores,
        thresholds,
      ),
    };
    perClip[name] = first.map((s) => r.scores[r.test.indexOf(s)]!);
  };
  const atShipped = (t: LivenessThresholds) => `${t.live} / ${t.spoof}`;
  const previous = { test: first, scores: first.map((s) => fuse(s.values, PREVIOUS_LIVENESS_HEAD).score) };
  add(
    'previous shipped head at its thresholds (fitted on 1.2 s at 256 px of the first clip of these 21 people: NOT held out)',
    previous,
    PREVIOUS_LIVENESS_HEAD.thresholds,
  );
  if (DEFAULT_LIVENESS_HEAD.source !== PREVIOUS_LIVENESS_HEAD.source)
    add(
      'shipped head at its thresholds (DEFAULT_LIVENESS_HEAD at run time; fitted on these windows: TRAINING figure)',
      { test: first, scores: first.map((s) => fuse(s.values, DEFAULT_LIVENESS_HEAD).score) },
      DEFAULT_LIVENESS_HEAD.thresholds,
    );
  let temporalCard: string[] = [];
  if (args.temporal) {
    // the shipped GRU as the CLI's --temporal runs it; which people it was fitted on is on its card
    const model = await TrainedModel.load('liveness-gru', { threads: 1 });
    const scores: number[] = [];
    for (const s of first) scores.push((await scoreTemporal(model, s)).score);
    await model.dispose();
    add(`shipped temporal model ${model.card.name}@${model.card.version} at 0.5 (fitted on these people: TRAINING figure)`, { test: first, scores });
    temporalCard = cardFigures(model.card).map((l) => `${model.card.name}@${model.card.version} held out (its card): ${l}`);
  }
  const loso = heldOut(samples, (s) => s.source, headScorer(l2));
  const inner = nested(samples, [{ name: 'head', scorer: headScorer(l2) }]);
  add('refit head, leave-one-source-out, thresholds chosen by the rule on inner folds only (NESTED)', inner, inner.thresholds);
  // item 3 of issue 17's w6 brief: may the pulse cue count against life? chosen on inner folds only
  const pulseVariants = [
    { name: 'head', scorer: headScorer(l2) },
    { name: 'head, pulse >= 0', scorer: headScorer(l2, ['pulse']) },
  ];
  const innerPulse = nested(samples, pulseVariants);
  add('refit head, leave-one-source-out, pulse weight >= 0 or not and thresholds chosen on inner folds only (NESTED)', innerPulse, innerPulse.thresholds);
  const losoPulse = heldOut(samples, (s) => s.source, headScorer(l2, ['pulse']));
  add('refit head with pulse weight >= 0, leave-one-source-out, at 0.5', losoPulse);
  add('refit head, leave-one-source-out, at 0.5', loso);
  add('refit head, leave-one-source-out, at the previous 0.6 / 0.4', loso, PREVIOUS_LIVENESS_HEAD.thresholds);
  const gru = await gruNested(first);
  if (gru) {
    add('temporal model recipe (GRU, liveness-gru 0.2.0 settings), leave-one-source-out, at 0.5', gru.loso);
    add(
      'temporal model recipe, leave-one-source-out, thresholds by the rule on inner folds only (NESTED)',
      gru.loso,
      first.map((s) => gru.thresholds[s.source]!),
    );
  }
  // what is shipped: the variant the nested rows choose on inner folds, chosen the same way on
  // all leave-one-source-out scores, and the rule's thresholds on that variant's scores (so these
  // are not out of sample for the thresholds: the NESTED rows are)
  const pick = [
    { name: 'head', nonNegative: [] as Cue[], r: loso },
    { name: 'head, pulse >= 0', nonNegative: ['pulse'] as Cue[], r: losoPulse },
  ].map((v) => ({
    ...v,
    acer: livenessRates(
      v.r.test.map((s) => s.kind),
      v.r.scores,
    ).acer,
    ce: balancedCrossEntropy(v.r.test, v.r.scores),
  }));
  const shipped = pick.reduce((a, b) => (b.acer < a.acer || (b.acer === a.acer && b.ce < a.ce) ? b : a));
  const shippedThresholds = chooseThresholds(asHeldOut(shipped.r.test, shipped.r.scores), RULE);
  add(
    `${shipped.name} (chosen on all LOSO scores), leave-one-source-out, at the rule's thresholds on these scores (chosen on them)`,
    shipped.r,
    shippedThresholds,
  );
  const lopoHead = heldOut(samples, (s) => s.person, headScorer(l2));
  add('refit head, leave-one-person-out, at 0.5', lopoHead);
  add(
    'clip-level experts on cue means, leave-one-source-out, at 0.5',
    heldOut(samples, (s) => s.source, clipScorer(l2, 0)),
  );
  add(
    `clip-level experts + ${pcs} FaceRes PCs, leave-one-source-out, at 0.5`,
    heldOut(samples, (s) => s.source, clipScorer(l2, pcs)),
  );
  add(
    'clip-level experts on cue means, leave-one-person-out, at 0.5',
    heldOut(samples, (s) => s.person, clipScorer(l2, 0)),
  );
  add(
    `clip-level experts + ${pcs} FaceRes PCs, leave-one-person-out, at 0.5`,
    heldOut(samples, (s) => s.person, clipScorer(l2, pcs)),
  );
  const people = new Set(samples.map((s) => s.person)).size;
  const sources = [...new Set(samples.map((s) => s.source))].sort();
  const allHead = args['write-head']
    ? {
        ...fitOn(
          samples,
          l2,
          `bench/liveness-windows.ts --write-head: ${samples.length} 5 s windows (${first.length} clips x kinds) of ${people} people from face-videos/live-real (${sources.join(', ')}) + simulated print/replay/cut-eye, L2 ${l2}${shipped.nonNegative.length ? `, ${shipped.nonNegative.join(', ')} weight >= 0` : ''}; thresholds ${atShipped(shippedThresholds)} by the threshold rule on the leave-one-source-out scores (${stamp})`,
          shipped.nonNegative,
        ),
        thresholds: shippedThresholds,
      }
    : undefined;
  if (allHead)
    add(
      'all-windows head (written) at its thresholds, TRAINING figure',
      { test: first, scores: first.map((s) => fuse(s.values, allHead).score) },
      allHead.thresholds,
    );
  const pct = (x: number) => `${round(100 * x, 1)}`;
  const ci = (r: { ci95: readonly number[] }) => `${pct(r.ci95[0]!)}-${pct(r.ci95[1]!)}`;
  console.log(
    table(
      ['method', 'live / spoof thr.', 'real judged live % (CI)', 'real: live/unc./spoof', 'APCER print / replay / cut-eye % (CI)', 'ACER %'],
      Object.entries(methods).map(([m, r]) => [
        m,
        r.thresholds,
        `${pct(1 - r.bpcer.rate)} (${pct(1 - r.bpcer.ci95[1]!)}-${pct(1 - r.bpcer.ci95[0]!)})`,
        `${r.verdicts.bonafide!.live}/${r.verdicts.bonafide!.uncertain}/${r.verdicts.bonafide!.spoof}`,
        ATTACKS.map((a) => `${pct(r.perAttack[a]!.apcer)} (${ci(r.perAttack[a]!)})`).join(' / '),
        pct(r.acer),
      ]),
    ),
  );
  console.log(
    `${first.length} scored clips (first 5 s window; ${first.filter((s) => s.kind === 'bonafide').length} bona fide) of ${people} people from ${sources.join(', ')}; ${samples.length} training windows in all`,
  );
  console.log(`threshold rule: ${describeThresholdRule(RULE)}`);
  console.log(
    `nested thresholds per held-out source (live / spoof, from inner held-out scores): ${Object.entries(inner.folds)
      .map(([o, t]) => `${o} ${t.live} / ${t.spoof} (inner ${t.innerBona} real, ${t.innerAttacks} attacks)`)
      .join('; ')}`,
  );
  console.log(`the rule on all leave-one-source-out scores (what --write-head ships): live ${shippedThresholds.live}, spoof ${shippedThresholds.spoof}`);
  console.log(
    `pulse >= 0 chosen per held-out source from inner folds: ${Object.entries(innerPulse.folds)
      .map(([o, t]) => `${o}: ${t.variant}, ${t.live} / ${t.spoof}`)
      .join('; ')}`,
  );
  console.log(
    `the same choice on all leave-one-source-out scores: ${pick.map((v) => `${v.name}: ACER ${pct(v.acer)} %, balanced cross-entropy ${round(v.ce, 4)}`).join('; ')}`,
  );
  for (const l of temporalCard) console.log(l);
  if (gru)
    console.log(
      `temporal model recipe, nested thresholds (from ${gru.command}): ${Object.entries(gru.thresholds)
        .map(([o, t]) => `${o} ${t.live} / ${t.spoof}`)
        .join('; ')}`,
    );
  else console.log('temporal model recipe held out: no training/liveness_gru.py --nested scores in training/cache (about 25 min to make)');
  if (args.explain) explain(samples, new RegExp(args.explain), l2);
  let adapt: AdaptRow[] | undefined;
  if (args.adapt) {
    adapt = adaptation(samples, l2, [2, 4, 8, 16], Number(args.draws));
    // the in-domain reference: leave-one-person-out (the source's other people in training), per source
    for (const source of new Set(adapt.map((r) => r.source))) {
      const idx = lopoHead.test.map((s, i) => (s.source === source ? i : -1)).filter((i) => i >= 0);
      const bona = idx.filter((i) => lopoHead.test[i]!.kind === 'bonafide'),
        att = idx.filter((i) => lopoHead.test[i]!.kind !== 'bonafide');
      adapt.push({
        source,
        k: -1,
        draws: 1,
        bona: { rejected: bona.filter((i) => lopoHead.scores[i]! < 0.5).length, n: bona.length },
        attacks: { accepted: att.filter((i) => lopoHead.scores[i]! >= 0.5).length, n: att.length },
      });
    }
    adapt.sort((a, b) => a.source.localeCompare(b.source) || a.k - b.k);
    console.log(
      table(
        ['held-out source', 'k labelled clips', 'BPCER %', 'APCER (all attacks) %', 'draws x clips'],
        adapt.map((r) => [
          r.source,
          r.k === -1 ? 'in-domain: leave-person-out head' : r.k === 0 ? '0 (leave-source-out head)' : `${r.k} (${r.k / 2} live + ${r.k / 2} attack)`,
          `${pct(r.bona.rejected / r.bona.n)} (${r.bona.rejected}/${r.bona.n})`,
          `${pct(r.attacks.accepted / Math.max(1, r.attacks.n))} (${r.attacks.accepted}/${r.attacks.n})`,
          `${r.draws}`,
        ]),
      ),
    );
  }
  const result = {
    bench: 'liveness-windows',
    command: commandLine(),
    timestamp: stamp,
    machine: machineInfo(),
    l2,
    pcs,
    shippedHead: DEFAULT_LIVENESS_HEAD.source,
    people,
    sources,
    scoredClips: first.length,
    windows: samples.length,
    thresholdRule: describeThresholdRule(RULE),
    nestedThresholds: inner.folds,
    nestedPulseChoice: innerPulse.folds,
    ruleOnAllHeldOutScores: shippedThresholds,
    ...(temporalCard.length ? { temporalHeldOutFromCard: temporalCard } : {}),
    ...(gru ? { temporalNested: { command: gru.command, thresholds: gru.thresholds } } : {}),
    methods,
    ...(adapt ? { adaptation: adapt } : {}),
    perClip: first.map((s, i) => ({
      file: s.file,
      person: s.person,
      source: s.source,
      kind: s.kind,
      tracked: `${s.tracked}/${s.frames}`,
      nestedThresholds: inner.folds[s.source]!,
      ...Object.fromEntries(Object.entries(perClip).map(([m, v]) => [m, round(v[i]!, 4)])),
    })),
  };
  const written = await writeJsonPair(path.resolve(args.out!), 'liveness-windows', stamp, result);
  if (args.publish)
    await writeFileAtomic(path.join(REPO_ROOT, 'docs/benchmarks/liveness-windows.json'), `${JSON.stringify(result, null, 2)}\n`, { force: true });
  if (allHead)
    written.push(
      await writeDefaultHead(REPO_ROOT, allHead, [
        'The shipped liveness head, generated by',
        '  node --import tsx bench/liveness-windows.ts --write-head',
        'from the cue cache of',
        '  node --import tsx bench/liveness-windows.ts --extract --per-person 2',
        `Fitted (per-attack logistic experts, fitHead) on ALL ${samples.length} 5 s windows of ${people} real people from`,
        `${sources.length} sources (${sources.join(', ')}), read as the CLI reads a clip (longest side <= 640), and`,
        'a print, a 15 fps screen replay and a cut-eye print SIMULATED from each (bench/lib/attacks.ts). No real attack clips.',
        shipped.nonNegative.length
          ? `No expert may weigh ${shipped.nonNegative.join(', ')} against life (FitOptions.nonNegative): chosen over the unconstrained fit by`
          : 'No cue sign constraint: the unconstrained fit was chosen over "pulse >= 0" by',
        'lower held-out ACER at 0.5, then lower balanced cross-entropy, on the leave-one-source-out scores.',
        'The same procedure held out (first 5 s window of each clip; judged live = verdict "live"; APCER print / replay / cut-eye):',
        ...[
          'refit head, leave-one-source-out, pulse weight >= 0 or not and thresholds chosen on inner folds only (NESTED)',
          'refit head, leave-one-source-out, thresholds chosen by the rule on inner folds only (NESTED)',
          'refit head, leave-one-source-out, at 0.5',
          'refit head with pulse weight >= 0, leave-one-source-out, at 0.5',
          'refit head, leave-one-person-out, at 0.5',
        ].map((m) => {
          const r = methods[m]!;
          return `  ${m}: real judged live ${pct(1 - r.bpcer.rate)} %, APCER ${ATTACKS.map((a) => `${pct(r.perAttack[a]!.apcer)} %`).join(' / ')}, ACER ${pct(r.acer)} %`;
        }),
        `Thresholds live ${shippedThresholds.live} / spoof ${shippedThresholds.spoof} (score >= live: "live"; < spoof: "spoof"; between: "uncertain"),`,
        'chosen by the threshold rule (src/face/liveness/thresholds.ts, THRESHOLD_RULE) on the leave-one-source-out scores of all',
        `${first.filter((s) => s.kind === 'bonafide').length} real clips and their attacks: ${describeThresholdRule()}.`,
        'The NESTED lines above are the choices evaluated out of sample (made from inner folds only, then applied to the held-out source).',
        'Adapt it to a real camera and real attacks with calibrateLiveness().',
      ]),
    );
  console.log(`wrote ${written.join(', ')}`);
}

if (args.extract) await extract();
else await evaluate();
