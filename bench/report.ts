/**
 * Publishes benchmark results: copies <from>/{derain,experts,memory}-latest.{json,png} into
 * docs/benchmarks/ (as <name>.json / <name>.png) and writes docs/benchmarks/README.md from the
 * JSON alone, so no figure in the docs is ever typed in by hand.
 *
 *   node --import tsx bench/report.ts [--from bench/results] [--to docs/benchmarks] [--speed-check DIR]
 *
 * --speed-check DIR: a short derain run on a quiet machine (npm run bench:derain -- --limit 2
 * --reference-count 2 --out DIR), published as derain-speed.{json,png}; without it the section
 * is rendered from the derain-speed.json already in docs/benchmarks.
 *
 * Benchmarks whose JSON is missing are skipped (their old docs files are left alone).
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { writeFileAtomic } from '../src/core/fs.js';
import { uncontendedMean } from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    from: { type: 'string', default: path.join(REPO, 'bench/results') },
    to: { type: 'string', default: path.join(REPO, 'docs/benchmarks') },
    // Folder of a short derain run on a quiet machine (its derain-latest.json/png) to publish as
    // docs/benchmarks/derain-speed.{json,png}; without it the published derain-speed.json is used.
    'speed-check': { type: 'string' },
  },
  strict: true,
});
const from = path.resolve(args.from!);
const to = path.resolve(args.to!);

/* eslint-disable @typescript-eslint/no-explicit-any */
// biome-ignore lint/suspicious/noExplicitAny: parsed benchmark JSON of many shapes, read field by field
type J = any;

const f = (x: unknown, d = 2): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : String(x));

async function loadJson(name: string): Promise<J | undefined> {
  const file = path.join(from, `${name}-latest.json`);
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as J;
}

function machineLine(m: J): string {
  return `${m.cpuCount} x ${m.cpuModel}, ${m.totalMemGiB} GiB, node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}; load average ${m.loadavgAtStart.join(' / ')} at start, ${m.loadavgAtEnd?.join(' / ')} at end (machine shared with other work)`;
}

function derainSection(j: J): string {
  const s = j.summary;
  const out: string[] = [];
  out.push(`## Deraining (MAXIM, ${j.model.id})`, '');
  out.push(`Command: \`${j.command}\` (${j.date}). Data: \`${path.relative(REPO, j.options.data)}\`, ${s.pairs} pairs.`, '');
  out.push(`Metric convention: ${j.metricConvention}`, '');
  out.push(`Timing convention: ${j.timingConvention}`, '');
  out.push(`Machine: ${machineLine(j.machine)}.`, '');
  out.push('| | pairs | PSNR-Y (dB) | SSIM-Y | s / image (wall) | CPU s / image |', '|---|---:|---:|---:|---:|---:|');
  out.push(`| rainy input | ${s.pairs} | ${f(s.input.psnrY)} | ${f(s.input.ssimY, 4)} | | |`);
  out.push(
    `| ours (ONNX, onnxruntime-node) | ${s.pairs} | ${f(s.ours.psnrY)} | ${f(s.ours.ssimY, 4)} | ${f(s.ours.secondsPerImageMean)} (median ${f(s.ours.secondsPerImageMedian)}) | ${f(s.ours.cpuSecondsPerImageMean)} |`,
  );
  if (s.reference) {
    const r = s.reference;
    out.push(
      `| ours, first ${r.pairs} | ${r.pairs} | ${f(r.oursSamePairs.psnrY, 3)} | ${f(r.oursSamePairs.ssimY, 4)} | ${f(r.oursSecondsPerImageSamePairs)} | ${f(r.oursCpuSecondsPerImageSamePairs)} |`,
    );
    out.push(
      `| tfjs-wasm reference, first ${r.pairs} | ${r.pairs} | ${f(r.tfjs.psnrY, 3)} | ${f(r.tfjs.ssimY, 4)} | ${f(r.tfjsSecondsPerImageMean)} | ${f(r.tfjsCpuSecondsPerImageMean)} |`,
    );
  }
  if (s.tta)
    out.push(
      `| ours x8 TTA, first ${s.tta.pairs} (plain on the same pairs: ${f(s.tta.oursPsnrYSamePairs)} dB) | ${s.tta.pairs} | ${f(s.tta.psnrY)} | ${f(s.tta.ssimY, 4)} | ${f(s.tta.secondsPerImageMean)} | ${f(s.tta.cpuSecondsPerImageMean)} |`,
    );
  const paper = j.model.paperFigures.find((p: J) => p.dataset === 'Rain100H');
  if (paper) out.push('', `Paper figure (full Rain100H, 100 pairs): ${paper.value} dB ${paper.metric}.`);
  out.push('');
  if (s.reference) {
    const r = s.reference;
    out.push(
      `Parity with tfjs-wasm on the same tiles (first ${r.pairs}): mean |PSNR-Y ours - tfjs| ${f(r.meanAbsPsnrYDiff, 4)} dB, ` +
        `max |pixel difference| ${Number(r.maxAbsPixelDiff).toExponential(2)} in [0,1] (${r.maxAbsPixelDiff8bitLevels} 8-bit level(s) after rounding). ` +
        `Speed: tfjs-wasm takes ${f(r.speedRatioOverall, 1)}x our wall time (per image: ${r.speedRatioPerImage.map((x: J) => `${x.name}: ${f(x.ratio, 1)}x`).join(', ')}) ` +
        `and ${f(r.speedRatioCpuOverall, 1)}x our CPU time (tfjs-wasm runs on one thread, ours on ${j.options.threads ?? j.machine.availableParallelism}).`,
      '',
    );
  }
  const quiet = s.ours.uncontended ?? uncontendedMean(j.images.map((r: J) => r.ours));
  if (quiet.count > 0) {
    out.push(
      `Contention: other processes kept ${f(s.ours.othersMeanCores)} of ${j.machine.cpuCount} cores busy on average during our timed runs. ` +
        `On the ${quiet.count} images timed while they used < ${quiet.maxOthersCores} cores, ours took ${f(quiet.secondsMean)} s per image (median ${f(quiet.secondsMedian)} s)` +
        (s.reference
          ? `; against that figure tfjs-wasm (${f(s.reference.tfjsSecondsPerImageMean, 1)} s per image, itself single-threaded and so little slowed by one busy core) is ${f(s.reference.tfjsSecondsPerImageMean / quiet.secondsMean, 1)}x slower.`
          : '.'),
      '',
    );
  }
  if (s.tta)
    out.push(
      `x8 TTA on the first ${s.tta.pairs}: mean gain ${f(s.tta.meanGainPsnrY, 3)} dB PSNR-Y, ${f(s.tta.meanGainSsimY, 4)} SSIM-Y, at ${f(s.tta.slowdownVsPlain, 1)}x the time.`,
      '',
    );
  out.push(
    `Warm-up (not in the per-image times): ${s.ours.warmupSeconds.map((w: J) => `${w.shape}: ${f(w.seconds, 1)} s${w.firstRunSeconds !== undefined ? ` (session ${f(w.prepareSeconds, 1)} s + first run ${f(w.firstRunSeconds, 1)} s)` : ''}`).join('; ')}. ` +
      `Peak RSS of the run ${s.peakRssMiB} MiB.`,
    '',
  );
  out.push('![derain benchmark](derain.png)', '');
  return out.join('\n');
}

function expertsSection(j: J): string {
  const out: string[] = [];
  out.push('## Expert speed', '');
  out.push(`Command: \`${j.command}\` (${j.date}). Image: \`${path.relative(REPO, j.options.image)}\`.`, '');
  out.push(`Convention: ${j.convention}`, '');
  out.push(`Machine: ${machineLine(j.machine)}.`, '');
  out.push(
    "| expert | model | input -> output | warm-up s | run s | s / MP (input) | s / MP (output) | CPU s / MP (input) | others' cores |",
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of j.experts) {
    out.push(
      `| ${r.expert} | ${r.model} | ${r.input} -> ${r.output} | ${f(r.warmupSeconds, 1)} | ${f(r.seconds)} | ${f(r.secondsPerInputMP, 1)} | ${f(r.secondsPerOutputMP, 2)} | ${f(r.cpuSecondsPerInputMP, 1)} | ${f(r.othersMeanCores)} |`,
    );
  }
  out.push('', `Peak RSS of the process (resourceUsage().maxRSS): ${j.peakRssMiB} MiB.`, '', '![experts benchmark](experts.png)', '');
  return out.join('\n');
}

function memorySection(j: J): string {
  const r = j.child.result;
  const out: string[] = [];
  out.push(`## Memory: derain ${j.options.width}x${j.options.height}`, '');
  out.push(`Command: \`${j.command}\` (${j.date}).`, '');
  out.push(`Convention: ${j.convention}`, '');
  out.push(`Machine: ${machineLine(j.machine)}.`, '');
  if (r)
    out.push(
      `${r.tiles} tiles of ${r.tile}; derain wall time ${f(r.derainSeconds, 1)} s (session preparation ${f(r.sessionPrepareSeconds, 1)} s); output ${r.output}, finite: ${r.outputFinite}.`,
      '',
    );
  if (r?.seams) {
    const sm = r.seams;
    out.push(
      `Seam check (restoration residual luma(out) - luma(in), mean |step| across each column/row boundary): worst tile-edge step / median step ${f(sm.edgeStepRatioX)} (columns), ${f(sm.edgeStepRatioY)} (rows)` +
        (sm.p99StepRatioX !== undefined ? `; for scale, 99th-percentile step / median ${f(sm.p99StepRatioX)} / ${f(sm.p99StepRatioY)}` : '') +
        `; median step ${Number(sm.medianStepX).toExponential(2)} in [0,1] units. A visible seam would show as a ratio well above the others.`,
      '',
    );
  }
  if (!r) out.push(`The child process did not finish (exit code ${j.child.exitCode}, signal ${j.child.signal}).`, '');
  out.push(
    `**Peak RSS ${f(j.peakRssMiB / 1024, 2)} GiB (${f(j.peakRssMiB, 0)} MiB) against the ${j.options.targetGiB} GiB target: ${j.verdict}.**`,
    '',
    '![memory benchmark](memory.png)',
    '',
  );
  return out.join('\n');
}

/** A short derain run on a quiet machine (e.g. --limit 2 --reference-count 2), for the speed ratio. */
function speedCheckSection(j: J): string {
  const s = j.summary;
  const r = s.reference;
  const out = ['### Deraining speed on a quiet machine', ''];
  out.push(
    `Command: \`${j.command}\` (${j.date}); other processes used ${f(s.ours.othersMeanCores)} cores on average. Machine: ${machineLine(j.machine)}.`,
    '',
  );
  out.push('| | pairs | s / image (wall) | CPU s / image | PSNR-Y (dB) |', '|---|---:|---:|---:|---:|');
  out.push(`| ours (ONNX) | ${s.pairs} | ${f(s.ours.secondsPerImageMean)} | ${f(s.ours.cpuSecondsPerImageMean)} | ${f(s.ours.psnrY, 3)} |`);
  if (r) {
    out.push(`| tfjs-wasm | ${r.pairs} | ${f(r.tfjsSecondsPerImageMean)} | ${f(r.tfjsCpuSecondsPerImageMean)} | ${f(r.tfjs.psnrY, 3)} |`, '');
    out.push(
      `tfjs-wasm / ours: ${f(r.speedRatioOverall, 1)}x wall time (per image ${r.speedRatioPerImage.map((x: J) => `${f(x.ratio, 1)}x`).join(', ')}), ${f(r.speedRatioCpuOverall, 1)}x CPU time; max |pixel difference| ${Number(r.maxAbsPixelDiff).toExponential(2)}.`,
      '',
    );
  }
  out.push('![derain speed on a quiet machine](derain-speed.png)', '');
  return out.join('\n');
}

async function main(): Promise<void> {
  await mkdir(to, { recursive: true });
  const sections: string[] = [];
  for (const [name, render] of [
    ['derain', derainSection],
    ['experts', expertsSection],
    ['memory', memorySection],
  ] as const) {
    const j = await loadJson(name);
    if (!j) {
      console.log(`skip ${name}: no ${name}-latest.json in ${from}`);
      continue;
    }
    sections.push(render(j));
    if (name === 'derain') {
      if (args['speed-check']) {
        const quietDir = path.resolve(args['speed-check']);
        await copyFile(path.join(quietDir, 'derain-latest.json'), path.join(to, 'derain-speed.json'));
        await copyFile(path.join(quietDir, 'derain-latest.png'), path.join(to, 'derain-speed.png'));
      }
      const speed = path.join(to, 'derain-speed.json');
      if (existsSync(speed)) sections.push(speedCheckSection(JSON.parse(await readFile(speed, 'utf8')) as J));
    }
    await copyFile(path.join(from, `${name}-latest.json`), path.join(to, `${name}.json`));
    const png = path.join(from, `${name}-latest.png`);
    if (existsSync(png)) await copyFile(png, path.join(to, `${name}.png`));
    console.log(`published ${name}`);
  }
  const md = [
    '# Benchmarks',
    '',
    'Generated by `node --import tsx bench/report.ts` from the JSON the benchmark scripts wrote; every number below comes from those files (kept here beside this page).',
    'Re-run a benchmark (see each command), then this script. The machine the figures come from is named in each section; timings on a shared machine carry its load, which each section reports.',
    '',
    ...sections,
  ].join('\n');
  await writeFileAtomic(path.join(to, 'README.md'), md, { force: true });
  console.log(`wrote ${path.join(to, 'README.md')}`);
}

await main();
