import { ClearsightError, ERROR_CODES } from '../errors.js';
import { InferenceSession, type RuntimeOptions, type TensorResult } from '../runtime/index.js';
import { getModelCard } from './registry.js';
import { readTrainedOnnx, type TrainedCard } from './trained.js';

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

  run(feeds: Readonly<Record<string, { data: Float32Array; shape: readonly number[] }>>): Promise<Record<string, TensorResult>> {
    return this.session.runNamed(feeds);
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
