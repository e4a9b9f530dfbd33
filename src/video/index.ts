/** video: codec-assisted video super-resolution (see docs/video.md); reading and writing files is core/video's. */
export * from '../core/video/index.js';
export {
  lumaSampleQpel,
  predictBlock,
  blockMad,
  compensateFrame,
  type LumaPlane,
  type ReferenceFrame,
  type BlockReference,
  type CompensatedBlock,
  type MotionAnalysis,
} from './motion.js';
export {
  superResolveFrames,
  superResolveVideo,
  resolveVsrOptions,
  planWindows,
  warpPrediction,
  addUpscaledResidual,
  changedWeights,
  pyramidOrder,
  VSR_MODES,
  VSR_MODELS,
  defaultVsrModel,
  type Upscaler,
  type VsrMode,
  type VsrOptions,
  type VsrFileOptions,
  type VsrFrame,
  type VsrStats,
  type FrameDecision,
  type NetworkWindow,
} from './vsr.js';
