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

import { decodeImage, type RawImage } from '../src/core/image/index.js';
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
import { addSensorNoise, gaussianBlur, jpegRoundTrip } from '../src/restore/auto/degradations.js';
import { DegradationRecognizer, LEARNED_THRESHOLD, RECOGNIZER_MODEL, analyzeImage } from '../src/restore/auto/recognizer.js';
import { DUPLICATE_DISTANCE, TEST_SOURCES, TRAIN_SOURCES, dHash, hamming, sourceFiles } from './lib/recognizerSplit.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { TRAINED_MODELS_DIR } from '../src/core/models/trained.js';
import { BackboneCandidate } from './lib/backboneCandidate.js';
import { EVIDENCE_MAX_SIDE } from '../src/restore/auto/recognizer.js';
import { boxDownscale } from '../src/restore/auto/evidence.js';

/** What the cross-source section measures as "learned": the committed recogniser or a candidate. */
interface LearnedJudge {
  id: string;
  recognize(img: RawImage): Promise<{ scores: DegradationScores; severity: DegradationScores; ms: number }>;
  /** The library's whole learned analysis (committed model: analyzeImage; candidate: its scores + the same explanatory evidence). */
  analyze(img: RawImage): Promise<{ scores: DegradationScores; severity: DegradationScores; primary: PrimaryDegradation }>;
  dispose(): Promise<void>;
}

/** Offsets by class from a JSON file {"offsets": [...]} in DEGRADATIONS order. */
function readOffsets(file: string): Record<string, number> {
  const { offsets } = JSON.parse(readFileSync(file, 'utf8')) as { offsets: number[] };
  if (!Array.isArray(offsets) || offsets.length !== DEGRADATIONS.length) throw new Error(`${file}: "offsets" must hold ${DEGRADATIONS.length} numbers`);
  return Object.fromEntries(DEGRADATIONS.map((d, i) => [d, offsets[i]]));
}

function committedJudge(recognizer: DegradationRecognizer): LearnedJudge {
  const offs = args.offsets ? ` + class priors ${JSON.stringify(readOffsets(args.offsets))}` : '';
  return {
    id: `${recognizer.id}${offs}`,
    recognize: (img) => recognizer.recognize(img),
    analyze: async (img) => {
      const a = await analyzeImage(img, { method: 'learned', recognizer });
      return { scores: a.scores, severity: a.severity!, primary: a.primary };
    },
    dispose: () => recognizer.dispose(),
  };
}

function candidateJudge(c: BackboneCandidate): LearnedJudge {
  return {
    id: c.id,
    recognize: (img) => c.recognize(img),
    analyze: async (img) => {
      // Same work as analyzeImage: the explanatory evidence on the reduced copy, then the scores.
      const f = Math.floor(Math.max(img.width, img.height) / EVIDENCE_MAX_SIDE);
      computeEvidence(f >= 2 ? boxDownscale(img, f) : img);
      const r = await c.recognize(img);
      return { scores: r.scores, severity: r.severity, primary: primaryFromScores(r.scores, LEARNED_THRESHOLD) };
    },
    dispose: () => c.dispose(),
  };
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: {
      type: 'string',
      default: existsSync(path.resolve(REPO, '../shared/data')) ? path.resolve(REPO, '../shared/data') : path.resolve(REPO, '../../shared/data'),
    },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    'write-card': { type: 'boolean', default: false },
    /** Smoke runs: at most this many files per cross-source test folder, and no calibration-split section. */
    limit: { type: 'string' },
    /** A candidate recogniser measured in place of the committed one: a frozen-backbone head JSON (training/recognizer_backbone.py) or a fine-tuned model folder (training/recognizer_finetune.py export). No card is written. */
    candidate: { type: 'string' },
    /** The committed recogniser with class priors: a JSON file with "offsets" in DEGRADATIONS order (training/recognizer_priors.py). No card is written. */
    offsets: { type: 'string' },
    /** The committed small network deciding, even when a backbone head is installed (the previous state, for comparison). */
    'network-decision': { type: 'boolean', default: false },
    /** With --candidate: ignore the head's class-prior offsets (measure the head as trained). */
    'no-offsets': { type: 'boolean', default: false },
  },
});
const dataDir = path.resolve(args.data!);
const outDir = path.resolve(args.out!);

const LAMBDA = 0.01;
const roundScores = (sc: DegradationScores): Record<string, number> => Object.fromEntries(DEGRADATIONS.map((d) => [d, round(sc[d], 4)]));
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
const addNoise = (img: RawImage, sigma8: number, seed: number): RawImage => addSensorNoise(img, { sigma: sigma8, seed });

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
    const files = (await readdir(dir))
      .filter((f) => IMAGE_EXT.test(f) && (src.filter?.(f) ?? true))
      .sort(collator.compare)
      .slice(0, args.limit ? 2 * Number(args.limit) : undefined);
    for (const [pos, f] of files.entries()) {
      const id = `${src.dir}/${f}`;
      const split: Split = pos % 2 === 0 ? 'calibration' : 'heldout';
      const { image } = await decodeImage(path.join(dir, f));
      samples.push({ id, label: src.label, split, synthetic: false, ...measure(image) });
      if (src.label !== 'clean') continue;
      const r = mulberry32(hash(id));
      const sigma = round(15 + 15 * r(), 2);
      samples.push({
        id: `${id}#noise${sigma}`,
        label: 'noise',
        split,
        synthetic: true,
        param: sigma,
        ...measure(addNoise(image, sigma, hash(id) ^ 0x9e3779b9)),
      });
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
  const parts: string[] = [
    text(20, 30, title, { size: 16, weight: 'bold' }),
    text(left + (CLASSES.length * cell) / 2, top - 40, 'predicted', { anchor: 'middle' }),
  ];
  CLASSES.forEach((p, j) => {
    parts.push(text(left + j * cell + cell / 2, top - 10, p, { size: 12, anchor: 'middle' }));
  });
  rows.forEach((t, i) => {
    const n = ev.perClass[t].n;
    parts.push(text(left - 10, top + i * cell + cell / 2 + 5, `${t}${SYNTHETIC.has(t) ? '*' : ''}`, { size: 12, anchor: 'end' }));
    CLASSES.forEach((p, j) => {
      const c = ev.confusion[t][p];
      const f = n ? c / n : 0;
      const shade = Math.round(255 - 200 * f);
      const fill = p === t ? `rgb(${shade},${Math.min(255, shade + 40)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(rect(left + j * cell, top + i * cell, cell - 2, cell - 2, c ? fill : '#f4f4f4'));
      if (c)
        parts.push(text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 5, String(c), { size: 14, anchor: 'middle', fill: f > 0.6 ? '#fff' : '#222' }));
    });
    parts.push(text(left + CLASSES.length * cell + 10, top + i * cell + cell / 2 + 5, `${(100 * ev.perClass[t].accuracy).toFixed(0)}% of ${n}`, { size: 12 }));
  });
  const bottom = top + rows.length * cell + 30;
  parts.push(
    text(
      20,
      bottom,
      `held-out accuracy ${(100 * ev.accuracy).toFixed(1)}% (${ev.correct}/${ev.n}); real images ${(100 * ev.realAccuracy).toFixed(1)}% of ${ev.realN}; * synthetic`,
      { size: 13 },
    ),
  );
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

async function timeOneMegapixel(
  samples: readonly Sample[],
): Promise<{ source: string; width: number; height: number; medianMs: number; runs: number } | undefined> {
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
  const png = await sharp(raw, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(width, height)
    .png()
    .toBuffer();
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

// ---------------------------------------------------------------------------------------------
// Cross-source evaluation (split S1): the learned recogniser beside the hand rules, on sources
// the recogniser never saw (bench/lib/recognizerSplit.ts names them).

interface CrossSample {
  file: string;
  group: string;
  label: PrimaryDegradation;
  outOfScope: boolean;
  synthetic: boolean;
  param?: number;
  width: number;
  height: number;
  rules: { scores: DegradationScores; primary: PrimaryDegradation };
  learned?: { scores: DegradationScores; severity: DegradationScores; primary: PrimaryDegradation; ms: number; analyzeMs: number };
}

interface CrossEval {
  n: number;
  correct: number;
  accuracy: number;
  perClass: Record<string, { n: number; correct: number; accuracy: number }>;
  perGroup: Record<string, { label: string; n: number; correct: number; accuracy: number }>;
  confusion: Record<string, Record<string, number>>;
  misses: Array<{ file: string; label: string; predicted: string; top: string }>;
}

function crossEvaluate(samples: readonly CrossSample[], which: 'rules' | 'learned'): CrossEval {
  const confusion: Record<string, Record<string, number>> = {};
  for (const t of CLASSES) confusion[t] = Object.fromEntries(CLASSES.map((p) => [p, 0]));
  const perClass: CrossEval['perClass'] = {};
  const perGroup: CrossEval['perGroup'] = {};
  const misses: CrossEval['misses'] = [];
  let correct = 0;
  for (const s of samples) {
    const r = which === 'rules' ? s.rules : s.learned!;
    confusion[s.label][r.primary]++;
    const ok = r.primary === s.label;
    perClass[s.label] ??= { n: 0, correct: 0, accuracy: 0 };
    perGroup[s.group] ??= { label: s.label, n: 0, correct: 0, accuracy: 0 };
    perClass[s.label].n++;
    perGroup[s.group].n++;
    if (ok) {
      correct++;
      perClass[s.label].correct++;
      perGroup[s.group].correct++;
    } else {
      misses.push({
        file: path.relative(dataDir, s.file),
        label: s.label,
        predicted: r.primary,
        top: DEGRADATIONS.map((d) => `${d} ${r.scores[d].toFixed(2)}`).join(', '),
      });
    }
  }
  for (const c of [...Object.values(perClass), ...Object.values(perGroup)]) c.accuracy = round(c.correct / c.n, 4);
  return { n: samples.length, correct, accuracy: round(correct / Math.max(1, samples.length), 4), perClass, perGroup, confusion, misses };
}

function crossConfusionMarkdown(ev: CrossEval): string {
  const head = `| true \\ predicted | ${CLASSES.join(' | ')} | n | correct |`;
  const sep = `|---|${CLASSES.map(() => '---:').join('|')}|---:|---:|`;
  const rows = CLASSES.filter((t) => ev.perClass[t]).map((t) => {
    const pc = ev.perClass[t];
    const cells = CLASSES.map((p) => (ev.confusion[t][p] ? (p === t ? `**${ev.confusion[t][p]}**` : String(ev.confusion[t][p])) : '.'));
    return `| ${t} | ${cells.join(' | ')} | ${pc.n} | ${(100 * pc.accuracy).toFixed(0)}% |`;
  });
  return [head, sep, ...rows].join('\n');
}

async function loadImageFile(file: string): Promise<RawImage> {
  return (await decodeImage(file)).image;
}

async function crossSource(recognizer: LearnedJudge | undefined): Promise<{
  real: CrossSample[];
  outOfScope: CrossSample[];
  synthetic: CrossSample[];
  dropped: Array<{ file: string; duplicateOf: string; distance: number }>;
}> {
  // Hashes of everything the recogniser trained on.
  const trainHashes: Array<{ file: string; h: bigint }> = [];
  for (const src of TRAIN_SOURCES) for (const f of sourceFiles(dataDir, src)) trainHashes.push({ file: f, h: dHash(await loadImageFile(f)) });
  const seen: Array<{ file: string; h: bigint; label: string }> = [];
  const dropped: Array<{ file: string; duplicateOf: string; distance: number }> = [];
  const real: CrossSample[] = [];
  const outOfScope: CrossSample[] = [];
  const synthetic: CrossSample[] = [];
  const judge = async (img: RawImage, base: Omit<CrossSample, 'rules' | 'learned' | 'width' | 'height'>): Promise<CrossSample> => {
    const evidence = computeEvidence(img);
    const rs = scoresFromEvidence(evidence);
    const sample: CrossSample = { ...base, width: img.width, height: img.height, rules: { scores: rs, primary: primaryFromScores(rs) } };
    if (recognizer) {
      const r = await recognizer.recognize(img);
      // The library's whole learned analysis (views, inference and the explanatory evidence), timed.
      const t0 = performance.now();
      const a = await recognizer.analyze(img);
      const analyzeMs = performance.now() - t0;
      sample.learned = { scores: a.scores, severity: a.severity!, primary: a.primary, ms: r.ms, analyzeMs };
    }
    return sample;
  };
  const limit = args.limit ? Number(args.limit) : Infinity;
  for (const src of TEST_SOURCES) {
    for (const file of sourceFiles(dataDir, src).slice(0, limit)) {
      const img = await loadImageFile(file);
      const h = dHash(img);
      // Any training scene is dropped (a Rain100L test picture on a Rain100H training background too); among
      // test pictures only repeats with the same label (a rainy picture and its clean ground truth both stay).
      const dup = [...trainHashes, ...seen.filter((t) => t.label === src.label)]
        .map((t) => ({ file: t.file, d: hamming(h, t.h) }))
        .find((t) => t.d <= DUPLICATE_DISTANCE);
      if (dup) {
        dropped.push({ file: path.relative(dataDir, file), duplicateOf: path.relative(dataDir, dup.file), distance: dup.d });
        continue;
      }
      seen.push({ file, h, label: src.label });
      const sample = await judge(img, { file, group: src.group, label: src.label, outOfScope: src.outOfScope ?? false, synthetic: false });
      (src.outOfScope ? outOfScope : real).push(sample);
      // Synthetic noise / blur / JPEG from the clean test photos that are not portraits (never trained on either).
      if (src.label === 'clean' && !src.group.startsWith('portraits')) {
        const r = mulberry32(hash(file));
        const sigma = round(15 + 15 * r(), 2);
        synthetic.push(
          await judge(addNoise(img, sigma, hash(file) ^ 0x9e3779b9), {
            file: `${file}#noise${sigma}`,
            group: 'synthetic noise',
            label: 'noise',
            outOfScope: false,
            synthetic: true,
            param: sigma,
          }),
        );
        const blur = round(1.5 + 1.5 * r(), 2);
        synthetic.push(
          await judge(gaussianBlur(img, blur), {
            file: `${file}#blur${blur}`,
            group: 'synthetic blur',
            label: 'blur',
            outOfScope: false,
            synthetic: true,
            param: blur,
          }),
        );
        const q = 10 + Math.floor(11 * r());
        synthetic.push(
          await judge(await jpegRoundTrip(img, q), {
            file: `${file}#jpeg${q}`,
            group: 'synthetic jpeg',
            label: 'jpeg',
            outOfScope: false,
            synthetic: true,
            param: q,
          }),
        );
      }
    }
  }
  return { real, outOfScope, synthetic, dropped };
}

/** How the cross-source synthetic test pictures are made (crossSource below). */
const SYNTHETIC_PARAMS: Readonly<Record<string, string>> = { noise: 'Gaussian sigma 15-30', blur: 'Gaussian sigma 1.5-3.0 px', jpeg: 'quality 10-20' };

/** Writes the cross-source figures into the recogniser's card (quality and speed), keeping its other fields. */
function writeCard(
  realLearned: CrossEval,
  synthLearned: CrossEval,
  realRules: CrossEval,
  clean: { n: number; untouched: number },
  timing: { medianMs: number; maxMs: number; n: number },
): void {
  const file = path.join(TRAINED_MODELS_DIR, RECOGNIZER_MODEL, 'card.json');
  const card = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const command = 'npm run bench:analyze -- --write-card';
  card.quality = [
    {
      dataset: `S1 test sources, real photos (${Object.keys(realLearned.perGroup).join('; ')})`,
      split: 'cross-source',
      metric: 'primary degradation accuracy',
      value: realLearned.accuracy,
      reference: { name: 'hand rules (calibrated partly on these sources)', value: realRules.accuracy },
      command,
    },
    ...Object.entries(realLearned.perClass).map(([c, v]) => ({
      dataset: `S1 test sources, real ${c} photos (n=${v.n})`,
      split: 'cross-source',
      metric: `${c} recall (primary)`,
      value: v.accuracy,
      reference: { name: 'hand rules', value: realRules.perClass[c]?.accuracy ?? 0 },
      command,
    })),
    {
      dataset: `S1 clean test photos and portraits (n=${clean.n})`,
      split: 'cross-source',
      metric: 'left untouched (empty plan)',
      value: round(clean.untouched / Math.max(1, clean.n), 4),
      command,
    },
    {
      dataset: `synthetic noise/blur/JPEG of S1 clean test photos (n=${synthLearned.n})`,
      split: 'cross-source',
      metric: 'primary degradation accuracy',
      value: synthLearned.accuracy,
      command,
    },
    ...Object.entries(synthLearned.perClass).map(([c, v]) => ({
      dataset: `synthetic ${c} of S1 clean test photos (${SYNTHETIC_PARAMS[c] ?? ''}, n=${v.n})`,
      split: 'cross-source',
      metric: `${c} recall (primary)`,
      value: v.accuracy,
      command,
    })),
  ];
  card.speed = [
    { what: `analyzeImage (views + inference + hand evidence), median over ${timing.n} test photos, 1 thread`, value: timing.medianMs, unit: 'ms', command },
    { what: 'same, slowest photo', value: timing.maxMs, unit: 'ms', command },
  ];
  writeFileSync(file, `${JSON.stringify(card, null, 2)}\n`);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const started = performance.now();
  // 1. Cross-source (S1): learned recogniser beside the hand rules.
  const recognizer: LearnedJudge | undefined = args.candidate
    ? candidateJudge(await BackboneCandidate.load(path.resolve(args.candidate), { offsets: !args['no-offsets'] }))
    : DegradationRecognizer.available()
      ? committedJudge(
          await DegradationRecognizer.load({
            threads: 1,
            ...(args.offsets ? { priorOffsets: readOffsets(args.offsets), decision: 'network' as const } : {}),
            ...(args['network-decision'] ? { decision: 'network' as const } : {}),
          }),
        )
      : undefined;
  const cross = await crossSource(recognizer);
  await recognizer?.dispose();
  const crossRules = crossEvaluate(cross.real, 'rules');
  const crossRulesSynthetic = crossEvaluate(cross.synthetic, 'rules');
  const crossRulesOut = crossEvaluate(cross.outOfScope, 'rules');
  const crossLearned = recognizer ? crossEvaluate(cross.real, 'learned') : undefined;
  const crossLearnedSynthetic = recognizer ? crossEvaluate(cross.synthetic, 'learned') : undefined;
  const crossLearnedOut = recognizer ? crossEvaluate(cross.outOfScope, 'learned') : undefined;
  const cleanReal = cross.real.filter((s) => s.label === 'clean');
  const untouched = (which: 'rules' | 'learned') => cleanReal.filter((s) => (which === 'rules' ? s.rules : s.learned!).primary === 'clean').length;
  const learnedTimes = cross.real.filter((s) => s.learned).map((s) => s.learned!.analyzeMs);
  const learnedTiming = learnedTimes.length
    ? { medianMs: round(median(learnedTimes), 1), maxMs: round(Math.max(...learnedTimes), 1), n: learnedTimes.length }
    : undefined;
  const netTimes = cross.real.filter((s) => s.learned).map((s) => s.learned!.ms);
  const netTiming = netTimes.length ? { medianMs: round(median(netTimes), 1), maxMs: round(Math.max(...netTimes), 1) } : undefined;
  const largest = [...cross.real].sort((a, b) => b.width * b.height - a.width * a.height)[0];
  if (args['write-card'] && args.offsets) throw new Error('--write-card: not with --offsets (a candidate)');
  if (args['write-card'] && args.candidate) throw new Error("--write-card writes the committed model's card: not with --candidate");
  if (args['write-card'] && !args.limit && crossLearned && crossLearnedSynthetic && learnedTiming) {
    writeCard(crossLearned, crossLearnedSynthetic, crossRules, { n: cleanReal.length, untouched: untouched('learned') }, learnedTiming);
  }

  // 2. The hand rules' own calibration split (even/odd positions), as before.
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
    split:
      'per source folder, files sorted by name (numeric collation): even positions (1st, 3rd, ...) = calibration, odd positions (2nd, 4th, ...) = held out; synthetic noise/blur/jpeg images inherit the side of their clean source',
    synthetic:
      'noise: Gaussian sigma 15-30 (8-bit) per channel, rounded to 8 bits; blur: Gaussian sigma 1.5-3.0 px; jpeg: sharp quality 10-20; made from the clean images',
    fitting: `one-vs-rest logistic regression per degradation on SCORE_FEATURES, standardised, balanced classes, L2 lambda ${LAMBDA}, Newton; clean threshold searched in 0.30..0.80`,
    counts: { calibration: counts(calib), heldout: counts(held) },
    crossSource: {
      split:
        'S1 (bench/lib/recognizerSplit.ts): recogniser trained on synthetic degradations of clean-photos/{Kodak24,McMaster,CBSD68} + rain100H-dev clean, and real rain100H-dev rainy/clean, hazy_real bahat_irani_*, lowlight/DICM; tested on every other labelled source, test images within dHash distance 10 of a training image or an earlier test image dropped',
      recognizer: recognizer ? recognizer.id : null,
      candidate: args.candidate ?? (args.offsets ? `offsets ${args.offsets}` : null),
      learnedThreshold: LEARNED_THRESHOLD,
      dropped: cross.dropped,
      counts: { real: cross.real.length, outOfScope: cross.outOfScope.length, synthetic: cross.synthetic.length },
      learned: crossLearned
        ? {
            real: crossLearned,
            synthetic: crossLearnedSynthetic,
            outOfScope: crossLearnedOut,
            cleanUntouched: untouched('learned'),
            timing: learnedTiming,
            recognizerOnlyTiming: netTiming,
          }
        : null,
      rules: {
        real: crossRules,
        synthetic: crossRulesSynthetic,
        outOfScope: crossRulesOut,
        cleanUntouched: untouched('rules'),
        note: 'the hand rules were calibrated on the even-position half of most of these sources: an optimistic figure for them',
      },
      samples: [...cross.real, ...cross.outOfScope, ...cross.synthetic].map((s) => ({
        file: path.relative(dataDir, s.file),
        group: s.group,
        label: s.label,
        width: s.width,
        height: s.height,
        rules: { primary: s.rules.primary, scores: roundScores(s.rules.scores) },
        ...(s.learned
          ? {
              learned: {
                primary: s.learned.primary,
                scores: roundScores(s.learned.scores),
                severity: roundScores(s.learned.severity),
                ms: round(s.learned.analyzeMs, 1),
              },
            }
          : {}),
      })),
    },
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
  if (crossLearned) {
    const asEval = (ev: CrossEval): Evaluation => ({ ...ev, realAccuracy: ev.accuracy, realN: ev.n, misses: ev.misses.map((m) => ({ ...m, id: m.file })) });
    const learnedPng = path.join(outDir, 'analyze-learned-latest.png');
    await writeSvgPng(
      learnedPng,
      confusionSvg(asEval(crossLearned), `Learned recogniser, cross-source split S1: ${cross.real.length} real test photos (rows: true class)`),
    );
    files.push(learnedPng);
  }

  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const out: string[] = [];
  out.push(
    `## Cross-source split S1: ${cross.real.length} real test photos from sources the recogniser never saw (+ ${cross.synthetic.length} synthetic, ${cross.outOfScope.length} raindrop)`,
  );
  out.push('');
  if (crossLearned) {
    out.push(`### Learned recogniser (${recognizer!.id}${args.candidate || args.offsets ? ', CANDIDATE' : ''}, threshold ${LEARNED_THRESHOLD})`);
    out.push('');
    out.push(crossConfusionMarkdown(crossLearned));
    out.push('');
    out.push(
      `Primary correct: **${pct(crossLearned.accuracy)}** (${crossLearned.correct}/${crossLearned.n}); clean photos and portraits untouched: **${untouched('learned')}/${cleanReal.length}** (${pct(untouched('learned') / Math.max(1, cleanReal.length))}); synthetic noise/blur/JPEG: ${pct(crossLearnedSynthetic!.accuracy)} (${crossLearnedSynthetic!.correct}/${crossLearnedSynthetic!.n}: ${Object.entries(
        crossLearnedSynthetic!.perClass,
      )
        .map(([c, v]) => `${c} ${v.correct}/${v.n}`)
        .join(', ')}); raindrop photos called rain: ${crossLearnedOut!.correct}/${crossLearnedOut!.n}.`,
    );
    if (learnedTiming)
      out.push(
        `analyzeImage (views + inference + hand evidence, 1 thread): median ${learnedTiming.medianMs} ms, slowest ${learnedTiming.maxMs} ms over ${learnedTiming.n} photos (largest ${largest.width}x${largest.height}); the recogniser alone (views + inference): median ${netTiming!.medianMs} ms, slowest ${netTiming!.maxMs} ms.`,
      );
    out.push('');
    out.push('| source | true class | n | learned | rules |');
    out.push('|---|---|---:|---:|---:|');
    for (const [g, v] of Object.entries(crossLearned.perGroup))
      out.push(`| ${g} | ${v.label} | ${v.n} | ${pct(v.accuracy)} | ${pct(crossRules.perGroup[g].accuracy)} |`);
    out.push('');
  } else {
    out.push(`(no ${RECOGNIZER_MODEL} model installed: hand rules only)`);
  }
  out.push('### Hand rules (calibrated on half of most of these sources: optimistic)');
  out.push('');
  out.push(crossConfusionMarkdown(crossRules));
  out.push('');
  out.push(
    `Primary correct: ${pct(crossRules.accuracy)} (${crossRules.correct}/${crossRules.n}); clean untouched ${untouched('rules')}/${cleanReal.length}; synthetic ${pct(crossRulesSynthetic.accuracy)}; raindrop called rain ${crossRulesOut.correct}/${crossRulesOut.n}.`,
  );
  if (cross.dropped.length)
    out.push(`Dropped as duplicates (dHash <= 10): ${cross.dropped.map((d) => `${d.file} (= ${d.duplicateOf}, ${d.distance})`).join('; ')}`);
  if (crossLearned?.misses.length) {
    out.push('');
    out.push('Learned misses:');
    for (const m of crossLearned.misses) out.push(`- ${m.file}: ${m.label} -> ${m.predicted} (${m.top})`);
  }
  out.push('');
  out.push(
    `## Hand rules on their own calibration split (even/odd positions): held-out half (${heldCommitted.n} images; ${heldCommitted.realN} real, ${heldCommitted.n - heldCommitted.realN} synthetic)`,
  );
  out.push('');
  out.push(confusionMarkdown(heldCommitted));
  out.push('');
  out.push(
    'Held out by rule: in every source folder, the 2nd, 4th, 6th ... file by name (numeric order); synthetic noise/blur/jpeg images (made from the clean ground truths) follow their source. Fitted on the rest.',
  );
  out.push(
    `Held-out accuracy: **${pct(heldCommitted.accuracy)}** (${heldCommitted.correct}/${heldCommitted.n}); real images only: ${pct(heldCommitted.realAccuracy)}; clean recognised as clean: ${heldCommitted.perClass.clean ? pct(heldCommitted.perClass.clean.accuracy) : 'n/a'}.`,
  );
  out.push(
    `Calibration split (fitted on): ${pct(calibCommitted.accuracy)}. Library calibration ${identical ? 'equals' : 'DIFFERS FROM'} the fresh fit${identical ? '' : ` (fresh fit held-out: ${pct(heldFitted.accuracy)})`}.`,
  );
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
