/**
 * Parity of every converted model with the original weights on tfjs-wasm.
 *   npm run bench:parity [-- --out docs/benchmarks] [--task face]
 * Writes <out>/parity.json: max and mean abs difference on [0,1] output, and the
 * time of one inference on each runtime at the parity size (small: 64x64 MAXIM,
 * 24x20 ESRGAN; speed at real sizes is in bench:derain and bench:experts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkNetworkParity, checkParity } from '../src/core/models/parity.js';
import { listModels } from '../src/core/models/registry.js';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : 'docs/benchmarks';
const onlyTask = args.includes('--task') ? args[args.indexOf('--task') + 1] : undefined;
const results = [];
for (const card of listModels()) {
  if (onlyTask && card.task !== onlyTask) continue;
  if (card.network) {
    const r = await checkNetworkParity(card.name);
    results.push(r);
    console.log(
      `${card.id.padEnd(36)} max|diff| ${r.maxAbsDiff.toExponential(2)} (network units)  tfjs ${r.tfjsSeconds.toFixed(3)} s  onnx ${r.onnxSeconds.toFixed(3)} s`,
    );
    continue;
  }
  if (card.format === 'onnx') continue; // trained here: checked against its golden pair (test/trainedModels.test.ts)
  const [h, w] = card.io.divisibility === 64 ? [64, 64] : [24, 20];
  const r = await checkParity(card.name, h, w);
  results.push(r);
  console.log(
    `${card.id.padEnd(36)} max|diff| ${r.maxAbsDiff.toExponential(2)}  mean ${r.meanAbsDiff.toExponential(2)}  tfjs ${r.tfjsSeconds.toFixed(3)} s  onnx ${r.onnxSeconds.toFixed(3)} s`,
  );
}
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, onlyTask ? `parity-${onlyTask}.json` : 'parity.json'),
  `${JSON.stringify({ command: `npm run bench:parity`, date: new Date().toISOString(), tolerance: 1e-3, results }, null, 2)}\n`,
);
const worst = Math.max(...results.map((r) => r.maxAbsDiff));
console.log(`worst max abs diff ${worst.toExponential(2)} (target <= 1e-3): ${worst <= 1e-3 ? 'PASS' : 'FAIL'}`);
