/**
 * core/video decode: the one reader of video files. Whatever the bundled FFmpeg (node-av 6.1.1,
 * FFmpeg 8.1.1) decodes: H.264, HEVC, VP9, AV1, MPEG-4, ... in any pixel format and bit depth,
 * converted through swscale into 8-bit YUV 4:2:0 planes (`decodeVideo`) or RGB images
 * (`decodeVideoRgb`, `readVideoFrames`), with the stream's rotation metadata applied and, where
 * the codec exports them (H.264, MPEG-2/4), the motion vectors of every block.
 *
 * Why the low-level API and its synchronous calls: node-av's high-level Demuxer needs
 * Promise.withResolvers (Node >= 22) and we support Node 20; the synchronous calls also avoid a
 * thread-pool hop per packet, which matters for the >= 300 fps decode target.
 *
 * Frames are yielded in display order one at a time: a caller that does not keep them holds one
 * frame in memory. Nothing happens at import: FFmpeg's log level is set when a file is opened.
 */
import { stat } from 'node:fs/promises';
import { avGetCodecName, avGetPixFmtName, Codec, CodecContext, FormatContext, Frame, Packet, SoftwareScaleContext } from 'node-av/lib';
import {
  AV_CODEC_FLAG2_EXPORT_MVS,
  AV_DISPOSITION_ATTACHED_PIC,
  AV_FRAME_DATA_MOTION_VECTORS,
  AV_PIX_FMT_RGB24,
  AV_PIX_FMT_YUV420P,
  AV_PIX_FMT_YUVJ420P,
  AV_PKT_DATA_DISPLAYMATRIX,
  AVCOL_RANGE_JPEG,
  AVCOL_RANGE_MPEG,
  AVCOL_SPC_BT470BG,
  AVCOL_SPC_BT709,
  AVCOL_SPC_SMPTE170M,
  AVCOL_SPC_UNSPECIFIED,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
} from 'node-av/constants';
import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';
import { readFileHead } from '../fs.js';
import type { RawImage } from '../image/types.js';
import { misnamedPictureError } from '../image/io.js';
import { report, throwIfAborted, type TaskControl } from '../progress.js';
import { rgbToYuv, type ColourMatrix, type ColourRange, type YuvFrame } from './colour.js';
import { quietFfmpeg } from './ffmpeg.js';

export type PictureType = 'I' | 'P' | 'B' | 'other';

/**
 * One motion vector of one block, as the codec codes it. Positions are in luma pixels of the
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

export interface DecodedFrame extends YuvFrame {
  /** 0-based position in display order. */
  index: number;
  /** Presentation time in seconds (NaN when the stream has none). */
  time: number;
  pictureType: PictureType;
  /** Motion vectors (empty for intra pictures, codecs that export none, or when not requested). */
  vectors: MotionVector[];
  /**
   * One entry per 16x16 macroblock (row-major, ceil(w/16) x ceil(h/16)): 1 where no motion
   * vector covers the block, i.e. intra coded (FFmpeg exports no entry for intra blocks).
   * All ones for I pictures and for codecs that export no vectors.
   */
  intra: Uint8Array;
  matrix: ColourMatrix;
  range: ColourRange;
}

/** A decoded picture as an RGB image in [0, 1] (`decodeVideoRgb`). */
export interface RgbFrame {
  index: number;
  time: number;
  pictureType: PictureType;
  image: RawImage;
}

/** How the stream asks to be shown (ffmpeg's autorotate): applied to the decoded picture. */
export interface Orientation {
  /** Clockwise rotation in degrees the player applies (0, 90, 180, 270). */
  rotation: 0 | 90 | 180 | 270;
  /** Output (x, y) reads input (y, x) before the flips: 90/270 degree turns. */
  swap: boolean;
  /** Mirror along x / y (in input coordinates). */
  flipX: boolean;
  flipY: boolean;
}

export const IDENTITY_ORIENTATION: Orientation = { rotation: 0, swap: false, flipX: false, flipY: false };

export interface VideoInfo {
  /** Displayed size: the coded size with the rotation applied. */
  width: number;
  height: number;
  /** Size of the coded pictures (what `autorotate: false` yields). */
  codedWidth: number;
  codedHeight: number;
  /** FFmpeg's codec name: 'h264', 'hevc', 'vp9', 'av1', 'mpeg4', ... */
  codec: string;
  /** FFmpeg's pixel format name of the stream: 'yuv420p', 'yuv444p', 'yuv422p10le', ... */
  pixelFormat: string;
  /** FFmpeg's container (demuxer) name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm'. */
  container: string;
  orientation: Orientation;
  /** Frames per second (average frame rate of the stream). */
  fps: number;
  /** Frame count from the container, when it stores one (0 otherwise). */
  frameCount: number;
  durationSeconds: number;
  hasAudio: boolean;
}

export interface VideoDecodeOptions extends Pick<TaskControl, 'signal'> {
  /** Export motion vectors and intra maps (default true for `decodeVideo`). */
  motionVectors?: boolean;
  /**
   * Apply the stream's rotation metadata to the pictures (default true). Motion vectors are in
   * the coded picture's coordinates, so a rotated stream with vectors needs `autorotate: false`
   * (vsr does that and writes the rotation into its output instead).
   */
  autorotate?: boolean;
  /** Downscale (area filter) so the longer displayed side is at most this, keeping even sizes. */
  maxSide?: number;
}

export const MACROBLOCK = 16;

/** Size in bytes of FFmpeg's AVMotionVector (libavutil/motion_vector.h). */
const AV_MOTION_VECTOR_SIZE = 40;

/** Opens `path` and describes its video stream; throws E_INPUT_* for missing/non-video input. */
export async function probeVideo(path: string): Promise<VideoInfo> {
  const input = await openInput(path);
  try {
    return describe(input);
  } finally {
    await input.fmt.closeInput();
  }
}

/**
 * Decodes the video stream of `path` into 8-bit YUV 4:2:0 frames in display order, with the
 * codec's motion vectors. 8-bit 4:2:0 pictures are copied as decoded (bit-exact, which the motion
 * compensation needs); every other format goes through swscale, keeping the stream's matrix and
 * range (reported on each frame).
 */
export async function* decodeVideo(path: string, options: VideoDecodeOptions = {}): AsyncGenerator<DecodedFrame> {
  const wantVectors = options.motionVectors ?? true;
  if (typeof wantVectors !== 'boolean') throw invalidOption('motionVectors', 'a boolean', wantVectors);
  for await (const d of decodeRaw(path, { ...options, motionVectors: wantVectors })) {
    yield toDecodedFrame(d, wantVectors);
  }
}

/** Decodes `path` into RGB images in [0, 1] (swscale, with the stream's matrix and range). */
export async function* decodeVideoRgb(path: string, options: Omit<VideoDecodeOptions, 'motionVectors'> = {}): AsyncGenerator<RgbFrame> {
  for await (const d of decodeRaw(path, { ...options, motionVectors: false })) {
    const { width, height, data } = d.rgb();
    yield { index: d.index, time: d.time, pictureType: d.pictureType, image: { width, height, channels: 3, data: bytesToUnit(data) } };
  }
}

/** A clip of RGB frames (liveness reads whole short clips). */
export interface VideoClip {
  frames: RawImage[];
  /** Frame timestamps in seconds from the first frame. */
  times: number[];
  /** Nominal frame rate (stream average; 30 when the stream has none). */
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

/** Decodes the first `maxSeconds` of `file` into RGB frames no larger than `maxSide`. */
export async function readVideoFrames(file: string, opts: ReadVideoOptions = {}): Promise<VideoClip> {
  if (typeof file !== 'string' || file === '') throw invalidOption('file', 'a video file path', file);
  const maxSeconds = opts.maxSeconds ?? 10;
  if (typeof maxSeconds !== 'number' || !(maxSeconds > 0 && maxSeconds <= 600)) throw invalidOption('maxSeconds', 'a number in (0, 600]', opts.maxSeconds);
  const maxSide = opts.maxSide ?? 640;
  if (!Number.isInteger(maxSide) || maxSide < 64 || maxSide > 4096) throw invalidOption('maxSide', 'an integer from 64 to 4096', opts.maxSide);
  const info = await probeVideo(file);
  const fps = info.fps > 0 ? info.fps : 30;
  const frames: RawImage[] = [];
  const times: number[] = [];
  let t0: number | undefined;
  for await (const f of decodeVideoRgb(file, { maxSide, signal: opts.signal })) {
    const t = Number.isFinite(f.time) && f.time >= 0 ? f.time : frames.length / fps;
    t0 ??= t;
    if (t - t0 >= maxSeconds) break;
    frames.push(f.image);
    times.push(t - t0);
    report(opts, 'decode', frames.length, Math.round(maxSeconds * fps));
  }
  if (frames.length === 0) throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `"${file}" decoded to no frames`, { path: file });
  return { frames, times, fps, width: frames[0].width, height: frames[0].height };
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

/**
 * How a display matrix (9 int32: 16.16 fixed point a b u / c d v / x y w) asks the picture to be
 * turned, exactly as ffmpeg's autorotate reads it (fftools: get_rotation + the transpose/flip
 * choice). Angles other than multiples of 90 degrees are ignored (players differ on them).
 */
export function orientationFromDisplayMatrix(m: Int32Array): Orientation {
  const conv = (i: number) => m[i] / 65536;
  const scale0 = Math.hypot(conv(0), conv(3));
  const scale1 = Math.hypot(conv(1), conv(4));
  if (scale0 === 0 || scale1 === 0) return IDENTITY_ORIENTATION;
  // av_display_rotation_get: the counter-clockwise angle; ffmpeg turns by its negation.
  const ccw = -(Math.atan2(conv(1) / scale1, conv(0) / scale0) * 180) / Math.PI;
  let theta = -Math.round(ccw);
  theta -= 360 * Math.floor(theta / 360 + 0.9 / 360);
  if (Math.abs(theta - 90) < 1)
    return m[3] > 0 ? { rotation: 90, swap: true, flipX: false, flipY: false } : { rotation: 90, swap: true, flipX: false, flipY: true };
  if (Math.abs(theta - 270) < 1)
    return m[3] < 0 ? { rotation: 270, swap: true, flipX: true, flipY: true } : { rotation: 270, swap: true, flipX: true, flipY: false };
  if (Math.abs(theta - 180) < 1) return { rotation: 180, swap: false, flipX: m[0] < 0, flipY: m[4] < 0 };
  if (Math.abs(theta) < 1) return { rotation: 0, swap: false, flipX: false, flipY: m[4] < 0 };
  return IDENTITY_ORIENTATION;
}

/** av_display_rotation_set for a clockwise turn: the matrix a writer stores so players rotate. */
export function displayMatrixForRotation(clockwiseDegrees: number): Int32Array {
  const r = (-clockwiseDegrees * Math.PI) / 180; // av_display_rotation_set(m, clockwiseDegrees)
  const c = Math.round(Math.cos(r) * 1e9) / 1e9;
  const s = Math.round(Math.sin(r) * 1e9) / 1e9;
  const m = new Int32Array(9);
  m[0] = Math.trunc(c * 65536);
  m[1] = Math.trunc(-s * 65536);
  m[3] = Math.trunc(s * 65536);
  m[4] = Math.trunc(c * 65536);
  m[8] = 1 << 30;
  return m;
}

/**
 * Turns an interleaved 8-bit plane (`channels` bytes per pixel) by an orientation:
 * output (x, y) reads input (a, b) = swap ? (y, x) : (x, y), each then mirrored if flipped.
 */
export function orientPlane(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  o: Orientation,
): { data: Uint8Array; width: number; height: number } {
  if (!o.swap && !o.flipX && !o.flipY) return { data: src, width, height };
  const ow = o.swap ? height : width;
  const oh = o.swap ? width : height;
  const out = new Uint8Array(ow * oh * channels);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let a = o.swap ? y : x;
      let b = o.swap ? x : y;
      if (o.flipX) a = width - 1 - a;
      if (o.flipY) b = height - 1 - b;
      const s = (b * width + a) * channels;
      const d = (y * ow + x) * channels;
      for (let k = 0; k < channels; k++) out[d + k] = src[s + k];
    }
  }
  return { data: out, width: ow, height: oh };
}

// ---------------------------------------------------------------------------------------------
// Internals

interface RawDecoded {
  index: number;
  time: number;
  pictureType: PictureType;
  /** Motion-vector side data (null when absent or not requested). */
  vectorData: Uint8Array | null;
  yuv(): YuvFrame & { matrix: ColourMatrix; range: ColourRange };
  rgb(): { width: number; height: number; data: Uint8Array };
}

interface OpenInput {
  path: string;
  fmt: FormatContext;
  videoIndex: number;
  audioIndex: number;
  codec: string;
  container: string;
}

/** The checked autorotate and maxSide options. */
function decodeSettings(options: VideoDecodeOptions): { autorotate: boolean; maxSide: number | undefined } {
  const autorotate = options.autorotate ?? true;
  if (typeof autorotate !== 'boolean') throw invalidOption('autorotate', 'a boolean', autorotate);
  const maxSide = options.maxSide;
  if (maxSide !== undefined && !(Number.isInteger(maxSide) && maxSide >= 16)) throw invalidOption('maxSide', 'an integer >= 16', maxSide);
  return { autorotate, maxSide };
}

/**
 * The decoder of the video stream, after the checks that need the opened file (motion vectors
 * only in coded coordinates, a decoder in this FFmpeg build); the input is closed on a failure.
 */
async function videoDecoder(input: OpenInput, orientation: Orientation, maxSide: number | undefined, motionVectors: boolean): Promise<Codec> {
  const { fmt, path } = input;
  const turned = orientation.swap || orientation.flipX || orientation.flipY;
  if (motionVectors && (turned || maxSide !== undefined)) {
    await fmt.closeInput();
    throw invalidOption(
      'motionVectors',
      `false when the pictures are ${turned ? `turned (this stream is shown rotated ${orientation.rotation} degrees; pass autorotate: false)` : 'resized (maxSide)'}: vectors are in coded coordinates`,
      true,
    );
  }
  const codec = Codec.findDecoder(fmt.streams![input.videoIndex].codecpar.codecId);
  if (!codec) {
    await fmt.closeInput();
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}": this FFmpeg build has no decoder for ${input.codec} (container ${input.container})`, {
      path,
      codec: input.codec,
      container: input.container,
    });
  }
  return codec;
}

async function* decodeRaw(path: string, options: VideoDecodeOptions & { motionVectors: boolean }): AsyncGenerator<RawDecoded> {
  const { autorotate, maxSide } = decodeSettings(options);
  const input = await openInput(path);
  const { fmt, videoIndex } = input;
  const info = describe(input);
  const orientation = autorotate ? info.orientation : IDENTITY_ORIENTATION;
  const codec = await videoDecoder(input, orientation, maxSide, options.motionVectors);
  const stream = fmt.streams![videoIndex];
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.parametersToContext(stream.codecpar);
  // One thread: frame threading makes vector export unreliable on B-frame streams, and the
  // machine's cores belong to the networks that follow.
  ctx.threadCount = 1;
  if (options.motionVectors) ctx.setFlags2(AV_CODEC_FLAG2_EXPORT_MVS);
  const packet = new Packet();
  packet.alloc();
  const frame = new Frame();
  frame.alloc();
  const converter = new FrameConverter(input, orientation, maxSide);
  try {
    const ret = ctx.open2Sync(codec, null);
    if (ret < 0)
      throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}": cannot open the ${input.codec} decoder (FFmpeg error ${ret})`, {
        path,
        codec: input.codec,
      });
    const tb = stream.timeBase;
    let index = 0;
    const drain = function* (): Generator<RawDecoded> {
      for (;;) {
        const r = ctx.receiveFrameSync(frame);
        if (r === AVERROR_EAGAIN || r === AVERROR_EOF) return;
        if (r < 0) throw corrupt(input, r);
        try {
          const pts = frame.bestEffortTimestamp;
          const side = options.motionVectors ? frame.getSideData(AV_FRAME_DATA_MOTION_VECTORS) : null;
          yield {
            index: index++,
            time: pts === -9223372036854775808n ? Number.NaN : (Number(pts) * tb.num) / tb.den,
            pictureType: pictureTypeOf(frame.pictType as unknown as number),
            vectorData: side,
            yuv: () => converter.yuv(frame),
            rgb: () => converter.rgb(frame),
          };
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
      if (r < 0) throw corrupt(input, r);
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
      throw new ClearsightError(
        ERROR_CODES.INPUT_CORRUPT,
        sawVideoPacket ? `"${path}" has a ${input.codec} video stream but no frame could be decoded` : `"${path}" has no video packets`,
        { path, codec: input.codec },
      );
    }
  } finally {
    converter.free();
    frame.free();
    packet.free();
    ctx.freeContext();
    await fmt.closeInput();
  }
}

function toDecodedFrame(d: RawDecoded, wantVectors: boolean): DecodedFrame {
  const yuv = d.yuv();
  const vectors = d.vectorData ? parseMotionVectors(d.vectorData) : [];
  return {
    index: d.index,
    time: d.time,
    pictureType: d.pictureType,
    ...yuv,
    vectors,
    intra: intraMap(yuv.width, yuv.height, vectors, d.pictureType === 'I' || (wantVectors && !d.vectorData)),
  };
}

/**
 * Turns decoded AVFrames into tightly packed 8-bit planes: a plain copy for 8-bit 4:2:0 at full
 * size, swscale for everything else (format, depth, size), then the orientation.
 */
class FrameConverter {
  private sws: SoftwareScaleContext | undefined;
  private readonly out = new Frame();

  constructor(
    private readonly input: OpenInput,
    private readonly orientation: Orientation,
    private readonly maxSide: number | undefined,
  ) {
    this.out.alloc();
  }

  /** Coded-orientation target size: the displayed size fitted into maxSide, even. */
  private targetSize(w: number, h: number): { width: number; height: number } {
    if (this.maxSide === undefined) return { width: w, height: h };
    const k = Math.min(1, this.maxSide / Math.max(w, h));
    if (k === 1) return { width: w, height: h };
    return { width: Math.max(2, Math.round((w * k) / 2) * 2), height: Math.max(2, Math.round((h * k) / 2) * 2) };
  }

  yuv(frame: Frame): YuvFrame & { matrix: ColourMatrix; range: ColourRange } {
    const { width, height } = this.targetSize(frame.width, frame.height);
    const matrix = matrixOf(frame);
    const range: ColourRange = frame.colorRange === AVCOL_RANGE_JPEG || frame.format === AV_PIX_FMT_YUVJ420P ? 'full' : 'limited';
    let planes: Pick<YuvFrame, 'y' | 'u' | 'v'>;
    const native = (frame.format === AV_PIX_FMT_YUV420P || frame.format === AV_PIX_FMT_YUVJ420P) && width === frame.width && height === frame.height;
    if (native) {
      planes = copyPlanes(frame.data!, frame.linesize, width, height);
    } else if (isRgbFormat(frame.format as number)) {
      // An RGB-coded source (FFV1 bgr0, QTRLE, PNG frames): swscale's RGB -> YUV 4:2:0 shifts the
      // chroma (R and B about 1.5 levels down on a real FFV1 clip); ours is exact in the mean.
      planes = rgbToYuv(this.rgbImage(frame, width, height), matrix, range);
    } else {
      // Same matrix out as in (an untagged source stays untagged, so swscale does not convert
      // it; `matrix` above says how to read it): only the format, depth and size change.
      this.scale(frame, width, height, AV_PIX_FMT_YUV420P, frame.colorSpace, range === 'full' ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG);
      planes = copyPlanes(this.out.data!, this.out.linesize, width, height);
      this.out.unref();
    }
    const o = this.orientation;
    if (!o.swap && !o.flipX && !o.flipY) return { width, height, ...planes, matrix, range };
    const cw = (width + 1) >> 1;
    const ch = (height + 1) >> 1;
    const y = orientPlane(planes.y, width, height, 1, o);
    return {
      width: y.width,
      height: y.height,
      y: y.data,
      u: orientPlane(planes.u, cw, ch, 1, o).data,
      v: orientPlane(planes.v, cw, ch, 1, o).data,
      matrix,
      range,
    };
  }

  /** The frame as float RGB at width x height, in coded orientation (for our own RGB -> YUV). */
  private rgbImage(frame: Frame, width: number, height: number): RawImage {
    return { width, height, channels: 3, data: bytesToUnit(this.packedRgb(frame, width, height)) };
  }

  /** The frame as packed 8-bit RGB at width x height, in coded orientation (swscale, full range). */
  private packedRgb(frame: Frame, width: number, height: number): Uint8Array {
    this.scale(frame, width, height, AV_PIX_FMT_RGB24, AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_JPEG);
    const packed = copyPlane(this.out.data![0], this.out.linesize[0], width * 3, height);
    this.out.unref();
    return packed;
  }

  rgb(frame: Frame): { width: number; height: number; data: Uint8Array } {
    const { width, height } = this.targetSize(frame.width, frame.height);
    if (frame.colorSpace === AVCOL_SPC_UNSPECIFIED) frame.colorSpace = guessedColourSpace(frame.height) as never;
    return orientPlane(this.packedRgb(frame, width, height), width, height, 3, this.orientation);
  }

  private scale(frame: Frame, width: number, height: number, format: number, colorSpace: number, colorRange: number): void {
    if (!this.sws) {
      this.sws = new SoftwareScaleContext();
      this.sws.allocContext();
      // Area when shrinking (what the liveness cues were built on), bicubic otherwise. Accurate
      // rounding and full chroma interpolation: swscale's default YUV -> RGB path reads every
      // picture about one level darker (test: no brightness bias).
      this.sws.setOption('sws_flags', this.maxSide !== undefined ? 'area+accurate_rnd+full_chroma_int' : 'bicubic+accurate_rnd+full_chroma_int');
    }
    const out = this.out;
    out.width = width;
    out.height = height;
    out.format = format as never;
    out.colorSpace = colorSpace as never;
    out.colorRange = colorRange as never;
    // Same primaries and transfer: swscale converts the format, never the gamut.
    out.colorPrimaries = frame.colorPrimaries;
    out.colorTrc = frame.colorTrc;
    const r = this.sws.scaleFrameSync(out, frame);
    if (r < 0) {
      const pix = avGetPixFmtName(frame.format as never) ?? `id ${frame.format}`;
      throw new ClearsightError(
        ERROR_CODES.INPUT_UNSUPPORTED,
        `"${this.input.path}": cannot convert ${this.input.codec} pictures in pixel format ${pix} (container ${this.input.container}; swscale error ${r})`,
        { path: this.input.path, codec: this.input.codec, pixelFormat: pix, container: this.input.container },
      );
    }
  }

  free(): void {
    this.sws?.freeContext();
    this.out.free();
  }
}

/** Untagged streams: BT.709 from 720 lines up, BT.601 below (what players assume). */
function guessedColourSpace(height: number): number {
  return height >= 720 ? (AVCOL_SPC_BT709 as number) : (AVCOL_SPC_SMPTE170M as number);
}

/** Pixel formats that carry RGB rather than YCbCr (packed rgb/bgr with or without alpha, planar gbr). */
function isRgbFormat(format: number): boolean {
  return /^(?:[0ax]?(?:rgb|bgr)|(?:rgb|bgr)[0a]|gbr|x2(?:rgb|bgr))/.test(avGetPixFmtName(format as never) ?? '');
}

function matrixOf(frame: Frame): ColourMatrix {
  const cs = frame.colorSpace as number;
  if (cs === (AVCOL_SPC_BT709 as number)) return 'bt709';
  if (cs === (AVCOL_SPC_BT470BG as number) || cs === (AVCOL_SPC_SMPTE170M as number)) return 'bt601';
  return guessedColourSpace(frame.height) === (AVCOL_SPC_BT709 as number) ? 'bt709' : 'bt601';
}

/** 8-bit samples as floats in [0, 1]. */
function bytesToUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

function copyPlane(buf: Buffer, stride: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  if (stride === w) out.set(buf.subarray(0, w * h));
  else for (let r = 0; r < h; r++) out.set(buf.subarray(r * stride, r * stride + w), r * w);
  return out;
}

/** Copies the three 4:2:0 planes out of FFmpeg's padded buffers (linesize >= width). */
function copyPlanes(data: Buffer[], ls: number[], width: number, height: number): Pick<YuvFrame, 'y' | 'u' | 'v'> {
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  return { y: copyPlane(data[0], ls[0], width, height), u: copyPlane(data[1], ls[1], cw, ch), v: copyPlane(data[2], ls[2], cw, ch) };
}

function pictureTypeOf(t: number): PictureType {
  // AVPictureType: 1 I, 2 P, 3 B.
  return t === 1 ? 'I' : t === 2 ? 'P' : t === 3 ? 'B' : 'other';
}

/**
 * Demuxers whose "video" is not one: still images open as one-frame videos (image2, *_pipe), and
 * any text file opens as ANSI art (tty). We refuse them rather than upscale a README.
 */
function isNotVideoDemuxer(name: string): boolean {
  return name === 'image2' || name.endsWith('_pipe') || name === 'tty';
}

async function openInput(path: string): Promise<OpenInput> {
  if (typeof path !== 'string' || path === '') throw invalidOption('path', 'a video file path', path);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `Input file "${path}" does not exist`, { path }, { cause: err });
  }
  if (!st.isFile()) throw new ClearsightError(ERROR_CODES.INPUT_UNREADABLE, `"${path}" is not a regular file`, { path });
  quietFfmpeg();
  const fmt = new FormatContext();
  const r = await fmt.openInput(path);
  if (r < 0) {
    fmt.freeContext();
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}" is not a video file FFmpeg can read`, { path, ffmpegError: r });
  }
  try {
    const container = fmt.iformat?.name ?? 'unknown';
    if ((await fmt.findStreamInfo()) < 0)
      throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `"${path}": cannot read the stream information (container ${container})`, { path, container });
    const videoIndex = fmt.findBestStream(AVMEDIA_TYPE_VIDEO);
    if (videoIndex < 0) throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}" has no video stream (container ${container})`, { path, container });
    const stream = fmt.streams![videoIndex];
    const codec = avGetCodecName(stream.codecpar.codecId) ?? `codec id ${stream.codecpar.codecId}`;
    if (isNotVideoDemuxer(container) || (stream.disposition & AV_DISPOSITION_ATTACHED_PIC) !== 0) {
      // FFmpeg chose image2 by the name alone: a text file called x.png is damaged, not a picture.
      if (container === 'image2') {
        const misnamed = misnamedPictureError(path, await readFileHead(path, 64));
        if (misnamed) throw misnamed;
      }
      const what = container === 'tty' ? 'text' : 'a still image';
      throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `"${path}" is ${what} (read as ${codec}, container ${container}), not a video`, {
        path,
        codec,
        container,
        ...(container === 'tty' ? {} : { kind: 'image' }),
      });
    }
    const audioIndex = fmt.findBestStream(AVMEDIA_TYPE_AUDIO);
    return { path, fmt, videoIndex, audioIndex, codec, container };
  } catch (err) {
    await fmt.closeInput();
    throw err;
  }
}

function streamOrientation(input: OpenInput): Orientation {
  const side = input.fmt.streams![input.videoIndex].codecpar.getCodedSideData(AV_PKT_DATA_DISPLAYMATRIX);
  if (!side || side.byteLength < 36) return IDENTITY_ORIENTATION;
  const m = new Int32Array(9);
  for (let i = 0; i < 9; i++) m[i] = side.readInt32LE(i * 4);
  return orientationFromDisplayMatrix(m);
}

function describe(input: OpenInput): VideoInfo {
  const { fmt, videoIndex, audioIndex } = input;
  const s = fmt.streams![videoIndex];
  const par = s.codecpar;
  const rate = s.avgFrameRate.den ? s.avgFrameRate.num / s.avgFrameRate.den : 0;
  const fallback = s.rFrameRate.den ? s.rFrameRate.num / s.rFrameRate.den : 0;
  const tb = s.timeBase;
  const dur = s.duration > 0n ? (Number(s.duration) * tb.num) / tb.den : Number(fmt.duration) / 1e6;
  const orientation = streamOrientation(input);
  return {
    width: orientation.swap ? par.height : par.width,
    height: orientation.swap ? par.width : par.height,
    codedWidth: par.width,
    codedHeight: par.height,
    codec: input.codec,
    pixelFormat: avGetPixFmtName(par.format as never) ?? 'unknown',
    container: input.container,
    orientation,
    fps: rate > 0 && Number.isFinite(rate) ? rate : fallback,
    frameCount: Number(s.nbFrames),
    durationSeconds: Number.isFinite(dur) && dur > 0 ? dur : 0,
    hasAudio: audioIndex >= 0,
  };
}

function corrupt(input: OpenInput, code: number): ClearsightError {
  return new ClearsightError(
    ERROR_CODES.INPUT_CORRUPT,
    `"${input.path}" could not be decoded (${input.codec}, container ${input.container}; FFmpeg error ${code})`,
    {
      path: input.path,
      codec: input.codec,
      container: input.container,
      ffmpegError: code,
    },
  );
}
