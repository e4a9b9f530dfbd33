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
export { measureHaze, chooseDehazeMethod, MIN_PRIOR_HAZE, MAX_PRIOR_HAZE } from './route.js';
