/**
 * Face-swap simulator for the watermark benchmark (bench-only, never part of the library).
 *
 * Pastes a donor's face onto a target photo the way simple face-swap tools do:
 * 1. an affine warp fixed by three landmarks (both eyes and the mouth centre, from the face
 *    module's detector keypoints) maps target pixels to donor pixels (backward bilinear sampling);
 * 2. the donor's colours are matched to the target face (per-channel mean and standard deviation
 *    inside the face oval, Reinhard-style transfer);
 * 3. two-band ("multiband") feathered blending: the low-frequency band is blended with a wide
 *    feather and the detail band with a narrow one, so the seam has neither a colour step nor a
 *    ghosted edge.
 * The face oval is an ellipse along the eye line, sized from the eye distance.
 */
import { boxFilter } from '../src/core/filters/index.js';
import { createImage, type RawImage } from '../src/core/image/types.js';

export interface SwapFace {
  /** Detector keypoints, 6 x (x, y): right eye, left eye, nose, mouth, right ear, left ear. */
  keypoints: Float32Array;
}

type Pt = [number, number];

function anchors(face: SwapFace): [Pt, Pt, Pt] {
  const k = face.keypoints;
  return [
    [k[0]!, k[1]!],
    [k[2]!, k[3]!],
    [k[6]!, k[7]!],
  ];
}

/** Affine A (2x3) with A * src_i = dst_i for three point pairs. */
function affineFrom3(src: [Pt, Pt, Pt], dst: [Pt, Pt, Pt]): number[] {
  const [[x0, y0], [x1, y1], [x2, y2]] = src;
  const det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1);
  if (Math.abs(det) < 1e-9) throw new Error('faceSwap: degenerate landmarks');
  const solve = (v0: number, v1: number, v2: number): [number, number, number] => [
    (v0 * (y1 - y2) - y0 * (v1 - v2) + (v1 * y2 - v2 * y1)) / det,
    (x0 * (v1 - v2) - v0 * (x1 - x2) + (x1 * v2 - x2 * v1)) / det,
    (x0 * (y1 * v2 - y2 * v1) - y0 * (x1 * v2 - x2 * v1) + v0 * (x1 * y2 - x2 * y1)) / det,
  ];
  const [a, b, c] = solve(dst[0][0], dst[1][0], dst[2][0]);
  const [d, e, f] = solve(dst[0][1], dst[1][1], dst[2][1]);
  return [a, b, c, d, e, f];
}

function blurPlane(p: Float32Array, w: number, h: number, sigma: number): Float32Array {
  // Three box passes approximate a Gaussian (box width from sigma).
  const r = Math.max(1, Math.round(Math.sqrt((12 * sigma * sigma) / 3 + 1) / 2));
  let out = p;
  for (let i = 0; i < 3; i++) out = boxFilter(out, w, h, r);
  return out;
}

function planes(img: RawImage): Float32Array[] {
  const n = img.width * img.height;
  const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c]![i] = img.data[i * img.channels + (img.channels === 3 ? c : 0)]!;
  return out;
}

/** The target photo with the donor's face pasted over its face. */
export function faceSwap(target: RawImage, targetFace: SwapFace, donor: RawImage, donorFace: SwapFace): RawImage {
  const { width: w, height: h } = target;
  const tA = anchors(targetFace);
  const dA = anchors(donorFace);
  const toDonor = affineFrom3(tA, dA);
  const eyeDist = Math.hypot(tA[1][0] - tA[0][0], tA[1][1] - tA[0][1]);
  const angle = Math.atan2(tA[1][1] - tA[0][1], tA[1][0] - tA[0][0]);
  // Oval centre: a bit below the eye midpoint, towards the mouth.
  const eyeMid: Pt = [(tA[0][0] + tA[1][0]) / 2, (tA[0][1] + tA[1][1]) / 2];
  const cx = eyeMid[0] * 0.55 + tA[2][0] * 0.45;
  const cy = eyeMid[1] * 0.55 + tA[2][1] * 0.45;
  const ax = 1.05 * eyeDist;
  const ay = 1.35 * eyeDist;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const mask = new Float32Array(w * h);
  const valid = new Uint8Array(w * h);
  const warped = createImage(w, h, 3);
  const dp = planes(donor);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = ((x - cx) * cos + (y - cy) * sin) / ax;
      const v = (-(x - cx) * sin + (y - cy) * cos) / ay;
      const i = y * w + x;
      if (u * u + v * v > 1.6) continue;
      mask[i] = u * u + v * v <= 1 ? 1 : 0;
      valid[i] = 1;
      const sx = toDonor[0]! * x + toDonor[1]! * y + toDonor[2]!;
      const sy = toDonor[3]! * x + toDonor[4]! * y + toDonor[5]!;
      const x0 = Math.max(0, Math.min(donor.width - 2, Math.floor(sx)));
      const y0 = Math.max(0, Math.min(donor.height - 2, Math.floor(sy)));
      const fx = Math.max(0, Math.min(1, sx - x0));
      const fy = Math.max(0, Math.min(1, sy - y0));
      for (let c = 0; c < 3; c++) {
        const p = dp[c]!;
        const a = p[y0 * donor.width + x0]! * (1 - fx) + p[y0 * donor.width + x0 + 1]! * fx;
        const b = p[(y0 + 1) * donor.width + x0]! * (1 - fx) + p[(y0 + 1) * donor.width + x0 + 1]! * fx;
        warped.data[i * 3 + c] = a * (1 - fy) + b * fy;
      }
    }
  }
  // Colour transfer inside the oval.
  const tp = planes(target);
  const wp = planes(warped);
  for (let c = 0; c < 3; c++) {
    let mt = 0,
      md = 0,
      st = 0,
      sd = 0,
      n = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      mt += tp[c]![i]!;
      md += wp[c]![i]!;
      st += tp[c]![i]! ** 2;
      sd += wp[c]![i]! ** 2;
      n++;
    }
    if (n === 0) throw new Error('faceSwap: empty face oval');
    mt /= n;
    md /= n;
    const gain = Math.sqrt(Math.max(1e-8, st / n - mt * mt)) / Math.sqrt(Math.max(1e-8, sd / n - md * md));
    const p = wp[c]!;
    // Outside the warped area the 'donor' layer is the target itself, so blurring it for the
    // low band brings in no black border.
    for (let i = 0; i < p.length; i++) p[i] = valid[i] ? (p[i]! - md) * gain + mt : tp[c]![i]!;
  }
  // Two-band feathered blend.
  const wide = blurPlane(mask, w, h, 0.18 * eyeDist);
  const narrow = blurPlane(mask, w, h, 0.05 * eyeDist);
  const out = createImage(w, h, 3);
  const sigmaBand = 0.12 * eyeDist;
  for (let c = 0; c < 3; c++) {
    const lowT = blurPlane(tp[c]!, w, h, sigmaBand);
    const lowW = blurPlane(wp[c]!, w, h, sigmaBand);
    for (let i = 0; i < w * h; i++) {
      const mw = wide[i]!;
      const low = lowT[i]! * (1 - mw) + lowW[i]! * mw;
      const high = (tp[c]![i]! - lowT[i]!) * (1 - narrow[i]!) + (wp[c]![i]! - lowW[i]!) * narrow[i]!;
      const val = low + high;
      out.data[i * 3 + c] = val < 0 ? 0 : val > 1 ? 1 : val;
    }
  }
  return out;
}
