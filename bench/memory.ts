/**
 * Memory benchmark: derain a synthetic 4000x3000 image (12 MP) and report wall time and peak
 * resident memory against the 4 GiB target. Asserts nothing; prints PASS or FAIL.
 *
 *   npm run bench:memory -- [--width 4000] [--height 3000] [--out <dir>] [--threads N] [--target-gib 4]
 *
 * The work runs in a fresh child process (this script re-invoked with --child), so the figure is
 * the peak RSS of a process that did nothing but make the image and derain it:
 * process.resourceUsage().maxRSS reported by the child at the end. The parent also samples the
 * child's VmRSS/VmHWM from /proc every 0.5 s, so a timeline (and a figure) survives even if the
 * child is killed for running out of memory.
 *
 * The image is made by code (no file): smooth colour gradients, several sinusoidal textures at
 * different scales and orientations, and a little deterministic hash noise, values in [0,1].
 * derain() loads maxim-deraining itself (as a one-shot user would), tiles it into 512x512 tiles
 * with 64 px overlap, and disposes the model.
 *
 * Output: <out>/memory-<timestamp>.json, <out>/memory-latest.json, <out>/memory-latest.png
 * (RSS over time with the target line). Default out: bench/results.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { derain, getModelCard, type RawImage } from '../src/index.js';
import { planTiles, type TilePlan } from '../src/core/index.js';
import { syntheticImage } from './lib/synthetic.js';
import {
  commandLine,
  legend,
  line,
  loadavg,
  machineInfo,
  niceStep,
  now,
  round,
  svgDoc,
  text,
  timestamp,
  trimNum,
  writeJsonPair,
  writeSvgPng,
} from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);

const { values: args } = parseArgs({
  options: {
    width: { type: 'string', default: '4000' },
    height: { type: 'string', default: '3000' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    threads: { type: 'string' },
    'target-gib': { type: 'string', default: '4' },
    child: { type: 'boolean', default: false },
  },
  strict: true,
});
const width = Number(args.width);
const height = Number(args.height);
const targetGiB = Number(args['target-gib']);
const threads = args.threads === undefined ? undefined : Number(args.threads);
for (const [name, v] of [
  ['width', width],
  ['height', height],
] as const) {
  if (!Number.isInteger(v) || v < 64) {
    console.error(`--${name}: expected an integer >= 64, got "${args[name]}"`);
    process.exit(2);
  }
}
if (!(targetGiB > 0)) {
  console.error(`--target-gib: expected a positive number, got "${args['target-gib']}"`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Child: make the image, derain it, print one JSON line.

async function child(): Promise<void> {
  const t0 = now();
  const img = syntheticImage(width, height);
  const tImage = now() - t0;
  const card = getModelCard('maxim-deraining');
  const plan = planTiles(width, height, { maxTile: card.io.maxTile, overlap: card.io.overlap, divisibility: card.io.divisibility });
  let tilesDone = 0;
  let prepSeconds = 0;
  let prepStart = 0;
  const t1 = now();
  const out = await derain(img, {
    threads,
    onProgress: (e) => {
      if (e.stage === 'prepare model') {
        if (e.done === 0) prepStart = now();
        else prepSeconds += now() - prepStart;
        return;
      }
      if (e.stage === 'tiles' && e.done > tilesDone) {
        tilesDone = e.done;
        const el = now() - t1;
        process.stderr.write(`  tile ${e.done}/${e.total}  ${el.toFixed(0)} s elapsed, ~${((el / e.done) * (e.total - e.done)).toFixed(0)} s left\n`);
      }
    },
  });
  const tDerain = now() - t1;
  let finite = true;
  let sum = 0;
  for (const v of out.data) {
    if (!Number.isFinite(v)) finite = false;
    sum += v;
  }
  const maxRssAfterDerainMiB = process.resourceUsage().maxRSS / 1024;
  const seams = seamCheck(img, out, plan);
  const result = {
    seams,
    imageSeconds: tImage,
    derainSeconds: tDerain,
    sessionPrepareSeconds: prepSeconds,
    tiles: plan.tiles.length,
    tile: `${plan.tileWidth}x${plan.tileHeight}`,
    output: `${out.width}x${out.height}`,
    outputFinite: finite,
    outputMean: sum / out.data.length,
    maxRssMiB: maxRssAfterDerainMiB,
    maxRssMiBIncludingSeamCheck: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/**
 * Looks for tile seams in the restoration residual r = luma(out) - luma(in): for each column
 * (row) boundary x|x+1, the mean over rows (columns) of |r(x+1) - r(x)|. Columns where a tile
 * starts or ends (where the feathering ramps begin/end) are compared with the median column.
 * A ratio near 1 means no visible seam; a seam shows as a ratio well above 1.
 */
function seamCheck(input: RawImage, out: RawImage, plan: TilePlan): Record<string, number> {
  const w = input.width;
  const h = input.height;
  const luma = (d: Float32Array, i: number): number => 0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!;
  const r = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) r[i] = luma(out.data, i) - luma(input.data, i);
  const colStep = new Float64Array(w - 1);
  const rowStep = new Float64Array(h - 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w - 1; x++) colStep[x] += Math.abs(r[y * w + x + 1]! - r[y * w + x]!) / h;
    if (y < h - 1) for (let x = 0; x < w; x++) rowStep[y] += Math.abs(r[(y + 1) * w + x]! - r[y * w + x]!) / w;
  }
  const med = (a: Float64Array): number => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  const edges = (starts: number[], tile: number, n: number): number[] =>
    [...new Set(starts.flatMap((s0) => [s0 - 1, s0 + tile - 1]))].filter((e) => e >= 0 && e < n - 1);
  const xs = edges([...new Set(plan.tiles.map((t) => t.x))], plan.tileWidth, w);
  const ys = edges([...new Set(plan.tiles.map((t) => t.y))], plan.tileHeight, h);
  const worst = (a: Float64Array, at: number[]): number => (at.length ? Math.max(...at.map((e) => a[e]!)) : NaN); // NaN: one tile on this axis
  const mx = med(colStep);
  const my = med(rowStep);
  // For scale: how the worst edge ranks among all columns/rows, and the 99th percentile ratio.
  const pct = (a: Float64Array, q: number): number => [...a].sort((p, r2) => p - r2)[Math.min(a.length - 1, Math.floor(q * a.length))]!;
  const rank = (a: Float64Array, v: number): number => (Number.isFinite(v) ? a.filter((x) => x < v).length / a.length : NaN);
  return {
    p99StepRatioX: pct(colStep, 0.99) / mx,
    p99StepRatioY: pct(rowStep, 0.99) / my,
    worstEdgePercentileX: rank(colStep, worst(colStep, xs)),
    worstEdgePercentileY: rank(rowStep, worst(rowStep, ys)),
    medianStepX: mx,
    medianStepY: my,
    worstEdgeX: worst(colStep, xs),
    worstEdgeY: worst(rowStep, ys),
    edgeStepRatioX: worst(colStep, xs) / mx,
    edgeStepRatioY: worst(rowStep, ys) / my,
  };
}

// ---------------------------------------------------------------------------------------------
// Parent: run the child, sample its memory, report.

function procStatus(pid: number): { rssMiB: number; hwmMiB: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

async function parent(): Promise<void> {
  const machine = machineInfo();
  const stamp = timestamp();
  const outDir = path.resolve(args.out!);
  const childArgs = [
    '--import',
    'tsx',
    SELF,
    '--child',
    '--width',
    String(width),
    '--height',
    String(height),
    ...(threads ? ['--threads', String(threads)] : []),
  ];
  console.log(
    `memory bench: derain a synthetic ${width}x${height} image in a fresh process (node ${childArgs.join(' ')}); target peak RSS < ${targetGiB} GiB; load ${machine.loadavgAtStart.join(' ')}`,
  );
  const t0 = now();
  const proc = spawn(process.execPath, childArgs, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const samples: Array<{ t: number; rssMiB: number }> = [];
  let lastHwm = 0;
  const timer = setInterval(() => {
    const st = proc.pid ? procStatus(proc.pid) : undefined;
    if (st) {
      samples.push({ t: round(now() - t0, 2), rssMiB: round(st.rssMiB, 1) });
      lastHwm = Math.max(lastHwm, st.hwmMiB);
    }
  }, 500);
  let stdout = '';
  proc.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.on('close', (c, s) => resolve([c, s])));
  clearInterval(timer);
  const wall = now() - t0;
  const line0 = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  const childResult = line0 ? (JSON.parse(line0.slice(7)) as Record<string, number | string | boolean | object>) : undefined;
  const peakMiB = typeof childResult?.maxRssMiB === 'number' ? childResult.maxRssMiB : lastHwm;
  const targetMiB = targetGiB * 1024;
  const ok = code === 0 && !!childResult && peakMiB < targetMiB;
  machine.loadavgAtEnd = loadavg();

  console.log(`\n  child exit: ${signal ? `signal ${signal}` : `code ${code}`}`);
  if (childResult) {
    console.log(
      `  image ${width}x${height} (${((width * height) / 1e6).toFixed(1)} MP), ${childResult.tiles} tiles of ${childResult.tile}, output ${childResult.output}, finite ${childResult.outputFinite}`,
    );
    const sm = childResult.seams as unknown as Record<string, number>;
    console.log(
      `  seams: worst tile-edge step / median step of the restoration residual: ${sm.edgeStepRatioX.toFixed(2)} (columns), ${sm.edgeStepRatioY.toFixed(2)} (rows); ~1 = no seam, NaN = one tile on that axis`,
    );
    console.log(
      `         for scale: 99th-percentile step / median ${sm.p99StepRatioX.toFixed(2)} (columns), ${sm.p99StepRatioY.toFixed(2)} (rows); worst edge ranks at percentile ${(100 * sm.worstEdgePercentileX).toFixed(1)} (columns), ${(100 * sm.worstEdgePercentileY).toFixed(1)} (rows)`,
    );
    console.log(
      `  derain wall time ${(childResult.derainSeconds as number).toFixed(1)} s (of which session preparation ${(childResult.sessionPrepareSeconds as number).toFixed(1)} s); process wall time ${wall.toFixed(1)} s`,
    );
  }
  console.log(
    `  peak RSS ${peakMiB.toFixed(0)} MiB (${(peakMiB / 1024).toFixed(2)} GiB; sampled VmHWM ${lastHwm.toFixed(0)} MiB) vs target ${targetGiB} GiB: ${ok ? 'PASS' : 'FAIL'}`,
  );

  const result = {
    benchmark: 'memory',
    date: new Date().toISOString(),
    command: commandLine(),
    options: { width, height, threads: threads ?? null, targetGiB },
    convention:
      'Peak RSS = process.resourceUsage().maxRSS of a fresh child process that only builds the synthetic image and runs derain() (model loaded and disposed by derain itself); the parent samples /proc/<pid>/status every 0.5 s for the timeline. Wall time = derain() call; process wall time includes node/tsx start-up and image synthesis.',
    machine,
    child: { exitCode: code, signal, result: childResult ?? null },
    processWallSeconds: wall,
    peakRssMiB: round(peakMiB, 1),
    sampledVmHwmMiB: round(lastHwm, 1),
    verdict: ok ? 'PASS' : 'FAIL',
    rssTimeline: samples,
  };
  const files = await writeJsonPair(outDir, 'memory', stamp, result);
  const png = path.join(outDir, 'memory-latest.png');
  await writeSvgPng(png, plot(samples, targetMiB, peakMiB, ok, childResult, wall));
  console.log(`wrote ${files.join(', ')}, ${png}`);
  process.exitCode = code === 0 ? 0 : 1;
}

function plot(
  samples: Array<{ t: number; rssMiB: number }>,
  targetMiB: number,
  peakMiB: number,
  ok: boolean,
  r: Record<string, unknown> | undefined,
  wall: number,
): string {
  const W = 1100;
  const H = 560;
  const px = 90;
  const py = 80;
  const pw = W - px - 40;
  const ph = H - py - 90;
  const tMax = Math.max(wall, 1);
  const mMax = Math.max(targetMiB, peakMiB, ...samples.map((s) => s.rssMiB)) * 1.1;
  const ys = niceStep(mMax / 1024, 6);
  const yTop = Math.ceil(mMax / 1024 / ys) * ys;
  const xs = niceStep(tMax, 8);
  const X = (t: number): number => px + (t / tMax) * pw;
  const Y = (mib: number): number => py + ph - (mib / 1024 / yTop) * ph;
  const parts: string[] = [
    text(
      W / 2,
      30,
      `derain ${width}x${height} (synthetic) in a fresh process: peak RSS ${(peakMiB / 1024).toFixed(2)} GiB, ${ok ? 'PASS' : 'FAIL'} vs ${targetGiB} GiB`,
      { size: 18, anchor: 'middle', weight: 'bold' },
    ),
  ];
  for (let g = 0; g <= yTop + 1e-9; g += ys) {
    parts.push(line(px, Y(g * 1024), px + pw, Y(g * 1024), '#e3e3e3'));
    parts.push(text(px - 8, Y(g * 1024) + 4, trimNum(g), { size: 12, anchor: 'end' }));
  }
  for (let t = 0; t <= tMax + 1e-9; t += xs) {
    parts.push(line(X(t), py + ph, X(t), py + ph + 5, '#222'));
    parts.push(text(X(t), py + ph + 20, trimNum(t), { size: 12, anchor: 'middle' }));
  }
  parts.push(text(28, py + ph / 2, 'resident memory (GiB)', { size: 14, anchor: 'middle', rotate: -90 }));
  parts.push(text(px + pw / 2, py + ph + 42, 'seconds since the child process started', { size: 13, anchor: 'middle' }));
  parts.push(line(px, Y(targetMiB), px + pw, Y(targetMiB), '#d62728', 2, '8 5'));
  if (samples.length > 1) {
    const d = samples.map((s, i) => `${i ? 'L' : 'M'}${X(s.t).toFixed(1)},${Y(s.rssMiB).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
  }
  parts.push(line(px, py, px, py + ph, '#222'), line(px, py + ph, px + pw, py + ph, '#222'));
  parts.push(
    legend(px + 10, py - 12, [
      { color: '#1f77b4', label: 'RSS (sampled every 0.5 s)' },
      { color: '#d62728', label: `target ${targetGiB} GiB`, dash: true },
    ]),
  );
  if (r) parts.push(text(px + pw, py - 12, `${r.tiles} tiles of ${r.tile}; derain ${(r.derainSeconds as number).toFixed(0)} s`, { size: 13, anchor: 'end' }));
  return svgDoc(W, H, parts.join('\n'));
}

await (args.child ? child() : parent());
