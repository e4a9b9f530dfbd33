/**
 * Liveness across people and sources on 5 s windows read as the CLI reads them (see
 * bench/lib/livenessWindows.ts). Step 1, extraction (slow, cached, resumable):
 *
 *   node --import tsx bench/liveness-windows.ts --extract [--data <shared>/face-videos/live-real] [--per-person 2]
 *
 * Step 2, figures from the cache: see bench/liveness-people.ts --windows.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FaceModels } from '../src/face/index.js';
import { extractWindows } from './lib/livenessWindows.js';
import { personOf } from './lib/people.js';
import { REPO_ROOT, sharedData } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: sharedData('face-videos/live-real') },
    'per-person': { type: 'string', default: '2' },
    seconds: { type: 'string', default: '5' },
    'clip-seconds': { type: 'string', default: '7.5' },
    'embed-every': { type: 'string', default: '10' },
    cache: { type: 'string', default: path.join(REPO_ROOT, 'bench/results/liveness-windows.bin') },
  },
});
const dir = path.resolve(args.data!);
const all = (await readdir(dir)).filter((f) => /\.(mp4|mov|webm|mkv)$/i.test(f)).sort();
const perPerson = Number(args['per-person']);
const files = [...new Set(all.map(personOf))].flatMap((p) => all.filter((f) => personOf(f) === p).slice(0, perPerson));
const models = await FaceModels.load({ liveness: true, embed: true });
const samples = await extractWindows(models, {
  dir,
  files,
  cacheFile: path.resolve(args.cache!),
  windowSeconds: Number(args.seconds),
  clipSeconds: Number(args['clip-seconds']),
  embedEvery: Number(args['embed-every']),
  log: (l) => process.stderr.write(`${l}\n`),
});
await models.dispose();
console.log(`${samples.length} window samples from ${new Set(samples.map((s) => s.file)).size} clips in ${args.cache}`);
