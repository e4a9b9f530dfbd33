/**
 * Where the picture commands read and write: one helper for every command that turns pictures
 * into pictures (derain ... upscale, restore auto), so inputs, outputs and encoder options read
 * the same everywhere.
 *
 * Inputs (positional, one or more):
 *   a file; `-` (standard input, once); a folder (its pictures; with --recursive its subfolders
 *   too); a quoted glob (`'shots/*.jpg'`, `'shots/**\/*.png'`) for shells that do not expand it.
 * Output (-o):
 *   one input: a file, `-` (standard output: the image bytes only, everything else on stderr),
 *   or a folder (an existing one, or a path ending in /);
 *   several inputs (or a folder input): a folder (created if missing); each output is named by
 *   --name (default "{stem}{suffix}.{ext}", in the input's subfolder under a folder input).
 * Format: --format, else the output file's extension, else (folders, `-`) the input's format.
 * Encoder: --quality 1-100 (JPEG, WebP, AVIF); EXIF and ICC profile kept unless --strip-metadata.
 *
 * The commands that read one file (faces, compare, watermark, forensics analyze, liveness) take
 * `-` through the small helpers at the end (decodeCliInput, withInputFile, writeCliImage).
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import {
  ClearsightError,
  decodeImage,
  encodeImage,
  ERROR_CODES,
  formatFromPath,
  formatIsLossy,
  invalidOption,
  OUTPUT_FORMATS,
  writeImage,
  type DecodedImage,
  type DecodeOptions,
  type ImageFormat,
  type OutputFormat,
  type RawImage,
  type WriteImageOptions,
} from './lib.js';
import { OUTPUT_FILE_TYPES } from '../tasks/index.js';
import { outputCliOptions, type TaskCliOptionsConfig } from './taskOptions.js';
import { sameFile } from './outputGuard.js';

/** The output options every picture command has, as commander hands them over. */
export interface ImageOutputOptions {
  output?: string;
  force?: boolean;
  format?: OutputFormat;
  quality?: number;
  stripMetadata?: boolean;
  suffix?: string;
  name?: string;
  recursive?: boolean;
}

/** Standard input or output. */
export const STDIO = '-';

const PICTURE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.bmp']);
export const DEFAULT_NAME = '{stem}{suffix}.{ext}';

/**
 * Adds -o, -f, --format, --quality, --strip-metadata, --suffix, --name, --recursive. --format,
 * --quality and --strip-metadata are the task table's output options (OUTPUT_OPTIONS, the same
 * specs as the API's form fields and batch's --set keys); pass `outputFlagsAdded: true` to
 * taskCliOptions afterwards. `extend` widens their parsers (restore auto: --quality fast|max).
 */
export function addImageOutputOptions(cmd: Command, what = 'output image', extend: TaskCliOptionsConfig['extend'] = {}): Command {
  cmd
    .option('-o, --output <path>', `${what}: a file (format from its extension), - for standard output, or a folder (required with several inputs)`)
    .option('-f, --force', 'overwrite output files that exist (never an input)');
  for (const option of outputCliOptions(extend)) cmd.addOption(option);
  return cmd
    .option('--suffix <text>', 'with a folder output: added to each output name before the extension (e.g. _restored)')
    .addOption(new Option('--name <pattern>', `with a folder output: output file name from {stem} {suffix} {ext} {task} (default ${DEFAULT_NAME})`))
    .option('-r, --recursive', 'with a folder input: include its subfolders (their structure is kept in the output folder)');
}

/** One input to process: its path (or `-`) and, under a folder input, its folder relative to it. */
export interface InputFile {
  path: string;
  /** Subfolder under the folder input it came from ('' otherwise). */
  subdir: string;
  /** Found in a folder or by a glob (then the output is a folder, however many were found). */
  listed?: boolean;
}

const hasGlob = (p: string) => /[*?[]/.test(p);

/** A glob (`*`, `?`, `**`, `[...]`) as a regular expression over '/'-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of folders, including none.
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw new ClearsightError(ERROR_CODES.INPUT_UNREADABLE, `Cannot read the folder "${dir}" (${err.code})`, { path: dir });
  });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...(await listFiles(p, true)));
    } else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * The input files of a command line, in order: files as given, folders listed (pictures by
 * extension; subfolders with `recursive`), globs expanded. Throws when nothing is left.
 */
export async function expandInputs(args: readonly string[], recursive = false): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const arg of args) {
    if (arg === STDIO) {
      if (files.some((f) => f.path === STDIO)) throw invalidOption('<input>', 'standard input (-) at most once', arg);
      files.push({ path: STDIO, subdir: '' });
      continue;
    }
    const s = await stat(arg).catch(() => undefined);
    if (s?.isDirectory()) {
      const found = (await listFiles(arg, recursive)).filter((p) => PICTURE_EXTENSIONS.has(extname(p).toLowerCase()));
      if (found.length === 0)
        throw new ClearsightError(
          ERROR_CODES.INPUT_NOT_FOUND,
          `The folder "${arg}" has no pictures (.png .jpg .jpeg .webp .tif .tiff .bmp)${recursive ? '' : '; add --recursive for its subfolders'}`,
          { path: arg },
        );
      files.push(...found.map((p) => ({ path: p, subdir: dirname(relative(arg, p)) === '.' ? '' : dirname(relative(arg, p)), listed: true })));
    } else if (!s && hasGlob(arg)) {
      const normal = arg.split(sep).join('/');
      const segments = normal.split('/');
      const firstGlob = segments.findIndex(hasGlob);
      const base = segments.slice(0, firstGlob).join('/') || '.';
      const re = globToRegExp(normal.startsWith('./') ? normal.slice(2) : normal);
      const deep = segments.slice(firstGlob).length > 1 || arg.includes('**');
      const found = (await listFiles(base, deep).catch(() => [])).filter((p) => re.test(p.split(sep).join('/')));
      if (found.length === 0) throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `No file matches "${arg}"`, { path: arg });
      files.push(...found.map((p) => ({ path: p, subdir: '', listed: true })));
    } else {
      files.push({ path: arg, subdir: '' }); // a missing file is reported by the decoder, with its own message
    }
  }
  return files;
}

/** One planned run: read `input`, write `output` (a path or `-`) as `format`. */
export interface OutputJob {
  input: string;
  output: string;
  format: OutputFormat;
}

/**
 * Pairs every input with its output path and format, before any work, and refuses plans that
 * would overwrite an input, write two inputs to one file, or put several pictures on stdout.
 * `sourceFormat` tells the format of an input (for folder and stdout outputs without --format).
 */
export async function planOutputs(
  inputs: readonly InputFile[],
  opts: ImageOutputOptions,
  task: string,
  sourceFormat: (input: string) => Promise<ImageFormat | undefined>,
): Promise<OutputJob[]> {
  const out = opts.output;
  if (!out) throw invalidOption('--output', 'a file, - or a folder', out);
  const several = inputs.length > 1 || inputs.some((i) => i.listed);
  const outIsDir =
    out !== STDIO &&
    (out.endsWith('/') ||
      out.endsWith(sep) ||
      (await stat(out).then(
        (s) => s.isDirectory(),
        () => false,
      )));
  if (several && out === STDIO) throw invalidOption('--output', 'a folder when there are several inputs (standard output takes one picture)', out);
  if (several && !outIsDir && extname(out) !== '')
    throw invalidOption('--output', `a folder when there are several inputs (${inputs.length}); "${out}" looks like a file name`, out);
  if (!several && !outIsDir && (opts.suffix !== undefined || opts.name !== undefined)) warnOnce('--suffix and --name apply to folder outputs only');
  const pattern = opts.name ?? DEFAULT_NAME;
  if (opts.name !== undefined && !opts.name.includes('{stem}'))
    throw invalidOption('--name', 'a pattern containing {stem} (and optionally {suffix} {ext} {task})', opts.name);
  if (opts.name !== undefined && /[\\/]/.test(opts.name)) throw invalidOption('--name', 'a file name pattern without folders', opts.name);

  const jobs: OutputJob[] = [];
  for (const input of inputs) {
    let output: string;
    let format: OutputFormat | undefined = opts.format;
    if (out === STDIO) output = STDIO;
    else if (several || outIsDir) {
      format ??= await sourceFormat(input.path);
      format ??= 'png';
      const stem = input.path === STDIO ? 'stdin' : basename(input.path, extname(input.path));
      const name = pattern
        .replaceAll('{stem}', stem)
        .replaceAll('{suffix}', opts.suffix ?? '')
        .replaceAll('{ext}', OUTPUT_FILE_TYPES[format].ext)
        .replaceAll('{task}', task);
      output = join(out, input.subdir, name);
    } else {
      output = out;
      const byName = formatOfName(out, opts.format !== undefined);
      if (format && byName && byName !== format)
        warnOnce(`writing ${format.toUpperCase()} into "${out}" as --format says (its extension says ${byName.toUpperCase()})`);
      format ??= byName;
    }
    if (output === STDIO) format ??= (await sourceFormat(input.path)) ?? 'png';
    jobs.push({ input: input.path, output, format: format! });
  }
  await refuseClashes(jobs);
  if (opts.quality !== undefined && jobs.every((j) => !formatIsLossy(j.format)))
    warnOnce(`--quality has no effect on ${[...new Set(jobs.map((j) => j.format.toUpperCase()))].join('/')} output (lossless)`);
  return jobs;
}

/** The format an output name's extension says; unknown extensions are refused unless --format decides. */
function formatOfName(path: string, formatGiven: boolean): OutputFormat | undefined {
  try {
    return formatFromPath(path);
  } catch (err) {
    if (formatGiven) return undefined;
    throw err;
  }
}

/** Two inputs into one output, or an output that is one of the inputs: refused before any work. */
async function refuseClashes(jobs: readonly OutputJob[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const job of jobs) {
    if (job.output === STDIO) continue;
    const key = resolve(job.output);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new ClearsightError(
        ERROR_CODES.OUTPUT_UNWRITABLE,
        `"${other}" and "${job.input}" would both be written to "${job.output}": use --name with {ext} or different names`,
        { path: job.output },
      );
    }
    seen.set(key, job.input);
  }
  for (const job of jobs) {
    if (job.output === STDIO) continue;
    const clash = jobs.find((j) => j.input !== STDIO && sameFile(j.input, job.output));
    if (clash) {
      throw new ClearsightError(
        ERROR_CODES.OUTPUT_UNWRITABLE,
        `Cannot write output "${job.output}": it is the input "${clash.input}" of this command; inputs are never overwritten (not even with --force): use --suffix, --name or another folder`,
        { path: job.output, input: clash.input, reason: 'output is an input' },
      );
    }
  }
}

/** All of standard input. */
export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  if ((stream as NodeJS.ReadStream).isTTY) throw invalidOption('<input>', 'a picture piped into standard input (-), not a terminal', '-');
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Writes the whole buffer to standard output and waits until it is flushed. */
export function writeStdout(bytes: Buffer): Promise<void> {
  return new Promise((resolvePromise, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolvePromise())));
}

const warned = new Set<string>();
/** A warning on stderr, once per message per process. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`clearsight: warning: ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Commands that read one file: faces, compare, watermark, forensics analyze, liveness

/** How summaries and messages name an input: "standard input" for `-`. */
export function inputName(input: string): string {
  return input === STDIO ? 'standard input' : input;
}

/** Standard input can be read once: a command with two inputs takes `-` for one of them at most. */
export function refuseTwoStdin(inputs: Readonly<Record<string, string | undefined>>): void {
  const piped = Object.entries(inputs).filter(([, v]) => v === STDIO);
  if (piped.length > 1) throw invalidOption(piped[1]![0], `a file (standard input is already ${piped[0]![0]})`, STDIO);
}

/** Decodes the picture a command reads: a file, or standard input for `-`. */
export async function decodeCliInput(input: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  return input === STDIO ? decodeImage(await readStdin(), { ...opts, name: 'standard input' }) : decodeImage(input, opts);
}

/**
 * Runs `use` on a file that holds the input: the path itself, or for `-` standard input saved in
 * a private temporary folder (the video reader and the forensic hash read a file), removed after.
 */
export async function withInputFile<T>(input: string, use: (path: string) => Promise<T>): Promise<T> {
  if (input !== STDIO) return use(input);
  const bytes = await readStdin();
  if (bytes.length === 0) throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, 'Cannot read standard input: nothing was piped in (0 bytes)', { path: STDIO });
  const dir = await mkdtemp(join(tmpdir(), 'clearsight-stdin-'));
  try {
    const path = join(dir, 'stdin');
    await writeFile(path, bytes, { mode: 0o600 });
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a command's picture: to a file (atomically, never over an input; writeImage), or for `-`
 * to standard output as --format says, else in the input's format (PNG where that cannot be written).
 */
export async function writeCliImage(output: string, img: RawImage, opts: WriteImageOptions & { sourceFormat?: ImageFormat }): Promise<void> {
  const { sourceFormat, ...write } = opts;
  if (output !== STDIO) return writeImage(output, img, write);
  const format = write.format ?? (OUTPUT_FORMATS as readonly string[]).find((f) => f === sourceFormat) ?? 'png';
  await writeStdout(await encodeImage(img, format as OutputFormat, write));
}
