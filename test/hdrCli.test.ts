/**
 * `clearsight hdr` end to end: spawns `node bin/clearsight.js hdr ...` on a tiny generated bracket
 * (three PNGs of one synthetic scene at 1/4, 1 and 4 units of exposure) and checks the files, the
 * JSON summary, and that nothing is overwritten or half-written.
 */
import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../src/index.js';
import { decodeRgbe } from '../src/restore/index.js';

let dir: string;
let inputs: string[];

/**
 * Spawns the CLI. `supervised`: as a user runs it (launcher + supervised worker); otherwise the
 * command runs in the spawned process itself (CLEARSIGHT_CLI_INPROCESS=1), half the start-up cost.
 */
function run(args: readonly string[], supervised = false) {
  return runCli(args, { CLEARSIGHT_CLI_INPROCESS: supervised ? '' : '1' });
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearsight-hdr-'));
  const w = 48;
  const h = 32;
  inputs = [];
  for (const [k, t] of [0.25, 1, 4].entries()) {
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const E = Math.exp((x / w - 0.5) * 5 + Math.sin(y / 3)); // ~0.05..20
        for (let c = 0; c < 3; c++) {
          const X = E * t * (1 - 0.2 * c);
          px[(y * w + x) * 3 + c] = Math.round((255 * X ** 0.6) / (X ** 0.6 + 1));
        }
      }
    }
    const p = join(dir, `e${k}.png`);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(p);
    inputs.push(p);
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clearsight hdr', () => {
  it('writes .hdr, an LDR preview and the mask, with a JSON summary', async () => {
    const out = join(dir, 'out.hdr');
    const ldr = join(dir, 'out.jpg');
    const mask = join(dir, 'mask.png');
    const r = await run(['hdr', ...inputs, '-o', out, '--ldr', ldr, '--mask', mask, '--times', '1/4,1,4', '--json'], true);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { width: number; times: number[]; timesSource: string; reference: number; ldrMethod: string };
    assert.equal(summary.width, 48);
    assert.deepEqual(summary.times, [0.25, 1, 4]);
    assert.equal(summary.timesSource, 'times');
    assert.equal(summary.reference, 1);
    assert.equal(summary.ldrMethod, 'reinhard');
    const rad = decodeRgbe(await readFile(out));
    assert.equal(rad.width, 48);
    assert.equal(rad.height, 32);
    // Radiance grows left to right like the scene (x term: e^5 across).
    const row = 16 * 48 * 3 + 1;
    assert.ok(rad.data[row + 45 * 3]! / rad.data[row + 2 * 3]! > 20);
    assert.equal((await decodeImage(ldr)).meta.format, 'jpeg');
    assert.equal((await decodeImage(mask)).image.width, 48);
  });

  it('refuses to overwrite without --force and leaves the files as they were', async () => {
    const out = join(dir, 'keep.hdr');
    const ldr = join(dir, 'keep.png');
    await writeFile(ldr, 'precious');
    const r = await run(['hdr', ...inputs, '-o', out, '--ldr', ldr, '--ev', '-2,0,2']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /already exists.*E_OUTPUT_EXISTS/);
    assert.equal(await readFile(ldr, 'utf8'), 'precious');
    assert.equal(await exists(out), false, 'no .hdr written when another output is refused');
    const forced = await run(['hdr', ...inputs, '-o', out, '--ldr', ldr, '--ev', '-2,0,2', '--fusion', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await decodeImage(ldr)).meta.format, 'png');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('.')),
      [],
    );
  });

  it('explains bad brackets: no times, count mismatch', async () => {
    const out = join(dir, 'bad.hdr');
    const noTimes = await run(['hdr', ...inputs, '-o', out]);
    assert.equal(noTimes.code, 2);
    assert.match(noTimes.stderr, /No exposure time in the EXIF.*--times/);
    const mismatch = await run(['hdr', ...inputs, '-o', out, '--times', '1/4,1']);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /Invalid option "--times": 2 values given for 3 exposures/);
    // The flag the user typed is named (not the library's "ev"), before any picture is read.
    const evMismatch = await run(['hdr', ...inputs, '-o', out, '--ev', '-2,0']);
    assert.equal(evMismatch.code, 2);
    assert.match(evMismatch.stderr, /Invalid option "--ev": 2 values given for 3 exposures; give one per file, in order/);
    assert.doesNotMatch(evMismatch.stderr, /reading input/);
    assert.equal(await exists(out), false);
  });
});
