/**
 * End-to-end tests of the `clearsight` command: every case spawns `node bin/clearsight.js` as a
 * user would, and checks the exit code, stdout/stderr and the files left behind.
 *
 * Real models run here: ESRGAN-slim x2 on a tiny image (well under a second) and MAXIM deraining
 * once on examples/rain.png (~10-25 s on 2 cores, the ONNX conversion included). Conversions are
 * cached in one temp CLEARSIGHT_CACHE_DIR shared by the whole file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, psnr } from '../src/index.js';
import { listTrainedCards } from '../src/core/models/trained.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'clearsight.js');
const RAIN = join(ROOT, 'examples', 'rain.png');
const RAIN_CLEAN = join(ROOT, 'examples', 'rain-clean.png');

let dir: string;
let cacheDir: string;
let tinyPng: string;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface RunOptions {
  /** Called with each stderr chunk and the child; for the interrupt tests. */
  onStderr?: (text: string, pid: number) => void;
  /** Own process group, so a signal can go to the whole group like a terminal's Ctrl-C. */
  detached?: boolean;
}

function run(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      // CLEARSIGHT_CLI_FROM=src: test the sources, never a stale dist/.
      env: { ...process.env, CLEARSIGHT_CACHE_DIR: cacheDir, CLEARSIGHT_CLI_FROM: 'src', CLEARSIGHT_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.detached ?? false,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr, child.pid!);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Files the run left in `dir` whose names start with `.` (atomic-write temp files). */
async function hiddenFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith('.'));
}

/** A PNG with a valid signature and IHDR claiming width x height (and an empty IDAT + IEND). */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.alloc(0)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** 24x16 RGBA: a colour ramp, opaque on the left half, alpha 64 on the right. */
async function makeTinyPng(path: string): Promise<void> {
  const w = 24;
  const h = 16;
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      px[i] = x * 10;
      px[i + 1] = y * 15;
      px[i + 2] = 128;
      px[i + 3] = x < w / 2 ? 255 : 64;
    }
  }
  await sharp(px, { raw: { width: w, height: h, channels: 4 } })
    .png()
    .toFile(path);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearsight-cli-'));
  cacheDir = join(dir, 'cache');
  await mkdir(cacheDir);
  tinyPng = join(dir, 'tiny.png');
  await makeTinyPng(tinyPng);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clearsight --help and models', () => {
  it('--help lists every command and the exit codes', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const cmd of ['derain', 'dehaze', 'lowlight', 'denoise', 'deblur', 'retouch', 'upscale', 'models']) {
      assert.match(r.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), `--help should list ${cmd}`);
    }
    assert.match(r.stdout, /Exit codes:/);
    assert.match(r.stdout, /130\s+interrupted/);
  });

  it('a command --help shows its options; --version prints the package version', async () => {
    const r = await run(['upscale', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const opt of ['--output', '--force', '--scale', '--size', '--tta', '--threads', '--device', '--max-tile', '--quality', '--json']) {
      assert.ok(r.stdout.includes(opt), `upscale --help should show ${opt}`);
    }
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = await run(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), pkg.version);
  });

  it('no command prints the help on stderr and exits 2', async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: clearsight/);
  });

  it('models --json lists every model card (19 restoration, 6 face networks, each network trained here and the two forensic heads that are data) with licence and I/O facts', async () => {
    const r = await run(['models', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const cards = JSON.parse(r.stdout) as Array<Record<string, unknown> & { io: Record<string, unknown> }>;
    const trained = listTrainedCards().length;
    assert.ok(trained >= 1, 'at least one model trained here is committed');
    const dataModels = 2; // models/forensics-sbi.json and forensics-sbi-backbone.json: forensic heads that are data
    assert.equal(cards.length, 25 + trained + dataModels);
    assert.equal(cards.filter((c) => c.package === 'clearsight').length, trained + dataModels);
    assert.ok(cards.some((c) => c.id === 'forensics/sbi-logistic@1.0.0' && c.file === 'models/forensics-sbi.json'));
    assert.ok(cards.some((c) => c.id === 'forensics/sbi-backbone@1.0.0' && c.file === 'models/forensics-sbi-backbone.json'));
    assert.equal(cards.filter((c) => c.task === 'face' && c.network).length, 6);
    for (const c of cards) {
      assert.match(String(c.id), /^[a-z]+\/[a-z0-9-]+@\d+\.\d+\.\d+$/);
      assert.ok(c.task && c.package && c.licence, `card ${String(c.id)} lacks task/package/licence`);
      assert.ok(Array.isArray(c.io.range) && typeof c.io.divisibility === 'number' && typeof c.io.maxTile === 'number' && typeof c.io.minTile === 'number');
    }
    assert.equal(new Set(cards.map((c) => c.id)).size, 25 + trained + dataModels);
    const text = await run(['models']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /derain\/maxim-deraining@/);
    assert.match(text.stdout, /face\/blazeface@\S+\s+face\s+@vladmandic\/human@\S+\s+MIT\s+\[-1,1\]\s+=256/);
  });
});

describe('clearsight restoration commands (real models)', () => {
  it('upscale --scale 2 --size slim: 24x16 RGBA -> 48x32 PNG with its alpha', async () => {
    const out = join(dir, 'tiny-x2.png');
    const r = await run(['upscale', tinyPng, '-o', out, '--scale', '2', '--size', 'slim', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(summary).sort(), [
      'format',
      'height',
      'input',
      'metadata',
      'model',
      'outHeight',
      'outWidth',
      'output',
      'seconds',
      'task',
      'tta',
      'width',
    ]);
    assert.equal(summary.task, 'upscale');
    assert.match(String(summary.model), /^upscale\/esrgan-slim-x2@/);
    assert.deepEqual([summary.width, summary.height, summary.outWidth, summary.outHeight], [24, 16, 48, 32]);
    assert.equal(summary.tta, false);
    assert.equal(r.stderr, '', '--json keeps stderr quiet');

    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [48, 32, 4]);
    // Alpha resized with the image: opaque on the left, ~64 on the right (away from the edge).
    assert.equal(data[(10 * 48 + 4) * 4 + 3], 255);
    assert.ok(Math.abs(data[(10 * 48 + 44) * 4 + 3] - 64) <= 2);
  });

  it('derain examples/rain.png: same size, and PSNR against rain-clean.png goes up', async () => {
    const out = join(dir, 'derained.png');
    const r = await run(['derain', RAIN, '-o', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { outWidth: number; outHeight: number; model: string; seconds: number };
    assert.deepEqual([summary.outWidth, summary.outHeight], [320, 240]);
    assert.match(summary.model, /^derain\/maxim-deraining@/);

    const [rainy, clean, restored] = await Promise.all([decodeImage(RAIN), decodeImage(RAIN_CLEAN), decodeImage(out)]);
    assert.deepEqual([restored.meta.width, restored.meta.height], [320, 240]);
    // PSNR on the Y channel of MATLAB YCbCr, the deraining papers' convention.
    const before = psnr(rainy.image, clean.image, { channel: 'y' });
    const afterDerain = psnr(restored.image, clean.image, { channel: 'y' });
    console.log(`derain: PSNR-Y ${before.toFixed(2)} -> ${afterDerain.toFixed(2)} dB in ${summary.seconds} s`);
    assert.ok(afterDerain > before + 5, `PSNR-Y should rise by > 5 dB: ${before.toFixed(2)} -> ${afterDerain.toFixed(2)}`);
  });
});

// Independent, fast cases run a few at a time (each spawns two node processes).
describe('clearsight bad inputs: exit 3, a message naming the problem, no output file', { concurrency: 3 }, () => {
  const cases: Array<{ name: string; file: string; make?: (path: string) => Promise<void>; code: string; message: RegExp }> = [
    { name: 'missing file', file: 'missing.png', code: 'E_INPUT_NOT_FOUND', message: /does not exist/ },
    {
      name: 'random bytes named .png',
      file: 'random.png',
      make: (p) => writeFile(p, Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919 + 13) % 251))),
      code: 'E_INPUT_CORRUPT',
      message: /not a PNG image|corrupt/,
    },
    {
      name: 'truncated PNG',
      file: 'truncated.png',
      make: async (p) => {
        const bytes = await readFile(RAIN);
        await writeFile(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
      },
      code: 'E_INPUT_CORRUPT',
      message: /truncated|corrupt/,
    },
    {
      name: '1x1 image',
      file: 'one.png',
      make: (p) =>
        sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
          .png()
          .toFile(p)
          .then(() => undefined),
      code: 'E_INPUT_TOO_SMALL',
      message: /1x1 is too small/,
    },
    {
      name: 'text file',
      file: 'notes.txt',
      make: (p) => writeFile(p, 'this is not an image\n'),
      code: 'E_INPUT_UNSUPPORTED',
      message: /not a recognised image format/,
    },
    {
      name: 'GIF',
      file: 'anim.gif',
      make: (p) =>
        sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } })
          .gif()
          .toFile(p)
          .then(() => undefined),
      code: 'E_INPUT_UNSUPPORTED',
      message: /GIF .*not supported/,
    },
    {
      name: 'PNG header claiming 100000x100000',
      file: 'huge.png',
      make: (p) => writeFile(p, pngHeaderOnly(100_000, 100_000)),
      code: 'E_INPUT_TOO_LARGE',
      message: /100000x100000/,
    },
    {
      // A folder is an input (its pictures); one without any says so.
      name: 'a folder without pictures',
      file: 'adir.png',
      make: (p) => mkdir(p),
      code: 'E_INPUT_NOT_FOUND',
      message: /folder .* has no pictures/,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const input = join(dir, c.file);
      if (c.make) await c.make(input);
      const out = join(dir, `out-${c.file.replace(/\W/g, '_')}.png`);
      const r = await run(['derain', input, '-o', out]);
      assert.equal(r.code, 3, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^clearsight: .*\\[${c.code}\\]$`, 'm'));
      assert.match(r.stderr, c.message);
      assert.ok(r.stderr.includes(input), 'the message names the file');
      assert.equal(await exists(out), false, 'no output file');
      assert.equal(r.stdout, '');
    });
  }
});

describe('clearsight output handling', () => {
  it('an existing output is kept without --force (exit 4) and replaced with --force', async () => {
    const out = join(dir, 'existing.png');
    const original = Buffer.from('precious bytes, not an image');
    await writeFile(out, original);
    const r = await run(['upscale', tinyPng, '-o', out, '--scale', '2']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /already exists; use --force.*\[E_OUTPUT_EXISTS\]/);
    assert.doesNotMatch(r.stderr, /upscaling/, 'fails before any inference');
    assert.deepEqual(await readFile(out), original, 'file untouched');

    const forced = await run(['upscale', tinyPng, '-o', out, '--scale', '2', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 48, 32]);
    assert.deepEqual(await hiddenFiles(), [], 'no temp files left');
  });

  it('unsupported output extension and missing directory fail before reading the input (exit 4)', async () => {
    const gif = await run(['derain', RAIN, '-o', join(dir, 'out.gif')]);
    assert.equal(gif.code, 4);
    assert.match(gif.stderr, /"\.gif" is not a supported output format.*\[E_OUTPUT_UNSUPPORTED\]/);
    const noDir = await run(['derain', RAIN, '-o', join(dir, 'no', 'such', 'dir.png')]);
    assert.equal(noDir.code, 4);
    assert.match(noDir.stderr, /does not exist \[E_OUTPUT_UNWRITABLE\]/);
    assert.doesNotMatch(noDir.stderr, /reading input/);
  });

  it('JPEG output of an RGBA input warns that alpha is dropped; 16-bit PNG input gives 16-bit PNG output', async () => {
    const jpg = join(dir, 'tiny.jpg');
    const r = await run(['upscale', tinyPng, '-o', jpg, '--scale', '2', '--quality', '90']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: JPEG has no alpha channel/);
    assert.equal((await sharp(jpg).metadata()).format, 'jpeg');

    const in16 = join(dir, 'tiny16.png');
    await sharp(tinyPng).toColourspace('rgb16').png().toFile(in16);
    const out16 = join(dir, 'tiny16-x2.png');
    const r16 = await run(['upscale', in16, '-o', out16, '--scale', '2', '--json']);
    assert.equal(r16.code, 0, r16.stderr);
    const meta = await sharp(out16).metadata();
    assert.deepEqual([meta.depth, meta.width, meta.height, meta.hasAlpha], ['ushort', 48, 32, true]);
  });
});

describe('clearsight usage errors: exit 2 naming the option, no output file', { concurrency: 3 }, () => {
  const cases: Array<{ args: string[]; message: RegExp }> = [
    { args: ['upscale', '--scale', '5'], message: /Invalid option "--scale": expected one of 2, 3, 4, 8, got "5" \[E_INVALID_OPTION\]/ },
    { args: ['upscale', '--size', 'huge'], message: /"--size": expected one of slim, medium, thick/ },
    { args: ['derain', '--threads', '0'], message: /Invalid option "--threads": expected an integer from 1 to 256, got "0"/ },
    { args: ['derain', '--threads', '2.5'], message: /"--threads".*got "2\.5"/ },
    { args: ['dehaze', '--variant', 'foo'], message: /Invalid option "--variant": expected one of indoor, outdoor, got "foo"/ },
    { args: ['denoise', '--max-tile', 'big'], message: /"--max-tile": expected an integer/ },
    { args: ['deblur', '--quality', '101'], message: /"--quality": expected an integer from 1 to 100, got "101"/ },
    { args: ['retouch', '--device', 'tpu'], message: /"--device": expected one of cpu, cuda, cuda!, got "tpu"/ },
    { args: ['lowlight', '--bogus'], message: /unknown option '--bogus' .*\[E_USAGE\]/ },
  ];
  for (const [i, c] of cases.entries()) {
    it(c.args.join(' '), async () => {
      const out = join(dir, `usage-out-${i}.png`);
      const [command, ...rest] = c.args;
      const r = await run([command, tinyPng, '-o', out, ...rest]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.equal(await exists(out), false);
    });
  }

  it('missing -o and missing input are usage errors', async () => {
    const noOut = await run(['derain', tinyPng]);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /required option '-o, --output <path>' not specified \(see --help\) \[E_USAGE\]/);
    const noInput = await run(['derain']);
    assert.equal(noInput.code, 2);
    assert.match(noInput.stderr, /missing required argument 'inputs'/);
    const unknown = await run(['derian', tinyPng]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'derian'.*derain/);
  });
});

describe('clearsight interrupts: Ctrl-C exits 130 promptly and leaves no output', () => {
  /** Starts a derain (one ~10 s tile here), signals it `delayMs` after "loading model". */
  async function interrupted(signal: NodeJS.Signals, delayMs: number, toGroup: boolean, out: string): Promise<RunResult & { afterSignalMs: number }> {
    let sentAt = 0;
    const r = await run(['derain', RAIN, '-o', out], {
      detached: toGroup,
      onStderr: (text, pid) => {
        if (sentAt || !text.includes('loading model')) return;
        sentAt = -1;
        setTimeout(() => {
          sentAt = Date.now();
          // A terminal's Ctrl-C reaches the whole process group (supervisor and worker).
          process.kill(toGroup ? -pid : pid, signal);
        }, delayMs);
      },
    });
    assert.ok(sentAt > 0, `the signal was sent (stderr: ${r.stderr})`);
    return { ...r, afterSignalMs: Date.now() - sentAt };
  }

  it('Ctrl-C (SIGINT to the process group) during the inference', async () => {
    const out = join(dir, 'interrupted.png');
    const r = await interrupted('SIGINT', 3000, true, out);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /clearsight: interrupted \(Ctrl-C\); no output written \[E_ABORTED\]/);
    assert.ok(r.afterSignalMs < 5000, `exited ${r.afterSignalMs} ms after the signal`);
    assert.equal(await exists(out), false);
    assert.deepEqual(await hiddenFiles(), []);
  });

  it('SIGTERM to the command while the model is being prepared exits 143', async () => {
    const out = join(dir, 'terminated.png');
    const r = await interrupted('SIGTERM', 0, false, out);
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /terminated \(SIGTERM\); no output written \[E_ABORTED\]/);
    assert.ok(r.afterSignalMs < 5000, `exited ${r.afterSignalMs} ms after the signal`);
    assert.equal(await exists(out), false);
  });
});
