/**
 * The server's view of the task table (src/tasks): the table itself lives in the library and is
 * re-exported here for the routes, the queue workers and `clearsight batch`; this file adds what
 * only a server needs: options parsed into a 400-shaped answer, threads per job, and each job's
 * memory estimate.
 */
import { availableParallelism } from 'node:os';
import { isClearsightError } from '../core/errors.js';
import { getTask, parseTaskFields, type OutputSettings, type TaskDefinition } from '../tasks/index.js';
import type { Device } from '../core/runtime/index.js';

export {
  TASKS,
  getTask,
  type InputKind,
  type OutputRole,
  type TaskContext,
  type TaskDefinition,
  type TaskInput,
  type TaskOutcome,
  type TaskOutputFile,
} from '../tasks/index.js';

/** Tasks of the product that this build does not have yet; listed as unavailable (web app, /api/v1/tasks). */
export const PLANNED_TASKS: ReadonlyArray<{ name: string; summary: string; input: 'image' | 'images' | 'video' | 'media' }> = [];

/** Threads per job so that `concurrency` jobs share the machine instead of oversubscribing it. */
export function threadsPerJob(concurrency: number): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, concurrency)));
}

/**
 * Options from string fields (the API's form, a job spec in the worker); unknown fields are
 * refused so a typo is not silently ignored. `surface` 'batch' also takes the run options
 * (threads, device), which the API leaves to the operator.
 */
export function parseTaskOptions(
  task: TaskDefinition,
  fields: Record<string, string>,
  surface: 'api' | 'batch' = 'api',
):
  | { ok: true; options: Record<string, unknown>; run: { threads?: number; device?: Device }; output: OutputSettings }
  | { ok: false; field: string; message: string } {
  try {
    return { ok: true, ...parseTaskFields(task, fields, surface) };
  } catch (err) {
    if (!isClearsightError(err)) throw err;
    const field = String((err.details as { option?: unknown } | undefined)?.option ?? '(options)');
    return { ok: false, field, message: err.message };
  }
}

// ---------------------------------------------------------------------------------------------
// Memory: what a job needs beyond an idle worker process, estimated from the task, its options
// and the input's pixels (read at upload). The pool runs jobs together only while their
// estimates fit its budget, refuses at upload a job that alone exceeds it, and replaces a worker
// after a large job (the allocator does not give freed memory back to the system).

const MiB = 1024 * 1024;

/**
 * Measured peaks (RSS above an idle worker, on this development machine, single thread):
 * lowlight gamma 55 B/pixel at 4 MP, 42 B/pixel at 12 MP (the 36 MP upload: 1.7-1.9 GiB);
 * upscale x2 slim 350 B/pixel at 1 MP. The MAXIM experts run in tiles (memory bounded by the
 * tile) but load a large network: 1 GiB fixed is a rough allowance, not a measurement per task.
 * Face/forensics/watermark tasks: the face models (about 600 MiB) plus full-image buffers.
 */
function memoryModel(spec: { task: string; fields: Record<string, string> }): { fixed: number; perPixel: number } {
  const f = spec.fields;
  switch (spec.task) {
    case 'lowlight':
      return f.method === 'gamma' ? { fixed: 0, perPixel: 55 } : { fixed: 1024 * MiB, perPixel: 80 };
    case 'dehaze':
      return f.method === 'prior' ? { fixed: 0, perPixel: 60 } : { fixed: 1024 * MiB, perPixel: f.method === 'auto' ? 120 : 60 };
    case 'upscale': {
      const s = Number(f.scale ?? getTask('upscale')!.optionSpecs.scale!.default);
      return { fixed: 150 * MiB, perPixel: 350 * Math.max(1, (s * s) / 4) };
    }
    case 'vsr': {
      // No scale given: the library's default, 4 (the table leaves vsr's scale to it).
      const s = Number(f.scale ?? 4);
      return { fixed: 300 * MiB, perPixel: 400 * Math.max(1, (s * s) / 4) };
    }
    case 'hdr':
      return { fixed: 0, perPixel: 80 };
    case 'liveness':
    case 'forensics':
    case 'watermark-embed':
    case 'watermark-verify':
      return { fixed: 600 * MiB, perPixel: 60 };
    default:
      return { fixed: 1024 * MiB, perPixel: 60 };
  }
}

/** Estimated bytes a job needs beyond an idle worker (0 pixels known: the fixed part only). */
export function estimateJobMemory(spec: { task: string; fields: Record<string, string>; inputs: ReadonlyArray<{ pixels?: number }> }): number {
  const { fixed, perPixel } = memoryModel(spec);
  // Multi-input tasks (hdr) hold every input; the others have one.
  const pixels = spec.inputs.reduce((s, i) => s + (i.pixels ?? 0), 0);
  return Math.round(fixed + perPixel * pixels);
}
