/**
 * The learned degradation recogniser (models/degradation-recognizer, trained by
 * training/recognizer.py on data from training/prepare/recognizer.ts).
 *
 * What the network sees (recognizerViews, the one definition used for training and inference):
 * - a GLOBAL view: the whole picture area-resized to 128 x 128 (aspect not kept): the tone,
 *   the veil and the layout, for haze, low light and heavy rain;
 * - LOCAL views: the picture area-reduced so its long side is at most 512 px (photos of any size
 *   then show noise, blocking, streaks and blur at a comparable scale), and 6 crops of 96 x 96 on a
 *   fixed 2 x 3 grid of it, for the fine-scale degradations.
 * Out: for rain, haze, lowlight, noise, blur, jpeg (DEGRADATIONS order) a score in [0, 1]
 * ("present"), a severity in [0, 1] (reported as the expected severity, score x the severity head,
 * which was trained only on present degradations) and a degradation embedding (32 values, the
 * layer the two heads read: pictures degraded alike lie close).
 *
 * The JPEG score is not the network's: its reduced views and stride-2 trunk cannot see the 8 x 8
 * block grid. It comes from a logistic head on grid-aligned statistics at the native resolution
 * (analyzeJpeg.ts), fitted on the same training bases.
 *
 * The model is an object the caller owns (dispose it); `recognizeDegradations` is the one-shot form.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { checkImage } from '../../core/filters/darkChannel.js';
import { resizeArea } from '../../core/image/geometry.js';
import { createImage, toRgb, type RawImage } from '../../core/image/types.js';
import { getModelCard } from '../../core/models/registry.js';
import { TRAINED_MODELS_DIR } from '../../core/models/trained.js';
import { TrainedModel } from '../../core/models/trainedModel.js';
import type { RuntimeOptions } from '../../core/runtime/index.js';
import { analyzeDegradations, DEGRADATIONS, primaryFromScores, type DegradationAnalysis, type DegradationScores } from './analyze.js';
import { jpegScore } from './analyzeJpeg.js';
import { BACKBONE_HEAD_FILE, BackboneFeatures, BackboneHead, FinetunedRecognizer, frozenBackboneDecider, type ScoreDecider } from './analyzeBackbone.js';
import { boxDownscale, computeEvidence } from './evidence.js';

export const RECOGNIZER_MODEL = 'degradation-recognizer';

/** The recogniser's views (keep in step with training/recognizer.py, which reads the card). */
export const RECOGNIZER_VIEWS = { globalSize: 128, localMaxSide: 512, cropSize: 96, cropRows: 2, cropCols: 3 } as const;
export const RECOGNIZER_CROPS = RECOGNIZER_VIEWS.cropRows * RECOGNIZER_VIEWS.cropCols;

export interface RecognizerViews {
  /** The whole picture at globalSize x globalSize, RGB. */
  global: RawImage;
  /** cropRows x cropCols crops of cropSize x cropSize from the picture reduced to localMaxSide, RGB. */
  crops: RawImage[];
}

function crop(img: RawImage, x0: number, y0: number, size: number): RawImage {
  const out = createImage(size, size, 3);
  for (let y = 0; y < size; y++) {
    const s = ((y0 + y) * img.width + x0) * 3;
    out.data.set(img.data.subarray(s, s + size * 3), y * size * 3);
  }
  return out;
}

/** The views the recogniser reads (pure). A picture smaller than a crop is first enlarged to fit (nearest area). */
export function recognizerViews(img: RawImage): RecognizerViews {
  checkImage(img);
  const { globalSize, localMaxSide, cropSize, cropRows, cropCols } = RECOGNIZER_VIEWS;
  // Big photos: an integer box reduction first (fast, and exactly an area average), so the
  // fractional area resizes below touch at most ~2x the local view's pixels.
  const f = Math.floor(Math.min(img.width, img.height) / cropSize) >= 2 ? Math.floor(Math.max(img.width, img.height) / localMaxSide) : 1;
  const rgb = toRgb(f >= 2 && Math.min(img.width, img.height) / f >= cropSize ? boxDownscale(img, f) : img);
  const global = resizeArea(rgb, globalSize, globalSize);
  let k = Math.min(1, localMaxSide / Math.max(rgb.width, rgb.height));
  // Small pictures: enlarge so the short side holds a crop.
  k = Math.max(k, cropSize / Math.min(rgb.width, rgb.height));
  const lw = Math.max(cropSize, Math.round(rgb.width * k));
  const lh = Math.max(cropSize, Math.round(rgb.height * k));
  const local = lw === rgb.width && lh === rgb.height ? rgb : resizeArea(rgb, lw, lh);
  const crops: RawImage[] = [];
  for (let r = 0; r < cropRows; r++) {
    for (let c = 0; c < cropCols; c++) {
      // Crops centred on the cells of the grid, clamped inside the picture.
      const cx = Math.round(((c + 0.5) * lw) / cropCols - cropSize / 2);
      const cy = Math.round(((r + 0.5) * lh) / cropRows - cropSize / 2);
      crops.push(crop(local, Math.max(0, Math.min(lw - cropSize, cx)), Math.max(0, Math.min(lh - cropSize, cy)), cropSize));
    }
  }
  return { global, crops };
}

/** HWC RGB images -> one NCHW Float32 tensor. */
function toNchw(images: readonly RawImage[]): { data: Float32Array; shape: number[] } {
  const { width: w, height: h } = images[0];
  const plane = w * h;
  const data = new Float32Array(images.length * 3 * plane);
  images.forEach((im, n) => {
    const base = n * 3 * plane;
    for (let i = 0; i < plane; i++) {
      data[base + i] = im.data[i * 3];
      data[base + plane + i] = im.data[i * 3 + 1];
      data[base + 2 * plane + i] = im.data[i * 3 + 2];
    }
  });
  return { data, shape: [images.length, 3, h, w] };
}

/** The views as the network's named inputs (values in [0, 1]; 8-bit rounded, as in training). */
export function recognizerFeeds(views: RecognizerViews): Record<string, { data: Float32Array; shape: number[] }> {
  const q = (im: RawImage): RawImage => {
    const d = new Float32Array(im.data.length);
    for (let i = 0; i < d.length; i++) d[i] = Math.round(Math.max(0, Math.min(1, im.data[i])) * 255) / 255;
    return { ...im, data: d };
  };
  const g = toNchw([q(views.global)]);
  const c = toNchw(views.crops.map(q));
  // The network takes the crops as one item of K crops: [1, K, 3, S, S].
  return { global: g, crops: { data: c.data, shape: [1, ...c.shape] } };
}

export interface Recognition {
  /** Probability that each degradation is present, [0, 1]. */
  scores: DegradationScores;
  /** Expected severity, [0, 1]: score x severityIfPresent (0 for a degradation that is not there). */
  severity: DegradationScores;
  /** The severity head's raw output: how strong the degradation would be if present (trained only on present ones). */
  severityIfPresent: DegradationScores;
  /** The degradation embedding the heads read. */
  embedding: Float32Array;
  /** Wall time of views + inference, ms. */
  ms: number;
}

/**
 * Class priors: per-class offsets added to the network's logits before the 0.5 decision
 * (0 = the scores as trained). Chosen, when not 0, on validation SOURCES the network did not see
 * (training/recognizer_priors.py, leave-one-source-out), never on the test sources.
 */
export type PriorOffsets = Readonly<Partial<Record<(typeof DEGRADATIONS)[number], number>>>;

/** Applies logit offsets to probabilities (pure): sigmoid(logit(p) + offset). */
export function shiftScores(scores: Float32Array, offsets: PriorOffsets): Float32Array {
  const out = Float32Array.from(scores);
  DEGRADATIONS.forEach((d, i) => {
    const o = offsets[d] ?? 0;
    if (o === 0) return;
    const p = Math.min(1 - 1e-6, Math.max(1e-6, out[i]));
    out[i] = 1 / (1 + Math.exp(-(Math.log(p / (1 - p)) + o)));
  });
  return out;
}

export interface RecognizerLoadOptions extends RuntimeOptions {
  /** Class priors (logit offsets) on the small network's scores; default none. */
  priorOffsets?: PriorOffsets;
  /**
   * Which scores decide: 'auto' (default) = the fine-tuned trunk when installed
   * (models/degradation-recognizer-ft), else the frozen-backbone head when its file
   * (models/degradation-recognizer/backbone-head.json) is installed, else the small network;
   * 'network' = the small network; `{ head }` = a frozen-backbone head file; `{ finetuned }` = a
   * fine-tuned model folder (card.json, ONNX, priors.json).
   */
  decision?: 'auto' | 'network' | { head: string } | { finetuned: string };
}

function validDecision(d: unknown): boolean {
  if (d === 'auto' || d === 'network') return true;
  if (d === null || typeof d !== 'object') return false;
  const o = d as Record<string, unknown>;
  return (typeof o.head === 'string') !== (typeof o.finetuned === 'string');
}

/** The decider a decision names (undefined: the small network decides). */
async function loadDecider(decision: NonNullable<RecognizerLoadOptions['decision']>, threads: number): Promise<ScoreDecider | undefined> {
  if (decision === 'network') return undefined;
  if (typeof decision === 'object' && 'finetuned' in decision) return FinetunedRecognizer.decider({ dir: decision.finetuned, threads });
  if (decision === 'auto' && FinetunedRecognizer.available()) return FinetunedRecognizer.decider({ threads });
  const installed = path.join(TRAINED_MODELS_DIR, RECOGNIZER_MODEL, BACKBONE_HEAD_FILE);
  const headFile = typeof decision === 'object' ? decision.head : existsSync(installed) ? installed : undefined;
  return headFile ? frozenBackboneDecider(await BackboneFeatures.load({ threads }), BackboneHead.read(headFile)) : undefined;
}

export class DegradationRecognizer {
  private constructor(
    private readonly model: TrainedModel,
    private readonly priorOffsets: PriorOffsets = {},
    private readonly decider?: ScoreDecider,
  ) {}

  /** True when the trained recogniser is in the registry (models/degradation-recognizer). */
  static available(): boolean {
    try {
      return getModelCard(RECOGNIZER_MODEL).trained !== undefined;
    } catch {
      return false;
    }
  }

  /** Loads the recogniser (one thread by default: it is small, and the experts want the cores). */
  static async load(options: RecognizerLoadOptions = {}): Promise<DegradationRecognizer> {
    const { priorOffsets, ...runtime } = options;
    if (priorOffsets !== undefined) {
      for (const [k, v] of Object.entries(priorOffsets))
        if (!(DEGRADATIONS as readonly string[]).includes(k) || typeof v !== 'number' || !Number.isFinite(v))
          throw invalidOption('priorOffsets', `finite numbers for ${DEGRADATIONS.join(', ')}`, `${k}: ${String(v)}`);
    }
    const { decision = 'auto', ...rt } = runtime;
    if (!validDecision(decision)) throw invalidOption('decision', '"auto", "network", { head: path } or { finetuned: folder }', decision);
    const model = await TrainedModel.load(RECOGNIZER_MODEL, { threads: 1, ...rt });
    let decider: ScoreDecider | undefined;
    try {
      decider = await loadDecider(decision, rt.threads ?? 1);
    } catch (err) {
      await model.dispose();
      throw err;
    }
    return new DegradationRecognizer(model, priorOffsets, decider);
  }

  /** Model card id, e.g. analyze/degradation-recognizer@1.0.0 (+ what decides, when not the network). */
  get id(): string {
    return getModelCard(RECOGNIZER_MODEL).id + (this.decider ? ` (decision: ${this.decider.description})` : '');
  }

  async recognize(img: RawImage): Promise<Recognition> {
    const t0 = performance.now();
    const views = recognizerViews(img);
    // The network and the backbone run off the main thread, at once; the JPEG head (plain JS)
    // meanwhile. Same numbers as one after the other.
    const running = Promise.all([this.model.run(recognizerFeeds(views)), this.decider?.scores(views)]);
    running.catch(() => undefined);
    const jpeg = jpegScore(img);
    const [out, decided] = await running;
    const scores = out.scores?.data;
    const severity = out.severity?.data;
    const embedding = out.embedding?.data;
    if (!scores || !severity || !embedding || scores.length !== DEGRADATIONS.length || severity.length !== DEGRADATIONS.length) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `${RECOGNIZER_MODEL} returned unexpected outputs (${Object.keys(out).join(', ')})`);
    }
    const pick = (a: ArrayLike<number>) => Object.fromEntries(DEGRADATIONS.map((d, i) => [d, a[i]])) as DegradationScores;
    // JPEG from the grid-aligned head at native resolution (the network's own JPEG output is blind).
    const jpegAt = DEGRADATIONS.indexOf('jpeg');
    // The decision: the installed backbone decider (fine-tuned trunk, else frozen trunk + head:
    // they generalised better to unseen sources, see the cards), else the small network's scores;
    // the network still gives the severities and the embedding.
    const allScores = decided ?? shiftScores(Float32Array.from(scores), this.priorOffsets);
    allScores[jpegAt] = jpeg;
    // The severity head was trained only where a degradation is present: its value for an absent
    // one means nothing. Reported is the expected severity, P(present) x severity-if-present.
    const expected = Array.from(severity, (v, i) => v * allScores[i]);
    return {
      scores: pick(allScores),
      severity: pick(expected),
      severityIfPresent: pick(severity),
      embedding: Float32Array.from(embedding),
      ms: performance.now() - t0,
    };
  }

  async dispose(): Promise<void> {
    await this.decider?.dispose();
    await this.model.dispose();
  }
}

/** One-shot recognition: loads the model, recognises, disposes. */
export async function recognizeDegradations(img: RawImage, options: RuntimeOptions = {}): Promise<Recognition> {
  if (options === null || typeof options !== 'object') throw invalidOption('options', 'an options object', options);
  const r = await DegradationRecognizer.load(options);
  try {
    return await r.recognize(img);
  } finally {
    await r.dispose();
  }
}

/**
 * Score from which the learned recogniser names a degradation (primary, and extra plan steps).
 * 0.5: the scores are trained probabilities of "present" (masked binary cross-entropy), so 0.5 is
 * the decision the training optimised; it was not tuned on any test source.
 */
export const LEARNED_THRESHOLD = 0.5;

/** Longest side of the copy the explanatory evidence is measured on (learned analysis only). */
export const EVIDENCE_MAX_SIDE = 1280;

function reduceForEvidence(img: RawImage): RawImage {
  const f = Math.floor(Math.max(img.width, img.height) / EVIDENCE_MAX_SIDE);
  return f >= 2 ? boxDownscale(img, f) : img;
}

export type AnalysisMethod = 'auto' | 'learned' | 'rules';

export interface AnalyzeImageOptions extends RuntimeOptions {
  /** 'auto' (default): the learned recogniser when its model is installed, else the hand rules. */
  method?: AnalysisMethod;
  /** Lowest top score that is not 'clean', in (0, 1). Default LEARNED_THRESHOLD (learned) or the rules' calibrated threshold. */
  threshold?: number;
  /** A loaded recogniser to reuse (the caller owns it); otherwise one is loaded and disposed here. */
  recognizer?: DegradationRecognizer;
}

/**
 * What is wrong with the picture: the learned recogniser decides (scores, severity, embedding),
 * the hand evidence (evidence.ts) comes along as the explanation. With method 'rules', or 'auto'
 * without the model, the calibrated hand rules decide (analyzeDegradations).
 */
export async function analyzeImage(img: RawImage, opts: AnalyzeImageOptions = {}): Promise<DegradationAnalysis> {
  checkImage(img);
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const { method = 'auto', threshold, recognizer, ...runtime } = opts;
  if (method !== 'auto' && method !== 'learned' && method !== 'rules') throw invalidOption('method', '"auto", "learned" or "rules"', method);
  if (threshold !== undefined && (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)))
    throw invalidOption('threshold', 'a number in (0, 1)', threshold);
  if (recognizer !== undefined && !(recognizer instanceof DegradationRecognizer))
    throw invalidOption('recognizer', 'a DegradationRecognizer', typeof recognizer);
  const learned = method === 'learned' || (method === 'auto' && (recognizer !== undefined || DegradationRecognizer.available()));
  if (!learned) return analyzeDegradations(img, threshold !== undefined ? { threshold } : {});
  // The evidence is the explanation here, not the decision: measured on a copy reduced to at most
  // EVIDENCE_MAX_SIDE (its statistics work at <= 1280 px anyway), which keeps big photos fast.
  const owned = recognizer ?? (await DegradationRecognizer.load(runtime));
  try {
    // Recognition first: its inference runs off the main thread while the evidence is measured here.
    const recognition = owned.recognize(img);
    recognition.catch(() => undefined);
    const evidence = computeEvidence(reduceForEvidence(img));
    const r = await recognition;
    const t = threshold ?? LEARNED_THRESHOLD;
    return {
      scores: r.scores,
      primary: primaryFromScores(r.scores, t),
      evidence,
      method: 'learned',
      severity: r.severity,
      embedding: r.embedding,
      model: owned.id,
      threshold: t,
    };
  } finally {
    if (!recognizer) await owned.dispose();
  }
}
