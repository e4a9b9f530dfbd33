import { join } from 'node:path';
import { ClearsightError, ERROR_CODES } from '../errors.js';
import { cacheFileName, defaultCacheDir, readCached, writeCached } from './cache.js';
import { CONVERTER_VERSION, convertTfjsToOnnx, hashTfjsModel, loadTfjsArtifacts, type TfjsArtifacts } from './convert/index.js';

/** A graph derived from a converted one; `tag` names it in the cache (include the deriver's version). */
export interface GraphVariant {
  tag: string;
  derive(onnx: Uint8Array): Uint8Array;
}

/**
 * A tfjs model on disk, converted to ONNX on demand, one conversion per input shape, through the
 * content-addressed cache (sha256 of model.json and shards, shape, converter version). The weights
 * are read and hashed once per object; callers that need several shapes (tiles) keep one around.
 */
export class TfjsSource {
  private hash: Promise<string> | undefined;
  private artifacts: Promise<TfjsArtifacts> | undefined;

  /** `label` names the model in error messages (a card id). */
  constructor(
    readonly modelJsonPath: string,
    readonly label: string,
  ) {}

  /**
   * ONNX bytes for one static NHWC input shape, from the cache when possible. `variant`: a graph
   * derived from the converted one (the int8 graph), cached beside it under its own tag.
   * `onConvert` hears when a conversion starts (a cache miss: seconds, worth telling the user) and ends.
   */
  async onnxFor(
    shape: readonly number[],
    cacheDir: string = defaultCacheDir(),
    variant?: GraphVariant,
    onConvert?: (phase: 'start' | 'end') => void,
  ): Promise<Uint8Array> {
    if (variant) {
      this.hash ??= hashTfjsModel(this.modelJsonPath);
      const name = cacheFileName(await this.hash, shape, CONVERTER_VERSION, variant.tag);
      const cached = await readCached(cacheDir, name);
      if (cached) return cached;
      const derived = variant.derive(await this.onnxFor(shape, cacheDir, undefined, onConvert));
      await writeCached(cacheDir, name, derived);
      return derived;
    }
    this.hash ??= hashTfjsModel(this.modelJsonPath);
    const name = cacheFileName(await this.hash, shape, CONVERTER_VERSION);
    const cached = await readCached(cacheDir, name);
    if (cached) return cached;
    onConvert?.('start');
    this.artifacts ??= loadTfjsArtifacts(this.modelJsonPath);
    let onnx: Uint8Array;
    try {
      onnx = convertTfjsToOnnx(await this.artifacts, shape).onnx;
    } catch (err) {
      throw new ClearsightError(
        ERROR_CODES.MODEL_CONVERSION,
        `converting ${this.label} for input ${shape.join('x')} failed: ${(err as Error).message}`,
        { model: this.label },
        { cause: err },
      );
    }
    await writeCached(cacheDir, name, onnx);
    onConvert?.('end');
    return onnx;
  }

  /** The cache file of one shape (and variant): its name is content-addressed, it may not exist yet. */
  async cachePath(shape: readonly number[], cacheDir: string = defaultCacheDir(), variant?: GraphVariant): Promise<string> {
    this.hash ??= hashTfjsModel(this.modelJsonPath);
    return join(cacheDir, 'models', cacheFileName(await this.hash, shape, CONVERTER_VERSION, variant?.tag));
  }

  /** Drops the decoded weights (the hash is kept). */
  release(): void {
    this.artifacts = undefined;
  }
}
