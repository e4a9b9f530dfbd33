/**
 * The frozen-backbone recogniser as a bench candidate (bench/analyze.ts --candidate <head.json>):
 * Human's centernet trunk features (training/recognizerBackbone.ts) and the head fitted by
 * training/recognizer_backbone.py, with its per-class logit offsets (class priors chosen on
 * validation sources). JPEG comes from the same native-resolution head as the committed model's.
 */
import { readFileSync } from 'node:fs';

import type { RawImage } from '../../src/core/image/types.js';
import { DEGRADATIONS, type DegradationScores } from '../../src/restore/auto/analyze.js';
import { jpegScore } from '../../src/restore/auto/analyzeJpeg.js';
import { BACKBONE_DIM, BackboneFeatures } from '../../training/recognizerBackbone.js';

interface HeadJson {
  classes: string[];
  kind: string;
  mean: number[];
  std: number[];
  layers: Array<{ weight: number[][]; bias: number[] }>;
  offsets: number[];
  selection: { chosen: string };
}

function dense(x: Float64Array, layer: { weight: number[][]; bias: number[] }): Float64Array {
  const out = new Float64Array(layer.bias.length);
  for (let o = 0; o < out.length; o++) {
    const w = layer.weight[o];
    let s = layer.bias[o];
    for (let i = 0; i < x.length; i++) s += w[i] * x[i];
    out[o] = s;
  }
  return out;
}

export class BackboneCandidate {
  private constructor(
    private readonly features: BackboneFeatures,
    private readonly head: HeadJson,
    readonly id: string,
  ) {}

  static async load(file: string, options: { offsets?: boolean } = {}): Promise<BackboneCandidate> {
    const head = JSON.parse(readFileSync(file, 'utf8')) as HeadJson;
    if (head.mean.length !== BACKBONE_DIM || head.classes.join() !== DEGRADATIONS.join()) throw new Error(`${file}: not a head for these features/classes`);
    if (options.offsets === false) head.offsets = head.offsets.map(() => 0);
    const offs = head.offsets.some((o) => o !== 0) ? `offsets ${head.offsets.map((o) => o.toFixed(2)).join('/')}` : 'no offsets';
    return new BackboneCandidate(await BackboneFeatures.load(), head, `centernet-trunk + ${head.selection.chosen} head, ${offs}`);
  }

  async recognize(img: RawImage): Promise<{ scores: DegradationScores; severity: DegradationScores; ms: number }> {
    const t0 = performance.now();
    const f = await this.features.ofImage(img);
    let x = Float64Array.from(f, (v, i) => (v - this.head.mean[i]) / this.head.std[i]);
    this.head.layers.forEach((layer, i) => {
      x = dense(x, layer);
      if (i < this.head.layers.length - 1) x = x.map((v) => Math.max(0, v));
    });
    const scores = Object.fromEntries(DEGRADATIONS.map((d, i) => [d, 1 / (1 + Math.exp(-(x[i] + this.head.offsets[i])))])) as DegradationScores;
    scores.jpeg = jpegScore(img);
    // No severity head: the expected severity is reported as the score itself.
    return { scores, severity: { ...scores }, ms: performance.now() - t0 };
  }

  dispose(): Promise<void> {
    return this.features.dispose();
  }
}
