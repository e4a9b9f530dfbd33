/**
 * Issue 21 point 7 through the HTTP API: the caller's job list, cancel (a job stopped stays
 * listed as failed E_CANCELLED; a finished one is returned as it is), derain's veil and maps
 * (the CLI's --veil and --maps) as options and extra output files, and the faces task.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/server/index.js';
import { fixturePng, form, waitJob, type ApiJob } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-server-jobs-'));
let server: RunningServer;
let base: string;
const auth = { authorization: 'Bearer t0ken' };

before(async () => {
  server = await startServer({ port: 0, storeDir: join(dir, 'store'), concurrency: 1, token: 't0ken' });
  base = server.url;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function submit(task: string, fields: Record<string, string>, bytes: Buffer): Promise<string> {
  const res = await fetch(`${base}/api/v1/jobs/${task}`, { method: 'POST', body: form(fields, { bytes, name: 'in.png', type: 'image/png' }), headers: auth });
  const body = (await res.json()) as { id: string; error?: unknown };
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

const list = async (headers: Record<string, string> = auth) => fetch(`${base}/api/v1/jobs`, { headers });

describe('jobs: list and cancel', () => {
  test("the list shows the caller's jobs newest first; without the token it is 401", async () => {
    const a = await submit('lowlight', { method: 'gamma' }, await fixturePng(24, 16, 1));
    const b = await submit('lowlight', { method: 'gamma' }, await fixturePng(16, 24, 2));
    await waitJob(base, a, 30_000, auth);
    await waitJob(base, b, 30_000, auth);
    const res = await list();
    assert.equal(res.status, 200);
    const { jobs } = (await res.json()) as { jobs: Array<ApiJob & { createdAt: string; inputs: string[] }> };
    assert.deepEqual(
      jobs.slice(0, 2).map((j) => j.id),
      [b, a],
    );
    assert.equal(jobs[0]!.state, 'done');
    assert.deepEqual(jobs[0]!.inputs, ['in.png']);
    assert.ok(jobs[0]!.result!.files.some((f) => f.name === 'output.png'));
    assert.equal((await list({})).status, 401);
  });

  test('cancel stops a job that has not finished: failed E_CANCELLED, still listed; a finished job is left as it is', async () => {
    // MAXIM on a small picture: seconds of model loading, so the cancel lands while queued or running.
    const id = await submit('lowlight', { method: 'learned' }, await fixturePng(64, 64, 3));
    const res = await fetch(`${base}/api/v1/jobs/${id}/cancel`, { method: 'POST', headers: auth });
    assert.equal(res.status, 200);
    const job = (await res.json()) as ApiJob;
    assert.equal(job.state, 'failed');
    assert.equal(job.error!.code, 'E_CANCELLED');
    const { jobs } = (await (await list()).json()) as { jobs: ApiJob[] };
    assert.equal(jobs.find((j) => j.id === id)?.state, 'failed');
    // Cancelling again, or a finished job, changes nothing.
    const again = (await (await fetch(`${base}/api/v1/jobs/${id}/cancel`, { method: 'POST', headers: auth })).json()) as ApiJob;
    assert.equal(again.error!.code, 'E_CANCELLED');
    const done = jobs.find((j) => j.state === 'done')!;
    const kept = (await (await fetch(`${base}/api/v1/jobs/${done.id}/cancel`, { method: 'POST', headers: auth })).json()) as ApiJob;
    assert.equal(kept.state, 'done');
    assert.equal((await fetch(`${base}/api/v1/jobs/00000000-0000-4000-8000-000000000000/cancel`, { method: 'POST', headers: auth })).status, 404);
    // The worker pool is still serving after the kill.
    const next = await submit('lowlight', { method: 'gamma' }, await fixturePng(16, 16, 4));
    assert.equal((await waitJob(base, next, 30_000, auth)).state, 'done');
  });
});

describe('every option reaches the API', () => {
  test('derain: veil and the maps (rain layer, veil transmission as files; atmospheric light in the result)', async () => {
    const id = await submit('derain', { model: 'fast', veil: '0.5' }, await fixturePng(48, 32, 5));
    const job = await waitJob(base, id, 60_000, auth);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.deepEqual(job.result!.files.map((f) => f.name).sort(), ['output.png', 'rain-layer.png', 'transmission.png']);
    assert.equal(job.result!.method, 'learned+veil');
    assert.equal(job.result!.veil, 0.5);
    const light = (job.result!.maps as Record<string, { veilStrength: number; atmosphericLight: number[] }>)['atmospheric-light']!;
    assert.equal(light.veilStrength, 0.5);
    assert.equal(light.atmosphericLight.length, 3);
  });
});

describe("extra inputs: liveness takes the enrolled photo in its own field (the CLI's --enrolled)", () => {
  test('the job gets the clip, then the photo marked `enrolled`; a second photo or a non-image is refused', async () => {
    const { readFileSync } = await import('node:fs');
    const { buildServer, ContentStore } = await import('../src/server/index.js');
    const { fixtureClip, idleQueue } = await import('./helpers/server.js');
    const specs: Array<{ task: string; inputs: Array<{ kind: string; field?: string }> }> = [];
    const queue = {
      ...idleQueue(),
      add: async (spec: (typeof specs)[number]) => {
        specs.push(spec);
        return '00000000-0000-4000-8000-000000000001';
      },
    };
    const app = await buildServer({ queue, store: await new ContentStore(join(dir, 'store-extra')).init() });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const clip = readFileSync(await fixtureClip(join(dir, 'clip.mp4'), 32, 32, 6));
      const photo = await fixturePng(32, 32, 9);
      const send = async (extra: Array<[string, Buffer, string]>) => {
        const fd = new FormData();
        fd.append('file', new Blob([clip], { type: 'video/mp4' }), 'clip.mp4');
        for (const [field, bytes, name] of extra) fd.append(field, new Blob([bytes]), name);
        const res = await fetch(`${url}/api/v1/jobs/liveness`, { method: 'POST', body: fd });
        return { status: res.status, body: (await res.json()) as { error?: { code: string; field?: string } } };
      };
      const ok = await send([['enrolled', photo, 'me.png']]);
      assert.equal(ok.status, 202, JSON.stringify(ok.body));
      assert.deepEqual(
        specs[0]!.inputs.map((i) => [i.kind, i.field]),
        [
          ['video', undefined],
          ['image', 'enrolled'],
        ],
      );
      const twice = await send([
        ['enrolled', photo, 'a.png'],
        ['enrolled', photo, 'b.png'],
      ]);
      assert.equal(twice.status, 400);
      assert.equal(twice.body.error!.field, 'enrolled');
      const text = await send([['enrolled', Buffer.from('not a photo'), 'me.png']]);
      assert.equal(text.status, 415);
    } finally {
      await app.close();
    }
  });
});
