/**
 * `clearsight vsr` end to end: spawns bin/clearsight.js as a user would. One real ESRGAN-slim x2
 * run on a tiny generated clip (32x32, 6 frames), plus the non-video rejection.
 */
import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { probeVideo, VideoWriter } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-vsr-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const run = runCli;

test('clearsight vsr rejects non-video input with exit 3 and writes nothing', async () => {
  const txt = join(dir, 'notes.txt');
  writeFileSync(txt, 'hello\n'.repeat(100));
  const out = join(dir, 'out.mp4');
  const r = await run(['vsr', txt, '-o', out]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /E_INPUT_UNSUPPORTED/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('out.mp4')),
    [],
  );
});

test('clearsight vsr --json upscales a tiny clip with ESRGAN x2', async () => {
  const clip = join(dir, 'tiny.mp4');
  const w = await VideoWriter.open(clip, { width: 32, height: 32 });
  for (let t = 0; t < 6; t++) {
    const y = new Uint8Array(32 * 32).map((_, i) => 40 + ((((i % 32) + t) >> 2) % 4) * 40 + (i >> 7) * 8);
    w.write({ width: 32, height: 32, y, u: new Uint8Array(256).fill(128), v: new Uint8Array(256).fill(128) });
  }
  await w.finish();
  const out = join(dir, 'tiny_x2.mp4');
  const r = await run(['vsr', clip, '-o', out, '--scale', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { frames: number; skippedFraction: number; fps: number; width: number; height: number };
  assert.equal(summary.frames, 6);
  assert.equal(summary.width, 64);
  assert.ok(summary.skippedFraction >= 0 && summary.skippedFraction < 1);
  assert.ok(summary.fps > 0);
  const info = await probeVideo(out);
  assert.equal(info.width, 64);
  assert.equal(info.height, 64);
  assert.equal(info.frameCount, 6);
});
