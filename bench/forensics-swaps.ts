/**
 * OUR OWN SYNTHETIC face swaps, a second and independent check that resembles FaceForensics++
 * FaceSwap (a graphics swap: landmarks, warp, colour correction, blend) without using it. Never
 * used for training or for choosing anything; reported beside the real-media test, not instead.
 *
 * For each live-real clip of the held-out people (bench/lib/faceVideos.ts TEST_PEOPLE) as the
 * target A, a clip of ANOTHER held-out person is the donor B. On evenly spaced frames, B's face is
 * warped onto A's face by the 468-point mesh triangulation (Human's TRI468: one affine map per
 * triangle), its colour matched to A inside the face (per-channel mean and standard deviation),
 * and blended through A's mesh hull, eroded and feathered. The swapped frames and, as the real
 * control, the same frames of A untouched, are both written through the same H.264 encoder
 * (CRF 23, like FaceForensics++ c23), then analysed by every detector with analyzeMedia's
 * defaults and evaluated like the real-media test (bench/lib/forensicsEval.ts).
 *
 *   node --import tsx bench/forensics-swaps.ts [--videos ../shared/data/face-videos] [--frames 12] [--seed 1]
 *        [--detectors finetuned,logistic,cnn,backbone] [--keep dir (clips and a PNG of each swap)] [--smoke N]
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { boxFilter } from '../src/core/filters/index.js';
import { packageDir } from '../src/core/models/registry.js';
import { cropImage } from '../src/core/image/geometry.js';
import type { RawImage } from '../src/core/image/types.js';
import { convexHull, polygonMask, type Point } from '../src/core/shapes.js';
import { decodeVideo, probeVideo, rgbToYuv, VideoWriter, yuvToRgb } from '../src/core/video/index.js';
import { detectFaces, FaceModels, readVideoFrames, type Face } from '../src/face/index.js';
import { analyzeMedia, evenlySpaced } from '../src/trust/forensics/analyze.js';
import { loadForensicDetector, type ForensicDetector } from '../src/trust/forensics/cnnDetector.js';
import type { DetectorKind } from '../src/trust/forensics/detectorKinds.js';
import { writeImage } from '../src/index.js';
import { commandLine, machineInfo, REPO_ROOT } from './lib/common.js';
import { listFaceVideos, TEST_PEOPLE, type FaceVideo } from './lib/faceVideos.js';
import { evaluateClips } from './lib/forensicsEval.js';

const { values: args } = parseArgs({
  options: {
    videos: { type: 'string', default: path.resolve(REPO_ROOT, '../shared/data/face-videos') },
    frames: { type: 'string', default: '12' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'string' },
    detectors: { type: 'string', default: 'finetuned,logistic,cnn,backbone' },
    smoke: { type: 'string' },
  },
});
const VIDEOS = existsSync(args.videos!) ? args.videos! : '/work/shared/data/face-videos';
const FRAMES = Number(args.frames);
const SEED = Number(args.seed);
const KINDS = args.detectors!.split(',') as DetectorKind[];

/** Human's triangulation of its 468-point face mesh (src/face/facemeshcoords.ts TRI468), read from the package source. */
function meshTriangles(): number[] {
  const file = path.join(packageDir('@vladmandic/human'), 'src/face/facemeshcoords.ts');
  const text = readFileSync(file, 'utf8');
  const m = /TRI468[^=]*=\s*\[([^\]]*)\]/.exec(text);
  if (!m) throw new Error(`TRI468 not found in ${file}`);
  const tri = m[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (tri.length % 3 !== 0 || tri.some((v) => !(v >= 0 && v < 468))) throw new Error('TRI468: unexpected contents');
  return tri;
}

function bilinear(img: RawImage, x: number, y: number, out: Float32Array, o: number): void {
  const w = img.width;
  const h = img.height;
  const x0 = Math.max(0, Math.min(w - 1, Math.floor(x)));
  const y0 = Math.max(0, Math.min(h - 1, Math.floor(y)));
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const fx = Math.max(0, Math.min(1, x - x0));
  const fy = Math.max(0, Math.min(1, y - y0));
  for (let c = 0; c < 3; c++) {
    const a = img.data[(y0 * w + x0) * 3 + c] * (1 - fx) + img.data[(y0 * w + x1) * 3 + c] * fx;
    const b = img.data[(y1 * w + x0) * 3 + c] * (1 - fx) + img.data[(y1 * w + x1) * 3 + c] * fx;
    out[o + c] = a * (1 - fy) + b * fy;
  }
}

/** B's face warped into A's frame, triangle by triangle (piecewise affine); coverage 1 where drawn. */
function warpFace(b: RawImage, lmA: Float32Array, lmB: Float32Array, w: number, h: number, tri: number[]): { image: Float32Array; coverage: Float32Array } {
  const image = new Float32Array(w * h * 3);
  const coverage = new Float32Array(w * h);
  for (let t = 0; t < tri.length; t += 3) {
    const [i, j, k] = [tri[t], tri[t + 1], tri[t + 2]];
    const ax = [lmA[3 * i], lmA[3 * j], lmA[3 * k]];
    const ay = [lmA[3 * i + 1], lmA[3 * j + 1], lmA[3 * k + 1]];
    const bx = [lmB[3 * i], lmB[3 * j], lmB[3 * k]];
    const by = [lmB[3 * i + 1], lmB[3 * j + 1], lmB[3 * k + 1]];
    const det = (ay[1] - ay[2]) * (ax[0] - ax[2]) + (ax[2] - ax[1]) * (ay[0] - ay[2]);
    if (Math.abs(det) < 1e-6) continue;
    const xs = Math.max(0, Math.floor(Math.min(...ax)));
    const xe = Math.min(w - 1, Math.ceil(Math.max(...ax)));
    const ys = Math.max(0, Math.floor(Math.min(...ay)));
    const ye = Math.min(h - 1, Math.ceil(Math.max(...ay)));
    for (let y = ys; y <= ye; y++)
      for (let x = xs; x <= xe; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const l0 = ((ay[1] - ay[2]) * (px - ax[2]) + (ax[2] - ax[1]) * (py - ay[2])) / det;
        const l1 = ((ay[2] - ay[0]) * (px - ax[2]) + (ax[0] - ax[2]) * (py - ay[2])) / det;
        const l2 = 1 - l0 - l1;
        if (l0 < -1e-4 || l1 < -1e-4 || l2 < -1e-4) continue;
        const sx = l0 * bx[0] + l1 * bx[1] + l2 * bx[2] - 0.5;
        const sy = l0 * by[0] + l1 * by[1] + l2 * by[2] - 0.5;
        bilinear(b, sx, sy, image, (y * w + x) * 3);
        coverage[y * w + x] = 1;
      }
  }
  return { image, coverage };
}

/** A with B's face: mesh warp, colour matched inside the face, blended through A's eroded, feathered hull. */
export function swapFace(a: RawImage, lmA: Float32Array, b: RawImage, lmB: Float32Array, faceSize: number, tri: number[]): RawImage {
  const { width: w, height: h } = a;
  const warped = warpFace(b, lmA, lmB, w, h, tri);
  const pts: Point[] = [];
  for (let i = 0; i < 468; i++) pts.push({ x: lmA[3 * i], y: lmA[3 * i + 1] });
  const hull = polygonMask(convexHull(pts), w, h);
  // Erode (a box mean below 1 means near the edge), then feather: the blend ramps over ~6% of the face.
  const r = Math.max(1, Math.round(faceSize * 0.03));
  const inside = new Float32Array(w * h);
  const eroded = boxFilter(hull, w, h, r);
  for (let p = 0; p < w * h; p++) inside[p] = eroded[p] > 0.999 && warped.coverage[p] > 0 ? 1 : 0;
  let mask = boxFilter(inside, w, h, r);
  mask = boxFilter(mask, w, h, r);
  for (let p = 0; p < w * h; p++) mask[p] *= warped.coverage[p];
  // Colour transfer (Reinhard-style, per RGB channel) over the face core.
  const stats = (data: Float32Array) => {
    const m = [0, 0, 0];
    const s = [0, 0, 0];
    let n = 0;
    for (let p = 0; p < w * h; p++)
      if (inside[p] > 0) {
        n++;
        for (let c = 0; c < 3; c++) m[c] += data[p * 3 + c];
      }
    for (let c = 0; c < 3; c++) m[c] /= Math.max(1, n);
    for (let p = 0; p < w * h; p++) if (inside[p] > 0) for (let c = 0; c < 3; c++) s[c] += (data[p * 3 + c] - m[c]) ** 2;
    return { m, s: s.map((v) => Math.sqrt(v / Math.max(1, n)) + 1e-4) };
  };
  const sa = stats(a.data);
  const sb = stats(warped.image);
  const out: RawImage = { ...a, data: Float32Array.from(a.data) };
  for (let p = 0; p < w * h; p++) {
    const k = mask[p];
    if (k <= 0) continue;
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(0, (warped.image[p * 3 + c] - sb.m[c]) * (sa.s[c] / sb.s[c]) + sa.m[c]));
      out.data[p * 3 + c] = a.data[p * 3 + c] * (1 - k) + v * k;
    }
  }
  return out;
}

async function clipFrames(file: string, count: number): Promise<RawImage[]> {
  try {
    const info = await probeVideo(file);
    const wanted = new Set(evenlySpaced(Math.max(1, info.frameCount), count));
    const out: RawImage[] = [];
    for await (const f of decodeVideo(file, { motionVectors: false })) if (wanted.has(f.index)) out.push(yuvToRgb(f));
    return out;
  } catch {
    const clip = await readVideoFrames(file, { maxSeconds: 10, maxSide: 1280 });
    return evenlySpaced(clip.frames.length, count).map((i) => clip.frames[i]);
  }
}

const largest = (faces: Face[]) => faces.filter((f) => f.landmarks).sort((p, q) => q.region.size - p.region.size)[0];

async function writeClip(file: string, frames: RawImage[]): Promise<void> {
  // 4:2:0 needs even sides.
  const w = frames[0].width & ~1;
  const h = frames[0].height & ~1;
  const writer = await VideoWriter.open(file, { width: w, height: h, fps: 25, crf: 23, preset: 'veryfast' });
  for (const f of frames) writer.write(rgbToYuv(f.width === w && f.height === h ? f : cropImage(f, 0, 0, w, h)));
  await writer.finish();
}

async function main(): Promise<void> {
  const tri = meshTriangles();
  let reals = listFaceVideos(VIDEOS).filter((v) => v.label === 'real' && TEST_PEOPLE.includes(v.person));
  // Smoke: one clip of each of the first N + 1 people (a donor must be another person).
  if (args.smoke) reals = reals.filter((v, i) => reals.findIndex((u) => u.person === v.person) === i).slice(0, Number(args.smoke) + 1);
  const faceModels = await FaceModels.load({ mesh: true, embed: false });
  const work = args.keep ?? (await mkdtemp(path.join(tmpdir(), 'clearsight-forensics-swaps-')));
  await mkdir(work, { recursive: true });
  const detectors = new Map<DetectorKind, ForensicDetector>();
  try {
    // Frames and faces of every held-out clip.
    const clips: Array<{ v: FaceVideo; frames: RawImage[]; faces: Array<Face | undefined> }> = [];
    for (const v of reals) {
      const frames = await clipFrames(v.file, FRAMES);
      const faces: Array<Face | undefined> = [];
      for (const f of frames) faces.push(largest(await detectFaces(faceModels, f, { mesh: true, minScore: 0.6 })));
      clips.push({ v, frames, faces });
      console.log(`  ${v.rel}: ${frames.length} frames, ${faces.filter(Boolean).length} with a mesh`);
    }
    // Targets A with a donor B of another person (the next such clip in the list: deterministic).
    const made: Array<{ rel: string; label: 0 | 1; source: string; person: string; donor?: string; file: string; frames: number }> = [];
    for (let i = 0; i < clips.length; i++) {
      const a = clips[i];
      const b = [...clips.slice(i + 1), ...clips.slice(0, i)].find((c) => c.v.person !== a.v.person && c.faces.some(Boolean));
      if (!b) continue;
      const donorFaces = b.frames.map((f, k) => ({ f, face: b.faces[k] })).filter((d) => d.face);
      const swapped: RawImage[] = [];
      const kept: RawImage[] = [];
      a.frames.forEach((frame, k) => {
        const fa = a.faces[k];
        if (!fa) return;
        const d = donorFaces[k % donorFaces.length];
        swapped.push(swapFace(frame, fa.landmarks!, d.f, d.face!.landmarks!, fa.region.size, tri));
        kept.push(frame);
      });
      if (swapped.length < 3) continue;
      const base = path.basename(a.v.rel, path.extname(a.v.rel)).replace(/[^A-Za-z0-9_-]/g, '_');
      const fake = path.join(work, `${i}-${base}-swap.mp4`);
      const real = path.join(work, `${i}-${base}-real.mp4`);
      await writeClip(fake, swapped);
      await writeClip(real, kept);
      if (args.keep) await writeImage(path.join(work, `${i}-${base}-swap.png`), swapped[0]);
      made.push({
        rel: path.basename(fake),
        label: 1,
        source: 'our synthetic mesh-warp swap',
        person: a.v.person,
        donor: b.v.person,
        file: fake,
        frames: swapped.length,
      });
      made.push({ rel: path.basename(real), label: 0, source: 'same frames, re-encoded', person: a.v.person, file: real, frames: kept.length });
    }
    for (const k of KINDS) detectors.set(k, await loadForensicDetector(k));
    const scored: Array<Record<string, unknown> & { label: 0 | 1; source: string; frames: Array<Record<string, number>> }> = [];
    for (const c of made) {
      const row: Record<string, unknown> & { label: 0 | 1; source: string; frames: Array<Record<string, number>> } = {
        rel: c.rel,
        label: c.label,
        source: c.source,
        person: c.person,
        donor: c.donor,
        frames: [],
      };
      const byIndex = new Map<number, Record<string, number>>();
      for (const [k, d] of detectors) {
        const { result } = await analyzeMedia(c.file, faceModels, d, { maxFrames: 24, seed: SEED });
        row[k] = result.probability;
        for (const f of result.frames)
          if (f.probability !== null) byIndex.set(f.index, { ...(byIndex.get(f.index) ?? { index: f.index }), [k]: f.probability });
      }
      row.frames = [...byIndex.values()].filter((f) => KINDS.every((k) => typeof f[k] === 'number'));
      scored.push(row);
      console.log(`  ${c.label ? 'swap' : 'real'} ${c.rel.padEnd(60)} ${KINDS.map((k) => `${k} ${(row[k] as number | null)?.toFixed(3) ?? '-'}`).join('  ')}`);
    }
    const iv = (x: [number, number]) => `${x[0].toFixed(3)}–${x[1].toFixed(3)}`;
    const evals: Record<string, ReturnType<typeof evaluateClips>> = {};
    console.log(
      `\nOUR OWN synthetic swaps: ${made.filter((c) => c.label).length} swapped vs ${made.filter((c) => !c.label).length} untouched clips (same frames, same encoder)`,
    );
    console.log(
      '| detector | video AUC [Hanley-McNeil 95%] (bootstrap) | frame AUC [clip-cluster bootstrap] | swaps flagged @0.5 [exact] | reals flagged @0.5 [exact] |',
    );
    for (const k of KINDS) {
      const e = evaluateClips(scored as never, k, { threshold: 0.5, seed: SEED });
      evals[k] = e;
      console.log(
        `| ${k} | ${e.videoAuc.value} [${iv(e.videoAuc.hanleyMcNeil95)}] (${iv(e.videoAuc.bootstrap95)}) | ${e.frameAuc.value} [${iv(e.frameAuc.clusterBootstrap95)}] | ` +
          `${e.truePositiveRate.count}/${e.truePositiveRate.of} [${iv(e.truePositiveRate.exact95)}] | ${e.falsePositiveRate.count}/${e.falsePositiveRate.of} [${iv(e.falsePositiveRate.exact95)}] |`,
      );
    }
    if (args.smoke) return void console.log('smoke run: nothing written');
    const out = {
      what: 'OUR OWN synthetic graphics face swaps between held-out people (not FaceForensics++; never used for training or selection)',
      machine: machineInfo(),
      command: commandLine(),
      recipe:
        'Human TRI468 piecewise-affine warp of the donor face onto the target mesh, per-channel mean/std colour transfer over the face core, target mesh hull eroded and feathered (box radius 3% of the face, twice), H.264 CRF 23 veryfast for swaps and controls alike',
      framesPerClip: FRAMES,
      evaluations: evals,
      clips: scored.map((c) => ({ ...c, frames: c.frames.length })),
    };
    await writeFile(path.join(REPO_ROOT, 'docs/benchmarks/forensics-swaps.json'), `${JSON.stringify(out, null, 1)}\n`);
    console.log('wrote docs/benchmarks/forensics-swaps.json');
  } finally {
    faceModels.dispose();
    for (const d of detectors.values()) await d.dispose();
    if (!args.keep) await rm(work, { recursive: true, force: true });
  }
}

await main();
