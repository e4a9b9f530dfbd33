/**
 * Chroma denoising of merged radiance in the shadows (issue 20: coloured speckle).
 *
 * Where even the longest exposure saw the scene dark, the merge can only average what that frame
 * recorded there, and its noise is colour noise (sensor shot noise per channel, or film grain:
 * memorial's shadows come from its 16 s frame, whose dye clouds speckle red, green and blue).
 * Luminance there is kept as merged; only the chromaticity is smoothed:
 *
 *   c_k = C_k / Y (k = R, G, B; Y the Rec. 709 luminance, so 0.2126 c_R + 0.7152 c_G + 0.0722 c_B = 1)
 *   c_k' = (1 - s) c_k + s box_r(c_k)
 *   C_k' = Y c_k'
 *
 * A box mean of ratios that each satisfy the luminance identity satisfies it too, so Y is unchanged
 * exactly (up to float rounding) and no detail is lost. The strength s is 1 where the longest
 * exposure's green code for this luminance is at or below `full` and 0 from `none` up, linear in
 * ln Y between: well exposed pixels are untouched. The box clips at the image border.
 */
import { boxMeanInto } from '../../core/filters/box.js';

export interface ShadowChromaOptions {
  /** Luminance (radiance units) at and below which chroma is fully smoothed. */
  yFull: number;
  /** Luminance from which chroma is left alone (> yFull). */
  yNone: number;
  /** Box radius in pixels. Default 2. */
  radius?: number;
}

/** Smooths the chromaticity of dark pixels of interleaved RGB radiance in place; returns the number of pixels changed. */
export function denoiseShadowChroma(rad: Float32Array, width: number, height: number, opts: ShadowChromaOptions): number {
  const n = width * height;
  const radius = Math.max(1, Math.round(opts.radius ?? 2));
  const strength = shadowStrength(rad, n, opts.yFull, opts.yNone);
  if (strength === null) return 0;
  const ratios = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
  const lum = new Float32Array(n);
  chromaRatios(rad, lum, ratios[0], ratios[1], ratios[2]);
  const tmp = new Float32Array(n);
  const smooth = new Float32Array(n);
  let changed = 0;
  for (let c = 0; c < 3; c++) {
    boxMeanInto(ratios[c]!, width, height, radius, smooth, tmp);
    changed = blendChannel(rad, c, strength, lum, ratios[c]!, smooth);
  }
  return changed;
}

// One pass per function: V8 optimises each loop on its own.

/** s per pixel (see the module comment), or null when no pixel is dark enough to change. */
function shadowStrength(rad: Float32Array, n: number, yFull: number, yNone: number): Float32Array | null {
  const s = new Float32Array(n);
  const lnNone = Math.log(yNone);
  const span = lnNone - Math.log(yFull);
  let any = false;
  for (let i = 0, k = 0; i < n; i++, k += 3) {
    const y = 0.2126 * rad[k]! + 0.7152 * rad[k + 1]! + 0.0722 * rad[k + 2]!;
    if (!(y < yNone) || !(y > 0)) continue;
    const v = (lnNone - Math.log(y)) / span;
    s[i] = v >= 1 ? 1 : v;
    any = true;
  }
  return any ? s : null;
}

/** Y and c_k = C_k / Y; grey (1, 1, 1) where Y <= 0. */
function chromaRatios(rad: Float32Array, lum: Float32Array, r: Float32Array, g: Float32Array, b: Float32Array): void {
  for (let i = 0, k = 0; i < r.length; i++, k += 3) {
    const y = 0.2126 * rad[k]! + 0.7152 * rad[k + 1]! + 0.0722 * rad[k + 2]!;
    lum[i] = y;
    if (y > 0) {
      const inv = 1 / y;
      r[i] = rad[k]! * inv;
      g[i] = rad[k + 1]! * inv;
      b[i] = rad[k + 2]! * inv;
    } else {
      r[i] = g[i] = b[i] = 1;
    }
  }
}

/** C_c = Y ((1 - s) c + s smooth) where s > 0; returns how many pixels that was. */
function blendChannel(rad: Float32Array, c: number, s: Float32Array, lum: Float32Array, ratio: Float32Array, smooth: Float32Array): number {
  let changed = 0;
  for (let i = 0, k = 0; i < s.length; i++, k += 3) {
    const w = s[i]!;
    if (w === 0) continue;
    rad[k + c] = lum[i]! * (ratio[i]! + w * (smooth[i]! - ratio[i]!));
    changed++;
  }
  return changed;
}
