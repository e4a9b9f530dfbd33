/**
 * Calibration for int8 quantization: runs the float graph on sample inputs with the activations
 * of the quantizable nodes exposed, and reports how well each would survive dynamic uint8
 * quantization (quantizationSnrDb; the lowest over the samples). Exposed in groups so that a
 * large graph does not hold every activation at once.
 */
import { InferenceSession, type RuntimeOptions } from '../runtime/index.js';
import { exposeTensors, quantizableNodes, quantizationSnrDb, type QuantizableOp } from './quantize.js';

export interface CalibrationSample {
  data: Float32Array;
  shape: readonly number[];
}

export async function calibrateActivations(
  model: Uint8Array,
  samples: readonly CalibrationSample[],
  ops: readonly QuantizableOp[],
  options: RuntimeOptions & { group?: number } = {},
): Promise<Map<string, number>> {
  const nodes = quantizableNodes(model, ops);
  const activations = [...new Set(nodes.map((n) => n.activation))];
  const group = options.group ?? 64;
  const snrByActivation = new Map<string, number>();
  for (let i = 0; i < activations.length; i += group) {
    const names = activations.slice(i, i + group);
    const session = await InferenceSession.create(exposeTensors(model, names), { threads: options.threads, device: options.device });
    try {
      for (const sample of samples) {
        const [input] = session.inputNames;
        const out = await session.runNamed({ [input]: sample });
        for (const name of names) {
          const snr = quantizationSnrDb(out[name].data);
          snrByActivation.set(name, Math.min(snr, snrByActivation.get(name) ?? Infinity));
        }
      }
    } finally {
      await session.dispose();
    }
  }
  return new Map(nodes.map((n) => [n.name, snrByActivation.get(n.activation)!]));
}
