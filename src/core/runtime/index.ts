import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';

/**
 * The one inference engine: onnxruntime-node. A session is an object the caller
 * owns and must dispose; nothing here is a module-level singleton.
 *
 * Devices: 'cpu' always works. 'cuda' needs onnxruntime-node's CUDA libraries,
 * which its install script downloads only when asked (see README, "GPU"). Without them 'cuda'
 * falls back to the CPU with a process warning (code CLEARSIGHT_DEVICE_FALLBACK, which the CLI
 * prints as "clearsight: warning: ..."); 'cuda!' insists and fails with E_RUNTIME instead.
 */
export type Device = 'cpu' | 'cuda' | 'cuda!';

/** Every device string, for option validation and --help. */
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'cuda!'];

/** Code of the process warning emitted when 'cuda' falls back to the CPU. */
export const DEVICE_FALLBACK_WARNING = 'CLEARSIGHT_DEVICE_FALLBACK';

export interface RuntimeOptions {
  device?: Device;
  /** Intra-op threads; default: every core (os.availableParallelism). */
  threads?: number;
}

export interface GraphOptions {
  level?: 'disabled' | 'basic' | 'extended' | 'all';
  saveOptimizedTo?: string;
}

/** onnxruntime's version: an optimised graph it saved is only reused by the same version. */
export const ORT_VERSION: string = ort.env.versions.common;

export interface TensorResult {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export class InferenceSession {
  private session: ort.InferenceSession | undefined;

  /** The device the session runs on ('cpu' after a fallback). */
  private constructor(
    session: ort.InferenceSession,
    readonly device: 'cpu' | 'cuda',
  ) {
    this.session = session;
  }

  /**
   * `graph`: how much onnxruntime optimises the graph when the session is created (default 'all')
   * and where to save the optimised graph (`saveOptimizedTo`; core/models/optimizedCache.ts).
   */
  static async create(model: Uint8Array | string, options: RuntimeOptions = {}, graph: GraphOptions = {}): Promise<InferenceSession> {
    const requested = validateDevice(options.device);
    const threads = validateThreads(options.threads);
    if (requested === 'cpu') return InferenceSession.createOn(model, 'cpu', threads, graph);
    // onnxruntime logs a missing CUDA library itself, in its own raw format, before throwing: the
    // error is ours to report (or to fall back from), so its log is silenced. Effective when this
    // is the first session of the process (onnxruntime reads the level once).
    ort.env.logLevel = 'fatal';
    try {
      return await InferenceSession.createOn(model, 'cuda', threads, graph);
    } catch (err) {
      if (requested === 'cuda!') throw err;
      process.emitWarning(`the CUDA device is not available (${firstLine(err)}): running on the CPU; use --device cuda! to fail instead, see README "GPU"`, {
        code: DEVICE_FALLBACK_WARNING,
      });
      return InferenceSession.createOn(model, 'cpu', threads, graph);
    }
  }

  private static async createOn(
    model: Uint8Array | string,
    device: 'cpu' | 'cuda',
    threads: number | undefined,
    graph: GraphOptions,
  ): Promise<InferenceSession> {
    try {
      const session = await ort.InferenceSession.create(model as Uint8Array, {
        executionProviders: device === 'cuda' ? ['cuda'] : ['cpu'],
        graphOptimizationLevel: graph.level ?? 'all',
        ...(graph.saveOptimizedTo ? { optimizedModelFilePath: graph.saveOptimizedTo } : {}),
        intraOpNumThreads: threads ?? availableParallelism(),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        // Memory-pattern planning and the CPU arena trade RAM for allocation speed: on a
        // 512x512 MAXIM tile they took peak RSS from 3.0 GB to 6.3 GB. Peak memory bounded by
        // the tile matters more here (a 12 MP photo must stay under 4 GiB), so both are off.
        enableMemPattern: false,
        enableCpuMemArena: false,
      });
      return new InferenceSession(session, device);
    } catch (err) {
      const hint = device === 'cuda' ? ' (is the CUDA build installed? see README "GPU")' : '';
      throw new ClearsightError(
        ERROR_CODES.RUNTIME,
        `onnxruntime could not create a session on ${device}${hint}: ${(err as Error).message}`,
        { device },
        { cause: err },
      );
    }
  }

  /** Runs a single-input, single-output float model. */
  async run(data: Float32Array, shape: readonly number[]): Promise<TensorResult> {
    if (!this.session) throw new ClearsightError(ERROR_CODES.RUNTIME, 'session used after dispose()');
    const [inputName] = this.session.inputNames;
    const [outputName] = this.session.outputNames;
    const feeds = { [inputName]: new ort.Tensor('float32', data, [...shape]) };
    const out = await this.session.run(feeds);
    const tensor = out[outputName];
    const result = { data: tensor.data as Float32Array, shape: tensor.dims };
    for (const t of Object.values(out)) if (t !== tensor) t.dispose();
    return result;
  }

  /** Runs a single-input float model; returns every output in the model's order. */
  async runAll(data: Float32Array, shape: readonly number[]): Promise<TensorResult[]> {
    if (!this.session) throw new ClearsightError(ERROR_CODES.RUNTIME, 'session used after dispose()');
    const [inputName] = this.session.inputNames;
    const out = await this.session.run({ [inputName]: new ort.Tensor('float32', data, [...shape]) });
    return this.session.outputNames.map((name) => ({ data: out[name].data as Float32Array, shape: out[name].dims }));
  }

  /** Input and output names, in the model's order. */
  get inputNames(): readonly string[] {
    return this.session?.inputNames ?? [];
  }

  get outputNames(): readonly string[] {
    return this.session?.outputNames ?? [];
  }

  /** Runs a float model with named inputs; returns every output by name. */
  async runNamed(feeds: Readonly<Record<string, { data: Float32Array; shape: readonly number[] }>>): Promise<Record<string, TensorResult>> {
    if (!this.session) throw new ClearsightError(ERROR_CODES.RUNTIME, 'session used after dispose()');
    const missing = this.session.inputNames.filter((n) => !(n in feeds));
    if (missing.length)
      throw new ClearsightError(ERROR_CODES.RUNTIME, `missing model inputs: ${missing.join(', ')} (the model takes ${this.session.inputNames.join(', ')})`);
    const tensors = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor('float32', t.data, [...t.shape])]));
    const out = await this.session.run(tensors);
    const result: Record<string, TensorResult> = {};
    for (const [name, tensor] of Object.entries(out)) {
      result[name] = { data: tensor.data as Float32Array, shape: tensor.dims };
    }
    return result;
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }
}

function validateDevice(device: unknown): Device {
  if (device === undefined) return 'cpu';
  if (DEVICES.includes(device as Device)) return device as Device;
  throw invalidOption('device', '"cpu", "cuda" (falls back to the CPU) or "cuda!" (no fallback)', device);
}

function firstLine(err: unknown): string {
  const text = err instanceof ClearsightError && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].trim();
}

function validateThreads(threads: unknown): number | undefined {
  if (threads === undefined) return undefined;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw invalidOption('threads', 'an integer from 1 to 256', threads);
  }
  return threads;
}
