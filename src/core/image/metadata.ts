/**
 * Carrying a source picture's metadata (EXIF and ICC profile) over to an encoded output.
 *
 * sharp keeps metadata only from an input it decoded itself; our outputs are encoded from raw
 * pixels, so the blobs are taken at decode (ImageMeta.exif / .icc) and put back here:
 *
 * - ICC: decoding converted the pixels from the profile to sRGB (the networks and the classical
 *   methods work in sRGB); encoding converts them back into the source's profile and embeds it
 *   (sharp's withIccProfile, which reads the profile from a file: a temporary one). So a picture
 *   keeps the colour space it came in; colours outside sRGB were clipped at decode. Only RGB
 *   profiles are carried (a grey or CMYK source was expanded/converted to RGB: its profile no
 *   longer describes the pixels, and an untagged output is read as sRGB, which it is).
 * - EXIF: spliced into the encoded container as it is (JPEG APP1, PNG eXIf, WebP EXIF chunk),
 *   with the Orientation tag set to 1 because decoding applied it: the pixels are upright.
 *   AVIF gets it through sharp's keepExif from a lossless PNG carrying it (io.ts). TIFF and BMP
 *   outputs carry no EXIF (TIFF: libvips' writer writes none, neither keepExif nor withExif;
 *   BMP has no place for it); TIFF still carries the ICC profile.
 *
 * Pure functions on bytes except `withIccProfileFile`, which owns its temporary file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** What an encoder may carry over from the source. Both fields as sharp's metadata() returns them. */
export interface SourceMetadata {
  /** Raw EXIF (TIFF structure, with or without the leading "Exif\0\0"). */
  exif?: Buffer;
  /** ICC profile. */
  icc?: Buffer;
}

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');
const ORIENTATION_TAG = 0x0112;

/** The TIFF structure of an EXIF blob (without "Exif\0\0"), or undefined when it is not one. */
export function exifTiff(exif: Uint8Array): Buffer | undefined {
  let b = Buffer.from(exif.buffer, exif.byteOffset, exif.byteLength);
  if (b.length >= 6 && b.subarray(0, 6).equals(EXIF_HEADER)) b = b.subarray(6);
  if (b.length < 8) return undefined;
  const order = b.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const magic = order === 'II' ? b.readUInt16LE(2) : b.readUInt16BE(2);
  return magic === 42 ? b : undefined;
}

/**
 * A copy of the EXIF TIFF structure with IFD0's Orientation set to 1 (when present).
 * Decoding turned the picture upright: an output still saying 6 would be rotated twice.
 */
export function exifWithOrientationReset(exif: Uint8Array): Buffer | undefined {
  const src = exifTiff(exif);
  if (!src) return undefined;
  const b = Buffer.from(src); // copy: the caller's blob stays as it was
  const le = b.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const ifd = u32(4);
  if (ifd + 2 > b.length) return b;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > b.length) break;
    if (u16(entry) !== ORIENTATION_TAG) continue;
    const type = u16(entry + 2);
    if (type === 3 /* SHORT */) {
      if (le) b.writeUInt16LE(1, entry + 8);
      else b.writeUInt16BE(1, entry + 8);
    }
    break;
  }
  return b;
}

/** The EXIF Orientation (1..8) of IFD0, if any: for tests and diagnostics. */
export function exifOrientation(exif: Uint8Array): number | undefined {
  const b = exifTiff(exif);
  if (!b) return undefined;
  const le = b.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const ifd = le ? b.readUInt32LE(4) : b.readUInt32BE(4);
  if (ifd + 2 > b.length) return undefined;
  for (let i = 0, n = u16(ifd); i < n && ifd + 14 + i * 12 <= b.length; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) === ORIENTATION_TAG) return u16(entry + 8);
  }
  return undefined;
}

/** Whether an ICC profile describes RGB data (header bytes 16-19, the data colour space). */
export function isRgbIccProfile(icc: Uint8Array): boolean {
  return icc.length >= 128 && Buffer.from(icc.buffer, icc.byteOffset + 16, 4).toString('latin1') === 'RGB ';
}

/** Inserts an APP1 Exif segment after SOI (and after a JFIF APP0, which must come first). */
export function spliceJpegExif(jpeg: Buffer, tiff: Buffer): Buffer {
  const payloadLength = EXIF_HEADER.length + tiff.length;
  if (payloadLength + 2 > 0xffff) return jpeg; // does not fit one segment: such EXIF is not valid JPEG
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + jpeg.readUInt16BE(4);
  const head = Buffer.alloc(4);
  head[0] = 0xff;
  head[1] = 0xe1;
  head.writeUInt16BE(payloadLength + 2, 2);
  return Buffer.concat([jpeg.subarray(0, at), head, EXIF_HEADER, tiff, jpeg.subarray(at)]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Inserts an eXIf chunk before the first IDAT (where the PNG spec wants it). */
export function splicePngExif(png: Buffer, tiff: Buffer): Buffer {
  let at = 8;
  while (at + 8 <= png.length) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') break;
    at += 12 + length;
  }
  if (at + 8 > png.length) return png;
  return Buffer.concat([png.subarray(0, at), pngChunk('eXIf', tiff), png.subarray(at)]);
}

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

/**
 * Appends an EXIF chunk to a WebP, turning a simple file (VP8/VP8L) into the extended format
 * (VP8X) that may carry it. `width`/`height` are the canvas; `alpha` whether it has transparency.
 */
export function spliceWebpExif(webp: Buffer, tiff: Buffer, width: number, height: number, alpha: boolean): Buffer {
  if (webp.toString('latin1', 0, 4) !== 'RIFF' || webp.toString('latin1', 8, 12) !== 'WEBP') return webp;
  let body = webp.subarray(12);
  const EXIF_FLAG = 0x08;
  if (body.toString('latin1', 0, 4) === 'VP8X') {
    const flags = Buffer.from(body.subarray(0, 18));
    flags[8] |= EXIF_FLAG;
    body = Buffer.concat([flags, body.subarray(18)]);
  } else {
    const vp8x = Buffer.alloc(10);
    vp8x[0] = EXIF_FLAG | (alpha ? 0x10 : 0);
    vp8x.writeUIntLE(width - 1, 4, 3);
    vp8x.writeUIntLE(height - 1, 7, 3);
    body = Buffer.concat([riffChunk('VP8X', vp8x), body]);
  }
  body = Buffer.concat([body, riffChunk('EXIF', tiff)]);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length + 4, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, body]);
}

/**
 * Runs `use` with the path of a temporary file holding `icc` (sharp reads output profiles from
 * files only); the file and its folder are removed afterwards.
 */
export async function withIccProfileFile<T>(icc: Uint8Array, use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'clearsight-icc-'));
  try {
    const path = join(dir, 'source.icc');
    await writeFile(path, icc);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
