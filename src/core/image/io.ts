/**
 * Image decoding and encoding (sharp for PNG/JPEG/WebP/TIFF, our own codec for BMP).
 *
 * Supported formats, in and out: PNG, JPEG, WebP, TIFF, BMP. Other formats sharp could read
 * (GIF, AVIF/HEIF, SVG, PDF, ...) are rejected with E_INPUT_UNSUPPORTED on purpose: we only
 * promise what we test, and animated/vector inputs have no single obvious raster meaning here.
 * GIF users are told to convert to PNG (lossless for GIF content).
 *
 * Decoding:
 * - the format is detected from the content (magic bytes), not the file name;
 * - the header is read first and the size limits are enforced before any pixel is allocated;
 * - EXIF orientation is applied, so `image` is upright and `meta.width/height` are upright;
 * - 16-bit PNG/TIFF keep full precision (ushort / 65535); everything else is 8-bit / 255;
 * - greyscale is expanded to RGB, alpha is split off into `alpha`;
 * - ICC-tagged inputs are converted to sRGB by sharp; the EXIF and ICC blobs are kept in `meta`
 *   so that an encoder can carry them over (EncodeOptions.metadata, see metadata.ts).
 *
 * Encoding writes PNG, JPEG, WebP, TIFF, BMP and AVIF (AVIF is written but not read: reading it
 * would need its own tests of HEIF containers, and a picture's source format is rarely AVIF).
 */
import { statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp, { type Metadata, type OutputInfo, type SharpOptions } from 'sharp';
import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';
import { assertOutputWritable, writeFileAtomic } from '../fs.js';
import { BmpError, decodeBmp, encodeBmp24, isBmp, readBmpHeader } from './bmp.js';
import {
  exifWithOrientationReset,
  isRgbIccProfile,
  spliceJpegExif,
  splicePngExif,
  spliceWebpExif,
  withIccProfileFile,
  type SourceMetadata,
} from './metadata.js';
import { createImage, type RawImage } from './types.js';

/** Formats read and written. */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff' | 'bmp';
/** Formats written: the readable ones plus AVIF (written, not read: see the module comment). */
export type OutputFormat = ImageFormat | 'avif';

export const SUPPORTED_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp', 'tiff', 'bmp'];
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'jpeg', 'webp', 'tiff', 'avif', 'bmp'];

const FORMAT_NAMES: Record<OutputFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', tiff: 'TIFF', bmp: 'BMP', avif: 'AVIF' };
const SUPPORTED_LIST = 'PNG, JPEG, WebP, TIFF, BMP';
const OUTPUT_LIST = 'PNG, JPEG, WebP, TIFF, AVIF, BMP';

const EXTENSIONS: Record<string, OutputFormat> = {
  '.avif': 'avif',
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.bmp': 'bmp',
};

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MIN_SIZE = 2;

export interface ImageMeta {
  /** Detected source format. */
  format: ImageFormat;
  /** Upright size (after EXIF orientation), equal to `image.width/height`. */
  width: number;
  height: number;
  /** Sample depth of the source: 16 for 16-bit PNG/TIFF, else 8. */
  bitDepth: 8 | 16;
  hadAlpha: boolean;
  /** EXIF orientation tag of the source (1..8), if it had one. Already applied to `image`. */
  orientation?: number;
  /** Bands in the source: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (or CMYK). */
  sourceChannels: number;
  /** The source's raw EXIF, as read (its Orientation still as in the file); pass `meta` as EncodeOptions.metadata to keep it. */
  exif?: Buffer;
  /** The source's ICC profile (the pixels in `image` were converted from it to sRGB). */
  icc?: Buffer;
}

export interface DecodedImage {
  /** 3-channel RGB, Float32 in [0, 1]. */
  image: RawImage;
  /** width*height values in [0, 1]; present only if the source had alpha. */
  alpha?: Float32Array;
  meta: ImageMeta;
}

export interface DecodeOptions {
  /** Reject images with more pixels than this (header check, nothing allocated). Default 100 MP. */
  maxPixels?: number;
  /** Reject images whose width or height is below this. Default 2. */
  minSize?: number;
  /** Label for a Buffer input in error messages (paths name themselves). */
  name?: string;
}

/** An alpha plane with its own size (e.g. the source's alpha, before upscaling). */
export interface AlphaPlane {
  width: number;
  height: number;
  data: Float32Array;
}

export interface EncodeOptions {
  /**
   * Alpha to restore. A bare Float32Array must hold width*height values, or be a uniformly
   * scaled plane of the same aspect ratio (its size is inferred); pass an AlphaPlane to be
   * explicit. A plane of another size is resized to the image. Ignored by JPEG and BMP.
   */
  alpha?: Float32Array | AlphaPlane;
  /** 8 (default) or 16; 16 only for PNG and TIFF. */
  bitDepth?: 8 | 16;
  /** 1..100. JPEG default 95; WebP is lossless unless a quality is given; AVIF default 80. */
  quality?: number;
  /**
   * The source's metadata to carry over (a decoded image's `meta` fits): its EXIF, with the
   * Orientation set to 1 (decoding applied it), in JPEG, PNG, WebP and AVIF; its RGB ICC profile in
   * every format but BMP, the pixels converted back from sRGB into it. Absent: no metadata,
   * sRGB pixels untagged (which readers take as sRGB). See metadata.ts.
   */
  metadata?: SourceMetadata;
}

export interface WriteImageOptions extends EncodeOptions {
  /** Output format; default: from the file extension. */
  format?: OutputFormat;
  force?: boolean;
  mkdirs?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Decodes an image file or buffer into upright float RGB plus optional alpha. */
export async function decodeImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const limits = checkDecodeOptions(opts);
  const { bytes, label } = await readInput(input, opts.name);
  if (bytes.length === 0) throw corrupt(label, 'the file is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (!format) throw unrecognised(label, bytes, typeof input === 'string' ? input : undefined);
  if (format === 'bmp') return decodeBmpInput(bytes, label, limits);
  return decodeWithSharp(bytes, format, label, limits);
}

interface Limits {
  maxPixels: number;
  minSize: number;
}

function checkDecodeOptions(opts: DecodeOptions): Limits {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const minSize = opts.minSize ?? DEFAULT_MIN_SIZE;
  if (typeof maxPixels !== 'number' || !(maxPixels >= 1)) {
    throw invalidOption('maxPixels', 'a number >= 1 (or Infinity)', opts.maxPixels);
  }
  if (!Number.isInteger(minSize) || minSize < 1) {
    throw invalidOption('minSize', 'an integer >= 1', opts.minSize);
  }
  return { maxPixels, minSize };
}

async function readInput(input: string | Buffer, name?: string): Promise<{ bytes: Buffer; label: string }> {
  if (Buffer.isBuffer(input)) return { bytes: input, label: name ?? 'input buffer' };
  if ((input as unknown) instanceof Uint8Array) {
    // Callers may hand over a plain Uint8Array despite the type; wrap it without copying.
    const u8 = input as unknown as Uint8Array;
    return { bytes: Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength), label: name ?? 'input buffer' };
  }
  if (typeof input !== 'string' || input === '') throw invalidOption('input', 'a file path or a Buffer', input);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(input);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `Input file "${input}" does not exist`, { path: input });
    }
    throw unreadable(input, describeReadError(err), err);
  }
  if (info.isDirectory()) throw unreadable(input, 'it is a directory, not an image file');
  if (!info.isFile()) throw unreadable(input, 'it is not a regular file');
  try {
    return { bytes: await readFile(input), label: input };
  } catch (err) {
    throw unreadable(input, describeReadError(err), err);
  }
}

type Sniffed = ImageFormat | undefined;

/** Detects the format from magic bytes. */
export function sniffFormat(b: Uint8Array): Sniffed {
  const ascii = (start: number, text: string) => b.length >= start + text.length && [...text].every((ch, i) => b[start + i] === ch.charCodeAt(0));
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 'PNG\r\n\x1a\n')) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*') || ascii(0, 'II+\0') || ascii(0, 'MM\0+')) return 'tiff';
  if (isBmp(b)) return 'bmp';
  return undefined;
}

/** ISO-BMFF brands of still pictures (AVIF, HEIF); every other `ftyp` file is a video (MP4, MOV, 3GP ...). */
const PICTURE_BRANDS: ReadonlySet<string> = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/** The container of a video file, from its first bytes ('MP4/MOV', 'Matroska/WebM', ...), or undefined. */
export function sniffVideoContainer(b: Uint8Array): string | undefined {
  const head = Buffer.from(b.subarray(0, 32)).toString('latin1');
  if (head.slice(4, 8) === 'ftyp') return PICTURE_BRANDS.has(head.slice(8, 12)) ? undefined : head.slice(8, 10) === 'qt' ? 'QuickTime MOV' : 'MP4';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'Matroska/WebM';
  if (head.startsWith('RIFF') && head.slice(8, 11) === 'AVI') return 'AVI';
  if (head.startsWith('FLV')) return 'FLV';
  if (b[0] === 0x47 && b.length > 188 && b[188] === 0x47) return 'MPEG-TS';
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0xba) return 'MPEG-PS';
  return undefined;
}

/** Names formats we recognise but deliberately do not read, for a helpful message. */
function knownUnsupported(b: Uint8Array): string | undefined {
  const head = Buffer.from(b.subarray(0, 32)).toString('latin1');
  if (head.startsWith('GIF8')) return 'GIF (convert it to PNG first; that is lossless for GIF images)';
  if (head.slice(4, 8) === 'ftyp') return 'AVIF/HEIF';
  if (head.startsWith('%PDF')) return 'PDF';
  if (/^\s*<(\?xml|svg)/i.test(head)) return 'SVG/XML';
  if (head.startsWith('\0\0\0\x0cJXL') || head.startsWith('\xff\x0a')) return 'JPEG XL';
  if (head.startsWith('#?RADIANCE') || head.startsWith('#?RGBE')) return 'Radiance HDR';
  return undefined;
}

/**
 * The error for a file whose name promises a picture format we read (.png, .jpg, ...) but whose
 * first bytes are no such picture; undefined when the name promises none or the content is one.
 * The video reader asks this before calling a name-matched "image2" stream a still image.
 */
export function misnamedPictureError(path: string, head: Uint8Array): ClearsightError | undefined {
  const claimed = EXTENSIONS[extname(path).toLowerCase()];
  if (!claimed || sniffFormat(head) !== undefined) return undefined;
  return corrupt(path, misnamedReason(claimed));
}

const misnamedReason = (claimed: OutputFormat): string =>
  `its name says ${FORMAT_NAMES[claimed]} but the content is not a ${FORMAT_NAMES[claimed]} image (corrupt or mislabelled)`;

function unrecognised(label: string, bytes: Uint8Array, path?: string): ClearsightError {
  const video = sniffVideoContainer(bytes.subarray(0, 200));
  if (video) {
    // details.kind lets a front end name its video commands (the CLI: vsr, liveness, forensics analyze).
    return new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `Cannot read "${label}": it is a video (${video}), not a picture`, {
      path: label,
      kind: 'video',
      container: video,
    });
  }
  const known = knownUnsupported(bytes);
  if (known) {
    return new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `Cannot read "${label}": ${known} is not supported. Supported formats: ${SUPPORTED_LIST}`, {
      path: label,
      supported: SUPPORTED_FORMATS,
    });
  }
  // A name promising a supported image format whose content is not one is damaged, not foreign.
  const claimed = path ? EXTENSIONS[extname(path).toLowerCase()] : undefined;
  if (claimed) {
    return corrupt(label, misnamedReason(claimed));
  }
  return new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `Cannot read "${label}": not a recognised image format. Supported formats: ${SUPPORTED_LIST}`, {
    path: label,
    supported: SUPPORTED_FORMATS,
  });
}

/** Enforces maxPixels / minSize on header dimensions, before decoding. */
function checkSize(label: string, width: number, height: number, limits: Limits): void {
  if (width * height > limits.maxPixels) throw tooLarge(label, width, height, limits.maxPixels);
  if (width < limits.minSize || height < limits.minSize) {
    throw new ClearsightError(
      ERROR_CODES.INPUT_TOO_SMALL,
      `Cannot read "${label}": ${width}x${height} is too small (minimum ${limits.minSize}x${limits.minSize})`,
      { path: label, width, height, minSize: limits.minSize },
    );
  }
}

function tooLarge(label: string, width: number, height: number, maxPixels: number): ClearsightError {
  return new ClearsightError(
    ERROR_CODES.INPUT_TOO_LARGE,
    `Cannot read "${label}": ${width}x${height} is ${formatPixels(width * height)}, more than the limit of ${formatPixels(maxPixels)} (option maxPixels)`,
    { path: label, width, height, maxPixels },
  );
}

function formatPixels(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} megapixels` : `${n} pixels`;
}

/** PNG keeps its size at a fixed place in IHDR: check it even if the rest is unreadable. */
function peekPngSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 24 || b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function decodeBmpInput(bytes: Buffer, label: string, limits: Limits): DecodedImage {
  try {
    const header = readBmpHeader(bytes);
    checkSize(label, header.width, header.height, limits);
    const bmp = decodeBmp(bytes, limits.maxPixels);
    const image = createImage(bmp.width, bmp.height, 3, u8ToFloat(bmp.rgb));
    const meta: ImageMeta = {
      format: 'bmp',
      width: bmp.width,
      height: bmp.height,
      bitDepth: 8,
      hadAlpha: bmp.alpha !== undefined,
      sourceChannels: bmp.alpha ? 4 : 3,
    };
    return bmp.alpha ? { image, alpha: u8ToFloat(bmp.alpha), meta } : { image, meta };
  } catch (err) {
    if (!(err instanceof BmpError)) throw err;
    if (err.kind === 'unsupported') {
      throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `Cannot read "${label}": ${err.message}`, { path: label });
    }
    if (err.kind === 'too-large') {
      throw new ClearsightError(ERROR_CODES.INPUT_TOO_LARGE, `Cannot read "${label}": ${err.message}`, { path: label });
    }
    throw corrupt(label, err.message);
  }
}

async function decodeWithSharp(bytes: Buffer, format: ImageFormat, label: string, limits: Limits): Promise<DecodedImage> {
  const peeked = format === 'png' ? peekPngSize(bytes) : undefined;
  if (peeked) checkSize(label, peeked.width, peeked.height, limits);

  // Header only: sharp's metadata() does not decode pixels, so this is safe for huge claims.
  let header: Metadata;
  try {
    header = await sharp(bytes, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (err) {
    throw corrupt(label, `the ${FORMAT_NAMES[format]} header cannot be read (${sharpMessage(err)})`, err);
  }
  const detected = SUPPORTED_FORMATS.find((f) => f === header.format);
  if (!detected) {
    throw new ClearsightError(
      ERROR_CODES.INPUT_UNSUPPORTED,
      `Cannot read "${label}": ${String(header.format)} is not supported. Supported formats: ${SUPPORTED_LIST}`,
      { path: label },
    );
  }
  const swap = (header.orientation ?? 1) >= 5; // orientations 5..8 transpose the image
  const width = swap ? header.height : header.width;
  const height = swap ? header.width : header.height;
  checkSize(label, width, height, limits);
  const bitDepth = bitDepthOf(header.depth, label);

  const options: SharpOptions = {
    failOn: 'error', // 'error' includes 'truncated': a cut-off file must not decode as half grey
    limitInputPixels: Number.isFinite(limits.maxPixels) ? Math.floor(limits.maxPixels) : false,
    autoOrient: true,
  };
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(bytes, options)
      .toColourspace(bitDepth === 16 ? 'rgb16' : 'srgb') // also expands grey to RGB, CMYK to RGB
      .raw(bitDepth === 16 ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = sharpMessage(err);
    if (/pixel limit/i.test(message)) throw tooLarge(label, width, height, limits.maxPixels);
    throw corrupt(label, `the ${FORMAT_NAMES[format]} data is truncated or corrupt (${message})`, err);
  }
  const { info } = raw;
  if (info.width !== width || info.height !== height || (info.channels !== 3 && info.channels !== 4)) {
    throw corrupt(label, `decoder returned ${info.width}x${info.height}x${info.channels}, expected ${width}x${height} RGB(A)`);
  }
  const samples = bitDepth === 16 ? new Uint16Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength / 2) : raw.data;
  const { rgb, alpha } = splitChannels(samples, info.channels, bitDepth === 16 ? 65535 : 255);
  const meta: ImageMeta = {
    format: detected,
    width,
    height,
    bitDepth,
    hadAlpha: header.hasAlpha,
    sourceChannels: header.channels,
    ...(header.orientation !== undefined ? { orientation: header.orientation } : {}),
    ...(header.exif ? { exif: header.exif } : {}),
    ...(header.icc ? { icc: header.icc } : {}),
  };
  const image = createImage(width, height, 3, rgb);
  return alpha ? { image, alpha, meta } : { image, meta };
}

function bitDepthOf(depth: string, label: string): 8 | 16 {
  if (depth === 'uchar' || depth === 'char') return 8;
  if (depth === 'ushort' || depth === 'short') return 16;
  throw new ClearsightError(
    ERROR_CODES.INPUT_UNSUPPORTED,
    `Cannot read "${label}": ${depth} samples (32-bit or floating point) are not supported; use 8- or 16-bit`,
    { path: label, depth },
  );
}

/** De-interleaves RGB(A) integer samples into float RGB and float alpha. */
function splitChannels(samples: ArrayLike<number>, channels: number, scale: number): { rgb: Float32Array; alpha?: Float32Array } {
  const n = samples.length / channels;
  const rgb = new Float32Array(n * 3);
  const alpha = channels === 4 ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    rgb[i * 3] = samples[s] / scale;
    rgb[i * 3 + 1] = samples[s + 1] / scale;
    rgb[i * 3 + 2] = samples[s + 2] / scale;
    if (alpha) alpha[i] = samples[s + 3] / scale;
  }
  return alpha ? { rgb, alpha } : { rgb };
}

function u8ToFloat(src: Uint8Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] / 255;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Whether the format can store an alpha channel (JPEG and our 24-bit BMP cannot). */
export function formatSupportsAlpha(format: OutputFormat): boolean {
  return format === 'png' || format === 'webp' || format === 'tiff' || format === 'avif';
}

/** Whether the format is lossy (takes a quality): JPEG, WebP (lossless unless given one), AVIF. */
export function formatIsLossy(format: OutputFormat): boolean {
  return format === 'jpeg' || format === 'webp' || format === 'avif';
}

/** Highest bit depth the encoder writes for the format. */
export function maxBitDepth(format: OutputFormat): 8 | 16 {
  return format === 'png' || format === 'tiff' ? 16 : 8;
}

/**
 * Encodes a RawImage (1 or 3 channels, nominal [0, 1]; values are clamped and rounded).
 * Pixels are upright sRGB. Without `opts.metadata` the output carries no metadata; with it, the
 * source's EXIF (orientation 1) and ICC profile, as `metadata` says.
 */
export async function encodeImage(img: RawImage, format: OutputFormat, opts: EncodeOptions = {}): Promise<Buffer> {
  checkImage(img);
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new ClearsightError(ERROR_CODES.OUTPUT_UNSUPPORTED, `Cannot encode as ${JSON.stringify(format)}: supported output formats are ${OUTPUT_LIST}`, {
      format,
    });
  }
  const bitDepth = opts.bitDepth ?? 8;
  if (bitDepth !== 8 && bitDepth !== 16) throw invalidOption('bitDepth', '8 or 16', opts.bitDepth);
  if (bitDepth > maxBitDepth(format)) {
    throw invalidOption('bitDepth', `8 for ${FORMAT_NAMES[format]} (16-bit output needs PNG or TIFF)`, opts.bitDepth);
  }
  const quality = opts.quality;
  if (quality !== undefined && (!Number.isInteger(quality) || quality < 1 || quality > 100)) {
    throw invalidOption('quality', 'an integer from 1 to 100', quality);
  }

  if (format === 'bmp') return encodeBmp24(img.width, img.height, img.channels, quantize(img.data, 8) as Uint8Array);

  // Metadata only for colour pictures: a grey image is a map, not the source picture.
  const icc = img.channels === 3 && opts.metadata?.icc && isRgbIccProfile(opts.metadata.icc) ? opts.metadata.icc : undefined;
  const exif = img.channels === 3 && opts.metadata?.exif ? exifWithOrientationReset(opts.metadata.exif) : undefined;
  if (format === 'avif' && exif) return encodeAvifWithExif(img, opts, exif, icc);
  const encoded = icc ? await withIccProfileFile(icc, (path) => encodePixels(img, format, opts, path)) : await encodePixels(img, format, opts);
  if (!exif) return encoded;
  if (format === 'jpeg') return spliceJpegExif(encoded, exif);
  if (format === 'png') return splicePngExif(encoded, exif);
  if (format === 'webp') return spliceWebpExif(encoded, exif, img.width, img.height, opts.alpha !== undefined);
  return encoded; // TIFF: no EXIF (see metadata.ts)
}

/**
 * AVIF with the source's EXIF: sharp writes EXIF into AVIF only from an input that carries it
 * (keepExif; its withExif takes text fields, not the blob), so the pixels go through a lossless
 * PNG with the blob spliced in (and, with a profile, already converted into it: kept as they are).
 * The AVIF encode sees the same 8-bit pixels as without EXIF; the PNG costs one extra encode.
 */
async function encodeAvifWithExif(img: RawImage, opts: EncodeOptions, exif: Buffer, icc: Uint8Array | undefined): Promise<Buffer> {
  const lossless = { ...opts, quality: undefined, bitDepth: 8 as const };
  const png = icc ? await withIccProfileFile(icc, (path) => encodePixels(img, 'png', lossless, path)) : await encodePixels(img, 'png', lossless);
  let pipeline = sharp(splicePngExif(png, exif)).keepExif();
  if (icc) pipeline = pipeline.keepIccProfile();
  try {
    return await pipeline.avif({ quality: opts.quality ?? 80 }).toBuffer();
  } catch (err) {
    throw new ClearsightError(ERROR_CODES.RUNTIME, `Encoding AVIF failed: ${sharpMessage(err)}`, { format: 'avif' }, { cause: err });
  }
}

/** The sharp encode; `iccPath`: a profile to convert the sRGB pixels into and embed. */
async function encodePixels(img: RawImage, format: Exclude<OutputFormat, 'bmp'>, opts: EncodeOptions, iccPath?: string): Promise<Buffer> {
  const bitDepth = opts.bitDepth ?? 8;
  const quality = opts.quality;
  const alpha = opts.alpha !== undefined && formatSupportsAlpha(format) ? await alphaForImage(opts.alpha, img.width, img.height) : undefined;
  const channels = img.channels + (alpha ? 1 : 0);
  const samples = quantize(alpha ? appendAlpha(img, alpha) : img.data, bitDepth);
  const grey = img.channels === 1;
  const colourspace = bitDepth === 16 ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
  let pipeline = sharp(samples, { raw: { width: img.width, height: img.height, channels: channels as 1 | 2 | 3 | 4 } }).toColourspace(colourspace);
  switch (format) {
    case 'png':
      pipeline = pipeline.png({ compressionLevel: 6 });
      break;
    case 'jpeg':
      // 4:4:4 keeps colour edges sharp: restored images should not lose chroma detail on save.
      pipeline = pipeline.jpeg({ quality: quality ?? 95, chromaSubsampling: '4:4:4' });
      break;
    case 'webp':
      // exact: keep RGB under fully transparent pixels (libwebp would otherwise rewrite it),
      // so lossless WebP round-trips exactly like PNG.
      pipeline = quality === undefined ? pipeline.webp({ lossless: true, exact: true }) : pipeline.webp({ quality });
      break;
    case 'tiff':
      pipeline = pipeline.tiff({ compression: 'lzw' });
      break;
    case 'avif':
      pipeline = pipeline.avif({ quality: quality ?? 80 });
      break;
  }
  if (iccPath) pipeline = pipeline.withIccProfile(iccPath);
  try {
    return await pipeline.toBuffer();
  } catch (err) {
    throw new ClearsightError(ERROR_CODES.RUNTIME, `Encoding ${FORMAT_NAMES[format]} failed: ${sharpMessage(err)}`, { format }, { cause: err });
  }
}

function checkImage(img: RawImage): void {
  const ok =
    img !== null &&
    typeof img === 'object' &&
    Number.isInteger(img.width) &&
    Number.isInteger(img.height) &&
    img.width > 0 &&
    img.height > 0 &&
    (img.channels === 1 || img.channels === 3) &&
    img.data instanceof Float32Array &&
    img.data.length === img.width * img.height * img.channels;
  if (!ok) {
    const given = img && typeof img === 'object' ? `${img.width}x${img.height}x${img.channels} with ${img.data?.length} samples` : img;
    throw invalidOption('image', 'a RawImage with 1 or 3 channels and width*height*channels Float32 samples', given);
  }
}

/** Clamps to [0, 1] and rounds to 8- or 16-bit integers (NaN becomes 0). */
function quantize(data: Float32Array, bitDepth: 8 | 16): Uint8Array | Uint16Array {
  const max = bitDepth === 16 ? 65535 : 255;
  const out = bitDepth === 16 ? new Uint16Array(data.length) : new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const c = v > 1 ? 1 : v > 0 ? v : 0;
    out[i] = Math.round(c * max);
  }
  return out;
}

function appendAlpha(img: RawImage, alpha: Float32Array): Float32Array {
  const c = img.channels;
  const n = img.width * img.height;
  const out = new Float32Array(n * (c + 1));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) out[i * (c + 1) + k] = img.data[i * c + k];
    out[i * (c + 1) + c] = alpha[i];
  }
  return out;
}

/** Returns the alpha as width*height values, resizing it (with sharp) when its size differs. */
async function alphaForImage(alpha: Float32Array | AlphaPlane, width: number, height: number): Promise<Float32Array> {
  const plane = alpha instanceof Float32Array ? inferAlphaPlane(alpha, width, height) : alpha;
  if (!(plane.data instanceof Float32Array) || plane.data.length !== plane.width * plane.height || plane.width < 1 || plane.height < 1) {
    throw invalidOption('alpha', 'an AlphaPlane whose data has width*height values', `${plane.width}x${plane.height} with ${plane.data?.length} values`);
  }
  if (plane.width === width && plane.height === height) return plane.data;
  // Through 16-bit integers: sharp's float raw input is not reliable, and 16 bits are plenty.
  // Mitchell is smooth with little ringing, which would show as halos around cut-outs.
  const { data } = await sharp(quantize(plane.data, 16), { raw: { width: plane.width, height: plane.height, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'mitchell' })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const u16 = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = u16[i] / 65535;
  return out;
}

/** A bare alpha array of another length is taken as the image scaled uniformly (e.g. before upscaling). */
function inferAlphaPlane(data: Float32Array, width: number, height: number): AlphaPlane {
  if (data.length === width * height) return { width, height, data };
  const scale = Math.sqrt((width * height) / data.length);
  const w = Math.round(width / scale);
  const h = Math.round(height / scale);
  if (w >= 1 && h >= 1 && w * h === data.length) return { width: w, height: h, data };
  throw invalidOption(
    'alpha',
    `${width * height} values (${width}x${height}) or an AlphaPlane {width, height, data}`,
    `a Float32Array of ${data.length} values`,
  );
}

// ---------------------------------------------------------------------------------------------
// Files

/** Output format from the file extension (.png .jpg .jpeg .webp .tif .tiff .avif .bmp). */
export function formatFromPath(path: string): OutputFormat {
  const ext = extname(path).toLowerCase();
  const format = EXTENSIONS[ext];
  if (!format) {
    // A folder has no extension either: say what it is, as assertOutputWritable does.
    if (!ext && statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ClearsightError(ERROR_CODES.OUTPUT_UNWRITABLE, `Cannot write output "${path}": it is a directory; give a file name`, {
        path,
        reason: 'it is a directory; give a file name',
      });
    }
    throw new ClearsightError(
      ERROR_CODES.OUTPUT_UNSUPPORTED,
      `Cannot write "${path}": ${ext ? `extension "${ext}"` : 'a name without extension'} is not a supported output format; use one of ${Object.keys(EXTENSIONS).join(' ')}`,
      { path, extension: ext },
    );
  }
  return format;
}

/** Encodes by extension and writes atomically (refuses to overwrite unless `force`). */
export async function writeImage(path: string, img: RawImage, opts: WriteImageOptions = {}): Promise<void> {
  const format = opts.format ?? formatFromPath(path);
  await assertOutputWritable(path, opts.force ?? false, { mkdirs: opts.mkdirs });
  const bytes = await encodeImage(img, format, opts);
  await writeFileAtomic(path, bytes, { force: opts.force, mkdirs: opts.mkdirs });
}

// ---------------------------------------------------------------------------------------------
// Errors

function corrupt(label: string, reason: string, cause?: unknown): ClearsightError {
  return new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `Cannot read "${label}": ${reason}`, { path: label }, cause === undefined ? undefined : { cause });
}

function unreadable(path: string, reason: string, cause?: unknown): ClearsightError {
  return new ClearsightError(ERROR_CODES.INPUT_UNREADABLE, `Cannot read "${path}": ${reason}`, { path }, cause === undefined ? undefined : { cause });
}

function describeReadError(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory, not an image file';
  return err instanceof Error ? err.message : String(err);
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** First line of a libvips message (they repeat themselves over several lines). */
function sharpMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? 'unknown error'
  );
}
