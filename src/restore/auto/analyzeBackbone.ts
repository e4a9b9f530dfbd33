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
import { CONVERTER_VERSION, convertIrToOnnx, hashTfjsModel, loadTfjsArtifacts } from '../../core/models/convert/index.js';
import { graphModelToIr } from '../../core/models/convert/fromGraphModel.js';
import { packageDir } from '../../core/models/registry.js';
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
    const { mean, std, layers, offsets } = this.json;
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
    return Float32Array.from(x, (z, i) => 1 / (1 + Math.exp(-(z + offsets[i]))));
  }

  get description(): string {
    const offs = this.json.offsets.some((o) => o !== 0) ? `class priors ${this.json.offsets.map((o) => o.toFixed(2)).join('/')}` : 'no class priors';
    return `centernet trunk + ${this.json.selection.chosen} head, ${offs}`;
  }
}
