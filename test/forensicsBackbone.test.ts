/**
 * The frozen-backbone forensic detector: its input and head checks, its head's logit against a
 * hand-computed value, and, end to end on a real face (the Human package's sample picture), the
 * shipped head loads as `--detector backbone`, gives a probability per face, an analysis states its
 * measured real-media record, and the trunk's features change when the face is self-blended.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeImage, type RawImage } from '../src/index.js';
import { createImage } from '../src/core/image/index.js';
import { mulberry32 } from '../src/core/random.js';
import { logisticMargin } from '../src/core/logistic.js';
import { detectFaces, FaceModels } from '../src/face/index.js';
import { analyzeMedia } from '../src/trust/forensics/analyze.js';
import { BACKBONE_DETECTOR_ID, FACE_BACKBONE_DIM, FaceBackbone, backboneInput, loadBackboneModel } from '../src/trust/forensics/backboneDetector.js';
import { cnnCrop, cnnCropSquare, CNN_INPUT } from '../src/trust/forensics/cnnCrop.js';
import { loadForensicDetector, type ForensicDetector } from '../src/trust/forensics/cnnDetector.js';
import { selfBlendFace } from '../src/trust/forensics/selfBlend.js';
import { manAtTable } from './helpers/scenes.js';

describe('backbone forensic detector: checks', () => {
  it('takes only the CNN crop size as input', () => {
    assert.throws(() => backboneInput(createImage(CNN_INPUT + 1, CNN_INPUT, 3)), { code: 'E_INPUT_UNSUPPORTED' });
    const x = backboneInput(createImage(CNN_INPUT, CNN_INPUT, 3));
    assert.deepEqual([x.width, x.height, x.channels], [128, 128, 3]);
  });

  it('head logit: the standardised weighted sum plus bias', () => {
    const model = { mean: [1, -1], scale: [2, 0.5], weights: [0.5, -1], bias: 0.25 };
    // (3 - 1) / 2 * 0.5 + (-2 + 1) / 0.5 * -1 + 0.25 = 0.5 + 2 + 0.25
    assert.ok(Math.abs(logisticMargin(model, [3, -2]) - 2.75) < 1e-9);
  });

  it('refuses a head file for other features', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'clearsight-bb-'));
    try {
      const file = path.join(dir, 'head.json');
      await writeFile(file, JSON.stringify({ id: BACKBONE_DETECTOR_ID, backbone: { input: 128, taps: [] }, logistic: { weights: [1, 2, 3] } }));
      await assert.rejects(loadBackboneModel(file), { code: 'E_MODEL_NOT_FOUND' });
      await assert.rejects(loadBackboneModel(path.join(dir, 'missing.json')), { code: 'E_MODEL_NOT_FOUND' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unknown detector kind is refused', async () => {
    await assert.rejects(loadForensicDetector('nope' as never), { code: 'E_INVALID_OPTION' });
  });
});

describe('backbone forensic detector on a real face', () => {
  let models: FaceModels;
  let detector: ForensicDetector;
  let man: RawImage;

  before(async () => {
    man = await manAtTable();
    models = await FaceModels.load({ mesh: true, embed: false });
    detector = await loadForensicDetector('backbone');
  });
  after(async () => {
    models?.dispose();
    await detector?.dispose();
  });

  it('loads the shipped head as --detector backbone and scores a face', async () => {
    assert.equal(detector.id, BACKBONE_DETECTOR_ID);
    const [face] = await detectFaces(models, man, { mesh: true });
    assert.ok(face, 'a face');
    const a = await detector.scoreFace(man, face);
    const b = await detector.scoreFace(man, face);
    assert.ok(a.probability > 0 && a.probability < 1, String(a.probability));
    assert.equal(a.raw, b.raw, 'deterministic');
  });

  it('an analysis with it states its measured real-media record', async () => {
    assert.ok(detector.realMedia, 'the head carries its real-media record (npm run bench:forensics-backbone)');
    const record = detector.realMedia!;
    assert.equal(record.clipScores.length, record.clips.fake + record.clips.real);
    assert.ok(record.videoAuc.hanleyMcNeil95[0] <= record.videoAuc.value && record.videoAuc.value <= record.videoAuc.hanleyMcNeil95[1]);
    const dir = await mkdtemp(path.join(tmpdir(), 'clearsight-bb-an-'));
    try {
      const file = path.join(dir, 'man.png');
      await writeImage(file, man);
      const { result } = await analyzeMedia(file, models, detector);
      assert.equal(result.outcome, 'analysed', result.summary);
      assert.equal(result.detector.id, BACKBONE_DETECTOR_ID);
      assert.match(result.validation.statement, /of \d+ manipulated clips .* exact 95% interval/);
      assert.ok(result.reliability && result.reliability.neighbours >= 5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('trunk features: finite, FACE_BACKBONE_DIM long, changed by a self-blend', async () => {
    const [face] = await detectFaces(models, man, { mesh: true });
    const trunk = await FaceBackbone.load();
    try {
      const square = cnnCropSquare(face.region);
      const real = await trunk.features(cnnCrop(man, square));
      const fake = await trunk.features(cnnCrop(selfBlendFace(man, { region: face.region, landmarks: face.landmarks! }, mulberry32(7)).image, square));
      assert.equal(real.length, FACE_BACKBONE_DIM);
      assert.ok(real.every(Number.isFinite));
      let diff = 0;
      for (let i = 0; i < real.length; i++) diff += Math.abs(real[i] - fake[i]);
      assert.ok(diff > 0, 'the blend changes the features');
    } finally {
      await trunk.dispose();
    }
  });
});
