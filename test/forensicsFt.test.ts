/**
 * The fine-tuned forensic detector (`--detector finetuned`: a pretrained Human network fine-tuned
 * end to end on self-blended faces) end to end on a real face (the Human package's sample
 * picture): it loads with its calibration and real-media record through the ONNX detector code it
 * shares with the CNN, a single image is analysed with its measured error rates stated, self-blends
 * of the face score above the face, and an unknown model name is refused.
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
import { FT_DETECTOR_ID, FT_MODEL_NAME, loadForensicDetector, loadOnnxDetector, runCnn, type ForensicDetector } from '../src/trust/forensics/cnnDetector.js';
import { selfBlendFace } from '../src/trust/forensics/selfBlend.js';
import { TrainedModel } from '../src/core/models/trainedModel.js';
import { manAtTable } from './helpers/scenes.js';

describe('fine-tuned forensic detector on a real face', () => {
  let dir: string;
  let models: FaceModels;
  let detector: ForensicDetector;
  let man: RawImage;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'clearsight-forensics-ft-'));
    man = await manAtTable();
    models = await FaceModels.load({ mesh: true, embed: false });
    detector = await loadForensicDetector('finetuned');
  });
  after(async () => {
    models?.dispose();
    await detector?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the shipped network with its calibration and real-media record', () => {
    assert.equal(detector.id, FT_DETECTOR_ID);
    assert.equal(detector.sha256, getModelCard(FT_MODEL_NAME).trained!.sha256);
    assert.ok(detector.realMedia, 'detector.json carries the real-media record (npm run bench:forensics-ft)');
    const rm = detector.realMedia!;
    assert.ok(rm.clips.fake >= 10 && rm.clips.real >= 10, JSON.stringify(rm.clips));
    assert.equal(rm.clipScores.length, rm.clips.fake + rm.clips.real);
    assert.ok(rm.videoAuc.hanleyMcNeil95[0] <= rm.videoAuc.value && rm.videoAuc.value <= rm.videoAuc.hanleyMcNeil95[1]);
    assert.ok(detector.untested.length > 0);
  });

  it('analyses a single image: a probability, no one-point interval, the measured error rates stated', async () => {
    const file = path.join(dir, 'man.png');
    await writeImage(file, man);
    const { result } = await analyzeMedia(file, models, detector);
    assert.equal(result.outcome, 'analysed', result.summary);
    assert.ok(result.probability! > 0 && result.probability! < 1);
    assert.equal(result.interval, null);
    assert.equal(result.detector.id, FT_DETECTOR_ID);
    assert.match(result.validation.statement, /of \d+ manipulated clips .* exact 95% interval/);
    assert.match(result.validation.statement, /Not tested on: /);
  });

  it('scores self-blended versions of the face higher than the face itself', async () => {
    const [face] = await detectFaces(models, man, { mesh: true });
    assert.ok(face?.landmarks, 'a face with a mesh');
    const net = await TrainedModel.load(FT_MODEL_NAME, { threads: 1 });
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

  it('refuses an unknown model name', async () => {
    await assert.rejects(loadOnnxDetector('forensics-nope' as typeof FT_MODEL_NAME), /model/);
  });
});
