/** Physics-based low-light enhancement (illumination-aware gamma). */
export {
  enhanceLowLightGamma,
  estimateIllumination,
  adaptiveGamma,
  alphaFromMean,
  defaultIlluminationRadius,
  type IlluminationOptions,
  type AdaptiveGammaOptions,
  type LowLightGammaOptions,
  type LowLightGammaResult,
} from './gamma.js';
export { chooseLowlightMethod, litFraction, LIT_LEVEL, MAX_LIT_FRACTION } from './route.js';
export { powTaylor, powTaylorArray, POW_TAYLOR_DEFAULT_ORDER, POW_TAYLOR_MIN_ORDER, POW_TAYLOR_MAX_ORDER } from './powTaylor.js';
export {
  enhanceLowLightIagc,
  iagcGammaMap,
  applyGammaMap,
  iagcThumbnailSize,
  IAGC_ESTIMATOR,
  IAGC_REFINER,
  IAGC_THUMB_MAX,
  IAGC_GAMMA_MIN,
  IAGC_GAMMA_MAX,
  type IagcOptions,
  type IagcResult,
} from './iagc.js';
export {
  synthesizeLowLight,
  sampleLowLightParams,
  sampleSpatialLowLight,
  exposureMap,
  LOW_LIGHT_RANGES,
  SPATIAL_LOW_LIGHT_RANGES,
  type LowLightParams,
  type ExposureWave,
  type LightSource,
} from './synthesize.js';
