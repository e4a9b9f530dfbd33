/**
 * The fast derainer's training pipeline end to end in smoke mode (TS patch sets -> PyTorch -> ONNX +
 * card + golden): runs only where Debian's /usr/bin/python3 imports torch and onnx and the shared
 * data is present (development machines). CI never needs Python: there it is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainedCard, readGolden, readTrainedOnnx } from '../src/core/models/trained.js';
import { InferenceSession } from '../src/core/runtime/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const DATA =
  process.env.CLEARSIGHT_DATA ??
  [path.resolve(ROOT, '../shared/data'), path.resolve(ROOT, '../../shared/data')].find((d) => existsSync(path.join(d, 'derain/rain100H-dev')));

function torchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;
}

const skip = !torchAvailable()
  ? 'no /usr/bin/python3 with torch and onnx (training tooling is optional)'
  : !DATA
    ? 'shared data (derain/rain100H-dev) not found'
    : false;

test('derain-fast --smoke: prepared sets train into a valid card and an ONNX that reproduces its golden output', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-derain-smoke-'));
  try {
    const sets = path.join(dir, 'sets');
    const out = path.join(dir, 'model');
    execFileSync(process.execPath, ['--import', 'tsx', 'training/prepare/derain-fast.ts', '--smoke', '--data', DATA!, '--out', sets], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    for (const s of ['derain-rain100h', 'derain-synth', 'derain-teacher']) assert.ok(existsSync(path.join(sets, s, 'manifest.json')), `${s} prepared`);
    execFileSync(PYTHON, ['training/derain_fast.py', '--smoke', '--threads', '1', '--data', sets, '--out', out], { cwd: ROOT, stdio: 'pipe' });

    const card = parseTrainedCard(JSON.parse(readFileSync(path.join(out, 'card.json'), 'utf8')), out);
    assert.equal(card.name, 'derain-fast');
    assert.equal(card.kind, 'image');
    assert.ok(card.training.steps > 0 && card.training.steps <= 20, `smoke steps ${card.training.steps}`);
    assert.ok(card.training.command.includes('--smoke'));
    assert.equal(card.training.data.length, 3);
    assert.ok(
      card.training.data.every((d) => /^[0-9a-f]{64}$/.test(d.manifestSha256 ?? '')),
      'every data source records its manifest sha256',
    );
    assert.ok(card.params > 10_000 && card.flopsPerMegapixel > 0);
    assert.ok(existsSync(path.join(out, 'loss.png')));

    const session = await InferenceSession.create(readTrainedOnnx(card), { threads: 1 });
    try {
      const golden = readGolden(card);
      const got = await session.runNamed(Object.fromEntries(golden.inputs.map((t) => [t.name, { data: t.data, shape: t.shape }])));
      const expected = golden.outputs[0];
      const restored = got[expected.name];
      assert.deepEqual([...restored.shape], [...expected.shape]);
      let max = 0;
      for (let i = 0; i < restored.data.length; i++) max = Math.max(max, Math.abs(restored.data[i] - expected.data[i]));
      assert.ok(max <= golden.tolerance, `max |diff| ${max}`);
    } finally {
      await session.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
