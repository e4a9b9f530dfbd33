/**
 * core/video encode: the one video writer. H.264 (libx264) in MP4 by default, keeping the audio of
 * a source file; other bundled encoders (HEVC, VP9, AV1, MPEG-4) and pixel formats (4:2:2, 4:4:4,
 * 10-bit) on request, which is how the tests make the files users bring. Frames go to a temp file
 * beside the target that `finish()` publishes atomically (core/fs), so a failed run leaves nothing.
 */
import { extname, resolve } from 'node:path';
import { unlink } from 'node:fs/promises';
import { avGetPixFmtFromName, Codec, CodecContext, FormatContext, Frame, Packet, Rational, SoftwareScaleContext } from 'node-av/lib';
import {
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_PIX_FMT_NONE,
  AV_PIX_FMT_YUV420P,
  AV_PKT_DATA_DISPLAYMATRIX,
  AVCOL_RANGE_JPEG,
  AVCOL_RANGE_MPEG,
  AVCOL_SPC_BT709,
  AVCOL_SPC_SMPTE170M,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AVFMT_GLOBALHEADER,
  AVMEDIA_TYPE_AUDIO,
} from 'node-av/constants';
import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';
import { assertOutputWritable, publishTemp, tempPathFor } from '../fs.js';
import type { ColourMatrix, ColourRange, YuvFrame } from './colour.js';
import { displayMatrixForRotation } from './decode.js';
import { quietFfmpeg } from './ffmpeg.js';

/** Encoders of the bundled FFmpeg the writer knows how to configure. */
export const VIDEO_ENCODERS = ['libx264', 'libx265', 'libvpx-vp9', 'libsvtav1', 'mpeg4'] as const;
export type VideoEncoder = (typeof VIDEO_ENCODERS)[number];

export interface VideoEncodeOptions {
  width: number;
  height: number;
  /** Frames per second of the output (default 25). */
  fps?: number;
  /** Encoder (default 'libx264'). */
  encoder?: VideoEncoder;
  /** FFmpeg pixel format name of the stream (default 'yuv420p'), e.g. 'yuv444p', 'yuv422p10le'. */
  pixelFormat?: string;
  /** Constant rate factor (x264/x265/VP9/SVT-AV1; default 18: the output should not re-blur what SR restored). */
  crf?: number;
  /** x264/x265 preset (default 'medium'). */
  preset?: string;
  /** Maximum consecutive B-frames (default: the encoder's own, 3 for x264). */
  bFrames?: number;
  /** YCbCr matrix and range the frames are in and the stream is tagged with (default BT.601 limited). */
  matrix?: ColourMatrix;
  range?: ColourRange;
  /** Clockwise turn players should apply (display matrix), e.g. to keep a phone clip upright. */
  rotation?: 0 | 90 | 180 | 270;
  /** Copy the audio track of this file into the output (remuxed, not re-encoded). */
  audioFrom?: string;
  /** Replace an existing output file. */
  force?: boolean;
}

/** Container from the output name: .mkv/.webm are Matroska/WebM, .mov QuickTime, everything else MP4. */
function containerFor(path: string): 'mp4' | 'mov' | 'matroska' | 'webm' {
  const ext = extname(path).toLowerCase();
  return ext === '.mkv' ? 'matroska' : ext === '.webm' ? 'webm' : ext === '.mov' ? 'mov' : 'mp4';
}

/**
 * Writes video frame by frame. Bytes go to a hidden temp file beside the target that `finish()`
 * moves into place; `abort()` (or any failure) removes it, so an interrupted run leaves no
 * partial output.
 */
export class VideoWriter {
  private frameIndex = 0;
  private closed = false;
  private readonly packet = new Packet();
  private audio: AudioCopier | undefined;
  private sws: SoftwareScaleContext | undefined;
  /** Encoder ticks added to every timestamp: the B-frame delay (-dts of the first packet). */
  private delay: bigint | undefined;

  private constructor(
    private readonly target: string,
    private readonly tmp: string,
    private readonly options: VideoEncodeOptions,
    private readonly ctx: CodecContext,
    private readonly fmt: FormatContext,
    private readonly videoStreamIndex: number,
    private readonly pixelFormat: number,
  ) {
    this.packet.alloc();
  }

  static async open(path: string, options: VideoEncodeOptions): Promise<VideoWriter> {
    validateEncodeOptions(options);
    await assertOutputWritable(path, options.force ?? false);
    quietFfmpeg();
    const target = resolve(path);
    const container = containerFor(target);
    const tmp = tempPathFor(target, container === 'matroska' ? '.mkv' : container === 'webm' ? '.webm' : container === 'mov' ? '.mov' : '.mp4');
    const encoder = options.encoder ?? 'libx264';
    const codec = Codec.findEncoderByName(encoder as never);
    if (!codec) throw new ClearsightError(ERROR_CODES.RUNTIME, `this FFmpeg build has no ${encoder} encoder`);
    const pixName = options.pixelFormat ?? 'yuv420p';
    const pixelFormat = avGetPixFmtFromName(pixName) as number;
    const supported = (codec.pixelFormats ?? []) as number[];
    if (pixelFormat === (AV_PIX_FMT_NONE as number) || (supported.length > 0 && !supported.includes(pixelFormat))) {
      throw invalidOption('pixelFormat', `a pixel format ${encoder} encodes`, pixName);
    }
    const fps = options.fps ?? 25;
    const rate = toRational(fps);
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.width = options.width;
    ctx.height = options.height;
    ctx.pixelFormat = pixelFormat as never;
    ctx.timeBase = new Rational(rate.den, rate.num);
    ctx.framerate = new Rational(rate.num, rate.den);
    ctx.colorSpace = (options.matrix === 'bt709' ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M) as never;
    ctx.colorRange = (options.range === 'full' ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG) as never;
    const fmt = new FormatContext();
    let audio: AudioCopier | undefined;
    try {
      if (fmt.allocOutputContext2(null, container, tmp) < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `cannot create a ${container} muxer`);
      if ((fmt.oformat!.flags & AVFMT_GLOBALHEADER) !== 0) ctx.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
      // Options go through AVOptions, not an options dictionary: avcodec_open2 replaces the
      // dictionary it is given, and node-av then frees the old one again at exit (crash).
      for (const [k, v] of Object.entries(encoderOptions(encoder, options))) {
        if (ctx.setOption(k, String(v)) < 0) throw invalidOption(k, `a value ${encoder} accepts`, v);
      }
      if (encoder === 'mpeg4') ctx.bitRate = BigInt(Math.round(options.width * options.height * fps * 0.25));
      const ret = ctx.open2Sync(codec, null);
      if (ret < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `cannot open ${encoder} (FFmpeg error ${ret}); check width/height are even`, { ret });
      const stream = fmt.newStream(null);
      ctx.parametersFromContext(stream.codecpar);
      if (options.rotation) {
        const m = displayMatrixForRotation(options.rotation);
        stream.codecpar.addCodedSideData(AV_PKT_DATA_DISPLAYMATRIX, Buffer.from(m.buffer, m.byteOffset, m.byteLength));
      }
      stream.timeBase = ctx.timeBase;
      stream.avgFrameRate = ctx.framerate;
      if (options.audioFrom) audio = await AudioCopier.open(options.audioFrom, fmt);
      if ((await fmt.openOutput()) < 0) throw new ClearsightError(ERROR_CODES.OUTPUT_UNWRITABLE, `cannot write "${path}"`, { path });
      // No edit list: FFmpeg's MP4 muxer writes one that drops the last frame of B-frame streams
      // (it ends at the last packet written in decode order). Without one, the first frame is
      // shown at the B-frame delay; drainEncoder shifts video and audio alike by that delay so
      // that no timestamp is negative and audio stays in sync.
      if ((container === 'mp4' || container === 'mov') && fmt.setOption('use_editlist', '0') < 0) {
        throw new ClearsightError(ERROR_CODES.RUNTIME, 'this FFmpeg build lacks the MP4 muxer options we need');
      }
      const hdr = fmt.writeHeaderSync(null);
      if (hdr < 0) throw new ClearsightError(ERROR_CODES.OUTPUT_UNWRITABLE, `cannot write "${path}" (FFmpeg error ${hdr})`, { path });
      const writer = new VideoWriter(target, tmp, options, ctx, fmt, stream.index, pixelFormat);
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

  /** Encodes one 8-bit 4:2:0 frame (display order); converted by swscale to the stream's format. */
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
    const pts = BigInt(this.frameIndex++);
    let f = Frame.fromVideoBuffer(buf, { width, height, format: AV_PIX_FMT_YUV420P, pts });
    f.colorSpace = this.ctx.colorSpace;
    f.colorRange = this.ctx.colorRange;
    try {
      if (this.pixelFormat !== (AV_PIX_FMT_YUV420P as number)) f = this.convert(f, pts);
      f.duration = 1n;
      const r = this.ctx.sendFrameSync(f);
      if (r < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `the encoder refused a frame (FFmpeg error ${r})`);
    } finally {
      f.free();
    }
    this.drainEncoder();
  }

  /** 4:2:0 8-bit -> the stream's pixel format (same matrix and range). Frees `src`. */
  private convert(src: Frame, pts: bigint): Frame {
    if (!this.sws) {
      this.sws = new SoftwareScaleContext();
      this.sws.allocContext();
      this.sws.setOption('sws_flags', 'bicubic');
    }
    const out = new Frame();
    out.alloc();
    out.width = src.width;
    out.height = src.height;
    out.format = this.pixelFormat as never;
    out.colorSpace = src.colorSpace;
    out.colorRange = src.colorRange;
    try {
      const r = this.sws.scaleFrameSync(out, src);
      if (r < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `cannot convert frames to ${this.options.pixelFormat} (swscale error ${r})`);
    } catch (err) {
      out.free();
      throw err;
    } finally {
      src.free();
    }
    out.pts = pts;
    return out;
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
      await publishTemp(this.tmp, this.target, { force: this.options.force ?? false });
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
    this.sws?.freeContext();
    this.ctx.freeContext();
    await this.fmt.closeOutput().catch(() => undefined);
    this.fmt.freeContext();
  }

  private drainEncoder(): void {
    const out = this.fmt.streams![this.videoStreamIndex];
    for (;;) {
      const r = this.ctx.receivePacketSync(this.packet);
      if (r === AVERROR_EAGAIN || r === AVERROR_EOF) return;
      if (r < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `the encoder failed (FFmpeg error ${r})`);
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

/** Rate control and speed settings per encoder, set through AVOptions. */
function encoderOptions(encoder: VideoEncoder, o: VideoEncodeOptions): Record<string, string | number> {
  const crf = o.crf ?? 18;
  const opts: Record<string, string | number> = {};
  switch (encoder) {
    case 'libx264':
      Object.assign(opts, { crf, preset: o.preset ?? 'medium' });
      break;
    case 'libx265':
      Object.assign(opts, { crf, preset: o.preset ?? 'medium', 'x265-params': 'log-level=none' });
      break;
    case 'libvpx-vp9':
      // Constant quality (b=0), fastest real-time speed: tests and tools, not archiving.
      Object.assign(opts, { crf: Math.min(63, crf), b: 0, deadline: 'realtime', 'cpu-used': 8 });
      break;
    case 'libsvtav1':
      Object.assign(opts, { crf: Math.min(63, crf), preset: 12 });
      break;
    case 'mpeg4':
      break;
  }
  if (o.bFrames !== undefined) opts.bf = o.bFrames;
  return opts;
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
    outStream.codecpar.codecTag = 0; // let the muxer choose the tag
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
  if (o.bFrames !== undefined && !(Number.isInteger(o.bFrames) && o.bFrames >= 0 && o.bFrames <= 16))
    throw invalidOption('bFrames', 'an integer in [0, 16]', o.bFrames);
  if (o.encoder !== undefined && !(VIDEO_ENCODERS as readonly string[]).includes(o.encoder))
    throw invalidOption('encoder', VIDEO_ENCODERS.join(' | '), o.encoder);
  if (o.rotation !== undefined && ![0, 90, 180, 270].includes(o.rotation)) throw invalidOption('rotation', '0, 90, 180 or 270', o.rotation);
}

/** fps as a rational with a small denominator (29.97 -> 30000/1001). */
function toRational(fps: number): { num: number; den: number } {
  for (const den of [1, 1001, 1000]) {
    const num = Math.round(fps * den);
    if (Math.abs(num / den - fps) < 1e-6 * fps) return { num, den };
  }
  return { num: Math.round(fps * 1000), den: 1000 };
}
