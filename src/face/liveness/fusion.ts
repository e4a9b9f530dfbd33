/**
 * Temporal fusion of the per-frame cues: standardise each cue, weight frames by attention
 * (a softmax over each frame's cue salience = sum of |weight x standardised cue|), pool, and
 * score with logistic heads. The attention weights say which frames decided; the per-cue
 * contributions (weight x pooled value) say which cues did.
 *
 * A head holds one logistic "expert" per attack family, each fitted on bona fide clips against
 * that family alone, and a clip is live only if every expert says so (the score is the lowest
 * expert score). One linear model over all attacks cannot express "moves like a live face AND
 * shows no screen": a replay moves exactly like the live person, so the motion cues that expose
 * a print argue for the replay, and a single set of weights trades one attack against the other.
 */
import { invalidOption } from '../../core/errors.js';
import { fitLogisticNewton, sigmoid } from '../../core/stats.js';
import { CUES, type Cue } from './features.js';
import { DEFAULT_LIVENESS_HEAD } from './defaultHead.js';
import { checkThresholds, type LivenessThresholds } from './thresholds.js';

/**
 * Thresholds of a head that states none (a fit without a prior, an old head file): the shipped
 * head's, which were chosen by the threshold rule on held-out scores (thresholds.ts).
 */
const DEFAULT_THRESHOLDS: LivenessThresholds = DEFAULT_LIVENESS_HEAD.thresholds;

/** Logistic weights over the head's standardised cues, for one attack family. */
export interface LivenessExpert {
  /** The attack family it was fitted against ("print", "replay", ...; "spoof" when untyped). */
  attack: string;
  weights: number[];
  bias: number;
}

export interface LivenessHead {
  /** Cue order of mean/std/weights (a subset of CUES; the CNN-only baseline uses two). */
  cues: Cue[];
  mean: number[];
  std: number[];
  /**
   * Raw-cue mean and std over the bona fide frames it was fitted on: calibration maps a new
   * camera's bona fide cues onto these, so experts keep their meaning. Absent in old heads.
   */
  bonaFide?: { mean: number[]; std: number[] };
  experts: LivenessExpert[];
  /** Softmax temperature of the attention over frames. */
  temperature: number;
  /** score >= live -> "live"; score < spoof -> "spoof"; between -> "uncertain". */
  thresholds: LivenessThresholds;
  /** Where the head came from (free text, for the report). */
  source: string;
}

export interface FusionResult {
  /** The lowest expert score: live only if no expert sees its attack. */
  score: number;
  /** The expert that gave that score. */
  decidedBy: string;
  /** Every expert's score. */
  experts: Record<string, number>;
  /** Attention weight of every frame under the deciding expert (0 for frames without a face); sums to 1. */
  attention: number[];
  /** Standardised pooled value and its contribution (weight x value) to the deciding expert's logit, per cue. */
  cues: Record<string, { pooled: number; contribution: number }>;
  logit: number;
}

export function softmax(s: readonly number[], temperature = 1): number[] {
  if (!(temperature > 0)) throw invalidOption('temperature', 'a positive number', temperature);
  const finite = s.filter(Number.isFinite);
  if (finite.length === 0) return s.map(() => 0);
  const m = Math.max(...finite);
  const e = s.map((v) => (Number.isFinite(v) ? Math.exp((v - m) / temperature) : 0));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** Standardised cue values z[t][j] for the head's cues (NaN where a frame has no face). */
export function standardise(values: readonly number[][], head: Pick<LivenessHead, 'cues' | 'mean' | 'std'>): number[][] {
  const idx = head.cues.map((c) => CUES.indexOf(c));
  return values.map((row) =>
    idx.map((k, j) => {
      const v = row[k]!;
      // clip to +-6 sigma: one wild frame should not decide alone
      return Number.isFinite(v) ? Math.max(-6, Math.min(6, (v - head.mean[j]!) / (head.std[j]! || 1))) : NaN;
    }),
  );
}

function validFrame(row: readonly number[]): boolean {
  return row.some(Number.isFinite);
}

/** Pooled features: half plain mean, half attention-weighted mean (so steady cues still count). */
export function pool(z: readonly number[][], weights: readonly number[], temperature: number): { pooled: number[]; attention: number[] } {
  const salience = z.map((row) => (validFrame(row) ? row.reduce((s, v, j) => s + (Number.isFinite(v) ? Math.abs(weights[j]! * v) : 0), 0) : NaN));
  const attention = softmax(salience, temperature);
  const valid = z.filter(validFrame).length || 1;
  const J = weights.length;
  const pooled = new Array<number>(J).fill(0);
  z.forEach((row, t) => {
    if (!validFrame(row)) return;
    for (let j = 0; j < J; j++) {
      const v = Number.isFinite(row[j]!) ? row[j]! : 0;
      pooled[j]! += (0.5 * v) / valid + 0.5 * attention[t]! * v;
    }
  });
  return { pooled, attention };
}

function scoreExpert(z: readonly number[][], head: LivenessHead, expert: LivenessExpert): Omit<FusionResult, 'decidedBy' | 'experts'> {
  const { pooled, attention } = pool(z, expert.weights, head.temperature);
  let logit = expert.bias;
  const cues: FusionResult['cues'] = {};
  head.cues.forEach((c, j) => {
    const contribution = expert.weights[j]! * pooled[j]!;
    logit += contribution;
    cues[c] = { pooled: pooled[j]!, contribution };
  });
  return { score: sigmoid(logit), attention, cues, logit };
}

export function fuse(values: readonly number[][], head: LivenessHead): FusionResult {
  const z = standardise(values, head);
  const experts: Record<string, number> = {};
  let best: (Omit<FusionResult, 'decidedBy' | 'experts'> & { attack: string }) | undefined;
  for (const e of head.experts) {
    const r = scoreExpert(z, head, e);
    experts[e.attack] = r.score;
    if (!best || r.score < best.score) best = { ...r, attack: e.attack };
  }
  const { attack, ...rest } = best!;
  return { ...rest, decidedBy: attack, experts };
}

/**
 * Checks a head read from JSON and returns it in the current shape. Heads written before the
 * per-attack experts (top-level `weights` and `bias`) become a single "spoof" expert.
 * Throws E_INVALID_OPTION naming the first problem.
 */
export function parseHead(raw: unknown): LivenessHead {
  const h = raw as Partial<LivenessHead> & { weights?: unknown; bias?: unknown };
  const bad = (what: string, got: unknown) => invalidOption(`head.${what}`, 'a liveness head from clearsight liveness-calibrate', got);
  if (!h || typeof h !== 'object') throw bad('', typeof raw);
  if (!Array.isArray(h.cues) || h.cues.length === 0 || h.cues.some((c) => !CUES.includes(c))) throw bad('cues', h.cues);
  const J = h.cues.length;
  const numbers = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!numbers(h.mean, J)) throw bad('mean', h.mean);
  if (!numbers(h.std, J)) throw bad('std', h.std);
  const experts = h.experts ?? (h.weights !== undefined ? [{ attack: 'spoof', weights: h.weights as number[], bias: h.bias as number }] : undefined);
  if (!Array.isArray(experts) || experts.length === 0) throw bad('experts', h.experts);
  for (const [i, e] of experts.entries()) {
    if (!e || typeof e.attack !== 'string' || !numbers(e.weights, J) || typeof e.bias !== 'number' || !Number.isFinite(e.bias))
      throw bad(`experts[${i}]`, JSON.stringify(e)?.slice(0, 80));
  }
  if (h.bonaFide !== undefined && !(h.bonaFide && numbers(h.bonaFide.mean, J) && numbers(h.bonaFide.std, J)))
    throw bad('bonaFide', JSON.stringify(h.bonaFide)?.slice(0, 80));
  const temperature = h.temperature ?? 1;
  if (!(typeof temperature === 'number' && temperature > 0)) throw bad('temperature', h.temperature);
  const t = h.thresholds === undefined ? DEFAULT_THRESHOLDS : checkThresholds(h.thresholds, 'head.thresholds');
  return {
    cues: [...h.cues],
    mean: [...h.mean!],
    std: [...h.std!],
    ...(h.bonaFide ? { bonaFide: { mean: [...h.bonaFide.mean], std: [...h.bonaFide.std] } } : {}),
    experts: experts.map((e) => ({ attack: e.attack, weights: [...e.weights], bias: e.bias })),
    temperature,
    thresholds: { live: t.live, spoof: t.spoof },
    source: typeof h.source === 'string' ? h.source : 'unnamed head',
  };
}

export interface TrainingClip {
  values: number[][];
  /** true = bona fide (live). */
  live: boolean;
  /** For attack clips: the attack family ("print", "replay", ...). Untyped attacks form one family, "spoof". */
  attack?: string;
}

export interface FitOptions {
  cues?: readonly Cue[];
  /** L2 strength (pulls weights toward the prior expert's weights, or 0). Default 0.05. */
  l2?: number;
  /** A head whose experts act as the prior (adaptation from a few clips; see fitHead). */
  prior?: LivenessHead;
  temperature?: number;
  /** Keep the prior's normalisation instead of re-estimating it from the clips. */
  keepNormalisation?: boolean;
  /**
   * With a prior: how many bona fide clips weigh as much as the prior's normalisation when it is
   * aligned to the new clips (default ALIGNMENT_PRIOR_CLIPS; 0 = align fully to the new clips).
   */
  alignPriorClips?: number;
  source?: string;
  /**
   * Cues that are evidence of life only: no expert may weigh them against it (a weight that fits
   * negative is held at 0 and the expert refitted). E.g. ["pulse"]: a strong pulse should never
   * make a clip look like an attack, whatever the simulated attacks happened to show.
   */
  nonNegative?: readonly Cue[];
}

/** Mean and standard deviation (1 where there is no spread) of each cue over all frames of the clips, non-finite values left out. */
function cueStats(subset: readonly TrainingClip[], idx: readonly number[]): { mean: number[]; std: number[] } {
  const m = idx.map((k) => avg(subset.flatMap((c) => c.values.map((r: number[]) => r[k]!)).filter(Number.isFinite)));
  const sd = idx.map(
    (k, j) =>
      Math.sqrt(
        avg(
          subset
            .flatMap((c) => c.values.map((r: number[]) => r[k]!))
            .filter(Number.isFinite)
            .map((x) => (x - m[j]!) ** 2),
        ),
      ) || 1,
  );
  return { mean: m, std: sd };
}

/**
 * The cue normalisation of the fit: the prior's own (keepNormalisation), one aligned to the
 * prior's bona fide statistics (a new camera), or the clips' own statistics.
 */
function normalisation(
  clips: readonly TrainingClip[],
  cues: readonly Cue[],
  idx: readonly number[],
  bonaFide: { mean: number[]; std: number[] },
  kept: LivenessHead | undefined,
  aligned: { prior: LivenessHead; priorBona: { mean: number[]; std: number[] }; priorClips: number } | undefined,
): { mean: number[]; std: number[] } {
  if (kept) return { mean: [...kept.mean], std: [...kept.std] };
  if (!aligned) return cueStats(clips, idx);
  // a new camera: choose mean/std so that its bona fide cues standardise as the prior's bona
  // fide cues did; the experts then keep their meaning, even those no site clip refits (std
  // ratio clamped to [1/4, 4]). A few clips are few people: their spread and mean are one
  // person's, not the site's, so the alignment is shrunk toward the prior's normalisation by
  // n / (n + ALIGNMENT_PRIOR_CLIPS) for n bona fide clips (measured: bench/liveness-windows.ts
  // --adapt, where full alignment from 1-2 live clips rejected 30-40 % of held-out real people).
  const { prior, priorBona, priorClips } = aligned;
  const n = clips.filter((c) => c.live).length;
  const w = n / (n + priorClips);
  const mean: number[] = [];
  const std: number[] = [];
  cues.forEach((c, j) => {
    const p = prior.cues.indexOf(c);
    const ratio = Math.min(4, Math.max(0.25, bonaFide.std[j]! / (priorBona.std[p]! || 1))) ** w;
    const alignedMean = bonaFide.mean[j]! - (priorBona.mean[p]! - prior.mean[p]!) * ratio;
    std.push(prior.std[p]! * ratio);
    mean.push(prior.mean[p]! + w * (alignedMean - prior.mean[p]!));
  });
  return { mean, std };
}

/** How many bona fide site clips count as much as the prior's normalisation in calibration. */
export const ALIGNMENT_PRIOR_CLIPS = 8;

/**
 * Fits the head: per-cue mean/std over all frames of all clips, then one expert per attack
 * family: logistic regression of that family's clips against all bona fide clips on the pooled
 * features, re-pooling with the new weights between rounds (the attention depends on the
 * weights). Classes are weighted to count equally.
 *
 * With a prior head, untyped attack clips are assigned to the prior expert that scores them
 * lowest (the attack they most resemble); an expert left without attack clips keeps its prior
 * weights and bias.
 */
export function fitHead(clips: readonly TrainingClip[], opts: FitOptions = {}): LivenessHead {
  if (!Array.isArray(clips) || clips.length < 2) throw invalidOption('clips', 'at least 2 labelled clips', Array.isArray(clips) ? `${clips.length}` : clips);
  const nLive = clips.filter((c) => c.live).length;
  if (nLive === 0 || nLive === clips.length) throw invalidOption('clips', 'both live and spoof clips', `${nLive} live of ${clips.length}`);
  const prior = opts.prior;
  const cues = [...(opts.cues ?? prior?.cues ?? CUES)];
  for (const c of cues) if (!CUES.includes(c)) throw invalidOption('cues', `names from ${CUES.join(', ')}`, c);
  const idx = cues.map((c) => CUES.indexOf(c));
  const l2 = opts.l2 ?? 0.05;
  for (const c of opts.nonNegative ?? []) if (!cues.includes(c)) throw invalidOption('nonNegative', `cues of the head (${cues.join(', ')})`, c);
  const nonNegative = (opts.nonNegative ?? []).map((c) => cues.indexOf(c));
  const temperature = opts.temperature ?? prior?.temperature ?? 1;
  const alignPriorClips = opts.alignPriorClips ?? ALIGNMENT_PRIOR_CLIPS;
  if (!(alignPriorClips >= 0)) throw invalidOption('alignPriorClips', 'a number >= 0', opts.alignPriorClips);
  const bonaFide = cueStats(
    clips.filter((c) => c.live),
    idx,
  );
  const priorBona = prior?.bonaFide && cues.every((c) => prior.cues.includes(c)) ? prior.bonaFide : undefined;
  const { mean, std } = normalisation(
    clips,
    cues,
    idx,
    bonaFide,
    opts.keepNormalisation ? prior : undefined,
    prior && priorBona ? { prior, priorBona, priorClips: alignPriorClips } : undefined,
  );
  const zs = clips.map((c) => standardise(c.values, { cues, mean, std }));
  const bona = clips.map((c, i) => (c.live ? i : -1)).filter((i) => i >= 0);
  const priorExpert = (attack: string): LivenessExpert | undefined => prior?.experts.find((e) => e.attack === attack);
  const priorWeights = (e: LivenessExpert | undefined) =>
    cues.map((c) => {
      const i = prior?.cues.indexOf(c) ?? -1;
      return e && i >= 0 ? e.weights[i]! : 0;
    });
  // the prior's experts read in this fit's units: an untyped attack clip joins the one that
  // finds it least live as this camera sees it, not as the prior's camera would have
  const priorHere: LivenessHead | undefined = prior && { ...prior, cues, mean, std, experts: prior.experts.map((e) => ({ ...e, weights: priorWeights(e) })) };
  // attack family of every attack clip
  const family = clips.map((c) => {
    if (c.live) return '';
    if (c.attack) return c.attack;
    if (!priorHere) return 'spoof';
    return fuse(c.values, priorHere).decidedBy;
  });
  const families = [...new Set(family.filter((f) => f !== ''))];
  const experts: LivenessExpert[] = families.map((attack) => {
    const members = [...bona, ...family.map((f, i) => (f === attack ? i : -1)).filter((i) => i >= 0)];
    const pe = priorExpert(attack);
    const priorW = priorWeights(pe);
    let w = [...priorW];
    let b = pe?.bias ?? 0;
    const nA = members.length - bona.length;
    const cw = members.map((i) => (clips[i]!.live ? members.length / (2 * bona.length) : members.length / (2 * nA)));
    // cues held at weight 0 because their fitted weight came out negative (active set)
    const held = new Set<number>();
    for (let round = 0; round < 4; round++) {
      const X = members.map((i) => pool(zs[i]!, round === 0 && !pe ? cues.map(() => 1) : w, temperature).pooled.map((v, j) => (held.has(j) ? 0 : v)));
      for (;;) {
        const r = newtonLogistic(
          X,
          members.map((i) => clips[i]!.live),
          cw,
          w,
          b,
          priorW.map((p, j) => (held.has(j) ? 0 : p)),
          l2,
        );
        const negative = nonNegative.filter((j) => !held.has(j) && r.w[j]! < 0);
        if (!negative.length) {
          w = r.w.map((v, j) => (held.has(j) ? 0 : v));
          b = r.b;
          break;
        }
        for (const j of negative) {
          held.add(j);
          for (const x of X) x[j] = 0;
        }
      }
    }
    return { attack, weights: w, bias: b };
  });
  // prior experts that no new attack clip resembled stay as they were
  for (const e of prior?.experts ?? []) {
    if (!families.includes(e.attack)) experts.push({ attack: e.attack, weights: priorWeights(e), bias: e.bias });
  }
  const counts = families.map((f) => `${family.filter((x) => x === f).length} ${f}`).join(', ');
  // the raw bona fide statistics that go with this normalisation (a later calibration aligns to them)
  const bonaOut =
    opts.keepNormalisation && priorBona
      ? { mean: cues.map((c) => priorBona.mean[prior!.cues.indexOf(c)]!), std: cues.map((c) => priorBona.std[prior!.cues.indexOf(c)]!) }
      : bonaFide;
  return {
    cues,
    mean,
    std,
    bonaFide: bonaOut,
    experts,
    temperature,
    thresholds: prior?.thresholds ?? DEFAULT_THRESHOLDS,
    source: opts.source ?? `fitted on ${clips.length} clips (${nLive} live; ${counts})`,
  };
}

function avg(v: readonly number[]): number {
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : 0;
}

/**
 * L2-regularised, class-weighted logistic regression by Newton's method (core/stats): minimises
 * mean_i c_i logloss_i + l2/2 |w - prior|^2 (bias unpenalised but for a 1e-6 ridge that keeps a
 * perfectly separated class solvable). 25 steps converge to machine precision for a dozen features.
 */
export function newtonLogistic(
  X: readonly number[][],
  y: readonly boolean[],
  cw: readonly number[],
  w0: readonly number[],
  b0: number,
  prior: readonly number[],
  l2: number,
): { w: number[]; b: number } {
  const { weights, bias } = fitLogisticNewton(X, {
    targets: y.map((v) => (v ? 1 : 0)),
    sampleWeights: cw,
    l2,
    prior,
    weights: w0,
    bias: b0,
    biasRidge: 1e-6,
    minCurvature: 1e-9,
    maxIterations: 25,
    tolerance: 1e-9,
  });
  return { w: weights, b: bias };
}
