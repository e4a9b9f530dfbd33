/**
 * clearsight/models: the model registry and its cards, the model classes, the caches and the
 * converters (tfjs graph -> ONNX, ncnn -> ONNX).
 */
export { ImageModel, type LoadModelOptions } from './imageModel.js';
export { TrainedModel } from './trainedModel.js';
export { listTrainedCards, TRAINED_MODELS_DIR, type TrainedCard } from './trained.js';
export {
  listModels,
  getModelCard,
  packageFacts,
  ESRGAN_SCALES,
  ESRGAN_SIZES,
  type EsrganScale,
  type EsrganSize,
  type ModelCard,
  type ModelTask,
  type RestoreTask,
} from './registry.js';
export { convertTfjsToOnnx, loadTfjsArtifacts, CONVERTER_VERSION } from './convert/index.js';
export { convertNcnnToOnnx, type NcnnConversion } from './ncnn/toOnnx.js';
export { UpscalerModel, PACKAGED_NCNN_UPSCALERS, type UpscalerModelOptions } from './upscaler.js';
export { ModelPool, SESSION_MEMORY_FACTOR, DEFAULT_POOL_BUDGET_BYTES, type ModelPoolOptions, type PoolEvent, type PoolStats, type SessionKey } from './pool.js';
export { PRECISIONS, INT8_MODELS, type Precision } from './precision.js';
export { quantizeDynamicInt8, type QuantizeOptions, type QuantizeReport } from './quantize.js';
