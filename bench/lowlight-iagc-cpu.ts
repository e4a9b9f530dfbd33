/**
 * CPU seconds per megapixel of the low-light student (default and with the refiner) and of the MAXIM
 * enhancement expert on the same 256 px held-out input, threads 1 (process.cpuUsage: robust to a
 * machine shared with other work, unlike wall time). node --import tsx bench/lowlight-iagc-cpu.ts
 */

import { ImageModel } from '../src/core/models/imageModel.js';
import { TrainedModel } from '../src/core/models/trainedModel.js';
import { runExpert } from '../src/restore/expert.js';
import { enhanceLowLightIagc } from '../src/restore/lowlight/index.js';
import { defaultDataRoot, heldOutPairs } from '../training/prepare/lowlightPairs.js';
import { cropImage } from '../src/core/image/geometry.js';
const p = (await heldOutPairs(defaultDataRoot(), 1))[0];
const img = cropImage(p.low, 64, 64, 256, 256);
const mp = 256 * 256 / 1e6;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const estimator = await TrainedModel.load('lowlight-iagc', { threads: 1 });
const refiner = await ImageModel.load('lowlight-iagc-refine', { threads: 1 });
await enhanceLowLightIagc(img, { estimator, refiner, threads: 1, refine: true });
for (const refine of [false, true]) {
  let c = cpu(), t = performance.now();
  for (let k = 0; k < 10; k++) await enhanceLowLightIagc(img, { estimator, refiner, threads: 1, refine });
  console.log(`iagc${refine ? '+refine' : ''}: ${((cpu() - c) / 10 / mp).toFixed(3)} CPU-s/MP, ${((performance.now() - t) / 1000 / 10 / mp).toFixed(3)} wall-s/MP`);
}
const model = await ImageModel.load('maxim-enhancement', { threads: 1 });
await runExpert(img, 'maxim-enhancement', { model, threads: 1 });
const c = cpu(), t = performance.now();
await runExpert(img, 'maxim-enhancement', { model, threads: 1 });
console.log(`maxim-enhancement: ${((cpu() - c) / mp).toFixed(1)} CPU-s/MP, ${((performance.now() - t) / 1000 / mp).toFixed(1)} wall-s/MP`);
