/**
 * Score calibration: map a detector's raw scores to probabilities on a validation split, so
 * that "0.9" means "9 in 10 items scored like this were manipulated" on material like it.
 *
 * - Platt (1999): p = 1 / (1 + exp(a s + b)) fitted by maximum likelihood on smoothed targets
 *   (t+ = (N+ + 1)/(N+ + 2), t- = 1/(N- + 2)) so that a separable split does not give 0 and 1.
 * - Isotonic: the monotone step function of best squared fit (pool adjacent violators); no shape
 *   assumption, needs more data, flat where the data are.
 */
import { invalidOption } from '../../core/errors.js';
import { fitLogistic, predictLogistic } from '../../core/logistic.js';

export type Calibrator = { method: 'platt'; a: number; b: number } | { method: 'isotonic'; thresholds: number[]; values: number[] } | { method: 'identity' };

export type CalibrationMethod = Calibrator['method'];

function checkData(scores: readonly number[], labels: readonly number[]): { pos: number; neg: number } {
  if (scores.length !== labels.length) throw invalidOption('labels', `${scores.length} labels (one per score)`, labels.length);
  let pos = 0;
  for (const l of labels) {
    if (l !== 0 && l !== 1) throw invalidOption('labels', '0 or 1', l);
    pos += l;
  }
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) throw invalidOption('labels', 'both classes in the calibration split', { positives: pos, negatives: neg });
  return { pos, neg };
}

export function fitPlatt(scores: readonly number[], labels: readonly number[]): Calibrator {
  const { pos, neg } = checkData(scores, labels);
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (neg + 2);
  const model = fitLogistic(
    scores.map((s) => [s]),
    labels,
    { l2: 0, targets: labels.map((l) => (l === 1 ? hi : lo)), standardise: false },
  );
  // predictLogistic = sigmoid(w s + bias) = 1 / (1 + exp(-(w s + bias))): a = -w, b = -bias.
  return { method: 'platt', a: -model.weights[0], b: -model.bias };
}

export function fitIsotonic(scores: readonly number[], labels: readonly number[]): Calibrator {
  checkData(scores, labels);
  const order = scores.map((s, i) => ({ s, y: labels[i] })).sort((p, q) => p.s - q.s);
  // Blocks of (sum, count, max score); merge while a block's mean is below its predecessor's.
  const sums: number[] = [];
  const counts: number[] = [];
  const tops: number[] = [];
  for (const { s, y } of order) {
    sums.push(y);
    counts.push(1);
    tops.push(s);
    while (sums.length > 1 && sums[sums.length - 2] / counts[counts.length - 2] >= sums[sums.length - 1] / counts[counts.length - 1]) {
      const sum = sums.pop()!;
      const count = counts.pop()!;
      const top = tops.pop()!;
      sums[sums.length - 1] += sum;
      counts[counts.length - 1] += count;
      tops[tops.length - 1] = top;
    }
  }
  return { method: 'isotonic', thresholds: tops, values: sums.map((s, i) => s / counts[i]) };
}

export function fitCalibrator(method: CalibrationMethod, scores: readonly number[], labels: readonly number[]): Calibrator {
  if (method === 'platt') return fitPlatt(scores, labels);
  if (method === 'isotonic') return fitIsotonic(scores, labels);
  if (method === 'identity') return { method };
  throw invalidOption('method', '"platt", "isotonic" or "identity"', method);
}

/** Calibrated probability of manipulation for a raw score. */
export function calibrateScore(c: Calibrator, score: number): number {
  switch (c.method) {
    case 'identity':
      return Math.min(1, Math.max(0, score));
    case 'platt':
      return predictLogistic({ mean: [0], scale: [1], weights: [-c.a], bias: -c.b }, [score]);
    case 'isotonic': {
      // The value of the first block whose top score is >= s (the last block above all).
      let lo = 0;
      let hi = c.thresholds.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (c.thresholds[mid] >= score) hi = mid;
        else lo = mid + 1;
      }
      return c.values[lo];
    }
  }
}

/**
 * Expected calibration error over `bins` equal-width probability bins: the mean |observed rate -
 * mean predicted probability| weighted by bin size. 0 for perfect calibration.
 */
export function expectedCalibrationError(probabilities: readonly number[], labels: readonly number[], bins = 10): number {
  checkData(probabilities, labels);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  const count = new Array<number>(bins).fill(0);
  probabilities.forEach((p, i) => {
    const b = Math.min(bins - 1, Math.floor(p * bins));
    sumP[b] += p;
    sumY[b] += labels[i];
    count[b]++;
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b] > 0) ece += (count[b] / labels.length) * Math.abs(sumY[b] / count[b] - sumP[b] / count[b]);
  return ece;
}
