/**
 * The frozen-backbone recogniser as a bench candidate (bench/analyze.ts --candidate <head.json>):
 * Human's centernet trunk features (src/restore/auto/analyzeBackbone.ts) and a head fitted by
 * training/recognizer_backbone.py, with its per-class logit offsets (class priors chosen on
 * validation sources). JPEG comes from the same native-resolution head as the committed model's.
 * Only the scores: no severity head (the expected severity is reported as the score).
 */
import type { RawImage } from '../../src/core/image/types.js';
import { DEGRADATIONS, type DegradationScores } from '../../src/restore/auto/analyze.js';
import { BackboneFeatures, BackboneHead } from '../../src/restore/auto/analyzeBackbone.js';
import { jpegScore } from '../../src/restore/auto/analyzeJpeg.js';
import { recognizerViews } from '../../src/restore/auto/recognizer.js';

export class BackboneCandidate {
  private constructor(
    private readonly features: BackboneFeatures,
    private readonly head: BackboneHead,
  ) {}

  static async load(file: string, options: { offsets?: boolean } = {}): Promise<BackboneCandidate> {
    return new BackboneCandidate(await BackboneFeatures.load(), BackboneHead.read(file, options));
  }

  get id(): string {
    return this.head.description;
  }

  async recognize(img: RawImage): Promise<{ scores: DegradationScores; severity: DegradationScores; ms: number }> {
    const t0 = performance.now();
    const p = this.head.scores(await this.features.ofViews(recognizerViews(img)));
    const scores = Object.fromEntries(DEGRADATIONS.map((d, i) => [d, p[i]])) as DegradationScores;
    scores.jpeg = jpegScore(img);
    return { scores, severity: { ...scores }, ms: performance.now() - t0 };
  }

  dispose(): Promise<void> {
    return this.features.dispose();
  }
}
