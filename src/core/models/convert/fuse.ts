import type { Analysis } from './analyze.js';
import type { IrNode } from './ir.js';
import { producerOf } from './ir.js';
import { numel, toNumbers } from './tensor.js';

/**
 * Pattern fusions on the IR. jax2tf spells LayerNorm and leaky ReLU as ten or
 * so element-wise ops each over full activation tensors; onnxruntime runs them
 * one memory pass at a time. Recognising them lets us emit ONNX's fused
 * LayerNormalization and LeakyRelu. Every matcher checks the whole pattern,
 * including the constants, and leaves the graph untouched on any mismatch.
 */
export function fusePatterns(order: readonly IrNode[], info: Analysis): IrNode[] {
  const byName = new Map(order.map((n) => [n.name, n]));
  const m = new Matcher(byName, info);
  const replaced = new Map<string, IrNode>();
  for (const node of order) {
    const fused = matchLayerNorm(m, node) ?? matchLeakyRelu(m, node) ?? matchTanhGelu(m, node);
    if (fused) replaced.set(node.name, fused);
  }
  return order.map((n) => replaced.get(n.name) ?? n);
}

class Matcher {
  constructor(
    readonly byName: ReadonlyMap<string, IrNode>,
    readonly info: Analysis,
  ) {}

  /** The producing node of `ref` if it is a non-folded `op` with output 0. */
  node(ref: string | undefined, op: string): IrNode | undefined {
    if (ref === undefined || ref.includes(':') || this.info.get(ref)?.value) return undefined;
    const n = this.byName.get(producerOf(ref));
    return n && n.op === op ? n : undefined;
  }

  constant(ref: string | undefined): number[] | undefined {
    const v = ref === undefined ? undefined : this.info.get(ref)?.value;
    return v ? toNumbers(v) : undefined;
  }

  scalar(ref: string | undefined): number | undefined {
    const v = this.constant(ref);
    return v && v.length === 1 ? v[0] : undefined;
  }

  shape(ref: string): readonly number[] {
    return this.info.get(ref)!.shape;
  }

  /** One of the two inputs of a commutative op is `op`; returns [that node, other ref]. */
  either(node: IrNode, op: string): [IrNode, string] | undefined {
    for (const i of [0, 1]) {
      const hit = this.node(node.inputs[i], op);
      if (hit) return [hit, node.inputs[1 - i]];
    }
    return undefined;
  }
}

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** mean over the last axis of `x`: Mul(Sum(x, [-1]), 1/C), possibly reshaped to keep the dim. */
function meanOfLastAxis(m: Matcher, ref: string): { x: string } | undefined {
  const reshaped = m.node(ref, 'Reshape');
  const core = reshaped ? reshaped.inputs[0] : ref;
  const mul = m.node(core, 'Mul');
  if (!mul) return undefined;
  const hit = m.either(mul, 'Sum');
  if (!hit) return undefined;
  const [sum, scaleRef] = hit;
  const x = sum.inputs[0];
  const rank = m.shape(x).length;
  const axes = m.constant(sum.inputs[1]);
  const channels = m.shape(x)[rank - 1];
  const scale = m.scalar(scaleRef);
  if (axes?.length !== 1 || (axes[0] !== -1 && axes[0] !== rank - 1)) return undefined;
  if (scale === undefined || !near(scale, 1 / channels)) return undefined;
  return { x };
}

/**
 * flax LayerNorm as jax2tf emits it:
 *   y = (x - mean) * (rsqrt(max(0, E[x^2] - mean^2) + eps) * gamma) + beta
 */
function matchLayerNorm(m: Matcher, node: IrNode): IrNode | undefined {
  if (node.op !== 'AddV2') return undefined;
  const outer = m.either(node, 'Mul');
  if (!outer) return undefined;
  const [scaled, betaRef] = outer;
  const centred = m.either(scaled, 'Sub');
  if (!centred) return undefined;
  const [sub, factorRef] = centred;
  const mean = meanOfLastAxis(m, sub.inputs[1]);
  if (!mean || mean.x !== sub.inputs[0]) return undefined;
  const x = sub.inputs[0];
  const channels = m.shape(x)[m.shape(x).length - 1];
  const factor = m.node(factorRef, 'Mul');
  const withGamma = factor && m.either(factor, 'Rsqrt');
  if (!withGamma) return undefined;
  const [rsqrt, gammaRef] = withGamma;
  const plusEps = m.node(rsqrt.inputs[0], 'AddV2');
  if (!plusEps) return undefined;
  const epsIndex = m.scalar(plusEps.inputs[1]) !== undefined ? 1 : 0;
  const epsilon = m.scalar(plusEps.inputs[epsIndex]);
  if (epsilon === undefined || !isVariance(m, plusEps.inputs[1 - epsIndex], x)) return undefined;
  const gamma = m.constant(gammaRef);
  const beta = m.constant(betaRef);
  if (!gamma || !beta || gamma.length !== channels || beta.length !== channels) return undefined;
  if (numel(m.shape(node.name)) !== numel(m.shape(x))) return undefined;
  return { name: node.name, op: 'LayerNorm', inputs: [x, gammaRef, betaRef], attrs: { epsilon } };
}

/** max(0, mean(x^2) - mean(x)^2), possibly reshaped. */
function isVariance(m: Matcher, ref: string, x: string): boolean {
  const reshaped = m.node(ref, 'Reshape');
  const maximum = m.node(reshaped ? reshaped.inputs[0] : ref, 'Maximum');
  if (!maximum) return false;
  const zeroIndex = m.scalar(maximum.inputs[0]) === 0 ? 0 : m.scalar(maximum.inputs[1]) === 0 ? 1 : -1;
  if (zeroIndex < 0) return false;
  const sub = m.node(maximum.inputs[1 - zeroIndex], 'Sub');
  if (!sub) return false;
  const meanSq = meanOfLastAxis(m, sub.inputs[0]);
  const squareOfX = meanSq && m.node(meanSq.x, 'Square');
  if (!squareOfX || squareOfX.inputs[0] !== x) return false;
  const squaredMean = m.node(sub.inputs[1], 'Square');
  const mean = squaredMean && meanOfLastAxis(m, squaredMean.inputs[0]);
  return Boolean(mean && mean.x === x);
}

/** leaky_relu(x) = where(x >= 0, x, x * alpha). */
function matchLeakyRelu(m: Matcher, node: IrNode): IrNode | undefined {
  if (node.op !== 'SelectV2') return undefined;
  const [condRef, x, otherRef] = node.inputs;
  const cond = m.node(condRef, 'GreaterEqual');
  if (!cond || cond.inputs[0] !== x || m.scalar(cond.inputs[1]) !== 0) return undefined;
  const mul = m.node(otherRef, 'Mul');
  if (!mul) return undefined;
  const alphaIndex = mul.inputs[0] === x ? 1 : mul.inputs[1] === x ? 0 : -1;
  const alpha = alphaIndex < 0 ? undefined : m.scalar(mul.inputs[alphaIndex]);
  if (alpha === undefined) return undefined;
  return { name: node.name, op: 'LeakyRelu', inputs: [x], attrs: { alpha } };
}

/**
 * GELU, tanh approximation, as jax.nn.gelu(approximate=True) is traced:
 *   0.5 x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x * x^2)))
 */
function matchTanhGelu(m: Matcher, node: IrNode): IrNode | undefined {
  if (node.op !== 'Mul') return undefined;
  for (const i of [0, 1]) {
    const half = m.node(node.inputs[i], 'Mul');
    const onePlus = m.node(node.inputs[1 - i], 'AddV2');
    const x = half && scaledBy(m, half, 0.5);
    if (!x || !onePlus) continue;
    const tanhHit = m.either(onePlus, 'Tanh');
    if (!tanhHit || m.scalar(tanhHit[1]) !== 1) continue;
    const scaled = m.node(tanhHit[0].inputs[0], 'Mul');
    const inner = scaled && scaledBy(m, scaled, Math.sqrt(2 / Math.PI), 1e-5);
    const sum = inner ? m.node(inner, 'AddV2') : undefined;
    if (!sum) continue;
    const cubicRef = sum.inputs[0] === x ? sum.inputs[1] : sum.inputs[1] === x ? sum.inputs[0] : undefined;
    const cubic = m.node(cubicRef, 'Mul');
    if (!cubic || !isScaledCube(m, cubic, x)) continue;
    return { name: node.name, op: 'Gelu', inputs: [x], attrs: { approximate: 'tanh' } };
  }
  return undefined;
}

/** If `mul` is c * y with c ~= `factor`, returns y. */
function scaledBy(m: Matcher, mul: IrNode, factor: number, tolerance = 1e-7): string | undefined {
  for (const i of [0, 1]) {
    const c = m.scalar(mul.inputs[i]);
    if (c !== undefined && Math.abs(c - factor) <= tolerance) return mul.inputs[1 - i];
  }
  return undefined;
}

/** (0.044715 * x) * x^2 in either operand order. */
function isScaledCube(m: Matcher, mul: IrNode, x: string): boolean {
  const square = m.either(mul, 'Square');
  if (!square || square[0].inputs[0] !== x) return false;
  const linear = m.node(square[1], 'Mul');
  return Boolean(linear && scaledBy(m, linear, 0.044715, 1e-6) === x);
}
