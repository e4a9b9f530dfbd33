/**
 * Trains the face-manipulation detector on self-blended pseudo-fakes and writes the model
 * (models/forensics-sbi.json) and the held-out evaluation (docs/benchmarks/forensics-train.json).
 *
 *   node --import tsx bench/forensics-train.ts [--data ../shared/data/faces] [--seed 1] [--fakes 3]
 *
 * Data: every face photo under --data (deepface img*.jpg with the identities of identities.txt,
 * face_recognition photos, knn_examples, antispoof samples). Every face found (detector score
 * >= 0.6, side >= 48 px) gives `--fakes` authentic examples (the crop, and copies after benign
 * global edits: colour gain, loss of resolution, JPEG) and `--fakes` self-blended fakes (most
 * also degraded the same global way after blending).
 * The split is by IDENTITY (60/20/20, seeded), so no person is in two splits: training on one
 * photo of a person and testing on another would flatter the detector.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage, resampleRegion, resizeArea, toRgb, type RawImage } from '../src/core/image/index.js';
import { decodeVideo, yuvToRgb } from '../src/core/video/index.js';
import { mulberry32 } from '../src/core/random.js';
import { detectFaces, FaceModels, type Face } from '../src/face/index.js';
import { fitCalibrator, calibrateScore, expectedCalibrationError } from '../src/trust/forensics/calibration.js';
import { DETECTOR_ID, faceCrop } from '../src/trust/forensics/detector.js';
import { FEATURE_NAMES, forensicFeatures } from '../src/trust/forensics/features.js';
import { fitLogistic, predictLogistic } from '../src/core/logistic.js';
import { selfBlend, selfBlendFace } from '../src/trust/forensics/selfBlend.js';
import { aucHanleyMcNeil, bootstrapInterval, clopperPearson, confusionAt, rocAuc, STATISTICS } from '../src/trust/forensics/stats.js';
import { commandLine, machineInfo, round, table } from './lib/common.js';
import { listFacePhotos as listPhotos } from './lib/faces.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(REPO, '../shared/data/faces') },
    seed: { type: 'string', default: '1' },
    fakes: { type: 'string', default: '3' },
    out: { type: 'string', default: path.join(REPO, 'models/forensics-sbi.json') },
  },
});
const SEED = Number(args.seed);
const FAKES = Number(args.fakes);
const CACHE = path.join(REPO, 'bench/results/forensics-faces.json');

type CachedFace = Pick<Face, 'box' | 'region' | 'score'> & { landmarks: number[] };

/** A picture to learn from: a photo, or a frame of the face video. */
interface Source {
  key: string;
  identity: string;
  /** Forced split (the video's first half always trains; its second half is the benchmark's). */
  split?: 'train';
  load: () => Promise<RawImage>;
}

/**
 * Every 6th frame of the first half of the face clip: the only compressed-video faces in the
 * data, so the detector sees what H.264 does to a real face. The benchmark measures false alarms
 * on the second half only (same scene and people, so it is not an independent test; said so).
 */
export const VIDEO_TRAIN_FRACTION = 0.5;
async function videoSources(clip: string): Promise<Source[]> {
  if (!existsSync(clip)) return [];
  const frames = new Map<number, RawImage>();
  const all: number[] = [];
  for await (const f of decodeVideo(clip, { motionVectors: false })) {
    all.push(f.index);
    if (f.index % 6 === 0) frames.set(f.index, yuvToRgb(f));
  }
  const cut = Math.floor(all.length * VIDEO_TRAIN_FRACTION);
  return [...frames.keys()]
    .filter((i) => i < cut)
    .map((i) => ({ key: `${clip}#${i}`, identity: 'video:hamilton-first-half', split: 'train' as const, load: async () => frames.get(i)! }));
}

async function detectAll(sources: Source[]): Promise<Map<string, CachedFace[]>> {
  const cache: Record<string, CachedFace[]> = existsSync(CACHE) ? JSON.parse(await readFile(CACHE, 'utf8')) : {};
  const missing = [];
  for (const p of sources) if (!cache[p.key]) missing.push(p);
  if (missing.length) {
    const models = await FaceModels.load({ mesh: true, embed: false });
    try {
      for (const [i, p] of missing.entries()) {
        const img = await p.load();
        const faces = await detectFaces(models, img, { minScore: 0.6 });
        cache[p.key] = faces.map((f) => ({ box: f.box, region: f.region, score: f.score, landmarks: Array.from(f.landmarks ?? []) }));
        process.stderr.write(`\rdetect ${i + 1}/${missing.length} ${path.basename(p.key)}: ${faces.length} face(s)      `);
      }
    } finally {
      models.dispose();
    }
    process.stderr.write('\n');
    await mkdir(path.dirname(CACHE), { recursive: true });
    await writeFile(CACHE, JSON.stringify(cache));
  }
  return new Map(Object.entries(cache));
}

async function jpeg(img: RawImage, quality: number): Promise<RawImage> {
  const raw = Buffer.from(Uint8Array.from(img.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  const buf = await sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  return (await decodeImage(buf)).image;
}

/**
 * A benign, global edit: colour gain, and often a loss of resolution (as a small face in a
 * video or a downscaled upload) and JPEG. The whole crop changes, nothing is pasted, so the
 * detector must not learn that softness or compression alone means "manipulated". Fakes get
 * the same treatment after blending, so the cues left are the local ones.
 */
async function degrade(img: RawImage, rand: () => number, colour: boolean): Promise<RawImage> {
  let out = img;
  if (colour) {
    const gain = 0.85 + 0.3 * rand();
    const bias = -0.05 + 0.1 * rand();
    out = { ...out, data: out.data.map((v) => Math.min(1, Math.max(0, v * gain + bias))) };
  }
  if (rand() < 0.5) {
    const k = 0.25 + 0.65 * rand();
    const side = Math.max(16, Math.round(out.width * k));
    const small = resizeArea(out, side, side);
    out = resampleRegion(small, 0, 0, side, side, out.width, out.height);
  }
  return rand() < 0.7 ? jpeg(out, 25 + Math.floor(70 * rand())) : out;
}

interface Example {
  features: number[];
  label: 0 | 1;
  identity: string;
  file: string;
}

async function main(): Promise<void> {
  const photos = await listPhotos(args.data!);
  const video = await videoSources(path.join(args.data!, 'face_recognition/short_hamilton_clip.mp4'));
  const sources: Source[] = [
    ...photos.map((p) => ({ key: p.file, identity: p.identity, load: async () => toRgb((await decodeImage(p.file)).image) })),
    ...video,
  ];
  console.log(`${photos.length} photos and ${video.length} video frames under ${args.data}`);
  const faces = await detectAll(sources);
  const rand = mulberry32(SEED);
  const examples: Example[] = [];
  let faceCount = 0;
  for (const p of sources) {
    const list = (faces.get(p.key) ?? []).filter((f) => Math.max(f.box.width, f.box.height) >= 48);
    if (list.length === 0) continue;
    const img = await p.load();
    for (const f of list) {
      faceCount++;
      const face = { ...f, landmarks: Float32Array.from(f.landmarks) };
      const fc = faceCrop(img, face);
      const add = (crop: RawImage, label: 0 | 1) => examples.push({ features: forensicFeatures(crop, fc.mask), label, identity: p.identity, file: p.key });
      add(fc.crop, 0);
      for (let k = 1; k < FAKES; k++) add(await degrade(fc.crop, rand, true), 0);
      for (let k = 0; k < FAKES; k++) {
        // Blend at the photo's own resolution (as a real swap is), or at crop resolution.
        const blendRand = mulberry32(Math.floor(rand() * 2 ** 31));
        const fake =
          k % 2 === 0 && face.landmarks.length > 0
            ? faceCrop(selfBlendFace(img, face, blendRand).image, face).crop
            : selfBlend(fc.crop, fc.mask, blendRand).image;
        add(rand() < 0.75 ? await degrade(fake, rand, false) : fake, 1);
      }
    }
  }
  // Identity split.
  const ids = [...new Set(examples.map((e) => e.identity))].sort();
  const splitRand = mulberry32(SEED + 7919); // its own generator: the split does not move when the sampling changes
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(splitRand() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const forced = new Map(sources.filter((s) => s.split).map((s) => [s.identity, s.split!]));
  const free = ids.filter((id) => !forced.has(id));
  const part = new Map<string, string>([
    ...forced,
    ...free.map((id, i): [string, string] => [id, i < free.length * 0.6 ? 'train' : i < free.length * 0.8 ? 'val' : 'test']),
  ]);
  const split = (name: string) => examples.filter((e) => part.get(e.identity) === name);
  const train = split('train');
  const val = split('val');
  const test = split('test');
  console.log(`${faceCount} faces, ${ids.length} identities; examples train ${train.length}, val ${val.length}, test ${test.length}`);

  // Choose the L2 penalty on the validation AUC, then calibrate on validation.
  let best = { l2: 0, auc: -1 };
  for (const l2 of [1e-3, 1e-2, 1e-1, 1]) {
    const m = fitLogistic(
      train.map((e) => e.features),
      train.map((e) => e.label),
      { l2 },
    );
    const auc = rocAuc({ scores: val.map((e) => predictLogistic(m, e.features)), labels: val.map((e) => e.label) });
    console.log(`  l2 ${l2}: validation AUC ${auc.toFixed(4)}`);
    if (auc > best.auc) best = { l2, auc };
  }
  const logistic = fitLogistic(
    train.map((e) => e.features),
    train.map((e) => e.label),
    { l2: best.l2 },
  );
  const valRaw = val.map((e) => predictLogistic(logistic, e.features));
  const calibrator = fitCalibrator(
    'platt',
    valRaw,
    val.map((e) => e.label),
  );

  const testProb = test.map((e) => calibrateScore(calibrator, predictLogistic(logistic, e.features)));
  const data = { scores: testProb, labels: test.map((e) => e.label) };
  const auc = rocAuc(data);
  const pos = test.filter((e) => e.label === 1).length;
  const neg = test.length - pos;
  const c = confusionAt(data, 0.5);
  const held = {
    examples: test.length,
    positives: pos,
    negatives: neg,
    identities: ids.filter((id) => part.get(id) === 'test').length,
    auc: round(auc, 4),
    aucBootstrap95: bootstrapInterval(data, STATISTICS.auc, { seed: SEED }),
    aucHanleyMcNeil95: aucHanleyMcNeil(auc, pos, neg),
    accuracyAt05: round((c.tp + c.tn) / test.length, 4),
    accuracyExact95: clopperPearson(c.tp + c.tn, test.length),
    tprAt05: round(c.tp / pos, 4),
    tprExact95: clopperPearson(c.tp, pos),
    fprAt05: round(c.fp / neg, 4),
    fprExact95: clopperPearson(c.fp, neg),
    expectedCalibrationError: round(expectedCalibrationError(testProb, data.labels), 4),
  };
  const top = FEATURE_NAMES.map((name, j) => ({ name, weight: logistic.weights[j] })).sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
  console.log('\nheld-out test split (identities never seen in training or calibration):');
  console.log(
    table(
      ['metric', 'value', '95% interval'],
      [
        ['AUC', held.auc, `${held.aucBootstrap95.lo.toFixed(3)}–${held.aucBootstrap95.hi.toFixed(3)} (bootstrap)`],
        ['accuracy @0.5', held.accuracyAt05, `${held.accuracyExact95.lo.toFixed(3)}–${held.accuracyExact95.hi.toFixed(3)} (exact)`],
        ['TPR @0.5', held.tprAt05, `${held.tprExact95.lo.toFixed(3)}–${held.tprExact95.hi.toFixed(3)} (exact)`],
        ['FPR @0.5', held.fprAt05, `${held.fprExact95.lo.toFixed(3)}–${held.fprExact95.hi.toFixed(3)} (exact)`],
        ['ECE', held.expectedCalibrationError, ''],
      ],
    ),
  );
  console.log(
    `\nlargest weights: ${top
      .slice(0, 6)
      .map((t) => `${t.name} ${t.weight.toFixed(2)}`)
      .join('; ')}`,
  );

  const dataHash = createHash('sha256');
  for (const p of photos) dataHash.update(await readFile(p.file));
  if (video.length) dataHash.update(await readFile(path.join(args.data!, 'face_recognition/short_hamilton_clip.mp4')));
  const model = {
    id: DETECTOR_ID,
    version: 1,
    featureNames: [...FEATURE_NAMES],
    logistic,
    calibrator,
    training: {
      command: commandLine(),
      date: new Date().toISOString(),
      data: path.relative(REPO, args.data!),
      dataSha256: dataHash.digest('hex'),
      photos: photos.length,
      videoFrames: {
        clip: 'face_recognition/short_hamilton_clip.mp4',
        frames: video.length,
        rule: `every 6th frame of the first ${VIDEO_TRAIN_FRACTION * 100}%, training split only`,
      },
      faces: faceCount,
      identities: ids.length,
      seed: SEED,
      fakesPerFace: FAKES,
      split: {
        train: train.length,
        validation: val.length,
        test: test.length,
        by: 'identity, 60/20/20',
        testIdentities: ids.filter((id) => part.get(id) === 'test').sort(),
      },
      l2: best.l2,
      validationAuc: round(best.auc, 4),
      heldOut: held,
      // Calibrated score and label of every held-out item: the reliability interval of an
      // analysis is the manipulation rate among the held-out items scored nearest to it.
      heldOutScores: testProb.map((p, i) => [round(p, 5), test[i].label]),
      caveat:
        'Trained and tested on self-blended pseudo-fakes of ~100 faces; no real face-swap data was available here, so these figures bound how well the blending cues are learned, not how the detector does on real deepfakes.',
    },
  };
  await mkdir(path.dirname(args.out!), { recursive: true });
  await writeFile(args.out!, `${JSON.stringify(model, null, 1)}\n`);
  await mkdir(path.join(REPO, 'docs/benchmarks'), { recursive: true });
  await writeFile(
    path.join(REPO, 'docs/benchmarks/forensics-train.json'),
    `${JSON.stringify({ machine: machineInfo(), ...model.training, topWeights: top.slice(0, 10), heldOutScores: undefined }, null, 1)}\n`,
  );
  console.log(`\nwrote ${path.relative(REPO, args.out!)} and docs/benchmarks/forensics-train.json`);
}

await main();
