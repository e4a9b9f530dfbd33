import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isClearsightError, ERROR_CODES } from '../src/core/errors.js';
import type { RawImage } from '../src/core/image/types.js';
import {
  decodeVideo,
  defaultSkipThreshold,
  defaultTile,
  defaultVsrModel,
  planWindows,
  warpPrediction,
  probeVideo,
  superResolveFrames,
  superResolveVideo,
  VideoWriter,
  type DecodedFrame,
  type VsrFrame,
} from '../src/video/index.js';
import { analyseForCvsr, cropPlanes, CvsrNetwork, cvsrPlanes, neighbourLuma, referenceOrder } from '../src/video/cvsr.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-cvsr-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Smooth texture (sums of sines) sampled at real coordinates, so sub-pixel motion is well defined. */
const texture = (x: number, y: number): number =>
  128 + 50 * Math.sin(x * 0.31 + 0.7 * Math.sin(y * 0.13)) + 30 * Math.sin(y * 0.23 - x * 0.05) + 15 * Math.sin((x + y) * 0.71);

async function makeClip(name: string, width: number, height: number, frames: number, luma: (x: number, y: number, t: number) => number): Promise<string> {
  const path = join(dir, name);
  const w = await VideoWriter.open(path, { width, height, crf: 20, fps: 25, bFrames: 3 });
  for (let t = 0; t < frames; t++) {
    const y = new Uint8Array(width * height);
    for (let r = 0; r < height; r++) for (let x = 0; x < width; x++) y[r * width + x] = Math.round(luma(x, r, t));
    const c = (width >> 1) * (height >> 1);
    w.write({ width, height, y, u: new Uint8Array(c).fill(120), v: new Uint8Array(c).fill(136) });
  }
  await w.finish();
  return path;
}

/** An injected x4 upscaler (pixel repeat): the run's network is 'custom'. */
async function nearest4(img: RawImage): Promise<RawImage> {
  const W = img.width * 4;
  const out = new Float32Array(W * img.height * 4 * 3);
  for (let Y = 0; Y < img.height * 4; Y++) {
    for (let X = 0; X < W; X++) {
      const i = (((Y / 4) | 0) * img.width + ((X / 4) | 0)) * 3;
      out.set(img.data.subarray(i, i + 3), (Y * W + X) * 3);
    }
  }
  return { width: W, height: img.height * 4, channels: 3, data: out };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

const meanAbs = (a: Uint8Array, b: Uint8Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

test('cvsr planes: RGB as given, neighbour luma normalised by the frame range', () => {
  const lr = { width: 2, height: 1, channels: 3 as const, data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) };
  const limited = cvsrPlanes(lr, Uint8Array.from([16, 235]), Uint8Array.from([125.5, 126]), 'limited');
  assert.deepEqual(
    [...limited.data.subarray(0, 6)].map((v) => +v.toFixed(6)),
    [0.1, 0.4, 0.2, 0.5, 0.3, 0.6],
  );
  assert.deepEqual([...limited.data.subarray(6, 8)], [0, 1]);
  assert.ok(Math.abs(limited.data[9] - 110 / 219) < 1e-7, `L1 limited: ${limited.data[9]}`);
  const full = cvsrPlanes(lr, Uint8Array.from([0, 255]), Uint8Array.from([51, 102]), 'full');
  assert.deepEqual(
    [...full.data.subarray(6, 10)].map((v) => +v.toFixed(6)),
    [0, 1, 0.2, 0.4],
  );
  const crop = cropPlanes(full, 1, 0, 1, 1);
  assert.deepEqual(
    [...crop.data].map((v) => +v.toFixed(6)),
    [0.4, 0.5, 0.6, 1, 0.4],
  );
});

test('the neighbours warped by the decoded vectors line up with the frame (a panning texture)', async () => {
  // 1.5 px a frame to the right, 0.75 down: quarter-pel vectors.
  const path = await makeClip('pan.mp4', 96, 64, 9, (x, y, t) => texture(x - 1.5 * t, y - 0.75 * t));
  const frames = await collect(decodeVideo(path));
  const byIndex = new Map<number, DecodedFrame>(frames.map((f) => [f.index, f]));
  let checked = 0;
  let sawB = false;
  for await (const o of referenceOrder(
    (async function* () {
      yield* frames;
    })(),
  )) {
    const f = o.frame;
    const analysis = analyseForCvsr(o);
    const { l0, l1 } = neighbourLuma(f, analysis);
    if (f.pictureType === 'I') {
      assert.equal(analysis, undefined);
      assert.equal(l0, f.y, 'an I picture has no neighbours: its own luma stands in');
      continue;
    }
    assert.ok(analysis, `frame ${f.index} (${f.pictureType}) has an analysis`);
    const prev = byIndex.get(f.index - 1)!;
    const unaligned = meanAbs(prev.y, f.y);
    const aligned = meanAbs(l0, f.y);
    assert.ok(aligned < 0.35 * unaligned, `frame ${f.index}: L0 off by ${aligned.toFixed(2)} levels, the unwarped previous frame by ${unaligned.toFixed(2)}`);
    if (f.pictureType === 'P') assert.equal(meanAbs(l1, f.y), 0, `P frame ${f.index}: no L1 list, its own luma stands in`);
    if (f.pictureType === 'B') {
      sawB = true;
      assert.ok(meanAbs(l1, f.y) < 0.35 * unaligned, `B frame ${f.index}: L1 off by ${meanAbs(l1, f.y).toFixed(2)}`);
    }
    checked++;
  }
  assert.ok(checked >= 6, `checked ${checked} frames`);
  assert.ok(sawB, 'the clip has B pictures (bf 3)');
});

test('vsr --model cvsr: x4 frames; codec mode reproduces full mode where the network runs', async () => {
  const bg = (x: number, y: number) => texture(x, y);
  // Static background, a 16x16 patch of another texture moving 3 px a frame.
  const path = await makeClip('square.mp4', 96, 64, 8, (x, y, t) => {
    const sx = 8 + 3 * t;
    return x >= sx && x < sx + 16 && y >= 24 && y < 40 ? 255 - texture(2 * (x - sx), 3 * (y - 24)) : bg(x, y);
  });
  const opts = { model: 'cvsr', threads: 1, refresh: 0, skipThreshold: 1 };
  const codec: VsrFrame[] = await collect(superResolveFrames(decodeVideo(path), opts));
  const full: VsrFrame[] = await collect(superResolveFrames(decodeVideo(path), { ...opts, mode: 'full' }));
  assert.equal(codec.length, 8);
  assert.deepEqual(
    codec.map((f) => [f.image.width, f.image.height]),
    codec.map(() => [384, 256]),
  );
  let checked = 0;
  let partial = 0;
  for (let i = 0; i < codec.length; i++) {
    const c = codec[i];
    if (c.decision !== 'partial') {
      // Full frames are the same computation in both modes.
      let d = 0;
      for (let j = 0; j < c.image.data.length; j++) d = Math.max(d, Math.abs(c.image.data[j] - full[i].image.data[j]));
      assert.ok(d < 1e-5, `frame ${i} (${c.decision}): max diff ${d}`);
      continue;
    }
    partial++;
    const mbCols = 6;
    for (let k = 0; k < c.changed.length; k++) {
      if (!c.changed[k]) continue;
      // Inside a changed block the window's margin covers the receptive field: the same values.
      const x0 = (k % mbCols) * 64;
      const y0 = Math.floor(k / mbCols) * 64;
      for (let Y = y0; Y < y0 + 64; Y++) {
        for (let X = x0; X < x0 + 64; X++) {
          const o = (Y * 384 + X) * 3;
          const d = Math.abs(c.image.data[o] - full[i].image.data[o]);
          assert.ok(d < 2e-5, `frame ${i} (${X}, ${Y}): codec ${c.image.data[o]} full ${full[i].image.data[o]}`);
          checked++;
        }
      }
    }
  }
  assert.ok(partial > 0, 'some frames were partial');
  assert.ok(checked > 0, 'some blocks were recomputed');
});

test('cvsr is x4 only: another scale is refused before anything loads', async () => {
  const path = await makeClip('tiny.mp4', 32, 32, 2, (x, y) => texture(x, y));
  await assert.rejects(collect(superResolveFrames(decodeVideo(path), { model: 'cvsr', scale: 2 })), (e: unknown) => {
    assert.ok(isClearsightError(e), `a ClearsightError: ${String(e)}`);
    assert.equal(e.code, ERROR_CODES.INVALID_OPTION);
    assert.match(e.message, /cvsr/);
    return true;
  });
});

test('windows of a dynamic-size network: one per horizontal run of changed tiles, margin clipped to the frame', () => {
  // 160x64 frame: 10 x 4 macroblocks, tiles of 32 (2 x 2 macroblocks): 5 x 2 tiles.
  const mbCols = 10;
  const changed = new Uint8Array(40);
  const mark = (mx: number, my: number) => {
    changed[my * mbCols + mx] = 1;
  };
  mark(0, 0); // tile (0, 0)
  mark(3, 1); // tile (1, 0): a run with (0, 0)
  mark(9, 0); // tile (4, 0): alone, at the right edge
  mark(5, 3); // tile (2, 1)
  const w = planWindows(changed, mbCols, 4, 160, 64, 32, 8, true);
  assert.deepEqual(w, [
    { cx: 0, cy: 0, cw: 64, ch: 32, wx: 0, wy: 0, ww: 72, wh: 40 },
    { cx: 128, cy: 0, cw: 32, ch: 32, wx: 120, wy: 0, ww: 40, wh: 40 },
    { cx: 64, cy: 32, cw: 32, ch: 32, wx: 56, wy: 24, ww: 48, wh: 40 },
  ]);
  // Fixed-size windows (static-shape networks): one per tile, all the same size.
  const fixed = planWindows(changed, mbCols, 4, 160, 64, 32, 8);
  assert.equal(fixed.length, 4);
  assert.ok(fixed.every((x) => x.ww === 48 && x.wh === 48));
});

test('windows of a dynamic-size network: a run under one of the same columns joins it (one call, margins not paid twice)', () => {
  // 96x64 frame, tiles of 16: macroblocks (2..3, 1..2) changed, a 2x2 block; (5, 3) alone.
  const mbCols = 6;
  const changed = new Uint8Array(24);
  for (const [mx, my] of [
    [2, 1],
    [3, 1],
    [2, 2],
    [3, 2],
    [5, 3],
  ]) {
    changed[my * mbCols + mx] = 1;
  }
  assert.deepEqual(planWindows(changed, mbCols, 4, 96, 64, 16, 8, true), [
    { cx: 32, cy: 16, cw: 32, ch: 32, wx: 24, wy: 8, ww: 48, wh: 48 },
    { cx: 80, cy: 48, cw: 16, ch: 16, wx: 72, wy: 40, ww: 24, wh: 24 },
  ]);
});

test('the default network is cvsr at x4 (the best measured) and ESRGAN at other scales; the stats name what ran', async () => {
  assert.equal(defaultVsrModel(4), 'cvsr');
  assert.equal(defaultVsrModel(2), 'esrgan');
  assert.equal(defaultVsrModel(8), 'esrgan');
  const clip = await makeClip('default.mp4', 32, 32, 3, (x, y, t) => texture(x - t, y));
  const out = join(dir, 'default_x4.mp4');
  const stats = await superResolveVideo(clip, out, { threads: 1 });
  assert.equal(stats.model, 'cvsr');
  assert.equal(stats.scale, 4);
  assert.equal(stats.frames, 3);
  const info = await probeVideo(out);
  assert.deepEqual([info.width, info.height], [128, 128]);
});

test('codec mode skips less readily with cvsr (threshold 6) than with ESRGAN (8); a given threshold wins', async () => {
  assert.equal(defaultSkipThreshold('cvsr'), 6);
  assert.equal(defaultSkipThreshold('esrgan'), 8);
  assert.equal(defaultSkipThreshold('realesr'), 8);
  const clip = await makeClip('threshold.mp4', 32, 32, 3, (x, y, t) => texture(x - t, y));
  const cvsr = await superResolveVideo(clip, join(dir, 'threshold_cvsr.mp4'), { threads: 1 });
  assert.equal(cvsr.skipThreshold, 6);
  const given = await superResolveVideo(clip, join(dir, 'threshold_given.mp4'), { threads: 1, skipThreshold: 8 });
  assert.equal(given.skipThreshold, 8);
  const custom = await superResolveVideo(clip, join(dir, 'threshold_custom.mp4'), { upscaler: nearest4, scale: 4, threads: 1 });
  assert.equal(custom.skipThreshold, 8);
});

test('cvsr codec mode runs 16-pixel tiles by default: less of the unchanged area around a moving patch is recomputed', async () => {
  assert.equal(defaultTile('cvsr'), 16);
  assert.equal(defaultTile('esrgan'), 32);
  // A 16x16 patch moving 3 px a frame over a static background, away from the tile-32 grid.
  const clip = await makeClip('tile.mp4', 128, 64, 5, (x, y, t) => {
    const sx = 20 + 3 * t;
    return x >= sx && x < sx + 16 && y >= 20 && y < 36 ? 255 - texture(2 * (x - sx), 3 * (y - 20)) : texture(x, y);
  });
  const spent = async (o: object) => {
    const frames: VsrFrame[] = await collect(superResolveFrames(decodeVideo(clip), { model: 'cvsr', threads: 1, refresh: 0, skipThreshold: 1, ...o }));
    return frames.filter((f) => f.decision === 'partial').reduce((sum, f) => sum + f.computed, 0);
  };
  const small = await spent({});
  const large = await spent({ tile: 32 });
  assert.ok(small > 0, 'some partial frames ran the network');
  assert.ok(small < 0.8 * large, `tile 16 spent ${small}, tile 32 ${large}`);
});

test('the HR warp ignores partitions in the coded padding (a 180-pixel-wide picture has macroblocks to 192)', () => {
  const ref = { width: 720, height: 64, channels: 3 as const, data: new Float32Array(720 * 64 * 3).fill(0.5) };
  const blocks = [
    { x: 184, y: 8, width: 8, height: 8, l0: { ref: 0, mvX: 0, mvY: 0 }, residual: 0 }, // wholly in the padding
    { x: 176, y: 0, width: 8, height: 16, l0: { ref: 0, mvX: -4, mvY: 0 }, residual: 0 }, // half in it
  ];
  const out = warpPrediction(blocks, new Map([[0, ref]]), 180, 16, 4);
  assert.equal(out.width, 720);
  // The visible part of the second block (LR x 176..179) is the reference shifted one LR pixel.
  assert.equal(out.data[(10 * 720 + 710) * 3], 0.5);
  assert.equal(out.data[(10 * 720 + 700) * 3], 0, 'outside every block: 0');
});

test('cvsr on strips of a large frame gives the one-call output (context rows cover the receptive field)', async () => {
  const net = await CvsrNetwork.load({ threads: 1 });
  try {
    const w = 40;
    const h = 70;
    const data = new Float32Array(5 * w * h).map((_, i) => 0.5 + 0.4 * Math.sin(i * 0.37) * Math.cos(i * 0.011));
    const p = { width: w, height: h, channels: 5, data };
    const whole = await net.predict(p);
    const strips = await net.predictStrips(p, w * 36); // 20-row cores: four strips
    assert.equal(strips.data.length, whole.data.length);
    let d = 0;
    for (let i = 0; i < whole.data.length; i++) d = Math.max(d, Math.abs(strips.data[i] - whole.data[i]));
    assert.ok(d < 2e-5, `max diff ${d}`);
  } finally {
    await net.dispose();
  }
});
