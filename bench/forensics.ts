/**
 * Forensics benchmark: the detector end to end (face detection -> crop -> features -> calibrated
 * probability) through the reliability-study module, plus an authentic video and the speed on a
 * 10-second 720p clip.
 *
 *   node --import tsx bench/forensics.ts [--data ../shared/data/faces] [--seed 1]
 *
 * 1. Held-back self-blended set: every photo of the identities the training script held back
 *    for testing (models/forensics-sbi.json training.split.testIdentities) as authentic, and the
 *    same photo with its largest face self-blended at full resolution as manipulated; both saved
 *    as JPEG q90 so the format is no cue. Scored by runStudy: AUC, accuracy, TPR, FPR with exact
 *    and bootstrap 95% intervals, repeated-sampling stability.
 * 2. Real manipulated samples under the data folder: none available (the script says so).
 * 3. Authentic video: short_hamilton_clip.mp4, 60 frames sampled, per-frame false-positive rate
 *    at 0.5 over the clip's second half (its first half is training material).
 * 4. Speed: a 10 s 1280x720 30 fps H.264 clip made from the Hamilton clip (2x upscaled, looped),
 *    analysed with the CLI defaults (24 frames).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage, resampleRegion, toRgb, type RawImage } from '../src/core/image/index.js';
import { mulberry32 } from '../src/core/random.js';
import { detectFaces, FaceModels } from '../src/face/index.js';
import { analyzeMedia, mediaScorer } from '../src/trust/forensics/analyze.js';
import { loadForensicModel } from '../src/trust/forensics/detector.js';
import { selfBlendFace } from '../src/trust/forensics/selfBlend.js';
import { clopperPearson } from '../src/trust/forensics/stats.js';
import { readManifest, runStudy } from '../src/trust/forensics/study.js';
import { decodeVideo, rgbToYuv, VideoWriter, yuvToRgb } from '../src/core/video/index.js';
import { commandLine, machineInfo, now, peakRssMiB, round, table } from './lib/common.js';
import { listFacePhotos } from './lib/faces.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(REPO, '../shared/data/faces') },
    seed: { type: 'string', default: '1' },
  },
});
const SEED = Number(args.seed);
const CLIP = path.join(args.data!, 'face_recognition/short_hamilton_clip.mp4');

async function saveJpeg(file: string, img: RawImage): Promise<void> {
  const raw = Buffer.from(Uint8Array.from(img.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  await sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
}

async function main(): Promise<void> {
  const model = await loadForensicModel();
  const testIds = new Set(((model.training.split as { testIdentities?: string[] }).testIdentities ?? []) as string[]);
  if (testIds.size === 0) throw new Error('models/forensics-sbi.json has no training.split.testIdentities: retrain with bench/forensics-train.ts');
  const faceModels = await FaceModels.load({ mesh: true, embed: false });
  const work = await mkdtemp(path.join(tmpdir(), 'clearsight-forensics-bench-'));
  const results: Record<string, unknown> = { machine: machineInfo(), command: commandLine(), modelSha256: model.sha256 };
  try {
    // 1. Held-back identities, full pipeline.
    const photos = (await listFacePhotos(args.data!)).filter((p) => testIds.has(p.identity));
    await mkdir(path.join(work, 'set/authentic'), { recursive: true });
    await mkdir(path.join(work, 'set/manipulated'), { recursive: true });
    const rand = mulberry32(SEED);
    let made = 0;
    for (const [i, p] of photos.entries()) {
      const img = (await decodeImage(p.file)).image;
      const rgb = toRgb(img);
      const faces = await detectFaces(faceModels, rgb, { mesh: true, minScore: 0.6 });
      const face = faces.find((f) => f.landmarks && f.quality >= 0.4);
      if (!face) continue;
      const name = `${String(i).padStart(3, '0')}.jpg`;
      await saveJpeg(path.join(work, 'set/authentic', name), rgb);
      await saveJpeg(path.join(work, 'set/manipulated', name), selfBlendFace(rgb, { region: face.region, landmarks: face.landmarks! }, mulberry32(Math.floor(rand() * 2 ** 31))).image);
      made++;
    }
    console.log(`held-back identities: ${testIds.size}; ${made} photos -> ${made} authentic + ${made} self-blended (JPEG q90)`);
    const items = await readManifest(path.join(work, 'set'));
    const t0 = now();
    const study = await runStudy(
      items,
      mediaScorer(faceModels, model),
      { seed: SEED, repeats: 10, repeatFraction: 0.5 },
    );
    const m = study.metrics;
    const iv = (x?: { lo: number; hi: number }) => (x ? `${x.lo.toFixed(3)}–${x.hi.toFixed(3)}` : '-');
    console.log(
      '\n' +
        table(
          ['metric', 'value', 'exact 95%', 'bootstrap 95%', 'stability (10 half-samples) mean ± sd'],
          [
            ['AUC', round(m.auc!.value, 4), '-', iv(m.auc!.bootstrap), `${study.stability!.auc!.mean.toFixed(3)} ± ${study.stability!.auc!.sd.toFixed(3)}`],
            ['accuracy @0.5', round(m.accuracy.value, 4), iv(m.accuracy.exact), iv(m.accuracy.bootstrap), `${study.stability!.accuracy.mean.toFixed(3)} ± ${study.stability!.accuracy.sd.toFixed(3)}`],
            ['TPR @0.5', round(m.tpr.value, 4), iv(m.tpr.exact), iv(m.tpr.bootstrap), `${study.stability!.tpr.mean.toFixed(3)} ± ${study.stability!.tpr.sd.toFixed(3)}`],
            ['FPR @0.5', round(m.fpr.value, 4), iv(m.fpr.exact), iv(m.fpr.bootstrap), `${study.stability!.fpr.mean.toFixed(3)} ± ${study.stability!.fpr.sd.toFixed(3)}`],
          ],
        ),
    );
    console.log(`items for a ±0.025 interval: accuracy ${study.sampleSize.accuracy}, TPR ${study.sampleSize.tpr}, FPR ${study.sampleSize.fpr}; unscorable ${study.counts.unscorable.length}; ${round(now() - t0, 1)} s`);
    results.heldBack = { identities: [...testIds], photos: made, ...study, items: undefined };

    // 2. Real manipulated material.
    results.realManipulated = 'none available: ../shared/data has no face-swap or other manipulated face material';
    console.log('\nreal manipulated samples: none available under the data folder');

    // 3. Authentic video, frame level.
    const a = await analyzeMedia(CLIP, faceModels, model, { maxFrames: 60 });
    // The training script learned from every 6th frame of the clip's first half: count only the
    // second half (same scene and people, so still not an independent test).
    const cut = Math.floor((a.result.input.frameCount ?? 0) / 2);
    const scored = a.result.frames.filter((f) => f.probability !== null && f.index >= cut);
    const fp = scored.filter((f) => f.probability! >= 0.5).length;
    const ci = clopperPearson(fp, scored.length);
    results.authenticVideo = { file: path.relative(REPO, CLIP), scope: `frames ${cut}..end (second half; the first half is training material)`, framesAnalysed: a.result.frames.length, framesWithFaces: scored.length, falsePositiveFrames: fp, frameFpr: fp / scored.length, frameFprExact95: ci, meanProbability: a.result.probability, interval: a.result.interval };
    console.log(`authentic video ${path.basename(CLIP)}, second half (frames >= ${cut}): ${scored.length} frames with a usable face, ${fp} at >= 0.5 (frame FPR ${(fp / scored.length).toFixed(3)}, exact 95% ${ci.lo.toFixed(3)}–${ci.hi.toFixed(3)}); mean probability ${a.result.probability?.toFixed(3)} [${a.result.interval?.map((x) => x.toFixed(3)).join(', ')}]`);

    // 4. Speed on a 10 s 720p clip.
    const clip720 = path.join(work, 'clip720.mp4');
    const frames: RawImage[] = [];
    for await (const f of decodeVideo(CLIP, { motionVectors: false })) frames.push(resampleRegion(yuvToRgb(f), 0, 0, f.width, f.height, 1280, 720));
    const writer = await VideoWriter.open(clip720, { width: 1280, height: 720, fps: 30, crf: 23, preset: 'veryfast' });
    for (let i = 0; i < 300; i++) writer.write(rgbToYuv(frames[i % frames.length]));
    await writer.finish();
    frames.length = 0;
    const t1 = now();
    const s = await analyzeMedia(clip720, faceModels, model);
    const seconds = round(now() - t1, 2);
    results.speed = { clip: '1280x720, 30 fps, 300 frames (10 s), H.264 CRF 23 veryfast, made from the Hamilton clip', framesAnalysed: s.result.frames.length, seconds, target: 60, peakRssMiB: peakRssMiB() };
    console.log(`\nspeed: 10 s 720p clip, ${s.result.frames.length} frames analysed (decode all 300), ${seconds} s (target < 60 s); peak RSS ${peakRssMiB()} MiB`);
  } finally {
    faceModels.dispose();
    await rm(work, { recursive: true, force: true });
  }
  await mkdir(path.join(REPO, 'docs/benchmarks'), { recursive: true });
  await writeFile(path.join(REPO, 'docs/benchmarks/forensics.json'), JSON.stringify(results, null, 1) + '\n');
  await mkdir(path.join(REPO, 'bench/results'), { recursive: true });
  await writeFile(path.join(REPO, `bench/results/forensics-${Date.now()}.json`), JSON.stringify(results, null, 1) + '\n');
  console.log('wrote docs/benchmarks/forensics.json');
}

await main();
