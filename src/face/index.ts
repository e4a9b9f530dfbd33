/**
 * Faces: detection (BlazeFace), 468-point mesh (MediaPipe FaceMesh), 1024-d identity
 * embedding (HSE FaceRes), comparison, and video liveness. Pretrained weights from
 * @vladmandic/human; models live in a FaceModels object the caller owns and disposes.
 */
export { FaceModels, defaultModelDir as faceModelDir, type FaceModelsOptions, type FaceNetwork } from './models.js';
export { detectFaces, embedFace, faceQuality, type Face, type FaceBox, type DetectOptions } from './faces.js';
export { compareFaces, SAME_FACE_THRESHOLD, type FaceComparison } from './compare.js';
export { annotateFaces, faceAnnotationSvg, ANNOTATE_GOOD_QUALITY } from './annotate.js';
export { EMBEDDING_SIZE } from './embed.js';
export { MESH, MESH_POINTS, eyeAspectRatio, mouthOpening, headPose, meshBox } from './landmarks.js';
export { runIris, eyeRegion, eyeOpenness, irisPosition, type EyeLandmarks, type Eyes } from './iris.js';
export { generateAnchors, decodeDetections, nonMaxSuppression, iou, type Detection } from './detect.js';
export type { SquareRegion } from './sample.js';
export {
  analyzeLiveness,
  decideLiveness,
  verifyLive,
  scoreTemporal,
  type TemporalScore,
  type LiveVerification,
  type VerifyLiveOptions,
  checkLiveness,
  checkLivenessFile,
  calibrateLiveness,
  fourierDomainAdaptation,
  readVideoFrames,
  fitHead,
  fuse,
  parseHead,
  softmax,
  CUES,
  DEFAULT_LIVENESS_HEAD,
  bandPass,
  posPulse,
  pulseFromSignal,
  magnify,
  HEART_BAND,
  type Cue,
  type CueMatrix,
  type LivenessAnalysis,
  type LivenessVerdict,
  type LivenessVerdictLabel,
  type LivenessOptions,
  type LivenessHead,
  type LivenessExpert,
  type CalibrationClip,
  type CalibrateOptions,
  type VideoClip,
  type ReadVideoOptions,
  type PulseEstimate,
} from './liveness/index.js';
