/**
 * clearsight/core: the shared numerics and plumbing every module builds on: statistics, colour,
 * sampling, FFT, linear algebra, seeded random numbers, filters, quality metrics, tiling, the ONNX
 * runtime wrapper, atomic file output and the progress/cancellation contract.
 */
export * from './errors.js';
export * from './progress.js';
export { assertOutputWritable, writeFileAtomic, tempPathFor, publishTemp, type WriteOptions } from './fs.js';
export { psnr, ssim, rgbToYMatlab, type MetricOptions } from './metrics/index.js';
export { planTiles, runTiled, planAxis, checkPlan, validatePlanOptions, padReflect, readRegion, reflectIndex, featherWeights } from './tiling/index.js';
export type { TilePlan, AxisPlan, PlanGrid, TileOrigin, RunTiledOptions, TileRunner, PlanOptions as TilePlanOptions } from './tiling/index.js';
export { InferenceSession, type Device, type RuntimeOptions, type TensorResult } from './runtime/index.js';
export * from './filters/index.js';
export { fft1d, fft2d, dft1d, dft2d, nextPow2, isPowerOfTwo, radialPowerSpectrum } from './fft.js';
export { choleskySolve, solveSymmetric } from './linalg.js';
export { median, rocAucMannWhitney, sigmoid, fitLogisticNewton, type NewtonLogisticOptions } from './stats.js';
export { LUMA_BT601, LUMA_BT709, luma601, luma709, rgbToLuma, lumaPlane } from './colour.js';
export { bilinearAccumulate, type SampleBorder } from './sampling.js';
export { mulberry32, gaussianSampler } from './random.js';
export { convexHull, polygonMask, ellipseMask, type Point, type FaceBox } from './shapes.js';
