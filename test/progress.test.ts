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
import {
  AUTO_STAGES,
  estimateEta,
  RESTORE_STAGES,
  trackJob,
  withEta,
  withJobProgress,
  type JobProgressEvent,
  type ProgressEvent,
} from '../src/core/progress.js';
import { getTask, parseTaskFields, stagesOf } from '../src/tasks/index.js';
import { encodeImage } from '../src/core/image/index.js';
import { writeFile } from 'node:fs/promises';
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
    assert.match(text, /upscaling \|[=-]+\| 10% \| 0\/1 tiles/);
    assert.doesNotMatch(text, /\/\? tiles/);
  });

  it('one bar for the whole job: its percentage climbs through the weighted stages and never goes back, with the ETA of the job', () => {
    let text = '';
    const tty = {
      isTTY: true,
      columns: 120,
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const reporter = createReporter('bar', 'deraining', tty);
    reporter.stage('decode');
    for (const e of [
      { stage: 'prepare model', done: 0, total: 1 },
      { stage: 'prepare model', done: 1, total: 1 },
      { stage: 'tiles', done: 0, total: 4 },
      { stage: 'tiles', done: 1, total: 4 },
      { stage: 'tiles', done: 2, total: 4 },
      { stage: 'tiles', done: 3, total: 4 },
    ])
      reporter.onProgress(e);
    reporter.stage('encode');
    reporter.stop();
    const percents = [...text.matchAll(/\| (\d+)% \|/g)].map((m) => Number(m[1]));
    assert.ok(percents.length >= 4, text);
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! >= percents[i - 1]!, `went back: ${percents.join(' ')}`);
    assert.ok(percents.includes(54), `half the tiles: 1 + 10 + 43 = 54 %: ${percents.join(' ')}`);
    assert.ok(percents.at(-1)! >= 97 && percents.at(-1)! < 100, `writing the output: ${percents.join(' ')}`);
    assert.match(text, /writing output/);
  });
});

/** Each fraction at least the one before it, and 1 nowhere but the last. */
function assertMonotoneToOne(events: readonly JobProgressEvent[]): void {
  for (let i = 1; i < events.length; i++)
    assert.ok(
      events[i]!.fraction >= events[i - 1]!.fraction,
      `fraction went back at ${events[i]!.stage}: ${events[i - 1]!.fraction} -> ${events[i]!.fraction}`,
    );
  for (const e of events.slice(0, -1)) assert.ok(e.fraction < 1, `${e.stage} ${e.done}/${e.total} already at 1`);
  assert.equal(events.at(-1)!.fraction, 1);
}

describe('whole-job progress (stages with their weights)', () => {
  const feed = (plan: Parameters<typeof trackJob>[0], events: ProgressEvent[], now?: () => number) => {
    const job = trackJob(plan, now);
    return [...events.map((e) => job.place(e)), job.finish()];
  };
  const e = (stage: string, done: number, total: number): ProgressEvent => ({ stage, done, total });

  it('a restoration: each stage moves the bar by its weight; the tiles by their count', () => {
    const out = feed(RESTORE_STAGES, [
      e('decode', 0, 1),
      e('decode', 1, 1),
      e('prepare model', 0, 1),
      e('prepare model', 1, 1),
      e('tiles', 0, 4),
      e('tiles', 2, 4),
      e('tiles', 4, 4),
      e('encode', 0, 1),
      e('encode', 1, 1),
    ]);
    const f = out.map((x) => Number(x.fraction.toFixed(4)));
    assert.deepEqual(f, [0, 0.01, 0.01, 0.11, 0.11, 0.54, 0.97, 0.97, 0.999, 1]);
    assertMonotoneToOne(out);
  });

  it('a first-run conversion fills most of its model stage; a model prepared among the tiles holds the bar', () => {
    const out = feed(RESTORE_STAGES, [
      e('prepare model', 0, 1),
      e('convert model', 0, 1),
      e('convert model', 1, 1),
      e('prepare model', 1, 1),
      e('tiles', 0, 2),
      e('tiles', 1, 2),
      e('prepare model', 0, 1),
      e('prepare model', 1, 1),
      e('tiles', 2, 2),
    ]);
    // No decode event: its weight is spread over the stages ahead (prepare model 0.1/0.99 of the whole).
    assert.equal(out[2]!.fraction.toFixed(4), ((0.9 * 0.1) / 0.99).toFixed(4));
    assert.equal(out[6]!.fraction, out[5]!.fraction, 'an earlier stage again does not move the bar');
    assertMonotoneToOne(out);
  });

  it('a method without a network skips the model stage: no jump, the work covers its weight too', () => {
    const out = feed(RESTORE_STAGES, [e('decode', 1, 1), e('dehaze prior', 0, 4), e('dehaze prior', 1, 4), e('encode', 1, 1)]);
    assert.equal(out[1]!.fraction, 0.01);
    // The work stage now spans (1 - 0.01) * 0.86 / 0.89 of the whole.
    assert.equal(out[2]!.fraction.toFixed(4), (0.01 + (0.99 * 0.86) / 0.89 / 4).toFixed(4));
    assertMonotoneToOne(out);
  });

  it('restore auto: the analysis, then each expert a step of equal share, its own stages inside', () => {
    const out = feed(AUTO_STAGES, [
      e('decode', 1, 1),
      e('analyze', 0, 1),
      e('analyze', 1, 1),
      e('plan', 0, 2),
      e('derain:prepare model', 1, 1),
      e('derain:tiles', 1, 2),
      e('derain:tiles', 2, 2),
      e('plan', 1, 2),
      e('dehaze:prepare model', 1, 1),
      e('dehaze:tiles', 1, 1),
      e('plan', 2, 2),
      e('encode', 1, 1),
    ]);
    assert.equal(out[2]!.fraction.toFixed(4), '0.0500');
    // Half of the first step (its model 0.1 and half of its tiles 0.45) of two: 0.05 + 0.92 * 0.55 / 2.
    assert.equal(out[5]!.fraction.toFixed(4), (0.05 + (0.92 * 0.55) / 2).toFixed(4));
    assert.equal(out[7]!.fraction.toFixed(4), (0.05 + 0.92 / 2).toFixed(4));
    assertMonotoneToOne(out);
  });

  it('ETA: the stage from its own rate; the whole job from that rate over the weight still ahead', () => {
    let t = 0;
    const job = trackJob(RESTORE_STAGES, () => t);
    job.place(e('decode', 1, 1));
    job.place(e('prepare model', 1, 1));
    const first = job.place(e('tiles', 0, 4));
    assert.equal(first.etaSeconds, undefined, 'nothing done in the stage yet: no ETA');
    t = 10_000;
    const x = job.place(e('tiles', 1, 4));
    assert.equal(x.etaSeconds, 30);
    // 10 s for a quarter of 0.86: the 1 - 0.325 still ahead at that rate.
    assert.equal(x.totalEtaSeconds, Math.round((10 * (1 - 0.11 - 0.86 / 4)) / (0.86 / 4)));
  });

  it('a real job: upscale (ESRGAN slim) through the task table, fresh cache (the conversion announced), every stage placed, monotone, 1 only at the end', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'clearsight-job-progress-'));
    try {
      const picture = path.join(dir, 'in.png');
      await writeFile(
        picture,
        await encodeImage(
          createImage(
            40,
            28,
            3,
            new Float32Array(40 * 28 * 3).map((_, i) => (i % 7) / 7),
          ),
          'png',
        ),
      );
      const task = getTask('upscale')!;
      const parsed = parseTaskFields(task, { scale: '2', size: 'slim', maxTile: '24' });
      const events: JobProgressEvent[] = [];
      const job = trackJob(stagesOf('upscale'));
      const before = process.env.CLEARSIGHT_CACHE_DIR;
      process.env.CLEARSIGHT_CACHE_DIR = dir; // a fresh cache: the conversion happens and is placed too
      await task.run([{ path: picture, kind: 'image' }], parsed.options as never, {
        maxPixels: 1e7,
        threads: 1,
        cache: new Map(),
        scratchDir: dir,
        output: parsed.output,
        onProgress: (ev) => events.push(job.place(ev)),
      });
      if (before === undefined) delete process.env.CLEARSIGHT_CACHE_DIR;
      else process.env.CLEARSIGHT_CACHE_DIR = before;
      events.push(job.finish());
      assert.ok(
        events.some((x) => x.stage === 'convert model'),
        'the first-run conversion is announced',
      );
      const stages = [...new Set(events.map((x) => x.stage))];
      assert.deepEqual(
        stages.filter((s) => s !== 'convert model'),
        ['decode', 'prepare model', 'tiles', 'encode', 'done'],
      );
      assert.ok(events.filter((x) => x.stage === 'tiles').length >= 3, 'several tiles, each placed');
      assertMonotoneToOne(events);
      const tiles = events.filter((x) => x.stage === 'tiles');
      assert.ok(
        tiles[0]!.fraction <= 0.12 && tiles.at(-1)!.fraction >= 0.96,
        `the tiles span their weight: ${tiles[0]!.fraction} .. ${tiles.at(-1)!.fraction}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('withJobProgress passes each event on, placed', () => {
    const seen: JobProgressEvent[] = [];
    const on = withJobProgress(RESTORE_STAGES, (x) => seen.push(x));
    on(e('decode', 1, 1));
    assert.deepEqual(seen, [{ stage: 'decode', done: 1, total: 1, fraction: 0.01 }]);
  });
});
