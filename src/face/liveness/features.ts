/**
 * Per-frame liveness cues from the tracked observations. Every cue is a number per frame
 * (NaN where the face was lost); `CUES` fixes their order, which the fusion head relies on.
 */
import { eyeOpenness, irisPosition } from '../iris.js';
import { eyeAspectRatio, headPose, MESH, mouthOpening } from '../landmarks.js';
import { magnify } from './evm.js';
import { median } from '../../core/stats.js';
import { assessPulse, HEART_BAND, type PulseReading } from './signal.js';
import type { FrameObservation } from './track.js';

export const CUES = [
  'blink', // eye closure depth below the clip's typical eye aspect ratio
  'mouth', // mouth opening away from its typical value
  'nonRigid', // mouth-region mesh residual after a similarity fit on the rigid face points
  'eyeMotion', // eye-region mesh residual after the same fit
  'gaze', // frame-to-frame movement of the iris within the eye (iris network; saccades, pursuit)
  'headPose', // frame-to-frame change of yaw + pitch
  'antispoof', // Human antispoof CNN ("real" probability)
  'liveness', // Human liveness CNN (live probability)
  'microMotion', // EVM: band-passed (0.7-4 Hz) fine-scale energy of the aligned crop
  'pulse', // rPPG: POS pulse SNR in the heart band from the magnified colour signal (per clip)
  'texture', // fine-to-coarse texture ratio (print grain, screen moire)
  'moire', // spectral peak-to-median ratio of the face's high frequencies (screen/halftone patterns)
  'banding', // smoothed change of the frame's row log-luminance profile (rolling refresh bands)
  'stutter', // alternation of the frame differences (duplicated frames: a half-frame-rate replay)
] as const;
export type Cue = (typeof CUES)[number];

export interface CueMatrix {
  /** values[t][k] for frame t and cue CUES[k]; NaN where the face was lost. */
  values: number[][];
  pulse: PulseReading;
  /** Frames per second used for the temporal filters. */
  fps: number;
}

const RIGHT_EYE_RING = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246];
const LEFT_EYE_RING = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466];
const LIPS = [
  61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185, 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311,
  312, 13, 82, 81, 80, 191,
];
/** Points that barely move with expression: nose bridge/tip, forehead, temples, upper cheeks. */
const RIGID = [1, 4, 5, 6, 168, 197, 195, 10, 151, 9, 8, 108, 337, 234, 454, 127, 356, 116, 345, 123, 352, 50, 280];

type Pts = Float64Array; // x,y interleaved

function pick(mesh: Float32Array, idx: readonly number[]): Pts {
  const out = new Float64Array(idx.length * 2);
  idx.forEach((p, i) => {
    out[2 * i] = mesh[3 * p]!;
    out[2 * i + 1] = mesh[3 * p + 1]!;
  });
  return out;
}

/** Similarity transform (scale, rotation, translation) mapping `src` onto `dst`, least squares. */
export function fitSimilarity(src: Pts, dst: Pts): (x: number, y: number) => [number, number] {
  const n = src.length / 2;
  let sx = 0,
    sy = 0,
    dx = 0,
    dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[2 * i]!;
    sy += src[2 * i + 1]!;
    dx += dst[2 * i]!;
    dy += dst[2 * i + 1]!;
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  let a = 0,
    b = 0,
    norm = 0;
  for (let i = 0; i < n; i++) {
    const px = src[2 * i]! - sx,
      py = src[2 * i + 1]! - sy,
      qx = dst[2 * i]! - dx,
      qy = dst[2 * i + 1]! - dy;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
    norm += px * px + py * py;
  }
  const ca = norm > 0 ? a / norm : 1,
    sb = norm > 0 ? b / norm : 0; // s cos, s sin
  return (x, y) => [ca * (x - sx) - sb * (y - sy) + dx, sb * (x - sx) + ca * (y - sy) + dy];
}

function rmsResidual(map: (x: number, y: number) => [number, number], src: Pts, dst: Pts, scale: number): number {
  let s = 0;
  const n = src.length / 2;
  for (let i = 0; i < n; i++) {
    const [x, y] = map(src[2 * i]!, src[2 * i + 1]!);
    s += (x - dst[2 * i]!) ** 2 + (y - dst[2 * i + 1]!) ** 2;
  }
  return Math.sqrt(s / n) / scale;
}

export function computeCues(obs: readonly FrameObservation[], fps: number): CueMatrix {
  const T = obs.length;
  const K = CUES.length;
  const values = Array.from({ length: T }, () => new Array<number>(K).fill(NaN));
  const valid = obs.filter((o) => o.found && o.landmarks);
  const col = (k: Cue) => CUES.indexOf(k);

  // eye openness from the iris network's lids when it ran, else from the mesh
  const ears = valid.map((o) =>
    o.eyes
      ? (eyeOpenness(o.eyes.right) + eyeOpenness(o.eyes.left)) / 2
      : (eyeAspectRatio(o.landmarks!, MESH.rightEye) + eyeAspectRatio(o.landmarks!, MESH.leftEye)) / 2,
  );
  const mouths = valid.map((o) => mouthOpening(o.landmarks!));
  const earMed = median(ears, 0),
    mouthMed = median(mouths, 0);

  const { refRigid, refLips, refEyes } = referenceShape(valid);

  const stutter = alternation(obs);
  let prevPose: { yaw: number; pitch: number } | undefined;
  let prevGaze: number[] | undefined;
  let prevRows: Float32Array | undefined;
  let vi = 0;
  for (let t = 0; t < T; t++) {
    const o = obs[t]!;
    const v = values[t]!;
    if (!o.found || !o.landmarks) {
      prevPose = undefined;
      prevRows = undefined;
      prevGaze = undefined;
      continue;
    }
    const m = o.landmarks;
    const scale = o.region!.size / 1.5; // face size in pixels
    v[col('blink')] = Math.max(0, earMed - ears[vi]!) / Math.max(1e-6, earMed);
    v[col('mouth')] = Math.abs(mouths[vi]! - mouthMed);
    const map = fitSimilarity(pick(m, RIGID), refRigid!);
    // residuals measured in the reference frame, relative to the reference face size
    const refScale = Math.hypot(refRigid![0]! - refRigid![refRigid!.length - 2]!, refRigid![1]! - refRigid![refRigid!.length - 1]!) || scale;
    v[col('nonRigid')] = rmsResidual(map, pick(m, LIPS), refLips!, refScale);
    v[col('eyeMotion')] = rmsResidual(map, pick(m, [...RIGHT_EYE_RING, ...LEFT_EYE_RING]), refEyes!, refScale);
    const pose = headPose(m);
    v[col('headPose')] = prevPose && !o.cut ? Math.abs(pose.yaw - prevPose.yaw) + Math.abs(pose.pitch - prevPose.pitch) : 0;
    prevPose = pose;
    const gaze = o.eyes ? [...irisPosition(o.eyes.right), ...irisPosition(o.eyes.left)] : undefined;
    v[col('gaze')] = !gaze
      ? NaN
      : prevGaze && !o.cut
        ? (Math.hypot(gaze[0]! - prevGaze[0]!, gaze[1]! - prevGaze[1]!) + Math.hypot(gaze[2]! - prevGaze[2]!, gaze[3]! - prevGaze[3]!)) / 2
        : 0;
    prevGaze = gaze;
    v[col('antispoof')] = o.antispoof ?? NaN;
    v[col('liveness')] = o.liveness ?? NaN;
    v[col('texture')] = o.texture ?? NaN;
    v[col('moire')] = o.moire ?? NaN;
    const rows = o.rows;
    v[col('banding')] = prevRows && !o.cut && prevRows.length === rows.length ? bandingChange(prevRows, rows) : 0;
    prevRows = rows;
    v[col('stutter')] = stutter[t]!;
    vi++;
  }

  const pulse = magnifiedCues(obs, values, fps);
  return { values, pulse, fps };
}

/**
 * The reference shape: the per-coordinate median of all frames mapped onto the first valid frame,
 * in three parts (rigid points, lips, eye rings); undefined parts when no frame has a face.
 */
function referenceShape(valid: readonly FrameObservation[]): { refRigid?: Pts; refLips?: Pts; refEyes?: Pts } {
  const ref0 = valid[0]?.landmarks;
  if (!ref0) return {};
  const all = [...RIGID, ...LIPS, ...RIGHT_EYE_RING, ...LEFT_EYE_RING];
  const mapped = valid.map((o) => {
    const m = fitSimilarity(pick(o.landmarks!, RIGID), pick(ref0, RIGID));
    const p = pick(o.landmarks!, all);
    for (let i = 0; i < p.length; i += 2) [p[i], p[i + 1]] = m(p[i]!, p[i + 1]!);
    return p;
  });
  const ref: Pts = new Float64Array(all.length * 2).map((_, j) =>
    median(
      mapped.map((p) => p[j]!),
      0,
    ),
  );
  const refPart = (from: number, count: number) => ref.subarray(2 * from, 2 * (from + count));
  return {
    refRigid: refPart(0, RIGID.length),
    refLips: refPart(RIGID.length, LIPS.length),
    refEyes: refPart(RIGID.length + LIPS.length, RIGHT_EYE_RING.length + LEFT_EYE_RING.length),
  };
}

/**
 * A refresh band multiplies whole rows: the frame's row log-luminance profile changes by a
 * smooth bump between frames; std of that change after a 3-row smoothing, mean removed.
 */
function bandingChange(prevRows: Float32Array, rows: Float32Array): number {
  const d = Array.from(rows, (r, y) => r - prevRows[y]!);
  const sm = d.map((_, y) => (d[Math.max(0, y - 1)]! + d[y]! + d[Math.min(d.length - 1, y + 1)]!) / 3);
  const mean = sm.reduce((s, x) => s + x, 0) / sm.length;
  return Math.sqrt(sm.reduce((s, x) => s + (x - mean) ** 2, 0) / sm.length);
}

/** EVM on the aligned crops of the longest run of tracked frames: microMotion and pulse cues written into `values`; the pulse reading. */
function magnifiedCues(obs: readonly FrameObservation[], values: number[][], fps: number): PulseReading {
  const col = (k: Cue) => CUES.indexOf(k);
  const run = longestRun(obs);
  let pulse: PulseReading = { bpm: 0, snr: 0, bandEnergyRatio: 0, localPeak: false, minSnr: 1, reliable: false };
  if (run.length >= Math.max(8, Math.round(fps))) {
    const crops = run.map((t) => obs[t]!.crop!);
    const mag = magnify(crops, fps, { band: HEART_BAND });
    run.forEach((t, i) => {
      values[t]![col('microMotion')] = mag.motionEnergy[i]!;
    });
    // skin colour signal: centre of the 8x8 Gaussian level (nose, cheeks; eyes and hair excluded)
    const rgb = mag.colour.map((p) => skinMean(p));
    pulse = assessPulse(rgb, fps);
    for (const t of run) values[t]![col('pulse')] = pulse.snr;
  }
  return pulse;
}

/** Differences in the window around each frame for the alternation measure (even: a steady sequence sums to 0). */
const ALTERNATION_WINDOW = 10;

/**
 * Per frame, how strongly the structure differences alternate small/large/small/... around it:
 * |sum (-1)^k d_k| / sum d_k over ALTERNATION_WINDOW differences, in [0, 1]. A 15 fps replay
 * filmed at 30 fps repeats every frame (d = 0, D, 0, D: ~1); live motion gives ~0.1-0.3; 3:2
 * pulldown (one repeat in five) cancels out over an even window. Windows crossing a shot cut or a
 * lost face are shortened to the frames on this side of it.
 */
export function alternation(obs: readonly Pick<FrameObservation, 'found' | 'cut' | 'structDiff'>[]): number[] {
  const T = obs.length;
  const out = new Array<number>(T).fill(NaN);
  const half = ALTERNATION_WINDOW / 2;
  for (let t = 0; t < T; t++) {
    if (!obs[t]!.found) continue;
    // d_k compares frame k with k-1; walk out from t while both frames are in the same run
    const usable = (k: number) => k >= 1 && k < T && obs[k]!.found && obs[k - 1]!.found && !obs[k]!.cut;
    const ks: number[] = [];
    for (let k = t; k > t - half && usable(k); k--) ks.push(k);
    for (let k = t + 1; k <= t + half && usable(k); k++) ks.push(k);
    let signed = 0,
      total = 0;
    for (const k of ks) {
      signed += (k % 2 ? -1 : 1) * obs[k]!.structDiff;
      total += obs[k]!.structDiff;
    }
    out[t] = total > 1e-9 ? Math.abs(signed) / total : 0;
  }
  return out;
}

function skinMean(p: { width: number; height: number; data: Float32Array }): [number, number, number] {
  const acc: [number, number, number] = [0, 0, 0];
  let n = 0;
  const y0 = Math.floor(p.height * 0.45),
    y1 = Math.ceil(p.height * 0.8),
    x0 = Math.floor(p.width * 0.15),
    x1 = Math.ceil(p.width * 0.85);
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * p.width + x) * 3;
      acc[0] += p.data[i]!;
      acc[1] += p.data[i + 1]!;
      acc[2] += p.data[i + 2]!;
      n++;
    }
  return [acc[0] / n, acc[1] / n, acc[2] / n];
}

/** Indices of the longest run of consecutive tracked frames without a shot cut inside. */
export function longestRun(obs: readonly Pick<FrameObservation, 'found' | 'cut' | 'index'>[]): number[] {
  let best: number[] = [],
    cur: number[] = [];
  for (const o of obs) {
    if (!o.found || o.cut) {
      if (cur.length > best.length) best = cur;
      cur = o.found ? [o.index] : [];
      continue;
    }
    cur.push(o.index);
  }
  return cur.length > best.length ? cur : best;
}
