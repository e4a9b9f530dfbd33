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
 * and model its options select.
 */
import { performance } from 'node:perf_hooks';
import { basename } from 'node:path';
import type { Command, Option } from 'commander';
import {
  assertOutputWritable,
  decodeImage,
  formatFromPath,
  formatSupportsAlpha,
  getModelCard,
  maxBitDepth,
  writeImage,
  type Device,
  type ExpertOptions,
  type RawImage,
} from '../lib.js';
import { choiceOption, integerOption } from '../options.js';
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
  maxTile?: number;
  quality?: number;
  json?: boolean;
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
  /** The model card (by name) these options select. */
  model(opts: O): string;
  /** Arguments after the command name for the help example; default `photo.jpg -o restored.png`. */
  example?: string;
  /** Calls the library task. */
  run(img: RawImage, opts: O, control: ExpertOptions): Promise<RawImage>;
}

/** The JSON summary printed by --json (one object, one line, on stdout). */
export interface RestoreSummary {
  input: string;
  output: string;
  task: string;
  model: string;
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
  cmd
    .option('--tta', 'x8 self-ensemble over flips and rotations: 8x slower, usually a little better')
    .addOption(integerOption('--threads <n>', 'CPU threads for inference (default: all cores)', 1, 256))
    .addOption(choiceOption('--device <device>', 'where the network runs', DEVICES, 'cpu'))
    .addOption(integerOption('--max-tile <n>', 'largest tile side in pixels; lower it to save memory (default: from the model card)', 16, 8192))
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
  const card = getModelCard(spec.model(opts));
  await assertOutputWritable(opts.output, force);
  if (opts.quality !== undefined && !LOSSY.has(format)) warn(`--quality has no effect on ${format.toUpperCase()} output (lossless)`);

  const reporter = createReporter(progressMode(json), spec.verb);
  const interrupts = watchInterrupts(() => reporter.stop());
  let restored: RawImage;
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
      ...(opts.tta ? { tta: true } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.maxTile !== undefined ? { maxTile: opts.maxTile } : {}),
      device: opts.device,
    };
    restored = await untilAborted(spec.run(image, opts, control), interrupts.signal);
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
  } finally {
    reporter.stop();
    interrupts.dispose();
  }

  const summary: RestoreSummary = {
    input,
    output: opts.output,
    task: spec.name,
    model: card.id,
    width: inWidth,
    height: inHeight,
    outWidth: restored.width,
    outHeight: restored.height,
    seconds: Math.round(performance.now() - started) / 1000,
    tta: opts.tta ?? false,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(
      `${basename(input)} (${inWidth}x${inHeight}) -> ${opts.output} (${restored.width}x${restored.height}), ` +
        `${spec.name} with ${card.id}${summary.tta ? ' + TTA' : ''}, ${summary.seconds.toFixed(1)} s\n`,
    );
  }
  return summary;
}

function warn(message: string): void {
  process.stderr.write(`clearsight: warning: ${message}\n`);
}
