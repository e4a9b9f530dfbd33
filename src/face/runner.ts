import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';
import { fileModelHandler, initTfjsWasm } from '../core/models/tfjsReference.js';

/**
 * Runs one of @vladmandic/human's tfjs graph models on the tfjs wasm backend.
 *
 * Why not onnxruntime: our tfjs->ONNX converter (src/core/models/convert) does not yet handle
 * these graphs (blazeface/iris/liveness use the `_FusedConv2D` op with fused batch-norm/ReLU;
 * facemesh/faceres/antispoof ship uint8-quantised weights). Until it does, the face models run
 * here; the interface (NHWC float in, named float outputs) is the same either way.
 */
export class GraphRunner {
  private model: GraphModel | undefined;

  private constructor(model: GraphModel, readonly name: string) {
    this.model = model;
  }

  static async load(modelJsonPath: string): Promise<GraphRunner> {
    await initTfjsWasm();
    try {
      const model = await loadGraphModel(fileModelHandler(path.resolve(modelJsonPath)));
      return new GraphRunner(model, path.basename(modelJsonPath, '.json'));
    } catch (err) {
      if (err instanceof ClearsightError) throw err;
      throw new ClearsightError(ERROR_CODES.RUNTIME, `could not load face model ${modelJsonPath}: ${(err as Error).message}`, { modelJsonPath }, { cause: err });
    }
  }

  /** Runs on one NHWC image of `size` x `size` x 3; returns every output as a flat copy. */
  async run(input: Float32Array, size: number): Promise<Float32Array[]> {
    return (await this.runWithShapes(input, size)).map((o) => o.data);
  }

  /** Like run(), with each output's shape. */
  async runWithShapes(input: Float32Array, size: number): Promise<{ data: Float32Array; shape: number[] }[]> {
    const model = this.model;
    if (!model) throw new ClearsightError(ERROR_CODES.RUNTIME, `face model ${this.name} used after dispose()`);
    const x = tf.tensor4d(input, [1, size, size, 3], 'float32');
    let outs: tf.Tensor[] = [];
    try {
      const r = model.execute(x);
      outs = Array.isArray(r) ? r : [r];
      const result: { data: Float32Array; shape: number[] }[] = [];
      for (const t of outs) result.push({ data: Float32Array.from(await t.data() as Float32Array), shape: t.shape.slice() });
      return result;
    } catch (err) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `face model ${this.name} failed: ${(err as Error).message}`, {}, { cause: err });
    } finally {
      x.dispose();
      for (const t of outs) t.dispose();
    }
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}
