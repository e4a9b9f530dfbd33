/**
 * `-` on the commands that read one file (issue 21 point 3): a picture piped into standard input
 * for faces, compare, watermark embed/verify and forensics analyze (a video too, for liveness and
 * forensics: spooled into a private temporary file); the picture output of watermark embed and
 * faces --annotate on standard output, with the text then on stderr. Spawned as a user would.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCliBytes } from './helpers/cli.js';
import { makeTexturePhoto } from './helpers/scenes.js';

const KEY = { CLEARSIGHT_WATERMARK_KEY: 'pipes-test-secret' };
let dir: string;
let photo: Buffer;
let man: Buffer;
let wall: Buffer;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'clearsight-pipes-'));
  await makeTexturePhoto(path.join(dir, 'photo.png'));
  photo = await readFile(path.join(dir, 'photo.png'));
  const samples = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
  man = await sharp(samples).extract({ left: 326, top: 0, width: 210, height: 158 }).png().toBuffer();
  wall = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 120, g: 110, b: 100 } } })
    .png()
    .toBuffer();
});
after(async () => rm(dir, { recursive: true, force: true }));

const isPng = (b: Buffer) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
const isJpeg = (b: Buffer) => b[0] === 0xff && b[1] === 0xd8;

describe('watermark through pipes', () => {
  it('embed - -o -: the marked picture alone on stdout (input format), summary on stderr; verify - reads it back AUTHENTIC (exit 0)', async () => {
    const e = await runCliBytes(['watermark', 'embed', '-', '-o', '-', '--source', 'pipe', '--identity', 'none'], { stdin: photo, env: KEY });
    assert.equal(e.code, 0, e.stderr);
    assert.ok(isPng(e.stdout), 'PNG like the input');
    assert.match(e.stderr, /standard input \(320x240\) -> standard output: watermark/);
    const meta = await sharp(e.stdout).metadata();
    assert.deepEqual([meta.width, meta.height], [320, 240]);

    const v = await runCliBytes(['watermark', 'verify', '-', '--identity', 'none', '--json'], { stdin: e.stdout, env: KEY });
    assert.equal(v.code, 0, v.stderr);
    const r = JSON.parse(v.stdout.toString()) as { verdict: string; source: string };
    assert.equal(r.verdict, 'authentic');
    assert.equal(r.source, 'pipe');
    // The unmarked picture through the same pipe: no watermark (exit 10).
    const none = await runCliBytes(['watermark', 'verify', '-', '--identity', 'none'], { stdin: photo, env: KEY });
    assert.equal(none.code, 10, none.stderr);
    assert.match(none.stdout.toString(), /^standard input: NONE/);
  });

  it('embed -o - --format jpeg writes JPEG; --json goes to stderr with the picture on stdout', async () => {
    const e = await runCliBytes(['watermark', 'embed', '-', '-o', '-', '--format', 'jpeg', '--source', 'pipe', '--identity', 'none', '--json'], {
      stdin: photo,
      env: KEY,
    });
    assert.equal(e.code, 0, e.stderr);
    assert.ok(isJpeg(e.stdout));
    assert.equal((JSON.parse(e.stderr.trim().split('\n').at(-1)!) as { output: string }).output, '-');
  });

  it('nothing piped in: refused, nothing written', async () => {
    const r = await runCliBytes(['watermark', 'verify', '-', '--identity', 'none'], { stdin: Buffer.alloc(0), env: KEY });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /standard input/);
    assert.equal(r.stdout.length, 0);
  });
});

describe('faces and compare through pipes', () => {
  it('faces - --annotate -: the drawn picture on stdout, the JSON on stderr naming "-"', async () => {
    const r = await runCliBytes(['faces', '-', '--json', '--annotate', '-'], { stdin: man });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(isPng(r.stdout));
    const json = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { input: string; faces: unknown[] };
    assert.equal(json.input, '-');
    assert.equal(json.faces.length, 1);
    // The drawing changed the picture (it is not the input passed through).
    const [a, b] = await Promise.all([sharp(man).raw().toBuffer(), sharp(r.stdout).removeAlpha().raw().toBuffer()]);
    assert.equal(a.length, b.length);
    assert.ok(!a.equals(b));
  });

  it('compare - <file>: the same face piped in and on disk is the same person (exit 0); - - is refused (exit 2)', async () => {
    const file = path.join(dir, 'man.png');
    await sharp(man).toFile(file);
    const same = await runCliBytes(['compare', '-', file, '--json'], { stdin: man });
    assert.equal(same.code, 0, same.stderr);
    const json = JSON.parse(same.stdout.toString()) as { similarity: number; a: string };
    assert.ok(json.similarity > 0.99, String(json.similarity));
    assert.equal(json.a, '-');
    const twice = await runCliBytes(['compare', '-', '-'], { stdin: man });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /<b>.*a file \(standard input is already <a>\)/);
    const noFace = await runCliBytes(['compare', '-', file], { stdin: wall });
    assert.equal(noFace.code, 3);
    assert.match(noFace.stderr, /No face found in standard input/);
  });
});

describe('forensics and liveness through pipes', () => {
  it('forensics analyze -: a picture without a face piped in gives "no conclusion" (exit 32); the report names "-"', async () => {
    const r = await runCliBytes(['forensics', 'analyze', '-', '--json'], { stdin: wall });
    assert.equal(r.code, 32, r.stderr);
    const report = JSON.parse(r.stdout.toString()) as { outcome: string; input: { path: string; sha256: string; kind: string } };
    assert.equal(report.outcome, 'no-face');
    assert.equal(report.input.path, '-');
    assert.equal(report.input.kind, 'image');
    assert.match(report.input.sha256, /^[0-9a-f]{64}$/);
  });

  it('liveness - --enrolled -: refused before any work (standard input is read once)', async () => {
    const r = await runCliBytes(['liveness', '-', '--enrolled', '-'], { stdin: wall });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--enrolled.*standard input is already <clip>/);
  });
});
