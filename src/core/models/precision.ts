/**
 * Numeric precision of the converted experts: 'fp32' (the converted graph) or 'int8' (the same
 * graph rewritten by core/models/quantize, cached beside it). int8 is offered only for the models
 * with a recipe here, each measured by `npm run bench:quant` within 0.1 dB PSNR of fp32 on its
 * data; the recipes name the operators quantized and the nodes kept in float (those whose
 * activations quantize worst on calibration pictures from another source than the evaluation).
 */
import { createHash } from 'node:crypto';
import { invalidOption } from '../errors.js';
import { quantizeDynamicInt8, type QuantizableOp } from './quantize.js';
import type { GraphVariant } from './tfjsSource.js';
import { INT8_RECIPES } from './int8/recipes.js';

export type Precision = 'fp32' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8'];

export interface Int8Recipe {
  /** Registry name of the model. */
  model: string;
  ops: QuantizableOp[];
  /** Node names kept in float. */
  keepFloat: string[];
  /** How it was chosen and measured (bench:quant figures). */
  measured: string;
}

/** Models offered in int8 (registry names). */
export const INT8_MODELS: readonly string[] = INT8_RECIPES.map((r) => r.model);

/** The recipe of a model (by registry name), or undefined where int8 is not offered. */
export function int8Recipe(modelName: string): Int8Recipe | undefined {
  return INT8_RECIPES.find((r) => r.model === modelName);
}

/** `name`: the option as the caller spells it (`--precision` on the command line). */
export function validatePrecision(precision: unknown, modelName: string, name = 'precision'): Precision {
  if (precision === undefined || precision === 'fp32') return 'fp32';
  if (precision !== 'int8') throw invalidOption(name, '"fp32" or "int8"', precision);
  if (!INT8_MODELS.includes(modelName)) {
    throw invalidOption(
      name,
      `"fp32" for ${modelName} (int8 is offered for ${INT8_MODELS.join(', ')}: the models measured within 0.1 dB of fp32, see docs/benchmarks/quant.json)`,
      precision,
    );
  }
  return 'int8';
}

/** The int8 graph as a cache variant of the converted one (tag: quantizer version + recipe hash). */
export function int8Variant(recipe: Int8Recipe): GraphVariant {
  const digest = createHash('sha256')
    .update(JSON.stringify({ ops: recipe.ops, keepFloat: recipe.keepFloat }))
    .digest('hex')
    .slice(0, 12);
  const keepFloat = new Set(recipe.keepFloat);
  return { tag: `q8v1-${digest}`, derive: (onnx) => quantizeDynamicInt8(onnx, { ops: recipe.ops, keepFloat }).onnx };
}
