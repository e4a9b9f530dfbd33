/**
 * Runs one job: the registry entry on inputs from the store, every output published to the store
 * by digest. Used by the worker processes (child.ts) and by `clearsight batch`'s in-process path.
 */
import { performance } from 'node:perf_hooks';
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';
import type { ModelPool } from '../../core/models/pool.js';
import { pooledImageModel } from '../../restore/expert.js';
import { checkPreload, jobModelNames } from './models.js';
import { getTask, parseTaskOptions, type TaskContext, type TaskOutcome } from '../registry.js';
import type { ContentStore } from '../store.js';
import type { JobFile, JobResult, JobSpec } from './types.js';

/** Runs the task and returns its outcome with the files still in memory (batch writes them itself). */
export async function runTask(spec: JobSpec, paths: string[], ctx: TaskContext): Promise<TaskOutcome> {
  const task = getTask(spec.task);
  if (!task) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `Unknown task "${spec.task}"`, { option: 'task' });
  const parsed = parseTaskOptions(task, spec.fields);
  if (!parsed.ok) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, parsed.message, { option: parsed.field });
  const inputs = spec.inputs.map((input, i) => ({ path: paths[i], kind: input.kind, ...(input.field ? { field: input.field } : {}) }));
  return task.run(inputs, parsed.options as never, { ...ctx, output: parsed.output });
}

export async function runJob(spec: JobSpec, store: ContentStore, ctx: Omit<TaskContext, 'scratchDir'>): Promise<JobResult> {
  const t0 = performance.now();
  const paths = spec.inputs.map((input) => store.blobPath(input.sha256));
  const scratchDir = await store.tempDir();
  let outcome: TaskOutcome;
  try {
    outcome = await runTask(spec, paths, { ...ctx, scratchDir });
  } finally {
    await store.discard(scratchDir);
  }
  const files: JobFile[] = [];
  for (const f of outcome.files) {
    const sha256 = await store.put(f.bytes);
    files.push({ name: f.name, type: f.type, role: f.role, ...(f.label ? { label: f.label } : {}), sha256, bytes: f.bytes.length });
  }
  return { files, result: outcome.result, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Warms the default models of these tasks in `pool` (`serve --preload derain,upscale`): weights
 * read and hashed, graphs converted (or read from the cache) and one session each at the card's
 * largest tile. Jobs on other tile shapes still create their session on first use.
 */
export async function preloadModels(tasks: readonly string[], pool: ModelPool, runtime: { threads?: number } = {}): Promise<string[]> {
  checkPreload(tasks);
  const names = [...new Set(tasks.flatMap((task) => jobModelNames({ task, fields: {} })))];
  for (const name of names) await (await pooledImageModel(pool, name, runtime)).warm();
  return names;
}
