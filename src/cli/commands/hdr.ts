/**
 * `clearsight hdr a.jpg b.jpg c.jpg -o out.hdr [--ldr out.jpg] [--times ...|--ev ...] ...`:
 * merge an exposure bracket into a ghost-free radiance map (library: readBracket + mergeHdr).
 *
 *   check options and every output path (fast: before any work; nothing existing is overwritten
 *   without --force, the paths must differ from each other and from the inputs)
 *   -> decode the exposures, read their EXIF exposure times (unless --times / --ev)
 *   -> align, recover the response, deghost, merge (progress per stage, Ctrl-C)
 *   -> encode every output in memory, then write them, each atomically; if a write fails, the
 *      files this run already wrote are removed (no partial set of outputs)
 *   -> a summary line, or one JSON object with --json.
 */
import { performance } from 'node:perf_hooks';
import { basename, extname, resolve } from 'node:path';
import { unlink } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  assertOutputWritable,
  bracketTimes,
  ClearsightError,
  encodeImage,
  encodeRgbe,
  ERROR_CODES,
  formatFromPath,
  formatTime,
  HDR_MAX_FRAMES,
  HDR_MIN_FRAMES,
  invalidOption,
  mergeHdr,
  parseExposureTimes,
  parseExposureValues,
  readBracket,
  writeFileAtomic,
  type OutputFormat,
  type ToneMapper,
} from '../lib.js';
import { withTaskOptions } from '../taskOptions.js';
import { createReporter, progressMode, type Reporter } from '../progress.js';
import { untilAborted, watchInterrupts } from '../interrupt.js';

interface HdrCliOptions {
  output: string;
  ldr?: string;
  mask?: string;
  /** As typed (checked by the task table); parsed into seconds / EVs in the run. */
  times?: string;
  ev?: string;
  align: boolean;
  deghost?: boolean;
  reference?: number;
  tonemap: ToneMapper;
  fusion?: boolean;
  maxShift?: number;
  /** --format and --quality (the task table's output options) apply to --ldr. */
  format?: OutputFormat;
  quality?: number;
  json?: boolean;
  force?: boolean;
}

/** The JSON object printed by --json. */
export interface HdrSummary {
  inputs: string[];
  output: string;
  ldr: string | null;
  mask: string | null;
  width: number;
  height: number;
  times: number[];
  timesSource: 'times' | 'ev' | 'exif';
  /** 0-based index of the reference exposure. */
  reference: number;
  shifts: { dx: number; dy: number }[];
  deghost?: boolean;
  /** Mean of the ghost mask: the share of the picture taken from the reference only. */
  ghostFraction: number;
  ldrMethod: 'fusion' | ToneMapper | null;
  timings: Record<string, number>;
  seconds: number;
}

const STAGES: Record<string, string> = {
  prepare: 'preparing',
  align: 'aligning (MTB)',
  response: 'recovering the camera response',
  deghost: 'finding ghosts',
  merge: 'merging radiance',
  fusion: 'exposure fusion',
  tonemap: 'tone mapping',
};

export function addHdrCommand(program: Command): Command {
  const cmd = withTaskOptions(
    program
      .command('hdr')
      .summary('merge an exposure bracket into a ghost-free HDR (.hdr) and an LDR preview')
      .description(
        'Merge 2 to 9 exposures of one scene into a radiance map (Radiance .hdr): MTB alignment of hand-held ' +
          'brackets, Debevec-Malik camera response, deghosting against a reference exposure (moving things appear ' +
          'once, as the reference saw them), and an LDR result by tone mapping (Reinhard global or a local ' +
          'base/detail operator) or by exposure fusion (Mertens). Exposure times come from EXIF unless given.',
      )
      .argument('<inputs...>', `${HDR_MIN_FRAMES} to ${HDR_MAX_FRAMES} exposures (PNG, JPEG, TIFF, WebP, BMP), same size`)
      .option('-o, --output <file.hdr>', 'radiance output, Radiance RGBE (.hdr), run-length encoded')
      .option('--ldr <file>', 'LDR result (.jpg .png .webp .tif .bmp): tone mapped, or fused with --fusion')
      .option('--mask <file.png>', 'ghost mask (white: taken from the reference exposure only)'),
    // --times, --ev, --no-align, --no-deghost, --reference, --max-shift, --tonemap, --fusion, and
    // --format and --quality of the LDR picture: the task's options, from the task table.
    'hdr',
  )
    .option('--json', 'print one JSON summary on stdout instead of progress and text')
    .option('-f, --force', 'overwrite output files that exist')
    .addHelpText(
      'after',
      '\nExamples:\n  $ clearsight hdr dark.jpg mid.jpg bright.jpg -o out.hdr --ldr out.jpg\n  $ clearsight hdr a.png b.png c.png --ev -2,0,2 -o out.hdr --ldr fused.jpg --fusion --mask ghosts.png --json\n\nExit codes: see clearsight --help.',
    )
    .action(async (inputs: string[], opts: HdrCliOptions) => {
      if (!opts.output) cmd.error("required option '-o, --output <file.hdr>' not specified");
      await runHdr(inputs, opts);
    });
  return cmd;
}

export async function runHdr(inputs: string[], opts: HdrCliOptions): Promise<HdrSummary> {
  const started = performance.now();
  const force = opts.force ?? false;
  const json = opts.json ?? false;
  const ldrFormat = await checkHdrRequest(inputs, opts);

  const mode = progressMode(json);
  const reporter: Reporter = createReporter(mode, 'merging');
  const interrupts = watchInterrupts(() => reporter.stop());
  const written: string[] = [];
  try {
    reporter.stage('decode');
    const bracket = await untilAborted(readBracket(inputs, { signal: interrupts.signal }), interrupts.signal);
    await interrupts.checkpoint();
    const chosen = bracketTimes(bracket, {
      ...(opts.times ? { times: parseExposureTimes(opts.times, '--times') } : {}),
      ...(opts.ev ? { ev: parseExposureValues(opts.ev, '--ev') } : {}),
    });
    const ldrMethod: HdrSummary['ldrMethod'] = opts.ldr ? (opts.fusion ? 'fusion' : opts.tonemap) : null;
    const result = await untilAborted(
      mergeHdr(bracket.frames, {
        ...(chosen.times ? { times: chosen.times } : {}),
        ...(chosen.ev ? { ev: chosen.ev } : {}),
        align: opts.align,
        deghost: opts.deghost ?? true,
        ...(opts.reference !== undefined ? { reference: opts.reference - 1 } : {}),
        ...(opts.maxShift !== undefined ? { maxShift: opts.maxShift } : {}),
        ...(ldrMethod === 'fusion' ? { fusion: true } : ldrMethod ? { tonemap: ldrMethod } : {}),
        signal: interrupts.signal,
        onProgress: (e) => {
          const label = STAGES[e.stage];
          if (label) reporter.stage(label);
        },
      }),
      interrupts.signal,
    );
    await interrupts.checkpoint();

    // Encode everything first, so an encoder failure leaves no file at all.
    reporter.stage('encode');
    const files: Array<[string, Buffer]> = [
      [opts.output, encodeRgbe(result.radiance, { comment: `clearsight hdr: ${inputs.length} exposures, times ${result.times.map(formatTime).join(',')} s` })],
    ];
    if (opts.ldr && ldrFormat && result.ldr)
      files.push([opts.ldr, await encodeImage(result.ldr, ldrFormat, { ...(opts.quality !== undefined ? { quality: opts.quality } : {}) })]);
    if (opts.mask) files.push([opts.mask, await encodeImage(result.ghostMask, formatFromPath(opts.mask))]);
    interrupts.writing();
    for (const [path, bytes] of files) {
      await writeFileAtomic(path, bytes, { force });
      written.push(path);
    }
    reporter.stop();

    let ghost = 0;
    for (const v of result.ghostMask.data) ghost += v;
    const summary: HdrSummary = {
      inputs,
      output: opts.output,
      ldr: opts.ldr ?? null,
      mask: opts.mask ?? null,
      width: result.radiance.width,
      height: result.radiance.height,
      times: result.times,
      timesSource: chosen.source,
      reference: result.reference,
      shifts: result.shifts,
      deghost: opts.deghost ?? true,
      ghostFraction: Math.round((ghost / result.ghostMask.data.length) * 1e4) / 1e4,
      ldrMethod,
      timings: result.timings,
      seconds: Math.round(performance.now() - started) / 1000,
    };
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(hdrText(summary));
    return summary;
  } catch (err) {
    // No partial set of outputs: remove what this run wrote before the failure.
    for (const p of written) await unlink(p).catch(() => undefined);
    throw err;
  } finally {
    reporter.stop();
    interrupts.dispose();
  }
}

/**
 * Every check made before any work: the number of exposures, options that contradict each other,
 * the outputs (formats, distinct from each other and from the inputs, writable). The --ldr format.
 */
async function checkHdrRequest(inputs: string[], opts: HdrCliOptions): Promise<OutputFormat | undefined> {
  if (inputs.length < HDR_MIN_FRAMES || inputs.length > HDR_MAX_FRAMES) {
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      `hdr needs ${HDR_MIN_FRAMES} to ${HDR_MAX_FRAMES} exposures of the same scene, got ${inputs.length} input(s)`,
      { option: 'inputs', given: inputs.length },
    );
  }
  if (opts.times !== undefined && opts.ev !== undefined)
    throw invalidOption('--ev', 'absent with --times (give exposure times or exposure values, not both)', opts.ev);
  // One exposure per file, counted before any picture is read and named by the flag typed.
  for (const [flag, text, parse] of [
    ['--times', opts.times, parseExposureTimes],
    ['--ev', opts.ev, parseExposureValues],
  ] as const) {
    if (text === undefined) continue;
    const given = parse(text, flag).length;
    if (given !== inputs.length) {
      throw new ClearsightError(
        ERROR_CODES.INVALID_OPTION,
        `Invalid option "${flag}": ${given} value${given === 1 ? '' : 's'} given for ${inputs.length} exposures; give one per file, in order`,
        {
          option: flag,
          expected: inputs.length,
          given,
        },
      );
    }
  }
  if (opts.reference !== undefined && opts.reference > inputs.length)
    throw invalidOption('--reference', `an exposure number from 1 to ${inputs.length}`, opts.reference);
  if (opts.fusion && !opts.ldr) warn('--fusion has no effect without --ldr');

  // Outputs: checked before any work.
  if (extname(opts.output).toLowerCase() !== '.hdr') {
    throw new ClearsightError(ERROR_CODES.OUTPUT_UNSUPPORTED, `Cannot write "${opts.output}": the radiance output must be a Radiance .hdr file`, {
      path: opts.output,
    });
  }
  const ldrFormat: OutputFormat | undefined = opts.ldr ? (opts.format ?? formatFromPath(opts.ldr)) : undefined;
  if (!opts.ldr && (opts.format !== undefined || opts.quality !== undefined)) warn('--format and --quality apply to the --ldr picture; no --ldr given');
  if (opts.mask) formatFromPath(opts.mask);
  const outputs = [opts.output, opts.ldr, opts.mask].filter((p): p is string => p !== undefined);
  const seen = new Map<string, string>();
  for (const p of [...inputs.map((i) => ['input', i] as const), ...outputs.map((o) => ['output', o] as const)]) {
    const key = resolve(p[1]);
    const prev = seen.get(key);
    if (prev && (prev === 'output' || p[0] === 'output')) {
      throw invalidOption('--output', 'output paths different from each other and from the inputs', p[1]);
    }
    seen.set(key, p[0]);
  }
  for (const o of outputs) await assertOutputWritable(o, opts.force ?? false);
  return ldrFormat;
}

/** The summary as one line of text. */
function hdrText(summary: HdrSummary): string {
  const { inputs, ldr, mask } = summary;
  const times = summary.times.map(formatTime).join(', ');
  const extra = [ldr ? `${ldr} (${summary.ldrMethod})` : '', mask ? `mask ${mask}` : ''].filter(Boolean).join(', ');
  return (
    `${inputs.length} exposures (${summary.width}x${summary.height}, ${times} s from ${summary.timesSource}) -> ${summary.output}${extra ? `, ${extra}` : ''}; ` +
    `reference ${basename(inputs[summary.reference]!)}, ghosts ${(summary.ghostFraction * 100).toFixed(1)} %; ${summary.seconds.toFixed(1)} s\n`
  );
}

function warn(message: string): void {
  process.stderr.write(`clearsight: warning: ${message}\n`);
}
