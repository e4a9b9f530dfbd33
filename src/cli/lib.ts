/** The one door from the CLI into the library: everything comes from the public API (src/index.ts). */
export * from '../index.js';
