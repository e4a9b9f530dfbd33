/**
 * core/models/optimizedCache: a converted model's session is created from onnxruntime's optimised
 * graph saved beside the cache file (made once, atomically); a damaged saved graph is replaced and
 * never fails the run; the output matches the session optimised in memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageModel } from '../src/core/models/imageModel.js';
import { optimizedPathFor } from '../src/core/models/optimizedCache.js';
import { InferenceSession, ORT_VERSION } from '../src/core/runtime/index.js';
import { createImage } from '../src/core/image/types.js';

function picture(): ReturnType<typeof createImage> {
  const img = createImage(20, 20, 3);
  for (let i = 0; i < img.data.length; i++) img.data[i] = 0.5 + 0.4 * Math.sin(i * 0.37);
  return img;
}

test('optimised graph: saved once beside the cached model, reused, replaced when damaged, same output', async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'clearsight-optcache-'));
  try {
    const run = async () => {
      const model = await ImageModel.load('esrgan-slim-x2', { threads: 1, cacheDir });
      try {
        return await model.predict(picture());
      } finally {
        await model.dispose();
      }
    };
    const first = await run();
    const files = () => readdirSync(join(cacheDir, 'models')).sort();
    const saved = files().filter((n) => n.endsWith(`-ort${ORT_VERSION}-ext.onnx`));
    assert.equal(saved.length, 1, files().join(', '));
    assert.equal(files().length, 2, 'the converted graph and its optimised form, no temp file left');
    const converted = files().find((n) => !n.includes('-ort'))!;
    assert.equal(optimizedPathFor(join(cacheDir, 'models', converted)), join(cacheDir, 'models', saved[0]));

    // The same output as a session optimised in memory (level 'all') from the converted bytes.
    const { readFileSync } = await import('node:fs');
    const plain = await InferenceSession.create(readFileSync(join(cacheDir, 'models', converted)), { threads: 1 });
    const gain = 255; // ESRGAN slim works on [0, 255]
    const out = await plain.run(
      picture().data.map((v) => v * gain),
      [1, 20, 20, 3],
    );
    await plain.dispose();
    let worst = 0;
    for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i] / gain - first.data[i]));
    assert.ok(worst < 1e-4, `max difference ${worst}`);

    // Reused: a second model object leaves the files as they are and gives the same output.
    const second = await run();
    assert.deepEqual(second.data, first.data);
    assert.equal(files().length, 2);

    // A damaged saved graph is replaced, not an error.
    writeFileSync(join(cacheDir, 'models', saved[0]), 'not a model');
    const third = await run();
    assert.deepEqual(third.data, first.data);
    assert.ok(readFileSync(join(cacheDir, 'models', saved[0])).length > 1000, 'the saved graph was made again');
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
