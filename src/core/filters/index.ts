/**
 * O(N) image filters on grey planes (Float32Array, width*height, row-major), the building
 * blocks of the physical models (dark channel prior, illumination maps):
 *
 * - boxFilter: clipped-window mean by running sums;
 * - minFilter: clipped-window minimum (erosion) by van Herk/Gil-Werman;
 * - guidedFilter: He et al.'s guided filter with a grey guide;
 * - darkChannel: min over RGB, then minFilter.
 *
 * All are pure: inputs are never modified, outputs are new arrays.
 */
export { boxFilter } from './box.js';
export { minFilter } from './minFilter.js';
export { guidedFilter, type GuidedFilterOptions } from './guided.js';
export { darkChannel, minOverChannels } from './darkChannel.js';
