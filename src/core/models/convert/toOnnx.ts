import type { Analysis, TensorInfo } from './analyze.js';
import { conv2dGeometry, fusedOps, poolGeometry, resolveNodeSlice, UnsupportedOpError, type FusedActivation } from './analyze.js';
import { einsumSizes, planEinsum } from './einsum.js';
import type { IrGraph, IrNode } from './ir.js';
import { producerOf } from './ir.js';
import { OnnxGraphBuilder } from './onnxBuilder.js';
import { normalizeAxis, numel, toNumbers, transposeTensor, type ConstTensor } from './tensor.js';
import { conversionFailed } from './fail.js';

/**
 * Emits ONNX for an analysed IR graph. Folded tensors become initializers;
 * everything else is lowered op by op. Layout stays NHWC as in TensorFlow:
 * convolutions are wrapped in NHWC<->NCHW transposes, which onnxruntime's
 * transpose optimizer cancels between neighbouring convolutions.
 */
export interface EmitContext {
  readonly b: OnnxGraphBuilder;
  readonly info: Analysis;
  /** ONNX tensor name of an IR tensor reference, creating an initializer for folded values. */
  readonly ref: (irRef: string) => string;
  /**
   * Lower 1x1 convolutions to an NHWC MatMul (no layout transposes; right for MAXIM's MLP-heavy
   * graphs) rather than to Conv. Off in graphs with depthwise convolutions (MobileNet-style
   * blocks), where a 1x1 conv sits between two NCHW convs: as a Conv, the transposes around it
   * cancel and onnxruntime runs the whole block in its blocked NCHWc layout; as a MatMul every
   * block pays two layout transposes (faceres 224x224, 1 thread: 61 ms as MatMul, 38 ms as Conv).
   */
  readonly pointwiseAsMatMul: boolean;
}

type Emitter = (ctx: EmitContext, node: IrNode, inputs: TensorInfo[]) => string;

export function emitOnnx(graph: IrGraph, order: readonly IrNode[], info: Analysis, docString: string): Uint8Array {
  if (graph.inputs.length !== 1 || graph.outputs.length < 1) {
    throw conversionFailed(`expected one input and at least one output, got ${graph.inputs.length} and ${graph.outputs.length}`);
  }
  const b = new OnnxGraphBuilder();
  const names = new Map<string, string>();
  const inputName = 'input';
  b.fresh(inputName);
  names.set(graph.inputs[0], inputName);
  const ref = (irRef: string): string => {
    const existing = names.get(irRef);
    if (existing) return existing;
    const value = info.get(irRef)?.value;
    if (!value) throw conversionFailed(`tensor ${irRef} is used before it is produced`);
    const name = b.constant(value, irRef);
    names.set(irRef, name);
    return name;
  };
  const depthwise = order.some((n) => n.op === 'DepthwiseConv2dNative' || n.op === 'FusedDepthwiseConv2dNative');
  const ctx: EmitContext = { b, info, ref, pointwiseAsMatMul: !depthwise };
  const live = liveNodes(order, graph.outputs);
  for (const node of order) {
    if (!live.has(node.name)) continue;
    if (node.op === 'Const' || node.op === 'Placeholder') continue;
    if (info.get(node.name)?.value) continue; // folded
    const emitter = EMITTERS[node.op];
    if (!emitter) throw new UnsupportedOpError(node.op, node.name, 'no ONNX lowering');
    const inputs = node.inputs.map((r) => info.get(r)!);
    names.set(node.name, emitter(ctx, node, inputs));
  }
  // One output keeps the name `output`; several are `output_0`, `output_1`, ... in the model's order.
  const outputs = graph.outputs.map((irRef, i) => {
    const outInfo = info.get(irRef)!;
    const name = graph.outputs.length === 1 ? 'output' : `output_${i}`;
    let produced = ref(irRef);
    // A graph output must be a node's own output: copy inputs, constants and tensors already exported.
    if (produced === inputName || outInfo.value || b.isGraphOutput(produced) || !b.producesTensor(produced)) produced = b.node('Identity', [produced]);
    b.renameOutput(produced, name);
    names.set(irRef, name);
    return { name, shape: outInfo.shape };
  });
  const inShape = info.get(graph.inputs[0])!.shape;
  return b.build({ name: inputName, shape: inShape }, outputs, docString);
}

// ---------- helpers ----------

/** Names of the nodes the outputs depend on; the rest is not emitted. */
function liveNodes(order: readonly IrNode[], outputs: readonly string[]): Set<string> {
  const byName = new Map(order.map((n) => [n.name, n]));
  const live = new Set<string>();
  const stack = outputs.map(producerOf);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (live.has(name)) continue;
    live.add(name);
    for (const ref of byName.get(name)?.inputs ?? []) stack.push(producerOf(ref));
  }
  return live;
}

const input = (ctx: EmitContext, node: IrNode, i: number) => ctx.ref(node.inputs[i]);
const constOf = (t: TensorInfo, what: string): number[] => {
  if (!t.value) throw conversionFailed(`${what} must be known at conversion time`);
  return toNumbers(t.value);
};

function reshape(ctx: EmitContext, x: string, shape: readonly number[]): string {
  return ctx.b.node('Reshape', [x, ctx.b.int64(shape, 'shape')]);
}

function transpose(ctx: EmitContext, x: string, perm: readonly number[]): string {
  return perm.every((p, i) => p === i) ? x : ctx.b.node('Transpose', [x], { perm: [...perm] });
}

/** Transposes a tensor, folding when its value is known. */
function transposed(ctx: EmitContext, irRef: string, perm: readonly number[]): string {
  const value = ctx.info.get(irRef)!.value;
  if (value) return ctx.b.constant(transposeTensor(value, perm), `${irRef}_T`);
  return transpose(ctx, ctx.ref(irRef), perm);
}

const simple =
  (opType: string): Emitter =>
  (ctx, node) =>
    ctx.b.node(
      opType,
      node.inputs.map((_, i) => input(ctx, node, i)),
      {},
      node.name,
    );

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

// ---------- lowering of individual ops ----------

const conv2d: Emitter = (ctx, node, [x, filter]) => {
  const g = conv2dGeometry(node, x.shape, filter.shape);
  const pointwise = filter.shape[0] === 1 && filter.shape[1] === 1 && g.strides.every((v) => v === 1) && g.pads.every((v) => v === 0);
  if (pointwise && ctx.pointwiseAsMatMul) {
    // A 1x1 convolution is a MatMul over the channel axis: stays NHWC, no layout transposes.
    const kernel = ctx.info.get(node.inputs[1])!;
    const weights = kernel.value
      ? ctx.b.constant({ ...kernel.value, shape: [filter.shape[2], filter.shape[3]] }, `${node.inputs[1]}_2d`)
      : reshape(ctx, input(ctx, node, 1), [filter.shape[2], filter.shape[3]]);
    return ctx.b.node('MatMul', [input(ctx, node, 0), weights], {}, node.name);
  }
  const weights = transposed(ctx, node.inputs[1], [3, 2, 0, 1]);
  const nchw = transpose(ctx, input(ctx, node, 0), NHWC_TO_NCHW);
  const y = ctx.b.node(
    'Conv',
    [nchw, weights],
    {
      kernel_shape: [filter.shape[0], filter.shape[1]],
      strides: g.strides,
      dilations: g.dilations,
      pads: g.pads,
    },
    node.name,
  );
  return transpose(ctx, y, NCHW_TO_NHWC);
};

/**
 * tfjs' fused convolutions (`_FusedConv2D`, `FusedDepthwiseConv2dNative`): the convolution with
 * its bias as ONNX Conv's third input and the activation applied in NCHW, inside the same
 * NHWC<->NCHW transpose pair, so onnxruntime sees Conv(+bias)+activation and fuses them, and the
 * transposes between neighbouring convolutions cancel. Always a Conv, also for 1x1 kernels: in
 * these MobileNet-style graphs a pointwise MatMul between two depthwise Convs would keep every
 * layout transpose alive.
 */
const fusedConv =
  (depthwise: boolean): Emitter =>
  (ctx, node, [x, filter]) => {
    const { bias, activation } = fusedOps(node);
    const g = conv2dGeometry(node, x.shape, filter.shape);
    const [kh, kw, inChannels, last] = filter.shape;
    const outChannels = depthwise ? inChannels * last : last;
    const weights = depthwise ? depthwiseWeights(ctx, node.inputs[1], filter.shape) : transposed(ctx, node.inputs[1], [3, 2, 0, 1]);
    const inputs = [transpose(ctx, input(ctx, node, 0), NHWC_TO_NCHW), weights];
    if (bias) inputs.push(vectorOf(ctx, node.inputs[2], outChannels, 'bias'));
    let y = ctx.b.node(
      'Conv',
      inputs,
      {
        kernel_shape: [kh, kw],
        strides: g.strides,
        dilations: g.dilations,
        pads: g.pads,
        ...(depthwise ? { group: inChannels } : {}),
      },
      node.name,
    );
    if (activation) y = applyActivation(ctx, node, activation, y, outChannels, 'nchw');
    return transpose(ctx, y, NCHW_TO_NHWC);
  };

/** TF depthwise filter [kh, kw, in, multiplier] -> ONNX grouped Conv weights [in * multiplier, 1, kh, kw]. */
function depthwiseWeights(ctx: EmitContext, irRef: string, shape: readonly number[]): string {
  const [kh, kw, inChannels, multiplier] = shape;
  const value = ctx.info.get(irRef)!.value;
  const target = [inChannels * multiplier, 1, kh, kw];
  if (value) return ctx.b.constant({ ...transposeTensor(value, [2, 3, 0, 1]), shape: target }, `${irRef}_dw`);
  return reshape(ctx, transpose(ctx, ctx.ref(irRef), [2, 3, 0, 1]), target);
}

/** A per-channel constant as a flat [channels] tensor (bias, PReLU slope). */
function vectorOf(ctx: EmitContext, irRef: string, channels: number, what: string): string {
  const info = ctx.info.get(irRef)!;
  if (numel(info.shape) !== channels && numel(info.shape) !== 1)
    throw conversionFailed(`${what} ${irRef} has shape ${JSON.stringify(info.shape)}, expected ${channels} values`);
  if (info.value) return ctx.b.constant({ ...info.value, shape: [numel(info.shape)] }, `${irRef}_vec`);
  return reshape(ctx, ctx.ref(irRef), [numel(info.shape)]);
}

/**
 * A fused node's activation. `layout` says where the channel axis is: last (NHWC, and the
 * [rows, units] of a MatMul) or second (NCHW), which is where a per-channel PReLU slope must go.
 */
function applyActivation(ctx: EmitContext, node: IrNode, activation: FusedActivation, x: string, channels: number, layout: 'nchw' | 'channels-last'): string {
  switch (activation) {
    case 'Relu':
      return ctx.b.node('Relu', [x]);
    case 'Relu6':
      return ctx.b.node('Clip', [x, ctx.b.scalarFloat(0), ctx.b.scalarFloat(6)]);
    case 'Elu':
      return ctx.b.node('Elu', [x], { alpha: { float: 1 } });
    case 'Sigmoid':
      return ctx.b.node('Sigmoid', [x]);
    case 'Tanh':
      return ctx.b.node('Tanh', [x]);
    case 'LeakyRelu':
      return ctx.b.node('LeakyRelu', [x], { alpha: { float: (node.attrs.leakyrelu_alpha as number | undefined) ?? 0.2 } });
    case 'Prelu': {
      // tfjs passes the slope as the fused node's last input.
      const slopeRef = node.inputs[node.inputs.length - 1];
      const slope = vectorOf(ctx, slopeRef, channels, 'PReLU slope');
      const n = numel(ctx.info.get(slopeRef)!.shape);
      return ctx.b.node('PRelu', [x, layout === 'nchw' && n > 1 ? reshape(ctx, slope, [n, 1, 1]) : slope]);
    }
  }
}

/** `_FusedMatMul` / MatMul (2-D): Gemm with the transposes as attributes and the bias as C. */
const matMul: Emitter = (ctx, node, [, b]) => {
  const { bias, activation } = node.op === '_FusedMatMul' ? fusedOps(node) : { bias: false, activation: undefined };
  const units = node.attrs.transpose_b ? b.shape[0] : b.shape[1];
  const inputs = [input(ctx, node, 0), input(ctx, node, 1)];
  if (bias) inputs.push(vectorOf(ctx, node.inputs[2], units, 'bias'));
  const y = ctx.b.node('Gemm', inputs, { transA: node.attrs.transpose_a ? 1 : 0, transB: node.attrs.transpose_b ? 1 : 0 }, node.name);
  return activation ? applyActivation(ctx, node, activation, y, units, 'channels-last') : y;
};

/** MaxPool / AvgPool in NCHW. TF's SAME windows ignore the padding: -inf for max, left out of the average. */
const pool =
  (opType: 'MaxPool' | 'AveragePool'): Emitter =>
  (ctx, node, [x]) => {
    const g = poolGeometry(node, x.shape);
    const attrs = { kernel_shape: g.kernel, strides: g.strides, pads: g.pads, ...(opType === 'AveragePool' ? { count_include_pad: 0 } : {}) };
    const y = ctx.b.node(opType, [transpose(ctx, input(ctx, node, 0), NHWC_TO_NCHW)], attrs, node.name);
    return transpose(ctx, y, NCHW_TO_NHWC);
  };

const pad: Emitter = (ctx, node, [x, paddings, fill]) => {
  const p = constOf(paddings, 'Pad paddings');
  const rank = x.shape.length;
  const pads = [...Array.from({ length: rank }, (_, i) => p[2 * i]), ...Array.from({ length: rank }, (_, i) => p[2 * i + 1])];
  const inputs = [input(ctx, node, 0), ctx.b.int64(pads, 'pads')];
  if (fill) inputs.push(ctx.b.scalarFloat(constOf(fill, 'PadV2 constant')[0]));
  return ctx.b.node('Pad', inputs, { mode: 'constant' }, node.name);
};

const conv2dBackpropInput: Emitter = (ctx, node, [sizes, filter, dy]) => {
  const outShape = constOf(sizes, 'input_sizes');
  const g = conv2dGeometry(node, outShape, filter.shape);
  const [kh, kw] = [filter.shape[0], filter.shape[1]];
  // Output of ConvTranspose before output_padding; the remainder goes into output_padding.
  const natural = (i: number, k: number, s: number, d: number, pb: number, pe: number) => s * (i - 1) + (k - 1) * d + 1 - pb - pe;
  const nh = natural(dy.shape[1], kh, g.strides[0], g.dilations[0], g.pads[0], g.pads[2]);
  const nw = natural(dy.shape[2], kw, g.strides[1], g.dilations[1], g.pads[1], g.pads[3]);
  const outputPadding = [outShape[1] - nh, outShape[2] - nw];
  if (outputPadding.some((p) => p < 0)) throw conversionFailed(`Conv2DBackpropInput ${node.name}: cannot reach output size ${outShape}`);
  // TF filter [kh, kw, out_channels, in_channels] -> ONNX ConvTranspose [in_channels, out_channels, kh, kw].
  const weights = transposed(ctx, node.inputs[1], [3, 2, 0, 1]);
  const nchw = transpose(ctx, input(ctx, node, 2), NHWC_TO_NCHW);
  const y = ctx.b.node(
    'ConvTranspose',
    [nchw, weights],
    {
      kernel_shape: [kh, kw],
      strides: g.strides,
      dilations: g.dilations,
      pads: g.pads,
      output_padding: outputPadding,
    },
    node.name,
  );
  return transpose(ctx, y, NCHW_TO_NHWC);
};

/**
 * Einsum lowered to one MatMul (batched or broadcast) with reshapes around it.
 * Several arrangements are possible (which operand goes left, which leading free
 * axes ride along as MatMul broadcast dims); we pick the one that transposes the
 * fewest activation elements. Transposes of weights are folded at conversion time
 * and cost nothing, so "abcg,gf->abcf" and the relabelled gating-unit
 * contraction "atnc,tf->afnc" both become a single MatMul.
 */
const einsum: Emitter = (ctx, node) => {
  const plan = planEinsum(node.attrs.equation as string);
  const operands = [0, 1].map((i) => {
    const t = ctx.info.get(node.inputs[i])!;
    return { letters: i === 0 ? plan.left : plan.right, ref: node.inputs[i], constant: Boolean(t.value), shape: t.shape };
  });
  const sizes = einsumSizes(plan, operands[0].shape, operands[1].shape);
  const dims = (letters: string) => [...letters].map((c) => sizes.get(c)!);
  const prod = (letters: string) => numel(dims(letters));
  const best = chooseArrangement(plan, operands, prod);
  const permFor = (from: string, to: string) => [...to].map((c) => from.indexOf(c));
  const prepare = (op: (typeof operands)[number], layout: string, matShape: number[]) => {
    const name = transposed(ctx, op.ref, permFor(op.letters, layout));
    return sameShape(matShape, dims(layout)) ? name : reshape(ctx, name, matShape);
  };
  const { p, q, lead, fp, fq, k } = best;
  const leadDims = lead ? [prod(lead)] : [];
  const pShape = best.leadOn === 'q' ? [prod(fp), prod(k)] : [...leadDims, prod(fp), prod(k)];
  const qShape = best.leadOn === 'p' ? [prod(k), prod(fq)] : [...leadDims, prod(k), prod(fq)];
  const left = prepare(operands[p], best.pLayout, pShape);
  const right = prepare(operands[q], best.qLayout, qShape);
  let y = ctx.b.node('MatMul', [left, right], {}, node.name);
  const natural = lead + fp + fq;
  const produced = [...leadDims, prod(fp), prod(fq)];
  if (!sameShape(produced, dims(natural))) y = reshape(ctx, y, dims(natural));
  return transpose(ctx, y, permFor(natural, plan.output));
};

interface Arrangement {
  p: number;
  q: number;
  /** Letters carried as leading (batch or broadcast) MatMul dims. */
  lead: string;
  leadOn: 'both' | 'p' | 'q' | 'none';
  fp: string;
  fq: string;
  k: string;
  pLayout: string;
  qLayout: string;
}

function chooseArrangement(
  plan: ReturnType<typeof planEinsum>,
  operands: Array<{ letters: string; constant: boolean }>,
  prod: (letters: string) => number,
): Arrangement {
  const freeOf = (i: number) => [...operands[i].letters].filter((c) => !operands[1 - i].letters.includes(c)).join('');
  // Contract in the order the activation already has, so it needs no reordering.
  const kSource = operands[0].constant && !operands[1].constant ? 1 : 0;
  const k = [...operands[kSource].letters].filter((c) => plan.contracted.includes(c)).join('');
  const candidates: Arrangement[] = [];
  for (const p of [0, 1]) {
    const q = 1 - p;
    if (plan.batch) {
      const fp = freeOf(p);
      const fq = freeOf(q);
      candidates.push({ p, q, lead: plan.batch, leadOn: 'both', fp, fq, k, pLayout: plan.batch + fp + k, qLayout: plan.batch + k + fq });
      continue;
    }
    for (const owner of ['none', 'p', 'q'] as const) {
      const ownerFree = owner === 'p' ? freeOf(p) : owner === 'q' ? freeOf(q) : '';
      for (let n = owner === 'none' ? 0 : 1; n <= ownerFree.length; n++) {
        const lead = ownerFree.slice(0, n);
        const fp = [...freeOf(p)].filter((c) => !lead.includes(c)).join('');
        const fq = [...freeOf(q)].filter((c) => !lead.includes(c)).join('');
        const pLayout = (owner === 'p' ? lead : '') + fp + k;
        const qLayout = (owner === 'q' ? lead : '') + k + fq;
        candidates.push({ p, q, lead, leadOn: owner, fp, fq, k, pLayout, qLayout });
      }
    }
  }
  const cost = (a: Arrangement) => {
    const moved = (i: number, layout: string) => (operands[i].constant || operands[i].letters === layout ? 0 : prod(operands[i].letters));
    const out = a.lead + a.fp + a.fq;
    return moved(a.p, a.pLayout) + moved(a.q, a.qLayout) + (out === plan.output ? 0 : prod(plan.output));
  };
  return candidates.reduce((best, c) => (cost(c) < cost(best) ? c : best));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const stridedSlice: Emitter = (ctx, node, inputs) => {
  const resolved = resolveNodeSlice(node, inputs);
  const x = inputs[0];
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  resolved.dims.forEach((d, axis) => {
    const isFull = d.start === 0 && d.step === 1 && d.end === x.shape[axis];
    if (isFull) return;
    axes.push(axis);
    starts.push(d.start);
    // ONNX reads a negative end as counted from the back; -(dim+1) means "before index 0".
    ends.push(d.end < 0 ? -(x.shape[axis] + 1) : d.end);
    steps.push(d.step);
  });
  let y = input(ctx, node, 0);
  if (axes.length > 0) {
    y = ctx.b.node('Slice', [y, ctx.b.int64(starts), ctx.b.int64(ends), ctx.b.int64(axes), ctx.b.int64(steps)], {}, node.name);
  }
  if (!sameShape(resolved.slicedShape, resolved.outputShape) || axes.length === 0) y = reshape(ctx, y, resolved.outputShape);
  return y;
};

const reshapeTo: Emitter = (ctx, node) => reshape(ctx, input(ctx, node, 0), ctx.info.get(node.name)!.shape);

const floorDivision = (ctx: EmitContext, node: IrNode, x: TensorInfo): string => {
  const toFloat = (i: number) => (x.dtype === 'float32' ? input(ctx, node, i) : ctx.b.node('Cast', [input(ctx, node, i)], { to: 1 }));
  const q = ctx.b.node('Floor', [ctx.b.node('Div', [toFloat(0), toFloat(1)])]);
  return x.dtype === 'float32' ? q : ctx.b.node('Cast', [q], { to: 6 }, node.name);
};

const EMITTERS: Record<string, Emitter> = {
  Identity: (ctx, node) => input(ctx, node, 0),
  AddV2: simple('Add'),
  Add: simple('Add'),
  Sub: simple('Sub'),
  Mul: simple('Mul'),
  RealDiv: simple('Div'),
  Maximum: simple('Max'),
  Minimum: simple('Min'),
  Less: simple('Less'),
  LessEqual: simple('LessOrEqual'),
  Greater: simple('Greater'),
  GreaterEqual: simple('GreaterOrEqual'),
  Equal: simple('Equal'),
  NotEqual: (ctx, node) => ctx.b.node('Not', [ctx.b.node('Equal', [input(ctx, node, 0), input(ctx, node, 1)])], {}, node.name),
  LogicalAnd: simple('And'),
  SelectV2: simple('Where'),
  Sign: simple('Sign'),
  Floor: simple('Floor'),
  Abs: simple('Abs'),
  Neg: simple('Neg'),
  Exp: simple('Exp'),
  Tanh: simple('Tanh'),
  Relu: simple('Relu'),
  Sigmoid: simple('Sigmoid'),
  Reciprocal: simple('Reciprocal'),
  Square: (ctx, node) => ctx.b.node('Mul', [input(ctx, node, 0), input(ctx, node, 0)], {}, node.name),
  Rsqrt: (ctx, node) => ctx.b.node('Reciprocal', [ctx.b.node('Sqrt', [input(ctx, node, 0)])], {}, node.name),
  FloorDiv: (ctx, node, [x]) => floorDivision(ctx, node, x),
  FloorMod: (ctx, node, [x]) => {
    if (x.dtype === 'int32') return ctx.b.node('Mod', [input(ctx, node, 0), input(ctx, node, 1)], { fmod: 0 }, node.name);
    const q = floorDivision(ctx, node, x);
    return ctx.b.node('Sub', [input(ctx, node, 0), ctx.b.node('Mul', [q, input(ctx, node, 1)])], {}, node.name);
  },
  Cast: (ctx, node) => {
    const to = { float32: 1, int32: 6, bool: 9 }[node.attrs.DstT as string];
    if (!to) throw conversionFailed(`Cast to ${String(node.attrs.DstT)} not supported`);
    return ctx.b.node('Cast', [input(ctx, node, 0)], { to }, node.name);
  },
  Sum: (ctx, node, [x, axesT]) => {
    const axes = constOf(axesT, 'Sum axes').map((a) => normalizeAxis(a, x.shape.length));
    return ctx.b.node('ReduceSum', [input(ctx, node, 0), ctx.b.int64(axes, 'axes')], { keepdims: node.attrs.keep_dims ? 1 : 0 }, node.name);
  },
  ConcatV2: (ctx, node, inputs) => {
    const axis = normalizeAxis(constOf(inputs[inputs.length - 1], 'ConcatV2 axis')[0], inputs[0].shape.length);
    const parts = node.inputs.slice(0, -1).map((r) => ctx.ref(r));
    return ctx.b.node('Concat', parts, { axis }, node.name);
  },
  Pack: (ctx, node, inputs) => {
    const rank = inputs[0].shape.length + 1;
    const axis = normalizeAxis((node.attrs.axis as number | undefined) ?? 0, rank);
    const parts = inputs.map((t, i) => {
      const shape = [...t.shape];
      shape.splice(axis, 0, 1);
      return reshape(ctx, input(ctx, node, i), shape);
    });
    return ctx.b.node('Concat', parts, { axis }, node.name);
  },
  Reshape: reshapeTo,
  ExpandDims: reshapeTo,
  Squeeze: reshapeTo,
  BroadcastTo: (ctx, node) => ctx.b.node('Expand', [input(ctx, node, 0), ctx.b.int64(ctx.info.get(node.name)!.shape, 'shape')], {}, node.name),
  Transpose: (ctx, node, [, permT]) => ctx.b.node('Transpose', [input(ctx, node, 0)], { perm: constOf(permT, 'perm') }, node.name),
  GatherV2: (ctx, node, [params, , axisT]) => {
    const axis = normalizeAxis(constOf(axisT, 'axis')[0], params.shape.length);
    return ctx.b.node('Gather', [input(ctx, node, 0), input(ctx, node, 1)], { axis }, node.name);
  },
  StridedSlice: stridedSlice,
  LayerNorm: (ctx, node, [x]) => {
    const channels = x.shape[x.shape.length - 1];
    const vector = (ref: string) => {
      const v = ctx.info.get(ref)!.value!;
      return ctx.b.constant({ ...v, shape: [channels] }, `${ref}_vec`);
    };
    return ctx.b.node(
      'LayerNormalization',
      [input(ctx, node, 0), vector(node.inputs[1]), vector(node.inputs[2])],
      {
        axis: -1,
        epsilon: { float: node.attrs.epsilon as number },
      },
      node.name,
    );
  },
  Gelu: (ctx, node) => ctx.b.node('Gelu', [input(ctx, node, 0)], { approximate: 'tanh' }, node.name),
  // TF's LeakyRelu defaults alpha to 0.2; the jax2tf pattern fusion always sets it.
  LeakyRelu: (ctx, node) => ctx.b.node('LeakyRelu', [input(ctx, node, 0)], { alpha: { float: (node.attrs.alpha as number | undefined) ?? 0.2 } }, node.name),
  _FusedConv2D: fusedConv(false),
  FusedDepthwiseConv2dNative: fusedConv(true),
  DepthwiseConv2dNative: fusedConv(true),
  MatMul: matMul,
  _FusedMatMul: matMul,
  BiasAdd: simple('Add'),
  Prelu: (ctx, node, [x]) => {
    // TF's slope broadcasts against NHWC (channels last), as ONNX PRelu's does.
    const channels = x.shape[x.shape.length - 1];
    return ctx.b.node('PRelu', [input(ctx, node, 0), vectorOf(ctx, node.inputs[1], channels, 'PReLU slope')], {}, node.name);
  },
  Relu6: (ctx, node) => ctx.b.node('Clip', [input(ctx, node, 0), ctx.b.scalarFloat(0), ctx.b.scalarFloat(6)], {}, node.name),
  Elu: (ctx, node) => ctx.b.node('Elu', [input(ctx, node, 0)], { alpha: { float: 1 } }, node.name),
  Softmax: (ctx, node) => ctx.b.node('Softmax', [input(ctx, node, 0)], { axis: -1 }, node.name),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Pad: pad,
  PadV2: pad,
  Mean: (ctx, node, [x, axesT]) => {
    const axes = constOf(axesT, 'Mean axes').map((a) => normalizeAxis(a, x.shape.length));
    return ctx.b.node('ReduceMean', [input(ctx, node, 0), ctx.b.int64(axes, 'axes')], { keepdims: node.attrs.keep_dims ? 1 : 0 }, node.name);
  },
  Conv2D: conv2d,
  Conv2DBackpropInput: conv2dBackpropInput,
  Einsum: einsum,
  DepthToSpace: (ctx, node, [x]) => {
    const s = node.attrs.block_size as number;
    const [n, h, w, c] = x.shape;
    const split = reshape(ctx, input(ctx, node, 0), [n, h, w, s, s, c / (s * s)]);
    const moved = ctx.b.node('Transpose', [split], { perm: [0, 1, 3, 2, 4, 5] });
    return reshape(ctx, moved, [n, h * s, w * s, c / (s * s)]);
  },
  UpsampleNearest: (ctx, node, [x]) => {
    const s = node.attrs.scale as number;
    const [n, h, w, c] = x.shape;
    const split = reshape(ctx, input(ctx, node, 0), [n, h, 1, w, 1, c]);
    const tiled = ctx.b.node('Expand', [split, ctx.b.int64([n, h, s, w, s, c], 'shape')]);
    return reshape(ctx, tiled, [n, h * s, w * s, c]);
  },
};

export type { ConstTensor };
