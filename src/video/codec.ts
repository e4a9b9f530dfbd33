/**
 * video/codec: H.264/H.265 decoding with the codec's own motion vectors, and H.264/MP4 encoding
 * that keeps the source's audio track. A thin layer over node-av's low-level FFmpeg bindings.
 *
 * Why the low-level API and its synchronous calls: node-av's high-level Demuxer needs
 * Promise.withResolvers (Node >= 22) and we support Node 20; the synchronous calls also avoid a
 * thread-pool hop per packet, which matters for the >= 300 fps decode target.
 *
 * Frames are yielded in display order (libavcodec reorders) one at a time: a caller that does
 * not keep them holds one frame in memory.
 */
import { randomBytes } from 'node:crypto';
import { link, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Codec, CodecContext, FormatContext, Frame, Log, Packet, Rational } from 'node-av/lib';
import {
  AV_CODEC_FLAG2_EXPORT_MVS,
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_CODEC_ID_H264,
  AV_CODEC_ID_HEVC,
  AV_FRAME_DATA_MOTION_VECTORS,
  AV_LOG_QUIET,
  AV_PIX_FMT_YUV420P,
  AV_PIX_FMT_YUVJ420P,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AVFMT_GLOBALHEADER,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
  FF_ENCODER_LIBX264,
} from 'node-av/constants';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import { assertOutputWritable } from '../core/fs.js';
import type { RawImage } from '../core/image/types.js';
import { throwIfAborted, type TaskControl } from '../core/progress.js';

// FFmpeg prints codec chatter to stderr; our errors carry the message instead.
Log.setLevel(AV_LOG_QUIET);

export type PictureType = 'I' | 'P' | 'B' | 'other';

/**
 * One motion vector of one block, as H.264 codes it. Positions are in luma pixels of the
 * decoded frame; motion in quarter pixels: the block's prediction is the reference sampled at
 * (x + mvX/4, y + mvY/4).
 */
export interface MotionVector {
  /** 'L0' predicts from a frame shown before this one, 'L1' from one shown after. */
  list: 'L0' | 'L1';
  /** Block top-left corner and size (16x16 down to 4x4 for H.264). */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Motion in quarter-pel units (FFmpeg's motion_x * 4 / motion_scale). */
  mvX: number;
  mvY: number;
}

/** A decoded 8-bit 4:2:0 picture (planes tightly packed, chroma ceil(w/2) x ceil(h/2)). */
export interface YuvFrame {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

export interface DecodedFrame extends YuvFrame {
  /** 0-based position in display order. */
  index: number;
  /** Presentation time in seconds (NaN when the stream has none). */
  time: number;
  pictureType: PictureType;
  /** Motion vectors (empty for intra pictures or when vectors were not requested). */
  vectors: MotionVector[];
  /**
   * One entry per 16x16 macroblock (row-major, ceil(w/16) x ceil(h/16)): 1 where no motion
   * vector covers the block, i.e. intra coded (FFmpeg exports no entry for intra blocks).
   * All ones for I pictures.
   */
  intra: Uint8Array;
}

export interface VideoInfo {
  width: number;
  height: number;
  codec: 'h264' | 'hevc' | string;
  /** Frames per second (average frame rate of the stream). */
  fps: number;
  /** Frame count from the container, when it stores one (0 otherwise). */
  frameCount: number;
  durationSeconds: number;
  hasAudio: boolean;
}

export interface VideoDecodeOptions extends Pick<TaskControl, 'signal'> {
  /** Export motion vectors and intra maps (default true). */
  motionVectors?: boolean;
}

export const MACROBLOCK = 16;

/** Size in bytes of FFmpeg's AVMotionVector (libavutil/motion_vector.h). */
const AV_MOTION_VECTOR_SIZE = 40;

/** Opens `path` and describes its video stream; throws E_INPUT_* for missing/non-video input. */
export async function probeVideo(path: string): Promise<VideoInfo> {
  const input = await openInput(path);
  try {
    return describe(input.fmt, input.videoIndex, input.audioIndex);
  } finally {
    await input.fmt.closeInput();
  }
}

/**
 * Decodes the video stream of `path` frame by frame, in display order, with the codec's motion
 * vectors. Decoding runs single-threaded: FFmpeg's frame threading makes vector export
 * unreliable on B-frame streams.
 */
export async function* decodeVideo(path: string, options: VideoDecodeOptions = {}): AsyncGenerator<DecodedFrame> {
  const wantVectors = options.motionVectors ?? true;
  if (typeof wantVectors !== 'boolean') throw invalidOption('motionVectors', 'a boolean', wantVectors);
  const input = await openInput(path);
  const { fmt, videoIndex } = input;
  const stream = fmt.streams![videoIndex];
  const codec = Codec.findDecoder(stream.codecpar.codecId);
  if (!codec) {
    await fmt.closeInput();
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `no decoder for the video codec of "${path}"`, { path });
  }
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.parametersToContext(stream.codecpar);
  ctx.threadCount = 1;
  if (wantVectors) ctx.setFlags2(AV_CODEC_FLAG2_EXPORT_MVS);
  const packet = new Packet();
  packet.alloc();
  const frame = new Frame();
  frame.alloc();
  try {
    const ret = ctx.open2Sync(codec, null);
    if (ret < 0) throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `cannot open the decoder for "${path}" (FFmpeg error ${ret})`, { path });
    const tb = stream.timeBase;
    let index = 0;
    const drain = function* (): Generator<DecodedFrame> {
      for (;;) {
        const r = ctx.receiveFrameSync(frame);
        if (r === AVERROR_EAGAIN || r === AVERROR_EOF) return;
        if (r < 0) throw corrupt(path, r);
        try {
          yield toDecodedFrame(frame, index++, tb.num / tb.den, wantVectors, path);
        } finally {
          frame.unref();
        }
      }
    };
    let sawVideoPacket = false;
    for (;;) {
      throwIfAborted(options.signal);
      const r = fmt.readFrameSync(packet);
      if (r === AVERROR_EOF) break;
      if (r < 0) throw corrupt(path, r);
      try {
        if (packet.streamIndex !== videoIndex) continue;
        sawVideoPacket = true;
        const s = ctx.sendPacketSync(packet);
        // A damaged packet is skipped the way players do; a stream with no decodable frame at
        // all is reported after the loop.
        if (s < 0 && s !== AVERROR_EAGAIN) continue;
      } finally {
        packet.unref();
      }
      yield* drain();
    }
    ctx.sendPacketSync(null);
    yield* drain();
    if (index === 0) {
      throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, sawVideoPacket ? `"${path}" has a video stream but no frame could be decoded` : `"${path}" has no video packets`, { path });
    }
  } finally {
    frame.free();
    packet.free();
    ctx.freeContext();
    await fmt.closeInput();
  }
}

/** Reads the whole motion-vector side data of a frame into our shape. */
export function parseMotionVectors(buf: Uint8Array): MotionVector[] {
  // A DataView over the side data: V8 inlines its getters (Buffer.read* checks bounds per call).
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Math.floor(buf.byteLength / AV_MOTION_VECTOR_SIZE);
  const out: MotionVector[] = new Array(n);
  for (let k = 0, o = 0; k < n; k++, o += AV_MOTION_VECTOR_SIZE) {
    const w = dv.getUint8(o + 4);
    const h = dv.getUint8(o + 5);
    const motionX = dv.getInt32(o + 24, true);
    const motionY = dv.getInt32(o + 28, true);
    const scale = dv.getUint16(o + 32, true) || 4;
    // dst_x/dst_y are the block centre (FFmpeg adds w/2, h/2).
    out[k] = {
      list: dv.getInt32(o, true) < 0 ? 'L0' : 'L1',
      x: dv.getInt16(o + 10, true) - (w >> 1),
      y: dv.getInt16(o + 12, true) - (h >> 1),
      width: w,
      height: h,
      mvX: scale === 4 ? motionX : Math.round((motionX * 4) / scale),
      mvY: scale === 4 ? motionY : Math.round((motionY * 4) / scale),
    };
  }
  return out;
}

/** Macroblocks that no motion vector touches (intra coded). */
export function intraMap(width: number, height: number, vectors: readonly MotionVector[], intraPicture: boolean): Uint8Array {
  const mbw = Math.ceil(width / MACROBLOCK);
  const mbh = Math.ceil(height / MACROBLOCK);
  const map = new Uint8Array(mbw * mbh).fill(1);
  if (intraPicture) return map;
  for (const v of vectors) {
    const bx = Math.floor(v.x / MACROBLOCK);
    const by = Math.floor(v.y / MACROBLOCK);
    if (bx >= 0 && by >= 0 && bx < mbw && by < mbh) map[by * mbw + bx] = 0;
  }
  return map;
}

function toDecodedFrame(frame: Frame, index: number, timeBase: number, wantVectors: boolean, path: string): DecodedFrame {
  const format = frame.format;
  if (format !== AV_PIX_FMT_YUV420P && format !== AV_PIX_FMT_YUVJ420P) {
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}": only 8-bit 4:2:0 video is supported (pixel format id ${format})`, { path, pixelFormat: format });
  }
  const { width, height } = frame;
  const planes = copyPlanes(frame, width, height);
  const pictureType = pictureTypeOf(frame.pictType as unknown as number);
  const side = wantVectors ? frame.getSideData(AV_FRAME_DATA_MOTION_VECTORS) : null;
  const vectors = side ? parseMotionVectors(side) : [];
  const pts = frame.bestEffortTimestamp;
  return {
    index,
    time: pts === -9223372036854775808n ? Number.NaN : Number(pts) * timeBase,
    pictureType,
    width,
    height,
    ...planes,
    vectors,
    intra: intraMap(width, height, vectors, pictureType === 'I' || (wantVectors && !side)),
  };
}

/** Copies the three planes out of FFmpeg's padded buffers (linesize >= width). */
function copyPlanes(frame: Frame, width: number, height: number): Pick<YuvFrame, 'y' | 'u' | 'v'> {
  const data = frame.data!;
  const ls = frame.linesize;
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const plane = (buf: Buffer, stride: number, w: number, h: number): Uint8Array => {
    const out = new Uint8Array(w * h);
    if (stride === w) out.set(buf.subarray(0, w * h));
    else for (let r = 0; r < h; r++) out.set(buf.subarray(r * stride, r * stride + w), r * w);
    return out;
  };
  return { y: plane(data[0], ls[0], width, height), u: plane(data[1], ls[1], cw, ch), v: plane(data[2], ls[2], cw, ch) };
}

function pictureTypeOf(t: number): PictureType {
  // AVPictureType: 1 I, 2 P, 3 B.
  return t === 1 ? 'I' : t === 2 ? 'P' : t === 3 ? 'B' : 'other';
}

interface OpenInput {
  fmt: FormatContext;
  videoIndex: number;
  audioIndex: number;
}

async function openInput(path: string): Promise<OpenInput> {
  try {
    await stat(path);
  } catch {
    throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `Input file "${path}" does not exist`, { path });
  }
  const fmt = new FormatContext();
  const r = await fmt.openInput(path);
  if (r < 0) {
    fmt.freeContext();
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}" is not a video file FFmpeg can read`, { path, ffmpegError: r });
  }
  try {
    if ((await fmt.findStreamInfo()) < 0) throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `"${path}": cannot read the stream information`, { path });
    const videoIndex = fmt.findBestStream(AVMEDIA_TYPE_VIDEO);
    if (videoIndex < 0) throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}" has no video stream`, { path });
    const codecId = fmt.streams![videoIndex].codecpar.codecId;
    // Still images (PNG, JPEG) open as one-frame "video" streams: not what this module is for.
    if (codecId !== AV_CODEC_ID_H264 && codecId !== AV_CODEC_ID_HEVC) {
      throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}": only H.264 and H.265 video is supported (codec id ${codecId})`, { path });
    }
    const audioIndex = fmt.findBestStream(AVMEDIA_TYPE_AUDIO);
    return { fmt, videoIndex, audioIndex };
  } catch (err) {
    await fmt.closeInput();
    throw err;
  }
}

function describe(fmt: FormatContext, videoIndex: number, audioIndex: number): VideoInfo {
  const s = fmt.streams![videoIndex];
  const par = s.codecpar;
  const rate = s.avgFrameRate.den ? s.avgFrameRate.num / s.avgFrameRate.den : 0;
  const fallback = s.rFrameRate.den ? s.rFrameRate.num / s.rFrameRate.den : 0;
  const tb = s.timeBase;
  const dur = s.duration > 0n ? (Number(s.duration) * tb.num) / tb.den : Number(fmt.duration) / 1e6;
  return {
    width: par.width,
    height: par.height,
    codec: par.codecId === AV_CODEC_ID_H264 ? 'h264' : par.codecId === AV_CODEC_ID_HEVC ? 'hevc' : String(par.codecId),
    fps: rate > 0 && Number.isFinite(rate) ? rate : fallback,
    frameCount: Number(s.nbFrames),
    durationSeconds: Number.isFinite(dur) && dur > 0 ? dur : 0,
    hasAudio: audioIndex >= 0,
  };
}

function corrupt(path: string, code: number): ClearsightError {
  return new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `"${path}" could not be decoded (FFmpeg error ${code})`, { path, ffmpegError: code });
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface VideoEncodeOptions {
  width: number;
  height: number;
  /** Frames per second of the output (default 25). */
  fps?: number;
  /** x264 constant rate factor (default 18: the output should not re-blur what SR restored). */
  crf?: number;
  /** x264 preset (default 'medium'). */
  preset?: string;
  /** Maximum consecutive B-frames (default: x264's own, 3). */
  bFrames?: number;
  /** Copy the audio track of this file into the output (remuxed, not re-encoded). */
  audioFrom?: string;
  /** Replace an existing output file. */
  force?: boolean;
}

/**
 * Writes H.264 in MP4, frame by frame. Bytes go to a hidden temp file beside the target that
 * `finish()` moves into place; `abort()` (or any failure) removes it, so an interrupted run
 * leaves no partial output.
 */
export class VideoWriter {
  private frameIndex = 0;
  private closed = false;
  private readonly packet = new Packet();
  private audio: AudioCopier | undefined;
  /** Encoder ticks added to every timestamp: the B-frame delay (-dts of the first packet). */
  private delay: bigint | undefined;

  private constructor(
    private readonly target: string,
    private readonly tmp: string,
    private readonly options: VideoEncodeOptions,
    private readonly ctx: CodecContext,
    private readonly fmt: FormatContext,
    private readonly videoStreamIndex: number,
  ) {
    this.packet.alloc();
  }

  static async open(path: string, options: VideoEncodeOptions): Promise<VideoWriter> {
    validateEncodeOptions(options);
    await assertOutputWritable(path, options.force ?? false);
    const target = resolve(path);
    const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp.mp4`);
    const codec = Codec.findEncoderByName(FF_ENCODER_LIBX264);
    if (!codec) throw new ClearsightError(ERROR_CODES.RUNTIME, 'this FFmpeg build has no libx264 encoder');
    const fps = options.fps ?? 25;
    const rate = toRational(fps);
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.width = options.width;
    ctx.height = options.height;
    ctx.pixelFormat = AV_PIX_FMT_YUV420P;
    ctx.timeBase = new Rational(rate.den, rate.num);
    ctx.framerate = new Rational(rate.num, rate.den);
    const fmt = new FormatContext();
    let audio: AudioCopier | undefined;
    try {
      if (fmt.allocOutputContext2(null, 'mp4', tmp) < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, 'cannot create an MP4 muxer');
      if ((fmt.oformat!.flags & AVFMT_GLOBALHEADER) !== 0) ctx.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
      // Options go through AVOptions, not an options dictionary: avcodec_open2 replaces the
      // dictionary it is given, and node-av then frees the old one again at exit (crash).
      const x264: Record<string, string | number> = { crf: options.crf ?? 18, preset: options.preset ?? 'medium' };
      if (options.bFrames !== undefined) x264.bf = options.bFrames;
      for (const [k, v] of Object.entries(x264)) {
        if (ctx.setOption(k, String(v)) < 0) throw invalidOption(k, 'a value libx264 accepts', v);
      }
      const ret = ctx.open2Sync(codec, null);
      if (ret < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `cannot open libx264 (FFmpeg error ${ret}); check width/height are even`, { ret });
      const stream = fmt.newStream(null);
      ctx.parametersFromContext(stream.codecpar);
      stream.timeBase = ctx.timeBase;
      stream.avgFrameRate = ctx.framerate;
      if (options.audioFrom) audio = await AudioCopier.open(options.audioFrom, fmt);
      if ((await fmt.openOutput()) < 0) throw new ClearsightError(ERROR_CODES.OUTPUT_UNWRITABLE, `cannot write "${path}"`, { path });
      // No edit list: FFmpeg's MP4 muxer writes one that drops the last frame of B-frame streams
      // (it ends at the last packet written in decode order). Without one, the first frame is
      // shown at the B-frame delay; drainEncoder shifts video and audio alike by that delay so
      // that no timestamp is negative and audio stays in sync.
      if (fmt.setOption('use_editlist', '0') < 0) {
        throw new ClearsightError(ERROR_CODES.RUNTIME, 'this FFmpeg build lacks the MP4 muxer options we need');
      }
      const hdr = fmt.writeHeaderSync(null);
      if (hdr < 0) throw new ClearsightError(ERROR_CODES.OUTPUT_UNWRITABLE, `cannot write "${path}" (FFmpeg error ${hdr})`, { path });
      const writer = new VideoWriter(target, tmp, options, ctx, fmt, stream.index);
      writer.audio = audio;
      return writer;
    } catch (err) {
      audio?.close();
      ctx.freeContext();
      await fmt.closeOutput().catch(() => undefined);
      fmt.freeContext();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** Encodes one frame (display order). */
  write(frame: YuvFrame): void {
    if (this.closed) throw new ClearsightError(ERROR_CODES.RUNTIME, 'VideoWriter used after finish()/abort()');
    const { width, height } = this.options;
    if (frame.width !== width || frame.height !== height) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `frame is ${frame.width}x${frame.height}, the writer was opened for ${width}x${height}`);
    }
    const cw = (width + 1) >> 1;
    const ch = (height + 1) >> 1;
    const buf = Buffer.allocUnsafe(width * height + 2 * cw * ch);
    buf.set(frame.y, 0);
    buf.set(frame.u, width * height);
    buf.set(frame.v, width * height + cw * ch);
    const f = Frame.fromVideoBuffer(buf, { width, height, format: AV_PIX_FMT_YUV420P, pts: BigInt(this.frameIndex++) });
    f.duration = 1n;
    try {
      const r = this.ctx.sendFrameSync(f);
      if (r < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `libx264 refused a frame (FFmpeg error ${r})`);
    } finally {
      f.free();
    }
    this.drainEncoder();
  }

  get framesWritten(): number {
    return this.frameIndex;
  }

  /** Flushes the encoder, copies the remaining audio, and moves the file into place. */
  async finish(): Promise<void> {
    if (this.closed) return;
    try {
      this.ctx.sendFrameSync(null);
      this.drainEncoder();
      this.audio?.copyUntil(Number.POSITIVE_INFINITY);
      const r = this.fmt.writeTrailerSync();
      if (r < 0) throw new ClearsightError(ERROR_CODES.OUTPUT_UNWRITABLE, `cannot finish "${this.target}" (FFmpeg error ${r})`);
      await this.release();
      await publish(this.tmp, this.target, this.options.force ?? false);
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Stops and deletes the temp file; the target is untouched. */
  async abort(): Promise<void> {
    await this.release();
    await unlink(this.tmp).catch(() => undefined);
  }

  private async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.audio?.close();
    this.packet.free();
    this.ctx.freeContext();
    await this.fmt.closeOutput().catch(() => undefined);
    this.fmt.freeContext();
  }

  private drainEncoder(): void {
    const out = this.fmt.streams![this.videoStreamIndex];
    for (;;) {
      const r = this.ctx.receivePacketSync(this.packet);
      if (r === AVERROR_EAGAIN || r === AVERROR_EOF) return;
      if (r < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `libx264 failed (FFmpeg error ${r})`);
      if (this.delay === undefined) {
        this.delay = this.packet.dts < 0n ? -this.packet.dts : 0n;
        if (this.audio) this.audio.delaySeconds = (Number(this.delay) * this.ctx.timeBase.num) / this.ctx.timeBase.den;
      }
      this.packet.pts += this.delay;
      this.packet.dts += this.delay;
      const time = (Number(this.packet.dts) * this.ctx.timeBase.num) / this.ctx.timeBase.den;
      // Interleave: audio packets due before this video packet go first.
      this.audio?.copyUntil(time);
      this.packet.rescaleTs(this.ctx.timeBase, out.timeBase);
      this.packet.streamIndex = this.videoStreamIndex;
      const w = this.fmt.interleavedWriteFrameSync(this.packet);
      if (w < 0) throw new ClearsightError(ERROR_CODES.OUTPUT_UNWRITABLE, `cannot write "${this.target}" (FFmpeg error ${w})`);
    }
  }
}

/** Remuxes the audio packets of a source file into an output, in time order, unchanged. */
class AudioCopier {
  private readonly packet = new Packet();
  private pending = false;
  private done = false;
  /** Added to every audio timestamp (the video's B-frame delay), to keep sync. */
  delaySeconds = 0;

  private constructor(
    private readonly input: FormatContext,
    private readonly inIndex: number,
    private readonly output: FormatContext,
    private readonly outIndex: number,
  ) {
    this.packet.alloc();
  }

  static async open(path: string, output: FormatContext): Promise<AudioCopier | undefined> {
    const input = new FormatContext();
    if ((await input.openInput(path)) < 0) {
      input.freeContext();
      throw new ClearsightError(ERROR_CODES.INPUT_UNREADABLE, `cannot read the audio of "${path}"`, { path });
    }
    await input.findStreamInfo();
    const inIndex = input.findBestStream(AVMEDIA_TYPE_AUDIO);
    if (inIndex < 0) {
      await input.closeInput();
      return undefined;
    }
    const outStream = output.newStream(null);
    input.streams![inIndex].codecpar.copy(outStream.codecpar);
    outStream.codecpar.codecTag = 0; // let the MP4 muxer choose the tag
    outStream.timeBase = input.streams![inIndex].timeBase;
    return new AudioCopier(input, inIndex, output, outStream.index);
  }

  /** Writes audio packets whose time is <= `seconds`. */
  copyUntil(seconds: number): void {
    const inTb = this.input.streams![this.inIndex].timeBase;
    for (;;) {
      if (this.done) return;
      if (!this.pending) {
        const r = this.input.readFrameSync(this.packet);
        if (r < 0) {
          this.done = true;
          return;
        }
        if (this.packet.streamIndex !== this.inIndex) {
          this.packet.unref();
          continue;
        }
        this.pending = true;
      }
      const t = (Number(this.packet.dts) * inTb.num) / inTb.den + this.delaySeconds;
      if (t > seconds) return;
      const shift = BigInt(Math.round((this.delaySeconds * inTb.den) / inTb.num));
      this.packet.pts += shift;
      this.packet.dts += shift;
      const outTb = this.output.streams![this.outIndex].timeBase;
      this.packet.rescaleTs(inTb, outTb);
      this.packet.streamIndex = this.outIndex;
      this.packet.pos = -1n;
      this.output.interleavedWriteFrameSync(this.packet);
      this.pending = false;
    }
  }

  close(): void {
    this.packet.free();
    void this.input.closeInput();
  }
}

function validateEncodeOptions(o: VideoEncodeOptions): void {
  if (!Number.isInteger(o.width) || o.width < 16 || o.width % 2) throw invalidOption('width', 'an even integer >= 16', o.width);
  if (!Number.isInteger(o.height) || o.height < 16 || o.height % 2) throw invalidOption('height', 'an even integer >= 16', o.height);
  if (o.fps !== undefined && !(o.fps > 0 && o.fps <= 1000)) throw invalidOption('fps', 'a number in (0, 1000]', o.fps);
  if (o.crf !== undefined && !(o.crf >= 0 && o.crf <= 51)) throw invalidOption('crf', 'a number in [0, 51]', o.crf);
  if (o.bFrames !== undefined && !(Number.isInteger(o.bFrames) && o.bFrames >= 0 && o.bFrames <= 16)) throw invalidOption('bFrames', 'an integer in [0, 16]', o.bFrames);
}

/** fps as a rational with a small denominator (29.97 -> 30000/1001). */
function toRational(fps: number): { num: number; den: number } {
  for (const den of [1, 1001, 1000]) {
    const num = Math.round(fps * den);
    if (Math.abs(num / den - fps) < 1e-6 * fps) return { num, den };
  }
  return { num: Math.round(fps * 1000), den: 1000 };
}

async function publish(tmp: string, target: string, force: boolean): Promise<void> {
  if (force) {
    await rename(tmp, target);
    return;
  }
  try {
    await link(tmp, target); // fails with EEXIST: "create only if absent", atomically
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST') {
      await unlink(tmp).catch(() => undefined);
      throw new ClearsightError(ERROR_CODES.OUTPUT_EXISTS, `Output file "${target}" already exists; use --force to overwrite it`, { path: target });
    }
    await rename(tmp, target);
    return;
  }
  await unlink(tmp);
}

// ---------------------------------------------------------------------------------------------
// Colour conversion (BT.601 limited range, what SD H.264 and x264's defaults assume)


/** YUV 4:2:0 -> RGB RawImage in [0, 1] (chroma upsampled by pixel replication). */
export function yuvToRgb(f: YuvFrame): RawImage {
  const { width, height } = f;
  const cw = (width + 1) >> 1;
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = (y >> 1) * cw + (x >> 1);
      const Y = (f.y[y * width + x] - 16) * (1 / 219);
      const U = (f.u[c] - 128) * (1 / 224);
      const V = (f.v[c] - 128) * (1 / 224);
      const i = (y * width + x) * 3;
      data[i] = clamp01(Y + 1.402 * V);
      data[i + 1] = clamp01(Y - 0.344136 * U - 0.714136 * V);
      data[i + 2] = clamp01(Y + 1.772 * U);
    }
  }
  return { width, height, channels: 3, data };
}

/** RGB RawImage in [0, 1] -> YUV 4:2:0 (chroma averaged over each 2x2 block). */
export function rgbToYuv(img: RawImage): YuvFrame {
  const { width, height, data } = img;
  if (img.channels !== 3) throw invalidOption('image.channels', '3', img.channels);
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const y = new Uint8Array(width * height);
  const u = new Uint8Array(cw * ch);
  const v = new Uint8Array(cw * ch);
  const su = new Float32Array(cw * ch);
  const sv = new Float32Array(cw * ch);
  const n = new Float32Array(cw * ch);
  for (let r = 0; r < height; r++) {
    for (let x = 0; x < width; x++) {
      const i = (r * width + x) * 3;
      const R = data[i];
      const G = data[i + 1];
      const B = data[i + 2];
      const Y = 0.299 * R + 0.587 * G + 0.114 * B;
      y[r * width + x] = toByte(16 + 219 * Y);
      const c = (r >> 1) * cw + (x >> 1);
      su[c] += (B - Y) / 1.772;
      sv[c] += (R - Y) / 1.402;
      n[c] += 1;
    }
  }
  for (let c = 0; c < u.length; c++) {
    u[c] = toByte(128 + (224 * su[c]) / n[c]);
    v[c] = toByte(128 + (224 * sv[c]) / n[c]);
  }
  return { width, height, y, u, v };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function toByte(x: number): number {
  return x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
}
