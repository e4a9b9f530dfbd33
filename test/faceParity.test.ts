/**
 * The face networks run on onnxruntime through our tfjs -> ONNX converter; tfjs-wasm on the
 * original weights is the reference. Every output of every network agrees to 1e-3 in the
 * network's own units (crop pixels for the meshes, logits for the detector). Also: the weight
 * dequantisation those graphs need (float16, uint8/uint16 affine) and the fused-op checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { checkNetworkParity } from '../src/core/models/parity.js';
import { getModelCard, listModels, modelJsonPath } from '../src/core/models/registry.js';
import { TfjsSource } from '../src/core/models/tfjsSource.js';
import { decodeWeight, halfToFloat } from '../src/core/models/convert/tfjsArtifacts.js';
import { fusedOps, UnsupportedOpError } from '../src/core/models/convert/analyze.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'clearsight-face-parity-'));
test.after(() => rmSync(cacheDir, { recursive: true, force: true }));
const TOLERANCE = 1e-3;

const faceCards = listModels().filter((c) => c.task === 'face');

test('the registry lists the six face networks with their package, licence source and input size', () => {
  assert.deepEqual(faceCards.map((c) => c.name).sort(), ['antispoof', 'blazeface', 'facemesh', 'faceres', 'iris', 'liveness']);
  for (const c of faceCards) {
    assert.equal(c.packageName, '@vladmandic/human');
    assert.match(c.id, /^face\/[a-z]+@\d+\.\d+\.\d+$/);
    assert.ok(c.network && c.network.inputSize >= 32);
  }
});

for (const card of faceCards) {
  test(`face network ${card.name}: onnxruntime matches tfjs-wasm to ${TOLERANCE} on every output`, async () => {
    const r = await checkNetworkParity(card.name, { cacheDir, threads: 1 });
    assert.equal(r.outputs.length, card.network!.outputs.length);
    r.outputs.forEach((o, i) => {
      // The card documents the converted model's output order; a reordering must update it.
      assert.deepEqual([...o.shape], [...card.network!.outputs[i].shape], `output ${i} of ${card.name}`);
      assert.ok(o.maxAbsDiff <= TOLERANCE, `output ${i} (${o.shape.join('x')}): max abs diff ${o.maxAbsDiff} > ${TOLERANCE}`);
      // Not vacuous: the outputs are not all zero.
      assert.ok(o.maxAbsReference > 0, `output ${i} of ${card.name} is all zero`);
    });
  });
}

test('the converted face graphs keep no tfjs-only op, and fused convolutions carry their bias into Conv', async () => {
  const card = getModelCard('facemesh');
  const onnx = await new TfjsSource(modelJsonPath(card), card.id).onnxFor([1, 192, 192, 3], cacheDir);
  const nodes = onnxProto.onnx.ModelProto.decode(onnx).graph!.node!;
  const convs = nodes.filter((n) => n.opType === 'Conv');
  // facemesh: 31 _FusedConv2D (BiasAdd, 4 with PReLU) and 24 plain depthwise convolutions.
  assert.equal(convs.length, 55);
  assert.equal(convs.filter((n) => n.input!.length === 3).length, 31, 'each fused conv has its bias as Conv input');
  assert.ok(
    convs.some((n) => n.attribute!.some((a) => a.name === 'group' && Number(a.i) > 1)),
    'depthwise convs are grouped',
  );
  assert.ok(nodes.some((n) => n.opType === 'PRelu'));
});

test('float16 weights decode exactly (normals, subnormals, signed zero, infinity)', () => {
  const halves = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x8000, 0x7bff, 0x7c00]);
  const f = halfToFloat(halves);
  assert.equal(f[0], 1);
  assert.equal(f[1], -2);
  assert.equal(f[2], 0.333251953125);
  assert.equal(f[3], 2 ** -24);
  assert.ok(Object.is(f[4], -0));
  assert.equal(f[5], 65504);
  assert.equal(f[6], Infinity);
});

test('uint8 and uint16 quantised weights dequantise as code * scale + min (int32 rounded); bad specs are rejected', () => {
  const u8 = decodeWeight({ name: 'w', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }, new Uint8Array([0, 2, 255]));
  assert.deepEqual(Array.from(u8.data), [-1, 0, 126.5]);
  const u16 = decodeWeight(
    { name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.001, min: 0 } },
    new Uint8Array(new Uint16Array([1000, 65535]).buffer),
  );
  assert.deepEqual(Array.from(u16.data), [Math.fround(1), Math.fround(65.535)]);
  const i32 = decodeWeight({ name: 'w', shape: [2], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.4, min: 0 } }, new Uint8Array([3, 4]));
  assert.deepEqual(Array.from(i32.data), [1, 2]);
  assert.throws(
    () => decodeWeight({ name: 'w', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' } }, new Uint8Array([1])),
    /without scale and min/,
  );
  assert.throws(() => decodeWeight({ name: 'w', shape: [1], dtype: 'float32', quantization: { dtype: 'int4' } }, new Uint8Array([1])), /int4 is not supported/);
});

test('fused ops: BiasAdd then one activation; anything else is named in an UnsupportedOpError', () => {
  const node = (fused: string) => ({ name: 'n', op: '_FusedConv2D', inputs: [], attrs: { fused_ops: fused } });
  assert.deepEqual(fusedOps(node('BiasAdd,Prelu')), { bias: true, activation: 'Prelu' });
  assert.deepEqual(fusedOps(node('BiasAdd')), { bias: true, activation: undefined });
  assert.throws(
    () => fusedOps(node('FusedBatchNorm,Relu')),
    (e: unknown) => e instanceof UnsupportedOpError && /FusedBatchNorm\+Relu/.test(e.message),
  );
  assert.throws(() => fusedOps(node('BiasAdd,Relu,Relu6')), UnsupportedOpError);
});
