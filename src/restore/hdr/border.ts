/**
 * Fill borders: the part of a frame along its edges that holds no scene content but a constant
 * fill colour. Registered film scans and rotated or cropped frames pad their empty corners and
 * wedges with one exact 8-bit colour (hdr/memorial: pure blue (0, 0, 255), 1-6 px wedges along
 * different edges in different frames). Compared against the reference those pixels disagree by
 * several ln units, and after dilation the ghost detector painted a band around the whole frame
 * (most of memorial's 7.87 % flagged pixels). They are missing data, not motion.
 *
 * Definition (no colour is hard-coded): the fill colour of a frame is the most frequent exact RGB
 * triple on its outermost ring of pixels, when it covers at least 5 % of the ring and is not an
 * ordinary clip (all three channels at black or all three at white: under- and over-exposure are
 * handled by the clip levels, and a clipped sky touching the edge is scene content). The fill is
 * every pixel of exactly that triple connected to the edge through such pixels, widened by one
 * pixel (resampling blends the fill into its neighbours). Natural content almost never holds one
 * exact triple over a connected run from the edge; as a further guard a "fill" covering more than
 * a quarter of the frame is taken to be scene content and ignored.
 */
import type { ClipLevels } from './merge.js';

/** Smallest share of the outermost ring that the fill colour must cover. */
const MIN_RING_SHARE = 0.05;
/** Largest share of the frame a fill may cover before it is taken to be scene content. */
const MAX_FRAME_SHARE = 0.25;

/**
 * 1 where the frame holds its edge fill colour (see the module comment), or null when it has no
 * fill border. `codes`: interleaved 8-bit RGB.
 */
export function fillBorder(codes: Uint8Array, width: number, height: number, clip: ClipLevels): Uint8Array | null {
  if (width < 3 || height < 3) return null;
  const ring = ringPixels(width, height);
  const counts = new Map<number, number>();
  for (const i of ring) {
    const k = tripleAt(codes, i);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  let fill = -1;
  let best = 0;
  for (const [k, c] of counts) if (c > best) [fill, best] = [k, c];
  if (best < MIN_RING_SHARE * ring.length || isOrdinaryClip(fill, clip)) return null;
  const mask = new Uint8Array(width * height);
  const area = floodFill(codes, width, height, ring, fill, mask);
  if (area > MAX_FRAME_SHARE * width * height) return null;
  return dilate1(mask, width, height);
}

/** The 24-bit RGB triple of pixel i. */
function tripleAt(codes: Uint8Array, i: number): number {
  return (codes[i * 3]! << 16) | (codes[i * 3 + 1]! << 8) | codes[i * 3 + 2]!;
}

/** Marks in `mask` the pixels of exactly the `fill` triple connected to the ring through such pixels; returns their count. */
function floodFill(codes: Uint8Array, width: number, height: number, ring: readonly number[], fill: number, mask: Uint8Array): number {
  const stack: number[] = [];
  for (const i of ring) {
    if (!mask[i] && tripleAt(codes, i) === fill) {
      mask[i] = 1;
      stack.push(i);
    }
  }
  let area = stack.length;
  while (stack.length > 0) {
    const i = stack.pop()!;
    const x = i % width;
    const y = (i - x) / width;
    // The four neighbours, each tested and pushed in the same order as before.
    const nb = [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, y > 0 ? i - width : -1, y < height - 1 ? i + width : -1];
    for (const j of nb) {
      if (j >= 0 && !mask[j] && tripleAt(codes, j) === fill) {
        mask[j] = 1;
        area++;
        stack.push(j);
      }
    }
  }
  return area;
}

/** Indices of the outermost ring of pixels, each once. */
function ringPixels(width: number, height: number): number[] {
  const out: number[] = [];
  for (let x = 0; x < width; x++) out.push(x, (height - 1) * width + x);
  for (let y = 1; y < height - 1; y++) out.push(y * width, y * width + width - 1);
  return out;
}

/** All three channels at black, or all three at white: an exposure's clip, not a fill. */
function isOrdinaryClip(triple: number, clip: ClipLevels): boolean {
  const z = [(triple >> 16) & 255, (triple >> 8) & 255, triple & 255];
  return z.every((v, c) => v <= clip.low[c as 0 | 1 | 2]) || z.every((v, c) => v >= clip.high[c as 0 | 1 | 2]);
}

/** 3x3 dilation of a 0/1 mask. */
function dilate1(mask: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  // Fill hugs the edges: rows with no fill pixel are skipped by the index scan.
  for (let y = 0; y < height; y++) {
    if (mask.subarray(y * width, (y + 1) * width).indexOf(1) < 0) continue;
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(height - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(width - 1, x + 1); xx++) out[yy * width + xx] = 1;
      }
    }
  }
  return out;
}
