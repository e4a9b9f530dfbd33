import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fft1d, fft2d, nextPow2, radialPowerSpectrum } from '../src/core/fft.js';
import { isClearsightError } from '../src/core/errors.js';
import { mulberry32 } from '../src/core/random.js';

describe('core FFT', () => {
  it('matches the direct DFT and inverts exactly', () => {
    const n = 16;
    const rand = mulberry32(4);
    const x = Float64Array.from({ length: n }, () => rand() - 0.5);
    const re = Float64Array.from(x);
    const im = new Float64Array(n);
    fft1d(re, im, n);
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        sr += x[t] * Math.cos((-2 * Math.PI * k * t) / n);
        si += x[t] * Math.sin((-2 * Math.PI * k * t) / n);
      }
      assert.ok(Math.abs(re[k] - sr) < 1e-12 && Math.abs(im[k] - si) < 1e-12, `bin ${k}`);
    }
    fft1d(re, im, n, true);
    x.forEach((v, i) => {
      assert.ok(Math.abs(re[i] - v) < 1e-12 && Math.abs(im[i]) < 1e-12);
    });
  });

  it('transforms rectangular grids: a 2-D cosine lands in its two bins', () => {
    const w = 8;
    const h = 4;
    const re = Float64Array.from({ length: w * h }, (_, i) => Math.cos((2 * Math.PI * 3 * (i % w)) / w));
    const im = new Float64Array(w * h);
    fft2d(re, im, w, h);
    const mags = Array.from(re, (r, i) => Math.hypot(r, im[i]));
    assert.ok(Math.abs(mags[3] - (w * h) / 2) < 1e-9 && Math.abs(mags[w - 3] - (w * h) / 2) < 1e-9);
    assert.ok(mags.every((m, i) => i === 3 || i === w - 3 || m < 1e-9));
    assert.throws(
      () => fft2d(new Float64Array(12), new Float64Array(12), 4, 3),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
    assert.equal(nextPow2(33), 64);
  });

  it('puts a pure tone in its ring of the radial power spectrum', () => {
    const size = 64;
    const freq = 16; // cycles per 64 samples: r = 16/32 = 0.5 -> bin 4 of 8
    const sig = Float64Array.from({ length: size * size }, (_, i) => Math.sin((2 * Math.PI * freq * (i % size)) / size));
    const p = radialPowerSpectrum(sig, size, 8);
    const peak = p.indexOf(Math.max(...p));
    assert.equal(peak, 4);
  });
});
