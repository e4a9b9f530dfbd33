/**
 * L2-regularised logistic regression fitted by Newton's method (IRLS), with feature
 * standardisation stored in the model. Small and exact for the tens of features the forensic
 * detector uses; Platt scaling is the one-feature case.
 */
import { invalidOption } from '../../core/errors.js';
import { choleskySolve } from '../../core/linalg.js';

export interface LogisticModel {
  /** Per-feature mean and standard deviation used to standardise inputs. */
  mean: number[];
  scale: number[];
  /** Weights on standardised features, and the intercept. */
  weights: number[];
  bias: number;
}

export interface LogisticFitOptions {
  /** L2 penalty on the weights (not the intercept), in units of the mean log-loss. Default 1e-2. */
  l2?: number;
  /** Soft targets in [0,1] instead of the hard labels (Platt's smoothing uses this). */
  targets?: readonly number[];
  maxIterations?: number;
  /** Standardise features (default true). Platt scaling turns it off to keep a, b interpretable. */
  standardise?: boolean;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export function fitLogistic(features: readonly (readonly number[])[], labels: readonly number[], opts: LogisticFitOptions = {}): LogisticModel {
  const n = features.length;
  if (n === 0) throw invalidOption('features', 'at least one row', 0);
  if (labels.length !== n) throw invalidOption('labels', `${n} labels (one per row)`, labels.length);
  const d = features[0].length;
  const l2 = opts.l2 ?? 1e-2;
  if (!(l2 >= 0)) throw invalidOption('l2', 'a number >= 0', l2);
  const targets = opts.targets ?? labels;
  const standardise = opts.standardise ?? true;

  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(1);
  if (standardise) {
    for (const row of features) for (let j = 0; j < d; j++) mean[j] += row[j] / n;
    for (let j = 0; j < d; j++) {
      let v = 0;
      for (const row of features) v += (row[j] - mean[j]) ** 2;
      scale[j] = Math.sqrt(v / n) || 1;
    }
  }
  // Design matrix with a leading 1 for the intercept.
  const X = features.map((row) => {
    if (row.length !== d) throw invalidOption('features', `rows of ${d} numbers`, row.length);
    return [1, ...row.map((v, j) => (v - mean[j]) / scale[j])];
  });
  const p = d + 1;
  const w = new Array<number>(p).fill(0);
  for (let iter = 0; iter < (opts.maxIterations ?? 50); iter++) {
    // Gradient and Hessian of mean log-loss + (l2/2)|w|^2.
    const g = new Array<number>(p).fill(0);
    const H = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let i = 0; i < n; i++) {
      const xi = X[i];
      let z = 0;
      for (let j = 0; j < p; j++) z += w[j] * xi[j];
      const mu = sigmoid(z);
      const r = (mu - targets[i]) / n;
      const s = (mu * (1 - mu)) / n;
      for (let j = 0; j < p; j++) {
        g[j] += r * xi[j];
        const sx = s * xi[j];
        for (let k = 0; k <= j; k++) H[j][k] += sx * xi[k];
      }
    }
    for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) H[k][j] = H[j][k];
    for (let j = 1; j < p; j++) {
      g[j] += l2 * w[j];
      H[j][j] += l2;
    }
    H[0][0] += 1e-9; // keeps the system positive definite when the data are separable
    const step = solveSymmetric(H, g);
    let maxStep = 0;
    for (let j = 0; j < p; j++) {
      w[j] -= step[j];
      maxStep = Math.max(maxStep, Math.abs(step[j]));
    }
    if (maxStep < 1e-10) break;
  }
  return { mean, scale, weights: w.slice(1), bias: w[0] };
}

/** Probability of label 1 for one feature row. */
export function predictLogistic(model: LogisticModel, row: readonly number[]): number {
  let z = model.bias;
  for (let j = 0; j < model.weights.length; j++) z += model.weights[j] * ((row[j] - model.mean[j]) / model.scale[j]);
  return sigmoid(z);
}

/**
 * Solves H x = g for a symmetric positive definite H (number[][]), by Cholesky; a singular
 * (separable) system is retried with a growing diagonal jitter.
 */
export function solveSymmetric(H: readonly (readonly number[])[], g: readonly number[]): number[] {
  const n = g.length;
  for (let jitter = 0; jitter <= 1e-3; jitter = jitter === 0 ? 1e-12 : jitter * 100) {
    const M = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = H[i][j] + (i === j ? jitter : 0);
    const x = choleskySolve(M, g, n);
    if (x) return Array.from(x);
  }
  throw invalidOption('H', 'a positive definite matrix', 'a singular one');
}
