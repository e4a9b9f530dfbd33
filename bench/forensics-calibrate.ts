/**
 * Calibrates an ONNX forensic detector (the CNN, or the fine-tuned pretrained network): Platt
 * scaling (calibration.ts) of its logits on the validation split (self-blended pairs of people and
 * photo identities never trained on), written to models/<model>/detector.json. A real-media record
 * already there (bench/forensics.ts, bench/forensics-ft.ts) is kept only if the network is the one
 * it was measured on.
 *
 *   node --import tsx bench/forensics-calibrate.ts [--model forensics-sbi-cnn|forensics-sbi-ft]
 *        [--scores training/cache/checkpoints/forensics-sbi-cnn-val.json]
 *
 * The scores file is written by the trainer at export (training/forensics_sbi_cnn.py,
 * training/forensics_sbi_ft.py): the exported network's logits on every validation item, with
 * labels and groups.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getModelCard } from '../src/core/models/registry.js';
import { calibrateScore, expectedCalibrationError, fitCalibrator } from '../src/trust/forensics/calibration.js';
import { CNN_MODEL_NAME, DEFAULT_UNTESTED, ONNX_DETECTORS, type CnnDetectorRecord, type OnnxDetectorModel } from '../src/trust/forensics/cnnDetector.js';
import { rocAuc } from '../src/trust/forensics/stats.js';
import { commandLine, REPO_ROOT, round } from './lib/common.js';

const { values: args } = parseArgs({
  options: { model: { type: 'string', default: CNN_MODEL_NAME }, scores: { type: 'string' } },
});
const MODEL = args.model as OnnxDetectorModel;
if (!(MODEL in ONNX_DETECTORS)) throw new Error(`--model: one of ${Object.keys(ONNX_DETECTORS).join(', ')}`);
args.scores ??= path.join(REPO_ROOT, `training/cache/checkpoints/${MODEL}-val.json`);

const val = JSON.parse(await readFile(args.scores!, 'utf8')) as { logits: number[]; labels: (0 | 1)[]; groups: string[] };
const card = getModelCard(MODEL).trained!;
const calibrator = fitCalibrator('platt', val.logits, val.labels);
const probs = val.logits.map((s) => calibrateScore(calibrator, s));
const file = path.join(card.dir, 'detector.json');
const old = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as CnnDetectorRecord) : undefined;
const record: CnnDetectorRecord = {
  id: ONNX_DETECTORS[MODEL],
  version: card.version,
  weightsSha256: card.sha256,
  calibrator,
  calibration: {
    method: 'platt',
    items: val.logits.length,
    people: new Set(val.groups).size,
    split: 'validation: self-blended pairs of people/photo identities never trained on (bench/lib/faceVideos.ts VALIDATION_PEOPLE, 20% of photo identities)',
    command: commandLine(),
    expectedCalibrationError: round(expectedCalibrationError(probs, val.labels), 4),
  },
  ...(old?.realMedia && old.weightsSha256 === card.sha256 ? { realMedia: old.realMedia } : {}),
  untested: old?.untested?.length ? old.untested : DEFAULT_UNTESTED,
};
await writeFile(file, `${JSON.stringify(record, null, 1)}\n`);
console.log(
  `validation: ${val.logits.length} items of ${record.calibration.people} groups; AUC ${rocAuc({ scores: val.logits, labels: val.labels }).toFixed(4)}; Platt a=${calibrator.method === 'platt' ? calibrator.a.toFixed(3) : ''} b=${calibrator.method === 'platt' ? calibrator.b.toFixed(3) : ''}; ECE ${record.calibration.expectedCalibrationError}`,
);
console.log(`wrote ${path.relative(REPO_ROOT, file)}`);
