/**
 * What the restoration commands (derain, dehaze, lowlight, denoise, deblur, retouch, upscale)
 * share: the arguments and options, and the run itself:
 *
 *   check options and the output path (fast: before any heavy work)
 *   -> decode the input (alpha kept aside)
 *   -> run the library task, with progress and Ctrl-C
 *   -> write the output atomically (format from the extension, 16-bit kept when possible, alpha
 *      put back and resized for upscaling)
 *   -> print a summary (or one JSON object with --json).
 *
 * A command is a RestoreCommandSpec: its name and texts; its options, the library function and
 * model they select, and its maps come from the task of the same name in the task table. A spec whose methods produce physical maps (transmission,
 * atmospheric light, illumination, ...) declares them (`maps`): the command then takes
 * `--maps <dir>`, the file names are checked before the work starts (no overwriting without
 * --force), and `run` returns the image plus the maps by file name; the helper writes them, each
 * atomically, into the directory (created if missing) after the output.
 */
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  assertOutputWritable,
  ClearsightError,
  decodeImage,
  encodeImage,
  ERROR_CODES,
  formatSupportsAlpha,
  getModelCard,
  invalidOption,
  isClearsightError,
  maxBitDepth,
  sniffFormat,
  writeFileAtomic,
  writeImage,
  type Device,
  type ExpertOptions,
  type OutputFormat,
} from '../lib.js';
import { kebab, taskCliOptions, taskOf } from '../taskOptions.js';
import type { OptionSpecs, OptionValues, RestoreOutput, RestoreTaskSpec } from '../../tasks/index.js';
import {
  addImageOutputOptions,
  expandInputs,
  planOutputs,
  readStdin,
  STDIO,
  warnOnce,
  writeStdout,
  type ImageOutputOptions,
  type OutputJob,
} from '../output.js';
import { createReporter, progressMode } from '../progress.js';
import { reportError } from '../report.js';
import { untilAborted, watchInterrupts } from '../interrupt.js';
import type { RestoreCommandName } from './names.js';

/** Options every restoration command has, as commander hands them over. */
export interface CommonOptions extends ImageOutputOptions {
  tta?: boolean;
  threads?: number;
  device: Device;
  maxTile?: number;
  json?: boolean;
  /** --maps <dir>: only on commands whose spec declares maps. */
  maps?: string;
}

export type { RestoreMap, RestoreOutput } from '../../tasks/index.js';
export { greyMap } from '../../tasks/index.js';

/**
 * A restoration command: its texts. Its options (flags), the model and method they select, its
 * maps and its run function all come from the task of the same name in the task table.
 */
export interface RestoreCommandSpec {
  /** Command name = task name, also the `task` of the JSON summary. */
  name: RestoreCommandName;
  /** One line for the command list. */
  summary: string;
  /** Longer text for `clearsight <name> --help`. */
  description: string;
  /** Progress label of the inference stage: "deraining". */
  verb: string;
  /** Arguments after the command name for the help example; default `photo.jpg -o restored.png`. */
  example?: string;
}

/** The table's restore function and facts for a command (throws if the task is not a restoration). */
function restoreOf(name: string): RestoreTaskSpec<OptionSpecs> {
  const r = taskOf(name).restore;
  if (!r) throw new ClearsightError(ERROR_CODES.RUNTIME, `internal error: task "${name}" has no restore function`, { task: name });
  return r;
}

/** The JSON summary printed by --json (one object, one line, on stdout). */
export interface RestoreSummary {
  input: string;
  output: string;
  task: string;
  /** Model card id, or null when the method runs no network (e.g. dehaze --method prior). */
  model: string | null;
  /** The method used, on commands that have a choice (or a physical step). */
  method?: string;
  /** On commands with --maps: the directory and the files written, or null without --maps. */
  maps?: { dir: string; files: string[] } | null;
  /** The format written. */
  format: OutputFormat;
  /** Whether the source's EXIF/ICC were carried over (false: it had none, or --strip-metadata). */
  metadata: boolean;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  seconds: number;
  tta: boolean;
}

export function addRestoreCommand(program: Command, spec: RestoreCommandSpec): Command {
  const table = restoreOf(spec.name);
  const cmd = program
    .command(spec.name)
    .summary(spec.summary)
    .description(spec.description)
    .argument('<inputs...>', 'input pictures (PNG, JPEG, WebP, TIFF or BMP): files, folders, quoted globs, or - for standard input');
  addImageOutputOptions(cmd);
  // The task's options, from the task table (src/tasks): flags, help, defaults, validation
  // (derain's --precision among them).
  for (const option of taskCliOptions(spec.name, { outputFlagsAdded: true })) cmd.addOption(option);
  if (table.maps)
    cmd.option(
      '--maps <dir>',
      `write the physical maps into <dir> (created if missing; existing files kept unless --force; one subfolder per input when there are several): ${table.maps.description}`,
    );
  cmd
    .option('--json', 'print one JSON summary per input on stdout (on stderr when the picture goes to stdout) instead of progress and text')
    .addHelpText(
      'after',
      `\nExamples:\n  $ clearsight ${spec.name} ${spec.example ?? 'photo.jpg -o restored.png'}\n  $ clearsight ${spec.name} shots/*.jpg -o restored/ --suffix _${spec.name} --quality 90\n  $ cat photo.jpg | clearsight ${spec.name} - -o - --format webp > restored.webp\n\nExit codes: see clearsight --help.`,
    )
    .action(async (inputs: string[], opts: CommonOptions) => {
      // Checked here rather than with requiredOption, so that an unknown option or a missing
      // <input> is reported first (commander checks required options before either).
      if (!opts.output) cmd.error("required option '-o, --output <path>' not specified");
      await runRestore(spec, inputs, opts);
    });
  return cmd;
}

/**
 * Runs the command over every input (see ../output.ts for how inputs and outputs pair up).
 * All outputs are checked before the first picture is decoded. With several inputs, one that
 * fails (unreadable, corrupt, ...) is reported and the others still run; the exit code is the
 * first failure's. Ctrl-C stops the run (finished outputs stay).
 */
export async function runRestore(spec: RestoreCommandSpec, inputArgs: readonly string[], opts: CommonOptions): Promise<RestoreSummary[]> {
  const table = restoreOf(spec.name);
  const taskOpts = opts as unknown as OptionValues<OptionSpecs>;
  table.check?.(taskOpts, (key) => `--${kebab(key)}`); // options that only fail together (derain --precision int8 --model fast)
  const force = opts.force ?? false;
  const files = await expandInputs(inputArgs, opts.recursive ?? false);
  const stdin = files.some((f) => f.path === STDIO) ? await readStdin() : undefined;
  const jobs = await planOutputs(files, opts, spec.name, async (path) => sniffFormat(path === STDIO ? stdin! : await readHead(path)));
  const several = jobs.length > 1 || files.some((f) => f.listed);

  // Everything that can be checked cheaply is checked before the long inference.
  const modelName = table.model(taskOpts);
  const card = modelName === null ? undefined : getModelCard(modelName);
  const method = table.method?.(taskOpts);
  for (const job of jobs) if (job.output !== STDIO) await assertOutputWritable(job.output, force, { mkdirs: several || opts.output!.endsWith('/') });
  const mapFiles = new Map<string, readonly string[]>();
  for (const job of jobs) mapFiles.set(job.input, await checkMaps(table, opts, force, mapsDir(opts, job, several), job.output));
  if (opts.tta && !card) warn(`--tta has no effect with ${method ?? 'this method'} (no network runs)`);

  // With the picture on stdout, stdout carries nothing else: texts and JSON go to stderr.
  const text = jobs.some((j) => j.output === STDIO) ? process.stderr : process.stdout;
  const summaries: RestoreSummary[] = [];
  const failed: string[] = [];
  const interrupts = watchInterrupts(() => reporter?.stop());
  let reporter: ReturnType<typeof createReporter> | undefined;
  try {
    for (const [i, job] of jobs.entries()) {
      if (several && !opts.json) process.stderr.write(`clearsight: [${i + 1}/${jobs.length}] ${job.input}\n`);
      reporter = createReporter(progressMode(opts.json ?? false), spec.verb);
      try {
        const summary = await restoreOne(spec, table, job, opts, {
          card,
          method,
          reporter,
          interrupts,
          stdin,
          mapFiles: mapFiles.get(job.input) ?? [],
          mapsDir: mapsDir(opts, job, several),
        });
        summaries.push(summary);
        interrupts.wrote(job.output === STDIO ? 'standard output' : job.output);
        text.write(opts.json ? `${JSON.stringify(summary)}\n` : summaryLine(spec, summary, card));
      } catch (err) {
        // One bad picture among several: say so and go on with the others (each output is
        // written atomically, so nothing half-done remains); the run exits with its code.
        if (!several || !isClearsightError(err) || err.code === ERROR_CODES.ABORTED) throw err;
        reporter.stop();
        const code = reportError(err);
        failed.push(job.input);
        if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = code;
      } finally {
        reporter.stop();
      }
    }
  } finally {
    interrupts.dispose();
  }
  if (failed.length) process.stderr.write(`clearsight: ${jobs.length - failed.length} of ${jobs.length} inputs done; failed: ${failed.join(', ')}\n`);
  return summaries;
}

interface RunContext {
  card: ReturnType<typeof getModelCard> | undefined;
  method: string | undefined;
  reporter: ReturnType<typeof createReporter>;
  interrupts: ReturnType<typeof watchInterrupts>;
  stdin: Buffer | undefined;
  mapFiles: readonly string[];
  mapsDir: string | undefined;
}

/** One input: decode, restore, write (atomically, or to stdout), maps; returns its summary. */
async function restoreOne(
  spec: RestoreCommandSpec,
  table: RestoreTaskSpec<OptionSpecs>,
  job: OutputJob,
  opts: CommonOptions,
  ctx: RunContext,
): Promise<RestoreSummary> {
  const started = performance.now();
  const { reporter, interrupts, card } = ctx;
  const force = opts.force ?? false;
  reporter.stage('decode');
  const decoded = await decodeImage(job.input === STDIO ? ctx.stdin! : job.input, job.input === STDIO ? { name: 'standard input' } : {});
  const { image, alpha, meta } = decoded;
  await interrupts.checkpoint();

  const control: ExpertOptions = {
    signal: interrupts.signal,
    onProgress: reporter.onProgress,
    ...(opts.tta && card ? { tta: true } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.maxTile !== undefined ? { maxTile: opts.maxTile } : {}),
    device: opts.device,
  };
  const result = await untilAborted(table.restore(image, opts as unknown as OptionValues<OptionSpecs>, control), interrupts.signal);
  const restored = result.image;
  await interrupts.checkpoint(); // a Ctrl-C during the last tile is delivered only now

  reporter.stage('encode');
  interrupts.writing();
  if (alpha && !formatSupportsAlpha(job.format)) {
    reporter.stop();
    warnOnce(`${job.format.toUpperCase()} has no alpha channel: the transparency of the input is dropped`);
  }
  const encodeOptions = {
    format: job.format,
    bitDepth: meta.bitDepth === 16 && maxBitDepth(job.format) === 16 ? (16 as const) : (8 as const),
    // The alpha plane keeps the input's size; the encoder resizes it to an upscaled output.
    ...(alpha ? { alpha: { width: image.width, height: image.height, data: alpha } } : {}),
    ...(opts.quality !== undefined ? { quality: opts.quality } : {}),
    ...(opts.stripMetadata ? {} : { metadata: meta }),
  };
  if (job.output === STDIO) await writeStdout(await encodeImage(restored, job.format, encodeOptions));
  else await writeImage(job.output, restored, { ...encodeOptions, force, mkdirs: true });
  const writtenMaps = ctx.mapsDir !== undefined ? await writeMaps(ctx.mapsDir, ctx.mapFiles, result.maps, force) : [];

  return {
    input: job.input,
    output: job.output,
    task: spec.name,
    model: card?.id ?? null,
    ...(ctx.method !== undefined ? { method: ctx.method } : {}),
    ...(table.maps ? { maps: ctx.mapsDir !== undefined ? { dir: ctx.mapsDir, files: writtenMaps } : null } : {}),
    ...result.details,
    format: job.format,
    metadata: !opts.stripMetadata && (meta.exif !== undefined || meta.icc !== undefined),
    width: image.width,
    height: image.height,
    outWidth: restored.width,
    outHeight: restored.height,
    seconds: Math.round(performance.now() - started) / 1000,
    tta: (opts.tta ?? false) && card !== undefined,
  };
}

function summaryLine(spec: RestoreCommandSpec, s: RestoreSummary, card: RunContext['card']): string {
  const name = s.input === STDIO ? 'standard input' : basename(s.input);
  const out = s.output === STDIO ? 'standard output' : s.output;
  return (
    `${name} (${s.width}x${s.height}) -> ${out} (${s.outWidth}x${s.outHeight}), ` +
    `${spec.name}${s.method !== undefined ? ` (${s.method})` : ''}${card ? ` with ${card.id}` : ''}${s.tta ? ' + TTA' : ''}, ${s.seconds.toFixed(1)} s` +
    `${s.maps?.files.length ? `; maps in ${s.maps.dir}: ${s.maps.files.join(', ')}` : ''}\n`
  );
}

/** Where this job's maps go: --maps itself, or a subfolder per input when there are several. */
function mapsDir(opts: CommonOptions, job: OutputJob, several: boolean): string | undefined {
  if (opts.maps === undefined) return undefined;
  if (!several) return opts.maps;
  return join(opts.maps, job.input === STDIO ? 'stdin' : basename(job.input, extname(job.input)));
}

/** The first bytes of a file (enough to tell its format); empty when it cannot be read (the decoder says why later). */
async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return new Uint8Array(0);
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buf, 0, 64, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * With --maps: the file names the options produce, each checked to be writable (not existing
 * unless --force; the directory may be missing, it is created at write time), before any work.
 */
async function checkMaps(
  table: RestoreTaskSpec<OptionSpecs>,
  opts: CommonOptions,
  force: boolean,
  dir: string | undefined,
  outputPath: string,
): Promise<readonly string[]> {
  if (opts.maps === undefined || dir === undefined || !table.maps) return [];
  if (opts.maps.trim() === '') throw invalidOption('--maps', 'a directory path', opts.maps);
  const files = table.maps.files(opts as unknown as OptionValues<OptionSpecs>, '--maps');
  const output = resolve(outputPath);
  for (const file of files) {
    const path = join(dir, file);
    if (resolve(path) === output) throw invalidOption('--maps', `a directory whose map files (${files.join(', ')}) do not include the output file`, opts.maps);
    await assertOutputWritable(path, force, { mkdirs: true });
  }
  return files;
}

/** Writes the declared maps (each atomically) into `dir`, creating it; returns the paths written. */
async function writeMaps(dir: string, files: readonly string[], maps: RestoreOutput['maps'], force: boolean): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const map = maps?.[file];
    if (!map) throw new ClearsightError(ERROR_CODES.RUNTIME, `internal error: the command declared the map "${file}" but did not produce it`, { file });
    const path = join(dir, file);
    if ('image' in map) await writeImage(path, map.image, { force, mkdirs: true, bitDepth: map.bitDepth ?? 16 });
    else await writeFileAtomic(path, `${JSON.stringify(map.json, null, 2)}\n`, { force, mkdirs: true });
    written.push(path);
  }
  return written;
}

function warn(message: string): void {
  process.stderr.write(`clearsight: warning: ${message}\n`);
}
