/**
 * The CNN face-manipulation detector (models/forensics-sbi-cnn): a small network trained on
 * self-blended faces (training/forensics_sbi_cnn.py), run through the one ONNX runtime
 * (TrainedModel), its logit mapped to a probability by the calibrator fitted on a validation
 * split of other people (models/forensics-sbi-cnn/detector.json, bench/forensics-calibrate.ts).
 *
 * Beside the calibration, detector.json carries the detector's measured behaviour on REAL
 * manipulated videos of a source never used in training (written by bench/forensics.ts): error
 * rates with exact intervals, the clips' scores, and what it has not been tested on. Analyses and
 * case reports quote it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { TrainedModel } from '../../core/models/trainedModel.js';
import { getModelCard } from '../../core/models/registry.js';
import type { RawImage } from '../../core/image/types.js';
import type { RuntimeOptions } from '../../core/runtime/index.js';
import type { Face } from '../../face/index.js';
import { calibrateScore, type Calibrator } from './calibration.js';
import { cnnCrop, cnnCropSquare, CNN_INPUT } from './cnnCrop.js';
import { DEFAULT_DETECTOR, DETECTOR_KINDS, type DetectorKind } from './detectorKinds.js';
import { faceCrop, loadForensicModel, logisticDetector, type FaceCrop, type FaceScore } from './detector.js';

export const CNN_DETECTOR_ID = 'forensics/sbi-cnn';
export const CNN_MODEL_NAME = 'forensics-sbi-cnn';
/**
 * A pretrained network we ship (Human's), fine-tuned end to end on self-blended faces
 * (training/forensics_sbi_ft.py): the same input crop and output as the CNN, so the same code
 * runs it from its own model folder with its own calibration and real-media record.
 */
export const FT_DETECTOR_ID = 'forensics/sbi-ft';
export const FT_MODEL_NAME = 'forensics-sbi-ft';

/** The ONNX detectors on the CNN crop: model folder name -> detector id. */
export const ONNX_DETECTORS = { [CNN_MODEL_NAME]: CNN_DETECTOR_ID, [FT_MODEL_NAME]: FT_DETECTOR_ID } as const;
export type OnnxDetectorModel = keyof typeof ONNX_DETECTORS;

/** An exact (Clopper-Pearson) proportion with its counts. */
export interface MeasuredRate {
  count: number;
  of: number;
  rate: number;
  exact95: [number, number];
}

/** The detector on real manipulated media of a source not used in training (bench/forensics.ts). */
export interface RealMediaValidation {
  /** What the fakes and reals were, and why they count as unseen. */
  dataset: string;
  measuredAt: string;
  command: string;
  clips: { fake: number; real: number; unscorable: number };
  /** Video level: each clip's mean calibrated probability over its sampled frames. */
  videoAuc: { value: number; hanleyMcNeil95: [number, number]; bootstrap95: [number, number] };
  frameAuc: { value: number; frames: { fake: number; real: number }; clusterBootstrap95: [number, number] };
  /** At the reporting threshold (calibrated probability >= threshold means "manipulated"). */
  threshold: number;
  truePositiveRate: MeasuredRate;
  falsePositiveRate: MeasuredRate;
  /** Clip-level [probability, label] pairs (1 = manipulated): the reliability neighbours. */
  clipScores: Array<[number, 0 | 1]>;
  perGenerator: Record<string, { clips: number; detected: number }>;
}

export interface CnnDetectorRecord {
  id: string;
  version: string;
  /** sha256 of the ONNX file this calibration and validation were measured with. */
  weightsSha256?: string;
  calibrator: Calibrator;
  calibration: { method: string; items: number; people: number; split: string; command: string; expectedCalibrationError?: number };
  realMedia?: RealMediaValidation;
  /** Kinds of material the detector has not been tested on (stated in every report). */
  untested: string[];
}

/** A loaded forensic detector as analyzeMedia uses it (the caller owns it: dispose()). */
export interface ForensicDetector {
  id: string;
  version: string | number;
  /** sha256 of the weights (ONNX file, or the logistic model's JSON). */
  sha256: string;
  scoreFace(img: RawImage, face: Pick<Face, 'box' | 'landmarks' | 'region'>): Promise<FaceScore & FaceCrop>;
  /** Held-out [probability, label] pairs for the reliability interval, with what they are. */
  heldOut: { scores: Array<[number, 0 | 1]>; caveat: string; neighbours?: number } | null;
  realMedia: RealMediaValidation | null;
  untested: string[];
  training: Record<string, unknown>;
  dispose(): Promise<void>;
}

/**
 * The reliability neighbours of a detector validated on real media: its clip scores, a third of
 * them per interval (few clips, so the interval reflects the score region), and what they are.
 */
export function heldOutFromRealMedia(rm: RealMediaValidation | null): ForensicDetector['heldOut'] {
  if (!rm) return null;
  return {
    scores: rm.clipScores,
    neighbours: Math.max(5, Math.ceil(rm.clipScores.length / 3)),
    caveat: `Neighbours are clips of ${rm.dataset}: real generated videos and real videos of people the detector never saw, scored by this same pipeline. Few clips, so the interval is wide.`,
  };
}

export const DEFAULT_UNTESTED = [
  'face swaps (DeepFaceLab, FaceSwap-style identity swaps) and FaceForensics++ / DFDC-style material',
  'fully synthetic still faces (GAN or diffusion portraits)',
  'edits outside the face, and pictures without a detectable face',
  'videos of several people, profile views, faces under 64 px',
  'heavily recompressed social-media copies (H.264 CRF above 36, JPEG below quality 35)',
];

function readRecord(dir: string, id: string): { record: CnnDetectorRecord; text: string } {
  const file = join(dir, 'detector.json');
  if (!existsSync(file))
    throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `${file} is missing: calibrate the detector with bench/forensics-calibrate.ts`, { path: file });
  const text = readFileSync(file, 'utf8');
  const record = JSON.parse(text) as CnnDetectorRecord;
  if (record.id !== id || !record.calibrator) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `${file} is not a ${id} record`, { path: file });
  return { record, text };
}

/** Raw network logits of face crops (CNN_INPUT square, RGB interleaved, [0, 1]). */
export async function runCnn(net: TrainedModel, crops: readonly RawImage[]): Promise<number[]> {
  const n = crops.length;
  const size = CNN_INPUT * CNN_INPUT * 3;
  const data = new Float32Array(n * size);
  crops.forEach((c, i) => {
    data.set(c.data, i * size);
  });
  const out = await net.run({ face: { data, shape: [n, CNN_INPUT, CNN_INPUT, 3] } });
  return Array.from(out.logit.data);
}

export async function loadCnnDetector(options: RuntimeOptions = {}): Promise<ForensicDetector> {
  return loadOnnxDetector(CNN_MODEL_NAME, options);
}

/** An ONNX detector on the CNN crop (the CNN, or the fine-tuned pretrained network) with its record. */
export async function loadOnnxDetector(model: OnnxDetectorModel, options: RuntimeOptions = {}): Promise<ForensicDetector> {
  const id = ONNX_DETECTORS[model];
  if (!id) throw invalidOption('model', Object.keys(ONNX_DETECTORS).join(' or '), model);
  const card = getModelCard(model).trained;
  if (!card) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model "${model}" is not installed`, { model });
  const { record, text } = readRecord(card.dir, id);
  if (record.weightsSha256 !== undefined && record.weightsSha256 !== card.sha256) {
    throw new ClearsightError(
      ERROR_CODES.MODEL_NOT_FOUND,
      `${join(card.dir, 'detector.json')} was calibrated for other weights (sha256 ${record.weightsSha256.slice(0, 12)}…, model ${card.sha256.slice(0, 12)}…): recalibrate with bench/forensics-calibrate.ts`,
      { model },
    );
  }
  const net = await TrainedModel.load(model, { threads: 1, ...options });
  const rm = record.realMedia ?? null;
  return {
    id,
    version: card.version,
    sha256: card.sha256,
    async scoreFace(img, face) {
      const [raw] = await runCnn(net, [cnnCrop(img, cnnCropSquare(face.region))]);
      // The evidence crop (with the hull outline) is the shared one of the report.
      return { ...faceCrop(img, face), raw, probability: calibrateScore(record.calibrator, raw), contributions: [] };
    },
    heldOut: heldOutFromRealMedia(rm),
    realMedia: rm,
    untested: record.untested?.length ? record.untested : DEFAULT_UNTESTED,
    training: { card: card.training, calibration: record.calibration, recordSha256: createHash('sha256').update(text).digest('hex') },
    dispose: () => net.dispose(),
  };
}

/**
 * The detector an analysis uses: the earlier linear model on hand-made features, the CNN trained
 * on self-blended faces, a pretrained network fine-tuned on them (finetuned), or a logistic head
 * on a frozen pretrained trunk (backboneDetector.ts); the linear one optionally from another
 * model JSON file. detectorKinds.ts says which is the default and why.
 */
export async function loadForensicDetector(kind: DetectorKind = DEFAULT_DETECTOR, modelFile?: string): Promise<ForensicDetector> {
  if (!DETECTOR_KINDS.includes(kind)) throw invalidOption('detector', DETECTOR_KINDS.join(' or '), kind);
  if (kind === 'logistic' || modelFile !== undefined) {
    const model = await loadForensicModel(modelFile);
    return logisticDetector(model, modelFile === undefined ? readLinearValidation(model.sha256) : null);
  }
  if (kind === 'backbone') {
    // Imported here: the backbone module imports this one (its types and DEFAULT_UNTESTED).
    const { loadBackboneDetector } = await import('./backboneDetector.js');
    return loadBackboneDetector();
  }
  return loadOnnxDetector(kind === 'finetuned' ? FT_MODEL_NAME : CNN_MODEL_NAME);
}

/** The shipped linear model's real-media record (bench/forensics.ts), when it was measured on these weights. */
export const LINEAR_VALIDATION_URL = new URL('../../../models/forensics-sbi.validation.json', import.meta.url);

function readLinearValidation(sha256: string): { realMedia: RealMediaValidation; untested: string[] } | null {
  if (!existsSync(LINEAR_VALIDATION_URL)) return null;
  const v = JSON.parse(readFileSync(LINEAR_VALIDATION_URL, 'utf8')) as { modelSha256: string; realMedia: RealMediaValidation; untested: string[] };
  return v.modelSha256 === sha256 ? { realMedia: v.realMedia, untested: v.untested } : null;
}
