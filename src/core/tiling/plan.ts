import { invalidOption } from '../errors.js';

/** Top-left corner of one tile, in coordinates of the (padded) input image. */
export interface TileOrigin {
  readonly x: number;
  readonly y: number;
}

/**
 * How to cut one image into equally sized tiles.
 *
 * Every tile has the same `tileWidth` x `tileHeight`: our ONNX models have a
 * static input shape (constant folding is where their speed comes from), so
 * one image must only ever feed one shape.
 */
export interface TilePlan {
  readonly imageWidth: number;
  readonly imageHeight: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  /**
   * Reflection padding appended on the right / bottom. Non-zero only on an axis
   * covered by a single tile (the image is shorter than a tile there); an axis
   * with several tiles ends its last tile flush with the image edge instead.
   */
  readonly padRight: number;
  readonly padBottom: number;
  /** Row-major: top row first, left to right within a row. */
  readonly tiles: readonly TileOrigin[];
}

export interface PlanOptions {
  /** Largest tile side the model may be run at (e.g. 512). */
  maxTile: number;
  /** Minimum overlap between neighbouring tiles, in input pixels (e.g. 32). */
  overlap: number;
  /** Tile sides must be multiples of this (64 for MAXIM, 1 for ESRGAN). */
  divisibility: number;
}

/** One axis of a plan: tile length, padding, and tile origins. */
export interface AxisPlan {
  readonly tile: number;
  readonly pad: number;
  readonly origins: readonly number[];
}

/**
 * Plans the tiles for a `width` x `height` image. Deterministic: the same
 * arguments always give the same plan. Throws E_INVALID_OPTION naming the
 * offending parameter.
 */
export function planTiles(width: number, height: number, opts: PlanOptions): TilePlan {
  requireInt('width', width, 1);
  requireInt('height', height, 1);
  const { maxTile, overlap, divisibility } = validatePlanOptions(opts);
  const xAxis = planAxis(width, maxTile, overlap, divisibility);
  const yAxis = planAxis(height, maxTile, overlap, divisibility);
  const tiles: TileOrigin[] = [];
  for (const y of yAxis.origins) for (const x of xAxis.origins) tiles.push({ x, y });
  return {
    imageWidth: width,
    imageHeight: height,
    tileWidth: xAxis.tile,
    tileHeight: yAxis.tile,
    padRight: xAxis.pad,
    padBottom: yAxis.pad,
    tiles,
  };
}

/**
 * Plans one axis.
 *
 * - If the whole axis, rounded up to the divisibility, fits in `maxTile`, one
 *   tile spans it and the remainder is padded (padding is cheaper than a
 *   second tile and keeps the image whole, so no seams).
 * - Otherwise the tile is `maxTile` rounded down to the divisibility (so large
 *   images all share one shape) and the fewest tiles whose neighbours overlap
 *   by at least `overlap` are spread evenly over [0, size - tile]. The last one
 *   is flush with the edge, so nothing is padded: padding would put made-up
 *   content where real pixels exist.
 *
 * Assumes validated arguments (see validatePlanOptions).
 */
export function planAxis(size: number, maxTile: number, overlap: number, divisibility: number): AxisPlan {
  const whole = roundUp(size, divisibility);
  if (whole <= maxTile) return { tile: whole, pad: whole - size, origins: [0] };

  // size > tile here: if size <= tile then roundUp(size) <= tile <= maxTile.
  const tile = roundDown(maxTile, divisibility);
  const span = size - tile;
  // Fewest tiles such that the mean stride span/(count-1) <= tile - overlap.
  // Strides are floor or ceil of that mean, and tile - overlap is an integer,
  // so every actual stride is <= tile - overlap: the overlap is guaranteed.
  const count = 1 + Math.ceil(span / (tile - overlap));
  const origins = Array.from({ length: count }, (_, i) => Math.floor((i * span) / (count - 1)));
  return { tile, pad: 0, origins };
}

/** Checks the plan options against each other; returns them unchanged. */
export function validatePlanOptions(opts: PlanOptions): PlanOptions {
  if (typeof opts !== 'object' || opts === null) throw invalidOption('opts', 'an object { maxTile, overlap, divisibility }', opts);
  const { maxTile, overlap, divisibility } = opts;
  requireInt('divisibility', divisibility, 1);
  requireInt('maxTile', maxTile, 1);
  if (maxTile < divisibility) {
    throw invalidOption('maxTile', `an integer >= divisibility (${divisibility})`, maxTile);
  }
  requireInt('overlap', overlap, 0);
  // The tile used when an axis needs several tiles. An overlap of half a tile
  // or more would make the stride <= overlap and tiles would mostly repeat work.
  const tile = roundDown(maxTile, divisibility);
  if (2 * overlap >= tile) {
    throw invalidOption('overlap', `an integer < half the tile size ${tile} (maxTile rounded down to divisibility)`, overlap);
  }
  return opts;
}

/** Throws E_INVALID_OPTION unless `value` is an integer >= `min`. */
export function requireInt(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalidOption(name, min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`, value);
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

function roundDown(n: number, m: number): number {
  return Math.floor(n / m) * m;
}

/** Sorted distinct tile starts per axis of a grid plan. */
export interface PlanGrid {
  readonly xs: readonly number[];
  readonly ys: readonly number[];
}

/**
 * Checks that `plan` is a full grid of equal tiles covering a `width` x
 * `height` image inside its padded bounds, and returns the grid's axes.
 * runTiled accepts hand-made plans too, so it must not trust them blindly:
 * a gap would otherwise surface as a zero-weight pixel after all the work.
 */
export function checkPlan(plan: TilePlan, width: number, height: number): PlanGrid {
  if (typeof plan !== 'object' || plan === null) throw invalidOption('plan', 'a TilePlan from planTiles', plan);
  if (plan.imageWidth !== width || plan.imageHeight !== height) {
    throw invalidOption('plan', `a plan for a ${width}x${height} image`, `a plan for ${plan.imageWidth}x${plan.imageHeight}`);
  }
  requireInt('plan.tileWidth', plan.tileWidth, 1);
  requireInt('plan.tileHeight', plan.tileHeight, 1);
  requireInt('plan.padRight', plan.padRight, 0);
  requireInt('plan.padBottom', plan.padBottom, 0);
  if (!Array.isArray(plan.tiles) || plan.tiles.length === 0) throw invalidOption('plan.tiles', 'a non-empty array', plan.tiles);
  const xs = checkAxis(
    'x',
    plan.tiles.map((t) => t.x),
    plan.tileWidth,
    width,
    width + plan.padRight,
  );
  const ys = checkAxis(
    'y',
    plan.tiles.map((t) => t.y),
    plan.tileHeight,
    height,
    height + plan.padBottom,
  );
  const distinct = new Set(plan.tiles.map((t) => `${t.x},${t.y}`)).size;
  if (distinct !== plan.tiles.length || distinct !== xs.length * ys.length) {
    throw invalidOption('plan.tiles', `a full grid of ${xs.length}x${ys.length} distinct tiles`, `${plan.tiles.length} tiles`);
  }
  return { xs, ys };
}

/** Validates one axis of tile starts; returns them sorted and distinct. */
function checkAxis(axis: 'x' | 'y', starts: number[], tile: number, size: number, padded: number): number[] {
  const name = `plan.tiles[].${axis}`;
  for (const s of starts) requireInt(name, s, 0);
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  const last = sorted[sorted.length - 1];
  if (last + tile > padded) throw invalidOption(name, `tiles inside the padded image (start <= ${padded - tile})`, last);
  if (sorted[0] !== 0) throw invalidOption(name, 'a first tile at 0', sorted[0]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] > sorted[i - 1] + tile) throw invalidOption(name, `no gap between tiles (start <= ${sorted[i - 1] + tile})`, sorted[i]);
  }
  if (last + tile < size) throw invalidOption(name, `tiles reaching the image edge ${size}`, last + tile);
  return sorted;
}
