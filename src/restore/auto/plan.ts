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
 * reaches the step threshold (default: the threshold the analysis decided with, so a second
 * expert pass, ~10 s a 480x320 picture on a small CPU, is spent only on a confident finding). A
 * clean picture gets no step, and restoreAuto returns it untouched (the same RawImage object).
 *
 * Which model or physical method runs each step (METHOD CHOICE, quality 'fast' unless stated):
 * - heavy rain (rain with a haze score at the threshold, or a learned haze severity >= 0.2): the
 *   streaks first (derain), then the veil by the physical model (removeVeil) at a strength set from
 *   the estimated veil, veilStrengthFor(severity): bench/heavy-rain.ts measured the best strength
 *   0.75 on a veil of mean transmission ~0.68 (severity ~0.38) and 0 on veil-free Rain100H, so the
 *   strength rises as 2 x severity, capped at 0.75. No separate dehaze step then.
 * - haze: the learned expert (MAXIM outdoor/indoor), applied in full from severity LIGHT_HAZE up and
 *   blended with the input below it (strength = severity / LIGHT_HAZE, at least 0.4), so light
 *   haze is not over-dehazed into dark, oversaturated colours.
 * - low light, fast: the `lowlight-iagc` student when it is installed; otherwise the
 *   illumination-aware gamma, checked by measurement: when its output's noise sigma exceeds
 *   GAMMA_NOISE_LIMIT grey levels (the gamma lifts the noise of dark captures: 4.1 on LOL 1.png,
 *   against 0.5 for the expert, see lowlightFuse), the gamma+expert fusion is run instead.
 *   Quality 'max': the fusion (the library's measured best of the two, see lowlightFuse).
 * - derain, fast: the `derain-fast` student only once it is the library's measured default derainer
 *   (DEFAULT_DERAIN_MODEL: within 0.5 dB of MAXIM on held-out Rain100H); today it is 6.55 dB below, so
 *   MAXIM runs and the step's reason says why. 'max': MAXIM.
 * - denoise (noise, JPEG) and deblur: MAXIM (no faster model exists).
 */
import type { RawImage } from '../../core/image/types.js';
import { invalidOption } from '../../core/errors.js';
import { getModelCard } from '../../core/models/registry.js';
import { report, throwIfAborted } from '../../core/progress.js';
import type { ExpertOptions } from '../expert.js';
import { createImage } from '../../core/image/types.js';
import { runExpert } from '../expert.js';
import { removeVeil } from '../derain/rainModel.js';
import { deblur, DEFAULT_DERAIN_MODEL, dehaze, dehazeModelName, denoise, DERAIN_MODEL_NAMES, EXPERT_MODELS, lowlight, type DehazeOptions } from '../tasks.js';
import { DEGRADATION_CALIBRATION, DEGRADATIONS, type Degradation, type DegradationAnalysis } from './analyze.js';
import { computeEvidence, type DegradationEvidence } from './evidence.js';
import { analyzeImage, type DegradationRecognizer, type AnalysisMethod } from './recognizer.js';

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

/** 'fast' (default): students and physical methods where they exist; 'max': the slow experts. */
export type RestorationQuality = 'fast' | 'max';
export const RESTORATION_QUALITIES: readonly RestorationQuality[] = ['fast', 'max'];

/** How a step runs: a network (`expert`: pretrained MAXIM, `student`: trained here), or a physical/fused method. */
export type StepMethod = 'expert' | 'student' | 'gamma-checked' | 'fuse';

/** Learned haze severity from which the dehazing expert is applied in full. */
export const LIGHT_HAZE = 0.35;
/** Noise sigma (grey levels) above which the gamma's low-light result is replaced by the fusion. */
export const GAMMA_NOISE_LIMIT = 4;
/** Learned haze severity from which rain is treated as heavy rain (streaks + veil). */
export const RAIN_VEIL_SEVERITY = 0.2;

/** Veil-removal strength for a veil severity in [0, 1] (see the module notes). */
export function veilStrengthFor(severity: number): number {
  return Math.round(100 * Math.max(0, Math.min(0.75, 2 * severity))) / 100;
}

/** Dehazing strength for a haze severity: full from LIGHT_HAZE, proportional below (at least 0.4). */
export function dehazeStrengthFor(severity: number): number {
  return Math.round(100 * Math.max(0.4, Math.min(1, severity / LIGHT_HAZE))) / 100;
}

export interface RestorationStep {
  task: RestorationTask;
  /** How the step runs (see StepMethod). */
  method: StepMethod;
  /** Step parameters chosen from the analysis: veilStrength (derain), strength (dehaze). */
  params?: { veilStrength?: number; strength?: number };
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
  /** 'fast' (default) or 'max' (see RestorationQuality). */
  quality?: RestorationQuality;
}

/** Whether a model is in the registry (students trained on other branches may not be). */
export function modelInstalled(name: string): boolean {
  try {
    getModelCard(name);
    return true;
  } catch {
    return false;
  }
}

export const DERAIN_STUDENT = DERAIN_MODEL_NAMES.fast;
export const LOWLIGHT_STUDENT = 'lowlight-iagc';

const MODEL_NAMES: Readonly<Record<RestorationTask, (variant: 'indoor' | 'outdoor') => string>> = {
  lowlight: () => EXPERT_MODELS.lowlight,
  denoise: () => EXPERT_MODELS.denoise,
  derain: () => EXPERT_MODELS.derain,
  dehaze: dehazeModelName,
  deblur: () => EXPERT_MODELS.deblur,
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

function checkQuality(v: unknown): asserts v is RestorationQuality | undefined {
  if (v !== undefined && !RESTORATION_QUALITIES.includes(v as RestorationQuality)) throw invalidOption('quality', '"fast" or "max"', v);
}

/** Severity of a degradation: the learned one when the analysis has it, else the score (rules). */
function severityOf(analysis: DegradationAnalysis, d: Degradation): number {
  return analysis.severity ? analysis.severity[d] : analysis.scores[d];
}

/** The ordered chain of experts for an analysis; empty for a clean picture. */
export function planRestoration(analysis: DegradationAnalysis, opts: PlanOptions = {}): RestorationStep[] {
  if (analysis === null || typeof analysis !== 'object' || !analysis.scores || !analysis.evidence) {
    throw invalidOption('analysis', 'the result of analyzeDegradations or analyzeImage', analysis);
  }
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  checkThreshold('threshold', opts.threshold);
  checkVariant(opts.variant);
  checkQuality(opts.quality);
  if (analysis.primary === 'clean') return [];
  const threshold = opts.threshold ?? analysis.threshold ?? DEGRADATION_CALIBRATION.primaryThreshold;
  const variant = opts.variant ?? 'outdoor';
  const quality = opts.quality ?? 'fast';
  const chosen = new Set(DEGRADATIONS.filter((d) => d === analysis.primary || analysis.scores[d] >= threshold));
  // Heavy rain: streaks plus a veil. The veil goes with the derain step (physical removal), not to the dehazer.
  const veil = chosen.has('rain') && (chosen.has('haze') || (analysis.severity !== undefined && analysis.severity.haze >= RAIN_VEIL_SEVERITY));
  if (veil) chosen.delete('haze');
  const steps: RestorationStep[] = [];
  for (const task of RESTORATION_ORDER) {
    const ds = [...chosen].filter((d) => DEGRADATION_TREATMENT[d] === task).sort((a, b) => analysis.scores[b] - analysis.scores[a]);
    if (ds.length === 0) continue;
    const reasons = ds.map((d) => describeDegradationEvidence(d, analysis.evidence));
    const score = Math.max(...ds.map((d) => analysis.scores[d]));
    let method: StepMethod = 'expert';
    let model = getModelCard(MODEL_NAMES[task](variant)).id;
    let params: RestorationStep['params'];
    if (task === 'derain') {
      if (quality === 'fast' && modelInstalled(DERAIN_STUDENT)) {
        if (DEFAULT_DERAIN_MODEL === 'fast') {
          method = 'student';
          model = getModelCard(DERAIN_STUDENT).id;
        } else {
          reasons.push(`${DERAIN_STUDENT} not used: it has not matched MAXIM on held-out heavy rain (see README); derain --model fast runs it`);
        }
      }
      if (veil) {
        const veilStrength = veilStrengthFor(severityOf(analysis, 'haze'));
        params = { veilStrength };
        reasons.push(`heavy rain: ${describeDegradationEvidence('haze', analysis.evidence)}; veil removed after the streaks at strength ${veilStrength}`);
      }
    } else if (task === 'dehaze') {
      const strength = analysis.severity ? dehazeStrengthFor(analysis.severity.haze) : 1;
      params = { strength };
      if (strength < 1) reasons.push(`light haze (severity ${analysis.severity!.haze.toFixed(2)}): dehazed at strength ${strength}, not in full`);
    } else if (task === 'lowlight') {
      if (quality === 'max') {
        method = 'fuse';
        reasons.push('quality max: learned expert fused with the illumination-aware gamma');
      } else if (modelInstalled(LOWLIGHT_STUDENT)) {
        method = 'student';
        model = getModelCard(LOWLIGHT_STUDENT).id;
      } else {
        method = 'gamma-checked';
        model = `illumination-aware gamma (fusion with ${model} if the gamma's noise sigma > ${GAMMA_NOISE_LIMIT})`;
      }
    }
    steps.push({ task, method, ...(params ? { params } : {}), degradations: ds, model, reason: reasons.join('; '), score });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------

/** `threshold` here sets both the primary decision (analyzeImage) and the extra steps (planRestoration). */
export interface RestoreAutoOptions extends Omit<ExpertOptions, 'model'>, PlanOptions {
  /** Analyse and plan only; the result's image is the input. Default false. */
  dryRun?: boolean;
  /** Who decides: 'auto' (default: the learned recogniser when installed, else the hand rules), 'learned' or 'rules'. */
  analysis?: AnalysisMethod;
  /** A loaded recogniser to reuse (the caller owns it). */
  recognizer?: DegradationRecognizer;
  /** Called with the analysis and the plan before the first expert runs (e.g. to print the plan). */
  onPlan?: (analysis: DegradationAnalysis, plan: readonly RestorationStep[]) => void;
}

export interface RestoreAutoStepResult {
  task: RestorationTask;
  model: string;
  /** What actually ran (a 'gamma-checked' step reports 'gamma' or 'fuse'). */
  method: string;
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
  const { dryRun = false, onPlan, threshold, variant, quality, analysis: method, recognizer, onProgress, signal, ...expert } = opts;
  if (typeof dryRun !== 'boolean') throw invalidOption('dryRun', 'a boolean', dryRun);
  if (onPlan !== undefined && typeof onPlan !== 'function') throw invalidOption('onPlan', 'a function', onPlan);
  if ((opts as ExpertOptions).model !== undefined) {
    throw invalidOption('model', 'undefined (restoreAuto loads one expert per step)', '[ImageModel]');
  }
  checkThreshold('threshold', threshold);
  checkVariant(variant);
  checkQuality(quality);

  throwIfAborted(signal);
  report({ onProgress }, 'analyze', 0, 1);
  const analysis = await analyzeImage(img, {
    ...(method !== undefined ? { method } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    ...(recognizer ? { recognizer } : {}),
    ...(expert.device ? { device: expert.device } : {}),
  });
  report({ onProgress }, 'analyze', 1, 1);
  const plan = planRestoration(analysis, {
    ...(threshold !== undefined ? { threshold } : {}),
    ...(variant ? { variant } : {}),
    ...(quality ? { quality } : {}),
  });
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
    const ran = await runStep(step, image, control, variant ?? 'outdoor');
    image = ran.image;
    steps.push({ task: step.task, model: step.model, method: ran.method, seconds: Math.round(performance.now() - started) / 1000 });
  }
  throwIfAborted(signal);
  report({ onProgress }, 'plan', plan.length, plan.length);
  return { analysis, plan, image, steps };
}

/** out = in + s (restored - in): a partial application of a restoration (s in [0, 1]). */
function blend(input: RawImage, restored: RawImage, s: number): RawImage {
  if (s >= 1) return restored;
  const out = createImage(input.width, input.height, input.channels);
  for (let i = 0; i < out.data.length; i++) out.data[i] = input.data[i] + s * (restored.data[i] - input.data[i]);
  return out;
}

async function runStep(
  step: RestorationStep,
  img: RawImage,
  control: ExpertOptions,
  variant: 'indoor' | 'outdoor',
): Promise<{ image: RawImage; method: string }> {
  switch (step.task) {
    case 'lowlight': {
      if (step.method === 'student') return { image: await lowlight(img, { ...control, method: 'iagc' }), method: 'student' };
      if (step.method === 'fuse') return { image: await lowlight(img, { ...control, method: 'fuse' }), method: 'fuse' };
      // gamma-checked: the fast physical method, unless its result measures too noisy.
      const gamma = await lowlight(img, { ...control, method: 'gamma' });
      if (computeEvidence(gamma).noiseSigma <= GAMMA_NOISE_LIMIT) return { image: gamma, method: 'gamma' };
      return { image: await lowlight(img, { ...control, method: 'fuse' }), method: 'fuse (gamma output too noisy)' };
    }
    case 'denoise':
      return { image: await denoise(img, control), method: 'expert' };
    case 'derain': {
      const streakFree = await runExpert(img, step.method === 'student' ? DERAIN_STUDENT : MODEL_NAMES.derain(variant), control);
      const s = step.params?.veilStrength ?? 0;
      return { image: s > 0 ? removeVeil(streakFree, { strength: s }).image : streakFree, method: s > 0 ? `${step.method} + veil removal ${s}` : step.method };
    }
    case 'dehaze':
      return { image: blend(img, await dehaze(img, { ...control, variant }), step.params?.strength ?? 1), method: 'expert' };
    case 'deblur':
      return { image: await deblur(img, control), method: 'expert' };
  }
}
