/**
 * Does partial dehazing help light haze? The planner's dehaze strength (dehazeStrengthFor) on the
 * two SOTS-outdoor pairs (0001: beta 0.2, 0002: light haze, beta 0.08), against the full expert.
 *
 *   node --import tsx bench/auto-haze.ts [--data ../shared/data] [--threads 1]
 *
 * PSNR on RGB, 8-bit, no crop, against the haze-free target. The strength comes from the learned
 * recogniser's haze severity (SOTS is a test source of split S1, never trained on).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createImage, decodeImage, type RawImage } from '../src/core/image/index.js';
import { psnr } from '../src/core/metrics/index.js';
import { analyzeImage, dehazeStrengthFor } from '../src/restore/auto/index.js';
import { dehaze } from '../src/restore/tasks.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const near = path.resolve(REPO, '../shared/data');
const { values: args } = parseArgs({
  options: { data: { type: 'string', default: existsSync(near) ? near : path.resolve(REPO, '../../shared/data') }, threads: { type: 'string', default: '1' } },
});
const dir = path.join(path.resolve(args.data!), 'dehaze/sots-outdoor-pairs');
const q8 = (img: RawImage): RawImage => ({ ...img, data: img.data.map((v) => Math.round(Math.max(0, Math.min(1, v)) * 255) / 255) });
const blend = (a: RawImage, b: RawImage, s: number): RawImage => {
  const out = createImage(a.width, a.height, a.channels);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i] + s * (b.data[i] - a.data[i]);
  return q8(out);
};
const rows: string[] = [
  '| pair | haze severity | planned strength | input | s 0.25 | 0.5 | 0.75 | full expert | planned |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const [input, target] of [
  ['0001_0.8_0.2.jpg', '0001.png'],
  ['0002_0.8_0.08.jpg', '0002.png'],
]) {
  const hazy = (await decodeImage(path.join(dir, 'input', input))).image;
  const gt = (await decodeImage(path.join(dir, 'target', target))).image;
  const a = await analyzeImage(hazy);
  const sev = a.severity?.haze ?? Number.NaN;
  const s = dehazeStrengthFor(sev);
  const full = q8(await dehaze(hazy, { threads: Number(args.threads) }));
  const f = (x: number) => x.toFixed(2);
  rows.push(
    `| ${input} | ${f(sev)} | ${s} | ${f(psnr(hazy, gt))} | ${f(psnr(blend(hazy, full, 0.25), gt))} | ${f(psnr(blend(hazy, full, 0.5), gt))} | ${f(psnr(blend(hazy, full, 0.75), gt))} | ${f(psnr(full, gt))} | ${f(psnr(blend(hazy, full, s), gt))} |`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
