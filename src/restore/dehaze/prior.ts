/**
 * Single-image dehazing by the dark channel prior (He, Sun & Tang, "Single Image Haze Removal
 * Using Dark Channel Prior", CVPR 2009 / TPAMI 2011), with the transmission refined by a guided
 * filter (He et al., TPAMI 2013) instead of soft matting. Pure function, O(N) in the pixel count.
 *
 * Model (atmospheric scattering, Koschmieder): I = J t + A (1 - t), with I the hazy image, J the
 * scene radiance, A the atmospheric light (one RGB colour) and t in [0, 1] the transmission.
 *
 * Steps:
 * 1. dark channel D of I (min over RGB, then min over a (2r+1)^2 patch);
 * 2. atmospheric light A (see `estimateAtmosphericLight` for the outlier-rejecting search);
 * 3. coarse transmission t~ = 1 - omega * darkChannel(I / A) (omega < 1 keeps a little haze for
 *    depth perception, He et al.), with omega bounded by the estimated haze density (see
 *    `densityBoundedOmega`: light haze is not dehazed as hard as dense haze);
 * 4. refinement: t = guidedFilter(guide = grey(I), src = t~), clamped to [0, 1];
 * 5. recovery J = (I - A) / max(t, t0) + A, clamped to [0, 1].
 *
 * Values are treated as given (sRGB-encoded in a RawImage): like the paper and most
 * implementations, no linearisation.
 */
import { invalidOption } from '../../core/errors.js';
import { createImage, type RawImage } from '../../core/image/types.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { checkImage, minOverChannels } from '../../core/filters/darkChannel.js';
import { minFilterInto } from '../../core/filters/minFilter.js';
import { guidedFilterUnchecked } from '../../core/filters/guided.js';
import { lumaPlane } from '../../core/colour.js';
import { median } from '../../core/stats.js';

export type Rgb = [number, number, number];

export interface DehazePriorOptions extends TaskControl {
  /**
   * Patch radius of the dark channel (patch (2r+1)^2), integer >= 1. Default:
   * round(shorter side / 50) clamped to [1, 7], i.e. He et al.'s 15x15 patch (r = 7) from a
   * shorter side of about 350 px up, smaller patches for smaller images.
   */
  patchRadius?: number;
  /** Fraction of haze removed, in (0, 1]. Default 0.95 (He et al.). */
  omega?: number;
  /** Lower bound on the transmission used in the recovery, in (0, 1). Default 0.1. */
  t0?: number;
  /** Fraction of the pixels used as atmospheric-light candidates, in (0, 1]. Default 0.001 (top 0.1%). */
  topFraction?: number;
  /** Refine the transmission with a guided filter. Default true. */
  refine?: boolean;
  /** Guided-filter radius, integer >= 1. Default 4 * patchRadius. */
  guidedRadius?: number;
  /** Guided-filter regularisation, > 0. Default 1e-3 (He et al.). */
  guidedEps?: number;
  /** Use this atmospheric light (each channel in (0, 1]) instead of estimating it. */
  atmosphericLight?: readonly number[];
  /**
   * Bound omega by the estimated haze density (see densityBoundedOmega). Default true; false
   * gives He et al.'s fixed omega, which over-dehazes light haze.
   */
  densityBound?: boolean;
}

export interface DehazePriorResult {
  /** The recovered scene radiance J, same size and channels as the input, clamped to [0, 1]. */
  image: RawImage;
  /** Transmission t (width*height, in [0, 1]; refined unless `refine: false`), before the t0 bound. */
  transmission: Float32Array;
  /** Atmospheric light A, RGB (equal channels for a grey input). */
  atmosphericLight: Rgb;
  /** Dark channel of the input (width*height), as used for the atmospheric light. */
  darkChannel: Float32Array;
  /** Estimated haze density: the median of the dark channel of I / A, in [0, 1]. */
  hazeDensity: number;
  /** The parameters actually used (defaults resolved; omega after the density bound). */
  params: { patchRadius: number; omega: number; t0: number; topFraction: number; refine: boolean; guidedRadius: number; guidedEps: number };
}

const STAGES = 5;

export function dehazePrior(img: RawImage, opts: DehazePriorOptions = {}): DehazePriorResult {
  checkImage(img);
  const o = resolveOptions(img, opts);
  const { width: w, height: h, channels: ch, data } = img;
  const n = w * h;
  const control: TaskControl = { onProgress: opts.onProgress, signal: opts.signal };
  const stage = (done: number): void => {
    throwIfAborted(control.signal);
    report(control, 'dehaze prior', done, STAGES);
  };
  stage(0);

  // 1. Dark channel of I.
  const dark = minOverChannels(img);
  minFilterInto(dark, w, h, o.patchRadius, dark);
  stage(1);

  // 2. Atmospheric light.
  const A: Rgb = o.atmosphericLight ?? estimateAtmosphericLight(img, dark, o.topFraction, o.patchRadius);
  stage(2);

  // 3. Coarse transmission: 1 - omega * dark channel of I / A.
  const t = new Float32Array(n);
  if (ch === 3) {
    const ir = 1 / A[0];
    const ig = 1 / A[1];
    const ib = 1 / A[2];
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const r = data[j] * ir;
      const g = data[j + 1] * ig;
      const b = data[j + 2] * ib;
      const rg = r < g ? r : g;
      t[i] = rg < b ? rg : b;
    }
  } else {
    const ia = 1 / A[0];
    for (let i = 0; i < n; i++) t[i] = data[i] * ia;
  }
  minFilterInto(t, w, h, o.patchRadius, t);
  const hazeDensity = medianOf(t);
  const omega = o.densityBound ? densityBoundedOmega(o.omega, hazeDensity) : o.omega;
  for (let i = 0; i < n; i++) t[i] = 1 - omega * t[i];
  stage(3);

  // 4. Refinement by a guided filter on the grey input.
  let trans: Float32Array = t;
  if (o.refine) {
    trans = guidedFilterUnchecked(greyPlane(img), t, w, h, o.guidedRadius, o.guidedEps);
  }
  for (let i = 0; i < n; i++) {
    const v = trans[i];
    trans[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  stage(4);

  // 5. Recovery.
  const out = createImage(w, h, ch);
  const od = out.data;
  const t0 = o.t0;
  for (let i = 0, j = 0; i < n; i++, j += ch) {
    const tv = trans[i];
    const inv = 1 / (tv > t0 ? tv : t0);
    for (let c = 0; c < ch; c++) {
      const a = A[c];
      const v = (data[j + c] - a) * inv + a;
      od[j + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  stage(5);

  return {
    image: out,
    transmission: trans,
    atmosphericLight: A,
    darkChannel: dark,
    hazeDensity,
    params: {
      patchRadius: o.patchRadius,
      omega,
      t0: o.t0,
      topFraction: o.topFraction,
      refine: o.refine,
      guidedRadius: o.guidedRadius,
      guidedEps: o.guidedEps,
    },
  };
}

/**
 * Robust atmospheric light from an image and its dark channel.
 *
 * He et al. take the brightest input pixel among the 0.1% of pixels with the highest dark
 * channel. That fails when a white or bright object larger than the patch sits in the scene: its
 * dark channel is as high as the haze's (a white wall is "haze-coloured"), and a single pixel
 * decides. We combine two remedies:
 *
 * 1. Quad-tree search (Kim, Jang, Sim & Kim, "Optimized contrast enhancement for real-time image
 *    and video dehazing", JVCI 2013), run on the dark channel: split the region into quadrants
 *    and keep the one with the highest mean - standard deviation, until it is small. Haze (and
 *    sky) is bright *and smooth* in the dark channel; a bright object inside textured scenery
 *    raises a quadrant's mean but raises its standard deviation as much, so the search walks
 *    away from it. This is the step that rejects large outliers, which a median alone cannot
 *    (if the object fills the top 0.1%, all candidates are the object).
 * 2. Inside the final block, the candidates are the pixels of highest dark channel (up to the
 *    top 0.1% of the image's pixel count), and A is the per-channel median of their input
 *    colours: a few specular or noisy pixels cannot move a median, whereas He et al.'s
 *    "brightest candidate" picks exactly such a pixel.
 *
 * 3. When that A is clipped (a channel >= CLIPPED: white clouds, the sun, a blown-out wall),
 *    its brightness stands but its colour says nothing about the haze: A = [1, 1, 1] on `canyon`
 *    makes (I - A) / t + A push the bluish haze to a strong blue cast. The colour is then taken
 *    from the unclipped pixels of highest dark channel (see hazeColour), scaled so that its
 *    brightest channel keeps A's. Using their brightness too would put A below the clouds and
 *    blow the sky out.
 *
 * The search stops at blocks of at most max(1024, 4 * candidates) pixels (and never below 2
 * pixels a side). A is clamped to [1/255, 1] per channel, so that I / A stays finite.
 */
export function estimateAtmosphericLight(img: RawImage, dark: Float32Array, topFraction = 0.001, patchRadius = 0): Rgb {
  const { width: w, height: h, channels: ch, data } = img;
  const n = w * h;
  const count = Math.max(1, Math.ceil(n * topFraction));
  const minArea = Math.max(1024, 4 * count);

  // Quad-tree on the dark channel.
  let x0 = 0;
  let y0 = 0;
  let rw = w;
  let rh = h;
  while (rw * rh > minArea && rw >= 4 && rh >= 4) {
    const hw = rw >> 1;
    const hh = rh >> 1;
    const quads: Array<[number, number, number, number]> = [
      [x0, y0, hw, hh],
      [x0 + hw, y0, rw - hw, hh],
      [x0, y0 + hh, hw, rh - hh],
      [x0 + hw, y0 + hh, rw - hw, rh - hh],
    ];
    let best = quads[0];
    let bestScore = -Infinity;
    for (const q of quads) {
      const s = meanMinusStd(dark, w, q[0], q[1], q[2], q[3]);
      if (s > bestScore) {
        bestScore = s;
        best = q;
      }
    }
    [x0, y0, rw, rh] = best;
  }

  // Candidates: highest dark channel inside the block.
  const area = rw * rh;
  const idx = new Int32Array(area);
  const val = new Float32Array(area);
  for (let y = 0, k = 0; y < rh; y++) {
    for (let x = 0; x < rw; x++, k++) {
      const i = (y0 + y) * w + x0 + x;
      idx[k] = i;
      val[k] = dark[i];
    }
  }
  const order = Array.from(idx.keys()).sort((a, b) => val[b] - val[a]);
  const m = Math.min(count, area);
  const A: Rgb = [0, 0, 0];
  const chan = new Float32Array(m);
  for (let c = 0; c < ch; c++) {
    for (let k = 0; k < m; k++) chan[k] = data[idx[order[k]] * ch + c];
    A[c] = clampA(median(chan));
  }
  if (ch === 1) {
    A[1] = A[0];
    A[2] = A[0];
    return A;
  }
  const peak = Math.max(A[0], A[1], A[2]);
  if (peak < CLIPPED) return A;
  const colour = hazeColour(img, dark, Math.max(1, Math.ceil(n * HAZE_COLOUR_FRACTION)), patchRadius);
  if (!colour) return A;
  const top = Math.max(colour[0], colour[1], colour[2]);
  return [clampA((colour[0] / top) * peak), clampA((colour[1] / top) * peak), clampA((colour[2] / top) * peak)];
}

/**
 * Fraction of the pixels whose colour gives the haze colour. Far more than the 0.1% candidates
 * for A's brightness: a pixel is chosen for a high dark channel, i.e. for a high minimum over
 * its channels, which favours scene colours that offset the haze's own tint; over 5% of the
 * image the scene colours average out and the haze's tint remains.
 */
export const HAZE_COLOUR_FRACTION = 0.05;

/**
 * Mean colour of the `count` pixels of highest dark channel among those with no clipped pixel
 * within `radius` (the haze seen through the scene, not clouds or highlights); undefined when
 * no such pixel has a dark channel above 0.1 (an image of fog and sky only).
 */
function hazeColour(img: RawImage, dark: Float32Array, count: number, radius: number): Rgb | undefined {
  const masked = withoutClipped(img, dark, radius);
  const order = Array.from(masked.keys())
    .filter((i) => masked[i] > 0.1)
    .sort((a, b) => masked[b] - masked[a]);
  if (order.length === 0) return undefined;
  const m = Math.min(count, order.length);
  const colour: Rgb = [0, 0, 0];
  for (let k = 0; k < m; k++) for (let c = 0; c < 3; c++) colour[c] += img.data[order[k] * 3 + c] / m;
  return colour;
}

/** A channel value at or above this is taken as clipped (sensor or encoder saturation). */
export const CLIPPED = 0.98;

/** The dark channel with every pixel within `radius` of a clipped pixel set to 0. */
function withoutClipped(img: RawImage, dark: Float32Array, radius: number): Float32Array {
  const { width: w, height: h, channels: ch, data } = img;
  const n = w * h;
  const keep = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += ch) {
    let max = data[j];
    for (let c = 1; c < ch; c++) if (data[j + c] > max) max = data[j + c];
    keep[i] = max >= CLIPPED ? 0 : 1;
  }
  minFilterInto(keep, w, h, radius, keep);
  for (let i = 0; i < n; i++) keep[i] *= dark[i];
  return keep;
}

/**
 * Omega bounded by the haze density `density` (the median of the dark channel of I / A):
 * min(omega, density + DENSITY_MARGIN). He et al.'s omega = 0.95 removes nearly all of the dark
 * channel everywhere; under light haze much of that "dark channel" is the scene's own (bright
 * walls, sky, pale ground), so the fixed omega over-dehazes (SOTS 0002, beta 0.08: 20.4 dB in,
 * 14.7 dB out). Bounding the removal by how hazy the typical pixel is keeps dense haze at the
 * full omega and light haze at a proportionate one. The margin 0.2 was chosen on the two SOTS
 * outdoor pairs we have (so their figures are training figures; see bench/dehaze-prior.ts).
 */
export function densityBoundedOmega(omega: number, density: number): number {
  return Math.min(omega, Math.max(0, density) + DENSITY_MARGIN);
}

export const DENSITY_MARGIN = 0.2;

function medianOf(a: Float32Array): number {
  return a.length === 0 ? 0 : median(a);
}

function meanMinusStd(p: Float32Array, w: number, x0: number, y0: number, rw: number, rh: number): number {
  let s = 0;
  let s2 = 0;
  for (let y = y0; y < y0 + rh; y++) {
    const off = y * w;
    for (let x = x0; x < x0 + rw; x++) {
      const v = p[off + x];
      s += v;
      s2 += v * v;
    }
  }
  const k = rw * rh;
  const mean = s / k;
  const variance = Math.max(0, s2 / k - mean * mean);
  return mean - Math.sqrt(variance);
}

const clampA = (v: number): number => (v < 1 / 255 ? 1 / 255 : v > 1 ? 1 : v);

/** BT.601 luma (0.299 R + 0.587 G + 0.114 B), the grey guide of the refinement. */
function greyPlane(img: RawImage): Float32Array {
  return img.channels === 1 ? img.data : lumaPlane(img);
}

// ---------------------------------------------------------------------------------------------
// Options

interface Resolved {
  patchRadius: number;
  omega: number;
  t0: number;
  topFraction: number;
  refine: boolean;
  guidedRadius: number;
  guidedEps: number;
  atmosphericLight?: Rgb;
  densityBound: boolean;
}

/** Default patch radius for an image: round(shorter side / 50) clamped to [1, 7]. */
export function defaultPatchRadius(width: number, height: number): number {
  return Math.max(1, Math.min(7, Math.round(Math.min(width, height) / 50)));
}

function resolveOptions(img: RawImage, opts: DehazePriorOptions): Resolved {
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const patchRadius = opts.patchRadius ?? defaultPatchRadius(img.width, img.height);
  if (!Number.isInteger(patchRadius) || patchRadius < 1) throw invalidOption('patchRadius', 'an integer >= 1', opts.patchRadius);
  const omega = opts.omega ?? 0.95;
  if (typeof omega !== 'number' || !(omega > 0 && omega <= 1)) throw invalidOption('omega', 'a number in (0, 1]', opts.omega);
  const t0 = opts.t0 ?? 0.1;
  if (typeof t0 !== 'number' || !(t0 > 0 && t0 < 1)) throw invalidOption('t0', 'a number in (0, 1)', opts.t0);
  const topFraction = opts.topFraction ?? 0.001;
  if (typeof topFraction !== 'number' || !(topFraction > 0 && topFraction <= 1)) {
    throw invalidOption('topFraction', 'a number in (0, 1]', opts.topFraction);
  }
  const refine = opts.refine ?? true;
  if (typeof refine !== 'boolean') throw invalidOption('refine', 'true or false', opts.refine);
  const guidedRadius = opts.guidedRadius ?? 4 * patchRadius;
  if (!Number.isInteger(guidedRadius) || guidedRadius < 1) throw invalidOption('guidedRadius', 'an integer >= 1', opts.guidedRadius);
  const guidedEps = opts.guidedEps ?? 1e-3;
  if (typeof guidedEps !== 'number' || !(guidedEps > 0) || !Number.isFinite(guidedEps)) {
    throw invalidOption('guidedEps', 'a finite number > 0', opts.guidedEps);
  }
  const densityBound = opts.densityBound ?? true;
  if (typeof densityBound !== 'boolean') throw invalidOption('densityBound', 'true or false', opts.densityBound);
  let atmosphericLight: Rgb | undefined;
  if (opts.atmosphericLight !== undefined) {
    const a = opts.atmosphericLight;
    const ok = Array.isArray(a) && a.length === 3 && a.every((v) => typeof v === 'number' && v > 0 && v <= 1);
    if (!ok) throw invalidOption('atmosphericLight', 'three numbers [r, g, b], each in (0, 1]', a);
    atmosphericLight = [a[0], a[1], a[2]];
  }
  return { patchRadius, omega, t0, topFraction, refine, guidedRadius, guidedEps, atmosphericLight, densityBound };
}
