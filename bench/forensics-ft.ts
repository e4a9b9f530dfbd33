import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getModelCard } from '../src/core/models/registry.js';
import { FaceModels } from '../src/face/index.js';
import { analyzeMedia } from '../src/trust/forensics/analyze.js';
import {
  DEFAULT_UNTESTED,
  FT_MODEL_NAME,
  loadForensicDetector,
  type CnnDetectorRecord,
  type ForensicDetector,
  type RealMediaValidation,
} from '../src/trust/forensics/cnnDetector.js';
import type { DetectorKind } from '../src/trust/forensics/detectorKinds.js';
import { commandLine, cpuDelta, cpuSnapshot, loadavg, machineInfo, now, peakRssMiB, REPO_ROOT, round } from './lib/common.js';
import { TEST_PEOPLE } from './lib/faceVideos.js';
import { writeCardFigures } from './lib/forensicsCard.js';
import { evaluateClips, make720p, REAL_MEDIA_THRESHOLD, realMediaBenchArgs, realMediaTestClips } from './lib/forensicsEval.js';

const args = realMediaBenchArgs();
const VIDEOS = args.videos;
const MAX_FRAMES = args.maxFrames;
const SEED = args.seed;
const THRESHOLD = REAL_MEDIA_THRESHOLD;
/** The new detector first, then the older ones for the side-by-side table. */
const KINDS: DetectorKind[] = ['finetuned', 'logistic', 'cnn', 'backbone'];
/** The pre-registered rule for making the fine-tuned detector the default. */
const RULE = { videoAucAbove: 0.811, hanleyMcNeilLowerAbove: 0.5 };

interface Clip {
  rel: string;
  label: 0 | 1;
  source: string;
  person: string;
  outcomes: Record<string, string>;
  frames: Array<Record<string, number>>;
  seconds: Record<string, number>;
  errors?: Record<string, string>;
  [score: string]: unknown;
}

async function scoreClip(file: string, faceModels: FaceModels, detector: ForensicDetector) {
  const t0 = now();
  const { result } = await analyzeMedia(file, faceModels, detector, { maxFrames: MAX_FRAMES, seed: SEED });
  const frames = result.frames.filter((f) => f.probability !== null).map((f) => ({ index: f.index, p: f.probability! }));
  return { outcome: result.outcome, probability: result.probability, frames, seconds: round(now() - t0, 2) };
}

async function main(): Promise<void> {
  const videos = realMediaTestClips(VIDEOS, args.smoke);
  const detectors = new Map<DetectorKind, ForensicDetector>();
  for (const k of KINDS) detectors.set(k, await loadForensicDetector(k));
  const faceModels = await FaceModels.load({ mesh: true, embed: false });
  const work = await mkdtemp(path.join(tmpdir(), 'clearsight-forensics-ft-'));
  const out: Record<string, unknown> = {
    machine: machineInfo(),
    command: commandLine(),
    detectors: Object.fromEntries([...detectors].map(([k, d]) => [k, { id: d.id, version: d.version, sha256: d.sha256 }])),
    rule: RULE,
  };
  try {
    console.log(
      `real-media test: ${videos.filter((c) => c.label === 'fake').length} generated vs ${videos.filter((c) => c.label === 'real').length} held-out real clips; ${MAX_FRAMES} frames per clip`,
    );
    const clips: Clip[] = [];
    for (const v of videos) {
      const c: Clip = { rel: v.rel, label: v.label === 'fake' ? 1 : 0, source: v.source, person: v.person, outcomes: {}, frames: [], seconds: {} };
      const byIndex = new Map<number, Record<string, number>>();
      for (const [k, d] of detectors) {
        try {
          const r = await scoreClip(v.file, faceModels, d);
          c[k] = r.probability;
          c.outcomes[k] = r.outcome;
          c.seconds[k] = r.seconds;
          for (const f of r.frames) byIndex.set(f.index, { ...(byIndex.get(f.index) ?? { index: f.index }), [k]: f.p });
        } catch (err) {
          c[k] = null;
          c.outcomes[k] = 'error';
          c.errors = { ...c.errors, [k]: (err as Error).message };
        }
      }
      // Frames every detector scored (the same sampled frames and gates: normally all of them).
      c.frames = [...byIndex.values()].filter((f) => KINDS.every((k) => typeof f[k] === 'number'));
      clips.push(c);
      console.log(
        `  ${v.label.padEnd(4)} ${v.rel.padEnd(90)} ${KINDS.map((k) => `${k} ${(c[k] as number | null)?.toFixed(3) ?? '-'}`).join('  ')}  (${c.frames.length} frames${c.errors ? `, ${JSON.stringify(c.errors)}` : ''})`,
      );
    }
    const iv = (x: [number, number]) => `${x[0].toFixed(3)}–${x[1].toFixed(3)}`;
    const evals: Record<string, ReturnType<typeof evaluateClips>> = {};
    console.log(
      '\n| detector | video AUC [Hanley-McNeil 95%] (bootstrap) | frame AUC [clip-cluster bootstrap] | fakes flagged @0.5 [exact] | reals flagged @0.5 [exact] |',
    );
    for (const k of KINDS) {
      const e = evaluateClips(clips, k, { threshold: THRESHOLD, seed: SEED });
      evals[k] = e;
      console.log(
        `| ${k} | ${e.videoAuc.value} [${iv(e.videoAuc.hanleyMcNeil95)}] (${iv(e.videoAuc.bootstrap95)}) | ${e.frameAuc.value} [${iv(e.frameAuc.clusterBootstrap95)}] | ` +
          `${e.truePositiveRate.count}/${e.truePositiveRate.of} [${iv(e.truePositiveRate.exact95)}] | ${e.falsePositiveRate.count}/${e.falsePositiveRate.of} [${iv(e.falsePositiveRate.exact95)}] |`,
      );
    }
    const ft = evals.finetuned!;
    console.log(
      `finetuned per generator (flagged/clips): ${Object.entries(ft.perGenerator)
        .map(([g, v]) => `${g} ${v.detected}/${v.clips}`)
        .join(', ')}`,
    );
    const ruleMet = ft.videoAuc.value > RULE.videoAucAbove && ft.videoAuc.hanleyMcNeil95[0] > RULE.hanleyMcNeilLowerAbove;
    console.log(
      `pre-registered rule (default only if video AUC > ${RULE.videoAucAbove} and Hanley-McNeil lower bound > ${RULE.hanleyMcNeilLowerAbove}): ${ruleMet ? 'MET' : 'not met'}`,
    );
    out.realMedia = { maxFrames: MAX_FRAMES, threshold: THRESHOLD, evaluations: evals, ruleMet, clips };

    const source = videos.find((v) => v.rel.endsWith('liveportrait_driving_d3.mp4')) ?? videos.find((v) => v.label === 'real')!;
    const clip720 = path.join(work, 'clip720.mp4');
    await make720p(source.file, clip720);
    const c0 = cpuSnapshot();
    const t0 = now();
    const s = await analyzeMedia(clip720, faceModels, detectors.get('finetuned')!);
    const cpu = cpuDelta(c0, cpuSnapshot());
    out.speed = {
      clip: `1280x720, 30 fps, 300 frames (10 s), H.264 CRF 23 veryfast, made from ${source.rel}`,
      detector: 'finetuned',
      framesAnalysed: s.result.frames.length,
      seconds: round(now() - t0, 2),
      ownCpuSeconds: round(cpu.ownCpuSeconds, 2),
      othersMeanCores: round(cpu.othersMeanCores, 2),
      loadavg: loadavg(),
      target: 30,
      peakRssMiB: peakRssMiB(),
    };
    console.log(`speed: 10 s 720p clip, ${s.result.frames.length} frames analysed, ${JSON.stringify(out.speed)}`);

    if (args.smoke) return void console.log('smoke run: nothing written');
    const card = getModelCard(FT_MODEL_NAME).trained!;
    const file = path.join(card.dir, 'detector.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as CnnDetectorRecord;
    const realMedia: RealMediaValidation = {
      dataset: `${ft.clips.fake} generated talking-head and lip-sync clips (DreamTalk, SadTalker, VASA-1, EMO, V-Express, Wav2Lip) against ${ft.clips.real} real clips of ${TEST_PEOPLE.length} people never seen in training (MEAD, LivePortrait, video-retalking, TPSMM sources)`,
      measuredAt: new Date().toISOString(),
      command: 'npm run bench:forensics-ft',
      ...ft,
    };
    await writeFile(file, `${JSON.stringify({ ...record, realMedia, untested: record.untested?.length ? record.untested : DEFAULT_UNTESTED }, null, 1)}\n`);
    await writeFile(path.join(REPO_ROOT, 'docs/benchmarks/forensics-ft.json'), `${JSON.stringify(out, null, 1)}\n`);
    await writeCardFigures(
      { realMedia: evals, speed: out.speed as { seconds: number; ownCpuSeconds: number; othersMeanCores: number } },
      { model: FT_MODEL_NAME, key: 'finetuned', command: 'npm run bench:forensics-ft' },
    );
    console.log(`wrote realMedia into ${path.relative(REPO_ROOT, file)} and docs/benchmarks/forensics-ft.json`);
  } finally {
    faceModels.dispose();
    for (const d of detectors.values()) await d.dispose();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
