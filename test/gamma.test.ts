import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createImage, type RawImage } from '../src/core/image/index.js';
import { isClearsightError } from '../src/core/errors.js';
import { adaptiveGamma, enhanceLowLightGamma, estimateIllumination, powTaylor, powTaylorArray } from '../src/restore/lowlight/index.js';

const TARGET = 1 / 255;

function assertInvalid(fn: () => unknown, option: string): void {
  assert.throws(fn, (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && e.details.option === option, option);
}

/** Grid: x = i/2000 plus tiny values; gamma = 0.2 .. 1.5 step 0.01. */
function maxErrorOnGrid(order?: number): number {
  const xs = [1e-12, 1e-9, 1e-6, 1e-4];
  for (let i = 0; i <= 2000; i++) xs.push(i / 2000);
  let max = 0;
  for (let gi = 0; gi <= 130; gi++) {
    const g = 0.2 + gi * 0.01;
    for (const x of xs) max = Math.max(max, Math.abs(powTaylor(x, g, order) - x ** g));
  }
  return max;
}

describe('powTaylor', () => {
  it('has max abs error <= 1/255 over x in [0, 1], gamma in [0.2, 1.5] (default order)', () => {
    const e = maxErrorOnGrid();
    assert.ok(e <= TARGET, `max error ${e}`);
    assert.ok(e < 2e-4, `default order should be well inside the target, got ${e}`); // measured 8.2e-5
  });

  it('meets the target from order 3 and improves with the order', () => {
    const errs = [3, 4, 5, 6].map((o) => maxErrorOnGrid(o));
    assert.ok(errs[0] <= TARGET, `order 3: ${errs[0]}`);
    for (let i = 1; i < errs.length; i++) assert.ok(errs[i] < errs[i - 1], `order ${i + 3}: ${errs[i]}`);
  });

  it('is exact at x = 0 and x = 1', () => {
    for (let gi = 0; gi <= 130; gi++) {
      const g = 0.2 + gi * 0.01;
      assert.equal(powTaylor(0, g), 0);
      assert.equal(powTaylor(1, g), 1);
    }
    assert.equal(powTaylor(-0.5, 0.7), 0);
  });

  it('is monotonic in x', () => {
    for (const g of [0.2, 0.35, 0.5, 0.8, 1, 1.2, 1.5]) {
      let prev = -1;
      for (let i = 0; i <= 20000; i++) {
        const v = powTaylor(i / 20000, g);
        assert.ok(v >= prev, `gamma ${g}: x=${i / 20000} gives ${v} < ${prev}`);
        prev = v;
      }
    }
  });

  it('has an array form equal to the scalar form bit for bit, edge values included', () => {
    const xs: number[] = [0, -0.25, Number.NaN, 1e-12, 4.6e-10, 4.8e-10, 1e-6, 1, 1.5, 3];
    const gs: number[] = [0.7, 0.7, 0.7, 0.5, 1.2, 0.3, -40, 0.9, 0.5, 2];
    for (let i = 0; i <= 2000; i++) {
      xs.push(i / 2000);
      gs.push(0.2 + ((i * 37) % 131) / 100);
    }
    for (const order of [3, 4, 5]) {
      const out = new Float64Array(xs.length);
      powTaylorArray(xs, gs, out, order);
      xs.forEach((x, i) => {
        assert.ok(Object.is(out[i], powTaylor(x, gs[i], order)), `order ${order}, x=${x}, gamma=${gs[i]}: ${out[i]}`);
      });
    }
    assertInvalid(() => powTaylorArray([0.5], [0.5, 0.6], new Float64Array(1)), 'gammas/out');
    assertInvalid(() => powTaylorArray([0.5], [0.5], new Float64Array(1), 0), 'order');
  });

  it('validates the order', () => {
    assertInvalid(() => powTaylor(0.5, 0.5, 0), 'order');
    assertInvalid(() => powTaylor(0.5, 0.5, 2.5), 'order');
    assertInvalid(() => powTaylor(0.5, 0.5, 9), 'order');
  });
});

/** A textured test scene scaled by `exposure`: coloured gradients and a few bright spots. */
function scene(exposure: number, w = 96, h = 72): RawImage {
  const img = createImage(w, h, 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const base = 0.35 + 0.3 * Math.sin(x / 9) * Math.cos(y / 13) + 0.25 * (x / w);
      const tint = [1, 0.85 + 0.1 * Math.sin(y / 7), 0.7 + 0.2 * Math.cos(x / 5)];
      for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = Math.min(1, Math.max(0, exposure * base * tint[c]));
    }
  }
  return img;
}

function meanLuma(img: RawImage): number {
  let s = 0;
  for (let i = 0; i < img.width * img.height; i++) s += 0.299 * img.data[3 * i] + 0.587 * img.data[3 * i + 1] + 0.114 * img.data[3 * i + 2];
  return s / (img.width * img.height);
}

describe('enhanceLowLightGamma', () => {
  it('brightens a dark image, with per-pixel gamma < 1 and the Taylor error reported', () => {
    const dark = scene(0.15);
    const r = enhanceLowLightGamma(dark);
    const before = meanLuma(dark);
    const after = meanLuma(r.image);
    // Measured: 0.063 -> 0.379 (alpha 3.83, gamma 0.27..0.37).
    assert.ok(after > 3 * before, `mean luma ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    assert.ok(r.alpha > 1);
    assert.ok(r.gamma.every((g) => g >= 0.2 && g < 1));
    assert.ok(r.maxTaylorError <= TARGET && r.maxTaylorError >= 0);
    // 6912 pixels, default 4096 samples: every 2nd pixel.
    assert.equal(r.taylorErrorSamples, 3456);
    assert.equal(enhanceLowLightGamma(dark, { errorSamples: 1e9 }).taylorErrorSamples, 6912);
    assert.ok(r.image.data.every((v) => v >= 0 && v <= 1));
    // Colour ratios are preserved (scaling by V^gamma / V).
    const i = 37 * 96 + 50;
    const ratioIn = dark.data[3 * i + 2] / dark.data[3 * i];
    const ratioOut = r.image.data[3 * i + 2] / r.image.data[3 * i];
    assert.ok(Math.abs(ratioIn - ratioOut) < 1e-4);
  });

  it('leaves a well-exposed image nearly unchanged', () => {
    const ok = scene(1.2);
    const r = enhanceLowLightGamma(ok);
    let maxDiff = 0;
    for (let i = 0; i < ok.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ok.data[i] - r.image.data[i]));
    assert.equal(r.alpha, 1);
    assert.ok(maxDiff < 1 / 255, `max change ${maxDiff}`);
  });

  it('gives darker regions a smaller gamma', () => {
    const L = Float32Array.from([0.05, 0.1, 0.2, 0.4, 0.6]);
    const g = adaptiveGamma(L, { alpha: 3 });
    for (let i = 1; i < g.length; i++) assert.ok(g[i] > g[i - 1]);
    assert.ok(Math.abs(adaptiveGamma(Float32Array.from([0.5]), { alpha: 3 })[0] - 1) < 1e-3);
    // Default alpha from the mean: a dark map gets gamma < 1 in its dark parts.
    const auto = adaptiveGamma(Float32Array.from([0.05, 0.1, 0.15]));
    assert.ok(auto.every((v) => v < 1));
  });

  it('estimates a smooth illumination that follows the max over RGB', () => {
    const img = scene(0.3);
    const L = estimateIllumination(img);
    assert.equal(L.length, img.width * img.height);
    let err = 0;
    for (let i = 0; i < L.length; i++) err += Math.abs(L[i] - Math.max(img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2]));
    assert.ok(err / L.length < 0.02, `mean |L - maxRGB| = ${err / L.length}`);
  });

  it('handles grey images and black pixels', () => {
    const g = createImage(
      20,
      10,
      1,
      Float32Array.from({ length: 200 }, (_, i) => (i % 7 === 0 ? 0 : 0.05 + 0.001 * i)),
    );
    const r = enhanceLowLightGamma(g);
    assert.equal(r.image.channels, 1);
    for (let i = 0; i < 200; i++) {
      if (g.data[i] === 0) assert.equal(r.image.data[i], 0);
      else assert.ok(r.image.data[i] > g.data[i]);
    }
  });

  it('validates options, naming the parameter', () => {
    const img = scene(0.2, 16, 12);
    assertInvalid(() => enhanceLowLightGamma(img, { radius: 0 }), 'radius');
    assertInvalid(() => enhanceLowLightGamma(img, { eps: 0 }), 'eps');
    assertInvalid(() => enhanceLowLightGamma(img, { alpha: 0.5 }), 'alpha');
    assertInvalid(() => enhanceLowLightGamma(img, { gammaMin: 0 }), 'gammaMin');
    assertInvalid(() => enhanceLowLightGamma(img, { gammaMin: 0.5, gammaMax: 0.4 }), 'gammaMax');
    assertInvalid(() => enhanceLowLightGamma(img, { order: 0 }), 'order');
    assertInvalid(() => enhanceLowLightGamma(img, { errorSamples: 0 }), 'errorSamples');
    assertInvalid(() => estimateIllumination(img, { radius: 1.5 }), 'radius');
    assertInvalid(() => adaptiveGamma(new Float32Array(0)), 'L');
  });
});
