/**
 * Statistics shared by every module: median, ROC AUC (Mann-Whitney), the logistic function and
 * L2-regularised logistic regression by Newton's method. One implementation each; the modules
 * (liveness fusion, forensics, face benchmarks, dehaze) call these.
 */
import { invalidOption } from './errors.js';
import { solveSymmetric } from './linalg.js';

/**
 * Median of a list of numbers (the mean of the two middle values for an even count); `ifEmpty`
 * for an empty list (default NaN). The input is not modified.
 */
export function median(values: ArrayLike<number>, ifEmpty = Number.NaN): number {
  const n = values.length;
  if (n === 0) return ifEmpty;
  const s = Float64Array.from(values).sort();
  const m = n >> 1;
  return n % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * ROC AUC = P(score of a random positive > score of a random negative) + P(tie) / 2, the
 * Mann-Whitney statistic, by ranking in O(n log n). NaN when either class is empty.
 */
export function rocAucMannWhitney(positives: readonly number[], negatives: readonly number[]): number {
  if (positives.length === 0 || negatives.length === 0) return Number.NaN;
  const all = [...positives.map((s) => ({ s, p: 1 })), ...negatives.map((s) => ({ s, p: 0 }))].sort((a, b) => a.s - b.s);
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const midRank = (i + 1 + j) / 2; // ranks i+1..j share their mean
    for (let t = i; t < j; t++) if (all[t]!.p === 1) rankSumPos += midRank;
    i = j;
  }
  const nP = positives.length;
  return (rankSumPos - (nP * (nP + 1)) / 2) / (nP * negatives.length);
}

/** The logistic function 1 / (1 + e^-z), without overflow for large |z|. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export interface NewtonLogisticOptions {
  /** Targets in [0, 1] (hard labels or soft targets), one per row. */
  targets: readonly number[];
  /** Per-row weights (class balancing); default 1 for every row. */
  sampleWeights?: readonly number[];
  /** L2 penalty on the weights (not the bias), in units of the mean weighted log-loss. Default 0. */
  l2?: number;
  /** The penalty pulls the weights towards these (default 0): refitting a prior model. */
  prior?: readonly number[];
  /** Starting weights and bias (default 0). */
  weights?: readonly number[];
  bias?: number;
  /** A small ridge on the bias that keeps the system solvable when a class is separated. Default 1e-9. */
  biasRidge?: number;
  /** Floor of p(1 - p) in the Hessian (default 0). */
  minCurvature?: number;
  maxIterations?: number;
  /** Stop when no coordinate moves more than this in one step (default 1e-10). */
  tolerance?: number;
}

/**
 * L2-regularised, optionally sample-weighted logistic regression by Newton's method (IRLS):
 * minimises mean_i c_i logloss(sigmoid(w.x_i + b), y_i) + l2/2 |w - prior|^2. Exact for the tens
 * of features the callers use (forensic detector, Platt scaling, liveness experts).
 */
export function fitLogisticNewton(rows: readonly (readonly number[])[], opts: NewtonLogisticOptions): { weights: number[]; bias: number } {
  const n = rows.length;
  if (n === 0) throw invalidOption('features', 'at least one row', 0);
  const { targets } = opts;
  if (targets.length !== n) throw invalidOption('labels', `${n} labels (one per row)`, targets.length);
  const d = rows[0]!.length;
  const l2 = opts.l2 ?? 0;
  if (!(l2 >= 0)) throw invalidOption('l2', 'a number >= 0', l2);
  const cw = opts.sampleWeights;
  const prior = opts.prior;
  const minCurvature = opts.minCurvature ?? 0;
  const p = d + 1; // bias last
  const theta = [...(opts.weights ?? new Array<number>(d).fill(0)), opts.bias ?? 0];
  for (let iter = 0; iter < (opts.maxIterations ?? 50); iter++) {
    const g = new Array<number>(p).fill(0);
    const H = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let i = 0; i < n; i++) {
      const xi = rows[i]!;
      if (xi.length !== d) throw invalidOption('features', `rows of ${d} numbers`, xi.length);
      let z = theta[d]!;
      for (let j = 0; j < d; j++) z += theta[j]! * xi[j]!;
      const mu = sigmoid(z);
      const c = cw ? cw[i]! : 1;
      const r = (c * (mu - targets[i]!)) / n;
      const s = (c * Math.max(mu * (1 - mu), minCurvature)) / n;
      for (let j = 0; j < p; j++) {
        const xj = j < d ? xi[j]! : 1;
        g[j]! += r * xj;
        const sx = s * xj;
        for (let k = 0; k <= j; k++) H[j]![k]! += sx * (k < d ? xi[k]! : 1);
      }
    }
    for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) H[k]![j] = H[j]![k]!;
    for (let j = 0; j < d; j++) {
      g[j]! += l2 * (theta[j]! - (prior ? prior[j]! : 0));
      H[j]![j]! += l2;
    }
    H[d]![d]! += opts.biasRidge ?? 1e-9;
    const step = solveSymmetric(H, g);
    let maxStep = 0;
    for (let j = 0; j < p; j++) {
      theta[j]! -= step[j]!;
      maxStep = Math.max(maxStep, Math.abs(step[j]!));
    }
    if (maxStep < (opts.tolerance ?? 1e-10)) break;
  }
  return { weights: theta.slice(0, d), bias: theta[d]! };
}
