/**
 * The forensic detector's parts (self-blending, features, crops, model, analysis outcomes, case
 * report) and the `forensics` command end to end on generated pictures.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createImage, isClearsightError, writeImage, type RawImage } from '../src/index.js';
import { mulberry32 } from '../src/core/random.js';
import { ellipseMask } from '../src/core/shapes.js';
import { FaceModels } from '../src/face/index.js';
import { analyzeMedia, evenlySpaced } from '../src/trust/forensics/analyze.js';
import { faceCrop, loadForensicModel } from '../src/trust/forensics/detector.js';
import { FEATURE_CROP, FEATURE_NAMES, forensicFeatures } from '../src/trust/forensics/features.js';
import { renderCaseReportPdf, type CaseReport } from '../src/trust/forensics/report.js';
import { blendRegionMask, selfBlend, warpMask } from '../src/trust/forensics/selfBlend.js';
import { validationStatement } from '../src/trust/forensics/analyze.js';
import { cnnCrop, cnnCropSquare, CNN_INPUT } from '../src/trust/forensics/cnnCrop.js';
import { clopperPearson } from '../src/trust/forensics/stats.js';
import { runCli } from './helpers/cli.js';

/** A skin-toned disc with fine texture on a differently textured background. */
function fakeFace(seed: number, size = FEATURE_CROP): RawImage {
  const rand = mulberry32(seed);
  const img = createImage(size, size, 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = (x - size / 2) ** 2 / (size * 0.3) ** 2 + (y - size / 2) ** 2 / (size * 0.38) ** 2 <= 1;
      const n = (rand() - 0.5) * 0.06;
      const base = inside ? [0.8, 0.6, 0.5] : [0.3 + 0.1 * Math.sin(x / 5), 0.35, 0.4];
      for (let c = 0; c < 3; c++) img.data[(y * size + x) * 3 + c] = Math.min(1, Math.max(0, base[c] + n));
    }
  }
  return img;
}

const faceMask = (size = FEATURE_CROP) => ellipseMask(size / 2, size / 2, size * 0.3, size * 0.38, size, size);

describe('self-blended pseudo-fakes', () => {
  it('are reproducible from the seed, change only near the face, and leave the rest untouched', () => {
    const face = fakeFace(1);
    const mask = faceMask();
    const a = selfBlend(face, mask, mulberry32(5));
    const b = selfBlend(face, mask, mulberry32(5));
    const c = selfBlend(face, mask, mulberry32(6));
    assert.deepEqual(a.image.data, b.image.data);
    assert.notDeepEqual(a.image.data, c.image.data);
    // Far corners: mask 0, pixels identical to the original.
    for (const p of [0, FEATURE_CROP - 1, FEATURE_CROP * FEATURE_CROP - 1]) {
      assert.equal(a.mask[p], 0);
      for (let ch = 0; ch < 3; ch++) assert.equal(a.image.data[p * 3 + ch], face.data[p * 3 + ch]);
    }
    // Face centre: altered.
    const centre = (FEATURE_CROP / 2) * FEATURE_CROP + FEATURE_CROP / 2;
    assert.ok(a.mask[centre] > 0.4, `mask at the centre ${a.mask[centre]}`);
  });
});

describe('SBI recipe additions (CNN training)', () => {
  it('warps a mask smoothly: the same area within a few percent, a moved outline, reproducible, zero amount = identity', () => {
    const size = 128;
    const mask = faceMask(size);
    const area = (m: Float32Array) => m.reduce((a, b) => a + b, 0);
    assert.deepEqual(warpMask(mask, size, size, 0, mulberry32(1)), mask);
    const w1 = warpMask(mask, size, size, 0.04, mulberry32(1));
    assert.deepEqual(w1, warpMask(mask, size, size, 0.04, mulberry32(1)));
    let changed = 0;
    for (let i = 0; i < mask.length; i++) if (w1[i] !== mask[i]) changed++;
    assert.ok(changed > 50, `only ${changed} pixels moved`);
    assert.ok(Math.abs(area(w1) / area(mask) - 1) < 0.25, `area ratio ${area(w1) / area(mask)}`);
    // The far corner stays outside: a few pixels of displacement cannot bring the face there.
    assert.equal(w1[0], 0);
  });

  it('builds region masks from mesh points: lower face and inner face are inside the hull', () => {
    const pts: number[] = [];
    // An elliptic "mesh": point 1 (nose tip) at the centre, the rest on rings.
    pts.push(64, 30, 0, 64, 64, 0);
    for (let r = 1; r <= 4; r++)
      for (let k = 0; k < 24; k++) pts.push(64 + 10 * r * Math.cos((k * Math.PI) / 12), 64 + 12 * r * Math.sin((k * Math.PI) / 12), 0);
    const lm = Float32Array.from(pts);
    const area = (m: Float32Array) => m.reduce((a, b) => a + b, 0);
    const hull = blendRegionMask(lm, 128, 128, 'hull');
    const lower = blendRegionMask(lm, 128, 128, 'lower');
    const inner = blendRegionMask(lm, 128, 128, 'inner');
    for (const m of [lower, inner]) {
      assert.ok(area(m) < area(hull) && area(m) > 0.2 * area(hull), `region ${area(m)} vs hull ${area(hull)}`);
      for (let i = 0; i < m.length; i++) if (m[i] > 0) assert.equal(hull[i], 1);
    }
    // The lower face holds nothing well above the nose tip.
    for (let x = 0; x < 128; x++) assert.equal(lower[20 * 128 + x], 0);
    assert.throws(() => blendRegionMask(new Float32Array(3), 8, 8, 'hull'), /at least 3 points/);
  });

  it('rejects deformation and contrast outside their ranges', () => {
    assert.throws(() => selfBlend(fakeFace(1), faceMask(), mulberry32(1), { deform: 0.5 }), /deform/);
    assert.throws(() => selfBlend(fakeFace(1), faceMask(), mulberry32(1), { contrast: -1 }), /contrast/);
  });

  it('crops the CNN input square around the face region', () => {
    const img = fakeFace(4, 300);
    const sq = cnnCropSquare({ cx: 150, cy: 140, size: 100 });
    assert.ok(Math.abs(sq.size - 115) < 1e-9 && Math.abs(sq.x - 92.5) < 1e-9 && Math.abs(sq.y - 82.5) < 1e-9, JSON.stringify(sq));
    const crop = cnnCrop(img, sq);
    assert.equal(crop.width, CNN_INPUT);
    // The crop's centre is the picture's (150, 140).
    const c = (CNN_INPUT / 2) * CNN_INPUT + CNN_INPUT / 2;
    const p = 140 * 300 + 150;
    for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(crop.data[c * 3 + ch] - img.data[p * 3 + ch]) < 0.08);
  });
});

describe('validation statement', () => {
  it('states the measured rates with their exact intervals, or says there are none, and lists what was not tested', () => {
    const tpr = clopperPearson(9, 12);
    const rm = {
      dataset: 'twelve generated clips',
      measuredAt: '2026-01-01',
      command: 'npm run bench:forensics',
      clips: { fake: 12, real: 15, unscorable: 0 },
      videoAuc: { value: 0.8, hanleyMcNeil95: [0.6, 0.95] as [number, number], bootstrap95: [0.62, 0.94] as [number, number] },
      frameAuc: { value: 0.7, frames: { fake: 200, real: 300 }, clusterBootstrap95: [0.5, 0.85] as [number, number] },
      threshold: 0.5,
      truePositiveRate: { count: 9, of: 12, rate: 0.75, exact95: [tpr.lo, tpr.hi] as [number, number] },
      falsePositiveRate: { count: 2, of: 15, rate: 2 / 15, exact95: [0.0166, 0.4046] as [number, number] },
      clipScores: [],
      perGenerator: {},
    };
    const s = validationStatement({ realMedia: rm, untested: ['face swaps', 'still GAN faces'] });
    assert.match(s, /9 of 12 manipulated clips/);
    assert.match(s, new RegExp(`exact 95% interval \\[${(tpr.lo * 100).toFixed(1)}%, ${(tpr.hi * 100).toFixed(1)}%\\]`));
    assert.match(s, /2 of 15 authentic clips/);
    assert.match(s, /Not tested on: face swaps; still GAN faces\./);
    assert.match(validationStatement({ realMedia: null, untested: ['x'] }), /no measured error rates on real manipulated media/);
    // a single image is told that the rates are per clip, and given the frame-level figure
    assert.doesNotMatch(s, /single image/);
    const img = validationStatement({ realMedia: rm, untested: ['x'] }, 'image');
    assert.match(img, /9 of 12 manipulated clips/);
    assert.match(
      img,
      /this is a single image, for which the measured figure is the frame-level AUC 0\.700 \(200 manipulated and 300 authentic frames, 95% clip-cluster bootstrap 0\.500–0\.850\); no per-image detection or false-alarm rate was measured\./,
    );
    assert.doesNotMatch(validationStatement({ realMedia: null, untested: ['x'] }, 'image'), /single image/);
  });
});

describe('forensic features', () => {
  it('have one value per name, all finite, and move when a face is blended', () => {
    const face = fakeFace(2);
    const mask = faceMask();
    const real = forensicFeatures(face, mask);
    assert.equal(real.length, FEATURE_NAMES.length);
    assert.ok(real.every(Number.isFinite));
    // Blend a resampled (softer) copy: the noise inside the face drops relative to outside.
    const fake = selfBlend(face, mask, mulberry32(3));
    const f = forensicFeatures(fake.image, mask);
    const noiseInnerOuter = FEATURE_NAMES.indexOf('noise inner/outer');
    assert.equal(fake.recipe.frequency, 'resample', 'seed 3 resamples the source (softer face)');
    assert.ok(f[noiseInnerOuter] < real[noiseInnerOuter], `${f[noiseInnerOuter]} vs ${real[noiseInnerOuter]}`);
    assert.notDeepEqual(f, real);
  });

  it('crops a face square with its hull mask', () => {
    const img = fakeFace(3, 300);
    const region = { cx: 150, cy: 150, size: 200, angle: 0 };
    const pts: number[] = [];
    for (let k = 0; k < 36; k++) pts.push(150 + 80 * Math.cos((k * Math.PI) / 18), 150 + 90 * Math.sin((k * Math.PI) / 18), 0);
    const fc = faceCrop(img, { box: { x: 70, y: 60, width: 160, height: 180 }, region, landmarks: Float32Array.from(pts) });
    assert.equal(fc.crop.width, FEATURE_CROP);
    const inside = fc.mask.reduce((a, b) => a + b, 0) / fc.mask.length;
    // Hull area pi*80*90 over the crop square (200*1.15)^2.
    const expected = (Math.PI * 80 * 90) / (200 * 1.15) ** 2;
    assert.ok(Math.abs(inside - expected) < 0.02, `mask fraction ${inside} vs ${expected}`);
  });
});

describe('shipped model and analysis outcomes', () => {
  let dir: string;
  let models: FaceModels;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clearsight-forensics-'));
    models = await FaceModels.load({ mesh: true, embed: false });
  });
  after(async () => {
    models.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the shipped model with its training record and held-out scores', async () => {
    const model = await loadForensicModel();
    assert.equal(model.featureNames.length, FEATURE_NAMES.length);
    assert.match(model.sha256, /^[0-9a-f]{64}$/);
    const held = model.training.heldOut as { auc: number };
    assert.ok(held.auc > 0.8, `held-out AUC ${held.auc}`);
    assert.ok((model.training.heldOutScores as unknown[]).length > 20);
  });

  it('reports "no-face" for a picture without a face, and rejects empty or non-media files', async () => {
    const model = await loadForensicModel();
    const file = join(dir, 'wall.png');
    await writeImage(file, fakeFace(4, 96));
    const { result } = await analyzeMedia(file, models, model);
    assert.equal(result.outcome, 'no-face');
    assert.equal(result.probability, null);
    assert.match(result.input.sha256, /^[0-9a-f]{64}$/);
    await writeFile(join(dir, 'empty.png'), '');
    await assert.rejects(analyzeMedia(join(dir, 'empty.png'), models, model), (e: unknown) => isClearsightError(e) && e.code === 'E_INPUT_CORRUPT');
    await writeFile(join(dir, 'notes.txt'), 'not a picture');
    await assert.rejects(analyzeMedia(join(dir, 'notes.txt'), models, model), (e: unknown) => isClearsightError(e) && e.code.startsWith('E_INPUT'));
    await assert.rejects(analyzeMedia(join(dir, 'missing.mp4'), models, model), (e: unknown) => isClearsightError(e) && e.code === 'E_INPUT_NOT_FOUND');
  });

  it('verifies our watermark on a still image when given the key', async () => {
    const model = await loadForensicModel();
    const { embedWatermark } = await import('../src/trust/watermark/index.js');
    const marked = await embedWatermark(fakeFace(8, 320), { key: 'case-key', source: 'cam7', identity: null });
    const file = join(dir, 'marked.png');
    await writeImage(file, marked.image);
    const right = await analyzeMedia(file, models, model, { watermarkKey: 'case-key' });
    assert.equal(right.result.watermark.verdict, 'authentic');
    assert.equal(right.result.watermark.source, 'cam7');
    const wrong = await analyzeMedia(file, models, model, { watermarkKey: 'other-key' });
    assert.equal(wrong.result.watermark.verdict, 'none');
    const none = await analyzeMedia(file, models, model);
    assert.equal(none.result.watermark.verdict, 'not checked');
  });

  it('spreads sampled frames evenly', () => {
    assert.deepEqual(evenlySpaced(5, 10), [0, 1, 2, 3, 4]);
    assert.deepEqual(evenlySpaced(100, 4), [12, 37, 62, 87]);
  });

  it('renders a case report PDF with the file hash in it', async () => {
    const report: CaseReport = {
      outcome: 'analysed',
      summary: 'Test summary.',
      input: { path: 'x.mp4', sha256: 'ab'.repeat(32), bytes: 10, kind: 'video', width: 64, height: 64, frameCount: 3, fps: 25, durationSeconds: 0.12 },
      probability: 0.7,
      interval: [0.6, 0.8],
      intervalNote: 'bootstrap over frames',
      detector: { id: 'd', version: 1, sha256: 'cd'.repeat(32) },
      validation: { realMedia: null, untested: ['x'], statement: 'No real-media record.' },
      reliability: { neighbours: 25, manipulated: 20, rate: 0.8, interval: [0.59, 0.93], scoreRange: [0.6, 0.8], caveat: 'caveat' },
      frames: [0, 1, 2].map((i) => ({ index: i, time: i / 25, faces: [], skippedFaces: 0, probability: 0.6 + 0.1 * i })),
      decisiveFrames: [2],
      sampling: { maxFrames: 24, framesAnalysed: 3, framesWithFaces: 3, minFaceSize: 48, minQuality: 0.4, seed: 1, bootstrapResamples: 2000, confidence: 0.95 },
      provenance: {
        tool: { name: 'clearsight', version: '0' },
        detector: { id: 'd', version: 1, sha256: 'cd'.repeat(32) },
        faceModels: {},
        analysedAt: '2026-01-01T00:00:00Z',
      },
      watermark: { verdict: 'not checked' },
    };
    const pdf = await renderCaseReportPdf(report, { crops: new Map() });
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    assert.ok(pdf.length > 2000);
  });

  it('CLI: no-face picture -> exit 32 (no conclusion) with the outcome; non-media -> exit 3 and no report file', async () => {
    const pic = join(dir, 'cli-wall.png');
    await writeImage(pic, fakeFace(7, 96));
    const ok = await runCli(['forensics', 'analyze', pic, '--json', '--report', join(dir, 'r1.pdf')]);
    assert.equal(ok.code, 32, ok.stderr);
    const json = JSON.parse(ok.stdout) as { outcome: string; probability: null; provenance: { detector: { sha256: string } } };
    assert.equal(json.outcome, 'no-face');
    assert.match(json.provenance.detector.sha256, /^[0-9a-f]{64}$/);
    assert.equal((await readFile(join(dir, 'r1.pdf'))).subarray(0, 5).toString(), '%PDF-');

    await writeFile(join(dir, 'bad.mp4'), 'definitely not a video');
    const bad = await runCli(['forensics', 'analyze', join(dir, 'bad.mp4'), '--report', join(dir, 'r2.pdf')]);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /bad\.mp4/);
    assert.ok(!(await readdir(dir)).some((f) => f.startsWith('r2')), 'no report left behind');

    const exists = await runCli(['forensics', 'analyze', pic, '--report', join(dir, 'r1.pdf')]);
    assert.equal(exists.code, 4, 'refuses to overwrite without --force');
  });
});
