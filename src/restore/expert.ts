import type { RawImage } from '../core/image/types.js';
import { applyDihedral, DIHEDRAL_COUNT, invertDihedral } from '../core/image/geometry.js';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import { ImageModel, type LoadModelOptions } from '../core/models/imageModel.js';
import type { ModelPool } from '../core/models/pool.js';
import type { ModelIo } from '../core/models/registry.js';
import { planTiles, runTiled, type TilePlan } from '../core/tiling/index.js';
import { throwIfAborted, type TaskControl } from '../core/progress.js';

/** Options every learned restoration task accepts. */
export interface ExpertOptions extends TaskControl, LoadModelOptions {
  /** x8 self-ensemble: average over flips and rotations (8x slower, usually a small PSNR gain). */
  tta?: boolean;
  /** Largest tile side; default from the model card, never below the card's minTile (see expertTilePlan). */
  maxTile?: number;
  /** Tile overlap in pixels; default from the model card. */
  overlap?: number;
  /** A model the caller loaded and owns; otherwise one is loaded and disposed here. */
  model?: ImageModel;
  /**
   * Warm models: the model comes from this pool (loaded once, sessions kept per tile shape
   * within the pool's memory budget) and stays there after the call. The caller owns the pool.
   */
  pool?: ModelPool;
}

/** Largest output we allocate, in pixels (Float32 RGB: 12 bytes a pixel, so ~2.4 GB). */
export const MAX_OUTPUT_PIXELS = 200_000_000;

/** Runs a learned expert over an image of any size: tiles, optional x8 TTA, progress, abort. */
export async function runExpert(img: RawImage, modelId: string, options: ExpertOptions = {}): Promise<RawImage> {
  validateExpertOptions(options);
  throwIfAborted(options.signal);
  const model = options.model ?? (options.pool ? await pooledImageModel(options.pool, modelId, options) : await ImageModel.load(modelId, options));
  const owned = !options.model && !options.pool;
  try {
    const { io } = model.card;
    const outPixels = img.width * img.height * io.scale * io.scale;
    if (outPixels > MAX_OUTPUT_PIXELS) {
      throw new ClearsightError(ERROR_CODES.INPUT_TOO_LARGE, `output would be ${outPixels} pixels, more than the ${MAX_OUTPUT_PIXELS} limit`, { outPixels });
    }
    const passes = options.tta ? DIHEDRAL_COUNT : 1;
    let sum: Float32Array | undefined;
    let result: RawImage | undefined;
    for (let k = 0; k < passes; k++) {
      const view = applyDihedral(img, k);
      const plan = expertTilePlan(io, view.width, view.height, options);
      const control: TaskControl = {
        signal: options.signal,
        onProgress: (e) =>
          options.onProgress?.(e.stage === 'tiles' ? { stage: 'tiles', done: k * plan.tiles.length + e.done, total: passes * plan.tiles.length } : e),
      };
      // The model is ready before the first tile: 'prepare model' ends before 'tiles' 0/n, so
      // a front end's bar does not sit at "prepare model 1/1" (100%) through the first tile.
      // (A caller's stand-in model without prepare() is prepared on its first tile, as before.)
      if (typeof model.prepare === 'function') await model.prepare(plan.tileWidth, plan.tileHeight, control);
      const restored = invertDihedral(await runTiled(view, plan, (tile) => model.predict(tile, control), { scale: io.scale, control }), k);
      if (passes === 1) return restored;
      sum ??= new Float32Array(restored.data.length);
      for (let i = 0; i < sum.length; i++) sum[i] += restored.data[i];
      result = restored;
    }
    for (let i = 0; i < sum!.length; i++) sum![i] /= passes;
    return { ...result!, data: sum! };
  } finally {
    if (owned) await model.dispose();
  }
}

/** The pool's ImageModel for this model and runtime (one per model, device, threads and cache). */
export function pooledImageModel(pool: ModelPool, modelId: string, options: LoadModelOptions = {}): Promise<ImageModel> {
  const { device, threads, cacheDir, precision } = options;
  const key = `image|${modelId}|${device ?? 'cpu'}|${threads ?? 0}|${precision ?? 'fp32'}|${cacheDir ?? ''}`;
  return pool.model(key, () => ImageModel.load(modelId, { device, threads, cacheDir, precision, sessions: pool }));
}

/**
 * The tiles a model with card I/O `io` runs on for a `width` x `height` image.
 * A requested tile below the card's `minTile` is raised to it: a smaller tile saves
 * memory but changes what the network computes (MAXIM at 128 px leaves rain), so it
 * is not offered. The card's overlap suits its default tile; a smaller tile gets a
 * proportionally smaller one.
 */
export function expertTilePlan(io: ModelIo, width: number, height: number, options: Pick<ExpertOptions, 'maxTile' | 'overlap'> = {}): TilePlan {
  const maxTile = Math.max(options.maxTile ?? io.maxTile, io.minTile);
  const overlap = options.overlap ?? Math.min(io.overlap, Math.floor(maxTile / 4));
  return planTiles(width, height, { maxTile, overlap, divisibility: io.divisibility });
}

function validateExpertOptions(o: ExpertOptions): void {
  if (o.tta !== undefined && typeof o.tta !== 'boolean') throw invalidOption('tta', 'a boolean', o.tta);
  if (o.maxTile !== undefined && (!Number.isInteger(o.maxTile) || o.maxTile < 16)) throw invalidOption('maxTile', 'an integer >= 16', o.maxTile);
  if (o.overlap !== undefined && (!Number.isInteger(o.overlap) || o.overlap < 0)) throw invalidOption('overlap', 'an integer >= 0', o.overlap);
}
