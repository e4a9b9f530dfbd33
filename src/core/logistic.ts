/**
 * L2-regularised logistic regression (core/stats' Newton fit), with feature standardisation
 * stored in the model. Small and exact for the tens of features the forensic
 * detector uses; Platt scaling is the one-feature case.
 */
import { invalidOption } from './errors.js';
import { fitLogisticNewton, sigmoid } from './stats.js';

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

export function fitLogistic(features: readonly (readonly number[])[], labels: readonly number[], opts: LogisticFitOptions = {}): LogisticModel {
  const n = features.length;
  if (n === 0) throw invalidOption('features', 'at least one row', 0);
  if (labels.length !== n) throw invalidOption('labels', `${n} labels (one per row)`, labels.length);
  const d = features[0].length;
  const l2 = opts.l2 ?? 1e-2;
  if (!(l2 >= 0)) throw invalidOption('l2', 'a number >= 0', l2);
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
  const X = features.map((row) => {
    if (row.length !== d) throw invalidOption('features', `rows of ${d} numbers`, row.length);
    return row.map((v, j) => (v - mean[j]) / scale[j]);
  });
  const { weights, bias } = fitLogisticNewton(X, {
    targets: opts.targets ?? labels,
    l2,
    maxIterations: opts.maxIterations ?? 50,
    tolerance: 1e-10,
    biasRidge: 1e-9,
  });
  return { mean, scale, weights, bias };
}

/** The linear score (log-odds of label 1) for one feature row: what Platt calibration takes as its input. */
export function logisticMargin(model: LogisticModel, row: ArrayLike<number>): number {
  let z = model.bias;
  for (let j = 0; j < model.weights.length; j++) z += model.weights[j] * ((row[j] - model.mean[j]) / model.scale[j]);
  return z;
}

/** Probability of label 1 for one feature row. */
export function predictLogistic(model: LogisticModel, row: readonly number[]): number {
  return sigmoid(logisticMargin(model, row));
}
