/**
 * Store bound (issue 14): many jobs with distinct inputs against `clearsight serve` with a small
 * store budget; the size of the store's blobs is sampled throughout and after the last job.
 *
 *   npm run bench:store [-- --jobs 1000 --budget-mb 100 --size 256 --clients 8 --concurrency 2]
 *
 * Each job uploads its own seeded noise PNG (size x size, incompressible: about 3 B/pixel) for
 * lowlight gamma, so inputs and outputs (output.png, illumination.png, gamma.png) are all new
 * bytes: about 0.7 MiB per job at 256x256, 700 MiB for 1,000 jobs without retention.
 * Reports the largest sampled store size, the size once the jobs have finished, jobs done and
 * failed; writes bench/results/store-<stamp>.json (and docs/benchmarks/store.json unless --no-publish).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { mulberry32 } from '../src/core/random.js';
import { commandLine, loadavg, machineInfo, publishJson, round, table, timestamp, writeJsonPair } from './lib/common.js';
import { freePort, multipartBody, ROOT, startCli, stopChild } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    'budget-mb': { type: 'string', default: '100' },
    size: { type: 'string', default: '256' },
    clients: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '2' },
    'no-publish': { type: 'boolean', default: false },
  },
});
const jobs = Number(args.jobs);
const budget = Number(args['budget-mb']) * 1024 * 1024;
const size = Number(args.size);

function storeBytes(root: string): number {
  let total = 0;
  const blobs = path.join(root, 'blobs');
  for (const shard of readdirSync(blobs)) {
    for (const f of readdirSync(path.join(blobs, shard))) {
      try {
        total += statSync(path.join(blobs, shard, f)).size;
      } catch {
        // removed between the listing and the stat
      }
    }
  }
  return total;
}

async function noisePng(seed: number): Promise<Buffer> {
  const rand = mulberry32(seed);
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.floor(rand() * 96);
  return sharp(px, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
}

const machineAtStart = machineInfo();
const dir = mkdtempSync(path.join(tmpdir(), 'clearsight-storebench-'));
const storeDir = path.join(dir, 'store');
const port = await freePort();
const { child } = await startCli(
  ['serve', '--port', String(port), '--store', storeDir, '--concurrency', args.concurrency!, '--store-max-gb', String(budget / 1024 ** 3)],
  /serving http/,
);
const base = `http://127.0.0.1:${port}`;
let maxBytes = 0;
const sampler = setInterval(() => (maxBytes = Math.max(maxBytes, storeBytes(storeDir))), 250);
const t0 = performance.now();
try {
  let next = 0;
  let done = 0;
  let failed = 0;
  const errors: string[] = [];
  const client = async () => {
    for (;;) {
      const i = next++;
      if (i >= jobs) return;
      const { body, contentType } = multipartBody(await noisePng(1000 + i), { method: 'gamma' });
      const res = await fetch(`${base}/api/v1/jobs/lowlight`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType } });
      if (res.status !== 202) {
        failed++;
        errors.push(`POST ${res.status}: ${(await res.text()).slice(0, 200)}`);
        continue;
      }
      const { id } = (await res.json()) as { id: string };
      for (;;) {
        const s = (await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as { state: string; error?: { message: string } };
        if (s.state === 'done') {
          done++;
          break;
        }
        if (s.state === 'failed') {
          failed++;
          errors.push(s.error?.message ?? 'failed');
          break;
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    }
  };
  await Promise.all(Array.from({ length: Number(args.clients) }, client));
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1500)); // the retention pass after the last job
  clearInterval(sampler);
  const finalBytes = storeBytes(storeDir);
  maxBytes = Math.max(maxBytes, finalBytes);
  const tmpLeft = readdirSync(path.join(storeDir, 'tmp')).length;
  const summary = {
    jobs,
    image: `${size}x${size} noise PNG per job, lowlight gamma`,
    budgetMiB: budget / 1048576,
    done,
    failed,
    errors: errors.slice(0, 5),
    seconds: round(seconds, 1),
    maxSampledStoreMiB: round(maxBytes / 1048576, 2),
    finalStoreMiB: round(finalBytes / 1048576, 2),
    tmpLeft,
    finalUnderBudget: finalBytes <= budget,
    maxSampledUnderBudget: maxBytes <= budget,
  };
  console.log(
    table(
      ['measure', 'value'],
      [
        ['jobs done / failed', `${done} / ${failed}`],
        ['budget (MiB)', summary.budgetMiB],
        ['store after the jobs (MiB)', summary.finalStoreMiB],
        ['largest sampled store (MiB, every 250 ms)', summary.maxSampledStoreMiB],
        ['temp entries left', tmpLeft],
        ['seconds', summary.seconds],
      ],
    ),
  );
  const report = {
    benchmark: 'store',
    command: commandLine(),
    date: new Date().toISOString(),
    machine: { ...machineAtStart, loadavgAtEnd: loadavg() },
    summary,
  };
  const files = await writeJsonPair(path.join(ROOT, 'bench', 'results'), 'store', timestamp(), report);
  console.log(`\nwrote ${files.join(', ')}`);
  if (!args['no-publish']) await publishJson('store', report);
  if (!summary.finalUnderBudget || failed > 0) process.exitCode = 1;
} finally {
  clearInterval(sampler);
  await stopChild(child);
  rmSync(dir, { recursive: true, force: true });
}
