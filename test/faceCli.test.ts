/**
 * `clearsight faces` and `clearsight liveness` through the real launcher: JSON shape on a face
 * tile from the @vladmandic/human package's sample picture, and exit codes for bad inputs.
 */
import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';

let dir: string;
let facePng: string;

const run = runCli;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'clearsight-face-cli-'));
  const req = createRequire(import.meta.url);
  const samples = path.join(path.dirname(req.resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
  facePng = path.join(dir, 'face.png');
  await sharp(samples).extract({ left: 326, top: 0, width: 210, height: 158 }).png().toFile(facePng);
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('clearsight faces / liveness', () => {
  it('faces --json prints one face with box, score, quality and keypoints; liveness exits 3 on a non-video and 2 on a bad --seconds', async () => {
    const text = path.join(dir, 'text.mp4');
    await writeFile(text, 'not a video');
    // in parallel: each run starts a supervisor and a worker process
    const [r, bad, usage] = await Promise.all([
      run(['faces', facePng, '--json']),
      run(['liveness', text, '--json']),
      run(['liveness', text, '--seconds', '0']),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { width: number; faces: Array<{ box: { width: number }; score: number; quality: number; keypoints: number[] }> };
    assert.equal(out.width, 210);
    assert.equal(out.faces.length, 1);
    assert.ok(out.faces[0]!.score > 0.7 && out.faces[0]!.box.width > 20);
    assert.equal(out.faces[0]!.keypoints.length, 12);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /E_INPUT_UNSUPPORTED/);
    assert.equal(usage.code, 2, usage.stderr);
  });
  it('liveness --enrolled with a photo that holds no face exits 3 with E_NO_FACE before reading the clip', async () => {
    const grey = path.join(dir, 'grey.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .png()
      .toFile(grey);
    const r = await run(['liveness', path.join(dir, 'missing.mp4'), '--enrolled', grey, '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /E_NO_FACE/);
    assert.equal(r.stdout, '');
  });
});
