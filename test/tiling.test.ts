import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ClearsightError } from '../src/core/errors.js';
import type { RawImage } from '../src/core/image/types.js';
import { createImage } from '../src/core/image/types.js';
import type { ProgressEvent } from '../src/core/progress.js';
import type { PlanOptions, TilePlan } from '../src/core/tiling/index.js';
import { cropImage, featherWeights, padReflect, planTiles, reflectIndex, runTiled } from '../src/core/tiling/index.js';
import { mulberry32 as rng } from '../src/core/random.js';

// ---------- helpers (pure, test-local) ----------

/** Gradient plus noise: smooth structure and high-frequency detail, so seams show. */
function makeImage(width: number, height: number, channels: 1 | 3 = 3, seed = 1): RawImage {
  const rand = rng(seed);
  const img = createImage(width, height, channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        img.data[(y * width + x) * channels + c] = 0.5 * ((x + 2 * y + 7 * c) / (width + 2 * height + 14)) + 0.5 * rand();
      }
    }
  }
  return img;
}

function maxAbsDiff(a: RawImage, b: RawImage): number {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  assert.equal(a.channels, b.channels);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** PSNR over all samples, peak 1 (the metrics module is written elsewhere). */
function psnr(a: RawImage, b: RawImage): number {
  let se = 0;
  for (let i = 0; i < a.data.length; i++) se += (a.data[i] - b.data[i]) ** 2;
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

/** Reflect like numpy 'reflect' (independent of the implementation under test). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

/** 5x5 box blur with reflection borders: a "model" with a bounded receptive field. */
function boxBlur5(img: RawImage): RawImage {
  const { width: w, height: h, channels: c } = img;
  const out = createImage(w, h, c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) s += img.data[(mirror(y + dy, h) * w + mirror(x + dx, w)) * c + k];
        }
        out.data[(y * w + x) * c + k] = s / 25;
      }
    }
  }
  return out;
}

/** Nearest-neighbour upsample: a "model" with scale > 1. */
function upsampleNearest(img: RawImage, s: number): RawImage {
  const { width: w, height: h, channels: c } = img;
  const out = createImage(w * s, h * s, c);
  for (let y = 0; y < h * s; y++) {
    for (let x = 0; x < w * s; x++) {
      for (let k = 0; k < c; k++) out.data[(y * w * s + x) * c + k] = img.data[(Math.floor(y / s) * w + Math.floor(x / s)) * c + k];
    }
  }
  return out;
}

const identity = async (tile: RawImage): Promise<RawImage> => tile;

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<ClearsightError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ClearsightError, `expected ClearsightError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

function throwsWithOption(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ClearsightError);
    assert.equal(err.code, 'E_INVALID_OPTION');
    assert.equal(err.details.option, option);
    assert.match(err.message, new RegExp(option.replace(/[.[\]]/g, '\\$&')));
    return true;
  });
}

// ---------- planTiles ----------

/** Checks every property a plan must have along one axis. */
function checkAxisProps(starts: number[], tile: number, pad: number, size: number, o: PlanOptions, label: string): void {
  assert.equal(tile % o.divisibility, 0, `${label}: tile ${tile} divisible by ${o.divisibility}`);
  assert.ok(tile <= o.maxTile, `${label}: tile ${tile} <= maxTile`);
  const padded = size + pad;
  const covered = new Uint8Array(size);
  for (const s of starts) {
    assert.ok(s >= 0 && s + tile <= padded, `${label}: tile at ${s} inside padded ${padded}`);
    for (let i = s; i < Math.min(s + tile, size); i++) covered[i] = 1;
  }
  assert.ok(
    covered.every((v) => v === 1),
    `${label}: every pixel covered`,
  );
  if (starts.length > 1) {
    assert.equal(pad, 0, `${label}: several tiles never pad`);
    assert.equal(starts[starts.length - 1] + tile, size, `${label}: last tile flush with the edge`);
  } else {
    assert.ok(pad < o.divisibility, `${label}: padding ${pad} only up to divisibility`);
    assert.equal(tile, size + pad);
  }
  for (let i = 1; i < starts.length; i++) {
    assert.ok(starts[i - 1] + tile - starts[i] >= o.overlap, `${label}: overlap between ${starts[i - 1]} and ${starts[i]} >= ${o.overlap}`);
  }
}

function checkPlanProps(plan: TilePlan, w: number, h: number, o: PlanOptions): void {
  const label = `${w}x${h} ${JSON.stringify(o)}`;
  assert.equal(plan.imageWidth, w);
  assert.equal(plan.imageHeight, h);
  const xs = [...new Set(plan.tiles.map((t) => t.x))].sort((a, b) => a - b);
  const ys = [...new Set(plan.tiles.map((t) => t.y))].sort((a, b) => a - b);
  // Row-major full grid: one tile per (x, y), so every tile has the same shape by construction.
  assert.deepEqual(
    plan.tiles,
    ys.flatMap((y) => xs.map((x) => ({ x, y }))),
    `${label}: row-major grid`,
  );
  checkAxisProps(xs, plan.tileWidth, plan.padRight, w, o, `${label} x`);
  checkAxisProps(ys, plan.tileHeight, plan.padBottom, h, o, `${label} y`);
}

describe('planTiles', () => {
  const combos: PlanOptions[] = [
    { maxTile: 512, overlap: 32, divisibility: 64 },
    { maxTile: 500, overlap: 32, divisibility: 64 }, // maxTile not a multiple of divisibility
    { maxTile: 256, overlap: 0, divisibility: 1 },
    { maxTile: 128, overlap: 63, divisibility: 1 }, // overlap just under half a tile
    { maxTile: 64, overlap: 8, divisibility: 8 },
    { maxTile: 64, overlap: 0, divisibility: 64 }, // tile = divisibility: no room to spare
  ];

  it('covers every pixel with equal, divisible, overlapping tiles for sizes 1..2000', () => {
    for (const o of combos) {
      for (let w = 1; w <= 2000; w++) {
        const h = ((w * 7919) % 2000) + 1; // a second size, scrambled, so x and y differ
        checkPlanProps(planTiles(w, h, o), w, h, o);
      }
    }
  });

  it('is deterministic and keeps one tile shape for all large images', () => {
    const o = { maxTile: 512, overlap: 32, divisibility: 64 };
    assert.deepEqual(planTiles(1234, 777, o), planTiles(1234, 777, o));
    for (const [w, h] of [
      [600, 600],
      [1920, 1080],
      [4000, 3000],
    ]) {
      const p = planTiles(w, h, o);
      assert.equal(p.tileWidth, 512);
      assert.equal(p.tileHeight, 512);
    }
  });

  it('spans a small axis with one padded tile and a large one flush', () => {
    const p = planTiles(3, 5, { maxTile: 512, overlap: 32, divisibility: 64 });
    assert.deepEqual(p, { imageWidth: 3, imageHeight: 5, tileWidth: 64, tileHeight: 64, padRight: 61, padBottom: 59, tiles: [{ x: 0, y: 0 }] });
    const q = planTiles(900, 100, { maxTile: 512, overlap: 32, divisibility: 64 });
    assert.equal(q.tileHeight, 128);
    assert.equal(q.padBottom, 28);
    assert.deepEqual(
      q.tiles.map((t) => t.x),
      [0, 388],
    );
    // 1000 wide: two tiles would overlap by only 24 < 32, so three, evenly spread
    assert.deepEqual(
      planTiles(1000, 100, { maxTile: 512, overlap: 32, divisibility: 64 }).tiles.map((t) => t.x),
      [0, 244, 488],
    );
  });

  it('rejects invalid options, naming the parameter', () => {
    const ok = { maxTile: 512, overlap: 32, divisibility: 64 };
    throwsWithOption(() => planTiles(0, 10, ok), 'width');
    throwsWithOption(() => planTiles(10.5, 10, ok), 'width');
    throwsWithOption(() => planTiles(10, -1, ok), 'height');
    throwsWithOption(() => planTiles(10, NaN, ok), 'height');
    throwsWithOption(() => planTiles(10, 10, { ...ok, maxTile: 32 }), 'maxTile');
    throwsWithOption(() => planTiles(10, 10, { ...ok, maxTile: 256.5 }), 'maxTile');
    throwsWithOption(() => planTiles(10, 10, { ...ok, overlap: 256 }), 'overlap');
    throwsWithOption(() => planTiles(10, 10, { maxTile: 500, overlap: 224, divisibility: 64 }), 'overlap'); // tile is 448
    throwsWithOption(() => planTiles(10, 10, { ...ok, overlap: -1 }), 'overlap');
    throwsWithOption(() => planTiles(10, 10, { ...ok, overlap: 1.5 }), 'overlap');
    throwsWithOption(() => planTiles(10, 10, { ...ok, divisibility: 0 }), 'divisibility');
    throwsWithOption(() => planTiles(10, 10, { ...ok, divisibility: '64' as unknown as number }), 'divisibility');
  });
});

// ---------- padding and cropping ----------

describe('padReflect / cropImage', () => {
  const row = (values: number[]): RawImage => createImage(values.length, 1, 1, Float32Array.from(values));

  it('reflects without repeating the edge (numpy "reflect")', () => {
    assert.deepEqual([...padReflect(row([1, 2, 3, 4]), 3, 0).data], [1, 2, 3, 4, 3, 2, 1]);
    assert.deepEqual([...Array.from({ length: 7 }, (_, i) => reflectIndex(i - 3, 4))], [3, 2, 1, 0, 1, 2, 3]);
  });

  it('keeps reflecting when the pad is larger than the image', () => {
    // np.pad([1, 2, 3], (0, 9), 'reflect')
    assert.deepEqual([...padReflect(row([1, 2, 3]), 9, 0).data], [1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]);
    // a single pixel has nothing to mirror: it is replicated
    assert.deepEqual([...padReflect(row([7]), 4, 0).data], [7, 7, 7, 7, 7]);
    assert.deepEqual([...padReflect(row([5, 6]), 4, 0).data], [5, 6, 5, 6, 5, 6]);
  });

  it('pads both axes of an RGB image, matching an independent reference', () => {
    const img = makeImage(3, 5, 3, 9);
    const padded = padReflect(img, 61, 59);
    assert.equal(padded.width, 64);
    assert.equal(padded.height, 64);
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(padded.data[(y * 64 + x) * 3 + c], img.data[(mirror(y, 5) * 3 + mirror(x, 3)) * 3 + c]);
        }
      }
    }
    assert.deepEqual(cropImage(padded, 0, 0, 3, 5), img);
  });

  it('crops in bounds and rejects rectangles outside the image', () => {
    const img = makeImage(10, 8, 1);
    const crop = cropImage(img, 2, 3, 4, 5);
    assert.equal(crop.data[0], img.data[3 * 10 + 2]);
    assert.equal(crop.data[4 * 4 + 3], img.data[7 * 10 + 5]);
    throwsWithOption(() => cropImage(img, 7, 0, 4, 1), 'w');
    throwsWithOption(() => cropImage(img, 0, 4, 1, 5), 'h');
    throwsWithOption(() => cropImage(img, -1, 0, 1, 1), 'x');
    throwsWithOption(() => cropImage(img, 0, 0, 0, 1), 'w');
    throwsWithOption(() => padReflect(img, -1, 0), 'right');
  });
});

// ---------- feathering ----------

describe('featherWeights', () => {
  it('is 1 on borders, positive everywhere, and neighbours sum to 1 in overlaps', () => {
    const origins = [0, 40, 80]; // tile 64: overlaps of 24
    const tile = 64;
    for (const scale of [1, 3]) {
      const ws = origins.map((_, i) => featherWeights(origins, i, tile, scale));
      assert.equal(ws[0][0], 1);
      assert.equal(ws[2][tile * scale - 1], 1);
      const total = new Float64Array((80 + tile) * scale);
      ws.forEach((w, i) => {
        w.forEach((v, k) => {
          assert.ok(v > 0 && v <= 1);
          total[origins[i] * scale + k] += v;
        });
      });
      for (const t of total) assert.ok(Math.abs(t - 1) < 1e-6, `sum ${t}`);
    }
  });
});

// ---------- runTiled ----------

describe('runTiled', () => {
  const cases: Array<[number, number, 1 | 3, PlanOptions]> = [
    [3, 5, 3, { maxTile: 512, overlap: 32, divisibility: 64 }], // pad far larger than the image
    [1, 1, 1, { maxTile: 64, overlap: 8, divisibility: 64 }],
    [1, 300, 3, { maxTile: 128, overlap: 16, divisibility: 32 }], // one padded column, several rows
    [257, 130, 1, { maxTile: 64, overlap: 16, divisibility: 1 }],
    [1100, 700, 3, { maxTile: 256, overlap: 32, divisibility: 64 }],
  ];

  for (const [w, h, c, o] of cases) {
    it(`identity model reproduces a ${w}x${h}x${c} image (${JSON.stringify(o)})`, async () => {
      const img = makeImage(w, h, c, w + h);
      const plan = planTiles(w, h, o);
      const shapes = new Set<string>();
      const out = await runTiled(
        img,
        plan,
        async (tile) => {
          shapes.add(`${tile.width}x${tile.height}x${tile.channels}`);
          return tile;
        },
        { scale: 1 },
      );
      assert.deepEqual([...shapes], [`${plan.tileWidth}x${plan.tileHeight}x${c}`], 'one static tile shape');
      assert.ok(maxAbsDiff(out, img) <= 1e-6);
    });
  }

  it('a 5x5 box blur tiled matches it untiled (PSNR >= 45 dB), and overlap 0 shows seams', async (t) => {
    const img = makeImage(192, 128, 3, 42); // fits one tile of 256, and tiles of 64 exactly without overlap
    const reference = boxBlur5(img);
    const run = async (tile: RawImage) => boxBlur5(tile);

    const whole = await runTiled(img, planTiles(192, 128, { maxTile: 256, overlap: 16, divisibility: 1 }), run, { scale: 1 });
    assert.ok(maxAbsDiff(whole, reference) <= 1e-6, 'one tile = untiled');

    const feathered = planTiles(192, 128, { maxTile: 64, overlap: 16, divisibility: 1 });
    assert.ok(feathered.tiles.length > 4);
    const good = psnr(await runTiled(img, feathered, run, { scale: 1 }), reference);
    assert.ok(good >= 45, `feathered PSNR ${good.toFixed(2)} dB >= 45`);

    const seams = planTiles(192, 128, { maxTile: 64, overlap: 0, divisibility: 1 });
    assert.deepEqual([...new Set(seams.tiles.map((t) => t.x))], [0, 64, 128], 'abutting tiles');
    const bad = psnr(await runTiled(img, seams, run, { scale: 1 }), reference);
    t.diagnostic(`box blur PSNR: feathered ${good.toFixed(2)} dB, overlap 0 ${bad.toFixed(2)} dB`);
    assert.ok(bad < 45, `without overlap PSNR ${bad.toFixed(2)} dB must fall below 45 (the test can fail)`);
  });

  it('a 2x nearest-neighbour "model" tiled equals it untiled', async () => {
    for (const [w, h, o] of [
      [150, 90, { maxTile: 64, overlap: 8, divisibility: 16 }],
      [5, 3, { maxTile: 64, overlap: 8, divisibility: 32 }],
    ] as const) {
      const img = makeImage(w, h, 3, 7);
      const out = await runTiled(img, planTiles(w, h, o), async (tile) => upsampleNearest(tile, 2), { scale: 2 });
      assert.equal(out.width, w * 2);
      assert.equal(out.height, h * 2);
      assert.ok(maxAbsDiff(out, upsampleNearest(img, 2)) <= 1e-6);
    }
  });

  it('reports 0 of the total before the first tile, then progress after each tile', async () => {
    const img = makeImage(300, 200, 1);
    const plan = planTiles(300, 200, { maxTile: 128, overlap: 16, divisibility: 1 });
    const events: ProgressEvent[] = [];
    await runTiled(img, plan, identity, { scale: 1, control: { onProgress: (e) => events.push(e) } });
    const total = plan.tiles.length;
    assert.deepEqual(
      events,
      Array.from({ length: total + 1 }, (_, i) => ({ stage: 'tiles', done: i, total })),
    );
  });

  it('an already-aborted signal rejects with E_ABORTED before any tile runs', async () => {
    const img = makeImage(100, 100, 3);
    let calls = 0;
    const ac = new AbortController();
    ac.abort();
    await rejectsWithCode(
      runTiled(
        img,
        planTiles(100, 100, { maxTile: 64, overlap: 8, divisibility: 1 }),
        async (t) => {
          calls++;
          return t;
        },
        { scale: 1, control: { signal: ac.signal } },
      ),
      'E_ABORTED',
    );
    assert.equal(calls, 0);
  });

  it('an abort during a tile stops before the next one', async () => {
    const img = makeImage(100, 100, 3);
    const ac = new AbortController();
    let calls = 0;
    const run = async (tile: RawImage, index: number) => {
      calls++;
      if (index === 1) ac.abort();
      return tile;
    };
    await rejectsWithCode(
      runTiled(img, planTiles(100, 100, { maxTile: 64, overlap: 8, divisibility: 1 }), run, { scale: 1, control: { signal: ac.signal } }),
      'E_ABORTED',
    );
    assert.equal(calls, 2);
  });

  it('a wrong-size or wrong-channel tile rejects with E_RUNTIME naming the mismatch', async () => {
    const img = makeImage(100, 100, 3);
    const plan = planTiles(100, 100, { maxTile: 64, overlap: 8, divisibility: 1 });
    const err = await rejectsWithCode(
      runTiled(img, plan, async (t) => cropImage(t, 0, 0, 32, 64), { scale: 1 }),
      'E_RUNTIME',
    );
    assert.match(err.message, /32x64x3.*expected 64x64x3/);
    // a model that forgot to upscale
    await rejectsWithCode(runTiled(img, plan, identity, { scale: 2 }), 'E_RUNTIME');
    await rejectsWithCode(
      runTiled(img, plan, async (t) => createImage(t.width, t.height, 1), { scale: 1 }),
      'E_RUNTIME',
    );
  });

  it('rejects a bad scale or a plan for another image with E_INVALID_OPTION', async () => {
    const img = makeImage(100, 100, 3);
    const plan = planTiles(100, 100, { maxTile: 64, overlap: 8, divisibility: 1 });
    for (const scale of [0, 1.5, -2]) {
      const err = await rejectsWithCode(runTiled(img, plan, identity, { scale }), 'E_INVALID_OPTION');
      assert.equal(err.details.option, 'scale');
    }
    const other = await rejectsWithCode(runTiled(makeImage(90, 100, 3), plan, identity, { scale: 1 }), 'E_INVALID_OPTION');
    assert.equal(other.details.option, 'plan');
    const gappy: TilePlan = { ...plan, tiles: plan.tiles.filter((t) => t.x === 0) };
    await rejectsWithCode(runTiled(img, gappy, identity, { scale: 1 }), 'E_INVALID_OPTION');
    const outside: TilePlan = { ...plan, tiles: plan.tiles.map((t) => ({ x: t.x + 1, y: t.y })) };
    await rejectsWithCode(runTiled(img, outside, identity, { scale: 1 }), 'E_INVALID_OPTION');
  });
});
