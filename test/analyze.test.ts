/**
 * Degradation analysis on synthetic pictures made here: a clean scene (smooth colour fields,
 * 1/f-like texture, sharp-edged discs) and the same scene with rain streaks, haze
 * (I = J t + A (1 - t)), low light (darkened + sensor noise), Gaussian noise, Gaussian blur and
 * heavy JPEG (sharp, quality 12). The calibration itself was fitted on real images
 * (bench/analyze.ts); these tests check that it carries over to pictures it never saw and that
 * the scores move the right way with the strength of a degradation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { createImage, decodeImage, type RawImage } from '../src/core/image/index.js';
import { isClearsightError } from '../src/core/errors.js';
import { analyzeDegradations, DEGRADATIONS, primaryFromScores, scoresFromEvidence, type DegradationAnalysis } from '../src/restore/auto/index.js';
import { mulberry32 as rng } from '../src/core/random.js';
import { addRain, cleanScene, q8 } from './helpers/scenes.js';

// ---------------------------------------------------------------------------------------------
// Synthetic pictures

const gauss = (r: () => number): number => Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());

/** Atmospheric scattering with a uniform transmission t and a bluish-white airlight. */
function addHaze(J: RawImage, t: number): RawImage {
  const A = [0.85, 0.87, 0.9];
  const out = createImage(J.width, J.height, 3);
  for (let i = 0; i < J.width * J.height; i++) for (let c = 0; c < 3; c++) out.data[i * 3 + c] = J.data[i * 3 + c] * t + A[c] * (1 - t);
  return q8(out);
}

/** Underexposure (x0.1 with a slight gamma) plus sensor noise of sigma 3/255. */
function darken(J: RawImage, seed: number): RawImage {
  const r = rng(seed);
  const out = createImage(J.width, J.height, 3);
  for (let i = 0; i < out.data.length; i++) out.data[i] = 0.1 * J.data[i] ** 1.3 + (3 / 255) * gauss(r);
  return q8(out);
}

function addNoise(J: RawImage, sigma8: number, seed: number): RawImage {
  const r = rng(seed);
  const out = createImage(J.width, J.height, 3);
  for (let i = 0; i < out.data.length; i++) out.data[i] = J.data[i] + (sigma8 / 255) * gauss(r);
  return q8(out);
}

function blur(J: RawImage, sigma: number): RawImage {
  const { width: w, height: h } = J;
  const rad = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * rad + 1 }, (_, i) => Math.exp(-((i - rad) ** 2) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  const tmp = new Float32Array(J.data.length);
  const out = createImage(w, h, 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        for (let t = -rad; t <= rad; t++) a += k[t + rad] * J.data[(y * w + Math.min(w - 1, Math.max(0, x + t))) * 3 + c];
        tmp[(y * w + x) * 3 + c] = a / s;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        for (let t = -rad; t <= rad; t++) a += k[t + rad] * tmp[(Math.min(h - 1, Math.max(0, y + t)) * w + x) * 3 + c];
        out.data[(y * w + x) * 3 + c] = a / s;
      }
    }
  }
  return q8(out);
}

async function jpeg(J: RawImage, quality: number): Promise<RawImage> {
  const raw = Buffer.from(Array.from(J.data, (v) => Math.round(v * 255)));
  const buf = await sharp(raw, { raw: { width: J.width, height: J.height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  return (await decodeImage(buf)).image;
}

const describeScores = (a: DegradationAnalysis): string => DEGRADATIONS.map((d) => `${d} ${a.scores[d].toFixed(2)}`).join(', ');

function assertPrimary(img: RawImage, expected: string): DegradationAnalysis {
  const a = analyzeDegradations(img);
  assert.equal(a.primary, expected, `expected ${expected}, got ${a.primary} (${describeScores(a)})`);
  return a;
}

// ---------------------------------------------------------------------------------------------

const SEEDS = [1, 2];

describe('analyzeDegradations: primary degradation of synthetic pictures', () => {
  for (const seed of SEEDS) {
    const J = cleanScene(seed);
    it(`scene ${seed}: clean`, () => {
      const a = assertPrimary(J, 'clean');
      for (const d of DEGRADATIONS) assert.ok(a.scores[d] < 0.5, `${d} ${a.scores[d]}`);
    });
    it(`scene ${seed}: rain streaks -> rain`, () => {
      const a = assertPrimary(addRain(J, seed), 'rain');
      assert.ok(a.evidence.streakOrientationDeg > 80 && a.evidence.streakOrientationDeg < 120, `orientation ${a.evidence.streakOrientationDeg}`);
    });
    it(`scene ${seed}: haze (t = 0.35) -> haze`, () => {
      assertPrimary(addHaze(J, 0.35), 'haze');
    });
    it(`scene ${seed}: darkened + noise -> lowlight`, () => {
      assertPrimary(darken(J, seed), 'lowlight');
    });
    it(`scene ${seed}: Gaussian noise sigma 25 -> noise`, () => {
      const a = assertPrimary(addNoise(J, 25, seed), 'noise');
      // Luma of independent per-channel noise: sigma * sqrt(0.299^2 + 0.587^2 + 0.114^2) = 0.67 sigma.
      assert.ok(a.evidence.noiseSigma > 12 && a.evidence.noiseSigma < 22, `noiseSigma ${a.evidence.noiseSigma}`);
    });
    it(`scene ${seed}: Gaussian blur sigma 2.5 -> blur`, () => {
      assertPrimary(blur(J, 2.5), 'blur');
    });
    it(`scene ${seed}: JPEG quality 12 -> jpeg`, async () => {
      const a = assertPrimary(await jpeg(J, 12), 'jpeg');
      assert.ok(a.evidence.blockiness > 1.5, `blockiness ${a.evidence.blockiness}`);
      assert.equal(a.evidence.blockGridX, 7, 'strongest column step between x = 7 and 8 (mod 8)');
    });
  }
});

describe('analyzeDegradations: scores follow the strength of a degradation', () => {
  const J = cleanScene(3);
  it('more haze (lower transmission) -> higher haze score and dark channel', () => {
    const ts = [1, 0.8, 0.6, 0.45, 0.3];
    const runs = ts.map((t) => analyzeDegradations(t === 1 ? J : addHaze(J, t)));
    for (let i = 1; i < runs.length; i++) {
      assert.ok(runs[i].scores.haze > runs[i - 1].scores.haze, `haze score t=${ts[i]} ${runs[i].scores.haze} vs t=${ts[i - 1]} ${runs[i - 1].scores.haze}`);
      assert.ok(runs[i].evidence.darkChannelNonSkyMedian > runs[i - 1].evidence.darkChannelNonSkyMedian);
    }
  });
  it('more noise -> higher noise sigma and score', () => {
    const runs = [5, 10, 20, 30].map((s) => analyzeDegradations(addNoise(J, s, 7)));
    for (let i = 1; i < runs.length; i++) {
      assert.ok(runs[i].evidence.noiseSigma > runs[i - 1].evidence.noiseSigma);
      assert.ok(runs[i].scores.noise > runs[i - 1].scores.noise);
    }
  });
  it('more blur -> higher blur score, lower Laplacian variance', () => {
    const runs = [0.8, 1.5, 3].map((s) => analyzeDegradations(blur(J, s)));
    for (let i = 1; i < runs.length; i++) {
      assert.ok(runs[i].scores.blur > runs[i - 1].scores.blur);
      assert.ok(runs[i].evidence.laplacianVariance < runs[i - 1].evidence.laplacianVariance);
    }
  });
  it('darker -> higher low-light score', () => {
    const scale = (k: number) => q8({ ...J, data: J.data.map((v) => v * k) });
    const runs = [1, 0.5, 0.25, 0.1].map((k) => analyzeDegradations(scale(k)));
    for (let i = 1; i < runs.length; i++) assert.ok(runs[i].scores.lowlight > runs[i - 1].scores.lowlight);
  });
  it('more streaks -> higher streak energy and rain score (until it saturates near 1)', () => {
    const runs = [0, 30, 100, 250, 900].map((n) => analyzeDegradations(n ? addRain(J, 5, n) : J));
    for (let i = 1; i < runs.length; i++) {
      assert.ok(runs[i].evidence.streakEnergy > runs[i - 1].evidence.streakEnergy);
      const [now, before] = [runs[i].scores.rain, runs[i - 1].scores.rain];
      assert.ok(now > before || (now > 0.98 && before > 0.98), `${now} vs ${before}`);
    }
  });
});

describe('analyzeDegradations: contract', () => {
  it('scores in [0, 1] for every degradation, finite evidence, consistent helpers', () => {
    const a = analyzeDegradations(addRain(cleanScene(4, 200, 150), 4));
    assert.deepEqual(Object.keys(a.scores).sort(), [...DEGRADATIONS].sort());
    for (const d of DEGRADATIONS) assert.ok(a.scores[d] >= 0 && a.scores[d] <= 1);
    for (const [k, v] of Object.entries(a.evidence)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
    assert.deepEqual(scoresFromEvidence(a.evidence), a.scores);
    assert.equal(primaryFromScores(a.scores), a.primary);
  });
  it('is pure: the input is not modified and a second call gives the same result', () => {
    const img = cleanScene(5, 160, 120);
    const copy = Float32Array.from(img.data);
    const a = analyzeDegradations(img);
    assert.deepEqual(img.data, copy);
    assert.deepEqual(analyzeDegradations(img), a);
  });
  it('tiny and grey pictures: no throw, finite scores', () => {
    const grey = createImage(
      40,
      30,
      1,
      Float32Array.from({ length: 1200 }, (_, i) => (i % 40) / 40),
    );
    for (const img of [createImage(1, 1, 3), createImage(3, 2, 3), createImage(7, 9, 1), grey]) {
      const a = analyzeDegradations(img);
      for (const d of DEGRADATIONS) assert.ok(Number.isFinite(a.scores[d]), `${img.width}x${img.height}x${img.channels}: ${d}`);
    }
  });
  it('the threshold decides clean vs degraded', () => {
    const hazy = addHaze(cleanScene(6), 0.6);
    const a = analyzeDegradations(hazy);
    assert.equal(analyzeDegradations(hazy, { threshold: Math.min(0.99, a.scores.haze + 0.001) }).primary, 'clean');
    assert.equal(analyzeDegradations(hazy, { threshold: Math.max(0.01, a.scores.haze - 0.001) }).primary, 'haze');
  });
  it('bad arguments: E_INVALID_OPTION naming the parameter', () => {
    const img = createImage(8, 8, 3);
    for (const threshold of [0, 1, -0.2, Number.NaN]) {
      assert.throws(
        () => analyzeDegradations(img, { threshold }),
        (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && /threshold/.test(e.message),
      );
    }
    assert.throws(
      () => analyzeDegradations({ width: 2, height: 2, channels: 3, data: new Float32Array(3) }),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
  });
  it('about 1 megapixel in well under a second (loose bound for loaded machines)', () => {
    const img = cleanScene(8, 1152, 864);
    analyzeDegradations(img); // warm-up (JIT)
    const t0 = performance.now();
    analyzeDegradations(img);
    const ms = performance.now() - t0;
    assert.ok(ms < 1500, `${ms.toFixed(0)} ms`);
  });
});
