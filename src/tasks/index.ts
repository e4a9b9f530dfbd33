/** tasks: the one task table (table.ts), its option specs (options.ts) and the picture restorations' run functions (restore.ts). */
export * from './options.js';
export * from './table.js';
export { greyMap, type RestoreMap, type RestoreOutput, type RestoreTaskSpec } from './restore.js';
