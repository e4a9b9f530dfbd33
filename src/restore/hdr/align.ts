/**
 * Translation alignment of a bracket with Ward's median threshold bitmaps (MTB; "Fast, Robust
 * Image Registration for Compositing High Dynamic Range Photographs from Hand-Held Exposures",
 * JGT 2003).
 *
 * Thresholding each exposure at its own median gives bitmaps that look alike across exposures
 * (the median splits the same pixels whatever the exposure). Pixels within +-4 codes of the
 * median flicker with noise and are excluded. The shift is searched coarse to fine: at each level
 * of a 2x pyramid the 9 shifts around the doubled coarser estimate are tried and the one with the
 * fewest differing (non-excluded) pixels wins.
 */

export interface Shift {
  dx: number;
  dy: number;
}

/** Grey codes 0..255 (Ward's weights 54/183/19 of 256) of interleaved RGB codes. */
export function greyCodes(codes: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n);
  for (let i = 0, k = 0; i < n; i++, k += 3) out[i] = (54 * codes[k]! + 183 * codes[k + 1]! + 19 * codes[k + 2]!) >> 8;
  return out;
}

interface Level {
  grey: Uint8Array;
  width: number;
  height: number;
}

function pyramid(grey: Uint8Array, width: number, height: number, levels: number): Level[] {
  const out: Level[] = [{ grey, width, height }];
  for (let l = 1; l < levels; l++) {
    const prev = out[l - 1]!;
    const w = prev.width >> 1;
    const h = prev.height >> 1;
    if (w < 8 || h < 8) break;
    const g = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      const r0 = 2 * y * prev.width;
      const r1 = r0 + prev.width;
      for (let x = 0; x < w; x++) {
        const s = prev.grey[r0 + 2 * x]! + prev.grey[r0 + 2 * x + 1]! + prev.grey[r1 + 2 * x]! + prev.grey[r1 + 2 * x + 1]!;
        g[y * w + x] = (s + 2) >> 2;
      }
    }
    out.push({ grey: g, width: w, height: h });
  }
  return out;
}

function median(grey: Uint8Array): number {
  // Four interleaved histograms: runs of equal values (smooth pictures) would otherwise make
  // every increment wait for the previous one to the same counter.
  const hist = new Uint32Array(1024);
  const n4 = grey.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    hist[grey[i]!]++;
    hist[256 + grey[i + 1]!]++;
    hist[512 + grey[i + 2]!]++;
    hist[768 + grey[i + 3]!]++;
  }
  for (let i = n4; i < grey.length; i++) hist[grey[i]!]++;
  let acc = 0;
  const half = grey.length / 2;
  for (let v = 0; v < 256; v++) {
    acc += hist[v]! + hist[256 + v]! + hist[512 + v]! + hist[768 + v]!;
    if (acc >= half) return v;
  }
  return 255;
}

/**
 * Threshold and exclusion bitmaps of a level, 32 pixels per word: `above` has bit x set where
 * pixel x of the row is above the median, `kept` where |v - median| > noise (not excluded). Each
 * row has `stride` words; the bits beyond the width are 0. Comparing a shifted pair of rows is
 * then a few word operations and a population count per 32 pixels (it was two byte loads and
 * four operations per pixel, the slowest step of a small bracket). Rows are filled on first use
 * (`rowBits`): at the large levels only every k-th row is compared.
 */
export interface BitLevel {
  width: number;
  height: number;
  stride: number;
  above: Uint32Array;
  kept: Uint32Array;
  grey: Uint8Array;
  median: number;
  noise: number;
  /** 1 for the rows of `above` and `kept` already filled. */
  ready: Uint8Array;
}

function bitLevel(level: Level, noise: number): BitLevel {
  const stride = (level.width + 31) >> 5;
  return {
    width: level.width,
    height: level.height,
    stride,
    above: new Uint32Array(stride * level.height),
    kept: new Uint32Array(stride * level.height),
    grey: level.grey,
    median: median(level.grey),
    noise,
    ready: new Uint8Array(level.height),
  };
}

/** Fills row y of the level's bitmaps if it is not yet. */
function rowBits(l: BitLevel, y: number): void {
  if (l.ready[y]) return;
  l.ready[y] = 1;
  const m = l.median;
  const lowNoise = m - l.noise;
  const highNoise = m + l.noise;
  const g = l.grey;
  const row = y * l.width;
  const o = y * l.stride;
  for (let x = 0; x < l.width; x += 32) {
    let above = 0;
    let kept = 0;
    const end = Math.min(32, l.width - x);
    for (let b = 0; b < end; b++) {
      const v = g[row + x + b]!;
      if (v > m) above |= 1 << b;
      if (v > highNoise || v < lowNoise) kept |= 1 << b;
    }
    l.above[o + (x >> 5)] = above;
    l.kept[o + (x >> 5)] = kept;
  }
}

/** Set bits of a 32-bit word. */
function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Word q of a row of `stride` words starting at o, 0 outside the row. */
function wordAt(bits: Uint32Array, o: number, stride: number, q: number): number {
  return q < 0 || q >= stride ? 0 : bits[o + q]!;
}

/** Differing, non-excluded pixels between a and b shifted by (dx, dy) (b(x - dx, y - dy)), over the overlap. */
function countDiff(la: BitLevel, lb: BitLevel, dx: number, dy: number): number {
  const w = la.width;
  const h = la.height;
  const stride = la.stride;
  let count = 0;
  const x0 = Math.max(0, dx);
  const x1 = Math.min(w, w + dx);
  const y0 = Math.max(0, dy);
  const y1 = Math.min(h, h + dy);
  // Bit x of the shifted row of b is bit x - dx of b's row: word k takes bits from word q and
  // q + 1, q = floor((32 k - dx) / 32), shifted by r = (32 k - dx) mod 32. Bits from beyond b's
  // row are 0 in `kept`, so pixels outside the overlap never count.
  const r = -dx & 31;
  const q0 = (-dx - r) >> 5;
  // Large levels: every rowStep-th row (a quarter million pixels per shift rank 9 shifts fine).
  const rowStep = Math.max(1, Math.floor((w * h) / 250000));
  for (let y = y0; y < y1; y += rowStep) {
    rowBits(la, y);
    rowBits(lb, y - dy);
    const oa = y * stride;
    const ob = (y - dy) * stride;
    for (let k = 0; k < stride; k++) {
      const q = q0 + k;
      let tb: number;
      let kb: number;
      if (r === 0) {
        tb = wordAt(lb.above, ob, stride, q);
        kb = wordAt(lb.kept, ob, stride, q);
      } else {
        tb = (wordAt(lb.above, ob, stride, q) >>> r) | (wordAt(lb.above, ob, stride, q + 1) << (32 - r));
        kb = (wordAt(lb.kept, ob, stride, q) >>> r) | (wordAt(lb.kept, ob, stride, q + 1) << (32 - r));
      }
      // Differ in `above`, and neither excluded.
      count += popcount((la.above[oa + k]! ^ tb) & la.kept[oa + k]! & kb);
    }
  }
  // Normalise by the overlap so a large shift is not favoured for its smaller area.
  return count / ((x1 - x0) * Math.ceil((y1 - y0) / rowStep));
}

/** Threshold and exclusion bitmaps of every pyramid level of one exposure (see mtbShift). */
export interface MtbPyramid {
  levels: BitLevel[];
}

/** Builds the bitmaps once per exposure (the reference's are reused for every other exposure). */
export function mtbPyramid(grey: Uint8Array, width: number, height: number, maxShift = 64, noise = 4): MtbPyramid {
  const depth = Math.max(1, Math.ceil(Math.log2(Math.max(1, maxShift))));
  return { levels: pyramid(grey, width, height, depth).map((l) => bitLevel(l, noise)) };
}

/** The translation between two prepared exposures (same size and depth): see mtbShift. */
export function mtbShiftPyramids(ref: MtbPyramid, moving: MtbPyramid): Shift {
  let dx = 0;
  let dy = 0;
  for (let l = Math.min(ref.levels.length, moving.levels.length) - 1; l >= 0; l--) {
    dx *= 2;
    dy *= 2;
    const la = ref.levels[l]!;
    const lb = moving.levels[l]!;
    let best = Infinity;
    let bx = dx;
    let by = dy;
    for (let sy = -1; sy <= 1; sy++) {
      for (let sx = -1; sx <= 1; sx++) {
        const cx = dx + sx;
        const cy = dy + sy;
        if (Math.abs(cx) >= la.width || Math.abs(cy) >= la.height) continue;
        const d = countDiff(la, lb, cx, cy);
        // Ties go to the smaller shift.
        if (d < best - 1e-12 || (Math.abs(d - best) <= 1e-12 && Math.abs(cx) + Math.abs(cy) < Math.abs(bx) + Math.abs(by))) {
          best = d;
          bx = cx;
          by = cy;
        }
      }
    }
    dx = bx;
    dy = by;
  }
  return { dx, dy };
}

/**
 * The translation that best maps `moving` onto `reference` (both grey codes of the same size):
 * moving(x - dx, y - dy) ~ reference(x, y). `maxShift` bounds |dx|, |dy| (pyramid depth).
 */
export function mtbShift(reference: Uint8Array, moving: Uint8Array, width: number, height: number, maxShift = 64, noise = 4): Shift {
  return mtbShiftPyramids(mtbPyramid(reference, width, height, maxShift, noise), mtbPyramid(moving, width, height, maxShift, noise));
}

/** Shifts interleaved codes by (dx, dy): out(x, y) = src(x - dx, y - dy), edges replicated. */
export function shiftCodes(src: Uint8Array, width: number, height: number, channels: number, shift: Shift): Uint8Array {
  if (shift.dx === 0 && shift.dy === 0) return src;
  const out = new Uint8Array(src.length);
  const row = width * channels;
  const dx = Math.max(-width, Math.min(width, shift.dx));
  for (let y = 0; y < height; y++) {
    const sy = Math.min(height - 1, Math.max(0, y - shift.dy));
    const s = sy * row;
    const d = y * row;
    // Middle: one block copy; then the replicated edge pixels.
    if (dx >= 0) {
      out.set(src.subarray(s, s + row - dx * channels), d + dx * channels);
      for (let x = 0; x < dx; x++) for (let c = 0; c < channels; c++) out[d + x * channels + c] = src[s + c]!;
    } else {
      out.set(src.subarray(s - dx * channels, s + row), d);
      const last = s + row - channels;
      for (let x = width + dx; x < width; x++) for (let c = 0; c < channels; c++) out[d + x * channels + c] = src[last + c]!;
    }
  }
  return out;
}
