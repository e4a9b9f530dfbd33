/**
 * Plane geometry for masks: convex hulls of landmark sets and their rasterisation, and
 * ellipses. Masks are Float32 planes (1 inside, 0 outside) of the image size.
 */
export interface Point {
  x: number;
  y: number;
}

/** Convex hull (Andrew's monotone chain), counter-clockwise in image coordinates, no repeats. */
export function convexHull(points: readonly Point[]): Point[] {
  const pts = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point): number => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/**
 * Rasterises a simple polygon (any orientation) into a width x height mask: a pixel is inside
 * when its centre is (even-odd rule, scanline crossings).
 */
export function polygonMask(polygon: readonly Point[], width: number, height: number): Float32Array {
  const mask = new Float32Array(width * height);
  const n = polygon.length;
  if (n < 3) return mask;
  const xs: number[] = [];
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const a = polygon[i];
      const b = polygon[j];
      if (a.y > cy !== b.y > cy) xs.push(a.x + ((cy - a.y) / (b.y - a.y)) * (b.x - a.x));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil(xs[k] - 0.5));
      const to = Math.min(width - 1, Math.floor(xs[k + 1] - 0.5));
      for (let x = from; x <= to; x++) mask[y * width + x] = 1;
    }
  }
  return mask;
}

/** Axis-aligned ellipse mask with centre (cx, cy) and radii (rx, ry). */
export function ellipseMask(cx: number, cy: number, rx: number, ry: number, width: number, height: number): Float32Array {
  const mask = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const dy = (y + 0.5 - cy) / ry;
    for (let x = 0; x < width; x++) {
      const dx = (x + 0.5 - cx) / rx;
      if (dx * dx + dy * dy <= 1) mask[y * width + x] = 1;
    }
  }
  return mask;
}

/** An axis-aligned face box in picture pixels (top-left corner, size); may extend past the edge. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}
