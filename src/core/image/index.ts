/** Public image API: the RawImage type and decoding/encoding. */
export * from './types.js';
export * from './io.js';
export { cropImage, applyDihedral, invertDihedral, resampleRegion, resizeArea } from './geometry.js';
export { exifOrientation, type SourceMetadata } from './metadata.js';
export { overlaySvg } from './overlay.js';
