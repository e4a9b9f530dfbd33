import { analyzeGraph } from './analyze.js';
import { graphModelToIr } from './fromGraphModel.js';
import { layersModelToIr } from './fromLayersModel.js';
import type { IrGraph } from './ir.js';
import { emitOnnx } from './toOnnx.js';
import { foldTransposesIntoEinsums } from './optimize.js';
import { fusePatterns } from './fuse.js';
import type { TfjsArtifacts } from './tfjsArtifacts.js';

export { hashTfjsModel, loadTfjsArtifacts, type TfjsArtifacts } from './tfjsArtifacts.js';
export { UnsupportedOpError } from './analyze.js';
export type { IrGraph, IrNode } from './ir.js';

/** Bump when the emitted graph changes, so cached conversions are redone. */
export const CONVERTER_VERSION = 1;

export interface ConversionResult {
  readonly onnx: Uint8Array;
  readonly inputShape: readonly number[];
  /** Shape of the first output (models with one output). */
  readonly outputShape: readonly number[];
  /** Every output in the model's order: `output` when there is one, else `output_0`, `output_1`, ... */
  readonly outputs: ReadonlyArray<{ name: string; shape: readonly number[] }>;
  readonly stats: { irNodes: number; foldedNodes: number; onnxBytes: number };
}

/**
 * Converts a TensorFlow.js model (graph or layers) into an ONNX model for one
 * static NHWC input shape [1, H, W, C].
 */
export function convertTfjsToOnnx(artifacts: TfjsArtifacts, inputShape: readonly number[]): ConversionResult {
  const graph: IrGraph = artifacts.kind === 'graph' ? graphModelToIr(artifacts) : layersModelToIr(artifacts);
  const doc = `converted from tfjs ${artifacts.kind} model sha256:${artifacts.sha256} by clearsight converter v${CONVERTER_VERSION}`;
  return convertIrToOnnx(graph, inputShape, doc);
}

/** The back half of the converter: IR -> analysis -> rewrites -> ONNX. */
export function convertIrToOnnx(graph: IrGraph, inputShape: readonly number[], docString = ''): ConversionResult {
  const analysed = analyzeGraph(graph, { [graph.inputs[0]]: inputShape });
  const info = analysed.info;
  const order = fusePatterns(foldTransposesIntoEinsums(analysed.order, info), info);
  const onnx = emitOnnx(graph, order, info, docString);
  const folded = order.filter((n) => n.op !== 'Const' && info.get(n.name)?.value).length;
  return {
    onnx,
    inputShape: [...inputShape],
    outputShape: [...info.get(graph.outputs[0])!.shape],
    outputs: graph.outputs.map((r, i) => ({ name: graph.outputs.length === 1 ? 'output' : `output_${i}`, shape: [...info.get(r)!.shape] })),
    stats: { irNodes: order.length, foldedNodes: folded, onnxBytes: onnx.byteLength },
  };
}
