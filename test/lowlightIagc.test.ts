/**
 * Learned illumination-aware gamma (lowlight --method iagc) and the synthetic low-light degradation
 * it trains on: known values of the degradation and of the full-resolution gamma steps, the whole
 * pipeline with the committed networks on a small generated picture, and the CLI with its maps.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { isClearsightError } from '../src/core/errors.js';
import { createImage, type RawImage } from '../src/core/image/index.js';
import { psnr } from '../src/core/metrics/index.js';
import { mulberry32 } from '../src/core/random.js';
import {
  applyGammaMap,
  enhanceLowLightIagc,
  iagcGammaMap,
  iagcThumbnailSize,
  exposureMap,
  sampleLowLightParams,
  sampleSpatialLowLight,
  synthesizeLowLight,
  LOW_LIGHT_RANGES,
  SPATIAL_LOW_LIGHT_RANGES,
  type LowLightParams,
} from '../src/restore/lowlight/index.js';
import { lowlight } from '../src/restore/index.js';
import { runCli } from './helpers/cli.js';

function assertInvalid(fn: () => unknown, option: string): void {
  assert.throws(fn, (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && e.details.option === option, option);
}

/** A textured colour picture in [0.05, 0.95]. */
function scene(w: number, h: number): RawImage {
  const img = createImage(w, h, 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      img.data[i] = 0.5 + 0.45 * Math.sin(x / 5) * Math.cos(y / 7);
      img.data[i + 1] = 0.2 + 0.6 * (x / w);
      img.data[i + 2] = 0.5 + 0.4 * Math.cos((x + y) / 9);
    }
  }
  return img;
}

const NOISELESS: LowLightParams = { exposure: 0.1, shotNoise: 0, readNoise: 0, temperature: 0, toneGamma: 1, seed: 1 };

describe('synthesizeLowLight', () => {
  it('without noise or colour shift scales sRGB by exposure^(1/2.2) (exposure acts in linear light)', () => {
    const clean = scene(16, 12);
    const low = synthesizeLowLight(clean, NOISELESS);
    const k = 0.1 ** (1 / 2.2);
    for (let i = 0; i < clean.data.length; i++) assert.ok(Math.abs(low.data[i] - clean.data[i] * k) < 1e-5, `sample ${i}`);
  });

  it('warms with temperature > 0 (red up, blue down, green kept) and tone gamma darkens when > 1', () => {
    const grey = createImage(4, 4, 3, new Float32Array(48).fill(0.5));
    const warm = synthesizeLowLight(grey, { ...NOISELESS, exposure: 1, temperature: 0.1 });
    assert.ok(Math.abs(warm.data[0] - 0.5 * 1.1 ** (1 / 2.2)) < 1e-5);
    assert.ok(Math.abs(warm.data[1] - 0.5) < 1e-5);
    assert.ok(Math.abs(warm.data[2] - 0.5 * 0.9 ** (1 / 2.2)) < 1e-5);
    const toned = synthesizeLowLight(grey, { ...NOISELESS, exposure: 1, toneGamma: 1.2 });
    assert.ok(Math.abs(toned.data[0] - 0.5 ** 1.2) < 1e-5);
  });

  it('adds seeded Poisson-Gaussian noise whose variance grows with the signal', () => {
    const flat = (v: number) => createImage(64, 64, 3, new Float32Array(64 * 64 * 3).fill(v));
    const p = { ...NOISELESS, exposure: 1, shotNoise: 4e-3, readNoise: 1e-3, seed: 7 };
    const a = synthesizeLowLight(flat(0.5), p);
    assert.deepEqual(a.data, synthesizeLowLight(flat(0.5), p).data, 'same seed, same noise');
    assert.notDeepEqual(a.data, synthesizeLowLight(flat(0.5), { ...p, seed: 8 }).data);
    const variance = (img: RawImage) => {
      // in linear light, where the model is defined
      const lin = Array.from(img.data, (v) => v ** 2.2);
      const m = lin.reduce((s, v) => s + v, 0) / lin.length;
      return lin.reduce((s, v) => s + (v - m) ** 2, 0) / lin.length;
    };
    const bright = 0.5 ** 2.2;
    const dim = 0.2 ** 2.2;
    const vb = variance(a);
    const vd = variance(synthesizeLowLight(flat(0.2), p));
    assert.ok(Math.abs(vb - (4e-3 * bright + 1e-6)) / (4e-3 * bright + 1e-6) < 0.1, `bright variance ${vb}`);
    assert.ok(Math.abs(vd - (4e-3 * dim + 1e-6)) / (4e-3 * dim + 1e-6) < 0.1, `dim variance ${vd}`);
  });

  it('draws parameters inside the documented ranges and rejects bad ones', () => {
    const rand = mulberry32(3);
    for (let k = 0; k < 200; k++) {
      const p = sampleLowLightParams(rand);
      for (const key of ['exposure', 'shotNoise', 'readNoise', 'temperature', 'toneGamma'] as const) {
        const [lo, hi] = LOW_LIGHT_RANGES[key];
        assert.ok(p[key] >= lo && p[key] <= hi, `${key} ${p[key]}`);
      }
    }
    const img = scene(8, 8);
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, exposure: 0 }), 'exposure');
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, readNoise: -1 }), 'readNoise');
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, seed: 0.5 }), 'seed');
    assertInvalid(() => synthesizeLowLight(createImage(8, 8, 1), NOISELESS), 'clean');
  });
});

describe('synthesizeLowLight: spatially varying exposure', () => {
  it('with no spatial part (absent or empty) is exactly the uniform darkening', () => {
    const clean = scene(16, 12);
    const p = { ...NOISELESS, shotNoise: 2e-3, readNoise: 3e-3, temperature: 0.1, seed: 4 };
    const uniform = synthesizeLowLight(clean, p);
    assert.deepEqual(synthesizeLowLight(clean, { ...p, ambientWaves: [], lights: [] }).data, uniform.data);
    assert.ok(exposureMap(16, 12, p).every((e) => e === p.exposure));
  });

  it('an exposure wave scales the ambient exposure by 2^(stops cos(...)), capped at 1', () => {
    // width 3: u = 0, 0.5, 1; one cycle across the width, 1 stop
    const wave = { kx: 1, ky: 0, phase: 0, stops: 1 };
    const e = exposureMap(3, 1, { ...NOISELESS, exposure: 0.1, ambientWaves: [wave] });
    assert.ok(Math.abs(e[0] - 0.2) < 1e-12 && Math.abs(e[1] - 0.05) < 1e-12 && Math.abs(e[2] - 0.2) < 1e-12, `${e}`);
    const capped = exposureMap(3, 1, { ...NOISELESS, exposure: 0.8, ambientWaves: [wave] });
    assert.equal(capped[0], 1);
    assert.ok(Math.abs(capped[1] - 0.4) < 1e-12);
  });

  it('a light source fills the exposure headroom by strength (1 + d^2/r^2)^(-3/2); lights combine as 1 - prod(1 - s f)', () => {
    const w = 41;
    const h = 1;
    const diag = Math.hypot(w, h);
    const r = 10 / diag; // height of the light: 10 px
    const a = 0.05;
    const one = exposureMap(w, h, { ...NOISELESS, exposure: a, lights: [{ x: 0, y: 0, radius: r, strength: 1 }] });
    assert.equal(one[0], 1, 'right under a full-strength light: the clean exposure');
    const f10 = (1 + 1) ** -1.5; // d = r at x = 10
    assert.ok(Math.abs(one[10] - (a + (1 - a) * f10)) < 1e-12, `${one[10]}`);
    for (let x = 1; x < w; x++) assert.ok(one[x] < one[x - 1] && one[x] > a, `falls off monotonically towards the ambient, x = ${x}`);
    const two = exposureMap(w, h, {
      ...NOISELESS,
      exposure: a,
      lights: [
        { x: 0, y: 0, radius: r, strength: 0.5 },
        { x: 1, y: 0, radius: r, strength: 0.5 },
      ],
    });
    const fa = (1 + (20 / 10) ** 2) ** -1.5; // x = 20: 20 px from both lights
    const lit = 1 - (1 - 0.5 * fa) ** 2;
    assert.ok(Math.abs(two[20] - (a + (1 - a) * lit)) < 1e-12, `${two[20]}`);
  });

  it('darkens each pixel by its own exposure in linear light, and adds the noise after it (variance follows the local signal)', () => {
    const w = 96;
    const h = 16;
    const grey = createImage(w, h, 3, new Float32Array(w * h * 3).fill(0.6));
    const base = { ...NOISELESS, exposure: 0.1, lights: [{ x: 0, y: 0.5, radius: 0.15, strength: 1 }] }; // dark enough to differ, bright enough that the clamp at 0 stays rare
    const noiseless = synthesizeLowLight(grey, base);
    const e = exposureMap(w, h, base);
    for (const i of [0, 40, 15 * w + 95]) assert.ok(Math.abs(noiseless.data[i * 3] - (0.6 ** 2.2 * e[i]) ** (1 / 2.2)) < 1e-6, `pixel ${i}`);
    const noisy = synthesizeLowLight(grey, { ...base, shotNoise: 4e-3, readNoise: 1e-3, seed: 11 });
    // lit: columns 0-7 (exposure >= ~0.5); dark: columns 72-95 (exposure ~0.1)
    const region = (x0: number, x1: number) => {
      let measured = 0;
      let expected = 0;
      let n = 0;
      for (let y = 0; y < h; y++) {
        for (let x = x0; x < x1; x++) {
          for (let c = 0; c < 3; c++) {
            const i = (y * w + x) * 3 + c;
            const lin = noiseless.data[i] ** 2.2;
            measured += (noisy.data[i] ** 2.2 - lin) ** 2;
            expected += 4e-3 * lin + 1e-6;
            n++;
          }
        }
      }
      return { measured: measured / n, expected: expected / n };
    };
    const lit = region(0, 8);
    const dark = region(72, 96);
    assert.ok(lit.expected > 5 * dark.expected, 'the two regions differ in signal');
    for (const [name, r] of Object.entries({ lit, dark })) assert.ok(Math.abs(r.measured - r.expected) / r.expected < 0.2, `${name}: ${JSON.stringify(r)}`);
    // in-camera noise reduction scales the noise amplitude by (1 - noiseReduction): the variance by its square
    const reduced = synthesizeLowLight(grey, { ...base, shotNoise: 4e-3, readNoise: 1e-3, seed: 11, noiseReduction: 0.5 });
    let sq = 0;
    for (let i = 0; i < reduced.data.length; i++) sq += (reduced.data[i] ** 2.2 - noiseless.data[i] ** 2.2) ** 2;
    let full = 0;
    for (let i = 0; i < noisy.data.length; i++) full += (noisy.data[i] ** 2.2 - noiseless.data[i] ** 2.2) ** 2;
    assert.ok(Math.abs(sq / full - 0.25) < 0.02, `variance ratio ${sq / full}`);
  });

  it('draws spatial parts inside the documented ranges, lowers the exposure only with lights, and rejects bad ones', () => {
    const rand = mulberry32(9);
    const R = SPATIAL_LOW_LIGHT_RANGES;
    let withLights = 0;
    for (let k = 0; k < 300; k++) {
      const base = sampleLowLightParams(rand);
      const p = sampleSpatialLowLight(base, rand);
      const waves = p.ambientWaves ?? [];
      const lights = p.lights ?? [];
      assert.ok(waves.length >= R.waves[0] && waves.length <= R.waves[1]);
      assert.ok(lights.length >= R.lights[0] && lights.length <= R.lights[1]);
      for (const wv of waves) assert.ok(wv.stops >= R.waveStops[0] && wv.stops <= R.waveStops[1] && Math.abs(wv.kx) <= 1.5 && Math.abs(wv.ky) <= 1.5);
      for (const l of lights)
        assert.ok(l.radius >= R.lightRadius[0] && l.radius <= R.lightRadius[1] && l.strength >= R.lightStrength[0] && l.strength <= R.lightStrength[1]);
      const stopsDown = Math.log2(base.exposure / p.exposure);
      if (lights.length === 0) assert.equal(p.exposure, base.exposure);
      else {
        withLights++;
        assert.ok(stopsDown >= R.meterStops[0] - 1e-12 && stopsDown <= R.meterStops[1] + 1e-12, `${stopsDown}`);
      }
      assert.ok(p.noiseReduction! >= R.noiseReduction[0] && p.noiseReduction! <= R.noiseReduction[1]);
      assert.equal(p.seed, base.seed);
      assert.equal(p.toneGamma, base.toneGamma);
    }
    assert.ok(withLights > 180 && withLights < 270, `${withLights} of 300 draws with lights (odds 3/4)`);
    const img = scene(8, 8);
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, lights: [{ x: 0, y: 0, radius: 0, strength: 1 }] }), 'lights');
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, lights: [{ x: 0, y: 0, radius: 0.1, strength: 1.5 }] }), 'lights');
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, ambientWaves: [{ kx: 1, ky: 0, phase: 0, stops: -1 }] }), 'ambientWaves');
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, noiseReduction: 1 }), 'noiseReduction');
    assertInvalid(() => synthesizeLowLight(img, { ...NOISELESS, ambientWaves: [{ kx: Number.NaN, ky: 0, phase: 0, stops: 1 }] }), 'ambientWaves');
  });
});

describe('iagc full-resolution steps', () => {
  it('thumbnail: the smallest integer factor bringing the longer side to <= 128', () => {
    assert.deepEqual(iagcThumbnailSize(100, 60), { width: 100, height: 60, factor: 1 });
    assert.deepEqual(iagcThumbnailSize(384, 384), { width: 128, height: 128, factor: 3 });
    assert.deepEqual(iagcThumbnailSize(4000, 3000), { width: 125, height: 94, factor: 32 });
  });

  it('gamma map: log gamma = a + b t + c t^2 at each pixel, t = 2L - 1, clamped to [0.2, 1]', () => {
    const L = Float32Array.from([0, 0.25, 0.5, 1]);
    // one cell: a = ln 0.5, b = ln 1.5, c = 0.1 -> at L = 0.25 (t = -0.5): 0.5 * 1.5^-0.5 * e^0.025
    const g = iagcGammaMap(Float32Array.from([Math.log(0.5), Math.log(1.5), 0.1]), 1, 1, L, 2, 2);
    const expected = [(0.5 / 1.5) * Math.exp(0.1), 0.5 * 1.5 ** -0.5 * Math.exp(0.025), 0.5, Math.min(1, 0.5 * 1.5 * Math.exp(0.1))];
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(g[i] - expected[i]) < 1e-4, `pixel ${i}: ${g[i]} vs ${expected[i]}`);
    const clamped = iagcGammaMap(Float32Array.from([5, 0, 0, -9, 0, 0]), 2, 1, Float32Array.from([0.5, 0.5]), 2, 1);
    assert.ok(Math.abs(clamped[0] - 1) < 1e-4 && Math.abs(clamped[1] - 0.2) < 1e-4, 'never darkens, never below 0.2');
    assertInvalid(() => iagcGammaMap(new Float32Array(5), 1, 1, L, 2, 2), 'coeffs');
  });

  it('gamma application keeps colour ratios, applies the gains and never exceeds 1', () => {
    const img = createImage(2, 1, 3, Float32Array.from([0.25, 0.125, 0.0625, 0.9, 0.5, 0.1]));
    const out = applyGammaMap(img, Float32Array.from([0.5, 0.5]), [1, 1, 1]);
    // V = 0.25 -> V^0.5 = 0.5: every channel doubles
    assert.ok(Math.abs(out.data[0] - 0.5) < 1e-4 && Math.abs(out.data[1] - 0.25) < 1e-4 && Math.abs(out.data[2] - 0.125) < 1e-4);
    assert.ok(out.data.every((v) => v <= 1));
    const same = applyGammaMap(img, Float32Array.from([1, 1]), [1, 1, 1]);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(same.data[i] - img.data[i]) < 1e-5, 'gamma 1 is the identity');
    const gained = applyGammaMap(img, Float32Array.from([1, 1]), [1.2, 1, 0.5]);
    assert.ok(Math.abs(gained.data[0] - 0.3) < 1e-5 && Math.abs(gained.data[2] - 0.03125) < 1e-5 && gained.data[3] === 1);
    assertInvalid(() => applyGammaMap(img, new Float32Array(3)), 'gamma');
  });
});

describe('enhanceLowLightIagc (committed networks)', () => {
  const clean = scene(96, 64);
  const low = synthesizeLowLight(clean, { exposure: 0.06, shotNoise: 5e-4, readNoise: 1e-3, temperature: 0.05, toneGamma: 1, seed: 3 });

  it('brightens a darkened picture far closer to the clean one, within [0, 1], with a gamma map in [0.2, 1]', async () => {
    const r = await enhanceLowLightIagc(low, { threads: 1 });
    assert.equal(r.image.width, 96);
    assert.equal(r.image.height, 64);
    assert.ok(r.image.data.every((v) => v >= 0 && v <= 1));
    assert.ok(r.gamma.every((g) => g >= 0.2 - 1e-6 && g <= 1 + 1e-6));
    assert.ok(r.gamma.reduce((a, b) => a + b, 0) / r.gamma.length < 0.8, 'a dark picture gets gamma < 1 on average');
    const before = psnr(low, clean);
    const after = psnr(r.image, clean);
    assert.ok(after > before + 5, `PSNR ${before.toFixed(2)} -> ${after.toFixed(2)} dB`);
    assert.ok(Math.abs(Math.max(...r.gains) - 1) < 1e-6 && Math.min(...r.gains) > 0.5, `gains ${r.gains}: the largest is 1`);
  });

  it('refine: true adds the refiner residual on top of the gamma stage (off by default)', async () => {
    const plain = await enhanceLowLightIagc(low, { threads: 1 });
    assert.deepEqual(plain.image.data, plain.gammaStage.data);
    const refined = await enhanceLowLightIagc(low, { threads: 1, refine: true });
    assert.deepEqual(refined.gammaStage.data, plain.gammaStage.data);
    let diff = 0;
    for (let i = 0; i < refined.image.data.length; i++) diff = Math.max(diff, Math.abs(refined.image.data[i] - plain.image.data[i]));
    assert.ok(diff > 1e-3, `the refiner changed the picture by at most ${diff}`);
  });

  it('is what lowlight(img, { method: "iagc" }) returns; refuses --tta and bad options', async () => {
    const a = await lowlight(low, { method: 'iagc', threads: 1 });
    const b = await enhanceLowLightIagc(low, { threads: 1 });
    assert.deepEqual(a.data, b.image.data);
    assert.throws(
      () => lowlight(low, { method: 'iagc', tta: true }),
      (e: unknown) => isClearsightError(e) && e.details.option === 'tta',
    );
    await assert.rejects(enhanceLowLightIagc(low, { order: 0 }), (e: unknown) => isClearsightError(e) && e.details.option === 'order');
    await assert.rejects(
      enhanceLowLightIagc(low, { refine: 'yes' as unknown as boolean }),
      (e: unknown) => isClearsightError(e) && e.details.option === 'refine',
    );
  });

  it('CLI: lowlight --method iagc writes the image and its maps', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cs-iagc-'));
    try {
      const input = join(dir, 'dark.png');
      const u8 = Buffer.from(Uint8Array.from(low.data, (v) => Math.round(v * 255)));
      await sharp(u8, { raw: { width: 96, height: 64, channels: 3 } })
        .png()
        .toFile(input);
      const res = await runCli(['lowlight', input, '-o', join(dir, 'out.png'), '--method', 'iagc', '--maps', join(dir, 'maps'), '--threads', '1', '--json']);
      assert.equal(res.code, 0, res.stderr);
      const summary = JSON.parse(res.stdout) as { method: string; model: string; maps: { files: string[] } };
      assert.equal(summary.method, 'iagc');
      assert.match(summary.model, /lowlight-iagc@/);
      assert.deepEqual([...summary.maps.files].map((f) => f.split('/').pop()).sort(), ['gamma.json', 'gamma.png', 'illumination.png']);
      const meta = await sharp(join(dir, 'out.png')).metadata();
      assert.equal(meta.width, 96);
      const info = JSON.parse(await readFile(join(dir, 'maps', 'gamma.json'), 'utf8')) as { method: string; whiteBalanceGains: number[] };
      assert.equal(info.method, 'iagc');
      assert.equal(info.whiteBalanceGains.length, 3);
      const bad = await runCli(['lowlight', input, '-o', join(dir, 'tta.png'), '--method', 'iagc', '--tta']);
      assert.notEqual(bad.code, 0);
      assert.equal(
        await stat(join(dir, 'tta.png')).then(
          () => true,
          () => false,
        ),
        false,
        'no partial output',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
