/**
 * Degradation recognition benchmark and calibration (src/restore/auto/analyze.ts).
 *
 *   node --import tsx bench/analyze.ts [--data ../shared/data] [--out bench/results]
 *
 * Labelled images (nothing is copied into the repository; read from --data):
 *   rain      derain/rain100H-dev/rainy, derain/samples/rain100H_style_jorder_e/test/small/rain,
 *             derain/samples/rain100L_airnet/input, derain/samples/rain100L_mfdnet/input,
 *             derain/samples/ddn_xmu/synthetic/*rain*, derain/samples/ddn_xmu/real_world
 *   haze      dehaze/real-hazy, dehaze/sots-outdoor-pairs/input
 *   lowlight  lowlight/DICM, lowlight/LIME, lowlight/LOL-eval15-low
 *   clean     the ground truths: derain/rain100H-dev/clean, .../norain, rain100L_*\/target,
 *             ddn_xmu/synthetic/*ground_truth*, dehaze/sots-outdoor-pairs/target
 *   noise, blur, jpeg: SYNTHETIC, made here from every clean image (there are no real labelled
 *             ones in the data): Gaussian noise sigma 15-30 (8-bit levels) per channel, rounded to
 *             8 bits; Gaussian blur sigma 1.5-3.0 px; JPEG quality 10-20 (sharp/mozjpeg defaults,
 *             4:2:0). The parameter of each is drawn from a hash of the source file name.
 *
 * Split (deterministic, by rule): inside every source folder the files are sorted by name with
 * numeric collation; positions 0, 2, 4, ... (1st, 3rd, ...) are CALIBRATION, positions 1, 3, 5, ...
 * are HELD OUT. Paired folders (rainy/clean, input/target) have the same names, so a scene and its
 * ground truth always fall on the same side, and each synthetic image inherits the side of the clean
 * image it was made from: no scene is on both sides.
 *
 * Fitting (calibration split only): for each degradation, a one-vs-rest logistic regression on the
 * features of SCORE_FEATURES, standardised, classes weighted to equal total weight, L2 penalty
 * LAMBDA on the weights (not the bias), solved by Newton's method. Then the 'clean' threshold on the
 * top score: the value in 0.30..0.80 (step 0.05) with the most correct primaries on the calibration
 * split (ties: nearest 0.5). The fitted numbers are printed as a block to paste into
 * DEGRADATION_CALIBRATION; the held-out figures are reported for the library's committed
 * calibration (what users get) and, when they differ, for the fresh fit.
 *
 * Output: a markdown table on stdout, bench/results/analyze-<stamp>.json, analyze-latest.json and
 * analyze-latest.png (the held-out confusion matrix).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

import { createImage, decodeImage, type RawImage } from '../src/core/image/index.js';
import {
  DEGRADATION_CALIBRATION,
  DEGRADATIONS,
  SCORE_FEATURES,
  analyzeDegradations,
  primaryFromScores,
  scoresFromEvidence,
  type Degradation,
  type DegradationCalibration,
  type DegradationEvidence,
  type DegradationScores,
  type PrimaryDegradation,
  type ScoreCalibration,
} from '../src/restore/auto/analyze.js';
import { computeEvidence } from '../src/restore/auto/evidence.js';
import { commandLine, loadavg, machineInfo, median, rect, round, svgDoc, text, timestamp, writeJsonPair, writeSvgPng } from './lib/common.js';
import { mulberry32 } from '../src/core/random.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(REPO, '../shared/data') },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
  },
});
const dataDir = path.resolve(args.data!);
const outDir = path.resolve(args.out!);

const LAMBDA = 0.01;
const CLASSES: readonly PrimaryDegradation[] = [...DEGRADATIONS, 'clean'];
const SYNTHETIC: ReadonlySet<PrimaryDegradation> = new Set(['noise', 'blur', 'jpeg']);

// ---------------------------------------------------------------------------------------------
// Data

interface Source {
  label: 'rain' | 'haze' | 'lowlight' | 'clean';
  dir: string;
  filter?: (name: string) => boolean;
}

const SOURCES: readonly Source[] = [
  { label: 'rain', dir: 'derain/rain100H-dev/rainy' },
  { label: 'rain', dir: 'derain/samples/rain100H_style_jorder_e/test/small/rain' },
  { label: 'rain', dir: 'derain/samples/rain100L_airnet/input' },
  { label: 'rain', dir: 'derain/samples/rain100L_mfdnet/input' },
  { label: 'rain', dir: 'derain/samples/ddn_xmu/synthetic', filter: (f) => f.includes('rain') },
  { label: 'rain', dir: 'derain/samples/ddn_xmu/real_world' },
  { label: 'haze', dir: 'dehaze/real-hazy' },
  { label: 'haze', dir: 'dehaze/sots-outdoor-pairs/input' },
  { label: 'lowlight', dir: 'lowlight/DICM' },
  { label: 'lowlight', dir: 'lowlight/LIME' },
  { label: 'lowlight', dir: 'lowlight/LOL-eval15-low' },
  { label: 'clean', dir: 'derain/rain100H-dev/clean' },
  { label: 'clean', dir: 'derain/samples/rain100H_style_jorder_e/test/small/norain' },
  { label: 'clean', dir: 'derain/samples/rain100L_airnet/target' },
  { label: 'clean', dir: 'derain/samples/rain100L_mfdnet/target' },
  { label: 'clean', dir: 'derain/samples/ddn_xmu/synthetic', filter: (f) => f.includes('ground_truth') },
  { label: 'clean', dir: 'dehaze/sots-outdoor-pairs/target' },
];

const IMAGE_EXT = /\.(png|jpe?g|bmp|webp|tiff?)$/i;
const collator = new Intl.Collator('en', { numeric: true });

type Split = 'calibration' | 'heldout';

interface Sample {
  id: string;
  label: PrimaryDegradation;
  split: Split;
  synthetic: boolean;
  /** Synthesis parameter: noise sigma (8-bit), blur sigma (px) or JPEG quality. */
  param?: number;
  evidence: DegradationEvidence;
  ms: number;
}

/** FNV-1a of a string, for per-file deterministic parameters. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}


const to8 = (v: number): number => Math.max(0, Math.min(255, Math.round(v * 255)));

function addNoise(img: RawImage, sigma8: number, seed: number): RawImage {
  const r = mulberry32(seed);
  const out = createImage(img.width, img.height, img.channels);
  const s = sigma8 / 255;
  for (let i = 0; i < out.data.length; i += 2) {
    const u = Math.max(1e-12, r());
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    out.data[i] = to8(img.data[i] + s * m * Math.cos(2 * Math.PI * v)) / 255;
    if (i + 1 < out.data.length) out.data[i + 1] = to8(img.data[i + 1] + s * m * Math.sin(2 * Math.PI * v)) / 255;
  }
  return out;
}

/** Separable Gaussian blur (radius ceil(3 sigma), edges replicated), rounded to 8 bits. */
function gaussianBlur(img: RawImage, sigma: number): RawImage {
  const { width: w, height: h, channels: c } = img;
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const kn = k.map((v) => v / sum);
  const tmp = new Float32Array(img.data.length);
  const out = createImage(w, h, c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) acc += kn[t + r] * img.data[(y * w + Math.min(w - 1, Math.max(0, x + t))) * c + ch];
        tmp[(y * w + x) * c + ch] = acc;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) acc += kn[t + r] * tmp[(Math.min(h - 1, Math.max(0, y + t)) * w + x) * c + ch];
        out.data[(y * w + x) * c + ch] = to8(acc) / 255;
      }
    }
  }
  return out;
}

async function jpegRoundTrip(img: RawImage, quality: number): Promise<RawImage> {
  const raw = Buffer.alloc(img.data.length);
  for (let i = 0; i < raw.length; i++) raw[i] = to8(img.data[i]);
  const jpg = await sharp(raw, { raw: { width: img.width, height: img.height, channels: img.channels } }).jpeg({ quality }).toBuffer();
  return (await decodeImage(jpg)).image;
}

function measure(img: RawImage): { evidence: DegradationEvidence; ms: number } {
  const t0 = performance.now();
  const evidence = computeEvidence(img);
  return { evidence, ms: performance.now() - t0 };
}

async function loadSamples(): Promise<{ samples: Sample[]; missing: string[] }> {
  const samples: Sample[] = [];
  const missing: string[] = [];
  for (const src of SOURCES) {
    const dir = path.join(dataDir, src.dir);
    if (!existsSync(dir)) {
      missing.push(src.dir);
      continue;
    }
    const files = (await readdir(dir)).filter((f) => IMAGE_EXT.test(f) && (src.filter?.(f) ?? true)).sort(collator.compare);
    for (const [pos, f] of files.entries()) {
      const id = `${src.dir}/${f}`;
      const split: Split = pos % 2 === 0 ? 'calibration' : 'heldout';
      const { image } = await decodeImage(path.join(dir, f));
      samples.push({ id, label: src.label, split, synthetic: false, ...measure(image) });
      if (src.label !== 'clean') continue;
      const r = mulberry32(hash(id));
      const sigma = round(15 + 15 * r(), 2);
      samples.push({ id: `${id}#noise${sigma}`, label: 'noise', split, synthetic: true, param: sigma, ...measure(addNoise(image, sigma, hash(id) ^ 0x9e3779b9)) });
      const blur = round(1.5 + 1.5 * r(), 2);
      samples.push({ id: `${id}#blur${blur}`, label: 'blur', split, synthetic: true, param: blur, ...measure(gaussianBlur(image, blur)) });
      const q = 10 + Math.floor(11 * r());
      samples.push({ id: `${id}#jpeg${q}`, label: 'jpeg', split, synthetic: true, param: q, ...measure(await jpegRoundTrip(image, q)) });
    }
  }
  return { samples, missing };
}

// ---------------------------------------------------------------------------------------------
// Fitting

/** Solves A x = b (small, dense) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    [M[col], M[piv]] = [M[piv], M[col]];
    const d = M[col][col] || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = M[r][col] / d;
      for (let c = col; c <= n; c++) M[r][c] -= f * M[col][c];
    }
  }
  return M.map((row, i) => row[n] / (row[i] || 1e-12));
}

/** Balanced, L2-regularised logistic regression (Newton). Returns raw-scale bias and weights. */
function fitLogistic(X: number[][], y: number[], lambda: number): ScoreCalibration {
  const n = X.length;
  const p = X[0].length;
  const mu = Array.from({ length: p }, (_, j) => X.reduce((a, r) => a + r[j], 0) / n);
  const sd = Array.from({ length: p }, (_, j) => Math.sqrt(X.reduce((a, r) => a + (r[j] - mu[j]) ** 2, 0) / n) || 1);
  const Z = X.map((r) => [1, ...r.map((v, j) => (v - mu[j]) / sd[j])]);
  const nPos = y.filter((v) => v === 1).length;
  const nNeg = n - nPos;
  const w = y.map((v) => (v === 1 ? 0.5 / nPos : 0.5 / nNeg));
  const beta = new Array(p + 1).fill(0);
  for (let it = 0; it < 100; it++) {
    const g = new Array(p + 1).fill(0);
    const H = Array.from({ length: p + 1 }, () => new Array(p + 1).fill(0));
    for (let i = 0; i < n; i++) {
      const z = Z[i].reduce((a, v, j) => a + v * beta[j], 0);
      const s = 1 / (1 + Math.exp(-z));
      const e = w[i] * (s - y[i]);
      const h = w[i] * s * (1 - s);
      for (let j = 0; j <= p; j++) {
        g[j] += e * Z[i][j];
        for (let k = 0; k <= p; k++) H[j][k] += h * Z[i][j] * Z[i][k];
      }
    }
    for (let j = 1; j <= p; j++) {
      g[j] += lambda * beta[j];
      H[j][j] += lambda;
    }
    const step = solve(H, g);
    let norm = 0;
    for (let j = 0; j <= p; j++) {
      beta[j] -= step[j];
      norm += step[j] * step[j];
    }
    if (Math.sqrt(norm) < 1e-10) break;
  }
  const weights = beta.slice(1).map((b, j) => b / sd[j]);
  const bias = beta[0] - beta.slice(1).reduce((a, b, j) => a + (b * mu[j]) / sd[j], 0);
  return { bias: round(bias, 4), weights: weights.map((v) => round(v, 4)) };
}

function fitCalibration(samples: readonly Sample[]): DegradationCalibration {
  const scores = {} as Record<Degradation, ScoreCalibration>;
  for (const d of DEGRADATIONS) {
    const X = samples.map((s) => SCORE_FEATURES[d].map((f) => f.of(s.evidence)));
    const y = samples.map((s) => (s.label === d ? 1 : 0));
    scores[d] = fitLogistic(X, y, LAMBDA);
  }
  const provisional: DegradationCalibration = { scores, primaryThreshold: 0.5 };
  const scored = samples.map((s) => ({ label: s.label, scores: scoresFromEvidence(s.evidence, provisional) }));
  let best = 0.5;
  let bestCorrect = -1;
  for (let t = 0.3; t <= 0.8 + 1e-9; t += 0.05) {
    const tr = round(t, 2);
    const correct = scored.filter((s) => primaryFromScores(s.scores, tr) === s.label).length;
    if (correct > bestCorrect || (correct === bestCorrect && Math.abs(tr - 0.5) < Math.abs(best - 0.5))) {
      bestCorrect = correct;
      best = tr;
    }
  }
  return { scores, primaryThreshold: best };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface Evaluation {
  n: number;
  correct: number;
  accuracy: number;
  /** Accuracy over the real (non-synthetic) images only. */
  realAccuracy: number;
  realN: number;
  perClass: Record<string, { n: number; correct: number; accuracy: number }>;
  /** confusion[true][predicted] */
  confusion: Record<string, Record<string, number>>;
  misses: Array<{ id: string; label: string; predicted: string; top: string }>;
}

interface Scored {
  sample: Sample;
  scores: DegradationScores;
  predicted: PrimaryDegradation;
}

function score(samples: readonly Sample[], cal: DegradationCalibration): Scored[] {
  return samples.map((sample) => {
    const scores = scoresFromEvidence(sample.evidence, cal);
    return { sample, scores, predicted: primaryFromScores(scores, cal.primaryThreshold) };
  });
}

function evaluate(scored: readonly Scored[]): Evaluation {
  const confusion: Record<string, Record<string, number>> = {};
  for (const t of CLASSES) confusion[t] = Object.fromEntries(CLASSES.map((p) => [p, 0]));
  const perClass: Evaluation['perClass'] = {};
  const misses: Evaluation['misses'] = [];
  let correct = 0;
  let realN = 0;
  let realCorrect = 0;
  for (const s of scored) {
    const t = s.sample.label;
    confusion[t][s.predicted]++;
    perClass[t] ??= { n: 0, correct: 0, accuracy: 0 };
    perClass[t].n++;
    const ok = s.predicted === t;
    if (ok) {
      correct++;
      perClass[t].correct++;
    } else {
      const top = DEGRADATIONS.map((d) => `${d} ${s.scores[d].toFixed(2)}`).join(', ');
      misses.push({ id: s.sample.id, label: t, predicted: s.predicted, top });
    }
    if (!s.sample.synthetic) {
      realN++;
      if (ok) realCorrect++;
    }
  }
  for (const c of Object.values(perClass)) c.accuracy = round(c.correct / c.n, 4);
  return {
    n: scored.length,
    correct,
    accuracy: round(correct / scored.length, 4),
    realAccuracy: round(realCorrect / Math.max(1, realN), 4),
    realN,
    perClass,
    confusion,
    misses,
  };
}

function confusionMarkdown(ev: Evaluation): string {
  const head = `| true \\ predicted | ${CLASSES.join(' | ')} | n | correct |`;
  const sep = `|---|${CLASSES.map(() => '---:').join('|')}|---:|---:|`;
  const rows = CLASSES.filter((t) => ev.perClass[t]).map((t) => {
    const pc = ev.perClass[t];
    const cells = CLASSES.map((p) => (ev.confusion[t][p] ? (p === t ? `**${ev.confusion[t][p]}**` : String(ev.confusion[t][p])) : '.'));
    return `| ${t}${SYNTHETIC.has(t) ? ' (synthetic)' : ''} | ${cells.join(' | ')} | ${pc.n} | ${(100 * pc.accuracy).toFixed(0)}% |`;
  });
  return [head, sep, ...rows].join('\n');
}

/** The confusion matrix as a heat map (row-normalised shading, counts written in the cells). */
function confusionSvg(ev: Evaluation, title: string): string {
  const cell = 64;
  const left = 150;
  const top = 90;
  const rows = CLASSES.filter((t) => ev.perClass[t]);
  const parts: string[] = [text(20, 30, title, { size: 16, weight: 'bold' }), text(left + (CLASSES.length * cell) / 2, top - 40, 'predicted', { anchor: 'middle' })];
  CLASSES.forEach((p, j) => parts.push(text(left + j * cell + cell / 2, top - 10, p, { size: 12, anchor: 'middle' })));
  rows.forEach((t, i) => {
    const n = ev.perClass[t].n;
    parts.push(text(left - 10, top + i * cell + cell / 2 + 5, `${t}${SYNTHETIC.has(t) ? '*' : ''}`, { size: 12, anchor: 'end' }));
    CLASSES.forEach((p, j) => {
      const c = ev.confusion[t][p];
      const f = n ? c / n : 0;
      const shade = Math.round(255 - 200 * f);
      const fill = p === t ? `rgb(${shade},${Math.min(255, shade + 40)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(rect(left + j * cell, top + i * cell, cell - 2, cell - 2, c ? fill : '#f4f4f4'));
      if (c) parts.push(text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 5, String(c), { size: 14, anchor: 'middle', fill: f > 0.6 ? '#fff' : '#222' }));
    });
    parts.push(text(left + CLASSES.length * cell + 10, top + i * cell + cell / 2 + 5, `${(100 * ev.perClass[t].accuracy).toFixed(0)}% of ${n}`, { size: 12 }));
  });
  const bottom = top + rows.length * cell + 30;
  parts.push(text(20, bottom, `held-out accuracy ${(100 * ev.accuracy).toFixed(1)}% (${ev.correct}/${ev.n}); real images ${(100 * ev.realAccuracy).toFixed(1)}% of ${ev.realN}; * synthetic`, { size: 13 }));
  return svgDoc(left + CLASSES.length * cell + 130, bottom + 20, parts.join('\n'));
}

function calibrationBlock(cal: DegradationCalibration): string {
  const lines = DEGRADATIONS.map((d) => `    ${d}: { bias: ${cal.scores[d].bias}, weights: [${cal.scores[d].weights.join(', ')}] },`);
  return `  scores: {\n${lines.join('\n')}\n  },\n  primaryThreshold: ${cal.primaryThreshold},`;
}

function sameCalibration(a: DegradationCalibration, b: DegradationCalibration): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------------------------

async function timeOneMegapixel(samples: readonly Sample[]): Promise<{ source: string; width: number; height: number; medianMs: number; runs: number } | undefined> {
  const src = samples.find((s) => !s.synthetic && s.label === 'haze') ?? samples.find((s) => !s.synthetic);
  if (!src) return undefined;
  const file = path.join(dataDir, src.id);
  const { image } = await decodeImage(file);
  // Resize with sharp to about 1 MP (Lanczos 3), keeping the aspect ratio.
  const k = Math.sqrt(1_000_000 / (image.width * image.height));
  const width = Math.round(image.width * k);
  const height = Math.round(image.height * k);
  const raw = Buffer.alloc(image.data.length);
  for (let i = 0; i < raw.length; i++) raw[i] = to8(image.data[i]);
  const png = await sharp(raw, { raw: { width: image.width, height: image.height, channels: image.channels } }).resize(width, height).png().toBuffer();
  const big = (await decodeImage(png)).image;
  analyzeDegradations(big); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    analyzeDegradations(big);
    times.push(performance.now() - t0);
  }
  return { source: src.id, width: big.width, height: big.height, medianMs: round(median(times), 1), runs: times.length };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const started = performance.now();
  const { samples, missing } = await loadSamples();
  if (samples.length === 0) throw new Error(`no labelled images under ${dataDir}`);
  const calib = samples.filter((s) => s.split === 'calibration');
  const held = samples.filter((s) => s.split === 'heldout');

  const fitted = fitCalibration(calib);
  const committed = DEGRADATION_CALIBRATION;
  const identical = sameCalibration(fitted, committed);
  const heldCommitted = evaluate(score(held, committed));
  const calibCommitted = evaluate(score(calib, committed));
  const heldFitted = identical ? heldCommitted : evaluate(score(held, fitted));
  const timing = await timeOneMegapixel(samples);

  const counts = (list: readonly Sample[]) => Object.fromEntries(CLASSES.map((c) => [c, list.filter((s) => s.label === c).length]));
  const result = {
    benchmark: 'analyze',
    command: commandLine(),
    date: new Date().toISOString(),
    machine: { ...machine, loadavgAtEnd: loadavg() },
    data: dataDir,
    missingSources: missing,
    split: 'per source folder, files sorted by name (numeric collation): even positions (1st, 3rd, ...) = calibration, odd positions (2nd, 4th, ...) = held out; synthetic noise/blur/jpeg images inherit the side of their clean source',
    synthetic: 'noise: Gaussian sigma 15-30 (8-bit) per channel, rounded to 8 bits; blur: Gaussian sigma 1.5-3.0 px; jpeg: sharp quality 10-20; made from the clean images',
    fitting: `one-vs-rest logistic regression per degradation on SCORE_FEATURES, standardised, balanced classes, L2 lambda ${LAMBDA}, Newton; clean threshold searched in 0.30..0.80`,
    counts: { calibration: counts(calib), heldout: counts(held) },
    committedCalibration: committed,
    fittedCalibration: fitted,
    committedEqualsFitted: identical,
    heldout: heldCommitted,
    heldoutWithFreshFit: identical ? 'same as heldout' : heldFitted,
    calibrationSplit: { accuracy: calibCommitted.accuracy, realAccuracy: calibCommitted.realAccuracy, perClass: calibCommitted.perClass },
    timing: {
      evidenceMsPerImage: { median: round(median(samples.map((s) => s.ms)), 1), max: round(Math.max(...samples.map((s) => s.ms)), 1) },
      analyzeOneMegapixel: timing,
      totalSeconds: round((performance.now() - started) / 1000, 1),
    },
    samples: samples.map((s) => {
      const sc = scoresFromEvidence(s.evidence, committed);
      return {
        id: s.id,
        label: s.label,
        split: s.split,
        synthetic: s.synthetic,
        ...(s.param !== undefined ? { param: s.param } : {}),
        predicted: primaryFromScores(sc, committed.primaryThreshold),
        scores: Object.fromEntries(DEGRADATIONS.map((d) => [d, round(sc[d], 4)])),
        evidence: Object.fromEntries(Object.entries(s.evidence).map(([k, v]) => [k, round(v, 5)])),
      };
    }),
  };
  const stamp = timestamp();
  const files = await writeJsonPair(outDir, 'analyze', stamp, result);
  const png = path.join(outDir, 'analyze-latest.png');
  await writeSvgPng(png, confusionSvg(heldCommitted, 'Degradation recognition: held-out confusion matrix (rows: true class)'));
  files.push(png);

  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const out: string[] = [];
  out.push(`## Degradation recognition, held-out split (${heldCommitted.n} images; ${heldCommitted.realN} real, ${heldCommitted.n - heldCommitted.realN} synthetic)`);
  out.push('');
  out.push(confusionMarkdown(heldCommitted));
  out.push('');
  out.push('Held out by rule: in every source folder, the 2nd, 4th, 6th ... file by name (numeric order); synthetic noise/blur/jpeg images (made from the clean ground truths) follow their source. Fitted on the rest.');
  out.push(`Held-out accuracy: **${pct(heldCommitted.accuracy)}** (${heldCommitted.correct}/${heldCommitted.n}); real images only: ${pct(heldCommitted.realAccuracy)}; clean recognised as clean: ${heldCommitted.perClass.clean ? pct(heldCommitted.perClass.clean.accuracy) : 'n/a'}.`);
  out.push(`Calibration split (fitted on): ${pct(calibCommitted.accuracy)}. Library calibration ${identical ? 'equals' : 'DIFFERS FROM'} the fresh fit${identical ? '' : ` (fresh fit held-out: ${pct(heldFitted.accuracy)})`}.`);
  if (timing) out.push(`analyzeDegradations on ${timing.width}x${timing.height} (${timing.source} resized): ${timing.medianMs} ms (median of ${timing.runs}).`);
  if (missing.length) out.push(`Missing sources (skipped): ${missing.join(', ')}`);
  if (heldCommitted.misses.length) {
    out.push('');
    out.push('Held-out misses:');
    for (const m of heldCommitted.misses) out.push(`- ${m.id}: ${m.label} -> ${m.predicted} (${m.top})`);
  }
  if (!identical) {
    out.push('');
    out.push('Fitted calibration (paste into DEGRADATION_CALIBRATION in src/restore/auto/analyze.ts):');
    out.push(calibrationBlock(fitted));
  }
  out.push('');
  out.push(`Wrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
