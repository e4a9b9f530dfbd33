/**
 * Temporal fusion of the per-frame cues: standardise each cue, weight frames by attention
 * (a softmax over each frame's cue salience = sum of |weight x standardised cue|), pool, and
 * score with a logistic head. The attention weights say which frames decided; the per-cue
 * contributions (weight x pooled value) say which cues did.
 */
import { invalidOption } from '../../core/errors.js';
import { CUES, type Cue } from './features.js';

export interface LivenessHead {
  /** Cue order of mean/std/weights (a subset of CUES; the CNN-only baseline uses two). */
  cues: Cue[];
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
  /** Softmax temperature of the attention over frames. */
  temperature: number;
  /** score >= live -> "live"; score < spoof -> "spoof"; between -> "uncertain". */
  thresholds: { live: number; spoof: number };
  /** Where the head came from (free text, for the report). */
  source: string;
}

export interface FusionResult {
  score: number;
  /** Attention weight of every frame (0 for frames without a face); sums to 1. */
  attention: number[];
  /** Standardised pooled value and its contribution (weight x value) to the logit, per cue. */
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

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Standardised cue values z[t][j] for the head's cues (NaN where a frame has no face). */
export function standardise(values: readonly number[][], head: Pick<LivenessHead, 'cues' | 'mean' | 'std'>): number[][] {
  const idx = head.cues.map((c) => CUES.indexOf(c));
  return values.map((row) => idx.map((k, j) => {
    const v = row[k]!;
    // clip to +-6 sigma: one wild frame should not decide alone
    return Number.isFinite(v) ? Math.max(-6, Math.min(6, (v - head.mean[j]!) / (head.std[j]! || 1))) : NaN;
  }));
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
      pooled[j]! += 0.5 * v / valid + 0.5 * attention[t]! * v;
    }
  });
  return { pooled, attention };
}

export function fuse(values: readonly number[][], head: LivenessHead): FusionResult {
  const z = standardise(values, head);
  const { pooled, attention } = pool(z, head.weights, head.temperature);
  let logit = head.bias;
  const cues: FusionResult['cues'] = {};
  head.cues.forEach((c, j) => {
    const contribution = head.weights[j]! * pooled[j]!;
    logit += contribution;
    cues[c] = { pooled: pooled[j]!, contribution };
  });
  return { score: sigmoid(logit), attention, cues, logit };
}

export interface TrainingClip {
  values: number[][];
  /** true = bona fide (live). */
  live: boolean;
}

export interface FitOptions {
  cues?: readonly Cue[];
  /** L2 strength (pulls weights toward `prior` weights, or 0). Default 0.05. */
  l2?: number;
  /** A head whose weights act as the prior (adaptation from a few clips). */
  prior?: LivenessHead;
  temperature?: number;
  /** Keep the prior's normalisation instead of re-estimating it from the clips. */
  keepNormalisation?: boolean;
  source?: string;
}

/**
 * Fits the head: per-cue mean/std over all frames of all clips, then logistic regression on
 * the pooled features, re-pooling with the new weights between rounds (the attention depends
 * on the weights). Classes are weighted to count equally.
 */
export function fitHead(clips: readonly TrainingClip[], opts: FitOptions = {}): LivenessHead {
  if (!Array.isArray(clips) || clips.length < 2) throw invalidOption('clips', 'at least 2 labelled clips', Array.isArray(clips) ? `${clips.length}` : clips);
  const nLive = clips.filter((c) => c.live).length;
  if (nLive === 0 || nLive === clips.length) throw invalidOption('clips', 'both live and spoof clips', `${nLive} live of ${clips.length}`);
  const cues = [...(opts.cues ?? opts.prior?.cues ?? CUES)];
  for (const c of cues) if (!CUES.includes(c)) throw invalidOption('cues', `names from ${CUES.join(', ')}`, c);
  const idx = cues.map((c) => CUES.indexOf(c));
  const l2 = opts.l2 ?? 0.05;
  const temperature = opts.temperature ?? opts.prior?.temperature ?? 1;
  let mean: number[], std: number[];
  if (opts.keepNormalisation && opts.prior) {
    mean = [...opts.prior.mean];
    std = [...opts.prior.std];
  } else {
    mean = idx.map((k) => avg(clips.flatMap((c) => c.values.map((r: number[]) => r[k]!)).filter(Number.isFinite)));
    std = idx.map((k, j) => {
      const v = clips.flatMap((c) => c.values.map((r: number[]) => r[k]!)).filter(Number.isFinite);
      return Math.sqrt(avg(v.map((x) => (x - mean[j]!) ** 2))) || 1;
    });
  }
  const priorW = opts.prior ? cues.map((c) => { const i = opts.prior!.cues.indexOf(c); return i >= 0 ? opts.prior!.weights[i]! : 0; }) : cues.map(() => 0);
  let w = [...priorW];
  let b = opts.prior?.bias ?? 0;
  const zs = clips.map((c) => standardise(c.values, { cues, mean, std }));
  const cw = clips.map((c) => (c.live ? clips.length / (2 * nLive) : clips.length / (2 * (clips.length - nLive))));
  for (let round = 0; round < 4; round++) {
    const X = zs.map((z) => pool(z, round === 0 && !opts.prior ? cues.map(() => 1) : w, temperature).pooled);
    ({ w, b } = newtonLogistic(X, clips.map((c) => c.live), cw, w, b, priorW, l2));
  }
  return { cues, mean, std, weights: w, bias: b, temperature, thresholds: opts.prior?.thresholds ?? { live: 0.6, spoof: 0.4 }, source: opts.source ?? `fitted on ${clips.length} clips (${nLive} live)` };
}

function avg(v: readonly number[]): number {
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : 0;
}

/**
 * L2-regularised, class-weighted logistic regression by Newton's method (IRLS): minimises
 * mean_i c_i logloss_i + l2/2 |w - prior|^2 (bias unpenalised). 25 steps converge to machine
 * precision for a dozen features; exact, unlike a fixed number of gradient steps.
 */
export function newtonLogistic(X: readonly number[][], y: readonly boolean[], cw: readonly number[], w0: readonly number[], b0: number, prior: readonly number[], l2: number): { w: number[]; b: number } {
  const J = w0.length, D = J + 1, n = X.length;
  let theta = [...w0, b0];
  for (let it = 0; it < 25; it++) {
    const g = new Array<number>(D).fill(0);
    const H = Array.from({ length: D }, () => new Array<number>(D).fill(0));
    for (let i = 0; i < n; i++) {
      const x = [...X[i]!, 1];
      const p = sigmoid(x.reduce((s, v, j) => s + v * theta[j]!, 0));
      const e = (cw[i]! * (p - (y[i] ? 1 : 0))) / n;
      const h = (cw[i]! * Math.max(p * (1 - p), 1e-9)) / n;
      for (let a = 0; a < D; a++) {
        g[a]! += e * x[a]!;
        for (let c = 0; c < D; c++) H[a]![c]! += h * x[a]! * x[c]!;
      }
    }
    for (let j = 0; j < J; j++) {
      g[j]! += l2 * (theta[j]! - prior[j]!);
      H[j]![j]! += l2;
    }
    H[J]![J]! += 1e-6; // keeps the system solvable when a class is perfectly separated
    const step = solve(H, g);
    theta = theta.map((t, j) => t - step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  return { w: theta.slice(0, J), b: theta[J]! };
}

/** Gaussian elimination with partial pivoting (small dense systems). */
function solve(A: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const M = A.map((row, i) => [...row, rhs[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    const d = M[c]![c]! || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / d;
      if (f !== 0) for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / (row[i]! || 1e-12));
}
