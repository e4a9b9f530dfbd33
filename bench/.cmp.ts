import { FaceModels } from '../src/face/index.js';
import { readVideoFrames, trackFace, computeCues, fuse, DEFAULT_LIVENESS_HEAD, CUES } from '../src/face/liveness/index.js';
import { makeReplay, makePrint } from './lib/attacks.js';
import { mulberry32 } from '../src/core/random.js';
const models = await FaceModels.load({ liveness: true, embed: false });
const mean = (v: number[][], j: number) => { const x = v.map(r => r[j]!).filter(Number.isFinite); return x.reduce((a, b) => a + b, 0) / Math.max(1, x.length); };
for (const f of process.argv.slice(2)) {
  const clip = await readVideoFrames(f, { maxSeconds: 5 });
  const frames = clip.frames as any[];
  const ref0 = await trackFace(models, frames, clip.times, {}, { cnnStride: 1, detectStride: 1, cropMaxSub: 4 });
  const sets: Array<[string, any[]]> = [['live', frames]];
  if (ref0.every(o => o.found)) { const r = mulberry32(7); sets.push(['replay', makeReplay(frames, r)], ['print', makePrint(frames, ref0, clip.fps, r, false)]); }
  for (const [kind, fr] of sets) {
    let t = performance.now();
    const ref = kind === 'live' ? ref0 : await trackFace(models, fr, clip.times, {}, { cnnStride: 1, detectStride: 1, cropMaxSub: 4 });
    const tr = performance.now() - t; t = performance.now();
    const fast = await trackFace(models, fr, clip.times);
    const tf = performance.now() - t;
    const a = computeCues(ref, clip.fps), b = computeCues(fast, clip.fps);
    const diffs = CUES.map((c, j) => `${c}:${mean(a.values, j).toFixed(3)}/${mean(b.values, j).toFixed(3)}`);
    console.log(f.split('/').pop(), kind, `ref ${tr.toFixed(0)} ms fast ${kind === 'live' ? '-' : tf.toFixed(0)} ms`, 'score', fuse(a.values, DEFAULT_LIVENESS_HEAD).score.toFixed(3), fuse(b.values, DEFAULT_LIVENESS_HEAD).score.toFixed(3), 'found', ref.filter(o=>o.found).length, fast.filter(o=>o.found).length);
    console.log('   ', diffs.join(' '));
  }
}
await models.dispose();
