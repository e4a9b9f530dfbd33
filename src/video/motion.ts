/**
 * Motion compensation exactly as H.264 does it for luma (ITU-T H.264 8.4.2.2.1), and the
 * per-block residual: decoded(t) minus the motion-compensated reference.
 *
 * The bitstream does not tell us which reference frame a vector points into (FFmpeg does not
 * export the reference index, and x264 uses several references), so every vector is tried
 * against the candidate frames of its direction and the one that predicts best is kept.
 */
import { MACROBLOCK, type DecodedFrame, type MotionVector } from '../core/video/index.js';

/** A luma plane, 8-bit, tightly packed. */
export interface LumaPlane {
  width: number;
  height: number;
  data: Uint8Array;
}

const clip255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Integer sample with the reference's edges repeated (H.264's unrestricted motion vectors). */
function px(p: LumaPlane, x: number, y: number): number {
  const cx = x < 0 ? 0 : x >= p.width ? p.width - 1 : x;
  const cy = y < 0 ? 0 : y >= p.height ? p.height - 1 : y;
  return p.data[cy * p.width + cx];
}

/** 6-tap (1, -5, 20, 20, -5, 1) sum between columns x and x+1 on row y, before rounding. */
function tapH(p: LumaPlane, x: number, y: number): number {
  return px(p, x - 2, y) - 5 * px(p, x - 1, y) + 20 * px(p, x, y) + 20 * px(p, x + 1, y) - 5 * px(p, x + 2, y) + px(p, x + 3, y);
}

function tapV(p: LumaPlane, x: number, y: number): number {
  return px(p, x, y - 2) - 5 * px(p, x, y - 1) + 20 * px(p, x, y) + 20 * px(p, x, y + 1) - 5 * px(p, x, y + 2) + px(p, x, y + 3);
}

/** Half-pel sample "b" at (x + 1/2, y). */
const halfH = (p: LumaPlane, x: number, y: number): number => clip255((tapH(p, x, y) + 16) >> 5);
/** Half-pel sample "h" at (x, y + 1/2). */
const halfV = (p: LumaPlane, x: number, y: number): number => clip255((tapV(p, x, y) + 16) >> 5);

/** Centre half-pel sample "j" at (x + 1/2, y + 1/2): the 6-tap over unrounded horizontal sums. */
function halfHV(p: LumaPlane, x: number, y: number): number {
  const j1 = tapH(p, x, y - 2) - 5 * tapH(p, x, y - 1) + 20 * tapH(p, x, y) + 20 * tapH(p, x, y + 1) - 5 * tapH(p, x, y + 2) + tapH(p, x, y + 3);
  return clip255((j1 + 512) >> 10);
}

const avg = (a: number, b: number): number => (a + b + 1) >> 1;

/**
 * Luma sample at quarter-pel position (qx/4, qy/4) of `p`, bit-exact with the H.264 decoder:
 * half-pel positions from the 6-tap filter, quarter-pel positions the rounded average of the two
 * nearest integer/half-pel samples (the standard's a..s naming in the comments).
 */
export function lumaSampleQpel(p: LumaPlane, qx: number, qy: number): number {
  const x = qx >> 2; // arithmetic shift: floor for negative positions too
  const y = qy >> 2;
  switch (((qy & 3) << 2) | (qx & 3)) {
    case 0:
      return px(p, x, y); // G
    case 1:
      return avg(px(p, x, y), halfH(p, x, y)); // a
    case 2:
      return halfH(p, x, y); // b
    case 3:
      return avg(halfH(p, x, y), px(p, x + 1, y)); // c
    case 4:
      return avg(px(p, x, y), halfV(p, x, y)); // d
    case 5:
      return avg(halfH(p, x, y), halfV(p, x, y)); // e
    case 6:
      return avg(halfH(p, x, y), halfHV(p, x, y)); // f
    case 7:
      return avg(halfH(p, x, y), halfV(p, x + 1, y)); // g
    case 8:
      return halfV(p, x, y); // h
    case 9:
      return avg(halfV(p, x, y), halfHV(p, x, y)); // i
    case 10:
      return halfHV(p, x, y); // j
    case 11:
      return avg(halfHV(p, x, y), halfV(p, x + 1, y)); // k
    case 12:
      return avg(halfV(p, x, y), px(p, x, y + 1)); // n
    case 13:
      return avg(halfV(p, x, y), halfH(p, x, y + 1)); // p
    case 14:
      return avg(halfHV(p, x, y), halfH(p, x, y + 1)); // q
    default:
      return avg(halfV(p, x + 1, y), halfH(p, x, y + 1)); // r
  }
}

/** The w x h prediction of the block at (x, y) from `ref` displaced by (mvX, mvY) quarter pels. */
export function predictBlock(ref: LumaPlane, x: number, y: number, w: number, h: number, mvX: number, mvY: number): Uint8Array {
  const out = new Uint8Array(w * h);
  if ((mvX & 3) === 0 && (mvY & 3) === 0) {
    // Whole-pixel vector: a copy with edge clamping (same result, no filter evaluation).
    const dx = mvX >> 2;
    const dy = mvY >> 2;
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) out[j * w + i] = px(ref, x + i + dx, y + j + dy);
    return out;
  }
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) out[j * w + i] = lumaSampleQpel(ref, (x + i) * 4 + mvX, (y + j) * 4 + mvY);
  }
  return out;
}

/** Mean absolute difference between the block at (x, y) of `cur` and `pred`, inside the frame. */
export function blockMad(cur: LumaPlane, x: number, y: number, w: number, h: number, pred: Uint8Array): number {
  let sum = 0;
  let n = 0;
  const y1 = Math.min(cur.height, y + h);
  const x1 = Math.min(cur.width, x + w);
  for (let yy = Math.max(0, y); yy < y1; yy++) {
    for (let xx = Math.max(0, x); xx < x1; xx++) {
      sum += Math.abs(cur.data[yy * cur.width + xx] - pred[(yy - y) * w + (xx - x)]);
      n++;
    }
  }
  return n ? sum / n : 0;
}

/** A decoded frame that can serve as a motion-compensation reference. */
export interface ReferenceFrame {
  /** Display index. */
  index: number;
  luma: LumaPlane;
}

/** One motion-compensated part of a block: which reference, with which vector. */
export interface BlockReference {
  ref: number;
  mvX: number;
  mvY: number;
}

/** A block of the current frame, with its resolved reference(s) and residual. */
export interface CompensatedBlock {
  x: number;
  y: number;
  width: number;
  height: number;
  l0?: BlockReference;
  l1?: BlockReference;
  /** Mean |decoded - prediction| over the block, 8-bit luma levels. */
  residual: number;
}

export interface MotionAnalysis {
  blocks: CompensatedBlock[];
  /** Per 16x16 macroblock: the largest block residual inside it; Infinity for intra blocks. */
  mbResidual: Float32Array;
  mbCols: number;
  mbRows: number;
  /**
   * The motion-compensated luma of the whole frame (width x height); intra areas and blocks
   * without a usable reference hold the decoded samples (zero residual).
   */
  prediction: Uint8Array;
  /**
   * The frame as predicted from each list alone (width x height): L0 (a past frame) and L1 (a
   * future frame) warped onto this one by the block vectors, exact H.264 interpolation. Where a
   * list predicts nothing (intra blocks, L0-only blocks for L1) the decoded samples stand in.
   * cvsr feeds them to its network as the aligned neighbours.
   */
  predictionL0: Uint8Array;
  predictionL1: Uint8Array;
}

/**
 * Resolves each vector of `frame` against its candidate references (`past` for L0, `future`
 * for L1, nearest first) and measures the block residuals. Blocks whose direction has no
 * candidate count as unpredictable (residual Infinity).
 */
export function compensateFrame(frame: DecodedFrame, past: readonly ReferenceFrame[], future: readonly ReferenceFrame[]): MotionAnalysis {
  const cur: LumaPlane = { width: frame.width, height: frame.height, data: frame.y };
  const mbCols = Math.ceil(frame.width / MACROBLOCK);
  const mbRows = Math.ceil(frame.height / MACROBLOCK);
  const mbResidual = new Float32Array(mbCols * mbRows);
  for (let i = 0; i < mbResidual.length; i++) if (frame.intra[i]) mbResidual[i] = Number.POSITIVE_INFINITY;

  // Bi-predicted blocks come as two entries (L0 and L1) with the same rectangle.
  const groups = new Map<string, { l0?: MotionVector; l1?: MotionVector }>();
  for (const v of frame.vectors) {
    const key = `${v.x},${v.y},${v.width},${v.height}`;
    const g = groups.get(key) ?? {};
    if (v.list === 'L0') g.l0 = v;
    else g.l1 = v;
    groups.set(key, g);
  }
  const blocks: CompensatedBlock[] = [];
  const prediction = Uint8Array.from(frame.y);
  const predictionL0 = Uint8Array.from(frame.y);
  const predictionL1 = Uint8Array.from(frame.y);
  const paste = (plane: Uint8Array, v: MotionVector, pred: Uint8Array): void => {
    for (let j = Math.max(0, -v.y); j < v.height && v.y + j < frame.height; j++) {
      for (let i = Math.max(0, -v.x); i < v.width && v.x + i < frame.width; i++) plane[(v.y + j) * frame.width + v.x + i] = pred[j * v.width + i];
    }
  };
  for (const g of groups.values()) {
    const v = (g.l0 ?? g.l1)!;
    const b = bestReference(cur, v, g.l0, past);
    const f = bestReference(cur, v, g.l1, future);
    let residual = Number.POSITIVE_INFINITY;
    let pred: Uint8Array | undefined;
    if ((g.l0 && !b) || (g.l1 && !f)) residual = Number.POSITIVE_INFINITY;
    else if (b && f) {
      pred = new Uint8Array(b.pred.length);
      for (let i = 0; i < pred.length; i++) pred[i] = avg(b.pred[i], f.pred[i]);
      residual = blockMad(cur, v.x, v.y, v.width, v.height, pred);
    } else {
      pred = (b ?? f)!.pred;
      residual = (b ?? f)!.mad;
    }
    if (pred) paste(prediction, v, pred);
    if (b) paste(predictionL0, v, b.pred);
    if (f) paste(predictionL1, v, f.pred);
    const block: CompensatedBlock = { x: v.x, y: v.y, width: v.width, height: v.height, residual };
    if (b) block.l0 = { ref: b.ref, mvX: g.l0!.mvX, mvY: g.l0!.mvY };
    if (f) block.l1 = { ref: f.ref, mvX: g.l1!.mvX, mvY: g.l1!.mvY };
    blocks.push(block);
    const mx = Math.floor(v.x / MACROBLOCK);
    const my = Math.floor(v.y / MACROBLOCK);
    if (mx >= 0 && my >= 0 && mx < mbCols && my < mbRows) {
      const k = my * mbCols + mx;
      if (residual > mbResidual[k]) mbResidual[k] = residual;
    }
  }
  return { blocks, mbResidual, mbCols, mbRows, prediction, predictionL0, predictionL1 };
}

function bestReference(
  cur: LumaPlane,
  rect: MotionVector,
  v: MotionVector | undefined,
  candidates: readonly ReferenceFrame[],
): { ref: number; pred: Uint8Array; mad: number } | undefined {
  if (!v) return undefined;
  let best: { ref: number; pred: Uint8Array; mad: number } | undefined;
  for (const c of candidates) {
    const pred = predictBlock(c.luma, rect.x, rect.y, rect.width, rect.height, v.mvX, v.mvY);
    const mad = blockMad(cur, rect.x, rect.y, rect.width, rect.height, pred);
    if (!best || mad < best.mad) best = { ref: c.index, pred, mad };
    if (mad === 0) break;
  }
  return best;
}
