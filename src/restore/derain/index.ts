/** Heavy rain: the physical rain model (streaks + veil) and learned-then-physical restoration. */
export {
  synthesizeRain,
  gradientTransmission,
  estimateVeil,
  removeVeil,
  VEIL_OMEGA,
  type RainStreakOptions,
  type SynthesizeRainOptions,
  type SynthesizedRain,
  type VeilOptions,
  type VeilEstimate,
  type RemoveVeilOptions,
  type RemoveVeilResult,
} from './rainModel.js';
export { derainHeavy, DEFAULT_VEIL_STRENGTH, type HeavyRainOptions, type HeavyRainResult } from './heavy.js';
