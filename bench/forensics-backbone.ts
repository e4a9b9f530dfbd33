import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceModels } from '../src/face/index.js';
import { analyzeMedia } from '../src/trust/forensics/analyze.js';
import { DEFAULT_BACKBONE_MODEL_URL, loadBackboneDetector, type BackboneForensicModel } from '../src/trust/forensics/backboneDetector.js';
import { DEFAULT_UNTESTED, type RealMediaValidation } from '../src/trust/forensics/cnnDetector.js';
import { commandLine, cpuDelta, cpuSnapshot, loadavg, machineInfo, now, peakRssMiB, REPO_ROOT, round } from './lib/common.js';
import { TEST_PEOPLE } from './lib/faceVideos.js';
import { evaluateClips, make720p, REAL_MEDIA_THRESHOLD, realMediaBenchArgs, realMediaTestClips } from './lib/forensicsEval.js';

const args = realMediaBenchArgs();
const VIDEOS = args.videos;
const MAX_FRAMES = args.maxFrames;
const SEED = args.seed;
const THRESHOLD = REAL_MEDIA_THRESHOLD;

interface Clip {
  rel: string;
  label: 0 | 1;
  source: string;
  person: string;
  outcome: string;
  backbone: number | null;
  frames: Array<{ index: number; backbone: number }>;
  seconds: number;
  error?: string;
}

async function main(): Promise<void> {
  const clips = realMediaTestClips(VIDEOS, args.smoke);
  const detector = await loadBackboneDetector();
  const faceModels = await FaceModels.load({ mesh: true, embed: false });
  const work = await mkdtemp(path.join(tmpdir(), 'clearsight-forensics-backbone-'));
  const out: Record<string, unknown> = {
    machine: machineInfo(),
    command: commandLine(),
    detector: { id: detector.id, version: detector.version, sha256: detector.sha256 },
  };
  try {
    console.log(
      `real-media test: ${clips.filter((c) => c.label === 'fake').length} generated vs ${clips.filter((c) => c.label === 'real').length} held-out real clips; ${MAX_FRAMES} frames per clip`,
    );
    const results: Clip[] = [];
    for (const v of clips) {
      const base = { rel: v.rel, label: (v.label === 'fake' ? 1 : 0) as 0 | 1, source: v.source, person: v.person };
      const t0 = now();
      let r: Clip;
      try {
        const { result } = await analyzeMedia(v.file, faceModels, detector, { maxFrames: MAX_FRAMES, seed: SEED });
        const frames = result.frames.filter((f) => f.probability !== null).map((f) => ({ index: f.index, backbone: f.probability! }));
        r = { ...base, outcome: result.outcome, backbone: result.probability, frames, seconds: round(now() - t0, 2) };
      } catch (err) {
        r = { ...base, outcome: 'error', backbone: null, frames: [], seconds: round(now() - t0, 2), error: (err as Error).message };
      }
      results.push(r);
      console.log(
        `  ${v.label.padEnd(4)} ${v.rel.padEnd(96)} backbone ${r.backbone?.toFixed(3) ?? '-'}  (${r.frames.length} frames, ${r.seconds} s${r.error ? `, ${r.error}` : ''})`,
      );
    }
    const e = evaluateClips(results, 'backbone', { threshold: THRESHOLD, seed: SEED });
    const iv = (x: [number, number]) => `${x[0].toFixed(3)}–${x[1].toFixed(3)}`;
    console.log(
      `\nbackbone: video AUC ${e.videoAuc.value} [Hanley-McNeil ${iv(e.videoAuc.hanleyMcNeil95)}] (bootstrap ${iv(e.videoAuc.bootstrap95)}); frame AUC ${e.frameAuc.value} [cluster bootstrap ${iv(e.frameAuc.clusterBootstrap95)}]; ` +
        `fakes flagged ${e.truePositiveRate.count}/${e.truePositiveRate.of} [${iv(e.truePositiveRate.exact95)}], reals flagged ${e.falsePositiveRate.count}/${e.falsePositiveRate.of} [${iv(e.falsePositiveRate.exact95)}]`,
    );
    console.log(
      `per generator (flagged/clips): ${Object.entries(e.perGenerator)
        .map(([g, v]) => `${g} ${v.detected}/${v.clips}`)
        .join(', ')}`,
    );
    out.realMedia = { maxFrames: MAX_FRAMES, threshold: THRESHOLD, backbone: e, clips: results };

    const source = clips.find((v) => v.rel.endsWith('liveportrait_driving_d3.mp4')) ?? clips.find((v) => v.label === 'real')!;
    const clip720 = path.join(work, 'clip720.mp4');
    await make720p(source.file, clip720);
    const c0 = cpuSnapshot();
    const t0 = now();
    const s = await analyzeMedia(clip720, faceModels, detector);
    const cpu = cpuDelta(c0, cpuSnapshot());
    out.speed = {
      clip: `1280x720, 30 fps, 300 frames (10 s), H.264 CRF 23 veryfast, made from ${source.rel}`,
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
    const file = fileURLToPath(DEFAULT_BACKBONE_MODEL_URL);
    const model = JSON.parse(await readFile(file, 'utf8')) as BackboneForensicModel;
    const realMedia: RealMediaValidation = {
      dataset: `${e.clips.fake} generated talking-head and lip-sync clips (DreamTalk, SadTalker, VASA-1, EMO, V-Express, Wav2Lip) against ${e.clips.real} real clips of ${TEST_PEOPLE.length} people never seen in training (MEAD, LivePortrait, video-retalking, TPSMM sources)`,
      measuredAt: new Date().toISOString(),
      command: 'npm run bench:forensics-backbone',
      ...e,
    };
    // The head's sha256 changes with this record; detector.sha256 above names the weights measured.
    await writeFile(file, `${JSON.stringify({ ...model, realMedia, untested: model.untested ?? DEFAULT_UNTESTED })}\n`);
    await writeFile(path.join(REPO_ROOT, 'docs/benchmarks/forensics-backbone.json'), `${JSON.stringify(out, null, 1)}\n`);
    console.log(`wrote realMedia into ${path.relative(REPO_ROOT, file)} and docs/benchmarks/forensics-backbone.json`);
  } finally {
    faceModels.dispose();
    await detector.dispose();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
