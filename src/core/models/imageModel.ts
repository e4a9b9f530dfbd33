import type { RawImage } from '../image/types.js';
import { ClearsightError, ERROR_CODES } from '../errors.js';
import { InferenceSession, type RuntimeOptions } from '../runtime/index.js';
import { report, type TaskControl } from '../progress.js';
import { TfjsSource } from './tfjsSource.js';
import { getModelCard, modelJsonPath, type ModelCard } from './registry.js';
import { readTrainedOnnx } from './trained.js';

export interface LoadModelOptions extends RuntimeOptions {
  /** Where converted models are cached; default $CLEARSIGHT_CACHE_DIR or ~/.cache/clearsight. */
  cacheDir?: string;
}

/**
 * A pretrained image-to-image network, owned by the caller (call dispose()).
 * Converted graphs have static shapes, so one onnxruntime session is kept per
 * input shape seen; tiling keeps that to one or two shapes per image. Models trained here are
 * exported with dynamic height and width: their bytes are read (and checked) once, at load, and one
 * session serves every shape.
 */
export class ImageModel {
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  private source: TfjsSource | undefined;
  private disposed = false;

  private constructor(
    readonly card: ModelCard,
    private readonly options: LoadModelOptions,
    /** The ONNX of a model trained here (sha256-checked against its card). */
    private readonly trainedOnnx?: Uint8Array,
  ) {}

  static async load(idOrName: string, options: LoadModelOptions = {}): Promise<ImageModel> {
    const card = getModelCard(idOrName);
    if (card.trained && card.trained.kind !== 'image') {
      throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model ${card.id} is not an image-to-image model (it outputs ${card.trained.io.outputs.map((o) => o.name).join(', ')})`, { model: card.id });
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
      throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.card.id} needs RGB tiles with sides divisible by ${divisibility}, got ${tile.width}x${tile.height}x${tile.channels}`);
    }
    const shape = [1, tile.height, tile.width, 3];
    const session = await this.session(shape, control);
    const gain = range[1];
    const input = gain === 1 ? tile.data : tile.data.map((v) => v * gain);
    const out = await session.run(input, shape);
    const expected = [1, tile.height * scale, tile.width * scale, 3];
    if (out.shape.join() !== expected.join()) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `model ${this.card.id} returned shape ${out.shape.join('x')}, expected ${expected.join('x')}`);
    }
    const data = gain === 1 ? out.data : out.data.map((v) => v / gain);
    return { width: tile.width * scale, height: tile.height * scale, channels: 3, data };
  }

  /** Converted ONNX bytes for one input shape (from the cache when possible; a conversion is reported as 'convert model'). */
  async onnxFor(shape: readonly number[], control?: TaskControl): Promise<Uint8Array> {
    if (this.trainedOnnx) return this.trainedOnnx;
    this.source ??= new TfjsSource(modelJsonPath(this.card), this.card.id);
    return this.source.onnxFor(shape, this.options.cacheDir, (phase) => report(control, 'convert model', phase === 'start' ? 0 : 1, 1));
  }

  private session(shape: readonly number[], control?: TaskControl): Promise<InferenceSession> {
    const key = this.trainedOnnx ? 'dynamic' : shape.join('x');
    let session = this.sessions.get(key);
    if (!session) {
      // 'prepare model' brackets reading (and, first time, converting: 'convert model' inside it) and the session.
      report(control, 'prepare model', 0, 1);
      session = this.onnxFor(shape, control).then((bytes) => InferenceSession.create(bytes, this.options));
      session.then(() => report(control, 'prepare model', 1, 1), () => this.sessions.delete(key));
      this.sessions.set(key, session);
    }
    return session;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    this.source?.release();
    for (const s of sessions) await (await s.catch(() => undefined))?.dispose();
  }
}
