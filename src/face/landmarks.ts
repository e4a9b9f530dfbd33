import type { SquareRegion } from './sample.js';
import { cropToImage } from './sample.js';

/**
 * Face-mesh geometry helpers. The mesh network sees a 192x192 crop and returns 468 points
 * (x, y in crop pixels, z in the same unit, relative depth); we map them back to the picture.
 */
export const MESH_POINTS = 468;
export const MESH_SIZE = 192;

/** Crop-space mesh (raw network output) -> picture pixels; z is scaled like x and y. */
export function meshToImage(raw: Float32Array, region: SquareRegion, cropSize = MESH_SIZE): Float32Array {
  const out = new Float32Array(raw.length);
  const s = region.size / cropSize;
  for (let i = 0; i < raw.length; i += 3) {
    const [x, y] = cropToImage(region, cropSize, raw[i]!, raw[i + 1]!);
    out[i] = x;
    out[i + 1] = y;
    out[i + 2] = raw[i + 2]! * s;
  }
  return out;
}

/** Mesh indices (MediaPipe canonical face mesh). "Right" = the subject's right. */
export const MESH = {
  /** 6 eye-contour points per eye for the eye aspect ratio: corner, top, top, corner, bottom, bottom. */
  rightEye: [33, 160, 158, 133, 153, 144],
  leftEye: [362, 385, 387, 263, 373, 380],
  /** inner-lip points: left corner, right corner, upper centre, lower centre */
  mouth: [78, 308, 13, 14],
  noseTip: 1,
  chin: 152,
  forehead: 10,
  rightCheek: 234,
  leftCheek: 454,
} as const;

function dist(m: Float32Array, a: number, b: number): number {
  return Math.hypot(m[3 * a]! - m[3 * b]!, m[3 * a + 1]! - m[3 * b + 1]!);
}

/**
 * Eye aspect ratio (Soukupova & Cech 2016): (|p2-p6| + |p3-p5|) / (2 |p1-p4|). About 0.25-0.35
 * for an open eye, near 0 when closed; scale and in-plane rotation invariant.
 */
export function eyeAspectRatio(mesh: Float32Array, idx: readonly number[]): number {
  const [p1, p2, p3, p4, p5, p6] = idx as [number, number, number, number, number, number];
  const w = dist(mesh, p1, p4);
  return w > 0 ? (dist(mesh, p2, p6) + dist(mesh, p3, p5)) / (2 * w) : 0;
}

/** Inner-lip opening divided by mouth width. */
export function mouthOpening(mesh: Float32Array): number {
  const [l, r, u, d] = MESH.mouth;
  const w = dist(mesh, l, r);
  return w > 0 ? dist(mesh, u, d) / w : 0;
}

/**
 * Rough head pose from the mesh, in radians: yaw from the nose tip's horizontal offset between
 * the cheeks, pitch from its vertical offset between forehead and chin, roll from the eye line.
 * Good enough to measure pose change between frames, not absolute angles.
 */
export function headPose(mesh: Float32Array): { yaw: number; pitch: number; roll: number } {
  const p = (i: number): [number, number] => [mesh[3 * i]!, mesh[3 * i + 1]!];
  const [nx, ny] = p(MESH.noseTip);
  const [rx, ry] = p(MESH.rightCheek);
  const [lx, ly] = p(MESH.leftCheek);
  const [fx, fy] = p(MESH.forehead);
  const [cx, cy] = p(MESH.chin);
  const roll = Math.atan2(ly - ry, lx - rx);
  const c = Math.cos(-roll);
  const s = Math.sin(-roll);
  const rot = (x: number, y: number): [number, number] => [c * x - s * y, s * x + c * y];
  const [nxr, nyr] = rot(nx, ny);
  const [rxr] = rot(rx, ry);
  const [lxr] = rot(lx, ly);
  const [, fyr] = rot(fx, fy);
  const [, cyr] = rot(cx, cy);
  const h = (nxr - rxr) / Math.max(1e-6, lxr - rxr); // 0.5 when frontal
  const v = (nyr - fyr) / Math.max(1e-6, cyr - fyr); // ~0.55 when level
  return { yaw: Math.asin(Math.max(-1, Math.min(1, 2 * h - 1))), pitch: Math.asin(Math.max(-1, Math.min(1, 2 * v - 1.1))), roll };
}

/** Axis-aligned bounding box of the mesh points. */
export function meshBox(mesh: Float32Array): { x: number; y: number; width: number; height: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < mesh.length; i += 3) {
    x0 = Math.min(x0, mesh[i]!);
    x1 = Math.max(x1, mesh[i]!);
    y0 = Math.min(y0, mesh[i + 1]!);
    y1 = Math.max(y1, mesh[i + 1]!);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
