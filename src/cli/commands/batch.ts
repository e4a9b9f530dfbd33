/**
 * `clearsight batch <task> <in-dir> -o <out-dir> [--set key=value ...]`: one task of the server's
 * registry over every image (or video, for tasks that take one) in a folder.
 *
 * - outputs: <stem>.png (the restored picture), <stem>.<map>.png (physical maps), <stem>.json
 *   (the task's JSON result), written atomically;
 * - resume: out-dir/batch-log.json records every finished file with its input's sha256 and the
 *   options; a rerun skips a file whose entry matches and whose outputs are all present;
 * - progress bar over files on stderr, a summary table at the end, exit 0 only if every file is done.
 * Runs under the supervisor (see names.ts) so Ctrl-C stays instant; files finished before the
 * interrupt stay finished and logged.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ClearsightError, ERROR_CODES, invalidOption, isClearsightError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/fs.js';
import { DEFAULT_MAX_PIXELS } from '../../core/image/index.js';
import { ModelPool } from '../../core/models/pool.js';
import { EXIT } from '../exitCodes.js';
import { untilAborted, watchInterrupts } from '../interrupt.js';

export interface BatchCliOptions {
  output: string;
  set: string[];
  force?: boolean;
  json?: boolean;
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

/** Output name of one task file for input stem `stem`. */
function outputName(stem: string, file: { name: string; role: string }): string {
  return file.role === 'output' && /^output\.\w+$/.test(file.name) ? `${stem}${file.name.slice('output'.length)}` : `${stem}.${file.name}`;
}

const sameFields = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

export function addBatchCommand(program: Command): Command {
  const cmd = program
    .command('batch')
    .summary('run one task over a folder, resumable (progress bar, summary table, JSON log)')
    .description('Run a task (same names and options as the HTTP API: see `clearsight serve` and /api/v1/tasks) on every image in <in-dir>. A rerun skips files already done (out-dir/batch-log.json).')
    .argument('<task>', 'auto, derain, dehaze, lowlight, denoise, deblur, retouch, upscale, forensics')
    .argument('<in-dir>', 'folder of inputs (not recursive); files are recognised by content')
    .requiredOption('-o, --output <out-dir>', 'folder for the outputs and batch-log.json (created if missing)')
    .option('--set <key=value>', 'a task option, as in the API form (repeatable): --set method=gamma --set scale=2', collect, [])
    .option('-f, --force', 'redo files already done and overwrite their outputs')
    .option('--json', 'print the log as one JSON object on stdout instead of the table')
    .addHelpText('after', '\nExamples:\n  $ clearsight batch lowlight photos/ -o bright/ --set method=gamma\n  $ clearsight batch upscale scans/ -o big/ --set scale=2 --set size=slim')
    .action(async (taskName: string, inDir: string, opts: BatchCliOptions) => {
      process.exitCode = await runBatch(taskName, inDir, opts);
    });
  return cmd;
}

/**
 * `pool`: where the models stay warm across files (one load per model and tile shape); by default
 * one made here and disposed at the end. A caller passing its own keeps it (tests count its loads).
 */
export async function runBatch(taskName: string, inDir: string, opts: BatchCliOptions, pool?: ModelPool): Promise<number> {
  const { getTask, parseTaskOptions, runTask, sniffUpload, TASKS } = await import('../../server/index.js');
  const task = getTask(taskName);
  if (!task) throw invalidOption('task', `one of ${[...TASKS.keys()].join(', ')}`, taskName);
  if (task.input === 'images') throw invalidOption('task', 'a task taking one input per job (multi-image tasks are not batched per folder)', taskName);
  const fields = parseSets(opts.set);
  const parsed = parseTaskOptions(task, fields);
  if (!parsed.ok) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `--set: ${parsed.message}`, { option: parsed.field, given: fields[parsed.field] });

  const names = await readdir(inDir).catch((err: NodeJS.ErrnoException) => {
    throw new ClearsightError(ERROR_CODES.INPUT_NOT_FOUND, `Input folder "${inDir}" cannot be read (${err.code})`, { path: inDir });
  });
  await mkdir(opts.output, { recursive: true });
  const logPath = join(opts.output, BATCH_LOG);
  const previous = await readFile(logPath, 'utf8').then(
    (t) => JSON.parse(t) as BatchLog,
    () => undefined,
  );
  const log: BatchLog = { task: task.name, fields, updatedAt: new Date().toISOString(), files: {} };
  const reusable = previous && previous.task === task.name && sameFields(previous.fields, fields) ? previous.files : {};

  // Candidates: regular files whose content is an input this task takes (sniffed, not by extension).
  const inputs: Array<{ name: string; path: string; kind: 'image' | 'video' }> = [];
  for (const name of names.sort()) {
    const path = join(inDir, name);
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile() || name.startsWith('.')) continue;
    const head = (await readFile(path)).subarray(0, 64);
    const sniffed = sniffUpload(head);
    const fits = (sniffed.kind === 'image' && task.input !== 'video') || (sniffed.kind === 'video' && (task.input === 'video' || task.input === 'media'));
    if (fits) inputs.push({ name, path, kind: sniffed.kind as 'image' | 'video' });
    else log.files[name] = { input: name, status: 'skipped', error: { code: 'E_INPUT_UNSUPPORTED', message: sniffed.kind === 'other' ? `not an input for ${task.name}: ${sniffed.what}` : `a ${sniffed.kind} (${task.name} takes ${task.input})` } };
  }

  const bar = process.stderr.isTTY && !opts.json ? new cliProgress.SingleBar({ stream: process.stderr, format: `${task.name} |{bar}| {value}/{total} files | {file}`, barsize: 24, hideCursor: true, clearOnComplete: true, gracefulExit: false }) : undefined;
  const interrupts = watchInterrupts(() => bar?.stop());
  const cache = new Map<string, unknown>();
  const models = pool ?? new ModelPool();
  const saveLog = async () => {
    log.updatedAt = new Date().toISOString();
    await writeFileAtomic(logPath, JSON.stringify(log, null, 1) + '\n', { force: true });
  };
  bar?.start(inputs.length, 0, { file: '' });
  let resumed = 0;
  try {
    for (const [i, input] of inputs.entries()) {
      bar?.update(i, { file: input.name });
      if (!bar && !opts.json) process.stderr.write(`clearsight: [${i + 1}/${inputs.length}] ${input.name}\n`);
      const bytes = await readFile(input.path);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const stem = basename(input.name, extname(input.name));
      const old = reusable[input.name];
      if (!opts.force && old?.status === 'done' && old.inputSha256 === sha && old.outputs && (await Promise.all(old.outputs.map((o) => exists(join(opts.output, o))))).every(Boolean)) {
        log.files[input.name] = old;
        resumed++;
        continue;
      }
      const t0 = performance.now();
      const scratchDir = await mkdtemp(join(tmpdir(), 'clearsight-batch-'));
      try {
        const outcome = await untilAborted(
          runTask({ task: task.name, inputs: [{ sha256: sha, kind: input.kind }], fields }, [input.path], { maxPixels: DEFAULT_MAX_PIXELS, cache, pool: models, signal: interrupts.signal, scratchDir }),
          interrupts.signal,
        );
        const outputs: string[] = [];
        for (const f of outcome.files) {
          const name = outputName(stem, f);
          await writeFileAtomic(join(opts.output, name), f.bytes, { force: true });
          outputs.push(name);
        }
        if (!outcome.files.some((f) => f.type === 'application/json')) {
          const name = `${stem}.json`;
          await writeFileAtomic(join(opts.output, name), JSON.stringify({ input: input.name, ...outcome.result }, null, 1) + '\n', { force: true });
          outputs.push(name);
        }
        log.files[input.name] = { input: input.name, status: 'done', inputSha256: sha, outputs, seconds: (performance.now() - t0) / 1000 };
      } catch (err) {
        if (isClearsightError(err) && err.code === ERROR_CODES.ABORTED) throw err;
        log.files[input.name] = {
          input: input.name,
          status: 'failed',
          inputSha256: sha,
          seconds: (performance.now() - t0) / 1000,
          error: { code: isClearsightError(err) ? err.code : 'E_RUNTIME', message: err instanceof Error ? err.message : String(err) },
        };
      } finally {
        await rm(scratchDir, { recursive: true, force: true });
      }
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
  if (opts.json) process.stdout.write(JSON.stringify(log) + '\n');
  else process.stderr.write(summaryTable(entries, resumed, logPath));
  return failed > 0 ? EXIT.RUNTIME : EXIT.OK;
}

/** The summary: one row per file, then the totals. */
export function summaryTable(entries: BatchEntry[], resumed: number, logPath: string): string {
  const rows = entries.map((e) => [e.input, e.status, e.seconds !== undefined ? e.seconds.toFixed(2) : '-', e.error ? `${e.error.code}: ${e.error.message}` : (e.outputs ?? []).join(', ')]);
  const head = ['file', 'status', 'seconds', 'outputs / error'];
  const widths = head.map((h, c) => Math.min(c === 3 ? 80 : 40, Math.max(h.length, ...rows.map((r) => r[c].length))));
  const line = (r: string[]) => r.map((cell, c) => (cell.length > widths[c] ? cell.slice(0, widths[c] - 1) + '…' : cell.padEnd(widths[c]))).join('  ').trimEnd();
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
