import assert from 'node:assert/strict';
import type { ClearsightError } from '../src/core/errors.js';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { createImage, cropImage, decodeImage, encodeImage, formatFromPath, writeImage, type RawImage } from '../src/core/image/index.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearsight-image-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Fixtures made by code

/** RGB image whose samples are exact multiples of 1/max (so 8- or 16-bit round trips are exact). */
function patterned(width: number, height: number, max = 255): RawImage {
  const img = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = (x * 37 + y * 91 + c * 53 + ((x * y) % 7) * 11) % (max + 1);
        img.data[(y * width + x) * 3 + c] = v / max;
      }
    }
  }
  return img;
}

/** A smooth picture for lossy codecs. */
function smooth(width: number, height: number): RawImage {
  const img = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        img.data[(y * width + x) * 3 + c] = 0.5 + 0.35 * Math.sin(x / 9 + c) * Math.cos(y / 11 - c);
      }
    }
  }
  return img;
}

function alphaRamp(width: number, height: number): Float32Array {
  const a = new Float32Array(width * height);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 7) % 256) / 255;
  return a;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function pixel(img: RawImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * img.channels;
  return [...img.data.subarray(o, o + img.channels)];
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** A structurally valid PNG whose IHDR claims width x height (the pixel data is tiny). */
function pngClaiming(width: number, height: number, withData: boolean): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks = [pngChunk('IHDR', ihdr)];
  if (withData) chunks.push(pngChunk('IDAT', deflateSync(Buffer.alloc(1024))));
  chunks.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([signature, ...chunks]);
}

interface BmpSpec {
  width: number;
  height: number;
  bpp: number;
  topDown?: boolean;
  compression?: number;
  headerSize?: number;
  palette?: number[][]; // [r, g, b]
  masks?: number[]; // written after a 40-byte header, or inside a larger one
  /** Bytes of display row y (unpadded). */
  row: (y: number) => number[];
}

/** Writes a BMP the way various real writers do, to test the decoder on every layout. */
function buildBmp(spec: BmpSpec): Buffer {
  const headerSize = spec.headerSize ?? 40;
  const stride = Math.floor((spec.bpp * spec.width + 31) / 32) * 4;
  const masksAfter = headerSize === 40 && spec.masks ? spec.masks.length * 4 : 0;
  const paletteBytes = (spec.palette?.length ?? 0) * 4;
  const offset = 14 + headerSize + masksAfter + paletteBytes;
  const out = Buffer.alloc(offset + stride * spec.height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(headerSize, 14);
  out.writeInt32LE(spec.width, 18);
  out.writeInt32LE(spec.topDown ? -spec.height : spec.height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(spec.bpp, 28);
  out.writeUInt32LE(spec.compression ?? 0, 30);
  out.writeUInt32LE(spec.palette?.length ?? 0, 46);
  spec.masks?.forEach((m, i) => {
    out.writeUInt32LE(m >>> 0, 54 + i * 4);
  });
  spec.palette?.forEach(([r, g, b], i) => {
    const p = 14 + headerSize + masksAfter + i * 4;
    out[p] = b;
    out[p + 1] = g;
    out[p + 2] = r;
  });
  for (let y = 0; y < spec.height; y++) {
    const stored = spec.topDown ? y : spec.height - 1 - y;
    Buffer.from(spec.row(y)).copy(out, offset + stored * stride);
  }
  return out;
}

async function expectCode(input: string | Buffer, code: string, messagePart?: RegExp, opts = {}): Promise<void> {
  await assert.rejects(decodeImage(input, opts), (err: ClearsightError) => {
    assert.equal(err.name, 'ClearsightError', `expected a ClearsightError, got ${err}`);
    assert.equal(err.code, code, `wrong code for ${typeof input === 'string' ? input : 'buffer'}: ${err.message}`);
    if (messagePart) assert.match(err.message, messagePart);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------

describe('round trips', () => {
  const img = patterned(37, 23); // odd sizes catch stride/padding mistakes

  for (const format of ['png', 'tiff', 'bmp'] as const) {
    it(`${format} 8-bit is exact`, async () => {
      const decoded = await decodeImage(await encodeImage(img, format));
      assert.equal(decoded.meta.format, format);
      assert.equal(decoded.meta.bitDepth, 8);
      assert.equal(decoded.meta.hadAlpha, false);
      assert.equal(decoded.alpha, undefined);
      assert.deepEqual([decoded.image.width, decoded.image.height, decoded.image.channels], [37, 23, 3]);
      assert.deepEqual(decoded.image.data, img.data);
    });
  }

  it('webp (lossless when no quality is given) is exact', async () => {
    const decoded = await decodeImage(await encodeImage(img, 'webp'));
    assert.equal(decoded.meta.format, 'webp');
    assert.deepEqual(decoded.image.data, img.data);
  });

  it('webp with a quality is lossy but close', async () => {
    const s = smooth(64, 48);
    const decoded = await decodeImage(await encodeImage(s, 'webp', { quality: 90 }));
    assert.ok(maxAbsDiff(decoded.image.data, s.data) < 0.1);
  });

  it('jpeg is within tolerance', async () => {
    const s = smooth(64, 48);
    const decoded = await decodeImage(await encodeImage(s, 'jpeg'));
    assert.equal(decoded.meta.format, 'jpeg');
    let sum = 0;
    for (let i = 0; i < s.data.length; i++) sum += Math.abs(decoded.image.data[i] - s.data[i]);
    assert.ok(sum / s.data.length < 1.5 / 255, `mean abs error ${(sum / s.data.length) * 255} levels`);
    assert.ok(maxAbsDiff(decoded.image.data, s.data) < 8 / 255);
  });

  for (const format of ['png', 'tiff'] as const) {
    it(`${format} 16-bit keeps full precision`, async () => {
      const deep = patterned(19, 11, 65535);
      const buf = await encodeImage(deep, format, { bitDepth: 16 });
      const decoded = await decodeImage(buf);
      assert.equal(decoded.meta.bitDepth, 16);
      assert.deepEqual(decoded.image.data, deep.data);
    });
  }

  it('16-bit PNG with alpha round-trips both', async () => {
    const deep = patterned(9, 7, 65535);
    const alpha = new Float32Array(63).map((_, i) => (i * 1000) / 65535);
    const decoded = await decodeImage(await encodeImage(deep, 'png', { bitDepth: 16, alpha }));
    assert.equal(decoded.meta.bitDepth, 16);
    assert.deepEqual(decoded.image.data, deep.data);
    assert.deepEqual(decoded.alpha, alpha);
  });

  it('clamps out-of-range and NaN samples', async () => {
    const img2 = createImage(2, 2, 3, new Float32Array([-0.5, 1.5, NaN, 0, 1, 0.5, 2, -1, 0.25, 0, 0, 0]));
    const decoded = await decodeImage(await encodeImage(img2, 'png'));
    assert.deepEqual(pixel(decoded.image, 0, 0), [0, 1, 0]);
    assert.deepEqual(
      pixel(decoded.image, 1, 0).map((v) => Math.round(v * 255)),
      [0, 255, 128],
    );
  });

  it('encodes 1-channel images as grey and decodes them back to RGB', async () => {
    const grey = createImage(
      5,
      4,
      1,
      new Float32Array(20).map((_, i) => (i * 12) / 255),
    );
    const decoded = await decodeImage(await encodeImage(grey, 'png'));
    assert.equal(decoded.meta.sourceChannels, 1);
    assert.equal(decoded.image.channels, 3);
    assert.deepEqual(pixel(decoded.image, 3, 2), Array(3).fill(grey.data[13]));
    const fromBmp = await decodeImage(await encodeImage(grey, 'bmp'));
    assert.deepEqual(pixel(fromBmp.image, 3, 2), Array(3).fill(grey.data[13]));
  });

  it('grey + alpha input reports 2 source channels and splits alpha', async () => {
    const raw = Buffer.alloc(4 * 3 * 2);
    for (let i = 0; i < 12; i++) {
      raw[i * 2] = i * 20;
      raw[i * 2 + 1] = 255 - i * 10;
    }
    const png = await sharp(raw, { raw: { width: 4, height: 3, channels: 2 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const decoded = await decodeImage(png);
    assert.equal(decoded.meta.sourceChannels, 2);
    assert.equal(decoded.meta.hadAlpha, true);
    assert.deepEqual(
      pixel(decoded.image, 1, 1),
      Array(3)
        .fill(100 / 255)
        .map(Math.fround),
    );
    assert.equal(decoded.alpha?.[5], Math.fround(205 / 255));
  });
});

describe('alpha', () => {
  it('is split off on decode and restored on encode', async () => {
    const img = patterned(12, 10);
    const alpha = alphaRamp(12, 10);
    const decoded = await decodeImage(await encodeImage(img, 'png', { alpha }));
    assert.equal(decoded.meta.hadAlpha, true);
    assert.equal(decoded.meta.sourceChannels, 4);
    assert.equal(decoded.image.channels, 3);
    assert.deepEqual(decoded.image.data, img.data);
    assert.deepEqual(decoded.alpha, alpha);
    for (const format of ['tiff', 'webp'] as const) {
      // The ramp has fully transparent pixels: their RGB must survive too (webp `exact`).
      const again = await decodeImage(await encodeImage(decoded.image, format, { alpha: decoded.alpha }));
      assert.deepEqual(again.alpha, alpha, format);
      assert.deepEqual(again.image.data, img.data, format);
    }
  });

  it('is resized to an upscaled image (bare array of the source size, or an explicit plane)', async () => {
    const small = new Float32Array(8 * 6).fill(0.25);
    for (let y = 0; y < 6; y++) for (let x = 4; x < 8; x++) small[y * 8 + x] = 1;
    const big = patterned(32, 24);
    for (const alpha of [small, { width: 8, height: 6, data: small }]) {
      const decoded = await decodeImage(await encodeImage(big, 'png', { alpha }));
      assert.equal(decoded.alpha?.length, 32 * 24);
      assert.ok(Math.abs(decoded.alpha![5 * 32 + 2] - 0.25) < 1 / 255, 'left half stays 0.25');
      assert.ok(Math.abs(decoded.alpha![5 * 32 + 29] - 1) < 1 / 255, 'right half stays opaque');
    }
  });

  it('rejects an alpha array whose size cannot be matched', async () => {
    await assert.rejects(encodeImage(patterned(10, 10), 'png', { alpha: new Float32Array(7) }), (err: ClearsightError) => {
      assert.equal(err.code, 'E_INVALID_OPTION');
      assert.match(err.message, /alpha/);
      return true;
    });
  });

  it('is dropped by JPEG (no alpha channel in the format)', async () => {
    const decoded = await decodeImage(await encodeImage(smooth(16, 16), 'jpeg', { alpha: alphaRamp(16, 16) }));
    assert.equal(decoded.meta.hadAlpha, false);
    assert.equal(decoded.alpha, undefined);
  });
});

describe('EXIF orientation', () => {
  it('is applied: orientation 6 swaps width/height and moves the top-left corner to the top-right', async () => {
    // 32x16, red 8x8 block at the top-left, blue elsewhere.
    const raw = Buffer.alloc(32 * 16 * 3);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 32; x++) {
        const o = (y * 32 + x) * 3;
        const red = x < 8 && y < 8;
        raw[o] = red ? 255 : 0;
        raw[o + 2] = red ? 0 : 255;
      }
    }
    const jpeg = await sharp(raw, { raw: { width: 32, height: 16, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const decoded = await decodeImage(jpeg);
    assert.equal(decoded.meta.orientation, 6);
    assert.deepEqual([decoded.meta.width, decoded.meta.height], [16, 32]);
    assert.deepEqual([decoded.image.width, decoded.image.height], [16, 32]);
    const [r1, , b1] = pixel(decoded.image, 13, 2); // displayed top-right: the red block
    const [r2, , b2] = pixel(decoded.image, 2, 2); // displayed top-left: blue
    assert.ok(r1 > 0.8 && b1 < 0.2, `top-right should be red, got ${r1}, ${b1}`);
    assert.ok(r2 < 0.2 && b2 > 0.8, `top-left should be blue, got ${r2}, ${b2}`);
  });
});

describe('BMP decoder layouts', () => {
  const colours = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [250, 200, 10],
  ];
  const expectAt = (img: RawImage, x: number, y: number, rgb: number[]) =>
    assert.deepEqual(
      pixel(img, x, y).map((v) => Math.round(v * 255)),
      rgb,
      `pixel ${x},${y}`,
    );

  it('24-bit top-down', async () => {
    const bmp = buildBmp({ width: 3, height: 2, bpp: 24, topDown: true, row: (y) => (y === 0 ? [0, 0, 255, 0, 255, 0, 255, 0, 0] : Array(9).fill(9)) });
    const { image } = await decodeImage(bmp);
    expectAt(image, 0, 0, [255, 0, 0]);
    expectAt(image, 2, 0, [0, 0, 255]);
    expectAt(image, 1, 1, [9, 9, 9]);
  });

  it('32-bit BI_RGB with alpha in the reserved byte, bottom-up', async () => {
    const bmp = buildBmp({ width: 2, height: 2, bpp: 32, row: (y) => [10, 20, 30, y === 0 ? 128 : 255, 1, 2, 3, 0] });
    const decoded = await decodeImage(bmp);
    expectAt(decoded.image, 0, 0, [30, 20, 10]);
    assert.equal(decoded.meta.hadAlpha, true);
    assert.deepEqual(
      [...decoded.alpha!].map((v) => Math.round(v * 255)),
      [128, 0, 255, 0],
    );
  });

  it('32-bit BI_RGB with an all-zero reserved byte has no alpha', async () => {
    const bmp = buildBmp({ width: 2, height: 2, bpp: 32, row: () => [10, 20, 30, 0, 1, 2, 3, 0] });
    const decoded = await decodeImage(bmp);
    assert.equal(decoded.meta.hadAlpha, false);
    assert.equal(decoded.alpha, undefined);
  });

  it('32-bit BI_BITFIELDS in a V5 header (as GIMP writes)', async () => {
    const bmp = buildBmp({
      width: 2,
      height: 2,
      bpp: 32,
      compression: 3,
      headerSize: 124,
      masks: [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000],
      row: () => [10, 20, 30, 200, 40, 50, 60, 255],
    });
    const decoded = await decodeImage(bmp);
    expectAt(decoded.image, 1, 0, [60, 50, 40]);
    assert.equal(Math.round(decoded.alpha![0] * 255), 200);
  });

  it('16-bit 5-6-5 bit fields', async () => {
    const white = 0xffff;
    const red = 0xf800;
    const bmp = buildBmp({
      width: 2,
      height: 2,
      bpp: 16,
      compression: 3,
      masks: [0xf800, 0x07e0, 0x001f],
      row: () => [red & 255, red >> 8, white & 255, white >> 8],
    });
    const { image } = await decodeImage(bmp);
    expectAt(image, 0, 0, [255, 0, 0]);
    expectAt(image, 1, 1, [255, 255, 255]);
  });

  it('8-bit and 4-bit and 1-bit palettes', async () => {
    const b8 = buildBmp({ width: 4, height: 2, bpp: 8, palette: colours, row: () => [3, 2, 1, 0] });
    const i8 = (await decodeImage(b8)).image;
    expectAt(i8, 0, 0, colours[3]);
    expectAt(i8, 3, 1, colours[0]);
    const b4 = buildBmp({ width: 3, height: 2, bpp: 4, palette: colours, row: () => [0x12, 0x30] });
    const i4 = (await decodeImage(b4)).image;
    expectAt(i4, 0, 0, colours[1]);
    expectAt(i4, 1, 0, colours[2]);
    expectAt(i4, 2, 0, colours[3]);
    const b1 = buildBmp({
      width: 9,
      height: 2,
      bpp: 1,
      palette: [
        [0, 0, 0],
        [255, 255, 255],
      ],
      row: () => [0b10100000, 0b10000000],
    });
    const i1 = (await decodeImage(b1)).image;
    expectAt(i1, 0, 0, [255, 255, 255]);
    expectAt(i1, 1, 0, [0, 0, 0]);
    expectAt(i1, 2, 0, [255, 255, 255]);
    expectAt(i1, 8, 1, [255, 255, 255]);
  });

  it('rejects RLE, truncated pixel data and huge headers', async () => {
    const rle = buildBmp({ width: 4, height: 2, bpp: 8, compression: 1, palette: colours, row: () => [0, 0, 0, 0] });
    await expectCode(rle, 'E_INPUT_UNSUPPORTED', /RLE/);
    const good = buildBmp({ width: 40, height: 30, bpp: 24, row: () => Array(120).fill(1) });
    await expectCode(good.subarray(0, good.length - 200), 'E_INPUT_CORRUPT', /truncated/);
    const huge = Buffer.from(good.subarray(0, 54));
    huge.writeInt32LE(100000, 18);
    huge.writeInt32LE(100000, 22);
    await expectCode(huge, 'E_INPUT_TOO_LARGE');
  });
});

describe('bad inputs give the right code and name the file', () => {
  let files: Record<string, string>;

  before(async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    const png = await encodeImage(patterned(64, 48), 'png');
    const jpeg = await encodeImage(smooth(64, 48), 'jpeg');
    const one = await sharp(Buffer.from([1, 2, 3]), { raw: { width: 1, height: 1, channels: 3 } })
      .png()
      .toBuffer();
    const gif = await sharp(Buffer.alloc(16 * 16 * 3, 90), { raw: { width: 16, height: 16, channels: 3 } })
      .gif()
      .toBuffer();
    // A JPEG whose SOF0 claims 60000x60000 (the header is all sharp reads before refusing).
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    const hugeJpeg = Buffer.from(jpeg);
    hugeJpeg.writeUInt16BE(60000, sof + 5);
    hugeJpeg.writeUInt16BE(60000, sof + 7);
    let seed = 12345;
    const random = Buffer.from(
      Array.from({ length: 4096 }, () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed >>> 24;
      }),
    );
    const contents: Record<string, Buffer | string> = {
      'empty.png': Buffer.alloc(0),
      'truncated.png': png.subarray(0, png.length >> 1),
      'truncated.jpg': jpeg.subarray(0, jpeg.length >> 1),
      'random.bin': random,
      'random.png': random,
      'notes.txt': 'This is not an image.\n',
      'bmw.txt': 'BMW service history, 2019-2024, not an image at all\n', // starts with the BMP magic "BM"
      'tiny.png': one,
      'anim.gif': gif,
      'huge.png': pngClaiming(100000, 100000, true),
      'huge-header-only.png': pngClaiming(100000, 100000, false),
      'huge.jpg': hugeJpeg,
      'fine.jpg': jpeg,
    };
    files = {};
    for (const [name, data] of Object.entries(contents)) {
      files[name] = join(bad, name);
      await writeFile(files[name], data);
    }
    files['a-directory'] = join(bad, 'a-directory.png');
    await mkdir(files['a-directory']);
  });

  it('missing file → E_INPUT_NOT_FOUND', async () => {
    await expectCode(join(dir, 'does-not-exist.png'), 'E_INPUT_NOT_FOUND', /does-not-exist\.png/);
  });

  it('directory → E_INPUT_UNREADABLE', async () => {
    await expectCode(files['a-directory'], 'E_INPUT_UNREADABLE', /a-directory\.png.*directory/);
  });

  it('zero-byte file → E_INPUT_CORRUPT', async () => {
    await expectCode(files['empty.png'], 'E_INPUT_CORRUPT', /empty\.png.*empty/);
  });

  it('truncated PNG and JPEG → E_INPUT_CORRUPT', async () => {
    await expectCode(files['truncated.png'], 'E_INPUT_CORRUPT', /truncated\.png/);
    await expectCode(files['truncated.jpg'], 'E_INPUT_CORRUPT', /truncated\.jpg/);
  });

  it('random bytes → E_INPUT_UNSUPPORTED, or E_INPUT_CORRUPT when named like an image', async () => {
    await expectCode(files['random.bin'], 'E_INPUT_UNSUPPORTED', /random\.bin.*PNG, JPEG, WebP, TIFF, BMP/);
    await expectCode(files['random.png'], 'E_INPUT_CORRUPT', /random\.png/);
  });

  it('text file → E_INPUT_UNSUPPORTED listing the supported formats', async () => {
    await expectCode(files['notes.txt'], 'E_INPUT_UNSUPPORTED', /notes\.txt.*Supported formats: PNG, JPEG, WebP, TIFF, BMP/);
    await expectCode(files['bmw.txt'], 'E_INPUT_UNSUPPORTED', /bmw\.txt.*Supported formats/);
  });

  it('GIF → E_INPUT_UNSUPPORTED (by design) with a hint', async () => {
    await expectCode(files['anim.gif'], 'E_INPUT_UNSUPPORTED', /anim\.gif.*GIF.*PNG/);
  });

  it('1x1 image → E_INPUT_TOO_SMALL; minSize is adjustable', async () => {
    await expectCode(files['tiny.png'], 'E_INPUT_TOO_SMALL', /tiny\.png.*1x1/);
    const ok = await decodeImage(files['tiny.png'], { minSize: 1 });
    assert.deepEqual(
      pixel(ok.image, 0, 0).map((v) => Math.round(v * 255)),
      [1, 2, 3],
    );
  });

  it('PNG header claiming 100000x100000 → E_INPUT_TOO_LARGE (with or without pixel data)', async () => {
    // 10^10 pixels would be 120 GB as floats: reaching the allocation would throw a RangeError
    // (or exhaust memory), so getting E_INPUT_TOO_LARGE proves the header was checked first.
    await expectCode(files['huge.png'], 'E_INPUT_TOO_LARGE', /huge\.png.*100000x100000/);
    await expectCode(files['huge-header-only.png'], 'E_INPUT_TOO_LARGE', /100000x100000/);
  });

  it('JPEG header claiming 60000x60000 → E_INPUT_TOO_LARGE', async () => {
    await expectCode(files['huge.jpg'], 'E_INPUT_TOO_LARGE', /huge\.jpg.*60000x60000/);
  });

  it('maxPixels is adjustable', async () => {
    await expectCode(files['fine.jpg'], 'E_INPUT_TOO_LARGE', /fine\.jpg/, { maxPixels: 1000 });
    const decoded = await decodeImage(files['fine.jpg'], { maxPixels: 64 * 48 });
    assert.equal(decoded.image.width, 64);
  });

  it('buffers are labelled by the name option', async () => {
    await expectCode(Buffer.from('nope'), 'E_INPUT_UNSUPPORTED', /input buffer/);
    await assert.rejects(decodeImage(Buffer.alloc(0), { name: 'upload.png' }), /upload\.png/);
  });

  it('invalid options are rejected', async () => {
    await assert.rejects(decodeImage(files['fine.jpg'], { maxPixels: 0 }), { code: 'E_INVALID_OPTION' });
    await assert.rejects(decodeImage(files['fine.jpg'], { minSize: 1.5 }), { code: 'E_INVALID_OPTION' });
  });
});

describe('encode options and files', () => {
  it('formatFromPath maps extensions case-insensitively and rejects the rest', () => {
    assert.equal(formatFromPath('a/b/photo.JPG'), 'jpeg');
    assert.equal(formatFromPath('x.jpeg'), 'jpeg');
    assert.equal(formatFromPath('x.tif'), 'tiff');
    assert.equal(formatFromPath('x.TIFF'), 'tiff');
    assert.equal(formatFromPath('x.webp'), 'webp');
    assert.equal(formatFromPath('x.bmp'), 'bmp');
    assert.equal(formatFromPath('x.png'), 'png');
    assert.throws(() => formatFromPath('x.gif'), { code: 'E_OUTPUT_UNSUPPORTED' });
    assert.throws(() => formatFromPath('noextension'), { code: 'E_OUTPUT_UNSUPPORTED' });
  });

  it('validates bitDepth, quality and format', async () => {
    const img = patterned(4, 4);
    await assert.rejects(encodeImage(img, 'jpeg', { bitDepth: 16 }), { code: 'E_INVALID_OPTION' });
    await assert.rejects(encodeImage(img, 'png', { bitDepth: 12 as 8 }), { code: 'E_INVALID_OPTION' });
    await assert.rejects(encodeImage(img, 'jpeg', { quality: 0 }), { code: 'E_INVALID_OPTION' });
    await assert.rejects(encodeImage(img, 'gif' as 'png'), { code: 'E_OUTPUT_UNSUPPORTED' });
    await assert.rejects(encodeImage({ width: 4, height: 4, channels: 3, data: new Float32Array(5) }, 'png'), { code: 'E_INVALID_OPTION' });
  });

  it('writeImage writes by extension, atomically, and refuses to overwrite without force', async () => {
    const img = patterned(8, 6);
    const path = join(dir, 'out.webp');
    await writeImage(path, img);
    const decoded = await decodeImage(path);
    assert.equal(decoded.meta.format, 'webp');
    assert.deepEqual(decoded.image.data, img.data);
    await assert.rejects(writeImage(path, img), { code: 'E_OUTPUT_EXISTS' });
    await writeImage(path, patterned(4, 4), { force: true });
    assert.equal((await decodeImage(path)).image.width, 4);
    await assert.rejects(writeImage(join(dir, 'out.gif'), img), { code: 'E_OUTPUT_UNSUPPORTED' });
    await writeImage(join(dir, 'out16.png'), patterned(4, 4, 65535), { bitDepth: 16 });
    assert.equal((await decodeImage(await readFile(join(dir, 'out16.png')))).meta.bitDepth, 16);
  });

  it('cropImage copies a rectangle and checks bounds', () => {
    const img = patterned(10, 8);
    const crop = cropImage(img, 3, 2, 4, 5);
    assert.deepEqual([crop.width, crop.height, crop.channels], [4, 5, 3]);
    assert.deepEqual(pixel(crop, 1, 1), pixel(img, 4, 3));
    assert.deepEqual(pixel(crop, 3, 4), pixel(img, 6, 6));
    assert.throws(() => cropImage(img, 7, 0, 4, 1), { code: 'E_INVALID_OPTION' });
    assert.throws(() => cropImage(img, 0, 0, 0, 1), { code: 'E_INVALID_OPTION' });
  });
});
