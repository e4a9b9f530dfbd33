/**
 * Load: N concurrent small restore requests against `clearsight serve` on loopback (autocannon),
 * bounded in time. Each request uploads a small generated PNG to POST /api/v1/jobs/<task>; the
 * bench then follows every job to the end. Reports HTTP errors, job failures, POST latency
 * (p50/p99, autocannon), end-to-end job latency (accepted -> done, p50/p99), throughput and the
 * peak resident memory of the server's whole process tree (server + worker processes).
 *
 *   npm run bench:load [-- --requests 200 --connections 200 --task lowlight --size 32 --concurrency 2 --big 10]
 *
 * Mixed in while the small requests are sent (issue 14): `--big` uploads (default 10) of a tiny PNG
 * (a few KiB) that declares 36 megapixels (6000x6000), each a lowlight gamma job of about 1.8 GiB;
 * the server's job memory budget (--job-memory-gb, default 2) runs them one at a time and replaces
 * the worker after each. After the last job the bench keeps sampling the memory of the server
 * tree for up to 60 s and reports how long it took to fall under 600 MiB.
 *
 * Default task: lowlight with method=gamma (illumination-aware gamma, no network) on a 32x32
 * picture; `--task upscale` runs ESRGAN slim x2 instead (onnxruntime in the workers).
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  commandLine,
  machineInfo,
  loadavg,
  round,
  table,
  timestamp,
  writeJsonPair,
  writeSvgPng,
  svgDoc,
  text,
  line,
  rect,
  niceStep,
  trimNum,
  legend,
} from './lib/common.js';
import { freePort, multipartBody, percentile, ROOT, startCli, stopChild, treeRssMiB } from './lib/server.js';
import { fixturePng } from '../test/helpers/server.js';

interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  '2xx': number;
  latency: { p50: number; p99: number; p97_5: number; average: number; max: number };
  requests: { total: number; average: number };
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    connections: { type: 'string', default: '200' },
    task: { type: 'string', default: 'lowlight' },
    size: { type: 'string', default: '32' },
    concurrency: { type: 'string' },
    'time-limit': { type: 'string', default: '900' },
    big: { type: 'string', default: '10' },
    'big-side': { type: 'string', default: '6000' },
    'no-publish': { type: 'boolean', default: false },
  },
});
const requests = Number(args.requests);
const connections = Number(args.connections);
const size = Number(args.size);
const timeLimitMs = Number(args['time-limit']) * 1000;
const bigCount = Number(args.big);
const bigSide = Number(args['big-side']);
const fields: Record<string, string> = args.task === 'upscale' ? { scale: '2', size: 'slim' } : args.task === 'lowlight' ? { method: 'gamma' } : {};

const machineAtStart = machineInfo();
const dir = mkdtempSync(path.join(tmpdir(), 'clearsight-load-'));
const port = await freePort();
const serveArgs = ['serve', '--port', String(port), '--store', path.join(dir, 'store'), ...(args.concurrency ? ['--concurrency', args.concurrency] : [])];
const { child } = await startCli(serveArgs, /serving http/);
const base = `http://127.0.0.1:${port}`;
const t0 = performance.now();
const rssSamples: Array<{ t: number; mib: number; processes: number; done: number }> = [];
let peak = { mib: 0, processes: 0 };
const doneAt = new Map<string, number>();
const acceptedAt = new Map<string, number>();
const sampler = setInterval(() => {
  const r = treeRssMiB(child.pid!);
  if (r.mib > peak.mib) peak = r;
  rssSamples.push({ t: (performance.now() - t0) / 1000, mib: round(r.mib, 1), processes: r.processes, done: doneAt.size });
}, 100);

try {
  // Workers warm: one job first, so the numbers are about the server, not process start-up.
  const png = await fixturePng(size, size, 11);
  const { body, contentType } = multipartBody(png, fields);
  const warm = (await (
    await fetch(`${base}/api/v1/jobs/${args.task}`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType } })
  ).json()) as { id: string };
  for (;;) {
    const s = (await (await fetch(`${base}/api/v1/jobs/${warm.id}`)).json()) as { state: string };
    if (s.state === 'done') break;
    if (s.state === 'failed') throw new Error(`warm-up job failed: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  // The big uploads: one constant-colour PNG of bigSide x bigSide (compresses to a few KiB).
  const sharp = (await import('sharp')).default;
  const bigPng = await sharp({ create: { width: bigSide, height: bigSide, channels: 3, background: { r: 12, g: 10, b: 8 } } })
    .png({ compressionLevel: 9 })
    .toBuffer();
  const bigBody = multipartBody(bigPng, { method: 'gamma' });
  const bigStatuses: number[] = [];
  let refused429 = 0;
  let otherStatus = 0;

  const tLoad = performance.now();
  // Jobs are followed while the requests are still being sent: a job's end-to-end time is from
  // its 202 to the first poll that sees it finished (polls every ~20 ms, 50 at a time).
  const failed: Array<{ id: string; error: unknown }> = [];
  const pending = new Set<string>();
  let sending = true;
  const deadline = performance.now() + timeLimitMs;
  const follow = (async () => {
    while ((sending || pending.size > 0) && performance.now() < deadline) {
      const batch = [...pending].slice(0, 50);
      await Promise.all(
        batch.map(async (id) => {
          const s = (await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as { state: string; error: unknown };
          if (s.state === 'done' || s.state === 'failed') {
            pending.delete(id);
            doneAt.set(id, performance.now());
            if (s.state === 'failed') failed.push({ id, error: s.error });
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const bigPosts = Promise.all(
    Array.from({ length: bigCount }, async (_, i) => {
      await new Promise((r) => setTimeout(r, 50 * i));
      const res = await fetch(`${base}/api/v1/jobs/lowlight`, {
        method: 'POST',
        body: new Uint8Array(bigBody.body),
        headers: { 'content-type': bigBody.contentType },
      });
      bigStatuses.push(res.status);
      const b = (await res.json()) as { id?: string };
      if (res.status === 202 && b.id) {
        acceptedAt.set(b.id, performance.now());
        pending.add(b.id);
      }
    }),
  );
  const result = await autocannon({
    url: base,
    connections,
    amount: requests,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        path: `/api/v1/jobs/${args.task}`,
        headers: { 'content-type': contentType },
        body,
        onResponse: (status: number, resBody: string) => {
          if (status === 429) refused429++;
          else if (status !== 202) otherStatus++;
          if (status !== 202) return;
          const id = (JSON.parse(resBody) as { id: string }).id;
          acceptedAt.set(id, performance.now());
          pending.add(id);
        },
      },
    ],
  });
  await bigPosts;
  const postSeconds = (performance.now() - tLoad) / 1000;
  sending = false;
  await follow;
  const allSeconds = (performance.now() - tLoad) / 1000;
  const peakUnderLoad = peak;
  // Idle: how long until the server tree is back under 600 MiB (sampled up to 60 s).
  const idleStart = performance.now();
  let idleSeconds: number | null = null;
  let idleMiB = treeRssMiB(child.pid!).mib;
  while (performance.now() - idleStart < 60_000) {
    idleMiB = treeRssMiB(child.pid!).mib;
    if (idleMiB < 600) {
      idleSeconds = (performance.now() - idleStart) / 1000;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  clearInterval(sampler);
  const e2e = [...doneAt].map(([id, t]) => t - acceptedAt.get(id)!).sort((a, b) => a - b);

  const summary = {
    task: args.task,
    options: fields,
    image: `${size}x${size} PNG`,
    requests,
    bigUploads: {
      count: bigCount,
      declared: `${bigSide}x${bigSide} PNG (${((bigSide * bigSide) / 1e6).toFixed(1)} MP) of ${bigPng.length} bytes, lowlight gamma`,
      statuses: bigStatuses.sort(),
    },
    connections,
    serverConcurrency: args.concurrency ? Number(args.concurrency) : machineAtStart.availableParallelism,
    http: {
      accepted202: result['2xx'],
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      refused429,
      latencyMs: {
        p50: result.latency.p50,
        p97_5: result.latency.p97_5,
        p99: result.latency.p99,
        max: result.latency.max,
        mean: round(result.latency.average, 1),
      },
      secondsToAcceptAll: round(postSeconds, 2),
    },
    jobs: {
      done: doneAt.size - failed.length,
      failed: failed.length,
      unfinished: pending.size,
      endToEndMs: { p50: round(percentile(e2e, 50), 1), p99: round(percentile(e2e, 99), 1), max: round(e2e.at(-1) ?? Number.NaN, 1) },
      secondsAllDone: round(allSeconds, 2),
      jobsPerSecond: round(requests / allSeconds, 1),
      failures: failed.slice(0, 5),
    },
    peakServerTreeRssMiB: round(peakUnderLoad.mib, 1),
    peakServerTreeProcesses: peakUnderLoad.processes,
    idle: { secondsUnder600MiB: idleSeconds === null ? null : round(idleSeconds, 1), rssMiBAtEnd: round(idleMiB, 1) },
    // Deliberate refusals (429 from the queue caps) are not errors; anything else is.
    zeroErrors:
      result.errors === 0 &&
      result.timeouts === 0 &&
      failed.length === 0 &&
      pending.size === 0 &&
      otherStatus === 0 &&
      result['2xx'] + refused429 === requests &&
      bigStatuses.every((st) => st === 202 || st === 429),
    underThreeGiB: peakUnderLoad.mib < 3072,
    idleUnder600MiBIn60s: idleSeconds !== null,
  };
  console.log(
    table(
      ['measure', 'value'],
      [
        ['task', `${args.task} ${JSON.stringify(fields)} on ${size}x${size}`],
        ['requests / connections', `${requests} / ${connections}`],
        ['HTTP 202 / errors / timeouts / non-2xx', `${result['2xx']} / ${result.errors} / ${result.timeouts} / ${result.non2xx}`],
        ['POST latency p50 / p99 (ms)', `${result.latency.p50} / ${result.latency.p99}`],
        ['jobs done / failed / unfinished', `${summary.jobs.done} / ${failed.length} / ${pending.size}`],
        ['job end-to-end p50 / p99 (ms)', `${summary.jobs.endToEndMs.p50} / ${summary.jobs.endToEndMs.p99}`],
        ['all done after (s)', allSeconds.toFixed(2)],
        ['36 MP uploads: statuses', bigStatuses.join(' ')],
        ['peak server tree RSS (MiB)', `${summary.peakServerTreeRssMiB} (${peakUnderLoad.processes} processes)`],
        ['idle: under 600 MiB after (s) / RSS at end (MiB)', `${summary.idle.secondsUnder600MiB ?? 'not within 60'} / ${summary.idle.rssMiBAtEnd}`],
        ['zero errors / under 3 GiB / idle < 600 MiB in 60 s', `${summary.zeroErrors} / ${summary.underThreeGiB} / ${summary.idleUnder600MiBIn60s}`],
      ],
    ),
  );
  const stamp = timestamp();
  const machine = { ...machineAtStart, loadavgAtEnd: loadavg() };
  const report = {
    benchmark: 'load',
    command: commandLine(),
    date: new Date().toISOString(),
    machine,
    summary,
    rssSamples: rssSamples.filter((_, i) => i % 2 === 0),
  };
  const files = await writeJsonPair(path.join(ROOT, 'bench', 'results'), 'load', stamp, report);
  console.log(`\nwrote ${files.join(', ')}`);
  if (!args['no-publish']) {
    const name = args.task === 'lowlight' ? 'load' : `load-${args.task}`;
    await writeJsonPair(path.join(ROOT, 'docs', 'benchmarks'), name, 'run', report).then(async ([, latest]) => {
      const { rename, rm } = await import('node:fs/promises');
      await rename(latest, path.join(ROOT, 'docs', 'benchmarks', `${name}.json`));
      await rm(path.join(ROOT, 'docs', 'benchmarks', `${name}-run.json`));
    });
    await writeSvgPng(path.join(ROOT, 'docs', 'benchmarks', `${name}.png`), plot(report.rssSamples, summary));
    console.log(`published docs/benchmarks/${name}.json and .png`);
  }
  if (!summary.zeroErrors) process.exitCode = 1;
} finally {
  clearInterval(sampler);
  await stopChild(child);
  rmSync(dir, { recursive: true, force: true });
}

/** Memory of the server tree and jobs done over time. */
function plot(
  samples: typeof rssSamples,
  s: { task: string; requests: number; peakServerTreeRssMiB: number; jobs: { endToEndMs: { p50: number; p99: number } } },
): string {
  const W = 900;
  const H = 420;
  const box = { x: 80, y: 60, w: 720, h: 280 };
  const tMax = Math.max(1, ...samples.map((p) => p.t));
  const mMax = Math.max(100, ...samples.map((p) => p.mib)) * 1.1;
  const X = (t: number) => box.x + (t / tMax) * box.w;
  const Ym = (m: number) => box.y + box.h - (m / mMax) * box.h;
  const Yd = (d: number) => box.y + box.h - (d / s.requests) * box.h;
  const parts = [
    text(
      W / 2,
      30,
      `Load: ${s.requests} concurrent ${s.task} requests — peak server RSS ${trimNum(s.peakServerTreeRssMiB)} MiB, job p50/p99 ${trimNum(s.jobs.endToEndMs.p50)}/${trimNum(s.jobs.endToEndMs.p99)} ms`,
      { size: 15, anchor: 'middle', weight: 'bold' },
    ),
  ];
  parts.push(rect(box.x, box.y, box.w, box.h, 'none', 'stroke="#222"'));
  const step = niceStep(mMax, 5);
  for (let m = 0; m <= mMax; m += step)
    parts.push(line(box.x, Ym(m), box.x + box.w, Ym(m), '#eee'), text(box.x - 6, Ym(m) + 4, trimNum(m), { size: 11, anchor: 'end' }));
  const tStep = niceStep(tMax, 8);
  for (let t = 0; t <= tMax; t += tStep) parts.push(text(X(t), box.y + box.h + 16, trimNum(t), { size: 11, anchor: 'middle' }));
  parts.push(text(box.x + box.w / 2, box.y + box.h + 36, 'seconds since server start', { size: 12, anchor: 'middle' }));
  parts.push(text(20, box.y + box.h / 2, 'RSS of server + workers (MiB)', { size: 12, anchor: 'middle', rotate: -90 }));
  parts.push(text(W - 30, box.y + box.h / 2, `jobs done (of ${s.requests})`, { size: 12, anchor: 'middle', rotate: 90 }));
  for (let d = 0; d <= s.requests; d += s.requests / 4) parts.push(text(box.x + box.w + 6, Yd(d) + 4, trimNum(d), { size: 11, fill: '#e0671b' }));
  const path1 = samples.map((p, i) => `${i ? 'L' : 'M'}${X(p.t).toFixed(1)},${Ym(p.mib).toFixed(1)}`).join(' ');
  const path2 = samples.map((p, i) => `${i ? 'L' : 'M'}${X(p.t).toFixed(1)},${Yd(p.done).toFixed(1)}`).join(' ');
  parts.push(
    `<path d="${path1}" fill="none" stroke="#2a6df4" stroke-width="2"/>`,
    `<path d="${path2}" fill="none" stroke="#e0671b" stroke-width="2" stroke-dasharray="6 3"/>`,
  );
  parts.push(
    legend(box.x + 10, box.y + box.h - 30, [
      { color: '#2a6df4', label: 'RSS (MiB)' },
      { color: '#e0671b', label: 'jobs done', dash: true },
    ]),
  );
  return svgDoc(W, H, parts.join('\n'));
}
