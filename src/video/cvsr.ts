/**
 * cvsr: the compressed-video super-resolution network trained in this repository
 * (models/vsr-cvsr, training/cvsr.py), aligned by the codec's own motion vectors.
 *
 * The network sees five LR planes: the decoded frame as RGB and the luma of its neighbours
 * warped onto it by the decoded vectors (the L0 and L1 predictions of `compensateFrame`: exact
 * H.264 interpolation, no optical flow). It returns the x4 RGB frame: a bicubic upsample of the
 * RGB plus a learned luma correction (chroma stays bicubic). The warp is done here, in
 * TypeScript, so the ONNX file is a plain convolutional network with dynamic height and width.
 *
 * The same functions build the training patches (training/prepare/cvsr.ts), so the network is
 * trained on exactly the inputs the product gives it.
 */
import { ClearsightError, ERROR_CODES } from '../core/errors.js';
import type { RawImage } from '../core/image/types.js';
import { TrainedModel } from '../core/models/trainedModel.js';
import type { RuntimeOptions } from '../core/runtime/index.js';
import type { DecodedFrame } from '../core/video/index.js';
import { pyramidOrder } from './order.js';
import { compensateFrame, type MotionAnalysis, type ReferenceFrame } from './motion.js';

/** Channels of the network input: R, G, B (the decoded frame), L0 luma, L1 luma. */
export const CVSR_CHANNELS = 5;
export const CVSR_SCALE = 4;

/** Planar (CHW) float input of the network: `channels` planes of width x height. */
export interface Planes {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/**
 * The neighbours' luma warped onto `frame`: from the motion analysis when there is one, else
 * the frame itself (I pictures, codecs without vectors, no reference yet) -- the input the
 * network was trained to read as "no neighbour".
 */
export function neighbourLuma(frame: DecodedFrame, analysis: MotionAnalysis | undefined): { l0: Uint8Array; l1: Uint8Array } {
  if (!analysis) return { l0: frame.y, l1: frame.y };
  return { l0: analysis.predictionL0, l1: analysis.predictionL1 };
}

/**
 * The network input of one frame. `lr` is the decoded frame as RGB in [0, 1] (yuvToRgb); the
 * luma planes are 8-bit codes, normalised to [0, 1] by the frame's range (limited: (v - 16) / 219,
 * the luma of the RGB in BT.601).
 */
export function cvsrPlanes(lr: RawImage, l0: Uint8Array, l1: Uint8Array, range: DecodedFrame['range']): Planes {
  const { width, height } = lr;
  const n = width * height;
  const data = new Float32Array(CVSR_CHANNELS * n);
  for (let i = 0; i < n; i++) {
    data[i] = lr.data[3 * i];
    data[n + i] = lr.data[3 * i + 1];
    data[2 * n + i] = lr.data[3 * i + 2];
  }
  const offset = range === 'full' ? 0 : 16;
  const scale = range === 'full' ? 255 : 219;
  for (let i = 0; i < n; i++) {
    data[3 * n + i] = (l0[i] - offset) / scale;
    data[4 * n + i] = (l1[i] - offset) / scale;
  }
  return { width, height, channels: CVSR_CHANNELS, data };
}

/** The w x h window at (x, y) of every plane. */
export function cropPlanes(p: Planes, x: number, y: number, w: number, h: number): Planes {
  const data = new Float32Array(p.channels * w * h);
  for (let c = 0; c < p.channels; c++) {
    for (let r = 0; r < h; r++) {
      const s = c * p.width * p.height + (y + r) * p.width + x;
      data.set(p.data.subarray(s, s + w), c * w * h + r * w);
    }
  }
  return { width: w, height: h, channels: p.channels, data };
}

/** How many already-processed frames on each side are tried as the reference of a vector (vsr uses the same). */
export const PAST_CANDIDATES = 4;
export const FUTURE_CANDIDATES = 2;

export interface OrderedFrame {
  frame: DecodedFrame;
  /** Processed frames before / after it in display order, nearest first (the reference candidates). */
  past: ReferenceFrame[];
  future: ReferenceFrame[];
}

/**
 * Frames in the order vsr processes them (anchors before the B pictures that precede them in
 * display order, B pictures middle-first), each with the reference candidates vsr would have:
 * the nearest already-processed frames on each side.
 */
export async function* referenceOrder(frames: AsyncIterable<DecodedFrame>): AsyncGenerator<OrderedFrame> {
  const done: ReferenceFrame[] = [];
  let pendingB: DecodedFrame[] = [];
  const visit = (f: DecodedFrame): OrderedFrame => {
    const past = done
      .filter((p) => p.index < f.index)
      .sort((a, b) => b.index - a.index)
      .slice(0, PAST_CANDIDATES);
    const future = done
      .filter((p) => p.index > f.index)
      .sort((a, b) => a.index - b.index)
      .slice(0, FUTURE_CANDIDATES);
    done.push({ index: f.index, luma: { width: f.width, height: f.height, data: f.y } });
    if (done.length > 4 * PAST_CANDIDATES) done.shift();
    return { frame: f, past, future };
  };
  for await (const f of frames) {
    if (f.pictureType === 'B') {
      pendingB.push(f);
      continue;
    }
    yield visit(f);
    for (const b of pyramidOrder(pendingB)) yield visit(b);
    pendingB = [];
  }
  for (const b of pyramidOrder(pendingB)) yield visit(b);
}

/** The motion analysis vsr would make for a frame (undefined where it has no usable vectors). */
export function analyseForCvsr(o: OrderedFrame): MotionAnalysis | undefined {
  const f = o.frame;
  if (f.pictureType === 'I' || f.vectors.length === 0) return undefined;
  if (o.past.length === 0 && o.future.length === 0) return undefined;
  return compensateFrame(f, o.past, o.future);
}

/** Receptive-field radius of the network in LR pixels (7 stacked 3x3 convolutions) plus bicubic's 2. */
export const CVSR_MARGIN = 8;

/**
 * The trained network (models/vsr-cvsr) on one session. `predict` takes the planes of a frame or
 * of a window and returns the x4 RGB image (HWC, [0, 1]). Owned by the caller: call dispose().
 */
export class CvsrNetwork {
  private constructor(private readonly model: TrainedModel) {}

  static async load(options: RuntimeOptions = {}): Promise<CvsrNetwork> {
    return new CvsrNetwork(await TrainedModel.load(CVSR_MODEL, options));
  }

  async predict(p: Planes): Promise<RawImage> {
    if (p.channels !== CVSR_CHANNELS) throw new ClearsightError(ERROR_CODES.RUNTIME, `cvsr takes ${CVSR_CHANNELS} planes, got ${p.channels}`);
    const out = await this.model.run({ planes: { data: p.data, shape: [1, CVSR_CHANNELS, p.height, p.width] } });
    const t = out.image;
    const W = p.width * CVSR_SCALE;
    const H = p.height * CVSR_SCALE;
    if (t?.shape[1] !== 3 || t.shape[2] !== H || t.shape[3] !== W) {
      throw new ClearsightError(ERROR_CODES.RUNTIME, `cvsr returned shape ${t ? t.shape.join('x') : 'nothing'} for a ${p.width}x${p.height} input`);
    }
    // NCHW -> HWC.
    const n = W * H;
    const data = new Float32Array(3 * n);
    const src = t.data;
    for (let i = 0; i < n; i++) {
      data[3 * i] = src[i];
      data[3 * i + 1] = src[n + i];
      data[3 * i + 2] = src[2 * n + i];
    }
    return { width: W, height: H, channels: 3, data };
  }

  /**
   * `predict` on horizontal strips of at most `maxPixels` LR pixels each (cores of whole rows,
   * CVSR_MARGIN rows of context above and below): the same output as one call within float
   * rounding, without the memory of a whole large frame at once (a 1920x1080 frame would hold
   * 32 x 2 M activations per layer and a 3 x 33 M output in one session run).
   */
  async predictStrips(p: Planes, maxPixels = 1 << 18): Promise<RawImage> {
    const rows = Math.max(16, Math.floor(maxPixels / p.width) - 2 * CVSR_MARGIN);
    if (rows >= p.height) return this.predict(p);
    const W = p.width * CVSR_SCALE;
    const out = new Float32Array(W * p.height * CVSR_SCALE * 3);
    for (let cy = 0; cy < p.height; cy += rows) {
      const ch = Math.min(rows, p.height - cy);
      const wy = Math.max(0, cy - CVSR_MARGIN);
      const wh = Math.min(p.height, cy + ch + CVSR_MARGIN) - wy;
      const up = await this.predict(cropPlanes(p, 0, wy, p.width, wh));
      const from = (cy - wy) * CVSR_SCALE * W * 3;
      out.set(up.data.subarray(from, from + ch * CVSR_SCALE * W * 3), cy * CVSR_SCALE * W * 3);
    }
    return { width: W, height: p.height * CVSR_SCALE, channels: 3, data: out };
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

/** The registry name of the trained network. */
export const CVSR_MODEL = 'vsr-cvsr';
