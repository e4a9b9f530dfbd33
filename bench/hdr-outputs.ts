/**
 * Before/after check of mergeHdr's outputs (issue 23: speed work must not change them beyond a
 * stated tolerance). Runs mergeHdr (+ Reinhard) on memorial (5 exposures), pingpong and three
 * memorial exposures upsampled to 2832x4248 (12 MP, cached under --dir), prints the stage
 * timings, and either saves the radiance, LDR and ghost mask (Float32 files under --dir) or
 * compares them with the saved ones (PSNR against the saved peak; Infinity = bit-identical).
 *
 *   git checkout <base> && node --import tsx bench/hdr-outputs.ts --save
 *   git checkout <new>  && node --import tsx bench/hdr-outputs.ts
 *
 *   options: --only memorial,pingpong,big   --repeat N   --dir /tmp/hdr-outputs   --data <hdr dir>
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage, type RawImage } from '../src/core/image/index.js';
import { mergeHdr, readBracket } from '../src/restore/hdr/index.js';
import { sharedData } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    save: { type: 'boolean', default: false },
    only: { type: 'string', default: 'memorial,pingpong,big' },
    repeat: { type: 'string', default: '1' },
    dir: { type: 'string', default: '/tmp/hdr-outputs' },
    data: { type: 'string' },
  },
});
const DATA = path.resolve(args.data ?? sharedData('hdr'));
const DIR = path.resolve(args.dir!);
mkdirSync(DIR, { recursive: true });
const mem = (i: number) => path.join(DATA, 'memorial', `memorial${String(i).padStart(4, '0')}.png`);

const sets: Record<string, () => Promise<{ frames: RawImage[]; times: number[] }>> = {
  memorial: async () => ({ frames: (await readBracket([62, 65, 68, 71, 74].map(mem))).frames, times: [16, 2, 0.25, 0.03125, 0.00390625] }),
  pingpong: async () => ({
    frames: (await readBracket([1, 2, 3].map((i) => path.join(DATA, 'dynamic/pingpong', `Img${i}.JPG`)))).frames,
    times: [1 / 1000, 1 / 250, 1 / 60],
  }),
  big: async () => {
    const ids = [65, 68, 71];
    const frames: RawImage[] = [];
    for (const id of ids) {
      const p = path.join(DIR, `big-${id}.png`);
      if (!existsSync(p)) await sharp(mem(id)).resize(2832, 4248, { kernel: 'cubic' }).png({ compressionLevel: 1 }).toFile(p);
      frames.push((await decodeImage(p)).image);
    }
    return { frames, times: ids.map((id) => 32 / 2 ** (id - 61)) };
  },
};

/** PSNR of a against b, peak = max of b. */
function psnr(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (const v of b) max = Math.max(max, v);
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i]! - b[i]!) ** 2;
  return e === 0 ? Infinity : 10 * Math.log10((max * max) / (e / a.length));
}

for (const name of args.only!.split(',')) {
  const set = sets[name];
  if (!set) throw new Error(`--only: unknown set ${name} (memorial, pingpong, big)`);
  const { frames, times } = await set();
  for (let r = 0; r < Math.max(1, Number(args.repeat)); r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await mergeHdr(frames, { times, tonemap: 'reinhard' });
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const flagged = res.ghostMask.data.reduce((s, v) => s + (v > 0.5 ? 1 : 0), 0) / res.ghostMask.data.length;
    console.log(
      `${name} wall ${wall.toFixed(2)} s, CPU ${((c.user + c.system) / 1e6).toFixed(2)} s, flagged ${(100 * flagged).toFixed(2)} %, stages ${JSON.stringify(res.timings)}`,
    );
    if (r > 0) continue;
    const outputs = { radiance: res.radiance.data, ldr: res.ldr!.data, mask: res.ghostMask.data };
    for (const [k, data] of Object.entries(outputs)) {
      const file = path.join(DIR, `${name}-${k}.f32`);
      if (args.save) writeFileSync(file, data);
      else if (existsSync(file)) console.log(`  ${k}: PSNR vs saved ${psnr(data, new Float32Array(readFileSync(file).buffer.slice(0))).toFixed(2)} dB`);
      else console.log(`  ${k}: nothing saved in ${DIR} (run with --save first)`);
    }
  }
}
