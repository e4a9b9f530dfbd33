/**
 * Face verification benchmark: calibrates the compareFaces threshold on the deepface unit-test
 * set (62 photos, 13 identities) and reports same/different ROC AUC and accuracy.
 *
 *   node --import tsx bench/faces.ts [--data ../shared/data/faces/deepface] [--out bench/results] [--threads 1] [--publish]
 *
 * Pairs: face-recognition-pivot.csv (280 pairs, 140 same / 140 different) is the calibration
 * set; master.csv (299 pairs, largely the same photos) is reported at the chosen threshold.
 * Each photo is embedded once (largest face; detectFaces + faceres, onnxruntime with --threads
 * intra-op threads per network). Speed: wall time of detectFaces (detect + mesh + embed of every
 * face found) per face, decode excluded, after one warm-up photo; with the CPU time it used. The threshold
 * maximises accuracy on the pivot pairs; because choosing it on the same pairs flatters the
 * accuracy, we also report a 10-fold cross-validated accuracy (threshold chosen on 9 folds,
 * scored on the 10th). The pivot CSV also carries deepface's own FaceNet cosine distances: their
 * AUC on the same pairs is printed as a reference point.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { decodeImage } from '../src/core/image/io.js';
import { compareFaces, detectFaces, FaceModels, SAME_FACE_THRESHOLD } from '../src/face/index.js';
import { accuracyAt, bestThreshold, rocAuc, rocCurve } from '../src/face/metrics.js';
import { mulberry32 } from '../src/core/random.js';
import { writeFileAtomic } from '../src/core/fs.js';
import { commandLine, line, machineInfo, round, svgDoc, table, text, timestamp, writeJsonPair, writeSvgPng, sharedData } from './lib/common.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: sharedData('faces/deepface') },
    out: { type: 'string', default: path.join(REPO, 'bench/results') },
    publish: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1' },
  },
});
const DATA = path.resolve(args.data!);

interface Pair {
  a: string;
  b: string;
  same: boolean;
  facenetCosine?: number;
}

async function readPairs(file: string): Promise<Pair[]> {
  const lines = (await readFile(path.join(DATA, file), 'utf8')).trim().split(/\r?\n/);
  const head = lines[0]!.split(',');
  const fn = head.indexOf('Facenet_cosine');
  return lines.slice(1).map((l) => {
    const c = l.split(',');
    return { a: path.basename(c[0]!), b: path.basename(c[1]!), same: c[2]!.trim() === 'Yes', facenetCosine: fn >= 0 ? Number(c[fn]) : undefined };
  });
}

async function main(): Promise<void> {
  const stamp = timestamp();
  const pivot = await readPairs('face-recognition-pivot.csv');
  const master = await readPairs('master.csv');
  const files = [...new Set([...pivot, ...master].flatMap((p) => [p.a, p.b]))].sort();
  const threads = Number(args.threads);
  const models = await FaceModels.load({ mesh: true, embed: true, threads });
  const emb = new Map<string, Float32Array>();
  const noFace: string[] = [];
  // warm-up: first inference of each session allocates
  await detectFaces(models, (await decodeImage(path.join(DATA, files[0]!))).image, { embed: true });
  const t0 = performance.now();
  const perFace: number[] = [];
  let faceWall = 0;
  let faceCpu = 0;
  let facesSeen = 0;
  let i = 0;
  for (const f of files) {
    const { image } = await decodeImage(path.join(DATA, f));
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const faces = await detectFaces(models, image, { embed: true });
    const wall = performance.now() - w0;
    const cpu = process.cpuUsage(c0);
    if (faces.length > 0) {
      perFace.push(wall / faces.length);
      faceWall += wall;
      faceCpu += (cpu.user + cpu.system) / 1000;
      facesSeen += faces.length;
    }
    const [face] = faces;
    if (face?.embedding) emb.set(f, face.embedding);
    else noFace.push(f);
    process.stderr.write(`\rembedded ${++i}/${files.length}`);
  }
  process.stderr.write('\n');
  const secondsPerPhoto = (performance.now() - t0) / 1000 / files.length;
  await models.dispose();
  perFace.sort((a, b) => a - b);
  const q = (p: number) => perFace[Math.min(perFace.length - 1, Math.floor(p * perFace.length))]!;
  const speed = {
    engine: 'onnxruntime-node (converted from tfjs by our converter)',
    threadsPerNetwork: threads,
    msPerFaceMean: round(faceWall / facesSeen, 1),
    msPerFaceMedian: round(q(0.5), 1),
    msPerFaceP90: round(q(0.9), 1),
    cpuMsPerFace: round(faceCpu / facesSeen, 1),
    faces: facesSeen,
    loadavg1: round(os.loadavg()[0]!, 2),
  };

  const score = (p: Pair) => {
    const a = emb.get(p.a);
    const b = emb.get(p.b);
    return a && b ? compareFaces(a, b).similarity : -1; // no face -> cannot match
  };
  const split = (ps: Pair[], s: (p: Pair) => number) => ({ pos: ps.filter((p) => p.same).map(s), neg: ps.filter((p) => !p.same).map(s) });
  const pv = split(pivot, score);
  const auc = rocAuc(pv.pos, pv.neg);
  const best = bestThreshold(pv.pos, pv.neg);
  const fn = split(pivot, (p) => -(p.facenetCosine ?? NaN));
  const facenetAuc = rocAuc(fn.pos, fn.neg);

  // 10-fold cross-validated accuracy of the threshold choice
  const rand = mulberry32(7);
  const order = pivot.map((_, k) => k).sort(() => rand() - 0.5);
  let cvCorrect = 0;
  for (let fold = 0; fold < 10; fold++) {
    const test = new Set(order.filter((_, k) => k % 10 === fold));
    const train = pivot.filter((_, k) => !test.has(k));
    const tr = split(train, score);
    const t = bestThreshold(tr.pos, tr.neg).threshold;
    for (const k of test) cvCorrect += score(pivot[k]!) >= t === pivot[k]!.same ? 1 : 0;
  }
  const cvAccuracy = cvCorrect / pivot.length;
  const ms = split(master, score);
  const masterAuc = rocAuc(ms.pos, ms.neg);
  const chosen = round(best.threshold, 3);
  const masterAcc = accuracyAt(ms.pos, ms.neg, chosen);
  const libAccPivot = accuracyAt(pv.pos, pv.neg, SAME_FACE_THRESHOLD);
  const libAccMaster = accuracyAt(ms.pos, ms.neg, SAME_FACE_THRESHOLD);
  const tpr = pv.pos.filter((s) => s >= chosen).length / pv.pos.length;
  const fpr = pv.neg.filter((s) => s >= chosen).length / pv.neg.length;

  console.log(
    table(
      ['pairs', 'n same/diff', 'ROC AUC', 'threshold', 'accuracy', 'notes'],
      [
        [
          'pivot (calibration)',
          `${pv.pos.length}/${pv.neg.length}`,
          round(auc, 4),
          chosen,
          round(best.accuracy, 4),
          `TPR ${round(tpr, 3)} FPR ${round(fpr, 3)}`,
        ],
        ['pivot 10-fold CV', `${pv.pos.length}/${pv.neg.length}`, '', 'per fold', round(cvAccuracy, 4), 'threshold chosen on 9 folds'],
        ['master (same photos)', `${ms.pos.length}/${ms.neg.length}`, round(masterAuc, 4), chosen, round(masterAcc, 4), ''],
        ['pivot, library default', '', '', SAME_FACE_THRESHOLD, round(libAccPivot, 4), `master ${round(libAccMaster, 4)}`],
        ['deepface FaceNet (ref)', `${fn.pos.length}/${fn.neg.length}`, round(facenetAuc, 4), '', '', 'cosine distances from the CSV'],
      ],
    ),
  );
  console.log(
    `photos ${files.length}, no face found in ${noFace.length}${noFace.length ? ` (${noFace.join(' ')})` : ''}; ${round(secondsPerPhoto, 3)} s per photo (decode + detect + mesh + embed)`,
  );
  console.log(
    `detect + mesh + embed per face (${speed.engine}, ${threads} thread(s) per network, ${facesSeen} faces): mean ${speed.msPerFaceMean} ms, median ${speed.msPerFaceMedian} ms, p90 ${speed.msPerFaceP90} ms, CPU ${speed.cpuMsPerFace} ms; load average ${speed.loadavg1}`,
  );

  const result = {
    bench: 'faces',
    command: commandLine(),
    timestamp: stamp,
    data: DATA,
    machine: machineInfo(),
    method: 'largest face per photo; cosine similarity of L2-normalised faceres 1024-d descriptors; threshold = accuracy-maximising on pivot pairs',
    photos: files.length,
    noFace,
    secondsPerPhoto: round(secondsPerPhoto, 3),
    speed,
    pivot: {
      same: pv.pos.length,
      different: pv.neg.length,
      rocAuc: round(auc, 4),
      threshold: chosen,
      accuracy: round(best.accuracy, 4),
      tpr: round(tpr, 4),
      fpr: round(fpr, 4),
      cv10Accuracy: round(cvAccuracy, 4),
    },
    master: { same: ms.pos.length, different: ms.neg.length, rocAuc: round(masterAuc, 4), accuracyAtThreshold: round(masterAcc, 4) },
    libraryDefault: { threshold: SAME_FACE_THRESHOLD, pivotAccuracy: round(libAccPivot, 4), masterAccuracy: round(libAccMaster, 4) },
    reference: { deepfaceFacenetCosineAuc: round(facenetAuc, 4) },
    scores: { pivotSame: pv.pos.map((s) => round(s, 4)), pivotDifferent: pv.neg.map((s) => round(s, 4)) },
  };
  const written = await writeJsonPair(path.resolve(args.out!), 'faces', stamp, result);
  const svg = plot(rocCurve(pv.pos, pv.neg), auc, pv, chosen);
  await writeSvgPng(path.join(path.resolve(args.out!), 'faces.png'), svg);
  if (args.publish) {
    const dir = path.join(REPO, 'docs/benchmarks');
    await writeFileAtomic(path.join(dir, 'faces.json'), `${JSON.stringify(result, null, 2)}\n`, { force: true });
    await writeSvgPng(path.join(dir, 'faces.png'), svg);
  }
  console.log(`wrote ${written.join(', ')}`);
}

function plot(roc: Array<[number, number]>, auc: number, pv: { pos: number[]; neg: number[] }, t: number): string {
  const parts: string[] = [];
  const X = 60,
    Y = 40,
    S = 320;
  parts.push(text(X, 24, `ROC same/different, deepface pivot pairs (AUC ${auc.toFixed(3)})`, { size: 14, weight: 'bold' }));
  parts.push(line(X, Y + S, X + S, Y + S), line(X, Y, X, Y + S), line(X, Y + S, X + S, Y, '#bbb', 1, '4 4'));
  parts.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${roc.map(([f, p]) => `${X + f * S},${Y + S - p * S}`).join(' ')}"/>`);
  parts.push(
    text(X + S / 2, Y + S + 30, 'false match rate', { anchor: 'middle', size: 12 }),
    text(X - 40, Y + S / 2, 'true match rate', { size: 12, rotate: -90, anchor: 'middle' }),
  );
  // similarity histograms
  const HX = X + S + 70,
    HW = 360,
    bins = 30;
  const hist = (v: number[]) => {
    const h = new Array(bins).fill(0) as number[];
    for (const s of v) h[Math.min(bins - 1, Math.max(0, Math.floor(((s + 0.2) / 1.2) * bins)))]!++;
    return h;
  };
  const hp = hist(pv.pos),
    hn = hist(pv.neg);
  const max = Math.max(...hp, ...hn);
  parts.push(text(HX, 24, 'cosine similarity (blue same, red different)', { size: 14, weight: 'bold' }));
  for (let b = 0; b < bins; b++) {
    const x = HX + (b / bins) * HW;
    parts.push(`<rect x="${x}" y="${Y + S - (hp[b]! / max) * S}" width="${HW / bins - 1}" height="${(hp[b]! / max) * S}" fill="#1f77b4" opacity="0.6"/>`);
    parts.push(`<rect x="${x}" y="${Y + S - (hn[b]! / max) * S}" width="${HW / bins - 1}" height="${(hn[b]! / max) * S}" fill="#d62728" opacity="0.6"/>`);
  }
  const tx = HX + ((t + 0.2) / 1.2) * HW;
  parts.push(line(tx, Y, tx, Y + S, '#222', 1.5, '5 3'), text(tx + 4, Y + 12, `threshold ${t}`, { size: 12 }));
  parts.push(line(HX, Y + S, HX + HW, Y + S));
  for (const v of [-0.2, 0, 0.2, 0.4, 0.6, 0.8, 1]) parts.push(text(HX + ((v + 0.2) / 1.2) * HW, Y + S + 16, String(v), { size: 11, anchor: 'middle' }));
  return svgDoc(HX + HW + 30, Y + S + 50, parts.join('\n'));
}

await main();
