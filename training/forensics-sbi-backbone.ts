/**
 * Trains the backbone forensic detector's head (src/trust/forensics/backboneDetector.ts): the
 * frozen centernet trunk's pooled features of every crop in the SBI patch sets
 * (training/prepare/forensics-sbi.ts: pairs of real and self-blended faces, no generated media),
 * a logistic head (core/logistic.ts) fitted on the train split (people), its L2 penalty chosen by
 * AUC on the validation split (other people), then Platt calibration on the validation split.
 *
 *   node --import tsx training/forensics-sbi-backbone.ts --sets training/cache/forensics-sbi-bb-photos,training/cache/forensics-sbi-bb-videos
 *        [--out models/forensics-sbi-backbone.json] [--l2 0.01,0.1,1]
 *
 * Pure TypeScript (no Python): the fit is a Newton solve on 1248 standardised features.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RawImage } from '../src/core/image/types.js';
import { fitLogistic, predictLogistic } from '../src/core/logistic.js';
import { BACKBONE_TAPS } from '../src/restore/auto/analyzeBackbone.js';
import { logisticMargin } from '../src/core/logistic.js';
import { BACKBONE_DETECTOR_ID, BACKBONE_INPUT, FaceBackbone, type BackboneForensicModel } from '../src/trust/forensics/backboneDetector.js';
import { calibrateScore, expectedCalibrationError, fitPlatt } from '../src/trust/forensics/calibration.js';
import { CNN_INPUT } from '../src/trust/forensics/cnnCrop.js';
import { rocAuc } from '../src/trust/forensics/stats.js';
import { commandLine, REPO_ROOT } from '../bench/lib/common.js';

const { values: args } = parseArgs({
  options: {
    sets: { type: 'string', default: 'training/cache/forensics-sbi-bb-photos,training/cache/forensics-sbi-bb-videos' },
    out: { type: 'string', default: path.join(REPO_ROOT, 'models/forensics-sbi-backbone.json') },
    l2: { type: 'string', default: '0.01,0.1,1' },
  },
});

interface Item {
  group: string;
  split: 'train' | 'val';
  label: 0 | 1;
  features: number[];
}

async function readSet(dir: string, trunk: FaceBackbone): Promise<{ items: Item[]; manifestSha: string; command: string }> {
  const manifestText = readFileSync(path.join(dir, 'manifest.json'), 'utf8');
  const manifest = JSON.parse(manifestText) as { count: number; command: string; items: Array<{ group: string; split: 'train' | 'val' }> };
  const image = readFileSync(path.join(dir, 'image.bin'));
  // A copy: readFileSync may hand back a slice of a shared pool.
  const label = new Float32Array(new Uint8Array(readFileSync(path.join(dir, 'label.bin'))).buffer);
  const px = CNN_INPUT * CNN_INPUT * 3;
  const items: Item[] = [];
  for (let i = 0; i < manifest.count; i++) {
    const data = new Float32Array(px);
    for (let k = 0; k < px; k++) data[k] = image[i * px + k] / 255;
    const crop: RawImage = { width: CNN_INPUT, height: CNN_INPUT, channels: 3, data };
    items.push({ group: manifest.items[i].group, split: manifest.items[i].split, label: label[i] as 0 | 1, features: Array.from(await trunk.features(crop)) });
    if (i % 50 === 0) process.stderr.write(`\r${path.basename(dir)} ${i}/${manifest.count}`);
  }
  process.stderr.write('\n');
  const { createHash } = await import('node:crypto');
  return { items, manifestSha: createHash('sha256').update(manifestText).digest('hex'), command: manifest.command };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const trunk = await FaceBackbone.load({ threads: 1 });
  const sets = args.sets!.split(',').map((s) => path.resolve(REPO_ROOT, s));
  const items: Item[] = [];
  const setRecords: Array<{ path: string; items: number; manifestSha256: string; command: string }> = [];
  for (const s of sets) {
    const r = await readSet(s, trunk);
    items.push(...r.items);
    setRecords.push({ path: path.relative(REPO_ROOT, s), items: r.items.length, manifestSha256: r.manifestSha, command: r.command });
  }
  await trunk.dispose();
  const extractSeconds = (Date.now() - t0) / 1000;
  const train = items.filter((x) => x.split === 'train');
  const val = items.filter((x) => x.split === 'val');
  const people = (xs: Item[]) => new Set(xs.map((x) => x.group)).size;
  console.log(
    `${items.length} crops: train ${train.length} (${people(train)} people), val ${val.length} (${people(val)} people); features in ${extractSeconds.toFixed(0)} s`,
  );

  const choices = args.l2!.split(',').map(Number);
  const tried: Array<{ l2: number; trainAuc: number; valAuc: number }> = [];
  let best: { l2: number; model: ReturnType<typeof fitLogistic>; valAuc: number } | null = null;
  for (const l2 of choices) {
    const model = fitLogistic(
      train.map((x) => x.features),
      train.map((x) => x.label),
      { l2, maxIterations: 30 },
    );
    const auc = (xs: Item[]) => rocAuc({ scores: xs.map((x) => predictLogistic(model, x.features)), labels: xs.map((x) => x.label) });
    const row = { l2, trainAuc: auc(train), valAuc: auc(val) };
    tried.push(row);
    console.log(`  l2 ${l2}: train AUC ${row.trainAuc.toFixed(4)} (training figure), val AUC ${row.valAuc.toFixed(4)}`);
    if (!best || row.valAuc > best.valAuc) best = { l2, model, valAuc: row.valAuc };
  }
  const model = best!.model;
  const valRaw = val.map((x) => logisticMargin(model, x.features));
  const valLabels = val.map((x) => x.label);
  // Platt on the head's logit.
  const calibrator = fitPlatt(valRaw, valLabels);
  const ece = expectedCalibrationError(
    valRaw.map((p) => calibrateScore(calibrator, p)),
    valLabels,
  );
  const out: BackboneForensicModel = {
    id: BACKBONE_DETECTOR_ID,
    version: '1',
    backbone: { name: 'Human centernet MobileNetV3 trunk (frozen), per-channel mean+std at four taps', input: BACKBONE_INPUT, taps: [...BACKBONE_TAPS] },
    logistic: {
      mean: model.mean.map((v) => Number(v.toPrecision(7))),
      scale: model.scale.map((v) => Number(v.toPrecision(7))),
      weights: model.weights.map((v) => Number(v.toPrecision(7))),
      bias: model.bias,
    },
    calibrator,
    training: {
      command: commandLine(),
      trainedAt: new Date().toISOString(),
      data: 'SBI patch sets (pairs of real and self-blended face crops of the train/val people; no generated media, no test people)',
      sets: setRecords,
      split: { train: { crops: train.length, people: people(train) }, val: { crops: val.length, people: people(val) } },
      l2Choices: tried,
      chosenL2: best!.l2,
      selection: 'L2 penalty chosen by validation AUC (self-blends of validation people) only',
      validation: { auc: best!.valAuc, expectedCalibrationError: ece, calibration: 'Platt on the validation split' },
      extractSeconds,
    },
  };
  writeFileSync(args.out!, `${JSON.stringify(out)}\n`);
  console.log(`chosen l2 ${best!.l2}: val AUC ${best!.valAuc.toFixed(4)}, ECE after Platt ${ece.toFixed(4)} -> ${path.relative(REPO_ROOT, args.out!)}`);
}

await main();
