/**
 * A pool of worker processes (child.ts), one job at a time each. Used by the embedded queue and
 * by `clearsight worker` under BullMQ.
 *
 * - size = concurrency; each job gets availableParallelism / size onnxruntime threads;
 * - a job longer than `timeoutMs` is stopped by killing its process (onnxruntime cannot be
 *   interrupted inside a tile) and fails with E_TIMEOUT (permanent: a retry would time out too);
 * - a process that dies mid-job fails that job with E_WORKER_DIED (retryable) and is replaced.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempOwner } from '../store.js';
import { estimateJobMemory } from '../registry.js';
import { checkPreload, jobModelIds } from './models.js';
import { JobFailure, type JobError, type JobProgress, type JobResult, type JobSpec } from './types.js';

export interface ChildRequest {
  type: 'run';
  jobId: string;
  spec: JobSpec;
  storeRoot: string;
  maxPixels: number;
  threads: number;
}

/** What a worker process is started with (its first argument, JSON). */
export interface ChildConfig {
  /** Tasks whose default models the worker warms at start (`serve --preload`). */
  preload: string[];
  /** onnxruntime threads of the preloaded sessions (the jobs' threads, so the keys match). */
  threads: number;
  /** Budget of the worker's ModelPool, estimated bytes (core/models/pool). */
  modelBudgetBytes?: number;
}

/** `models`: card ids of the models the worker holds warm after the job (or the preload). */
export type ChildReply =
  | { type: 'ready' }
  | { type: 'models'; models: string[] }
  | { type: 'progress'; jobId: string; event: JobProgress }
  | { type: 'done'; jobId: string; result: JobResult; models?: string[] }
  | { type: 'error'; jobId: string; error: JobError; models?: string[] };

export interface PoolOptions {
  size: number;
  storeRoot: string;
  maxPixels: number;
  threads: number;
  timeoutMs: number;
  /**
   * Jobs run together only while their memory estimates (registry estimateJobMemory) add up to at
   * most this; a job over it alone runs alone. Default: unlimited.
   */
  memoryBudgetBytes?: number;
  /**
   * A worker whose job needed this or more for its pixels (the estimate less the task's fixed part,
   * which is mostly the model its pool keeps warm) is replaced afterwards (returns its memory).
   * Default 256 MiB.
   */
  recycleAboveBytes?: number;
  /** Tasks whose default models every worker warms at start (`serve --preload derain,upscale`). */
  preload?: string[];
  /** Each worker's ModelPool budget (estimated bytes); default core/models/pool's. */
  modelBudgetBytes?: number;
}

export const DEFAULT_RECYCLE_ABOVE_BYTES = 256 * 1024 * 1024;

interface Pending {
  jobId: string;
  spec: JobSpec;
  /** Estimated bytes (registry estimateJobMemory). */
  memory: number;
  /** The part of `memory` that grows with the pixels (what a recycle gives back). */
  transient: number;
  /** Card ids of the image models the job runs (jobs/models.ts): routed to a worker holding them. */
  models: string[];
  onProgress: (p: JobProgress) => void;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  child: ChildProcess;
  job?: Pending;
  timer?: NodeJS.Timeout;
  /** Killed (timeout, cancel, recycle): takes no job while it exits; the exit handler replaces it. */
  dying?: boolean;
  /** Card ids of the models the worker holds warm (reported after preload and every job). */
  models: Set<string>;
}

function removeTempsOf(storeRoot: string, pid: number): void {
  const dir = join(storeRoot, 'tmp');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = tempOwner(pid);
  for (const name of names) if (name.startsWith(prefix)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** How to start child.ts: the compiled .js directly, the .ts source through tsx's loader. */
function childCommand(): { entry: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(ts ? './child.ts' : './child.js', import.meta.url));
  return { entry, execArgv: ts ? ['--import', import.meta.resolve('tsx')] : [] };
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private closed = false;
  readonly options: PoolOptions;

  constructor(options: PoolOptions) {
    checkPreload(options.preload ?? []); // before any worker starts: a typo fails the server's start
    this.options = options;
  }

  /** Starts every worker process now, so the first jobs do not wait for start-up (~2 s each). */
  warm(): this {
    while (!this.closed && this.slots.filter((s) => !s.dying).length < this.options.size) this.spawn();
    return this;
  }

  /** Process ids of the live workers (the load bench sums their memory). */
  pids(): number[] {
    return this.slots.map((s) => s.child.pid).filter((p): p is number => p !== undefined);
  }

  run(jobId: string, spec: JobSpec, onProgress: (p: JobProgress) => void): Promise<JobResult> {
    if (this.closed) return Promise.reject(new JobFailure('E_RUNTIME', 'the worker pool is closed'));
    return new Promise<JobResult>((resolve, reject) => {
      const memory = estimateJobMemory(spec);
      const transient = memory - estimateJobMemory({ ...spec, inputs: [] });
      this.waiting.push({ jobId, spec, memory, transient, models: jobModelIds(spec), onProgress, resolve, reject });
      this.dispatch();
    });
  }

  /** Drops a waiting job, or kills the process running it (replaced at once). Its promise rejects with E_CANCELLED. */
  cancel(jobId: string): boolean {
    const waitingAt = this.waiting.findIndex((p) => p.jobId === jobId);
    if (waitingAt >= 0) {
      this.waiting.splice(waitingAt, 1)[0].reject(new JobFailure('E_CANCELLED', 'the job was cancelled'));
      return true;
    }
    const slot = this.slots.find((s) => s.job?.jobId === jobId);
    if (!slot) return false;
    const job = slot.job!;
    slot.job = undefined;
    clearTimeout(slot.timer);
    slot.dying = true;
    slot.child.kill('SIGKILL'); // the exit handler removes its temp files and replaces the process
    job.reject(new JobFailure('E_CANCELLED', 'the job was cancelled'));
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new JobFailure('E_RUNTIME', 'the worker pool was closed'));
    await Promise.all(
      this.slots.splice(0).map(
        (slot) =>
          new Promise<void>((resolve) => {
            clearTimeout(slot.timer);
            slot.job?.reject(new JobFailure('E_RUNTIME', 'the worker pool was closed'));
            if (slot.child.exitCode !== null || slot.child.signalCode !== null) return resolve();
            slot.child.once('exit', () => resolve());
            slot.child.kill('SIGKILL');
          }),
      ),
    );
  }

  /** Estimated bytes of the jobs running now. */
  memoryInUse(): number {
    return this.slots.reduce((sum, s) => sum + (s.job?.memory ?? 0), 0);
  }

  /**
   * Which waiting job may start now (index in `waiting`), or -1. First come, first served within
   * the memory budget; a small job (below the recycle size) may overtake a large one at the head
   * only while the head waits for other large jobs: small jobs never keep a large one waiting
   * for long (once only small jobs stand in its way, no new one starts), and small jobs are not
   * stuck behind a line of large ones.
   */
  private nextJob(): number {
    const budget = this.options.memoryBudgetBytes ?? Infinity;
    const running = this.slots.filter((s) => s.job).map((s) => s.job!.memory);
    const inUse = running.reduce((a, b) => a + b, 0);
    const fits = (m: number) => running.length === 0 || inUse + m <= budget;
    const head = this.waiting[0];
    if (fits(head.memory)) return 0;
    const small = this.options.recycleAboveBytes ?? DEFAULT_RECYCLE_ABOVE_BYTES;
    const largeInUse = running.filter((m) => m >= small).reduce((a, b) => a + b, 0);
    if (largeInUse + head.memory <= budget) return -1;
    return this.waiting.findIndex((j, i) => i > 0 && j.memory < small && fits(j.memory));
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const next = this.nextJob();
      if (next < 0) return;
      let slot = this.idleSlotFor(this.waiting[next]);
      if (!slot && this.slots.filter((s) => !s.dying).length < this.options.size) slot = this.spawn();
      if (!slot) return;
      const job = this.waiting.splice(next, 1)[0];
      slot.job = job;
      const request: ChildRequest = {
        type: 'run',
        jobId: job.jobId,
        spec: job.spec,
        storeRoot: this.options.storeRoot,
        maxPixels: this.options.maxPixels,
        threads: this.options.threads,
      };
      const s = slot;
      s.timer = setTimeout(() => {
        const j = s.job;
        s.job = undefined;
        s.dying = true;
        s.child.kill('SIGKILL'); // the exit handler replaces the process
        j?.reject(new JobFailure('E_TIMEOUT', `the job took longer than the ${this.options.timeoutMs / 1000} s limit and was stopped`));
      }, this.options.timeoutMs);
      s.child.send(request);
    }
  }

  /** Models each live worker holds warm (the warm bench and tests read it). */
  heldModels(): string[][] {
    return this.slots.filter((s) => !s.dying).map((s) => [...s.models]);
  }

  /**
   * The idle worker for a job: one holding all its models, else one holding some (most first),
   * else any idle one. Warm sessions make a repeated expert job several times quicker.
   */
  private idleSlotFor(job: Pending): Slot | undefined {
    const idle = this.slots.filter((s) => !s.job && !s.dying);
    if (job.models.length === 0 || idle.length < 2) return idle[0];
    const held = (s: Slot) => job.models.filter((m) => s.models.has(m)).length;
    return idle.reduce((best, s) => (held(s) > held(best) ? s : best), idle[0]);
  }

  private spawn(): Slot {
    const { entry, execArgv } = childCommand();
    const config: ChildConfig = { preload: this.options.preload ?? [], threads: this.options.threads, modelBudgetBytes: this.options.modelBudgetBytes };
    const child = fork(entry, [JSON.stringify(config)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const slot: Slot = { child, models: new Set() };
    this.slots.push(slot);
    child.on('message', (msg: ChildReply) => {
      if (msg.type === 'models' || ((msg.type === 'done' || msg.type === 'error') && msg.models)) slot.models = new Set(msg.models);
      const job = slot.job;
      if (msg.type === 'ready' || msg.type === 'models' || !job || msg.jobId !== job.jobId) return;
      if (msg.type === 'progress') return job.onProgress(msg.event);
      clearTimeout(slot.timer);
      slot.job = undefined;
      if (job.transient >= (this.options.recycleAboveBytes ?? DEFAULT_RECYCLE_ABOVE_BYTES)) {
        // The allocator keeps what a large job freed: a fresh process gives it back at once.
        slot.dying = true;
        slot.child.kill('SIGKILL');
      }
      if (msg.type === 'done') job.resolve(msg.result);
      else job.reject(new JobFailure(msg.error.code, msg.error.message));
      this.dispatch();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(slot.timer);
      // A killed worker cannot clean up: its temp names start with its pid (ContentStore.tempPath).
      if (child.pid !== undefined) removeTempsOf(this.options.storeRoot, child.pid);
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const job = slot.job;
      slot.job = undefined;
      job?.reject(new JobFailure('E_WORKER_DIED', `the worker process exited (${signal ?? `code ${code}`}) during the job`));
      if (!this.closed) {
        this.warm();
        this.dispatch();
      }
    });
    return slot;
  }
}
