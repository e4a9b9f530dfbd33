/**
 * Wall time of each progress stage of a task (the measurements behind the stage weights in
 * src/core/progress.ts): runs the task table's entry twice on one picture, the second run being
 * the one quoted (graph cached, session created again, as a job without a warm pool).
 *
 *   node --import tsx bench/progressStages.ts <task> [picture] [key=value ...]
 *   node --import tsx bench/progressStages.ts derain examples/rain.png
 *   node --import tsx bench/progressStages.ts derain examples/rain.png model=fast
 */
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { getTask, parseTaskFields } from '../src/tasks/index.js';

const [task = 'derain', picture = 'examples/rain.png', ...pairs] = process.argv.slice(2);
const entry = getTask(task);
if (!entry) throw new Error(`unknown task ${task}`);
const fields = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
const parsed = parseTaskFields(entry, fields);

for (let run = 1; run <= 2; run++) {
  const t0 = performance.now();
  const spans: Array<[string, number]> = [];
  let stage = '';
  let since = t0;
  await entry.run([{ path: picture, kind: 'image' }], parsed.options as never, {
    maxPixels: 1e8,
    threads: 1,
    cache: new Map(),
    scratchDir: tmpdir(),
    onProgress: (e) => {
      if (e.stage === stage) return;
      const now = performance.now();
      if (stage) spans.push([stage, now - since]);
      stage = e.stage;
      since = now;
    },
  });
  const end = performance.now();
  spans.push([stage, end - since]);
  const total = end - t0;
  const shares = spans.map(([s, ms]) => `${s} ${(ms / 1000).toFixed(3)} s (${((100 * ms) / total).toFixed(1)} %)`);
  console.log(`run ${run}: ${task} ${JSON.stringify(fields)} total ${(total / 1000).toFixed(3)} s: ${shares.join(', ')}`);
}
