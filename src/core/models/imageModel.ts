import type { RawImage } from '../image/types.js';
import { ClearsightError, ERROR_CODES } from '../errors.js';
import type { InferenceSession, RuntimeOptions } from '../runtime/index.js';
import { report, type TaskControl } from '../progress.js';
import { TfjsSource } from './tfjsSource.js';
import { getModelCard, modelJsonPath, type ModelCard } from './registry.js';
import { readTrainedOnnx } from './trained.js';
import type { SessionLease, SessionStore } from './pool.js';
import { int8Recipe, int8Variant, validatePrecision, type Precision } from './precision.js';
import type { GraphVariant } from './tfjsSource.js';
import { createOptimizedSession } from './optimizedCache.js';

export interface LoadModelOptions extends RuntimeOptions {
  /** Where converted models are cached; default $CLEARSIGHT_CACHE_DIR or ~/.cache/clearsight. */
  cacheDir?: string;
  /**
   * Where the sessions live: a ModelPool the caller owns keeps them warm across models and jobs
   * (bounded, LRU). Without one the model keeps its own sessions until dispose().
   */
  sessions?: SessionStore;
  /**
   * 'fp32' (default) or 'int8': the converted graph quantized (core/models/precision), offered
   * only for the models measured within 0.1 dB of fp32 (INT8_MODELS); others refuse it.
   */
  precision?: Precision;
}

/** Sessions of one ImageModel without a pool: kept until the model is disposed. */
class OwnSessions implements SessionStore {
  readonly map = new Map<string, Promise<InferenceSession>>();
  async acquire(key: { shape: string }, create: () => Promise<{ session: InferenceSession }>): Promise<SessionLease> {
    let ready = this.map.get(key.shape);
    if (!ready) {
      ready = create().then((c) => c.session);
      ready.catch(() => this.map.delete(key.shape));
      this.map.set(key.shape, ready);
    }
    return { session: await ready, release: () => {} };
  }
}

/**
 * A pretrained image-to-image network, owned by the caller (call dispose()).
 * Converted graphs have static shapes, so one onnxruntime session is kept per
 * input shape seen; tiling keeps that to one or two shapes per image. Models trained here are
 * exported with dynamic height and width: their bytes are read (and checked) once, at load, and one
 * session serves every shape.
 */
export class ImageModel {
  private readonly own = new OwnSessions();
  private source: TfjsSource | undefined;
  private disposed = false;
  /** The int8 graph's recipe as a cache variant; undefined in fp32. */
  private readonly variant: GraphVariant | undefined;

  private constructor(
    readonly card: ModelCard,
    private readonly options: LoadModelOptions,
    /** The ONNX of a model trained here (sha256-checked against its card). */
    private readonly trainedOnnx?: Uint8Array,
  ) {
    const recipe = options.precision === 'int8' ? int8Recipe(card.name) : undefined;
    this.variant = recipe ? int8Variant(recipe) : undefined;
  }

  get precision(): Precision {
    return this.variant ? 'int8' : 'fp32';
  }

  static async load(idOrName: string, options: LoadModelOptions = {}): Promise<ImageModel> {
    const card = getModelCard(idOrName);
    validatePrecision(options.precision, card.name);
    if (card.trained && card.trained.kind !== 'image') {
      throw new ClearsightError(
        ERROR_CODES.MODEL_NOT_FOUND,
        `model ${card.id} is not an image-to-image model (it outputs ${card.trained.io.outputs.map((o) => o.name).join(', ')})`,
        { model: card.id },
      );
    }
    if (card.trained) return new ImageModel(card, options, readTrainedOnnx(card.trained)); // fails now if missing or not matching its card
    modelJsonPath(card); // fail now, with E_MODEL_NOT_FOUND, if the package is missing
    return new ImageModel(card, options);
  }

  /**
   * Converts (first time) and loads the network for tiles of this size, reporting 'prepare model'
   * (and 'convert model'), so that a caller can finish preparing before its first tile instead
   * of inside it (predict does it on demand otherwise).
   */
  async prepare(tileWidth: number, tileHeight: number, control?: TaskControl): Promise<void> {
    if (this.disposed) throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.card.id} used after dispose()`);
    await this.session([1, tileHeight, tileWidth, 3], control);
  }

  /** Runs the network on one tile whose sides satisfy the card's divisibility. Values in [0,1]. */
  async predict(tile: RawImage, control?: TaskControl): Promise<RawImage> {
    if (this.disposed) throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.card.id} used after dispose()`);
    const { divisibility, scale, range } = this.card.io;
    if (tile.channels !== 3 || tile.width % divisibility || tile.height % divisibility) {
      throw new ClearsightError(
        ERROR_CODES.RUNTIME,
        `model ${this.card.id} needs RGB tiles with sides divisible by ${divisibility}, got ${tile.width}x${tile.height}x${tile.channels}`,
      );
    }
    const shape = [1, tile.height, tile.width, 3];
    const lease = await this.session(shape, control);
    const gain = range[1];
    const input = gain === 1 ? tile.data : tile.data.map((v) => v * gain);
    let out: Awaited<ReturnType<typeof lease.session.run>>;
    try {
      out = await lease.session.run(input, shape);
    } finally {
      lease.release();
    }
    const expected = [1, tile.height * scale, tile.width * scale, 3];
    if (out.shape.join() !== expected.join()) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.card.id} returned shape ${out.shape.join('x')}, expected ${expected.join('x')}`);
    }
    const data = gain === 1 ? out.data : out.data.map((v) => v / gain);
    return { width: tile.width * scale, height: tile.height * scale, channels: 3, data };
  }

  /**
   * Creates the session for one tile shape now (default: the card's largest tile, the shape of
   * every full tile of a large picture), so that the first job does not pay for it.
   */
  async warm(height = this.card.io.maxTile, width = height): Promise<void> {
    if (this.disposed) throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.card.id} used after dispose()`);
    (await this.session([1, height, width, 3])).release();
  }

  /** Converted ONNX bytes for one input shape (from the cache when possible; a conversion is reported as 'convert model'). */
  async onnxFor(shape: readonly number[], control?: TaskControl): Promise<Uint8Array> {
    if (this.trainedOnnx) return this.trainedOnnx;
    this.source ??= new TfjsSource(modelJsonPath(this.card), this.card.id);
    return this.source.onnxFor(shape, this.options.cacheDir, this.variant, (phase) => report(control, 'convert model', phase === 'start' ? 0 : 1, 1));
  }

  private async session(shape: readonly number[], control?: TaskControl): Promise<SessionLease> {
    const store = this.options.sessions ?? this.own;
    const key = {
      model: this.card.id,
      shape: this.trainedOnnx ? 'dynamic' : shape.join('x'),
      device: this.options.device ?? 'cpu',
      precision: this.precision,
      threads: this.options.threads ?? 0,
    };
    return store.acquire(key, async () => {
      // 'prepare model' brackets reading (and, first time, converting: 'convert model' inside it) and the session.
      report(control, 'prepare model', 0, 1);
      const bytes = await this.onnxFor(shape, control);
      // A pooled model lives as long as its worker: it does not keep the decoded tfjs weights
      // between conversions (a new tile shape reads them again, ~1 s for MAXIM).
      if (this.options.sessions) this.source?.release();
      // Converted graphs: the session comes from onnxruntime's optimised graph, saved beside the cache file.
      const cached = this.source ? await this.source.cachePath(shape, this.options.cacheDir, this.variant) : undefined;
      const session = await createOptimizedSession(bytes, cached, this.options);
      report(control, 'prepare model', 1, 1);
      return { session, onnxBytes: bytes.length };
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    // Sessions in a pool belong to the pool; only the model's own are disposed here.
    const sessions = [...this.own.map.values()];
    this.own.map.clear();
    this.source?.release();
    for (const s of sessions) await (await s.catch(() => undefined))?.dispose();
  }
}
