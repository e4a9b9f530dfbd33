/**
 * Students against their teachers, side by side on the same images in one run:
 *
 *   npm run bench:students -- [--only name,name] [--data DIR] [--limit N] [--threads N] [--out DIR]
 *        [--teacher-from RUN.json [--teacher-out DIR]]
 *
 * --teacher-from reuses the teacher rows of an earlier run (same data, same --limit) instead of
 * running the teacher again (MAXIM takes most of an hour here); --teacher-out is where that run
 * wrote its outputs (default --out). The JSON then says so, and speed ratios compare two runs.
 *
 * Runs every module bench/students/*.ts that exports `bench: StudentBench` (bench/students/types.ts),
 * prints one table (PSNR/SSIM in each module's convention, seconds per megapixel, peak RSS), and
 * writes <out>/students-<timestamp>.json, <out>/students-latest.json and <out>/students-latest.png.
 * Data default: ../shared/data beside the repository (pass --data from a worktree).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { StudentBench, StudentRow, TeacherFrom } from './students/types.js';
import {
  commandLine,
  hbarChart,
  intArg,
  loadavg,
  machineInfo,
  REPO_ROOT,
  round,
  sharedData,
  svgDoc,
  table,
  text,
  timestamp,
  writeJsonPair,
  writeSvgPng,
} from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    data: { type: 'string', default: sharedData() },
    limit: { type: 'string' },
    threads: { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(REPO_ROOT, 'bench/results') },
    'teacher-from': { type: 'string' },
    'teacher-out': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (args.help) {
  console.log('npm run bench:students -- [--only name,name] [--data DIR] [--limit N] [--threads N] [--out DIR] [--teacher-from RUN.json [--teacher-out DIR]]');
  process.exit(0);
}

const limit = intArg('limit', args.limit, 1);
const threads = intArg('threads', args.threads, 1)!;
const only = args.only ? new Set(args.only.split(',')) : undefined;

/** The student benches: every bench/students/*.ts module exporting `bench` (types.ts excluded). */
async function discover(): Promise<StudentBench[]> {
  const dir = path.join(REPO_ROOT, 'bench/students');
  const found: StudentBench[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'types.ts')
    .sort()) {
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { bench?: StudentBench };
    if (mod.bench && typeof mod.bench.run === 'function') found.push(mod.bench);
  }
  return found;
}

const benches = (await discover()).filter((b) => !only || only.has(b.name));
if (only) for (const name of only) if (!benches.some((b) => b.name === name)) console.error(`--only: no student bench named "${name}"`);
if (benches.length === 0) {
  console.error('no student bench to run');
  process.exit(2);
}

const teacherFrom: TeacherFrom | undefined = args['teacher-from']
  ? {
      file: path.relative(REPO_ROOT, path.resolve(args['teacher-from'])),
      rows: (JSON.parse(readFileSync(args['teacher-from'], 'utf8')) as { rows: Array<StudentRow & { bench: string }> }).rows.filter(
        (r) => r.role === 'teacher',
      ),
      outDir: args['teacher-out'] ?? args.out,
    }
  : undefined;

const stamp = timestamp();
const machine = machineInfo(); // load average at the start
const rows: Array<StudentRow & { bench: string }> = [];
const started = Date.now();
for (const b of benches) {
  console.log(`== ${b.name}`);
  const got = await b.run({ dataRoot: args.data, limit, outDir: args.out, threads, teacherFrom });
  rows.push(...got.map((r) => ({ bench: b.name, ...r })));
}

const metricNames = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
console.log(
  '\n' +
    table(
      ['bench', 'model', 'role', 'dataset', 'split', 'n', ...metricNames, 's/MP', 'peak RSS MiB'],
      rows.map((r) => [
        r.bench,
        r.model,
        r.role,
        r.dataset,
        r.split,
        r.images,
        ...metricNames.map((m) => r.metrics[m] ?? NaN),
        r.secondsPerMegapixel,
        r.peakRssMiB,
      ]),
    ),
);

const files = await writeJsonPair(args.out, 'students', stamp, {
  command: commandLine(),
  machine,
  loadavgAtEnd: loadavg(),
  wallSeconds: round((Date.now() - started) / 1000, 1),
  threads,
  notes:
    "One child process per model and pass: peakRssMiB is that process's maxRSS. s/MP = wall time of the library call (tiling, inference, blending) over " +
    "the megapixels processed, decoding and metrics excluded, one warm-up inference per tile shape first. Metrics in each bench's convention (named in the key). " +
    'The machine is shared with other work: compare student and teacher from the same run.' +
    (teacherFrom ? ` Teacher rows reused from ${teacherFrom.file} (not rerun; their timings and load are that run's).` : ''),
  teacherFrom: teacherFrom?.file,
  rows,
});

// Plot: per bench and dataset, the quality metric and the speed of student and teacher.
const colours: Record<StudentRow['role'], string> = { student: '#2a7ab0', teacher: '#c0504d', baseline: '#888888' };
const quality = rows.filter((r) => r.metrics.psnrY !== undefined || r.metrics.psnr !== undefined);
const label = (r: StudentRow & { bench: string }): string => `${r.model} · ${r.dataset}`;
const speedRows = [...new Map(rows.map((r) => [`${r.model}|${r.role}`, r])).values()];
const h1 = 80 + quality.length * 30;
const h2 = 80 + speedRows.length * 30;
const svg = svgDoc(
  1100,
  h1 + h2 + 40,
  [
    text(20, 24, `bench:students ${stamp} (${machine.cpuCount} cores, shared)`, { size: 14, weight: 'bold' }),
    hbarChart(
      { x: 20, y: 36, w: 1060, h: h1 },
      quality.map((r) => ({ label: label(r), value: r.metrics.psnrY ?? r.metrics.psnr, color: colours[r.role], note: r.split })),
      { title: 'PSNR (dB; Y = MATLAB luma where named psnrY)', unit: 'dB', labelWidth: 430 },
    ),
    hbarChart(
      { x: 20, y: 36 + h1, w: 1060, h: h2 },
      speedRows.map((r) => ({ label: r.model, value: r.secondsPerMegapixel, color: colours[r.role], note: `${r.peakRssMiB} MiB peak` })),
      { title: 'seconds per megapixel (lower is faster)', unit: 's/MP', labelWidth: 430 },
    ),
  ].join('\n'),
);
const png = path.join(args.out, 'students-latest.png');
await writeSvgPng(png, svg);
console.log(`\nwrote ${[...files, png].join(', ')}`);
