/**
 * Tiled vs untiled output of the learned experts (issue 20: `--max-tile 128` left rain).
 *
 *   node --import tsx bench/tiling.ts [--data ../shared/data] [--pairs 1,2,3] [--tiles 128,192,256] [--threads 2] [--out bench/results]
 *
 * MAXIM deraining on Rain100H dev pairs: Y-PSNR (MATLAB YCbCr, no crop) against the clean
 * image, untiled (the card default, 480x320 fits one tile) and at each --max-tile.
 * ESRGAN slim x2 on Kodak kodim03 (a 320x320 crop): PSNR of each tiled output against the
 * untiled one (a local network should agree to rounding).
 */
import { parseArgs } from 'node:util';
import { decodeImage, cropImage } from '../src/core/image/index.js';
import { psnr } from '../src/core/metrics/index.js';
import { ImageModel } from '../src/core/models/imageModel.js';
import { runExpert } from '../src/restore/expert.js';
import { commandLine, machineInfo, round, sharedData, table, timestamp, writeJsonPair } from './lib/common.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: sharedData() },
    pairs: { type: 'string', default: '1,2,3,4,5' },
    tiles: { type: 'string', default: '128,192,256' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const tiles = values.tiles!.split(',').map(Number);
const threads = Number(values.threads);

const rows: Array<Array<string | number>> = [];
const results: Array<Record<string, unknown>> = [];
const derain = await ImageModel.load('maxim-deraining', { threads });
try {
  for (const n of values.pairs!.split(',')) {
    const rainy = (await decodeImage(`${values.data}/derain/rain100H-dev/rainy/${n}.png`)).image;
    const clean = (await decodeImage(`${values.data}/derain/rain100H-dev/clean/${n}.png`)).image;
    const untiled = psnr(await runExpert(rainy, 'maxim-deraining', { model: derain }), clean, { channel: 'y' });
    const tiled: Record<number, number> = {};
    for (const t of tiles) tiled[t] = psnr(await runExpert(rainy, 'maxim-deraining', { model: derain, maxTile: t }), clean, { channel: 'y' });
    results.push({ model: 'maxim-deraining', image: `rain100H-dev/${n}`, metric: 'PSNR-Y vs clean', untiled: round(untiled, 3), tiled });
    rows.push([`maxim-deraining rain100H-dev/${n}`, untiled.toFixed(2), ...tiles.map((t) => `${tiled[t].toFixed(2)} (${(tiled[t] - untiled).toFixed(2)})`)]);
    console.log(rows[rows.length - 1].join('  '));
  }
} finally {
  await derain.dispose();
}
const esrgan = await ImageModel.load('esrgan-slim-x2', { threads });
try {
  const photo = (await decodeImage(`${values.data}/clean-photos/Kodak24/kodim03.png`)).image;
  const img = cropImage(photo, 0, 0, 320, 320);
  const untiled = await runExpert(img, 'esrgan-slim-x2', { model: esrgan, maxTile: 1024 });
  const tiled: Record<number, number> = {};
  for (const t of tiles) tiled[t] = psnr(await runExpert(img, 'esrgan-slim-x2', { model: esrgan, maxTile: t }), untiled);
  results.push({ model: 'esrgan-slim-x2', image: 'Kodak24/kodim03 320x320', metric: 'PSNR vs untiled output', tiled });
  rows.push(['esrgan-slim-x2 kodim03 (vs untiled)', '-', ...tiles.map((t) => tiled[t].toFixed(2))]);
} finally {
  await esrgan.dispose();
}
console.log(table(['model / image', 'untiled', ...tiles.map((t) => `tile ${t} (delta)`)], rows));
const stamp = timestamp();
await writeJsonPair(values.out!, 'tiling', stamp, { command: commandLine(), machine: machineInfo(), results });
