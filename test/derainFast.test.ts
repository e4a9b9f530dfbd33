/**
 * derain's model choice: the fast student trained here (models/derain-fast) or MAXIM. The library
 * maps and validates `model`; the committed student really removes rain from a scene it never saw
 * (rendered by the test helpers' screen-blend streaks, not the synthesizeRain model it trained on);
 * the CLI's --model and the server task's option reach it and bad values are refused.
 * Only the student runs here (MAXIM would take minutes on CI).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClearsightError, decodeImage, derain, getModelCard, ImageModel, psnr, writeImage } from '../src/index.js';
import { DEFAULT_DERAIN_MODEL, DERAIN_MODELS, derainModelName, type DerainModel } from '../src/restore/index.js';
import { getTask } from '../src/server/registry.js';
import { runCli } from './helpers/cli.js';
import { addRain, cleanScene } from './helpers/scenes.js';

const invalidModel = (err: unknown): boolean => err instanceof ClearsightError && err.code === 'E_INVALID_OPTION' && /"model"/.test(err.message);

describe('derain model choice', () => {
  it('maps fast and maxim to their registry names; the default is MAXIM', () => {
    assert.deepEqual([...DERAIN_MODELS], ['fast', 'maxim']);
    assert.equal(derainModelName({ model: 'fast' }), 'derain-fast');
    assert.equal(derainModelName({ model: 'maxim' }), 'maxim-deraining');
    assert.equal(DEFAULT_DERAIN_MODEL, 'maxim');
    assert.equal(derainModelName(), 'maxim-deraining');
    assert.equal(getModelCard('derain-fast').task, 'derain');
  });

  it('rejects an unknown model, naming the option, before loading anything', () => {
    const img = cleanScene(1, 32, 32);
    assert.throws(() => derainModelName({ model: 'tiny' as DerainModel }), invalidModel);
    // Like dehaze's method: checked synchronously, before a model is loaded.
    assert.throws(() => derain(img, { model: 'tiny' as DerainModel }), invalidModel);
  });

  it('the fast student removes unseen rain: PSNR against the clean scene rises by several dB, size and range kept', async () => {
    const clean = cleanScene(7, 192, 128);
    const rainy = addRain(clean, 11, 700);
    const out = await derain(rainy, { model: 'fast', threads: 1 });
    assert.equal(out.width, 192);
    assert.equal(out.height, 128);
    assert.ok(out.data.every((v) => v >= 0 && v <= 1));
    const before = psnr(rainy, clean, { channel: 'y' });
    const after = psnr(out, clean, { channel: 'y' });
    assert.ok(after > before + 3, `PSNR-Y ${before.toFixed(2)} -> ${after.toFixed(2)} dB`);
  });

  it('a loaded student can be passed as the model and gives the same result', async () => {
    const rainy = addRain(cleanScene(3, 64, 64), 5, 200);
    const model = await ImageModel.load('derain-fast', { threads: 1 });
    try {
      const a = await derain(rainy, { model });
      const b = await derain(rainy, { model: 'fast', threads: 1 });
      assert.deepEqual(a.data, b.data);
    } finally {
      await model.dispose();
    }
  });

  it('server task: model defaults to MAXIM, accepts fast, refuses others', () => {
    const options = getTask('derain')!.options;
    assert.equal(options.parse({}).model, 'maxim');
    assert.equal(options.parse({ model: 'fast' }).model, 'fast');
    assert.equal(options.safeParse({ model: 'tiny' }).success, false);
  });
});

describe('clearsight derain --model', () => {
  let dir: string;
  let input: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-derain-fast-'));
    input = join(dir, 'rainy.png');
    await writeImage(input, addRain(cleanScene(2, 96, 64), 9, 300));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('--model fast runs the student and says so in the JSON summary', async () => {
    const out = join(dir, 'fast.png');
    const r = await runCli(['derain', input, '-o', out, '--model', 'fast', '--json'], { CLEARSIGHT_CACHE_DIR: join(dir, 'cache') });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(summary.model, getModelCard('derain-fast').id);
    assert.equal(summary.derainModel, 'fast');
    const img = (await decodeImage(out)).image;
    assert.equal(img.width, 96);
    assert.equal(img.height, 64);
  });

  it('--model with an unknown name fails, names the option and writes nothing', async () => {
    const out = join(dir, 'bad.png');
    const r = await runCli(['derain', input, '-o', out, '--model', 'tiny'], { CLEARSIGHT_CACHE_DIR: join(dir, 'cache') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid option "--model": expected one of fast, maxim, got "tiny"/);
    await assert.rejects(stat(out));
  });
});
