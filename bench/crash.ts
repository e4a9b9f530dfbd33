/**
 * Crash (issue 14): kill -9 of the server, of a worker, and of both, mid-job, `--rounds` times
 * each, on one store and one Redis queue (BullMQ) that live through every round.
 *
 * Each round submits `--jobs` lowlight-gamma jobs (size x size PNG), waits until one runs, sends
 * SIGKILL to the target(s), starts them again on the same store (the server must always start)
 * and follows every job to done or failed. Checks, over all rounds: every restart succeeded;
 * every accepted job ended done (exactly one BullMQ completion event) or failed (reported); no
 * temp file or folder is left in the store once everything has stopped (after one last start of
 * a worker, whose start-up sweep removes what killed processes left).
 *
 *   npm run bench:crash [-- --rounds 10 --jobs 3 --size 1024 --lock-seconds 2 --queue redis://...]
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
    rounds: { type: 'string', default: '10' },
    jobs: { type: 'string', default: '3' },
    size: { type: 'string', default: '1024' },
    'lock-seconds': { type: 'string', default: '2' },
    queue: { type: 'string' },
    'no-publish': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const jobsPerRound = Number(args.jobs);
const size = Number(args.size);
const redis = args.queue ? { url: args.queue, stop: async () => undefined } : await startRedis();
if (!redis) throw new Error('no redis-server: install it (apt-get install -y redis-server) or pass --queue redis://...');

type Target = 'server' | 'worker' | 'both';
const machineAtStart = machineInfo();
const dir = mkdtempSync(path.join(tmpdir(), 'clearsight-crash-'));
const store = path.join(dir, 'store');
const url = `${redis.url.replace(/\/\d*$/, '')}/3`;
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serveArgs = ['serve', '--port', String(port), '--queue', url, '--store', store];
const workerArgs = ['worker', '--queue', url, '--store', store, '--concurrency', '1', '--lock-seconds', args['lock-seconds']!];

let server = await startCli(serveArgs, /serving http/);
let worker = await startCli(workerArgs, /taking jobs/);
const events = new QueueEvents(QUEUE_NAME, { connection: redisConnection(url) });
await events.waitUntilReady();
const completions = new Map<string, number>();
events.on('completed', ({ jobId }) => completions.set(jobId, (completions.get(jobId) ?? 0) + 1));

const restartFailures: string[] = [];
async function restart(what: 'server' | 'worker'): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      if (what === 'server') server = await startCli(serveArgs, /serving http/);
      else worker = await startCli(workerArgs, /taking jobs/);
      return;
    } catch (err) {
      restartFailures.push(`${what}: ${(err as Error).message.slice(0, 300)}`);
    }
  }
  throw new Error(`${what} does not start again: ${restartFailures.at(-1)}`);
}

const jobsSeen: Array<{ id: string; round: number; target: Target; state: string; error: unknown }> = [];
const roundLog: Array<{ target: Target; round: number; killedWhileRunning: boolean; seconds: number }> = [];
const t0 = performance.now();
try {
  let seed = 1;
  for (const target of ['server', 'worker', 'both'] as Target[]) {
    for (let r = 0; r < rounds; r++) {
      const tr = performance.now();
      const ids: string[] = [];
      for (let j = 0; j < jobsPerRound; j++) {
        const { body, contentType } = multipartBody(await fixturePng(size, size, seed++), { method: 'gamma' });
        const res = await fetch(`${base}/api/v1/jobs/lowlight`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType } });
        if (res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${await res.text()}`);
        ids.push(((await res.json()) as { id: string }).id);
      }
      // Wait (up to 30 s) for a job to run, then kill.
      let running = false;
      for (let i = 0; i < 600 && !running; i++) {
        const views = await Promise.all(ids.map(async (id) => ((await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as { state: string }).state));
        running = views.includes('running');
        if (!running) await new Promise((res) => setTimeout(res, 50));
      }
      if (target !== 'worker') server.child.kill('SIGKILL');
      if (target !== 'server') worker.child.kill('SIGKILL');
      await new Promise((res) => setTimeout(res, 200));
      if (target !== 'worker') await restart('server');
      if (target !== 'server') await restart('worker');
      // Follow every job of the round to its end (the stalled check brings back a killed worker's job).
      const until = performance.now() + 180_000;
      const states = new Map<string, { state: string; error: unknown }>();
      while (states.size < ids.length && performance.now() < until) {
        for (const id of ids) {
          if (states.has(id)) continue;
          const v = (await (await fetch(`${base}/api/v1/jobs/${id}`)).json()) as { state: string; error: unknown };
          if (v.state === 'done' || v.state === 'failed') states.set(id, v);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      for (const id of ids) jobsSeen.push({ id, round: r, target, state: states.get(id)?.state ?? 'unfinished', error: states.get(id)?.error ?? null });
      roundLog.push({ target, round: r, killedWhileRunning: running, seconds: round((performance.now() - tr) / 1000, 1) });
      process.stderr.write(`${target} #${r + 1}: ${[...states.values()].map((s) => s.state).join(' ')} (${roundLog.at(-1)!.seconds} s)\n`);
    }
  }
  await new Promise((res) => setTimeout(res, 1000)); // the last completion events
  // Stop everything cleanly, then one worker start: its start-up sweep removes dead processes' temps.
  await stopChild(worker.child);
  await stopChild(server.child);
  worker = await startCli(workerArgs, /taking jobs/);
  await stopChild(worker.child);
  const tmpLeft = readdirSync(path.join(store, 'tmp'));
  const byTarget = (t: Target) => {
    const js = jobsSeen.filter((j) => j.target === t);
    return {
      rounds: roundLog.filter((x) => x.target === t).length,
      killedWhileRunning: roundLog.filter((x) => x.target === t && x.killedWhileRunning).length,
      jobs: js.length,
      done: js.filter((j) => j.state === 'done').length,
      failed: js.filter((j) => j.state === 'failed').length,
      unfinished: js.filter((j) => j.state === 'unfinished').length,
      doneNotExactlyOnce: js.filter((j) => j.state === 'done' && completions.get(j.id) !== 1).length,
    };
  };
  const summary = {
    roundsPerTarget: rounds,
    jobsPerRound,
    image: `${size}x${size} PNG, lowlight gamma`,
    lockSeconds: Number(args['lock-seconds']),
    server: byTarget('server'),
    worker: byTarget('worker'),
    both: byTarget('both'),
    restartFailures,
    tmpLeft,
    seconds: round((performance.now() - t0) / 1000, 1),
    failures: jobsSeen.filter((j) => j.state !== 'done').slice(0, 5),
  };
  const ok =
    restartFailures.length === 0 &&
    tmpLeft.length === 0 &&
    (['server', 'worker', 'both'] as const).every((t) => summary[t].unfinished === 0 && summary[t].doneNotExactlyOnce === 0);
  console.log(
    table(
      ['killed', 'rounds (job running at the kill)', 'jobs', 'done', 'failed (reported)', 'unfinished', 'done != once'],
      (['server', 'worker', 'both'] as const).map((t) => [
        t,
        `${summary[t].rounds} (${summary[t].killedWhileRunning})`,
        summary[t].jobs,
        summary[t].done,
        summary[t].failed,
        summary[t].unfinished,
        summary[t].doneNotExactlyOnce,
      ]),
    ),
  );
  console.log(`restart failures: ${restartFailures.length}; temp entries left: ${tmpLeft.length}; ${summary.seconds} s; all checks: ${ok}`);
  const report = {
    benchmark: 'crash',
    command: commandLine(),
    date: new Date().toISOString(),
    machine: { ...machineAtStart, loadavgAtEnd: loadavg() },
    summary,
    ok,
    rounds: roundLog,
  };
  const files = await writeJsonPair(path.join(ROOT, 'bench', 'results'), 'crash', timestamp(), report);
  console.log(`\nwrote ${files.join(', ')}`);
  if (!args['no-publish']) await publishJson('crash', report);
  if (!ok) process.exitCode = 1;
} finally {
  await events.close();
  for (const c of [worker.child, server.child]) if (c.exitCode === null && c.signalCode === null) await stopChild(c);
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
