/**
 * `clearsight forensics analyze <file> [--report out.pdf] [--out result.json] [--json]` and
 * `clearsight forensics study <manifest> [--fraction f] [--seed s] [--repeats r] [--out study.json] [--json]`.
 *
 * analyze: faces found and scored by the self-blended-face detector, frames aggregated, the
 * probability with its sampling interval and its reliability on held-out material, written as a
 * case report (PDF) and JSON. Bad media and files without faces are outcomes, not crashes:
 * "no-face" and "too-short" exit 0 with the outcome stated; unreadable input exits 3.
 * study: a stratified seeded sample of a labelled collection, scored, with exact and bootstrap
 * intervals and repeated-sampling stability.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  analyzeForensics,
  assertOutputWritable,
  FaceModels,
  faceModelDir,
  invalidOption,
  readManifest,
  runReliabilityStudy,
  writeCaseReportPdf,
  writeFileAtomic,
  forensics,
} from '../lib.js';
import { integerOption } from '../options.js';
import { cliOption, taskOf, withTaskOptions } from '../taskOptions.js';
import { createReporter, progressMode } from '../progress.js';
import { inputName, STDIO, withInputFile } from '../output.js';
import { exitForForensics } from '../exitCodes.js';
import { KEY_ENV, keyFromOptions } from './watermark.js';

async function toolVersion(): Promise<string> {
  return (JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function fractionParser(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!(n > 0 && n <= 1)) throw invalidOption(flag, 'a fraction in (0, 1]', v);
    return n;
  };
}

/** sha256 of the face model files the detector pipeline uses (json + weights). */
async function faceModelHashes(): Promise<Record<string, string>> {
  const dir = faceModelDir();
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).filter((n) => /^(blazeface|facemesh)\.(json|bin)$/.test(n)).sort()) {
    out[f] = createHash('sha256')
      .update(await readFile(path.join(dir, f)))
      .digest('hex');
  }
  return out;
}

interface AnalyzeCliOptions {
  report?: string;
  out?: string;
  json?: boolean;
  force?: boolean;
  maxFrames: number;
  minFace: number;
  minQuality: number;
  seed: number;
  model?: string;
  detector: forensics.DetectorKind;
  watermarkKey?: string;
  watermarkKeyFile?: string;
}

interface StudyCliOptions {
  fraction: number;
  seed: number;
  repeats: number;
  out?: string;
  json?: boolean;
  force?: boolean;
  model?: string;
  detector: forensics.DetectorKind;
}

/** --detector of `forensics study`: the forensics task's own option (table). */
function detectorOption(): Option {
  return cliOption('detector', taskOf('forensics').optionSpecs.detector!);
}

export function addForensicsCommand(program: Command): Command {
  const group = program
    .command('forensics')
    .summary('deepfake forensics: analyse a file (case report), or study the detector on a labelled collection')
    .description('Face-manipulation detection with statistically stated reliability. See `forensics analyze --help` and `forensics study --help`.');
  addAnalyzeCommand(group);
  addStudyCommand(group);
  return group;
}

/** `forensics analyze <file>`: the verdict, a case report (PDF) and JSON. */
function addAnalyzeCommand(group: Command): void {
  withTaskOptions(
    group
      .command('analyze')
      .summary('analyse one image or video; write a case report (PDF) and JSON')
      .argument('<file>', 'image (PNG, JPEG, WebP, TIFF, BMP) or video (H.264, HEVC, VP9, AV1, MPEG-4, any pixel format); - reads it from standard input')
      .option('--report <file.pdf>', 'write the case report as PDF')
      .option('--out <file.json>', 'write the full result as JSON')
      .option('-f, --force', 'overwrite the report/JSON files if they exist'),
    'forensics',
  )
    // Above: the task's options (max-frames, min-face, min-quality, seed, detector, watermark-key) from the task table.
    .addOption(new Option('--model <file>', 'linear detector model JSON (implies --detector logistic)').hideHelp())
    .option(
      '--watermark-key-file <path>',
      `read the watermark secret from a file (or set ${KEY_ENV}; both safer than --watermark-key, which other users can see)`,
    )
    .option('--json', 'print one JSON object on stdout ({"probability", "interval": [lo, hi], "frames", ...})')
    .action(runForensicsAnalyze);
}

/** `forensics study <manifest>`: the detector's reliability on a labelled collection. */
function addStudyCommand(group: Command): void {
  group
    .command('study')
    .summary('reliability study on a labelled collection (folder with authentic/ and manipulated/, or CSV path,label[,stratum])')
    .argument('<manifest>', 'folder or CSV manifest')
    .addOption(new Option('--fraction <f>', 'fraction of each stratum sampled').argParser(fractionParser('--fraction')).default(1))
    .addOption(integerOption('--seed <n>', 'seed of the sample and the bootstrap (record it)', 0, 2 ** 31 - 1).default(1))
    .addOption(integerOption('--repeats <n>', 'repeated half-samples for the stability table (0 to skip)', 0, 1000).default(10))
    .option('--out <file.json>', 'write the study as JSON')
    .option('-f, --force', 'overwrite --out if it exists')
    .addOption(detectorOption())
    .addOption(new Option('--model <file>', 'linear detector model JSON (implies --detector logistic)').hideHelp())
    .option('--json', 'print the study as one JSON object on stdout')
    .action(runForensicsStudy);
}

async function runForensicsAnalyze(file: string, opts: AnalyzeCliOptions): Promise<void> {
  if (opts.report) {
    if (!/\.pdf$/i.test(opts.report)) throw invalidOption('--report', 'a file name ending in .pdf', opts.report);
    await assertOutputWritable(opts.report, opts.force);
  }
  if (opts.out) await assertOutputWritable(opts.out, opts.force);
  const model = await forensics.loadForensicDetector(opts.detector, opts.model);
  const wantsWatermark = opts.watermarkKey !== undefined || opts.watermarkKeyFile !== undefined || process.env[KEY_ENV] !== undefined;
  const watermarkKey = wantsWatermark ? await keyFromOptions({ key: opts.watermarkKey, keyFile: opts.watermarkKeyFile }) : undefined;
  const reporter = createReporter(progressMode(opts.json ?? false), 'analysing');
  const faceModels = await FaceModels.load({ mesh: true, embed: wantsWatermark, onProgress: (e) => reporter.onProgress(e) });
  let result: Awaited<ReturnType<typeof analyzeForensics>>['result'];
  let evidence: Awaited<ReturnType<typeof analyzeForensics>>['evidence'];
  try {
    ({ result, evidence } = await withInputFile(file, (path) =>
      analyzeForensics(path, faceModels, model, {
        maxFrames: opts.maxFrames,
        minFaceSize: opts.minFace,
        minQuality: opts.minQuality,
        seed: opts.seed,
        ...(watermarkKey ? { watermarkKey } : {}),
        onProgress: (e) => reporter.onProgress(e),
      }),
    ));
    // Piped in: the report names standard input (its hash identifies the bytes), not the temporary copy.
    if (file === STDIO) result = { ...result, input: { ...result.input, path: STDIO } };
  } finally {
    reporter.stop();
    faceModels.dispose();
    await model.dispose();
  }
  const report = await caseReport(result, model);
  if (opts.report) await writeCaseReportPdf(opts.report, report, evidence, opts.force);
  if (opts.out) await writeFileAtomic(opts.out, `${JSON.stringify(report, null, 1)}\n`, { force: opts.force });
  process.exitCode = exitForForensics(result);
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(analysisText(inputName(file), result, opts.report));
}

/** The case report: the result and its provenance (tool, detector, face models, time). */
async function caseReport(result: forensics.ForensicsResult, model: Awaited<ReturnType<typeof forensics.loadForensicDetector>>): Promise<forensics.CaseReport> {
  return {
    ...result,
    provenance: {
      tool: { name: 'clearsight', version: await toolVersion() },
      detector: {
        id: model.id,
        version: model.version,
        sha256: model.sha256,
        trainingDataSha256: model.training.dataSha256 as string | undefined,
        heldOut: model.training.heldOut as Record<string, unknown> | undefined,
      },
      faceModels: await faceModelHashes(),
      analysedAt: new Date().toISOString(),
    },
  };
}

/** The verdict as text: outcome, probability and interval, summary, watermark, report path. */
/**
 * The verdict as text: the probability, the summary, then what the case report states beside it
 * (what the interval is or why there is none, the reliability on held-out material, the measured
 * error rates), so a reader of the terminal does not need the PDF to weigh the number.
 */
export function analysisText(file: string, result: forensics.ForensicsResult, reportPath: string | undefined): string {
  const p = result.probability;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `${file}: ${result.outcome}` +
      (p !== null
        ? `, probability of manipulation ${pct(p)}${result.interval ? ` (95% interval ${pct(result.interval[0])}–${pct(result.interval[1])})` : ''}`
        : ''),
    result.summary,
  ];
  if (p !== null) {
    lines.push(`interval: ${result.interval ? '' : 'none: '}${result.intervalNote}`);
    const r = result.reliability;
    if (r) {
      lines.push(
        `reliability: of the ${r.neighbours} held-out items scored nearest (${pct(r.scoreRange[0])}–${pct(r.scoreRange[1])}), ${r.manipulated} were manipulated: ` +
          `${pct(r.rate)}, exact 95% interval [${pct(r.interval[0])}, ${pct(r.interval[1])}]. ${r.caveat}`,
      );
    }
    lines.push(`error rates: ${result.validation.statement}`);
  }
  if (result.watermark.verdict !== 'not checked') {
    lines.push(`watermark: ${result.watermark.verdict}${result.watermark.source ? ` (source "${result.watermark.source}")` : ''}`);
  }
  if (reportPath) lines.push(`report: ${reportPath}`);
  return `${lines.join('\n')}\n`;
}

async function runForensicsStudy(manifest: string, opts: StudyCliOptions): Promise<void> {
  if (opts.out) await assertOutputWritable(opts.out, opts.force);
  const items = await readManifest(manifest);
  const model = await forensics.loadForensicDetector(opts.detector, opts.model);
  const reporter = createReporter(progressMode(opts.json ?? false), 'scoring');
  const faceModels = await FaceModels.load({ mesh: true, embed: false });
  let study: Awaited<ReturnType<typeof runReliabilityStudy>>;
  try {
    study = await runReliabilityStudy(items, forensics.mediaScorer(faceModels, model), {
      fraction: opts.fraction,
      seed: opts.seed,
      repeats: opts.repeats,
      onProgress: (e) => reporter.onProgress(e),
    });
  } finally {
    reporter.stop();
    faceModels.dispose();
    await model.dispose();
  }
  if (opts.out) await writeFileAtomic(opts.out, `${JSON.stringify(study, null, 1)}\n`, { force: opts.force });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(study)}\n`);
    return;
  }
  process.stdout.write(studyText(study));
}

/** The study as text: the metrics with exact and bootstrap intervals, and the sample sizes needed. */
function studyText(study: Awaited<ReturnType<typeof runReliabilityStudy>>): string {
  const m = study.metrics;
  const iv = (x: { lo: number; hi: number } | undefined) => (x ? `[${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]` : '-');
  const rows = [
    ['accuracy', m.accuracy.value, iv(m.accuracy.exact), iv(m.accuracy.bootstrap)],
    ['TPR', m.tpr.value, iv(m.tpr.exact), iv(m.tpr.bootstrap)],
    ['FPR', m.fpr.value, iv(m.fpr.exact), iv(m.fpr.bootstrap)],
    ['AUC', m.auc?.value ?? Number.NaN, '-', iv(m.auc?.bootstrap)],
  ];
  return (
    `${study.counts.positives} manipulated + ${study.counts.negatives} authentic scored (seed ${study.design.seed}, fraction ${study.design.fraction}); ${study.counts.unscorable.length} unscorable\n` +
    rows.map((r) => `  ${String(r[0]).padEnd(9)} ${Number(r[1]).toFixed(3)}  exact ${r[2]}  bootstrap ${r[3]}`).join('\n') +
    `\nitems needed for a ±${study.sampleSize.targetWidth / 2} interval: accuracy ${study.sampleSize.accuracy}, TPR ${study.sampleSize.tpr}, FPR ${study.sampleSize.fpr}\n`
  );
}
