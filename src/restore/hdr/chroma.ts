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
  const radius = Math.max(1, Math.round(opts.radius ?? 2));
  // Strips of STRIP_ROWS rows with `radius` rows of halo on each side: the box means of a strip's
  // own rows are exact (the window is clipped only at the picture's edges), the working set stays
  // in cache, and no picture-sized plane is allocated (at 12 MP, eight planes of 48 MB made this
  // the slowest stage). Strips without a dark pixel are skipped.
  const cap = (STRIP_ROWS + 2 * radius) * width;
  const lum = new Float32Array(cap);
  const strength = new Float32Array(cap);
  const ratios = [new Float32Array(cap), new Float32Array(cap), new Float32Array(cap)] as const;
  const smooth = [new Float32Array(cap), new Float32Array(cap), new Float32Array(cap)] as const;
  const tmp = new Float32Array(cap);
  // A strip's result is written back only after the next strip has read its halo (the originals).
  const buffers = [new Float32Array(STRIP_ROWS * width * 3), new Float32Array(STRIP_ROWS * width * 3)] as const;
  let next = 0;
  let pending: { at: number; data: Float32Array } | null = null;
  let changed = 0;
  for (let y0 = 0; y0 < height; y0 += STRIP_ROWS) {
    const y1 = Math.min(height, y0 + STRIP_ROWS);
    const h0 = Math.max(0, y0 - radius);
    const h1 = Math.min(height, y1 + radius);
    const m = (h1 - h0) * width;
    const src = rad.subarray(h0 * width * 3, h1 * width * 3);
    const any = analyse(
      src,
      opts.yFull,
      opts.yNone,
      lum.subarray(0, m),
      strength.subarray(0, m),
      ratios[0].subarray(0, m),
      ratios[1].subarray(0, m),
      ratios[2].subarray(0, m),
    );
    if (pending) {
      rad.set(pending.data, pending.at);
      pending = null;
    }
    if (any === 0) continue;
    for (let c = 0; c < 3; c++) boxMeanInto(ratios[c].subarray(0, m), width, h1 - h0, radius, smooth[c].subarray(0, m), tmp.subarray(0, m));
    const core = (y0 - h0) * width;
    const count = (y1 - y0) * width;
    const out = buffers[next].subarray(0, count * 3);
    next = 1 - next;
    out.set(src.subarray(core * 3, (core + count) * 3));
    changed += blend(out, strength.subarray(core, core + count), lum.subarray(core, core + count), sub3(ratios, core, count), sub3(smooth, core, count));
    pending = { at: y0 * width * 3, data: out };
  }
  if (pending) rad.set(pending.data, pending.at);
  return changed;
}

/** Rows per strip of denoiseShadowChroma. */
const STRIP_ROWS = 64;

function sub3(planes: readonly [Float32Array, Float32Array, Float32Array], start: number, count: number): [Float32Array, Float32Array, Float32Array] {
  return [planes[0].subarray(start, start + count), planes[1].subarray(start, start + count), planes[2].subarray(start, start + count)];
}

// One pass per function: V8 optimises each loop on its own.

/**
 * Per pixel: Y, the strength s (see the module comment) and the ratios c_k = C_k / Y (grey
 * (1, 1, 1) where Y <= 0). Returns the number of pixels with s > 0.
 */
function analyse(
  rad: Float32Array,
  yFull: number,
  yNone: number,
  lum: Float32Array,
  s: Float32Array,
  r: Float32Array,
  g: Float32Array,
  b: Float32Array,
): number {
  const lnNone = Math.log(yNone);
  const span = lnNone - Math.log(yFull);
  let count = 0;
  for (let i = 0, k = 0; i < lum.length; i++, k += 3) {
    const y = 0.2126 * rad[k]! + 0.7152 * rad[k + 1]! + 0.0722 * rad[k + 2]!;
    lum[i] = y;
    if (y > 0) {
      const inv = 1 / y;
      r[i] = rad[k]! * inv;
      g[i] = rad[k + 1]! * inv;
      b[i] = rad[k + 2]! * inv;
      if (y < yNone) {
        const v = (lnNone - Math.log(y)) / span;
        s[i] = v >= 1 ? 1 : v;
        count++;
      } else {
        s[i] = 0;
      }
    } else {
      r[i] = g[i] = b[i] = 1;
      s[i] = 0;
    }
  }
  return count;
}

/** C_k = Y ((1 - s) c_k + s smooth_k) where s > 0; returns how many pixels that was. */
function blend(
  rad: Float32Array,
  s: Float32Array,
  lum: Float32Array,
  ratio: readonly [Float32Array, Float32Array, Float32Array],
  smooth: readonly [Float32Array, Float32Array, Float32Array],
): number {
  const [r, g, b] = ratio;
  const [sr, sg, sb] = smooth;
  let changed = 0;
  for (let i = 0, k = 0; i < s.length; i++, k += 3) {
    const w = s[i]!;
    if (w === 0) continue;
    changed++;
    const y = lum[i]!;
    rad[k] = y * (r[i]! + w * (sr[i]! - r[i]!));
    rad[k + 1] = y * (g[i]! + w * (sg[i]! - g[i]!));
    rad[k + 2] = y * (b[i]! + w * (sb[i]! - b[i]!));
  }
  return changed;
}
