/**
 * Paired timing of the committed recogniser and the frozen-backbone candidate on the S1 test photos:
 * both under the same load, photo by photo, in alternating order (the shared machine's load moves
 * too much for two separate bench runs to compare).
 *
 *   node --import tsx bench/analyze-timing.ts --candidate training/cache/backbone/head.json [--limit N]
 *
 * Times per photo (1 thread each): the whole learned analysis (hand evidence on the reduced copy +
 * views + inference, as analyzeImage) and the recogniser alone (views + inference).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { decodeImage } from '../src/core/image/index.js';
import { DegradationRecognizer, EVIDENCE_MAX_SIDE, analyzeImage } from '../src/restore/auto/recognizer.js';
import { boxDownscale, computeEvidence } from '../src/restore/auto/evidence.js';
import { loadavg, median, round } from './lib/common.js';
import { BackboneCandidate } from './lib/backboneCandidate.js';
import { TEST_SOURCES, sourceFiles } from './lib/recognizerSplit.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: existsSync(path.resolve(REPO, '../shared/data')) ? path.resolve(REPO, '../shared/data') : path.resolve(REPO, '../../shared/data') },
    candidate: { type: 'string' },
    limit: { type: 'string' },
  },
});
if (!args.candidate) throw new Error('--candidate <head.json> is required');

const committed = await DegradationRecognizer.load({ threads: 1 });
const candidate = await BackboneCandidate.load(path.resolve(args.candidate));
const t = { committed: { analyze: [] as number[], alone: [] as number[] }, candidate: { analyze: [] as number[], alone: [] as number[] } };
const files = TEST_SOURCES.filter((s) => !s.outOfScope).flatMap((s) => sourceFiles(path.resolve(args.data!), s));
const use = files.slice(0, args.limit ? Number(args.limit) : undefined);
const load0 = loadavg();
for (const [i, file] of use.entries()) {
  const img = (await decodeImage(file)).image;
  const runCommitted = async () => {
    let t0 = performance.now();
    await analyzeImage(img, { method: 'learned', recognizer: committed });
    t.committed.analyze.push(performance.now() - t0);
    t0 = performance.now();
    await committed.recognize(img);
    t.committed.alone.push(performance.now() - t0);
  };
  const runCandidate = async () => {
    let t0 = performance.now();
    const f = Math.floor(Math.max(img.width, img.height) / EVIDENCE_MAX_SIDE);
    computeEvidence(f >= 2 ? boxDownscale(img, f) : img);
    await candidate.recognize(img);
    t.candidate.analyze.push(performance.now() - t0);
    t0 = performance.now();
    await candidate.recognize(img);
    t.candidate.alone.push(performance.now() - t0);
  };
  if (i % 2 === 0) {
    await runCommitted();
    await runCandidate();
  } else {
    await runCandidate();
    await runCommitted();
  }
}
await committed.dispose();
await candidate.dispose();
const row = (name: string, x: { analyze: number[]; alone: number[] }) =>
  `| ${name} | ${round(median(x.analyze), 1)} | ${round(Math.max(...x.analyze), 1)} | ${round(median(x.alone), 1)} | ${round(Math.max(...x.alone), 1)} |`;
process.stdout.write(
  [
    `Paired timing on ${use.length} S1 test photos (1 thread each; load average ${load0.map((v) => v.toFixed(1)).join(' ')} at start, ${loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')} at end)`,
    '',
    '| recogniser | analysis median ms | slowest ms | recogniser alone median ms | slowest ms |',
    '|---|---:|---:|---:|---:|',
    row(committed.id, t.committed),
    row(candidate.id, t.candidate),
    '',
  ].join('\n'),
);
