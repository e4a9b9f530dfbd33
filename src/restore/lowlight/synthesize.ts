/**
 * Synthetic low light: the one definition of the degradation the low-light student trains on
 * (training/prepare/lowlight.ts) and is evaluated on (bench/students/lowlight-iagc.ts).
 *
 * A well-exposed sRGB photo is taken back to (approximately) linear light, where exposure and
 * sensor noise act physically, then forward again:
 *   1. linearise: lin = srgb^2.2 (the usual power approximation of the sRGB curve);
 *   2. colour temperature: per-channel gains (1 + t, 1, 1 - t) (green kept), t in [-0.15, 0.15]:
 *      t > 0 warm (tungsten-like), t < 0 cool;
 *   3. exposure: lin *= exposure (0.03..0.35 is 1.5..5 stops under);
 *   4. Poisson-Gaussian sensor noise (Foi et al., "Practical Poissonian-Gaussian noise modeling and
 *      fitting for single-image raw-data", IEEE TIP 2008) in its heteroscedastic Gaussian form:
 *      lin + N(0, shotNoise * lin + readNoise^2), clamped to [0, 1];
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
}

/** The ranges the training set draws from (uniform; exposure log-uniform). */
export const LOW_LIGHT_RANGES = {
  exposure: [0.03, 0.35],
  shotNoise: [2e-4, 4e-3],
  readNoise: [5e-4, 6e-3],
  temperature: [-0.15, 0.15],
  toneGamma: [0.85, 1.2],
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
  for (let i = 0; i < src.length; i++) {
    const s = src[i] < 0 ? 0 : src[i] > 1 ? 1 : src[i];
    let lin = s ** DISPLAY_GAMMA * gains[i % 3] * p.exposure;
    lin += Math.sqrt(p.shotNoise * lin + read2) * gauss();
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
}
