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
 * A command is a RestoreCommandSpec: its name, texts, extra options, and which library function
 * and model its options select. A spec whose methods produce physical maps (transmission,
 * atmospheric light, illumination, ...) declares them (`maps`): the command then takes
 * `--maps <dir>`, the file names are checked before the work starts (no overwriting without
 * --force), and `run` returns the image plus the maps by file name; the helper writes them, each
 * atomically, into the directory (created if missing) after the output.
 */
import { performance } from 'node:perf_hooks';
import { basename, join, resolve } from 'node:path';
import type { Command, Option } from 'commander';
import {
  assertOutputWritable,
  ClearsightError,
  createImage,
  decodeImage,
  ERROR_CODES,
  formatFromPath,
  formatSupportsAlpha,
  getModelCard,
  invalidOption,
  maxBitDepth,
  writeFileAtomic,
  writeImage,
  type Device,
  type ExpertOptions,
  type RawImage,
} from '../lib.js';
import { choiceOption, integerOption } from '../options.js';
import { INT8_MODELS, PRECISIONS, type Precision } from '../../core/models/precision.js';
import { createReporter, progressMode } from '../progress.js';
import { untilAborted, watchInterrupts } from '../interrupt.js';
import type { RestoreCommandName } from './names.js';

/** Options every restoration command has, as commander hands them over. */
export interface CommonOptions {
  /** Required; checked in the action. */
  output: string;
  force?: boolean;
  tta?: boolean;
  threads?: number;
  device: Device;
  precision: Precision;
  maxTile?: number;
  quality?: number;
  json?: boolean;
  /** --maps <dir>: only on commands whose spec declares maps. */
  maps?: string;
}

/** One map file: an image (written as PNG, 16-bit unless said otherwise) or a JSON value. */
export type RestoreMap = { image: RawImage; bitDepth?: 8 | 16 } | { json: unknown };

/** What a spec's `run` may return instead of a bare image: the image plus maps by file name. */
export interface RestoreOutput {
  image: RawImage;
  /** File name inside --maps <dir> (e.g. "transmission.png") -> content. Written only with --maps. */
  maps?: Readonly<Record<string, RestoreMap>>;
}

export interface RestoreMapsSpec<O> {
  /** What --maps writes, for --help. */
  description: string;
  /**
   * The file names written for these options (the run must return each of them). Throw
   * invalidOption('--maps', ...) when the selected method has no maps.
   */
  files(opts: O): readonly string[];
}

/** A width*height plane as a grey RawImage, for a map (values as they are; the encoder clamps to [0, 1]). */
export function greyMap(plane: Float32Array, width: number, height: number): RawImage {
  return createImage(width, height, 1, plane);
}

export interface RestoreCommandSpec<O extends CommonOptions> {
  /** Command name, also the `task` of the JSON summary. */
  name: RestoreCommandName;
  /** One line for the command list. */
  summary: string;
  /** Longer text for `clearsight <name> --help`. */
  description: string;
  /** Progress label of the inference stage: "deraining". */
  verb: string;
  /** Options beyond the common ones. */
  options?: readonly Option[];
  /** The model card (by name) these options select; null when the selected method runs no network. */
  model(opts: O): string | null;
  /** The method these options select (commands with several: `--method`); the summary's `method`. */
  method?(opts: O): string;
  /** Extra fields of the JSON summary (e.g. derain's veil strength). */
  details?(opts: O): Record<string, unknown>;
  /** Maps the command can write with --maps <dir>; absent: no --maps option. */
  maps?: RestoreMapsSpec<O>;
  /** Arguments after the command name for the help example; default `photo.jpg -o restored.png`. */
  example?: string;
  /** Calls the library task: the image, or the image with its maps. */
  run(img: RawImage, opts: O, control: ExpertOptions): Promise<RawImage | RestoreOutput>;
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
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  seconds: number;
  tta: boolean;
}

const DEVICES: readonly Device[] = ['cpu', 'cuda'];

export function addRestoreCommand<O extends CommonOptions>(program: Command, spec: RestoreCommandSpec<O>): Command {
  const cmd = program
    .command(spec.name)
    .summary(spec.summary)
    .description(spec.description)
    .argument('<input>', 'input image: PNG, JPEG, WebP, TIFF or BMP')
    .option('-o, --output <file>', 'output image (required); the format follows the extension (.png .jpg .jpeg .webp .tif .tiff .bmp)')
    .option('-f, --force', 'overwrite the output file if it exists');
  for (const option of spec.options ?? []) cmd.addOption(option);
  if (spec.maps) cmd.option('--maps <dir>', `write the physical maps into <dir> (created if missing; existing files kept unless --force): ${spec.maps.description}`);
  cmd
    .option('--tta', 'x8 self-ensemble over flips and rotations: 8x slower, usually a little better')
    .addOption(integerOption('--threads <n>', 'CPU threads for inference (default: all cores)', 1, 256))
    .addOption(choiceOption('--device <device>', 'where the network runs', DEVICES, 'cpu'))
    .addOption(choiceOption('--precision <p>', `int8: the network quantized (offered for ${INT8_MODELS.join(', ')}: within 0.1 dB of fp32, about 10% less CPU time, a smaller graph; docs/performance.md)`, PRECISIONS, 'fp32'))
    .addOption(integerOption('--max-tile <n>', 'largest tile side in pixels; lower it to save memory (default: from the model card; never below the card minimum, 256 for MAXIM, whose output changes on smaller tiles)', 16, 8192))
    .addOption(integerOption('--quality <q>', 'JPEG/WebP quality 1-100 (default: JPEG 95, WebP lossless)', 1, 100))
    .option('--json', 'print one JSON summary on stdout instead of progress and text')
    .addHelpText('after', `\nExample:\n  $ clearsight ${spec.name} ${spec.example ?? 'photo.jpg -o restored.png'}\n\nExit codes: see clearsight --help.`)
    .action(async (input: string, opts: O) => {
      // Checked here rather than with requiredOption, so that an unknown option or a missing
      // <input> is reported first (commander checks required options before either).
      if (!opts.output) cmd.error("required option '-o, --output <file>' not specified");
      await runRestore(spec, input, opts);
    });
  return cmd;
}

const LOSSY: ReadonlySet<string> = new Set(['jpeg', 'webp']);

export async function runRestore<O extends CommonOptions>(spec: RestoreCommandSpec<O>, input: string, opts: O): Promise<RestoreSummary> {
  const started = performance.now();
  const json = opts.json ?? false;
  const force = opts.force ?? false;

  // Everything that can be checked cheaply is checked before the long inference.
  const format = formatFromPath(opts.output);
  const modelName = spec.model(opts);
  const card = modelName === null ? undefined : getModelCard(modelName);
  const method = spec.method?.(opts);
  await assertOutputWritable(opts.output, force);
  const mapFiles = await checkMaps(spec, opts, force);
  if (opts.tta && !card) warn(`--tta has no effect with ${method ?? 'this method'} (no network runs)`);
  if (opts.quality !== undefined && !LOSSY.has(format)) warn(`--quality has no effect on ${format.toUpperCase()} output (lossless)`);

  const reporter = createReporter(progressMode(json), spec.verb);
  const interrupts = watchInterrupts(() => reporter.stop());
  let restored: RawImage;
  let writtenMaps: string[] = [];
  let inWidth: number;
  let inHeight: number;
  try {
    reporter.stage('decode');
    const decoded = await decodeImage(input);
    const { image, alpha, meta } = decoded;
    inWidth = image.width;
    inHeight = image.height;
    await interrupts.checkpoint();

    const control: ExpertOptions = {
      signal: interrupts.signal,
      onProgress: reporter.onProgress,
      ...(opts.tta && card ? { tta: true } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.maxTile !== undefined ? { maxTile: opts.maxTile } : {}),
      device: opts.device,
      ...(opts.precision === 'int8' ? { precision: 'int8' as const } : {}),
    };
    const result = await untilAborted(spec.run(image, opts, control), interrupts.signal);
    restored = isRestoreOutput(result) ? result.image : result;
    await interrupts.checkpoint(); // a Ctrl-C during the last tile is delivered only now

    reporter.stage('write');
    interrupts.writing();
    if (alpha && !formatSupportsAlpha(format)) {
      reporter.stop();
      warn(`${format.toUpperCase()} has no alpha channel: the transparency of the input is dropped`);
    }
    await writeImage(opts.output, restored, {
      force,
      bitDepth: meta.bitDepth === 16 && maxBitDepth(format) === 16 ? 16 : 8,
      // The alpha plane keeps the input's size; writeImage resizes it to an upscaled output.
      ...(alpha ? { alpha: { width: image.width, height: image.height, data: alpha } } : {}),
      ...(opts.quality !== undefined ? { quality: opts.quality } : {}),
    });
    if (opts.maps !== undefined) writtenMaps = await writeMaps(opts.maps, mapFiles, isRestoreOutput(result) ? result.maps : undefined, force);
  } finally {
    reporter.stop();
    interrupts.dispose();
  }

  const summary: RestoreSummary = {
    input,
    output: opts.output,
    task: spec.name,
    model: card?.id ?? null,
    ...(method !== undefined ? { method } : {}),
    ...(spec.maps ? { maps: opts.maps !== undefined ? { dir: opts.maps, files: writtenMaps } : null } : {}),
    ...spec.details?.(opts),
    width: inWidth,
    height: inHeight,
    outWidth: restored.width,
    outHeight: restored.height,
    seconds: Math.round(performance.now() - started) / 1000,
    tta: (opts.tta ?? false) && card !== undefined,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(
      `${basename(input)} (${inWidth}x${inHeight}) -> ${opts.output} (${restored.width}x${restored.height}), ` +
        `${spec.name}${method !== undefined ? ` (${method})` : ''}${card ? ` with ${card.id}` : ''}${summary.tta ? ' + TTA' : ''}, ${summary.seconds.toFixed(1)} s` +
        `${writtenMaps.length ? `; maps in ${opts.maps}: ${writtenMaps.join(', ')}` : ''}\n`,
    );
  }
  return summary;
}

const isRestoreOutput = (r: RawImage | RestoreOutput): r is RestoreOutput => 'image' in r;

/**
 * With --maps: the file names the options produce, each checked to be writable (not existing
 * unless --force; the directory may be missing, it is created at write time), before any work.
 */
async function checkMaps<O extends CommonOptions>(spec: RestoreCommandSpec<O>, opts: O, force: boolean): Promise<readonly string[]> {
  if (opts.maps === undefined || !spec.maps) return [];
  if (opts.maps.trim() === '') throw invalidOption('--maps', 'a directory path', opts.maps);
  const files = spec.maps.files(opts);
  const output = resolve(opts.output);
  for (const file of files) {
    const path = join(opts.maps, file);
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
