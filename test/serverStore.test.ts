/**
 * What the server keeps and how it comes back (issue 14):
 * - restart after kill -9 on the same store, over leftover temp files and job folders;
 * - retention: the store stays under its size budget after many jobs; DELETE removes a job and
 *   its files; expired files answer 410;
 * - an image's trailing bytes are not stored; internal store paths never reach a client;
 * - queue caps (429 + Retry-After), the per-job event-stream cap, slow clients cut by the
 *   header/request timeouts, the connection cap.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, ContentStore, chooseEvictions, sha256Of, startServer, type JobQueue, type JobStatus, type RunningServer } from '../src/server/index.js';
import { tempOwner } from '../src/server/store.js';
import { imageDataEnd } from '../src/server/trailing.js';
import { fixturePng, form, idleQueue, waitJob } from './helpers/server.js';
import { BIN, ROOT } from './helpers/cli.js';
import sharp from 'sharp';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function blobBytes(root: string): number {
  let total = 0;
  const blobs = join(root, 'blobs');
  for (const shard of readdirSync(blobs)) for (const f of readdirSync(join(blobs, shard))) total += statSync(join(blobs, shard, f)).size;
  return total;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts `clearsight serve` as a user would; resolves with its URL once it listens. */
function serveProcess(storeDir: string): Promise<{ url: string; pid: number; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--store', storeDir, '--concurrency', '1'], {
    cwd: ROOT,
    env: { ...process.env, CLEARSIGHT_CLI_FROM: 'src' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /serving (http:\/\/[^ ]+) /.exec(err);
      if (m) resolve({ url: m[1], pid: child.pid!, exited, stderr: () => err });
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${err.slice(-500)}`)));
  });
}

describe('restart after a crash', () => {
  test('kill -9 of the server mid-job: it starts again on the same store over every leftover, and no temp file stays', async () => {
    const storeDir = join(dir, 'crash');
    const first = await serveProcess(storeDir);
    const big = await fixturePng(512, 512, 5);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${first.url}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: big }) });
      assert.equal(res.status, 202);
    }
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    // What crashes leave: a dead process's job folder with files in it (the EISDIR of the issue),
    // and a stale temp file of another host.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const folder = join(storeDir, 'tmp', `${tempOwner(dead)}0123456789abcdef.job`);
    mkdirSync(join(folder, 'frames'), { recursive: true });
    writeFileSync(join(folder, 'frames', 'f1.raw'), 'x');

    const second = await serveProcess(storeDir);
    try {
      assert.equal(((await (await fetch(`${second.url}/healthz`)).json()) as { ok: boolean }).ok, true);
      assert.equal(existsSync(folder), false, 'the leftover job folder is removed at start-up');
      const res = await fetch(`${second.url}/api/v1/jobs/lowlight`, {
        method: 'POST',
        body: form({ method: 'gamma' }, { bytes: await fixturePng(32, 32, 6) }),
      });
      assert.equal((await waitJob(second.url, ((await res.json()) as { id: string }).id, 60_000)).state, 'done');
      // Orphaned workers of the killed server exit when they notice their parent is gone; whatever
      // they leave is swept (dead pid) by the running server's next retention pass.
      const pidsIn = () => readdirSync(join(storeDir, 'tmp')).map((n) => Number(/^.+-(\d+)-[0-9a-f]{16}\./.exec(n)?.[1]));
      const until = Date.now() + 20_000;
      while (pidsIn().some((p) => p !== second.pid && alive(p)) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 300));
      // SIGTERM: a clean stop; the store's tmp/ must then hold nothing of anyone.
      process.kill(second.pid, 'SIGTERM');
      assert.equal(await second.exited, 0, second.stderr());
      const third = await serveProcess(storeDir);
      process.kill(third.pid, 'SIGTERM');
      await third.exited;
      assert.deepEqual(readdirSync(join(storeDir, 'tmp')), []);
    } finally {
      if (alive(second.pid)) process.kill(second.pid, 'SIGKILL');
    }
  });
});

describe('store retention and job deletion', () => {
  let server: RunningServer;
  after(() => server?.close());

  test('after 40 jobs with a 60 KiB budget the store holds at most 60 KiB; older files answer 410', async () => {
    const budget = 60 * 1024;
    server = await startServer({ port: 0, storeDir: join(dir, 'budget'), concurrency: 1, retention: { maxBytes: budget, maxAgeMs: 3600_000 } });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${server.url}/api/v1/jobs/lowlight`, {
        method: 'POST',
        body: form({ method: 'gamma' }, { bytes: await fixturePng(48, 48, 100 + i) }),
      });
      assert.equal(res.status, 202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const id of ids) {
      const j = await waitJob(server.url, id, 60_000);
      assert.equal(j.state, 'done', JSON.stringify(j.error));
    }
    await server.retention.run();
    const bytes = blobBytes(server.store.root);
    assert.ok(bytes <= budget, `store holds ${bytes} bytes, budget ${budget}`);
    assert.ok(bytes > budget / 4, `store holds only ${bytes} bytes: retention removed more than it had to`);
    const first = await waitJob(server.url, ids[0]);
    const gone = await fetch(`${server.url}${first.result!.files[0].url}`);
    assert.equal(gone.status, 410);
    const last = await waitJob(server.url, ids.at(-1)!);
    assert.equal((await fetch(`${server.url}${last.result!.files[0].url}`)).status, 200, 'the newest outputs are kept');
  });

  test('DELETE /api/v1/jobs/{id} forgets the job and removes its files; a second DELETE is 404', async () => {
    const png = await fixturePng(40, 40, 999);
    const res = await fetch(`${server.url}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: png }) });
    const { id } = (await res.json()) as { id: string };
    const job = await waitJob(server.url, id);
    const store = new ContentStore(server.store.root);
    const shas = [sha256Of(png), ...job.result!.files.map((f) => f.sha256)];
    for (const sha of shas) assert.equal(await store.has(sha), true);
    assert.equal((await fetch(`${server.url}/api/v1/jobs/${id}`, { method: 'DELETE' })).status, 204);
    for (const sha of shas) assert.equal(await store.has(sha), false, sha);
    assert.equal((await fetch(`${server.url}/api/v1/jobs/${id}`)).status, 404);
    assert.equal((await fetch(`${server.url}/api/v1/jobs/${id}`, { method: 'DELETE' })).status, 404);
  });

  test('eviction order: over age first, then least recently used; active inputs are kept', () => {
    const now = 1_000_000;
    const blobs = [
      { sha256: 'a', bytes: 40, mtimeMs: now - 5000 },
      { sha256: 'b', bytes: 40, mtimeMs: now - 4000 },
      { sha256: 'c', bytes: 40, mtimeMs: now - 3000 },
      { sha256: 'd', bytes: 40, mtimeMs: now - 10 },
    ];
    assert.deepEqual(chooseEvictions(blobs, new Set(), 100, 60_000, now), ['a', 'b']);
    assert.deepEqual(chooseEvictions(blobs, new Set(['a']), 100, 60_000, now), ['b', 'c']);
    assert.deepEqual(chooseEvictions(blobs, new Set(), 1000, 3500, now), ['a', 'b']);
    // Over the budget, room is made down to 85 % of it (160 -> at most 110.5 of 130).
    assert.deepEqual(chooseEvictions(blobs, new Set(), 130, 60_000, now), ['a', 'b']);
    assert.deepEqual(chooseEvictions(blobs, new Set(), 160, 60_000, now), [], 'at the budget exactly: nothing to do');
  });
});

describe('uploads', () => {
  test('trailing bytes after an image are cut off before it is stored', async () => {
    const png = await fixturePng(32, 32, 11);
    const jpeg = await sharp(png).jpeg({ quality: 80 }).toBuffer();
    const progressive = await sharp(png).jpeg({ quality: 80, progressive: true }).toBuffer();
    const webp = await sharp(png).webp().toBuffer();
    const cases: Array<[string, Buffer]> = [
      ['png', png],
      ['jpeg', jpeg],
      ['jpeg', progressive],
      ['webp', webp],
    ];
    for (const [format, bytes] of cases) {
      const p = join(dir, `t.${format}`);
      writeFileSync(p, Buffer.concat([bytes, Buffer.alloc(5000, 0), Buffer.from('PK\x03\x04 smuggled')]));
      assert.equal(await imageDataEnd(p, format), bytes.length, format);
    }
    const server = await startServer({ port: 0, storeDir: join(dir, 'trail'), concurrency: 1, limits: { maxUploadBytes: 50 * 1024 * 1024 } });
    try {
      const padded = Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024)]);
      const res = await fetch(`${server.url}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: padded }) });
      assert.equal(res.status, 202);
      const job = await waitJob(server.url, ((await res.json()) as { id: string }).id);
      assert.equal(job.state, 'done');
      const store = new ContentStore(server.store.root);
      assert.equal(await store.has(sha256Of(png)), true, 'the picture is stored under its own digest');
      assert.equal(await store.has(sha256Of(padded)), false, 'the padded upload is not');
      assert.ok(blobBytes(server.store.root) < 1024 * 1024);
    } finally {
      await server.close();
    }
  });

  test('a job error never shows the store path', async () => {
    const server = await startServer({ port: 0, storeDir: join(dir, 'paths'), concurrency: 1 });
    try {
      // An input whose blob is gone (removed by retention between queueing and running, say).
      const id = await server.queue.add({ task: 'lowlight', inputs: [{ sha256: 'ab'.repeat(32), kind: 'image' }], fields: { method: 'gamma' } });
      const job = await waitJob(server.url, id, 30_000);
      assert.equal(job.state, 'failed');
      assert.ok(!job.error!.message.includes(server.store.root), job.error!.message);
      assert.match(job.error!.message, /<store>|uploaded image/);
    } finally {
      await server.close();
    }
  });
});

describe('caps and slow clients', () => {
  test('queue caps: 429 with Retry-After per client and in all; the event-stream cap per job', async () => {
    // A queue whose jobs stay queued until the test ends them: the caps are counted deterministically.
    const listeners = new Map<string, Set<(s: JobStatus) => void>>();
    const states = new Map<string, JobStatus>();
    let n = 0;
    const queue: JobQueue = {
      add: async (spec) => {
        const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
        states.set(id, { id, task: spec.task, state: 'queued', progress: null, result: null, error: null, attempts: 0 });
        return id;
      },
      get: async (id) => states.get(id),
      subscribe: (id, l) => {
        if (!listeners.has(id)) listeners.set(id, new Set());
        listeners.get(id)!.add(l);
        return () => listeners.get(id)!.delete(l);
      },
      workerPids: () => [],
      remove: async () => ({ outcome: 'not-found', blobs: [] }),
      activeInputs: async () => new Set(),
      close: async () => undefined,
    };
    const finish = (id: string) => {
      const s = { ...states.get(id)!, state: 'failed' as const, error: { code: 'E_TEST', message: 'ended by the test' } };
      states.set(id, s);
      for (const l of [...(listeners.get(id) ?? [])]) l(s);
    };
    const store = await new ContentStore(join(dir, 'caps')).init();
    const app = await buildServer({ queue, store, limits: { maxQueuedPerClient: 2, maxQueuedJobs: 3, maxStreamsPerJob: 2 } });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const png = await fixturePng(16, 16, 3);
      const post = (headers: Record<string, string> = {}) =>
        fetch(`${base}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: png }), headers });
      const a = await post();
      const b = await post();
      const c = await post();
      assert.deepEqual([a.status, b.status, c.status], [202, 202, 429]);
      assert.ok(Number(c.headers.get('retry-after')) > 0);
      assert.match(((await c.json()) as { error: { message: string } }).error.message, /2 jobs queued or running \(limit 2 per client\)/);
      const id = ((await a.json()) as { id: string }).id;

      const open = [0, 1].map(() => new AbortController());
      const streams = await Promise.all(open.map((ctl) => fetch(`${base}/api/v1/jobs/${id}/events`, { signal: ctl.signal })));
      assert.deepEqual(
        streams.map((s) => s.status),
        [200, 200],
      );
      const third = await fetch(`${base}/api/v1/jobs/${id}/events`);
      assert.equal(third.status, 429);
      assert.equal(((await third.json()) as { error: { code: string } }).error.code, 'E_TOO_MANY_STREAMS');
      for (const ctl of open) ctl.abort();

      finish(id);
      assert.equal((await post()).status, 202, 'a finished job frees its place');
      // The total cap (3) counts every client: 2 queued now + 1 more from "another" client = full.
      const d = await post();
      assert.equal(d.status, 429);
    } finally {
      await app.close();
    }
  });

  test('slow headers and slow bodies are cut at their timeouts; connections over the cap are closed', async () => {
    const server = await startServer({
      port: 0,
      storeDir: join(dir, 'slow'),
      concurrency: 1,
      limits: { headersTimeoutMs: 600, requestTimeoutMs: 1200, idleTimeoutMs: 5000, maxConnections: 4 },
    });
    const port = Number(new URL(server.url).port);
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      });
    /** Milliseconds until the server closes the socket (or gives up after `limit`). */
    const closedAfter = (s: Socket, limit: number) =>
      new Promise<{ ms: number; reply: string }>((resolve) => {
        const t0 = Date.now();
        let reply = '';
        s.on('data', (d) => (reply += String(d)));
        const timer = setTimeout(() => resolve({ ms: Infinity, reply }), limit);
        s.on('close', () => {
          clearTimeout(timer);
          resolve({ ms: Date.now() - t0, reply });
        });
        s.on('error', () => undefined);
      });
    try {
      const slowHeaders = await open();
      slowHeaders.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
      const h = await closedAfter(slowHeaders, 5000);
      assert.ok(h.ms < 2500, `slow headers cut after ${h.ms} ms`);

      const slowBody = await open();
      slowBody.write(
        'POST /api/v1/jobs/lowlight HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n',
      );
      const drip = setInterval(() => slowBody.writable && slowBody.write('a'), 100);
      const b = await closedAfter(slowBody, 6000);
      clearInterval(drip);
      assert.ok(b.ms < 3500, `slow body cut after ${b.ms} ms`);

      const held = await Promise.all([0, 1, 2, 3].map(() => open()));
      await new Promise((r) => setTimeout(r, 100));
      const extra = await open();
      const e = await closedAfter(extra, 3000);
      assert.ok(e.ms < 1000, 'a connection over the cap is closed at once');
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'served again once connections are free');
    } finally {
      await server.close();
    }
  });
});

describe('memory budget', () => {
  test('a job estimated over the budget is refused at upload (413), one under it is queued', async () => {
    const store = await new ContentStore(join(dir, 'mem413')).init();
    const queue = idleQueue('00000000-0000-4000-8000-000000000009');
    const app = await buildServer({ queue, store, limits: { jobMemoryBytes: 1024 * 1024 } });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const big = await fetch(`${base}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: await fixturePng(200, 200, 1) }) });
      assert.equal(big.status, 413);
      assert.match(
        ((await big.json()) as { error: { message: string } }).error.message,
        /would need about 2\.1 MiB of memory \(0\.0 megapixels\), more than this server's job memory budget of 1\.0 MiB/,
      );
      const small = await fetch(`${base}/api/v1/jobs/lowlight`, { method: 'POST', body: form({ method: 'gamma' }, { bytes: await fixturePng(64, 64, 1) }) });
      assert.equal(small.status, 202);
      assert.equal(blobBytes(store.root) > 0, true);
    } finally {
      await app.close();
    }
  });

  test('the pool runs large jobs one at a time within its budget and replaces a worker after a large job', async () => {
    const { WorkerPool, estimateJobMemory } = await import('../src/server/index.js');
    const store = await new ContentStore(join(dir, 'pool')).init();
    const sha = await store.put(await fixturePng(256, 256, 8));
    // The declared pixels drive the estimate (36 MP gamma: about 1.8 GiB); the picture itself is small.
    const spec = { task: 'lowlight', fields: { method: 'gamma' }, inputs: [{ sha256: sha, kind: 'image' as const, pixels: 36_000_000 }] };
    const need = estimateJobMemory(spec);
    assert.ok(need > 1.5 * 1024 ** 3 && need < 2 * 1024 ** 3, `estimate ${need}`);
    const pool = new WorkerPool({ size: 2, storeRoot: store.root, maxPixels: 1e8, threads: 1, timeoutMs: 60_000, memoryBudgetBytes: 2 * 1024 ** 3 }).warm();
    try {
      const before = pool.pids();
      const spans: Array<[number, number]> = [];
      let peak = 0;
      const run = async (id: string) => {
        let start = 0;
        await pool.run(id, spec, () => {
          start ||= Date.now();
          peak = Math.max(peak, pool.memoryInUse());
        });
        spans.push([start, Date.now()]);
      };
      const small = { ...spec, inputs: [{ ...spec.inputs[0], pixels: 65536 }] };
      let smallEnd = 0;
      // Two large jobs, then a small one: the small one overtakes the second large one (which
      // waits for memory) instead of waiting behind it.
      await Promise.all([run('a'), run('b'), pool.run('c', small, () => undefined).then(() => (smallEnd = Date.now()))]);
      spans.sort((x, y) => x[0] - y[0]);
      assert.ok(spans[1][0] >= spans[0][1], `the second large job started before the first ended: ${JSON.stringify(spans)}`);
      assert.ok(smallEnd > 0 && smallEnd <= spans[1][0], 'the small job waited behind the second large one');
      assert.ok(peak <= 2 * 1024 ** 3);
      await pool.run('d', small, () => undefined);
      await new Promise((r) => setTimeout(r, 300));
      const after = pool.pids();
      assert.equal(after.length, 2, 'the pool is back to its size');
      // The first large job ran on one of the two warm workers: that one is gone (the other may
      // have run only the small jobs and stays).
      assert.ok(after.filter((p) => before.includes(p)).length <= 1, `workers that ran a large job were replaced: ${before} -> ${after}`);
    } finally {
      await pool.close();
    }
  });
});
