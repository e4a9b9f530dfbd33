/**
 * Forensic analysis of one suspect file (image or video in any codec core/video reads): faces found, each scored
 * by the detector, frames aggregated, and every number stated with what it rests on.
 *
 * Two kinds of uncertainty are reported separately, because they answer different questions:
 * - sampling: for a video, only some frames are analysed; the interval of the mean frame
 *   probability over a bootstrap of the analysed frames says how much that choice matters;
 * - reliability: how often items that the detector scored like this one were actually
 *   manipulated, on held-out validation material (an exact Clopper-Pearson interval over the
 *   nearest held-out scores stored with the model). This is the figure to quote, with its caveat:
 *   the held-out material is self-blended, not real deepfakes.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { decodeImage, sniffFormat, type RawImage } from '../../core/image/index.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { mulberry32 } from '../../core/random.js';
import { detectFaces, type Face, type FaceModels } from '../../face/index.js';
import { decodeVideo, probeVideo, yuvToRgb, type DecodedFrame } from '../../core/video/index.js';
import { largestFaceIdentity, verifyWatermark, type WatermarkSecret } from '../watermark/index.js';
import { asDetector, type FaceCrop, type ForensicModel } from './detector.js';
import type { ForensicDetector, RealMediaValidation } from './cnnDetector.js';
import { clopperPearson, quantileSorted, type Interval } from './stats.js';

export interface ForensicsOptions extends TaskControl {
  /** Frames analysed from a video, evenly spaced (default 24). */
  maxFrames?: number;
  /** Faces smaller than this (pixels, box side) are not analysed (default 48). */
  minFaceSize?: number;
  /**
   * Faces of lower quality (face module: detector x mesh confidence x size x sharpness) are not
   * analysed (default 0.4): the detector's cues are noise and sharpness, and a defocused or
   * half-visible face reads like a blended one (measured: background faces of the Hamilton clip).
   */
  minQuality?: number;
  /** Bootstrap resamples for the sampling interval (default 2000) and its seed (default 1). */
  bootstrapResamples?: number;
  seed?: number;
  /** Held-out neighbours used for the reliability interval (default 25). */
  neighbours?: number;
  confidence?: number;
  /**
   * Secret of a party that may have watermarked the file (trust/watermark): when given, a still
   * image is also verified (authentic / manipulated / none, with the source). The face models
   * must then include the embedding network (FaceModels.load({ embed: true })).
   */
  watermarkKey?: WatermarkSecret;
}

export interface WatermarkFinding {
  verdict: 'authentic' | 'manipulated' | 'damaged' | 'none' | 'not checked';
  source?: string;
  bitErrorRate?: number;
  confidence?: number;
  detail?: string;
}

export interface FaceFinding {
  box: Face['box'];
  /** Calibrated probability that this face was manipulated. */
  probability: number;
  raw: number;
  /** The three features that pushed the score most, with their signed logit contribution. */
  topCues: Array<{ feature: string; value: number }>;
}

export interface FrameFinding {
  index: number;
  /** Seconds from the start (0 for an image). */
  time: number;
  faces: FaceFinding[];
  /** Faces detected but not analysed (too small or too low quality). */
  skippedFaces: number;
  /** Highest face probability in the frame; null when no face was analysed. */
  probability: number | null;
}

export type ForensicsOutcome = 'analysed' | 'no-face' | 'too-short';

export interface ForensicsResult {
  outcome: ForensicsOutcome;
  /** Plain-language statement of the outcome, including why nothing was concluded when so. */
  summary: string;
  input: {
    path: string;
    sha256: string;
    bytes: number;
    kind: 'image' | 'video';
    width: number;
    height: number;
    frameCount?: number;
    fps?: number;
    durationSeconds?: number;
  };
  /** Mean of the per-frame probabilities over frames with a face; null unless analysed. */
  probability: number | null;
  /**
   * Bootstrap interval of that mean over the analysed frames: how much the choice of frames
   * matters. Null for a single image or a single usable frame, where there is nothing to
   * resample (`intervalNote` says so); the reliability interval is then the one to quote.
   */
  interval: [number, number] | null;
  /** What `interval` means for this file, or why there is none. */
  intervalNote: string;
  /** Which detector judged the faces. */
  detector: { id: string; version: string | number; sha256: string };
  /**
   * The detector's measured behaviour on real manipulated media of a source never used in its
   * training (error rates with exact 95% intervals), and what it has not been tested on.
   */
  validation: { realMedia: RealMediaValidation | null; untested: string[]; statement: string };
  /** Manipulation rate among the held-out items scored nearest to `probability`, exact interval. */
  reliability: null | { neighbours: number; manipulated: number; rate: number; interval: [number, number]; scoreRange: [number, number]; caveat: string };
  frames: FrameFinding[];
  /** Indices of the frames with the highest probability (up to 3). */
  decisiveFrames: number[];
  watermark: WatermarkFinding;
  sampling: {
    maxFrames: number;
    framesAnalysed: number;
    framesWithFaces: number;
    minFaceSize: number;
    minQuality: number;
    seed: number;
    bootstrapResamples: number;
    confidence: number;
  };
}

/** The suspect file's bytes (the report hashes exactly what was analysed). */
async function readSuspectFile(file: string): Promise<Buffer> {
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new ClearsightError(
      err.code === 'ENOENT' ? ERROR_CODES.INPUT_NOT_FOUND : ERROR_CODES.INPUT_UNREADABLE,
      `Input file "${file}" ${err.code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`,
      { path: file },
      { cause: err },
    );
  });
  if (bytes.length === 0) throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `Input file "${file}" is empty`, { path: file });
  return bytes;
}

/**
 * Decodes the video once and analyses up to maxFrames evenly spaced frames; returns how many
 * frames were decodable. `analyzed()` counts the frames analysed so far (for progress).
 */
async function analyzeVideoFrames(
  file: string,
  info: { frameCount: number; fps: number; durationSeconds: number },
  maxFrames: number,
  opts: ForensicsOptions,
  analyzeFrame: (img: RawImage, index: number, time: number) => Promise<void>,
  analyzed: () => number,
): Promise<number> {
  const expected = info.frameCount > 0 ? info.frameCount : Math.max(1, Math.round(info.fps * info.durationSeconds));
  const wanted = new Set(evenlySpaced(expected, maxFrames));
  let seen = 0;
  // The last frame not analysed, kept as decoded (YUV): converted only if it is needed below.
  let last: DecodedFrame | null = null;
  for await (const f of decodeVideo(file, { motionVectors: false, signal: opts.signal })) {
    seen++;
    if (wanted.has(f.index)) {
      throwIfAborted(opts.signal);
      await analyzeFrame(yuvToRgb(f), f.index, Number.isFinite(f.time) ? f.time : f.index / (info.fps || 25));
      report(opts, 'forensics: frames', analyzed(), wanted.size);
      last = null;
    } else last = f;
  }
  // Containers that overstate the frame count leave wanted frames undecoded: use the last one.
  if (analyzed() < Math.min(maxFrames, seen) && last) await analyzeFrame(yuvToRgb(last), last.index, last.time);
  return seen;
}

/** Crops (with their face masks) of the decisive frames' faces, for overlays in the report. */
export interface ForensicsEvidence {
  crops: Map<number, Array<FaceCrop & { probability: number }>>;
}

const VIDEO_MIN_FRAMES = 3;

/** The sampling settings of an analysis (defaults filled in, checked); recorded in the result. */
function samplingOf(opts: ForensicsOptions): ForensicsResult['sampling'] {
  const maxFrames = opts.maxFrames ?? 24;
  const minFaceSize = opts.minFaceSize ?? 48;
  const minQuality = opts.minQuality ?? 0.4;
  if (!Number.isInteger(maxFrames) || maxFrames < 1 || maxFrames > 10000) throw invalidOption('maxFrames', 'an integer in [1, 10000]', maxFrames);
  if (!(minFaceSize >= 8)) throw invalidOption('minFaceSize', 'a number of pixels >= 8', minFaceSize);
  if (!(minQuality >= 0 && minQuality < 1)) throw invalidOption('minQuality', 'a number in [0, 1)', minQuality);
  return {
    maxFrames,
    framesAnalysed: 0,
    framesWithFaces: 0,
    minFaceSize,
    minQuality,
    seed: opts.seed ?? 1,
    bootstrapResamples: opts.bootstrapResamples ?? 2000,
    confidence: opts.confidence ?? 0.95,
  };
}

/** Scores every large, good-enough face of a frame: its finding appended to `frames`, its crops to `evidence`. */
function frameAnalyzer(
  faceModels: FaceModels,
  detector: ForensicDetector,
  sampling: ForensicsResult['sampling'],
  frames: FrameFinding[],
  evidence: ForensicsEvidence,
): (img: RawImage, index: number, time: number) => Promise<void> {
  const { minFaceSize, minQuality } = sampling;
  return async (img, index, time) => {
    const found = await detectFaces(faceModels, img, { mesh: true });
    const faces = found.filter((f) => Math.max(f.box.width, f.box.height) >= minFaceSize && f.quality >= minQuality);
    const findings: FaceFinding[] = [];
    const crops: Array<FaceCrop & { probability: number }> = [];
    for (const face of faces) {
      const s = await detector.scoreFace(img, face);
      findings.push({
        box: face.box,
        probability: s.probability,
        raw: s.raw,
        topCues: [...s.contributions].sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, 3),
      });
      crops.push({ crop: s.crop, mask: s.mask, square: s.square, probability: s.probability });
    }
    frames.push({
      index,
      time,
      faces: findings,
      skippedFaces: found.length - faces.length,
      probability: findings.length ? Math.max(...findings.map((f) => f.probability)) : null,
    });
    evidence.crops.set(index, crops);
  };
}

/** What a finished analysis knows besides its outcome: the input, the frames, the watermark. */
interface AnalysisState {
  input: ForensicsResult['input'];
  frames: FrameFinding[];
  watermark: WatermarkFinding;
  detector: ForensicDetector;
  sampling: ForensicsResult['sampling'];
  neighbours: number;
}

function forensicsResult(
  st: AnalysisState,
  outcome: ForensicsOutcome,
  summary: string,
  probability: number | null = null,
  interval: [number, number] | null = null,
  intervalNote = 'No probability, so no interval.',
): ForensicsResult {
  const { frames, detector } = st;
  const withFaces = frames.filter((f) => f.probability !== null);
  const decisive = [...withFaces]
    .sort((a, b) => b.probability! - a.probability!)
    .slice(0, 3)
    .map((f) => f.index);
  return {
    outcome,
    summary,
    input: st.input,
    probability,
    interval,
    intervalNote,
    detector: { id: detector.id, version: detector.version, sha256: detector.sha256 },
    validation: { realMedia: detector.realMedia, untested: detector.untested, statement: validationStatement(detector, st.input.kind) },
    reliability: probability === null ? null : reliabilityAt(detector, probability, st.neighbours, st.sampling.confidence),
    frames,
    watermark: st.watermark,
    decisiveFrames: decisive,
    sampling: { ...st.sampling, framesAnalysed: frames.length, framesWithFaces: withFaces.length },
  };
}

const NO_KEY: WatermarkFinding = {
  verdict: 'not checked',
  detail: 'No watermark key was given: verification needs the secret of the party that marked the file.',
};

export async function analyzeMedia(
  file: string,
  faceModels: FaceModels,
  model: ForensicModel | ForensicDetector,
  opts: ForensicsOptions = {},
): Promise<{ result: ForensicsResult; evidence: ForensicsEvidence }> {
  const detector = asDetector(model);
  const sampling = samplingOf(opts);
  const bytes = await readSuspectFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const frames: FrameFinding[] = [];
  const evidence: ForensicsEvidence = { crops: new Map() };
  const analyzeFrame = frameAnalyzer(faceModels, detector, sampling, frames, evidence);
  const st: AnalysisState = {
    input: { path: file, sha256, bytes: bytes.length, kind: 'image', width: 0, height: 0 },
    frames,
    watermark: { ...NO_KEY },
    detector,
    sampling,
    neighbours: opts.neighbours ?? 25,
  };
  if (sniffFormat(bytes) !== undefined) {
    const { image } = await decodeImage(bytes, { name: file });
    st.input = { path: file, sha256, bytes: bytes.length, kind: 'image', width: image.width, height: image.height };
    report(opts, 'forensics: faces', 0, 1);
    await analyzeFrame(image, 0, 0);
    report(opts, 'forensics: faces', 1, 1);
    if (opts.watermarkKey !== undefined) st.watermark = await checkWatermark(image, faceModels, opts.watermarkKey);
  } else {
    if (opts.watermarkKey !== undefined)
      st.watermark = { verdict: 'not checked', detail: 'Watermarks are embedded in and verified on still images, not video.' };
    const info = await probeVideo(file);
    st.input = {
      path: file,
      sha256,
      bytes: bytes.length,
      kind: 'video',
      width: info.width,
      height: info.height,
      frameCount: info.frameCount,
      fps: info.fps,
      durationSeconds: info.durationSeconds,
    };
    const seen = await analyzeVideoFrames(file, info, sampling.maxFrames, opts, analyzeFrame, () => frames.length);
    st.input.frameCount = seen;
    if (seen < VIDEO_MIN_FRAMES) {
      const why = `The clip has ${seen} decodable frame(s); at least ${VIDEO_MIN_FRAMES} are needed for a video analysis. Submit a longer clip or a still image.`;
      return { result: forensicsResult(st, 'too-short', why), evidence };
    }
  }
  return { result: conclude(st), evidence };
}

/** The outcome from the analysed frames: no face, or the mean probability with its bootstrap interval. */
function conclude(st: AnalysisState): ForensicsResult {
  const { frames, input } = st;
  const { minFaceSize, minQuality, bootstrapResamples: resamples, seed, confidence } = st.sampling;
  const probs = frames.filter((f) => f.probability !== null).map((f) => f.probability!);
  if (probs.length === 0) {
    return forensicsResult(
      st,
      'no-face',
      `No face of at least ${minFaceSize} px and quality ${minQuality} was found in ${frames.length === 1 ? 'the image' : `the ${frames.length} analysed frames`}; the detector only judges faces, so no conclusion is drawn.`,
    );
  }
  const mean = probs.reduce((a, b) => a + b, 0) / probs.length;
  // One value has no sampling spread to measure: no interval rather than a one-point one.
  const interval = probs.length > 1 ? bootstrapMean(probs, resamples, seed, confidence) : null;
  const note =
    interval !== null
      ? `${Math.round(confidence * 100)}% percentile bootstrap (${resamples} resamples, seed ${seed}) of the mean over the ${probs.length} analysed frames with a face: how much the choice of frames matters, not how often the detector is right.`
      : input.kind === 'image'
        ? "A single image has no frames to resample, so there is no sampling interval; the uncertainty to quote is the reliability interval (how often files scored like this were manipulated) and the detector's measured error rates."
        : "Only one analysed frame had a usable face, so there is no sampling interval; the uncertainty to quote is the reliability interval and the detector's measured error rates.";
  return forensicsResult(st, 'analysed', conclusion(mean, interval, probs.length, input.kind), mean, interval, note);
}

async function checkWatermark(image: RawImage, faceModels: FaceModels, key: WatermarkSecret): Promise<WatermarkFinding> {
  const v = await verifyWatermark(image, { key, identity: largestFaceIdentity(faceModels) });
  const detail =
    v.verdict === 'authentic'
      ? `The file carries a valid watermark of source "${v.source}" and its face matches the identity marked in it.`
      : v.verdict === 'manipulated'
        ? `The file carries a valid watermark of source "${v.source}", but the face in it no longer matches the identity marked in it: the face was changed after marking.`
        : v.verdict === 'damaged'
          ? `The file carries a watermark of this key, but it is damaged (${v.reason ?? 'marked again or strongly processed'}); this is not evidence that the face was changed.`
          : 'No watermark of this key was found (never marked with it, or destroyed by heavy processing).';
  return {
    verdict: v.verdict,
    ...(v.source ? { source: v.source } : {}),
    ...(v.bitErrorRate !== null ? { bitErrorRate: v.bitErrorRate } : {}),
    confidence: v.confidence,
    detail,
  };
}

/**
 * A study scorer (see runStudy) that judges each file exactly as `analyzeMedia` does: same face
 * size and quality gates, same frame sampling for videos. A file with no usable face throws
 * E_NO_FACE with the analysis' own explanation, so the study lists it as unscorable.
 */
export function mediaScorer(
  faceModels: FaceModels,
  model: ForensicModel | ForensicDetector,
  opts: ForensicsOptions = {},
): (item: { path: string }) => Promise<number> {
  return async (item) => {
    const { result } = await analyzeMedia(item.path, faceModels, model, opts);
    if (result.probability === null) throw new ClearsightError(ERROR_CODES.NO_FACE, result.summary, { path: item.path, outcome: result.outcome });
    return result.probability;
  };
}

/** `count` indices spread evenly over 0..total-1 (all of them when total <= count). */
export function evenlySpaced(total: number, count: number): number[] {
  if (total <= count) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * total) / count));
}

function bootstrapMean(xs: readonly number[], resamples: number, seed: number, confidence: number): [number, number] {
  const rand = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(rand() * xs.length)];
    means[r] = s / xs.length;
  }
  means.sort();
  const a = 1 - confidence;
  return [quantileSorted(means, a / 2), quantileSorted(means, 1 - a / 2)];
}

/**
 * Manipulation rate among the `k` held-out items whose calibrated score is nearest to p, with
 * its exact interval. The held-out items are the detector's (the linear model: self-blends of
 * unseen people; the CNN: real generated and real clips of unseen people, at most a third of
 * them as neighbours).
 */
export function reliabilityAt(model: ForensicModel | ForensicDetector, p: number, k: number, confidence = 0.95): ForensicsResult['reliability'] {
  const heldOut = asDetector(model).heldOut;
  const held = heldOut?.scores;
  if (!heldOut || !held || held.length === 0) return null;
  const nearest = [...held].sort((a, b) => Math.abs(a[0] - p) - Math.abs(b[0] - p)).slice(0, Math.min(k, heldOut.neighbours ?? k, held.length));
  const manipulated = nearest.filter((h) => h[1] === 1).length;
  const ci: Interval = clopperPearson(manipulated, nearest.length, confidence);
  return {
    neighbours: nearest.length,
    manipulated,
    rate: manipulated / nearest.length,
    interval: [ci.lo, ci.hi],
    scoreRange: [Math.min(...nearest.map((h) => h[0])), Math.max(...nearest.map((h) => h[0]))],
    caveat: heldOut.caveat,
  };
}

/**
 * One sentence per fact: the measured error rates on real manipulated media (or their absence), then
 * what was not tested. The rates were measured on whole clips; for a single image the statement says
 * so and points to the frame-level figure, the one measured on single pictures.
 */
export function validationStatement(d: Pick<ForensicDetector, 'realMedia' | 'untested'>, kind: 'image' | 'video' = 'video'): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const iv = (r: [number, number]) => `[${pct(r[0])}, ${pct(r[1])}]`;
  const rm = d.realMedia;
  const measured = rm
    ? `Measured on real manipulated media of a source never used in training (${rm.dataset}; ${rm.clips.fake} manipulated and ${rm.clips.real} authentic clips): ` +
      `at a probability of ${rm.threshold} or more it flagged ${rm.truePositiveRate.count} of ${rm.truePositiveRate.of} manipulated clips (detection rate ${pct(rm.truePositiveRate.rate)}, exact 95% interval ${iv(rm.truePositiveRate.exact95)}) ` +
      `and ${rm.falsePositiveRate.count} of ${rm.falsePositiveRate.of} authentic clips (false-alarm rate ${pct(rm.falsePositiveRate.rate)}, exact 95% interval ${iv(rm.falsePositiveRate.exact95)}); ` +
      `video-level AUC ${rm.videoAuc.value.toFixed(3)} (95% Hanley-McNeil ${rm.videoAuc.hanleyMcNeil95.map((x) => x.toFixed(3)).join('–')}), frame-level AUC ${rm.frameAuc.value.toFixed(3)}.`
    : 'This detector has no measured error rates on real manipulated media: it was evaluated on self-blended pseudo-fakes only.';
  const single =
    rm && kind === 'image'
      ? ` These rates are for whole clips (a clip's mean over its frames); this is a single image, for which the measured figure is the frame-level AUC ${rm.frameAuc.value.toFixed(3)} ` +
        `(${rm.frameAuc.frames.fake} manipulated and ${rm.frameAuc.frames.real} authentic frames, 95% clip-cluster bootstrap ${rm.frameAuc.clusterBootstrap95.map((x) => x.toFixed(3)).join('–')}); no per-image detection or false-alarm rate was measured.`
      : '';
  return `${measured}${single} Not tested on: ${d.untested.join('; ')}.`;
}

function conclusion(p: number, ci: [number, number] | null, n: number, kind: 'image' | 'video'): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const what = kind === 'image' ? 'the face(s) in this image' : `the faces in ${n} analysed frame(s) of this video`;
  const range = ci === null ? '' : ` (95% interval over the analysed frames ${pct(ci[0])}–${pct(ci[1])})`;
  const [lo, hi] = ci ?? [p, p];
  const lean =
    lo >= 0.5
      ? 'The detector finds blending artefacts typical of face swapping.'
      : hi < 0.5
        ? 'The detector finds no blending artefacts typical of face swapping.'
        : 'The evidence is mixed: some frames look blended, others do not.';
  return `${lean} Probability of manipulation for ${what}: ${pct(p)}${range}. This is one detector's opinion on blending artefacts; it does not detect fully synthetic faces or manipulations without a blending boundary, and it must be weighed with other evidence.`;
}
