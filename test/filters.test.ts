import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createImage } from '../src/core/image/index.js';
import { boxFilter, darkChannel, guidedFilter, minFilter, minOverChannels } from '../src/core/filters/index.js';
import { isClearsightError } from '../src/core/errors.js';
import { mulberry32 as rng } from '../src/core/random.js';

function randomPlane(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r());
}

function naiveWindow(p: Float32Array, w: number, h: number, r: number, reduce: 'mean' | 'min'): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let m = Infinity;
      let c = 0;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          const v = p[yy * w + xx];
          s += v;
          m = Math.min(m, v);
          c++;
        }
      }
      out[y * w + x] = reduce === 'mean' ? s / c : m;
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const SHAPES: Array<[number, number]> = [
  [23, 17],
  [1, 9],
  [9, 1],
  [1, 1],
  [40, 31],
];
const RADII = [0, 1, 2, 3, 7, 12, 50];

function assertInvalid(fn: () => unknown, option: string): void {
  assert.throws(fn, (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && e.details.option === option);
}

describe('boxFilter', () => {
  it('matches a naive clipped-window mean (radii up to larger than the image)', () => {
    let seed = 1;
    for (const [w, h] of SHAPES) {
      const p = randomPlane(w * h, seed++);
      for (const r of RADII) {
        const got = boxFilter(p, w, h, r);
        assert.ok(maxAbsDiff(got, naiveWindow(p, w, h, r, 'mean')) < 1e-6, `${w}x${h} r=${r}`);
      }
    }
  });

  it('keeps a constant plane constant and does not touch its input', () => {
    const p = new Float32Array(30 * 20).fill(0.37);
    const copy = p.slice();
    const got = boxFilter(p, 30, 20, 4);
    assert.ok(maxAbsDiff(got, p) < 1e-7);
    assert.deepEqual(p, copy);
  });

  it('validates its arguments', () => {
    const p = new Float32Array(12);
    assertInvalid(() => boxFilter(p, 4, 4, 1), 'plane');
    assertInvalid(() => boxFilter(p, 4, 3, -1), 'radius');
    assertInvalid(() => boxFilter(p, 4, 3, 1.5), 'radius');
    assertInvalid(() => boxFilter(p, 0, 3, 1), 'width');
  });
});

describe('minFilter', () => {
  it('matches a naive clipped-window minimum (radii up to larger than the image)', () => {
    let seed = 100;
    for (const [w, h] of SHAPES) {
      const p = randomPlane(w * h, seed++);
      for (const r of RADII) {
        const got = minFilter(p, w, h, r);
        assert.equal(maxAbsDiff(got, naiveWindow(p, w, h, r, 'min')), 0, `${w}x${h} r=${r}`);
      }
    }
  });

  it('erodes a single bright pixel away and a single dark pixel into a square', () => {
    const w = 15;
    const h = 11;
    const p = new Float32Array(w * h).fill(0.5);
    p[5 * w + 7] = 0;
    const got = minFilter(p, w, h, 2);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = Math.abs(x - 7) <= 2 && Math.abs(y - 5) <= 2;
        assert.equal(got[y * w + x], inside ? 0 : 0.5);
      }
    }
  });
});

describe('guidedFilter', () => {
  it('with guide = src and eps -> 0 is the identity (edges kept)', () => {
    const w = 37;
    const h = 29;
    // A step edge plus texture: a box filter would blur both.
    const r = rng(7);
    const p = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) p[y * w + x] = (x < 18 ? 0.1 : 0.8) + 0.1 * r();
    const q = guidedFilter(p, p, w, h, { radius: 3, eps: 1e-8 });
    assert.ok(maxAbsDiff(q, p) < 1e-3, `max diff ${maxAbsDiff(q, p)}`);
    // Also with a separate (equal) guide array: the general code path.
    const q2 = guidedFilter(p.slice(), p, w, h, { radius: 3, eps: 1e-8 });
    assert.ok(maxAbsDiff(q2, p) < 1e-3);
  });

  it('with a large eps is the box mean (of box means) of src', () => {
    const w = 31;
    const h = 26;
    const I = randomPlane(w * h, 11);
    const p = randomPlane(w * h, 12);
    const rad = 4;
    const q = guidedFilter(I, p, w, h, { radius: rad, eps: 1e6 });
    // a ~ 0, b = mean(p) => q = box(box(p)); close to box(p) too.
    const bb = boxFilter(boxFilter(p, w, h, rad), w, h, rad);
    assert.ok(maxAbsDiff(q, bb) < 1e-5, `vs box(box(p)): ${maxAbsDiff(q, bb)}`);
    const b = boxFilter(p, w, h, rad);
    assert.ok(maxAbsDiff(q, b) < 0.1);
  });

  it('validates options', () => {
    const p = new Float32Array(16);
    assertInvalid(() => guidedFilter(p, p, 4, 4, { radius: 0, eps: 1e-3 }), 'radius');
    assertInvalid(() => guidedFilter(p, p, 4, 4, { radius: 2, eps: 0 }), 'eps');
    assertInvalid(() => guidedFilter(p, new Float32Array(15), 4, 4, { radius: 2, eps: 1e-3 }), 'src');
  });
});

describe('darkChannel', () => {
  it('is the min filter of the per-pixel min over RGB', () => {
    const w = 20;
    const h = 14;
    const img = createImage(w, h, 3, randomPlane(w * h * 3, 21));
    const m = minOverChannels(img);
    for (let i = 0; i < w * h; i++) {
      assert.equal(m[i], Math.min(img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2]));
    }
    assert.deepEqual(darkChannel(img, 3), minFilter(m, w, h, 3));
  });

  it('uses the single channel of a grey image', () => {
    const img = createImage(5, 4, 1, randomPlane(20, 22));
    assert.deepEqual(darkChannel(img, 1), minFilter(img.data, 5, 4, 1));
  });
});
