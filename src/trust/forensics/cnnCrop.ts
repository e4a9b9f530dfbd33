/**
 * The face crop the CNN detector sees, defined once for training preparation
 * (training/prepare/forensics-sbi.ts) and inference (cnnDetector.ts): an axis-aligned square of
 * CNN_CONTEXT x the face region the face networks saw, centred on it, resampled bilinearly to
 * CNN_INPUT x CNN_INPUT RGB in [0, 1] (interleaved, the network's NHWC input).
 */
import { resampleRegion } from '../../core/image/geometry.js';
import { toRgb, type RawImage } from '../../core/image/types.js';

export const CNN_INPUT = 112;
/** Context around the face: enough to hold the whole blending boundary of the mesh hull. */
export const CNN_CONTEXT = 1.15;

export interface CropSquare {
  x: number;
  y: number;
  size: number;
}

/** The square (picture pixels) around a face region (centre and side from the face module). */
export function cnnCropSquare(region: { cx: number; cy: number; size: number }): CropSquare {
  const size = region.size * CNN_CONTEXT;
  return { x: region.cx - size / 2, y: region.cy - size / 2, size };
}

/** The network input of one square of a picture. */
export function cnnCrop(img: RawImage, square: CropSquare): RawImage {
  return resampleRegion(toRgb(img), square.x, square.y, square.size, square.size, CNN_INPUT, CNN_INPUT);
}
