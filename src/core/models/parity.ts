import { ClearsightError, ERROR_CODES } from '../errors.js';
import { loadTfjsReference } from './tfjsReference.js';
import { ImageModel, type LoadModelOptions } from './imageModel.js';
import { getModelCard, modelJsonPath } from './registry.js';
import { TfjsSource } from './tfjsSource.js';
import { InferenceSession } from '../runtime/index.js';

/**
 * Parity between our converted ONNX model and the original weights run by
 * tfjs-wasm, on the same deterministic input. Outputs are compared in [0,1]
 * (ESRGAN rdn models work in [0,255]; we divide both by the card's range).
 */
export interface ParityResult {
  readonly model: string;
  readonly shape: readonly number[];
  readonly maxAbsDiff: number;
  readonly meanAbsDiff: number;
  readonly tfjsSeconds: number;
  readonly onnxSeconds: number;
}

/** A smooth, textured, deterministic test image in [0,1] (NHWC, batch 1). */
export function parityInput(height: number, width: number): Float32Array {
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.3 * Math.sin(x * 0.21 + c) * Math.cos(y * 0.17 - c) + 0.15 * Math.sin((x + 2 * y) * 0.9 + c * 2);
        data[(y * width + x) * 3 + c] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return data;
}

export async function checkParity(modelId: string, height: number, width: number, options: LoadModelOptions = {}): Promise<ParityResult> {
  const model = await ImageModel.load(modelId, options);
  const { card } = model;
  if (card.format === 'onnx' || card.format === 'json') {
    await model.dispose();
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      `model ${card.id} was trained here and has no tfjs reference; its parity check is the golden pair (test/trainedModels.test.ts)`,
    );
  }
  const format = card.format;
  const shape = [1, height, width, 3] as [1, number, number, 3];
  const gain = card.io.range[1];
  const input = parityInput(height, width).map((v) => v * gain);
  try {
    const session = await InferenceSession.create(await model.onnxFor(shape), options);
    let t = performance.now();
    const ours = await session.run(input, shape);
    const onnxSeconds = (performance.now() - t) / 1000;
    await session.dispose();
    const reference = await loadTfjsReference(modelJsonPath(card), format, { customLayers: card.customLayers });
    t = performance.now();
    const theirs = await reference.predict(input, shape);
    const tfjsSeconds = (performance.now() - t) / 1000;
    reference.dispose();
    if (ours.shape.join() !== theirs.shape.join()) throw new ClearsightError(ERROR_CODES.RUNTIME, `shape ${ours.shape} vs tfjs ${theirs.shape}`);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < ours.data.length; i++) {
      const d = Math.abs(ours.data[i] - theirs.data[i]) / gain;
      if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
      sum += d;
    }
    return { model: card.id, shape, maxAbsDiff: max, meanAbsDiff: sum / ours.data.length, tfjsSeconds, onnxSeconds };
  } finally {
    await model.dispose();
  }
}

export interface NetworkParityResult {
  readonly model: string;
  readonly shape: readonly number[];
  /** Per output, in the converted model's order: shape and largest |ours - tfjs| (not normalised). */
  readonly outputs: readonly { shape: readonly number[]; maxAbsDiff: number; maxAbsReference: number }[];
  readonly maxAbsDiff: number;
  readonly tfjsSeconds: number;
  readonly onnxSeconds: number;
}

/**
 * Parity of a fixed-size network (the face networks) with tfjs-wasm: the deterministic test image
 * in the card's input range, every output compared in its own units (crop pixels, logits,
 * descriptor values). tfjs may list the outputs in another order; they are paired by shape.
 */
export async function checkNetworkParity(modelId: string, options: LoadModelOptions = {}): Promise<NetworkParityResult> {
  const card = getModelCard(modelId);
  if (!card.network || card.format !== 'graph')
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `model ${card.id} is not a fixed-size tfjs network (use checkParity)`);
  const n = card.network.inputSize;
  const shape = [1, n, n, 3] as [1, number, number, 3];
  const [lo, hi] = card.io.range;
  const input = parityInput(n, n).map((v) => lo + v * (hi - lo));
  const session = await InferenceSession.create(await new TfjsSource(modelJsonPath(card), card.id).onnxFor(shape, options.cacheDir), options);
  let t = performance.now();
  const ours = await session.runAll(input, shape);
  const onnxSeconds = (performance.now() - t) / 1000;
  await session.dispose();
  const reference = await loadTfjsReference(modelJsonPath(card), 'graph');
  t = performance.now();
  const theirs = await reference.predictAll(input, shape);
  const tfjsSeconds = (performance.now() - t) / 1000;
  reference.dispose();
  if (ours.length !== theirs.length) throw new ClearsightError(ERROR_CODES.RUNTIME, `${ours.length} outputs vs tfjs ${theirs.length}`);
  const unpaired = [...theirs];
  const outputs = ours.map((o) => {
    const k = unpaired.findIndex((r) => r.shape.join() === o.shape.join());
    if (k < 0)
      throw new ClearsightError(
        ERROR_CODES.RUNTIME,
        `output of shape ${o.shape.join('x')} has no tfjs counterpart (tfjs: ${theirs.map((r) => r.shape.join('x')).join(', ')})`,
      );
    const [ref] = unpaired.splice(k, 1);
    let max = 0;
    let scale = 0;
    for (let i = 0; i < o.data.length; i++) {
      const d = Math.abs(o.data[i] - ref.data[i]);
      if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
      scale = Math.max(scale, Math.abs(ref.data[i]));
    }
    return { shape: o.shape, maxAbsDiff: max, maxAbsReference: scale };
  });
  return { model: card.id, shape, outputs, maxAbsDiff: Math.max(...outputs.map((o) => o.maxAbsDiff)), tfjsSeconds, onnxSeconds };
}
