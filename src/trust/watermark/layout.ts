/**
 * The watermark tile: a 32 x 32 grid of cells, repeated periodically over the image.
 *
 * - 220 cells are pilots: key-derived signs the detector knows. They locate the tile (cyclic
 *   shift after a crop) by cross-correlation, and their absence means "no watermark".
 * - 804 cells carry the 268 coded bits three times each. Which cell carries which bit is a
 *   chaotic permutation of the cells (the position permutation, also the ECC interleaver); each
 *   cell multiplies its bit by a chaotic chip sign; the coded bits are XORed with a chaotic
 *   keystream first (the encryption). Without the key the cells are i.i.d. fair coin flips.
 */
import { chaoticBits, chaoticPermutation, chaoticSigns } from './chaos.js';
import { codedLength } from './ecc.js';
import type { WatermarkKey } from './key.js';
import { PAYLOAD_BITS } from './payload.js';

export const TILE_CELLS = 32;
export const CELLS = TILE_CELLS * TILE_CELLS;
export const CODED_BITS = codedLength(PAYLOAD_BITS);
export const REPEATS = 3;
export const DATA_CELLS = CODED_BITS * REPEATS;
export const PILOT_CELLS = CELLS - DATA_CELLS;

export interface TileLayout {
  /** Cell index of each pilot. */
  pilotCells: Int32Array;
  /** +1/-1 per pilot. */
  pilotSigns: Int8Array;
  /** Cell index of each data slot; slot s carries coded bit s % CODED_BITS. */
  dataCells: Int32Array;
  /** +1/-1 chip per data slot. */
  chips: Int8Array;
  /** Keystream bit per coded bit. */
  keystream: Uint8Array;
}

export function tileLayout(key: WatermarkKey): TileLayout {
  const perm = chaoticPermutation(key.permutationSeed, CELLS);
  return {
    pilotCells: perm.slice(0, PILOT_CELLS),
    pilotSigns: chaoticSigns(key.pilotSeed, PILOT_CELLS),
    dataCells: perm.slice(PILOT_CELLS),
    chips: chaoticSigns(key.chipSeed, DATA_CELLS),
    keystream: chaoticBits(key.keystreamSeed, CODED_BITS),
  };
}

/** The +1/-1 value of every cell of the tile for the given coded bits. */
export function tileCells(layout: TileLayout, coded: Uint8Array): Float32Array {
  const cells = new Float32Array(CELLS);
  for (let i = 0; i < PILOT_CELLS; i++) cells[layout.pilotCells[i]] = layout.pilotSigns[i];
  for (let s = 0; s < DATA_CELLS; s++) {
    const bit = s % CODED_BITS;
    const enc = coded[bit] ^ layout.keystream[bit];
    cells[layout.dataCells[s]] = (enc ? 1 : -1) * layout.chips[s];
  }
  return cells;
}

/** Tiles across the short side of the image at embedding, and the smallest cell in pixels. */
export const TILES_ACROSS = 6;
export const MIN_CELL_PX = 3;

/** Cell size (pixels) used when embedding into an image whose short side is `shortSide`. */
export function cellSizeFor(shortSide: number): number {
  return Math.max(MIN_CELL_PX, shortSide / (TILES_ACROSS * TILE_CELLS));
}
