/**
 * Golden images: each cheap expert and prior, run at a fixed seed on a small synthetic scene
 * (32 x 32, generated here), must reproduce its committed output (test/fixtures/golden/*.png,
 * 16-bit PNG) within a tolerance. A change that silently moves the output (a constant, a
 * refactor of shared numerics, a runtime upgrade) fails here with the size of the move.
 *
 * After an intended change, regenerate and review the images:
 *   CLEARSIGHT_UPDATE_GOLDEN=1 node --import tsx --test test/golden.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mulberry32 } from '../src/core/random.js';
import { createImage, decodeImage, writeImage, type RawImage } from '../src/core/image/index.js';
import { darken, dehazePrior, derain, enhanceLowLightGamma, enhanceLowLightIagc, mergeHdr, synthesizeHaze, synthesizeRain } from '../src/restore/index.js';
import { ROOT } from './helpers/cli.js';

const DIR = join(ROOT, 'test', 'fixtures', 'golden');
const UPDATE = process.env.CLEARSIGHT_UPDATE_GOLDEN === '1';
const SIZE = 32;
/** Largest allowed per-value difference: 16-bit storage rounds to 1/65535; the rest is headroom for float order. */
const MAX_ABS = 2e-3;
const MEAN_ABS = 2e-4;

/** A clean 32 x 32 RGB scene: smooth gradients, a bright disc, a dark bar and fine texture (seeded). */
function scene(seed = 1): RawImage {
  const rand = mulberry32(seed);
  const img = createImage(SIZE, SIZE, 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const disc = (x - 20) ** 2 + (y - 11) ** 2 < 36 ? 0.35 : 0;
      const bar = x > 4 && x < 9 && y > 6 ? -0.25 : 0;
      const grain = (rand() - 0.5) * 0.06;
      const i = (y * SIZE + x) * 3;
      img.data[i] = Math.min(1, Math.max(0, 0.25 + 0.5 * (x / SIZE) + disc + bar + grain));
      img.data[i + 1] = Math.min(1, Math.max(0, 0.3 + 0.4 * (y / SIZE) + disc + bar + grain));
      img.data[i + 2] = Math.min(1, Math.max(0, 0.55 - 0.3 * (x / SIZE) + disc * 0.6 + bar + grain));
    }
  }
  return img;
}

/** An exposure bracket of a radiance field through an S-shaped 8-bit camera curve. */
function bracket(): { frames: RawImage[]; times: number[] } {
  const base = scene(3);
  const times = [1 / 4, 1, 4];
  const frames = times.map((t) => {
    const img = createImage(SIZE, SIZE, 3);
    for (let i = 0; i < img.data.length; i++) {
      const X = Math.exp(6 * (base.data[i]! - 0.5)) * t;
      const y = X ** 0.6 / (X ** 0.6 + 1);
      img.data[i] = Math.round(255 * y) / 255;
    }
    return img;
  });
  return { frames, times };
}

async function compareGolden(name: string, got: RawImage): Promise<void> {
  const file = join(DIR, `${name}.png`);
  if (UPDATE || !existsSync(file)) {
    assert.ok(UPDATE, `golden ${file} is missing: run with CLEARSIGHT_UPDATE_GOLDEN=1 to create it`);
    await writeImage(file, got, { bitDepth: 16, force: true, mkdirs: true });
    return;
  }
  const { image: expected } = await decodeImage(file);
  assert.deepEqual([got.width, got.height, got.channels], [expected.width, expected.height, expected.channels], `${name}: size`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < got.data.length; i++) {
    const d = Math.abs(Math.min(1, Math.max(0, got.data[i]!)) - expected.data[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  const mean = sum / got.data.length;
  assert.ok(
    max <= MAX_ABS && mean <= MEAN_ABS,
    `${name}: output moved from its golden image (max |diff| ${max.toExponential(2)}, mean ${mean.toExponential(2)}; limits ${MAX_ABS}, ${MEAN_ABS})`,
  );
}

describe('golden images of the cheap experts (32 x 32, fixed seed)', () => {
  it('the scene generator is itself stable', async () => {
    await compareGolden('scene', scene());
  });

  it('dehazePrior on synthetic haze (beta 1.2)', async () => {
    const { image: hazy } = synthesizeHaze(scene(), { beta: 1.2 });
    await compareGolden('dehaze-prior', dehazePrior(hazy).image);
  });

  it('lowlight gamma (adaptive gamma, Taylor pow) on a 3-stop underexposure', async () => {
    const dark = darken(scene(), { exposure: 0.12, seed: 2 });
    await compareGolden('lowlight-gamma', enhanceLowLightGamma(dark).image);
  });

  it('lowlight iagc (the small estimator trained here) on the same underexposure', async () => {
    const dark = darken(scene(), { exposure: 0.12, seed: 2 });
    const { image } = await enhanceLowLightIagc(dark, { threads: 1 });
    await compareGolden('lowlight-iagc', image);
  });

  it('derain-fast student on synthetic streaks (seed 5)', async () => {
    const { image: rainy } = synthesizeRain(scene(), { seed: 5 });
    await compareGolden('derain-fast', await derain(rainy, { model: 'fast', threads: 1 }));
  });

  it('HDR merge of a synthetic 3-exposure bracket (tone-mapped LDR)', async () => {
    const { frames, times } = bracket();
    const result = await mergeHdr(frames, { times, tonemap: 'reinhard' });
    assert.ok(result.ldr, 'mergeHdr returns the tone-mapped LDR result');
    await compareGolden('hdr-merge', result.ldr);
  });
});
