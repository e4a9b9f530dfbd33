import { ClearsightError, ERROR_CODES } from '../core/errors.js';
import { TfjsSource } from '../core/models/tfjsSource.js';
import { InferenceSession, type RuntimeOptions } from '../core/runtime/index.js';

export interface FaceRunnerOptions extends RuntimeOptions {
  /** Where converted models are cached; default $CLEARSIGHT_CACHE_DIR or ~/.cache/clearsight. */
  cacheDir?: string;
  /** Hears a tfjs -> ONNX conversion start and end (a cache miss: the first run). */
  onConvert?: (phase: 'start' | 'end') => void;
}

/**
 * One of @vladmandic/human's tfjs graph models, converted to ONNX by our converter (cached by the
 * weights' sha256) and run by onnxruntime-node at its one input size. tfjs is not involved at run
 * time; tfjs-wasm remains the numerical reference in the parity tests (test/faceParity.test.ts).
 */
export class FaceRunner {
  private session: InferenceSession | undefined;

  private constructor(
    session: InferenceSession,
    readonly name: string,
    readonly size: number,
  ) {
    this.session = session;
  }

  static async load(modelJsonPath: string, name: string, size: number, options: FaceRunnerOptions = {}): Promise<FaceRunner> {
    let onnx: Uint8Array;
    try {
      onnx = await new TfjsSource(modelJsonPath, name).onnxFor([1, size, size, 3], options.cacheDir, undefined, options.onConvert);
    } catch (err) {
      if (err instanceof ClearsightError) throw err;
      throw new ClearsightError(
        ERROR_CODES.MODEL_NOT_FOUND,
        `could not read face model ${modelJsonPath}: ${(err as Error).message}`,
        { modelJsonPath },
        { cause: err },
      );
    }
    return new FaceRunner(await InferenceSession.create(onnx, options), name, size);
  }

  /** Runs on one NHWC image of `size` x `size` x 3; returns every output's values. */
  async run(input: Float32Array, size: number): Promise<Float32Array[]> {
    return (await this.runWithShapes(input, size)).map((o) => o.data);
  }

  /** Like run(), with each output's shape. */
  async runWithShapes(input: Float32Array, size: number): Promise<{ data: Float32Array; shape: readonly number[] }[]> {
    const session = this.session;
    if (!session) throw new ClearsightError(ERROR_CODES.RUNTIME, `face model ${this.name} used after dispose()`);
    if (size !== this.size || input.length !== size * size * 3) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `face model ${this.name} takes ${this.size}x${this.size}x3, got ${input.length} values for size ${size}`);
    }
    try {
      return await session.runAll(input, [1, size, size, 3]);
    } catch (err) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `face model ${this.name} failed: ${(err as Error).message}`, {}, { cause: err });
    }
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.dispose();
  }
}
