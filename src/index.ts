/**
 * clearsight: restore degraded pictures and video, defend faces.
 * The library is the product; the CLI is a thin layer over these exports.
 */
export * from './core/errors.js';
export * from './core/progress.js';
export * from './core/image/index.js';
export { assertOutputWritable, writeFileAtomic } from './core/fs.js';
export { psnr, ssim, rgbToYMatlab, type MetricOptions } from './core/metrics/index.js';
export { planTiles, runTiled, type TilePlan } from './core/tiling/index.js';
export { InferenceSession, type Device, type RuntimeOptions } from './core/runtime/index.js';
export { ImageModel, type LoadModelOptions } from './core/models/imageModel.js';
export { TrainedModel } from './core/models/trainedModel.js';
export { ModelPool, SESSION_MEMORY_FACTOR, DEFAULT_POOL_BUDGET_BYTES, type ModelPoolOptions, type PoolEvent, type PoolStats, type SessionKey } from './core/models/pool.js';
export { PRECISIONS, INT8_MODELS, type Precision } from './core/models/precision.js';
export { quantizeDynamicInt8, type QuantizeOptions, type QuantizeReport } from './core/models/quantize.js';
export { listTrainedCards, type TrainedCard } from './core/models/trained.js';
export { listModels, getModelCard, packageFacts, ESRGAN_SCALES, ESRGAN_SIZES, type EsrganScale, type EsrganSize, type ModelCard, type ModelTask, type RestoreTask } from './core/models/registry.js';
export { convertTfjsToOnnx, loadTfjsArtifacts, CONVERTER_VERSION } from './core/models/convert/index.js';
export { convertNcnnToOnnx, type NcnnConversion } from './core/models/ncnn/toOnnx.js';
export { UpscalerModel, PACKAGED_NCNN_UPSCALERS, type UpscalerModelOptions } from './core/models/upscaler.js';
export * from './core/filters/index.js';
export * from './restore/index.js';
export * from './face/index.js';
// Forensics: the task functions at top level, everything else under the `forensics` namespace.
export * as forensics from './trust/forensics/index.js';
export { analyzeMedia as analyzeForensics, runStudy as runReliabilityStudy, readManifest, loadForensicModel, writeCaseReportPdf } from './trust/forensics/index.js';
export * from './video/index.js';
export * from './trust/watermark/index.js';
