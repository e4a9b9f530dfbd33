export { derain, dehaze, lowlight, denoise, deblur, retouch, upscale, upscaleModelName, type DehazeOptions, type UpscaleOptions } from './tasks.js';
export { runExpert, type ExpertOptions, MAX_OUTPUT_PIXELS } from './expert.js';
export * from './dehaze/index.js';
export * from './lowlight/index.js';
