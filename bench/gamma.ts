/**
 * powTaylor benchmark: x^gamma by truncated Taylor series (src/restore/lowlight/powTaylor.ts)
 * against Math.pow, and the whole illumination-aware gamma enhancement on a 1 MP image.
 *
 *   node --import tsx bench/gamma.ts [--pixels N] [--repeat N] [--out <dir>]
 *
 * Speed: ns per pixel of a tight loop out[i] = f(x[i], gamma[i]) over Float32Arrays of N
 * (default 2^20) random x in [0, 1] and gamma in [0.2, 1.5] (the working range); one
 * loop function per variant (so each call site stays monomorphic and V8 can inline), each run
 * --repeat times (default 15) after a warm-up; we report the median and the best run of wall
 * time, and the median of process CPU time (process.cpuUsage: immune to being descheduled on a
 * shared machine). The variants are interleaved round by round, so background load hits them alike.
 * Accuracy: max |powTaylor - Math.pow| on a grid of x = i/4000 (i = 0..4000) plus x in
 * {1e-12, 1e-9, 1e-6, 1e-4}, times gamma = 0.2..1.5 in steps of 0.005 (1.05 M points).
 *
 * Output: a table on stdout, <out>/gamma-<timestamp>.json and <out>/gamma-latest.json
 * (default out: bench/results).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createImage } from '../src/core/image/index.js';
import { enhanceLowLightGamma, powTaylor, powTaylorArray, POW_TAYLOR_DEFAULT_ORDER } from '../src/restore/lowlight/index.js';
import { commandLine, loadavg, machineInfo, median, round, table, timestamp, writeJsonPair } from './lib/common.js';
import { mulberry32 as rng } from '../src/core/random.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    pixels: { type: 'string', default: String(1 << 20) },
    repeat: { type: 'string', default: '15' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
  },
});
const N = Math.max(1024, Number.parseInt(args.pixels!, 10) || 1 << 20);
const REPEAT = Math.max(1, Number.parseInt(args.repeat!, 10) || 15);
const ORDERS = [3, 4, 5, 6];
const TARGET = 1 / 255;

const rand = rng(42);
const xs = Float32Array.from({ length: N }, () => rand());
const gs = Float32Array.from({ length: N }, () => 0.2 + 1.3 * rand());
const out = new Float32Array(N);

function loopPow(): void {
  for (let i = 0; i < N; i++) out[i] = xs[i] ** gs[i];
}
function loopTaylor(order: number): void {
  for (let i = 0; i < N; i++) out[i] = powTaylor(xs[i], gs[i], order);
}

function loopTaylorArray(): void {
  powTaylorArray(xs, gs, out, POW_TAYLOR_DEFAULT_ORDER);
}

function maxError(order: number): number {
  const xsGrid = [1e-12, 1e-9, 1e-6, 1e-4];
  for (let i = 0; i <= 4000; i++) xsGrid.push(i / 4000);
  let max = 0;
  for (let gi = 0; gi <= 260; gi++) {
    const g = 0.2 + gi * 0.005;
    for (const x of xsGrid) {
      const e = Math.abs(powTaylor(x, g, order) - x ** g);
      if (e > max) max = e;
    }
  }
  return max;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const stamp = timestamp();
  console.log(`gamma bench: ${N} pixels, ${REPEAT} rounds; load ${machine.loadavgAtStart.join(' ')} on ${machine.cpuCount} x ${machine.cpuModel}`);

  const variants: Array<{ name: string; order?: number; run: () => void }> = [
    { name: 'Math.pow', run: loopPow },
    ...ORDERS.map((o) => ({ name: `powTaylor order ${o}${o === POW_TAYLOR_DEFAULT_ORDER ? ' (default)' : ''}`, order: o, run: () => loopTaylor(o) })),
    // The form image code uses (enhanceLowLightGamma): same numbers as the scalar call, bit for bit.
    { name: `powTaylorArray order ${POW_TAYLOR_DEFAULT_ORDER}`, order: POW_TAYLOR_DEFAULT_ORDER, run: loopTaylorArray },
  ];
  for (const v of variants) v.run(); // warm-up
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpuTimes = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let k = 0; k < REPEAT; k++) {
    for (const v of variants) {
      const c = process.cpuUsage();
      const t = performance.now();
      v.run();
      times.get(v.name)!.push(((performance.now() - t) * 1e6) / N);
      const cu = process.cpuUsage(c);
      cpuTimes.get(v.name)!.push(((cu.user + cu.system) * 1e3) / N);
    }
  }
  const powMedian = median(times.get('Math.pow')!);
  const powCpuMedian = median(cpuTimes.get('Math.pow')!);
  const rows = variants.map((v) => {
    const ts = times.get(v.name)!;
    const med = median(ts);
    const cpuMed = median(cpuTimes.get(v.name)!);
    return {
      name: v.name,
      order: v.order,
      nsPerPixelMedian: round(med, 2),
      nsPerPixelBest: round(Math.min(...ts), 2),
      cpuNsPerPixelMedian: round(cpuMed, 2),
      speedupVsPowMedian: round(powMedian / med, 2),
      speedupVsPowCpuMedian: round(powCpuMedian / cpuMed, 2),
      maxAbsError: v.order ? maxError(v.order) : 0,
    };
  });
  console.log(
    '\n' +
      table(
        ['variant', 'ns/px median', 'ns/px best', 'x vs pow', 'CPU ns/px median', 'x vs pow (CPU)', 'max abs err'],
        rows.map((r) => [
          r.name,
          r.nsPerPixelMedian,
          r.nsPerPixelBest,
          r.speedupVsPowMedian,
          r.cpuNsPerPixelMedian,
          r.speedupVsPowCpuMedian,
          r.order ? r.maxAbsError.toExponential(2) : '-',
        ]),
      ),
  );
  const scalar = rows.find((r) => r.order === POW_TAYLOR_DEFAULT_ORDER)!;
  const def = rows.find((r) => r.name.startsWith('powTaylorArray'))!;
  console.log(
    `\nscalar powTaylor, default order: ${scalar.speedupVsPowMedian}x faster than Math.pow by wall time` +
      `\npowTaylorArray (per pixel, as used on images), order ${POW_TAYLOR_DEFAULT_ORDER}: ${def.speedupVsPowMedian}x faster than Math.pow by wall time, ${def.speedupVsPowCpuMedian}x by process CPU time (target >= 3x), max abs error ${def.maxAbsError.toExponential(2)} (target <= 1/255 = ${TARGET.toExponential(2)})`,
  );

  // End to end: enhanceLowLightGamma on a 1000x1000 dark image.
  const W = 1000;
  const H = 1000;
  const img = createImage(W, H, 3);
  for (let i = 0; i < W * H; i++) {
    const x = i % W;
    const y = (i / W) | 0;
    const base = 0.12 * (0.5 + 0.4 * Math.sin(x / 37) * Math.cos(y / 53)) + 0.03 * rand();
    img.data[3 * i] = base;
    img.data[3 * i + 1] = base * 0.9;
    img.data[3 * i + 2] = base * 0.75;
  }
  enhanceLowLightGamma(img); // warm-up
  const e2e: number[] = [];
  let last = enhanceLowLightGamma(img);
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    last = enhanceLowLightGamma(img);
    e2e.push(performance.now() - t);
  }
  const e2eMs = median(e2e);
  console.log(
    `enhanceLowLightGamma 1000x1000: ${e2eMs.toFixed(1)} ms (${((e2eMs * 1e6) / (W * H)).toFixed(1)} ns/px incl. illumination guided filter), alpha ${last.alpha.toFixed(2)}, reported maxTaylorError ${last.maxTaylorError.toExponential(2)} over ${last.taylorErrorSamples} sampled pixels`,
  );

  machine.loadavgAtEnd = loadavg();
  const files = await writeJsonPair(path.resolve(args.out!), 'gamma', stamp, {
    bench: 'gamma',
    command: commandLine(),
    timestamp: stamp,
    pixels: N,
    rounds: REPEAT,
    timing:
      'ns per pixel (wall and process CPU time) of out[i] = f(x[i], gamma[i]) over Float32Arrays, x uniform in [0,1], gamma uniform in [0.2,1.5]; one monomorphic loop per variant, variants interleaved per round, median and best of the rounds after a warm-up. Machine shared with other work: see loadavg.',
    errorGrid: 'x = i/4000 (i = 0..4000) plus 1e-12, 1e-9, 1e-6, 1e-4; gamma = 0.2..1.5 step 0.005; error = max |powTaylor - Math.pow|',
    targets: { speedupVsPow: 3, maxAbsError: TARGET },
    machine,
    variants: rows,
    endToEnd: {
      image: `${W}x${H}`,
      msMedian: round(e2eMs, 2),
      nsPerPixel: round((e2eMs * 1e6) / (W * H), 2),
      alpha: round(last.alpha, 4),
      maxTaylorError: last.maxTaylorError,
      taylorErrorSamples: last.taylorErrorSamples,
    },
  });
  console.log(`\nwrote ${files.join(', ')}`);
}

await main();
