/**
 * Deepfake forensics with a statistically stated reliability: a face-manipulation detector
 * trained on self-blended faces, calibrated probabilities, reliability studies with exact and
 * bootstrap intervals, and case reports (JSON + PDF).
 */
export * from './stats.js';
export { fitLogistic, predictLogistic, type LogisticModel, type LogisticFitOptions } from '../../core/logistic.js';
export { fitCalibrator, fitPlatt, fitIsotonic, calibrateScore, expectedCalibrationError, type Calibrator, type CalibrationMethod } from './calibration.js';
export {
  readManifest,
  stratifiedSample,
  runStudy,
  labelName,
  type ManifestItem,
  type StudyOptions,
  type StudyReport,
  type SampleRecord,
  type ScoredItem,
} from './study.js';
export { selfBlend, selfBlendFace, warpMask, blendRegionMask, type SelfBlendResult, type SelfBlendOptions, type BlendRegion } from './selfBlend.js';
export { DETECTOR_KINDS, DEFAULT_DETECTOR, type DetectorKind } from './detectorKinds.js';
export {
  loadCnnDetector,
  loadOnnxDetector,
  loadForensicDetector,
  runCnn,
  LINEAR_VALIDATION_URL,
  CNN_DETECTOR_ID,
  CNN_MODEL_NAME,
  FT_DETECTOR_ID,
  FT_MODEL_NAME,
  ONNX_DETECTORS,
  DEFAULT_UNTESTED,
  type ForensicDetector,
  type RealMediaValidation,
  type CnnDetectorRecord,
  type MeasuredRate,
} from './cnnDetector.js';
export { cnnCrop, cnnCropSquare, CNN_INPUT, CNN_CONTEXT, type CropSquare } from './cnnCrop.js';
export { forensicFeatures, FEATURE_NAMES, FEATURE_CROP } from './features.js';
export {
  loadForensicModel,
  logisticDetector,
  asDetector,
  faceCrop,
  scoreFace,
  scoreFeatures,
  DETECTOR_ID,
  DEFAULT_MODEL_URL,
  type ForensicModel,
  type FaceCrop,
  type FaceScore,
} from './detector.js';
export {
  analyzeMedia,
  mediaScorer,
  evenlySpaced,
  reliabilityAt,
  validationStatement,
  type ForensicsOptions,
  type ForensicsResult,
  type ForensicsEvidence,
  type FrameFinding,
  type FaceFinding,
  type ForensicsOutcome,
  type WatermarkFinding,
} from './analyze.js';
export { renderCaseReportPdf, writeCaseReportPdf, overlayMask, type CaseReport, type ProvenanceRecord } from './report.js';
export {
  BACKBONE_DETECTOR_ID,
  BACKBONE_INPUT,
  FACE_BACKBONE_DIM,
  FaceBackbone,
  backboneInput,
  loadBackboneDetector,
  loadBackboneModel,
  type BackboneForensicModel,
} from './backboneDetector.js';
