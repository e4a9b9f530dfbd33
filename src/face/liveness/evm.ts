/**
 * Eulerian video magnification (Wu et al. 2012) of an aligned face-crop sequence: build a
 * spatial pyramid per frame, band-pass every pixel of one pyramid level over time, amplify,
 * and add it back. Colour magnification uses the Gaussian level (the pulse lives in the
 * low spatial frequencies); motion magnification uses the Laplacian level (fine edges).
 *
 * Frames are small square RGB crops (Float32 HWC), all the same size.
 */
import { bandPass } from './signal.js';

export interface Plane {
  width: number;
  height: number;
  data: Float32Array;
} // RGB HWC

/** 5-tap binomial blur [1 4 6 4 1]/16 then 2x decimation (one Gaussian-pyramid step). */
export function pyrDown(p: Plane): Plane {
  const k = [1, 4, 6, 4, 1].map((v) => v / 16);
  const { width: w, height: h, data } = p;
  const tmp = new Float32Array(w * h * 3);
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -2; i <= 2; i++) s += k[i + 2]! * data[(y * w + clamp(x + i, w)) * 3 + c]!;
        tmp[(y * w + x) * 3 + c] = s;
      }
  const ow = Math.max(1, w >> 1),
    oh = Math.max(1, h >> 1);
  const out = new Float32Array(ow * oh * 3);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -2; i <= 2; i++) s += k[i + 2]! * tmp[(clamp(2 * y + i, h) * w + 2 * x) * 3 + c]!;
        out[(y * ow + x) * 3 + c] = s;
      }
  return { width: ow, height: oh, data: out };
}

/** Nearest 2x upsampling with the same blur (enough to form a Laplacian band). */
export function pyrUp(p: Plane, width: number, height: number): Plane {
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const sx = Math.min(p.width - 1, x >> 1),
        sy = Math.min(p.height - 1, y >> 1);
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = p.data[(sy * p.width + sx) * 3 + c]!;
    }
  return { width, height, data: out };
}

export function gaussianLevel(p: Plane, level: number): Plane {
  let q = p;
  for (let i = 0; i < level; i++) q = pyrDown(q);
  return q;
}

/** Laplacian band at `level`: G_level - up(G_level+1). */
export function laplacianLevel(p: Plane, level: number): Plane {
  const g = gaussianLevel(p, level);
  const up = pyrUp(pyrDown(g), g.width, g.height);
  const d = new Float32Array(g.data.length);
  for (let i = 0; i < d.length; i++) d[i] = g.data[i]! - up.data[i]!;
  return { width: g.width, height: g.height, data: d };
}

/** Band-passes every value of a sequence of equally sized planes over time (zero-phase). */
export function temporalBandPass(seq: readonly Plane[], fs: number, lo: number, hi: number): Plane[] {
  if (seq.length === 0) return [];
  const n = seq[0]!.data.length;
  const out = seq.map((p) => ({ width: p.width, height: p.height, data: new Float32Array(n) }));
  const series = new Array<number>(seq.length);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < seq.length; t++) series[t] = seq[t]!.data[i]!;
    const f = bandPass(series, fs, lo, hi);
    for (let t = 0; t < seq.length; t++) out[t]!.data[i] = f[t]!;
  }
  return out;
}

export interface Magnified {
  /** Gaussian level `level` of every frame plus alpha x its heart-band component. */
  colour: Plane[];
  /** Heart-band component alone (before amplification). */
  colourBand: Plane[];
  /** Per-frame energy of the band-passed Laplacian level (fine motion in the band). */
  motionEnergy: number[];
}

/**
 * Magnifies colour (Gaussian level `level`, default 3 of a 64 px crop = 8x8) and measures
 * band-limited fine motion (Laplacian level 1). alpha = amplification (default 50).
 */
export function magnify(crops: readonly Plane[], fs: number, opts: { level?: number; alpha?: number; band?: readonly [number, number] } = {}): Magnified {
  const level = opts.level ?? 3;
  const alpha = opts.alpha ?? 50;
  const [lo, hi] = opts.band ?? [0.7, 4];
  const g = crops.map((c) => gaussianLevel(c, level));
  const colourBand = temporalBandPass(g, fs, lo, hi);
  const colour = g.map((p, t) => ({ width: p.width, height: p.height, data: p.data.map((v, i) => v + alpha * colourBand[t]!.data[i]!) }));
  const lap = temporalBandPass(
    crops.map((c) => laplacianLevel(c, 1)),
    fs,
    lo,
    hi,
  );
  const motionEnergy = lap.map((p) => Math.sqrt(p.data.reduce((s, v) => s + v * v, 0) / p.data.length));
  return { colour, colourBand, motionEnergy };
}
