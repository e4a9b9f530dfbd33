/**
 * `clearsight batch`: every image of a folder through a registry task, outputs named after the
 * inputs, a JSON log, resume (files already done are skipped, changed inputs redone), files that
 * are not images skipped with the reason, a failed file recorded and reported by the exit code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, encodeImage } from '../src/core/image/index.js';
import { enhanceLowLightGamma } from '../src/restore/index.js';
import { BATCH_LOG, runBatch, type BatchLog } from '../src/cli/commands/batch.js';
import { fixturePng } from './helpers/server.js';

test('batch: outputs, log, resume, skipped and failed files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clearsight-batch-'));
  const stderr = process.stderr.write;
  let printed = '';
  try {
    const inDir = join(dir, 'in');
    const outDir = join(dir, 'out');
    mkdirSync(inDir);
    writeFileSync(join(inDir, 'a.png'), await fixturePng(24, 16, 1));
    writeFileSync(join(inDir, 'b.png'), await fixturePng(16, 24, 2));
    writeFileSync(join(inDir, 'notes.txt'), 'not a picture');
    const a = await fixturePng(24, 16, 1);
    writeFileSync(join(inDir, 'c.png'), a.subarray(0, a.length - 40)); // truncated
    process.stderr.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stderr.write;

    const code1 = await runBatch('lowlight', inDir, { output: outDir, set: ['method=gamma'] });
    const log1 = JSON.parse(readFileSync(join(outDir, BATCH_LOG), 'utf8')) as BatchLog;
    assert.equal(code1, 5, 'a failed file makes the exit code non-zero');
    assert.equal(log1.files['a.png'].status, 'done');
    assert.deepEqual(log1.files['a.png'].outputs, ['a.png', 'a.illumination.png', 'a.gamma.png', 'a.json']);
    assert.equal(log1.files['notes.txt'].status, 'skipped');
    assert.equal(log1.files['c.png'].status, 'failed');
    assert.equal(log1.files['c.png'].error!.code, 'E_INPUT_CORRUPT');
    const expected = await encodeImage(enhanceLowLightGamma((await decodeImage(join(inDir, 'b.png'))).image).image, 'png');
    assert.ok(readFileSync(join(outDir, 'b.png')).equals(expected));
    assert.match(printed, /2 done \(0 already done before\), 1 failed, 1 skipped/);
    assert.match(printed, /file\s+status\s+seconds/);

    // Resume: a and b are skipped (outputs untouched); the truncated file is fixed and redone.
    const mtime = statSync(join(outDir, 'a.png')).mtimeMs;
    writeFileSync(join(inDir, 'c.png'), a);
    printed = '';
    const code2 = await runBatch('lowlight', inDir, { output: outDir, set: ['method=gamma'] });
    assert.equal(code2, 0);
    assert.match(printed, /3 done \(2 already done before\), 0 failed, 1 skipped/);
    assert.equal(statSync(join(outDir, 'a.png')).mtimeMs, mtime);
    const log2 = JSON.parse(readFileSync(join(outDir, BATCH_LOG), 'utf8')) as BatchLog;
    assert.equal(log2.files['c.png'].status, 'done');
    printed = '';
    rmSync(join(outDir, 'b.illumination.png'));
    await runBatch('lowlight', inDir, { output: outDir, set: ['method=gamma'] });
    assert.match(printed, /3 done \(2 already done before\)/, 'b is redone because one of its outputs is missing');
    assert.ok(readdirSync(outDir).includes('b.illumination.png'));
    await assert.rejects(runBatch('lowlight', inDir, { output: outDir, set: ['method=bogus'] }), /"method"/);
    await assert.rejects(runBatch('teleport', inDir, { output: outDir, set: [] }), /Invalid option "task"/);
  } finally {
    process.stderr.write = stderr;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batch keeps each input format and its metadata; --format, --suffix, --strip-metadata and --recursive', async () => {
  const { exifJpeg } = await import('./helpers/metadata.js');
  const sharp = (await import('sharp')).default;
  const dir = mkdtempSync(join(tmpdir(), 'clearsight-batch-format-'));
  const stderr = process.stderr.write;
  try {
    const inDir = join(dir, 'in');
    mkdirSync(join(inDir, 'sub'), { recursive: true });
    writeFileSync(join(inDir, 'photo.jpg'), await exifJpeg());
    writeFileSync(join(inDir, 'sub', 'plain.png'), await fixturePng(16, 12, 3));
    process.stderr.write = (() => true) as typeof process.stderr.write;

    const kept = join(dir, 'kept');
    assert.equal(await runBatch('lowlight', inDir, { output: kept, set: ['method=gamma'] }), 0);
    assert.deepEqual(
      readdirSync(kept).sort(),
      ['batch-log.json', 'photo.gamma.png', 'photo.illumination.png', 'photo.jpg', 'photo.json'],
      'not recursive: sub/ is left out',
    );
    const m = await sharp(join(kept, 'photo.jpg')).metadata();
    assert.equal(m.format, 'jpeg', 'a JPEG input stays JPEG (it used to become PNG)');
    assert.ok(m.exif?.includes(Buffer.from('TestCam')), 'EXIF kept');
    assert.equal(m.orientation, 1);
    assert.ok(m.icc, 'ICC kept');

    const webp = join(dir, 'webp');
    assert.equal(
      await runBatch('lowlight', inDir, { output: webp, set: ['method=gamma'], format: 'webp', suffix: '_bright', stripMetadata: true, recursive: true }),
      0,
    );
    const files = readdirSync(webp, { recursive: true }).map(String).sort();
    assert.ok(files.includes('photo_bright.webp') && files.includes(join('sub', 'plain_bright.webp')), files.join(', '));
    const w = await sharp(join(webp, 'photo_bright.webp')).metadata();
    assert.equal(w.format, 'webp');
    assert.equal(w.exif, undefined);
    assert.equal(w.icc, undefined);
  } finally {
    process.stderr.write = stderr;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the API task output keeps the upload's EXIF (orientation 1) and ICC profile", async () => {
  const { exifJpeg } = await import('./helpers/metadata.js');
  const sharp = (await import('sharp')).default;
  const { runTask } = await import('../src/server/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'clearsight-api-meta-'));
  try {
    const path = join(dir, 'photo.jpg');
    writeFileSync(path, await exifJpeg());
    const outcome = await runTask({ task: 'lowlight', inputs: [{ sha256: 'x', kind: 'image' }], fields: { method: 'gamma' } }, [path], {
      maxPixels: 1e8,
      cache: new Map(),
      scratchDir: dir,
    });
    const picture = outcome.files.find((f) => f.role === 'output')!;
    const m = await sharp(picture.bytes).metadata();
    assert.equal(m.format, 'png');
    assert.ok(m.exif?.includes(Buffer.from('TestCam')));
    assert.equal(m.orientation, 1);
    assert.ok(m.icc);
    assert.deepEqual([m.width, m.height], [4, 8]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
