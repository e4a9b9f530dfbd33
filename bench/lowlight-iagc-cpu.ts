/**
 * CPU seconds per megapixel of the low-light student (default and with the refiner) and of the MAXIM
 * enhancement expert on the same 256 px held-out input, threads 1 (process.cpuUsage: robust to a
 * machine shared with other work, unlike wall time); first a 12 MP photo through the default pipeline.
 *   node --import tsx bench/lowlight-iagc-cpu.ts
 */

import { ImageModel } from '../src/core/models/imageModel.js';
import { TrainedModel } from '../src/core/models/trainedModel.js';
import { runExpert } from '../src/restore/expert.js';
import { enhanceLowLightIagc } from '../src/restore/lowlight/index.js';
import { defaultDataRoot, heldOutPairs } from '../training/prepare/lowlightPairs.js';
import { cropImage } from '../src/core/image/geometry.js';
const p = (await heldOutPairs(defaultDataRoot(), 1))[0];
const img = cropImage(p.low, 64, 64, 256, 256);
const mp = (256 * 256) / 1e6;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
// A 12 MP photo (4000x3000, generated dark texture) through the default pipeline: wall, CPU, peak RSS.
{
  const { createImage } = await import('../src/core/image/types.js');
  const big = createImage(4000, 3000, 3);
  for (let i = 0; i < big.data.length; i++) big.data[i] = 0.05 + 0.1 * Math.abs(Math.sin(i / 7919));
  const c = cpu(),
    t = performance.now();
  await enhanceLowLightIagc(big, { threads: 1 });
  console.log(
    `iagc 12 MP: ${((performance.now() - t) / 1000).toFixed(1)} s wall, ${(cpu() - c).toFixed(1)} s CPU, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (first thing this process runs)`,
  );
}
const estimator = await TrainedModel.load('lowlight-iagc', { threads: 1 });
const refiner = await ImageModel.load('lowlight-iagc-refine', { threads: 1 });
await enhanceLowLightIagc(img, { estimator, refiner, threads: 1, refine: true });
for (const refine of [false, true]) {
  const c = cpu(),
    t = performance.now();
  for (let k = 0; k < 10; k++) await enhanceLowLightIagc(img, { estimator, refiner, threads: 1, refine });
  console.log(
    `iagc${refine ? '+refine' : ''}: ${((cpu() - c) / 10 / mp).toFixed(3)} CPU-s/MP, ${((performance.now() - t) / 1000 / 10 / mp).toFixed(3)} wall-s/MP`,
  );
}
const model = await ImageModel.load('maxim-enhancement', { threads: 1 });
await runExpert(img, 'maxim-enhancement', { model, threads: 1 });
const c = cpu(),
  t = performance.now();
await runExpert(img, 'maxim-enhancement', { model, threads: 1 });
console.log(`maxim-enhancement: ${((cpu() - c) / mp).toFixed(1)} CPU-s/MP, ${((performance.now() - t) / 1000 / mp).toFixed(1)} wall-s/MP`);
