import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { convertIrToOnnx, UnsupportedOpError, type IrGraph, type IrNode } from '../src/core/models/convert/index.js';
import { resolveStridedSlice } from '../src/core/models/convert/stridedSlice.js';
import { planEinsum } from '../src/core/models/convert/einsum.js';
import { tensor, type ConstTensor } from '../src/core/models/convert/tensor.js';

// ---------- helpers: tiny hand-built IR graphs, run through onnxruntime ----------

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function randomTensor(shape: number[], seed: number): ConstTensor {
  const r = seeded(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor('float32', shape, Array.from({ length: n }, r));
}

interface Builder {
  nodes: IrNode[];
  constants: Map<string, ConstTensor>;
  add(name: string, op: string, inputs: string[], attrs?: IrNode['attrs']): string;
  constant(name: string, value: ConstTensor): string;
  ints(name: string, values: number[]): string;
  scalar(name: string, value: number): string;
}

function builder(): Builder {
  const nodes: IrNode[] = [{ name: 'x', op: 'Placeholder', inputs: [], attrs: { dtype: 'float32' } }];
  const constants = new Map<string, ConstTensor>();
  const b: Builder = {
    nodes,
    constants,
    add(name, op, inputs, attrs = {}) {
      nodes.push({ name, op, inputs, attrs });
      return name;
    },
    constant(name, value) {
      constants.set(name, value);
      return b.add(name, 'Const', []);
    },
    ints: (name, values) => b.constant(name, tensor('int32', [values.length], values)),
    scalar: (name, value) => b.constant(name, tensor('float32', [], [value])),
  };
  return b;
}

async function runGraph(b: Builder, output: string, input: ConstTensor): Promise<{ data: Float32Array; dims: readonly number[]; ops: string[] }> {
  const graph: IrGraph = { nodes: b.nodes, inputs: ['x'], outputs: [output], constants: b.constants };
  const { onnx } = convertIrToOnnx(graph, input.shape);
  const ops = onnxProto.onnx.ModelProto.decode(onnx).graph!.node!.map((n) => n.opType!);
  const session = await ort.InferenceSession.create(onnx);
  const out = await session.run({ input: new ort.Tensor('float32', input.data as Float32Array, [...input.shape]) });
  await session.release();
  return { data: out.output.data as Float32Array, dims: out.output.dims, ops };
}

function naiveEinsum(equation: string, a: ConstTensor, b: ConstTensor): { data: Float64Array; shape: number[] } {
  const [lhs, out] = equation.split('->');
  const [la, lb] = lhs.split(',');
  const size = new Map<string, number>();
  [...la].forEach((c, i) => {
    size.set(c, a.shape[i]);
  });
  [...lb].forEach((c, i) => {
    size.set(c, b.shape[i]);
  });
  const letters = [...new Set([...la, ...lb])];
  const shape = [...out].map((c) => size.get(c)!);
  const data = new Float64Array(shape.reduce((x, y) => x * y, 1));
  const idx = new Map<string, number>();
  const flat = (ls: string, dims: readonly number[]) => [...ls].reduce((acc, c, i) => acc * dims[i] + idx.get(c)!, 0);
  const visit = (k: number) => {
    if (k === letters.length) {
      data[flat(out, shape)] += a.data[flat(la, a.shape)] * b.data[flat(lb, b.shape)];
      return;
    }
    for (let v = 0; v < size.get(letters[k])!; v++) {
      idx.set(letters[k], v);
      visit(k + 1);
    }
  };
  visit(0);
  return { data, shape };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= tolerance, `${what}: max abs diff ${worst} > ${tolerance}`);
}

// ---------- StridedSlice semantics ----------

test('StridedSlice: shrink, masks, negative stride, ellipsis and new axis follow TensorFlow', () => {
  const masks = { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 };
  // x[1] of a [4] shape vector -> scalar
  const shrink = resolveStridedSlice([4], [1], [2], [1], { ...masks, shrinkAxisMask: 1 });
  assert.deepEqual(shrink.outputShape, []);
  assert.deepEqual(shrink.dims[0], { start: 1, end: 2, step: 1, size: 1 });
  // x[:, 2:] on [3, 5]
  const cols = resolveStridedSlice([3, 5], [0, 2], [0, 0], [1, 1], { ...masks, beginMask: 1, endMask: 3 });
  assert.deepEqual(cols.outputShape, [3, 3]);
  // x[::-1] on [5]: 4, 3, 2, 1, 0
  const reversed = resolveStridedSlice([5], [0], [0], [-1], { ...masks, beginMask: 1, endMask: 1 });
  assert.deepEqual(reversed.dims[0], { start: 4, end: -1, step: -1, size: 5 });
  // x[..., 1] on [2, 3, 4] -> [2, 3]
  const ellipsis = resolveStridedSlice([2, 3, 4], [0, 1], [0, 2], [1, 1], { ...masks, ellipsisMask: 1, shrinkAxisMask: 2 });
  assert.deepEqual(ellipsis.outputShape, [2, 3]);
  // x[tf.newaxis, -2:] on [6] -> [1, 2]
  const newAxis = resolveStridedSlice([6], [0, -2], [0, 0], [1, 1], { ...masks, newAxisMask: 1, endMask: 2 });
  assert.deepEqual(newAxis.outputShape, [1, 2]);
  assert.equal(newAxis.dims[0].start, 4);
});

test('einsum planning classifies batch, contracted and free letters', () => {
  assert.deepEqual(planEinsum('abcg,gf->abcf'), { left: 'abcg', right: 'gf', output: 'abcf', batch: '', contracted: 'g', leftFree: 'abc', rightFree: 'f' });
  assert.equal(planEinsum('bij,bjk->bik').batch, 'b');
  assert.throws(() => planEinsum('ii,ij->j'), /repeated index/);
  assert.throws(() => planEinsum('ab,bc'), /explicit output/);
});

// ---------- lowering checked numerically through onnxruntime ----------

for (const [equation, shapeA, shapeB] of [
  ['abcg,gf->abcf', [1, 4, 5, 6], [6, 3]],
  ['abgd,gf->abdf', [1, 3, 6, 4], [6, 5]],
  ['gb,cgef->bcef', [6, 4], [2, 6, 3, 5]],
  ['bij,bjk->bik', [3, 4, 5], [3, 5, 2]],
] as const) {
  test(`Einsum ${equation} lowers to MatMul and matches a naive einsum`, async () => {
    const b = builder();
    const weight = randomTensor([...shapeB], 7);
    // The activation is the graph input; the second operand a weight (batched case: both are inputs' shapes).
    const w = b.constant('w', weight);
    const y = b.add('y', 'Einsum', ['x', w], { equation });
    const x = randomTensor([...shapeA], 3);
    const out = await runGraph(b, y, x);
    const expected = naiveEinsum(equation, x, weight);
    assert.deepEqual(out.dims, expected.shape);
    assertClose(out.data, expected.data, 1e-5, equation);
    assert.ok(!out.ops.includes('Einsum'), 'lowered, not emitted as Einsum');
  });
}

test('swapaxes -> einsum -> swapaxes (MAXIM gating unit) folds into one MatMul with no Transpose', async () => {
  const b = builder();
  const perm = b.ints('perm', [0, 3, 2, 1]);
  const t1 = b.add('t1', 'Transpose', ['x', perm]);
  const weight = randomTensor([4, 4], 11);
  const e = b.add('e', 'Einsum', [t1, b.constant('w', weight)], { equation: 'abcg,gf->abcf' });
  const t2 = b.add('t2', 'Transpose', [e, b.ints('perm2', [0, 3, 2, 1])]);
  const x = randomTensor([1, 4, 3, 2], 5);
  const out = await runGraph(b, t2, x);
  // Reference: out[a,f,n,c] = sum_t x[a,t,n,c] w[t,f]
  const expected = naiveEinsum('atnc,tf->afnc', x, weight);
  assertClose(out.data, expected.data, 1e-5, 'gating');
  assert.deepEqual(
    out.ops.filter((o) => o === 'Transpose'),
    [],
  );
  assert.equal(out.ops.filter((o) => o === 'MatMul').length, 1);
});

test('jax2tf LayerNorm pattern is fused into LayerNormalization and stays exact', async () => {
  const b = builder();
  const C = 8;
  const axes = b.ints('axes', [-1]);
  const inv = b.scalar('invC', 1 / C);
  const mean = b.add('mean', 'Mul', [b.add('sum', 'Sum', ['x', axes], { keep_dims: false }), inv]);
  const meanR = b.add('meanR', 'Reshape', [mean, b.ints('s1', [1, 3, 2, 1])]);
  const sq = b.add('sq', 'Square', ['x']);
  const mean2 = b.add('mean2', 'Mul', [b.add('sum2', 'Sum', [sq, axes], { keep_dims: false }), inv]);
  const variance = b.add('var', 'Maximum', [b.scalar('zero', 0), b.add('d', 'Sub', [mean2, b.add('m2', 'Square', [mean])])]);
  const varR = b.add('varR', 'Reshape', [variance, b.ints('s2', [1, 3, 2, 1])]);
  const rs = b.add('rs', 'Rsqrt', [b.add('ve', 'AddV2', [varR, b.scalar('eps', 1e-6)])]);
  const gamma = randomTensor([1, 1, 1, C], 2);
  const beta = randomTensor([1, 1, 1, C], 4);
  const factor = b.add('f', 'Mul', [rs, b.constant('gamma', gamma)]);
  const centred = b.add('c', 'Sub', ['x', meanR]);
  const y = b.add('y', 'AddV2', [b.add('m', 'Mul', [centred, factor]), b.constant('beta', beta)]);
  const x = randomTensor([1, 3, 2, C], 9);
  const out = await runGraph(b, y, x);
  assert.ok(out.ops.includes('LayerNormalization'), `ops: ${out.ops.join(',')}`);
  assert.ok(!out.ops.includes('Sqrt'), 'the decomposed form is gone');
  const expected = new Float64Array(x.data.length);
  for (let p = 0; p < 6; p++) {
    const row = Array.from(x.data.slice(p * C, (p + 1) * C));
    const mu = row.reduce((s, v) => s + v, 0) / C;
    const v = row.reduce((s, q) => s + (q - mu) ** 2, 0) / C;
    row.forEach((q, i) => {
      expected[p * C + i] = ((q - mu) / Math.sqrt(v + 1e-6)) * gamma.data[i] + beta.data[i];
    });
  }
  assertClose(out.data, expected, 1e-5, 'layernorm');
});

test('Conv2D SAME with stride 2, and a 1x1 conv as MatMul, match a direct convolution', async () => {
  for (const [k, stride] of [
    [3, 2],
    [1, 1],
    [4, 2],
  ] as const) {
    const b = builder();
    const filter = randomTensor([k, k, 3, 4], 21 + k);
    const y = b.add('y', 'Conv2D', ['x', b.constant('f', filter)], {
      strides: [1, stride, stride, 1],
      padding: 'SAME',
      dilations: [1, 1, 1, 1],
      data_format: 'NHWC',
    });
    const [H, W] = [7, 6];
    const x = randomTensor([1, H, W, 3], 13);
    const out = await runGraph(b, y, x);
    const oh = Math.ceil(H / stride);
    const ow = Math.ceil(W / stride);
    const padTop = Math.floor(Math.max((oh - 1) * stride + k - H, 0) / 2);
    const padLeft = Math.floor(Math.max((ow - 1) * stride + k - W, 0) / 2);
    const expected = new Float64Array(oh * ow * 4);
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let co = 0; co < 4; co++) {
          let s = 0;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride + ky - padTop;
              const ix = ox * stride + kx - padLeft;
              if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
              for (let ci = 0; ci < 3; ci++) s += x.data[(iy * W + ix) * 3 + ci] * filter.data[((ky * k + kx) * 3 + ci) * 4 + co];
            }
          expected[(oy * ow + ox) * 4 + co] = s;
        }
    assert.deepEqual(out.dims, [1, oh, ow, 4]);
    assertClose(out.data, expected, 1e-5, `conv k${k} s${stride}`);
    if (k === 1) assert.ok(out.ops.includes('MatMul') && !out.ops.includes('Conv'), '1x1 conv became MatMul');
  }
});

test('StridedSlice on activations and Pack/ConcatV2 are lowered correctly', async () => {
  const b = builder();
  const masks = { begin_mask: 0, end_mask: 0b1011, ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: 0 };
  // x[:, 1:3, ::2, :] with end_mask on dims 0, 1, 3 (dim 1 uses the explicit end 3)
  const sl = b.add('sl', 'StridedSlice', ['x', b.ints('b', [0, 1, 0, 0]), b.ints('e', [0, 3, 0, 0]), b.ints('s', [1, 1, 2, 1])], {
    ...masks,
    end_mask: 0b1101,
  });
  const cat = b.add('cat', 'ConcatV2', [sl, sl, b.ints('axis', [-1])]);
  const x = randomTensor([1, 4, 5, 2], 17);
  const out = await runGraph(b, cat, x);
  assert.deepEqual(out.dims, [1, 2, 3, 4]);
  const at = (y: number, xx: number, c: number) => x.data[(y * 5 + xx) * 2 + c];
  assert.equal(out.data[0], at(1, 0, 0));
  assert.equal(out.data[3], at(1, 0, 1)); // second copy of channel 1
  assert.equal(out.data[(1 * 3 + 2) * 4 + 1], at(2, 4, 1));
});

test('an op the converter does not know is an error naming the op and node', () => {
  const b = builder();
  const y = b.add('mystery', 'FancyOp', ['x']);
  const graph: IrGraph = { nodes: b.nodes, inputs: ['x'], outputs: [y], constants: b.constants };
  assert.throws(
    () => convertIrToOnnx(graph, [1, 2, 2, 3]),
    (err: unknown) => err instanceof UnsupportedOpError && /FancyOp.*mystery/.test((err as Error).message),
  );
});

test('jax.nn.gelu (tanh form) and leaky_relu patterns fuse and match their formulas', async () => {
  const b = builder();
  const x3 = b.add('cube', 'Mul', [b.add('lin', 'Mul', [b.scalar('k', 0.044715), 'x']), b.add('sq', 'Square', ['x'])]);
  const inner = b.add('inner', 'Mul', [b.scalar('s', Math.fround(Math.sqrt(2 / Math.PI))), b.add('sum', 'AddV2', ['x', x3])]);
  const onePlus = b.add('onePlus', 'AddV2', [b.scalar('one', 1), b.add('tanh', 'Tanh', [inner])]);
  const gelu = b.add('gelu', 'Mul', [b.add('half', 'Mul', ['x', b.scalar('h', 0.5)]), onePlus]);
  const cond = b.add('ge', 'GreaterEqual', [gelu, b.scalar('zero', 0)]);
  const leaky = b.add('leaky', 'SelectV2', [cond, gelu, b.add('neg', 'Mul', [gelu, b.scalar('alpha', 0.2)])]);
  const x = randomTensor([1, 2, 3, 4], 23);
  const out = await runGraph(b, leaky, x);
  assert.ok(out.ops.includes('Gelu') && out.ops.includes('LeakyRelu') && !out.ops.includes('Tanh'), `ops: ${out.ops.join(',')}`);
  const expected = Array.from(x.data, (v) => {
    const g = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    return g >= 0 ? g : 0.2 * g;
  });
  assertClose(out.data, expected, 1e-5, 'gelu+leaky');
});
