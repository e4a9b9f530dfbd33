import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createImage, type RawImage } from '../src/core/image/index.js';
import { psnr } from '../src/core/metrics/index.js';
import { isClearsightError } from '../src/core/errors.js';
import { dehazePrior } from '../src/restore/dehaze/index.js';
import { mulberry32 as rng } from '../src/core/random.js';


const W = 160;
const H = 120;
const A_TRUE: [number, number, number] = [0.8, 0.85, 0.92];

/**
 * Clean scene J: 4x4 blocks of random colours, each with one channel near 0, so that every
 * patch has dark pixels (the prior holds). Optionally a pure white square (an outlier for the
 * atmospheric light) in the near, lightly hazed lower part of the image.
 */
function cleanScene(seed: number, whiteSquare = false): RawImage {
  const r = rng(seed);
  const img = createImage(W, H, 3);
  for (let by = 0; by < H; by += 4) {
    for (let bx = 0; bx < W; bx += 4) {
      const dark = Math.floor(r() * 3);
      const col = [0, 1, 2].map((c) => (c === dark ? 0.04 * r() : 0.1 + 0.9 * r()));
      for (let y = by; y < by + 4; y++) for (let x = bx; x < bx + 4; x++) for (let c = 0; c < 3; c++) img.data[(y * W + x) * 3 + c] = col[c];
    }
  }
  if (whiteSquare) {
    for (let y = 80; y < 110; y++) for (let x = 100; x < 136; x++) for (let c = 0; c < 3; c++) img.data[(y * W + x) * 3 + c] = 1;
  }
  return img;
}

/** Smooth transmission in [0.02, 0.93]: dense haze at the top (far), light at the bottom (near). */
function trueTransmission(): Float32Array {
  const t = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) t[y * W + x] = 0.05 + 0.85 * (y / (H - 1)) + 0.03 * Math.sin((2 * Math.PI * x) / W);
  }
  return t;
}

function haze(J: RawImage, t: Float32Array, A: readonly number[]): RawImage {
  const I = createImage(J.width, J.height, 3);
  for (let i = 0; i < t.length; i++) for (let c = 0; c < 3; c++) I.data[i * 3 + c] = J.data[i * 3 + c] * t[i] + A[c] * (1 - t[i]);
  return I;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe('dehazePrior', () => {
  const J = cleanScene(1);
  const tTrue = trueTransmission();
  const I = haze(J, tTrue, A_TRUE);
  const res = dehazePrior(I);

  it('estimates the atmospheric light within 0.05 per channel', () => {
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(res.atmosphericLight[c] - A_TRUE[c]) < 0.05, `A[${c}] = ${res.atmosphericLight[c]} vs ${A_TRUE[c]}`);
    }
  });

  it('estimates a transmission that correlates with the true one', () => {
    assert.equal(res.transmission.length, W * H);
    const r = pearson(res.transmission, tTrue);
    assert.ok(r > 0.9, `Pearson ${r}`);
    assert.ok(res.transmission.every((v) => v >= 0 && v <= 1));
  });

  it('recovers the clean scene much better than the hazy input', () => {
    const before = psnr(I, J);
    const after = psnr(res.image, J);
    // Measured: 9.36 dB hazy -> 17.90 dB recovered (+8.5 dB; omega = 0.95 keeps 5% of the haze
    // on purpose and t0 = 0.1 bounds the densest rows, so this is not the ceiling). Assert +6 dB.
    assert.ok(after > before + 6, `PSNR hazy ${before.toFixed(2)} dB, recovered ${after.toFixed(2)} dB`);
    assert.equal(res.image.width, W);
    assert.equal(res.image.channels, 3);
    assert.ok(res.image.data.every((v) => v >= 0 && v <= 1));
    assert.equal(res.darkChannel.length, W * H);
    assert.equal(res.params.patchRadius, 2);
  });

  it('does not take a bright white object in the scene for the atmospheric light', () => {
    const Jw = cleanScene(2, true);
    const Iw = haze(Jw, tTrue, A_TRUE);
    const r = dehazePrior(Iw);
    // The outlier is real: the highest dark-channel pixels (He et al.'s candidates) are all on it.
    let maxDark = 0;
    let argmax = 0;
    r.darkChannel.forEach((v, i) => {
      if (v > maxDark) {
        maxDark = v;
        argmax = i;
      }
    });
    const ax = argmax % W;
    const ay = Math.floor(argmax / W);
    assert.ok(ax >= 100 && ax < 136 && ay >= 80 && ay < 110, 'the white square has the highest dark channel');
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(r.atmosphericLight[c] - A_TRUE[c]) < 0.05, `A[${c}] = ${r.atmosphericLight[c]} vs ${A_TRUE[c]}`);
    }
  });

  it('works on grey images and honours a given atmospheric light', () => {
    const g = createImage(40, 30, 1, Float32Array.from({ length: 1200 }, (_, i) => 0.5 + 0.3 * Math.sin(i)));
    const r = dehazePrior(g, { atmosphericLight: [0.9, 0.9, 0.9], refine: false });
    assert.deepEqual(r.atmosphericLight, [0.9, 0.9, 0.9]);
    assert.equal(r.image.channels, 1);
    assert.equal(r.image.data.length, 1200);
  });

  it('reports progress and honours an abort signal', () => {
    const events: number[] = [];
    dehazePrior(I, { onProgress: (e) => events.push(e.done) });
    assert.deepEqual(events, [0, 1, 2, 3, 4, 5]);
    const ac = new AbortController();
    ac.abort();
    assert.throws(() => dehazePrior(I, { signal: ac.signal }), (e: unknown) => isClearsightError(e) && e.code === 'E_ABORTED');
  });

  it('validates options, naming the parameter', () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['omega', { omega: 0 }],
      ['omega', { omega: 1.2 }],
      ['t0', { t0: 0 }],
      ['t0', { t0: 1 }],
      ['patchRadius', { patchRadius: 0 }],
      ['patchRadius', { patchRadius: 2.5 }],
      ['topFraction', { topFraction: 0 }],
      ['guidedRadius', { guidedRadius: 0 }],
      ['guidedEps', { guidedEps: -1 }],
      ['refine', { refine: 'yes' }],
      ['atmosphericLight', { atmosphericLight: [0.9, 0.9] }],
      ['atmosphericLight', { atmosphericLight: [0.9, 0, 0.9] }],
    ];
    for (const [name, o] of bad) {
      assert.throws(
        () => dehazePrior(I, o as never),
        (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && e.details.option === name && e.message.includes(name),
        name,
      );
    }
    assert.throws(() => dehazePrior({ width: 2, height: 2, channels: 3, data: new Float32Array(5) }), /img\.data/);
  });
});
