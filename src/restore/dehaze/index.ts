/** Physics-based dehazing (atmospheric scattering model). */
export {
  dehazePrior,
  estimateAtmosphericLight,
  defaultPatchRadius,
  densityBoundedOmega,
  DENSITY_MARGIN,
  type DehazePriorOptions,
  type DehazePriorResult,
  type Rgb,
} from './prior.js';
export { measureHaze, chooseDehazeMethod, dehazeAuto, MIN_PRIOR_HAZE, MAX_PRIOR_HAZE, MIN_NETWORK_EFFECT, type DehazeAutoResult } from './route.js';
