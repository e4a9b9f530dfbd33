/**
 * CLI methods and maps: `dehaze --method prior --maps`, `lowlight --method gamma --maps`, and the
 * option checks of --method, --maps and --veil. Every case spawns `node bin/clearsight.js` as a
 * user would (sources through tsx, CLEARSIGHT_CLI_FROM=src, like cli.test.ts). No network runs:
 * the physical methods need none, and the rejected invocations fail before any model is loaded.
 * The library verbs behind --method are checked directly at the end (the fusion with a stand-in
 * expert, a fake ImageModel).
 */
import assert from 'node:assert/strict';
import { ROOT, runCli } from './helpers/cli.js';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import {
  ClearsightError,
  decodeImage,
  dehaze,
  dehazePrior,
  enhanceLowLightGamma,
  getModelCard,
  lowlight,
  lowlightFuse,
  type ImageModel,
  type RawImage,
} from '../src/index.js';
import { FUSE_BRIGHT, FUSE_DARK } from '../src/restore/index.js';

let dir: string;
let input: string;
const W = 72;
const H = 48;

/** The command as a user runs it, with this file's model cache. */
const run = (args: readonly string[]) => runCli(args, { CLEARSIGHT_CACHE_DIR: join(dir, 'cache') });

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** A dim, hazy-looking RGB picture: colour blocks under a grey veil, darker at the bottom. */
async function makeInput(path: string): Promise<void> {
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const t = 0.3 + (0.6 * y) / H;
      const block = (Math.floor(x / 6) + Math.floor(y / 6)) % 3;
      for (let c = 0; c < 3; c++) {
        const j = (c === block ? 0.8 : 0.1) * (0.6 + 0.4 * Math.sin(x + y));
        px[i + c] = Math.round(255 * 0.5 * (t * j + (1 - t) * 0.7));
      }
    }
  }
  await sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(path);
}

async function size(path: string): Promise<[number | undefined, number | undefined, number | undefined]> {
  const m = await sharp(path).metadata();
  return [m.width, m.height, m.channels];
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearsight-methods-'));
  await mkdir(join(dir, 'cache'));
  input = join(dir, 'in.png');
  await makeInput(input);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clearsight methods with maps', { concurrency: 2 }, () => {
  it('dehaze --method prior --maps: output, transmission.png, dark-channel.png, atmospheric-light.json', async () => {
    const out = join(dir, 'dehazed.png');
    const maps = join(dir, 'dehaze-maps', 'nested'); // created, parents included
    const r = await run(['dehaze', input, '-o', out, '--method', 'prior', '--maps', maps, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const summary = JSON.parse(r.stdout) as Record<string, unknown> & { maps: { dir: string; files: string[] } };
    assert.equal(summary.task, 'dehaze');
    assert.equal(summary.method, 'prior');
    assert.equal(summary.model, null);
    assert.equal(summary.maps.dir, maps);
    const files = ['transmission.png', 'dark-channel.png', 'atmospheric-light.json'];
    assert.deepEqual(
      summary.maps.files,
      files.map((f) => join(maps, f)),
    );
    assert.deepEqual(await size(out), [W, H, 3]);
    assert.deepEqual(await size(join(maps, 'transmission.png')), [W, H, 1]);
    assert.deepEqual(await size(join(maps, 'dark-channel.png')), [W, H, 1]);
    const a = JSON.parse(await readFile(join(maps, 'atmospheric-light.json'), 'utf8')) as { atmosphericLight: number[] };
    assert.equal(a.atmosphericLight.length, 3);
    assert.ok(a.atmosphericLight.every((v) => v > 0 && v <= 1));
    assert.deepEqual(
      (await readdir(maps)).filter((f) => f.startsWith('.')),
      [],
      'no temp files',
    );
  });

  it('lowlight --method gamma --maps: illumination.png, gamma.png and the Taylor error', async () => {
    const out = join(dir, 'bright.png');
    const maps = join(dir, 'lowlight-maps');
    const r = await run(['lowlight', input, '-o', out, '--method', 'gamma', '--maps', maps, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(summary.method, 'gamma');
    assert.equal(summary.model, null);
    assert.deepEqual(await size(out), [W, H, 3]);
    assert.deepEqual(await size(join(maps, 'illumination.png')), [W, H, 1]);
    assert.deepEqual(await size(join(maps, 'gamma.png')), [W, H, 1]);
    const g = JSON.parse(await readFile(join(maps, 'gamma.json'), 'utf8')) as {
      maxTaylorError: number;
      alpha: number;
      gammaRange: number[];
      gammaPng: { scale: number };
    };
    assert.ok(g.maxTaylorError >= 0 && g.maxTaylorError <= 1 / 255, `Taylor error ${g.maxTaylorError}`);
    assert.ok(g.alpha > 1, 'a dim image gets alpha > 1');
    assert.ok(g.gammaRange[0]! < 1, 'dark regions get gamma < 1');
    // gamma.png holds gamma / scale.
    const { image, meta } = await decodeImage(join(maps, 'gamma.png'));
    assert.equal(meta.bitDepth, 16);
    const min = image.data.reduce((m, v) => Math.min(m, v), 1);
    assert.ok(Math.abs(min * g.gammaPng.scale - g.gammaRange[0]!) < 1e-3, `gamma.png min ${min} x ${g.gammaPng.scale} vs ${g.gammaRange[0]}`);
  });

  it('text mode names the method and the maps written', async () => {
    const out = join(dir, 'dehazed-text.png');
    const maps = join(dir, 'text-maps');
    const r = await run(['dehaze', input, '-o', out, '--method', 'prior', '--maps', maps]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /dehaze \(prior\).*maps in .*transmission\.png/);
  });
});

describe('clearsight maps are never overwritten without --force', () => {
  it('an existing map file stops the run before any work (exit 4), --force replaces it', async () => {
    const maps = join(dir, 'kept-maps');
    await mkdir(maps);
    const precious = Buffer.from('precious bytes, not an image');
    await writeFile(join(maps, 'illumination.png'), precious);
    const out = join(dir, 'kept.png');
    const r = await run(['lowlight', input, '-o', out, '--method', 'gamma', '--maps', maps]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /illumination\.png" already exists; use --force.*\[E_OUTPUT_EXISTS\]/);
    assert.doesNotMatch(r.stderr, /reading input/, 'fails before reading the input');
    assert.equal(await exists(out), false, 'no output either');
    assert.deepEqual(await readFile(join(maps, 'illumination.png')), precious);
    assert.deepEqual(await readdir(maps), ['illumination.png'], 'nothing else written');

    const forced = await run(['lowlight', input, '-o', out, '--method', 'gamma', '--maps', maps, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await size(join(maps, 'illumination.png')), [W, H, 1]);
    assert.deepEqual((await readdir(maps)).sort(), ['gamma.json', 'gamma.png', 'illumination.png']);
  });

  it('a --maps path that is a file is refused (exit 4)', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const r = await run(['dehaze', input, '-o', join(dir, 'nd.png'), '--method', 'prior', '--maps', file]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /is not a directory \[E_OUTPUT_UNWRITABLE\]/);
  });
});

describe('clearsight method options: exit 2 naming the option, no output', { concurrency: 3 }, () => {
  const cases: Array<{ args: string[]; message: RegExp }> = [
    { args: ['dehaze', '--method', 'foo'], message: /Invalid option "--method": expected one of learned, prior, auto, got "foo" \[E_INVALID_OPTION\]/ },
    {
      args: ['lowlight', '--method', 'foo'],
      message: /Invalid option "--method": expected one of auto, learned, gamma, fuse, iagc, got "foo" \[E_INVALID_OPTION\]/,
    },
    { args: ['dehaze', '--maps', 'm'], message: /Invalid option "--maps": expected --method prior .*got "--method learned"/ },
    { args: ['lowlight', '--method', 'learned', '--maps', 'm'], message: /Invalid option "--maps": expected --method gamma, fuse or iagc/ },
    { args: ['lowlight', '--maps', 'm'], message: /Invalid option "--maps": expected --method gamma, fuse or iagc/ },
    { args: ['derain', '--veil', '1.5'], message: /Invalid option "--veil": expected a number from 0 to 1, got "1\.5"/ },
    { args: ['derain', '--veil', 'lots'], message: /Invalid option "--veil".*got "lots"/ },
    { args: ['upscale', '--maps', 'm'], message: /unknown option '--maps'/ },
  ];
  for (const [i, c] of cases.entries()) {
    it(c.args.join(' '), async () => {
      const out = join(dir, `bad-${i}.png`);
      const [command, ...rest] = c.args;
      const r = await run([command!, input, '-o', out, ...rest]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.equal(await exists(out), false);
      assert.equal(await exists(join(ROOT, 'm')), false, 'no maps directory created');
    });
  }

  it('--help shows --method and --maps', async () => {
    for (const cmd of ['dehaze', 'lowlight', 'derain']) {
      const r = await run([cmd, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes('--maps <dir>'), `${cmd} --help shows --maps`);
      assert.ok(r.stdout.includes(cmd === 'derain' ? '--veil <strength>' : '--method <method>'));
    }
  });
});

/** A stand-in for the MAXIM enhancement model: predict() applies `fn` to each (padded) tile. */
function fakeExpert(fn: (v: number) => number): ImageModel {
  return {
    card: getModelCard('maxim-enhancement'),
    predict: async (tile: RawImage) => ({ ...tile, data: Float32Array.from(tile.data, fn) }),
    dispose: async () => undefined,
  } as unknown as ImageModel;
}

describe('library verbs behind --method', () => {
  let img: RawImage;
  before(async () => {
    img = (await decodeImage(input)).image;
  });

  it('dehaze({ method: "prior" }) and lowlight({ method: "gamma" }) are the physical functions', async () => {
    assert.deepEqual((await dehaze(img, { method: 'prior' })).data, dehazePrior(img).image.data);
    assert.deepEqual((await lowlight(img, { method: 'gamma' })).data, enhanceLowLightGamma(img).image.data);
  });

  it('fuse = w expert + (1 - w) gamma, w from the illumination map', async () => {
    const model = fakeExpert((v) => Math.min(1, 3 * v));
    const f = await lowlightFuse(img, { model });
    const g = enhanceLowLightGamma(img);
    assert.deepEqual(f.gamma.image.data, g.image.data);
    let mixed = 0;
    for (let i = 0; i < W * H; i++) {
      const L = g.illumination[i]!;
      const w = Math.min(1, Math.max(0, (FUSE_BRIGHT - L) / (FUSE_BRIGHT - FUSE_DARK)));
      assert.ok(Math.abs(f.weight[i]! - w) < 1e-6);
      if (w > 0 && w < 1) mixed++;
      for (let c = 0; c < 3; c++) {
        const k = i * 3 + c;
        const expected = w * Math.min(1, 3 * img.data[k]!) + (1 - w) * g.image.data[k]!;
        assert.ok(Math.abs(f.image.data[k]! - expected) < 1e-5);
      }
    }
    assert.ok(mixed > 0, 'the dim test image has pixels where both contribute');
    assert.deepEqual((await lowlight(img, { method: 'fuse', model })).data, f.image.data);
  });

  it('an unknown method is rejected, naming the option', () => {
    const named = (err: unknown) => err instanceof ClearsightError && err.code === 'E_INVALID_OPTION' && /"method"/.test(err.message);
    assert.throws(() => dehaze(img, { method: 'foo' as 'prior' }), named);
    assert.throws(() => lowlight(img, { method: 'foo' as 'gamma' }), named);
  });
});
