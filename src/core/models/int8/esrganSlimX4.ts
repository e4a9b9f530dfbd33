/**
 * int8 recipe of ESRGAN slim x4: every Conv quantized (ConvInteger, uint8 weights per tensor,
 * activations quantized at run time). Measured by `npm run bench:quant` on Kodak24 crops: see
 * docs/benchmarks/quant.json.
 */
import type { Int8Recipe } from '../precision.js';

export const ESRGAN_SLIM_X4_INT8: Int8Recipe = {
  model: 'esrgan-slim-x4',
  ops: ['Conv'],
  measured: 'bench:quant on Kodak24 kodim01-04 (centre 256x256, downscaled to 64x64 and upscaled back), one thread',
  keepFloat: [],
};
