/**
 * Face module: pure post-processing units (anchors, decoding, NMS, geometry, comparison) and one
 * end-to-end run of the real networks on the @vladmandic/human package's own sample picture
 * (assets/samples.jpg, shipped in node_modules; nothing from shared data).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { isClearsightError } from '../src/core/errors.js';
import type { RawImage } from '../src/core/image/types.js';
import {
  compareFaces,
  decodeDetections,
  detectFaces,
  embedFace,
  eyeAspectRatio,
  FaceModels,
  generateAnchors,
  iou,
  MESH,
  nonMaxSuppression,
  SAME_FACE_THRESHOLD,
  verifyLive,
  type Detection,
} from '../src/face/index.js';
import { assembleDetectorOutput } from '../src/face/faces.js';
import { eyeOpenness, irisPosition, runIris, type EyeLandmarks } from '../src/face/iris.js';
import { cropToImage, sampleSquare } from '../src/face/sample.js';
import { bilinearAccumulate } from '../src/core/sampling.js';
import { computeCues, CUES, trackFace } from '../src/face/liveness/index.js';

const det = (x0: number, y0: number, x1: number, y1: number, score: number): Detection => ({ x0, y0, x1, y1, score, keypoints: new Float32Array(12) });

describe('face detector post-processing', () => {
  it('generates 896 anchors for 256 input: 16x16x2 at stride 16 then 8x8x6 at stride 32', () => {
    const a = generateAnchors(256);
    assert.equal(a.length, 896 * 2);
    assert.deepEqual([a[0], a[1], a[2], a[3], a[4]], [8, 8, 8, 8, 24]);
    assert.deepEqual([a[512 * 2], a[512 * 2 + 1]], [16, 16]);
    assert.deepEqual([a[895 * 2], a[895 * 2 + 1]], [240, 240]);
  });

  it('decodes a box relative to its anchor and applies the sigmoid to the logit', () => {
    const anchors = Float32Array.from([8, 8, 100, 50]);
    const raw = new Float32Array(2 * 17);
    raw[0] = -10; // below threshold
    raw[17] = Math.log(0.9 / 0.1); // sigmoid -> 0.9
    raw.set([2, -4, 40, 20, 1, 1], 18);
    const [d, ...rest] = decodeDetections(raw, anchors, 0.5);
    assert.equal(rest.length, 0);
    assert.ok(Math.abs(d!.score - 0.9) < 1e-6);
    assert.deepEqual([d!.x0, d!.y0, d!.x1, d!.y1], [82, 36, 122, 56]);
    assert.deepEqual([d!.keypoints[0], d!.keypoints[1]], [101, 51]);
    assert.throws(() => decodeDetections(new Float32Array(5), anchors, 0.5), { code: 'E_INVALID_OPTION' });
  });

  it('reassembles the four split detector outputs, stride-16 anchors first', () => {
    const mk = (n: number, v: number, base: number) => ({ shape: [1, n, v], data: Float32Array.from({ length: n * v }, (_, i) => base + i) });
    const out = assembleDetectorOutput([mk(384, 16, 3e5), mk(512, 1, 1e5), mk(384, 1, 4e5), mk(512, 16, 2e5)], 896);
    assert.equal(out[0], 1e5);
    assert.equal(out[1], 2e5);
    assert.equal(out[17 + 16], 2e5 + 31);
    assert.equal(out[512 * 17], 4e5);
    assert.equal(out[512 * 17 + 1], 3e5);
  });

  it('NMS keeps the best of overlapping boxes and separate faces', () => {
    assert.equal(iou(det(0, 0, 10, 10, 1), det(5, 0, 15, 10, 1)), 50 / 150);
    const kept = nonMaxSuppression([det(0, 0, 10, 10, 0.8), det(1, 1, 11, 11, 0.95), det(50, 50, 60, 60, 0.7)], 0.3, 10);
    assert.deepEqual(
      kept.map((k) => k.score),
      [0.95, 0.7],
    );
    assert.equal(nonMaxSuppression([det(0, 0, 1, 1, 0.9), det(5, 5, 6, 6, 0.8)], 0.3, 1).length, 1);
  });

  it('samples a rotated square and maps crop points back to the picture', () => {
    const img: RawImage = { width: 8, height: 8, channels: 1, data: Float32Array.from({ length: 64 }, (_, i) => i % 8) };
    const crop = sampleSquare(img, { cx: 4, cy: 4, size: 8, angle: 0 }, 8);
    assert.ok(Math.abs(crop[(2 * 8 + 5) * 3]! - 5) < 1e-6);
    const [x, y] = cropToImage({ cx: 10, cy: 20, size: 100, angle: Math.PI / 2 }, 100, 100, 50);
    assert.ok(Math.abs(x - 10) < 1e-9 && Math.abs(y - 70) < 1e-9); // crop's +x axis points down the picture
  });

  it('sampleSquare: a square half outside the picture equals tap-by-tap bilinear sampling; maxSub caps the taps', () => {
    const img: RawImage = { width: 9, height: 5, channels: 3, data: Float32Array.from({ length: 9 * 5 * 3 }, (_, i) => ((i * 37) % 101) / 100) };
    const region = { cx: 2, cy: 1, size: 11, angle: 0.3 };
    // the reference: every supersampling tap through core/sampling (zero border), as the slow path does
    const reference = (outSize: number, sub: number) => {
      const out = new Float64Array(outSize * outSize * 3);
      const acc = new Float64Array(3);
      const step = region.size / outSize;
      const c = Math.cos(region.angle),
        n = Math.sin(region.angle);
      for (let v = 0; v < outSize; v++)
        for (let u = 0; u < outSize; u++)
          for (let sy = 0; sy < sub; sy++)
            for (let sx = 0; sx < sub; sx++) {
              const du = (u + (sx + 0.5) / sub - outSize / 2) * step,
                dv = (v + (sy + 0.5) / sub - outSize / 2) * step;
              acc.fill(0);
              bilinearAccumulate(img, region.cx + c * du - n * dv - 0.5, region.cy + n * du + c * dv - 0.5, acc, 0, 1, 'zero');
              for (let k = 0; k < 3; k++) out[(v * outSize + u) * 3 + k]! += acc[k]! / (sub * sub);
            }
      return out;
    };
    const worst = (a: Float32Array, b: Float64Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
    const full = sampleSquare(img, region, 4); // step 2.75: 3x3 taps per pixel
    assert.ok(worst(full, reference(4, 3)) < 1e-6);
    assert.ok(
      full.some((x) => x === 0),
      'some crop pixels lie wholly outside the picture',
    );
    const capped = sampleSquare(img, region, 4, 1, 0, 2);
    assert.ok(worst(capped, reference(4, 2)) < 1e-6);
    assert.ok(worst(capped, reference(4, 3)) > 1e-3, 'the cap changes the taps');
  });

  it('eye aspect ratio: open eye ~0.3, closed ~0', () => {
    const mesh = new Float32Array(468 * 3);
    const put = (i: number, x: number, y: number) => {
      mesh[3 * i] = x;
      mesh[3 * i + 1] = y;
    };
    const [p1, p2, p3, p4, p5, p6] = MESH.rightEye;
    const eye = (h: number) => {
      put(p1, 0, 0);
      put(p4, 30, 0);
      put(p2, 10, -h);
      put(p3, 20, -h);
      put(p5, 20, h);
      put(p6, 10, h);
    };
    eye(4.5);
    assert.ok(Math.abs(eyeAspectRatio(mesh, MESH.rightEye) - 0.3) < 1e-6);
    eye(0.3);
    assert.ok(eyeAspectRatio(mesh, MESH.rightEye) < 0.03);
  });
});

describe('compareFaces', () => {
  const unit = (v: number[]) => {
    const a = Float32Array.from(v);
    const n = Math.hypot(...v);
    return a.map((x) => x / n);
  };
  it('returns cosine similarity against the calibrated threshold', () => {
    const r = compareFaces(unit([1, 0, 0]), unit([1, 1, 0]));
    assert.ok(Math.abs(r.similarity - Math.SQRT1_2) < 1e-6);
    assert.equal(r.threshold, SAME_FACE_THRESHOLD);
    assert.equal(r.same, r.similarity >= SAME_FACE_THRESHOLD);
    assert.equal(compareFaces(unit([1, 0]), unit([0, 1]), { threshold: 0.1 }).same, false);
    assert.equal(compareFaces(unit([1, 0]), unit([1, 0.01]), { threshold: 0.99 }).same, true);
  });
  it('rejects bad inputs', () => {
    const bad = (fn: () => unknown) => assert.throws(fn, (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION');
    bad(() => compareFaces(new Float32Array(3), unit([1, 0, 0])));
    bad(() => compareFaces(unit([1, 0]), unit([1, 0, 0])));
    bad(() => compareFaces([1, 0] as unknown as Float32Array, unit([1, 0])));
    bad(() => compareFaces(Float32Array.from([NaN, 1]), unit([1, 0])));
    bad(() => compareFaces(unit([1, 0]), unit([1, 0]), { threshold: 2 }));
  });
});

describe('eye geometry from iris-network points', () => {
  // an eye 40 px wide along x: corners at 0 and 40, lids 8 px apart at the middle
  const eye = (dy: number, irisX: number): EyeLandmarks => {
    const contour = new Float32Array(71 * 2);
    for (let i = 0; i <= 8; i++) {
      contour[2 * i] = 5 * i;
      contour[2 * i + 1] = 100 + (i > 0 && i < 8 ? 4 : 0);
    } // lower lid
    for (let i = 9; i <= 15; i++) {
      contour[2 * i] = 5 * (i - 8);
      contour[2 * i + 1] = 100 - 4 + dy;
    } // upper lid
    return { contour, iris: Float32Array.from([20 + irisX, 99, 0, 0, 0, 0, 0, 0, 0, 0]) };
  };
  it('eyeOpenness is lid gap over corner distance and drops when the lid closes', () => {
    assert.ok(Math.abs(eyeOpenness(eye(0, 0)) - 8 / 40) < 1e-6);
    assert.ok(Math.abs(eyeOpenness(eye(7, 0)) - 1 / 40) < 1e-6);
  });
  it('irisPosition is in eye widths, x toward the inner corner, y down the picture', () => {
    const [x, y] = irisPosition(eye(0, 4));
    assert.ok(Math.abs(x - 0.1) < 1e-6 && Math.abs(y + 1 / 40) < 1e-6, `${x} ${y}`);
    // the same eye with its corners listed right to left (a left eye): y keeps pointing down
    const e = eye(0, 4);
    for (let i = 0; i < 71; i++) e.contour[2 * i] = 40 - e.contour[2 * i]!;
    e.iris[0] = 40 - e.iris[0]!;
    const [x2, y2] = irisPosition(e);
    assert.ok(Math.abs(x2 - 0.1) < 1e-6 && Math.abs(y2 + 1 / 40) < 1e-6, `${x2} ${y2}`);
  });
});

describe('face networks on the Human package sample picture', () => {
  let models: FaceModels;
  let man: RawImage; // third thumbnail of assets/samples.jpg: a man at a table
  let woman: RawImage; // second thumbnail: a woman

  async function tile(file: string, left: number, width: number): Promise<RawImage> {
    const { data, info } = await sharp(file).extract({ left, top: 0, width, height: 158 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, channels: 3, data: Float32Array.from(data, (v) => v / 255) };
  }

  before(async () => {
    const req = createRequire(import.meta.url);
    const file = path.join(path.dirname(req.resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
    man = await tile(file, 326, 210);
    woman = await tile(file, 160, 160);
    models = await FaceModels.load({ iris: true });
  });
  after(() => models?.dispose());

  it('finds one upright face with a full mesh whose eyes lie inside the box', async () => {
    const faces = await detectFaces(models, man, { embed: true });
    assert.equal(faces.length, 1);
    const f = faces[0]!;
    assert.ok(f.score > 0.7 && f.meshScore! > 0.5 && f.quality > 0.1 && f.quality <= 1, JSON.stringify({ s: f.score, m: f.meshScore, q: f.quality }));
    assert.equal(f.landmarks!.length, 468 * 3);
    assert.ok(Math.abs(f.region.angle) < 0.35);
    const [ex, ey] = [f.landmarks![3 * 33]!, f.landmarks![3 * 33 + 1]!];
    assert.ok(ex > f.box.x && ex < f.box.x + f.box.width && ey > f.box.y && ey < f.box.y + f.box.height);
    assert.ok(f.landmarks![3 * 33]! < f.landmarks![3 * 263]!, 'subject right eye is on the image left');
    assert.equal(f.embedding!.length, 1024);
    assert.ok(Math.abs(Math.hypot(...f.embedding!) - 1) < 1e-4);
  });

  it('refines both eyes with the iris network: lids meet the mesh corners, the iris sits between them', async () => {
    const [f] = await detectFaces(models, man);
    const m = f!.landmarks!;
    const eyes = await runIris(models, man, m);
    for (const [eye, outer, inner] of [
      [eyes.right, 33, 133],
      [eyes.left, 263, 362],
    ] as const) {
      const width = Math.hypot(m[3 * outer]! - m[3 * inner]!, m[3 * outer + 1]! - m[3 * inner + 1]!);
      const off = (i: number, p: number) => Math.hypot(eye.contour[2 * i]! - m[3 * p]!, eye.contour[2 * i + 1]! - m[3 * p + 1]!) / width;
      // a wrongly mirrored crop puts contour point 0 at the other corner (offset ~1 eye width)
      assert.ok(off(0, outer) < 0.3 && off(8, inner) < 0.3, `corners off by ${off(0, outer)}, ${off(8, inner)} eye widths`);
      const open = eyeOpenness(eye);
      assert.ok(open > 0.1 && open < 0.6, `openness ${open}`);
      const [x, y] = irisPosition(eye);
      assert.ok(Math.abs(x) < 0.3 && Math.abs(y) < 0.3, `iris at ${x}, ${y}`);
    }
  });

  it('embeds the same face alike under a shift and a different person less alike', async () => {
    const a = await embedFace(models, man);
    const shifted: RawImage = { ...man, data: man.data.slice(), width: man.width };
    // shift by 6 px to the right (replicate the border) and brighten 10%
    for (let y = 0; y < man.height; y++)
      for (let x = man.width - 1; x >= 0; x--)
        for (let c = 0; c < 3; c++) {
          shifted.data[(y * man.width + x) * 3 + c] = Math.min(1, 1.1 * man.data[(y * man.width + Math.max(0, x - 6)) * 3 + c]!);
        }
    const b = await embedFace(models, shifted);
    const c = await embedFace(models, woman);
    const same = compareFaces(a, b).similarity;
    const other = compareFaces(a, c).similarity;
    assert.ok(same > 0.8 && other < same - 0.2, JSON.stringify({ same, other }));
  });

  it('rejects bad input and reports a picture without a face', async () => {
    await assert.rejects(
      detectFaces(models, { width: 2, height: 2, channels: 3, data: new Float32Array(5) }),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
    await assert.rejects(detectFaces(models, man, { minScore: 2 }), (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION');
    const grey: RawImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).fill(0.5) };
    assert.deepEqual(await detectFaces(models, grey), []);
    await assert.rejects(embedFace(models, grey), (e: unknown) => isClearsightError(e) && e.code === 'E_NO_FACE');
  });
});

describe('verifyLive: liveness and identity from the same tracked face squares', () => {
  let models: FaceModels;
  let man: RawImage;
  let woman: RawImage;

  async function tile(file: string, left: number, width: number): Promise<RawImage> {
    const { data, info } = await sharp(file).extract({ left, top: 0, width, height: 158 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, channels: 3, data: Float32Array.from(data, (v) => v / 255) };
  }

  /** The photo moved by a few pixels per frame (a hand-held print, as far as liveness goes). */
  function jitterClip(img: RawImage, n: number) {
    const frames = Array.from({ length: n }, (_, t) => {
      const dx = Math.round(3 * Math.sin(t * 0.9));
      const out: RawImage = { ...img, data: new Float32Array(img.data.length) };
      for (let y = 0; y < img.height; y++)
        for (let x = 0; x < img.width; x++)
          for (let c = 0; c < 3; c++) {
            out.data[(y * img.width + x) * 3 + c] = img.data[(y * img.width + Math.min(img.width - 1, Math.max(0, x - dx))) * 3 + c]!;
          }
      return out;
    });
    return { frames, times: frames.map((_, t) => t / 15), fps: 15 };
  }

  before(async () => {
    const req = createRequire(import.meta.url);
    const file = path.join(path.dirname(req.resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
    man = await tile(file, 326, 210);
    woman = await tile(file, 160, 160);
    models = await FaceModels.load({ liveness: true, embed: true });
  });
  after(() => models?.dispose());

  it('names the enrolled person and rejects another, with both scores, from one pass', async () => {
    const clip = jitterClip(man, 16);
    const enrolledMan = await embedFace(models, man);
    const enrolledWoman = await embedFace(models, woman);
    const yes = await verifyLive(models, clip, enrolledMan, { identityFrames: 4 });
    assert.equal(yes.identity.frames.length, 4);
    // the frames are spread over the clip, one per quarter
    assert.ok(yes.identity.frames[0]!.index < 4 && yes.identity.frames[3]!.index >= 12, JSON.stringify(yes.identity.frames));
    assert.ok(yes.identity.same && yes.identity.similarity > 0.8 && yes.identity.minSimilarity > 0.7, JSON.stringify(yes.identity));
    assert.equal(yes.accepted, yes.liveness.verdict === 'live' && yes.identity.same);
    assert.ok(yes.liveness.score >= 0 && yes.liveness.score <= 1);
    assert.match(yes.summary, /matches the enrolled face/);
    const no = await verifyLive(models, clip, enrolledWoman, { identityFrames: 2 });
    assert.equal(no.identity.same, false);
    assert.equal(no.accepted, false);
    assert.ok(no.identity.similarity < yes.identity.similarity - 0.2);
    assert.match(no.summary, /is not the enrolled face/);
    // the liveness half does not depend on whom we compare with
    assert.equal(no.liveness.score, yes.liveness.score);
  });

  it('trackFace: the fast defaults (CNN stride 2, crop supersampling cap) keep every cue near the every-frame reference', async () => {
    const clip = jitterClip(man, 16);
    const reference = await trackFace(models, clip.frames, clip.times, {}, { cnnStride: 1, detectStride: 1, cropMaxSub: 4 });
    const fast = await trackFace(models, clip.frames, clip.times);
    assert.deepEqual(
      fast.map((o) => o.found),
      reference.map((o) => o.found),
    );
    // odd frames hold the even frame's CNN scores
    assert.equal(fast[1]!.antispoof, fast[0]!.antispoof);
    assert.notEqual(reference[1]!.antispoof, reference[0]!.antispoof);
    const a = computeCues(reference, clip.fps).values,
      b = computeCues(fast, clip.fps).values;
    const mean = (v: number[][], j: number) => v.reduce((s, r) => s + r[j]!, 0) / v.length;
    CUES.forEach((cue, j) => {
      const ref = mean(a, j),
        got = mean(b, j);
      assert.ok(Math.abs(got - ref) <= 0.05 * Math.abs(ref) + 0.01, `${cue}: ${got} vs ${ref}`);
    });
    await assert.rejects(
      trackFace(models, clip.frames, clip.times, {}, { cnnStride: 0 }),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
  });

  it('rejects a malformed enrolment and a clip without a face', async () => {
    const clip = jitterClip(man, 8);
    const bad = (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION';
    await assert.rejects(verifyLive(models, clip, new Float32Array(10)), bad);
    await assert.rejects(verifyLive(models, clip, new Float32Array(1024)), bad);
    await assert.rejects(
      verifyLive(
        models,
        clip,
        Float32Array.from({ length: 1024 }, () => 1),
        { identityFrames: 0 },
      ),
      bad,
    );
    const grey: RawImage = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3).fill(0.5) };
    const empty = { frames: Array.from({ length: 8 }, () => grey), times: Array.from({ length: 8 }, (_, t) => t / 15), fps: 15 };
    await assert.rejects(
      verifyLive(
        models,
        empty,
        Float32Array.from({ length: 1024 }, () => 1),
      ),
      (e: unknown) => isClearsightError(e) && e.code === 'E_NO_FACE',
    );
  });
});
