/**
 * Gaussian and Laplacian pyramids (Burt & Adelson) of interleaved planes with 1 or 3 channels,
 * with the 5-tap binomial kernel [1 4 6 4 1] / 16, borders clamped. Reduce filters and decimates
 * in one pass per axis (only the kept samples are computed); expand interpolates straight to the
 * target size. Interleaved colour keeps one pass (and one set of index computations) for the
 * three channels.
 */

export interface Plane {
  data: Float32Array;
  width: number;
  height: number;
  /** Interleaved channels (1 or 3); default 1. */
  channels?: number;
}

/** Blur + 2x decimation: ceil(w/2) x ceil(h/2). */
export function reduce(src: Plane): Plane {
  const { data, width: w, height: h } = src;
  const ch = src.channels ?? 1;
  const w2 = (w + 1) >> 1;
  const h2 = (h + 1) >> 1;
  const tmp = new Float32Array(w2 * h * ch);
  for (let y = 0; y < h; y++) {
    const r = y * w * ch;
    const o = y * w2 * ch;
    for (let i = 0; i < w2; i++) {
      const x = 2 * i;
      const xm2 = r + (x >= 2 ? x - 2 : 0) * ch;
      const xm1 = r + (x >= 1 ? x - 1 : 0) * ch;
      const x0 = r + x * ch;
      const xp1 = r + (x + 1 < w ? x + 1 : w - 1) * ch;
      const xp2 = r + (x + 2 < w ? x + 2 : w - 1) * ch;
      const oi = o + i * ch;
      for (let c = 0; c < ch; c++) tmp[oi + c] = (data[xm2 + c]! + data[xp2 + c]! + 4 * (data[xm1 + c]! + data[xp1 + c]!) + 6 * data[x0 + c]!) * 0.0625;
    }
  }
  const rowLen = w2 * ch;
  const out = new Float32Array(w2 * h2 * ch);
  for (let j = 0; j < h2; j++) {
    const y = 2 * j;
    const a = (y >= 2 ? y - 2 : 0) * rowLen;
    const b = (y >= 1 ? y - 1 : 0) * rowLen;
    const c = y * rowLen;
    const d = (y + 1 < h ? y + 1 : h - 1) * rowLen;
    const e = (y + 2 < h ? y + 2 : h - 1) * rowLen;
    const o = j * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = (tmp[a + i]! + tmp[e + i]! + 4 * (tmp[b + i]! + tmp[d + i]!) + 6 * tmp[c + i]!) * 0.0625;
  }
  return { data: out, width: w2, height: h2, channels: ch };
}

/** Upsamples `src` (a reduced plane) to width x height with the same kernel (times 4 for the zeros). */
export function expand(src: Plane, width: number, height: number): Float32Array {
  const { data, width: sw, height: sh } = src;
  const ch = src.channels ?? 1;
  const tmp = new Float32Array(width * sh * ch);
  for (let y = 0; y < sh; y++) {
    const r = y * sw * ch;
    const o = y * width * ch;
    for (let x = 0; x < width; x++) {
      const i = x >> 1;
      const im = r + (i > 0 ? i - 1 : 0) * ch;
      const i0 = r + i * ch;
      const ip = r + (i + 1 < sw ? i + 1 : sw - 1) * ch;
      const ox = o + x * ch;
      // Even x: (s[i-1] + 6 s[i] + s[i+1]) / 8; odd x: (s[i] + s[i+1]) / 2.
      if ((x & 1) === 0) for (let c = 0; c < ch; c++) tmp[ox + c] = (data[im + c]! + 6 * data[i0 + c]! + data[ip + c]!) * 0.125;
      else for (let c = 0; c < ch; c++) tmp[ox + c] = (data[i0 + c]! + data[ip + c]!) * 0.5;
    }
  }
  const rowLen = width * ch;
  const out = new Float32Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const j = y >> 1;
    const a = (j > 0 ? j - 1 : 0) * rowLen;
    const b = j * rowLen;
    const c = (j + 1 < sh ? j + 1 : sh - 1) * rowLen;
    const o = y * rowLen;
    if ((y & 1) === 0) for (let x = 0; x < rowLen; x++) out[o + x] = (tmp[a + x]! + 6 * tmp[b + x]! + tmp[c + x]!) * 0.125;
    else for (let x = 0; x < rowLen; x++) out[o + x] = (tmp[b + x]! + tmp[c + x]!) * 0.5;
  }
  return out;
}

export function gaussianPyramid(src: Plane, levels: number): Plane[] {
  const out = [src];
  for (let l = 1; l < levels; l++) out.push(reduce(out[l - 1]!));
  return out;
}

/** Laplacian pyramid: band-pass levels, the last level the coarsest Gaussian. */
export function laplacianPyramid(src: Plane, levels: number): Plane[] {
  const g = gaussianPyramid(src, levels);
  const out: Plane[] = [];
  for (let l = 0; l < levels - 1; l++) {
    const up = expand(g[l + 1]!, g[l]!.width, g[l]!.height);
    const d = g[l]!.data;
    for (let i = 0; i < up.length; i++) up[i] = d[i]! - up[i]!;
    out.push({ data: up, width: g[l]!.width, height: g[l]!.height, channels: g[l]!.channels ?? 1 });
  }
  out.push(g[levels - 1]!);
  return out;
}

/** Sums a Laplacian pyramid back into a plane. */
export function collapse(pyr: readonly Plane[]): Float32Array {
  let cur = pyr[pyr.length - 1]!;
  for (let l = pyr.length - 2; l >= 0; l--) {
    const p = pyr[l]!;
    const up = expand(cur, p.width, p.height);
    for (let i = 0; i < up.length; i++) up[i] = up[i]! + p.data[i]!;
    cur = { data: up, width: p.width, height: p.height, channels: p.channels ?? 1 };
  }
  return cur.data;
}

/** Pyramid depth so that the coarsest level is a few pixels across. */
export function pyramidLevels(width: number, height: number): number {
  return Math.max(1, Math.floor(Math.log2(Math.min(width, height))) - 1);
}
