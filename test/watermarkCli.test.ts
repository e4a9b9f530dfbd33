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

  it('the default strength verifies on the bundled rain example (strengthened to read back); a floor it cannot meet is refused, writing nothing', async () => {
    const out = join(dir, 'rain-marked.png');
    const e = await run(['watermark', 'embed', 'examples/rain.png', '-o', out, '--source', 'cli-3', '--key', 'k', '--identity', 'none', '--json']);
    assert.equal(e.code, 0, e.stderr);
    const summary = JSON.parse(e.stdout) as {
      psnr: number;
      targetPsnr: number;
      requestedPsnr: number;
      readBack: { decoded: boolean; tries: number };
      selfCheck: { verdict: string };
    };
    assert.equal(summary.selfCheck.verdict, 'authentic', e.stderr);
    assert.equal(summary.requestedPsnr, 41);
    assert.ok(summary.targetPsnr < 41 && summary.psnr >= 34.8, `strengthened to ${summary.targetPsnr} dB, PSNR ${summary.psnr}`);
    assert.equal(summary.readBack.decoded, true);
    assert.equal((await run(['watermark', 'verify', out, '--key', 'k', '--identity', 'none'])).code, 0);
    // The text says it was strengthened.
    const text = await run(['watermark', 'embed', 'examples/rain.png', '-o', join(dir, 'rain-2.png'), '--source', 'cli-3', '--key', 'k', '--identity', 'none']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /strengthened from 41 dB to read back/);
    // A floor at the target: refused, exit 3, nothing written.
    const weakOut = join(dir, 'rain-weak.png');
    const weak = await run([
      'watermark',
      'embed',
      'examples/rain.png',
      '-o',
      weakOut,
      '--source',
      'cli-3',
      '--key',
      'k',
      '--identity',
      'none',
      '--min-psnr',
      '41',
    ]);
    assert.equal(weak.code, 3, weak.stderr);
    assert.match(weak.stderr, /does not read back from the marked picture even at 41 dB.*--allow-weak.*\[E_WATERMARK_WEAK\]/);
    await assert.rejects(stat(weakOut));
    // --allow-weak writes it, with the warning and the JSON saying so.
    const allowed = await run([
      'watermark',
      'embed',
      'examples/rain.png',
      '-o',
      weakOut,
      '--source',
      'cli-3',
      '--key',
      'k',
      '--identity',
      'none',
      '--min-psnr',
      '41',
      '--allow-weak',
      '--json',
    ]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /warning: the watermark does not read back from the marked picture itself \(verify says none\)/);
    assert.equal((JSON.parse(allowed.stdout) as { readBack: { decoded: boolean } }).readBack.decoded, false);
  });

  it('a lossy output is read back as encoded: JPEG q60 of the texture verifies', async () => {
    const out = join(dir, 'marked-q60.jpg');
    const e = await run([
      'watermark',
      'embed',
      join(dir, 'photo.png'),
      '-o',
      out,
      '--source',
      'cli-4',
      '--key',
      'k',
      '--identity',
      'none',
      '--quality',
      '60',
      '--json',
    ]);
    assert.equal(e.code, 0, e.stderr);
    const summary = JSON.parse(e.stdout) as { readBack: { decoded: boolean; bitErrorRate: number }; selfCheck: { verdict: string; bitErrorRate: number } };
    assert.equal(summary.readBack.decoded, true);
    // The library's read-back and the self-check both read the JPEG: the same bit error rate.
    assert.equal(summary.selfCheck.bitErrorRate, summary.readBack.bitErrorRate);
    const v = await run(['watermark', 'verify', out, '--key', 'k', '--identity', 'none', '--json']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal((JSON.parse(v.stdout) as { bitErrorRate: number }).bitErrorRate, summary.readBack.bitErrorRate);
  });

  it('--identity auto does not bind a false "face" (rain-clean.png: 17 px): whole-image mode, said in text and JSON, and verify says AUTHENTIC', async () => {
    const out = join(dir, 'clean-marked.png');
    const e = await run(['watermark', 'embed', 'examples/rain-clean.png', '-o', out, '--source', 'cli-5', '--key', 'k', '--json']);
    assert.equal(e.code, 0, e.stderr);
    const summary = JSON.parse(e.stdout) as {
      mode: string;
      faceBox?: unknown;
      identitySkipped?: { reason: string; quality: number };
      selfCheck: { verdict: string };
    };
    assert.equal(summary.mode, 'whole-image');
    assert.equal(summary.faceBox, undefined);
    assert.match(summary.identitySkipped?.reason ?? '', /too small to bind \(1\d px/);
    assert.ok(summary.identitySkipped!.quality < 0.5);
    assert.equal(summary.selfCheck.verdict, 'authentic');
    assert.doesNotMatch(e.stderr, /warning/);
    const text = await run(['watermark', 'embed', 'examples/rain-clean.png', '-o', join(dir, 'clean-2.png'), '--source', 'cli-5', '--key', 'k']);
    assert.match(text.stdout, /whole-image mode \(not bound to a face: the face found is too small to bind/);
    const v = await run(['watermark', 'verify', out, '--key', 'k']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /AUTHENTIC/);
    // --identity face refuses it: no usable face.
    const face = await run([
      'watermark',
      'embed',
      'examples/rain-clean.png',
      '-o',
      join(dir, 'clean-3.png'),
      '--source',
      'cli-5',
      '--key',
      'k',
      '--identity',
      'face',
    ]);
    assert.equal(face.code, 3);
    assert.match(face.stderr, /No usable face found .*too small to bind.*\[E_NO_FACE\]/);
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
