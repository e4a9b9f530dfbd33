/**
 * The one door from the CLI into the library: the public API, top level (src/index.ts) and every
 * subpath export (clearsight/restore, /face, /video, /trust, /models, /core), nothing internal.
 */
export * from '../index.js';
export * from '../core/index.js';
export * from '../core/models/index.js';
export * from '../restore/index.js';
export * from '../face/index.js';
export * from '../video/index.js';
export * from '../trust/index.js';
// Names two modules export differently: the CLI means these.
export { choleskySolve } from '../core/index.js';
export * as forensics from '../trust/forensics/index.js';
