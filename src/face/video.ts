import { stat } from 'node:fs/promises';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import type { RawImage } from '../core/image/types.js';
import { throwIfAborted, type TaskControl } from '../core/progress.js';

/**
 * Minimal video frame reader for liveness (node-av: FFmpeg demux + decode + swscale to RGB).
 * Kept inside the face module until the shared src/video reader lands; it decodes the first
 * `maxSeconds` of the first video stream into RawImages no larger than `maxSide`.
 */
export interface VideoClip {
  frames: RawImage[];
  /** Frame timestamps in seconds from the first frame. */
  times: number[];
  /** Nominal frame rate (stream average). */
  fps: number;
  width: number;
  height: number;
}

export interface ReadVideoOptions extends TaskControl {
  /** Stop after this many seconds of video. Default 10. */
  maxSeconds?: number;
  /** Downscale so that the longer side is at most this (faces stay > 100 px in 720p). Default 640. */
  maxSide?: number;
}

export async function readVideoFrames(file: string, opts: ReadVideoOptions = {}): Promise<VideoClip> {
  if (typeof file !== 'string' || file === '') throw invalidOption('file', 'a video file path', file);
  const maxSeconds = opts.maxSeconds ?? 10;
  if (typeof maxSeconds !== 'number' || !(maxSeconds > 0 && maxSeconds <= 600)) throw invalidOption('maxSeconds', 'a number in (0, 600]', opts.maxSeconds);
  const maxSide = opts.maxSide ?? 640;
  if (!Number.isInteger(maxSide) || maxSide < 64 || maxSide > 4096) throw invalidOption('maxSide', 'an integer from 64 to 4096', opts.maxSide);
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new ClearsightError(ERROR_CODES.INPUT_UNREADABLE, `"${file}" is not a regular file`, { path: file });
  } catch (err) {
    if (err instanceof ClearsightError) throw err;
    throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `Input file "${file}" does not exist`, { path: file }, { cause: err });
  }
  ensurePromiseWithResolvers();
  const { Demuxer, Decoder, FilterAPI } = await import('node-av/api');
  let input;
  try {
    input = await Demuxer.open(file);
  } catch (err) {
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${file}" is not a readable video: ${(err as Error).message}`, { path: file }, { cause: err });
  }
  try {
    const stream = input.video();
    if (!stream) throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${file}" has no video stream`, { path: file });
    const { width: sw, height: sh } = stream.codecpar;
    const k = Math.min(1, maxSide / Math.max(sw, sh));
    const w = Math.max(2, Math.round((sw * k) / 2) * 2);
    const h = Math.max(2, Math.round((sh * k) / 2) * 2);
    const rate = stream.avgFrameRate;
    const fps = rate.den > 0 && rate.num > 0 ? rate.num / rate.den : 30;
    const tb = stream.timeBase.num / stream.timeBase.den;
    const decoder = await Decoder.create(stream);
    const filter = FilterAPI.create(`scale=${w}:${h}:flags=area,format=rgb24`);
    const frames: RawImage[] = [];
    const times: number[] = [];
    let t0: number | undefined;
    try {
      outer: for await (const frame of filter.frames(decoder.frames(input.packets(stream.index)))) {
        if (!frame) continue;
        throwIfAborted(opts.signal);
        const pts = Number(frame.pts);
        const t = Number.isFinite(pts) && pts >= 0 ? pts * tb : frames.length / fps;
        t0 ??= t;
        if (t - t0 >= maxSeconds) {
          frame.free();
          break outer;
        }
        const data = frame.data?.[0];
        const stride = frame.linesize[0] ?? w * 3;
        if (!data) throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `"${file}": decoded frame without data`);
        const px = new Float32Array(w * h * 3);
        for (let y = 0; y < h; y++) {
          const row = y * stride;
          for (let x = 0; x < w * 3; x++) px[y * w * 3 + x] = data[row + x]! / 255;
        }
        frames.push({ width: w, height: h, channels: 3, data: px });
        times.push(t - t0);
        frame.free();
        opts.onProgress?.({ stage: 'decode', done: frames.length, total: Math.round(maxSeconds * fps) });
      }
    } finally {
      filter.close();
      decoder.close();
    }
    if (frames.length === 0) throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `"${file}" decoded to no frames`, { path: file });
    return { frames, times, fps, width: w, height: h };
  } finally {
    await input.close();
  }
}

/**
 * node-av 6's demuxer calls Promise.withResolvers (Node >= 22); this package supports Node 20,
 * so supply the standard behaviour when the runtime lacks it (no-op on Node 22+).
 */
function ensurePromiseWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (v: T | PromiseLike<T>) => void;
      let reject!: (e?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
