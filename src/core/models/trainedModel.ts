import { ClearsightError, ERROR_CODES } from '../errors.js';
import { InferenceSession, type RuntimeOptions, type TensorResult } from '../runtime/index.js';
import { getModelCard } from './registry.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrainedCard, readTrainedOnnx, type TrainedCard } from './trained.js';

/**
 * A model trained in this repository that maps named tensors to named tensors (a classifier,
 * an embedding, a temporal head). Image-to-image models load through ImageModel instead, which
 * adds tiling. Owned by the caller: call dispose().
 */
export class TrainedModel {
  private constructor(
    readonly card: TrainedCard,
    private readonly session: InferenceSession,
  ) {}

  static async load(idOrName: string, options: RuntimeOptions = {}): Promise<TrainedModel> {
    const card = getModelCard(idOrName).trained;
    if (!card) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model "${idOrName}" is not one trained in this repository`, { model: idOrName });
    const session = await InferenceSession.create(readTrainedOnnx(card), options);
    return new TrainedModel(card, session);
  }

  /**
   * A trained model from a folder holding its card.json and ONNX file, outside the registry: a
   * candidate or a previous version measured beside the shipped one (benchmarks).
   */
  static async loadDir(dir: string, options: RuntimeOptions = {}): Promise<TrainedModel> {
    const file = join(dir, 'card.json');
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `cannot read model card ${file}: ${(err as Error).message}`, { dir });
    }
    const card = parseTrainedCard(json, dir);
    return new TrainedModel(card, await InferenceSession.create(readTrainedOnnx(card), options));
  }

  run(feeds: Readonly<Record<string, { data: Float32Array; shape: readonly number[] }>>): Promise<Record<string, TensorResult>> {
    return this.session.runNamed(feeds);
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
