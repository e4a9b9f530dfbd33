/**
 * Follows one face through a frame sequence. The detector runs on the first frame and
 * whenever the mesh loses the face; in between, the next frame's crop square is derived from
 * the previous mesh (centre of its bounding box, side 1.5x its larger extent, roll from the
 * outer eye corners), as in MediaPipe's tracking loop. Each frame yields an observation with
 * the mesh, the two single-frame CNN scores and an aligned face crop for the video cues.
 */
import type { RawImage } from '../../core/image/types.js';
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { faceRegion } from '../detect.js';
import { spoofCnnScores } from '../embed.js';
import { runDetector, runMesh } from '../faces.js';
import { runIris, type Eyes } from '../iris.js';
import { meshBox } from '../landmarks.js';
import type { FaceModels } from '../models.js';
import { sampleSquare, type SquareRegion } from '../sample.js';
import type { Plane } from './evm.js';
import { dft2 } from './fda.js';
import { median } from '../../core/stats.js';
import { luma601, rgbToLuma } from '../../core/colour.js';

/** Side of the aligned face crop kept per frame for the video cues. */
export const CROP_SIZE = 64;
/** Mesh face flag below which the track is considered lost. */
const MESH_MIN = 0.5;

/**
 * Work the tracker may skip (defaults: the speed the CLI needs for a 5 s clip in <= 10 s; all 1 /
 * 4 = every network on every frame with full supersampling, the reference the tests compare to).
 */
export interface TrackOptions {
  /**
   * Run the two anti-spoofing CNNs on every n-th tracked frame and hold their scores in between
   * (default 2). Their input square and both networks cost about as much as the mesh; the scores
   * are pooled over the clip, and neighbouring frames agree to a few hundredths.
   */
  cnnStride?: number;
  /**
   * After a frame where the detector found no face, run it again only n frames later (default 2):
   * the detector samples the whole frame, and clips with the face out of view paid it per frame.
   */
  detectStride?: number;
  /**
   * Supersampling cap (per axis) for the 64 px crop the video cues read (default 2): the crop is
   * blurred into a Gaussian pyramid next, so 16 taps per pixel bought nothing over 4.
   */
  cropMaxSub?: number;
}

function checkTrackOptions(o: TrackOptions): Required<TrackOptions> {
  const out = { cnnStride: o.cnnStride ?? 2, detectStride: o.detectStride ?? 2, cropMaxSub: o.cropMaxSub ?? 2 };
  for (const [k, v] of Object.entries(out)) if (!Number.isInteger(v) || v < 1 || v > 16) throw invalidOption(k, 'an integer from 1 to 16', v);
  return out;
}

export interface FrameObservation {
  index: number;
  /** Seconds from the first frame. */
  time: number;
  /** false when no face was found in this frame. */
  found: boolean;
  /** true when the detector (re)started the track on this frame. */
  reset: boolean;
  /** true when a shot cut was detected before this frame (temporal cues restart). */
  cut: boolean;
  region?: SquareRegion;
  landmarks?: Float32Array;
  meshScore?: number;
  /** Iris-network eye landmarks (when the iris model is loaded). */
  eyes?: Eyes;
  antispoof?: number;
  liveness?: number;
  /** Aligned RGB crop (CROP_SIZE^2, the face square without the 1.4x margin). */
  crop?: Plane;
  /** Mean absolute difference to the previous frame (whole frame, grey, 8x8 block means). */
  frameDiff: number;
  /**
   * The same difference after taking logs and removing every row's mean: a refresh band or a
   * gain change multiplies whole rows and cancels here, so a duplicated frame on a screen still
   * reads as "no change" while real motion does not.
   */
  structDiff: number;
  /** Fine-texture ratio of the face at full resolution: E|Laplacian| / E|gradient| (grey). */
  texture?: number;
  /** Peak-to-median ratio of the face's high-frequency spectrum (periodic moire -> sharp peaks). */
  moire?: number;
  /** Row-mean log-luminance profile of the whole frame (1/4 resolution), for refresh banding. */
  rows: Float32Array;
}

/**
 * Spectral peakiness of a grey square: high-pass it (minus a 5x5 box mean), take the DFT
 * magnitude, and divide the largest value in the 0.12-0.5 cycles/pixel annulus by the median
 * there. Natural skin and sensor noise give a flat spectrum (ratio ~5-10); a screen's moire or a
 * halftone gives isolated peaks (ratio in the tens).
 */
export function moireRatio(grey: Float32Array, n: number): number {
  const hp = new Float64Array(n * n);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      let s = 0,
        c = 0;
      for (let j = Math.max(0, y - 2); j <= Math.min(n - 1, y + 2); j++)
        for (let i = Math.max(0, x - 2); i <= Math.min(n - 1, x + 2); i++) {
          s += grey[j * n + i]!;
          c++;
        }
      // Hann window against edge leakage
      const w = (0.5 - 0.5 * Math.cos((2 * Math.PI * (x + 0.5)) / n)) * (0.5 - 0.5 * Math.cos((2 * Math.PI * (y + 0.5)) / n));
      hp[y * n + x] = (grey[y * n + x]! - s / c) * w;
    }
  const f = dft2(n, n, hp, new Float64Array(n * n));
  const mags: number[] = [];
  let peak = 0;
  for (let v = 0; v < n; v++)
    for (let u = 0; u < n; u++) {
      const fu = (u <= n / 2 ? u : n - u) / n,
        fv = (v <= n / 2 ? v : n - v) / n;
      const r = Math.hypot(fu, fv);
      if (r < 0.12 || r > 0.5) continue;
      // skip the video codec's 8x8 block grid (peaks at multiples of 1/8 cycle/pixel in either axis)
      const gu = (u * 8) % n,
        gv = (v * 8) % n;
      if (Math.min(gu, n - gu) <= 8 || Math.min(gv, n - gv) <= 8) continue;
      const m = Math.hypot(f.re[v * n + u]!, f.im[v * n + u]!);
      mags.push(m);
      if (m > peak) peak = m;
    }
  const med = median(mags, 0);
  return med > 0 ? peak / med : 0;
}

/** Fine-to-coarse texture ratio of a grey square: print grain and screen moire raise it. */
export function textureRatio(grey: Float32Array, n: number): number {
  let lap = 0,
    grad = 0;
  for (let y = 1; y < n - 1; y++)
    for (let x = 1; x < n - 1; x++) {
      const i = y * n + x;
      lap += Math.abs(4 * grey[i]! - grey[i - 1]! - grey[i + 1]! - grey[i - n]! - grey[i + n]!);
      grad += Math.abs(grey[i + 1]! - grey[i - 1]!) + Math.abs(grey[i + n]! - grey[i - n]!);
    }
  return lap / (grad + 1e-6);
}

function textureOf(img: RawImage, r: SquareRegion): { texture: number; moire: number } {
  const n = 64;
  // the face at about its own resolution (no supersampling: fine patterns must survive)
  const rgb = sampleSquare(img, { ...r, size: Math.min(r.size / 1.5, n) }, n);
  const g = rgbToLuma(rgb);
  return { texture: textureRatio(g, n), moire: moireRatio(g, n) };
}

function meanAbsDiff(a: Float32Array, b: Float32Array | undefined): number {
  if (!b || b.length !== a.length) return 0;
  let s = 0;
  for (let k = 0; k < a.length; k++) s += Math.abs(a[k]! - b[k]!);
  return s / a.length;
}

function quantile(x: readonly number[], q: number): number {
  if (x.length === 0) return 0;
  const s = [...x].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export function regionFromMesh(mesh: Float32Array): SquareRegion {
  const b = meshBox(mesh);
  const angle = Math.atan2(mesh[3 * 263 + 1]! - mesh[3 * 33 + 1]!, mesh[3 * 263]! - mesh[3 * 33]!);
  return { cx: b.x + b.width / 2, cy: b.y + b.height / 2, size: 1.5 * Math.max(b.width, b.height), angle };
}

/**
 * Grey thumbnail by 8x8 block means: averaging 64 pixels cuts sensor noise 8-fold, so a
 * duplicated frame shows a near-zero difference even from a noisy camera.
 */
function greyThumb(img: RawImage): { thumb: Float32Array; rows: Float32Array; structure: Float32Array } {
  const B = 8;
  const w = Math.max(1, Math.floor(img.width / B)),
    h = Math.max(1, Math.floor(img.height / B));
  const out = new Float32Array(w * h);
  const rows = new Float32Array(h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < B; j++)
        for (let i = 0; i < B; i++) {
          const p = ((y * B + j) * img.width + x * B + i) * img.channels;
          s += img.channels === 3 ? luma601(img.data[p]!, img.data[p + 1]!, img.data[p + 2]!) : img.data[p]!;
        }
      out[y * w + x] = s / (B * B);
      rows[y]! += out[y * w + x]! / w;
    }
    rows[y] = Math.log(rows[y]! + 0.02);
  }
  const structure = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    let m = 0;
    for (let x = 0; x < w; x++) {
      structure[y * w + x] = Math.log(out[y * w + x]! + 0.02);
      m += structure[y * w + x]! / w;
    }
    for (let x = 0; x < w; x++) structure[y * w + x]! -= m;
  }
  return { thumb: out, rows, structure };
}

export async function trackFace(
  models: FaceModels,
  frames: readonly RawImage[],
  times: readonly number[],
  control: TaskControl = {},
  options: TrackOptions = {},
): Promise<FrameObservation[]> {
  const { cnnStride, detectStride, cropMaxSub } = checkTrackOptions(options);
  const obs: FrameObservation[] = [];
  /** Frame index before which the detector is not retried (after a miss). */
  let detectAfter = 0;
  /** CNN scores of the last frame they ran on, and tracked frames since. */
  let lastCnn: { antispoof: number; liveness: number } | undefined;
  let sinceCnn = 0;
  let region: SquareRegion | undefined;
  let prevThumb: Float32Array | undefined;
  let prevStructure: Float32Array | undefined;
  const diffs: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    throwIfAborted(control.signal);
    const img = frames[i]!;
    const { thumb, rows, structure } = greyThumb(img);
    const frameDiff = meanAbsDiff(thumb, prevThumb);
    const structDiff = meanAbsDiff(structure, prevStructure);
    prevThumb = thumb;
    prevStructure = structure;
    // a shot cut: the previous square may now hold another face (or none); detect afresh
    diffs.push(frameDiff);
    // against the upper quartile, not the median: with duplicated frames (pulldown, low frame
    // rate replays) half the differences are ~0 and a median would make every jump a "cut"
    const cut = i > 0 && frameDiff > Math.max(0.06, 3 * quantile(diffs.slice(-30), 0.75));
    if (cut) {
      region = undefined;
      detectAfter = i;
      lastCnn = undefined;
    }
    let reset = false;
    let mesh: { landmarks: Float32Array; meshScore: number } | undefined;
    if (region) {
      mesh = await runMesh(models, img, region);
      if (mesh.meshScore < MESH_MIN) mesh = undefined;
    }
    if (!mesh && i >= detectAfter) {
      const dets = await runDetector(models, img, 0.5, 0.3, 5);
      const biggest = dets.sort((a, b) => (b.x1 - b.x0) * (b.y1 - b.y0) - (a.x1 - a.x0) * (a.y1 - a.y0))[0];
      if (biggest) {
        const m = await runMesh(models, img, faceRegion(biggest));
        if (m.meshScore >= MESH_MIN) {
          mesh = m;
          reset = true;
        }
      }
      if (!mesh) detectAfter = i + detectStride;
    }
    if (!mesh) {
      region = undefined;
      lastCnn = undefined;
      obs.push({ index: i, time: times[i]!, found: false, reset: false, cut, frameDiff, structDiff, rows });
    } else {
      const r = regionFromMesh(mesh.landmarks);
      // the CNNs were trained on Human's face crop = the 1.4x detector square; ours matches it
      const eyes = models.has('iris') ? await runIris(models, img, mesh.landmarks) : undefined;
      let cnn = { antispoof: NaN, liveness: NaN };
      if (models.has('antispoof')) {
        if (!lastCnn || reset || sinceCnn >= cnnStride - 1) {
          lastCnn = await spoofCnnScores(models, img, r);
          sinceCnn = 0;
        } else sinceCnn++;
        cnn = lastCnn;
      }
      const crop = { width: CROP_SIZE, height: CROP_SIZE, data: sampleSquare(img, { ...r, size: r.size / 1.5 }, CROP_SIZE, 1, 0, cropMaxSub) };
      obs.push({
        index: i,
        time: times[i]!,
        found: true,
        reset,
        cut,
        region: r,
        landmarks: mesh.landmarks,
        meshScore: mesh.meshScore,
        ...(eyes ? { eyes } : {}),
        ...cnn,
        crop,
        frameDiff,
        structDiff,
        rows,
        ...textureOf(img, r),
      });
      region = r;
    }
    report(control, 'track face', i + 1, frames.length);
  }
  if (!obs.some((o) => o.found)) throw new ClearsightError(ERROR_CODES.NO_FACE, 'no face found in the clip', { frames: frames.length });
  return obs;
}
