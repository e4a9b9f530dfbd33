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
  // One sweep down the rows. Only c_R and c_B are smoothed: the luminance identity gives c_G from
  // them, for the box means and the blend alike (both are linear), so two planes do the work of
  // three. Each row's ratios are box-summed along the row into a ring of 2 radius + 1 rows, and
  // per column a running sum over the ring gives the window sums of the row being written, so
  // the picture is read twice and written once (the earlier strips wrote and read seven planes).
  // Row y is written after row y + radius was read: the window never sees a smoothed pixel.
  const rx = Math.min(radius, width - 1);
  const ry = Math.min(radius, height - 1);
  const K = 2 * ry + 1;
  const ring = [new Float32Array(K * width), new Float32Array(K * width)] as const;
  const acc = [new Float64Array(width), new Float64Array(width)] as const;
  const row = [new Float32Array(width), new Float32Array(width)] as const;
  const invX = new Float64Array(width);
  for (let x = 0; x < width; x++) invX[x] = 1 / (Math.min(x + rx, width - 1) - Math.max(x - rx, 0) + 1);
  const levels = { yFull: opts.yFull, yNone: opts.yNone, lnNone: Math.log(opts.yNone), span: Math.log(opts.yNone) - Math.log(opts.yFull) };
  for (let y = 0; y <= ry; y++) addRow(rad, y, width, rx, invX, row, ring, (y % K) * width, acc, 1);
  let changed = 0;
  for (let y = 0; y < height; y++) {
    const rows = Math.min(y + ry, height - 1) - Math.max(y - ry, 0) + 1;
    changed += blendRow(rad, y * width * 3, width, acc, 1 / rows, levels);
    const enter = y + ry + 1;
    const leave = y - ry;
    // The entering row takes the leaving row's slot of the ring: (y + ry + 1) mod K = (y - ry) mod K.
    if (leave >= 0) subtractSlot(ring, (leave % K) * width, width, acc);
    if (enter < height) addRow(rad, enter, width, rx, invX, row, ring, (enter % K) * width, acc, 1);
  }
  return changed;
}

// One loop (or two) per function: V8 optimises each on its own.

/**
 * Ratios c_R = R / Y and c_B = B / Y of row y (grey, 1, where Y <= 0), box-summed along the row
 * (clipped window, normalised by its length) into the ring at `slot`, and added to the column sums.
 */
function addRow(
  rad: Float32Array,
  y: number,
  w: number,
  rx: number,
  invX: Float64Array,
  row: readonly [Float32Array, Float32Array],
  ring: readonly [Float32Array, Float32Array],
  slot: number,
  acc: readonly [Float64Array, Float64Array],
  sign: number,
): void {
  ratiosOfRow(rad, y * w * 3, w, row[0], row[1]);
  boxRow(row[0], w, rx, invX, ring[0], slot, acc[0], sign);
  boxRow(row[1], w, rx, invX, ring[1], slot, acc[1], sign);
}

function ratiosOfRow(rad: Float32Array, k0: number, w: number, r: Float32Array, b: Float32Array): void {
  for (let x = 0, k = k0; x < w; x++, k += 3) {
    const y = 0.2126 * rad[k]! + 0.7152 * rad[k + 1]! + 0.0722 * rad[k + 2]!;
    if (y > 0) {
      const inv = 1 / y;
      r[x] = rad[k]! * inv;
      b[x] = rad[k + 2]! * inv;
    } else {
      r[x] = 1;
      b[x] = 1;
    }
  }
}

/** out[slot + x] = mean of src over [x - rx, x + rx] clipped to the row; acc[x] += out[slot + x]. */
function boxRow(src: Float32Array, w: number, rx: number, invX: Float64Array, out: Float32Array, slot: number, acc: Float64Array, sign: number): void {
  let sum = 0;
  for (let x = 0; x <= rx; x++) sum += src[x]!;
  for (let x = 0; x < w; x++) {
    const v = Math.fround(sum * invX[x]!);
    out[slot + x] = v;
    acc[x] += sign * v;
    if (x + rx + 1 < w) sum += src[x + rx + 1]!;
    if (x - rx >= 0) sum -= src[x - rx]!;
  }
}

function subtractSlot(ring: readonly [Float32Array, Float32Array], slot: number, w: number, acc: readonly [Float64Array, Float64Array]): void {
  const [r, b] = ring;
  const [ar, ab] = acc;
  for (let x = 0; x < w; x++) {
    ar[x] -= r[slot + x]!;
    ab[x] -= b[slot + x]!;
  }
}

/**
 * Row of radiance at k0: where the strength s (module comment) is > 0, R = Y ((1 - s) c_R + s m_R)
 * with m_R the window mean (acc * invRows), B likewise, and G from the luminance identity
 * (Y = 0.2126 R + 0.7152 G + 0.0722 B). Returns how many pixels changed.
 */
function blendRow(
  rad: Float32Array,
  k0: number,
  w: number,
  acc: readonly [Float64Array, Float64Array],
  invRows: number,
  levels: { yFull: number; yNone: number; lnNone: number; span: number },
): number {
  const [ar, ab] = acc;
  const { yFull, yNone, lnNone, span } = levels;
  let changed = 0;
  for (let x = 0, k = k0; x < w; x++, k += 3) {
    const R = rad[k]!;
    const B = rad[k + 2]!;
    const y = 0.2126 * R + 0.7152 * rad[k + 1]! + 0.0722 * B;
    if (!(y > 0) || y >= yNone) continue;
    // A logarithm only between the two levels (a fraction of the dark pixels).
    let s = 1;
    if (y > yFull) {
      const v = (lnNone - Math.log(y)) / span;
      s = v >= 1 ? 1 : v;
    }
    changed++;
    const inv = 1 / y;
    const cr = R * inv;
    const cb = B * inv;
    const red = y * (cr + s * (ar[x]! * invRows - cr));
    const blue = y * (cb + s * (ab[x]! * invRows - cb));
    rad[k] = red;
    rad[k + 1] = (y - 0.2126 * red - 0.0722 * blue) / 0.7152;
    rad[k + 2] = blue;
  }
  return changed;
}
