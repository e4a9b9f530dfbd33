/**
 * Warm models (issue 23 point 1): what the worker's ModelPool saves.
 *
 *   npm run bench:warm [-- --jobs 3 --size 64 --files 20 --task derain --no-publish]
 *
 * Server: `clearsight serve --concurrency 2` on loopback, then `--jobs` derain jobs (MAXIM, the
 * default model) one after another on the same `--size` crop of a Rain100H dev picture; each
 * job's time from POST to done and the worker's own time (result.seconds). Target: a repeated job
 * takes <= 40% of the first one's time.
 * Batch: `--files` crops (same size, different pictures) through runBatch in this process with a
 * ModelPool whose load events are counted; then each file alone with a fresh pool (what batch did
 * before the pool: a model loaded per file: weights hashed, graph read, session made). Target: one
 * load.
 * Writes bench/results/warm-<stamp>.json and docs/benchmarks/warm.json (unless --no-publish).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ModelPool, type PoolEvent } from '../src/core/models/pool.js';
import { runBatch } from '../src/cli/commands/batch.js';
import { commandLine, loadavg, machineInfo, publishJson, round, sharedData, table, timestamp, writeJsonPair } from './lib/common.js';
import { freePort, multipartBody, ROOT, startCli, stopChild } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '3' },
    size: { type: 'string', default: '64' },
    files: { type: 'string', default: '20' },
    task: { type: 'string', default: 'derain' },
    'no-publish': { type: 'boolean', default: false },
  },
});
const jobs = Number(args.jobs);
const size = Number(args.size);
const files = Number(args.files);
const rainy = (i: number) => sharedData(`derain/rain100H-dev/rainy/${i}.png`);

/** A size x size crop from the middle of Rain100H dev picture i. */
async function crop(i: number): Promise<Buffer> {
  const img = sharp(rainy(i));
  const { width = 0, height = 0 } = await img.metadata();
  return img
    .extract({ left: Math.floor((width - size) / 2), top: Math.floor((height - size) / 2), width: size, height: size })
    .png()
    .toBuffer();
}

interface JobTiming {
  job: number;
  endToEndSeconds: number;
  workerSeconds: number;
}

async function serverRun(dir: string): Promise<JobTiming[]> {
  const port = await freePort();
  const { child } = await startCli(['serve', '--port', String(port), '--store', path.join(dir, 'store'), '--concurrency', '2'], /serving http/);
  const base = `http://127.0.0.1:${port}`;
  const picture = await crop(1);
  const timings: JobTiming[] = [];
  try {
    await new Promise((r) => setTimeout(r, 3000)); // both workers started (warm() forks them at once)
    for (let j = 0; j < jobs; j++) {
      const t0 = performance.now();
      const { body, contentType } = multipartBody(picture, {});
      const res = await fetch(`${base}/api/v1/jobs/${args.task}`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType } });
      if (res.status !== 202) throw new Error(`POST ${res.status}: ${(await res.text()).slice(0, 300)}`);
      const { id } = (await res.json()) as { id: string };
      for (;;) {
        const s = (await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as { state: string; result?: { seconds: number }; error?: { message: string } };
        if (s.state === 'done') {
          timings.push({ job: j + 1, endToEndSeconds: round((performance.now() - t0) / 1000, 3), workerSeconds: round(s.result!.seconds, 3) });
          break;
        }
        if (s.state === 'failed') throw new Error(`job failed: ${s.error?.message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    await stopChild(child);
  }
  return timings;
}

async function batchRun(
  inDir: string,
  outDir: string,
  budgetBytes: number | undefined,
): Promise<{ loads: number; hits: number; evictions: number; seconds: number; exitCode: number }> {
  const events: PoolEvent[] = [];
  const pool = new ModelPool({ budgetBytes, onEvent: (e) => events.push(e) });
  const stderr = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const t0 = performance.now();
  let exitCode: number;
  try {
    exitCode = await runBatch(args.task!, inDir, { output: outDir, set: [], force: true }, pool);
  } finally {
    process.stderr.write = stderr;
    await pool.dispose();
  }
  const count = (t: PoolEvent['type']) => events.filter((e) => e.type === t).length;
  return { loads: count('load'), hits: count('hit'), evictions: count('evict'), seconds: round((performance.now() - t0) / 1000, 2), exitCode };
}

const machineAtStart = machineInfo();
const dir = mkdtempSync(path.join(tmpdir(), 'clearsight-warmbench-'));
try {
  const server = await serverRun(dir);
  const first = server[0].endToEndSeconds;
  const repeated = server.slice(1).map((t) => t.endToEndSeconds);
  const repeatedMean = repeated.reduce((a, b) => a + b, 0) / repeated.length;
  const serverRatio = round(repeatedMean / first, 3);

  const inDir = path.join(dir, 'batch-in');
  mkdirSync(inDir);
  for (let i = 1; i <= files; i++) await sharp(await crop(i)).toFile(path.join(inDir, `${String(i).padStart(3, '0')}.png`));
  const warm = await batchRun(inDir, path.join(dir, 'batch-out-warm'), undefined);
  // Before the pool: every file loaded its own model (weights hashed, graph read, session made).
  // Emulated by one batch run per file, each with a fresh pool.
  const cold = { loads: 0, hits: 0, evictions: 0, seconds: 0, exitCode: 0 };
  for (const name of readdirSync(inDir).sort()) {
    const one = path.join(dir, `cold-${name}`);
    mkdirSync(one);
    copyFileSync(path.join(inDir, name), path.join(one, name));
    const r = await batchRun(one, path.join(dir, `cold-out-${name}`), undefined);
    cold.loads += r.loads;
    cold.hits += r.hits;
    cold.seconds = round(cold.seconds + r.seconds, 2);
    cold.exitCode ||= r.exitCode;
  }

  console.log(
    table(
      ['server job', 'POST -> done (s)', 'worker (s)'],
      server.map((t) => [t.job, t.endToEndSeconds, t.workerSeconds]),
    ),
  );
  console.log(`\nrepeated / first (POST -> done): ${serverRatio} (target <= 0.4)\n`);
  console.log(
    table(
      [`batch of ${files}`, 'session loads', 'hits', 'evictions', 'seconds'],
      [
        ['warm pool (default budget)', warm.loads, warm.hits, warm.evictions, warm.seconds],
        ['a fresh pool per file (as before the pool)', cold.loads, cold.hits, cold.evictions, cold.seconds],
      ],
    ),
  );
  const summary = {
    task: args.task,
    model: 'default (derain: MAXIM-deraining)',
    picture: `${size}x${size} centre crop of Rain100H dev rainy/1.png`,
    server: { concurrency: 2, threadsPerJob: 1, jobs: server, repeatedOverFirst: serverRatio, targetMet: serverRatio <= 0.4 },
    batch: {
      files,
      pictures: `${size}x${size} centre crops of Rain100H dev rainy/1..${files}.png`,
      threads: 'default (every core)',
      warm,
      freshPoolPerFile: cold,
      speedup: round(cold.seconds / warm.seconds, 2),
      targetMet: warm.loads === 1,
    },
  };
  const report = {
    benchmark: 'warm',
    command: commandLine(),
    date: new Date().toISOString(),
    machine: { ...machineAtStart, loadavgAtEnd: loadavg() },
    summary,
  };
  const written = await writeJsonPair(path.join(ROOT, 'bench', 'results'), 'warm', timestamp(), report);
  console.log(`\nwrote ${written.join(', ')}`);
  if (!args['no-publish']) await publishJson('warm', report);
  if (!summary.server.targetMet || !summary.batch.targetMet) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
