/**
 * 1-D blending weights for tile `index` of one axis, at output resolution.
 *
 * `origins` are the sorted tile starts on this axis (input pixels), `tile` the
 * tile length (input pixels), `scale` the output/input size ratio.
 *
 * Where the tile intersects its previous / next neighbour the weight ramps
 * linearly across the whole intersection (up on the left, down on the right);
 * elsewhere, including image borders, it is 1. Why:
 * - a network's output is least trustworthy near a tile edge (its receptive
 *   field there sees padding, not the real neighbour), so the edge gets the
 *   least weight and the neighbour's interior takes over;
 * - the two ramps over one intersection are mirror images sampled at pixel
 *   centres, (k + 0.5) / L and 1 - (k + 0.5) / L, so they sum to exactly 1 and
 *   never reach 0: every covered pixel keeps a positive total weight.
 * A tile whose two ramps meet (three tiles over one pixel) takes the smaller.
 */
export function featherWeights(origins: readonly number[], index: number, tile: number, scale: number): Float32Array {
  const n = tile * scale;
  const left = index > 0 ? Math.max(0, origins[index - 1] + tile - origins[index]) * scale : 0;
  const right = index < origins.length - 1 ? Math.max(0, origins[index] + tile - origins[index + 1]) * scale : 0;
  const weights = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const up = k < left ? (k + 0.5) / left : 1;
    const down = k >= n - right ? (n - k - 0.5) / right : 1;
    weights[k] = Math.min(up, down);
  }
  return weights;
}
