/**
 * Face-manipulation detector: forensic features of each face crop (features.ts) scored by a
 * logistic model trained on self-blended pseudo-fakes (selfBlend.ts, bench/forensics-train.ts)
 * and calibrated to a probability on a held-out split (calibration.ts).
 *
 * The trained model is a small JSON file (models/forensics-sbi.json) with its training record:
 * which data, which seed, which split, and the held-out figures.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import { resampleRegion } from '../../core/image/geometry.js';
import { toRgb, type RawImage } from '../../core/image/types.js';
import { convexHull, ellipseMask, polygonMask, type Point } from '../../core/shapes.js';
import type { Face } from '../../face/index.js';
import { calibrateScore, type Calibrator } from './calibration.js';
import { FEATURE_CROP, FEATURE_NAMES, forensicFeatures } from './features.js';
import { predictLogistic, type LogisticModel } from '../../core/logistic.js';
import type { ForensicDetector, RealMediaValidation } from './cnnDetector.js';

export const DETECTOR_ID = 'forensics/sbi-logistic';
/** Context around the face: the crop side is this times the face region the face nets saw. */
const CROP_CONTEXT = 1.15;

export interface ForensicModel {
  id: string;
  version: number;
  featureNames: string[];
  logistic: LogisticModel;
  calibrator: Calibrator;
  /** Free-form record of how the model was trained and how it did on held-out data. */
  training: Record<string, unknown>;
}

/** Where the shipped model lives (same relative place from src/ and dist/). */
export const DEFAULT_MODEL_URL = new URL('../../../models/forensics-sbi.json', import.meta.url);

export async function loadForensicModel(file: string | URL = DEFAULT_MODEL_URL): Promise<ForensicModel & { sha256: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ClearsightError(
      ERROR_CODES.MODEL_NOT_FOUND,
      `Forensic model "${String(file)}" is missing; train it with bench/forensics-train.ts`,
      { path: String(file) },
      { cause: err },
    );
  }
  const model = JSON.parse(text) as ForensicModel;
  if (model.id !== DETECTOR_ID || JSON.stringify(model.featureNames) !== JSON.stringify(FEATURE_NAMES)) {
    throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `Forensic model "${String(file)}" does not match this version's features; retrain it`, {
      path: String(file),
    });
  }
  return { ...model, sha256: createHash('sha256').update(text).digest('hex') };
}

export interface FaceCrop {
  crop: RawImage;
  /** 1 inside the face hull (from the mesh when present, else an ellipse), crop coordinates. */
  mask: Float32Array;
  /** The crop's square in picture pixels. */
  square: { x: number; y: number; size: number };
}

/** Axis-aligned square crop around the face, resampled to FEATURE_CROP, with its face mask. */
export function faceCrop(img: RawImage, face: Pick<Face, 'box' | 'landmarks' | 'region'>): FaceCrop {
  const rgb = toRgb(img);
  const size = face.region.size * CROP_CONTEXT;
  const x = face.region.cx - size / 2;
  const y = face.region.cy - size / 2;
  const crop = resampleRegion(rgb, x, y, size, size, FEATURE_CROP, FEATURE_CROP);
  const k = FEATURE_CROP / size;
  let mask: Float32Array;
  if (face.landmarks && face.landmarks.length >= 9) {
    const pts: Point[] = [];
    for (let i = 0; i + 2 < face.landmarks.length; i += 3) pts.push({ x: (face.landmarks[i] - x) * k, y: (face.landmarks[i + 1] - y) * k });
    mask = polygonMask(convexHull(pts), FEATURE_CROP, FEATURE_CROP);
  } else {
    const b = face.box;
    mask = ellipseMask(
      (b.x + b.width / 2 - x) * k,
      (b.y + b.height / 2 - y) * k,
      (b.width / 2) * k * 0.9,
      (b.height / 2) * k * 1.05,
      FEATURE_CROP,
      FEATURE_CROP,
    );
  }
  return { crop, mask, square: { x, y, size } };
}

export interface FaceScore {
  /** Logistic output before calibration. */
  raw: number;
  /** Calibrated probability that the face was manipulated. */
  probability: number;
  /** Each feature's signed contribution to the logit (weight x standardised value), for the report. */
  contributions: Array<{ feature: string; value: number }>;
}

export function scoreFeatures(model: ForensicModel, features: readonly number[]): FaceScore {
  const raw = predictLogistic(model.logistic, features);
  const contributions = model.featureNames.map((feature, j) => ({
    feature,
    value: model.logistic.weights[j] * ((features[j] - model.logistic.mean[j]) / model.logistic.scale[j]),
  }));
  return { raw, probability: calibrateScore(model.calibrator, raw), contributions };
}

export function scoreFace(model: ForensicModel, img: RawImage, face: Pick<Face, 'box' | 'landmarks' | 'region'>): FaceScore & FaceCrop {
  const fc = faceCrop(img, face);
  return { ...fc, ...scoreFeatures(model, forensicFeatures(fc.crop, fc.mask)) };
}

/**
 * The linear detector behind the common detector interface (analyzeMedia takes either). Its
 * held-out items are self-blended pseudo-fakes of unseen people; its real-media record, when
 * given, comes from models/forensics-sbi.validation.json (bench/forensics.ts).
 */
export function logisticDetector(
  model: ForensicModel & { sha256?: string },
  validation: { realMedia: RealMediaValidation; untested: string[] } | null = null,
): ForensicDetector {
  const held = model.training.heldOutScores as Array<[number, 0 | 1]> | undefined;
  return {
    id: model.id,
    version: model.version,
    sha256: model.sha256 ?? '',
    scoreFace: async (img, face) => scoreFace(model, img, face),
    heldOut: held?.length
      ? {
          scores: held,
          caveat:
            'Held-out items are self-blended pseudo-fakes and authentic photos of unseen people, not real deepfakes: the rate says how the detector behaves on blending artefacts, and may not transfer to other manipulation methods.',
        }
      : null,
    realMedia: validation?.realMedia ?? null,
    untested: validation?.untested ?? ['real manipulated media of any kind: this detector was only tested on self-blended pseudo-fakes'],
    training: model.training,
    dispose: async () => {},
  };
}

/** Either detector as the common interface. */
export function asDetector(model: ForensicModel | ForensicDetector): ForensicDetector {
  return 'scoreFace' in model && typeof model.scoreFace === 'function' ? model : logisticDetector(model as ForensicModel);
}
