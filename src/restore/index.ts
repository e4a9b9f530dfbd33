export {
  derain,
  derainModelName,
  DERAIN_MODELS,
  DERAIN_MODEL_NAMES,
  DEFAULT_DERAIN_MODEL,
  type DerainModel,
  type DerainOptions,
  dehaze,
  lowlight,
  lowlightFuse,
  denoise,
  deblur,
  retouch,
  upscale,
  upscaleModelName,
  EXPERT_MODELS,
  dehazeModelName,
  DEHAZE_METHODS,
  LOWLIGHT_METHODS,
  FUSE_DARK,
  FUSE_BRIGHT,
  type DehazeMethod,
  type DehazeOptions,
  type LowlightMethod,
  type LowlightOptions,
  type LowlightFuseResult,
  type UpscaleOptions,
} from './tasks.js';
export { runExpert, type ExpertOptions, MAX_OUTPUT_PIXELS } from './expert.js';
export * from './dehaze/index.js';
export * from './lowlight/index.js';
export * from './derain/index.js';
export * from './auto/index.js';
export * from './hdr/index.js';
