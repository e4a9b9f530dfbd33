/**
 * Box (moving-average) filter in O(N), independent of the radius.
 *
 * Separable running sums: one pass along each row, then one down the columns (all columns of a
 * row at once, so both passes read memory in order). Sums are kept in Float64, so the sliding
 * add/subtract does not drift. The window is clipped at the image border and each output is
 * divided by the number of pixels actually inside the clipped window (no padding is invented),
 * the normalisation of He et al.'s guided filter code (`boxfilter(I, r) ./ boxfilter(ones, r)`).
 */
import { checkPlane, checkRadius } from './check.js';

/**
 * Mean of `plane` (a width*height grey plane, row-major) over the (2r+1)x(2r+1) window around
 * each pixel, clipped at the border. A radius larger than the image is allowed (every output is
 * then the mean of the whole plane). Returns a new plane; `plane` is not modified.
 */
export function boxFilter(plane: Float32Array, width: number, height: number, radius: number): Float32Array {
  checkPlane('plane', plane, width, height);
  checkRadius('radius', radius);
  const out = new Float32Array(width * height);
  boxMeanInto(plane, width, height, radius, out, new Float32Array(width * height));
  return out;
}

/**
 * Unchecked core: writes the clipped-window mean of `src` into `out`. `tmp` (width*height) is
 * scratch. `out` may be `src` (the row pass finishes before the column pass writes), but must
 * not be `tmp`.
 */
export function boxMeanInto(src: Float32Array, w: number, h: number, r: number, out: Float32Array, tmp: Float32Array): void {
  const rx = Math.min(r, w - 1);
  const ry = Math.min(r, h - 1);
  boxRowsInto(src, w, h, rx, inverseCounts(w, rx), tmp);
  boxColumnsInto(tmp, w, h, ry, inverseCounts(h, ry), out);
}

// The two passes are functions of their own: V8 optimised the single function on entering its
// first loop and deoptimised it at the second (no type feedback there yet), every call.

function boxRowsInto(src: Float32Array, w: number, h: number, rx: number, invX: Float64Array, tmp: Float32Array): void {
  // Rows: horizontal running sum, normalised by the true horizontal count. Three branch-free
  // segments: the window's right end entering, both ends moving, the left end leaving.
  const enterEnd = Math.min(w, w - rx - 1); // x < enterEnd: x + rx + 1 < w
  for (let y = 0; y < h; y++) {
    const off = y * w;
    let sum = 0;
    for (let x = 0; x <= rx; x++) sum += src[off + x];
    let x = 0;
    // Window start still clipped at 0 (x - rx < 0): add only.
    const leftEnd = Math.min(rx, enterEnd);
    for (; x < leftEnd; x++) {
      tmp[off + x] = sum * invX[x];
      sum += src[off + x + rx + 1];
    }
    // Add and subtract.
    for (; x < enterEnd; x++) {
      tmp[off + x] = sum * invX[x];
      sum += src[off + x + rx + 1] - src[off + x - rx];
    }
    // Right end clipped at w - 1: subtract only (when x >= rx), or nothing.
    for (; x < w; x++) {
      tmp[off + x] = sum * invX[x];
      if (x >= rx) sum -= src[off + x - rx];
    }
  }
}

function boxColumnsInto(tmp: Float32Array, w: number, h: number, ry: number, invY: Float64Array, out: Float32Array): void {
  // Columns: one running sum per column, advanced a whole row at a time. The mean of the row
  // means is the window mean, because every row of a clipped window has the same count.
  const acc = new Float64Array(w);
  for (let y = 0; y <= ry; y++) {
    const off = y * w;
    for (let x = 0; x < w; x++) acc[x] += tmp[off + x];
  }
  for (let y = 0; y < h; y++) {
    const off = y * w;
    const inv = invY[y];
    const add = y + ry + 1 < h ? (y + ry + 1) * w : -1;
    const sub = y - ry >= 0 ? (y - ry) * w : -1;
    if (add >= 0 && sub >= 0) {
      for (let x = 0; x < w; x++) {
        const a = acc[x];
        out[off + x] = a * inv;
        acc[x] = a + (tmp[add + x] - tmp[sub + x]);
      }
    } else if (add >= 0) {
      for (let x = 0; x < w; x++) {
        const a = acc[x];
        out[off + x] = a * inv;
        acc[x] = a + tmp[add + x];
      }
    } else if (sub >= 0) {
      for (let x = 0; x < w; x++) {
        const a = acc[x];
        out[off + x] = a * inv;
        acc[x] = a - tmp[sub + x];
      }
    } else {
      for (let x = 0; x < w; x++) out[off + x] = acc[x] * inv;
    }
  }
}

/** 1 / (number of positions of [i-r, i+r] inside [0, n-1]) for each i. */
function inverseCounts(n: number, r: number): Float64Array {
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) inv[i] = 1 / (Math.min(i + r, n - 1) - Math.max(i - r, 0) + 1);
  return inv;
}
