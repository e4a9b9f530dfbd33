import { ClearsightError, ERROR_CODES } from '../errors.js';
import type { RawImage } from '../image/types.js';
import { createImage } from '../image/types.js';
import type { TaskControl } from '../progress.js';
import { report, throwIfAborted } from '../progress.js';
import { featherWeights } from './feather.js';
import type { TilePlan } from './plan.js';
import { checkPlan, requireInt } from './plan.js';
import { readRegion } from './pad.js';

/** Runs the model on one tile; must return a tile `scale` times larger, same channels. */
export type TileRunner = (tile: RawImage, index: number) => Promise<RawImage>;

export interface RunTiledOptions {
  /** Output/input size ratio of the model: 1 for restoration, 2..8 for upscalers. */
  scale: number;
  /** Progress (`stage: 'tiles'`): 0 of n before the first tile, then after each; abort checked before each tile. */
  control?: TaskControl;
}

/**
 * Runs an image-to-image model over `img` tile by tile as laid out by `plan`
 * and blends the tiles with feathered weights (see featherWeights).
 *
 * Tiles run one after another: peak memory is the output, one weight plane and
 * one tile in flight. Padding is read by reflection on the fly (readRegion), so
 * no padded copy of the input is made, and results are written straight into
 * the unpadded output, which crops the padding for free.
 */
export async function runTiled(img: RawImage, plan: TilePlan, run: TileRunner, opts: RunTiledOptions): Promise<RawImage> {
  requireInt('scale', opts?.scale, 1);
  const { scale, control } = opts;
  const { xs, ys } = checkPlan(plan, img.width, img.height);
  const { tileWidth: tw, tileHeight: th, tiles } = plan;
  const out = createImage(img.width * scale, img.height * scale, img.channels);
  const weight = new Float32Array(out.width * out.height);
  // One weight profile per column / row of the grid, shared by its tiles.
  const colWeights = new Map(xs.map((x, i) => [x, featherWeights(xs, i, tw, scale)]));
  const rowWeights = new Map(ys.map((y, i) => [y, featherWeights(ys, i, th, scale)]));

  // The total is known now: say so before the first (possibly only, possibly long) tile.
  report(control, 'tiles', 0, tiles.length);
  for (let i = 0; i < tiles.length; i++) {
    throwIfAborted(control?.signal);
    const { x, y } = tiles[i];
    const result = await run(readRegion(img, x, y, tw, th), i);
    checkTileResult(result, tw * scale, th * scale, img.channels, i);
    accumulate(out, weight, result, x * scale, y * scale, colWeights.get(x)!, rowWeights.get(y)!);
    report(control, 'tiles', i + 1, tiles.length);
  }
  normalise(out, weight);
  return out;
}

/** The model must honour the static shape; anything else is a runtime fault. */
function checkTileResult(tile: RawImage, width: number, height: number, channels: number, index: number): void {
  const ok =
    tile != null &&
    tile.width === width &&
    tile.height === height &&
    tile.channels === channels &&
    tile.data instanceof Float32Array &&
    tile.data.length === width * height * channels;
  if (!ok) {
    const got = tile == null ? String(tile) : `${tile.width}x${tile.height}x${tile.channels} (${tile.data?.length} samples)`;
    throw new ClearsightError(ERROR_CODES.RUNTIME, `Tile ${index}: model returned ${got}, expected ${width}x${height}x${channels}`, {
      index,
      expected: { width, height, channels },
      got: tile == null ? null : { width: tile.width, height: tile.height, channels: tile.channels },
    });
  }
}

/**
 * Adds weight * tile into `out` at (ox, oy) and the weight into `weight`.
 * Samples beyond the output (the padded margin) are dropped.
 */
function accumulate(out: RawImage, weight: Float32Array, tile: RawImage, ox: number, oy: number, wx: Float32Array, wy: Float32Array): void {
  const c = out.channels;
  const cols = Math.min(tile.width, out.width - ox);
  const rows = Math.min(tile.height, out.height - oy);
  for (let ty = 0; ty < rows; ty++) {
    const rowW = wy[ty];
    let p = (oy + ty) * out.width + ox;
    let src = ty * tile.width * c;
    for (let tx = 0; tx < cols; tx++, p++, src += c) {
      const w = rowW * wx[tx];
      weight[p] += w;
      const dst = p * c;
      for (let k = 0; k < c; k++) out.data[dst + k] += w * tile.data[src + k];
    }
  }
}

/** Divides the weighted sums by the total weight, in place. */
function normalise(out: RawImage, weight: Float32Array): void {
  const c = out.channels;
  for (let p = 0; p < weight.length; p++) {
    const w = weight[p];
    // Weights are positive by construction (featherWeights, checkPlan); a zero
    // here is a bug, and dividing by it would silently write NaN/Infinity.
    if (!(w > 0)) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `Tiling left output pixel (${p % out.width}, ${Math.floor(p / out.width)}) with weight ${w}`);
    }
    for (let k = p * c; k < p * c + c; k++) out.data[k] /= w;
  }
}
