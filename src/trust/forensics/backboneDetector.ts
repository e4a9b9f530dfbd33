/**
 * Face-manipulation detector on a FROZEN pretrained backbone: the MobileNetV3 trunk of Human's
 * centernet (the one the degradation recogniser reads, src/restore/auto/analyzeBackbone.ts; no new
 * model file) on the CNN detector's face crop, per-channel mean and std at its four taps
 * (FACE_BACKBONE_DIM values), scored by a logistic head (core/logistic.ts) trained on
 * self-blended faces only (training/forensics-sbi-backbone.ts) and Platt-calibrated on a
 * validation split of other people.
 *
 * The head is a small JSON file (models/forensics-sbi-backbone.json) holding the weights, the
 * calibrator, its training record and, once bench/forensics-backbone.ts has run, its measured
 * behaviour on real generated media (realMedia), which analyses and case reports quote.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import { resampleRegion } from '../../core/image/geometry.js';
import type { RawImage } from '../../core/image/types.js';
import { logisticMargin, type LogisticModel } from '../../core/logistic.js';
import { InferenceSession } from '../../core/runtime/index.js';
import { BACKBONE_CHANNELS, BACKBONE_TAPS, backboneOnnx, poolInto, toNhwc255 } from '../../restore/auto/analyzeBackbone.js';
import { calibrateScore, type Calibrator } from './calibration.js';
import { cnnCrop, cnnCropSquare, CNN_INPUT } from './cnnCrop.js';
import { DEFAULT_UNTESTED, heldOutFromRealMedia, type ForensicDetector, type RealMediaValidation } from './cnnDetector.js';
import { faceCrop } from './detector.js';

export const BACKBONE_DETECTOR_ID = 'forensics/sbi-backbone';
/** The trunk's input side: the CNN crop (CNN_INPUT) resampled up to a multiple of the trunk's stride 32. */
export const BACKBONE_INPUT = 128;
/** Mean and std per channel at each tap. */
export const FACE_BACKBONE_DIM = 2 * BACKBONE_CHANNELS.reduce((a, b) => a + b, 0);

export interface BackboneForensicModel {
  id: string;
  version: string;
  backbone: { name: string; input: number; taps: string[] };
  logistic: LogisticModel;
  calibrator: Calibrator;
  training: Record<string, unknown>;
  realMedia?: RealMediaValidation;
  untested?: string[];
}

export const DEFAULT_BACKBONE_MODEL_URL = new URL('../../../models/forensics-sbi-backbone.json', import.meta.url);

/** The trunk's input for a face: the CNN detector's crop (training and inference share it), resampled to BACKBONE_INPUT. */
export function backboneInput(crop: RawImage): RawImage {
  if (crop.width !== CNN_INPUT || crop.height !== CNN_INPUT || crop.channels !== 3)
    throw new ClearsightError(ERROR_CODES.INPUT_UNSUPPORTED, `backbone input must be a ${CNN_INPUT}x${CNN_INPUT} RGB crop`, {
      width: crop.width,
      height: crop.height,
      channels: crop.channels,
    });
  return resampleRegion(crop, 0, 0, CNN_INPUT, CNN_INPUT, BACKBONE_INPUT, BACKBONE_INPUT);
}

/** The frozen trunk: pooled features of face crops. */
export class FaceBackbone {
  private constructor(private readonly session: InferenceSession) {}

  static async load(options: { threads?: number } = {}): Promise<FaceBackbone> {
    return new FaceBackbone(await InferenceSession.create(await backboneOnnx(BACKBONE_INPUT), { threads: options.threads ?? 1 }));
  }

  /** FACE_BACKBONE_DIM features of one CNN_INPUT face crop. */
  async features(crop: RawImage): Promise<Float32Array> {
    const x = toNhwc255(backboneInput(crop));
    const outs = await this.session.runAll(x, [1, BACKBONE_INPUT, BACKBONE_INPUT, 3]);
    const f = new Float32Array(FACE_BACKBONE_DIM);
    let o = 0;
    outs.forEach((t, i) => {
      o = poolInto(t.data, BACKBONE_CHANNELS[i], f, o);
    });
    return f;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

/** Reads and checks a head file (E_MODEL_NOT_FOUND when missing or not a head for these features). */
export async function loadBackboneModel(file: string | URL = DEFAULT_BACKBONE_MODEL_URL): Promise<BackboneForensicModel & { sha256: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ClearsightError(
      ERROR_CODES.MODEL_NOT_FOUND,
      `Backbone forensic head "${String(file)}" is missing; train it with training/forensics-sbi-backbone.ts`,
      { path: String(file) },
      { cause: err },
    );
  }
  const model = JSON.parse(text) as BackboneForensicModel;
  if (
    model.id !== BACKBONE_DETECTOR_ID ||
    model.logistic?.weights?.length !== FACE_BACKBONE_DIM ||
    model.backbone?.input !== BACKBONE_INPUT ||
    model.backbone.taps?.join() !== BACKBONE_TAPS.join()
  )
    throw new ClearsightError(
      ERROR_CODES.MODEL_NOT_FOUND,
      `"${String(file)}" is not a ${BACKBONE_DETECTOR_ID} head for ${FACE_BACKBONE_DIM} trunk features; retrain it`,
      {
        path: String(file),
      },
    );
  return { ...model, sha256: createHash('sha256').update(text).digest('hex') };
}

export async function loadBackboneDetector(file?: string | URL, options: { threads?: number } = {}): Promise<ForensicDetector> {
  const model = await loadBackboneModel(file);
  const trunk = await FaceBackbone.load(options);
  const rm = model.realMedia ?? null;
  return {
    id: model.id,
    version: model.version,
    sha256: model.sha256,
    async scoreFace(img, face) {
      // The head's logit is the score Platt calibration maps to a probability.
      const raw = logisticMargin(model.logistic, await trunk.features(cnnCrop(img, cnnCropSquare(face.region))));
      return { ...faceCrop(img, face), raw, probability: calibrateScore(model.calibrator, raw), contributions: [] };
    },
    heldOut: heldOutFromRealMedia(rm),
    realMedia: rm,
    untested: model.untested?.length ? model.untested : DEFAULT_UNTESTED,
    training: model.training,
    dispose: () => trunk.dispose(),
  };
}
