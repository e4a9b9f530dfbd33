/** The int8 recipes (core/models/precision), each measured by `npm run bench:quant`. */
import type { Int8Recipe } from '../precision.js';
import { ESRGAN_SLIM_X4_INT8 } from './esrganSlimX4.js';
import { MAXIM_DERAINING_INT8 } from './maximDeraining.js';

export const INT8_RECIPES: readonly Int8Recipe[] = [MAXIM_DERAINING_INT8, ESRGAN_SLIM_X4_INT8];
