/**
 * Server limits and the upload check.
 *
 * Every upload is identified from its bytes (magic numbers), never from the client's file name
 * or Content-Type, and checked before a job is queued:
 * - images: the header's size against maxPixels first (a PNG that declares 100000x100000 is
 *   refused without allocating anything), then a full streaming decode to a thumbnail, so a
 *   truncated or corrupt file is refused at upload (4xx) instead of failing later in a job;
 * - video: MP4/MOV, Matroska/WebM or a raw H.264/H.265 stream, probed (core/video, any codec the
 *   bundled FFmpeg decodes: H.264, HEVC, VP9, AV1, MPEG-4 ...) for its duration and size;
 * - anything else (ZIP, text, PDF, GIF ...) is 415.
 * The worker decodes again with the same maxPixels: the upload check is not trusted alone.
 */
import sharp, { type Metadata } from 'sharp';
import { decodeImage, sniffFormat } from '../core/image/index.js';
import { isClearsightError } from '../core/errors.js';
import { readFileHead } from '../core/fs.js';
import type { InputKind } from './registry.js';

export { trimTrailingData } from './trailing.js';

export interface ServerLimits {
  /** Largest upload, bytes (per file). */
  maxUploadBytes: number;
  /** Largest image, pixels (header check before decoding). */
  maxPixels: number;
  /** Longest video, seconds. */
  maxVideoSeconds: number;
  /** Longest job run before its worker process is killed, ms. */
  jobTimeoutMs: number;
  /** Longest time to receive one request (upload included), ms. */
  requestTimeoutMs: number;
  /** Longest time to receive a request's headers, ms (slow-header clients are cut after this). */
  headersTimeoutMs: number;
  /** A connection that sends and receives nothing for this long is closed, ms. */
  idleTimeoutMs: number;
  /** Open connections at most; further ones are closed at once. */
  maxConnections: number;
  /** Open event streams (SSE) on one job at most; more get 429. */
  maxStreamsPerJob: number;
  /** Jobs queued or running at most, in all and per client address; more get 429 with Retry-After. */
  maxQueuedJobs: number;
  maxQueuedPerClient: number;
  /**
   * Memory the jobs running at once may need together (their estimates: registry
   * estimateJobMemory), bytes; a job estimated above it alone is refused at upload (413).
   */
  jobMemoryBytes: number;
  /** Most files in one request (hdr brackets). */
  maxFiles: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxUploadBytes: 50 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxVideoSeconds: 60,
  jobTimeoutMs: 15 * 60_000,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxConnections: 256,
  maxStreamsPerJob: 8,
  maxQueuedJobs: 1000,
  maxQueuedPerClient: 250,
  jobMemoryBytes: 2 * 1024 ** 3,
  maxFiles: 9,
};

/** An error with an HTTP status and a stable code, sent as {"error": {code, message, field?}}. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly field?: string;
  /** Sent as Retry-After (429, 503). */
  readonly retryAfterSeconds?: number;
  constructor(statusCode: number, code: string, message: string, field?: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** HTTP status of a library error code. */
export function statusForCode(code: string): number {
  switch (code) {
    case 'E_INVALID_OPTION':
    case 'E_INPUT_CORRUPT':
    case 'E_INPUT_UNREADABLE':
    case 'E_INPUT_TOO_SMALL':
    case 'E_INPUT_NOT_FOUND':
      return 400;
    case 'E_INPUT_TOO_LARGE':
      return 413;
    case 'E_INPUT_UNSUPPORTED':
      return 415;
    case 'E_NO_FACE':
      return 422;
    case 'E_ALREADY_MARKED':
      return 409;
    case 'E_WATERMARK_WEAK':
      return 422;
    default:
      return 500;
  }
}

type Sniffed = { kind: 'image'; format: string } | { kind: 'video'; format: string } | { kind: 'other'; what: string };

/** What the first bytes say the file is. */
export function sniffUpload(head: Buffer): Sniffed {
  const image = sniffFormat(head);
  if (image) return { kind: 'image', format: image };
  const ascii = (at: number, s: string) => head.toString('latin1', at, at + s.length) === s;
  if (ascii(4, 'ftyp')) {
    const brand = head.toString('latin1', 8, 12);
    if (/^(avif|avis|heic|heix|hevc|hevx|mif1|msf1)$/.test(brand)) return { kind: 'other', what: `an AVIF/HEIF image (brand ${brand})` };
    return { kind: 'video', format: 'mp4' };
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return { kind: 'video', format: 'matroska' };
  if (head.length >= 5 && head[0] === 0 && head[1] === 0 && (head[2] === 1 || (head[2] === 0 && head[3] === 1)))
    return { kind: 'video', format: 'h264/h265 stream' };
  if (ascii(0, 'PK\x03\x04') || ascii(0, 'PK\x05\x06')) return { kind: 'other', what: 'a ZIP archive' };
  if (head[0] === 0x1f && head[1] === 0x8b) return { kind: 'other', what: 'a gzip file' };
  if (ascii(0, 'GIF8')) return { kind: 'other', what: 'a GIF (convert it to PNG)' };
  if (ascii(0, '%PDF')) return { kind: 'other', what: 'a PDF document' };
  if (head.length > 0 && [...head.subarray(0, Math.min(head.length, 64))].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127)))
    return { kind: 'other', what: 'text' };
  return { kind: 'other', what: 'not a recognised image or video format' };
}

const ACCEPTS: Record<InputKind, string> = {
  image: 'an image (PNG, JPEG, WebP, TIFF, BMP)',
  images: 'images (PNG, JPEG, WebP, TIFF, BMP)',
  video: 'a video (H.264, HEVC, VP9, AV1, MPEG-4; MP4, MOV, MKV, WebM or a raw stream)',
  media: 'an image (PNG, JPEG, WebP, TIFF, BMP) or a video (H.264, HEVC, VP9, AV1, MPEG-4)',
};

/** What the upload check found: the kind, the image format, and the pixels of a picture or of one video frame. */
export interface Inspected {
  kind: 'image' | 'video';
  format?: string;
  pixels?: number;
}

/**
 * Checks one received upload for `kind`. Returns what it is; throws HttpError (4xx) with a message
 * that says what was found and what is accepted.
 */
export async function inspectUpload(path: string, bytes: number, kind: InputKind, limits: ServerLimits, field: string): Promise<Inspected> {
  if (bytes === 0) throw new HttpError(400, 'E_INPUT_CORRUPT', `The uploaded ${field} is empty (0 bytes)`, field);
  const sniffed = sniffUpload(await readFileHead(path, 64));
  const wantsImage = kind === 'image' || kind === 'images' || kind === 'media';
  const wantsVideo = kind === 'video' || kind === 'media';
  if (sniffed.kind === 'image' && wantsImage) {
    const pixels = await checkImage(path, sniffed.format, limits, field);
    return { kind: 'image', format: sniffed.format, pixels };
  }
  if (sniffed.kind === 'video' && wantsVideo) {
    return { kind: 'video', pixels: await checkVideo(path, limits, field) };
  }
  const found = sniffed.kind === 'other' ? sniffed.what : `${sniffed.kind === 'image' ? 'an image' : 'a video'} (${sniffed.format})`;
  throw new HttpError(
    415,
    'E_INPUT_UNSUPPORTED',
    `The uploaded ${field} is ${found}; this task takes ${ACCEPTS[kind]} (the content is checked, not the name or type)`,
    field,
  );
}

/** Returns the pixel count. */
async function checkImage(path: string, format: string, limits: ServerLimits, field: string): Promise<number> {
  if (format === 'bmp') {
    // Our own BMP codec: decodeImage checks the header against maxPixels before it allocates.
    const { meta } = await decodeImage(path, { maxPixels: limits.maxPixels, name: field }).catch((err) => {
      throw asHttp(err, field);
    });
    return meta.width * meta.height;
  }
  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new HttpError(400, 'E_INPUT_CORRUPT', `The uploaded ${field} (${format.toUpperCase()}) has an unreadable header: ${sharpMessage(err)}`, field);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w * h > limits.maxPixels) {
    throw new HttpError(
      413,
      'E_INPUT_TOO_LARGE',
      `The uploaded ${field} is ${w}x${h} (${((w * h) / 1e6).toFixed(1)} megapixels), more than this server's limit of ${(limits.maxPixels / 1e6).toFixed(1)} megapixels`,
      field,
    );
  }
  if (w < 2 || h < 2) throw new HttpError(400, 'E_INPUT_TOO_SMALL', `The uploaded ${field} is ${w}x${h}; the minimum is 2x2`, field);
  try {
    // Decodes every pixel (streaming, shrunk to a thumbnail, so memory stays small): truncation shows here.
    await sharp(path, { failOn: 'error', limitInputPixels: limits.maxPixels, sequentialRead: true }).resize(8, 8, { fit: 'fill' }).raw().toBuffer();
  } catch (err) {
    throw new HttpError(400, 'E_INPUT_CORRUPT', `The uploaded ${field} (${format.toUpperCase()}) is truncated or corrupt: ${sharpMessage(err)}`, field);
  }
  return w * h;
}

/** Returns the pixels of one frame. */
async function checkVideo(path: string, limits: ServerLimits, field: string): Promise<number> {
  let info: Awaited<ReturnType<typeof import('../core/video/index.js').probeVideo>>;
  try {
    // Loaded on first use: FFmpeg's native libraries are not needed by image-only servers.
    const { probeVideo } = await import('../core/video/index.js');
    info = await probeVideo(path);
  } catch (err) {
    throw new HttpError(400, 'E_INPUT_CORRUPT', `The uploaded ${field} cannot be read as a video: ${err instanceof Error ? err.message : String(err)}`, field);
  }
  const seconds = info.durationSeconds > 0 ? info.durationSeconds : info.fps > 0 && info.frameCount > 0 ? info.frameCount / info.fps : 0;
  if (seconds > limits.maxVideoSeconds) {
    throw new HttpError(
      413,
      'E_INPUT_TOO_LARGE',
      `The uploaded ${field} lasts ${seconds.toFixed(1)} s, more than this server's limit of ${limits.maxVideoSeconds} s`,
      field,
    );
  }
  if (info.width * info.height > limits.maxPixels) {
    throw new HttpError(
      413,
      'E_INPUT_TOO_LARGE',
      `The uploaded ${field} has ${info.width}x${info.height} frames, more than this server's limit of ${(limits.maxPixels / 1e6).toFixed(1)} megapixels`,
      field,
    );
  }
  return info.width * info.height;
}

export function asHttp(err: unknown, field?: string): HttpError {
  if (err instanceof HttpError) return err;
  if (isClearsightError(err)) return new HttpError(statusForCode(err.code), err.code, err.message, field);
  return new HttpError(500, 'E_RUNTIME', err instanceof Error ? err.message : String(err));
}

function sharpMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
