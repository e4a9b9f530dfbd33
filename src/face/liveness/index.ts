/**
 * Video liveness: is the face in a short clip a live person, a print or a replayed screen?
 *
 *   analyzeLiveness(models, clip)   -> per-frame cues (track, mesh, CNNs, EVM, rPPG)
 *   decideLiveness(analysis, head?) -> verdict with score and evidence (attention fusion)
 *   checkLiveness / checkLivenessFile = both in one call.
 */
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import type { RawImage } from '../../core/image/types.js';
import type { TaskControl } from '../../core/progress.js';
import type { FaceModels } from '../models.js';
import { readVideoFrames, type ReadVideoOptions, type VideoClip } from '../../core/video/index.js';
import { DEFAULT_LIVENESS_HEAD } from './defaultHead.js';
import { computeCues, type CueMatrix } from './features.js';
import { fuse, standardise, type LivenessHead } from './fusion.js';
import { trackFace, type FrameObservation, type TrackOptions } from './track.js';
import type { PulseReading } from './signal.js';
import { verdictOf, type LivenessVerdictLabel } from './thresholds.js';

export { CUES, type Cue, type CueMatrix, alternation, computeCues, fitSimilarity, longestRun } from './features.js';
export {
  fitHead,
  fuse,
  parseHead,
  pool,
  softmax,
  standardise,
  type LivenessExpert,
  type LivenessHead,
  type FusionResult,
  type TrainingClip,
  type FitOptions,
} from './fusion.js';
export { calibrateLiveness, type CalibrationClip, type CalibrateOptions } from './calibrate.js';
export { fourierDomainAdaptation, dft2 } from './fda.js';
export {
  assessPulse,
  bandPass,
  noiseSnrQuantile,
  periodogram,
  posPulse,
  pulseFromSignal,
  HEART_BAND,
  type PulseEstimate,
  type PulseReading,
} from './signal.js';
export { magnify, pyrDown, gaussianLevel, laplacianLevel, temporalBandPass, type Magnified, type Plane } from './evm.js';
export { trackFace, regionFromMesh, textureRatio, type FrameObservation, type TrackOptions } from './track.js';
export { DEFAULT_LIVENESS_HEAD } from './defaultHead.js';
export { verifyLive, identityFrames, type LiveVerification, type VerifyLiveOptions } from './verify.js';
export { scoreTemporal, type TemporalScore } from './temporal.js';
export {
  checkThresholds,
  chooseThresholds,
  describeThresholdRule,
  verdictOf,
  THRESHOLD_RULE,
  type HeldOutScore,
  type LivenessThresholds,
  type LivenessVerdictLabel,
  type ThresholdRule,
} from './thresholds.js';
export { readVideoFrames, type VideoClip, type ReadVideoOptions } from '../../core/video/index.js';

export interface LivenessAnalysis {
  cues: CueMatrix;
  /** Per frame: time, whether a face was tracked, its mesh score and the two CNN scores. */
  frames: Array<Pick<FrameObservation, 'index' | 'time' | 'found' | 'reset' | 'cut' | 'meshScore' | 'antispoof' | 'liveness'>>;
  seconds: { track: number; cues: number };
}

export interface LivenessVerdict {
  verdict: LivenessVerdictLabel;
  /** Probability-like live score in [0, 1] from the fusion head. */
  score: number;
  /** The attack expert whose score decided (the lowest), and every expert's score. */
  decidedBy: string;
  experts: Record<string, number>;
  /** Per cue: its pooled standardised value and signed contribution to the deciding expert's logit (+ = live). */
  cues: Record<string, { value: number; contribution: number }>;
  /** The decisive frames: highest attention first, with the cue that weighed most in each. */
  frames: Array<{ index: number; time: number; attention: number; cue: string; contribution: number }>;
  /**
   * rPPG pulse: `bpm` only when the SNR beats what pure noise reaches on a clip of this length
   * (`minSnr`, the noise's 99th percentile) at a true peak of the spectrum; otherwise null: a number
   * is never printed from noise or from slow drift.
   */
  pulse: { bpm: number | null; snr: number; minSnr: number };
  /** Frames with a tracked face / frames in the clip. */
  coverage: { tracked: number; total: number };
  /** Why the verdict is uncertain, when it is. */
  reason?: string;
  head: string;
}

export interface LivenessOptions extends TaskControl {
  head?: LivenessHead;
  /** How many decisive frames to list. Default 5. */
  topFrames?: number;
}

function checkClip(clip: unknown): asserts clip is Pick<VideoClip, 'frames' | 'times' | 'fps'> {
  const c = clip as VideoClip;
  if (!c || !Array.isArray(c.frames) || !Array.isArray(c.times) || c.frames.length !== c.times.length || typeof c.fps !== 'number' || !(c.fps > 0)) {
    throw invalidOption('clip', '{ frames: RawImage[], times: number[] (same length), fps > 0 }', clip === null ? null : typeof clip);
  }
  if (c.frames.length < 8)
    throw new ClearsightError(ERROR_CODES.INPUT_TOO_SMALL, `a liveness check needs at least 8 frames (about 1 s is better), got ${c.frames.length}`);
}

/** Tracks the face and computes every per-frame cue. Needs FaceModels.load({ liveness: true }). */
export async function analyzeLiveness(
  models: FaceModels,
  clip: Pick<VideoClip, 'frames' | 'times' | 'fps'>,
  control: TaskControl = {},
): Promise<LivenessAnalysis> {
  return (await analyzeTracked(models, clip, control)).analysis;
}

/** @internal analyzeLiveness plus the tracker's observations (face squares per frame), for verifyLive. */
export async function analyzeTracked(
  models: FaceModels,
  clip: Pick<VideoClip, 'frames' | 'times' | 'fps'>,
  control: TaskControl = {},
  track: TrackOptions = {},
): Promise<{ analysis: LivenessAnalysis; observations: FrameObservation[] }> {
  checkClip(clip);
  models.runner('antispoof');
  const t0 = performance.now();
  const obs = await trackFace(models, clip.frames as RawImage[], clip.times, control, track);
  const t1 = performance.now();
  const cues = computeCues(obs, clip.fps);
  const t2 = performance.now();
  const analysis = {
    cues,
    frames: obs.map(({ index, time, found, reset, cut, meshScore, antispoof, liveness }) => ({
      index,
      time,
      found,
      reset,
      cut,
      meshScore,
      antispoof,
      liveness,
    })),
    seconds: { track: (t1 - t0) / 1000, cues: (t2 - t1) / 1000 },
  };
  return { analysis, observations: obs };
}

/** Fuses the cues into a verdict with its evidence. */
export function decideLiveness(
  analysis: Pick<LivenessAnalysis, 'cues' | 'frames'>,
  head: LivenessHead = DEFAULT_LIVENESS_HEAD,
  topFrames = 5,
): LivenessVerdict {
  const r = fuse(analysis.cues.values, head);
  const tracked = analysis.frames.filter((f) => f.found).length;
  const total = analysis.frames.length;
  const cues: LivenessVerdict['cues'] = {};
  for (const [k, v] of Object.entries(r.cues)) cues[k] = { value: round(v.pooled), contribution: round(v.contribution) };
  const z = standardise(analysis.cues.values, head);
  const expert = head.experts.find((e) => e.attack === r.decidedBy)!;
  const order = r.attention
    .map((a, t) => ({ a, t }))
    .filter((x) => x.a > 0)
    .sort((x, y) => y.a - x.a)
    .slice(0, topFrames);
  const frames = order.map(({ a, t }) => {
    // the cue with the largest |weight x standardised value| in this frame
    let best = { cue: '', c: 0 };
    head.cues.forEach((c, j) => {
      const v = z[t]![j]!;
      if (!Number.isFinite(v)) return;
      const contrib = expert.weights[j]! * v;
      if (Math.abs(contrib) > Math.abs(best.c)) best = { cue: c, c: contrib };
    });
    return { index: analysis.frames[t]!.index, time: round(analysis.frames[t]!.time), attention: round(a), cue: best.cue, contribution: round(best.c) };
  });
  let verdict = verdictOf(r.score, head.thresholds);
  let reason: string | undefined;
  const fps = analysis.cues.fps;
  if (tracked < Math.max(8, fps)) {
    verdict = 'uncertain';
    reason = `face tracked in only ${tracked} frames (need about 1 s)`;
  } else if (verdict === 'uncertain')
    reason = `score ${round(r.score)} between the spoof (${head.thresholds.spoof}) and live (${head.thresholds.live}) thresholds`;
  return {
    verdict,
    score: round(r.score),
    decidedBy: r.decidedBy,
    experts: Object.fromEntries(Object.entries(r.experts).map(([k, v]) => [k, round(v)])),
    cues,
    frames,
    pulse: pulseOf(analysis.cues.pulse),
    coverage: { tracked, total },
    ...(reason ? { reason } : {}),
    head: head.source,
  };
}

export async function checkLiveness(
  models: FaceModels,
  clip: Pick<VideoClip, 'frames' | 'times' | 'fps'>,
  opts: LivenessOptions = {},
): Promise<LivenessVerdict> {
  const top = opts.topFrames ?? 5;
  if (!Number.isInteger(top) || top < 1 || top > 100) throw invalidOption('topFrames', 'an integer from 1 to 100', opts.topFrames);
  return decideLiveness(await analyzeLiveness(models, clip, opts), opts.head ?? DEFAULT_LIVENESS_HEAD, top);
}

/** Decodes the first `maxSeconds` (default 5) of a video file and checks liveness. */
export async function checkLivenessFile(models: FaceModels, file: string, opts: LivenessOptions & ReadVideoOptions = {}): Promise<LivenessVerdict> {
  const clip = await readVideoFrames(file, { maxSeconds: 5, ...opts });
  return checkLiveness(models, clip, opts);
}

/** The verdict's pulse: bpm only when measured (older analyses without a bar count as not measured). */
export function pulseOf(p: Pick<PulseReading, 'bpm' | 'snr'> & Partial<Pick<PulseReading, 'minSnr' | 'reliable'>>): LivenessVerdict['pulse'] {
  const minSnr = p.minSnr ?? 1;
  return { bpm: p.reliable === true && p.snr > minSnr ? round(p.bpm) : null, snr: round(p.snr), minSnr: round(minSnr) };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
