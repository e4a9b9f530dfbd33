/**
 * Fits the recogniser's JPEG head (src/restore/auto/analyzeJpeg.ts) on the S1 TRAINING bases only.
 *
 *   node --import tsx training/recognizer-jpeg.ts [--data ../shared/data] [--seed 1] [--write]
 *
 * Bases: clean-photos/{Kodak24,McMaster,CBSD68}, derain/rain100H-dev/clean, faces/deepface (the
 * synthetic bases of training/prepare/recognizer.ts). Every 10th base picture (position 9, 19, ...)
 * is validation, as in the network's training set. Per base picture (reduced to <= 1024 px, as the
 * network's preparation does; JPEG is applied after, so its grid is aligned as in a real file):
 *
 *   present (label 1): JPEG q 5-35 (20 % with 4:4:4 chroma); sensor noise sigma 2-12 then JPEG q 10-35;
 *   absent  (label 0): the file as stored (real camera JPEGs and PNGs at their native size), the
 *                      reduced picture, JPEG q 70-95, Gaussian blur sigma 1-3 (then q 80-95 half the
 *                      time), sensor noise sigma 6-30, low light (then q 85-95), haze (then q 85-95).
 *
 * The label boundary is the network's: q <= 35 is "JPEG", an everyday q 70-95 JPEG is not. Qualities
 * 36-69 are left out (neither claimed nor denied). Fitted with fitLogistic (L2 1e-2, standardised).
 * Prints the validation confusion, the score against quality, and the JPEG_HEAD block; --write puts
 * that block into analyzeJpeg.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { decodeImage } from '../src/core/image/index.js';
import { resizeArea } from '../src/core/image/geometry.js';
import { toRgb, type RawImage } from '../src/core/image/types.js';
import { mulberry32 } from '../src/core/random.js';
import { addSensorNoise, darken, gaussianBlur, jpegRoundTrip, synthesizeHaze } from '../src/restore/auto/degradations.js';
import { JPEG_FEATURES, jpegFeatureRow, jpegFeatures } from '../src/restore/auto/analyzeJpeg.js';
import { fitLogistic, predictLogistic, type LogisticModel } from '../src/core/logistic.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const near = path.resolve(REPO, '../shared/data');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: existsSync(near) ? near : path.resolve(REPO, '../../shared/data') },
    seed: { type: 'string', default: '1' },
    write: { type: 'boolean', default: false },
  },
});
const DATA = path.resolve(args.data!);
const SEED = Number(args.seed);
const BASES = ['clean-photos/Kodak24', 'clean-photos/McMaster', 'clean-photos/CBSD68', 'derain/rain100H-dev/clean', 'faces/deepface'];
const IMAGE_EXT = /\.(png|jpe?g|bmp|tiff?)$/i;
const collator = new Intl.Collator('en', { numeric: true });
const uni = (r: () => number, a: number, b: number): number => a + (b - a) * r();

interface Row {
  x: number[];
  y: 0 | 1;
  val: boolean;
  kind: string;
  q?: number;
}

async function variants(stored: RawImage, r: () => number, seed: number): Promise<{ img: RawImage; y: 0 | 1; kind: string; q?: number }[]> {
  const k = 1024 / Math.max(stored.width, stored.height);
  const base = k < 1 ? resizeArea(stored, Math.round(stored.width * k), Math.round(stored.height * k)) : stored;
  const q1 = Math.round(uni(r, 5, 35));
  const q2 = Math.round(uni(r, 10, 35));
  const qGood = Math.round(uni(r, 70, 95));
  const out: { img: RawImage; y: 0 | 1; kind: string; q?: number }[] = [
    { img: stored, y: 0, kind: 'stored' },
    { img: await jpegRoundTrip(base, q1, r() < 0.2), y: 1, kind: 'jpeg', q: q1 },
    { img: await jpegRoundTrip(addSensorNoise(base, { sigma: uni(r, 2, 12), seed }), q2), y: 1, kind: 'noise+jpeg', q: q2 },
    { img: await jpegRoundTrip(base, qGood, r() < 0.5), y: 0, kind: 'good jpeg', q: qGood },
    { img: addSensorNoise(base, { sigma: uni(r, 6, 30), seed: seed + 1 }), y: 0, kind: 'noise' },
  ];
  if (k < 1) out.push({ img: base, y: 0, kind: 'reduced' });
  const blurred = gaussianBlur(base, uni(r, 1, 3));
  out.push({ img: r() < 0.5 ? await jpegRoundTrip(blurred, Math.round(uni(r, 80, 95))) : blurred, y: 0, kind: 'blur' });
  const dark = darken(base, { exposure: Math.exp(uni(r, Math.log(0.03), Math.log(0.3))), gamma: uni(r, 0.8, 1.5), readNoise: uni(r, 0, 4), seed: seed + 2 });
  out.push({ img: await jpegRoundTrip(dark, Math.round(uni(r, 85, 95))), y: 0, kind: 'lowlight' });
  const hazy = synthesizeHaze(base, { beta: uni(r, 0.6, 2.8) }).image;
  out.push({ img: await jpegRoundTrip(hazy, Math.round(uni(r, 85, 95))), y: 0, kind: 'haze' });
  return out;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const t0 = performance.now();
  for (const dir of BASES) {
    const files = readdirSync(path.join(DATA, dir))
      .filter((f) => IMAGE_EXT.test(f))
      .sort(collator.compare);
    for (const [pos, f] of files.entries()) {
      const stored = toRgb((await decodeImage(path.join(DATA, dir, f))).image);
      const seed = (SEED * 1_000_003 + pos * 7919 + dir.length * 31) >>> 0;
      for (const v of await variants(stored, mulberry32(seed), seed)) {
        rows.push({ x: jpegFeatureRow(jpegFeatures(v.img)), y: v.y, val: pos % 10 === 9, kind: v.kind, ...(v.q !== undefined ? { q: v.q } : {}) });
      }
    }
    process.stderr.write(`${dir}: ${files.length} bases, ${rows.length} rows, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  const train = rows.filter((r) => !r.val);
  const val = rows.filter((r) => r.val);
  const head = fitLogistic(
    train.map((r) => r.x),
    train.map((r) => r.y),
    { l2: 1e-2 },
  );
  const report = (name: string, set: Row[]) => {
    const byKind = new Map<string, { n: number; called: number }>();
    for (const r of set) {
      const s = byKind.get(r.kind) ?? { n: 0, called: 0 };
      s.n++;
      if (predictLogistic(head, r.x) >= 0.5) s.called++;
      byKind.set(r.kind, s);
    }
    process.stdout.write(`${name} (${set.length} rows): called JPEG (score >= 0.5) per kind:\n`);
    for (const [k, s] of byKind) process.stdout.write(`  ${k.padEnd(12)} ${s.called}/${s.n}\n`);
  };
  report('train', train);
  report('validation (every 10th base)', val);
  process.stdout.write('validation, score by JPEG quality (jpeg and noise+jpeg and good jpeg rows):\n');
  for (const r of val.filter((r) => r.q !== undefined).sort((a, b) => a.q! - b.q!))
    process.stdout.write(`  q${r.q} ${r.kind}: ${predictLogistic(head, r.x).toFixed(3)}\n`);
  const round = (v: number) => Number(v.toPrecision(6));
  const block = `export const JPEG_HEAD: LogisticModel = ${JSON.stringify({ mean: head.mean.map(round), scale: head.scale.map(round), weights: head.weights.map(round), bias: round(head.bias) } satisfies LogisticModel)};`;
  process.stdout.write(`features ${JPEG_FEATURES.join(', ')}\n${block}\n`);
  if (args.write) {
    const file = path.join(REPO, 'src/restore/auto/analyzeJpeg.ts');
    const src = readFileSync(file, 'utf8');
    const next = src.replace(/export const JPEG_HEAD: LogisticModel = .*;/, block);
    if (next === src && !src.includes(block)) throw new Error('JPEG_HEAD line not found in analyzeJpeg.ts');
    writeFileSync(file, next);
    process.stdout.write(`wrote ${path.relative(REPO, file)}\n`);
  }
}

await main();
