/**
 * `clearsight watermark embed|verify` end to end (spawned like a user would), in whole-image
 * mode (--identity none) so that no face model loads: a few seconds in all.
 */
import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { makeTexturePhoto as makePhoto } from './helpers/scenes.js';

let dir: string;

/** The CLI with no watermark secret inherited from the environment unless a test sets one. */
const run = (args: readonly string[], env: Record<string, string> = {}) => runCli(args, { CLEARSIGHT_WATERMARK_KEY: '', ...env });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cs-wm-cli-'));
  await makePhoto(join(dir, 'photo.png'));
  await writeFile(join(dir, 'key.txt'), 'tr0ub4dor&3\n');
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('clearsight watermark', () => {
  it('embed (key file) then verify (env var) round trip, --json shape', async () => {
    const out = join(dir, 'marked.png');
    const e = await run([
      'watermark',
      'embed',
      join(dir, 'photo.png'),
      '-o',
      out,
      '--source',
      'cli-1',
      '--key-file',
      join(dir, 'key.txt'),
      '--identity',
      'none',
      '--json',
    ]);
    assert.equal(e.code, 0, e.stderr);
    const summary = JSON.parse(e.stdout) as { mode: string; psnr: number; source: string; selfCheck: { verdict: string } };
    assert.equal(summary.mode, 'whole-image');
    assert.equal(summary.selfCheck.verdict, 'authentic', 'the mark reads back from what was written');
    assert.doesNotMatch(e.stderr, /does not read back/);
    assert.equal(summary.source, 'cli-1');
    assert.ok(summary.psnr >= 40, `PSNR ${summary.psnr}`);
    const v = await run(['watermark', 'verify', out, '--json'], { CLEARSIGHT_WATERMARK_KEY: 'tr0ub4dor&3' });
    assert.equal(v.code, 0, v.stderr);
    const r = JSON.parse(v.stdout) as Record<string, unknown>;
    assert.equal(r.verdict, 'authentic');
    assert.equal(r.source, 'cli-1');
    assert.equal(typeof r.bitErrorRate, 'number');
    assert.equal(typeof r.confidence, 'number');
    // A JPEG re-save, a wrong key, the human-readable line.
    const jpg = join(dir, 'marked.jpg');
    await sharp(out).jpeg({ quality: 70 }).toFile(jpg);
    const wrong = await run(['watermark', 'verify', jpg, '--key', 'tr0ub4dor&4']);
    assert.equal(wrong.code, 10, wrong.stderr); // verdict none: exit 10 (issue 21 point 4)
    assert.match(wrong.stdout, /NONE: no watermark under this key/);
    // Marking the marked picture again with the same key is refused (exit 3), and writes nothing; --force does it.
    const again = join(dir, 'again.png');
    const refused = await run(['watermark', 'embed', out, '-o', again, '--source', 'cli-2', '--key-file', join(dir, 'key.txt'), '--identity', 'none']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /already carries a watermark under this key \(source "cli-1"\).*--force.*\[E_ALREADY_MARKED\]/);
    await assert.rejects(stat(again));
    const forced = await run([
      'watermark',
      'embed',
      out,
      '-o',
      again,
      '--source',
      'cli-2',
      '--key-file',
      join(dir, 'key.txt'),
      '--identity',
      'none',
      '--force',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
  });

  it('a mark that does not read back from the marked picture itself is said at once (the bundled rain example at the default strength)', async () => {
    const out = join(dir, 'rain-marked.png');
    const e = await run(['watermark', 'embed', 'examples/rain.png', '-o', out, '--source', 'cli-3', '--key', 'k', '--identity', 'none', '--json']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /warning: the watermark does not read back from the marked picture itself \(verify says none\).*lower --target-psnr/);
    const summary = JSON.parse(e.stdout) as { selfCheck: { verdict: string } };
    assert.equal(summary.selfCheck.verdict, 'none');
    // What verify then says, for the record: the same.
    assert.equal((await run(['watermark', 'verify', out, '--key', 'k', '--identity', 'none'])).code, 10);
  });

  it('usage errors: no key, bad source; nothing left behind', async () => {
    const photo = join(dir, 'photo.png');
    const noKey = await run(['watermark', 'verify', photo]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /CLEARSIGHT_WATERMARK_KEY.*\[E_INVALID_OPTION\]/);
    const badSource = await run(['watermark', 'embed', photo, '-o', join(dir, 'x.png'), '--source', 'Way-Too-Long', '--key', 'k', '--identity', 'none']);
    assert.equal(badSource.code, 2);
    assert.match(badSource.stderr, /source.*\[E_INVALID_OPTION\]/);
    await assert.rejects(stat(join(dir, 'x.png')));
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('.')),
      [],
    );
  });
});
