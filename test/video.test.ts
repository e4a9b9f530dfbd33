import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../src/core/random.js';
import { isClearsightError, ERROR_CODES } from '../src/core/errors.js';
import type { RawImage } from '../src/core/image/types.js';
import {
  addUpscaledResidual,
  compensateFrame,
  decodeVideo,
  lumaSampleQpel,
  predictBlock,
  probeVideo,
  pyramidOrder,
  superResolveFrames,
  superResolveVideo,
  VideoWriter,
  type DecodedFrame,
  type LumaPlane,
  type Upscaler,
  type VsrFrame,
} from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-video-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A textured pattern (blocky noise, so motion search has something to lock on to). */
function pattern(seed: number): (x: number, y: number) => number {
  return (x, y) => {
    let h = Math.imul((x >> 2) * 374761393 + (y >> 2) * 668265263 + seed, 1274126177);
    h ^= h >>> 13;
    return ((h >>> 0) % 200) + 28;
  };
}

/** Writes an H.264 clip whose luma at frame t is `luma(x, y, t)`; chroma is flat grey. */
async function makeClip(name: string, width: number, height: number, frames: number, luma: (x: number, y: number, t: number) => number): Promise<string> {
  const path = join(dir, name);
  const w = await VideoWriter.open(path, { width, height, crf: 18, fps: 25 });
  for (let t = 0; t < frames; t++) {
    const y = new Uint8Array(width * height);
    for (let r = 0; r < height; r++) for (let x = 0; x < width; x++) y[r * width + x] = luma(x, r, t);
    const c = (width >> 1) * (height >> 1);
    w.write({ width, height, y, u: new Uint8Array(c).fill(128), v: new Uint8Array(c).fill(128) });
  }
  await w.finish();
  return path;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

test('quarter-pel luma interpolation matches hand-computed H.264 samples', () => {
  // 8x8 zeros with a single 100 at (3, 3).
  const data = new Uint8Array(64);
  data[3 * 8 + 3] = 100;
  const p: LumaPlane = { width: 8, height: 8, data };
  const at = (x: number, y: number, fx: number, fy: number) => lumaSampleQpel(p, x * 4 + fx, y * 4 + fy);
  assert.equal(at(3, 3, 0, 0), 100); // G
  assert.equal(at(2, 3, 2, 0), 63); // b: (20*100 + 16) >> 5
  assert.equal(at(0, 3, 2, 0), 3); // b two pixels left: (1*100 + 16) >> 5
  assert.equal(at(1, 3, 2, 0), 0); // b: (-5*100 + 16) >> 5 clipped to 0
  assert.equal(at(2, 3, 3, 0), 82); // c = (b + H + 1) >> 1 = (63 + 100 + 1) >> 1
  assert.equal(at(3, 3, 1, 0), 82); // a = (G + b + 1) >> 1 with b = 63
  assert.equal(at(3, 2, 0, 2), 63); // h: vertical half-pel
  assert.equal(at(2, 2, 2, 2), 39); // j: (20*20*100 + 512) >> 10
  assert.equal(at(2, 2, 2, 1), 20); // f = (b + j + 1) >> 1 = (0 + 39 + 1) >> 1
  assert.equal(at(3, 2, 1, 2), 51); // i = (h + j + 1) >> 1 = (63 + 39 + 1) >> 1
  // Edge samples repeat the border (unrestricted motion vectors).
  assert.equal(lumaSampleQpel(p, -40, 12), 0);
});

test('motion compensation of a known translation leaves zero residual and finds the right reference', () => {
  const rnd = mulberry32(7);
  const W = 48;
  const H = 32;
  const ref = new Uint8Array(W * H).map(() => Math.floor(rnd() * 256));
  const other = new Uint8Array(W * H).map(() => Math.floor(rnd() * 256));
  // cur(x, y) = ref(x - 3, y + 2): every block's vector is (-3, +2) pixels = (-12, +8) quarter pels.
  const cur = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) cur[y * W + x] = ref[Math.min(H - 1, y + 2) * W + Math.max(0, x - 3)];
  const refPlane = { width: W, height: H, data: ref };
  const pred = predictBlock(refPlane, 16, 0, 16, 16, -12, 8);
  for (let j = 0; j < 16; j++) for (let i = 0; i < 16; i++) assert.equal(pred[j * 16 + i], cur[j * W + 16 + i]);
  const vectors = [0, 16, 32].flatMap((x) => [0, 16].map((y) => ({ list: 'L0' as const, x, y, width: 16, height: 16, mvX: -12, mvY: 8 })));
  const frame: DecodedFrame = {
    index: 5,
    time: 0,
    pictureType: 'P',
    width: W,
    height: H,
    y: cur,
    u: new Uint8Array(0),
    v: new Uint8Array(0),
    vectors,
    intra: new Uint8Array(6),
    matrix: 'bt601',
    range: 'limited',
  };
  const a = compensateFrame(
    frame,
    [
      { index: 4, luma: { width: W, height: H, data: other } },
      { index: 3, luma: refPlane },
    ],
    [],
  );
  assert.equal(a.blocks.length, 6);
  for (const b of a.blocks) {
    assert.equal(b.l0?.ref, 3, 'the reference that predicts exactly is chosen');
    // Blocks on the left/bottom border read clamped samples where cur does too.
    assert.equal(b.residual, 0);
  }
  assert.deepEqual([...a.mbResidual], [0, 0, 0, 0, 0, 0]);
});

test('decodes an H.264 clip with the encoded motion: vectors follow the known translation', async () => {
  // Content moves +2 px right and +1 px down a frame: an L0 vector pointing k frames back is
  // (-2k, -k) pixels = (-8k, -4k) quarter pels; L1 vectors point forward: (+8k, +4k).
  const src = pattern(1);
  const path = await makeClip('moving.mp4', 64, 64, 10, (x, y, t) => src(x - 2 * t, y - t));
  const info = await probeVideo(path);
  assert.equal(info.codec, 'h264');
  const frames = await collect(decodeVideo(path));
  assert.equal(frames.length, 10);
  assert.deepEqual(
    frames.map((f) => f.index),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(frames[0].pictureType, 'I');
  assert.ok(frames[0].intra.every((v) => v === 1));
  let consistent = 0;
  let total = 0;
  for (const f of frames.slice(1)) {
    assert.ok(f.pictureType === 'P' || f.pictureType === 'B');
    for (const v of f.vectors) {
      total++;
      const k = v.list === 'L0' ? -v.mvX / 8 : v.mvX / 8;
      if (v.mvX === 2 * v.mvY && Number.isInteger(k) && k >= 1 && k <= 4) consistent++;
    }
  }
  assert.ok(total > 100, `expected vectors, got ${total}`);
  assert.ok(consistent / total > 0.8, `${consistent}/${total} vectors match the known motion`);
  // Residuals against the resolved references are small (CRF 18 on a clean translation).
  const f3 = frames[3];
  const a = compensateFrame(
    f3,
    frames
      .slice(0, 3)
      .reverse()
      .map((f) => ({ index: f.index, luma: { width: 64, height: 64, data: f.y } })),
    frames.slice(4, 6).map((f) => ({ index: f.index, luma: { width: 64, height: 64, data: f.y } })),
  );
  const median = [...a.mbResidual].sort((x, y) => x - y)[a.mbResidual.length >> 1];
  assert.ok(median < 4, `median residual ${median}`);
});

test('encode round trip keeps frame count and size', async () => {
  const path = await makeClip('roundtrip.mp4', 48, 32, 7, (x, y, t) => (x * 3 + y * 5 + t * 7) & 255);
  const info = await probeVideo(path);
  assert.equal(info.width, 48);
  assert.equal(info.height, 32);
  assert.equal(info.frameCount, 7);
  const frames = await collect(decodeVideo(path, { motionVectors: false }));
  assert.equal(frames.length, 7);
  assert.ok(frames.every((f) => f.width === 48 && f.height === 32 && f.y.length === 48 * 32 && f.u.length === 24 * 16));
});

test('non-video input is rejected with a clean error and leaves no output', async () => {
  const txt = join(dir, 'notes.txt');
  writeFileSync(txt, 'not a video at all\n'.repeat(50));
  await assert.rejects(collect(decodeVideo(txt)), (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INPUT_UNSUPPORTED);
  await assert.rejects(collect(decodeVideo(join(dir, 'missing.mp4'))), (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INPUT_NOT_FOUND);
  const out = join(dir, 'never.mp4');
  await assert.rejects(superResolveVideo(txt, out, { upscaler: nearest(2), scale: 2 }), (e: unknown) => isClearsightError(e));
  assert.equal(existsSync(out), false);
});

test('an aborted run leaves no output file', async () => {
  const src = pattern(3);
  const path = await makeClip('abort.mp4', 32, 32, 6, (x, y, t) => src(x - t, y));
  const out = join(dir, 'aborted.mp4');
  const ac = new AbortController();
  await assert.rejects(
    superResolveVideo(path, out, { upscaler: nearest(2), scale: 2, signal: ac.signal, onFrame: (f) => f.index === 2 && ac.abort() }),
    (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.ABORTED,
  );
  assert.equal(existsSync(out), false);
});

/** Nearest-neighbour stub network: pointwise, so a tile's output equals the full frame's there. */
function nearest(s: number): Upscaler {
  return async (img: RawImage) => {
    const W = img.width * s;
    const out = new Float32Array(W * img.height * s * 3);
    for (let Y = 0; Y < img.height * s; Y++) {
      for (let X = 0; X < W; X++) {
        const i = (((Y / s) | 0) * img.width + ((X / s) | 0)) * 3;
        out.set(img.data.subarray(i, i + 3), (Y * W + X) * 3);
      }
    }
    return { width: W, height: img.height * s, channels: 3, data: out };
  };
}

test('codec-assisted mode skips a static clip and matches full mode where the network runs', async () => {
  const bg = pattern(5);
  const fg = pattern(9);
  // Static background with a 16x16 textured square moving 3 px a frame to the right.
  const path = await makeClip('square.mp4', 96, 64, 10, (x, y, t) => {
    const sx = 8 + 3 * t;
    return x >= sx && x < sx + 16 && y >= 24 && y < 40 ? fg(x - sx, y - 24) : bg(x, y);
  });
  const still = await makeClip('static.mp4', 64, 48, 10, (x, y) => bg(x, y));

  const stillFrames = await collect(superResolveFrames(decodeVideo(still), { upscaler: nearest(2), scale: 2, refresh: 0, skipThreshold: 1 }));
  assert.equal(stillFrames.length, 10);
  const skipped = 1 - stillFrames.reduce((s, f) => s + f.computed, 0) / stillFrames.length;
  assert.ok(skipped >= 0.85, `static clip: skipped ${skipped}`);
  assert.ok(stillFrames.slice(1).every((f) => f.decision === 'partial'));

  const opts = { upscaler: nearest(2), scale: 2 as const, refresh: 0, skipThreshold: 1 };
  const codec: VsrFrame[] = await collect(superResolveFrames(decodeVideo(path), opts));
  const full: VsrFrame[] = await collect(superResolveFrames(decodeVideo(path), { ...opts, mode: 'full' }));
  assert.deepEqual(
    codec.map((f) => f.index),
    full.map((f) => f.index),
  );
  let checkedBlocks = 0;
  for (let i = 0; i < codec.length; i++) {
    const c = codec[i];
    if (c.decision !== 'partial') continue;
    assert.ok(c.computed < 1);
    assert.ok(c.changedBlocks < c.totalBlocks, `frame ${i}: ${c.changedBlocks} changed`);
    const mbCols = Math.ceil(96 / 16);
    for (let k = 0; k < c.changed.length; k++) {
      if (!c.changed[k]) continue;
      checkedBlocks++;
      const x0 = (k % mbCols) * 32;
      const y0 = Math.floor(k / mbCols) * 32;
      for (let Y = y0; Y < y0 + 32; Y++) {
        for (let X = x0; X < x0 + 32; X++) {
          const o = (Y * 192 + X) * 3;
          assert.equal(c.image.data[o], full[i].image.data[o], `frame ${i} (${X}, ${Y})`);
        }
      }
    }
    // Unchanged blocks are close to full mode too (they are predictions of the same pixels).
    let err = 0;
    for (let j = 0; j < c.image.data.length; j++) err += Math.abs(c.image.data[j] - full[i].image.data[j]);
    assert.ok(err / c.image.data.length < 0.02, `frame ${i}: mean abs diff ${err / c.image.data.length}`);
  }
  assert.ok(checkedBlocks > 0);
});

test('B pictures are processed middle-first', () => {
  assert.deepEqual(pyramidOrder([1, 2, 3]), [2, 1, 3]);
  assert.deepEqual(pyramidOrder([1, 2]), [1, 2]);
  assert.deepEqual(pyramidOrder([1, 2, 3, 4, 5, 6, 7]), [4, 2, 1, 3, 6, 5, 7]);
});

test('the upscaled residual correction adds decoded minus prediction to the HR estimate', () => {
  const hr = { width: 8, height: 8, channels: 3 as const, data: new Float32Array(8 * 8 * 3).fill(0.5) };
  const decoded = new Uint8Array(16).fill(120);
  const prediction = new Uint8Array(16).fill(98); // residual +22 levels everywhere
  addUpscaledResidual(hr, decoded, prediction, 4, 4, 2);
  for (const v of hr.data) assert.ok(Math.abs(v - (0.5 + 22 / 219)) < 1e-6);
  // A residual on one LR pixel spreads bilinearly: its 2x2 HR pixels get most of it.
  const hr2 = { width: 8, height: 8, channels: 3 as const, data: new Float32Array(8 * 8 * 3).fill(0.5) };
  const d2 = new Uint8Array(16).fill(100);
  d2[1 * 4 + 1] = 144;
  addUpscaledResidual(hr2, d2, new Uint8Array(16).fill(100), 4, 4, 2);
  const at = (X: number, Y: number) => hr2.data[(Y * 8 + X) * 3];
  assert.ok(Math.abs(at(2, 2) - (0.5 + (0.75 * 0.75 * 44) / 219)) < 1e-6);
  assert.equal(at(7, 7), 0.5);
});
