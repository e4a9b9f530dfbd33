/**
 * Output control of the picture commands (issue 21 points 1-3), end to end through the CLI with
 * `lowlight --method gamma` (no network: a run takes a fraction of a second):
 * metadata kept / --strip-metadata, --format and --quality, folder outputs with --suffix/--name,
 * several inputs, folders (--recursive), globs, and `-` for standard input and output.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCli, runCliBytes } from './helpers/cli.js';
import { exifJpeg } from './helpers/metadata.js';

let dir: string;
let photo: string; // JPEG with EXIF Make "TestCam", Orientation 6 and a Display P3 profile
let png: string;
const GAMMA = ['--method', 'gamma'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearsight-cli-output-'));
  photo = join(dir, 'photo.jpg');
  await writeFile(photo, await exifJpeg());
  png = join(dir, 'plain.png');
  await sharp({ create: { width: 12, height: 10, channels: 3, background: { r: 40, g: 30, b: 20 } } })
    .png()
    .toFile(png);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hasMake = (exif: Buffer | undefined) => exif?.includes(Buffer.from('TestCam'));

describe('metadata (point 1)', () => {
  it('keeps EXIF (Make) and the ICC profile, resets the orientation to 1 and writes the pixels upright', async () => {
    const out = join(dir, 'kept.jpg');
    const r = await runCli(['lowlight', photo, '-o', out, ...GAMMA]);
    assert.equal(r.code, 0, r.stderr);
    const m = await sharp(out).metadata();
    assert.ok(hasMake(m.exif));
    assert.equal(m.orientation, 1);
    assert.ok(m.icc && m.icc.length > 128);
    // Stored 8x4 with orientation 6: the upright output is 4 wide, 8 tall.
    assert.deepEqual([m.width, m.height], [4, 8]);
  });

  it('--strip-metadata writes neither EXIF nor ICC (pixels still upright)', async () => {
    const out = join(dir, 'stripped.jpg');
    const r = await runCli(['lowlight', photo, '-o', out, ...GAMMA, '--strip-metadata', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).metadata, false);
    const m = await sharp(out).metadata();
    assert.equal(m.exif, undefined);
    assert.equal(m.icc, undefined);
    assert.deepEqual([m.width, m.height], [4, 8]);
  });
});

describe('format and quality (point 2)', () => {
  it('--format decides whatever the name says; --quality reaches the encoder', async () => {
    const a = join(dir, 'q20.out');
    const b = join(dir, 'q95.out');
    assert.equal((await runCli(['lowlight', png, '-o', a, ...GAMMA, '--format', 'jpeg', '--quality', '20'])).code, 0);
    assert.equal((await runCli(['lowlight', png, '-o', b, ...GAMMA, '--format', 'webp', '--quality', '95'])).code, 0);
    assert.equal((await sharp(a).metadata()).format, 'jpeg');
    assert.equal((await sharp(b).metadata()).format, 'webp');
    const big = join(dir, 'q95.jpg');
    assert.equal((await runCli(['lowlight', photo, '-o', big, ...GAMMA, '--quality', '95', '--strip-metadata'])).code, 0);
    const small = join(dir, 'q5.jpg');
    assert.equal((await runCli(['lowlight', photo, '-o', small, ...GAMMA, '--quality', '5', '--strip-metadata'])).code, 0);
    assert.ok((await readFile(small)).length < (await readFile(big)).length, 'quality 5 is smaller than 95');
  });

  it('writes AVIF', async () => {
    const out = join(dir, 'out.avif');
    const r = await runCli(['lowlight', png, '-o', out, ...GAMMA]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await sharp(out).metadata()).format, 'heif');
  });

  it('an unknown --format is a usage error naming the choices', async () => {
    const r = await runCli(['lowlight', png, '-o', join(dir, 'x.png'), ...GAMMA, '--format', 'gif']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--format.*png, jpeg, webp, tiff, avif/);
  });

  it('several inputs into a folder keep each input format, named with --suffix', async () => {
    const out = join(dir, 'many');
    const r = await runCli(['lowlight', photo, png, '-o', out, ...GAMMA, '--suffix', '_bright']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['photo_bright.jpg', 'plain_bright.png']);
    assert.equal((await sharp(join(out, 'photo_bright.jpg')).metadata()).format, 'jpeg');
  });

  it('--name pattern and --format for every output', async () => {
    const out = join(dir, 'named');
    const r = await runCli(['lowlight', photo, png, '-o', `${out}/`, ...GAMMA, '--name', '{task}-{stem}.{ext}', '--format', 'webp']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['lowlight-photo.webp', 'lowlight-plain.webp']);
  });

  it('refuses a folder output that would overwrite an input (even with --force)', async () => {
    const r = await runCli(['lowlight', photo, png, '-o', dir, ...GAMMA, '--force']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /inputs are never overwritten/);
  });

  it('one bad input among several: the others are written, the bad one named, exit 3', async () => {
    const bad = join(dir, 'broken.png');
    await writeFile(bad, (await readFile(png)).subarray(0, 40));
    const out = join(dir, 'partly');
    const r = await runCli(['lowlight', bad, png, '-o', out, ...GAMMA]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /broken\.png.*\[E_INPUT_CORRUPT\]/);
    assert.match(r.stderr, /1 of 2 inputs done; failed: .*broken\.png/);
    assert.deepEqual(await readdir(out), ['plain.png']);
  });

  it('several inputs with a file output is a usage error', async () => {
    const r = await runCli(['lowlight', photo, png, '-o', join(dir, 'one.png'), ...GAMMA]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /a folder when there are several inputs/);
  });
});

describe('folders, globs and pipes (point 3)', () => {
  it('a folder input, with --recursive, keeps the subfolders', async () => {
    const src = join(dir, 'tree');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.png'), await readFile(png));
    await writeFile(join(src, 'sub', 'b.jpg'), await readFile(photo));
    await writeFile(join(src, 'notes.txt'), 'not a picture');
    const flat = await runCli(['lowlight', src, '-o', join(dir, 'flat'), ...GAMMA]);
    assert.equal(flat.code, 0, flat.stderr);
    assert.deepEqual(await readdir(join(dir, 'flat')), ['a.png']);
    const deep = await runCli(['lowlight', src, '-o', join(dir, 'deep'), ...GAMMA, '--recursive']);
    assert.equal(deep.code, 0, deep.stderr);
    assert.deepEqual((await readdir(join(dir, 'deep'), { recursive: true })).sort(), ['a.png', 'sub', join('sub', 'b.jpg')]);
  });

  it('a quoted glob is expanded', async () => {
    const r = await runCli(['lowlight', join(dir, '*.jpg'), '-o', join(dir, 'globbed'), ...GAMMA]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readdir(join(dir, 'globbed'))).includes('photo.jpg'));
    const none = await runCli(['lowlight', join(dir, '*.nothing'), '-o', join(dir, 'g2'), ...GAMMA]);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /No file matches/);
  });

  it('- reads standard input and writes standard output: only image bytes on stdout', async () => {
    const bytes = await readFile(photo);
    const r = await runCliBytes(['lowlight', '-', '-o', '-', ...GAMMA], { stdin: bytes });
    assert.equal(r.code, 0, r.stderr);
    const m = await sharp(r.stdout).metadata(); // throws if anything but a picture is on stdout
    assert.equal(m.format, 'jpeg');
    assert.deepEqual([m.width, m.height, m.orientation], [4, 8, 1]);
    assert.ok(hasMake(m.exif));
    assert.match(r.stderr, /standard input .* -> standard output/);
  });

  it('--json with the picture on stdout puts the JSON on stderr', async () => {
    const r = await runCliBytes(['lowlight', '-', '-o', '-', ...GAMMA, '--format', 'png', '--json'], { stdin: await readFile(photo) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await sharp(r.stdout).metadata()).format, 'png');
    assert.equal(JSON.parse(r.stderr.trim().split('\n').at(-1)!).format, 'png');
  });
});

describe('restore auto: --effort, and --quality as on every other command', () => {
  it('--effort max plans the slow experts; --quality max still works with a deprecation warning; both disagreeing is refused', async () => {
    const effort = await runCli(['restore', 'auto', photo, '--dry-run', '--json', '--effort', 'max']);
    assert.equal(effort.code, 0, effort.stderr);
    assert.equal(JSON.parse(effort.stdout).quality, 'max');
    assert.doesNotMatch(effort.stderr, /deprecated/);
    const old = await runCli(['restore', 'auto', photo, '--dry-run', '--json', '--quality', 'max']);
    assert.equal(old.code, 0, old.stderr);
    assert.equal(JSON.parse(old.stdout).quality, 'max');
    assert.match(old.stderr, /--quality max is deprecated: use --effort max/);
    const clash = await runCli(['restore', 'auto', photo, '--dry-run', '--quality', 'fast', '--effort', 'max']);
    assert.equal(clash.code, 2);
    const bad = await runCli(['restore', 'auto', photo, '--dry-run', '--quality', 'best']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /the restoration effort is --effort fast\|max/);
  });
});

describe('restore auto through pipes', () => {
  it('- in, - out: the picture on stdout (its input format), the summary on stderr', async () => {
    const r = await runCliBytes(['restore', 'auto', '-', '-o', '-', '--analysis', 'rules'], { stdin: await readFile(png) });
    assert.equal(r.code, 0, r.stderr);
    const m = await sharp(r.stdout).metadata();
    assert.deepEqual([m.format, m.width, m.height], ['png', 12, 10]);
    assert.match(r.stderr, /standard input \(12x10\) -> standard output: /);
  });
});

describe('restore auto on several inputs', () => {
  it('writes each into the output folder, in its own format unless --format', async () => {
    const second = join(dir, 'second.png');
    await writeFile(second, await readFile(png));
    const out = join(dir, 'auto-many');
    const r = await runCli(['restore', 'auto', png, second, '-o', out, '--analysis', 'rules', '--suffix', '_auto', '--format', 'webp']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['plain_auto.webp', 'second_auto.webp']);
    const dry = await runCli(['restore', 'auto', png, second, '--dry-run', '--analysis', 'rules']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout.match(/primary degradation/g)?.length, 2);
  });
});
