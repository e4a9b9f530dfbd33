import type { RawImage } from '../core/image/types.js';
import type { SquareRegion } from './sample.js';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';

/**
 * BlazeFace post-processing (pure functions, unit-tested without the network).
 *
 * The detector sees a 256x256 letterboxed picture and predicts, for each of 896 anchors,
 * 17 numbers: a logit, the box centre offset from the anchor (dx, dy), the box size (w, h),
 * and 6 keypoints (dx, dy) relative to the anchor: right eye, left eye, nose tip, mouth centre,
 * right ear tragion, left ear tragion (subject's right/left; "right eye" is the one with the
 * smaller x in a frontal picture). Units are input pixels.
 */
export const DETECTOR_SIZE = 256;
export const DETECTOR_KEYPOINTS = 6;
const VALUES_PER_ANCHOR = 5 + 2 * DETECTOR_KEYPOINTS;

/**
 * Anchor centres for a square input: strides size/16 (2 anchors per cell) then size/8
 * (6 anchors per cell), row-major, matching the order of the model's output rows.
 */
export function generateAnchors(inputSize = DETECTOR_SIZE): Float32Array {
  const layers = [
    { stride: inputSize / 16, perCell: 2 },
    { stride: inputSize / 8, perCell: 6 },
  ];
  const out: number[] = [];
  for (const { stride, perCell } of layers) {
    const cells = Math.ceil(inputSize / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

export interface Detection {
  /** Box corners in detector input pixels (or picture pixels after `mapDetection`). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  score: number;
  /** 6 keypoints, x,y interleaved. */
  keypoints: Float32Array;
}

export function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** Decodes every anchor whose score passes `minScore`. `raw` is the [896, 17] output. */
export function decodeDetections(raw: Float32Array, anchors: Float32Array, minScore: number): Detection[] {
  const count = anchors.length / 2;
  if (raw.length !== count * VALUES_PER_ANCHOR) {
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `detector output has ${raw.length} values, expected ${count} x ${VALUES_PER_ANCHOR}`);
  }
  const found: Detection[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * VALUES_PER_ANCHOR;
    // clamp the logit: a saturated sigmoid would make every overlapping box tie
    const score = sigmoid(Math.max(-80, Math.min(80, raw[o]!)));
    if (!(score >= minScore)) continue;
    const ax = anchors[2 * i]!;
    const ay = anchors[2 * i + 1]!;
    const cx = raw[o + 1]! + ax;
    const cy = raw[o + 2]! + ay;
    const w = raw[o + 3]!;
    const h = raw[o + 4]!;
    const keypoints = new Float32Array(2 * DETECTOR_KEYPOINTS);
    for (let k = 0; k < DETECTOR_KEYPOINTS; k++) {
      keypoints[2 * k] = raw[o + 5 + 2 * k]! + ax;
      keypoints[2 * k + 1] = raw[o + 6 + 2 * k]! + ay;
    }
    found.push({ x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2, score, keypoints });
  }
  return found;
}

export function iou(a: Detection, b: Detection): number {
  const ix = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const iy = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const inter = ix * iy;
  const union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression: keeps the best-scoring box, drops every box overlapping a
 * kept one by more than `iouThreshold`, up to `maxCount` boxes. Highest score first.
 */
export function nonMaxSuppression(dets: readonly Detection[], iouThreshold: number, maxCount: number): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.length >= maxCount) break;
    if (kept.every((k) => iou(k, d) <= iouThreshold)) kept.push(d);
  }
  return kept;
}

/**
 * The letterbox that puts a picture into the detector's square: the picture's longer side is
 * scaled to the square and the shorter side is centred with black borders.
 */
export function letterboxRegion(width: number, height: number): SquareRegion {
  return { cx: width / 2, cy: height / 2, size: Math.max(width, height), angle: 0 };
}

/** Maps a detection from detector input pixels to picture pixels (through the letterbox). */
export function mapDetection(d: Detection, img: Pick<RawImage, 'width' | 'height'>, inputSize = DETECTOR_SIZE): Detection {
  const box = letterboxRegion(img.width, img.height);
  const s = box.size / inputSize;
  const ox = box.cx - box.size / 2;
  const oy = box.cy - box.size / 2;
  const keypoints = d.keypoints.map((v, i) => (i % 2 === 0 ? ox : oy) + v * s);
  return { x0: ox + d.x0 * s, y0: oy + d.y0 * s, x1: ox + d.x1 * s, y1: oy + d.y1 * s, score: d.score, keypoints };
}

/**
 * The square, roll-corrected crop the mesh and description networks expect: the detector box
 * enlarged by `scale` (1.4 as in MediaPipe/Human) around its centre, rotated so that the eyes
 * are level.
 */
export function faceRegion(d: Detection, scale = 1.4): SquareRegion {
  const cx = (d.x0 + d.x1) / 2;
  const cy = (d.y0 + d.y1) / 2;
  const size = Math.max(d.x1 - d.x0, d.y1 - d.y0) * scale;
  const angle = eyeRoll(d.keypoints[0]!, d.keypoints[1]!, d.keypoints[2]!, d.keypoints[3]!);
  return { cx, cy, size, angle };
}

/** Roll angle of the line from the right eye (image left) to the left eye (image right). */
export function eyeRoll(rx: number, ry: number, lx: number, ly: number): number {
  return Math.atan2(ly - ry, lx - rx);
}
