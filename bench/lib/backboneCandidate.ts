/**
 * A backbone recogniser as a bench candidate (bench/analyze.ts --candidate <path>):
 * - a head JSON (training/recognizer_backbone.py): Human's frozen centernet trunk features
 *   (src/restore/auto/analyzeBackbone.ts) and that head;
 * - a folder (card.json, ONNX, priors.json; training/recognizer_finetune.py export): the trunk
 *   fine-tuned end to end with its head, one ONNX; alone, or averaged with the installed frozen
 *   head when priors.json names an `ensemble`.
 * Either with its per-class logit offsets (class priors chosen on validation sources) unless
 * `offsets: false`. JPEG comes from the same native-resolution head as the committed model's.
 * Only the scores: no severity head (the expected severity is reported as the score).
 */
import { statSync } from 'node:fs';
import type { RawImage } from '../../src/core/image/types.js';
import { DEGRADATIONS, type DegradationScores } from '../../src/restore/auto/analyze.js';
import { BackboneFeatures, BackboneHead, FinetunedRecognizer, frozenBackboneDecider, type ScoreDecider } from '../../src/restore/auto/analyzeBackbone.js';
import { jpegScore } from '../../src/restore/auto/analyzeJpeg.js';
import { recognizerViews } from '../../src/restore/auto/recognizer.js';

export class BackboneCandidate {
  private constructor(private readonly decider: ScoreDecider) {}

  static async load(file: string, options: { offsets?: boolean } = {}): Promise<BackboneCandidate> {
    if (statSync(file).isDirectory()) return new BackboneCandidate(await FinetunedRecognizer.decider({ dir: file, offsets: options.offsets }));
    return new BackboneCandidate(frozenBackboneDecider(await BackboneFeatures.load(), BackboneHead.read(file, options)));
  }

  get id(): string {
    return this.decider.description;
  }

  async recognize(img: RawImage): Promise<{ scores: DegradationScores; severity: DegradationScores; ms: number }> {
    const t0 = performance.now();
    const p = await this.decider.scores(recognizerViews(img));
    const scores = Object.fromEntries(DEGRADATIONS.map((d, i) => [d, p[i]])) as DegradationScores;
    scores.jpeg = jpegScore(img);
    return { scores, severity: { ...scores }, ms: performance.now() - t0 };
  }

  dispose(): Promise<void> {
    return this.decider.dispose();
  }
}
