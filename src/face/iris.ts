/**
 * Eye refinement with MediaPipe's iris network (shipped in @vladmandic/human as iris.json):
 * a 64x64 crop around each eye, 2.3x the corner-to-corner width, gives 71 eye-region points
 * (eyelids, the rings around them, the brow) and 5 iris points, sharper than the face mesh's
 * 16 eyelid points at blink time. The network was trained on one eye side: the subject's left
 * eye (mesh corners 263/362) is mirrored in and out.
 */
import type { RawImage } from '../core/image/types.js';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';
import { INPUT_SIZE, type FaceModels } from './models.js';
import { cropToImage, sampleSquare, type SquareRegion } from './sample.js';

/** Eye crop side relative to the distance between the eye corners. */
const ENLARGE = 2.3;
const CONTOUR_POINTS = 71;
const IRIS_POINTS = 5;

/** Picture-space points of one eye, x,y interleaved. */
export interface EyeLandmarks {
  /**
   * 71 points; 0-8 the lower lid from the outer to the inner corner (mesh ring ...Lower0),
   * 9-15 the upper lid (…Upper0), then outer rings and the brow.
   */
  contour: Float32Array;
  /** Iris centre, then its right, upper, left and lower edge points. */
  iris: Float32Array;
}

export interface Eyes {
  right: EyeLandmarks;
  left: EyeLandmarks;
}

/** Crop square of an eye: centred between its corners, rotated with them. */
export function eyeRegion(mesh: Float32Array, outer: number, inner: number): SquareRegion {
  const ox = mesh[3 * outer]!,
    oy = mesh[3 * outer + 1]!,
    ix = mesh[3 * inner]!,
    iy = mesh[3 * inner + 1]!;
  const width = Math.hypot(ix - ox, iy - oy);
  // the right eye runs outer (33) -> inner (133) left to right in the picture, the left eye
  // outer (263) -> inner (362) right to left: the angle of the left-to-right direction is the roll
  const angle = ox < ix ? Math.atan2(iy - oy, ix - ox) : Math.atan2(oy - iy, ox - ix);
  return { cx: (ox + ix) / 2, cy: (oy + iy) / 2, size: ENLARGE * Math.max(width, 1), angle };
}

function mirrorCrop(crop: Float32Array, n: number): Float32Array {
  const out = new Float32Array(crop.length);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let c = 0; c < 3; c++) out[(y * n + x) * 3 + c] = crop[(y * n + n - 1 - x) * 3 + c]!;
  return out;
}

/** Crop pixel coordinates (0..n) back to the picture, undoing the mirror and the rotation. */
function toPicture(raw: Float32Array, from: number, count: number, region: SquareRegion, n: number, mirrored: boolean): Float32Array {
  const out = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const x = raw[3 * (from + i)]!,
      y = raw[3 * (from + i) + 1]!;
    [out[2 * i], out[2 * i + 1]] = cropToImage(region, n, mirrored ? n - x : x, y);
  }
  return out;
}

async function runEye(models: FaceModels, img: RawImage, region: SquareRegion, mirrored: boolean): Promise<EyeLandmarks> {
  const n = INPUT_SIZE.iris;
  const crop = sampleSquare(img, region, n);
  const [raw] = await models.runner('iris').run(mirrored ? mirrorCrop(crop, n) : crop, n);
  if (!raw || raw.length !== (CONTOUR_POINTS + IRIS_POINTS) * 3)
    throw new ClearsightError(ERROR_CODES.RUNTIME, `iris network returned ${raw?.length ?? 0} values, expected ${(CONTOUR_POINTS + IRIS_POINTS) * 3}`);
  return { contour: toPicture(raw, 0, CONTOUR_POINTS, region, n, mirrored), iris: toPicture(raw, CONTOUR_POINTS, IRIS_POINTS, region, n, mirrored) };
}

/** Refined landmarks of both eyes of a face whose 468-point mesh is known. Needs FaceModels.load({ iris: true }). */
export async function runIris(models: FaceModels, img: RawImage, mesh: Float32Array): Promise<Eyes> {
  return {
    right: await runEye(models, img, eyeRegion(mesh, 33, 133), false),
    left: await runEye(models, img, eyeRegion(mesh, 263, 362), true),
  };
}

const pt = (a: Float32Array, i: number): [number, number] => [a[2 * i]!, a[2 * i + 1]!];
const gap = (a: Float32Array, i: number, j: number) => Math.hypot(a[2 * i]! - a[2 * j]!, a[2 * i + 1]! - a[2 * j + 1]!);

/** Eye aspect ratio from the refined lids: three upper/lower pairs over the corner distance. */
export function eyeOpenness(eye: EyeLandmarks): number {
  const c = eye.contour;
  const w = gap(c, 0, 8);
  // upper lid points 11, 12, 13 sit above lower lid points 3, 4, 5 (mesh 160/159/158 over 144/145/153)
  return w > 0 ? (gap(c, 11, 3) + gap(c, 12, 4) + gap(c, 13, 5)) / (3 * w) : 0;
}

/**
 * Where the iris sits in the eye: its centre relative to the midpoint of the corners, in the
 * eye's own frame (x along the corners, y across and down the picture), in units of the eye's width; x points from the outer corner toward the nose.
 */
export function irisPosition(eye: EyeLandmarks): [number, number] {
  const [ox, oy] = pt(eye.contour, 0),
    [ix, iy] = pt(eye.contour, 8),
    [cx, cy] = pt(eye.iris, 0);
  const w = Math.hypot(ix - ox, iy - oy) || 1;
  const ux = (ix - ox) / w,
    uy = (iy - oy) / w;
  // the across-eye axis points down the picture for both eyes (the left eye's corners run right to left)
  const nx = ux >= 0 ? -uy : uy,
    ny = ux >= 0 ? ux : -ux;
  const dx = cx - (ox + ix) / 2,
    dy = cy - (oy + iy) / 2;
  return [(dx * ux + dy * uy) / w, (dx * nx + dy * ny) / w];
}
