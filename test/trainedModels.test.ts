/**
 * Models trained in this repository (models/<name>/): every committed ONNX matches its card's sha256 and
 * reproduces the golden output PyTorch computed at export (max |diff| <= the card's tolerance, 1e-4),
 * through the same onnxruntime-node session the library uses. Plus the registry's refusal of damaged models.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InferenceSession } from '../src/core/runtime/index.js';
import { listTrainedCards, readGolden, readTrainedOnnx, TRAINED_MODELS_DIR } from '../src/core/models/trained.js';
import { getModelCard, listModels } from '../src/core/models/registry.js';
import { ImageModel } from '../src/core/models/imageModel.js';

const cards = listTrainedCards();

for (const card of cards) {
  test(`trained model ${card.name}: ONNX reproduces the PyTorch golden output`, async () => {
    const session = await InferenceSession.create(readTrainedOnnx(card), { threads: 1 });
    try {
      const golden = readGolden(card);
      const feeds = Object.fromEntries(golden.inputs.map((t) => [t.name, { data: t.data, shape: t.shape }]));
      const out = await session.runNamed(feeds);
      for (const expected of golden.outputs) {
        const got = out[expected.name];
        assert.ok(got, `output ${expected.name} missing (model gives ${Object.keys(out).join(', ')})`);
        assert.deepEqual([...got.shape], [...expected.shape], `shape of ${expected.name}`);
        let max = 0;
        for (let i = 0; i < got.data.length; i++) max = Math.max(max, Math.abs(got.data[i] - expected.data[i]));
        assert.ok(max <= golden.tolerance, `${card.name}/${expected.name}: max |diff| ${max} > ${golden.tolerance}`);
      }
    } finally {
      await session.dispose();
    }
  });

  test(`trained model ${card.name}: listed in the one registry with its card`, () => {
    const reg = getModelCard(card.name);
    assert.equal(reg.format, 'onnx');
    assert.equal(reg.trained?.sha256, card.sha256);
    assert.ok(listModels().some((m) => m.name === card.name));
    assert.ok(card.training.command.length > 0 && card.training.steps > 0, 'card records the command and steps');
    assert.ok(card.quality.length > 0, 'card reports measured quality');
  });
}

test('trained models: a damaged ONNX or a malformed card is refused with E_MODEL_NOT_FOUND', {
  skip: cards.length === 0 && 'no trained model committed yet',
}, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-trained-'));
  try {
    const src = cards[0].dir;
    const copy = path.join(dir, cards[0].name);
    cpSync(src, copy, { recursive: true });
    const onnxPath = path.join(copy, cards[0].file);
    const bytes = readFileSync(onnxPath);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(onnxPath, bytes);
    const [damaged] = listTrainedCards(dir);
    assert.throws(
      () => readTrainedOnnx(damaged),
      (e: Error & { code?: string }) => e.code === 'E_MODEL_NOT_FOUND' && /does not match its card/.test(e.message),
    );

    const cardPath = path.join(copy, 'card.json');
    const json = JSON.parse(readFileSync(cardPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cardPath, JSON.stringify({ ...json, sha256: 'not-a-hash' }));
    assert.throws(
      () => listTrainedCards(dir),
      (e: Error & { code?: string }) => e.code === 'E_MODEL_NOT_FOUND' && /invalid at "sha256"/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trained models live beside the package (models/)', () => {
  assert.equal(path.basename(TRAINED_MODELS_DIR), 'models');
});

test('ImageModel refuses a tensor model', { skip: !cards.some((c) => c.kind === 'tensor') && 'no tensor model committed yet' }, async () => {
  const tensor = cards.find((c) => c.kind === 'tensor')!;
  await assert.rejects(ImageModel.load(tensor.name), /not an image-to-image model/);
});
