/**
 * A picture of what face detection found, for people to check it: each face's box (green when
 * its quality is usable for recognition, amber below), its 6 detector keypoints, its 468 mesh
 * points when the mesh ran, and a label "#1 q 0.83" (rank, quality). Drawn as an SVG overlay
 * (faceAnnotationSvg, pure) composited onto the picture by the image module (overlaySvg).
 */
import type { RawImage } from '../core/image/types.js';
import { overlaySvg } from '../core/image/overlay.js';
import type { Face } from './faces.js';

/** Quality from which a face counts as usable for recognition in the drawing (green box). */
export const ANNOTATE_GOOD_QUALITY = 0.5;

const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

/** The overlay for `faces` on a width x height picture, as an SVG document. */
export function faceAnnotationSvg(width: number, height: number, faces: readonly Face[]): string {
  // Line widths and text scale with the picture, so the drawing reads on a thumbnail and a 24 MP photo alike.
  const unit = Math.max(1, Math.round(Math.min(width, height) / 300));
  const parts: string[] = [];
  faces.forEach((f, i) => {
    const colour = f.quality >= ANNOTATE_GOOD_QUALITY ? '#22c55e' : '#f59e0b';
    const { x, y, width: w, height: h } = f.box;
    parts.push(`<rect x="${fmt(x)}" y="${fmt(y)}" width="${fmt(w)}" height="${fmt(h)}" fill="none" stroke="${colour}" stroke-width="${2 * unit}"/>`);
    if (f.landmarks) {
      for (let k = 0; k + 2 < f.landmarks.length; k += 3)
        parts.push(`<circle cx="${fmt(f.landmarks[k]!)}" cy="${fmt(f.landmarks[k + 1]!)}" r="${fmt(0.6 * unit)}" fill="#38bdf8"/>`);
    }
    for (let k = 0; k + 1 < f.keypoints.length; k += 2)
      parts.push(`<circle cx="${fmt(f.keypoints[k]!)}" cy="${fmt(f.keypoints[k + 1]!)}" r="${fmt(2 * unit)}" fill="#ef4444"/>`);
    const size = 10 * unit;
    const ty = y - 3 * unit >= size ? y - 3 * unit : y + h + size;
    parts.push(
      `<text x="${fmt(x)}" y="${fmt(ty)}" font-family="sans-serif" font-size="${size}" fill="${colour}" stroke="black" stroke-width="${fmt(0.3 * unit)}">#${i + 1} q ${f.quality.toFixed(2)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/** The picture with its faces drawn on it (boxes, keypoints, mesh points, quality labels). */
export function annotateFaces(img: RawImage, faces: readonly Face[]): Promise<RawImage> {
  return overlaySvg(img, faceAnnotationSvg(img.width, img.height, faces));
}
