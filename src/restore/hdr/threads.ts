/**
 * Worker threads for the HDR merge (issue 23: OpenCV's merge uses every core, ours used one).
 *
 * One pool per process, started lazily by the first merge that asks for it and kept for the
 * next ones (a worker costs ~40 ms to start from dist/ and ~250 ms through tsx: paid once, not
 * per merge). An idle worker is unref'd, so the pool never keeps a process alive; a worker is
 * ref'd only while it holds a job. A merge does not wait for workers that are still starting:
 * it runs those jobs itself (the results are the same either way), so a single CLI run is never
 * slower for having asked.
 *
 * Jobs are the pure functions of tasks.ts; `runJobs` spreads a list of them over the main thread
 * and the ready workers and returns the results in job order.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ClearsightError, ERROR_CODES, type ErrorCode } from '../../core/errors.js';
import { HDR_TASKS, type HdrJob, type HdrResult, type HdrTaskKind } from './tasks.js';
import type { ReplyMessage, TaskMessage } from './worker.js';

/** Most threads (the main one included) a merge uses: past 4 the passes are too short to split further. */
export const HDR_MAX_THREADS = 4;

/** Brackets smaller than this (pixels per frame) are merged on the main thread alone by default: the hand-over costs more than it saves. */
export const PARALLEL_MIN_PIXELS = 200_000;

/** Threads a merge uses by default: the cores Node may use, at most HDR_MAX_THREADS. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(HDR_MAX_THREADS, availableParallelism()));
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

class Slot {
  ready = false;
  readonly pending = new Map<number, Pending>();
  readonly started: Promise<boolean>;
  constructor(readonly worker: Worker) {
    worker.unref();
    this.started = new Promise((resolve) => {
      worker.on('message', (m: ReplyMessage) => {
        if ('ready' in m) {
          this.ready = true;
          resolve(true);
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (this.pending.size === 0) worker.unref();
        if ('error' in m) p.reject(rebuildError(m.error));
        else p.resolve(m.result);
      });
      const fail = (err: Error) => {
        const wasReady = this.ready;
        this.ready = false;
        resolve(false);
        for (const p of this.pending.values())
          p.reject(new ClearsightError(ERROR_CODES.RUNTIME, `HDR worker thread failed: ${err.message}`, {}, { cause: err }));
        this.pending.clear();
        pool.drop(this, wasReady);
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new ClearsightError(ERROR_CODES.RUNTIME, `exited with code ${code}`)));
    });
  }

  run(id: number, kind: HdrTaskKind, job: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, kind, job } satisfies TaskMessage);
    });
  }
}

function rebuildError(e: { message: string; code?: string; details?: Record<string, unknown> }): Error {
  // A worker's own failure that was not a ClearsightError (a bug) stays a runtime error, its message kept.
  return new ClearsightError((e.code as ErrorCode | undefined) ?? ERROR_CODES.RUNTIME, e.message, e.details ?? {});
}

/** How to start worker.ts: the compiled .js directly; the .ts source through tsx's API (a worker does not inherit tsx's loader hooks). */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true });
}

class Pool {
  private slots: Slot[] = [];
  private nextId = 1;
  /** Set when a worker could not start: the process then merges on one thread. */
  private broken = false;

  /** Starts workers until there are `count` (started ones count; returns at once). */
  grow(count: number): void {
    while (!this.broken && this.slots.length < count) {
      try {
        this.slots.push(new Slot(startWorker()));
      } catch {
        this.broken = true;
      }
    }
  }

  /** Forgets a worker that failed or ended; one that never started marks the pool broken. */
  drop(slot: Slot, wasReady: boolean): void {
    if (!wasReady && this.slots.includes(slot)) this.broken = true;
    this.slots = this.slots.filter((s) => s !== slot);
  }

  /** Waits until the first `count` workers have started (or failed to). */
  async whenStarted(count: number): Promise<void> {
    await Promise.all(this.slots.slice(0, count).map((s) => s.started));
  }

  ready(count: number): Slot[] {
    return this.slots.slice(0, count).filter((s) => s.ready);
  }

  run(slot: Slot, kind: HdrTaskKind, job: unknown): Promise<unknown> {
    return slot.run(this.nextId++, kind, job);
  }

  /** Ends every worker (tests; a process may also just exit: idle workers are unref'd). */
  async close(): Promise<void> {
    const slots = this.slots;
    this.slots = [];
    this.broken = false;
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

const pool = new Pool();

/** The threads one merge may use: `threads` in all, the main one included. */
export class HdrThreads {
  constructor(readonly threads: number) {
    pool.grow(threads - 1);
  }

  /** Waits for the workers to start (a merge that must use them, e.g. a test of the parallel path). */
  async started(): Promise<this> {
    await pool.whenStarted(this.threads - 1);
    return this;
  }

  /** Most lanes a run of jobs was spread over. */
  mostLanes = 1;

  /** Threads that can take a job now: the main one and the started workers. */
  get lanes(): number {
    return 1 + pool.ready(this.threads - 1).length;
  }

  /**
   * Runs the jobs, job i on lane i % lanes (lane 0: this thread, after the others have been
   * handed theirs), and returns the results in job order.
   */
  async run<K extends HdrTaskKind>(kind: K, jobs: readonly HdrJob<K>[]): Promise<HdrResult<K>[]> {
    const workers = pool.ready(this.threads - 1);
    const lanes = 1 + workers.length;
    if (jobs.length > 1) this.mostLanes = Math.max(this.mostLanes, Math.min(lanes, jobs.length));
    const results: Promise<unknown>[] = jobs.map((job, i) => (i % lanes === 0 ? Promise.resolve() : pool.run(workers[(i % lanes) - 1]!, kind, job)));
    const task = HDR_TASKS[kind] as (job: HdrJob<K>) => HdrResult<K>;
    try {
      for (let i = 0; i < jobs.length; i += lanes) results[i] = Promise.resolve(task(jobs[i]!));
    } catch (err) {
      // The workers' jobs are abandoned: their outcome must not surface as an unhandled rejection.
      for (const r of results) r.catch(() => undefined);
      throw err;
    }
    return (await Promise.all(results)) as HdrResult<K>[];
  }
}

/** Ends the pool's workers (a later merge starts new ones). */
export function closeHdrThreads(): Promise<void> {
  return pool.close();
}
