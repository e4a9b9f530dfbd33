/**
 * Heavy-rain restoration: learned streak removal, then veil removal by the physical model
 * (see rainModel.ts for the model I = T (J + S) + (1 − T) A and the order it implies).
 *
 * Default veil strength: 0, i.e. the expert's output unchanged, from the measurement
 * (bench/heavy-rain.ts --limit 10 --veiled 5; Y-PSNR, MATLAB YCbCr, 8-bit, no crop):
 *
 *   Rain100H dev, first 10 pairs:   expert alone 31.23 dB / SSIM 0.908; + veil removal at
 *     s = 0.25: 29.04, 0.5: 25.44, 0.75: 21.95, 1: 18.49 dB; no image improved at any s > 0.
 *   Same pairs with a synthetic veil (T 0.45 top -> 0.9 bottom, A ~0.84 grey, first 5):
 *     expert alone 19.07 dB; s = 0.25: 19.87, 0.5: 20.87, 0.75: 21.90 (best), 1: 21.12 dB.
 *
 * Rain100H's rainy images are clean + streaks, with no veil: the dark channel prior then reads
 * the scenes' own distance haze and brightness as veil and removing it moves away from the
 * ground truth. Veil removal pays off only on images that carry a veil (misty heavy rain);
 * set `veilStrength` (0.5-0.75) for those.
 */
import type { RawImage } from '../../core/image/types.js';
import { createImage } from '../../core/image/types.js';
import { invalidOption } from '../../core/errors.js';
import { report, throwIfAborted } from '../../core/progress.js';
import { derain, type DerainOptions } from '../tasks.js';
import type { Rgb } from '../dehaze/index.js';
import { checkVeilStrength, removeVeil, type VeilOptions } from './rainModel.js';

/** Default fraction of the veil removed by derainHeavy (measured; see the module notes). */
export const DEFAULT_VEIL_STRENGTH = 0;

export interface HeavyRainOptions extends DerainOptions {
  /** Fraction of the rain veil removed after the streaks, in [0, 1]. Default DEFAULT_VEIL_STRENGTH (0). */
  veilStrength?: number;
  /** Dark-channel-prior parameters of the veil estimate (patch radius, guided filter, known A). */
  veil?: VeilOptions;
}

export interface HeavyRainResult {
  /** The restored image: streaks removed, then the veil at `veilStrength`. */
  image: RawImage;
  /** The learned expert's output (streaks removed, veil kept). */
  streakFree: RawImage;
  /** Rain layer: input − streakFree per channel, clamped to [0, 1] (the streaks the expert took out). */
  rainLayer: RawImage;
  /** Veil transmission T estimated on streakFree (width*height, [0, 1]; strength-independent). */
  transmission: Float32Array;
  /** Atmospheric light A estimated on streakFree. */
  atmosphericLight: Rgb;
  /** The veil strength used. */
  veilStrength: number;
}

/** Learned deraining (`model`: MAXIM by default, or the fast student) followed by physical veil removal; returns the maps too. */
export async function derainHeavy(img: RawImage, opts: HeavyRainOptions = {}): Promise<HeavyRainResult> {
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const { veilStrength: vs, veil, ...expert } = opts;
  // Checked before the (long) expert runs.
  const veilStrength = checkVeilStrength(vs ?? DEFAULT_VEIL_STRENGTH, 'veilStrength');
  if (veil !== undefined && (veil === null || typeof veil !== 'object')) throw invalidOption('veil', 'veil estimate options (VeilOptions)', veil);

  const streakFree = await derain(img, expert);
  throwIfAborted(opts.signal);
  report(opts, 'veil removal', 0, 1);
  const removed = removeVeil(streakFree, { ...veil, strength: veilStrength, signal: opts.signal });
  report(opts, 'veil removal', 1, 1);
  return {
    image: removed.image,
    streakFree,
    rainLayer: rainLayerOf(img, streakFree),
    transmission: removed.transmission,
    atmosphericLight: removed.atmosphericLight,
    veilStrength,
  };
}

/** max(0, min(1, rainy − derained)) per sample. */
function rainLayerOf(rainy: RawImage, derained: RawImage): RawImage {
  const out = createImage(rainy.width, rainy.height, rainy.channels);
  const a = rainy.data;
  const b = derained.data;
  const o = out.data;
  for (let i = 0; i < o.length; i++) {
    const v = a[i] - b[i];
    o[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}
