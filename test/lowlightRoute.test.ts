import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createImage } from '../src/core/image/types.js';
import { chooseLowlightMethod, litFraction, MAX_LIT_FRACTION } from '../src/restore/lowlight/index.js';

/** A dark scene (values 0.01..0.1) with `lit` of its pixels at 0.6 (a lamp, a lit window). */
function darkScene(lit: number) {
  const img = createImage(100, 100, 3);
  for (let i = 0; i < 100 * 100; i++) for (let c = 0; c < 3; c++) img.data[i * 3 + c] = 0.01 + 0.09 * (((i * 7 + c) % 13) / 12);
  for (let i = 0; i < Math.round(lit * 100 * 100); i++) img.data[i * 3] = 0.6;
  return img;
}

test('litFraction counts pixels whose largest channel reaches the level', () => {
  assert.equal(litFraction(darkScene(0)), 0);
  assert.equal(litFraction(darkScene(0.25)), 0.25);
  assert.equal(litFraction(darkScene(0.25), 0.7), 0);
  const grey = createImage(2, 1, 1, Float32Array.from([0.2, 0.5]));
  assert.equal(litFraction(grey), 0.5);
});

test('uniformly dark input goes to the expert; input with lit regions to the fusion, which keeps them from clipping', () => {
  assert.equal(chooseLowlightMethod(darkScene(0)), 'learned');
  assert.equal(chooseLowlightMethod(darkScene(MAX_LIT_FRACTION / 2)), 'learned');
  assert.equal(chooseLowlightMethod(darkScene(0.05)), 'fuse');
  assert.equal(chooseLowlightMethod(darkScene(0.6)), 'fuse');
});
