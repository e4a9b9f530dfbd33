/**
 * The liveness verdict's operating thresholds: how a score becomes live / uncertain / spoof, and
 * the rule that chooses the two thresholds from HELD-OUT scores (scores of clips whose people and
 * source the scoring head never saw), so that the operating point users get is itself measured.
 */
import { invalidOption } from '../../core/errors.js';

export type LivenessVerdictLabel = 'live' | 'spoof' | 'uncertain';

/** score >= live -> "live"; score < spoof -> "spoof"; in between -> "uncertain". */
export interface LivenessThresholds {
  live: number;
  spoof: number;
}

/** Checks thresholds (0 <= spoof <= live <= 1, finite); throws E_INVALID_OPTION naming `name`. */
export function checkThresholds(t: unknown, name = 'head.thresholds'): LivenessThresholds {
  const x = t as Partial<LivenessThresholds> | undefined;
  const ok =
    !!x &&
    typeof x.live === 'number' &&
    typeof x.spoof === 'number' &&
    Number.isFinite(x.live) &&
    Number.isFinite(x.spoof) &&
    x.spoof >= 0 &&
    x.spoof <= x.live &&
    x.live <= 1;
  if (!ok) throw invalidOption(name, '{ live, spoof } with 0 <= spoof <= live <= 1', t);
  return { live: x.live!, spoof: x.spoof! };
}

/** The verdict a score gets at these thresholds (checked first: a spoof threshold above the live one is an error, not a silent "live"). */
export function verdictOf(score: number, thresholds: LivenessThresholds): LivenessVerdictLabel {
  const t = checkThresholds(thresholds);
  return score >= t.live ? 'live' : score < t.spoof ? 'spoof' : 'uncertain';
}

/** One held-out score: a bona fide clip (live) or an attack of a family. */
export interface HeldOutScore {
  score: number;
  live: boolean;
  /** Attack family of an attack clip ("print", "replay", "cutEye"; "spoof" when untyped). */
  attack?: string;
}

export interface ThresholdRule {
  /** Largest held-out BPCER the live threshold may cause (0.05). */
  maxBpcer: number;
  /** Largest held-out APCER, per attack family, the live threshold may allow (0.05). */
  maxApcer: number;
  /** The live threshold never exceeds this (0.5: the class-balanced fit's equal-odds point). */
  liveCap: number;
}

/** Rule R1, pre-registered in the w6 notes of issue 17 before its nested figures were computed. */
export const THRESHOLD_RULE: ThresholdRule = { maxBpcer: 0.05, maxApcer: 0.05, liveCap: 0.5 };

export function describeThresholdRule(r: ThresholdRule = THRESHOLD_RULE): string {
  return (
    `live = min(${r.liveCap}, largest t with held-out BPCER <= ${100 * r.maxBpcer} %), raised if needed to the smallest t ` +
    `with held-out APCER <= ${100 * r.maxApcer} % for every attack family; spoof = min(live, that smallest t)`
  );
}

const GRID = 1e-4;

/**
 * Rule R1 on held-out scores:
 *   b* = the (floor(maxBpcer n_B) + 1)-th smallest bona fide score: the largest t with
 *        #{bona fide < t} / n_B <= maxBpcer;
 *   s* = max over families of the (floor(maxApcer n_a) + 1)-th largest attack score, + 1e-4: the
 *        smallest t (to 1e-4) with #{attack >= t} / n_a <= maxApcer for every family;
 *   live = max(min(liveCap, b*), s*)  (security first: "live" may not admit more attacks than that);
 *   spoof = min(live, s*).
 * live is rounded down and spoof up to 1e-4. Needs bona fide and attack scores.
 */
export function chooseThresholds(scores: readonly HeldOutScore[], rule: ThresholdRule = THRESHOLD_RULE): LivenessThresholds {
  const fraction = (v: number) => typeof v === 'number' && v >= 0 && v < 1;
  if (!fraction(rule.maxBpcer) || !fraction(rule.maxApcer) || !(rule.liveCap > 0 && rule.liveCap <= 1))
    throw invalidOption('rule', '{ maxBpcer, maxApcer in [0, 1), liveCap in (0, 1] }', rule);
  if (!Array.isArray(scores) || scores.some((s) => !s || typeof s.score !== 'number' || !Number.isFinite(s.score) || typeof s.live !== 'boolean'))
    throw invalidOption(
      'scores',
      'an array of { score (finite), live (boolean), attack? }',
      Array.isArray(scores) ? scores.find((s) => !s || !Number.isFinite(s.score)) : scores,
    );
  const bona = scores.filter((s) => s.live).map((s) => s.score);
  const attacks = scores.filter((s) => !s.live);
  if (!bona.length || !attacks.length)
    throw invalidOption('scores', 'held-out scores of both bona fide and attack clips', `${bona.length} bona fide, ${attacks.length} attacks`);
  const ascending = [...bona].sort((a, b) => a - b);
  // how many may fall on the wrong side; the epsilon keeps e.g. 0.29 x 100 = 28.999... at 29
  const allowed = (rate: number, n: number) => Math.floor(rate * n + 1e-9);
  const bStar = ascending[allowed(rule.maxBpcer, ascending.length)]!;
  const families = new Map<string, number[]>();
  for (const a of attacks) families.set(a.attack ?? 'spoof', [...(families.get(a.attack ?? 'spoof') ?? []), a.score]);
  const sStar =
    Math.max(
      ...[...families.values()].map((v) => {
        const descending = [...v].sort((a, b) => b - a);
        return descending[allowed(rule.maxApcer, descending.length)]!;
      }),
    ) + GRID;
  const live = Math.min(1, Math.max(Math.min(rule.liveCap, bStar), sStar));
  const spoof = Math.min(live, sStar);
  // grid rounding that keeps both inequalities: live down, spoof up (but never above live)
  const liveR = Math.floor(live / GRID + 1e-9) * GRID;
  const spoofR = Math.min(liveR, Math.ceil(spoof / GRID - 1e-9) * GRID);
  return { live: round4(liveR), spoof: round4(spoofR) };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
