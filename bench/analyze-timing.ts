/**
 * Paired timing of the small network deciding and a frozen-backbone head deciding (the network then
 * still gives severity and embedding) on the S1 test photos: both under the same load, photo by
 * photo, in alternating order (the shared machine's load moves too much for two separate bench runs
 * to compare).
 *
 *   node --import tsx bench/analyze-timing.ts [--head models/degradation-recognizer/backbone-head.json] [--limit N]
 *   node --import tsx bench/analyze-timing.ts --finetuned models/degradation-recognizer-ft   # the frozen head deciding vs the fine-tuned folder's decision (wave 6)
 *
 * Times per photo (1 thread each): analyzeImage (hand evidence on the reduced copy + views +
 * inference) and the recogniser alone (views + inference).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { decodeImage } from '../src/core/image/index.js';
import { DegradationRecognizer, RECOGNIZER_MODEL, analyzeImage } from '../src/restore/auto/recognizer.js';
import { BACKBONE_HEAD_FILE } from '../src/restore/auto/analyzeBackbone.js';
import { TRAINED_MODELS_DIR } from '../src/core/models/trained.js';
import { loadavg, median, round } from './lib/common.js';
import { TEST_SOURCES, sourceFiles } from './lib/recognizerSplit.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: {
      type: 'string',
      default: existsSync(path.resolve(REPO, '../shared/data')) ? path.resolve(REPO, '../shared/data') : path.resolve(REPO, '../../shared/data'),
    },
    head: { type: 'string', default: path.join(TRAINED_MODELS_DIR, RECOGNIZER_MODEL, BACKBONE_HEAD_FILE) },
    limit: { type: 'string' },
    /** A fine-tuned model folder: then the frozen head (--head) is the baseline and this folder's decision the candidate. */
    finetuned: { type: 'string' },
  },
});
const head = { head: path.resolve(args.head!) };
const committed = await DegradationRecognizer.load({ threads: 1, decision: args.finetuned ? head : 'network' });
const candidate = await DegradationRecognizer.load({ threads: 1, decision: args.finetuned ? { finetuned: path.resolve(args.finetuned) } : head });
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
    await analyzeImage(img, { method: 'learned', recognizer: candidate });
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
    row(args.finetuned ? committed.id : `${committed.id} (network decides)`, t.committed),
    row(candidate.id, t.candidate),
    '',
  ].join('\n'),
);
