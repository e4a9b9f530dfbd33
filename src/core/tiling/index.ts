/**
 * Tiled inference: run a static-shape image-to-image model over an image of
 * any size, with overlap, padding to the model's divisibility, feathered
 * blending, progress and abort.
 *
 *   const plan = planTiles(img.width, img.height, { maxTile: 512, overlap: 32, divisibility: 64 });
 *   const out = await runTiled(img, plan, (tile) => model.run(tile), { scale: 1, control });
 */
export type { AxisPlan, PlanGrid, PlanOptions, TileOrigin, TilePlan } from './plan.js';
export { checkPlan, planAxis, planTiles, validatePlanOptions } from './plan.js';
export { cropImage, padReflect, readRegion, reflectIndex } from './pad.js';
export { featherWeights } from './feather.js';
export type { RunTiledOptions, TileRunner } from './run.js';
export { runTiled } from './run.js';
