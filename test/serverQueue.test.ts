/**
 * Jobs on Redis (BullMQ): the server enqueues, a worker (its own process pool) runs; results are
 * the library's bytes; a worker process killed mid-job makes the job fail that attempt and run
 * again (retry with backoff) to the same output. Also the embedded queue's retry.
 * Needs redis-server (CI installs it); skipped with a message otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeImage, encodeImage } from '../src/core/image/index.js';
import { enhanceLowLightGamma } from '../src/restore/index.js';
import { loadQueueSecret, sha256Of, startRedisWorker, startServer, LocalQueue, ContentStore, type JobStatus, type RunningServer } from '../src/server/index.js';
import { fixturePng, form, readEvents, startRedis, waitJob } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-queue-'));
let redis: Awaited<ReturnType<typeof startRedis>>;
const skipRedis =
  (await import('node:fs')).existsSync('/usr/bin/redis-server') || process.env.CLEARSIGHT_TEST_REDIS
    ? false
    : 'redis-server not installed (apt-get install -y redis-server); Redis queue tests skipped';

async function expectedSha(png: Buffer): Promise<string> {
  return sha256Of(await encodeImage(enhanceLowLightGamma((await decodeImage(png)).image).image, 'png'));
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('Redis queue (BullMQ)', { skip: skipRedis }, () => {
  let server: RunningServer;
  let worker: ReturnType<typeof startRedisWorker>;
  const prefix = `cs-test-${randomBytes(4).toString('hex')}`;
  const storeDir = join(dir, 'store');

  before(async () => {
    redis = await startRedis();
    server = await startServer({ port: 0, storeDir, queueUrl: redis!.url, queuePrefix: prefix, retry: { attempts: 3, backoffMs: 200 } });
    worker = startRedisWorker({
      url: redis!.url,
      prefix,
      size: 1,
      storeRoot: storeDir,
      maxPixels: 10_000_000,
      threads: 1,
      timeoutMs: 60_000,
      lockMs: 5000,
      secret: await loadQueueSecret(storeDir),
    });
    await worker.worker.waitUntilReady();
  });

  after(async () => {
    await server?.close();
    await worker?.close();
    await redis?.stop();
  });

  test('jobs submitted to the server are run by the worker; outputs are the library output', async () => {
    const inputs = await Promise.all([1, 2, 3].map((seed) => fixturePng(32, 32, seed)));
    const ids: string[] = [];
    for (const png of inputs) {
      const res = await fetch(`${server.url}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: png }) });
      assert.equal(res.status, 202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const events = await readEvents(`${server.url}/api/v1/jobs/${ids[0]}/events`);
    assert.equal(events.at(-1)!.state, 'done');
    for (const [i, id] of ids.entries()) {
      const job = await waitJob(server.url, id);
      assert.equal(job.state, 'done', JSON.stringify(job.error));
      const out = job.result!.files.find((f) => f.name === 'output.png')!;
      assert.equal(out.sha256, await expectedSha(inputs[i]));
      const bytes = Buffer.from(await (await fetch(`${server.url}${out.url}`)).arrayBuffer());
      assert.equal(sha256Of(bytes), out.sha256);
    }
  });

  test('a watermark key is never in Redis in plaintext, and is gone from the job once it ends', async () => {
    const { Redis } = await import('ioredis');
    const key = `wm-key-${randomBytes(6).toString('hex')}`;
    const res = await fetch(`${server.url}/api/v1/jobs/watermark-verify`, {
      method: 'POST',
      body: form({ key, identity: 'none' }, { bytes: await fixturePng(256, 256, 12) }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const client = new Redis(redis!.url);
    try {
      const dump = async () => {
        let all = '';
        for (const k of await client.keys(`${prefix}:*`)) {
          const type = await client.type(k);
          if (type === 'hash') all += JSON.stringify(await client.hgetall(k));
          else if (type === 'string') all += await client.get(k);
          else if (type === 'list') all += JSON.stringify(await client.lrange(k, 0, -1));
          else if (type === 'stream') all += JSON.stringify(await client.xrange(k, '-', '+'));
        }
        return all;
      };
      const queued = await dump();
      assert.ok(!queued.includes(key), 'the key is in Redis in plaintext');
      const job = await waitJob(server.url, id, 60_000);
      assert.equal(job.state, 'done', JSON.stringify(job.error));
      const data = JSON.parse((await client.hget(`${prefix}:clearsight:${id}`, 'data'))!) as { fields: Record<string, string>; sealed?: string[] };
      assert.deepEqual(data.sealed, ['key']);
      assert.equal(data.fields.key, undefined, 'the sealed key is removed once the job has ended');
      assert.ok(!(await dump()).includes(key));
    } finally {
      client.disconnect();
    }
  });

  test('cancel under Redis: a running job is stopped on its worker and a queued one never runs; both fail E_CANCELLED with no retry', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(redis!.url);
    const submit = async (fields: Record<string, string>, png: Buffer) =>
      ((await (await fetch(`${server.url}/api/v1/jobs/lowlight`, { method: 'POST', body: form(fields, { bytes: png }) })).json()) as { id: string }).id;
    const cancel = async (id: string) => {
      const res = await fetch(`${server.url}/api/v1/jobs/${id}/cancel`, { method: 'POST' });
      return { status: res.status, job: (await res.json()) as { state: string; error: { code: string } | null } };
    };
    /** What BullMQ itself says of the job (not the server's view): its state and failure reason. */
    const bull = async (id: string) => {
      const [state, reason] = await Promise.all([server.queue.get(id), client.hget(`${prefix}:clearsight:${id}`, 'failedReason')]);
      return { state: state?.state, reason, inFailed: (await client.zscore(`${prefix}:clearsight:failed`, id)) !== null };
    };
    try {
      // MAXIM (seconds) runs; a gamma job waits behind it (one worker process).
      const running = await submit({ method: 'learned' }, await fixturePng(96, 96, 21));
      for (const until = Date.now() + 30_000; ; ) {
        const s = (await (await fetch(`${server.url}/api/v1/jobs/${running}`)).json()) as { state: string };
        if (s.state === 'running') break;
        assert.ok(Date.now() < until, 'the job never started');
        await new Promise((r) => setTimeout(r, 20));
      }
      const queued = await submit({ method: 'gamma' }, await fixturePng(24, 24, 22));
      const q = await cancel(queued);
      assert.equal(q.status, 200);
      assert.deepEqual([q.job.state, q.job.error?.code], ['failed', 'E_CANCELLED']);
      const r = await cancel(running);
      assert.equal(r.status, 200);
      assert.deepEqual([r.job.state, r.job.error?.code], ['failed', 'E_CANCELLED']);
      // In BullMQ: both end in the failed set with the cancel as the reason, each after one attempt.
      for (const until = Date.now() + 20_000; ; ) {
        const [a, b] = await Promise.all([bull(running), bull(queued)]);
        if (a.inFailed && b.inFailed) {
          assert.match(a.reason!, /^E_CANCELLED: /);
          assert.match(b.reason!, /^E_CANCELLED: /);
          break;
        }
        assert.ok(Date.now() < until, `not failed in BullMQ: ${JSON.stringify({ a, b })}`);
        await new Promise((res) => setTimeout(res, 50));
      }
      for (const id of [running, queued]) {
        const job = (await (await fetch(`${server.url}/api/v1/jobs/${id}`)).json()) as {
          state: string;
          result: unknown;
          attempts: number;
          error: { code: string };
        };
        assert.deepEqual([job.state, job.error.code, job.result], ['failed', 'E_CANCELLED', null]);
        assert.ok(job.attempts <= 1, `no retry after a cancel (attempts ${job.attempts})`);
      }
      // Cancelling a finished job changes nothing; the worker still serves.
      assert.equal((await cancel(running)).job.error?.code, 'E_CANCELLED');
      const next = await submit({ method: 'gamma' }, await fixturePng(16, 16, 23));
      assert.equal((await waitJob(server.url, next, 30_000)).state, 'done');
    } finally {
      client.disconnect();
    }
  });

  test('the job list comes from Redis: a second server in front of the same queue (a restart) lists the jobs the first took, newest first', async () => {
    const ids: string[] = [];
    for (const seed of [31, 32]) {
      const res = await fetch(`${server.url}/api/v1/jobs/lowlight`, {
        method: 'POST',
        body: form({ method: 'gamma' }, { bytes: await fixturePng(16, 16, seed) }),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const id of ids) await waitJob(server.url, id, 30_000);
    const second = await startServer({ port: 0, storeDir, queueUrl: redis!.url, queuePrefix: prefix });
    try {
      const { jobs } = (await (await fetch(`${second.url}/api/v1/jobs`)).json()) as {
        jobs: Array<{ id: string; state: string; inputs: string[]; createdAt: string }>;
      };
      const listed = jobs.map((j) => j.id);
      assert.deepEqual(
        listed.filter((id) => ids.includes(id)),
        [ids[1], ids[0]],
      );
      const newest = jobs.find((j) => j.id === ids[1])!;
      assert.equal(newest.state, 'done');
      assert.deepEqual(newest.inputs, ['upload.png']); // the client's file name (form() names it so)
      assert.ok(!Number.isNaN(Date.parse(newest.createdAt)));
    } finally {
      await second.close();
    }
  });

  test('a worker process killed mid-job: the attempt fails, the job is retried and ends with the same output', async () => {
    const png = await fixturePng(640, 640, 9);
    // Killed on its first progress message, seen right where the worker receives it (no Redis
    // round trip in between, so the job is surely still running).
    let killed = 0;
    const pool = worker.pool;
    const run = pool.run.bind(pool);
    pool.run = (jobId, spec, onProgress) =>
      run(jobId, spec, (p) => {
        if (killed === 0) {
          killed++;
          for (const pid of pool.pids()) process.kill(pid, 'SIGKILL');
        }
        onProgress(p);
      });
    const res = await fetch(`${server.url}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: png }) });
    const { id } = (await res.json()) as { id: string };
    const job = await waitJob(server.url, id, 60_000);
    pool.run = run;
    assert.equal(killed, 1);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.ok(((await (await fetch(`${server.url}/api/v1/jobs/${id}`)).json()) as { attempts: number }).attempts >= 2);
    assert.equal(job.result!.files.find((f) => f.name === 'output.png')!.sha256, await expectedSha(png));
    assert.deepEqual(readdirSync(join(storeDir, 'tmp')), [], 'the killed process left temp files');
  });
});

describe('embedded queue', () => {
  test('retries a job whose worker process died, with backoff, to the same output', async () => {
    const store = await new ContentStore(join(dir, 'store-local')).init();
    const queue = new LocalQueue({ size: 1, storeRoot: store.root, maxPixels: 10_000_000, threads: 1, timeoutMs: 60_000 }, { attempts: 2, backoffMs: 100 });
    try {
      const png = await fixturePng(640, 640, 4);
      const sha = await store.put(png);
      const id = await queue.add({ task: 'lowlight', inputs: [{ sha256: sha, kind: 'image' }], fields: { method: 'gamma' } });
      let killed = false;
      const done = new Promise<void>((resolve) =>
        queue.subscribe(id, (s) => {
          if (s.state === 'running' && !killed) {
            killed = true;
            for (const pid of queue.workerPids()) process.kill(pid, 'SIGKILL');
          }
          if (s.state === 'done' || s.state === 'failed') resolve();
        }),
      );
      await done;
      const s = (await queue.get(id))!;
      assert.equal(s.state, 'done', JSON.stringify(s.error));
      assert.equal(s.attempts, 2);
      assert.deepEqual(readdirSync(join(store.root, 'tmp')), [], 'the killed process left temp files');
      assert.equal(s.result!.files.find((f) => f.name === 'output.png')!.sha256, await expectedSha(png));
    } finally {
      await queue.close();
    }
  });

  test('a job over the time limit is stopped (its process killed) and fails with E_TIMEOUT, not retried', async () => {
    const store = await new ContentStore(join(dir, 'store-timeout')).init();
    const queue = new LocalQueue({ size: 1, storeRoot: store.root, maxPixels: 10_000_000, threads: 1, timeoutMs: 30 }, { attempts: 3, backoffMs: 10 });
    try {
      const sha = await store.put(await fixturePng(640, 640, 5));
      const id = await queue.add({ task: 'lowlight', inputs: [{ sha256: sha, kind: 'image' }], fields: { method: 'gamma' } });
      const final = await new Promise<JobStatus>((resolve) =>
        queue.subscribe(id, (s) => {
          if (s.state === 'done' || s.state === 'failed') resolve(s);
        }),
      );
      assert.equal(final.state, 'failed');
      assert.equal(final.error?.code, 'E_TIMEOUT');
      assert.match(final.error!.message, /took longer than the 0.03 s limit and was stopped/);
      assert.equal(final.attempts, 1);
    } finally {
      await queue.close();
    }
  });
});
