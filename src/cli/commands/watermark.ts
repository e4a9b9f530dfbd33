/**
 * `clearsight watermark embed|verify`: identity-bound invisible watermarks (docs/watermark.md).
 *
 * The secret comes from --key, --key-file or CLEARSIGHT_WATERMARK_KEY (in that order), so it
 * need not appear on the command line (where `ps` and shell history would show it).
 * The face models load only when needed: embed in --identity auto|face mode, verify only when
 * the decoded watermark is identity-bound.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import {
  assertOutputWritable,
  ClearsightError,
  deriveWatermarkKey,
  embedWatermark,
  ERROR_CODES,
  FaceModels,
  formatFromPath,
  invalidOption,
  largestFaceIdentity,
  psnr,
  ssim,
  verifyWatermark,
  decodeImage,
  encodeImage,
  identityFaceProblem,
  OUTPUT_FORMATS,
  type ImageFormat,
  type RawImage,
  type IdentityProvider,
  type OutputFormat,
  type WatermarkKey,
} from '../lib.js';
import { withTaskOptions } from '../taskOptions.js';
import { untilAborted, watchInterrupts } from '../interrupt.js';
import { exitForWatermark } from '../exitCodes.js';
import { decodeCliInput, inputName, STDIO, writeCliImage } from '../output.js';

export const KEY_ENV = 'CLEARSIGHT_WATERMARK_KEY';
type IdentityMode = 'auto' | 'face' | 'none';

interface KeyOptions {
  key?: string;
  keyFile?: string;
}

interface EmbedCliOptions extends KeyOptions {
  output: string;
  source: string;
  identity: IdentityMode;
  targetPsnr?: number;
  minPsnr?: number;
  allowWeak?: boolean;
  format?: OutputFormat;
  quality?: number;
  stripMetadata?: boolean;
  force?: boolean;
  json?: boolean;
}

interface VerifyCliOptions extends KeyOptions {
  identity: 'auto' | 'none';
  json?: boolean;
}

/** The secret from --key, --key-file or the environment, derived into a key. */
export async function keyFromOptions(opts: KeyOptions, env: NodeJS.ProcessEnv = process.env): Promise<WatermarkKey> {
  if (opts.key !== undefined && opts.keyFile !== undefined) throw invalidOption('--key', 'either --key or --key-file, not both', '--key and --key-file');
  if (opts.key !== undefined) {
    if (opts.key === '') throw invalidOption('--key', 'a non-empty secret', opts.key);
    return deriveWatermarkKey(opts.key);
  }
  if (opts.keyFile !== undefined) {
    let bytes: Buffer;
    try {
      bytes = await readFile(opts.keyFile);
    } catch (err) {
      throw new ClearsightError(
        ERROR_CODES.INPUT_NOT_FOUND,
        `Key file "${opts.keyFile}" cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { path: opts.keyFile },
        { cause: err },
      );
    }
    // Editors end files with a newline; it is not part of the secret.
    let end = bytes.length;
    while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
    if (end === 0) throw invalidOption('--key-file', 'a file holding a non-empty secret', opts.keyFile);
    return deriveWatermarkKey(bytes.subarray(0, end));
  }
  const fromEnv = env[KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return deriveWatermarkKey(fromEnv);
  throw invalidOption('--key', `a secret: --key <secret>, --key-file <path> or the ${KEY_ENV} environment variable`, undefined);
}

export function addWatermarkCommand(program: Command): Command {
  const wm = program
    .command('watermark')
    .summary('embed or verify an identity-bound invisible watermark')
    .description(
      'Invisible, encrypted watermarks that carry a source id and the identity of the face in the picture. ' +
        '`verify` says authentic, manipulated (the face no longer matches: a face swap), damaged (a mark of this key is there but damaged or overwritten, and nothing says the face changed) or none (no watermark under this key). ' +
        `The secret: --key, --key-file or ${KEY_ENV}.`,
    );

  // --key (and --key-file, CLI only) then the rest of the task's options, from the task table.
  const keyFile = (cmd: Command) =>
    cmd.option(
      '--key-file <path>',
      `read the secret from a file (a trailing newline is ignored); safer than --key, which other users can see (or set ${KEY_ENV})`,
    );

  keyFile(
    withTaskOptions(
      wm
        .command('embed')
        .summary('mark a picture')
        .argument('<input>', 'picture to mark (- reads standard input)')
        .requiredOption(
          '-o, --output <file>',
          "marked picture (PNG recommended; JPEG/WebP are lossy re-encodes); - writes it to standard output (--format, else the input's format; the summary goes to stderr)",
        ),
      // --source, --identity, --target-psnr, and --format, --quality, --strip-metadata: from the task table.
      'watermark-embed',
      { omit: { force: '-f, --force covers it: overwrite the output and mark a marked picture again' } },
    ),
  )
    .option(
      '-f, --force',
      'overwrite the output file if it exists, and mark a picture that already carries a watermark under this key (refused otherwise: the second mark would erase the first)',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (input: string, opts: EmbedCliOptions) => runEmbed(input, opts));

  keyFile(withTaskOptions(wm.command('verify').summary('check a picture').argument('<input>', 'picture to check (- reads standard input)'), 'watermark-verify'))
    .option('--json', 'print {"verdict", "source", "bitErrorRate", "confidence", ...} on stdout')
    .action(async (input: string, opts: VerifyCliOptions) => runVerify(input, opts));
  return wm;
}

/** Lazily loaded face models: loaded on first use, disposed by the caller. */
function lazyFaces(): { provider: IdentityProvider; dispose: () => void; loaded: () => boolean } {
  let models: FaceModels | undefined;
  let provider: IdentityProvider | undefined;
  return {
    provider: async (img) => {
      if (!models) {
        models = await FaceModels.load({ mesh: false, embed: true });
        provider = largestFaceIdentity(models);
      }
      return provider!(img);
    },
    dispose: () => models?.dispose(),
    loaded: () => models !== undefined,
  };
}

async function runEmbed(input: string, opts: EmbedCliOptions): Promise<void> {
  const started = performance.now();
  const toStdout = opts.output === STDIO;
  if (!toStdout) {
    if (opts.format === undefined) formatFromPath(opts.output);
    await assertOutputWritable(opts.output, opts.force ?? false);
  }
  const key = await keyFromOptions(opts);
  const interrupts = watchInterrupts();
  const faces = lazyFaces();
  try {
    const { image, meta } = await decodeCliInput(input);
    await interrupts.checkpoint();
    let identity: IdentityProvider | null = null;
    if (opts.identity !== 'none') {
      identity = async (img) => {
        const face = await faces.provider(img);
        const problem = face ? identityFaceProblem(face) : undefined;
        if ((!face || problem) && opts.identity === 'face') {
          throw new ClearsightError(
            ERROR_CODES.NO_FACE,
            `No ${face ? 'usable ' : ''}face found in ${input === STDIO ? 'standard input' : `"${input}"`} (--identity face${problem ? `: ${problem}` : ''}); use --identity auto or none for whole-image mode`,
            {
              path: input,
            },
          );
        }
        return face;
      };
    }
    // The mark is read back from what the file will hold: the 8-bit pixels, or for a lossy
    // format its encode at the quality asked (the library strengthens the mark until it reads back).
    const format = outputFormat(opts, meta.format);
    const readBack =
      format === 'png' || format === 'tiff'
        ? as8bit
        : async (img: RawImage) => (await decodeImage(await encodeImage(img, format, opts.quality !== undefined ? { quality: opts.quality } : {}))).image;
    const res = await untilAborted(
      embedWatermark(image, {
        key,
        source: opts.source,
        identity,
        force: opts.force ?? false,
        allowWeak: opts.allowWeak ?? false,
        readBack: async (img) => readBack(img),
        signal: interrupts.signal,
        ...(opts.targetPsnr !== undefined ? { targetPsnr: opts.targetPsnr } : {}),
        ...(opts.minPsnr !== undefined ? { minPsnr: opts.minPsnr } : {}),
      }),
      interrupts.signal,
    );
    await interrupts.checkpoint();
    // The whole verification (the face too, in identity mode) on what is written: the user hears
    // of a mark that does not verify now, not at verification.
    const selfCheck = await verifyWatermark(await readBack(res.image), { key, ...(res.mode === 'identity' ? { identity: faces.provider } : {}) });
    for (const warning of embedWarnings(res, selfCheck.verdict)) process.stderr.write(`clearsight: warning: ${warning}\n`);
    interrupts.writing();
    await writeCliImage(opts.output, res.image, {
      sourceFormat: meta.format,
      force: opts.force ?? false,
      ...(opts.format !== undefined ? { format: opts.format } : {}),
      ...(opts.quality !== undefined ? { quality: opts.quality } : {}),
      ...(opts.stripMetadata ? {} : { metadata: meta }),
    });
    const summary = {
      input,
      output: opts.output,
      width: meta.width,
      height: meta.height,
      mode: res.mode,
      source: res.source,
      ...(res.identityCode ? { identityCode: res.identityCode } : {}),
      ...(res.faceBox ? { faceBox: res.faceBox } : {}),
      ...(res.identitySkipped ? { identitySkipped: res.identitySkipped } : {}),
      targetPsnr: res.targetPsnr,
      requestedPsnr: res.requestedPsnr,
      readBack: res.readBack,
      psnr: Math.round(psnr(image, res.image) * 100) / 100,
      ssim: Math.round(ssim(image, res.image, { channel: 'y' }) * 10000) / 10000,
      keyFingerprint: res.keyFingerprint,
      selfCheck: { verdict: selfCheck.verdict, bitErrorRate: selfCheck.bitErrorRate },
      seconds: Math.round(performance.now() - started) / 1000,
    };
    // With the picture on stdout, stdout carries nothing else.
    const text = toStdout ? process.stderr : process.stdout;
    if (opts.json) text.write(`${JSON.stringify(summary)}\n`);
    else {
      text.write(
        `${displayName(input)} (${meta.width}x${meta.height}) -> ${toStdout ? 'standard output' : opts.output}: watermark, ${modeText(res)}, ` +
          `source "${res.source}", PSNR ${summary.psnr.toFixed(1)} dB${res.targetPsnr < res.requestedPsnr ? ` (strengthened from ${res.requestedPsnr} dB to read back)` : ''}, key ${res.keyFingerprint}, ${summary.seconds.toFixed(1)} s\n`,
      );
    }
  } finally {
    faces.dispose();
    interrupts.dispose();
  }
}

async function runVerify(input: string, opts: VerifyCliOptions): Promise<void> {
  const key = await keyFromOptions(opts);
  const interrupts = watchInterrupts();
  const faces = lazyFaces();
  try {
    const { image } = await decodeCliInput(input);
    await interrupts.checkpoint();
    const r = await untilAborted(
      verifyWatermark(image, { key, signal: interrupts.signal, ...(opts.identity === 'auto' ? { identity: faces.provider } : {}) }),
      interrupts.signal,
    );
    process.exitCode = exitForWatermark(r.verdict);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const pct = r.bitErrorRate === null ? '' : `, bit error rate ${(100 * r.bitErrorRate).toFixed(1)}%`;
    const id = r.identity?.checked
      ? r.identity.facePresent
        ? `, face ${r.identity.match ? 'matches' : 'does NOT match'} the carried identity (distance ${r.identity.distance}/64, limit ${r.identity.maxDistance})`
        : ', the marked face is gone'
      : r.mode === 'identity'
        ? ', identity not checked'
        : '';
    const what =
      r.verdict === 'none'
        ? 'no watermark under this key'
        : r.verdict === 'damaged'
          ? `${r.source ? `source "${r.source}"${pct}${id}; ` : ''}${r.reason}`
          : `source "${r.source}"${pct}${id}`;
    process.stdout.write(`${displayName(input)}: ${r.verdict.toUpperCase()}: ${what}, confidence ${r.confidence.toFixed(2)}\n`);
  } finally {
    faces.dispose();
    interrupts.dispose();
  }
}

/** The input as the summary line names it: its file name, or "standard input". */
function displayName(input: string): string {
  return input === STDIO ? inputName(input) : basename(input);
}

/** The picture as an 8-bit file holds it (rounded, clamped). */
async function as8bit(img: RawImage): Promise<RawImage> {
  return (await decodeImage(await encodeImage(img, 'png'))).image;
}

/** The format the marked picture is written in (as writeCliImage picks it). */
function outputFormat(opts: EmbedCliOptions, sourceFormat: ImageFormat): OutputFormat {
  if (opts.format !== undefined) return opts.format;
  if (opts.output !== STDIO) return formatFromPath(opts.output);
  return (OUTPUT_FORMATS as readonly string[]).includes(sourceFormat) ? (sourceFormat as OutputFormat) : 'png';
}

/** The mode in words: bound to a face, or whole-image and why. */
function modeText(res: { mode: string; identitySkipped?: { reason: string } }): string {
  if (res.mode === 'identity') return 'bound to the largest face';
  return res.identitySkipped ? `whole-image mode (not bound to a face: ${res.identitySkipped.reason})` : 'whole-image mode (no face)';
}

/** What the user must hear about a mark that was written: weak, or not verifying. */
export function embedWarnings(
  res: { readBack: { decoded: boolean; clean: boolean; bitErrorRate: number | null }; targetPsnr: number; faceBox?: { width: number } },
  selfCheckVerdict: string,
): string[] {
  const out: string[] = [];
  if (!res.readBack.decoded || selfCheckVerdict === 'none' || selfCheckVerdict === 'damaged') {
    out.push(
      `the watermark does not read back from the marked picture itself (verify says ${selfCheckVerdict}) even at ${res.targetPsnr} dB: this picture's content masks it; a lower --min-psnr allows a stronger (more visible) mark`,
    );
  } else if (selfCheckVerdict === 'manipulated' && res.faceBox) {
    out.push(
      `the watermark reads back but the face it is bound to (${Math.round(res.faceBox.width)} px) does not match itself when read again (verify says manipulated); --identity none marks the whole picture`,
    );
  } else if (!res.readBack.clean) {
    out.push(
      `the watermark reads back with ${(100 * (res.readBack.bitErrorRate ?? 0)).toFixed(1)}% bit errors even at ${res.targetPsnr} dB (clean is at most 3%): it may not survive re-compression; a lower --min-psnr allows a stronger mark`,
    );
  }
  return out;
}
