/**
 * Metadata carried from a source picture to an output (issue 21 point 1): EXIF kept with its
 * Orientation reset to 1 (decoding applied it), the ICC profile kept (pixels converted back into
 * it), nothing without `metadata`. The fixture is a JPEG made here: EXIF Make "TestCam",
 * Orientation 6, and sharp's built-in Display P3 profile.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage, encodeImage, exifOrientation, formatFromPath, type RawImage } from '../src/core/image/index.js';
import { exifWithOrientationReset, spliceWebpExif } from '../src/core/image/metadata.js';
import { exifJpeg } from './helpers/metadata.js';

const hasMake = (exif: Buffer | undefined) => exif?.includes(Buffer.from('TestCam'));

/** Mean absolute difference of two images of the same size, in 8-bit steps. */
function meanDiff(a: RawImage, b: RawImage): number {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return (s / a.data.length) * 255;
}

describe('source metadata', () => {
  it('decodeImage keeps the EXIF and ICC blobs and returns the pixels upright', async () => {
    const src = await exifJpeg();
    const { image, meta } = await decodeImage(src);
    assert.equal(meta.orientation, 6);
    assert.ok(hasMake(meta.exif));
    assert.equal(exifOrientation(meta.exif!), 6);
    assert.ok(meta.icc && meta.icc.length > 128);
    // Rotated 90° clockwise: 4 wide, 8 tall; the stored left (red) half is now the top.
    assert.deepEqual([image.width, image.height], [4, 8]);
    const top = image.data.subarray(0, 3);
    const bottom = image.data.subarray(7 * 4 * 3, 7 * 4 * 3 + 3);
    assert.ok(top[0] > 0.6 && top[2] < 0.3, `top is red: ${[...top]}`);
    assert.ok(bottom[2] > 0.6 && bottom[0] < 0.3, `bottom is blue: ${[...bottom]}`);
  });

  for (const format of ['jpeg', 'png', 'webp'] as const) {
    it(`${format}: EXIF (Make kept, Orientation 1) and the ICC profile survive; the pixels stay upright`, async () => {
      const decoded = await decodeImage(await exifJpeg());
      const out = await encodeImage(decoded.image, format, { metadata: decoded.meta });
      const m = await sharp(out).metadata();
      assert.equal(m.format, format);
      assert.ok(hasMake(m.exif), 'Make kept');
      assert.equal(m.orientation, 1);
      assert.ok(m.icc?.equals(decoded.meta.icc!), 'the source ICC profile is embedded');
      // Read back (P3 -> sRGB again): the same upright picture, not rotated a second time.
      const again = await decodeImage(out);
      assert.deepEqual([again.image.width, again.image.height], [4, 8]);
      assert.ok(meanDiff(again.image, decoded.image) < 3, `colours round trip through the profile: ${meanDiff(again.image, decoded.image)}`);
    });
  }

  it('tiff and avif keep the ICC profile; tiff has no EXIF (libvips writes none: see metadata.ts)', async () => {
    const decoded = await decodeImage(await exifJpeg());
    for (const format of ['tiff', 'avif'] as const) {
      const m = await sharp(await encodeImage(decoded.image, format, { metadata: decoded.meta })).metadata();
      assert.ok(m.icc?.equals(decoded.meta.icc!), `${format}: ICC embedded`);
      if (format === 'tiff') assert.equal(m.exif, undefined);
    }
  });

  it('avif keeps the EXIF (Make, Orientation 1); the pixels are those of an AVIF without it', async () => {
    const decoded = await decodeImage(await exifJpeg());
    const withExif = await encodeImage(decoded.image, 'avif', { metadata: decoded.meta, quality: 70 });
    const m = await sharp(withExif).metadata();
    assert.equal(m.format, 'heif');
    assert.ok(hasMake(m.exif), 'Make kept');
    assert.equal(exifOrientation(m.exif!), 1);
    assert.ok(m.icc?.equals(decoded.meta.icc!));
    const iccOnly = await encodeImage(decoded.image, 'avif', { metadata: { icc: decoded.meta.icc! }, quality: 70 });
    assert.equal((await sharp(iccOnly).metadata()).exif, undefined);
    // decodeImage refuses AVIF input: sharp reads both back as they are stored.
    const [a, b] = await Promise.all([withExif, iccOnly].map((x) => sharp(x).raw().toBuffer({ resolveWithObject: true })));
    assert.deepEqual([a!.info.width, a!.info.height], [4, 8]);
    assert.ok(a!.data.equals(b!.data), 'the same pixels');
    // Without a profile too.
    const plain = await sharp(await encodeImage(decoded.image, 'avif', { metadata: { exif: decoded.meta.exif! } })).metadata();
    assert.ok(hasMake(plain.exif));
    assert.equal(plain.icc, undefined);
  });

  it('without metadata the output has neither EXIF nor ICC', async () => {
    const decoded = await decodeImage(await exifJpeg());
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const m = await sharp(await encodeImage(decoded.image, format)).metadata();
      assert.equal(m.exif, undefined, `${format}: no EXIF`);
      assert.equal(m.icc, undefined, `${format}: no ICC`);
      assert.equal(m.orientation, undefined);
    }
  });

  it('a simple WebP becomes extended (VP8X) to carry EXIF, and stays decodable', async () => {
    const decoded = await decodeImage(await exifJpeg());
    const plain = await encodeImage(decoded.image, 'webp');
    assert.equal(plain.toString('latin1', 12, 16), 'VP8L');
    const tiff = exifWithOrientationReset(decoded.meta.exif!)!;
    const withExif = spliceWebpExif(plain, tiff, 4, 8, false);
    assert.equal(withExif.toString('latin1', 12, 16), 'VP8X');
    assert.equal(withExif.readUInt32LE(4), withExif.length - 8);
    const m = await sharp(withExif).metadata();
    assert.deepEqual([m.width, m.height, m.orientation], [4, 8, 1]);
    assert.ok(hasMake(m.exif));
  });

  it('the orientation reset copies: the source blob is not changed', async () => {
    const { meta } = await decodeImage(await exifJpeg());
    const reset = exifWithOrientationReset(meta.exif!)!;
    assert.equal(exifOrientation(reset), 1);
    assert.equal(exifOrientation(meta.exif!), 6);
  });

  it('AVIF is an output format by extension', async () => {
    assert.equal(formatFromPath('x.avif'), 'avif');
  });
});
