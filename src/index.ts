/**
 * clearsight: restore degraded pictures and video, defend faces.
 * The library is the product; the CLI is a thin layer over these exports.
 *
 * The top level holds the task verbs, image I/O, the model classes and the errors. Everything else
 * (routing helpers, priors, numerics, the server) lives behind a subpath export:
 *   clearsight/restore  every restoration expert, prior, router and synthesiser
 *   clearsight/face     face networks, landmarks, liveness cues and fusion
 *   clearsight/video    video decode/encode and video super-resolution
 *   clearsight/trust    watermarking and deepfake forensics
 *   clearsight/models   model registry, cards, converters, caches
 *   clearsight/core     numerics (stats, colour, sampling, FFT), filters, metrics, tiling, runtime
 *   clearsight/server   the HTTP API
 */
// Errors, progress and cancellation: every task takes `{ onProgress, signal }` and throws ClearsightError.
export * from './core/errors.js';
export type { ProgressEvent, TaskControl } from './core/progress.js';
// Image I/O.
export * from './core/image/index.js';
export { psnr, ssim } from './core/metrics/index.js';
// Model classes.
export { DEVICE_FALLBACK_WARNING, DEVICES, InferenceSession, type Device, type RuntimeOptions } from './core/runtime/index.js';
export { ImageModel, type LoadModelOptions } from './core/models/imageModel.js';
export { TrainedModel } from './core/models/trainedModel.js';
export { ModelPool, type ModelPoolOptions } from './core/models/pool.js';
export type { Precision } from './core/models/precision.js';
export { UpscalerModel, type UpscalerModelOptions } from './core/models/upscaler.js';
export { listModels, getModelCard, type ModelCard } from './core/models/registry.js';
export { FaceModels, type FaceModelsOptions } from './face/models.js';
// Restoration verbs.
export { derain, dehaze, lowlight, lowlightFuse, denoise, deblur, retouch, upscale } from './restore/index.js';
export type { DerainOptions, DehazeOptions, LowlightOptions, LowlightFuseResult, UpscaleOptions, ExpertOptions } from './restore/index.js';
export { derainHeavy, type HeavyRainOptions, type HeavyRainResult } from './restore/derain/index.js';
export { dehazePrior, type DehazePriorOptions, type DehazePriorResult } from './restore/dehaze/index.js';
export {
  enhanceLowLightGamma,
  enhanceLowLightIagc,
  type LowLightGammaOptions,
  type LowLightGammaResult,
  type IagcOptions,
  type IagcResult,
} from './restore/lowlight/index.js';
export { analyzeDegradations, restoreAuto, type DegradationAnalysis, type RestoreAutoOptions, type RestoreAutoResult } from './restore/auto/index.js';
export { mergeHdr, readBracket, toneMap, type MergeHdrOptions, type MergeHdrResult } from './restore/hdr/index.js';
// Face verbs.
export { detectFaces, embedFace, compareFaces, type Face, type FaceBox, type DetectOptions, type FaceComparison } from './face/index.js';
export { analyzeLiveness, checkLiveness, checkLivenessFile, verifyLive } from './face/index.js';
export type { LivenessAnalysis, LivenessVerdict, LivenessOptions, LiveVerification, VerifyLiveOptions } from './face/index.js';
// Video verbs.
export {
  readVideoFrames,
  superResolveVideo,
  superResolveFrames,
  type VsrOptions,
  type VsrFileOptions,
  type VsrStats,
  type VideoClip,
  type ReadVideoOptions,
} from './video/index.js';
// Trust verbs: watermark and forensics.
export {
  embedWatermark,
  verifyWatermark,
  extractWatermark,
  type EmbedWatermarkOptions,
  type EmbedWatermarkResult,
  type VerifyWatermarkOptions,
  type VerifyWatermarkResult,
} from './trust/watermark/index.js';
export {
  analyzeMedia as analyzeForensics,
  runStudy as runReliabilityStudy,
  loadForensicModel,
  writeCaseReportPdf,
  type ForensicsOptions,
  type ForensicsResult,
} from './trust/forensics/index.js';
