import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createImage } from '../src/core/image/types.js';
import { mulberry32 as rng } from '../src/core/random.js';
import { chooseDehazeMethod, dehazeAuto, measureHaze } from '../src/restore/dehaze/index.js';

/**
 * Random-coloured 4x4 blocks, each with one near-black channel (the prior holds), under uniform
 * haze of transmission t, below a band of opaque haze over 40 % of the picture (sky, t = 0: where
 * A can be read; under uniform haze alone A is not identifiable). The median then reads the scene.
 */
function hazyScene(t: number) {
  const r = rng(7);
  const w = 120;
  const h = 90;
  const img = createImage(w, h, 3);
  const A = [0.85, 0.87, 0.9];
  for (let by = 0; by < h; by += 4)
    for (let bx = 0; bx < w; bx += 4) {
      const dark = Math.floor(r() * 3);
      const col = [0, 1, 2].map((c) => (c === dark ? 0.03 * r() : 0.2 + 0.8 * r()));
      const tb = by < 36 ? 0 : t;
      for (let y = by; y < by + 4; y++)
        for (let x = bx; x < bx + 4; x++) for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = col[c]! * tb + A[c]! * (1 - tb);
    }
  return img;
}

test('measureHaze follows the haze: about 1 - t when the prior holds', () => {
  for (const t of [1, 0.7, 0.4, 0.1]) {
    const m = measureHaze(hazyScene(t));
    assert.ok(Math.abs(m - (1 - t)) < 0.06, `t ${t}: measure ${m.toFixed(3)}`);
  }
});

test('the prior for moderate haze, the network for light haze and dense fog', () => {
  assert.equal(chooseDehazeMethod(measureHaze(hazyScene(0.9))), 'learned');
  assert.equal(chooseDehazeMethod(measureHaze(hazyScene(0.45))), 'prior');
  assert.equal(chooseDehazeMethod(measureHaze(hazyScene(0.1))), 'learned');
  assert.equal(chooseDehazeMethod(0.4), 'prior');
  assert.equal(chooseDehazeMethod(0.8), 'learned');
});

// Issue 20 part 2: measured figures (MAXIM outdoor): SOTS 0001 0.580 -> 0.207 (the network acts;
// it wins by 11 dB), canyon 0.512 -> 0.456 (it barely acts; the prior looked clearly better).
test("with the network's own output: the prior only where the network barely acted", () => {
  assert.equal(chooseDehazeMethod(0.58, 0.207), 'learned');
  assert.equal(chooseDehazeMethod(0.512, 0.456), 'prior');
  assert.equal(chooseDehazeMethod(0.88, 0.86), 'learned'); // dense fog: never the prior
  assert.equal(chooseDehazeMethod(0.3, 0.29), 'learned'); // light haze
});

test('dehazeAuto keeps a network that acts and replaces one that does not', async () => {
  const hazy = hazyScene(0.45);
  const clean = hazyScene(1);
  const acting = await dehazeAuto(hazy, async () => clean);
  assert.equal(acting.method, 'learned');
  assert.equal(acting.image, clean);
  const idle = await dehazeAuto(hazy, async (img) => img);
  assert.equal(idle.method, 'prior');
  assert.ok(
    idle.hazeLearned! > 0.5 && measureHaze(idle.image) < idle.hazeIn - 0.2,
    `prior result ${measureHaze(idle.image).toFixed(3)} vs input ${idle.hazeIn.toFixed(3)}`,
  );
  let ran = 0;
  const light = await dehazeAuto(hazyScene(0.9), async (img) => {
    ran++;
    return img;
  });
  assert.equal(light.method, 'learned');
  assert.equal(light.hazeLearned, undefined);
  assert.equal(ran, 1);
});
