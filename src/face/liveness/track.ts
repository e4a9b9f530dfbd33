/**
 * Follows one face through a frame sequence. The detector runs on the first frame and
 * whenever the mesh loses the face; in between, the next frame's crop square is derived from
 * the previous mesh (centre of its bounding box, side 1.5x its larger extent, roll from the
 * outer eye corners), as in MediaPipe's tracking loop. Each frame yields an observation with
 * the mesh, the two single-frame CNN scores and an aligned face crop for the video cues.
 */
import type { RawImage } from '../../core/image/types.js';
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { faceRegion } from '../detect.js';
import { spoofCnnScores } from '../embed.js';
import { runDetector, runMesh } from '../faces.js';
import { meshBox } from '../landmarks.js';
import type { FaceModels } from '../models.js';
import { sampleSquare, type SquareRegion } from '../sample.js';
import type { Plane } from './evm.js';
import { median } from './signal.js';

/** Side of the aligned face crop kept per frame for the video cues. */
export const CROP_SIZE = 64;
/** Mesh face flag below which the track is considered lost. */
const MESH_MIN = 0.5;

export interface FrameObservation {
  index: number;
  /** Seconds from the first frame. */
  time: number;
  /** false when no face was found in this frame. */
  found: boolean;
  /** true when the detector (re)started the track on this frame. */
  reset: boolean;
  region?: SquareRegion;
  landmarks?: Float32Array;
  meshScore?: number;
  antispoof?: number;
  liveness?: number;
  /** Aligned RGB crop (CROP_SIZE^2, the face square without the 1.4x margin). */
  crop?: Plane;
  /** Mean absolute difference to the previous frame (whole frame, grey, 1/4 resolution). */
  frameDiff: number;
  /** Fine-texture ratio of the face at full resolution: E|Laplacian| / E|gradient| (grey). */
  texture?: number;
}

/** Fine-to-coarse texture ratio of a grey square: print grain and screen moire raise it. */
export function textureRatio(grey: Float32Array, n: number): number {
  let lap = 0, grad = 0;
  for (let y = 1; y < n - 1; y++) for (let x = 1; x < n - 1; x++) {
    const i = y * n + x;
    lap += Math.abs(4 * grey[i]! - grey[i - 1]! - grey[i + 1]! - grey[i - n]! - grey[i + n]!);
    grad += Math.abs(grey[i + 1]! - grey[i - 1]!) + Math.abs(grey[i + n]! - grey[i - n]!);
  }
  return lap / (grad + 1e-6);
}

function textureOf(img: RawImage, r: SquareRegion): number {
  const n = 96;
  const rgb = sampleSquare(img, { ...r, size: r.size / 1.5 }, n);
  const g = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) g[i] = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
  return textureRatio(g, n);
}

export function regionFromMesh(mesh: Float32Array): SquareRegion {
  const b = meshBox(mesh);
  const angle = Math.atan2(mesh[3 * 263 + 1]! - mesh[3 * 33 + 1]!, mesh[3 * 263]! - mesh[3 * 33]!);
  return { cx: b.x + b.width / 2, cy: b.y + b.height / 2, size: 1.5 * Math.max(b.width, b.height), angle };
}

function greyThumb(img: RawImage): Float32Array {
  const w = img.width >> 2, h = img.height >> 2;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const p = ((4 * y + 2) * img.width + 4 * x + 2) * img.channels;
    out[y * w + x] = img.channels === 3 ? 0.299 * img.data[p]! + 0.587 * img.data[p + 1]! + 0.114 * img.data[p + 2]! : img.data[p]!;
  }
  return out;
}

export async function trackFace(models: FaceModels, frames: readonly RawImage[], times: readonly number[], control: TaskControl = {}): Promise<FrameObservation[]> {
  const obs: FrameObservation[] = [];
  let region: SquareRegion | undefined;
  let prevThumb: Float32Array | undefined;
  const diffs: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    throwIfAborted(control.signal);
    const img = frames[i]!;
    const thumb = greyThumb(img);
    let frameDiff = 0;
    if (prevThumb && prevThumb.length === thumb.length) {
      for (let k = 0; k < thumb.length; k++) frameDiff += Math.abs(thumb[k]! - prevThumb[k]!);
      frameDiff /= thumb.length;
    }
    prevThumb = thumb;
    // a shot cut: the previous square may now hold another face (or none); detect afresh
    diffs.push(frameDiff);
    if (i > 0 && frameDiff > Math.max(0.06, 4 * median(diffs.slice(-30)))) region = undefined;
    let reset = false;
    let mesh: { landmarks: Float32Array; meshScore: number } | undefined;
    if (region) {
      mesh = await runMesh(models, img, region);
      if (mesh.meshScore < MESH_MIN) mesh = undefined;
    }
    if (!mesh) {
      const dets = await runDetector(models, img, 0.5, 0.3, 5);
      const biggest = dets.sort((a, b) => (b.x1 - b.x0) * (b.y1 - b.y0) - (a.x1 - a.x0) * (a.y1 - a.y0))[0];
      if (biggest) {
        const m = await runMesh(models, img, faceRegion(biggest));
        if (m.meshScore >= MESH_MIN) { mesh = m; reset = true; }
      }
    }
    if (!mesh) {
      region = undefined;
      obs.push({ index: i, time: times[i]!, found: false, reset: false, frameDiff });
    } else {
      const r = regionFromMesh(mesh.landmarks);
      // the CNNs were trained on Human's face crop = the 1.4x detector square; ours matches it
      const cnn = models.has('antispoof') ? await spoofCnnScores(models, img, r) : { antispoof: NaN, liveness: NaN };
      const crop = { width: CROP_SIZE, height: CROP_SIZE, data: sampleSquare(img, { ...r, size: r.size / 1.5 }, CROP_SIZE) };
      obs.push({ index: i, time: times[i]!, found: true, reset, region: r, landmarks: mesh.landmarks, meshScore: mesh.meshScore, ...cnn, crop, frameDiff, texture: textureOf(img, r) });
      region = r;
    }
    report(control, 'track face', i + 1, frames.length);
  }
  if (!obs.some((o) => o.found)) throw new ClearsightError(ERROR_CODES.NO_FACE, 'no face found in the clip', { frames: frames.length });
  return obs;
}
