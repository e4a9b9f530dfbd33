/**
 * Universal restoration: from the degradation analysis to an ordered chain of the library's
 * experts, and running it.
 *
 * Order of the chain (RESTORATION_ORDER), after the restoration literature:
 *
 * 1. lowlight first. Low-light enhancement remaps the whole tone curve; the enhancement expert
 *    (MAXIM trained on LOL) is trained on raw dark captures, their noise included, and the
 *    denoiser expects normally exposed pictures. Brightening first also makes the remaining
 *    noise measurable at its final level (the LIME / Retinex pipelines enhance, then denoise).
 * 2. denoise next, before the other restorations, all of which amplify noise: dehazing divides
 *    by the transmission (J = (I - A) / t + A: noise x 1/t), deblurring is an ill-posed inverse,
 *    and the deraining expert was trained on clean scenes plus rain.
 *    JPEG blocking has no expert of its own in the library (no deblocking network is shipped):
 *    it is sent to the denoising expert as the available fallback, which smooths the 8x8
 *    discontinuities and ringing like other high-frequency corruption but was trained on camera
 *    noise (SIDD), not on compression artefacts. Noise and JPEG make one denoise step.
 * 3. derain before dehaze: streaks break the dark-channel statistics and the transmission
 *    estimate, and heavy rain is streaks plus a haze-like veil, removed in that order (Li, Cheong &
 *    Tan, "Heavy Rain Image Restoration", CVPR 2019; Yang et al., JORDER, CVPR 2017).
 * 4. deblur last: it sharpens whatever is left, so everything else should be gone by then.
 *
 * A step is planned for the primary degradation and for every other degradation whose score
 * reaches the step threshold (default: the calibrated primary threshold, so a second expert pass,
 * ~10 s a 480x320 picture on a small CPU, is spent only on a confident finding). A clean picture
 * gets no step, and restoreAuto returns it untouched (the same RawImage object).
 */
import type { RawImage } from '../../core/image/types.js';
import { invalidOption } from '../../core/errors.js';
import { getModelCard } from '../../core/models/registry.js';
import { report, throwIfAborted } from '../../core/progress.js';
import type { ExpertOptions } from '../expert.js';
import { deblur, dehaze, denoise, derain, lowlight, type DehazeOptions } from '../tasks.js';
import { analyzeDegradations, DEGRADATION_CALIBRATION, DEGRADATIONS, type Degradation, type DegradationAnalysis } from './analyze.js';
import type { DegradationEvidence } from './evidence.js';

/** The tasks a plan can contain, in the order they run. */
export const RESTORATION_ORDER = ['lowlight', 'denoise', 'derain', 'dehaze', 'deblur'] as const;
export type RestorationTask = (typeof RESTORATION_ORDER)[number];

/** Which task treats each degradation (JPEG: the denoiser, as a fallback). */
export const DEGRADATION_TREATMENT: Readonly<Record<Degradation, RestorationTask>> = {
  lowlight: 'lowlight',
  noise: 'denoise',
  jpeg: 'denoise',
  rain: 'derain',
  haze: 'dehaze',
  blur: 'deblur',
};

export interface RestorationStep {
  task: RestorationTask;
  /** The degradations this step treats (denoise can treat noise and JPEG at once). */
  degradations: Degradation[];
  /** Id of the model card the task runs (`task/name@version`). */
  model: string;
  /** Why: the degradation and the evidence behind it, one line. */
  reason: string;
  /** The highest score among `degradations`, [0, 1]. */
  score: number;
}

export interface PlanOptions {
  /** Score at which a secondary degradation gets a step, in (0, 1). Default DEGRADATION_CALIBRATION.primaryThreshold. */
  threshold?: number;
  /** Dehazing weights, as for `dehaze`. Default 'outdoor'. */
  variant?: DehazeOptions['variant'];
}

const MODEL_NAMES: Readonly<Record<RestorationTask, (variant: 'indoor' | 'outdoor') => string>> = {
  lowlight: () => 'maxim-enhancement',
  denoise: () => 'maxim-denoising',
  derain: () => 'maxim-deraining',
  dehaze: (v) => `maxim-dehazing-${v}`,
  deblur: () => 'maxim-deblurring',
};

const f2 = (x: number): string => x.toFixed(2);
const pct = (x: number): string => `${Math.round(100 * x)}%`;

/** One line of evidence for a degradation. */
export function describeDegradationEvidence(d: Degradation, e: DegradationEvidence): string {
  switch (d) {
    case 'rain':
      return `rain streaks: long thin bright lines at ${Math.round(e.streakOrientationDeg)} deg (energy ${f2(e.streakEnergy)}, anisotropy ${f2(e.streakAnisotropy)}, in ${pct(e.streakCoverage)} of the picture)`;
    case 'haze':
      return `haze veil: dark channel median ${f2(e.darkChannelNonSkyMedian)} outside the sky, saturation ${f2(e.saturationMean)}, local contrast ${e.localContrast.toFixed(3)}`;
    case 'lowlight':
      return `underexposed: mean luminance ${f2(e.luminanceMean)}, ${pct(e.darkFraction)} of pixels below 0.1`;
    case 'noise':
      return `noise: sigma ~${e.noiseSigma.toFixed(1)} grey levels in the flattest regions`;
    case 'jpeg':
      return `JPEG blocking: 8x8 grid discontinuity ratio ${f2(e.blockiness)} (denoising expert as the fallback: no deblocking expert is shipped)`;
    case 'blur':
      return `blur: Crete blur ${f2(e.blurCrete)}, Laplacian variance ${e.laplacianVariance.toFixed(0)}`;
  }
}

function checkThreshold(name: string, v: unknown): void {
  if (v !== undefined && (typeof v !== 'number' || !(v > 0 && v < 1))) throw invalidOption(name, 'a number in (0, 1)', v);
}

function checkVariant(v: unknown): asserts v is 'indoor' | 'outdoor' | undefined {
  if (v !== undefined && v !== 'indoor' && v !== 'outdoor') throw invalidOption('variant', '"indoor" or "outdoor"', v);
}

/** The ordered chain of experts for an analysis; empty for a clean picture. */
export function planRestoration(analysis: DegradationAnalysis, opts: PlanOptions = {}): RestorationStep[] {
  if (analysis === null || typeof analysis !== 'object' || !analysis.scores || !analysis.evidence) {
    throw invalidOption('analysis', 'the result of analyzeDegradations', analysis);
  }
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  checkThreshold('threshold', opts.threshold);
  checkVariant(opts.variant);
  if (analysis.primary === 'clean') return [];
  const threshold = opts.threshold ?? DEGRADATION_CALIBRATION.primaryThreshold;
  const variant = opts.variant ?? 'outdoor';
  const chosen = DEGRADATIONS.filter((d) => d === analysis.primary || analysis.scores[d] >= threshold);
  const steps: RestorationStep[] = [];
  for (const task of RESTORATION_ORDER) {
    const ds = chosen.filter((d) => DEGRADATION_TREATMENT[d] === task).sort((a, b) => analysis.scores[b] - analysis.scores[a]);
    if (ds.length === 0) continue;
    steps.push({
      task,
      degradations: ds,
      model: getModelCard(MODEL_NAMES[task](variant)).id,
      reason: ds.map((d) => describeDegradationEvidence(d, analysis.evidence)).join('; '),
      score: Math.max(...ds.map((d) => analysis.scores[d])),
    });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------

/** `threshold` here sets both the primary decision (analyzeDegradations) and the extra steps (planRestoration). */
export interface RestoreAutoOptions extends Omit<ExpertOptions, 'model'>, PlanOptions {
  /** Analyse and plan only; the result's image is the input. Default false. */
  dryRun?: boolean;
  /** Called with the analysis and the plan before the first expert runs (e.g. to print the plan). */
  onPlan?: (analysis: DegradationAnalysis, plan: readonly RestorationStep[]) => void;
}

export interface RestoreAutoStepResult {
  task: RestorationTask;
  model: string;
  /** Wall time of the step, model loading included. */
  seconds: number;
}

export interface RestoreAutoResult {
  analysis: DegradationAnalysis;
  plan: RestorationStep[];
  /** The restored picture; the input object itself when the plan is empty or dryRun is set. */
  image: RawImage;
  /** What was run, in order (empty for a dry run or a clean picture). */
  steps: RestoreAutoStepResult[];
}

/**
 * Analyses `img`, plans the chain and runs the experts in order.
 *
 * Progress: `{ stage: 'analyze' }` (0/1, 1/1); then per step `{ stage: 'plan', done: i, total: n }`
 * before step i (and n/n at the end), with the expert's own events passed on as
 * `<task>:<stage>` (e.g. `derain:prepare model`, `derain:tiles`). The signal is checked before
 * the analysis, between steps and, inside the experts, between tiles.
 */
export async function restoreAuto(img: RawImage, opts: RestoreAutoOptions = {}): Promise<RestoreAutoResult> {
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const { dryRun = false, onPlan, threshold, variant, onProgress, signal, ...expert } = opts;
  if (typeof dryRun !== 'boolean') throw invalidOption('dryRun', 'a boolean', dryRun);
  if (onPlan !== undefined && typeof onPlan !== 'function') throw invalidOption('onPlan', 'a function', onPlan);
  if ((opts as ExpertOptions).model !== undefined) {
    throw invalidOption('model', 'undefined (restoreAuto loads one expert per step)', '[ImageModel]');
  }
  checkThreshold('threshold', threshold);
  checkVariant(variant);

  throwIfAborted(signal);
  report({ onProgress }, 'analyze', 0, 1);
  const analysis = analyzeDegradations(img, threshold !== undefined ? { threshold } : {});
  report({ onProgress }, 'analyze', 1, 1);
  const plan = planRestoration(analysis, { ...(threshold !== undefined ? { threshold } : {}), ...(variant ? { variant } : {}) });
  onPlan?.(analysis, plan);
  if (dryRun || plan.length === 0) return { analysis, plan, image: img, steps: [] };

  let image = img;
  const steps: RestoreAutoStepResult[] = [];
  for (const [i, step] of plan.entries()) {
    throwIfAborted(signal);
    report({ onProgress }, 'plan', i, plan.length);
    const started = performance.now();
    const control: ExpertOptions = {
      ...expert,
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress: (e) => onProgress({ ...e, stage: `${step.task}:${e.stage}` }) } : {}),
    };
    image = await runTask(step.task, image, control, variant ?? 'outdoor');
    steps.push({ task: step.task, model: step.model, seconds: Math.round(performance.now() - started) / 1000 });
  }
  throwIfAborted(signal);
  report({ onProgress }, 'plan', plan.length, plan.length);
  return { analysis, plan, image, steps };
}

function runTask(task: RestorationTask, img: RawImage, control: ExpertOptions, variant: 'indoor' | 'outdoor'): Promise<RawImage> {
  switch (task) {
    case 'lowlight':
      return lowlight(img, control);
    case 'denoise':
      return denoise(img, control);
    case 'derain':
      return derain(img, control);
    case 'dehaze':
      return dehaze(img, { ...control, variant });
    case 'deblur':
      return deblur(img, control);
  }
}
