/** enhanceLowLightIagc (TypeScript, Taylor pow, refine: true) vs the PyTorch pipeline on held-out item 0:
 *   /usr/bin/python3 training/lowlight_iagc_parity.py && node --import tsx bench/lowlight-iagc-parity.ts */
import { readFileSync } from 'node:fs';
import { enhanceLowLightIagc } from '../src/restore/lowlight/index.js';
const S = 384;
const u8 = readFileSync('training/cache/lowlight-iagc-test/low.bin').subarray(0, S * S * 3);
const img = { width: S, height: S, channels: 3 as const, data: Float32Array.from(u8, (v) => v / 255) };
const r = await enhanceLowLightIagc(img, { threads: 1, refine: true });
for (const [name, got] of [
  ['out', r.image.data],
  ['y', r.gammaStage.data],
] as const) {
  const ref = new Float32Array(readFileSync(`/tmp/iagc_torch_${name}.bin`).buffer.slice(0));
  let max = 0,
    sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - got[i]);
    max = Math.max(max, d);
    sum += d;
  }
  console.log(name, 'max |TS - torch|', max.toExponential(2), 'mean', (sum / ref.length).toExponential(2));
}
