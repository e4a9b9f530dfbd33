import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkParity } from '../src/core/models/parity.js';
import { ImageModel } from '../src/core/models/imageModel.js';
import { listModels } from '../src/core/models/registry.js';

/**
 * The converter's contract: the same input through tfjs-wasm (the original weights,
 * the original runtime) and through our ONNX conversion agrees to 1e-3 on [0,1]
 * output. By default one graph model (MAXIM) and both layers-model families
 * (ESRGAN rdn, and rrdn with custom layers) are checked; CLEARSIGHT_FULL_PARITY=1
 * checks all 19 models (about 2 minutes).
 */
const cacheDir = mkdtempSync(join(tmpdir(), 'clearsight-parity-'));
const full = process.env.CLEARSIGHT_FULL_PARITY === '1';
const defaults = ['maxim-deraining', 'esrgan-slim-x2', 'esrgan-thick-x2'];
const TOLERANCE = 1e-3;

test.after(() => rmSync(cacheDir, { recursive: true, force: true }));

for (const card of listModels().filter((c) => full || defaults.includes(c.name))) {
  test(`parity with tfjs-wasm: ${card.id}`, async () => {
    const [h, w] = card.io.divisibility === 64 ? [64, 64] : [24, 20];
    const r = await checkParity(card.name, h, w, { cacheDir, threads: 2 });
    assert.ok(r.maxAbsDiff <= TOLERANCE, `max abs diff ${r.maxAbsDiff} > ${TOLERANCE}`);
    // A conversion that silently dropped an op would not stay this close; guard against a vacuous pass too.
    assert.ok(Number.isFinite(r.meanAbsDiff));
  });
}

test('converted models are cached by source hash and shape; the second load reads the cache', async () => {
  const model = await ImageModel.load('esrgan-slim-x2', { cacheDir });
  const first = await model.onnxFor([1, 8, 12, 3]);
  const files = readdirSync(join(cacheDir, 'models')).filter((f) => f.includes('-1x8x12x3-'));
  assert.equal(files.length, 1);
  assert.match(files[0], /^[0-9a-f]{32}-1x8x12x3-c\d+\.onnx$/);
  const again = await ImageModel.load('esrgan-slim-x2', { cacheDir });
  const second = await again.onnxFor([1, 8, 12, 3]);
  assert.deepEqual(Buffer.from(second), Buffer.from(first));
  await model.dispose();
  await again.dispose();
  await assert.rejects(model.predict({ width: 8, height: 8, channels: 3, data: new Float32Array(192) }), /after dispose/);
});
