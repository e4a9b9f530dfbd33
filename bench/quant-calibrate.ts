/**
 * Calibrates the int8 recipe of MAXIM deraining (core/models/precision): runs the float graph on
 * the centre 128x128 crop of the JORDER-E heavy-rain samples (derain/samples: another source than
 * the Rain100H dev pairs bench:quant evaluates on), measures for every quantizable MatMul how well
 * its input survives dynamic uint8 quantization (SNR of the rounding, lowest over the samples),
 * and writes the recipe with the worst `--keep-float` fraction of them kept in float.
 *
 *   npm run calibrate:int8 [-- --keep-float 0.35 --samples 2 --side 128]
 *
 * Writes src/core/models/int8/maximDeraining.ts and bench/results/quant-snr-maxim-deraining.json.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cropImage, decodeImage } from '../src/core/image/index.js';
import { calibrateActivations } from '../src/core/models/calibrate.js';
import { ImageModel } from '../src/core/models/imageModel.js';
import { worstNodes, type QuantizableOp } from '../src/core/models/quantize.js';
import { round, sharedData } from './lib/common.js';
import { ROOT } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    'keep-float': { type: 'string', default: '0.35' },
    samples: { type: 'string', default: '2' },
    side: { type: 'string', default: '128' },
  },
});
const fraction = Number(args['keep-float']);
const side = Number(args.side);
const OPS: QuantizableOp[] = ['MatMul', 'Conv'];

const dir = sharedData('derain/samples/rain100H_style_jorder_e/test/small/rain');
const files = readdirSync(dir).sort().slice(0, Number(args.samples));
const model = await ImageModel.load('maxim-deraining', { threads: 1 });
const onnx = await model.onnxFor([1, side, side, 3]);
await model.dispose();
const samples = [];
for (const f of files) {
  const img = (await decodeImage(path.join(dir, f))).image;
  const c = cropImage(img, Math.floor((img.width - side) / 2), Math.floor((img.height - side) / 2), side, side);
  samples.push({ data: c.data, shape: [1, side, side, 3] });
}
const t0 = performance.now();
// Conv inputs are calibrated too, but only MatMul nodes are candidates for float: the recipe
// quantizes every Conv (they measured no loss alone, bench:quant).
const snr = await calibrateActivations(onnx, samples, ['MatMul'], { threads: 1, group: 50 });
const keep = [...worstNodes(snr, fraction)].sort();
console.log(`calibrated ${snr.size} MatMul inputs on ${files.join(', ')} in ${round((performance.now() - t0) / 1000, 1)} s; ${keep.length} kept in float`);
writeFileSync(path.join(ROOT, 'bench', 'results', 'quant-snr-maxim-deraining.json'), `${JSON.stringify(Object.fromEntries(snr), null, 1)}\n`);
const source = `/**
 * int8 recipe of MAXIM deraining, written by \`npm run calibrate:int8 -- --keep-float ${fraction}\`
 * (bench/quant-calibrate.ts): MatMul and Conv quantized, except the ${keep.length} MatMul nodes
 * (${Math.round(fraction * 100)}%) whose inputs quantized worst on the JORDER-E samples ${files.join(', ')}
 * (centre ${side}x${side}). Measured by \`npm run bench:quant\`: see docs/benchmarks/quant.json.
 */
import type { Int8Recipe } from '../precision.js';

export const MAXIM_DERAINING_INT8: Int8Recipe = {
  model: 'maxim-deraining',
  ops: [${OPS.map((o) => `'${o}'`).join(', ')}],
  measured: 'bench:quant on Rain100H dev pairs 21-24 (256x256 centre crops, one thread); the kept fraction was chosen on pairs 1-2',
  keepFloat: [
${keep.map((n) => `    '${n}',`).join('\n')}
  ],
};
`;
writeFileSync(path.join(ROOT, 'src', 'core', 'models', 'int8', 'maximDeraining.ts'), source);
console.log('wrote src/core/models/int8/maximDeraining.ts');
