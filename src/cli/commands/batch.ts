/**
 * `clearsight batch <task> <in-dir> -o <out-dir> [--set key=value ...]`: one task of the server's
 * registry over every image (or video, for tasks that take one) in a folder.
 *
 * - outputs: <stem><suffix>.<ext> (the restored picture, in the input's format unless --format
 *   says otherwise, with the input's EXIF and ICC profile unless --strip-metadata),
 *   encoded once, by the task itself (encodeOutput);
 *   <stem>.<map>.png (physical maps), <stem>.json (the task's JSON result), written atomically;
 *   with --recursive, subfolders of <in-dir> are walked and mirrored in <out-dir>;
 * - resume: out-dir/batch-log.json records every finished file with its input's sha256 and the
 *   options; a rerun skips a file whose entry matches and whose outputs are all present;
 * - progress bar over files on stderr, a summary table at the end, exit 0 only if every file is done.
 * Runs under the supervisor (see names.ts) so Ctrl-C stays instant; files finished before the
 * interrupt stay finished and logged.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ClearsightError, ERROR_CODES, invalidOption, isClearsightError } from '../../core/errors.js';
import { sniffFormat } from '../../core/image/index.js';
import { writeFileAtomic } from '../../core/fs.js';
import { DEFAULT_MAX_PIXELS, type ImageFormat, type OutputFormat } from '../../core/image/index.js';
import { ModelPool } from '../../core/models/pool.js';
import { optionSectionsOf, outputOptionsOf, parseOptionValue, TASKS, type OptionSpec, type TaskDefinition } from '../../tasks/index.js';
import { EXIT } from '../exitCodes.js';
import { outputCliOptions } from '../taskOptions.js';
import { untilAborted, watchInterrupts } from '../interrupt.js';

export interface BatchCliOptions {
  output: string;
  set: string[];
  force?: boolean;
  json?: boolean;
  format?: OutputFormat;
  quality?: number;
  stripMetadata?: boolean;
  suffix?: string;
  recursive?: boolean;
}

export interface BatchEntry {
  input: string;
  status: 'done' | 'failed' | 'skipped';
  inputSha256?: string;
  outputs?: string[];
  seconds?: number;
  /** Why it failed or was skipped. */
  error?: { code: string; message: string };
}

export interface BatchLog {
  task: string;
  fields: Record<string, string>;
  updatedAt: string;
  files: Record<string, BatchEntry>;
}

export const BATCH_LOG = 'batch-log.json';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseSets(sets: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const s of sets) {
    const i = s.indexOf('=');
    if (i <= 0) throw invalidOption('--set', 'key=value (an option of the task)', s);
    fields[s.slice(0, i)] = s.slice(i + 1);
  }
  return fields;
}

/**
 * Output name of one task file for input stem `stem`: the picture (or video) `output.<ext>` ->
 * `<stem><suffix>.<ext>` (the suffix on pictures only), anything else `<stem>.<name>`.
 */
function outputName(stem: string, file: { name: string; role: string; type: string }, suffix = ''): string {
  if (file.role !== 'output' || !/^output\.\w+$/.test(file.name)) return `${stem}.${file.name}`;
  return `${stem}${file.type.startsWith('image/') ? suffix : ''}${file.name.slice('output'.length)}`;
}

/** The output flags of batch as the task's fields (the one spelling --set would use). */
const OUTPUT_FLAG_FIELDS = { format: '--format', quality: '--quality', stripMetadata: '--strip-metadata' } as const;

/**
 * --format, --quality and --strip-metadata (the documented way) and `--set format=...` etc.
 * (the API's field names, accepted as the same thing) merged into one set of fields: a key given
 * both ways must agree. A task without a picture takes none of them.
 */
export function mergeOutputFlags(task: TaskDefinition, sets: Record<string, string>, opts: BatchCliOptions): Record<string, string> {
  const fields = { ...sets };
  const takes = outputOptionsOf(task);
  for (const [key, flag] of Object.entries(OUTPUT_FLAG_FIELDS)) {
    const given = opts[key as keyof typeof OUTPUT_FLAG_FIELDS];
    if (given === undefined || given === false) continue;
    if (!Object.hasOwn(takes, key)) throw invalidOption(flag, `absent: task ${task.name} writes no picture`, given);
    const value = String(given);
    if (fields[key] !== undefined && parseOptionValue(key, takes[key]!, fields[key]) !== given)
      throw invalidOption(flag, `the same value as --set ${key}=${fields[key]} (or only one of the two)`, given);
    fields[key] = value;
  }
  return fields;
}

async function listRecursive(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const rel = prefix ? join(prefix, e.name) : e.name;
    if (e.isDirectory()) out.push(...(await listRecursive(dir, rel)));
    else out.push(rel);
  }
  return out;
}

const sameFields = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The --set keys of every task that batch runs, from the task table (the usage text of `batch --help`). */
export function batchUsage(): string {
  const lines = ['Tasks and their --set keys (from the task table; defaults in brackets):'];
  for (const task of TASKS.values()) {
    if (task.input === 'images') continue;
    const value = (s: OptionSpec) =>
      s.type === 'choice' ? s.choices.join('|') : s.type === 'boolean' ? 'true|false' : s.type === 'string' ? 'text' : `${s.min}..${s.max}`;
    const keys = Object.entries(optionSectionsOf(task, 'batch')).map(
      ([k, s]) => `${k}=<${value(s)}>${s.default !== undefined ? ` [${String(s.default)}]` : ''}`,
    );
    lines.push(`  ${task.name}: ${keys.join(', ') || '(no options)'}`);
  }
  return lines.join('\n');
}

/** Tasks batch runs: those taking one input per job. */
export const batchTasks = (): string[] => [...TASKS.values()].filter((t) => t.input !== 'images').map((t) => t.name);

export function addBatchCommand(program: Command): Command {
  const cmd = program
    .command('batch')
    .summary('run one task over a folder, resumable (progress bar, summary table, JSON log)')
    .description(
      'Run a task (same names and options as the HTTP API: see `clearsight serve` and /api/v1/tasks) on every image in <in-dir>. A rerun skips files already done (out-dir/batch-log.json).',
    )
    .argument('<task>', batchTasks().join(', '))
    .argument('<in-dir>', 'folder of inputs (subfolders with --recursive); files are recognised by content')
    .requiredOption('-o, --output <out-dir>', 'folder for the outputs and batch-log.json (created if missing)')
    .option('--set <key=value>', 'a task option, as in the API form (repeatable): --set method=gamma --set scale=2', collect, [])
    .option('-f, --force', 'redo files already done and overwrite their outputs');
  // --format, --quality, --strip-metadata: the task table's output options (`--set format=...`
  // etc. is the same thing; default format: each input's own).
  for (const option of outputCliOptions()) cmd.addOption(option);
  cmd
    .option('--suffix <text>', 'added to each restored picture name before the extension (e.g. _restored)')
    .option('-r, --recursive', 'walk the subfolders of <in-dir> too (mirrored in <out-dir>)')
    .option('--json', 'print the log as one JSON object on stdout instead of the table')
    .addHelpText(
      'after',
      () =>
        `\n${batchUsage()}\n\nExamples:\n  $ clearsight batch lowlight photos/ -o bright/ --set method=gamma\n  $ clearsight batch upscale scans/ -o big/ --set scale=2 --set size=slim --set threads=2`,
    )
    .action(async (taskName: string, inDir: string, opts: BatchCliOptions) => {
      process.exitCode = await runBatch(taskName, inDir, opts);
    });
  return cmd;
}

type ServerModule = typeof import('../../server/index.js');
type ParsedRun = Extract<ReturnType<ServerModule['parseTaskOptions']>, { ok: true }>['run'];
interface BatchInput {
  name: string;
  path: string;
  kind: 'image' | 'video';
  format: ImageFormat | undefined;
}

/** The task and its --set fields, checked; `fields` are the task's own (no run context). */
function resolveBatchTask(server: ServerModule, taskName: string, opts: BatchCliOptions) {
  const task = server.getTask(taskName);
  if (!task) throw invalidOption('task', `one of ${[...server.TASKS.keys()].join(', ')}`, taskName);
  if (task.input === 'images') throw invalidOption('task', 'a task taking one input per job (multi-image tasks are not batched per folder)', taskName);
  const sets = mergeOutputFlags(task, parseSets(opts.set), opts);
  const parsed = server.parseTaskOptions(task, sets, 'batch');
  if (!parsed.ok) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `--set: ${parsed.message}`, { option: parsed.field, given: sets[parsed.field] });
  // Without a format, each picture keeps its input's (the API's default, PNG, would turn JPEGs into PNGs).
  const keepsFormat = Object.hasOwn(outputOptionsOf(task), 'format') && sets.format === undefined;
  // threads and device say how this machine runs the job (the run context); the rest are the
  // task's own fields, recorded in the log (a rerun with other threads still resumes).
  const { threads, device, ...fields } = sets;
  void threads;
  void device;
  return { task, run: parsed.run, keepsFormat, fields };
}

/** The fields as the log records them. */
function loggedFields(task: TaskDefinition, fields: Record<string, string>, opts: BatchCliOptions): Record<string, string> {
  // Secrets (a watermark key) are logged as a digest: a rerun with the same key still resumes.
  const logged: Record<string, string> = Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, task.secretFields?.includes(k) ? `sha256:${createHash('sha256').update(v).digest('hex').slice(0, 16)}` : v]),
  );
  // The output options change the files written: a log made with others is not reused (format,
  // quality and stripMetadata are among the fields).
  if (opts.suffix) logged['--suffix'] = opts.suffix;
  return logged;
}

/** Candidates: regular files whose content is an input this task takes (sniffed, not by extension); the others are logged as skipped. */
async function findInputs(
  server: ServerModule,
  task: TaskDefinition,
  inDir: string,
  names: string[],
  opts: BatchCliOptions,
  log: BatchLog,
): Promise<BatchInput[]> {
  const inputs: BatchInput[] = [];
  for (const name of names.sort()) {
    const path = join(inDir, name);
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile() || name.startsWith('.') || (opts.recursive && resolve(path).startsWith(resolve(opts.output) + sep))) continue;
    const head = (await readFile(path)).subarray(0, 64);
    const sniffed = server.sniffUpload(head);
    const fits = (sniffed.kind === 'image' && task.input !== 'video') || (sniffed.kind === 'video' && (task.input === 'video' || task.input === 'media'));
    if (fits) inputs.push({ name, path, kind: sniffed.kind as 'image' | 'video', format: sniffFormat(head) });
    else
      log.files[name] = {
        input: name,
        status: 'skipped',
        error: {
          code: 'E_INPUT_UNSUPPORTED',
          message: sniffed.kind === 'other' ? `not an input for ${task.name}: ${sniffed.what}` : `a ${sniffed.kind} (${task.name} takes ${task.input})`,
        },
      };
  }
  return inputs;
}

/** The progress bar over files, on an interactive stderr only. */
function progressBar(taskName: string, opts: BatchCliOptions): cliProgress.SingleBar | undefined {
  if (!process.stderr.isTTY || opts.json) return undefined;
  return new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${taskName} |{bar}| {value}/{total} files | {file}`,
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    gracefulExit: false,
  });
}

/** A file done before with the same content, whose outputs are all still there. */
async function isResumable(old: BatchEntry | undefined, sha: string, outDir: string): Promise<boolean> {
  return (
    old?.status === 'done' &&
    old.inputSha256 === sha &&
    old.outputs !== undefined &&
    (await Promise.all(old.outputs.map((o) => exists(join(outDir, o))))).every(Boolean)
  );
}

interface BatchJob {
  server: ServerModule;
  task: TaskDefinition;
  run: ParsedRun;
  keepsFormat: boolean;
  fields: Record<string, string>;
  opts: BatchCliOptions;
  cache: Map<string, unknown>;
  models: ModelPool;
  interrupts: ReturnType<typeof watchInterrupts>;
}

/** Runs the task on one input and writes its outputs: the log entry (done or failed); an interrupt is rethrown. */
async function runOne(job: BatchJob, input: BatchInput, sha: string): Promise<BatchEntry> {
  const { task, fields, opts, interrupts } = job;
  const stem = join(dirname(input.name), basename(input.name, extname(input.name)));
  const t0 = performance.now();
  const scratchDir = await mkdtemp(join(tmpdir(), 'clearsight-batch-'));
  try {
    const outcome = await untilAborted(
      job.server.runTask(
        {
          task: task.name,
          inputs: [{ sha256: sha, kind: input.kind }],
          fields: job.keepsFormat && input.format ? { ...fields, format: input.format } : fields,
        },
        [input.path],
        {
          maxPixels: DEFAULT_MAX_PIXELS,
          cache: job.cache,
          pool: job.models,
          signal: interrupts.signal,
          scratchDir,
          ...job.run,
        },
      ),
      interrupts.signal,
    );
    // Everything encoded first (by the task), then written in one go (the supervisor does not kill a writer).
    const files: Array<{ name: string; bytes: Buffer | string }> = outcome.files.map((f) => ({ name: outputName(stem, f, opts.suffix), bytes: f.bytes }));
    if (!outcome.files.some((f) => f.type === 'application/json')) {
      files.push({ name: `${stem}.json`, bytes: `${JSON.stringify({ input: input.name, ...outcome.result }, null, 1)}\n` });
    }
    interrupts.writing();
    for (const f of files) await writeFileAtomic(join(opts.output, f.name), f.bytes, { force: true, mkdirs: true });
    const outputs = files.map((f) => f.name);
    const entry: BatchEntry = { input: input.name, status: 'done', inputSha256: sha, outputs, seconds: (performance.now() - t0) / 1000 };
    interrupts.wrote(input.name);
    return entry;
  } catch (err) {
    if (isClearsightError(err) && err.code === ERROR_CODES.ABORTED) throw err;
    return {
      input: input.name,
      status: 'failed',
      inputSha256: sha,
      seconds: (performance.now() - t0) / 1000,
      error: { code: isClearsightError(err) ? err.code : 'E_RUNTIME', message: err instanceof Error ? err.message : String(err) },
    };
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}

/**
 * `pool`: where the models stay warm across files (one load per model and tile shape); by default
 * one made here and disposed at the end. A caller passing its own keeps it (tests count its loads).
 */
export async function runBatch(taskName: string, inDir: string, opts: BatchCliOptions, pool?: ModelPool): Promise<number> {
  const server = await import('../../server/index.js');
  const { task, run, keepsFormat, fields } = resolveBatchTask(server, taskName, opts);

  const names = await (opts.recursive ? listRecursive(inDir) : readdir(inDir)).catch((err: NodeJS.ErrnoException) => {
    throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `Input folder "${inDir}" cannot be read (${err.code})`, { path: inDir });
  });
  await mkdir(opts.output, { recursive: true });
  const logPath = join(opts.output, BATCH_LOG);
  const previous = await readFile(logPath, 'utf8').then(
    (t) => JSON.parse(t) as BatchLog,
    () => undefined,
  );
  const logged = loggedFields(task, fields, opts);
  const log: BatchLog = { task: task.name, fields: logged, updatedAt: new Date().toISOString(), files: {} };
  const reusable = previous && previous.task === task.name && sameFields(previous.fields, logged) ? previous.files : {};
  const inputs = await findInputs(server, task, inDir, names, opts, log);

  const bar = progressBar(task.name, opts);
  const interrupts = watchInterrupts(() => bar?.stop());
  const models = pool ?? new ModelPool();
  const job: BatchJob = { server, task, run, keepsFormat, fields, opts, cache: new Map(), models, interrupts };
  const saveLog = async () => {
    log.updatedAt = new Date().toISOString();
    await writeFileAtomic(logPath, `${JSON.stringify(log, null, 1)}\n`, { force: true });
  };
  bar?.start(inputs.length, 0, { file: '' });
  let resumed = 0;
  try {
    for (const [i, input] of inputs.entries()) {
      bar?.update(i, { file: input.name });
      if (!bar && !opts.json) process.stderr.write(`clearsight: [${i + 1}/${inputs.length}] ${input.name}\n`);
      const sha = createHash('sha256')
        .update(await readFile(input.path))
        .digest('hex');
      const old = reusable[input.name];
      if (!opts.force && (await isResumable(old, sha, opts.output))) {
        log.files[input.name] = old!;
        resumed++;
        continue;
      }
      log.files[input.name] = await runOne(job, input, sha);
      await saveLog();
    }
    bar?.update(inputs.length, { file: '' });
  } finally {
    bar?.stop();
    interrupts.dispose();
    await saveLog();
    if (!pool) await models.dispose();
  }
  const entries = Object.values(log.files);
  const failed = entries.filter((e) => e.status === 'failed').length;
  if (opts.json) process.stdout.write(`${JSON.stringify(log)}\n`);
  else process.stderr.write(summaryTable(entries, resumed, logPath));
  return failed > 0 ? EXIT.RUNTIME : EXIT.OK;
}

/** The summary: one row per file, then the totals. */
export function summaryTable(entries: BatchEntry[], resumed: number, logPath: string): string {
  const rows = entries.map((e) => [
    e.input,
    e.status,
    e.seconds !== undefined ? e.seconds.toFixed(2) : '-',
    e.error ? `${e.error.code}: ${e.error.message}` : (e.outputs ?? []).join(', '),
  ]);
  const head = ['file', 'status', 'seconds', 'outputs / error'];
  const widths = head.map((h, c) => Math.min(c === 3 ? 80 : 40, Math.max(h.length, ...rows.map((r) => r[c].length))));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (cell.length > widths[c] ? `${cell.slice(0, widths[c] - 1)}…` : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  const count = (s: string) => entries.filter((e) => e.status === s).length;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${count('done')} done (${resumed} already done before), ${count('failed')} failed, ${count('skipped')} skipped; log: ${logPath}`,
    '',
  ].join('\n');
}
