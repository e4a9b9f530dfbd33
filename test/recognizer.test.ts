/**
 * The learned degradation recogniser and what it is trained from: the synthetic degradations
 * (each checked against its formula), the recogniser's views, the learned analysis on generated
 * pictures (a strongly darkened scene must read as low light, and so on) and the planner's
 * method choices from severities.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BACKBONE_DIM,
  BackboneFeatures,
  BackboneHead,
  backboneOnnx,
  FINETUNED_PRIORS_FILE,
  FinetunedRecognizer,
  readPriors,
} from '../src/restore/auto/analyzeBackbone.js';
import { getModelCard } from '../src/core/models/registry.js';
import { readGolden, TRAINED_MODELS_DIR } from '../src/core/models/trained.js';
import { InferenceSession } from '../src/core/runtime/index.js';
import { createImage, type RawImage } from '../src/core/image/index.js';
import { isClearsightError } from '../src/core/errors.js';
import { psnr } from '../src/core/metrics/index.js';
import {
  addSensorNoise,
  analyzeDegradations,
  analyzeImage,
  darken,
  defocusBlur,
  DEGRADATIONS,
  DegradationRecognizer,
  dehazeStrengthFor,
  jpegFeatures,
  jpegRoundTrip,
  jpegScore,
  motionBlur,
  planRestoration,
  RECOGNIZER_CROPS,
  RECOGNIZER_VIEWS,
  recognizerViews,
  shiftScores,
  synthesizeHaze,
  type Degradation,
  type DegradationAnalysis,
  type PrimaryDegradation,
} from '../src/restore/auto/index.js';
import { cleanScene } from './helpers/scenes.js';

const flat = (w: number, h: number, v: number): RawImage => {
  const img = createImage(w, h, 3);
  img.data.fill(v);
  return img;
};
const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: Float32Array): number => {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};
const invalid = (name: string) => (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && e.message.includes(`"${name}"`);

describe('synthetic degradations', () => {
  it('sensor noise: the measured sigma is the one asked for; seeded; bad sigma refused', () => {
    const a = addSensorNoise(flat(128, 128, 0.5), { sigma: 20, seed: 3 });
    assert.ok(Math.abs(std(a.data) * 255 - 20) < 1, `sigma ${std(a.data) * 255}`);
    assert.deepEqual(addSensorNoise(flat(8, 8, 0.5), { sigma: 5, seed: 9 }).data, addSensorNoise(flat(8, 8, 0.5), { sigma: 5, seed: 9 }).data);
    assert.throws(() => addSensorNoise(flat(8, 8, 0.5), { sigma: -1 }), invalid('sigma'));
  });
  it('haze follows I = J t + A (1 - t), t = exp(-beta (0.3 + 0.7 d))', () => {
    const J = flat(16, 16, 0.2);
    const depth = new Float32Array(256).fill(0.5);
    const { image, meanTransmission } = synthesizeHaze(J, { beta: 1.5, airlight: [0.9, 0.9, 0.9], depth });
    const t = Math.exp(-1.5 * (0.3 + 0.35));
    assert.ok(Math.abs(meanTransmission - t) < 1e-6);
    assert.ok(Math.abs(image.data[0] - (0.2 * t + 0.9 * (1 - t))) <= 0.5 / 255 + 1e-6);
    assert.throws(() => synthesizeHaze(J, { beta: 9 }), invalid('beta'));
  });
  it('low light scales linear light: no noise, gamma 1 -> x * exposure^(1/2.2)', () => {
    const out = darken(flat(4, 4, 0.8), { exposure: 0.1 });
    assert.ok(Math.abs(out.data[0] - 0.8 * 0.1 ** (1 / 2.2)) <= 0.5 / 255 + 1e-6);
    assert.throws(() => darken(flat(4, 4, 0.8), { exposure: 0 }), invalid('exposure'));
  });
  it('blur kernels keep the mean; motion spreads a point along its direction', () => {
    const dot = createImage(41, 41, 3);
    for (let c = 0; c < 3; c++) dot.data[(20 * 41 + 20) * 3 + c] = 1;
    const m = motionBlur(dot, 11, 0);
    let row = 0;
    let total = 0;
    for (let y = 0; y < 41; y++)
      for (let x = 0; x < 41; x++) {
        const v = m.data[(y * 41 + x) * 3];
        total += v;
        if (y === 20) row += v;
      }
    assert.ok(row / total > 0.8, `horizontal motion keeps ${row / total} of the energy on the row`);
    const d = defocusBlur(flat(20, 20, 0.4), 3);
    assert.ok(Math.abs(mean(d.data) - 0.4) < 1 / 255);
  });
  it('JPEG: quality 100 at 4:4:4 is near-lossless, quality 5 is not', async () => {
    const scene = cleanScene(5, 96, 64);
    assert.ok(psnr(await jpegRoundTrip(scene, 100, true), scene) > 38, '4:4:4 at quality 100');
    assert.ok(psnr(await jpegRoundTrip(scene, 100), scene) < psnr(await jpegRoundTrip(scene, 100, true), scene), '4:2:0 loses chroma');
    assert.ok(psnr(await jpegRoundTrip(scene, 5), scene) < 30);
    await assert.rejects(jpegRoundTrip(scene, 0), invalid('quality'));
  });
});

describe('recognizerViews', () => {
  it('a global view and a 2x3 grid of crops, for any size and for grey pictures', () => {
    const { globalSize: G, cropSize: S } = RECOGNIZER_VIEWS;
    for (const [w, h, c] of [
      [1000, 600, 3],
      [50, 40, 3],
      [200, 900, 1],
    ] as const) {
      const v = recognizerViews(createImage(w, h, c));
      assert.equal(v.global.width, G);
      assert.equal(v.global.channels, 3);
      assert.equal(v.crops.length, RECOGNIZER_CROPS);
      for (const crop of v.crops) assert.deepEqual([crop.width, crop.height, crop.channels], [S, S, 3]);
    }
  });
  it('the local view is at most 512 px: the crops of a 1024 px picture show it at half scale', () => {
    const img = createImage(1024, 1024, 3);
    for (let y = 0; y < 1024; y++) for (let x = 0; x < 1024; x++) img.data.fill(x % 2, (y * 1024 + x) * 3, (y * 1024 + x) * 3 + 3);
    // 1-px stripes area-averaged by 2 are flat grey 0.5.
    const v = recognizerViews(img);
    assert.ok(Math.abs(mean(v.crops[0].data) - 0.5) < 1e-6 && std(v.crops[0].data) < 1e-6);
  });
});

const have = DegradationRecognizer.available();

describe('learned analysis on generated pictures', { skip: !have && 'models/degradation-recognizer not installed' }, () => {
  const scene = cleanScene(31, 384, 256);
  it('a strongly darkened picture scores low light highest, and is planned a low-light step first', async () => {
    const dark = darken(scene, { exposure: 0.03, seed: 2 });
    const a = await analyzeImage(dark, { method: 'learned' });
    assert.equal(a.method, 'learned');
    const top = DEGRADATIONS.reduce((b, d) => (a.scores[d] > a.scores[b] ? d : b));
    assert.equal(top, 'lowlight', JSON.stringify(a.scores));
    assert.equal(a.primary, 'lowlight');
    assert.equal(planRestoration(a)[0].task, 'lowlight');
    // The same scene, not darkened, is far from low light.
    const bright = await analyzeImage(scene, { method: 'learned' });
    assert.ok(bright.scores.lowlight < 0.5 && bright.scores.lowlight < a.scores.lowlight - 0.4, `${bright.scores.lowlight} vs ${a.scores.lowlight}`);
  });
  it('JPEG: a q 10 copy is recognised as JPEG (the grid-aligned head), a q 95 copy and the clean scene are not', async () => {
    const r = await DegradationRecognizer.load();
    try {
      const clean = await r.recognize(scene);
      const q10 = await r.recognize(await jpegRoundTrip(scene, 10));
      const q95 = await r.recognize(await jpegRoundTrip(scene, 95));
      assert.ok(q10.scores.jpeg >= 0.5, `q10: ${q10.scores.jpeg.toFixed(3)}`);
      assert.ok(q95.scores.jpeg < 0.5, `q95: ${q95.scores.jpeg.toFixed(3)}`);
      assert.ok(clean.scores.jpeg < 0.5, `clean: ${clean.scores.jpeg.toFixed(3)}`);
      // Everything but the JPEG score is the network's, unchanged by the head.
      assert.ok(q10.severity.jpeg <= q10.scores.jpeg + 1e-6);
    } finally {
      await r.dispose();
    }
  });
  it("haze, noise and blur each raise their own score above the clean picture's", async () => {
    const r = await DegradationRecognizer.load();
    try {
      const clean = await r.recognize(scene);
      const cases: Array<[Degradation, RawImage]> = [
        ['haze', synthesizeHaze(scene, { beta: 2.2 }).image],
        ['noise', addSensorNoise(scene, { sigma: 30, seed: 4 })],
        ['blur', defocusBlur(scene, 5)],
      ];
      for (const [d, img] of cases) {
        const got = await r.recognize(img);
        assert.ok(got.scores[d] > clean.scores[d] + 0.2, `${d}: ${got.scores[d].toFixed(3)} vs clean ${clean.scores[d].toFixed(3)}`);
      }
    } finally {
      await r.dispose();
    }
  });
  it('analysis carries severity, a 32-d embedding, the model id and the hand evidence', async () => {
    const a = await analyzeImage(scene);
    assert.equal(a.method, 'learned');
    assert.equal(a.embedding?.length, 32);
    assert.match(a.model ?? '', /^analyze\/degradation-recognizer@/);
    for (const d of DEGRADATIONS) assert.ok(a.severity![d] >= 0 && a.severity![d] <= 1);
    assert.ok(a.evidence.luminanceMean > 0.2);
  });
});

describe('JPEG head features (grid-aligned, native resolution)', () => {
  const scene = cleanScene(5, 256, 192);
  it('the boundary ratio and the low-band DCT zeros rise with coarser quantisation; a flat picture scores no JPEG', async () => {
    const f10 = jpegFeatures(await jpegRoundTrip(scene, 10));
    const f95 = jpegFeatures(await jpegRoundTrip(scene, 95));
    const f0 = jpegFeatures(scene);
    assert.ok(f10.boundary > f95.boundary + 0.1 && f10.boundary > f0.boundary + 0.1, `boundary ${f10.boundary} vs ${f95.boundary} / ${f0.boundary}`);
    assert.ok(f10.dctZeroLow > f95.dctZeroLow, `dctZeroLow ${f10.dctZeroLow} vs ${f95.dctZeroLow}`);
    // Shifting the picture by 4 px moves the blocks off the grid the features read.
    const shifted = createImage(scene.width - 4, scene.height - 4, 3);
    const q10 = await jpegRoundTrip(scene, 10);
    for (let y = 0; y < shifted.height; y++)
      shifted.data.set(q10.data.subarray(((y + 4) * scene.width + 4) * 3, ((y + 4) * scene.width + scene.width) * 3), y * shifted.width * 3);
    assert.ok(jpegFeatures(shifted).boundary < f10.boundary - 0.1);
    assert.ok(jpegScore(flat(64, 64, 0.5)) < 0.1);
    assert.ok(jpegScore(flat(5, 5, 0.5)) < 0.5, 'a picture smaller than a block is not called JPEG');
  });
});

describe('analyzeImage contract', () => {
  const img = cleanScene(3, 64, 48);
  it('rules on request: the calibrated hand rules decide, no severity', async () => {
    const a = await analyzeImage(img, { method: 'rules' });
    assert.equal(a.method, 'rules');
    assert.equal(a.severity, undefined);
    assert.deepEqual(a.scores, analyzeDegradations(img).scores);
  });
  it('bad options: E_INVALID_OPTION naming them', async () => {
    await assert.rejects(analyzeImage(img, { method: 'magic' as never }), invalid('method'));
    await assert.rejects(analyzeImage(img, { threshold: 1.5 }), invalid('threshold'));
    await assert.rejects(analyzeImage(img, { recognizer: {} as never }), invalid('recognizer'));
  });
});

describe('class priors (logit offsets)', () => {
  it('shift a probability in logit space: 0 leaves it, ln 3 takes 0.5 to 0.75, -ln 3 takes 0.75 to 0.5', () => {
    const p = Float32Array.from([0.5, 0.75, 0.2, 0.9, 0.1, 0.3]);
    assert.deepEqual(Array.from(shiftScores(p, {})), Array.from(p));
    const s = shiftScores(p, { rain: Math.log(3), haze: -Math.log(3) });
    assert.ok(Math.abs(s[0] - 0.75) < 1e-6 && Math.abs(s[1] - 0.5) < 1e-6);
    assert.deepEqual(Array.from(s.subarray(2)), Array.from(p.subarray(2)));
    assert.notEqual(s, p, 'a new array: the input is not changed');
    assert.equal(p[0], 0.5);
  });
  it('bad offsets are refused when loading: E_INVALID_OPTION', { skip: !have && 'models/degradation-recognizer not installed' }, async () => {
    await assert.rejects(DegradationRecognizer.load({ priorOffsets: { rain: Number.NaN } }), invalid('priorOffsets'));
    await assert.rejects(DegradationRecognizer.load({ priorOffsets: { fog: 1 } as never }), invalid('priorOffsets'));
  });
});

describe('frozen backbone (centernet trunk) and its head', () => {
  it('features: BACKBONE_DIM finite values; the six crops in one batch equal the crops one at a time; texture moves them', async () => {
    const bb = await BackboneFeatures.load();
    const single = await InferenceSession.create(await backboneOnnx(96, 1), { threads: 1 });
    try {
      const views = recognizerViews(cleanScene(5, 300, 200));
      const f = await bb.ofViews(views);
      assert.equal(f.length, BACKBONE_DIM);
      assert.ok(f.every(Number.isFinite));
      // By hand, from the batch-1 graph: each crop's channel means at the first tap; their mean
      // over the crops is the second block of the vector, their max the third.
      const per = BACKBONE_DIM / 3;
      const means: number[][] = [];
      for (const c of views.crops) {
        const x = Float32Array.from(c.data, (v) => Math.round(Math.max(0, Math.min(1, v)) * 255));
        const [tap0] = await single.runAll(x, [1, 96, 96, 3]);
        const ch = tap0.shape[3];
        means.push(
          Array.from({ length: ch }, (_, k) => {
            let s = 0;
            for (let i = k; i < tap0.data.length; i += ch) s += tap0.data[i];
            return s / (tap0.data.length / ch);
          }),
        );
      }
      for (let k = 0; k < means[0].length; k++) {
        const avg = means.reduce((s, m) => s + m[k], 0) / means.length;
        const max = Math.max(...means.map((m) => m[k]));
        assert.ok(Math.abs(f[per + k] - avg) < 1e-3 * (1 + Math.abs(avg)), `mean over crops, channel ${k}`);
        assert.ok(Math.abs(f[2 * per + k] - max) < 1e-3 * (1 + Math.abs(max)), `max over crops, channel ${k}`);
      }
      const flatF = await bb.ofViews(recognizerViews(flat(300, 200, 0.5)));
      assert.ok(
        flatF.some((v, i) => Math.abs(v - f[i]) > 0.1),
        'a flat grey picture gives other features than a textured scene',
      );
    } finally {
      await bb.dispose();
      await single.dispose();
    }
  });
  it('head: standardise, linear layer, class priors, sigmoid; a file of the wrong size is refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-head-'));
    try {
      const zeros = (n: number) => new Array<number>(n).fill(0);
      const weight = DEGRADATIONS.map(() => zeros(BACKBONE_DIM));
      weight[0][0] = 1; // rain reads feature 0
      const head = {
        classes: [...DEGRADATIONS],
        kind: 'linear',
        mean: zeros(BACKBONE_DIM).map((_, i) => (i === 0 ? 2 : 0)),
        std: zeros(BACKBONE_DIM).map((_, i) => (i === 0 ? 0.5 : 1)),
        layers: [{ weight, bias: [0, 0, 0, 0, 0, Math.log(3)] }],
        offsets: [Math.log(3), 0, 0, 0, 0, 0],
        selection: { chosen: 'test' },
      };
      const file = path.join(dir, 'head.json');
      writeFileSync(file, JSON.stringify(head));
      const x = new Float32Array(BACKBONE_DIM);
      x[0] = 2; // standardised 0: rain = sigmoid(0 + ln 3) = 0.75
      const p = BackboneHead.read(file).scores(x);
      assert.ok(Math.abs(p[0] - 0.75) < 1e-6 && Math.abs(p[5] - 0.75) < 1e-6 && Math.abs(p[1] - 0.5) < 1e-6);
      x[0] = 2.5; // standardised +1: sigmoid(1 + ln 3)
      assert.ok(Math.abs(BackboneHead.read(file).scores(x)[0] - 1 / (1 + Math.exp(-(1 + Math.log(3))))) < 1e-6);
      assert.ok(Math.abs(BackboneHead.read(file, { offsets: false }).scores(x)[0] - 1 / (1 + Math.exp(-1))) < 1e-6);
      writeFileSync(file, JSON.stringify({ ...head, mean: [0] }));
      assert.throws(
        () => BackboneHead.read(file),
        (e: unknown) => isClearsightError(e) && e.code === 'E_RUNTIME',
      );
      assert.throws(
        () => BackboneHead.read(path.join(dir, 'none.json')),
        (e: unknown) => isClearsightError(e) && e.code === 'E_MODEL_NOT_FOUND',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('the installed backbone decider (fine-tuned trunk, else frozen trunk + head) decides by default; decision "network" gives the network\'s own scores, same severity-if-present', {
    skip: !have && 'models/degradation-recognizer not installed',
  }, async () => {
    const byHead = await DegradationRecognizer.load();
    const byNet = await DegradationRecognizer.load({ decision: 'network' });
    try {
      assert.match(
        byHead.id,
        FinetunedRecognizer.available() ? /decision: mean logit of centernet trunk .* and degradation-recognizer-ft@/ : /decision: centernet trunk \+/,
      );
      assert.doesNotMatch(byNet.id, /decision/);
      const img = cleanScene(9, 320, 240);
      const [a, b] = [await byHead.recognize(img), await byNet.recognize(img)];
      assert.deepEqual(Array.from(a.embedding), Array.from(b.embedding));
      assert.deepEqual(a.severityIfPresent, b.severityIfPresent);
      assert.equal(a.scores.jpeg, b.scores.jpeg);
      assert.ok(
        DEGRADATIONS.some((d) => d !== 'jpeg' && Math.abs(a.scores[d] - b.scores[d]) > 1e-3),
        'the head gives other scores than the network',
      );
    } finally {
      await byHead.dispose();
      await byNet.dispose();
    }
  });
  it('a bad decision option is refused: E_INVALID_OPTION', { skip: !have && 'models/degradation-recognizer not installed' }, async () => {
    await assert.rejects(DegradationRecognizer.load({ decision: 'magic' as never }), invalid('decision'));
    await assert.rejects(DegradationRecognizer.load({ decision: { head: 'a.json', finetuned: 'dir' } as never }), invalid('decision'));
    await assert.rejects(DegradationRecognizer.load({ decision: { finetuned: 7 } as never }), invalid('decision'));
  });
  it('a fine-tuned model folder that is not there: E_MODEL_NOT_FOUND', { skip: !have && 'models/degradation-recognizer not installed' }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-ft-'));
    try {
      await assert.rejects(
        DegradationRecognizer.load({ decision: { finetuned: path.join(dir, 'none') } }),
        (e: unknown) => isClearsightError(e) && e.code === 'E_MODEL_NOT_FOUND',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fine-tuned trunk (degradation-recognizer-ft)', () => {
  it('class priors: six finite offsets read; missing file E_MODEL_NOT_FOUND, malformed E_RUNTIME', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-priors-'));
    try {
      const file = path.join(dir, FINETUNED_PRIORS_FILE);
      writeFileSync(file, JSON.stringify({ offsets: [1, -0.5, 0, 0, 2.25, 0] }));
      assert.deepEqual(readPriors(file), [1, -0.5, 0, 0, 2.25, 0]);
      const refused = (code: string) => (e: unknown) => isClearsightError(e) && e.code === code;
      for (const bad of [{ offsets: [1, 2] }, { offsets: [0, 0, 0, 0, 0, 'x'] }, { offsets: [0, 0, 0, 0, 0, null] }, {}]) {
        writeFileSync(file, JSON.stringify(bad));
        assert.throws(() => readPriors(file), refused('E_RUNTIME'), JSON.stringify(bad));
      }
      assert.throws(() => readPriors(path.join(dir, 'none.json')), refused('E_MODEL_NOT_FOUND'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("installed: the golden views give sigmoid(golden logits + priors); the installed decision is sigmoid(mean of its and the frozen head's logits + pair priors)", {
    skip: !FinetunedRecognizer.available() && 'models/degradation-recognizer-ft not installed',
  }, async () => {
    const card = getModelCard('degradation-recognizer-ft').trained!;
    const golden = readGolden(card);
    // The golden inputs are whole numbers 0..255, so they survive the views' 8-bit rounding exactly.
    const view = (t: { data: Float32Array }, offset: number, size: number): RawImage => {
      const img = createImage(size, size, 3);
      for (let i = 0; i < img.data.length; i++) img.data[i] = t.data[offset + i] / 255;
      return img;
    };
    const [g, c] = golden.inputs;
    const views = { global: view(g, 0, 128), crops: Array.from({ length: RECOGNIZER_CROPS }, (_, k) => view(c, k * 96 * 96 * 3, 96)) };
    const priorsFile = path.join(card.dir, FINETUNED_PRIORS_FILE);
    const offsets = readPriors(priorsFile);
    const ensemble = JSON.parse(readFileSync(priorsFile, 'utf8')).ensemble as { head: string; offsets: number[] };
    const ft = await FinetunedRecognizer.load();
    const plain = await FinetunedRecognizer.load({ offsets: false });
    const decider = await FinetunedRecognizer.decider();
    const bb = await BackboneFeatures.load();
    const auto = await DegradationRecognizer.load();
    try {
      const [p, q, d] = [await ft.scores(views), await plain.scores(views), await decider.scores(views)];
      const zh = BackboneHead.read(path.join(TRAINED_MODELS_DIR, ensemble.head)).logits(await bb.ofViews(views));
      golden.outputs[0].data.forEach((z, i) => {
        assert.ok(Math.abs(p[i] - 1 / (1 + Math.exp(-(z + offsets[i])))) < 1e-4, `class ${DEGRADATIONS[i]} with priors`);
        assert.ok(Math.abs(q[i] - 1 / (1 + Math.exp(-z))) < 1e-4, `class ${DEGRADATIONS[i]} without priors`);
        assert.ok(Math.abs(d[i] - 1 / (1 + Math.exp(-((z + zh[i]) / 2 + ensemble.offsets[i])))) < 1e-4, `class ${DEGRADATIONS[i]}, the pair`);
      });
      assert.match(auto.id, /decision: mean logit of .* degradation-recognizer-ft@/);
    } finally {
      await ft.dispose();
      await plain.dispose();
      await decider.dispose();
      await bb.dispose();
      await auto.dispose();
    }
  });
  it('a model folder whose priors.json has a malformed ensemble is refused: E_RUNTIME', {
    skip: !FinetunedRecognizer.available() && 'models/degradation-recognizer-ft not installed',
  }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-ftdir-'));
    try {
      cpSync(getModelCard('degradation-recognizer-ft').trained!.dir, dir, { recursive: true });
      const file = path.join(dir, FINETUNED_PRIORS_FILE);
      const priors = JSON.parse(readFileSync(file, 'utf8'));
      for (const ensemble of [
        { head: 7, offsets: priors.offsets },
        { head: priors.ensemble.head, offsets: [0, 0] },
      ]) {
        writeFileSync(file, JSON.stringify({ ...priors, ensemble }));
        await assert.rejects(FinetunedRecognizer.decider({ dir }), (e: unknown) => isClearsightError(e) && e.code === 'E_RUNTIME');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('planner choices from the learned severity', () => {
  const base = analyzeDegradations(cleanScene(11, 96, 64));
  const learned = (
    scores: Partial<Record<Degradation, number>>,
    severity: Partial<Record<Degradation, number>>,
    primary: PrimaryDegradation,
  ): DegradationAnalysis => ({
    ...base,
    method: 'learned',
    threshold: 0.5,
    scores: Object.fromEntries(DEGRADATIONS.map((d) => [d, scores[d] ?? 0.02])) as Record<Degradation, number>,
    severity: Object.fromEntries(DEGRADATIONS.map((d) => [d, severity[d] ?? 0])) as Record<Degradation, number>,
    primary,
  });
  it('light haze is dehazed partially, thick haze in full', () => {
    const light = planRestoration(learned({ haze: 0.9 }, { haze: 0.1 }, 'haze'));
    assert.equal(light[0].params?.strength, dehazeStrengthFor(0.1));
    assert.ok(light[0].params!.strength! < 1);
    assert.match(light[0].reason, /light haze/);
    assert.equal(planRestoration(learned({ haze: 0.9 }, { haze: 0.6 }, 'haze'))[0].params?.strength, 1);
  });
  it('rain with a veil severity is heavy rain even when the haze score is low', () => {
    const plan = planRestoration(learned({ rain: 0.95, haze: 0.3 }, { rain: 0.8, haze: 0.3 }, 'rain'));
    assert.deepEqual(
      plan.map((s) => s.task),
      ['derain'],
    );
    assert.equal(plan[0].params?.veilStrength, 0.6);
    assert.deepEqual(planRestoration(learned({ rain: 0.95 }, { rain: 0.8, haze: 0.05 }, 'rain'))[0].params, undefined);
  });
  it('low light: quality max fuses with the expert; fast uses the student or the measured gamma; noise after low light', () => {
    const a = learned({ lowlight: 0.97, noise: 0.8 }, { lowlight: 0.7 }, 'lowlight');
    const max = planRestoration(a, { quality: 'max' });
    assert.deepEqual(
      max.map((s) => [s.task, s.method]),
      [
        ['lowlight', 'fuse'],
        ['denoise', 'expert'],
      ],
    );
    const fast = planRestoration(a);
    assert.ok(['student', 'gamma-checked'].includes(fast[0].method));
    assert.throws(() => planRestoration(a, { quality: 'turbo' as never }), invalid('quality'));
  });
});
