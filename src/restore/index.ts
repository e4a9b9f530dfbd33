export { derain, dehaze, lowlight, denoise, deblur, retouch, upscale, upscaleModelName, type DehazeOptions, type UpscaleOptions } from './tasks.js';
export { runExpert, type ExpertOptions, MAX_OUTPUT_PIXELS } from './expert.js';
