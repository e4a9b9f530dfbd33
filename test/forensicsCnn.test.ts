/**
 * The CNN forensic detector end to end on a real face (the Human package's sample picture):
 * the shipped network and its calibration load, the analysis of a single image states its
 * measured real-media error rates and gives no one-point interval, and self-blending the face
 * raises the network's score.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeImage, type RawImage } from '../src/index.js';
import { getModelCard } from '../src/core/models/registry.js';
import { mulberry32 } from '../src/core/random.js';
import { detectFaces, FaceModels } from '../src/face/index.js';
import { analyzeMedia } from '../src/trust/forensics/analyze.js';
import { cnnCrop, cnnCropSquare } from '../src/trust/forensics/cnnCrop.js';
import { CNN_MODEL_NAME, loadForensicDetector, runCnn, type ForensicDetector } from '../src/trust/forensics/cnnDetector.js';
import { selfBlendFace } from '../src/trust/forensics/selfBlend.js';
import { TrainedModel } from '../src/core/models/trainedModel.js';
import { manAtTable } from './helpers/scenes.js';

describe('CNN forensic detector on a real face', () => {
  let dir: string;
  let models: FaceModels;
  let detector: ForensicDetector;
  let man: RawImage;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'clearsight-forensics-cnn-'));
    man = await manAtTable();
    models = await FaceModels.load({ mesh: true, embed: false });
    detector = await loadForensicDetector('cnn');
  });
  after(async () => {
    models?.dispose();
    await detector?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the shipped network with its calibration and real-media record', () => {
    assert.equal(detector.id, 'forensics/sbi-cnn');
    assert.equal(detector.sha256, getModelCard(CNN_MODEL_NAME).trained!.sha256);
    assert.ok(detector.realMedia, 'detector.json carries the real-media record (npm run bench:forensics)');
    const rm = detector.realMedia!;
    assert.ok(rm.clips.fake >= 10 && rm.clips.real >= 10, JSON.stringify(rm.clips));
    assert.equal(rm.clipScores.length, rm.clips.fake + rm.clips.real);
    assert.ok(rm.truePositiveRate.exact95[0] <= rm.truePositiveRate.rate && rm.truePositiveRate.rate <= rm.truePositiveRate.exact95[1]);
    assert.ok(detector.untested.length > 0);
  });

  it('analyses a single image: a probability, no one-point interval, the measured error rates stated', async () => {
    const file = path.join(dir, 'man.png');
    await writeImage(file, man);
    const { result } = await analyzeMedia(file, models, detector);
    assert.equal(result.outcome, 'analysed', result.summary);
    assert.ok(result.probability! >= 0 && result.probability! <= 1);
    assert.equal(result.interval, null);
    assert.match(result.intervalNote, /single image has no frames to resample/);
    assert.equal(result.detector.id, 'forensics/sbi-cnn');
    assert.match(result.validation.statement, /of \d+ manipulated clips .* exact 95% interval/);
    assert.match(result.validation.statement, /Not tested on: /);
    assert.ok(result.reliability && result.reliability.neighbours >= 5);
  });

  it('scores self-blended versions of the face higher than the face itself', async () => {
    const [face] = await detectFaces(models, man, { mesh: true });
    assert.ok(face?.landmarks, 'a face with a mesh');
    const net = await TrainedModel.load(CNN_MODEL_NAME, { threads: 1 });
    try {
      const square = cnnCropSquare(face.region);
      const fakes = Array.from({ length: 8 }, (_, k) =>
        cnnCrop(selfBlendFace(man, { region: face.region, landmarks: face.landmarks! }, mulberry32(100 + k)).image, square),
      );
      const [real, ...blended] = await runCnn(net, [cnnCrop(man, square), ...fakes]);
      const mean = blended.reduce((a, b) => a + b, 0) / blended.length;
      assert.ok(mean > real, `mean logit of self-blends ${mean.toFixed(3)} vs original ${real.toFixed(3)}`);
    } finally {
      await net.dispose();
    }
  });
});
