/**
 * Liveness speed: what `clearsight liveness <clip>` spends on a clip, by stage (model load,
 * decode of the first --seconds at the CLI's default size, tracking, cues), with this process's
 * CPU time beside the wall time (the machine is shared: wall time alone says little).
 * Target (issue 17): a 5 s 30 fps clip in <= 10 s on 2 cores.
 *
 *   node --import tsx bench/liveness-speed.ts <clip>... [--seconds 5] [--reference]
 *
 * --reference runs every network on every frame with full supersampling (trackFace options
 * cnnStride 1, detectStride 1, cropMaxSub 4), the tracker before the speed-ups.
 */
import { parseArgs } from 'node:util';
import { FaceModels } from '../src/face/index.js';
import { analyzeTracked, decideLiveness } from '../src/face/liveness/index.js';
import { readVideoFrames } from '../src/core/video/index.js';
import { round } from './lib/common.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string', default: '5' }, reference: { type: 'boolean', default: false } },
});
const track = args.reference ? { cnnStride: 1, detectStride: 1, cropMaxSub: 4 } : {};
for (const file of positionals) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const models = await FaceModels.load({ liveness: true, embed: false });
  const t1 = performance.now();
  const clip = await readVideoFrames(file, { maxSeconds: Number(args.seconds) });
  const t2 = performance.now();
  const { analysis } = await analyzeTracked(models, clip, {}, track);
  const v = decideLiveness(analysis);
  const t3 = performance.now();
  await models.dispose();
  const cpu = process.cpuUsage(cpu0);
  const f = clip.frames[0]!;
  console.log(
    JSON.stringify({
      file: file.split('/').pop(),
      mode: args.reference ? 'reference (every frame)' : 'default',
      size: `${f.width}x${f.height}`,
      fps: round(clip.fps, 2),
      frames: clip.frames.length,
      ms: { load: round(t1 - t0, 0), decode: round(t2 - t1, 0), track: round(analysis.seconds.track * 1000, 0), cues: round(analysis.seconds.cues * 1000, 0) },
      wallS: round((t3 - t0) / 1000, 2),
      cpuS: round((cpu.user + cpu.system) / 1e6, 2),
      verdict: v.verdict,
      score: v.score,
      tracked: `${v.coverage.tracked}/${v.coverage.total}`,
    }),
  );
}
