/**
 * Degradation analysis: what is wrong with a picture, with the evidence.
 *
 * `analyzeDegradations(img)` measures raw statistics (evidence.ts: dark channel, luminance
 * histogram, noise sigma, rain streak field, blur, JPEG blockiness), turns them into one score in
 * [0, 1] per degradation, and names the primary degradation, or 'clean'.
 *
 * Scores. Each score is a logistic function of a few transformed evidence values:
 *
 *   score_d = 1 / (1 + exp(-(bias_d + sum_i weight_d,i * feature_d,i(evidence))))
 *
 * with the features listed in SCORE_FEATURES and the numbers in DEGRADATION_CALIBRATION, the one
 * place where they live. They were fitted by `node --import tsx bench/analyze.ts` on the
 * calibration half of the labelled images in ../shared/data (see that script for the split and
 * the held-out accuracy): one-vs-rest logistic regression per degradation, classes balanced,
 * L2-regularised on standardised features. A score is therefore "how much this looks like the
 * images of that kind we calibrated on, against all the other kinds", 0.5 at the balanced
 * boundary; it is not a measured severity.
 *
 * Primary: the degradation with the highest score if that score reaches
 * DEGRADATION_CALIBRATION.primaryThreshold (chosen on the same calibration images), else 'clean'.
 */
import type { RawImage } from '../../core/image/types.js';
import { invalidOption } from '../../core/errors.js';
import { checkImage } from '../../core/filters/darkChannel.js';
import { computeEvidence, type DegradationEvidence } from './evidence.js';

export type { DegradationEvidence } from './evidence.js';

/** The degradations the analysis scores, in the order they are reported. */
export const DEGRADATIONS = ['rain', 'haze', 'lowlight', 'noise', 'blur', 'jpeg'] as const;
export type Degradation = (typeof DEGRADATIONS)[number];
export type PrimaryDegradation = Degradation | 'clean';

export type DegradationScores = Record<Degradation, number>;

export interface DegradationAnalysis {
  /** One score per degradation, each in [0, 1]: what the decision was made on. */
  scores: DegradationScores;
  /** The main degradation (highest score at or above the threshold), or 'clean'. */
  primary: PrimaryDegradation;
  /**
   * The hand-measured statistics (dark channel, histogram, noise sigma, streak field, ...). With the
   * learned recogniser they are the explanation shown to the user, not the decision; with the
   * rules they are also what the scores were computed from.
   */
  evidence: DegradationEvidence;
  /** Who decided: the learned recogniser (models/degradation-recognizer) or the calibrated hand rules. Absent = 'rules'. */
  method?: 'learned' | 'rules';
  /** Learned only: expected severity of each degradation, [0, 1] (score x severity if present; 0 when absent). */
  severity?: DegradationScores;
  /** Learned only: the degradation embedding (RECOGNIZER embedding width). */
  embedding?: Float32Array;
  /** Learned only: the recogniser's model card id. */
  model?: string;
  /** The score threshold the primary was decided with (planRestoration uses it for the extra steps). */
  threshold?: number;
}

export interface AnalyzeOptions {
  /** Lowest top score that is not 'clean', in (0, 1). Default DEGRADATION_CALIBRATION.primaryThreshold. */
  threshold?: number;
}

/** One input of a score: a name for reports and the transform of the evidence. */
export interface ScoreFeature {
  name: string;
  of(e: DegradationEvidence): number;
}

const ln = Math.log;

/**
 * Saturation assumed for grey (1-channel) inputs, which have none to measure: the median over the
 * clean calibration photographs, so that a grey picture is judged on the other haze features
 * instead of looking maximally washed out. (All calibration images are colour: grey inputs are
 * outside what was measured.)
 */
export const GREY_SATURATION = 0.34;

/**
 * The features of each score. Transforms are chosen so that the logit is roughly linear in them:
 * logarithms for positive quantities spanning decades (energies, sigmas, variances), plain values
 * for bounded ratios.
 */
export const SCORE_FEATURES: Readonly<Record<Degradation, readonly ScoreFeature[]>> = {
  rain: [
    { name: 'ln(streakEnergy + 0.01)', of: (e) => ln(e.streakEnergy + 0.01) },
    { name: 'streakAnisotropy', of: (e) => e.streakAnisotropy },
    { name: 'streakCoverage', of: (e) => e.streakCoverage },
  ],
  haze: [
    { name: 'darkChannelNonSkyMedian', of: (e) => e.darkChannelNonSkyMedian },
    { name: 'saturationMean', of: (e) => (e.channels === 3 ? e.saturationMean : GREY_SATURATION) },
    { name: 'ln(localContrast + 0.001)', of: (e) => ln(e.localContrast + 0.001) },
    { name: 'luminanceMean', of: (e) => e.luminanceMean },
  ],
  lowlight: [
    { name: 'ln(luminanceMean + 0.01)', of: (e) => ln(e.luminanceMean + 0.01) },
    { name: 'darkFraction', of: (e) => e.darkFraction },
    { name: 'luminanceP95', of: (e) => e.luminanceP95 },
  ],
  noise: [{ name: 'ln(noiseSigma + 0.1)', of: (e) => ln(e.noiseSigma + 0.1) }],
  blur: [
    { name: 'blurCrete', of: (e) => e.blurCrete },
    { name: 'ln(laplacianVariance + 1)', of: (e) => ln(e.laplacianVariance + 1) },
  ],
  jpeg: [
    { name: 'ln(blockiness - 0.99)', of: (e) => ln(Math.max(0.001, e.blockiness - 0.99)) },
    { name: 'ln(blockinessFlat)', of: (e) => ln(Math.max(1e-3, e.blockinessFlat)) },
  ],
};

/** Logistic parameters of one score (weights in the order of SCORE_FEATURES). */
export interface ScoreCalibration {
  bias: number;
  weights: readonly number[];
}

export interface DegradationCalibration {
  scores: Readonly<Record<Degradation, ScoreCalibration>>;
  /** Lowest top score that names a degradation; below it the image is 'clean'. */
  primaryThreshold: number;
}

/**
 * Fitted by `node --import tsx bench/analyze.ts` on its calibration split (200 images: 98 real
 * from ../shared/data - 35 rain, 6 haze, 23 low light, 34 clean - and 102 synthetic noise, blur
 * and JPEG versions of those clean images); rerun it after changing evidence.ts or
 * SCORE_FEATURES and paste the block it prints when the fit differs. Read as:
 *
 * - rain: rises with ln(streak energy), the anisotropy and, most, the coverage (rain is
 *   everywhere; a lone fence or a tree trunk is not);
 * - haze: dark channel outside the sky up, saturation down, local contrast down, brightness up;
 * - lowlight: dominated by the fraction of pixels below 0.1, then a low mean luminance;
 * - noise: 0.5 at a flat-region sigma of ~3.7 grey levels (luma; ~5.5 per RGB channel);
 * - blur: Crete's blur up, Laplacian variance down;
 * - jpeg: both blockiness ratios up;
 * - primaryThreshold: the best of 0.30..0.80 on the calibration split (0.7: a finding must be
 *   clearly on the degraded side before an expert is run on it).
 */
export const DEGRADATION_CALIBRATION: DegradationCalibration = {
  scores: {
    rain: { bias: -5.9356, weights: [1.0546, 1.2562, 8.4048] },
    haze: { bias: -6.3469, weights: [6.1462, -6.5491, -1.831, 2.1911] },
    lowlight: { bias: -4.7492, weights: [-1.6535, 15.2593, 0.3332] },
    noise: { bias: -3.0096, weights: [2.2533] },
    blur: { bias: -0.8393, weights: [10.1596, -0.9004] },
    jpeg: { bias: -0.6239, weights: [1.3186, 1.9061] },
  },
  primaryThreshold: 0.7,
};

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** The scores for some evidence under a calibration (the bench evaluates candidate calibrations with it). */
export function scoresFromEvidence(e: DegradationEvidence, calibration: DegradationCalibration = DEGRADATION_CALIBRATION): DegradationScores {
  const scores = {} as DegradationScores;
  for (const d of DEGRADATIONS) {
    const { bias, weights } = calibration.scores[d];
    const features = SCORE_FEATURES[d];
    let z = bias;
    for (let i = 0; i < features.length; i++) z += weights[i] * features[i].of(e);
    const s = sigmoid(z);
    scores[d] = Number.isFinite(s) ? s : 0;
  }
  return scores;
}

/** Highest-scoring degradation if its score reaches `threshold`, else 'clean'. Ties keep DEGRADATIONS order. */
export function primaryFromScores(scores: DegradationScores, threshold = DEGRADATION_CALIBRATION.primaryThreshold): PrimaryDegradation {
  let best: Degradation = DEGRADATIONS[0];
  for (const d of DEGRADATIONS) if (scores[d] > scores[best]) best = d;
  return scores[best] >= threshold ? best : 'clean';
}

/** Measures the evidence, scores every degradation and names the primary one. Pure; ~0.1 s for 1 MP. */
export function analyzeDegradations(img: RawImage, opts: AnalyzeOptions = {}): DegradationAnalysis {
  checkImage(img);
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const threshold = opts.threshold ?? DEGRADATION_CALIBRATION.primaryThreshold;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) throw invalidOption('threshold', 'a number in (0, 1)', opts.threshold);
  const evidence = computeEvidence(img);
  const scores = scoresFromEvidence(evidence);
  return { scores, primary: primaryFromScores(scores, threshold), evidence, method: 'rules', threshold };
}
