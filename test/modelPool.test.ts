/**
 * The warm model pool (core/models/pool): one session per (model, shape, device, precision,
 * threads), shared by every caller asking for the same key; least recently used idle sessions
 * disposed beyond the budget, sessions in use never; and its users: runExpert, `clearsight batch`
 * (one load for many files, counted through the pool's events) and the server's job router.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelPool, SESSION_MEMORY_FACTOR, type PoolEvent, type SessionKey } from '../src/core/models/pool.js';
import type { InferenceSession } from '../src/core/runtime/index.js';
import { createImage } from '../src/core/image/types.js';
import { derain, upscale } from '../src/restore/index.js';
import { runBatch } from '../src/cli/commands/batch.js';
import { fixturePng } from './helpers/server.js';

/** A stand-in session that records its disposal (the pool's bookkeeping does not run models). */
function fakeSession(disposed: string[], name: string): InferenceSession {
  return { dispose: async () => void disposed.push(name) } as unknown as InferenceSession;
}

const key = (model: string, shape = '1x64x64x3', device = 'cpu'): SessionKey => ({ model, shape, device, precision: 'fp32', threads: 1 });
const MiB = 1024 * 1024;

test('pool: the same key is loaded once and shared, even by concurrent callers', async () => {
  const disposed: string[] = [];
  const pool = new ModelPool({ budgetBytes: 1024 * MiB });
  let creates = 0;
  const create = async () => {
    creates++;
    await new Promise((r) => setTimeout(r, 10));
    return { session: fakeSession(disposed, 'a'), onnxBytes: MiB };
  };
  const [l1, l2] = await Promise.all([pool.acquire(key('a'), create), pool.acquire(key('a'), create)]);
  assert.equal(creates, 1);
  assert.equal(l1.session, l2.session);
  l1.release();
  l2.release();
  const l3 = await pool.acquire(key('a'), create);
  assert.equal(l3.session, l1.session);
  l3.release();
  assert.deepEqual({ loads: pool.stats().loads, hits: pool.stats().hits }, { loads: 1, hits: 2 });
  assert.equal(pool.stats().bytes, Math.round(MiB * SESSION_MEMORY_FACTOR));
  await pool.dispose();
  assert.deepEqual(disposed, ['a']);
});

test('pool: a key differs by tile shape and by device', async () => {
  const pool = new ModelPool();
  const sessions = new Map<string, InferenceSession>();
  for (const k of [key('m', '1x64x64x3'), key('m', '1x128x64x3'), key('m', '1x64x64x3', 'cuda')]) {
    const lease = await pool.acquire(k, async () => ({ session: fakeSession([], k.shape + k.device), onnxBytes: 1 }));
    sessions.set(`${k.shape}|${k.device}`, lease.session);
    lease.release();
  }
  assert.equal(new Set(sessions.values()).size, 3);
  assert.equal(pool.stats().loads, 3);
  assert.deepEqual(pool.heldModels(), ['m']);
  assert.ok(pool.holds('m') && !pool.holds('other'));
  await pool.dispose();
});

test('pool: least recently used idle sessions are evicted beyond the budget, sessions in use are not', async () => {
  const disposed: string[] = [];
  const events: PoolEvent[] = [];
  const size = 100 * MiB; // estimated 250 MiB each at factor 2.5
  const pool = new ModelPool({ budgetBytes: 2.5 * size * 2, onEvent: (e) => events.push(e) });
  const load = (name: string) => pool.acquire(key(name), async () => ({ session: fakeSession(disposed, name), onnxBytes: size }));
  (await load('a')).release();
  (await load('b')).release();
  (await load('a')).release(); // a is now more recent than b
  (await load('c')).release(); // over budget: b (least recently used) goes
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(disposed, ['b']);
  assert.deepEqual(pool.heldModels().sort(), ['a', 'c']);
  assert.deepEqual(
    events.filter((e) => e.type === 'evict').map((e) => e.model),
    ['b'],
  );

  // Held sessions survive even over budget; the overflow goes once they are released.
  const a = await load('a');
  const c = await load('c');
  const d = await load('d');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(disposed, ['b'], 'nothing in use is disposed');
  assert.equal(pool.stats().sessions, 3);
  a.release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(disposed, ['b', 'a']);
  c.release();
  d.release();
  assert.ok(pool.stats().bytes <= 2.5 * size * 2);
  await pool.dispose();
  await assert.rejects(load('e'), /after dispose/);
});

test('pool: a failed load is not kept (the next caller tries again)', async () => {
  const pool = new ModelPool();
  await assert.rejects(
    pool.acquire(key('x'), async () => Promise.reject(new Error('broken model'))),
    /broken model/,
  );
  const lease = await pool.acquire(key('x'), async () => ({ session: fakeSession([], 'x'), onnxBytes: 1 }));
  lease.release();
  assert.equal(pool.stats().loads, 1);
  assert.throws(() => new ModelPool({ budgetBytes: -1 }), /budgetBytes/);
  await pool.dispose();
});

test('runExpert with a pool: one session per tile shape across calls, identical output to an unpooled run', async () => {
  const events: PoolEvent[] = [];
  const pool = new ModelPool({ onEvent: (e) => events.push(e) });
  try {
    const img = (w: number, h: number) => {
      const im = createImage(w, h, 3);
      for (let i = 0; i < im.data.length; i++) im.data[i] = ((i * 37) % 101) / 100;
      return im;
    };
    const a1 = await upscale(img(24, 24), { scale: 2, size: 'slim', threads: 1, pool });
    await upscale(img(24, 24), { scale: 2, size: 'slim', threads: 1, pool });
    await upscale(img(32, 24), { scale: 2, size: 'slim', threads: 1, pool });
    const loads = events.filter((e) => e.type === 'load');
    assert.equal(loads.length, 2, `one load per tile shape: ${loads.map((e) => e.key).join(', ')}`);
    assert.ok(events.some((e) => e.type === 'hit'));
    const own = await upscale(img(24, 24), { scale: 2, size: 'slim', threads: 1 });
    assert.deepEqual(a1.data, own.data);
  } finally {
    await pool.dispose();
  }
});

test('batch: 20 files, one model load (the pool is shared by every file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clearsight-pool-batch-'));
  const stderr = process.stderr.write;
  const loads: PoolEvent[] = [];
  const pool = new ModelPool({ onEvent: (e) => e.type === 'load' && loads.push(e) });
  try {
    const inDir = join(dir, 'in');
    mkdirSync(inDir);
    for (let i = 0; i < 20; i++) writeFileSync(join(inDir, `f${String(i).padStart(2, '0')}.png`), await fixturePng(16 + (i % 3) * 8, 16, i + 1));
    process.stderr.write = (() => true) as typeof process.stderr.write;
    const code = await runBatch('derain', inDir, { output: join(dir, 'out'), set: ['model=fast'] }, pool);
    process.stderr.write = stderr;
    assert.equal(code, 0);
    assert.equal(loads.length, 1, `loads: ${loads.map((e) => e.key).join(', ')}`);
    assert.match(loads[0].model, /derain-fast/);
    assert.ok(pool.stats().hits >= 19);
    // The library path without a pool still works and loads its own model.
    const plain = await derain(createImage(16, 16, 3, new Float32Array(16 * 16 * 3).fill(0.5)), { model: 'fast', threads: 1 });
    assert.equal(plain.width, 16);
  } finally {
    process.stderr.write = stderr;
    await pool.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('server workers: a repeated job goes to the worker holding its model; preload warms it at start', async () => {
  const { WorkerPool, ContentStore } = await import('../src/server/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'clearsight-pool-router-'));
  const store = await new ContentStore(join(dir, 'store')).init();
  const sha = await store.put(await fixturePng(24, 24, 3));
  const spec = { task: 'upscale', fields: { scale: '2', size: 'slim' }, inputs: [{ sha256: sha, kind: 'image' as const, pixels: 576 }] };
  const workers = new WorkerPool({ size: 2, storeRoot: store.root, maxPixels: 1e6, threads: 1, timeoutMs: 60_000 }).warm();
  try {
    // A job without a model takes the first worker, the upscale job the second one: so the worker
    // holding the model is not the one an unaware router would pick first.
    const gamma = { task: 'lowlight', fields: { method: 'gamma' }, inputs: spec.inputs };
    await Promise.all([workers.run('g1', gamma, () => undefined), workers.run('j1', spec, () => undefined)]);
    const holding = () => workers.heldModels().filter((m) => m.some((id) => id.includes('esrgan-slim-x2'))).length;
    assert.equal(holding(), 1, 'the first job warmed one worker');
    for (const id of ['j2', 'j3']) await workers.run(id, spec, () => undefined);
    assert.equal(holding(), 1, `the repeated jobs went to the worker holding the model: ${JSON.stringify(workers.heldModels())}`);
  } finally {
    await workers.close();
  }
  assert.throws(() => new WorkerPool({ size: 1, storeRoot: store.root, maxPixels: 1e6, threads: 1, timeoutMs: 1000, preload: ['hdr'] }), /preload/);
  const preloaded = new WorkerPool({ size: 1, storeRoot: store.root, maxPixels: 1e6, threads: 1, timeoutMs: 60_000, preload: ['upscale'] }).warm();
  try {
    const t0 = Date.now();
    while (!preloaded.heldModels()[0]?.some((id) => id.includes('esrgan-slim-x4')) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      preloaded.heldModels()[0]?.some((id) => id.includes('esrgan-slim-x4')),
      `preload warmed upscale's default model: ${JSON.stringify(preloaded.heldModels())}`,
    );
  } finally {
    await preloaded.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
