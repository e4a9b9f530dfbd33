/**
 * Dynamic int8 quantization of an ONNX graph, written on the ONNX protobuf (onnx-proto, as the
 * converters write it): no Python, no onnxruntime tooling.
 *
 * - MatMul with a constant 2-D right operand B [K, N]: B becomes int8, symmetric, one scale per
 *   output column; the activation is quantized at run time (DynamicQuantizeLinear: uint8, its
 *   own scale and zero point per call), then MatMulInteger (u8 x s8 -> int32), Cast, and one
 *   Mul by a_scale * b_scale[n]. onnxruntime fuses this pattern into DynamicQuantizeMatMul.
 * - Conv with a constant weight W [M, C/g, kh, kw]: onnxruntime's ConvInteger takes uint8 weights
 *   with one zero point for the whole tensor, so W becomes uint8, asymmetric, one scale for the
 *   tensor; ConvInteger, Cast, Mul by a_scale * w_scale, then the bias Add.
 *
 * Each activation is quantized once however many nodes read it. Nothing else changes; a node
 * that does not match (a constant left operand, a 3-D B, ConvTranspose) stays float.
 */
import onnxProto from 'onnx-proto';
import { ClearsightError, ERROR_CODES } from '../errors.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
const T = onnx.TensorProto.DataType;

export type QuantizableOp = 'MatMul' | 'MatMulLeft' | 'Conv';

export interface QuantizeOptions {
  /** Which operators to quantize (default both). */
  ops?: readonly QuantizableOp[];
  /** Weights with fewer elements stay float (tiny layers gain nothing). Default 256. */
  minWeights?: number;
  /** Nodes (by name) kept in float: those whose activations quantize badly (calibrateActivations). */
  keepFloat?: ReadonlySet<string>;
}

export interface QuantizeReport {
  matmul: number;
  conv: number;
  /** Weight-bearing MatMul/Conv nodes left in float (shape or size did not qualify). */
  skipped: number;
  /** Bytes of float weights replaced by int8/uint8 ones. */
  floatWeightBytes: number;
}

/** Float values of a float32 initializer (raw_data or float_data). */
function floatsOf(t: ITensor): Float32Array {
  if (t.dataType !== T.FLOAT) throw new ClearsightError(ERROR_CODES.MODEL_CONVERSION, `initializer ${t.name} is not float32`);
  if (t.rawData?.length) {
    const copy = new Uint8Array(t.rawData); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

function transpose2d(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

function transposeBytes(x: Uint8Array, rows: number, cols: number): Uint8Array {
  const t = new Uint8Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

const bytesOf = (a: Float32Array | Int8Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** int8 symmetric per column of B [K, N]: q = round(b / s_n), s_n = max|B[:, n]| / 127. */
export function quantizePerColumn(b: Float32Array, k: number, n: number): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(n);
  for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) scale[c] = Math.max(scale[c], Math.abs(b[r * n + c]));
  for (let c = 0; c < n; c++) scale[c] = scale[c] > 0 ? scale[c] / 127 : 1;
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) q[r * n + c] = Math.max(-127, Math.min(127, Math.round(b[r * n + c] / scale[c])));
  return { q, scale };
}

/** uint8 asymmetric over the whole tensor (range widened to include 0 so that 0 is exact). */
export function quantizeTensorU8(w: Float32Array): { q: Uint8Array; scale: number; zeroPoint: number } {
  let lo = 0;
  let hi = 0;
  for (const v of w) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  const q = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(0, Math.min(255, Math.round(w[i] / scale) + zeroPoint));
  return { q, scale, zeroPoint };
}

/**
 * The graph being rewritten: fresh names, added initializers, the nodes out, and which float
 * initializers lose their last reader (dropped at the end).
 */
class GraphRewrite {
  readonly added: ITensor[] = [];
  readonly out: INode[] = [];
  readonly dropped = new Set<string>();
  readonly report: QuantizeReport = { matmul: 0, conv: 0, skipped: 0, floatWeightBytes: 0 };
  /** The quantized form of each activation, made once, before its first quantized reader. */
  private readonly quantized = new Map<string, { q: string; scale: string; zp: string }>();
  private readonly used: Set<string>;
  private readonly readers = new Map<string, number>();

  constructor(
    graph: onnxProto.onnx.IGraphProto,
    readonly initializers: ReadonlyMap<string, ITensor>,
  ) {
    for (const node of graph.node ?? []) for (const name of node.input ?? []) this.readers.set(name, (this.readers.get(name) ?? 0) + 1);
    this.used = new Set([...initializers.keys(), ...(graph.node ?? []).flatMap((n) => n.output ?? [])]);
  }

  fresh(hint: string): string {
    let name = hint;
    for (let i = 1; this.used.has(name); i++) name = `${hint}_${i}`;
    this.used.add(name);
    return name;
  }

  constant(hint: string, dataType: number, dims: number[], bytes: Uint8Array): string {
    const name = this.fresh(hint);
    this.added.push({ name, dataType, dims, rawData: bytes });
    return name;
  }

  quantizeActivation(x: string): { q: string; scale: string; zp: string } {
    let qa = this.quantized.get(x);
    if (!qa) {
      qa = { q: this.fresh(`${x}_q8`), scale: this.fresh(`${x}_q8_scale`), zp: this.fresh(`${x}_q8_zp`) };
      this.out.push({ opType: 'DynamicQuantizeLinear', input: [x], output: [qa.q, qa.scale, qa.zp], name: this.fresh(`${x}_DynamicQuantizeLinear`) });
      this.quantized.set(x, qa);
    }
    return qa;
  }

  dropIfUnused(name: string): void {
    const left = (this.readers.get(name) ?? 1) - 1;
    this.readers.set(name, left);
    if (left === 0) this.dropped.add(name);
  }

  /** Names of the int32 accumulator, its float cast and the combined scale of node `base`. */
  accumulators(base: string): { acc: string; accF: string; scale: string } {
    return { acc: this.fresh(`${base}_i32`), accF: this.fresh(`${base}_i32_f`), scale: this.fresh(`${base}_scale`) };
  }

  /** Back to float: cast the int32 accumulator, multiply the two scales, then the two together into `y`. */
  dequantize(base: string, names: { acc: string; accF: string; scale: string }, scales: [string, string], y: string): INode[] {
    return [
      {
        opType: 'Cast',
        input: [names.acc],
        output: [names.accF],
        attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }],
        name: this.fresh(`${base}_Cast`),
      },
      { opType: 'Mul', input: scales, output: [names.scale], name: this.fresh(`${base}_ScaleMul`) },
      { opType: 'Mul', input: [names.accF, names.scale], output: [y], name: this.fresh(`${base}_Mul`) },
    ];
  }
}

export function quantizeDynamicInt8(model: Uint8Array, options: QuantizeOptions = {}): { onnx: Uint8Array; report: QuantizeReport } {
  const ops = new Set(options.ops ?? ['MatMul', 'Conv']);
  const minWeights = options.minWeights ?? 256;
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph;
  if (!graph) throw new ClearsightError(ERROR_CODES.MODEL_CONVERSION, 'the ONNX model has no graph');
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const rw = new GraphRewrite(graph, initializers);
  for (const node of graph.node ?? []) {
    const done = !(node.name && options.keepFloat?.has(node.name)) && rewriteNode(rw, node, ops, minWeights);
    if (!done) rw.out.push(node);
  }
  graph.node = rw.out;
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !rw.dropped.has(t.name!)), ...rw.added];
  // Shapes recorded for the replaced float tensors stay valid; drop value_info to be safe.
  graph.valueInfo = [];
  return { onnx: onnx.ModelProto.encode(proto).finish(), report: rw.report };
}

/** Rewrites one node into its integer form when it qualifies; false: the caller keeps it as it is. */
function rewriteNode(rw: GraphRewrite, node: INode, ops: ReadonlySet<string>, minWeights: number): boolean {
  const { initializers } = rw;
  const [a, b] = node.input ?? [];
  const left = node.opType === 'MatMul' ? initializers.get(a) : undefined;
  if (
    left &&
    !initializers.has(b) &&
    ops.has('MatMulLeft') &&
    left.dataType === T.FLOAT &&
    (left.dims ?? []).length === 2 &&
    Number(left.dims![0]) * Number(left.dims![1]) >= minWeights
  ) {
    quantizeLeftMatMul(rw, node, left);
    return true;
  }
  const w = b !== undefined ? initializers.get(b) : undefined;
  const weightBearing = (node.opType === 'MatMul' || node.opType === 'Conv') && w !== undefined && !initializers.has(a);
  if (!weightBearing) return false;
  const dims = (w.dims ?? []).map(Number);
  const elements = dims.reduce((s, d) => s * d, 1);
  if (node.opType === 'MatMul' && ops.has('MatMul') && dims.length === 2 && elements >= minWeights && w.dataType === T.FLOAT) {
    quantizeMatMul(rw, node, w, dims);
    return true;
  }
  const bias = node.input![2];
  const constantBias = !bias || initializers.has(bias);
  if (node.opType === 'Conv' && ops.has('Conv') && constantBias && dims.length === 4 && elements >= minWeights && w.dataType === T.FLOAT) {
    quantizeConv(rw, node, w, dims);
    return true;
  }
  rw.report.skipped++;
  return false;
}

/**
 * Constant left operand A [M, K] (MAXIM's spatial mixing): symmetric per row, stored as uint8
 * around 128 (onnxruntime's MatMulInteger takes a uint8 left operand only; symmetric rows
 * share the zero point 128, which makes per-row scales possible with a scalar zero point).
 */
function quantizeLeftMatMul(rw: GraphRewrite, node: INode, left: ITensor): void {
  const [a, b] = node.input!;
  const [mRows, k] = left.dims!.map(Number);
  const { q, scale } = quantizePerColumn(transpose2d(floatsOf(left), mRows, k), k, mRows);
  const qb = rw.quantizeActivation(b);
  const shifted = new Uint8Array(q.length);
  for (let i = 0; i < q.length; i++) shifted[i] = q[i] + 128;
  const wq = rw.constant(`${a}_u8`, T.UINT8, [mRows, k], transposeBytes(shifted, k, mRows));
  const ws = rw.constant(`${a}_u8_scale`, T.FLOAT, [mRows, 1], bytesOf(scale));
  const y = node.output![0];
  const base = node.name || y;
  const names = rw.accumulators(base);
  const zero = rw.constant(`${a}_u8_zp`, T.UINT8, [], Uint8Array.of(128));
  rw.out.push(
    { opType: 'MatMulInteger', input: [wq, qb.q, zero, qb.zp], output: [names.acc], name: rw.fresh(`${base}_MatMulInteger`) },
    ...rw.dequantize(base, names, [ws, qb.scale], y),
  );
  rw.report.matmul++;
  rw.report.floatWeightBytes += mRows * k * 4;
  rw.dropIfUnused(a);
}

/** MatMul by a constant weight B [K, N]: int8, symmetric per column. */
function quantizeMatMul(rw: GraphRewrite, node: INode, w: ITensor, dims: number[]): void {
  const [a, b] = node.input!;
  const y = node.output![0];
  const base = node.name || y;
  const [k, n] = dims;
  const { q, scale } = quantizePerColumn(floatsOf(w), k, n);
  const qa = rw.quantizeActivation(a);
  const wq = rw.constant(`${b}_s8`, T.INT8, [k, n], bytesOf(q));
  const ws = rw.constant(`${b}_s8_scale`, T.FLOAT, [n], bytesOf(scale));
  const names = rw.accumulators(base);
  rw.out.push(
    { opType: 'MatMulInteger', input: [qa.q, wq, qa.zp], output: [names.acc], name: rw.fresh(`${base}_MatMulInteger`) },
    ...rw.dequantize(base, names, [qa.scale, ws], y),
  );
  rw.report.matmul++;
  rw.report.floatWeightBytes += dims[0] * dims[1] * 4;
  rw.dropIfUnused(b);
}

/** Conv with a constant weight (and constant or no bias): uint8 per tensor, the bias added after. */
function quantizeConv(rw: GraphRewrite, node: INode, w: ITensor, dims: number[]): void {
  const [a, b] = node.input!;
  const bias = node.input![2];
  const y = node.output![0];
  const base = node.name || y;
  const m = dims[0];
  const { q, scale, zeroPoint } = quantizeTensorU8(floatsOf(w));
  const qa = rw.quantizeActivation(a);
  const wq = rw.constant(`${b}_u8`, T.UINT8, dims, q);
  const wzp = rw.constant(`${b}_u8_zp`, T.UINT8, [], Uint8Array.of(zeroPoint));
  const ws = rw.constant(`${b}_u8_scale`, T.FLOAT, [], bytesOf(Float32Array.of(scale)));
  const names = rw.accumulators(base);
  const scaled = bias ? rw.fresh(`${base}_nobias`) : y;
  rw.out.push(
    { opType: 'ConvInteger', input: [qa.q, wq, qa.zp, wzp], output: [names.acc], attribute: node.attribute, name: rw.fresh(`${base}_ConvInteger`) },
    ...rw.dequantize(base, names, [qa.scale, ws], scaled),
  );
  if (bias) {
    // Conv adds its bias per output channel: as a separate Add it is reshaped to [1, M, 1, 1].
    const biasName = rw.constant(`${bias}_nchw`, T.FLOAT, [1, m, 1, 1], bytesOf(floatsOf(rw.initializers.get(bias)!)));
    rw.dropIfUnused(bias);
    rw.out.push({ opType: 'Add', input: [scaled, biasName], output: [y], name: rw.fresh(`${base}_BiasAdd`) });
  }
  rw.report.conv++;
  rw.report.floatWeightBytes += dims.reduce((s, d) => s * d, 1) * 4;
  rw.dropIfUnused(b);
}

/** The weight-bearing nodes the quantizer would rewrite, with the activation each reads. */
export function quantizableNodes(
  model: Uint8Array,
  ops: readonly QuantizableOp[] = ['MatMul', 'Conv'],
): Array<{ name: string; opType: string; activation: string }> {
  const graph = onnx.ModelProto.decode(model).graph;
  if (!graph) throw new ClearsightError(ERROR_CODES.MODEL_CONVERSION, 'the ONNX model has no graph');
  const consts = new Set((graph.initializer ?? []).map((t) => t.name!));
  const found: Array<{ name: string; opType: string; activation: string }> = [];
  for (const n of graph.node ?? []) {
    const [a, b] = n.input ?? [];
    if ((n.opType === 'MatMul' && ops.includes('MatMul')) || (n.opType === 'Conv' && ops.includes('Conv'))) {
      if (consts.has(b) && !consts.has(a) && n.name) found.push({ name: n.name, opType: n.opType!, activation: a });
    } else if (n.opType === 'MatMul' && ops.includes('MatMulLeft') && consts.has(a) && !consts.has(b) && n.name) {
      found.push({ name: n.name, opType: 'MatMulLeft', activation: b });
    }
  }
  return found;
}

/**
 * The model with extra graph outputs (float tensors, shape left to the runtime): used to read
 * activations during calibration.
 */
export function exposeTensors(model: Uint8Array, names: readonly string[]): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  for (const name of names) {
    if (existing.has(name)) continue;
    existing.add(name);
    graph.output!.push({ name, type: { tensorType: { elemType: T.FLOAT } } });
  }
  return onnx.ModelProto.encode(proto).finish();
}

/**
 * Signal-to-noise ratio (dB) of dynamic uint8 quantization for one activation tensor: the
 * rounding noise of a step s = (max - min) / 255 has variance s^2 / 12; a tensor whose range is
 * set by a few outliers gets a coarse step and a low SNR.
 */
export function quantizationSnrDb(x: Float32Array): number {
  let lo = 0;
  let hi = 0;
  let sum = 0;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v;
  }
  const mean = sum / x.length;
  let varSum = 0;
  for (const v of x) varSum += (v - mean) * (v - mean);
  const variance = varSum / x.length;
  const step = (hi - lo) / 255;
  if (step === 0) return Infinity;
  return 10 * Math.log10(variance / ((step * step) / 12));
}

/**
 * Nodes to keep in float: the `fraction` of quantizable nodes whose activations (as measured on
 * calibration runs: node name -> lowest SNR seen) quantize worst.
 */
export function worstNodes(snrByNode: ReadonlyMap<string, number>, fraction: number): Set<string> {
  const sorted = [...snrByNode].sort((a, b) => a[1] - b[1]);
  return new Set(sorted.slice(0, Math.round(fraction * sorted.length)).map(([name]) => name));
}
