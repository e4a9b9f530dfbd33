/**
 * Heavy-rain benchmark: the learned deraining expert alone vs expert + physical veil removal
 * (src/restore/derain: derain, then removeVeil at several strengths), on Rain100H pairs.
 *
 *   node --import tsx bench/heavy-rain.ts [--data <dir with rainy/ and clean/>] [--limit N]
 *        [--strengths 0,0.25,0.5,0.75,1] [--veiled N] [--threads N] [--out <dir>]
 *
 * Per pair: the expert (MAXIM, Rain13K weights) runs once; the veil is estimated once on its
 * output (estimateVeil: dark channel prior, quad-tree atmospheric light, guided-filter
 * transmission) and removed at every strength (removeVeil with the precomputed estimate), so
 * the strengths cost milliseconds, not another expert run. Strength 0 = expert alone.
 *
 * --veiled N (default 0): the first N pairs are also run with a synthetic rain veil laid over
 * the rainy input by the model of rainModel.ts, I' = T I + (1 − T) A, with T from 0.45 (top row,
 * far) to 0.9 (bottom row, near) and A = [0.82, 0.84, 0.86] (Rain100H's rainy image is J + S, so
 * I' = T (J + S) + (1 − T) A is Li et al.'s heavy-rain model exactly). Ground truth: the same
 * clean image. This shows what veil removal does when a veil is there; the real rows show what
 * it does on Rain100H itself.
 *
 * Metrics (deraining papers' convention): PSNR and SSIM on the Y channel of MATLAB-style YCbCr,
 * 8-bit rounding, no border crop (src/core/metrics). Output: a table on stdout,
 * <out>/heavy-rain-<timestamp>.json, <out>/heavy-rain-latest.json and <out>/heavy-rain-latest.png
 * (default out: bench/results).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { decodeImage, derain, getModelCard, ImageModel, psnr, ssim, type RawImage } from '../src/index.js';
import { estimateVeil, gradientTransmission, removeVeil, synthesizeRain } from '../src/restore/derain/index.js';
import {
  commandLine,
  legend,
  line,
  loadavg,
  machineInfo,
  mean,
  niceStep,
  intArg,
  now,
  peakRssMiB,
  round,
  svgDoc,
  table,
  text,
  timestamp,
  trimNum,
  writeJsonPair,
  writeSvgPng,
} from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_DATA = path.resolve(REPO, '../shared/data/derain/rain100H-dev');
const MODEL = 'maxim-deraining';
const VEIL = { top: 0.45, bottom: 0.9, atmosphericLight: [0.82, 0.84, 0.86] as [number, number, number] };
const Y_CONVENTION =
  'PSNR/SSIM on the Y channel of MATLAB-style YCbCr (Y = 16 + 65.481 R + 128.553 G + 24.966 B, R,G,B in [0,1]), images clamped and rounded to 8 bits first, ' +
  'no border crop, peak 255; SSIM 11x11 Gaussian window, sigma 1.5 (BasicSR test_y_channel=True, crop_border=0).';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    limit: { type: 'string' },
    strengths: { type: 'string', default: '0,0.25,0.5,0.75,1' },
    veiled: { type: 'string', default: '0' },
    threads: { type: 'string' },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

if (args.help) {
  console.log('node --import tsx bench/heavy-rain.ts [--data DIR] [--limit N] [--strengths 0,0.25,0.5,0.75,1] [--veiled N] [--threads N] [--out DIR]');
  process.exit(0);
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const limit = intArg('limit', args.limit, 1);
const veiledCount = intArg('veiled', args.veiled, 0)!;
const threads = intArg('threads', args.threads, 1);
const outDir = path.resolve(args.out!);
const dataDir = path.resolve(args.data ?? DEFAULT_DATA);
const strengths = [...new Set([0, ...args.strengths!.split(',').map((s) => Number(s.trim()))])].sort((a, b) => a - b);
if (strengths.some((s) => !(s >= 0 && s <= 1))) fail(`--strengths: expected comma-separated numbers in [0, 1], got "${args.strengths}"`);

interface Pair {
  name: string;
  rainy: string;
  clean: string;
}

async function listPairs(dir: string): Promise<Pair[]> {
  const rainyDir = path.join(dir, 'rainy');
  const cleanDir = path.join(dir, 'clean');
  if (!existsSync(rainyDir) || !existsSync(cleanDir)) fail(`--data ${dir}: expected sub-folders rainy/ and clean/`);
  const names = (await readdir(rainyDir)).filter((f) => /^\d+\.png$/i.test(f)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  const pairs = names.map((f) => ({ name: f.replace(/\.png$/i, ''), rainy: path.join(rainyDir, f), clean: path.join(cleanDir, f) }));
  for (const p of pairs) if (!existsSync(p.clean)) fail(`no ground truth for ${p.rainy} (expected ${p.clean})`);
  if (pairs.length === 0) fail(`no N.png files in ${rainyDir}`);
  return limit ? pairs.slice(0, limit) : pairs;
}

const load = async (file: string): Promise<RawImage> => (await decodeImage(file)).image;
const metricsY = (a: RawImage, gt: RawImage) => ({ psnrY: psnr(a, gt, { channel: 'y' }), ssimY: ssim(a, gt, { channel: 'y' }) });

interface Variant {
  strength: number;
  psnrY: number;
  ssimY: number;
}

interface Row {
  name: string;
  kind: 'rain100H' | 'synthetic veil';
  width: number;
  height: number;
  input: { psnrY: number; ssimY: number };
  expertSeconds: number;
  veilEstimateSeconds: number;
  veilRemovalSecondsPerStrength: number;
  atmosphericLight: number[];
  meanTransmission: number;
  variants: Variant[];
  bestStrength: number;
}

async function evaluate(model: ImageModel, name: string, kind: Row['kind'], rainy: RawImage, clean: RawImage): Promise<Row> {
  const t0 = now();
  const streakFree = await derain(rainy, { model });
  const expertSeconds = now() - t0;
  const t1 = now();
  const veil = estimateVeil(streakFree);
  const veilEstimateSeconds = now() - t1;
  const variants: Variant[] = [];
  let removal = 0;
  for (const s of strengths) {
    const t2 = now();
    const out = removeVeil(streakFree, { strength: s, veil }).image;
    removal += now() - t2;
    variants.push({ strength: s, ...metricsY(out, clean) });
  }
  const best = variants.reduce((a, b) => (b.psnrY > a.psnrY ? b : a));
  return {
    name,
    kind,
    width: rainy.width,
    height: rainy.height,
    input: metricsY(rainy, clean),
    expertSeconds,
    veilEstimateSeconds,
    veilRemovalSecondsPerStrength: removal / strengths.length,
    atmosphericLight: veil.atmosphericLight.map((v) => round(v, 4)),
    meanTransmission: mean(Array.from(veil.transmission)),
    variants,
    bestStrength: best.strength,
  };
}

function summarise(rows: Row[]) {
  const expert = rows.map((r) => r.variants[0]!);
  return {
    pairs: rows.length,
    input: { psnrY: mean(rows.map((r) => r.input.psnrY)), ssimY: mean(rows.map((r) => r.input.ssimY)) },
    perStrength: strengths.map((s, k) => {
      const v = rows.map((r) => r.variants[k]!);
      return {
        strength: s,
        psnrY: mean(v.map((x) => x.psnrY)),
        ssimY: mean(v.map((x) => x.ssimY)),
        deltaPsnrYVsExpert: mean(v.map((x, i) => x.psnrY - expert[i]!.psnrY)),
        deltaSsimYVsExpert: mean(v.map((x, i) => x.ssimY - expert[i]!.ssimY)),
        imagesBetterThanExpert: v.filter((x, i) => x.psnrY > expert[i]!.psnrY).length,
      };
    }),
    oracleBestStrengthPerImage: { psnrY: mean(rows.map((r) => Math.max(...r.variants.map((v) => v.psnrY)))), strengths: rows.map((r) => r.bestStrength) },
    expertSecondsMean: mean(rows.map((r) => r.expertSeconds)),
    veilEstimateSecondsMean: mean(rows.map((r) => r.veilEstimateSeconds)),
    veilRemovalSecondsPerStrengthMean: mean(rows.map((r) => r.veilRemovalSecondsPerStrength)),
  };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const stamp = timestamp();
  const pairs = await listPairs(dataDir);
  const card = getModelCard(MODEL);
  const nVeiled = Math.min(veiledCount, pairs.length);
  console.log(
    `heavy-rain bench: ${pairs.length} Rain100H pairs from ${dataDir} (+ ${nVeiled} with a synthetic veil); expert ${card.id}; strengths ${strengths.join(', ')}`,
  );
  console.log(`load ${machine.loadavgAtStart.join(' ')} on ${machine.cpuCount} x ${machine.cpuModel}`);

  const model = await ImageModel.load(MODEL, { threads });
  const rows: Row[] = [];
  const t0 = now();
  try {
    for (const [i, pair] of pairs.entries()) {
      const [rainy, clean] = await Promise.all([load(pair.rainy), load(pair.clean)]);
      const kinds: Array<[Row['kind'], RawImage]> = [['rain100H', rainy]];
      if (i < nVeiled) {
        const T = gradientTransmission(rainy.width, rainy.height, VEIL.top, VEIL.bottom);
        kinds.push(['synthetic veil', synthesizeRain(rainy, { streaks: false, transmission: T, atmosphericLight: VEIL.atmosphericLight }).image]);
      }
      for (const [kind, input] of kinds) {
        const row = await evaluate(model, pair.name, kind, input, clean);
        rows.push(row);
        console.log(
          `  ${pair.name.padStart(3)} ${kind.padEnd(14)} input ${row.input.psnrY.toFixed(2)}  ` +
            row.variants.map((v) => `s=${v.strength}: ${v.psnrY.toFixed(2)}`).join('  ') +
            `  (expert ${row.expertSeconds.toFixed(1)} s, veil ${(row.veilEstimateSeconds * 1000).toFixed(0)} ms + ${(row.veilRemovalSecondsPerStrength * 1000).toFixed(0)} ms/strength)`,
        );
      }
    }
  } finally {
    await model.dispose();
  }
  machine.loadavgAtEnd = loadavg();

  const real = rows.filter((r) => r.kind === 'rain100H');
  const veiled = rows.filter((r) => r.kind === 'synthetic veil');
  const summary = {
    rain100H: summarise(real),
    syntheticVeil: veiled.length ? summarise(veiled) : undefined,
    wallSeconds: now() - t0,
    peakRssMiB: peakRssMiB(),
  };

  const headers = ['set', 'pairs', 'input', ...strengths.map((s) => (s === 0 ? 'expert (s=0)' : `+veil s=${s}`)), 'best fixed s', 'oracle s/img'];
  const body: Array<Array<string | number>> = [];
  for (const [label, s] of [
    ['Rain100H', summary.rain100H],
    ['synthetic veil', summary.syntheticVeil],
  ] as const) {
    if (!s) continue;
    const best = s.perStrength.reduce((a, b) => (b.psnrY > a.psnrY ? b : a));
    body.push([
      `${label} PSNR-Y`,
      String(s.pairs),
      s.input.psnrY,
      ...s.perStrength.map((p) => p.psnrY),
      String(best.strength),
      s.oracleBestStrengthPerImage.psnrY,
    ]);
    body.push([`${label} SSIM-Y`, String(s.pairs), s.input.ssimY, ...s.perStrength.map((p) => p.ssimY), '', '']);
    body.push([
      `${label} better/expert`,
      String(s.pairs),
      '',
      ...s.perStrength.map((p) => (p.strength === 0 ? '-' : `${p.imagesBetterThanExpert}/${s.pairs}`)),
      '',
      '',
    ]);
  }
  console.log(`\n${table(headers, body)}`);
  console.log(`\n${Y_CONVENTION}`);
  const r = summary.rain100H;
  const bestReal = r.perStrength.reduce((a, b) => (b.psnrY > a.psnrY ? b : a));
  console.log(
    `Rain100H: expert alone ${r.perStrength[0]!.psnrY.toFixed(2)} dB; best veil strength ${bestReal.strength} (${bestReal.psnrY.toFixed(2)} dB, ` +
      `${bestReal.deltaPsnrYVsExpert >= 0 ? '+' : ''}${bestReal.deltaPsnrYVsExpert.toFixed(3)} dB vs expert). ` +
      `Time: expert ${r.expertSecondsMean.toFixed(1)} s/img, veil estimate ${(r.veilEstimateSecondsMean * 1000).toFixed(0)} ms, removal ${(r.veilRemovalSecondsPerStrengthMean * 1000).toFixed(0)} ms/strength.`,
  );

  const result = {
    benchmark: 'heavy-rain',
    date: new Date().toISOString(),
    command: commandLine(),
    options: { data: dataDir, limit: limit ?? null, strengths, veiled: nVeiled, threads: threads ?? null, out: outDir },
    model: { id: card.id, package: card.packageName },
    pipeline:
      'expert = derain() (MAXIM Rain13K); veil = estimateVeil(expert output) (dark channel prior, omega 0.95, quad-tree A, guided-filter T); ' +
      'output = removeVeil(expert output, { strength: s, veil }): J = (I - A) / max(1 - s (1 - T), 0.1) + A. s = 0 is the expert alone.',
    syntheticVeil: { ...VEIL, model: "I' = T I + (1 - T) A on the Rain100H rainy image, T linear in the row from top to bottom" },
    metricConvention: Y_CONVENTION,
    machine,
    summary,
    images: rows,
  };
  const files = await writeJsonPair(outDir, 'heavy-rain', stamp, result);
  const png = path.join(outDir, 'heavy-rain-latest.png');
  await writeSvgPng(png, plot(summary.rain100H, summary.syntheticVeil));
  console.log(`\nwrote ${files.join(', ')}, ${png}`);
}

type Summary = ReturnType<typeof summarise>;

/** Mean PSNR-Y against the veil strength, one line per set, the expert alone at s = 0. */
function plot(real: Summary, veiled: Summary | undefined): string {
  const W = 900;
  const H = 560;
  const px = 90;
  const py = 90;
  const pw = W - px - 40;
  const ph = H - py - 90;
  const sets = [
    { s: real, color: '#1f77b4', label: `Rain100H (${real.pairs} pairs)` },
    ...(veiled ? [{ s: veiled, color: '#d62728', label: `Rain100H + synthetic veil (${veiled.pairs})` }] : []),
  ];
  const vals = sets.flatMap((x) => [...x.s.perStrength.map((p) => p.psnrY), x.s.input.psnrY]);
  const lo = Math.floor(Math.min(...vals) - 0.5);
  const hi = Math.ceil(Math.max(...vals) + 0.5);
  const step = niceStep(hi - lo, 8);
  const yMin = Math.floor(lo / step) * step;
  const yMax = Math.ceil(hi / step) * step;
  const X = (s: number): number => px + s * pw;
  const Y = (v: number): number => py + ph - ((v - yMin) / (yMax - yMin)) * ph;
  const parts: string[] = [
    text(W / 2, 30, 'Heavy rain: learned deraining, then physical veil removal at strength s', { size: 17, anchor: 'middle', weight: 'bold' }),
  ];
  parts.push(
    text(W / 2, 52, 'mean PSNR-Y vs ground truth (MATLAB YCbCr, 8-bit, no crop); s = 0 is the expert alone; dashed: rainy input', {
      size: 12,
      anchor: 'middle',
      fill: '#444',
    }),
  );
  for (let t = yMin; t <= yMax + 1e-9; t += step) {
    parts.push(line(px, Y(t), px + pw, Y(t), '#e3e3e3'));
    parts.push(text(px - 8, Y(t) + 4, trimNum(t), { size: 12, anchor: 'end', fill: '#444' }));
  }
  for (let s = 0; s <= 1 + 1e-9; s += 0.25) {
    parts.push(line(X(s), py, X(s), py + ph, '#eee'));
    parts.push(text(X(s), py + ph + 18, trimNum(s), { size: 12, anchor: 'middle', fill: '#444' }));
  }
  parts.push(text(px + pw / 2, py + ph + 42, 'veil strength s', { size: 14, anchor: 'middle' }));
  parts.push(text(26, py + ph / 2, 'PSNR-Y (dB)', { size: 14, anchor: 'middle', rotate: -90 }));
  for (const [k, set] of sets.entries()) {
    const pts = set.s.perStrength;
    const dy = k === 0 ? -8 : 18; // first set's labels above its points, the second's below
    for (let k = 1; k < pts.length; k++) parts.push(line(X(pts[k - 1]!.strength), Y(pts[k - 1]!.psnrY), X(pts[k]!.strength), Y(pts[k]!.psnrY), set.color, 2.5));
    for (const p of pts) {
      parts.push(`<circle cx="${X(p.strength).toFixed(1)}" cy="${Y(p.psnrY).toFixed(1)}" r="4" fill="${set.color}"/>`);
      parts.push(text(X(p.strength) + 6, Y(p.psnrY) + dy, p.psnrY.toFixed(2), { size: 11, fill: set.color }));
    }
    parts.push(line(px, Y(set.s.input.psnrY), px + pw, Y(set.s.input.psnrY), set.color, 1.2, '6 4'));
  }
  parts.push(line(px, py, px, py + ph, '#222'));
  parts.push(line(px, py + ph, px + pw, py + ph, '#222'));
  parts.push(
    legend(
      px + 10,
      py - 12,
      sets.map((x) => ({ color: x.color, label: x.label })),
    ),
  );
  return svgDoc(W, H, parts.join('\n'));
}

await main();
