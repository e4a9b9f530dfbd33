/**
 * Messages users meet (issue 21 point 6): a video given to a picture command, option errors in
 * our words (no zod text, no "got undefined"), `restore x.png`, --device cuda without a GPU
 * (falls back with a warning, no onnxruntime log line; cuda! fails), and Ctrl-C after some
 * outputs were written (it says so, instead of "no output written").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { abortMessage } from '../src/cli/supervisor.js';
import { invalidOption } from '../src/core/errors.js';
import { createImage } from '../src/core/image/index.js';
import { rgbToYuv, VideoWriter } from '../src/core/video/index.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';

let dir: string;
let png: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'clearsight-messages-'));
  png = path.join(dir, 'small.png');
  await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 30, g: 25, b: 20 } } })
    .png()
    .toFile(png);
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('messages', () => {
  it('an MP4 given to derain says it is a video and names the video commands', async () => {
    const clip = path.join(dir, 'clip.mp4');
    const writer = await VideoWriter.open(clip, { width: 32, height: 24, fps: 10 });
    for (let i = 0; i < 3; i++) writer.write(rgbToYuv(createImage(32, 24, 3, new Float32Array(32 * 24 * 3).fill(0.5))));
    await writer.finish();
    const r = await runCli(['derain', clip, '-o', path.join(dir, 'x.png')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /it is a video \(MP4\), not a picture; videos go to `clearsight vsr`.*liveness.*forensics analyze.*\[E_INPUT_UNSUPPORTED\]/);
    assert.doesNotMatch(r.stderr, /AVIF/);
  });

  it('a picture given to vsr says it is a still image and names the picture commands', async () => {
    const r = await runCli(['vsr', png, '-o', path.join(dir, 'x.mp4')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /is a still image .*not a video; pictures go to the picture commands: `clearsight upscale`.*\[E_INPUT_UNSUPPORTED\]/);
  });

  it('damaged pictures given to the video and forensics commands: named by their file, called damaged, not "a still image"', async () => {
    const fake = path.join(dir, 'fake.jpg');
    await writeFile(fake, 'not a picture\n');
    const cut = path.join(dir, 'cut.jpg');
    await writeFile(cut, (await sharp(png).jpeg().toBuffer()).subarray(0, 120));
    for (const args of [
      ['liveness', fake],
      ['forensics', 'analyze', fake],
      ['forensics', 'analyze', cut],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /E_INPUT_CORRUPT/, args.join(' '));
      assert.match(r.stderr, new RegExp(`"[^"]*${path.basename(args.at(-1)!).replace('.', '\\.')}"`), `${args.join(' ')} names the file: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /still image|input buffer/, args.join(' '));
    }
  });
  it('a folder given where one picture is written: "it is a directory", whatever the command', async () => {
    const folder = path.join(dir, 'a-folder');
    await mkdir(folder, { recursive: true });
    for (const args of [
      ['faces', png, '--annotate', folder],
      ['watermark', 'embed', png, '--source', 'a', '--key', 'k', '--identity', 'none', '-o', folder],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Cannot write output "[^"]*a-folder": it is a directory; give a file name \[E_OUTPUT_UNWRITABLE\]/, args.join(' '));
    }
    assert.deepEqual(await readdir(folder), []);
  });
  it('batch option errors: a missing option is named with what it takes, a bad choice lists the choices and what was given; no zod text', async () => {
    const inDir = path.join(dir, 'in');
    await mkdir(inDir, { recursive: true });
    await writeFile(path.join(inDir, 'a.png'), await sharp(png).toBuffer());
    const missing = await runCli(['batch', 'watermark-verify', inDir, '-o', path.join(dir, 'out1')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Option "key" is required: secret, a text of 1 to 1024 characters/);
    const bad = await runCli(['batch', 'lowlight', inDir, '-o', path.join(dir, 'out2'), '--set', 'method=bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid option "method": expected one of auto, learned, gamma, fuse, iagc, got "bogus"/);
    const small = await runCli(['batch', 'lowlight', inDir, '-o', path.join(dir, 'out3'), '--set', 'maxTile=3']);
    assert.match(small.stderr, /Invalid option "maxTile": expected an integer from 16 to 8192, got "3"/);
    for (const r of [missing, bad, small]) assert.doesNotMatch(r.stderr, /Invalid input|received undefined|Invalid option: |got undefined/);
  });

  it('a missing value reads "got nothing", not "got undefined"', () => {
    assert.match(invalidOption('--output', 'a file', undefined).message, /got nothing$/);
  });

  it('restore x.png points at restore auto', async () => {
    const r = await runCli(['restore', png, '-o', path.join(dir, 'y.png')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /use `clearsight restore auto .*small\.png -o restored\.png`/);
  });

  const cudaInstalled = existsSync(
    path.join(
      path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')),
      '..',
      'bin',
      'napi-v6',
      'linux',
      'x64',
      'libonnxruntime_providers_cuda.so',
    ),
  );
  it('--device cuda without CUDA: runs on the CPU with one warning and no onnxruntime log; cuda! fails', {
    skip: cudaInstalled && 'CUDA provider installed',
  }, async () => {
    const out = path.join(dir, 'cuda.png');
    const r = await runCli(['lowlight', png, '-o', out, '--method', 'iagc', '--device', 'cuda']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /clearsight: warning: the CUDA device is not available .*running on the CPU; use --device cuda! to fail instead/);
    assert.doesNotMatch(r.stderr, /onnxruntime_src|provider_bridge|\[E:onnxruntime/);
    assert.ok(existsSync(out));
    const strict = await runCli(['lowlight', png, '-o', path.join(dir, 'strict.png'), '--method', 'iagc', '--device', 'cuda!']);
    assert.equal(strict.code, 5, strict.stderr);
    assert.match(strict.stderr, /onnxruntime could not create a session on cuda.*\[E_RUNTIME\]/);
    assert.doesNotMatch(strict.stderr, /onnxruntime_src|provider_bridge|\[E:onnxruntime/);
    assert.equal(existsSync(path.join(dir, 'strict.png')), false);
  });

  it('the interrupt message counts what was finished', () => {
    assert.equal(abortMessage('SIGINT'), 'interrupted (Ctrl-C); no output written');
    assert.equal(abortMessage('SIGINT', 2), 'interrupted (Ctrl-C); 2 inputs finished before it (outputs kept), nothing half-written');
    assert.equal(abortMessage('SIGTERM', 1), 'terminated (SIGTERM); 1 input finished before it (outputs kept), nothing half-written');
  });

  it('batch Ctrl-C after two files: says they are kept (not "no output written")', async () => {
    const inDir = path.join(dir, 'many');
    await mkdir(inDir, { recursive: true });
    // Big enough that each file takes a moment (the gamma method runs on the JS thread).
    const big = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 30, g: 25, b: 20 } } })
      .png()
      .toBuffer();
    for (let i = 1; i <= 5; i++) await writeFile(path.join(inDir, `p${i}.png`), big);
    const out = path.join(dir, 'many-out');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'batch', 'lowlight', inDir, '-o', out, '--set', 'method=gamma'], {
        cwd: ROOT,
        env: { ...process.env, CLEARSIGHT_CLI_FROM: 'src', CLEARSIGHT_DEBUG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stderr = '';
      let sent = false;
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (!sent && stderr.includes('[3/5]')) {
          sent = true;
          process.kill(-child.pid!, 'SIGINT'); // like a terminal's Ctrl-C: the whole group
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted \(Ctrl-C\); 2 inputs finished before it \(outputs kept\), nothing half-written/);
    assert.doesNotMatch(r.stderr, /no output written/);
    const files = await readdir(out);
    assert.ok(files.includes('p1.png') && files.includes('p2.png'), files.join(', '));
  });
});
