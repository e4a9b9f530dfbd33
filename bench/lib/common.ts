/**
 * Helpers shared by the benchmark scripts: machine facts, atomic JSON/PNG output, tables,
 * timing, and a tiny SVG chart kit rendered to PNG with sharp (librsvg). Bench-only code;
 * the library never imports it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';

import { writeFileAtomic } from '../../src/core/fs.js';

const require = createRequire(import.meta.url);

/** The repository root (bench/lib/ -> ../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A path under ../shared/data (beside the repository), the default data of every benchmark. */
export const sharedData = (rel = ''): string => path.resolve(REPO_ROOT, '../shared/data', rel);

/** Version of an installed package (walks node's lookup paths; "exports" maps may hide package.json). */
export function installedVersion(pkg: string): string {
  for (const base of require.resolve.paths(pkg) ?? []) {
    const file = path.join(base, pkg, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'not installed';
}

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  availableParallelism: number;
  totalMemGiB: number;
  platform: string;
  release: string;
  arch: string;
  node: string;
  onnxruntimeNode: string;
  sharp: string;
  tfjsCore: string;
  tfjsBackendWasm: string;
  loadavgAtStart: number[];
  loadavgAtEnd?: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemGiB: round(os.totalmem() / 2 ** 30, 2),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    node: process.version,
    onnxruntimeNode: installedVersion('onnxruntime-node'),
    sharp: installedVersion('sharp'),
    tfjsCore: installedVersion('@tensorflow/tfjs-core'),
    tfjsBackendWasm: installedVersion('@tensorflow/tfjs-backend-wasm'),
    loadavgAtStart: loadavg(),
  };
}

export const loadavg = (): number[] => os.loadavg().map((v) => round(v, 2));

/** The command line as the user would type it (npm strips its own part; we keep argv). */
export function commandLine(): string {
  const script = path.relative(process.cwd(), process.argv[1] ?? '');
  const npm = process.env.npm_lifecycle_event;
  const args = process.argv.slice(2).map(shellQuote).join(' ');
  return npm ? `npm run ${npm}${args ? ` -- ${args}` : ''}` : `node --import tsx ${script}${args ? ` ${args}` : ''}`;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Peak resident set size of this process so far, in MiB (resourceUsage().maxRSS is KiB on Linux). */
export const peakRssMiB = (): number => round(process.resourceUsage().maxRSS / 1024, 1);

export function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const now = (): number => performance.now() / 1000;

/** A filesystem-safe UTC timestamp, e.g. 20250101T120000Z. */
export const timestamp = (): string =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Writes `<dir>/<name>-<stamp>.json` and `<dir>/<name>-latest.json`, each atomically. */
export async function writeJsonPair(dir: string, name: string, stamp: string, value: unknown): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const text = `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
  const files = [path.join(dir, `${name}-${stamp}.json`), path.join(dir, `${name}-latest.json`)];
  for (const f of files) await writeFileAtomic(f, text, { force: true });
  return files;
}

/** Rasterises an SVG string to PNG (atomically) with sharp. */
export async function writeSvgPng(file: string, svg: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const png = await sharp(Buffer.from(svg), { density: 96 }).flatten({ background: '#ffffff' }).png().toBuffer();
  await writeFileAtomic(file, png, { force: true });
}

/** A plain-text table with right-aligned numeric columns. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmtNum(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(4);
}

// ---------------------------------------------------------------------------------------------
// SVG kit

export const FONT = 'DejaVu Sans, Liberation Sans, Lato, sans-serif';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function text(
  x: number,
  y: number,
  s: string,
  o: { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: string; fill?: string; rotate?: number } = {},
): string {
  const rot = o.rotate ? ` transform="rotate(${o.rotate} ${x} ${y})"` : '';
  return `<text x="${x}" y="${y}" font-family="${FONT}" font-size="${o.size ?? 13}" text-anchor="${o.anchor ?? 'start'}" font-weight="${o.weight ?? 'normal'}" fill="${o.fill ?? '#222'}"${rot}>${esc(s)}</text>`;
}

export function rect(x: number, y: number, w: number, h: number, fill: string, extra = ''): string {
  return `<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(0, w).toFixed(2)}" height="${Math.max(0, h).toFixed(2)}" fill="${fill}" ${extra}/>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke = '#222', width = 1, dash = ''): string {
  return `<line x1="${x1.toFixed(2)}" y1="${y1.toFixed(2)}" x2="${x2.toFixed(2)}" y2="${y2.toFixed(2)}" stroke="${stroke}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
}

/** "Nice" tick step for an axis spanning `span` with about `target` ticks. */
export function niceStep(span: number, target = 6): number {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/** Legend: coloured squares with labels, laid out left to right from (x, y). */
export function legend(x: number, y: number, items: Array<{ color: string; label: string; dash?: boolean }>, size = 13, maxWidth = Infinity): string {
  let cx = x;
  const parts: string[] = [];
  for (const it of items) {
    const itemW = (it.dash ? 22 : size) + 12 + it.label.length * size * 0.6 + 14;
    if (cx > x && cx + itemW - x > maxWidth) {
      cx = x;
      y += size + 8;
    }
    parts.push(it.dash ? line(cx, y - size / 3, cx + 22, y - size / 3, it.color, 2, '6 4') : rect(cx, y - size + 2, size, size, it.color));
    const w = it.dash ? 22 : size;
    parts.push(text(cx + w + 6, y, it.label, { size }));
    cx += w + 12 + it.label.length * size * 0.6 + 14;
  }
  return parts.join('\n');
}

/**
 * Horizontal bar chart inside the box (x, y, w, h): one bar per row, value labels at the bar
 * ends. Returns SVG elements.
 */
export function hbarChart(
  box: { x: number; y: number; w: number; h: number },
  rows: Array<{ label: string; value: number; color: string; note?: string }>,
  o: { title: string; unit: string; labelWidth?: number; rightMargin?: number },
): string {
  const parts: string[] = [];
  const labelW = o.labelWidth ?? 260;
  const plotX = box.x + labelW;
  const plotW = box.w - labelW - (o.rightMargin ?? 150);
  const top = box.y + 30;
  const rowH = Math.min(34, (box.h - 60) / Math.max(1, rows.length));
  const max = Math.max(...rows.map((r) => r.value).filter(Number.isFinite), 1e-9);
  const step = niceStep(max, 6);
  const axisMax = Math.ceil(max / step) * step;
  parts.push(text(box.x, box.y + 14, o.title, { size: 15, weight: 'bold' }));
  const bottom = top + rows.length * rowH;
  for (let t = 0; t <= axisMax + 1e-9; t += step) {
    const gx = plotX + (t / axisMax) * plotW;
    parts.push(line(gx, top, gx, bottom, '#ddd'));
    parts.push(text(gx, bottom + 16, trimNum(t), { size: 11, anchor: 'middle', fill: '#555' }));
  }
  parts.push(text(plotX + plotW / 2, bottom + 34, o.unit, { size: 12, anchor: 'middle' }));
  rows.forEach((r, i) => {
    const cy = top + i * rowH;
    const bw = Number.isFinite(r.value) ? (r.value / axisMax) * plotW : 0;
    parts.push(text(plotX - 8, cy + rowH * 0.62, r.label, { size: 12, anchor: 'end' }));
    parts.push(rect(plotX, cy + rowH * 0.15, bw, rowH * 0.7, r.color));
    parts.push(text(plotX + bw + 6, cy + rowH * 0.62, `${trimNum(r.value)}${r.note ? `  ${r.note}` : ''}`, { size: 12 }));
  });
  parts.push(line(plotX, top, plotX, bottom, '#222'));
  return parts.join('\n');
}

export function trimNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export function svgDoc(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${rect(0, 0, width, height, '#ffffff')}\n${body}\n</svg>\n`;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: our own CPU time and everybody else's, to qualify timings on a shared machine.

export interface CpuSnapshot {
  wall: number;
  /** user + system seconds of this process (all its threads, onnxruntime's included). */
  own: number;
  /** busy seconds of the whole machine (all cores), from /proc/stat; NaN where unavailable. */
  machineBusy: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const u = process.cpuUsage();
  let machineBusy = NaN;
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = first.reduce((a, b) => a + b, 0);
    const idle = (first[3] ?? 0) + (first[4] ?? 0); // idle + iowait
    machineBusy = (total - idle) / 100; // USER_HZ = 100 on Linux
  } catch {
    // not Linux
  }
  return { wall: now(), own: (u.user + u.system) / 1e6, machineBusy };
}

export interface CpuDelta {
  /** CPU seconds this process used. */
  ownCpuSeconds: number;
  /** CPU seconds other processes used meanwhile (machine busy - ours), i.e. contention. */
  othersCpuSeconds: number;
  /** Mean number of cores the other processes kept busy over the interval. */
  othersMeanCores: number;
}

export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
  const own = b.own - a.own;
  const others = Math.max(0, b.machineBusy - a.machineBusy - own);
  const wall = b.wall - a.wall;
  return { ownCpuSeconds: own, othersCpuSeconds: others, othersMeanCores: wall > 0 ? others / wall : NaN };
}

/**
 * Mean of `seconds` over the rows measured while other processes kept fewer than `maxOthers`
 * cores busy: the figure closest to an idle machine that a shared machine can give.
 */
export function uncontendedMean(
  rows: ReadonlyArray<{ seconds: number; othersMeanCores: number }>,
  maxOthers = 0.2,
): { count: number; maxOthersCores: number; secondsMean: number; secondsMedian: number } {
  const quiet = rows.filter((r) => r.othersMeanCores < maxOthers).map((r) => r.seconds);
  return { count: quiet.length, maxOthersCores: maxOthers, secondsMean: mean(quiet), secondsMedian: median(quiet) };
}

/**
 * An integer command-line value of at least `min` (undefined when the flag was not given). A bad value
 * is a usage error: the message names the flag, and the bench exits 2 before any work.
 */
export function intArg(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name}: expected an integer >= ${min}, got "${value}"`);
    process.exit(2);
  }
  return n;
}

/** Publishes a benchmark's report as docs/benchmarks/<name>.json (atomically; `indent` as that file has always been written). */
export async function publishJson(name: string, report: unknown, indent = 1): Promise<void> {
  await writeFileAtomic(path.join(REPO_ROOT, 'docs', 'benchmarks', `${name}.json`), `${JSON.stringify(report, null, indent)}\n`, { force: true });
  console.log(`published docs/benchmarks/${name}.json`);
}
