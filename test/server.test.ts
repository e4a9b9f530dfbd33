/**
 * HTTP API end to end on the embedded queue: a real lowlight (gamma) job through upload, SSE,
 * result and download (bytes equal to the library's own output), the OpenAPI document, and bad
 * input refused with 4xx and a clear message, leaving no stray files and the server up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, encodeImage } from '../src/core/image/index.js';
import { enhanceLowLightGamma } from '../src/restore/index.js';
import { buildServer, startServer, type RunningServer } from '../src/server/index.js';
import { ContentStore, sha256Of } from '../src/server/store.js';
import { fixtureClip, fixtureMidtones, fixturePng, form, idleQueue, pngDeclaring, readEvents, tinyZip, waitJob, type ApiJob } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-server-'));
let server: RunningServer;
let base: string;

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(root);
  return out;
}

async function post(
  task: string,
  fd: FormData | undefined,
  init: RequestInit = {},
): Promise<{ status: number; body: { id?: string; error?: { code: string; message: string; field?: string } } }> {
  const res = await fetch(`${base}/api/v1/jobs/${task}`, { method: 'POST', body: fd, ...init });
  return { status: res.status, body: (await res.json()) as never };
}

before(async () => {
  server = await startServer({
    port: 0,
    storeDir: join(dir, 'store'),
    concurrency: 1,
    limits: { maxUploadBytes: 64 * 1024, maxPixels: 1_000_000, maxVideoSeconds: 1 },
  });
  base = server.url;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('server: jobs', () => {
  let job: ApiJob;
  const input = fixturePng(32, 32, 7);

  test('lowlight gamma: 202, events to done, result files downloadable and equal to the library output', async () => {
    const png = await input;
    const { status, body } = await post('lowlight', form({ method: 'gamma' }, { bytes: png, name: 'dim.png', type: 'image/png' }));
    assert.equal(status, 202);
    assert.match(body.id!, /^[0-9a-f-]{36}$/);
    const events = await readEvents(`${base}/api/v1/jobs/${body.id}/events`);
    assert.ok(events.length >= 1);
    job = events.at(-1)!;
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.equal(job.progress?.fraction, 1);
    const names = job.result!.files.map((f) => f.name).sort();
    assert.deepEqual(names, ['gamma.png', 'illumination.png', 'output.png']);

    const polled = (await (await fetch(`${base}/api/v1/jobs/${body.id}`)).json()) as ApiJob;
    assert.equal(polled.state, 'done');
    assert.equal(polled.result!.method, 'gamma');

    const out = job.result!.files.find((f) => f.name === 'output.png')!;
    const res = await fetch(`${base}${out.url}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const bytes = Buffer.from(await res.arrayBuffer());
    const expected = await encodeImage(enhanceLowLightGamma((await decodeImage(png)).image).image, 'png');
    assert.ok(bytes.equals(expected), 'served output differs from the library result');
  });

  test('forensics: an image without a face is an outcome, not an error; the report is downloadable', async () => {
    const { status, body } = await post('forensics', form({}, { bytes: await fixtureMidtones(96, 96) }));
    assert.equal(status, 202);
    const done = await waitJob(base, body.id!, 60_000);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.result!.outcome, 'no-face');
    assert.equal(done.result!.probability, null);
    const report = done.result!.files.find((f) => f.name === 'forensics.json')!;
    const parsed = (await (await fetch(`${base}${report.url}`)).json()) as { outcome: string; input: { path?: string } };
    assert.equal(parsed.outcome, 'no-face');
    assert.equal(parsed.input.path, undefined, 'the store path is not shown to the client');
  });

  test('file names are looked up in the job, never used as paths', async () => {
    for (const name of ['..%2F..%2Fpackage.json', '..%2Fblobs', '%2Fetc%2Fpasswd', 'output.png%00.txt', 'OUTPUT.PNG']) {
      const res = await fetch(`${base}/api/v1/jobs/${job.id}/files/${name}`);
      assert.equal(res.status, 404, name);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /no file named|No route/);
    }
    for (const id of ['..%2F..%2Fetc', 'abc', '00000000-0000-0000-0000-000000000000']) {
      assert.equal((await fetch(`${base}/api/v1/jobs/${id}`)).status, 404, id);
    }
  });

  test('GET /api/v1/tasks lists the registry, every task available', async () => {
    const body = (await (await fetch(`${base}/api/v1/tasks`)).json()) as {
      tasks: Array<{ name: string; available: boolean; options: { properties: Record<string, { enum?: string[] }> } | null }>;
    };
    const byName = new Map(body.tasks.map((t) => [t.name, t]));
    for (const name of [
      'auto',
      'derain',
      'dehaze',
      'lowlight',
      'denoise',
      'deblur',
      'retouch',
      'upscale',
      'hdr',
      'vsr',
      'liveness',
      'watermark-embed',
      'watermark-verify',
      'forensics',
    ])
      assert.equal(byName.get(name)?.available, true, name);
    assert.deepEqual(byName.get('lowlight')!.options!.properties.method.enum, ['auto', 'learned', 'gamma', 'fuse', 'iagc']);
    assert.deepEqual(byName.get('dehaze')!.options!.properties.method.enum, ['learned', 'prior', 'auto']);
  });

  test('GET /openapi.json is OpenAPI 3.1 generated from the registry', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, { post?: { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }> } } }>;
    };
    assert.equal(doc.openapi, '3.1.0');
    const lowlight = doc.paths['/api/v1/jobs/lowlight'].post!.requestBody.content['multipart/form-data'].schema;
    assert.deepEqual(lowlight.required, ['file']);
    assert.ok('method' in lowlight.properties && 'file' in lowlight.properties);
    assert.ok(doc.paths['/api/v1/jobs/{id}/events'] && doc.paths['/api/v1/jobs/{id}/files/{name}']);
    assert.ok((doc.paths['/api/v1/jobs/{id}'] as { delete?: unknown }).delete, 'DELETE /api/v1/jobs/{id} is documented');
  });
});

describe('server: video', () => {
  test('vsr: an MP4 upload becomes an upscaled MP4; a clip over the duration limit is 413; an image is 415', async () => {
    const { probeVideo } = await import('../src/video/index.js');
    const clip = readFileSync(await fixtureClip(join(dir, 'clip.mp4'), 32, 32, 6));
    const { status, body } = await post('vsr', form({ scale: '2' }, { bytes: clip, name: 'clip.png', type: 'image/png' }));
    assert.equal(status, 202, JSON.stringify(body));
    const job = await waitJob(base, body.id!, 60_000);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.equal(job.result!.frames, 6);
    const out = job.result!.files.find((f) => f.name === 'output.mp4')!;
    const bytes = Buffer.from(await (await fetch(`${base}${out.url}`)).arrayBuffer());
    writeFileSync(join(dir, 'out.mp4'), bytes);
    const info = await probeVideo(join(dir, 'out.mp4'));
    assert.deepEqual([info.width, info.height], [64, 64]);

    const long = readFileSync(await fixtureClip(join(dir, 'long.mp4'), 16, 16, 12, 4)); // 3 s
    const tooLong = await post('vsr', form({}, { bytes: long }));
    assert.equal(tooLong.status, 413);
    assert.match(tooLong.body.error!.message, /lasts 3\.0 s, more than this server's limit of 1 s/);
    const image = await post('vsr', form({}, { bytes: await fixturePng(16, 16, 1), name: 'clip.mp4', type: 'video/mp4' }));
    assert.equal(image.status, 415);
    assert.match(image.body.error!.message, /is an image \(png\); this task takes a video \(H\.264, HEVC, VP9, AV1, MPEG-4;/);
  });
});

describe('server: bad input is refused with 4xx and leaves nothing behind', () => {
  test('each bad request gets its status and a message that says what is wrong', async () => {
    const good = await fixturePng(32, 32, 3);
    const noisy = await sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    // A real decompression bomb: a valid 4000x4000 PNG (16 MP) that compresses to a few KiB.
    const bomb = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes`);
    const escapedPath = join(dir, 'escaped.png');
    const cases: Array<{ what: string; task?: string; fd?: FormData; init?: RequestInit; status: number; code: string; message: RegExp; field?: string }> = [
      {
        what: 'truncated PNG',
        fd: form({ method: 'gamma' }, { bytes: noisy.subarray(0, Math.floor(noisy.length / 2)) }),
        status: 400,
        code: 'E_INPUT_CORRUPT',
        message: /truncated or corrupt/,
      },
      {
        what: 'text named .png with image/png',
        fd: form({ method: 'gamma' }, { bytes: Buffer.from('just some text, not a picture\n'), name: 'photo.png', type: 'image/png' }),
        status: 415,
        code: 'E_INPUT_UNSUPPORTED',
        message: /is text; this task takes an image/,
      },
      {
        what: 'zip archive',
        fd: form({ method: 'gamma' }, { bytes: tinyZip(), name: 'x.png', type: 'image/png' }),
        status: 415,
        code: 'E_INPUT_UNSUPPORTED',
        message: /ZIP archive/,
      },
      { what: 'empty file', fd: form({ method: 'gamma' }, { bytes: Buffer.alloc(0) }), status: 400, code: 'E_INPUT_CORRUPT', message: /empty/ },
      {
        what: 'oversize upload',
        fd: form({ method: 'gamma' }, { bytes: Buffer.alloc(100 * 1024, 7) }),
        status: 413,
        code: 'E_INPUT_TOO_LARGE',
        message: /larger than this server's limit of 0\.1 MiB/,
      },
      {
        what: 'PNG declaring 100000x100000',
        fd: form({ method: 'gamma' }, { bytes: pngDeclaring(100_000, 100_000) }),
        status: 413,
        code: 'E_INPUT_TOO_LARGE',
        message: /100000x100000 .*more than this server's limit of 1\.0 megapixels/,
      },
      {
        what: 'decompression bomb (16 MP in a few KiB)',
        fd: form({ method: 'gamma' }, { bytes: bomb }),
        status: 413,
        code: 'E_INPUT_TOO_LARGE',
        message: /4000x4000/,
      },
      { what: 'bad option value', fd: form({ method: 'bogus' }, { bytes: good }), status: 400, code: 'E_INVALID_OPTION', message: /"method"/, field: 'method' },
      {
        what: 'unknown option',
        fd: form({ methd: 'gamma' }, { bytes: good }),
        status: 400,
        code: 'E_INVALID_OPTION',
        message: /Unknown option "methd"/,
        field: 'methd',
      },
      {
        what: 'upscale scale 5',
        task: 'upscale',
        fd: form({ scale: '5' }, { bytes: good }),
        status: 400,
        code: 'E_INVALID_OPTION',
        message: /"scale"/,
        field: 'scale',
      },
      {
        what: 'wrong file field',
        fd: form({}, { field: 'upload', bytes: good }),
        status: 400,
        code: 'E_INVALID_OPTION',
        message: /Unexpected file field "upload"/,
        field: 'upload',
      },
      { what: 'no file', fd: form({ method: 'gamma' }), status: 400, code: 'E_INVALID_OPTION', message: /Missing the file/, field: 'file' },
      {
        what: 'raw body, not multipart',
        init: { body: good, headers: { 'content-type': 'image/png' } },
        status: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        message: /Unsupported Media Type/i,
      },
      {
        what: 'JSON body',
        init: { body: '{"file":"x"}', headers: { 'content-type': 'application/json' } },
        status: 415,
        code: 'E_INPUT_UNSUPPORTED',
        message: /multipart\/form-data/,
      },
      { what: 'unknown task', task: 'teleport', fd: form({}, { bytes: good }), status: 404, code: 'E_UNKNOWN_TASK', message: /Unknown task "teleport"/ },
      {
        what: 'hdr with one exposure',
        task: 'hdr',
        fd: form({}, { field: 'files', bytes: good }),
        status: 400,
        code: 'E_INVALID_OPTION',
        message: /at least 2 files/,
        field: 'files',
      },
      { what: 'traversal in task name', task: '..%2F..%2Fetc', fd: form({}, { bytes: good }), status: 404, code: 'E_UNKNOWN_TASK', message: /Unknown task/ },
    ];
    for (const c of cases) {
      const { status, body } = await post(c.task ?? 'lowlight', c.fd, c.init);
      assert.equal(status, c.status, `${c.what}: ${JSON.stringify(body)}`);
      assert.equal(body.error?.code, c.code, c.what);
      assert.match(body.error!.message, c.message, c.what);
      if (c.field) assert.equal(body.error?.field, c.field, c.what);
    }

    // A traversal attempt in the upload's own name is accepted as a name and never used as a path.
    const { status, body } = await post('lowlight', form({ method: 'gamma' }, { bytes: good, name: `../../../..${escapedPath}` }));
    assert.equal(status, 202);
    assert.equal((await waitJob(base, body.id!)).state, 'done');
    assert.equal(existsSync(escapedPath), false);

    // Still up, and the store holds only published blobs: no temp file, nothing from the refused requests.
    assert.equal(((await (await fetch(`${base}/healthz`)).json()) as { ok: boolean }).ok, true);
    const files = listFiles(join(dir, 'store'));
    assert.deepEqual(
      files.filter((f) => !/\/blobs\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(f)),
      [],
    );
    const store = new ContentStore(join(dir, 'store'));
    for (const bad of [noisy.subarray(0, Math.floor(noisy.length / 2)), bomb, tinyZip()]) assert.equal(await store.has(sha256Of(bad)), false);
  });
});

describe('server: API token', () => {
  test('with a token, /api/ needs it (header or access_token); the web app and health stay open', async () => {
    const fake = idleQueue('x');
    const app = await buildServer({ queue: fake, store: await new ContentStore(join(dir, 'store2')).init(), token: 's3cret' });
    try {
      const no = await app.inject({ method: 'GET', url: '/api/v1/tasks' });
      assert.equal(no.statusCode, 401);
      assert.match(no.json<{ error: { message: string } }>().error.message, /API token/);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: 'Bearer s3cret' } })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tasks?access_token=s3cret' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/..%2Fpackage.json' })).statusCode, 404);
    } finally {
      await app.close();
    }
  });
});

describe('store', () => {
  test('sweepTemp removes temp files of dead processes on this host, keeps live ones', async () => {
    const { spawnSync } = await import('node:child_process');
    const { tempOwner } = await import('../src/server/store.js');
    const store = await new ContentStore(join(dir, 'store3')).init();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const tmp = join(dir, 'store3', 'tmp');
    writeFileSync(join(tmp, `${tempOwner(dead)}0123456789abcdef.part`), 'x');
    writeFileSync(join(tmp, `${tempOwner()}0123456789abcdef.part`), 'y');
    assert.equal(await store.sweepTemp(), 1);
    assert.deepEqual(readdirSync(tmp), [`${tempOwner()}0123456789abcdef.part`]);
  });
});
