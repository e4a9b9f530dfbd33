/**
 * tfjs reference runner: the wasm Einsum kernel against a naive loop, einsum planning, and one
 * real model (esrgan-slim x2) end to end on a tiny input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';

import { initTfjsWasm, loadTfjsReference, planEinsum } from '../src/core/models/tfjsReference.js';
import { isClearsightError } from '../src/core/errors.js';

const require = createRequire(import.meta.url);

/** A file inside an installed package (the upscalerjs packages export no subpaths). */
function packageFile(pkg: string, rel: string): string {
  const entry = require.resolve(pkg);
  const root = entry.slice(0, entry.indexOf(`${path.sep}node_modules${path.sep}${pkg.split('/').join(path.sep)}${path.sep}`));
  return path.join(root, 'node_modules', pkg, rel);
}

/** Deterministic uniform [-1, 1) values (mulberry32). */
function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

const strides = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};

/** Straightforward einsum for two operands: loop over every assignment of every index. */
function naiveEinsum(eq: string, a: Float32Array, shapeA: number[], b: Float32Array, shapeB: number[]): { data: Float64Array; shape: number[] } {
  const [lhs, out] = eq.split('->') as [string, string];
  const [la, lb] = lhs.split(',') as [string, string];
  const size = new Map<string, number>();
  [...la].forEach((ch, i) => {
    size.set(ch, shapeA[i]!);
  });
  [...lb].forEach((ch, i) => {
    size.set(ch, shapeB[i]!);
  });
  const letters = [...size.keys()];
  const outShape = [...out].map((ch) => size.get(ch)!);
  const result = new Float64Array(outShape.reduce((p, x) => p * x, 1));
  const [sa, sb, so] = [strides(shapeA), strides(shapeB), strides(outShape)];
  const idx = new Map<string, number>(letters.map((ch) => [ch, 0]));
  const offset = (term: string, st: number[]): number => [...term].reduce((o, ch, i) => o + idx.get(ch)! * st[i]!, 0);
  const total = letters.reduce((p, ch) => p * size.get(ch)!, 1);
  for (let n = 0; n < total; n++) {
    let r = n;
    for (let i = letters.length - 1; i >= 0; i--) {
      const ch = letters[i]!;
      idx.set(ch, r % size.get(ch)!);
      r = Math.floor(r / size.get(ch)!);
    }
    result[offset(out, so)]! += a[offset(la, sa)]! * b[offset(lb, sb)]!;
  }
  return { data: result, shape: outShape };
}

async function checkEinsum(eq: string, shapeA: number[], shapeB: number[], seed: number): Promise<void> {
  const a = randomValues(
    shapeA.reduce((p, x) => p * x, 1),
    seed,
  );
  const b = randomValues(
    shapeB.reduce((p, x) => p * x, 1),
    seed + 1,
  );
  const expected = naiveEinsum(eq, a, shapeA, b, shapeB);
  const before = tf.memory().numTensors;
  const ta = tf.tensor(a, shapeA);
  const tb = tf.tensor(b, shapeB);
  const tc = tf.einsum(eq, ta, tb);
  const got = await tc.data();
  assert.deepEqual(tc.shape, expected.shape, `${eq}: shape`);
  let maxErr = 0;
  for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - expected.data[i]!));
  assert.ok(maxErr < 1e-4, `${eq} ${JSON.stringify(shapeA)} x ${JSON.stringify(shapeB)}: max abs error ${maxErr}`);
  tf.dispose([ta, tb, tc]);
  assert.equal(tf.memory().numTensors, before, `${eq}: leaked tensors`);
}

test('tfjs wasm backend initialises once and has an Einsum kernel', async () => {
  await Promise.all([initTfjsWasm(), initTfjsWasm()]);
  await initTfjsWasm();
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(tf.getKernel('Einsum', 'wasm'));
});

test('wasm Einsum matches a naive loop on the three MAXIM equations', async () => {
  await initTfjsWasm();
  // Shapes like MAXIM's (channel mixing over the last axis, block/grid mixing over axis 2 or 1).
  await checkEinsum('abcg,gf->abcf', [1, 4, 5, 6], [6, 7], 1);
  await checkEinsum('abgd,gf->abdf', [2, 3, 4, 5], [4, 6], 2);
  await checkEinsum('gb,cgef->bcef', [4, 5], [3, 4, 2, 6], 3);
});

test('wasm Einsum handles other layouts: batch, transposed operands, output permutation, summed-out indices', async () => {
  await initTfjsWasm();
  await checkEinsum('bij,bjk->bik', [3, 4, 5], [3, 5, 2], 10);
  await checkEinsum('bji,bkj->bik', [2, 5, 4], [2, 3, 5], 11);
  await checkEinsum('ij,jk->ki', [4, 5], [5, 3], 12);
  await checkEinsum('abc,cd->dba', [2, 3, 4], [4, 5], 13);
  await checkEinsum('ij,kl->ijkl', [2, 3], [4, 5], 14); // outer product, no contraction
  await checkEinsum('ijx,jk->ik', [3, 4, 2], [4, 5], 15); // x summed out of the first operand
  await checkEinsum('ab,ab->a', [3, 4], [3, 4], 16); // batch + contraction, vector result
  await checkEinsum('xgd,gy->dyx', [3, 4, 5], [4, 2], 17);
});

test('einsum planner lowers the MAXIM equations to one un-batched matmul plus explicit transposes', () => {
  const p1 = planEinsum('abcg,gf->abcf', [1, 8, 8, 32], [32, 64]);
  assert.deepEqual([p1.a.perm, p1.b.perm, p1.outPerm], [null, null, null]);
  assert.deepEqual(
    [p1.a.shape3, p1.b.shape3],
    [
      [1, 64, 32],
      [1, 32, 64],
    ],
  );
  const p2 = planEinsum('abgd,gf->abdf', [1, 8, 16, 32], [16, 24]);
  assert.deepEqual([p2.a.perm, p2.b.perm, p2.outPerm], [[0, 1, 3, 2], null, null]);
  assert.deepEqual(
    [p2.a.shape3, p2.b.shape3],
    [
      [1, 256, 16],
      [1, 16, 24],
    ],
  );
  const p3 = planEinsum('gb,cgef->bcef', [16, 12], [1, 16, 8, 32]);
  assert.deepEqual([p3.a.perm, p3.b.perm, p3.outPerm], [[1, 0], [1, 0, 2, 3], null]);
  assert.deepEqual(
    [p3.a.shape3, p3.b.shape3, p3.outShape],
    [
      [1, 12, 16],
      [1, 16, 256],
      [12, 1, 8, 32],
    ],
  );
});

test('einsum planner rejects unsupported equations with a clear error', () => {
  const cases: Array<[string, number[], number[], RegExp]> = [
    ['...ij,jk->...ik', [2, 3], [3, 4], /ellipsis/],
    ['ii,ij->j', [3, 3], [3, 4], /repeated index/],
    ['ij->ji', [3, 4], [4, 3], /exactly 2 operands/],
    ['ij,jk->il', [3, 4], [4, 5], /output index "l"/],
    ['ij,jk->ik', [3, 4], [5, 6], /index "j" has size 4 .* and 5/],
    ['ij,jk->ik', [3, 4, 1], [4, 5], /rank 2/],
  ];
  for (const [eq, sa, sb, re] of cases) {
    assert.throws(
      () => planEinsum(eq, sa, sb),
      (err: unknown) => {
        assert.ok(isClearsightError(err), `${eq}: expected a ClearsightError`);
        assert.match(err.message, re, eq);
        assert.match(err.message, new RegExp(eq.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `${eq}: message names the equation`);
        return true;
      },
    );
  }
});

test('esrgan-slim x2 keeps a flat grey patch flat', async () => {
  const modelJson = packageFile('@upscalerjs/esrgan-slim', 'models/x2/model.json');
  const before = tf.memory().numTensors;
  const ref = await loadTfjsReference(modelJson, 'layers');
  const withWeights = tf.memory().numTensors;
  try {
    for (const grey of [0.25, 0.5, 0.75]) {
      const input = new Float32Array(16 * 16 * 3).fill(grey * 255); // 'rdn' models take [0,255]
      const { data, shape } = await ref.predict(input, [1, 16, 16, 3]);
      assert.deepEqual(shape, [1, 32, 32, 3]);
      let sum = 0;
      for (const v of data) sum += v;
      const mean = sum / data.length / 255;
      // Measured |mean - grey|: 0.0006, 0.0011, 0.0017 (the outermost pixels suffer from
      // zero padding, up to 0.3 off). 0.01 = 2.5 grey levels: a broken model, a wrong
      // scale or garbage output misses it by far.
      assert.ok(Math.abs(mean - grey) < 0.01, `grey ${grey}: output mean ${mean}`);
      // Away from the border the output is flat: measured max deviation 0.0017-0.0051.
      let maxDev = 0;
      for (let y = 8; y < 24; y++) {
        for (let x = 8; x < 24; x++) {
          for (let c = 0; c < 3; c++) maxDev = Math.max(maxDev, Math.abs(data[(y * 32 + x) * 3 + c]! / 255 - grey));
        }
      }
      assert.ok(maxDev < 0.02, `grey ${grey}: centre deviates by ${maxDev}`);
    }
    assert.equal(tf.memory().numTensors, withWeights, 'predict leaked tensors');
    await assert.rejects(ref.predict(new Float32Array(10), [1, 16, 16, 3]), /Invalid option "input"/);
  } finally {
    ref.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'dispose left tensors behind');
  await assert.rejects(ref.predict(new Float32Array(16 * 16 * 3), [1, 16, 16, 3]), /disposed/);
});

test("esrgan-slim x2 reproduces the package's own sample output with input in [0,255]", async () => {
  // A flat input cannot tell the input range apart (these nets are nearly scale-equivariant);
  // the package's fixture and the result upscalerjs published for it can.
  const fixture = packageFile('@upscalerjs/esrgan-slim', 'assets/fixture.png');
  const sample = packageFile('@upscalerjs/esrgan-slim', 'assets/samples/2x/result.png');
  const rgb = async (file: string): Promise<{ data: Buffer; width: number; height: number }> => {
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  };
  const lr = await rgb(fixture);
  const hr = await rgb(sample);
  assert.deepEqual([hr.width, hr.height], [lr.width * 2, lr.height * 2]);
  const ref = await loadTfjsReference(packageFile('@upscalerjs/esrgan-slim', 'models/x2/model.json'), 'layers');
  try {
    const psnrFor = async (range: number): Promise<number> => {
      const input = Float32Array.from(lr.data, (v) => (v / 255) * range);
      const { data, shape } = await ref.predict(input, [1, lr.height, lr.width, 3]);
      assert.deepEqual(shape, [1, hr.height, hr.width, 3]);
      let se = 0;
      for (let i = 0; i < data.length; i++) {
        const d = Math.round(Math.min(255, Math.max(0, (data[i]! / range) * 255))) - hr.data[i]!;
        se += d * d;
      }
      return 10 * Math.log10((255 * 255) / (se / data.length));
    };
    // Measured: 58.95 dB with [0,255] (8-bit rounding noise only), 50.5 dB with [0,1].
    const right = await psnrFor(255);
    const wrong = await psnrFor(1);
    assert.ok(right > 55, `PSNR vs upscalerjs sample with input [0,255]: ${right.toFixed(2)} dB`);
    assert.ok(wrong < right - 5, `input [0,1] should match clearly worse (${wrong.toFixed(2)} vs ${right.toFixed(2)} dB)`);
  } finally {
    ref.dispose();
  }
});

test('loadTfjsReference reports a missing model.json as E_MODEL_NOT_FOUND', async () => {
  await assert.rejects(loadTfjsReference('/nonexistent/model.json', 'graph'), (err: unknown) => {
    assert.ok(isClearsightError(err));
    assert.equal(err.code, 'E_MODEL_NOT_FOUND');
    return true;
  });
  await assert.rejects(loadTfjsReference('/x/model.json', 'keras' as never), /Invalid option "kind"/);
});
