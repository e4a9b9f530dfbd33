/**
 * core/video: the one reader/writer on the files users bring. Clips in the formats that used to
 * be refused (H.264 4:4:4, H.264 4:2:2 10-bit, VP9/WebM, HEVC 10-bit, AV1, MPEG-4, rotated phone
 * video) are made with the bundled FFmpeg encoders, then decoded and run end to end through vsr,
 * the liveness reader and the server's upload check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isClearsightError, ERROR_CODES } from '../src/core/errors.js';
import {
  decodeVideo,
  decodeVideoRgb,
  displayMatrixForRotation,
  orientationFromDisplayMatrix,
  orientPlane,
  probeVideo,
  readVideoFrames,
  rgbToYuv,
  VideoWriter,
  yuvToRgb,
  type VideoEncodeOptions,
  type YuvFrame,
} from '../src/core/video/index.js';
import { superResolveVideo, type Upscaler } from '../src/video/index.js';
import { DEFAULT_LIMITS, inspectUpload } from '../src/server/limits.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-core-video-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const W = 64;
const H = 48;
const FRAMES = 6;

/** Smooth luma that moves 1 px per frame, chroma ramps (so a wrong plane or matrix shows). */
function sourceFrame(t: number, width = W, height = H): YuvFrame {
  const cw = width >> 1;
  const ch = height >> 1;
  const y = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) for (let x = 0; x < width; x++) y[r * width + x] = Math.round(60 + 50 * Math.sin((x - t) / 5) + 40 * Math.cos(r / 7));
  const u = new Uint8Array(cw * ch);
  const v = new Uint8Array(cw * ch);
  for (let r = 0; r < ch; r++)
    for (let x = 0; x < cw; x++) {
      u[r * cw + x] = 100 + x;
      v[r * cw + x] = 150 - r;
    }
  return { width, height, y, u, v };
}

async function makeClip(name: string, opts: Partial<VideoEncodeOptions> = {}, width = W, height = H): Promise<string> {
  const path = join(dir, name);
  const w = await VideoWriter.open(path, { width, height, fps: 25, crf: 18, ...opts });
  for (let t = 0; t < FRAMES; t++) w.write(sourceFrame(t, width, height));
  await w.finish();
  return path;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

const nearest =
  (s: number): Upscaler =>
  async (img) => {
    const out = new Float32Array(img.width * s * img.height * s * 3);
    for (let y = 0; y < img.height * s; y++)
      for (let x = 0; x < img.width * s; x++)
        for (let k = 0; k < 3; k++) out[(y * img.width * s + x) * 3 + k] = img.data[(((y / s) | 0) * img.width + ((x / s) | 0)) * 3 + k];
    return { width: img.width * s, height: img.height * s, channels: 3, data: out };
  };

/** Formats users bring that the old reader refused; each made by a bundled encoder. */
const FORMATS: Array<{ name: string; file: string; opts: Partial<VideoEncodeOptions>; codec: string; pixelFormat: string }> = [
  { name: 'H.264 High 4:4:4', file: 'h264-444.mp4', opts: { pixelFormat: 'yuv444p' }, codec: 'h264', pixelFormat: 'yuv444p' },
  { name: 'H.264 4:2:2 10-bit', file: 'h264-422p10.mp4', opts: { pixelFormat: 'yuv422p10le' }, codec: 'h264', pixelFormat: 'yuv422p10le' },
  { name: 'VP9 in WebM', file: 'vp9.webm', opts: { encoder: 'libvpx-vp9' }, codec: 'vp9', pixelFormat: 'yuv420p' },
  {
    name: 'HEVC 4:2:0 10-bit in MKV',
    file: 'hevc-10.mkv',
    opts: { encoder: 'libx265', pixelFormat: 'yuv420p10le', preset: 'ultrafast' },
    codec: 'hevc',
    pixelFormat: 'yuv420p10le',
  },
  { name: 'AV1 (SVT-AV1)', file: 'av1.mp4', opts: { encoder: 'libsvtav1', crf: 30 }, codec: 'av1', pixelFormat: 'yuv420p' },
  { name: 'MPEG-4 part 2', file: 'mpeg4.mp4', opts: { encoder: 'mpeg4' }, codec: 'mpeg4', pixelFormat: 'yuv420p' },
];

for (const f of FORMATS) {
  test(`${f.name}: probed, decoded close to the source, upscaled by vsr, read by liveness, accepted by the server`, async () => {
    const path = await makeClip(f.file, f.opts);
    const info = await probeVideo(path);
    assert.equal(info.codec, f.codec);
    assert.equal(info.pixelFormat, f.pixelFormat);
    assert.equal(info.width, W);
    assert.equal(info.height, H);

    const frames = await collect(decodeVideo(path, { motionVectors: f.codec === 'h264' || f.codec === 'mpeg4' }));
    assert.equal(frames.length, FRAMES);
    for (const fr of frames) {
      assert.equal(fr.width, W);
      assert.equal(fr.y.length, W * H);
      assert.equal(fr.u.length, (W / 2) * (H / 2));
      const src = sourceFrame(fr.index);
      assert.ok(meanAbsDiff(fr.y, src.y) < 3, `${f.name} frame ${fr.index}: luma error ${meanAbsDiff(fr.y, src.y).toFixed(2)}`);
      assert.ok(meanAbsDiff(fr.u, src.u) < 3, `${f.name} frame ${fr.index}: Cb error ${meanAbsDiff(fr.u, src.u).toFixed(2)}`);
      assert.ok(meanAbsDiff(fr.v, src.v) < 3, `${f.name} frame ${fr.index}: Cr error ${meanAbsDiff(fr.v, src.v).toFixed(2)}`);
      assert.equal(fr.matrix, 'bt601');
      assert.equal(fr.range, 'limited');
    }
    // Inter frames of codecs that export vectors carry them.
    if (f.codec === 'h264' || f.codec === 'mpeg4')
      assert.ok(
        frames.some((fr) => fr.vectors.length > 0),
        `${f.name}: no motion vectors exported`,
      );

    // RGB through swscale agrees with the reference conversion of the source.
    const rgb = await collect(decodeVideoRgb(path));
    const ref = yuvToRgb(sourceFrame(0));
    let err = 0;
    for (let i = 0; i < ref.data.length; i++) err += Math.abs(rgb[0].image.data[i] - ref.data[i]);
    assert.ok(err / ref.data.length < 0.03, `${f.name}: RGB error ${(err / ref.data.length).toFixed(4)}`);

    const out = join(dir, `${f.file}.x2.mp4`);
    const stats = await superResolveVideo(path, out, { upscaler: nearest(2), scale: 2 });
    assert.equal(stats.frames, FRAMES);
    const outInfo = await probeVideo(out);
    assert.equal(outInfo.width, 2 * W);
    assert.equal(outInfo.height, 2 * H);

    const clip = await readVideoFrames(path, { maxSeconds: 1 });
    assert.equal(clip.frames.length, FRAMES);
    assert.equal(clip.width, W);
    const upload = await inspectUpload(path, statSync(path).size, 'video', DEFAULT_LIMITS, 'file');
    assert.equal(upload.kind, 'video', 'the server accepts it as a video');
    assert.equal(upload.pixels, W * H, 'the server budgets one frame of W x H');
  });
}

test('RGB through swscale has no brightness bias against the reference conversion (lossless clip)', async () => {
  // swscale's default YUV -> RGB rounding made every decoded picture about one level darker
  // (mean -0.004 on a real clip); accurate rounding and full chroma interpolation remove it.
  const path = await makeClip('lossless.mkv', { crf: 0 });
  const frames = await collect(decodeVideoRgb(path));
  for (let t = 0; t < FRAMES; t++) {
    const ref = yuvToRgb(sourceFrame(t));
    let bias = 0;
    for (let i = 0; i < ref.data.length; i++) bias += frames[t].image.data[i] - ref.data[i];
    bias /= ref.data.length;
    assert.ok(Math.abs(bias) < 0.001, `frame ${t}: mean RGB bias ${bias.toFixed(5)} (levels ${(255 * bias).toFixed(2)})`);
  }
});

test('an RGB-coded clip (VP9 gbrp) reads the same through YUV planes as through RGB', async () => {
  // swscale's RGB -> YUV 4:2:0 shifted the chroma (R -0.003, G +0.002 on this clip); the reader
  // now converts RGB sources with our own exact rgbToYuv, which vsr's planes then invert.
  const path = await makeClip('gbrp.webm', { encoder: 'libvpx-vp9', pixelFormat: 'gbrp', crf: 10 });
  assert.equal((await probeVideo(path)).pixelFormat, 'gbrp');
  const rgb = await collect(decodeVideoRgb(path));
  const yuv = await collect(decodeVideo(path, { motionVectors: false }));
  assert.equal(yuv.length, rgb.length);
  for (let t = 0; t < yuv.length; t++) {
    const back = yuvToRgb(yuv[t]);
    const bias = [0, 0, 0];
    for (let i = 0; i < back.data.length; i++) bias[i % 3] += back.data[i] - rgb[t].image.data[i];
    for (const b of bias)
      assert.ok(Math.abs(b / (back.data.length / 3)) < 0.002, `frame ${t}: channel bias ${bias.map((x) => (x / (back.data.length / 3)).toFixed(5)).join(' ')}`);
  }
});

test('a rotated phone clip is shown upright; vsr keeps the rotation as metadata', async () => {
  // Coded 64x48, stored with a 90-degree display matrix (how phones record portrait video).
  const path = await makeClip('rotated.mp4', { rotation: 90 });
  const info = await probeVideo(path);
  assert.deepEqual([info.width, info.height, info.codedWidth, info.codedHeight, info.orientation.rotation], [H, W, W, H, 90]);
  const [first] = await collect(decodeVideo(path, { motionVectors: false }));
  assert.deepEqual([first.width, first.height], [H, W]);
  // Turned clockwise: output (x, y) shows coded (y, H - 1 - x).
  const src = sourceFrame(0);
  const turned = new Uint8Array(W * H);
  for (let y = 0; y < W; y++) for (let x = 0; x < H; x++) turned[y * H + x] = src.y[(H - 1 - x) * W + y];
  assert.ok(meanAbsDiff(first.y, turned) < 3, `turned luma error ${meanAbsDiff(first.y, turned)}`);
  const [coded] = await collect(decodeVideo(path, { motionVectors: false, autorotate: false }));
  assert.deepEqual([coded.width, coded.height], [W, H]);
  // Vectors are in coded coordinates: asking for them on turned pictures is refused.
  await assert.rejects(
    collect(decodeVideo(path)),
    (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INVALID_OPTION && /autorotate/.test(e.message),
  );
  const [rgb] = await collect(decodeVideoRgb(path));
  assert.deepEqual([rgb.image.width, rgb.image.height], [H, W]);

  const out = join(dir, 'rotated.x2.mp4');
  await superResolveVideo(path, out, { upscaler: nearest(2), scale: 2 });
  const outInfo = await probeVideo(out);
  assert.deepEqual([outInfo.codedWidth, outInfo.codedHeight, outInfo.orientation.rotation], [2 * W, 2 * H, 90]);
});

test('display matrices are read as ffmpeg autorotate reads them', () => {
  // An iPhone portrait clip's matrix (ffprobe: "rotation of -90.00 degrees"): turned 90 clockwise.
  const iphone = new Int32Array([0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30]);
  assert.deepEqual(orientationFromDisplayMatrix(iphone), { rotation: 90, swap: true, flipX: false, flipY: true });
  assert.deepEqual(orientationFromDisplayMatrix(new Int32Array([-65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30])), {
    rotation: 180,
    swap: false,
    flipX: true,
    flipY: true,
  });
  assert.deepEqual(orientationFromDisplayMatrix(new Int32Array([0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30])), {
    rotation: 270,
    swap: true,
    flipX: true,
    flipY: false,
  });
  assert.equal(orientationFromDisplayMatrix(new Int32Array([65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30])).rotation, 0);
  for (const r of [0, 90, 180, 270] as const) assert.equal(orientationFromDisplayMatrix(displayMatrixForRotation(r)).rotation, r);
  // 2x3 picture turned clockwise: rows become columns read bottom-up.
  const p = orientPlane(new Uint8Array([1, 2, 3, 4, 5, 6]), 3, 2, 1, orientationFromDisplayMatrix(iphone));
  assert.deepEqual([p.width, p.height, [...p.data]], [2, 3, [4, 1, 5, 2, 6, 3]]);
});

test('YUV <-> RGB uses the declared matrix and range', () => {
  const pixel = (y: number, v: number, matrix: 'bt601' | 'bt709', range: 'limited' | 'full'): number[] => [
    ...yuvToRgb({ width: 2, height: 2, y: new Uint8Array(4).fill(y), u: new Uint8Array([128]), v: new Uint8Array([v]), matrix, range }).data.subarray(0, 3),
  ];
  const close = (a: number[], b: number[]) =>
    assert.ok(
      a.every((x, i) => Math.abs(x - b[i]) < 1e-5),
      `${a} vs ${b}`,
    );
  // Limited range: Y' = (Y - 16) / 219, Cr = (V - 128) / 224; R = Y' + 2(1 - Kr) Cr, G = Y' - 2 Kr (1 - Kr) / Kg Cr.
  const Y = (126 - 16) / 219;
  const Cr = (170 - 128) / 224;
  close(pixel(126, 170, 'bt601', 'limited'), [Y + 1.402 * Cr, Y - ((1.402 * 0.299) / 0.587) * Cr, Y]);
  close(pixel(126, 170, 'bt709', 'limited'), [Y + 1.5748 * Cr, Y - ((1.5748 * 0.2126) / 0.7152) * Cr, Y]);
  // Full range: Y' = Y / 255, Cr = (V - 128) / 255.
  close(pixel(100, 170, 'bt709', 'full'), [100 / 255 + (1.5748 * 42) / 255, 100 / 255 - ((1.5748 * 0.2126) / 0.7152) * (42 / 255), 100 / 255]);
  // Round trip (luma squeezed into 64-192, so no RGB channel clips): within rounding.
  const src = sourceFrame(0);
  const legal = { ...src, y: src.y.map((v) => 64 + (v >> 1)), matrix: 'bt709' as const };
  const back = rgbToYuv(yuvToRgb(legal), 'bt709');
  const e = meanAbsDiff(back.y, legal.y);
  assert.ok(e < 0.6, `round-trip luma error ${e}`);
});

test('bad input: errors name what was found; nothing is written', async () => {
  await assert.rejects(probeVideo(join(dir, 'missing.webm')), (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INPUT_NOT_FOUND);
  const txt = join(dir, 'readme.txt');
  writeFileSync(txt, 'just words\n'.repeat(40));
  await assert.rejects(probeVideo(txt), (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INPUT_UNSUPPORTED && /text/.test(e.message));
  // A PNG opens in FFmpeg as a one-frame stream: refused, naming codec and container.
  const png = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b550000000a49444154789c63600000000200015d0b2dbb0000000049454e44ae426082',
    'hex',
  );
  writeFileSync(join(dir, 'still.png'), png);
  await assert.rejects(
    probeVideo(join(dir, 'still.png')),
    (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INPUT_UNSUPPORTED && /png/.test(e.message),
  );
  // Text named like a picture is not "a still image": FFmpeg picks its demuxer by the name; the
  // content is read before the error says what the file is (corrupt or mislabelled).
  const fake = join(dir, 'fake.png');
  writeFileSync(fake, 'garbage\n');
  await assert.rejects(
    probeVideo(fake),
    (e: unknown) =>
      isClearsightError(e) && e.code === ERROR_CODES.INPUT_CORRUPT && /name says PNG but the content is not/.test(e.message) && !/still image/.test(e.message),
  );
  // A truncated file: the header parses, the frames do not.
  const good = await makeClip('whole.mp4');
  const cut = join(dir, 'cut.mp4');
  writeFileSync(cut, readFileSync(good).subarray(0, 200));
  await assert.rejects(collect(decodeVideo(cut)), (e: unknown) => isClearsightError(e) && e.code.startsWith('E_INPUT'));
  await assert.rejects(
    VideoWriter.open(join(dir, 'x.mp4'), { width: W, height: H, encoder: 'libvpx-vp9', pixelFormat: 'rgb24' }),
    (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INVALID_OPTION,
  );
  assert.equal(existsSync(join(dir, 'x.mp4')), false);
});

test('forensics analyses a 4:4:4 and a 4:2:2 10-bit clip (it used to refuse them)', async () => {
  const { FaceModels } = await import('../src/face/index.js');
  const { analyzeMedia } = await import('../src/trust/forensics/analyze.js');
  const { loadForensicModel } = await import('../src/trust/forensics/detector.js');
  const models = await FaceModels.load({ mesh: true, embed: false });
  try {
    const model = await loadForensicModel();
    for (const [file, pixelFormat] of [
      ['f-444.mp4', 'yuv444p'],
      ['f-422p10.mkv', 'yuv422p10le'],
    ] as const) {
      const path = await makeClip(file, { pixelFormat });
      const { result } = await analyzeMedia(path, models, model, { maxFrames: 3 });
      // No face in the pattern: the clip was decoded and its sampled frames searched.
      assert.equal(result.outcome, 'no-face', `${file}: ${result.summary}`);
      assert.equal(result.sampling.framesAnalysed, 3);
      assert.equal(result.input.frameCount, FRAMES);
    }
  } finally {
    models.dispose();
  }
});
