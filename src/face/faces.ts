import type { RawImage } from '../core/image/types.js';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';
import { decodeDetections, faceRegion, generateAnchors, letterboxRegion, mapDetection, nonMaxSuppression, DETECTOR_SIZE, type Detection } from './detect.js';
import { embedRegion } from './embed.js';
import { MESH_POINTS, MESH_SIZE, meshToImage } from './landmarks.js';
import type { FaceModels } from './models.js';
import { sampleSquare, type SquareRegion } from './sample.js';
import { rgbToLuma } from '../core/colour.js';
import type { FaceBox } from '../core/shapes.js';

export type { FaceBox } from '../core/shapes.js';

export interface Face {
  /** Detector box in picture pixels (may extend past the picture edge for cut-off faces). */
  box: FaceBox;
  /** Detector confidence in [0, 1]. */
  score: number;
  /** 6 detector keypoints (x, y interleaved, pixels): right eye, left eye, nose, mouth, right ear, left ear. */
  keypoints: Float32Array;
  /** 468 mesh points, [x, y, z] interleaved, pixels (z relative depth, same scale); when mesh is on. */
  landmarks?: Float32Array;
  /** Mesh network's face-presence confidence in [0, 1]; when mesh is on. */
  meshScore?: number;
  /** 1024-d L2-normalised identity embedding; when `embed: true` was asked. */
  embedding?: Float32Array;
  /** The roll-corrected square the mesh/embedding networks saw (centre, side, angle). */
  region: SquareRegion;
  /**
   * 0..1: how usable the face is for recognition = detector score x mesh confidence x
   * size factor (min(1, box side / 80 px)) x sharpness factor (Laplacian energy of the crop).
   */
  quality: number;
}

export interface DetectOptions {
  /** Default 10. */
  maxFaces?: number;
  /** Detector score threshold, default 0.5. */
  minScore?: number;
  /** NMS overlap threshold, default 0.3. */
  iouThreshold?: number;
  /** Run the mesh network (default: true when loaded). */
  mesh?: boolean;
  /** Compute embeddings (default false). */
  embed?: boolean;
}

function checkImage(img: unknown): asserts img is RawImage {
  const i = img as RawImage;
  if (
    !i ||
    typeof i !== 'object' ||
    !(i.data instanceof Float32Array) ||
    !Number.isInteger(i.width) ||
    !Number.isInteger(i.height) ||
    i.width < 1 ||
    i.height < 1 ||
    (i.channels !== 1 && i.channels !== 3) ||
    i.data.length !== i.width * i.height * i.channels
  ) {
    throw invalidOption('img', 'a RawImage (Float32 HWC, 1 or 3 channels, data length = width*height*channels)', img === null ? null : typeof img);
  }
  if (i.width < 16 || i.height < 16)
    throw new ClearsightError(ERROR_CODES.INPUT_TOO_SMALL, `picture ${i.width}x${i.height} is too small to hold a face (min 16x16)`);
}

function checkDetectOptions(opts: DetectOptions): Required<Omit<DetectOptions, 'mesh'>> & { mesh: boolean | undefined } {
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an options object', opts);
  const maxFaces = opts.maxFaces ?? 10;
  if (!Number.isInteger(maxFaces) || maxFaces < 1 || maxFaces > 100) throw invalidOption('maxFaces', 'an integer from 1 to 100', opts.maxFaces);
  const minScore = opts.minScore ?? 0.5;
  if (typeof minScore !== 'number' || !(minScore >= 0 && minScore < 1)) throw invalidOption('minScore', 'a number in [0, 1)', opts.minScore);
  const iouThreshold = opts.iouThreshold ?? 0.3;
  if (typeof iouThreshold !== 'number' || !(iouThreshold >= 0 && iouThreshold <= 1))
    throw invalidOption('iouThreshold', 'a number in [0, 1]', opts.iouThreshold);
  if (opts.mesh !== undefined && typeof opts.mesh !== 'boolean') throw invalidOption('mesh', 'a boolean', opts.mesh);
  if (opts.embed !== undefined && typeof opts.embed !== 'boolean') throw invalidOption('embed', 'a boolean', opts.embed);
  return { maxFaces, minScore, iouThreshold, mesh: opts.mesh, embed: opts.embed ?? false };
}

/** Runs the detector only: boxes in picture pixels, best score first. */
export async function runDetector(models: FaceModels, img: RawImage, minScore: number, iouThreshold: number, maxFaces: number): Promise<Detection[]> {
  const input = sampleSquare(img, letterboxRegion(img.width, img.height), DETECTOR_SIZE, 2, -1); // [-1, 1]
  const outs = await models.runner('detector').runWithShapes(input, DETECTOR_SIZE);
  const anchors = generateAnchors(DETECTOR_SIZE);
  const raw = assembleDetectorOutput(outs, anchors.length / 2);
  const dets = nonMaxSuppression(decodeDetections(raw, anchors, minScore), iouThreshold, maxFaces);
  return dets.map((d) => mapDetection(d, img));
}

/**
 * Human's BlazeFace graph returns four tensors: scores and regressors (16 values) separately
 * for the 512 stride-16 anchors and the 384 stride-32 anchors. Reassemble them into the
 * [896, 17] layout (score first) that `decodeDetections` reads, stride-16 anchors first.
 */
export function assembleDetectorOutput(outs: readonly { data: Float32Array; shape: readonly number[] }[], anchorCount: number): Float32Array {
  const find = (n: number, v: number) => outs.find((o) => o.shape[o.shape.length - 2] === n && o.shape[o.shape.length - 1] === v);
  if (outs.length === 1 && outs[0]!.data.length === anchorCount * 17) return outs[0]!.data;
  const parts = [
    [find(512, 1), find(512, 16)],
    [find(384, 1), find(384, 16)],
  ] as const;
  const out = new Float32Array(anchorCount * 17);
  let row = 0;
  for (const [score, reg] of parts) {
    if (!score || !reg) throw new ClearsightError(ERROR_CODES.RUNTIME, `unexpected detector outputs: ${outs.map((o) => o.shape.join('x')).join(', ')}`);
    const n = score.data.length;
    for (let i = 0; i < n; i++, row++) {
      out[row * 17] = score.data[i]!;
      out.set(reg.data.subarray(i * 16, i * 16 + 16), row * 17 + 1);
    }
  }
  if (row !== anchorCount) throw new ClearsightError(ERROR_CODES.RUNTIME, `detector gave ${row} anchors, expected ${anchorCount}`);
  return out;
}

/** Runs the mesh network on a face square; returns picture-space points and the face flag. */
export async function runMesh(models: FaceModels, img: RawImage, region: SquareRegion): Promise<{ landmarks: Float32Array; meshScore: number }> {
  const outs = await models.runner('mesh').run(sampleSquare(img, region, MESH_SIZE), MESH_SIZE);
  const raw = outs.find((o) => o.length === MESH_POINTS * 3);
  const flag = outs.find((o) => o.length === 1);
  if (!raw || !flag) throw new ClearsightError(ERROR_CODES.RUNTIME, 'facemesh returned unexpected outputs');
  return { landmarks: meshToImage(raw, region), meshScore: flag[0]! };
}

/**
 * Finds faces: boxes, detector keypoints, 468-point mesh (if loaded), optional embeddings,
 * and a quality score. Sorted largest face first.
 */
export async function detectFaces(models: FaceModels, img: RawImage, opts: DetectOptions = {}): Promise<Face[]> {
  checkImage(img);
  const o = checkDetectOptions(opts);
  const useMesh = o.mesh ?? models.has('mesh');
  const dets = await runDetector(models, img, o.minScore, o.iouThreshold, o.maxFaces);
  const faces: Face[] = [];
  for (const d of dets) {
    const region = faceRegion(d);
    const face: Face = {
      box: { x: d.x0, y: d.y0, width: d.x1 - d.x0, height: d.y1 - d.y0 },
      score: d.score,
      keypoints: d.keypoints,
      region,
      quality: 0,
    };
    if (useMesh) Object.assign(face, await runMesh(models, img, region));
    if (o.embed) face.embedding = await embedRegion(models, img, region);
    face.quality = faceQuality(img, face);
    faces.push(face);
  }
  return faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
}

/**
 * Embedding of `face` (or of the largest face found in `img`). Throws E_NO_FACE when the
 * picture holds no face.
 */
export async function embedFace(models: FaceModels, img: RawImage, face?: Pick<Face, 'region'>): Promise<Float32Array> {
  checkImage(img);
  let region = face?.region;
  if (face !== undefined && !isRegion(region)) throw invalidOption('face', 'a Face from detectFaces (with a region)', face);
  if (!region) {
    const [largest] = await detectFaces(models, img, { mesh: false, maxFaces: 10 });
    if (!largest) throw new ClearsightError(ERROR_CODES.NO_FACE, 'no face found in the picture', { width: img.width, height: img.height });
    region = largest.region;
  }
  return embedRegion(models, img, region);
}

function isRegion(r: unknown): r is SquareRegion {
  const x = r as SquareRegion;
  return !!x && [x.cx, x.cy, x.size, x.angle].every((v) => typeof v === 'number' && Number.isFinite(v)) && x.size > 0;
}

/** See Face.quality. */
export function faceQuality(img: RawImage, face: Pick<Face, 'score' | 'meshScore' | 'box' | 'region'>): number {
  const side = Math.min(face.box.width, face.box.height);
  const sizeFactor = Math.min(1, side / 80);
  const sharp = sharpness(img, face.region);
  return face.score * (face.meshScore ?? 1) * sizeFactor * sharp;
}

/**
 * 0..1 sharpness of a face: mean absolute Laplacian of the grey 64x64 crop (face fills it at a
 * fixed scale, so the value is comparable across pictures), through 1 - exp(-v / 0.02). A sharp
 * face gives ~0.9+, a heavily blurred one well under 0.5.
 */
export function sharpness(img: RawImage, region: SquareRegion): number {
  const n = 64;
  const rgb = sampleSquare(img, { ...region, size: region.size / 1.4 }, n);
  const g = rgbToLuma(rgb);
  let sum = 0;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const i = y * n + x;
      sum += Math.abs(4 * g[i]! - g[i - 1]! - g[i + 1]! - g[i - n]! - g[i + n]!);
    }
  }
  const v = sum / ((n - 2) * (n - 2));
  return 1 - Math.exp(-v / 0.02);
}
