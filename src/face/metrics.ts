/**
 * Binary-decision statistics used by the face benchmarks and `calibrate`: ROC AUC, the
 * accuracy-maximising threshold, and the ISO/IEC 30107-3 presentation-attack error rates.
 */

/** ROC AUC = P(score of a positive > score of a negative), ties count half (Mann-Whitney); NaN if a class is empty. */
export { rocAucMannWhitney as rocAuc } from '../core/stats.js';

/** ROC points (false-positive rate, true-positive rate) sweeping the threshold down. */
export function rocCurve(positives: readonly number[], negatives: readonly number[]): Array<[number, number]> {
  const ts = [...new Set([...positives, ...negatives])].sort((a, b) => b - a);
  const pts: Array<[number, number]> = [[0, 0]];
  for (const t of ts) pts.push([negatives.filter((s) => s >= t).length / negatives.length, positives.filter((s) => s >= t).length / positives.length]);
  return pts;
}

/**
 * Threshold maximising accuracy of "positive iff score >= t" (midpoint between neighbouring
 * scores, so it is not glued to one sample). Balanced accuracy when `balanced`.
 */
export function bestThreshold(positives: readonly number[], negatives: readonly number[], balanced = false): { threshold: number; accuracy: number } {
  const ts = [...new Set([...positives, ...negatives])].sort((a, b) => a - b);
  const cands = [ts[0]! - 1e-6, ...ts.slice(1).map((t, i) => (t + ts[i]!) / 2), ts[ts.length - 1]! + 1e-6];
  let best = { threshold: cands[0]!, accuracy: -1 };
  for (const t of cands) {
    const acc = accuracyAt(positives, negatives, t, balanced);
    if (acc > best.accuracy) best = { threshold: t, accuracy: acc };
  }
  return best;
}

export function accuracyAt(positives: readonly number[], negatives: readonly number[], t: number, balanced = false): number {
  const tp = positives.filter((s) => s >= t).length;
  const tn = negatives.filter((s) => s < t).length;
  return balanced ? (tp / positives.length + tn / negatives.length) / 2 : (tp + tn) / (positives.length + negatives.length);
}

/**
 * ISO/IEC 30107-3 rates for a decision "bona fide iff liveScore >= t":
 * APCER = share of attack presentations accepted as bona fide (worst attack type when several
 * are given), BPCER = share of bona fide presentations rejected, ACER = (APCER + BPCER) / 2.
 */
export function pad(
  bonaFide: readonly number[],
  attacksByType: Record<string, readonly number[]>,
  t: number,
): { apcer: number; bpcer: number; acer: number; apcerByType: Record<string, number> } {
  const apcerByType: Record<string, number> = {};
  for (const [k, v] of Object.entries(attacksByType)) apcerByType[k] = v.filter((s) => s >= t).length / Math.max(1, v.length);
  const apcer = Math.max(0, ...Object.values(apcerByType));
  const bpcer = bonaFide.filter((s) => s < t).length / Math.max(1, bonaFide.length);
  return { apcer, bpcer, acer: (apcer + bpcer) / 2, apcerByType };
}
