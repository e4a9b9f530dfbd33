import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createImage, type RawImage } from '../src/core/image/index.js';
import { psnr, rgbToYMatlab, ssim } from '../src/core/metrics/index.js';
import type { ClearsightError } from '../src/core/errors.js';

const W = 48;
const H = 40;

/**
 * The same formulas as test/fixtures/metrics_reference.py (gradient + sinusoid, and a copy
 * perturbed by two higher-frequency sinusoids), stored as Float32 like any RawImage.
 */
function makePair(): { a: RawImage; b: RawImage } {
  const a = createImage(W, H, 3);
  const b = createImage(W, H, 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        const va = 0.28 + (0.3 * x) / (W - 1) + (0.15 * y) / (H - 1) + 0.2 * Math.sin(0.45 * x + 0.3 * y + 2 * c);
        const vb = va + 0.04 * Math.sin(1.7 * x + 2.3 * y + 0.5 * c) + 0.02 * Math.cos((0.9 * x * y) / 7 + c);
        a.data[(y * W + x) * 3 + c] = va;
        b.data[(y * W + x) * 3 + c] = vb;
      }
    }
  }
  return { a, b };
}

function constant(width: number, height: number, value: number, channels: 1 | 3 = 3): RawImage {
  return createImage(width, height, channels, new Float32Array(width * height * channels).fill(value));
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} ± ${tol}`);
}

describe('metrics against an independent numpy/scikit-image reference', () => {
  // Reference values printed by `/usr/bin/python3 test/fixtures/metrics_reference.py`
  // (numpy 1.24, scikit-image 0.19 from Debian 12; the script implements BasicSR's conventions
  // with a non-separable 2-D window and cross-checks SSIM against skimage to 1e-9).
  const { a, b } = makePair();
  const cases: Array<[string, (x: RawImage, y: RawImage) => number, number]> = [
    ['psnr rgb', (x, y) => psnr(x, y), 30.1013093954],
    ['psnr rgb crop4', (x, y) => psnr(x, y, { cropBorder: 4 }), 30.1409181298],
    ['psnr y', (x, y) => psnr(x, y, { channel: 'y' }), 32.0882699697],
    ['psnr y crop4', (x, y) => psnr(x, y, { channel: 'y', cropBorder: 4 }), 32.1204952475],
    ['psnr rgb float', (x, y) => psnr(x, y, { quantize: false }), 30.1084198903],
    ['psnr y float', (x, y) => psnr(x, y, { channel: 'y', quantize: false }), 32.085081076],
    ['ssim rgb', (x, y) => ssim(x, y), 0.9479643579],
    ['ssim rgb crop4', (x, y) => ssim(x, y, { cropBorder: 4 }), 0.9492114516],
    ['ssim y', (x, y) => ssim(x, y, { channel: 'y' }), 0.8487836408],
    ['ssim y crop4', (x, y) => ssim(x, y, { channel: 'y', cropBorder: 4 }), 0.8524907565],
    ['ssim rgb float', (x, y) => ssim(x, y, { quantize: false }), 0.9479841235],
    ['ssim y float', (x, y) => ssim(x, y, { channel: 'y', quantize: false }), 0.8487067438],
  ];
  for (const [name, fn, expected] of cases) {
    it(name, () => close(fn(a, b), expected, 1e-6, name));
  }

  it('is symmetric', () => {
    close(psnr(b, a), psnr(a, b), 1e-12, 'psnr');
    close(ssim(b, a), ssim(a, b), 1e-12, 'ssim');
  });
});

describe('metrics: hand-checkable cases', () => {
  it('identical images: PSNR Infinity, SSIM 1', () => {
    const { a } = makePair();
    assert.equal(psnr(a, a), Infinity);
    assert.equal(psnr(a, a, { channel: 'y' }), Infinity);
    close(ssim(a, a), 1, 1e-12, 'ssim');
    close(ssim(a, a, { channel: 'y' }), 1, 1e-12, 'ssim y');
  });

  it('constant offset of 10 grey levels: MSE 100 in RGB, (219*10/255)^2 in Y', () => {
    const a = constant(16, 16, 100 / 255);
    const b = constant(16, 16, 110 / 255);
    close(psnr(a, b), 10 * Math.log10((255 * 255) / 100), 1e-9, 'rgb'); // 28.1308...
    const dy = (219 * 10) / 255; // 65.481 + 128.553 + 24.966 = 219
    close(psnr(a, b, { channel: 'y' }), 10 * Math.log10((255 * 255) / (dy * dy)), 1e-9, 'y');
  });

  it('SSIM of two constant images reduces to the luminance term', () => {
    const a = constant(16, 16, 100 / 255);
    const b = constant(16, 16, 110 / 255);
    const c1 = (0.01 * 255) ** 2;
    close(ssim(a, b), (2 * 100 * 110 + c1) / (100 * 100 + 110 * 110 + c1), 1e-12, 'ssim');
  });

  it('dataRange: the same picture in 0..255 units gives the same numbers', () => {
    const { a, b } = makePair();
    const scale = (img: RawImage) =>
      createImage(
        img.width,
        img.height,
        3,
        img.data.map((v) => v * 255),
      );
    close(psnr(scale(a), scale(b), { dataRange: 255 }), psnr(a, b), 1e-9, 'psnr');
    close(ssim(scale(a), scale(b), { dataRange: 255 }), ssim(a, b), 1e-9, 'ssim');
  });

  it('quantize clamps out-of-range values like an 8-bit save would', () => {
    const a = constant(12, 12, 1);
    const b = constant(12, 12, 1.3); // saved as 255 too
    assert.equal(psnr(a, b), Infinity);
    assert.ok(Number.isFinite(psnr(a, b, { quantize: false })));
  });

  it('rgbToYMatlab maps black to 16 and white to 235', () => {
    const img = createImage(2, 1, 3, new Float32Array([0, 0, 0, 1, 1, 1]));
    const y = rgbToYMatlab(img);
    close(y[0], 16, 1e-5, 'black');
    close(y[1], 235, 1e-4, 'white');
  });

  it('grey images: y uses the plane unchanged', () => {
    const a = constant(12, 12, 100 / 255, 1);
    const b = constant(12, 12, 110 / 255, 1);
    close(psnr(a, b, { channel: 'y' }), psnr(a, b), 1e-12, 'grey');
  });
});

describe('metrics: validation', () => {
  it('rejects images of different sizes, naming both shapes', () => {
    assert.throws(
      () => psnr(constant(12, 12, 0), constant(12, 13, 0)),
      (err: ClearsightError) => {
        return err.code === 'E_INVALID_OPTION' && /12x12x3/.test(err.message) && /12x13x3/.test(err.message);
      },
    );
  });

  it('rejects a crop that leaves nothing, and SSIM on less than 11x11', () => {
    assert.throws(() => psnr(constant(8, 8, 0), constant(8, 8, 0), { cropBorder: 4 }), { code: 'E_INVALID_OPTION' });
    assert.throws(() => ssim(constant(12, 12, 0), constant(12, 12, 0), { cropBorder: 1 }), { code: 'E_INVALID_OPTION' });
    assert.throws(() => psnr(constant(8, 8, 0), constant(8, 8, 0), { cropBorder: -1 }), { code: 'E_INVALID_OPTION' });
    assert.throws(() => psnr(constant(8, 8, 0), constant(8, 8, 0), { channel: 'lab' as 'y' }), { code: 'E_INVALID_OPTION' });
  });
});
