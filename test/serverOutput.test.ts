/**
 * The output options of the task table (format, quality, stripMetadata) and derain's precision
 * through the HTTP API, with cheap tasks (lowlight method=gamma, dehaze method=prior): the picture
 * comes back in the format asked for, as output.<ext> with its MIME type; the quality is honoured;
 * the upload's EXIF/ICC are kept unless stripped; bad values and options a task does not take are
 * a 400 naming the field. Then batch: --format and --set format=... are one and the same.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runBatch } from '../src/cli/commands/batch.js';
import { startServer, type RunningServer } from '../src/server/index.js';
import { exifJpeg } from './helpers/metadata.js';
import { fixturePng, form, readEvents, waitJob } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-server-output-'));
let server: RunningServer;
let base: string;

before(async () => {
  server = await startServer({ port: 0, storeDir: join(dir, 'store'), concurrency: 1 });
  base = server.url;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Posted = { status: number; body: { id?: string; error?: { code: string; message: string; field?: string } } };

async function post(task: string, fields: Record<string, string>, bytes: Buffer, type = 'image/png'): Promise<Posted> {
  const res = await fetch(`${base}/api/v1/jobs/${task}`, { method: 'POST', body: form(fields, { bytes, type }) });
  return { status: res.status, body: (await res.json()) as Posted['body'] };
}

/** Runs a job to the end; returns its output picture as served (bytes, Content-Type, name). */
async function outputOf(task: string, fields: Record<string, string>, bytes: Buffer, type?: string) {
  const { status, body } = await post(task, fields, bytes, type);
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitJob(base, body.id!, 60_000);
  assert.equal(job.state, 'done', JSON.stringify(job.error));
  const file = job.result!.files.find((f) => f.role === 'output')!;
  const res = await fetch(`${base}${file.url}`);
  return { name: file.name, type: file.type, contentType: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('API: output format, quality and metadata', () => {
  test('lowlight gamma with format=jpeg quality=80: output.jpg, image/jpeg, a JPEG of the input size; the quality is honoured', async () => {
    const input = await fixturePng(64, 48, 3);
    const q80 = await outputOf('lowlight', { method: 'gamma', format: 'jpeg', quality: '80' }, input);
    assert.equal(q80.name, 'output.jpg');
    assert.equal(q80.type, 'image/jpeg');
    assert.equal(q80.contentType, 'image/jpeg');
    const m = await sharp(q80.bytes).metadata();
    assert.deepEqual([m.format, m.width, m.height], ['jpeg', 64, 48]);
    const q10 = await outputOf('lowlight', { method: 'gamma', format: 'jpeg', quality: '10' }, input);
    assert.ok(q10.bytes.length < q80.bytes.length, `quality 10 (${q10.bytes.length} B) is smaller than quality 80 (${q80.bytes.length} B)`);
    // Without a format, the API writes PNG, as before.
    const png = await outputOf('lowlight', { method: 'gamma' }, input);
    assert.deepEqual([png.name, png.contentType, (await sharp(png.bytes).metadata()).format], ['output.png', 'image/png', 'png']);
  });

  test('dehaze prior with format=webp: output.webp, image/webp', async () => {
    const out = await outputOf('dehaze', { method: 'prior', format: 'webp', quality: '90' }, await fixturePng(40, 32, 5));
    assert.deepEqual([out.name, out.contentType, (await sharp(out.bytes).metadata()).format], ['output.webp', 'image/webp', 'webp']);
  });

  test("the upload's EXIF and ICC are kept by default and dropped with stripMetadata=true", async () => {
    const photo = await exifJpeg();
    assert.ok((await sharp(photo).metadata()).exif, 'the fixture carries EXIF');
    const kept = await sharp((await outputOf('lowlight', { method: 'gamma', format: 'jpeg' }, photo, 'image/jpeg')).bytes).metadata();
    assert.ok(kept.exif?.includes(Buffer.from('TestCam')), 'EXIF kept');
    assert.equal(kept.orientation, 1);
    assert.ok(kept.icc, 'ICC kept');
    const stripped = await sharp(
      (await outputOf('lowlight', { method: 'gamma', format: 'jpeg', stripMetadata: 'true' }, photo, 'image/jpeg')).bytes,
    ).metadata();
    assert.equal(stripped.exif, undefined);
    assert.equal(stripped.icc, undefined);
    assert.deepEqual([stripped.width, stripped.height], [4, 8], 'the orientation is applied to the pixels');
  });

  test('bad output values, and options a task does not take, are a 400 naming the field', async () => {
    const input = await fixturePng(16, 16, 1);
    const cases: Array<[string, Record<string, string>, string, RegExp]> = [
      ['lowlight', { method: 'gamma', format: 'gif' }, 'format', /expected one of png, jpeg, webp, tiff, avif, bmp/],
      ['lowlight', { method: 'gamma', quality: '0' }, 'quality', /expected an integer from 1 to 100/],
      ['lowlight', { method: 'gamma', stripMetadata: 'maybe' }, 'stripMetadata', /expected true or false/],
      // faces writes no picture: no output options.
      ['faces', { format: 'jpeg' }, 'format', /Unknown option "format" for task faces/],
    ];
    for (const [task, fields, field, message] of cases) {
      const { status, body } = await post(task, fields, input);
      assert.equal(status, 400, `${task} ${JSON.stringify(fields)}`);
      assert.equal(body.error!.code, 'E_INVALID_OPTION');
      assert.equal(body.error!.field, field);
      assert.match(body.error!.message, message);
    }
  });

  test('GET /api/v1/tasks: the output options on every task that writes a picture (stripMetadata where it comes from one picture)', async () => {
    const { tasks } = (await (await fetch(`${base}/api/v1/tasks`)).json()) as {
      tasks: Array<{ name: string; options: { properties: Record<string, { title: string; enum?: string[] }> } | null }>;
    };
    const keys = (name: string) => Object.keys(tasks.find((t) => t.name === name)!.options!.properties);
    for (const name of ['auto', 'derain', 'lowlight', 'upscale', 'watermark-embed']) {
      for (const k of ['format', 'quality', 'stripMetadata']) assert.ok(keys(name).includes(k), `${name} takes ${k}`);
    }
    assert.ok(keys('hdr').includes('format') && !keys('hdr').includes('stripMetadata'), 'hdr: format, no stripMetadata (merged from several inputs)');
    for (const name of ['faces', 'forensics', 'vsr', 'watermark-verify', 'liveness']) assert.equal(keys(name).includes('format'), false, name);
    const format = tasks.find((t) => t.name === 'lowlight')!.options!.properties.format!;
    assert.equal(format.title, 'Output format');
    assert.deepEqual(format.enum, ['png', 'jpeg', 'webp', 'tiff', 'avif', 'bmp']);
  });
});

describe('API: the picture named by its format, and the job progress', () => {
  test('GET /api/v1/tasks and OpenAPI name the picture by its format (output.png by default), each with its type, matching what a job writes', async () => {
    type Listed = { name: string; role: string; default?: string; byFormat?: Record<string, { name: string; type: string }> };
    const { tasks } = (await (await fetch(`${base}/api/v1/tasks`)).json()) as { tasks: Array<{ name: string; outputs?: Listed[] }> };
    const picture = tasks.find((t) => t.name === 'dehaze')!.outputs!.find((o) => o.role === 'output')!;
    assert.equal(picture.name, 'output.<ext>');
    assert.equal(picture.default, 'output.png');
    assert.deepEqual(picture.byFormat!.jpeg, { name: 'output.jpg', type: 'image/jpeg' });
    assert.deepEqual(picture.byFormat!.tiff, { name: 'output.tif', type: 'image/tiff' });
    const webp = await outputOf('dehaze', { method: 'prior', format: 'webp' }, await fixturePng(40, 32, 2));
    assert.deepEqual({ name: webp.name, type: webp.contentType }, picture.byFormat!.webp);
    // Maps keep their fixed names.
    assert.ok(tasks.find((t) => t.name === 'dehaze')!.outputs!.some((o) => o.name === 'transmission.png' && !o.byFormat));
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, { post?: { description: string } }> };
    const describe = doc.paths['/api/v1/jobs/dehaze']!.post!.description;
    assert.match(describe, /output\.png \(output\.jpg, output\.webp, output\.tif, output\.avif, output\.bmp as format says\)/);
  });

  test("a job's progress over SSE: the whole job's fraction never goes back, 1 only when done, stages decode .. encode", async () => {
    const { body } = await post('lowlight', { method: 'gamma' }, await fixturePng(64, 48, 4));
    const events = await readEvents(`${base}/api/v1/jobs/${body.id}/events`);
    const placed = events.filter((e) => e.progress);
    assert.equal(placed.at(-1)!.state, 'done');
    const fractions = placed.map((e) => e.progress!.fraction);
    for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i]! >= fractions[i - 1]!, `went back: ${fractions.join(' ')}`);
    assert.equal(fractions.at(-1), 1);
    assert.ok(
      fractions.slice(0, -1).every((f) => f < 1),
      `1 before the end: ${fractions.join(' ')}`,
    );
    const stages = [...new Set(placed.map((e) => e.progress!.stage))];
    assert.equal(stages.at(-1), 'done');
    assert.ok(stages.length >= 3, `the stages on the way are shown: ${stages.join(', ')}`);
    // The SSE stream may skip fast events (one per status change), but what it shows is in order.
    const order = ['decode', 'lowlight gamma', 'encode', 'done'];
    assert.deepEqual(
      stages,
      order.filter((s) => stages.includes(s)),
    );
  });
});

describe('API: precision', () => {
  test('precision=int8 where no int8 network exists is a 400 naming the field, before any model runs', async () => {
    const input = await fixturePng(16, 16, 1);
    // lowlight has no int8 recipe: it does not take the option at all.
    const none = await post('lowlight', { method: 'gamma', precision: 'int8' }, input);
    assert.equal(none.status, 400);
    assert.equal(none.body.error!.code, 'E_INVALID_OPTION');
    assert.equal(none.body.error!.field, 'precision');
    // derain takes it, but only for MAXIM: its fast student has no recipe.
    const fast = await post('derain', { model: 'fast', precision: 'int8' }, input);
    assert.equal(fast.status, 400);
    assert.equal(fast.body.error!.code, 'E_INVALID_OPTION');
    assert.equal(fast.body.error!.field, 'precision');
    assert.match(fast.body.error!.message, /expected "fp32" for derain-fast/);
    const bad = await post('derain', { precision: 'fp16' }, input);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error!.message, /"precision": expected one of fp32, int8/);
  });

  test('derain precision=int8 with MAXIM is accepted (parsed; the network is not run here)', async () => {
    const { getTask, parseTaskOptions } = await import('../src/server/index.js');
    const parsed = parseTaskOptions(getTask('derain')!, { precision: 'int8' });
    assert.ok(parsed.ok);
    assert.equal(parsed.options.precision, 'int8');
    assert.equal(parsed.options.model, 'maxim');
  });
});

describe('batch: --format and --set format=... are the same thing', () => {
  test('the same files either way; both given must agree; refused on a task without a picture', async () => {
    const inDir = join(dir, 'batch-in');
    mkdirSync(inDir);
    writeFileSync(join(inDir, 'a.png'), await fixturePng(24, 16, 2));
    const quiet = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      const byFlag = join(dir, 'by-flag');
      const bySet = join(dir, 'by-set');
      assert.equal(await runBatch('lowlight', inDir, { output: byFlag, set: ['method=gamma'], format: 'jpeg', quality: 70, stripMetadata: true }), 0);
      assert.equal(await runBatch('lowlight', inDir, { output: bySet, set: ['method=gamma', 'format=jpeg', 'quality=70', 'stripMetadata=true'] }), 0);
      assert.ok(readdirSync(byFlag).includes('a.jpg'));
      assert.ok(readFileSync(join(byFlag, 'a.jpg')).equals(readFileSync(join(bySet, 'a.jpg'))), 'identical bytes');
      assert.equal((await sharp(join(bySet, 'a.jpg')).metadata()).format, 'jpeg');
      // Both ways at once: fine when they agree, refused when they do not.
      assert.equal(await runBatch('lowlight', inDir, { output: join(dir, 'both'), set: ['method=gamma', 'format=jpeg'], format: 'jpeg' }), 0);
      await assert.rejects(
        runBatch('lowlight', inDir, { output: join(dir, 'clash'), set: ['method=gamma', 'format=png'], format: 'jpeg' }),
        (e: Error & { code?: string }) => e.code === 'E_INVALID_OPTION' && /"--format": expected the same value as --set format=png/.test(e.message),
      );
      await assert.rejects(
        runBatch('faces', inDir, { output: join(dir, 'faces'), set: [], format: 'jpeg' }),
        (e: Error & { code?: string }) => e.code === 'E_INVALID_OPTION' && /"--format": expected absent: task faces writes no picture/.test(e.message),
      );
    } finally {
      process.stderr.write = quiet;
    }
  });
});
