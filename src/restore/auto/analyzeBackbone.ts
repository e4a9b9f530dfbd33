/**
 * Frozen pretrained backbone for the degradation recogniser: the MobileNetV3 trunk of Human's
 * `centernet` object detector (COCO, shipped in @vladmandic/human: no new dependency), cut before
 * its detection head and converted to ONNX by the project's own converter (cached like every
 * converted model, content-addressed). It reads the SAME views as the small network
 * (recognizerViews: a 128 px global view and six 96 px crops).
 *
 * Features (BACKBONE_DIM values per picture): at four depths of the trunk (strides 4, 8, 16, 32;
 * 24, 32, 88, 480 channels) the per-channel spatial mean and standard deviation. Global view: those
 * 1248 values; crops: their mean and their max over the six crops (2 x 1248). A head trained on
 * the S1 training data (training/recognizer_backbone.py; models/degradation-recognizer/
 * backbone-head.json) reads them: BackboneHead.
 *
 * Human feeds centernet 0..255 RGB without normalisation (src/object/centernet.ts resizes only), so
 * this does the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import { cacheFileName, defaultCacheDir, readCached, writeCached } from '../../core/models/cache.js';
import { parseTrainedCard, readTrainedOnnx, TRAINED_MODELS_DIR, type TrainedCard } from '../../core/models/trained.js';
import { CONVERTER_VERSION, convertIrToOnnx, hashTfjsModel, loadTfjsArtifacts } from '../../core/models/convert/index.js';
import { graphModelToIr } from '../../core/models/convert/fromGraphModel.js';
import { getModelCard, packageDir } from '../../core/models/registry.js';
import { InferenceSession } from '../../core/runtime/index.js';
import type { RawImage } from '../../core/image/types.js';
import { DEGRADATIONS } from './analyze.js';
import type { RecognizerViews } from './recognizer.js';

/** The recogniser's views (recognizer.ts RECOGNIZER_VIEWS; repeated here to keep the import one-way). */
const GLOBAL_SIZE = 128;
const CROP_SIZE = 96;
const CROPS = 6;

/** The trunk's tensors read (tfjs node names in centernet.json), shallow to deep. */
export const BACKBONE_TAPS = [
  'tower_0/MobilenetV3/expanded_conv_2/add',
  'tower_0/MobilenetV3/expanded_conv_5/add',
  'tower_0/MobilenetV3/expanded_conv_11/add',
  'tower_0/extern1/hard_swish/mul_1',
] as const;
export const BACKBONE_CHANNELS = [24, 32, 88, 480] as const;
const PER_VIEW = 2 * BACKBONE_CHANNELS.reduce((a, b) => a + b, 0);
export const BACKBONE_DIM = 3 * PER_VIEW;

const strip = (ref: string): string => ref.replace(/^\^/, '').replace(/:\d+$/, '');

/** The centernet trunk up to BACKBONE_TAPS as ONNX for `batch` size x size inputs (from the converted-model cache when there). */
export async function backboneOnnx(size: number, batch = 1, cacheDir = defaultCacheDir()): Promise<Uint8Array> {
  const modelJson = path.join(packageDir('@vladmandic/human'), 'models/centernet.json');
  const shape = [batch, size, size, 3];
  const name = cacheFileName(await hashTfjsModel(modelJson), shape, CONVERTER_VERSION, 'centernet-trunk');
  const cached = await readCached(cacheDir, name);
  if (cached) return cached;
  const artifacts = await loadTfjsArtifacts(modelJson);
  const graph = graphModelToIr(artifacts);
  // Keep only what the taps need: the detection head uses ops the converter does not handle.
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const keep = new Set<string>();
  const stack: string[] = BACKBONE_TAPS.map(strip);
  while (stack.length) {
    const n = stack.pop()!;
    if (keep.has(n)) continue;
    keep.add(n);
    for (const i of byName.get(n)?.inputs ?? []) stack.push(strip(i));
  }
  const pruned = { ...graph, nodes: graph.nodes.filter((n) => keep.has(n.name)), outputs: [...BACKBONE_TAPS] };
  const { onnx } = convertIrToOnnx(pruned, shape, `centernet trunk (Human) sha256:${artifacts.sha256}`);
  await writeCached(cacheDir, name, onnx);
  return onnx;
}

/** Per-channel mean and std of an NHWC [1, H, W, C] tensor, appended to out at offset; returns the new offset. */
export function poolInto(data: Float32Array, channels: number, out: Float32Array, offset: number): number {
  const n = data.length / channels;
  for (let c = 0; c < channels; c++) {
    let s = 0;
    let s2 = 0;
    for (let i = c; i < data.length; i += channels) {
      s += data[i];
      s2 += data[i] * data[i];
    }
    const m = s / n;
    out[offset + c] = m;
    out[offset + channels + c] = Math.sqrt(Math.max(0, s2 / n - m * m));
  }
  return offset + 2 * channels;
}

export function toNhwc255(img: RawImage): Float32Array {
  const d = new Float32Array(img.data.length);
  // 8-bit rounded, as the patch set stores the views.
  for (let i = 0; i < d.length; i++) d[i] = Math.round(Math.max(0, Math.min(1, img.data[i])) * 255);
  return d;
}

export class BackboneFeatures {
  private constructor(
    private readonly global: InferenceSession,
    private readonly crop: InferenceSession,
  ) {}

  static async load(options: { threads?: number } = {}): Promise<BackboneFeatures> {
    const threads = options.threads ?? 1;
    const g = await InferenceSession.create(await backboneOnnx(GLOBAL_SIZE), { threads });
    // The crops in one batch: the same numbers as one at a time (checked: max difference 0), half the time.
    const c = await InferenceSession.create(await backboneOnnx(CROP_SIZE, CROPS), { threads });
    return new BackboneFeatures(g, c);
  }

  /** Pooled features of each of the images (one batch, all the same size). */
  private async pooled(session: InferenceSession, imgs: readonly RawImage[]): Promise<Float32Array[]> {
    const { width: w, height: h } = imgs[0];
    const x = new Float32Array(imgs.length * w * h * 3);
    imgs.forEach((im, k) => {
      x.set(toNhwc255(im), k * w * h * 3);
    });
    const outs = await session.runAll(x, [imgs.length, h, w, 3]);
    return imgs.map((_, k) => {
      const f = new Float32Array(PER_VIEW);
      let o = 0;
      outs.forEach((t, i) => {
        const n = t.data.length / imgs.length;
        o = poolInto(t.data.subarray(k * n, (k + 1) * n), BACKBONE_CHANNELS[i], f, o);
      });
      return f;
    });
  }

  /** BACKBONE_DIM features of the recogniser's views. */
  async ofViews(views: RecognizerViews): Promise<Float32Array> {
    const out = new Float32Array(BACKBONE_DIM);
    // Both runs in flight at once (onnxruntime works off the main thread).
    const [[g], crops] = await Promise.all([this.pooled(this.global, [views.global]), this.pooled(this.crop, views.crops)]);
    out.set(g, 0);
    const mean = new Float32Array(PER_VIEW);
    const max = new Float32Array(PER_VIEW).fill(-Infinity);
    for (const f of crops) {
      for (let i = 0; i < PER_VIEW; i++) {
        mean[i] += f[i] / views.crops.length;
        if (f[i] > max[i]) max[i] = f[i];
      }
    }
    out.set(mean, PER_VIEW);
    out.set(max, 2 * PER_VIEW);
    return out;
  }

  async dispose(): Promise<void> {
    await this.global.dispose();
    await this.crop.dispose();
  }
}

/** The head on the backbone's features (training/recognizer_backbone.py writes it). */
export interface BackboneHeadJson {
  classes: string[];
  kind: string;
  mean: number[];
  std: number[];
  layers: Array<{ weight: number[][]; bias: number[] }>;
  /** Class priors: logit offsets chosen on validation sources (leave-one-source-out). */
  offsets: number[];
  selection: { chosen: string };
}

/** The head's file beside the recogniser's model. */
export const BACKBONE_HEAD_FILE = 'backbone-head.json';

export class BackboneHead {
  private constructor(readonly json: BackboneHeadJson) {}

  /** Reads and checks a head file; throws E_MODEL_NOT_FOUND when it is missing, E_RUNTIME when it does not fit. */
  static read(file: string, options: { offsets?: boolean } = {}): BackboneHead {
    if (!existsSync(file)) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `backbone head ${file} not found`, { file });
    const json = JSON.parse(readFileSync(file, 'utf8')) as BackboneHeadJson;
    if (
      json.mean?.length !== BACKBONE_DIM ||
      json.std?.length !== BACKBONE_DIM ||
      json.classes?.join() !== DEGRADATIONS.join() ||
      json.offsets?.length !== DEGRADATIONS.length
    )
      throw new ClearsightError(ERROR_CODES.RUNTIME, `${file} is not a head for ${BACKBONE_DIM} backbone features and classes ${DEGRADATIONS.join(',')}`, {
        file,
      });
    if (options.offsets === false) json.offsets = json.offsets.map(() => 0);
    return new BackboneHead(json);
  }

  /** P(present) per class (DEGRADATIONS order), class priors applied. */
  scores(features: Float32Array): Float32Array {
    const { offsets } = this.json;
    return Float32Array.from(this.logits(features), (z, i) => sigmoid(z + offsets[i]));
  }

  /** The head's logits per class, before the class priors. */
  logits(features: Float32Array): Float64Array {
    const { mean, std, layers } = this.json;
    let x = Float64Array.from(features, (v, i) => (v - mean[i]) / std[i]);
    layers.forEach((layer, li) => {
      const out = new Float64Array(layer.bias.length);
      for (let o = 0; o < out.length; o++) {
        const w = layer.weight[o];
        let s = layer.bias[o];
        for (let i = 0; i < x.length; i++) s += w[i] * x[i];
        out[o] = li < layers.length - 1 ? Math.max(0, s) : s;
      }
      x = out;
    });
    return x;
  }

  get description(): string {
    const offs = this.json.offsets.some((o) => o !== 0) ? `class priors ${this.json.offsets.map((o) => o.toFixed(2)).join('/')}` : 'no class priors';
    return `centernet trunk + ${this.json.selection.chosen} head, ${offs}`;
  }
}

/** What decides the recogniser's scores (besides the small network): P(present) per class, DEGRADATIONS order. */
export interface ScoreDecider {
  scores(views: RecognizerViews): Promise<Float32Array>;
  readonly description: string;
  dispose(): Promise<void>;
}

/** The frozen trunk's pooled features and a head on them, as a decider. */
export function frozenBackboneDecider(features: BackboneFeatures, head: BackboneHead): ScoreDecider {
  return {
    scores: async (views) => head.scores(await features.ofViews(views)),
    description: head.description,
    dispose: () => features.dispose(),
  };
}

/**
 * The fine-tuned recogniser (issue 16, wave 6): the same centernet trunk, FINE-TUNED end to end
 * with its pooled features and linear head (training/recognizer_finetune.py), exported as one
 * trained model (models/degradation-recognizer-ft: card, golden pair; weights stored as float16).
 * In: the recogniser's views as 0..255 NHWC (global [1,128,128,3], crops [6,96,96,3]); out: 6
 * logits. The class priors (logit offsets chosen on validation sources) are in priors.json beside it.
 */
export const FINETUNED_MODEL = 'degradation-recognizer-ft';
export const FINETUNED_PRIORS_FILE = 'priors.json';

export class FinetunedRecognizer implements ScoreDecider {
  private constructor(
    private readonly session: InferenceSession,
    readonly card: TrainedCard,
    readonly offsets: readonly number[],
  ) {}

  /** The installed model (registry) or, with `dir`, a candidate folder (card.json, ONNX, priors.json). */
  static async load(options: { dir?: string; threads?: number; offsets?: boolean } = {}): Promise<FinetunedRecognizer> {
    const card = finetunedCard(options.dir);
    const offsets = options.offsets === false ? DEGRADATIONS.map(() => 0) : readPriors(path.join(card.dir, FINETUNED_PRIORS_FILE));
    const session = await InferenceSession.create(readTrainedOnnx(card), { threads: options.threads ?? 1 });
    return new FinetunedRecognizer(session, card, offsets);
  }

  /**
   * What the fine-tuned model's folder says should decide: the model alone, or (when its
   * priors.json names an `ensemble`) the mean of its logits and the frozen-backbone head's, with
   * the ensemble's own class priors (`offsets: false`: none).
   */
  static async decider(options: { dir?: string; threads?: number; offsets?: boolean } = {}): Promise<ScoreDecider> {
    const card = finetunedCard(options.dir);
    const ensemble = readEnsemble(path.join(card.dir, FINETUNED_PRIORS_FILE));
    if (!ensemble) return FinetunedRecognizer.load(options);
    const head = BackboneHead.read(path.join(TRAINED_MODELS_DIR, ensemble.head), { offsets: false });
    const offsets = options.offsets === false ? DEGRADATIONS.map(() => 0) : ensemble.offsets;
    const ft = await FinetunedRecognizer.load({ ...options, offsets: false });
    try {
      return meanLogitDecider(await BackboneFeatures.load({ threads: options.threads }), head, ft, offsets);
    } catch (err) {
      await ft.dispose();
      throw err;
    }
  }

  /** The network's logits per class, before the class priors. */
  async logits(views: RecognizerViews): Promise<Float32Array> {
    const crops = new Float32Array(CROPS * CROP_SIZE * CROP_SIZE * 3);
    views.crops.forEach((c, k) => {
      crops.set(toNhwc255(c), k * CROP_SIZE * CROP_SIZE * 3);
    });
    const out = await this.session.runNamed({
      global: { data: toNhwc255(views.global), shape: [1, GLOBAL_SIZE, GLOBAL_SIZE, 3] },
      crops: { data: crops, shape: [CROPS, CROP_SIZE, CROP_SIZE, 3] },
    });
    const logits = out.logits?.data;
    if (!logits || logits.length !== DEGRADATIONS.length)
      throw new ClearsightError(ERROR_CODES.RUNTIME, `${this.card.name} returned unexpected outputs (${Object.keys(out).join(', ')})`);
    return logits;
  }

  /** True when the fine-tuned model is in the registry (models/degradation-recognizer-ft). */
  static available(): boolean {
    try {
      return getModelCard(FINETUNED_MODEL).trained !== undefined;
    } catch {
      return false;
    }
  }

  async scores(views: RecognizerViews): Promise<Float32Array> {
    return Float32Array.from(await this.logits(views), (z, i) => sigmoid(z + this.offsets[i]));
  }

  get description(): string {
    const offs = this.offsets.some((o) => o !== 0) ? `class priors ${this.offsets.map((o) => o.toFixed(2)).join('/')}` : 'no class priors';
    return `${this.card.name}@${this.card.version} (centernet trunk fine-tuned + linear head), ${offs}`;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/**
 * Two views of the same trunk decide together: the frozen trunk's head and the fine-tuned network,
 * their logits averaged, then the class priors (chosen for the pair on validation sources).
 * The two run at once (onnxruntime works off the main thread).
 */
export function meanLogitDecider(features: BackboneFeatures, head: BackboneHead, ft: FinetunedRecognizer, offsets: readonly number[]): ScoreDecider {
  const offs = offsets.some((o) => o !== 0) ? `class priors ${offsets.map((o) => o.toFixed(2)).join('/')}` : 'no class priors';
  return {
    scores: async (views) => {
      const [f, zf] = await Promise.all([features.ofViews(views), ft.logits(views)]);
      const zh = head.logits(f);
      return Float32Array.from(zf, (z, i) => sigmoid((z + zh[i]) / 2 + offsets[i]));
    },
    description: `mean logit of centernet trunk + ${head.json.selection.chosen} head (frozen) and ${ft.card.name}@${ft.card.version} (fine-tuned), ${offs}`,
    dispose: async () => {
      await features.dispose();
      await ft.dispose();
    },
  };
}

function finetunedCard(dir?: string): TrainedCard {
  const card = dir ? readCandidateCard(dir) : getModelCard(FINETUNED_MODEL).trained;
  if (!card) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `${FINETUNED_MODEL} is not installed`, { model: FINETUNED_MODEL });
  return card;
}

/** priors.json's optional `ensemble`: { head: path under models/, offsets: 6 numbers }. */
function readEnsemble(file: string): { head: string; offsets: number[] } | undefined {
  readPriors(file);
  const { ensemble } = JSON.parse(readFileSync(file, 'utf8')) as { ensemble?: { head?: unknown; offsets?: unknown } };
  if (ensemble === undefined) return undefined;
  const offsets = ensemble.offsets;
  if (
    typeof ensemble.head !== 'string' ||
    !Array.isArray(offsets) ||
    offsets.length !== DEGRADATIONS.length ||
    !offsets.every((o) => typeof o === 'number' && Number.isFinite(o))
  )
    throw new ClearsightError(ERROR_CODES.RUNTIME, `${file}: "ensemble" must be { head: path, offsets: ${DEGRADATIONS.length} finite numbers }`, { file });
  return { head: ensemble.head, offsets: offsets as number[] };
}

function readCandidateCard(dir: string): TrainedCard {
  const file = path.join(dir, 'card.json');
  if (!existsSync(file)) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `${file} not found`, { file });
  return parseTrainedCard(JSON.parse(readFileSync(file, 'utf8')), dir);
}

/** Logit offsets {"offsets": [6 finite numbers]}; E_MODEL_NOT_FOUND when missing, E_RUNTIME when malformed. */
export function readPriors(file: string): number[] {
  if (!existsSync(file)) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `class priors ${file} not found`, { file });
  const { offsets } = JSON.parse(readFileSync(file, 'utf8')) as { offsets?: unknown };
  if (!Array.isArray(offsets) || offsets.length !== DEGRADATIONS.length || !offsets.every((o) => typeof o === 'number' && Number.isFinite(o)))
    throw new ClearsightError(ERROR_CODES.RUNTIME, `${file}: "offsets" must hold ${DEGRADATIONS.length} finite numbers (${DEGRADATIONS.join(',')})`, { file });
  return offsets as number[];
}
