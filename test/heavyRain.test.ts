/**
 * Heavy rain: the imaging model I = T (J + S) + (1 − T) A (synthesizeRain), veil estimation and
 * removal (estimateVeil, removeVeil), and derainHeavy wired to a stand-in expert (no network:
 * a fake ImageModel whose predict() is a known function), so the file runs in well under a second.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClearsightError, createImage, derainHeavy, getModelCard, psnr, type ImageModel, type RawImage } from '../src/index.js';
import { DEFAULT_VEIL_STRENGTH, estimateVeil, gradientTransmission, removeVeil, synthesizeRain } from '../src/restore/index.js';

/**
 * A scene where the dark channel prior holds: the top quarter is a bright sky close to (not
 * equal to) the atmospheric light; below, 8x8 blocks of saturated colours (one channel near 0)
 * with a fine brightness texture.
 */
function scene(w: number, h: number): RawImage {
  const img = createImage(w, h, 3);
  const hues = [
    [1, 0.08, 0],
    [0, 0.9, 0.15],
    [0.1, 0, 1],
    [1, 0.95, 0.05],
    [0, 0.7, 1],
    [0.95, 0, 0.75],
  ];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (y < h / 4) {
        img.data.set([0.72, 0.78, 0.88], i);
        continue;
      }
      const rgb = hues[(Math.floor(x / 8) * 7 + Math.floor(y / 8) * 13) % 6]!;
      const v = 0.3 + 0.25 * (1 + Math.sin(x * 0.7) * Math.cos(y * 0.5));
      for (let c = 0; c < 3; c++) img.data[i + c] = v * rgb[c]!;
    }
  }
  return img;
}

const W = 160;
const H = 120;
const A = [0.8, 0.84, 0.9];

function expectInvalid(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ClearsightError, String(err));
    assert.equal(err.code, 'E_INVALID_OPTION');
    assert.match(err.message, new RegExp(`"${option.replace(/\./g, '\\.')}"`));
    return true;
  });
}

describe('synthesizeRain: I = T (J + S) + (1 - T) A', () => {
  const clean = scene(W, H);

  it('follows the model pixel by pixel, with the streak layer and veil it returns', () => {
    const T = gradientTransmission(W, H, 0.3, 0.9);
    const r = synthesizeRain(clean, { transmission: T, atmosphericLight: A, seed: 7 });
    assert.equal(r.transmission, T);
    assert.deepEqual(r.atmosphericLight, A);
    let streakPixels = 0;
    for (let i = 0; i < W * H; i++) {
      const s = r.streaks[i]!;
      assert.ok(s >= 0 && s <= 1);
      if (s > 0.05) streakPixels++;
      for (let c = 0; c < 3; c++) {
        const expected = Math.min(1, Math.max(0, T[i]! * (clean.data[i * 3 + c]! + s) + (1 - T[i]!) * A[c]!));
        assert.ok(Math.abs(r.image.data[i * 3 + c]! - expected) < 1e-6);
      }
    }
    assert.ok(streakPixels > 0.02 * W * H && streakPixels < 0.5 * W * H, `${streakPixels} streak pixels`);
  });

  it('is deterministic for a seed; no streaks and T = 1 give the clean image', () => {
    const a = synthesizeRain(clean, { seed: 3 });
    const b = synthesizeRain(clean, { seed: 3 });
    const c = synthesizeRain(clean, { seed: 4 });
    assert.deepEqual(a.image.data, b.image.data);
    assert.notDeepEqual(a.streaks, c.streaks);
    const none = synthesizeRain(clean, { streaks: false });
    assert.deepEqual(none.image.data, clean.data);
  });

  it('rejects bad options, naming them', () => {
    expectInvalid(() => synthesizeRain(clean, { transmission: 0 }), 'transmission');
    expectInvalid(() => synthesizeRain(clean, { transmission: 1.5 }), 'transmission');
    expectInvalid(() => synthesizeRain(clean, { transmission: new Float32Array(10) }), 'transmission');
    expectInvalid(() => synthesizeRain(clean, { atmosphericLight: [1.2, 0.5, 0.5] }), 'atmosphericLight');
    expectInvalid(() => synthesizeRain(clean, { streaks: { length: [30, 10] } }), 'streaks.length');
    expectInvalid(() => synthesizeRain(clean, { streaks: { density: -1 } }), 'streaks.density');
    expectInvalid(() => synthesizeRain(clean, { seed: 1.5 }), 'seed');
    expectInvalid(() => gradientTransmission(W, H, 0, 1), 'top');
  });
});

describe('removeVeil: the veil of heavy rain by the dark channel prior', () => {
  const clean = scene(W, H);
  const T = gradientTransmission(W, H, 0.1, 0.9); // far (top) to near (bottom)
  const veiled = synthesizeRain(clean, { streaks: false, transmission: T, atmosphericLight: A }).image;

  it('recovers A within 0.05 and brings the image closer to the clean one (round trip)', () => {
    const r = removeVeil(veiled, { strength: 1 });
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(r.atmosphericLight[c]! - A[c]!) < 0.05, `A[${c}] = ${r.atmosphericLight[c]} vs ${A[c]}`);
    const before = psnr(veiled, clean);
    const after = psnr(r.image, clean);
    assert.ok(after > before + 3, `PSNR ${before.toFixed(2)} -> ${after.toFixed(2)} dB`);
    // The estimated transmission follows the true one: lower at the top than at the bottom.
    const rowMean = (y: number) => r.transmission.subarray(y * W, (y + 1) * W).reduce((a, b) => a + b, 0) / W;
    assert.ok(rowMean(H - 5) - rowMean(35) > 0.3, `T rows: ${rowMean(35).toFixed(2)} .. ${rowMean(H - 5).toFixed(2)}`);
  });

  it('strength 0 is the identity (a copy); intermediate strengths lie in between', () => {
    const r0 = removeVeil(veiled, { strength: 0 });
    assert.deepEqual(r0.image.data, veiled.data);
    assert.notEqual(r0.image.data, veiled.data);
    assert.equal(r0.strength, 0);
    const p = [0, 0.5, 1].map((s) => psnr(removeVeil(veiled, { strength: s }).image, clean));
    assert.ok(p[0]! < p[1]! && p[1]! < p[2]!, `PSNR by strength: ${p.map((v) => v.toFixed(2)).join(', ')}`);
  });

  it('a precomputed estimate gives the same result as estimating inside', () => {
    const veil = estimateVeil(veiled);
    assert.deepEqual(removeVeil(veiled, { strength: 0.6, veil }).image.data, removeVeil(veiled, { strength: 0.6 }).image.data);
    // With the true A given, the estimate uses it.
    assert.deepEqual(estimateVeil(veiled, { atmosphericLight: A }).atmosphericLight, A);
  });

  it('rejects bad options, naming them', () => {
    for (const strength of [-0.1, 1.5, Number.NaN, '0.5' as unknown as number]) expectInvalid(() => removeVeil(veiled, { strength }), 'strength');
    expectInvalid(() => removeVeil(veiled, { t0: 0 }), 't0');
    expectInvalid(() => removeVeil(veiled, { patchRadius: 0 }), 'patchRadius');
    expectInvalid(() => removeVeil(veiled, { veil: estimateVeil(scene(32, 32)) }), 'veil');
  });
});

/** A stand-in for the MAXIM card's model: predict() applies `fn` to each (padded) tile. */
function fakeExpert(fn: (v: number) => number): ImageModel {
  const card = getModelCard('maxim-deraining');
  return {
    card,
    predict: async (tile: RawImage) => ({ ...tile, data: Float32Array.from(tile.data, fn) }),
    dispose: async () => undefined,
  } as unknown as ImageModel;
}

describe('derainHeavy: expert, then veil removal', () => {
  const rainy = synthesizeRain(scene(W, H), { transmission: gradientTransmission(W, H, 0.2, 0.9), atmosphericLight: A, seed: 5 }).image;

  it('default strength is the documented one and returns the expert output unchanged at 0', async () => {
    assert.equal(DEFAULT_VEIL_STRENGTH, 0);
    const r = await derainHeavy(rainy, { model: fakeExpert((v) => v) });
    assert.equal(r.veilStrength, 0);
    assert.deepEqual(r.image.data, rainy.data);
    assert.deepEqual(r.streakFree.data, rainy.data);
    assert.ok(
      r.rainLayer.data.every((v) => v === 0),
      'identity expert: empty rain layer',
    );
    assert.equal(r.transmission.length, W * H);
    assert.equal(r.atmosphericLight.length, 3);
  });

  it('rain layer = input - expert output (clamped); veil removal runs on the expert output', async () => {
    const r = await derainHeavy(rainy, { model: fakeExpert((v) => v * 0.9), veilStrength: 0.7 });
    for (let i = 0; i < rainy.data.length; i += 97) assert.ok(Math.abs(r.rainLayer.data[i]! - rainy.data[i]! * 0.1) < 1e-6);
    assert.deepEqual(r.image.data, removeVeil(r.streakFree, { strength: 0.7 }).image.data);
  });

  it('rejects a bad veilStrength before running the expert', async () => {
    let called = false;
    const model = {
      ...fakeExpert((v) => v),
      predict: async () => {
        called = true;
        return rainy;
      },
    } as unknown as ImageModel;
    for (const veilStrength of [2, -1, Number.NaN]) {
      await assert.rejects(
        derainHeavy(rainy, { model, veilStrength }),
        (err: unknown) => err instanceof ClearsightError && err.code === 'E_INVALID_OPTION' && /"veilStrength"/.test(err.message),
      );
    }
    assert.equal(called, false);
  });
});
