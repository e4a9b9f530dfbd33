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

// ---------------------------------------------------------------------------------------------
// Synthetic pictures


const gauss = (r: () => number): number => Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());

/** Rounds to 8 bits and clamps, as a decoded file would be. */
function q8(img: RawImage): RawImage {
  for (let i = 0; i < img.data.length; i++) img.data[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255) / 255;
  return img;
}

/** Smooth random field in [-1, 1]: smoothstep interpolation of a random grid with `cell` px spacing. */
function valueNoise(r: () => number, w: number, h: number, cell: number): Float32Array {
  const gw = Math.ceil(w / cell) + 2;
  const gh = Math.ceil(h / cell) + 2;
  const g = Float32Array.from({ length: gw * gh }, () => r() * 2 - 1);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const ix = Math.floor(x / cell);
      const iy = Math.floor(y / cell);
      let tx = x / cell - ix;
      let ty = y / cell - iy;
      tx = tx * tx * (3 - 2 * tx);
      ty = ty * ty * (3 - 2 * ty);
      const a = g[iy * gw + ix];
      const b = g[iy * gw + ix + 1];
      const c = g[(iy + 1) * gw + ix];
      const d = g[(iy + 1) * gw + ix + 1];
      out[y * w + x] = (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
  return out;
}

/** A clean, colourful, textured scene with sharp-edged objects. */
function cleanScene(seed: number, w = 384, h = 256): RawImage {
  const r = rng(seed);
  const img = createImage(w, h, 3);
  const tex = new Float32Array(w * h);
  for (const [cell, amp] of [[64, 0.5], [32, 0.25], [16, 0.14], [8, 0.08], [4, 0.05], [2, 0.035]] as const) {
    const n = valueNoise(r, w, h, cell);
    for (let i = 0; i < tex.length; i++) tex[i] += amp * n[i];
  }
  const hue = [valueNoise(r, w, h, 96), valueNoise(r, w, h, 96), valueNoise(r, w, h, 96)];
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) img.data[i * 3 + c] = 0.42 + 0.3 * hue[c][i] + 0.35 * tex[i];
  for (let k = 0; k < 40; k++) {
    const cx = r() * w;
    const cy = r() * h;
    const rad = 6 + r() * 40;
    const col = [r(), r(), r()];
    col[Math.floor(r() * 3)] *= 0.3;
    const shade = 0.8 + 0.4 * r();
    for (let y = Math.max(0, Math.floor(cy - rad - 1)); y < Math.min(h, cy + rad + 1); y++) {
      for (let x = Math.max(0, Math.floor(cx - rad - 1)); x < Math.min(w, cx + rad + 1); x++) {
        const a = Math.max(0, Math.min(1, rad - Math.hypot(x - cx, y - cy) + 0.5));
        if (!a) continue;
        for (let c = 0; c < 3; c++) {
          const i = (y * w + x) * 3 + c;
          img.data[i] = (1 - a) * img.data[i] + a * (col[c] * shade + 0.25 * tex[y * w + x]);
        }
      }
    }
  }
  return q8(img);
}

/** Rain streaks: thin bright segments at ~100 degrees, screen-blended over the scene. */
function addRain(J: RawImage, seed: number, count = 900): RawImage {
  const { width: w, height: h } = J;
  const r = rng(seed);
  const layer = new Float32Array(w * h);
  const ang = (100 * Math.PI) / 180;
  for (let k = 0; k < count; k++) {
    const x0 = r() * w;
    const y0 = r() * h;
    const len = 12 + r() * 30;
    const b = 0.25 + 0.35 * r();
    for (let t = 0; t < len; t += 0.5) {
      const xi = Math.round(x0 + Math.cos(ang) * t);
      const yi = Math.round(y0 + Math.sin(ang) * t);
      if (xi < 0 || yi < 0 || xi >= w || yi >= h) continue;
      layer[yi * w + xi] = Math.max(layer[yi * w + xi], b);
      if (xi + 1 < w) layer[yi * w + xi + 1] = Math.max(layer[yi * w + xi + 1], 0.4 * b);
    }
  }
  const out = createImage(w, h, 3);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) out.data[i * 3 + c] = J.data[i * 3 + c] + layer[i] * (1 - J.data[i * 3 + c]);
  return q8(out);
}

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
  for (let i = 0; i < out.data.length; i++) out.data[i] = 0.1 * Math.pow(J.data[i], 1.3) + (3 / 255) * gauss(r);
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
  const buf = await sharp(raw, { raw: { width: J.width, height: J.height, channels: 3 } }).jpeg({ quality }).toBuffer();
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
    const grey = createImage(40, 30, 1, Float32Array.from({ length: 1200 }, (_, i) => (i % 40) / 40));
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
      assert.throws(() => analyzeDegradations(img, { threshold }), (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && /threshold/.test(e.message));
    }
    assert.throws(() => analyzeDegradations({ width: 2, height: 2, channels: 3, data: new Float32Array(3) }), (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION');
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
