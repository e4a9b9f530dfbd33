import type { AttrValue, IrGraph, IrNode } from './ir.js';
import { outputRef, topologicalOrder } from './ir.js';
import { einsumSizes, planEinsum } from './einsum.js';
import { resolveStridedSlice, type ResolvedSlice } from './stridedSlice.js';
import {
  allocate,
  broadcastIndex,
  broadcastShapes,
  normalizeAxis,
  numel,
  stridesOf,
  tensor,
  toNumbers,
  transposeTensor,
  type ConstTensor,
  type DType,
} from './tensor.js';
import { ClearsightError, ERROR_CODES } from '../../errors.js';
import { conversionFailed } from './fail.js';

/**
 * Static analysis for one input shape: every tensor's dtype and shape, and its
 * value when it can be computed at conversion time. With a fixed input shape the
 * whole shape arithmetic of a jax2tf graph (Shape -> StridedSlice -> Pack -> Reshape,
 * resize index tables, ...) folds into constants, which is what lets onnxruntime
 * fuse the rest.
 */
export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly value?: ConstTensor;
}

export type Analysis = Map<string, TensorInfo>;

/** Folding stops at this many elements: larger results stay graph nodes for onnxruntime. */
const FOLD_LIMIT = 1 << 20;

/** A graph op the converter has no ONNX mapping for: a ClearsightError (E_MODEL_CONVERSION) naming op and node. */
export class UnsupportedOpError extends ClearsightError {
  constructor(
    readonly op: string,
    readonly node: string,
    detail = '',
  ) {
    super(ERROR_CODES.MODEL_CONVERSION, `op ${op} (node ${node}) is not supported by the converter${detail ? `: ${detail}` : ''}`, { op, node });
    this.name = 'UnsupportedOpError';
  }
}

export function analyzeGraph(graph: IrGraph, inputShapes: Record<string, readonly number[]>): { order: IrNode[]; info: Analysis } {
  const info: Analysis = new Map();
  const order = topologicalOrder(graph.nodes);
  for (const node of order) {
    const inputs = node.inputs.map((ref) => {
      const known = info.get(ref);
      if (!known) throw conversionFailed(`node ${node.name}: input ${ref} has not been analysed`);
      return known;
    });
    let outputs: TensorInfo[];
    try {
      outputs = inferNode(node, inputs, graph, inputShapes);
    } catch (err) {
      if (err instanceof UnsupportedOpError) throw err;
      throw conversionFailed(`node ${node.name} (${node.op}): ${(err as Error).message}`, { cause: err });
    }
    outputs.forEach((o, i) => {
      info.set(outputRef(node.name, i), o);
    });
  }
  return { order, info };
}

type Rule = (node: IrNode, inputs: TensorInfo[]) => TensorInfo;

function inferNode(node: IrNode, inputs: TensorInfo[], graph: IrGraph, inputShapes: Record<string, readonly number[]>): TensorInfo[] {
  if (node.op === 'Const') {
    const value = graph.constants.get(node.name)!;
    return [{ dtype: value.dtype, shape: value.shape, value }];
  }
  if (node.op === 'Placeholder') {
    const shape = inputShapes[node.name];
    if (!shape) throw conversionFailed(`no input shape given for placeholder ${node.name}`);
    return [{ dtype: (node.attrs.dtype as DType) ?? 'float32', shape: [...shape] }];
  }
  const rule = RULES[node.op];
  if (!rule) throw new UnsupportedOpError(node.op, node.name);
  return [rule(node, inputs)];
}

// ---------- helpers ----------

const known = (t: TensorInfo): ConstTensor | undefined => t.value;
const constValues = (t: TensorInfo, what: string): number[] => {
  if (!t.value) throw conversionFailed(`${what} must be known at conversion time`);
  return toNumbers(t.value);
};
const attrNumber = (node: IrNode, name: string, fallback: number): number => (node.attrs[name] as number | undefined) ?? fallback;
const attrList = (node: IrNode, name: string): number[] => (node.attrs[name] as number[] | undefined) ?? [];

function withValue(dtype: DType, shape: readonly number[], compute: (() => ConstTensor) | undefined): TensorInfo {
  if (compute && numel(shape) <= FOLD_LIMIT) return { dtype, shape, value: compute() };
  return { dtype, shape };
}

/** float32 ops are folded in double then rounded, which is exactly float32 arithmetic for + - * /. */
function roundTo(dtype: DType, x: number): number {
  if (dtype === 'float32') return Math.fround(x);
  if (dtype === 'int32') return x | 0;
  return x ? 1 : 0;
}

function elementwise(dtype: DType, inputs: TensorInfo[], fn: (...xs: number[]) => number): TensorInfo {
  const shape = inputs.map((t) => t.shape).reduce((a, b) => broadcastShapes(a, b));
  const values = inputs.map(known);
  const foldable = values.every((v) => v !== undefined);
  return withValue(dtype, shape, foldable ? () => foldElementwise(dtype, shape, values as ConstTensor[], fn) : undefined);
}

function foldElementwise(dtype: DType, shape: readonly number[], values: ConstTensor[], fn: (...xs: number[]) => number): ConstTensor {
  const out = allocate(dtype, numel(shape));
  const maps = values.map((v) => broadcastIndex(v.shape, shape));
  const args = new Array<number>(values.length);
  for (let i = 0; i < out.length; i++) {
    for (let k = 0; k < values.length; k++) args[k] = values[k].data[maps[k][i]];
    out[i] = roundTo(dtype, fn(...args));
  }
  return { dtype, shape: [...shape], data: out };
}

const unary =
  (fn: (x: number) => number): Rule =>
  (_n, [x]) =>
    elementwise(x.dtype, [x], fn);
const binary =
  (fn: (a: number, b: number) => number): Rule =>
  (_n, [a, b]) =>
    elementwise(a.dtype, [a, b], fn);
const compare =
  (fn: (a: number, b: number) => boolean): Rule =>
  (_n, [a, b]) =>
    elementwise('bool', [a, b], (x, y) => (fn(x, y) ? 1 : 0));

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}
function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

// ---------- shape ops ----------

function reshapeInfo(x: TensorInfo, shape: readonly number[]): TensorInfo {
  return withValue(x.dtype, shape, x.value ? () => ({ dtype: x.dtype, shape: [...shape], data: x.value!.data }) : undefined);
}

export function resolveReshape(from: readonly number[], requested: readonly number[]): number[] {
  const total = numel(from);
  const inferred = requested.indexOf(-1);
  const shape = [...requested];
  if (inferred >= 0) {
    const rest = numel(requested.filter((_, i) => i !== inferred));
    shape[inferred] = rest === 0 ? 0 : total / rest;
  }
  if (numel(shape) !== total || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw conversionFailed(`cannot reshape ${JSON.stringify(from)} to ${JSON.stringify(requested)}`);
  }
  return shape;
}

function sliceValue(x: ConstTensor, resolved: ResolvedSlice): ConstTensor {
  const out = allocate(x.dtype, numel(resolved.slicedShape));
  const strides = stridesOf(x.shape);
  const rank = resolved.dims.length;
  const counter = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += (resolved.dims[d].start + counter[d] * resolved.dims[d].step) * strides[d];
    out[flat] = x.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++counter[d] < resolved.slicedShape[d]) break;
      counter[d] = 0;
    }
  }
  return { dtype: x.dtype, shape: resolved.outputShape, data: out };
}

export function sliceMasks(node: IrNode) {
  return {
    beginMask: attrNumber(node, 'begin_mask', 0),
    endMask: attrNumber(node, 'end_mask', 0),
    ellipsisMask: attrNumber(node, 'ellipsis_mask', 0),
    newAxisMask: attrNumber(node, 'new_axis_mask', 0),
    shrinkAxisMask: attrNumber(node, 'shrink_axis_mask', 0),
  };
}

export function resolveNodeSlice(node: IrNode, inputs: TensorInfo[]): ResolvedSlice {
  const [x, begin, end, strides] = inputs;
  return resolveStridedSlice(
    x.shape,
    constValues(begin, 'StridedSlice begin'),
    constValues(end, 'StridedSlice end'),
    constValues(strides, 'StridedSlice strides'),
    sliceMasks(node),
  );
}

function concatValues(parts: ConstTensor[], axis: number, shape: number[]): ConstTensor {
  const dtype = parts[0].dtype;
  const out = allocate(dtype, numel(shape));
  const outer = numel(shape.slice(0, axis));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = numel(p.shape.slice(axis));
      out.set(p.data.subarray(o * chunk, (o + 1) * chunk) as never, offset);
      offset += chunk;
    }
  }
  return { dtype, shape, data: out };
}

function concatInfo(parts: TensorInfo[], axisValue: number): TensorInfo {
  const rank = parts[0].shape.length;
  const axis = normalizeAxis(axisValue, rank);
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
  const values = parts.map(known);
  const foldable = values.every((v) => v !== undefined);
  return withValue(parts[0].dtype, shape, foldable ? () => concatValues(values as ConstTensor[], axis, shape) : undefined);
}

export function convOutputSize(
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: string,
  padBefore = 0,
  padAfter = 0,
): { size: number; before: number; after: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'SAME') {
    const size = Math.ceil(input / stride);
    const total = Math.max((size - 1) * stride + effective - input, 0);
    return { size, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
  }
  if (padding === 'VALID') return { size: Math.floor((input - effective) / stride) + 1, before: 0, after: 0 };
  return { size: Math.floor((input + padBefore + padAfter - effective) / stride) + 1, before: padBefore, after: padAfter };
}

export function conv2dGeometry(node: IrNode, x: readonly number[], filter: readonly number[]) {
  const strides = attrList(node, 'strides');
  const dilations = attrList(node, 'dilations');
  const padding = (node.attrs.padding as string) ?? 'VALID';
  const explicit = attrList(node, 'explicit_paddings');
  const [sh, sw] = [strides[1] ?? 1, strides[2] ?? 1];
  const [dh, dw] = [dilations[1] ?? 1, dilations[2] ?? 1];
  if ((node.attrs.data_format ?? 'NHWC') !== 'NHWC') throw conversionFailed('only NHWC convolutions are supported');
  const h = convOutputSize(x[1], filter[0], sh, dh, padding, explicit[2], explicit[3]);
  const w = convOutputSize(x[2], filter[1], sw, dw, padding, explicit[4], explicit[5]);
  return { strides: [sh, sw], dilations: [dh, dw], pads: [h.before, w.before, h.after, w.after], outHeight: h.size, outWidth: w.size };
}

// ---------- rules ----------

const RULES: Record<string, Rule> = {
  Identity: (_n, [x]) => x,
  Shape: (_n, [x]) => ({ dtype: 'int32', shape: [x.shape.length], value: tensor('int32', [x.shape.length], x.shape) }),
  Cast: (node, [x]) => {
    const to = node.attrs.DstT as DType;
    return elementwise(to, [x], (v) => (to === 'int32' ? Math.trunc(v) : v));
  },
  AddV2: binary((a, b) => a + b),
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  RealDiv: binary((a, b) => a / b),
  FloorDiv: binary(floorDiv),
  FloorMod: binary(floorMod),
  Maximum: binary(Math.max),
  Minimum: binary(Math.min),
  Less: compare((a, b) => a < b),
  LessEqual: compare((a, b) => a <= b),
  Greater: compare((a, b) => a > b),
  GreaterEqual: compare((a, b) => a >= b),
  NotEqual: compare((a, b) => a !== b),
  Equal: compare((a, b) => a === b),
  LogicalAnd: (_n, [a, b]) => elementwise('bool', [a, b], (x, y) => (x && y ? 1 : 0)),
  SelectV2: (_n, [c, a, b]) => elementwise(a.dtype, [c, a, b], (k, x, y) => (k ? x : y)),
  Sign: unary(Math.sign),
  Square: unary((x) => x * x),
  Reciprocal: unary((x) => 1 / x),
  Rsqrt: unary((x) => 1 / Math.sqrt(x)),
  Floor: unary(Math.floor),
  Abs: unary(Math.abs),
  Neg: unary((x) => -x),
  Exp: unary(Math.exp),
  Tanh: unary(Math.tanh),
  Relu: unary((x) => Math.max(x, 0)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Sum: (node, [x, axesT]) => {
    const axes = constValues(axesT, 'Sum axes').map((a) => normalizeAxis(a, x.shape.length));
    const keep = Boolean(node.attrs.keep_dims);
    const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
    return withValue(x.dtype, shape, x.value ? () => sumValue(x.value!, axes, shape) : undefined);
  },
  ConcatV2: (_n, inputs) => concatInfo(inputs.slice(0, -1), constValues(inputs[inputs.length - 1], 'ConcatV2 axis')[0]),
  Pack: (node, inputs) => {
    const rank = inputs[0].shape.length + 1;
    const axis = normalizeAxis(attrNumber(node, 'axis', 0), rank);
    const expanded = inputs.map((t) => {
      const shape = [...t.shape];
      shape.splice(axis, 0, 1);
      return reshapeInfo(t, shape);
    });
    return concatInfo(expanded, axis);
  },
  Range: (_n, [start, limit, delta]) => {
    const [s, l, d] = [start, limit, delta].map((t) => constValues(t, 'Range bounds')[0]);
    const count = Math.max(0, Math.ceil((l - s) / d));
    const values = Array.from({ length: count }, (_, i) => s + i * d);
    return { dtype: start.dtype, shape: [count], value: tensor(start.dtype, [count], values) };
  },
  ExpandDims: (_n, [x, axisT]) => {
    const axis = constValues(axisT, 'ExpandDims axis')[0];
    const shape = [...x.shape];
    shape.splice(axis < 0 ? axis + x.shape.length + 1 : axis, 0, 1);
    return reshapeInfo(x, shape);
  },
  Squeeze: (node, [x]) => {
    const dims = attrList(node, 'squeeze_dims').map((a) => normalizeAxis(a, x.shape.length));
    const shape = x.shape.filter((d, i) => (dims.length === 0 ? d !== 1 : !dims.includes(i)));
    return reshapeInfo(x, shape);
  },
  Reshape: (_n, [x, shapeT]) => reshapeInfo(x, resolveReshape(x.shape, constValues(shapeT, 'Reshape shape'))),
  BroadcastTo: (_n, [x, shapeT]) => {
    const shape = broadcastShapes(x.shape, constValues(shapeT, 'BroadcastTo shape'));
    return withValue(x.dtype, shape, x.value ? () => foldElementwise(x.dtype, shape, [x.value!], (v) => v) : undefined);
  },
  Transpose: (_n, [x, permT]) => {
    const perm = constValues(permT, 'Transpose perm');
    const shape = perm.map((p) => x.shape[p]);
    return withValue(x.dtype, shape, x.value ? () => transposeTensor(x.value!, perm) : undefined);
  },
  StridedSlice: (node, inputs) => {
    const resolved = resolveNodeSlice(node, inputs);
    const x = inputs[0];
    return withValue(x.dtype, resolved.outputShape, x.value ? () => sliceValue(x.value!, resolved) : undefined);
  },
  GatherV2: (node, [params, indices, axisT]) => {
    if (attrNumber(node, 'batch_dims', 0) !== 0) throw conversionFailed('GatherV2 batch_dims != 0 is not supported');
    const axis = normalizeAxis(constValues(axisT, 'GatherV2 axis')[0], params.shape.length);
    const shape = [...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)];
    const fold = params.value && indices.value ? () => gatherValue(params.value!, indices.value!, axis, shape) : undefined;
    return withValue(params.dtype, shape, fold);
  },
  Conv2D: (node, [x, filter]) => {
    const g = conv2dGeometry(node, x.shape, filter.shape);
    return { dtype: 'float32', shape: [x.shape[0], g.outHeight, g.outWidth, filter.shape[3]] };
  },
  _FusedConv2D: (node, [x, filter]) => {
    fusedOps(node);
    const g = conv2dGeometry(node, x.shape, filter.shape);
    return { dtype: 'float32', shape: [x.shape[0], g.outHeight, g.outWidth, filter.shape[3]] };
  },
  DepthwiseConv2dNative: (node, [x, filter]) => depthwiseInfo(node, x, filter),
  FusedDepthwiseConv2dNative: (node, [x, filter]) => {
    fusedOps(node);
    return depthwiseInfo(node, x, filter);
  },
  MatMul: (node, [a, b]) => matMulInfo(node, a, b),
  _FusedMatMul: (node, [a, b]) => {
    fusedOps(node);
    return matMulInfo(node, a, b);
  },
  BiasAdd: (node, [x, bias]) => {
    if ((node.attrs.data_format ?? 'NHWC') !== 'NHWC') throw conversionFailed('only NHWC BiasAdd is supported');
    return elementwise(x.dtype, [x, bias], (a, b) => a + b);
  },
  Prelu: (_n, [x, alpha]) => elementwise(x.dtype, [x, alpha], (v, a) => (v < 0 ? v * a : v)),
  Relu6: unary((x) => Math.min(Math.max(x, 0), 6)),
  Elu: unary((x) => (x < 0 ? Math.expm1(x) : x)),
  LeakyRelu: (node, [x]) => elementwise(x.dtype, [x], (v) => (v < 0 ? v * attrNumber(node, 'alpha', 0.2) : v)),
  Softmax: (_n, [x]) => ({ dtype: x.dtype, shape: x.shape }),
  MaxPool: (node, [x]) => poolInfo(node, x),
  AvgPool: (node, [x]) => poolInfo(node, x),
  Pad: (_n, [x, paddings]) => padInfo(x, paddings),
  PadV2: (_n, [x, paddings]) => padInfo(x, paddings),
  Mean: (node, [x, axesT]) => {
    const axes = constValues(axesT, 'Mean axes').map((a) => normalizeAxis(a, x.shape.length));
    const keep = Boolean(node.attrs.keep_dims);
    return { dtype: x.dtype, shape: x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d])) };
  },
  Conv2DBackpropInput: (_n, [sizes, filter]) => {
    const shape = constValues(sizes, 'Conv2DBackpropInput input_sizes');
    if (shape[3] !== filter.shape[2]) throw conversionFailed('filter channels do not match input_sizes');
    return { dtype: 'float32', shape };
  },
  Einsum: (node, [a, b]) => {
    const plan = planEinsum(node.attrs.equation as string);
    const sizes = einsumSizes(plan, a.shape, b.shape);
    return { dtype: a.dtype, shape: [...plan.output].map((c) => sizes.get(c)!) };
  },
  DepthToSpace: (node, [x]) => {
    const s = attrNumber(node, 'block_size', 1);
    return { dtype: x.dtype, shape: [x.shape[0], x.shape[1] * s, x.shape[2] * s, x.shape[3] / (s * s)] };
  },
  UpsampleNearest: (node, [x]) => {
    const s = attrNumber(node, 'scale', 1);
    return { dtype: x.dtype, shape: [x.shape[0], x.shape[1] * s, x.shape[2] * s, x.shape[3]] };
  },
};

// ---------- fused ops, pooling, padding ----------

/** The ops a tfjs fused node applies after its convolution or product: BiasAdd first, then at most one activation. */
export const FUSED_ACTIVATIONS = ['Relu', 'Relu6', 'Prelu', 'LeakyRelu', 'Elu', 'Sigmoid', 'Tanh'] as const;
export type FusedActivation = (typeof FUSED_ACTIVATIONS)[number];

export function fusedOps(node: IrNode): { bias: boolean; activation?: FusedActivation } {
  const raw = node.attrs.fused_ops;
  const ops = typeof raw === 'string' && raw !== '' ? raw.split(',') : [];
  const bias = ops[0] === 'BiasAdd';
  const rest = bias ? ops.slice(1) : ops;
  if (rest.length > 1 || (rest.length === 1 && !(FUSED_ACTIVATIONS as readonly string[]).includes(rest[0]))) {
    throw new UnsupportedOpError(node.op, node.name, `fused ops ${ops.join('+')} (supported: BiasAdd then one of ${FUSED_ACTIVATIONS.join(', ')})`);
  }
  if (!bias && rest.length > 0) throw new UnsupportedOpError(node.op, node.name, `fused ops ${ops.join('+')} without BiasAdd`);
  return { bias, activation: rest[0] as FusedActivation | undefined };
}

function depthwiseInfo(node: IrNode, x: TensorInfo, filter: TensorInfo): TensorInfo {
  if (filter.shape[2] !== x.shape[3]) throw conversionFailed(`depthwise filter ${JSON.stringify(filter.shape)} does not match ${x.shape[3]} input channels`);
  const g = conv2dGeometry(node, x.shape, filter.shape);
  return { dtype: 'float32', shape: [x.shape[0], g.outHeight, g.outWidth, filter.shape[2] * filter.shape[3]] };
}

function matMulInfo(node: IrNode, a: TensorInfo, b: TensorInfo): TensorInfo {
  if (a.shape.length !== 2 || b.shape.length !== 2) throw conversionFailed('only 2-D MatMul is supported');
  const [m, k] = node.attrs.transpose_a ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = node.attrs.transpose_b ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== k2) throw conversionFailed(`MatMul inner dimensions differ (${k} vs ${k2})`);
  return { dtype: 'float32', shape: [m, n] };
}

export function poolGeometry(node: IrNode, x: readonly number[]) {
  const ksize = attrList(node, 'ksize');
  const strides = attrList(node, 'strides');
  const padding = (node.attrs.padding as string) ?? 'VALID';
  if ((node.attrs.data_format ?? 'NHWC') !== 'NHWC') throw conversionFailed('only NHWC pooling is supported');
  if ((ksize[0] ?? 1) !== 1 || (ksize[3] ?? 1) !== 1) throw conversionFailed('pooling over batch or channels is not supported');
  const [kh, kw] = [ksize[1] ?? 1, ksize[2] ?? 1];
  const [sh, sw] = [strides[1] ?? 1, strides[2] ?? 1];
  const h = convOutputSize(x[1], kh, sh, 1, padding);
  const w = convOutputSize(x[2], kw, sw, 1, padding);
  return { kernel: [kh, kw], strides: [sh, sw], pads: [h.before, w.before, h.after, w.after], outHeight: h.size, outWidth: w.size };
}

function poolInfo(node: IrNode, x: TensorInfo): TensorInfo {
  if (x.shape.length !== 4) throw conversionFailed('pooling needs an NHWC tensor');
  const g = poolGeometry(node, x.shape);
  return { dtype: x.dtype, shape: [x.shape[0], g.outHeight, g.outWidth, x.shape[3]] };
}

function padInfo(x: TensorInfo, paddings: TensorInfo): TensorInfo {
  const p = constValues(paddings, 'Pad paddings');
  if (p.length !== 2 * x.shape.length || p.some((v) => v < 0)) throw conversionFailed(`Pad paddings ${JSON.stringify(p)} do not fit rank ${x.shape.length}`);
  return { dtype: x.dtype, shape: x.shape.map((d, i) => d + p[2 * i] + p[2 * i + 1]) };
}

function sumValue(x: ConstTensor, axes: number[], shape: number[]): ConstTensor {
  // Accumulate in double, round once: matches a float32 reduction to within rounding.
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const keptStrides = stridesOf(keptShape);
  const acc = new Float64Array(numel(keptShape));
  const rank = x.shape.length;
  const counter = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < x.data.length; flat++) {
    let dst = 0;
    for (let d = 0; d < rank; d++) if (!axes.includes(d)) dst += counter[d] * keptStrides[d];
    acc[dst] += x.data[flat];
    for (let d = rank - 1; d >= 0; d--) {
      if (++counter[d] < x.shape[d]) break;
      counter[d] = 0;
    }
  }
  const out = allocate(x.dtype, acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = roundTo(x.dtype, acc[i]);
  return { dtype: x.dtype, shape, data: out };
}

function gatherValue(params: ConstTensor, indices: ConstTensor, axis: number, shape: number[]): ConstTensor {
  const outer = numel(params.shape.slice(0, axis));
  const inner = numel(params.shape.slice(axis + 1));
  const dim = params.shape[axis];
  const out = allocate(params.dtype, numel(shape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const raw of indices.data) {
      const idx = raw;
      if (idx < 0 || idx >= dim) throw conversionFailed(`GatherV2 index ${idx} out of range [0, ${dim})`);
      const base = (i * dim + idx) * inner;
      for (let k = 0; k < inner; k++) out[o++] = params.data[base + k];
    }
  }
  return { dtype: params.dtype, shape, data: out };
}

export type { AttrValue };
