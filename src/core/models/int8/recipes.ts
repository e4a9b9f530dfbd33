/**
 * The int8 recipes (core/models/precision), each measured by `npm run bench:quant`.
 *
 * Not offered: ESRGAN (all sizes). Its graph is convolutions only, and onnxruntime's ConvInteger
 * (uint8 x uint8, one weight zero point per tensor) measured no faster than the float convolution
 * (slim x4, 96x96 Kodak24 inputs, one thread: the same CPU time within noise; loss 0.00 dB).
 */
import type { Int8Recipe } from '../precision.js';
import { MAXIM_DERAINING_INT8 } from './maximDeraining.js';

export const INT8_RECIPES: readonly Int8Recipe[] = [MAXIM_DERAINING_INT8];
