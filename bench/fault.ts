/**
 * Fault: kill -9 a worker in the middle of a 20-job batch on Redis (BullMQ).
 *
 *   1. clean run: `clearsight serve --queue` + one `clearsight worker`; 20 jobs; output hashes;
 *   2. faulty run (fresh store and queue): the server + two workers; once jobs are finishing and
 *      both workers are busy, worker A gets SIGKILL (its job-process child follows it); worker B
 *      carries on and, after the lock of A's job expires, picks that job up again;
 *   3. checks: 20 jobs done, every output hash identical to the clean run, each job completed
 *      exactly once (BullMQ completion events), the killed job re-run (stalled event seen).
 *
 *   npm run bench:fault [-- --jobs 20 --task lowlight --size 768 --lock-seconds 3 --queue redis://...]
 *
 * Without --queue a private redis-server is started on a free port (Debian package redis-server).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { QueueEvents } from 'bullmq';
import { redisConnection, QUEUE_NAME } from '../src/server/jobs/queue.js';
import { commandLine, loadavg, machineInfo, publishJson, round, table, timestamp, writeJsonPair } from './lib/common.js';
import { freePort, multipartBody, ROOT, startCli, stopChild } from './lib/server.js';
import { fixturePng, startRedis } from '../test/helpers/server.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20' },
    task: { type: 'string', default: 'lowlight' },
    size: { type: 'string', default: '768' },
    'lock-seconds': { type: 'string', default: '3' },
    queue: { type: 'string' },
    'time-limit': { type: 'string', default: '600' },
    'no-publish': { type: 'boolean', default: false },
  },
});
const jobs = Number(args.jobs);
const size = Number(args.size);
const fields: Record<string, string> = args.task === 'lowlight' ? { method: 'gamma' } : args.task === 'upscale' ? { scale: '2', size: 'slim' } : {};
const redis = args.queue ? { url: args.queue, stop: async () => undefined } : await startRedis();
if (!redis) throw new Error('no redis-server: install it (apt-get install -y redis-server) or pass --queue redis://...');

interface JobView {
  state: string;
  attempts: number;
  error: unknown;
  result: { files: Array<{ name: string; sha256: string }> } | null;
}

const machineAtStart = machineInfo();
const inputs = await Promise.all(Array.from({ length: jobs }, (_, i) => fixturePng(size, size, 100 + i)));

async function run(label: string, workers: number, fault: boolean) {
  const dir = mkdtempSync(path.join(tmpdir(), `clearsight-fault-${label}-`));
  const store = path.join(dir, 'store');
  // A database per run, chosen by label: the clean and faulty runs never see each other's jobs.
  const url = `${redis!.url.replace(/\/\d*$/, '')}/${fault ? 2 : 1}`;
  const port = await freePort();
  const server = await startCli(['serve', '--port', String(port), '--queue', url, '--store', store], /serving http/);
  const workerProcs = [];
  for (let w = 0; w < workers; w++)
    workerProcs.push(
      await startCli(['worker', '--queue', url, '--store', store, '--concurrency', '1', '--lock-seconds', args['lock-seconds']!], /taking jobs/),
    );
  const events = new QueueEvents(QUEUE_NAME, { connection: redisConnection(url) });
  await events.waitUntilReady();
  const completions = new Map<string, number>();
  let stalled = 0;
  const starts = new Map<string, number>();
  events.on('active', ({ jobId }) => starts.set(jobId, (starts.get(jobId) ?? 0) + 1));
  events.on('completed', ({ jobId }) => completions.set(jobId, (completions.get(jobId) ?? 0) + 1));
  events.on('stalled', () => stalled++);
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  let killedAt: number | undefined;
  try {
    const ids: string[] = [];
    for (const png of inputs) {
      const { body, contentType } = multipartBody(png, fields);
      const res = await fetch(`${base}/api/v1/jobs/${args.task}`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType } });
      if (res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const deadline = performance.now() + Number(args['time-limit']) * 1000;
    let views: JobView[] = [];
    for (;;) {
      views = await Promise.all(ids.map(async (id) => (await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as JobView));
      const done = views.filter((v) => v.state === 'done' || v.state === 'failed').length;
      const running = views.filter((v) => v.state === 'running').length;
      // Mid-batch, with both workers busy: the kill lands on a job in progress.
      if (fault && killedAt === undefined && done >= Math.floor(jobs / 4) && running >= workers) {
        process.stderr.write(`kill -9 worker ${workerProcs[0].child.pid} (${done}/${jobs} done, ${running} running)\n`);
        workerProcs[0].child.kill('SIGKILL');
        killedAt = (performance.now() - t0) / 1000;
      }
      if (done === jobs) break;
      if (performance.now() > deadline) throw new Error(`${label}: ${jobs - done} jobs unfinished after the time limit`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500)); // let the last completion events arrive
    const tmpNames = readdirSync(path.join(store, 'tmp'));
    const tmpLeft = tmpNames.length;
    return {
      seconds: round((performance.now() - t0) / 1000, 2),
      killedAtSeconds: killedAt === undefined ? null : round(killedAt, 2),
      ids,
      states: views.map((v) => v.state),
      attempts: views.map((v) => v.attempts),
      errors: views.map((v) => v.error).filter(Boolean),
      outputs: views.map((v) => v.result?.files.find((f) => f.name === 'output.png')?.sha256 ?? null),
      completions: ids.map((id) => completions.get(id) ?? 0),
      starts: ids.map((id) => starts.get(id) ?? 0),
      stalledEvents: stalled,
      tmpFilesLeft: tmpLeft,
      tmpNamesLeft: tmpNames,
      workerPids: workerProcs.map((w) => w.child.pid),
    };
  } finally {
    await events.close();
    for (const w of workerProcs) await stopChild(w.child);
    await stopChild(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const clean = await run('clean', 1, false);
  const faulty = await run('faulty', 2, true);
  const identical = faulty.outputs.every((h, i) => h !== null && h === clean.outputs[i]);
  const summary = {
    jobs,
    task: args.task,
    options: fields,
    image: `${size}x${size} PNG`,
    lockSeconds: Number(args['lock-seconds']),
    clean: { seconds: clean.seconds, done: clean.states.filter((s) => s === 'done').length },
    faulty: {
      seconds: faulty.seconds,
      killedAtSeconds: faulty.killedAtSeconds,
      done: faulty.states.filter((s) => s === 'done').length,
      failed: faulty.states.filter((s) => s === 'failed').length,
      rerunJobs: faulty.starts.filter((a) => a > 1).length,
      stalledEvents: faulty.stalledEvents,
      completionsPerJob: [...new Set(faulty.completions)],
      tmpFilesLeft: faulty.tmpFilesLeft,
    },
    allOutputsPresent: faulty.outputs.every((h) => h !== null),
    identicalToClean: identical,
    nothingDuplicated: faulty.completions.every((c) => c === 1) && new Set(faulty.ids).size === jobs,
  };
  console.log(
    table(
      ['measure', 'clean run', 'kill -9 run'],
      [
        ['jobs done', `${summary.clean.done}/${jobs}`, `${summary.faulty.done}/${jobs}`],
        ['seconds', String(clean.seconds), String(faulty.seconds)],
        ['worker killed at (s)', '-', String(faulty.killedAtSeconds)],
        ['jobs run more than once', '-', String(summary.faulty.rerunJobs)],
        ['stalled events', '-', String(faulty.stalledEvents)],
        ['completions per job', String([...new Set(clean.completions)]), String(summary.faulty.completionsPerJob)],
        ['outputs identical to clean (sha256)', '-', String(identical)],
        ['temp files left in the store', String(clean.tmpFilesLeft), String(faulty.tmpFilesLeft)],
      ],
    ),
  );
  const report = {
    benchmark: 'fault',
    command: commandLine(),
    date: new Date().toISOString(),
    machine: { ...machineAtStart, loadavgAtEnd: loadavg() },
    summary,
    clean,
    faulty,
  };
  const files = await writeJsonPair(path.join(ROOT, 'bench', 'results'), 'fault', timestamp(), report);
  console.log(`\nwrote ${files.join(', ')}`);
  if (!args['no-publish']) await publishJson('fault', report, 2);
  if (!(summary.allOutputsPresent && identical && summary.nothingDuplicated && summary.faulty.failed === 0)) process.exitCode = 1;
} finally {
  await redis.stop();
}
