/**
 * `clearsight restore auto <input> [-o out] [--dry-run] [--json] [--force]`: look at a photo, say
 * what is wrong with it, and restore it with the planned chain of experts (library: restoreAuto).
 *
 *   check options and the output path (fast: before any heavy work)
 *   -> decode the input (alpha kept aside)
 *   -> analyse (scores per degradation) and plan (ordered experts); the plan is printed on stderr
 *      before anything runs (--dry-run: printed on stdout, and nothing else happens)
 *   -> run the experts in order, with progress per step and Ctrl-C
 *   -> write the output atomically (a clean picture is written back unchanged)
 *   -> a summary line, or one JSON object with --json: {"primary", "scores", "plan", "steps", ...}.
 *
 * Like the other restoration commands it runs the experts in a supervised child process, so that
 * Ctrl-C stays instant while onnxruntime blocks the worker's thread (see ../supervisor.ts). The
 * launcher (main.ts) supervises by the first word of the command line; `restore` is not in its
 * list, so this command hands itself to the supervisor (a dry run, which runs no network, stays
 * in process).
 */
import { performance } from 'node:perf_hooks';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import {
  assertOutputWritable,
  DEGRADATIONS,
  decodeImage,
  encodeImage,
  formatFromPath,
  formatIsLossy,
  formatSupportsAlpha,
  ERROR_CODES,
  invalidOption,
  isClearsightError,
  maxBitDepth,
  restoreAuto,
  sniffFormat,
  writeFileAtomic,
  writeImage,
  type OutputFormat,
  type DegradationAnalysis,
  type Device,
  type RawImage,
  type RestorationStep,
  type RestorationTask,
  type RestoreAutoOptions,
  type RestoreAutoStepResult,
  type AnalysisMethod,
  type RestorationQuality,
} from '../lib.js';
import { withTaskOptions } from '../taskOptions.js';
import { reportError } from '../report.js';
import { createReporter, progressMode, type Reporter } from '../progress.js';
import { AUTO_STAGES } from '../../core/progress.js';
import { untilAborted, watchInterrupts } from '../interrupt.js';
import { expandInputs, planOutputs, readStdin, STDIO, writeStdout } from '../output.js';
import { INPROCESS_ENV, supervise } from '../supervisor.js';

interface AutoCliOptions {
  output?: string;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  threshold?: number;
  variant: 'indoor' | 'outdoor';
  tta?: boolean;
  threads?: number;
  device: Device;
  maxTile?: number;
  /** JPEG/WebP/AVIF output quality; `fast`/`max` still accepted here (deprecated: --effort). */
  quality?: number | DeprecatedEffort;
  /** Restoration effort: fast (students, physical methods) or max (the MAXIM experts). */
  effort?: RestorationQuality;
  format?: OutputFormat;
  stripMetadata?: boolean;
  suffix?: string;
  name?: string;
  recursive?: boolean;
  /** Create the output's folder (folder outputs). */
  mkdirs?: boolean;
  analysis: AnalysisMethod;
  embedding?: boolean;
}

/** `--quality fast|max`: the restoration effort as it was spelt before --effort. */
type DeprecatedEffort = { restoration: RestorationQuality };

/** One planned step as --json prints it. */
export interface AutoPlanStep {
  task: RestorationTask;
  method: string;
  params?: Record<string, number>;
  degradations: string[];
  model: string;
  score: number;
  reason: string;
}

/** The JSON object printed by --json (one line on stdout). */
export interface AutoSummary {
  input: string;
  /** null for --dry-run. */
  output: string | null;
  dryRun: boolean;
  primary: string;
  scores: Record<string, number>;
  /** Severity per degradation in [0, 1] (learned recogniser; null with the hand rules). */
  severity: Record<string, number> | null;
  /** The degradation embedding (only with --embedding and the learned recogniser). */
  embedding?: number[];
  /** Who decided: 'learned' (model id in `model`) or 'rules'. */
  analysis: string;
  recognizer: string | null;
  quality: RestorationQuality;
  plan: AutoPlanStep[];
  /** What was run (empty for a dry run or a clean picture). */
  steps: RestoreAutoStepResult[];
  width: number;
  height: number;
  seconds: number;
  tta: boolean;
  /**
   * Nothing was run and the output file is the input's own bytes (same format, no --quality or
   * --strip-metadata asked for): no lossy re-encode of a picture judged clean. false otherwise.
   */
  copiedInput: boolean;
  /** The raw statistics behind the scores (see DegradationEvidence). */
  evidence: Record<string, number>;
}

/** Progress label of each expert's inference stage. */
const VERBS: Readonly<Record<RestorationTask, string>> = {
  lowlight: 'brightening',
  denoise: 'denoising',
  derain: 'deraining',
  dehaze: 'dehazing',
  deblur: 'deblurring',
};

/**
 * `--quality`: the table's output quality (an integer 1-100, as on every other command), widened
 * on this command only: 'fast' and 'max' (the restoration effort, before --effort existed) are
 * still accepted, with a deprecation warning.
 */
function deprecatedEffort(value: string): DeprecatedEffort {
  const v = value.trim().toLowerCase();
  if (v === 'fast' || v === 'max') return { restoration: v };
  throw invalidOption('--quality', 'an integer 1-100 (output JPEG/WebP/AVIF quality; the restoration effort is --effort fast|max)', value);
}

export function addRestoreAutoCommand(program: Command): Command {
  const restore = program
    .command('restore')
    .summary('universal restoration: recognise the degradation and restore (restore auto)')
    .description(
      'Universal restoration. `restore auto` analyses a photo (rain, haze, low light, noise, blur, JPEG blocking), plans a chain of experts and runs it.',
    )
    // `restore photo.jpg`: the picture was given where the subcommand goes; point at `restore auto`.
    .usage('auto [options] <inputs...>')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      const input = restore.args.find((a) => !a.startsWith('-'));
      if (input === undefined) restore.help({ error: true });
      restore.error(
        `unknown command '${input}' for restore: to analyse and restore a picture, use \`clearsight restore auto ${input} -o restored.png\` (--dry-run to see the plan first)`,
        { exitCode: 2, code: 'commander.unknownCommand' },
      );
    });
  const cmd = withTaskOptions(
    restore
      .command('auto')
      .summary('analyse a photo, plan the experts, restore')
      .description(
        'Score the photo for rain, haze, low light, noise, blur and JPEG blocking (by default with the learned recogniser; ' +
          '--analysis rules: calibrated statistics - dark channel, luminance histogram, noise sigma, streak orientation ' +
          'energy, Laplacian variance, blockiness - which also explain the learned decision), name the primary ' +
          'degradation, plan the experts in order (lowlight, denoise, derain, dehaze, deblur; JPEG blocking goes to the ' +
          'denoiser as a fallback) and run them. A picture that looks clean is left as it is: into the same format the ' +
          'output is a copy of the input file. The plan is printed on stderr before the experts run; --dry-run prints it ' +
          'and stops.',
      )
      .argument('<inputs...>', 'input pictures (PNG, JPEG, WebP, TIFF or BMP): files, folders, quoted globs, or - for standard input')
      .option(
        '-o, --output <path>',
        'output (required unless --dry-run): a file (format from the extension), - for standard output, or a folder (required with several inputs)',
      )
      .option('--suffix <text>', 'with a folder output: added to each output name before the extension')
      .option('--name <pattern>', 'with a folder output: output file name from {stem} {suffix} {ext} {task} (default {stem}{suffix}.{ext})')
      .option('-r, --recursive', 'with a folder input: include its subfolders')
      .option('-f, --force', 'overwrite the output file if it exists'),
    // The task's options (dry-run, threshold, variant, effort, analysis, embedding, tta, max-tile,
    // threads, device) and the output options (format, quality, strip-metadata), from the task
    // table; --quality also takes the deprecated fast|max here.
    'auto',
    { extend: { quality: deprecatedEffort } },
  )
    .option('--json', 'print one JSON object on stdout ({"primary", "scores", "severity", "plan", "steps", ...}) instead of progress and text')
    .addHelpText(
      'after',
      '\nExamples:\n  $ clearsight restore auto photo.jpg --dry-run\n  $ clearsight restore auto photo.jpg -o restored.png --json\n\nExit codes: see clearsight --help.',
    )
    .action(async (inputs: string[], opts: AutoCliOptions) => {
      // --effort has the table's default (fast); only an --effort actually typed can disagree
      // with the deprecated --quality fast|max.
      if (cmd.getOptionValueSource('effort') === 'default') opts.effort = undefined;
      if (!opts.dryRun && !opts.output) cmd.error("required option '-o, --output <path>' not specified (or use --dry-run)");
      if (!opts.dryRun && process.env[INPROCESS_ENV] !== '1') {
        const argv = commandLine(cmd);
        if (argv) {
          // The experts block this process's thread: run the command in a supervised child.
          const code = await supervise(argv[1], argv.slice(2));
          process.exit(code);
        }
      }
      // The table gives --effort a default (fast); only an --effort the user typed can disagree
      // with a deprecated --quality fast|max.
      if (cmd.getOptionValueSource('effort') !== 'cli') opts.effort = undefined;
      await runAutoOnEach(inputs, opts);
    });
  return cmd;
}

/**
 * Several inputs (files, folders, globs: see ../output.ts) one after the other, each written into
 * the output folder; one input runs as before (a file, `-`, or a folder output too).
 */
async function runAutoOnEach(args: readonly string[], opts: AutoCliOptions): Promise<void> {
  const files = await expandInputs(args, opts.recursive ?? false);
  if (files.length === 1 && !files[0]!.listed && (opts.dryRun || files[0]!.path === STDIO || opts.output === STDIO)) {
    await runAuto(files[0]!.path, opts);
    return;
  }
  if (files.some((f) => f.path === STDIO)) throw invalidOption('<inputs>', 'standard input (-) alone', args.join(' '));
  if (opts.dryRun) {
    await eachInput(
      files.map((f) => f.path),
      (input) => runAuto(input, opts),
    );
    return;
  }
  const outputOptions = {
    output: opts.output,
    format: opts.format,
    suffix: opts.suffix,
    name: opts.name,
    force: opts.force,
    ...(typeof opts.quality === 'number' ? { quality: opts.quality } : {}),
  };
  const jobs = await planOutputs(files, outputOptions, 'auto', async (path) => sniffFormat(await readFile(path).catch(() => new Uint8Array(0))));
  await eachInput(
    jobs.map((j) => j.input),
    (input, i) => runAuto(input, { ...opts, output: jobs[i]!.output, format: jobs[i]!.format, mkdirs: true }),
  );
}

/**
 * Runs every input; one bad picture among several is reported and the others go on (outputs are
 * written atomically, so nothing half-done remains); the run exits with the first failure's code
 * and names what failed, as derain and the other restoration commands do.
 */
async function eachInput(inputs: readonly string[], run: (input: string, index: number) => Promise<unknown>): Promise<void> {
  const failed: string[] = [];
  for (const [i, input] of inputs.entries()) {
    try {
      await run(input, i);
    } catch (err) {
      if (inputs.length < 2 || !isClearsightError(err) || err.code === ERROR_CODES.ABORTED) throw err;
      const code = reportError(err);
      failed.push(input);
      if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = code;
    }
  }
  if (failed.length) process.stderr.write(`clearsight: ${inputs.length - failed.length} of ${inputs.length} inputs done; failed: ${failed.join(', ')}\n`);
}

/** The full command line (node, script, args...) the program was parsed from. */
function commandLine(cmd: Command): string[] | undefined {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  const raw = (root as unknown as { rawArgs?: unknown }).rawArgs;
  return Array.isArray(raw) && raw.length >= 2 && raw.every((a) => typeof a === 'string') ? (raw as string[]) : undefined;
}

export async function runAuto(input: string, opts: AutoCliOptions): Promise<AutoSummary> {
  const started = performance.now();
  const json = opts.json ?? false;
  const dryRun = opts.dryRun ?? false;
  const output = dryRun ? undefined : opts.output!;
  const { quality, encoderQuality } = effortOf(opts);

  // Cheap checks first.
  const toStdout = output === STDIO;
  const stdin = input === STDIO ? await readStdin() : undefined;
  const format = await checkOutput(input, output, stdin, encoderQuality, opts);
  // With the picture on stdout, stdout carries nothing else.
  const text = toStdout ? process.stderr : process.stdout;

  // A dry run takes a fraction of a second: no progress display, only the plan.
  const mode = dryRun ? 'quiet' : progressMode(json);
  // One display for the whole job (its stages weighted: AUTO_STAGES); each step renames its work.
  const ui: { reporter: Reporter } = { reporter: createReporter(mode, 'analysing', process.stderr, AUTO_STAGES) };
  const interrupts = watchInterrupts(() => ui.reporter.stop());
  let plan: RestorationStep[] = [];
  let analysis: DegradationAnalysis;
  let steps: RestoreAutoStepResult[];
  let inWidth: number;
  let inHeight: number;
  let copiedInput = false;
  try {
    ui.reporter.stage('decode');
    const { image, alpha, meta } = await decodeImage(stdin ?? input, stdin ? { name: 'standard input' } : {});
    inWidth = image.width;
    inHeight = image.height;
    await interrupts.checkpoint();

    const onProgress = stepProgress(mode, ui, () => plan);
    const result = await untilAborted(
      restoreAuto(image, {
        dryRun,
        variant: opts.variant,
        quality,
        analysis: opts.analysis ?? 'auto',
        ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
        signal: interrupts.signal,
        onProgress,
        onPlan: (a, p) => {
          plan = [...p];
          ui.reporter.stop();
          if (dryRun && !json) process.stdout.write(planText(input, image, a, p));
          else if (!json) process.stderr.write(prefixLines(planText(input, image, a, p)));
        },
        ...(opts.tta ? { tta: true } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.maxTile !== undefined ? { maxTile: opts.maxTile } : {}),
        device: opts.device,
      }),
      interrupts.signal,
    );
    analysis = result.analysis;
    steps = result.steps;
    await interrupts.checkpoint(); // a Ctrl-C during the last tile is delivered only now

    if (output && format) {
      ui.reporter.stage('encode');
      interrupts.writing();
      if (alpha && !formatSupportsAlpha(format)) {
        ui.reporter.stop();
        warn(`${format.toUpperCase()} has no alpha channel: the transparency of the input is dropped`);
      }
      const original = result.steps.length === 0 ? (stdin ?? (await readFile(input))) : undefined;
      if (original && canCopyInput(sniffFormat(original), format, { quality: encoderQuality, stripMetadata: opts.stripMetadata })) {
        if (toStdout) await writeStdout(original);
        else await writeFileAtomic(output, original, { force: opts.force ?? false, mkdirs: opts.mkdirs ?? false });
        copiedInput = true;
      } else await writeRestored(result.image, { image, alpha, meta }, output, format, encoderQuality, opts);
    }
  } finally {
    ui.reporter.stop();
    interrupts.dispose();
  }

  const summary = autoSummary(analysis, plan, steps, opts, {
    input,
    output: output ?? null,
    dryRun,
    quality,
    width: inWidth,
    height: inHeight,
    seconds: Math.round(performance.now() - started) / 1000,
    copiedInput,
  });
  printSummary(text, summary, json, toStdout, format);
  return summary;
}

/** Progress of the steps of the plan: the one display goes on (each step names its work), a line per step on stderr. */
function stepProgress(
  mode: ReturnType<typeof progressMode>,
  ui: { reporter: Reporter },
  plan: () => readonly RestorationStep[],
): RestoreAutoOptions['onProgress'] {
  return (e) => {
    if (e.stage === 'plan' && e.done < e.total) {
      ui.reporter.stop();
      const step = plan()[e.done];
      if (mode !== 'quiet') process.stderr.write(`clearsight: step ${e.done + 1}/${e.total}: ${step.task} (${step.model})\n`);
      ui.reporter.setVerb(`step ${e.done + 1}/${e.total} ${VERBS[step.task]}`);
    }
    ui.reporter.onProgress(e);
  };
}

/**
 * The output format (--format, else the output's extension, else, on stdout, the input's) after
 * the cheap checks: the output writable, warnings for options that do nothing. None on a dry run.
 */
async function checkOutput(
  input: string,
  output: string | undefined,
  stdin: Buffer | undefined,
  encoderQuality: number | undefined,
  opts: AutoCliOptions,
): Promise<OutputFormat | undefined> {
  const toStdout = output === STDIO;
  const format: OutputFormat | undefined = output
    ? (opts.format ?? (toStdout ? (sniffFormat(stdin ?? (await readFile(input))) ?? 'png') : formatFromPath(output)))
    : undefined;
  if (output && !toStdout) await assertOutputWritable(output, opts.force ?? false, { mkdirs: opts.mkdirs ?? false });
  if (opts.dryRun && opts.output) warn('--output is ignored with --dry-run');
  if (format && encoderQuality !== undefined && !formatIsLossy(format)) warn(`--quality has no effect on ${format.toUpperCase()} output (lossless)`);
  return format;
}

/** The summary as one JSON line, or (a real run) one line of text: what was done, in how long. */
function printSummary(text: NodeJS.WritableStream, summary: AutoSummary, json: boolean, toStdout: boolean, format: OutputFormat | undefined): void {
  const { input, output, steps } = summary;
  if (json) {
    text.write(`${JSON.stringify(summary)}\n`);
  } else if (!summary.dryRun) {
    const what = steps.length
      ? steps.map((s) => `${s.task} (${s.seconds.toFixed(1)} s)`).join(', ')
      : summary.copiedInput
        ? 'nothing to do, the picture looks clean: written back unchanged (a copy of the input)'
        : `nothing to do, the picture looks clean: pixels unchanged, re-encoded as ${(format ?? 'png').toUpperCase()}`;
    text.write(
      `${input === STDIO ? 'standard input' : basename(input)} (${summary.width}x${summary.height}) -> ${toStdout ? 'standard output' : output}: ${what}${summary.tta ? ' + TTA' : ''}; ${summary.seconds.toFixed(1)} s\n`,
    );
  }
}

/**
 * Whether a picture the plan left alone can go out as the input file itself: the same format and
 * no encode asked for (--quality, --strip-metadata). Re-encoding a JPEG judged clean would lose
 * quality for nothing; a copy is what "unchanged" means to the user.
 */
export function canCopyInput(
  inputFormat: string | undefined,
  outputFormat: OutputFormat,
  asked: { quality?: number | undefined; stripMetadata?: boolean | undefined },
): boolean {
  return inputFormat === outputFormat && asked.quality === undefined && !asked.stripMetadata;
}

/** The restoration effort (--effort, or the deprecated --quality fast|balanced|best) and the encoder's quality (--quality 1-100). */
function effortOf(opts: AutoCliOptions): { quality: RestorationQuality; encoderQuality: number | undefined } {
  const oldQuality = typeof opts.quality === 'object' ? opts.quality.restoration : undefined;
  if (oldQuality) warn(`--quality ${oldQuality} is deprecated: use --effort ${oldQuality} (--quality now takes the output JPEG/WebP/AVIF quality, 1-100)`);
  if (oldQuality && opts.effort && oldQuality !== opts.effort)
    throw invalidOption('--quality', `the same effort as --effort ${opts.effort}, or a number 1-100`, oldQuality);
  const quality: RestorationQuality = opts.effort ?? oldQuality ?? 'fast';
  const encoderQuality = typeof opts.quality === 'number' ? opts.quality : undefined;
  return { quality, encoderQuality };
}

/** Encodes the restored picture with the input's alpha, bit depth and metadata, to a file or to stdout. */
async function writeRestored(
  restored: RawImage,
  decoded: Awaited<ReturnType<typeof decodeImage>>,
  output: string,
  format: OutputFormat,
  encoderQuality: number | undefined,
  opts: AutoCliOptions,
): Promise<void> {
  const { image, alpha, meta } = decoded;
  const encodeOptions = {
    format,
    bitDepth: meta.bitDepth === 16 && maxBitDepth(format) === 16 ? (16 as const) : (8 as const),
    ...(alpha ? { alpha: { width: image.width, height: image.height, data: alpha } } : {}),
    ...(encoderQuality !== undefined ? { quality: encoderQuality } : {}),
    ...(opts.stripMetadata ? {} : { metadata: meta }),
  };
  if (output === STDIO) await writeStdout(await encodeImage(restored, format, encodeOptions));
  else await writeImage(output, restored, { ...encodeOptions, force: opts.force ?? false, mkdirs: opts.mkdirs ?? false });
}

/** The run's summary (printed with --json): scores rounded to 4 decimals. */
function autoSummary(
  analysis: DegradationAnalysis,
  plan: readonly RestorationStep[],
  steps: RestoreAutoStepResult[],
  opts: AutoCliOptions,
  run: Pick<AutoSummary, 'input' | 'output' | 'dryRun' | 'quality' | 'width' | 'height' | 'seconds' | 'copiedInput'>,
): AutoSummary {
  const { input, output, dryRun, quality, width, height, seconds, copiedInput } = run;
  return {
    input,
    output,
    dryRun,
    primary: analysis.primary,
    scores: Object.fromEntries(DEGRADATIONS.map((d) => [d, round4(analysis.scores[d])])),
    severity: analysis.severity ? Object.fromEntries(DEGRADATIONS.map((d) => [d, round4(analysis.severity![d])])) : null,
    ...(opts.embedding && analysis.embedding ? { embedding: [...analysis.embedding].map(round4) } : {}),
    analysis: analysis.method ?? 'rules',
    recognizer: analysis.model ?? null,
    quality,
    plan: plan.map((s) => ({
      task: s.task,
      method: s.method,
      ...(s.params ? { params: { ...s.params } as Record<string, number> } : {}),
      degradations: [...s.degradations],
      model: s.model,
      score: round4(s.score),
      reason: s.reason,
    })),
    steps,
    width,
    height,
    seconds,
    tta: !dryRun && steps.length > 0 && (opts.tta ?? false),
    copiedInput,
    evidence: Object.fromEntries(Object.entries(analysis.evidence).map(([k, v]) => [k, round4(v)])),
  };
}

const round4 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : x);

/** The analysis and the plan as text (several lines). */
function planText(input: string, img: RawImage, a: DegradationAnalysis, plan: readonly RestorationStep[]): string {
  const scores = DEGRADATIONS.map((d) => `${d} ${a.scores[d].toFixed(2)}`).join(', ');
  // The recogniser's id (with its decision rule) is long: a line of its own, after the finding.
  const who = a.method === 'learned' ? `learned recogniser ${a.model}` : 'calibrated hand rules';
  const lines = [`${basename(input)} (${img.width}x${img.height}): primary degradation ${a.primary}`, `decided by: ${who}`, `scores: ${scores}`];
  if (a.severity) lines.push(`severity: ${DEGRADATIONS.map((d) => `${d} ${a.severity![d].toFixed(2)}`).join(', ')}`);
  if (plan.length === 0) lines.push('plan: nothing to do (the picture looks clean)');
  else {
    lines.push('plan:');
    plan.forEach((s, i) => {
      lines.push(`  ${i + 1}. ${s.task} (${s.method}) with ${s.model} (score ${s.score.toFixed(2)}): ${s.reason}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

function prefixLines(text: string): string {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => `clearsight: ${l}\n`)
    .join('');
}

function warn(message: string): void {
  process.stderr.write(`clearsight: warning: ${message}\n`);
}
