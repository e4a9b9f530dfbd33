/**
 * Honest progress (issue 21 point 5): the total of tiles is known before the first tile (a
 * one-tile job reads 0/1, not 0/?), a model conversion is announced ('convert model', only on a
 * cache miss), the ETA arithmetic, and the vsr progress line with its total and ETA.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { vsrProgressText } from '../src/cli/commands/vsr.js';
import { createReporter } from '../src/cli/progress.js';
import { createImage } from '../src/core/image/index.js';
import { estimateEta, withEta, type ProgressEvent } from '../src/core/progress.js';
import { upscale } from '../src/restore/index.js';
import { FaceModels } from '../src/face/index.js';

let cacheDir: string;
before(async () => {
  cacheDir = await mkdtemp(path.join(tmpdir(), 'clearsight-progress-'));
});
after(async () => rm(cacheDir, { recursive: true, force: true }));

describe('progress events of a learned task', () => {
  it('first run: prepare model, convert model inside it, then tiles 0/1 before the only tile; second run: no conversion', async () => {
    const img = createImage(24, 16, 3, new Float32Array(24 * 16 * 3).fill(0.4));
    const first: ProgressEvent[] = [];
    await upscale(img, { scale: 2, size: 'slim', cacheDir, threads: 1, onProgress: (e) => first.push(e) });
    assert.deepEqual(
      first.map((e) => `${e.stage} ${e.done}/${e.total}`),
      ['prepare model 0/1', 'convert model 0/1', 'convert model 1/1', 'prepare model 1/1', 'tiles 0/1', 'tiles 1/1'],
    );
    const second: ProgressEvent[] = [];
    await upscale(img, { scale: 2, size: 'slim', cacheDir, threads: 1, onProgress: (e) => second.push(e) });
    assert.deepEqual(
      second.map((e) => `${e.stage} ${e.done}/${e.total}`),
      ['prepare model 0/1', 'prepare model 1/1', 'tiles 0/1', 'tiles 1/1'],
    );
  });
});

describe('progress events of the face models', () => {
  it('announce each network and, on the first run only, its conversion', async () => {
    const load = async () => {
      const events: string[] = [];
      const m = await FaceModels.load({ mesh: false, embed: false, cacheDir, onProgress: (e) => events.push(`${e.stage} ${e.done}/${e.total}`) });
      m.dispose();
      return events;
    };
    assert.deepEqual(await load(), ['prepare model 0/1', 'convert model 0/1', 'convert model 1/1', 'prepare model 1/1']);
    assert.deepEqual(await load(), ['prepare model 0/1', 'prepare model 1/1']);
  });
});

describe('ETA', () => {
  it('estimateEta: the rate so far times what is left; nothing while it cannot be known', () => {
    assert.equal(estimateEta(10, 2, 8), 30);
    assert.equal(estimateEta(10, 0, 8), undefined);
    assert.equal(estimateEta(10, 3, 0), undefined, 'total unknown');
    assert.equal(estimateEta(10, 8, 8), undefined, 'finished');
  });

  it('withEta times each stage from its first event', () => {
    let t = 0;
    const seen: ProgressEvent[] = [];
    const on = withEta(
      (e) => seen.push(e),
      () => t,
    );
    on({ stage: 'tiles', done: 0, total: 4 });
    t = 5000;
    on({ stage: 'tiles', done: 1, total: 4 });
    t = 6000;
    on({ stage: 'frames', done: 0, total: 10 });
    t = 8000;
    on({ stage: 'frames', done: 2, total: 10 });
    assert.deepEqual(seen, [
      { stage: 'tiles', done: 0, total: 4 },
      { stage: 'tiles', done: 1, total: 4, etaSeconds: 15 },
      { stage: 'frames', done: 0, total: 10 },
      { stage: 'frames', done: 2, total: 10, etaSeconds: 8 },
    ]);
  });

  it('vsr progress line: frames of the total and the ETA; "?" when the container does not say', () => {
    assert.equal(vsrProgressText(12, 240, 1.2, 0.4, 190), 'upscaling 12/240 frames | 1.20 fps | ETA 3:10 | 40.0% compute skipped');
    assert.equal(vsrProgressText(12, 0, 1.2, 0.4, undefined), 'upscaling 12/? frames | 1.20 fps | 40.0% compute skipped');
  });
});

describe('CLI bar', () => {
  it('a one-tile job shows 0/1 tiles after the model is ready, never 0/?', () => {
    let text = '';
    const tty = {
      isTTY: true,
      columns: 120,
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const reporter = createReporter('bar', 'upscaling', tty);
    for (const e of [
      { stage: 'prepare model', done: 0, total: 1 },
      { stage: 'convert model', done: 0, total: 1 },
      { stage: 'convert model', done: 1, total: 1 },
      { stage: 'prepare model', done: 1, total: 1 },
      { stage: 'tiles', done: 0, total: 1 },
    ])
      reporter.onProgress(e);
    reporter.stop();
    assert.match(text, /converting the model to ONNX \(first run only; cached after\)/);
    assert.match(text, /upscaling \|-+\| 0\/1 tiles/);
    assert.doesNotMatch(text, /\/\? tiles/);
  });
});
