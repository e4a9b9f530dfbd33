/**
 * The registry entries of the later capabilities through the HTTP API: an HDR bracket uploaded as
 * `files` (radiance .hdr that reads back, LDR, ghost mask), watermark embed then verify with the
 * right and a wrong key, and liveness refusing a picture (it takes video).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createImage, encodeImage } from '../src/core/image/index.js';
import { mulberry32 } from '../src/core/random.js';
import { decodeRgbe } from '../src/restore/hdr/index.js';
import { startServer, type RunningServer } from '../src/server/index.js';
import { cleanScene } from './helpers/scenes.js';
import { form, waitJob } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-server-tasks-'));
let server: RunningServer;
let base: string;

before(async () => {
  server = await startServer({
    port: 0,
    storeDir: join(dir, 'store'),
    concurrency: 1,
    limits: { maxUploadBytes: 2 * 1024 * 1024, maxPixels: 1_000_000, maxVideoSeconds: 2 },
  });
  base = server.url;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A textured scene, sRGB-ish, at exposure `t` (radiance x t through a gamma-2.2 curve, clipped). */
function exposure(t: number, w = 64, h = 48): Promise<Buffer> {
  const rand = mulberry32(3);
  const radiance = Float32Array.from({ length: w * h * 3 }, (_, i) => 0.02 + 0.6 * ((i % (w * 3)) / (w * 3)) ** 2 + 0.05 * rand());
  const img = createImage(w, h, 3);
  for (let i = 0; i < radiance.length; i++) img.data[i] = Math.min(1, (radiance[i] * t) ** (1 / 2.2));
  return encodeImage(img, 'png');
}

/** A photo-like, non-periodic scene (a periodic texture would confuse the watermark's autocorrelation sync). */
const textured = (w: number, h: number): Promise<Buffer> => encodeImage(cleanScene(9, w, h), 'png');

async function post(task: string, fd: FormData): Promise<{ status: number; body: { id?: string; error?: { code: string; message: string; field?: string } } }> {
  const res = await fetch(`${base}/api/v1/jobs/${task}`, { method: 'POST', body: fd });
  return { status: res.status, body: (await res.json()) as never };
}

describe('server: later capabilities', () => {
  test('hdr: a bracket uploaded as `files` gives a radiance .hdr that reads back, an LDR and a ghost mask', async () => {
    const fd = new FormData();
    for (const t of [0.25, 1, 4]) fd.append('files', new Blob([await exposure(t)], { type: 'image/png' }), `t${t}.png`);
    fd.append('times', '1/4,1,4');
    const { status, body } = await post('hdr', fd);
    assert.equal(status, 202, JSON.stringify(body));
    const job = await waitJob(base, body.id!, 120_000);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const names = job.result!.files.map((f) => f.name).sort();
    assert.deepEqual(names, ['ghost-mask.png', 'output.png', 'radiance.hdr']);
    const hdr = Buffer.from(await (await fetch(`${base}${job.result!.files.find((f) => f.name === 'radiance.hdr')!.url}`)).arrayBuffer());
    const radiance = decodeRgbe(hdr);
    assert.equal(radiance.width, 64);
    assert.equal(radiance.height, 48);
  });

  test('hdr: a single file is refused with the reason', async () => {
    const fd = new FormData();
    fd.append('files', new Blob([await exposure(1)], { type: 'image/png' }), 'one.png');
    const { status, body } = await post('hdr', fd);
    if (status === 202) {
      const job = await waitJob(base, body.id!, 60_000);
      assert.equal(job.state, 'failed');
      assert.match(JSON.stringify(job.error), /2 to 9|exposures/);
    } else {
      assert.ok(status >= 400 && status < 500, `status ${status}`);
      assert.match(body.error!.message, /2|files|exposure/);
    }
  });

  test('watermark: embed, then verify with the right key (authentic, source) and a wrong one (none)', async () => {
    const { status, body } = await post('watermark-embed', form({ key: 'k-123', source: 'cam7', identity: 'none' }, { bytes: await textured(256, 192) }));
    assert.equal(status, 202, JSON.stringify(body));
    const job = await waitJob(base, body.id!, 120_000);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const marked = Buffer.from(await (await fetch(`${base}${job.result!.files.find((f) => f.name === 'output.png')!.url}`)).arrayBuffer());

    const right = await post('watermark-verify', form({ key: 'k-123', identity: 'none' }, { bytes: marked }));
    const rj = await waitJob(base, right.body.id!, 120_000);
    assert.equal(rj.state, 'done', JSON.stringify(rj.error));
    assert.equal(rj.result!.verdict, 'authentic');
    assert.equal(rj.result!.source, 'cam7');

    const wrong = await post('watermark-verify', form({ key: 'not-it', identity: 'none' }, { bytes: marked }));
    const wj = await waitJob(base, wrong.body.id!, 120_000);
    assert.equal(wj.result!.verdict, 'none');
  });

  test('watermark-embed to JPEG: the mark is read back from the job output as encoded (same bit error rate as verify reads)', async () => {
    const { status, body } = await post(
      'watermark-embed',
      form({ key: 'k-123', source: 'cam8', identity: 'none', format: 'jpeg', quality: '60' }, { bytes: await textured(256, 192) }),
    );
    assert.equal(status, 202, JSON.stringify(body));
    const job = await waitJob(base, body.id!, 120_000);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    const readBack = job.result!.readBack as { decoded: boolean; bitErrorRate: number };
    assert.equal(readBack.decoded, true);
    const marked = Buffer.from(await (await fetch(`${base}${job.result!.files.find((f) => f.name === 'output.jpg')!.url}`)).arrayBuffer());
    const v = await post('watermark-verify', form({ key: 'k-123', identity: 'none' }, { bytes: marked }));
    const vj = await waitJob(base, v.body.id!, 120_000);
    assert.equal(vj.result!.verdict, 'authentic');
    assert.equal(vj.result!.bitErrorRate, readBack.bitErrorRate);
  });

  test('watermark-embed: a bad source id is a 400 naming the field', async () => {
    const { status, body } = await post('watermark-embed', form({ key: 'k', source: 'WAY-TOO-LONG' }, { bytes: await textured(256, 192) }));
    assert.equal(status, 400);
    assert.equal(body.error!.field, 'source');
  });

  test('liveness takes video: a picture is refused with 4xx', async () => {
    const { status } = await post('liveness', form({}, { bytes: await textured(64, 64) }));
    assert.ok(status >= 400 && status < 500, `status ${status}`);
  });
});
