/**
 * Exposure fusion after Mertens, Kautz & Van Reeth, "Exposure Fusion" (Pacific Graphics 2007):
 * an LDR result straight from the bracket, no response curve or tone mapping. Each pixel of each
 * exposure gets a weight contrast^wc * saturation^ws * well-exposedness^we; the weights,
 * normalised over the exposures, are blended through pyramids (Gaussian for the weights,
 * Laplacian for the images), so seams vanish at every scale.
 *
 * Deghosting: the weights are multiplied by the same consistency maps as the radiance merge
 * (1 - ghost mask), so moving objects come from the reference exposure only.
 */
import type { RawImage } from '../../core/image/types.js';
import { createImage } from '../../core/image/types.js';
import { collapse, gaussianPyramid, laplacianPyramid, pyramidLevels, type Plane } from './pyramid.js';

export interface FusionOptions {
  contrastWeight?: number;
  saturationWeight?: number;
  exposureWeight?: number;
  /** Per exposure: width*height weights in [0, 1] (deghosting), or null. */
  consistency?: readonly (Float32Array | null)[];
  /** Exposure that keeps a small weight everywhere (fallback where every other one is rejected). */
  reference?: number;
}

/** Fuses 8-bit interleaved RGB codes (one array per exposure) into an sRGB RawImage in [0, 1]. */
export function fuseExposures(codes: readonly Uint8Array[], width: number, height: number, opts: FusionOptions = {}): RawImage {
  const n = width * height;
  const P = codes.length;
  const wc = opts.contrastWeight ?? 1;
  const ws = opts.saturationWeight ?? 1;
  const we = opts.exposureWeight ?? 1;
  // Well-exposedness per code: exp(-(v - 0.5)^2 / (2 * 0.2^2)).
  const wellExposed = new Float32Array(256);
  for (let z = 0; z < 256; z++) wellExposed[z] = Math.exp(-((z / 255 - 0.5) ** 2) / 0.08);
  const weights: Float32Array[] = [];
  const grey = new Float32Array(n);
  for (let j = 0; j < P; j++) {
    const cj = codes[j]!;
    for (let i = 0, k = 0; i < n; i++, k += 3) grey[i] = (cj[k]! + cj[k + 1]! + cj[k + 2]!) / 765;
    const w = new Float32Array(n);
    const cons = opts.consistency?.[j];
    for (let y = 0; y < height; y++) {
      const ym = y > 0 ? -width : width < n ? width : 0;
      const yp = y + 1 < height ? width : y > 0 ? -width : 0;
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const xm = x > 0 ? -1 : x + 1 < width ? 1 : 0;
        const xp = x + 1 < width ? 1 : x > 0 ? -1 : 0;
        // Contrast: |discrete Laplacian| of the grey image (mirrored borders).
        const contrast = Math.abs(grey[i + xm]! + grey[i + xp]! + grey[i + ym]! + grey[i + yp]! - 4 * grey[i]!);
        const k = i * 3;
        const r = cj[k]! / 255;
        const g = cj[k + 1]! / 255;
        const b = cj[k + 2]! / 255;
        const mu = (r + g + b) / 3;
        const saturation = Math.sqrt(((r - mu) ** 2 + (g - mu) ** 2 + (b - mu) ** 2) / 3);
        const exposure = wellExposed[cj[k]!]! * wellExposed[cj[k + 1]!]! * wellExposed[cj[k + 2]!]!;
        let v = (wc === 1 ? contrast : contrast ** wc) * (ws === 1 ? saturation : saturation ** ws) * (we === 1 ? exposure : exposure ** we) + 1e-12;
        if (cons) v *= cons[i]!;
        if (j === opts.reference) v += 1e-9;
        w[i] = v;
      }
    }
    weights.push(w);
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < P; j++) s += weights[j]![i]!;
    const inv = s > 0 ? 1 / s : 1 / P;
    for (let j = 0; j < P; j++) weights[j]![i] = s > 0 ? weights[j]![i]! * inv : inv;
  }
  const levels = pyramidLevels(width, height);
  const result: Plane[][] = [];
  const plane = new Float32Array(n);
  for (let j = 0; j < P; j++) {
    const wp = gaussianPyramid({ data: weights[j]!, width, height }, levels);
    const cj = codes[j]!;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < n; i++) plane[i] = cj[i * 3 + c]! / 255;
      const lp = laplacianPyramid({ data: plane, width, height }, levels);
      if (!result[c]) result[c] = lp.map((p) => ({ data: new Float32Array(p.data.length), width: p.width, height: p.height }));
      for (let l = 0; l < levels; l++) {
        const acc = result[c]![l]!.data;
        const src = lp[l]!.data;
        const wl = wp[l]!.data;
        for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + wl[i]! * src[i]!;
      }
    }
    weights[j] = new Float32Array(0); // free early
  }
  const out = createImage(width, height, 3);
  for (let c = 0; c < 3; c++) {
    const p = collapse(result[c]!);
    for (let i = 0; i < n; i++) {
      const v = p[i]!;
      out.data[i * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}
