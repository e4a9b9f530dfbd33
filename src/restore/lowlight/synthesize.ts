/**
 * Synthetic low light: the one definition of the degradation the low-light student trains on
 * (training/prepare/lowlight.ts) and is evaluated on (bench/students/lowlight-iagc.ts).
 *
 * A well-exposed sRGB photo is taken back to (approximately) linear light, where exposure and
 * sensor noise act physically, then forward again:
 *   1. linearise: lin = srgb^2.2 (the usual power approximation of the sRGB curve);
 *   2. colour temperature: per-channel gains (1 + t, 1, 1 - t) (green kept), t in [-0.15, 0.15]:
 *      t > 0 warm (tungsten-like), t < 0 cool;
 *   3. exposure: lin *= exposure (0.03..0.35 is 1.5..5 stops under), optionally varying over the
 *      picture (a night scene is not a uniformly dimmed day scene: real night photos have dark corners
 *      next to lamp-lit walls), as the product of reflectance and illuminance in linear light:
 *        ambient(u, v) = exposure * 2^(sum_k stops_k cos(2 pi (kx_k u + ky_k v) + phase_k)), capped at 1:
 *          a smooth random exposure field (u, v in [0, 1] across the picture);
 *        each light source j adds the irradiance of a point light at height r_j above the scene plane,
 *          f_j = (1 + d^2 / r_j^2)^(-3/2) (inverse-square law times the cosine of incidence; d the distance
 *          to its foot, in units of the picture diagonal), scaled by strength_j in [0, 1];
 *        E = ambient + (1 - ambient) * (1 - prod_j (1 - strength_j f_j)): light adds, and the lit scene
 *          tops out at the clean photo's own exposure (E <= 1: the target is never darker than the
 *          input, so a region under a lamp keeps its brightness and only the rest needs lifting);
 *   4. (after exposure, so shot noise follows the local signal) Poisson-Gaussian sensor noise (Foi et al., "Practical Poissonian-Gaussian noise modeling and
 *      fitting for single-image raw-data", IEEE TIP 2008) in its heteroscedastic Gaussian form:
 *      lin + (1 - noiseReduction) N(0, shotNoise * lin + readNoise^2), clamped to [0, 1]: noiseReduction
 *      (default 0) is the share of the noise amplitude the camera's own denoising removes before the JPEG
 *      (night photos from phones and cameras come out far cleaner in the shadows than raw sensor noise);
 *   5. back to sRGB with lin^(1/2.2), then a camera tone-curve variation v^toneGamma
 *      (toneGamma in [0.85, 1.2]).
 * The caller's pipeline quantises to 8 bits (patch sets store uint8, as real photos carry).
 */
import { invalidOption } from '../../core/errors.js';
import { checkImage } from '../../core/filters/darkChannel.js';
import { createImage, type RawImage } from '../../core/image/types.js';
import { gaussianSampler, mulberry32 } from '../../core/random.js';

export interface LowLightParams {
  /** Linear-light exposure factor in (0, 1]. */
  readonly exposure: number;
  /** Shot-noise gain: variance per unit of linear signal, >= 0. */
  readonly shotNoise: number;
  /** Read-noise standard deviation in linear units, >= 0. */
  readonly readNoise: number;
  /** Colour temperature shift in [-0.5, 0.5]: red gain 1 + t, blue 1 - t. */
  readonly temperature: number;
  /** Tone-curve exponent applied after re-encoding, > 0. */
  readonly toneGamma: number;
  /** Noise seed (integer). */
  readonly seed: number;
  /** Share of the noise amplitude removed by in-camera noise reduction, in [0, 1) (absent: 0). */
  readonly noiseReduction?: number;
  /** Smooth variation of the ambient exposure (absent or empty: uniform). */
  readonly ambientWaves?: readonly ExposureWave[];
  /** Local light sources that keep their surroundings bright (absent or empty: none). */
  readonly lights?: readonly LightSource[];
}

/** One cosine of the log2 exposure field: stops * cos(2 pi (kx u + ky v) + phase), u, v in [0, 1]. */
export interface ExposureWave {
  /** Cycles across the picture's width / height (small: the field is smooth). */
  readonly kx: number;
  readonly ky: number;
  readonly phase: number;
  /** Amplitude in stops (log2 of exposure), >= 0. */
  readonly stops: number;
}

/** A point light above the scene plane (see the module notes). */
export interface LightSource {
  /** Foot of the light as a fraction of width / height (outside [0, 1]: a light just off frame). */
  readonly x: number;
  readonly y: number;
  /** Height above the plane as a fraction of the picture diagonal (the radius of the lit pool), > 0. */
  readonly radius: number;
  /** Share of the exposure headroom filled right under the light, in [0, 1]. */
  readonly strength: number;
}

/** The ranges the training set draws from (uniform; exposure log-uniform). */
export const LOW_LIGHT_RANGES = {
  exposure: [0.03, 0.35],
  shotNoise: [2e-4, 4e-3],
  readNoise: [5e-4, 6e-3],
  temperature: [-0.15, 0.15],
  toneGamma: [0.85, 1.2],
} as const;

/** The ranges of the spatial part (sampleSpatialLowLight). */
export const SPATIAL_LOW_LIGHT_RANGES = {
  waves: [1, 3],
  waveCycles: [-1.5, 1.5],
  waveStops: [0, 0.7],
  lights: [0, 3],
  lightPosition: [-0.1, 1.1],
  lightRadius: [0.02, 0.12],
  lightStrength: [0.3, 1],
  /**
   * With light sources in the frame the ambient sits this many stops below the lit parts: the camera
   * meters for the lamps, and a night scene's ambient (sky glow, spill) is far weaker than lamplight.
   * (A first range, 0-1.5 stops, left the synthetic scenes brighter than the uniform ones and much
   * brighter than real night photos: median luma 0.08-0.21 against 0.01-0.11 on DICM/LIME/LOL.)
   */
  meterStops: [1, 4],
  /**
   * In-camera noise reduction of the night photos (all spatial draws). Without it the deep shadows of
   * the synthetic night scenes were raw-sensor noisy (read noise up to 6e-3 linear is +-0.1 in sRGB
   * near black), so the student learnt to leave dark regions dark (gamma ~1 at L < 0.1 on real photos),
   * since a pointwise gamma cannot lift noise without amplifying it.
   */
  noiseReduction: [0.4, 0.9],
} as const;

const DISPLAY_GAMMA = 2.2;

/** Draws degradation parameters from LOW_LIGHT_RANGES with `rand` (uniform in [0, 1)). */
export function sampleLowLightParams(rand: () => number): LowLightParams {
  const u = (r: readonly [number, number]): number => r[0] + (r[1] - r[0]) * rand();
  const [e0, e1] = LOW_LIGHT_RANGES.exposure;
  return {
    exposure: Math.exp(Math.log(e0) + (Math.log(e1) - Math.log(e0)) * rand()),
    shotNoise: u(LOW_LIGHT_RANGES.shotNoise),
    readNoise: u(LOW_LIGHT_RANGES.readNoise),
    temperature: u(LOW_LIGHT_RANGES.temperature),
    toneGamma: u(LOW_LIGHT_RANGES.toneGamma),
    seed: Math.floor(rand() * 2 ** 31),
  };
}

/**
 * Adds a spatial part (SPATIAL_LOW_LIGHT_RANGES, uniform draws) to `base`: an exposure field of 1-3
 * smooth waves and 0-3 light sources (0 with odds 1/4, then 1, 2, 3 with 3/8, 1/4, 1/8); with lights,
 * the base exposure is lowered by meterStops (metering for the lit parts darkens the rest); and the
 * camera's noise reduction (noiseReduction).
 */
export function sampleSpatialLowLight(base: LowLightParams, rand: () => number): LowLightParams {
  const R = SPATIAL_LOW_LIGHT_RANGES;
  const u = (r: readonly [number, number]): number => r[0] + (r[1] - r[0]) * rand();
  const waveCount = R.waves[0] + Math.floor(rand() * (R.waves[1] - R.waves[0] + 1));
  const ambientWaves: ExposureWave[] = [];
  for (let k = 0; k < waveCount; k++) ambientWaves.push({ kx: u(R.waveCycles), ky: u(R.waveCycles), phase: 2 * Math.PI * rand(), stops: u(R.waveStops) });
  const r = rand();
  const lightCount = r < 0.25 ? 0 : r < 0.625 ? 1 : r < 0.875 ? 2 : 3;
  const lights: LightSource[] = [];
  for (let j = 0; j < lightCount; j++) lights.push({ x: u(R.lightPosition), y: u(R.lightPosition), radius: u(R.lightRadius), strength: u(R.lightStrength) });
  const exposure = lightCount > 0 ? base.exposure * 2 ** -u(R.meterStops) : base.exposure;
  return { ...base, exposure, ambientWaves, lights, noiseReduction: u(R.noiseReduction) };
}

/**
 * The linear-light exposure of every pixel (step 3 of the module notes), row-major, one value per
 * pixel: `exposure` everywhere when the parameters have no spatial part.
 */
export function exposureMap(width: number, height: number, p: LowLightParams): Float64Array {
  // float64: with no spatial part every value is exactly `exposure`, so uniform pairs stay bit-identical
  const out = new Float64Array(width * height);
  const waves = p.ambientWaves ?? [];
  const lights = p.lights ?? [];
  const diag = Math.hypot(width, height);
  for (let y = 0; y < height; y++) {
    const v = height > 1 ? y / (height - 1) : 0.5;
    for (let x = 0; x < width; x++) {
      const u = width > 1 ? x / (width - 1) : 0.5;
      let stops = 0;
      for (const w of waves) stops += w.stops * Math.cos(2 * Math.PI * (w.kx * u + w.ky * v) + w.phase);
      const ambient = Math.min(1, p.exposure * 2 ** stops);
      let dark = 1;
      for (const l of lights) {
        const d2 = ((x - l.x * (width - 1)) ** 2 + (y - l.y * (height - 1)) ** 2) / (diag * diag);
        dark *= 1 - l.strength * (1 + d2 / (l.radius * l.radius)) ** -1.5;
      }
      out[y * width + x] = ambient + (1 - ambient) * (1 - dark);
    }
  }
  return out;
}

/** Darkens a clean RGB image in [0, 1] as the module notes describe. Pure: `clean` is not modified. */
export function synthesizeLowLight(clean: RawImage, p: LowLightParams): RawImage {
  checkImage(clean);
  if (clean.channels !== 3) throw invalidOption('clean', 'an RGB image', `${clean.channels} channel(s)`);
  checkParams(p);
  const gains = [1 + p.temperature, 1, 1 - p.temperature];
  const rand = mulberry32(p.seed);
  const gauss = gaussianSampler(rand, true);
  const read2 = p.readNoise * p.readNoise;
  const invGamma = 1 / DISPLAY_GAMMA;
  const out = createImage(clean.width, clean.height, 3);
  const src = clean.data;
  const dst = out.data;
  const exposure = exposureMap(clean.width, clean.height, p);
  const residual = 1 - (p.noiseReduction ?? 0);
  for (let i = 0; i < src.length; i++) {
    const s = src[i] < 0 ? 0 : src[i] > 1 ? 1 : src[i];
    let lin = s ** DISPLAY_GAMMA * gains[i % 3] * exposure[(i / 3) | 0];
    lin += residual * Math.sqrt(p.shotNoise * lin + read2) * gauss();
    lin = lin < 0 ? 0 : lin > 1 ? 1 : lin;
    dst[i] = (lin ** invGamma) ** p.toneGamma;
  }
  return out;
}

function checkParams(p: LowLightParams): void {
  if (p === null || typeof p !== 'object') throw invalidOption('params', 'a LowLightParams object', p);
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!finite(p.exposure) || !(p.exposure > 0 && p.exposure <= 1)) throw invalidOption('exposure', 'a number in (0, 1]', p.exposure);
  if (!finite(p.shotNoise) || p.shotNoise < 0) throw invalidOption('shotNoise', 'a finite number >= 0', p.shotNoise);
  if (!finite(p.readNoise) || p.readNoise < 0) throw invalidOption('readNoise', 'a finite number >= 0', p.readNoise);
  if (!finite(p.temperature) || Math.abs(p.temperature) > 0.5) throw invalidOption('temperature', 'a number in [-0.5, 0.5]', p.temperature);
  if (!finite(p.toneGamma) || !(p.toneGamma > 0)) throw invalidOption('toneGamma', 'a finite number > 0', p.toneGamma);
  if (!Number.isInteger(p.seed)) throw invalidOption('seed', 'an integer', p.seed);
  if (p.noiseReduction !== undefined && !(finite(p.noiseReduction) && p.noiseReduction >= 0 && p.noiseReduction < 1))
    throw invalidOption('noiseReduction', 'a number in [0, 1)', p.noiseReduction);
  if (p.ambientWaves !== undefined) {
    if (!Array.isArray(p.ambientWaves)) throw invalidOption('ambientWaves', 'an array of waves', p.ambientWaves);
    for (const w of p.ambientWaves) {
      if (!w || ![w.kx, w.ky, w.phase, w.stops].every(finite) || w.stops < 0)
        throw invalidOption('ambientWaves', 'waves with finite kx, ky, phase and stops >= 0', w);
    }
  }
  if (p.lights !== undefined) {
    if (!Array.isArray(p.lights)) throw invalidOption('lights', 'an array of light sources', p.lights);
    for (const l of p.lights) {
      if (!l || ![l.x, l.y, l.radius, l.strength].every(finite) || !(l.radius > 0) || l.strength < 0 || l.strength > 1)
        throw invalidOption('lights', 'lights with finite x, y, radius > 0 and strength in [0, 1]', l);
    }
  }
}
