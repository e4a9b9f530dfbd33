/** The int8 recipes (core/models/precision): filled in from `npm run bench:quant` measurements. */
import type { Int8Recipe } from '../precision.js';

export const INT8_RECIPES: readonly Int8Recipe[] = [];
