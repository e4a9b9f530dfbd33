import type { RawImage } from '../core/image/types.js';
import { applyDihedral, DIHEDRAL_COUNT, invertDihedral } from '../core/image/geometry.js';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import { ImageModel, type LoadModelOptions } from '../core/models/imageModel.js';
import { planTiles, runTiled } from '../core/tiling/index.js';
import { throwIfAborted, type TaskControl } from '../core/progress.js';

/** Options every learned restoration task accepts. */
export interface ExpertOptions extends TaskControl, LoadModelOptions {
  /** x8 self-ensemble: average over flips and rotations (8x slower, usually a small PSNR gain). */
  tta?: boolean;
  /** Largest tile side; default from the model card. */
  maxTile?: number;
  /** Tile overlap in pixels; default from the model card. */
  overlap?: number;
  /** A model the caller loaded and owns; otherwise one is loaded and disposed here. */
  model?: ImageModel;
}

/** Largest output we allocate, in pixels (Float32 RGB: 12 bytes a pixel, so ~2.4 GB). */
export const MAX_OUTPUT_PIXELS = 200_000_000;

/** Runs a learned expert over an image of any size: tiles, optional x8 TTA, progress, abort. */
export async function runExpert(img: RawImage, modelId: string, options: ExpertOptions = {}): Promise<RawImage> {
  validateExpertOptions(options);
  throwIfAborted(options.signal);
  const model = options.model ?? (await ImageModel.load(modelId, options));
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
      const maxTile = options.maxTile ?? io.maxTile;
      // The card's overlap suits its default tile; a smaller --max-tile gets a proportionally smaller one.
      const overlap = options.overlap ?? Math.min(io.overlap, Math.floor(maxTile / 4));
      const plan = planTiles(view.width, view.height, { maxTile, overlap, divisibility: io.divisibility });
      const control: TaskControl = {
        signal: options.signal,
        onProgress: (e) =>
          options.onProgress?.(e.stage === 'tiles' ? { stage: 'tiles', done: k * plan.tiles.length + e.done, total: passes * plan.tiles.length } : e),
      };
      const restored = invertDihedral(await runTiled(view, plan, (tile) => model.predict(tile, control), { scale: io.scale, control }), k);
      if (passes === 1) return restored;
      sum ??= new Float32Array(restored.data.length);
      for (let i = 0; i < sum.length; i++) sum[i] += restored.data[i];
      result = restored;
    }
    for (let i = 0; i < sum!.length; i++) sum![i] /= passes;
    return { ...result!, data: sum! };
  } finally {
    if (!options.model) await model.dispose();
  }
}

function validateExpertOptions(o: ExpertOptions): void {
  if (o.tta !== undefined && typeof o.tta !== 'boolean') throw invalidOption('tta', 'a boolean', o.tta);
  if (o.maxTile !== undefined && (!Number.isInteger(o.maxTile) || o.maxTile < 16)) throw invalidOption('maxTile', 'an integer >= 16', o.maxTile);
  if (o.overlap !== undefined && (!Number.isInteger(o.overlap) || o.overlap < 0)) throw invalidOption('overlap', 'an integer >= 0', o.overlap);
}
