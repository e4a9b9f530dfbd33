/**
 * Exposure fusion after Mertens, Kautz & Van Reeth, "Exposure Fusion" (Pacific Graphics 2007):
 * an LDR result straight from the bracket, no response curve or tone mapping. Each pixel of each
 * exposure gets a weight contrast^wc * saturation^ws * well-exposedness^we; the weights,
 * normalised over the exposures, are blended through pyramids (Gaussian for the weights,
 * Laplacian for the images), so seams vanish at every scale.
 *
 * Deghosting: the weights are multiplied by the square of the same consistency maps as the
 * radiance merge (1 - ghost mask), and the weight taken from an exposure goes to the reference,
 * so moving objects come from the reference exposure only. Why the transfer: where the
 * reference is dark or flat (a red paddle in shadow) its own weight is tiny, and the coarse
 * pyramid levels, which average weights over a wide area, would otherwise fill the object in
 * from the other exposures' background (on hdr/dynamic pingpong the paddle vanished). Why the
 * square: a soft mask of 0.7 still leaves 30 % of a bright, well-exposed frame, which dominates
 * the blend; squared it leaves 9 %.
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
  const ref = opts.reference;
  const deghost = opts.consistency?.some((c) => c != null) === true && ref !== undefined && ref >= 0 && ref < P;
  const moved = deghost ? new Float32Array(n) : null;
  const plainExponents = wc === 1 && ws === 1 && we === 1;
  for (let j = 0; j < P; j++) {
    const cj = codes[j]!;
    for (let i = 0, k = 0; i < n; i++, k += 3) grey[i] = (cj[k]! + cj[k + 1]! + cj[k + 2]!) * (1 / 765);
    const w = new Float32Array(n);
    const cons = opts.consistency?.[j] ?? null;
    const floor = j === opts.reference ? 1e-12 + 1e-9 : 1e-12;
    for (let y = 0; y < height; y++) {
      const ym = y > 0 ? -width : height > 1 ? width : 0;
      const yp = y + 1 < height ? width : y > 0 ? -width : 0;
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const i = row + x;
        const xm = x > 0 ? -1 : width > 1 ? 1 : 0;
        const xp = x + 1 < width ? 1 : x > 0 ? -1 : 0;
        // Contrast: |discrete Laplacian| of the grey image (mirrored borders).
        const g0 = grey[i]!;
        const lap = grey[i + xm]! + grey[i + xp]! + grey[i + ym]! + grey[i + yp]! - 4 * g0;
        const contrast = lap < 0 ? -lap : lap;
        const k = i * 3;
        const zr = cj[k]!;
        const zg = cj[k + 1]!;
        const zb = cj[k + 2]!;
        const r = zr * (1 / 255);
        const g = zg * (1 / 255);
        const b = zb * (1 / 255);
        const mu = (r + g + b) * (1 / 3);
        const saturation = Math.sqrt(((r - mu) * (r - mu) + (g - mu) * (g - mu) + (b - mu) * (b - mu)) * (1 / 3));
        const exposure = wellExposed[zr]! * wellExposed[zg]! * wellExposed[zb]!;
        let v = plainExponents ? contrast * saturation * exposure : contrast ** wc * saturation ** ws * exposure ** we;
        if (cons !== null) {
          const keep = cons[i]! * cons[i]!;
          if (moved !== null && j !== ref) moved[i] = moved[i]! + v * (1 - keep);
          v *= keep;
        }
        w[i] = v + floor;
      }
    }
    weights.push(w);
  }
  if (moved !== null) {
    const wr = weights[ref!]!;
    for (let i = 0; i < n; i++) wr[i] = wr[i]! + moved[i]!;
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < P; j++) s += weights[j]![i]!;
    const inv = s > 0 ? 1 / s : 1 / P;
    for (let j = 0; j < P; j++) weights[j]![i] = s > 0 ? weights[j]![i]! * inv : inv;
  }
  const levels = pyramidLevels(width, height);
  // One interleaved RGB Laplacian pyramid per exposure, weighted by the Gaussian pyramid of its
  // weights and accumulated level by level.
  let result: Plane[] | undefined;
  const rgb = new Float32Array(n * 3);
  for (let j = 0; j < P; j++) {
    const wp = gaussianPyramid({ data: weights[j]!, width, height }, levels);
    const cj = codes[j]!;
    for (let k = 0; k < rgb.length; k++) rgb[k] = cj[k]! * (1 / 255);
    const lp = laplacianPyramid({ data: rgb, width, height, channels: 3 }, levels);
    if (!result) result = lp.map((p) => ({ data: new Float32Array(p.data.length), width: p.width, height: p.height, channels: 3 }));
    for (let l = 0; l < levels; l++) {
      const acc = result[l]!.data;
      const src = lp[l]!.data;
      const wl = wp[l]!.data;
      for (let i = 0, k = 0; i < wl.length; i++, k += 3) {
        const w = wl[i]!;
        acc[k] = acc[k]! + w * src[k]!;
        acc[k + 1] = acc[k + 1]! + w * src[k + 1]!;
        acc[k + 2] = acc[k + 2]! + w * src[k + 2]!;
      }
    }
    weights[j] = new Float32Array(0); // free early
  }
  const fused = collapse(result!);
  const out = createImage(width, height, 3);
  for (let k = 0; k < fused.length; k++) {
    const v = fused[k]!;
    out.data[k] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}
