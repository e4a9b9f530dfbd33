/**
 * Frozen pretrained backbone for the degradation recogniser: the MobileNetV3 trunk of Human's
 * `centernet` object detector (COCO, shipped in @vladmandic/human: no new dependency), cut before
 * its detection head and converted to ONNX by the project's own converter. It reads the SAME views
 * as the small network (recognizerViews: a 128 px global view and six 96 px crops), so the two
 * are compared on equal input.
 *
 * Features (BACKBONE_DIM values per picture): at four depths of the trunk (strides 4, 8, 16, 32;
 * 24, 32, 88, 480 channels) the per-channel spatial mean and standard deviation. Global view: those
 * 1248 values; crops: their mean and their max over the six crops (2 x 1248). A head trained on
 * the S1 training data (training/recognizer_backbone.py) reads them.
 *
 * Human feeds centernet 0..255 RGB without normalisation (src/object/centernet.ts resizes only), so
 * this does the same.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadTfjsArtifacts, convertIrToOnnx } from '../src/core/models/convert/index.js';
import { graphModelToIr } from '../src/core/models/convert/fromGraphModel.js';
import { packageDir } from '../src/core/models/registry.js';
import { InferenceSession } from '../src/core/runtime/index.js';
import type { RawImage } from '../src/core/image/types.js';
import { RECOGNIZER_CROPS, RECOGNIZER_VIEWS, recognizerViews, type RecognizerViews } from '../src/restore/auto/recognizer.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(REPO, 'training/cache/backbone');

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

/** The centernet trunk up to BACKBONE_TAPS as ONNX for `batch` size x size inputs (cached under training/cache/backbone). */
export async function backboneOnnx(size: number, batch = 1): Promise<string> {
  const file = path.join(CACHE, `centernet-trunk-${batch}x${size}.onnx`);
  if (existsSync(file)) return file;
  const artifacts = await loadTfjsArtifacts(path.join(packageDir('@vladmandic/human'), 'models/centernet.json'));
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
  const result = convertIrToOnnx(pruned, [batch, size, size, 3], `centernet trunk (Human) sha256:${artifacts.sha256}`);
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(file, result.onnx);
  return file;
}

/** Per-channel mean and std of an NHWC [1, H, W, C] tensor, appended to out at offset; returns the new offset. */
function poolInto(data: Float32Array, channels: number, out: Float32Array, offset: number): number {
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

function toNhwc255(img: RawImage): Float32Array {
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

  static async load(): Promise<BackboneFeatures> {
    const { globalSize, cropSize } = RECOGNIZER_VIEWS;
    const g = await InferenceSession.create(readFileSync(await backboneOnnx(globalSize)), { threads: 1 });
    // The crops in one batch: the same numbers as one at a time (checked: max difference 0), half the time.
    const c = await InferenceSession.create(readFileSync(await backboneOnnx(cropSize, RECOGNIZER_CROPS)), { threads: 1 });
    return new BackboneFeatures(g, c);
  }

  /** Pooled features of each of the images (one batch, all the same size). */
  private async pooled(session: InferenceSession, imgs: readonly RawImage[]): Promise<Float32Array[]> {
    const { width: w, height: h } = imgs[0];
    const x = new Float32Array(imgs.length * w * h * 3);
    imgs.forEach((im, k) => x.set(toNhwc255(im), k * w * h * 3));
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
    out.set((await this.pooled(this.global, [views.global]))[0], 0);
    const mean = new Float32Array(PER_VIEW);
    const max = new Float32Array(PER_VIEW).fill(-Infinity);
    for (const f of await this.pooled(this.crop, views.crops)) {
      for (let i = 0; i < PER_VIEW; i++) {
        mean[i] += f[i] / views.crops.length;
        if (f[i] > max[i]) max[i] = f[i];
      }
    }
    out.set(mean, PER_VIEW);
    out.set(max, 2 * PER_VIEW);
    return out;
  }

  ofImage(img: RawImage): Promise<Float32Array> {
    return this.ofViews(recognizerViews(img));
  }

  async dispose(): Promise<void> {
    await this.global.dispose();
    await this.crop.dispose();
  }
}
