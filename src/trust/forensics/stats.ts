/**
 * Statistics for stating a detector's reliability: exact binomial intervals, ROC AUC with its
 * uncertainty, bootstrap intervals and sample-size planning. Pure functions, no dependencies.
 *
 * Conventions: a "positive" is a manipulated item (label 1), a higher score means "more likely
 * manipulated". Intervals are two-sided with level `confidence` (default 0.95).
 */
import { invalidOption } from '../../core/errors.js';
import { mulberry32 } from '../../core/random.js';
import { rocAucMannWhitney } from '../../core/stats.js';

export interface Interval {
  lo: number;
  hi: number;
}

// ---------------------------------------------------------------------------------------------
// Beta function machinery (for Clopper-Pearson)

/** ln Γ(x) for x > 0, Lanczos approximation (g = 7, 9 terms; relative error < 1e-14). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x); // reflection
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Regularised incomplete beta I_x(a, b) = P(X <= x) for X ~ Beta(a, b), by its continued
 * fraction (modified Lentz), using the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction
 * converges fastest.
 */
export function betaCdf(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw invalidOption('a, b', 'positive shape parameters', { a, b });
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaFraction(1 - x, b, a)) / b;
}

function betaFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-15) break;
  }
  return h;
}

/** The p-quantile of Beta(a, b), by bisection on betaCdf (monotone; 1e-12 in x). */
export function betaQuantile(p: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (betaCdf(mid, a, b) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------------------------------------
// Proportions

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw invalidOption('confidence', 'a number in (0, 1)', confidence);
}

function checkCount(k: number, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw invalidOption('n', 'an integer >= 1', n);
  if (!Number.isInteger(k) || k < 0 || k > n) throw invalidOption('k', `an integer in [0, ${n}]`, k);
}

/**
 * Exact (Clopper-Pearson) interval for a binomial proportion k/n: the set of p whose two
 * one-sided tests at (1 - confidence)/2 do not reject. Conservative: covers at least
 * `confidence` for every p, which is what a court-facing statement needs.
 */
export function clopperPearson(k: number, n: number, confidence = 0.95): Interval {
  checkCount(k, n);
  checkConfidence(confidence);
  const alpha = 1 - confidence;
  return {
    lo: k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1),
    hi: k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k),
  };
}

/**
 * The smallest sample size n for which the Clopper-Pearson interval around an expected
 * proportion `p` is no wider than `width` (k = round(p n) successes). Widths shrink roughly as
 * 1/sqrt(n) but not monotonically (k is an integer), so after the doubling/bisection search we
 * also check that no smaller n nearby already meets the width.
 */
export function sampleSizeForWidth(p: number, width: number, confidence = 0.95): number {
  if (!(p >= 0 && p <= 1)) throw invalidOption('p', 'an expected proportion in [0, 1]', p);
  if (!(width > 0 && width < 1)) throw invalidOption('width', 'an interval width in (0, 1)', width);
  checkConfidence(confidence);
  const widthAt = (n: number): number => {
    const ci = clopperPearson(Math.min(n, Math.max(0, Math.round(p * n))), n, confidence);
    return ci.hi - ci.lo;
  };
  let hi = 1;
  while (widthAt(hi) > width) {
    hi *= 2;
    if (hi > 1e8) throw invalidOption('width', 'a width reachable with at most 1e8 samples', width);
  }
  let lo = Math.max(1, hi >> 1);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (widthAt(mid) <= width) hi = mid;
    else lo = mid + 1;
  }
  let n = hi;
  for (let m = Math.max(1, n - 50); m < n; m++) {
    if (widthAt(m) <= width) {
      n = m;
      break;
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Scores and labels

export interface LabelledScores {
  /** Detector scores (higher = more likely manipulated). */
  scores: ArrayLike<number>;
  /** 1 = manipulated, 0 = authentic. */
  labels: ArrayLike<number>;
}

function split({ scores, labels }: LabelledScores): { pos: number[]; neg: number[] } {
  if (scores.length !== labels.length) throw invalidOption('labels', `${scores.length} labels (one per score)`, labels.length);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (!Number.isFinite(s)) throw invalidOption(`scores[${i}]`, 'a finite number', s);
    if (labels[i] === 1) pos.push(s);
    else if (labels[i] === 0) neg.push(s);
    else throw invalidOption(`labels[${i}]`, '0 (authentic) or 1 (manipulated)', labels[i]);
  }
  return { pos, neg };
}

/**
 * ROC AUC = P(score of a random positive > score of a random negative) + P(tie)/2
 * (the Mann-Whitney statistic), by ranking: O(n log n).
 */
export function rocAuc(data: LabelledScores): number {
  const { pos, neg } = split(data);
  if (pos.length === 0 || neg.length === 0)
    throw invalidOption('labels', 'at least one positive and one negative', { positives: pos.length, negatives: neg.length });
  return rocAucMannWhitney(pos, neg);
}

/**
 * Hanley & McNeil (1982) normal-approximation interval for the AUC, clipped to [0, 1]. A quick
 * companion to the bootstrap interval; it is optimistic for small samples or AUC near 1.
 */
export function aucHanleyMcNeil(auc: number, positives: number, negatives: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const v = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives);
  const h = normalQuantile(1 - (1 - confidence) / 2) * Math.sqrt(Math.max(0, v));
  return { lo: Math.max(0, auc - h), hi: Math.min(1, auc + h) };
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw invalidOption('p', 'a probability in (0, 1)', p);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lowTail = 0.02425;
  if (p < lowTail) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lowTail) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Confusion counts at a decision threshold: score >= threshold is called manipulated. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function confusionAt(data: LabelledScores, threshold: number): Confusion {
  const { pos, neg } = split(data);
  const tp = pos.filter((s) => s >= threshold).length;
  const fp = neg.filter((s) => s >= threshold).length;
  return { tp, fn: pos.length - tp, fp, tn: neg.length - fp };
}

// ---------------------------------------------------------------------------------------------
// Bootstrap

export interface BootstrapOptions {
  /** Resamples (default 2000). */
  resamples?: number;
  confidence?: number;
  /** Recorded so that the interval can be reproduced exactly (default 1). */
  seed?: number;
}

/**
 * Percentile bootstrap interval of `statistic` over labelled scores, resampling positives and
 * negatives separately (stratified: every resample keeps the class sizes, so the AUC is always
 * defined and class balance does not wander). Returns the interval and the resamples used.
 */
export function bootstrapInterval(
  data: LabelledScores,
  statistic: (pos: readonly number[], neg: readonly number[]) => number,
  opts: BootstrapOptions = {},
): Interval & { resamples: number; seed: number } {
  const resamples = opts.resamples ?? 2000;
  const confidence = opts.confidence ?? 0.95;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(resamples) || resamples < 100) throw invalidOption('resamples', 'an integer >= 100', resamples);
  checkConfidence(confidence);
  const { pos, neg } = split(data);
  if (pos.length === 0 || neg.length === 0)
    throw invalidOption('labels', 'at least one positive and one negative', { positives: pos.length, negatives: neg.length });
  const rand = mulberry32(seed);
  const draw = (xs: readonly number[], into: number[]): void => {
    for (let i = 0; i < xs.length; i++) into[i] = xs[Math.floor(rand() * xs.length)];
  };
  const bp = new Array<number>(pos.length);
  const bn = new Array<number>(neg.length);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    draw(pos, bp);
    draw(neg, bn);
    stats[r] = statistic(bp, bn);
  }
  stats.sort();
  const alpha = 1 - confidence;
  return { lo: quantileSorted(stats, alpha / 2), hi: quantileSorted(stats, 1 - alpha / 2), resamples, seed };
}

/** Linear-interpolated quantile of ascending data (type 7, as R and numpy default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  const j = Math.min(sorted.length - 1, i + 1);
  return sorted[i] + (h - i) * (sorted[j] - sorted[i]);
}

/** The bootstrap statistics the study reports, as functions of (positives, negatives). */
export const STATISTICS = {
  auc: rocAucMannWhitney,
  tprAt: (threshold: number) => (pos: readonly number[]) => pos.filter((s) => s >= threshold).length / pos.length,
  fprAt: (threshold: number) => (_pos: readonly number[], neg: readonly number[]) => neg.filter((s) => s >= threshold).length / neg.length,
  accuracyAt: (threshold: number) => (pos: readonly number[], neg: readonly number[]) =>
    (pos.filter((s) => s >= threshold).length + neg.filter((s) => s < threshold).length) / (pos.length + neg.length),
} as const;

/** Mean and sample standard deviation. */
export function meanSd(xs: readonly number[]): { mean: number; sd: number; min: number; max: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}
