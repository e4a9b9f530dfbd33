/**
 * Grey-level erosion (minimum over a square window) in O(N) per pass, independent of the
 * radius: the van Herk / Gil-Werman algorithm (van Herk 1992, Gil & Werman 1993).
 *
 * In 1-D, with window size k = 2r+1, the line is cut into blocks of k samples. Within each
 * block, g holds the running minimum from the block start and h the running minimum to the
 * block end. Any window of k samples spans at most two consecutive blocks, so its minimum is
 * min(h[window start], g[window end]): three comparisons per sample, whatever r is.
 *
 * The 2-D square window is separable: rows, then columns. The column pass runs the same
 * recurrences on whole rows at a time (g of row j from g of row j-1), which keeps memory access
 * sequential. Pixels outside the image are ignored (the line is padded with +Infinity), so
 * borders take the minimum over the clipped window.
 */
import { checkPlane, checkRadius } from './check.js';

/**
 * Minimum of `plane` (width*height, row-major) over the (2r+1)x(2r+1) window around each pixel,
 * clipped at the border. Radius 0 copies; a radius larger than the image is allowed.
 */
export function minFilter(plane: Float32Array, width: number, height: number, radius: number): Float32Array {
  checkPlane('plane', plane, width, height);
  checkRadius('radius', radius);
  const out = new Float32Array(width * height);
  minFilterInto(plane, width, height, radius, out);
  return out;
}

/** Unchecked core: writes the windowed minimum of `src` into `out` (which may be `src`). */
export function minFilterInto(src: Float32Array, w: number, h: number, r: number, out: Float32Array): void {
  const rx = Math.min(r, w - 1);
  const ry = Math.min(r, h - 1);
  const tmp = new Float32Array(w * h);
  minRows(src, w, h, rx, tmp);
  minColumns(tmp, w, h, ry, out);
}

function paddedLength(n: number, r: number): number {
  const k = 2 * r + 1;
  return Math.ceil((n + 2 * r) / k) * k;
}

function minRows(src: Float32Array, w: number, h: number, r: number, out: Float32Array): void {
  if (r === 0) {
    out.set(src);
    return;
  }
  const k = 2 * r + 1;
  const len = paddedLength(w, r);
  // f: the row padded with +Infinity (r in front, the rest behind); the pads never change.
  const f = new Float32Array(len).fill(Infinity);
  const g = new Float32Array(len);
  const hh = new Float32Array(len);
  for (let y = 0; y < h; y++) {
    const off = y * w;
    f.set(src.subarray(off, off + w), r);
    for (let b = 0; b < len; b += k) {
      // Forward: g[j] = min of f over [block start, j].
      let m = f[b];
      g[b] = m;
      for (let j = b + 1; j < b + k; j++) {
        const v = f[j];
        if (v < m) m = v;
        g[j] = m;
      }
      // Backward: hh[j] = min of f over [j, block end].
      const e = b + k - 1;
      m = f[e];
      hh[e] = m;
      for (let j = e - 1; j >= b; j--) {
        const v = f[j];
        if (v < m) m = v;
        hh[j] = m;
      }
    }
    // The window of output x is f[x .. x + 2r].
    const d = 2 * r;
    for (let x = 0; x < w; x++) {
      const a = hh[x];
      const c = g[x + d];
      out[off + x] = a < c ? a : c;
    }
  }
}

/**
 * Column pass. Works on whole rows: f row j (padded index) is src row j - r, or +Infinity outside
 * the image. Output row y needs hh of its own block and g at y + 2r, which lies in the same block
 * (when y starts a block) or the next one, so only one hh block and two g blocks are kept (3k
 * rows, cache-sized), not the whole padded height.
 */
function minColumns(src: Float32Array, w: number, h: number, r: number, out: Float32Array): void {
  if (r === 0) {
    if (out !== src) out.set(src);
    return;
  }
  const k = 2 * r + 1;
  const len = paddedLength(h, r);
  let gCur = new Float32Array(k * w); // g of block b
  let gNext = new Float32Array(k * w); // g of block b + 1
  const hh = new Float32Array(k * w); // hh of block b
  forwardBlock(src, w, h, r, 0, k, gCur);
  for (let b = 0; b * k < h; b++) {
    const start = b * k;
    backwardBlock(src, w, h, r, start, k, hh);
    if (start + k < len) forwardBlock(src, w, h, r, start + k, k, gNext);
    // Outputs y in [start, start + k) with y < h.
    const yEnd = Math.min(start + k, h);
    for (let y = start; y < yEnd; y++) {
      const hRow = (y - start) * w;
      const e = y + 2 * r; // padded index of the window end
      const gBuf = e < start + k ? gCur : gNext;
      const gRow = (e < start + k ? e - start : e - start - k) * w;
      const o = y * w;
      for (let x = 0; x < w; x++) {
        const u = hh[hRow + x];
        const v = gBuf[gRow + x];
        out[o + x] = u < v ? u : v;
      }
    }
    const t = gCur;
    gCur = gNext;
    gNext = t;
  }
}

/** g rows of the block starting at padded index `start`: running min from the block start. */
function forwardBlock(src: Float32Array, w: number, h: number, r: number, start: number, k: number, g: Float32Array): void {
  for (let q = 0; q < k; q++) {
    const i = start + q - r; // image row
    const row = q * w;
    const inside = i >= 0 && i < h;
    const srow = i * w;
    if (q === 0) {
      if (inside) g.set(src.subarray(srow, srow + w), 0);
      else g.fill(Infinity, 0, w);
    } else if (inside) {
      const prev = row - w;
      for (let x = 0; x < w; x++) {
        const v = src[srow + x];
        const p = g[prev + x];
        g[row + x] = v < p ? v : p;
      }
    } else {
      g.copyWithin(row, row - w, row);
    }
  }
}

/** hh rows of the block starting at padded index `start`: running min to the block end. */
function backwardBlock(src: Float32Array, w: number, h: number, r: number, start: number, k: number, hh: Float32Array): void {
  for (let q = k - 1; q >= 0; q--) {
    const i = start + q - r;
    const row = q * w;
    const inside = i >= 0 && i < h;
    const srow = i * w;
    if (q === k - 1) {
      if (inside) hh.set(src.subarray(srow, srow + w), row);
      else hh.fill(Infinity, row, row + w);
    } else if (inside) {
      const next = row + w;
      for (let x = 0; x < w; x++) {
        const v = src[srow + x];
        const p = hh[next + x];
        hh[row + x] = v < p ? v : p;
      }
    } else {
      hh.copyWithin(row, row + w, row + 2 * w);
    }
  }
}
