/**
 * The server as an attacker and bad luck would try it (issue 14):
 * - the API token cannot be walked around by any spelling of a route (percent-encoding, case,
 *   double slashes, absolute-form request lines): a seeded fuzz of 1,000 encodings, each also
 *   sent with the token to show the spelling reaches a route when allowed;
 * - DNS rebinding (Host) and cross-site requests (Origin) on a localhost bind;
 * - access tokens are not logged; a malformed multipart body is 400; trailing bytes after an
 *   image are not stored; DELETE removes a job and its files; queue caps answer 429 + Retry-After.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { mulberry32 } from '../src/core/random.js';
import { allowedHostsFor, buildServer, ContentStore, crossSiteReason, hostAllowed, redactUrl, type JobQueue, type JobStatus } from '../src/server/index.js';
import { fixturePng } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-sec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const JOB = '0b9d2c4e-1f3a-4c5d-9e8f-7a6b5c4d3e2f';

/** A queue that knows one finished job (so a bypass would get 2xx on every route) and accepts anything. */
async function fakeQueue(store: ContentStore): Promise<JobQueue & { added: number }> {
  const png = await fixturePng(8, 8, 1);
  const sha = await store.put(png);
  const status: JobStatus = {
    id: JOB,
    task: 'lowlight',
    state: 'done',
    progress: { stage: 'done', done: 1, total: 1 },
    result: { files: [{ name: 'output.png', type: 'image/png', role: 'output', sha256: sha, bytes: png.length }], result: {}, seconds: 0 },
    error: null,
    attempts: 1,
  };
  const q = {
    added: 0,
    add: async () => {
      q.added++;
      return '00000000-0000-4000-8000-000000000001';
    },
    get: async (id: string) => (id === JOB ? status : undefined),
    subscribe: () => () => undefined,
    workerPids: () => [],
    remove: async (id: string) => (id === JOB ? { outcome: 'removed' as const, blobs: [] } : { outcome: 'not-found' as const, blobs: [] as [] }),
    activeInputs: async () => new Set<string>(),
    close: async () => undefined,
  };
  return q;
}

interface Raw {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request with the request line's target exactly as given (no normalisation by a client library). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer, agent?: Agent): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...headers }, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function multipart(png: Buffer, fields: Record<string, string> = { method: 'gamma' }): { body: Buffer; type: string } {
  const boundary = 'xXfuzzXx';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

/** Random spellings of one path: percent-escapes (either hex case), case changes, doubled or dotted segments, absolute form. */
function mutate(path: string, rand: () => number, port: number): string {
  let out = '';
  for (const ch of path) {
    const r = rand();
    if (ch !== '/' && r < 0.25) {
      const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
      out += `%${rand() < 0.5 ? hex.toUpperCase() : hex}`;
    } else if (ch === '/' && r < 0.06) out += rand() < 0.5 ? '%2F' : '%2f';
    else if (ch === '/' && r < 0.1) out += '//';
    else if (ch === '/' && r < 0.12) out += '/./';
    else if (r < 0.3) out += rand() < 0.5 ? ch.toUpperCase() : ch.toLowerCase();
    else out += ch;
  }
  const tail = rand();
  if (tail < 0.1) out += '/';
  else if (tail < 0.2) out += '?x=1';
  else if (tail < 0.25) out += '#frag';
  const form = rand();
  if (form < 0.3) {
    const authority = [`127.0.0.1:${port}`, `localhost:${port}`, 'attacker.example', `[::1]:${port}`][Math.floor(rand() * 4)];
    out = `${rand() < 0.5 ? 'http' : 'HTTP'}://${authority}${out}`;
  }
  return out;
}

describe('API token: authorised on the route the router resolved', () => {
  let app: FastifyInstance;
  let port: number;
  let queue: Awaited<ReturnType<typeof fakeQueue>>;
  let upload: { body: Buffer; type: string };
  // A fresh connection per request: a refused request must not depend on what an earlier one left on the socket.
  const agent = new Agent({ keepAlive: false, maxSockets: 8 });
  const auth = { authorization: 'Bearer s3cret' };

  before(async () => {
    const store = await new ContentStore(join(dir, 'fuzz')).init();
    queue = await fakeQueue(store);
    app = await buildServer({ queue, store, token: 's3cret', limits: { maxQueuedPerClient: 1_000_000, maxQueuedJobs: 1_000_000 } });
    port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
    upload = multipart(await fixturePng(8, 8, 2));
  });
  after(async () => {
    agent.destroy();
    await app.close();
  });

  const routes = () => [
    { method: 'GET', path: '/api/v1/tasks' },
    { method: 'GET', path: `/api/v1/jobs/${JOB}` },
    { method: 'GET', path: `/api/v1/jobs/${JOB}/events` },
    { method: 'GET', path: `/api/v1/jobs/${JOB}/files/output.png` },
    { method: 'POST', path: '/api/v1/jobs/lowlight', upload: true },
    { method: 'DELETE', path: `/api/v1/jobs/${JOB}` },
  ];

  const send = (r: { method: string; upload?: boolean }, path: string, headers: Record<string, string> = {}) =>
    raw(port, r.method, path, { ...(r.upload ? { 'content-type': upload.type } : {}), ...headers }, r.upload ? upload.body : undefined, agent);

  test('the spellings of the issue: 401 without the token, 2xx with it', async () => {
    const spellings = [
      { method: 'GET', path: '/%61pi/v1/tasks' },
      { method: 'POST', path: '/%61pi/v1/jobs/lowlight', upload: true },
      { method: 'GET', path: `/a%70i/v1/jobs/${JOB}` },
      { method: 'GET', path: `/a%70i/v1/jobs/${JOB}/files/output.png` },
      { method: 'GET', path: `/%61pi/v1/jobs/${JOB}/events` },
      { method: 'GET', path: `http://127.0.0.1:${port}/api/v1/tasks` },
      { method: 'GET', path: '/api/v1/tasks' },
    ];
    for (const s of spellings) {
      const no = await send(s, s.path);
      assert.equal(no.status, 401, `${s.method} ${s.path}: ${no.body.slice(0, 200)}`);
      const yes = await send(s, s.path, auth);
      assert.ok(yes.status >= 200 && yes.status < 300, `${s.method} ${s.path} with the token: ${yes.status}`);
    }
    for (const path of ['//api/v1/tasks', '/API/v1/tasks', '/api/v1//tasks', '/api%2Fv1%2Ftasks', '/%2561pi/v1/tasks']) {
      const no = await send({ method: 'GET' }, path);
      assert.ok(no.status === 401 || no.status === 404, `${path}: ${no.status}`);
    }
  });

  test('fuzz: 1,000 random encodings of the routes (seed 14): none is 2xx without the token', async () => {
    const rand = mulberry32(14);
    let reached = 0;
    const leaks: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = routes()[Math.floor(rand() * 6)];
      const path = mutate(r.path, rand, port);
      const no = await send(r, path);
      if (no.status < 400) leaks.push(`${r.method} ${path} -> ${no.status}`);
      // The same spelling with the token: counts spellings the router does resolve to the route.
      const yes = await send(r, path, auth);
      if (yes.status >= 200 && yes.status < 300) reached++;
    }
    assert.deepEqual(leaks, []);
    // The fuzz is only meaningful if many spellings do reach a route (so a bypass would show as 2xx).
    assert.ok(reached >= 100, `only ${reached} of 1000 fuzzed spellings reached a route with the token`);
  });

  test('the web app, health and the OpenAPI document stay public', async () => {
    for (const path of ['/', '/healthz', '/openapi.json', '/%68ealthz']) assert.equal((await send({ method: 'GET' }, path)).status, 200, path);
  });
});

describe('DNS rebinding and cross-site requests', () => {
  let app: FastifyInstance;
  let port: number;
  let upload: { body: Buffer; type: string };

  before(async () => {
    const store = await new ContentStore(join(dir, 'hosts')).init();
    app = await buildServer({ queue: await fakeQueue(store), store, allowedHosts: allowedHostsFor('127.0.0.1', ['clearsight.lan']) });
    port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
    upload = multipart(await fixturePng(8, 8, 3));
  });
  after(() => app.close());

  test('a localhost bind answers localhost names and --allow-host names only', async () => {
    for (const host of ['attacker.example', 'attacker.example:80', '127.0.0.1.attacker.example', 'localhost.attacker.example', 'localhost@attacker.example']) {
      const r = await raw(port, 'GET', '/api/v1/tasks', { host });
      assert.equal(r.status, 403, host);
      assert.match(JSON.parse(r.body).error.code, /E_FORBIDDEN_HOST/);
    }
    for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'app.localhost', 'CLEARSIGHT.LAN:8080']) {
      assert.equal((await raw(port, 'GET', '/api/v1/tasks', { host })).status, 200, host);
    }
    // An absolute-form request line names its host itself.
    assert.equal((await raw(port, 'GET', 'http://attacker.example/api/v1/tasks', { host: 'localhost' })).status, 403);
    assert.equal((await raw(port, 'GET', `http://localhost:${port}/api/v1/tasks`)).status, 200);
  });

  test('state-changing requests: same origin or no Origin only', async () => {
    const post = (headers: Record<string, string>) =>
      raw(port, 'POST', '/api/v1/jobs/lowlight', { 'content-type': upload.type, host: `127.0.0.1:${port}`, ...headers }, upload.body);
    assert.equal((await post({})).status, 202, 'no Origin (curl, scripts)');
    assert.equal((await post({ origin: `http://127.0.0.1:${port}` })).status, 202, 'same origin (the web app)');
    for (const origin of ['http://attacker.example', 'null', `http://127.0.0.1:${port + 1}`, 'https://localhost']) {
      const r = await post({ origin });
      assert.equal(r.status, 403, origin);
      assert.equal(JSON.parse(r.body).error.code, 'E_CROSS_ORIGIN');
    }
    assert.equal((await post({ 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await raw(port, 'DELETE', `/api/v1/jobs/${JOB}`, { origin: 'http://attacker.example' })).status, 403);
    // Reading is not state-changing (and a cross-origin page cannot read the answer: no CORS headers).
    const get = await raw(port, 'GET', '/api/v1/tasks', { origin: 'http://attacker.example' });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
  });

  test('allow-lists and origin rules as pure functions', () => {
    assert.deepEqual(allowedHostsFor('0.0.0.0'), undefined, 'beyond localhost without --allow-host: any Host');
    assert.ok(allowedHostsFor('0.0.0.0', ['example.org'])!.includes('example.org'));
    assert.equal(allowedHostsFor('127.0.0.1', ['*']), undefined);
    assert.equal(hostAllowed('a.example.org', ['*.example.org']), true);
    assert.equal(hostAllowed('example.org.evil', ['*.example.org']), false);
    assert.equal(hostAllowed('127.9.9.9', ['localhost']), true);
    assert.equal(crossSiteReason('GET', 'http://x', 'y', undefined), undefined);
    assert.match(crossSiteReason('PUT', 'http://x', 'y', undefined)!, /cross-origin/);
    assert.equal(redactUrl('/api/v1/jobs/x/events?a=1&access_token=s3cret&b=2'), '/api/v1/jobs/x/events?a=1&access_token=[redacted]&b=2');
  });
});

describe('smaller hardening', () => {
  test('the request log never contains the access token', async () => {
    const store = await new ContentStore(join(dir, 'log')).init();
    let log = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        log += String(chunk);
        cb();
      },
    });
    const app = await buildServer({ queue: await fakeQueue(store), store, token: 'tok-9f8e7d', logger: true, logStream: sink });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tasks?access_token=tok-9f8e7d' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tasks?access_token=wrong-guess' })).statusCode, 401);
    } finally {
      await app.close();
    }
    assert.match(log, /access_token=\[redacted\]/);
    assert.doesNotMatch(log, /tok-9f8e7d|wrong-guess/);
  });

  test('a malformed multipart body is 400, not 500', async () => {
    const store = await new ContentStore(join(dir, 'mp')).init();
    const app = await buildServer({ queue: await fakeQueue(store), store });
    const port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
    try {
      const bodies = [
        '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc', // part cut short
        'no boundary anywhere',
      ];
      for (const b of bodies) {
        const r = await raw(port, 'POST', '/api/v1/jobs/lowlight', { 'content-type': 'multipart/form-data; boundary=xyz' }, Buffer.from(b));
        assert.equal(r.status, 400, r.body);
        // A body with no boundary at all is an empty form (busboy reads it as a preamble): "Missing the file".
        assert.match(JSON.parse(r.body).error.code, /E_MALFORMED_REQUEST|E_INVALID_OPTION/);
      }
      const cut = await raw(port, 'POST', '/api/v1/jobs/lowlight', { 'content-type': 'multipart/form-data; boundary=xyz' }, Buffer.from(bodies[0]));
      assert.equal(JSON.parse(cut.body).error.code, 'E_MALFORMED_REQUEST');
      const nb = await raw(port, 'POST', '/api/v1/jobs/lowlight', { 'content-type': 'multipart/form-data' }, Buffer.from('x'));
      assert.equal(nb.status, 400, nb.body);
    } finally {
      await app.close();
    }
  });
});

describe('secret job options in the Redis queue', () => {
  test('sealed with the queue secret, authenticated with the field name, removed once finished', async () => {
    const { loadQueueSecret, sealSpec, unsealSpec, withoutSecrets } = await import('../src/server/index.js');
    const root = join(dir, 'secret-store');
    const { mkdirSync, statSync } = await import('node:fs');
    mkdirSync(root);
    const secret = await loadQueueSecret(root);
    assert.equal(secret.length, 32);
    assert.ok((await loadQueueSecret(root)).equals(secret), 'the second process reads the same secret');
    assert.equal(statSync(join(root, 'queue-secret')).mode & 0o777, 0o600);
    const spec = { task: 'watermark-verify', inputs: [], fields: { key: 'hunter2', identity: 'none' } };
    const sealed = sealSpec(spec, ['key'], secret);
    assert.notEqual(sealed.fields.key, 'hunter2');
    assert.ok(!JSON.stringify(sealed).includes('hunter2'));
    assert.equal(sealed.fields.identity, 'none');
    assert.deepEqual(unsealSpec(sealed, secret).fields, spec.fields);
    assert.throws(() => unsealSpec(sealed, Buffer.alloc(32, 1)), /auth|decrypt/i, 'another secret cannot open it');
    const moved = { ...sealed, fields: { ...sealed.fields, identity: sealed.fields.key }, sealed: ['identity'] };
    assert.throws(() => unsealSpec(moved, secret), 'a sealed value moved to another field does not open');
    assert.deepEqual(withoutSecrets(sealed).fields, { identity: 'none' });
  });
});
