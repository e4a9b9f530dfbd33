/**
 * The heavy-rain imaging model, as pure functions on RawImage.
 *
 * Model (Li, Cheong & Tan, "Heavy Rain Image Restoration: Integrating Physics Model and
 * Conditional Adversarial Learning", CVPR 2019, eq. 2):
 *
 *     I = T ⊙ (J + S) + (1 − T) ⊙ A
 *
 * - J: the clean scene (RawImage, sRGB-encoded values in [0, 1], no linearisation, like the
 *   dehazing literature this builds on);
 * - S: the streak layer (Li et al.'s sum of streak layers Σ S_i), one non-negative grey value
 *   per pixel added to every channel (rain streaks are achromatic: they reflect the sky);
 * - T: the transmission of the rain vapour ("veil": the mist that heavy rain accumulates over
 *   distance), one value in (0, 1] per pixel, 1 = no veil;
 * - A: the atmospheric light, one RGB colour.
 *
 * It is the same form as Yang et al.'s heavy-rain model in JORDER (CVPR 2017, eq. 3:
 * O = α (B + Σ S̃_t R) + (1 − α) A, with α = T): streaks sit *inside* the veil and are
 * attenuated by it like the scene. We pick this form over the additive one (O = B + S, Rain100L)
 * because it says what the restoration order must be: once the streaks are removed, what is
 * left is T ⊙ J + (1 − T) ⊙ A, exactly Koschmieder's haze model I = J t + A (1 − t), so the
 * veil is removed with the dark-channel-prior machinery of ../dehaze/prior.ts:
 *
 *     heavy-rain restoration = learned streak removal (MAXIM, Rain13K) -> veil removal.
 *
 * The learned expert was trained on Rain13K, whose pairs are (mostly) O = B + S with no veil, so
 * it removes the attenuated streaks T ⊙ S and leaves the veil; the benchmark
 * (bench/heavy-rain.ts) measures how much the second step helps on real Rain100H pairs and on
 * pairs with a synthetic veil.
 *
 * Veil removal with a controllable strength s in [0, 1]: the veil's opacity 1 − T is scaled by s,
 *
 *     T_s = 1 − s (1 − T),    J_s = (I − A) / max(T_s, t0) + A    (clamped to [0, 1]),
 *
 * so s = 0 returns the input unchanged, s = 1 is the full dark-channel-prior recovery (which
 * itself keeps 5% of the haze, omega = 0.95, He et al.). Because the guided-filter refinement is
 * linear in its input, T_s equals the transmission dehazePrior computes with omega = 0.95 s: the
 * strength is the dark channel prior's omega, rescaled to [0, 1].
 */
import { invalidOption } from '../../core/errors.js';
import { createImage, type RawImage } from '../../core/image/types.js';
import { throwIfAborted, type TaskControl } from '../../core/progress.js';
import { checkImage } from '../../core/filters/darkChannel.js';
import { dehazePrior, type DehazePriorOptions, type Rgb } from '../dehaze/index.js';
import { mulberry32 } from '../../core/random.js';

// ---------------------------------------------------------------------------------------------
// Synthesis (for tests and benchmarks)

export interface RainStreakOptions {
  /** Streaks per pixel (count = round(density * width * height)), >= 0. Default 0.003. */
  density?: number;
  /** Streak length range in pixels [min, max], 1 <= min <= max. Default [12, 40]. */
  length?: readonly [number, number];
  /** Mean direction in degrees from vertical (positive leans right at the bottom). Default 10. */
  angle?: number;
  /** Each streak's direction varies uniformly by +- this many degrees, >= 0. Default 4. */
  angleJitter?: number;
  /** Peak brightness range [min, max] added to the scene, 0 <= min <= max. Default [0.25, 0.6]. */
  intensity?: readonly [number, number];
  /** Streak thickness in pixels: 1 (thin) to 4. Default 1. */
  thickness?: number;
}

export interface SynthesizeRainOptions {
  /** Streak layer S: rendered from these options, given as a width*height plane, or false (none). Default {}. */
  streaks?: RainStreakOptions | Float32Array | false;
  /** Veil transmission T: one number in (0, 1] for the whole image or a width*height plane. Default 1 (no veil). */
  transmission?: number | Float32Array;
  /** Atmospheric light A: [r, g, b] (or [v] for a grey image), each in [0, 1]. Default [0.85, 0.85, 0.85]. */
  atmosphericLight?: readonly number[];
  /** Seed of the streak generator (any integer). Default 1. */
  seed?: number;
}

export interface SynthesizedRain {
  /** I = T (J + S) + (1 − T) A, clamped to [0, 1]; same size and channels as the clean image. */
  image: RawImage;
  /** The streak layer S (width*height, >= 0). */
  streaks: Float32Array;
  /** The veil transmission T (width*height). */
  transmission: Float32Array;
  /** A as RGB (equal channels for a grey image). */
  atmosphericLight: Rgb;
}

const DEFAULT_STREAKS: Required<RainStreakOptions> = {
  density: 0.003,
  length: [12, 40],
  angle: 10,
  angleJitter: 4,
  intensity: [0.25, 0.6],
  thickness: 1,
};

/** Renders a rainy image from a clean one by the model I = T (J + S) + (1 − T) A (see the module notes). */
export function synthesizeRain(clean: RawImage, opts: SynthesizeRainOptions = {}): SynthesizedRain {
  checkImage(clean, 'clean');
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const { width: w, height: h, channels: ch, data } = clean;
  const n = w * h;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed)) throw invalidOption('seed', 'an integer', opts.seed);

  let S: Float32Array;
  const st = opts.streaks ?? {};
  if (st === false) S = new Float32Array(n);
  else if (st instanceof Float32Array) {
    if (st.length !== n) throw invalidOption('streaks', `a Float32Array of width*height = ${n} samples`, `${st.length} samples`);
    S = st;
  } else S = renderStreaks(w, h, resolveStreaks(st), seed);

  const T = transmissionPlane(opts.transmission ?? 1, n, 'transmission');
  const A = rgbOption(opts.atmosphericLight ?? [0.85, 0.85, 0.85], ch, 'atmosphericLight', 0);

  const out = createImage(w, h, ch);
  const od = out.data;
  for (let i = 0, j = 0; i < n; i++, j += ch) {
    const t = T[i];
    const s = S[i];
    for (let c = 0; c < ch; c++) {
      const v = t * (data[j + c] + s) + (1 - t) * A[c];
      od[j + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return { image: out, streaks: S, transmission: T, atmosphericLight: A };
}

/**
 * A depth-like veil: transmission varying linearly from `top` (first row) to `bottom` (last row),
 * each in (0, 1]. Outdoor scenes are usually far at the top, so top < bottom is the usual case.
 */
export function gradientTransmission(width: number, height: number, top: number, bottom: number): Float32Array {
  if (!Number.isInteger(width) || width < 1) throw invalidOption('width', 'an integer >= 1', width);
  if (!Number.isInteger(height) || height < 1) throw invalidOption('height', 'an integer >= 1', height);
  if (typeof top !== 'number' || !(top > 0 && top <= 1)) throw invalidOption('top', 'a number in (0, 1]', top);
  if (typeof bottom !== 'number' || !(bottom > 0 && bottom <= 1)) throw invalidOption('bottom', 'a number in (0, 1]', bottom);
  const t = new Float32Array(width * height);
  for (let y = 0; y < height; y++) t.fill(top + ((bottom - top) * y) / Math.max(1, height - 1), y * width, (y + 1) * width);
  return t;
}

function resolveStreaks(o: RainStreakOptions): Required<RainStreakOptions> {
  if (o === null || typeof o !== 'object') throw invalidOption('streaks', 'streak options, a Float32Array or false', o);
  const r = { ...DEFAULT_STREAKS, ...o };
  if (typeof r.density !== 'number' || !(r.density >= 0) || !Number.isFinite(r.density))
    throw invalidOption('streaks.density', 'a finite number >= 0', o.density);
  const range = (name: string, v: readonly [number, number], lo: number) => {
    if (!Array.isArray(v) || v.length !== 2 || !(v[0] >= lo) || !(v[1] >= v[0]) || !Number.isFinite(v[1])) {
      throw invalidOption(`streaks.${name}`, `[min, max] with ${lo} <= min <= max`, v);
    }
  };
  range('length', r.length, 1);
  range('intensity', r.intensity, 0);
  if (typeof r.angle !== 'number' || !Number.isFinite(r.angle)) throw invalidOption('streaks.angle', 'a finite number of degrees', o.angle);
  if (typeof r.angleJitter !== 'number' || !(r.angleJitter >= 0) || !Number.isFinite(r.angleJitter)) {
    throw invalidOption('streaks.angleJitter', 'a finite number >= 0', o.angleJitter);
  }
  if (!Number.isInteger(r.thickness) || r.thickness < 1 || r.thickness > 4) throw invalidOption('streaks.thickness', 'an integer from 1 to 4', o.thickness);
  return r;
}

/**
 * Streaks as thin bright segments: each has a random centre, length, direction (mean +- jitter)
 * and peak brightness, a sine profile along its length (faint ends, as motion-blurred drops) and
 * is splatted with bilinear weights every half pixel. Overlaps add; S is capped at 1.
 */
function renderStreaks(w: number, h: number, o: Required<RainStreakOptions>, seed: number): Float32Array {
  const S = new Float32Array(w * h);
  const rand = mulberry32(seed);
  const count = Math.round(o.density * w * h);
  const half = (o.thickness - 1) / 2;
  const splat = (x: number, y: number, v: number) => {
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    const add = (xi: number, yi: number, wgt: number) => {
      if (xi >= 0 && xi < w && yi >= 0 && yi < h) S[yi * w + xi] += v * wgt;
    };
    add(x0, y0, (1 - fx) * (1 - fy));
    add(x0 + 1, y0, fx * (1 - fy));
    add(x0, y0 + 1, (1 - fx) * fy);
    add(x0 + 1, y0 + 1, fx * fy);
  };
  for (let k = 0; k < count; k++) {
    const cx = rand() * w;
    const cy = rand() * h;
    const len = o.length[0] + rand() * (o.length[1] - o.length[0]);
    const theta = ((o.angle + (2 * rand() - 1) * o.angleJitter) * Math.PI) / 180;
    const peak = o.intensity[0] + rand() * (o.intensity[1] - o.intensity[0]);
    const dx = Math.sin(theta);
    const dy = Math.cos(theta);
    const steps = Math.max(2, Math.ceil(len * 2));
    for (let s = 0; s <= steps; s++) {
      const u = s / steps; // 0..1 along the streak
      const v = peak * Math.sin(Math.PI * u) * 0.5; // two splats a pixel: halve
      const px = cx + (u - 0.5) * len * dx;
      const py = cy + (u - 0.5) * len * dy;
      for (let q = -half; q <= half; q++) splat(px + q * dy, py - q * dx, v);
    }
  }
  for (let i = 0; i < S.length; i++) if (S[i] > 1) S[i] = 1;
  return S;
}

// ---------------------------------------------------------------------------------------------
// Veil estimation and removal

/**
 * Parameters of the veil estimate: those of the dark channel prior (patch radius, candidate
 * fraction for A, guided-filter refinement, a known A), see DehazePriorOptions. omega is fixed at
 * He et al.'s 0.95 for the estimate; the removal strength scales it (see the module notes).
 */
export type VeilOptions = Pick<DehazePriorOptions, 'patchRadius' | 'topFraction' | 'refine' | 'guidedRadius' | 'guidedEps' | 'atmosphericLight'>;

export interface VeilEstimate {
  /** Veil transmission T (width*height, in [0, 1]): dark channel prior, guided-filter refined, omega 0.95. */
  transmission: Float32Array;
  /** Atmospheric light A (quad-tree + median estimator of estimateAtmosphericLight). */
  atmosphericLight: Rgb;
  /** Dark channel of the image (width*height). */
  darkChannel: Float32Array;
  /** Image size the estimate belongs to. */
  width: number;
  height: number;
}

/** The veil's full-strength omega (He et al.). */
export const VEIL_OMEGA = 0.95;

const VEIL_KEYS: ReadonlyArray<keyof VeilOptions> = ['patchRadius', 'topFraction', 'refine', 'guidedRadius', 'guidedEps', 'atmosphericLight'];

/**
 * Estimates the rain veil of a streak-free image: atmospheric light A by the dark-channel
 * quad-tree search (estimateAtmosphericLight) and transmission T = 1 − 0.95 darkChannel(I / A),
 * refined by a guided filter: the dark channel prior (../dehaze/prior.ts) applied to the veil.
 * Run it on the streak-free image: bright streaks raise the dark channel and would read as veil.
 */
export function estimateVeil(img: RawImage, opts: VeilOptions & TaskControl = {}): VeilEstimate {
  checkImage(img);
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  // The veil model needs the fixed omega (T_s = 1 - 0.95 s dark): no haze-density bound.
  const prior: DehazePriorOptions = { omega: VEIL_OMEGA, densityBound: false, signal: opts.signal };
  for (const k of VEIL_KEYS) if (opts[k] !== undefined) (prior as Record<string, unknown>)[k] = opts[k];
  const r = dehazePrior(img, prior);
  return { transmission: r.transmission, atmosphericLight: r.atmosphericLight, darkChannel: r.darkChannel, width: img.width, height: img.height };
}

export interface RemoveVeilOptions extends VeilOptions, TaskControl {
  /** Fraction of the veil removed, in [0, 1]: 0 = identity, 1 = full dark-channel-prior recovery. Default 1. */
  strength?: number;
  /** Lower bound on the transmission used in the recovery, in (0, 1). Default 0.1. */
  t0?: number;
  /** A veil estimated earlier for this image (estimateVeil): skips the estimation, e.g. to try several strengths. */
  veil?: VeilEstimate;
}

export interface RemoveVeilResult {
  /** The image with the veil removed, same size and channels, in [0, 1]. */
  image: RawImage;
  /** The estimated veil transmission T (strength-independent); the recovery used 1 − strength (1 − T). */
  transmission: Float32Array;
  /** Atmospheric light A. */
  atmosphericLight: Rgb;
  /** Dark channel of the input. */
  darkChannel: Float32Array;
  /** The strength used. */
  strength: number;
}

/** Validates a veil strength (a number in [0, 1]) under the given option name. */
export function checkVeilStrength(value: unknown, name = 'strength'): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw invalidOption(name, 'a number in [0, 1]', value);
  return value;
}

/**
 * Removes the rain veil: J_s = (I − A) / max(1 − s (1 − T), t0) + A, clamped to [0, 1]
 * (module notes). strength 0 returns a copy of the input (the veil is still estimated and
 * returned, for the maps).
 */
export function removeVeil(img: RawImage, opts: RemoveVeilOptions = {}): RemoveVeilResult {
  checkImage(img);
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const strength = checkVeilStrength(opts.strength ?? 1);
  const t0 = opts.t0 ?? 0.1;
  if (typeof t0 !== 'number' || !(t0 > 0 && t0 < 1)) throw invalidOption('t0', 'a number in (0, 1)', opts.t0);
  let veil = opts.veil;
  if (veil !== undefined) {
    const n = img.width * img.height;
    const ok =
      veil !== null &&
      typeof veil === 'object' &&
      veil.width === img.width &&
      veil.height === img.height &&
      veil.transmission instanceof Float32Array &&
      veil.transmission.length === n &&
      Array.isArray(veil.atmosphericLight) &&
      veil.atmosphericLight.length === 3;
    if (!ok) throw invalidOption('veil', `a VeilEstimate of this ${img.width}x${img.height} image (from estimateVeil)`, veil === null ? null : typeof veil);
  } else {
    veil = estimateVeil(img, opts);
  }
  throwIfAborted(opts.signal);

  const { width: w, height: h, channels: ch, data } = img;
  const n = w * h;
  const out = createImage(w, h, ch);
  const od = out.data;
  if (strength === 0) {
    od.set(data);
  } else {
    const T = veil.transmission;
    const A = veil.atmosphericLight;
    for (let i = 0, j = 0; i < n; i++, j += ch) {
      const ts = 1 - strength * (1 - T[i]);
      const inv = 1 / (ts > t0 ? ts : t0);
      for (let c = 0; c < ch; c++) {
        const a = A[c];
        const v = (data[j + c] - a) * inv + a;
        od[j + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return { image: out, transmission: veil.transmission, atmosphericLight: veil.atmosphericLight, darkChannel: veil.darkChannel, strength };
}

// ---------------------------------------------------------------------------------------------

function transmissionPlane(t: number | Float32Array, n: number, name: string): Float32Array {
  if (typeof t === 'number') {
    if (!(t > 0 && t <= 1)) throw invalidOption(name, 'a number in (0, 1] or a width*height Float32Array', t);
    return new Float32Array(n).fill(t);
  }
  if (!(t instanceof Float32Array) || t.length !== n) {
    throw invalidOption(name, `a number in (0, 1] or a Float32Array of width*height = ${n} samples`, t instanceof Float32Array ? `${t.length} samples` : t);
  }
  for (let i = 0; i < n; i++) {
    if (!(t[i] > 0 && t[i] <= 1)) throw invalidOption(name, 'values in (0, 1]', `${t[i]} at index ${i}`);
  }
  return t;
}

function rgbOption(a: readonly number[], channels: 1 | 3, name: string, min: number): Rgb {
  const ok = Array.isArray(a) && (a.length === 3 || (channels === 1 && a.length === 1)) && a.every((v) => typeof v === 'number' && v >= min && v <= 1);
  if (!ok) throw invalidOption(name, `[r, g, b]${channels === 1 ? ' or [v]' : ''}, each in [${min}, 1]`, a);
  return a.length === 1 ? [a[0], a[0], a[0]] : [a[0], a[1], a[2]];
}
