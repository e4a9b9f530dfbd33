/**
 * core/models/quantize: dynamic int8 rewrite of a small generated graph (Conv with bias, MatMul
 * with a constant right operand, MatMul with a constant left operand), run by onnxruntime next to
 * the float graph. The int8 graph must give the float result within 2% of its range, contain the
 * integer operators, and be smaller; the weight rounding must stay within half a step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder } from '../src/core/models/convert/onnxBuilder.js';
import { quantizeDynamicInt8, quantizePerColumn, quantizeTensorU8 } from '../src/core/models/quantize.js';
import { mulberry32 } from '../src/core/random.js';

const rand = mulberry32(7);
const randoms = (n: number, amp = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * amp);

/** x [1, 8, 12, 12] -> Conv 3x3 (16, bias) -> Relu -> NHWC -> MatMul [16, 24] -> A [12, 12] @ (.) */
function tinyGraph(): Uint8Array {
  const g = new OnnxGraphBuilder();
  const w = g.constant({ dtype: 'float32', shape: [16, 8, 3, 3], data: randoms(16 * 8 * 9, 0.3) }, 'conv_w');
  const b = g.constant({ dtype: 'float32', shape: [16], data: randoms(16, 0.1) }, 'conv_b');
  const conv = g.node('Conv', ['x', w, b], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const relu = g.node('Relu', [conv]);
  const nhwc = g.node('Transpose', [relu], { perm: [0, 2, 3, 1] });
  const right = g.constant({ dtype: 'float32', shape: [16, 24], data: randoms(16 * 24, 0.5) }, 'mm_b');
  const mm = g.node('MatMul', [nhwc, right]);
  const left = g.constant({ dtype: 'float32', shape: [12, 12], data: randoms(144, 0.5) }, 'mm_a');
  const y = g.node('MatMul', [left, mm], {}, 'y');
  return g.build({ name: 'x', shape: [1, 8, 12, 12] }, [{ name: y, shape: [1, 12, 12, 24] }], 'quantizer test graph');
}

async function run(model: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const out = await s.run({ x: new ort.Tensor('float32', x, [1, 8, 12, 12]) });
    return out[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

test('quantize: int8 graph of a generated Conv/MatMul graph matches the float one within 2% of its range', async () => {
  const fp32 = tinyGraph();
  const { onnx, report } = quantizeDynamicInt8(fp32, { ops: ['Conv', 'MatMul', 'MatMulLeft'], minWeights: 1 });
  assert.deepEqual({ matmul: report.matmul, conv: report.conv, skipped: report.skipped }, { matmul: 2, conv: 1, skipped: 0 });
  const ops = onnxProto.onnx.ModelProto.decode(onnx).graph!.node!.map((n) => n.opType);
  assert.ok(
    ops.includes('ConvInteger') && ops.filter((o) => o === 'MatMulInteger').length === 2 && !ops.includes('Conv') && !ops.includes('MatMul'),
    ops.join(','),
  );
  assert.equal(ops.filter((o) => o === 'DynamicQuantizeLinear').length, 3, 'one activation quantization per distinct input');
  assert.ok(onnx.length < fp32.length, 'int8 weights make the file smaller');

  const x = Float32Array.from(randoms(8 * 144), (v) => v + 0.2);
  const a = await run(fp32, x);
  const b = await run(onnx, x);
  let range = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    range = Math.max(range, Math.abs(a[i]));
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  assert.ok(range > 0.5, `the graph output is not trivial (${range})`);
  assert.ok(worst / range < 0.02, `max |int8 - fp32| = ${worst} over a range of ${range}`);
  assert.ok(worst > 0, 'the int8 graph really rounds (not the float graph again)');

  // Only MatMul: the convolution stays float.
  const mmOnly = quantizeDynamicInt8(fp32, { ops: ['MatMul'], minWeights: 1 });
  assert.deepEqual({ matmul: mmOnly.report.matmul, conv: mmOnly.report.conv }, { matmul: 1, conv: 0 });
  const c = await run(mmOnly.onnx, x);
  let worstMm = 0;
  for (let i = 0; i < a.length; i++) worstMm = Math.max(worstMm, Math.abs(a[i] - c[i]));
  assert.ok(worstMm / range < 0.02);
});

test('quantize: weight rounding stays within half a step, zero is exact', () => {
  const k = 5;
  const n = 3;
  const b = Float32Array.from([0.5, -2, 0, 0.25, 1, 0, -0.5, 0.3, 0, 0.1, -1, 0, 0.05, 2, 0]);
  const { q, scale } = quantizePerColumn(b, k, n);
  assert.deepEqual(
    Array.from(scale).map((s) => +s.toFixed(6)),
    [+(0.5 / 127).toFixed(6), +(2 / 127).toFixed(6), 1],
  );
  for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) assert.ok(Math.abs(q[r * n + c] * scale[c] - b[r * n + c]) <= scale[c] / 2 + 1e-7);
  assert.equal(q[0], 127);
  assert.equal(q[1], -127);

  const w = Float32Array.from([-1, 0, 0.5, 3]);
  const u = quantizeTensorU8(w);
  assert.ok(Math.abs(u.scale - 4 / 255) < 1e-7);
  assert.equal(u.zeroPoint, 64);
  assert.equal(u.q[1], u.zeroPoint, 'zero maps to the zero point exactly');
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs((u.q[i] - u.zeroPoint) * u.scale - w[i]) <= u.scale / 2 + 1e-6);
});

test('quantize: a model without a graph is refused', () => {
  const empty = onnxProto.onnx.ModelProto.encode({ irVersion: 8 }).finish();
  assert.throws(() => quantizeDynamicInt8(empty), /no graph/);
});

test('precision: int8 is refused without a measured recipe; MAXIM deraining int8 runs close to fp32, cached apart, with its recipe applied', async () => {
  const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { ImageModel } = await import('../src/core/models/imageModel.js');
  const { ModelPool } = await import('../src/core/models/pool.js');
  const { int8Recipe } = await import('../src/core/models/precision.js');
  const { derain, upscale } = await import('../src/restore/index.js');
  const { createImage } = await import('../src/core/image/types.js');
  const { psnr } = await import('../src/core/metrics/index.js');
  await assert.rejects(
    ImageModel.load('maxim-denoising', { precision: 'int8' }),
    (e: Error & { code?: string }) => e.code === 'E_INVALID_OPTION' && /precision/.test(e.message) && /maxim-deraining/.test(e.message),
  );
  await assert.rejects(ImageModel.load('maxim-deraining', { precision: 'int4' as never }), /"fp32" or "int8"/);
  await assert.rejects(ImageModel.load('derain-fast', { precision: 'int8' }), /precision/);
  const img = createImage(64, 64, 3);
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++)
      for (let c = 0; c < 3; c++) img.data[(y * 64 + x) * 3 + c] = 0.5 + 0.3 * Math.sin(x / 5 + c) * Math.cos(y / 7) + ((x * 7 + y * 3) % 11 === 0 ? 0.15 : 0);
  await assert.rejects(upscale(img, { precision: 'int8' }), /precision/);
  const cacheDir = mkdtempSync(join(tmpdir(), 'clearsight-int8-'));
  const loads: string[] = [];
  const pool = new ModelPool({ onEvent: (e) => e.type === 'load' && loads.push(e.key) });
  try {
    const fp32 = await derain(img, { threads: 1, cacheDir, pool });
    const int8 = await derain(img, { threads: 1, cacheDir, pool, precision: 'int8' });
    assert.equal(loads.length, 2, 'fp32 and int8 are separate sessions');
    assert.ok(loads.some((k) => k.includes('|int8|')));
    const p = psnr(int8, fp32, { channel: 'y' });
    assert.ok(p > 38 && p < Infinity, `int8 vs fp32 PSNR-Y ${p}`);
    const cached = readdirSync(join(cacheDir, 'models')).filter((n) => !n.includes('-ort')); // not onnxruntime's optimised copies
    const variant = cached.filter((n) => /-q8v1-[0-9a-f]{12}\.onnx$/.test(n));
    assert.equal(variant.length, 1, cached.join(', '));
    assert.equal(cached.length, 2, 'the fp32 graph and its int8 variant');
    // The recipe's float nodes (named on the 128x128 graph) are found at 64x64 too.
    const ops = onnxProto.onnx.ModelProto.decode(readFileSync(join(cacheDir, 'models', variant[0]))).graph!.node!.map((n) => n.opType);
    const recipe = int8Recipe('maxim-deraining')!;
    assert.equal(ops.filter((o) => o === 'MatMulInteger').length, 500 - recipe.keepFloat.length);
    assert.equal(ops.filter((o) => o === 'ConvInteger').length, 70);
  } finally {
    await pool.dispose();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('CLI: --precision (a derain option of the task table) int8 where no recipe exists, or an unknown precision, exits 2 naming the option; no output', async () => {
  const { mkdtempSync, existsSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { runCli } = await import('./helpers/cli.js');
  const { fixturePng } = await import('./helpers/server.js');
  const dir = mkdtempSync(join(tmpdir(), 'clearsight-precision-cli-'));
  try {
    const input = join(dir, 'in.png');
    writeFileSync(input, await fixturePng(32, 32, 4));
    const out = join(dir, 'out.png');
    // Only derain offers it (its MAXIM network has the one int8 recipe): elsewhere the flag does not exist.
    const elsewhere = await runCli(['upscale', input, '-o', out, '--precision', 'int8']);
    assert.equal(elsewhere.code, 2, elsewhere.stderr);
    assert.match(elsewhere.stderr, /unknown option '--precision'/);
    // derain's fast student has no recipe: refused before any model loads.
    const refused = await runCli(['derain', input, '-o', out, '--model', 'fast', '--precision', 'int8']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /Invalid option "--precision": expected "fp32" for derain-fast .*maxim-deraining.*\[E_INVALID_OPTION\]/);
    const unknown = await runCli(['derain', input, '-o', out, '--precision', 'fp16']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /"--precision": expected one of fp32, int8, got "fp16"/);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
