/**
 * core/stats, core/colour, core/sampling and core/fft's any-size DFT against values worked out by
 * hand or by the textbook definition, and the module wrappers that now delegate to them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bilinearAccumulate,
  dft1d,
  dft2d,
  fft1d,
  fitLogisticNewton,
  luma601,
  LUMA_BT601,
  LUMA_BT709,
  lumaPlane,
  median,
  mulberry32,
  rgbToLuma,
  rocAucMannWhitney,
  sigmoid,
  solveSymmetric,
} from '../src/core/index.js';
import { createImage } from '../src/core/image/index.js';
import { rocAuc as faceRocAuc } from '../src/face/metrics.js';
import { rocAuc as forensicsRocAuc } from '../src/trust/forensics/stats.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

describe('median', () => {
  it('odd count: the middle value; even count: the mean of the two middle values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median(new Float32Array([0.5, 0.25])), 0.375);
    assert.equal(median([7]), 7);
  });
  it('empty: NaN, or the value asked for; the input is left unsorted', () => {
    assert.ok(Number.isNaN(median([])));
    assert.equal(median([], 0), 0);
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });
});

describe('ROC AUC (Mann-Whitney)', () => {
  // 9 positive-negative pairs: 0.9 and 0.8 beat all 3 negatives (6), 0.4 beats 0.1 (1) and ties 0.4 (0.5): 7.5 / 9
  const pos = [0.9, 0.8, 0.4];
  const neg = [0.7, 0.4, 0.1];
  it('matches the pair count by hand, ties counting half', () => {
    close(rocAucMannWhitney(pos, neg), 7.5 / 9, 1e-15);
    assert.equal(rocAucMannWhitney([1, 2], [0]), 1);
    assert.equal(rocAucMannWhitney([0], [1, 2]), 0);
    assert.equal(rocAucMannWhitney([1, 1], [1]), 0.5);
    assert.ok(Number.isNaN(rocAucMannWhitney([], [1])));
  });
  it('the face and forensics modules give the same number', () => {
    close(faceRocAuc(pos, neg), 7.5 / 9, 1e-15);
    close(forensicsRocAuc({ scores: [...pos, ...neg], labels: [1, 1, 1, 0, 0, 0] }), 7.5 / 9, 1e-15);
  });
});

describe('logistic regression', () => {
  it('sigmoid is exact at 0, symmetric, and finite for large |z|', () => {
    assert.equal(sigmoid(0), 0.5);
    close(sigmoid(2) + sigmoid(-2), 1, 1e-15);
    assert.equal(sigmoid(-1000), 0);
    assert.equal(sigmoid(1000), 1);
  });
  it('one binary feature, no penalty: the closed-form maximum likelihood (b = logit 1/4, w = 2 ln 3)', () => {
    // x = 0: one positive in four -> sigmoid(b) = 1/4; x = 1: three in four -> sigmoid(w + b) = 3/4
    const rows = [[0], [0], [0], [0], [1], [1], [1], [1]];
    const targets = [0, 0, 0, 1, 1, 1, 1, 0];
    const { weights, bias } = fitLogisticNewton(rows, { targets });
    close(bias, Math.log(1 / 3), 1e-6, 'bias');
    close(weights[0]!, 2 * Math.log(3), 1e-6, 'weight');
  });
  it('a sample weight of 2 equals the row twice; a large penalty holds the weights at the prior', () => {
    const rows = [
      [0.2, 1],
      [1.5, -0.3],
      [-0.7, 0.4],
      [0.9, 0.8],
      [-1.2, -1],
    ];
    const targets = [0, 1, 0, 1, 0];
    const weighted = fitLogisticNewton(rows, { targets, sampleWeights: [2, 1, 1, 1, 1], l2: 0.1 });
    // duplicating row 0 gives 6 rows: scale l2 so the objective (mean over rows) is the same up to a factor
    const duplicated = fitLogisticNewton([rows[0]!, ...rows], { targets: [0, ...targets], l2: (0.1 * 5) / 6 });
    weighted.weights.forEach((w, j) => {
      close(w, duplicated.weights[j]!, 1e-6, `w${j}`);
    });
    close(weighted.bias, duplicated.bias, 1e-6, 'bias');
    const held = fitLogisticNewton(rows, { targets, l2: 1e9, prior: [0.3, -0.2] });
    close(held.weights[0]!, 0.3, 1e-6);
    close(held.weights[1]!, -0.2, 1e-6);
  });
  it('rejects a row count that does not match the targets', () => {
    assert.throws(() => fitLogisticNewton([[1], [2]], { targets: [1] }), { code: 'E_INVALID_OPTION' });
  });
  it('solveSymmetric solves a 2x2 system', () => {
    const x = solveSymmetric(
      [
        [4, 1],
        [1, 3],
      ],
      [1, 2],
    );
    close(x[0]!, 1 / 11, 1e-14);
    close(x[1]!, 7 / 11, 1e-14);
  });
});

function naiveDft(re: readonly number[], im: readonly number[], inverse = false): [number[], number[]] {
  const n = re.length;
  const sign = inverse ? 1 : -1;
  const r: number[] = [];
  const i: number[] = [];
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (sign * 2 * Math.PI * k * t) / n;
      sr += re[t]! * Math.cos(a) - im[t]! * Math.sin(a);
      si += re[t]! * Math.sin(a) + im[t]! * Math.cos(a);
    }
    r.push(inverse ? sr / n : sr);
    i.push(inverse ? si / n : si);
  }
  return [r, i];
}

describe('any-size DFT (Bluestein on the radix-2 FFT)', () => {
  const rand = mulberry32(7);
  for (const n of [3, 5, 6, 7, 12, 31]) {
    it(`n = ${n}: equals the textbook DFT, forward and inverse`, () => {
      const re = Array.from({ length: n }, () => rand() - 0.5);
      const im = Array.from({ length: n }, () => rand() - 0.5);
      for (const inverse of [false, true]) {
        const [er, ei] = naiveDft(re, im, inverse);
        const r = Float64Array.from(re);
        const i = Float64Array.from(im);
        dft1d(r, i, n, inverse);
        for (let k = 0; k < n; k++) {
          close(r[k]!, er[k]!, 1e-12, `re[${k}]`);
          close(i[k]!, ei[k]!, 1e-12, `im[${k}]`);
        }
      }
    });
  }
  it('a power of two goes to fft1d unchanged', () => {
    const re = Float64Array.from({ length: 8 }, () => rand());
    const im = new Float64Array(8);
    const r2 = Float64Array.from(re);
    const i2 = new Float64Array(8);
    dft1d(re, im, 8);
    fft1d(r2, i2, 8);
    assert.deepEqual([...re], [...r2]);
    assert.deepEqual([...im], [...i2]);
  });
  it('dft2d of a 5 x 3 grid: DC term is the sum, and inverse(forward(x)) = x', () => {
    const w = 5;
    const h = 3;
    const x = Array.from({ length: w * h }, () => rand());
    const re = Float64Array.from(x);
    const im = new Float64Array(w * h);
    dft2d(re, im, w, h);
    close(
      re[0]!,
      x.reduce((s, v) => s + v, 0),
      1e-12,
      'DC',
    );
    close(im[0]!, 0, 1e-12, 'DC imaginary');
    dft2d(re, im, w, h, true);
    x.forEach((v, k) => {
      close(re[k]!, v, 1e-12, `x[${k}]`);
    });
    assert.throws(() => dft2d(new Float64Array(4), new Float64Array(4), 3, 2), { code: 'E_INVALID_OPTION' });
  });
});

describe('colour', () => {
  it('BT.601 and BT.709 weights sum to 1; luma of grey is the grey level', () => {
    close(LUMA_BT601[0] + LUMA_BT601[1] + LUMA_BT601[2], 1, 1e-15);
    close(LUMA_BT709[0] + LUMA_BT709[1] + LUMA_BT709[2], 1, 1e-15);
    close(luma601(0.4, 0.4, 0.4), 0.4, 1e-15);
    assert.equal(luma601(1, 0, 0), 0.299);
  });
  it('lumaPlane of an RGB image and of a grey one (a copy)', () => {
    const rgb = createImage(2, 1, 3, new Float32Array([1, 0, 0, 0, 0, 1]));
    assert.deepEqual([...lumaPlane(rgb)], [Math.fround(0.299), Math.fround(0.114)]);
    assert.deepEqual([...rgbToLuma([0, 1, 0])], [Math.fround(0.587)]);
    const grey = createImage(2, 1, 1, new Float32Array([0.25, 0.5]));
    const plane = lumaPlane(grey);
    assert.deepEqual([...plane], [0.25, 0.5]);
    assert.notEqual(plane, grey.data);
  });
});

describe('bilinear sampling', () => {
  // 2 x 2 grey: 0 1 / 2 3
  const img = createImage(2, 2, 1, new Float32Array([0, 1, 2, 3]));
  const at = (x: number, y: number, border: 'zero' | 'clamp', weight = 1) => {
    const out = new Float64Array(1);
    bilinearAccumulate(img, x, y, out, 0, weight, border);
    return out[0]!;
  };
  it('pixel centres give the pixel, the middle gives the mean, the weight scales', () => {
    assert.equal(at(1, 1, 'zero'), 3);
    assert.equal(at(0.5, 0.5, 'clamp'), 1.5);
    assert.equal(at(0.5, 0, 'zero'), 0.5);
    assert.equal(at(0.5, 0.5, 'zero', 2), 3);
  });
  it('outside the picture: zero border fades to black, clamp repeats the edge', () => {
    assert.equal(at(1.5, 1, 'zero'), 1.5);
    assert.equal(at(1.5, 1, 'clamp'), 3);
    assert.equal(at(-1, 0, 'zero'), 0);
    assert.equal(at(-3, 1, 'clamp'), 2);
  });
  it('RGB: one value per channel, accumulated', () => {
    const rgb = createImage(1, 1, 3, new Float32Array([0.1, 0.2, 0.3]));
    const out = new Float32Array([1, 1, 1, 1]);
    bilinearAccumulate(rgb, 0, 0, out, 1, 1, 'clamp');
    assert.deepEqual([...out], [1, Math.fround(1.1), Math.fround(1.2), Math.fround(1.3)]);
  });
});
