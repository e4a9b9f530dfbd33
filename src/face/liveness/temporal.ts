/**
 * The learned temporal liveness model (models/liveness-gru, trained by training/liveness_gru.py):
 * a GRU with attention over the per-frame cue matrix that decideLiveness fuses by hand. Reported
 * beside the hand-fitted head's verdict, not instead of it (see docs/face.md for both figures).
 */
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import type { TrainedModel } from '../../core/models/trainedModel.js';
import { CUES, type CueMatrix } from './features.js';

export interface TemporalScore {
  /** The model's registry id. */
  model: string;
  /** P(bona fide) in [0, 1]. */
  score: number;
  /** The frame the model attended to most, and its weight. */
  topFrame: { index: number; attention: number };
}

/**
 * Runs the temporal model on a clip's cues. Frames without a face (all cues non-finite) get mask
 * 0 (no attention); single non-finite cues are fed as 0, as in training (liveness-seq.ts).
 */
export async function scoreTemporal(model: TrainedModel, cues: Pick<CueMatrix, 'values'>): Promise<TemporalScore> {
  const inputs = model.card.io.inputs.map((i) => i.name);
  if (inputs.join() !== 'cues,mask') {
    throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${model.card.name} is not a temporal liveness model (inputs ${inputs.join(', ')})`);
  }
  const T = cues.values.length;
  const C = CUES.length;
  if (T === 0 || cues.values.some((row) => row.length !== C)) {
    throw new ClearsightError(ERROR_CODES.RUNTIME, `temporal liveness needs ${C} cues per frame for at least one frame`);
  }
  const data = new Float32Array(T * C);
  const mask = new Float32Array(T);
  cues.values.forEach((row, t) => {
    if (!row.some((v) => Number.isFinite(v))) return;
    mask[t] = 1;
    row.forEach((v, j) => {
      data[t * C + j] = Number.isFinite(v) ? v : 0;
    });
  });
  const out = await model.run({ cues: { data, shape: [1, T, C] }, mask: { data: mask, shape: [1, T] } });
  const attention = out.attention!.data;
  let top = 0;
  for (let t = 1; t < T; t++) if (attention[t]! > attention[top]!) top = t;
  return {
    model: `${model.card.task}/${model.card.name}@${model.card.version}`,
    score: Math.round(out.live!.data[0]! * 1e4) / 1e4,
    topFrame: { index: top, attention: Math.round(attention[top]! * 1e4) / 1e4 },
  };
}
