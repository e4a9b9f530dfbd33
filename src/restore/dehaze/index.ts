/** Physics-based dehazing (atmospheric scattering model). */
export {
  dehazePrior,
  estimateAtmosphericLight,
  defaultPatchRadius,
  type DehazePriorOptions,
  type DehazePriorResult,
  type Rgb,
} from './prior.js';
