/**
 * Job queues behind one interface: the embedded queue (default: in this process, jobs run in a
 * WorkerPool of child processes) and BullMQ on Redis (`--queue redis://...`: the server only
 * enqueues; `clearsight worker` processes, on this or other machines, take the jobs).
 *
 * Both retry a failed attempt with exponential backoff unless the failure is permanent (bad input,
 * bad options, timeout: see PERMANENT_CODES). Under BullMQ a worker that dies mid-job stops
 * renewing the job's lock; after `lockMs` another worker's stalled-job check puts the job back
 * and it runs again. Outputs go to the content-addressed store, so a re-run cannot corrupt them.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, QueueEventsProducer, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { WorkerPool, type PoolOptions } from './pool.js';
import { ContentStore } from '../store.js';
import { getTask } from '../registry.js';
import { sealSpec, unsealSpec, withoutSecrets } from './secrets.js';
import { JobFailure, type JobError, type JobProgress, type JobResult, type JobSpec, type JobState, type JobStatus, type OwnedJob } from './types.js';
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';

export type StatusListener = (status: JobStatus) => void;

export interface JobQueue {
  add(spec: JobSpec): Promise<string>;
  get(id: string): Promise<JobStatus | undefined>;
  /** Calls `listener` on every change of the job; returns the unsubscribe function. */
  subscribe(id: string, listener: StatusListener): () => void;
  /** Process ids doing the work in this process tree (empty for Redis: workers are elsewhere). */
  workerPids(): number[];
  /**
   * Forgets a job, cancelling it if it has not finished (where the queue can). Returns the blobs
   * (inputs and outputs) no other job still known here uses: the caller deletes them.
   */
  remove(id: string): Promise<JobRemoval>;
  /**
   * Stops a queued or running job and keeps it, failed with E_CANCELLED (the web app's history
   * shows it). 'busy': this queue cannot stop it where it runs. Optional: absent means 'busy'.
   */
  cancel?(id: string): Promise<'cancelled' | 'finished' | 'not-found' | 'busy'>;
  /**
   * The jobs `owner` submitted (JobSpec.owner), newest first, at most `limit`: read from the queue
   * itself, so the list survives a server restart and covers every server in front of one Redis.
   */
  list?(owner: string, limit: number): Promise<OwnedJob[]>;
  /** Digests of the inputs of jobs not yet finished: store retention must keep them. */
  activeInputs(): Promise<Set<string>>;
  close(): Promise<void>;
}

export type JobRemoval = { outcome: 'removed'; blobs: string[] } | { outcome: 'not-found' | 'busy'; blobs: [] };

const blobsOf = (spec: JobSpec, result: JobResult | null | undefined): string[] => [
  ...spec.inputs.map((i) => i.sha256),
  ...(result?.files.map((f) => f.sha256) ?? []),
];

export interface RetryPolicy {
  /** Attempts in all (first run included). */
  attempts: number;
  /** Delay before the first retry; doubled for each further one. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1000 };

// ---------------------------------------------------------------------------------------------
// Embedded queue

interface LocalRecord extends JobStatus {
  spec: JobSpec;
  finishedAt?: number;
  cancelled?: boolean;
}

/** Finished jobs are forgotten after this long by default (store retention removes their blobs). */
export const KEEP_FINISHED_MS = 24 * 3600_000;

export class LocalQueue implements JobQueue {
  private readonly jobs = new Map<string, LocalRecord>();
  private readonly events = new EventEmitter();
  private readonly pool: WorkerPool;
  private readonly retry: RetryPolicy;
  private readonly timers = new Set<NodeJS.Timeout>();

  private readonly keepFinishedMs: number;

  constructor(pool: PoolOptions, retry: RetryPolicy = DEFAULT_RETRY, keepFinishedMs = KEEP_FINISHED_MS) {
    this.pool = new WorkerPool(pool).warm();
    this.retry = retry;
    this.keepFinishedMs = keepFinishedMs;
    this.events.setMaxListeners(0);
  }

  async add(spec: JobSpec): Promise<string> {
    this.forgetOld();
    const id = randomUUID();
    const record: LocalRecord = { id, task: spec.task, spec, state: 'queued', progress: null, result: null, error: null, attempts: 0 };
    this.jobs.set(id, record);
    void this.attempt(record, spec);
    return id;
  }

  async get(id: string): Promise<JobStatus | undefined> {
    const r = this.jobs.get(id);
    return r ? snapshot(r) : undefined;
  }

  subscribe(id: string, listener: StatusListener): () => void {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }

  workerPids(): number[] {
    return this.pool.pids();
  }

  async remove(id: string): Promise<JobRemoval> {
    const r = this.jobs.get(id);
    if (!r) return { outcome: 'not-found', blobs: [] };
    this.jobs.delete(id);
    if (r.state === 'queued' || r.state === 'running') {
      r.cancelled = true;
      this.pool.cancel(id);
      this.update(r, { state: 'failed', error: { code: 'E_CANCELLED', message: 'the job was deleted before it finished' }, finishedAt: Date.now() });
    }
    const used = new Set<string>();
    for (const other of this.jobs.values()) for (const sha of blobsOf(other.spec, other.result)) used.add(sha);
    return { outcome: 'removed', blobs: [...new Set(blobsOf(r.spec, r.result))].filter((sha) => !used.has(sha)) };
  }

  async cancel(id: string): Promise<'cancelled' | 'finished' | 'not-found' | 'busy'> {
    const r = this.jobs.get(id);
    if (!r) return 'not-found';
    if (r.state !== 'queued' && r.state !== 'running') return 'finished';
    r.cancelled = true;
    // The worker's thread may be inside onnxruntime, where no AbortSignal is seen until the next
    // tile: the pool ends the worker process (and starts a fresh one) instead.
    this.pool.cancel(id);
    this.update(r, { state: 'failed', error: { code: 'E_CANCELLED', message: 'the job was cancelled' }, finishedAt: Date.now() });
    return 'cancelled';
  }

  async list(owner: string, limit: number): Promise<OwnedJob[]> {
    const mine = [...this.jobs.values()].filter((r) => r.spec.owner === owner).reverse();
    return mine
      .slice(0, limit)
      .map((r) => ({ status: snapshot(r), createdAt: r.spec.submittedAt ?? '', inputs: r.spec.inputs.map((i) => i.clientName ?? '') }));
  }

  async activeInputs(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const r of this.jobs.values()) if (r.state === 'queued' || r.state === 'running') for (const i of r.spec.inputs) out.add(i.sha256);
    return out;
  }

  /** Jobs forgotten for age since the last call, with the blobs no remaining job uses (retention deletes them). */
  expire(): string[] {
    const gone = this.forgetOld();
    if (gone.length === 0) return [];
    const used = new Set<string>();
    for (const other of this.jobs.values()) for (const sha of blobsOf(other.spec, other.result)) used.add(sha);
    return [...new Set(gone.flatMap((r) => blobsOf(r.spec, r.result)))].filter((sha) => !used.has(sha));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.pool.close();
  }

  private update(r: LocalRecord, patch: Partial<LocalRecord>): void {
    Object.assign(r, patch);
    this.events.emit(r.id, snapshot(r));
  }

  private async attempt(r: LocalRecord, spec: JobSpec): Promise<void> {
    if (r.cancelled) return;
    this.update(r, { attempts: r.attempts + 1 });
    let started = false;
    try {
      const result = await this.pool.run(r.id, spec, (p) => {
        if (!started) started = true;
        this.update(r, { state: 'running', progress: p });
      });
      if (r.cancelled) return;
      this.update(r, { state: 'done', result, error: null, finishedAt: Date.now(), progress: { stage: 'done', done: 1, total: 1, fraction: 1 } });
    } catch (err) {
      if (r.cancelled) return;
      const failure = err instanceof JobFailure ? err : new JobFailure('E_RUNTIME', err instanceof Error ? err.message : String(err));
      if (!failure.permanent && r.attempts < this.retry.attempts) {
        this.update(r, { state: 'queued', error: { code: failure.code, message: `attempt ${r.attempts} failed (${failure.message}); retrying` } });
        const delay = this.retry.backoffMs * 2 ** (r.attempts - 1);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          void this.attempt(r, spec);
        }, delay);
        this.timers.add(timer);
        return;
      }
      this.update(r, { state: 'failed', error: { code: failure.code, message: failure.message }, finishedAt: Date.now() });
    }
  }

  private forgetOld(): LocalRecord[] {
    const now = Date.now();
    const gone: LocalRecord[] = [];
    for (const [id, r] of this.jobs) {
      if (r.finishedAt && now - r.finishedAt > this.keepFinishedMs) {
        this.jobs.delete(id);
        gone.push(r);
      }
    }
    return gone;
  }
}

function snapshot(r: LocalRecord): JobStatus {
  return { id: r.id, task: r.task, state: r.state, progress: r.progress, result: r.result, error: r.error, attempts: r.attempts };
}

// ---------------------------------------------------------------------------------------------
// BullMQ on Redis

export const QUEUE_NAME = 'clearsight';

/** ioredis connection options from a redis:// URL (BullMQ workers need maxRetriesPerRequest: null). */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `--queue: not a URL: ${url}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `--queue: expected redis://host:port[/db], got ${url}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number.isInteger(db) ? db : 0,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

function stateOf(bull: string): JobState {
  if (bull === 'active') return 'running';
  if (bull === 'completed') return 'done';
  if (bull === 'failed') return 'failed';
  return 'queued';
}

/**
 * A cancel travels to the workers as a custom event on the queue's event stream (any host that
 * runs `clearsight worker` hears it); the job's data carries the mark too, for a job not yet
 * taken (the worker that takes it fails it at once) and for the status the server shows.
 */
const CANCEL_EVENT = 'clearsight:cancel';

/** Jobs of each state read for a caller's list (the newest first per state): the list looks no further back. */
const LIST_SCAN = 1000;
const CANCELLED: JobError = { code: 'E_CANCELLED', message: 'the job was cancelled' };

/** BullMQ keeps only the message of a failure: the code travels in front of it ("E_CODE: ..."). */
function parseFailure(reason: string | undefined): JobError | null {
  if (!reason) return null;
  const m = /^(E_[A-Z_]+): ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1], message: m[2] } : { code: 'E_RUNTIME', message: reason };
}

export interface RedisQueueOptions {
  url: string;
  retry?: RetryPolicy;
  /** Prefix of the Redis keys (tests isolate themselves with it). */
  prefix?: string;
  /** Finished jobs are removed from Redis after this long. */
  keepFinishedMs?: number;
  /** Key that seals secret job options in Redis (jobs/secrets.ts loadQueueSecret). */
  secret: Buffer;
}

export class RedisQueue implements JobQueue {
  private readonly queue: Queue;
  private readonly queueEvents: QueueEvents;
  private readonly cancels: QueueEventsProducer;
  private readonly listeners = new Map<string, Set<StatusListener>>();
  private readonly retry: RetryPolicy;
  private readonly keepFinishedMs: number;
  private readonly secret: Buffer;

  constructor(opts: RedisQueueOptions) {
    this.keepFinishedMs = opts.keepFinishedMs ?? KEEP_FINISHED_MS;
    this.secret = opts.secret;
    const connection = redisConnection(opts.url);
    const prefix = opts.prefix ?? 'bull';
    this.queue = new Queue(QUEUE_NAME, { connection, prefix });
    this.queueEvents = new QueueEvents(QUEUE_NAME, { connection, prefix });
    this.cancels = new QueueEventsProducer(QUEUE_NAME, { connection, prefix });
    this.retry = opts.retry ?? DEFAULT_RETRY;
    const notify = ({ jobId }: { jobId: string }) => this.notify(jobId);
    for (const event of ['progress', 'active', 'completed', 'failed', 'waiting', 'delayed', 'stalled'] as const) {
      this.queueEvents.on(event, notify as never);
    }
  }

  private notify(jobId: string): void {
    if (!this.listeners.has(jobId)) return;
    void this.get(jobId).then((s) => {
      if (s) for (const l of this.listeners.get(jobId) ?? []) l(s);
    });
  }

  /** Resolves once the connections are up (so tests and benches do not race the first command). */
  async ready(): Promise<void> {
    await this.queue.waitUntilReady();
    await this.queueEvents.waitUntilReady();
  }

  async add(spec: JobSpec): Promise<string> {
    const id = randomUUID();
    const data = sealSpec(spec, getTask(spec.task)?.secretFields ?? [], this.secret);
    await this.queue.add(spec.task, data, {
      jobId: id,
      attempts: this.retry.attempts,
      backoff: { type: 'exponential', delay: this.retry.backoffMs },
      removeOnComplete: { age: Math.ceil(this.keepFinishedMs / 1000) },
      removeOnFail: { age: Math.ceil(this.keepFinishedMs / 1000) },
    });
    return id;
  }

  async get(id: string): Promise<JobStatus | undefined> {
    // State first, then the job hash: BullMQ writes the return value in the same script that
    // moves a job to "completed", so a hash read after seeing "completed" always has it. (Read
    // the other way round, a job finishing in between came back "done" with no result.)
    const bullState = await this.queue.getJobState(id);
    if (bullState === 'unknown') return undefined;
    const job = (await this.queue.getJob(id)) as Job<JobSpec, JobResult> | undefined;
    if (!job) return undefined;
    // Cancelled but not yet failed by a worker (still waiting, or its worker is stopping it): shown as it will end.
    const cancelled = job.data.cancelled === true && bullState !== 'completed' && bullState !== 'failed';
    const state = cancelled ? 'failed' : stateOf(bullState);
    const progress = typeof job.progress === 'object' && job.progress !== null ? (job.progress as unknown as JobProgress) : null;
    return {
      id,
      task: job.data.task,
      state,
      progress,
      result: state === 'done' ? (job.returnvalue ?? null) : null,
      error: cancelled ? CANCELLED : parseFailure(job.failedReason),
      // Started attempts: counts a run that stalled (worker died) and was started again, too.
      attempts: Math.max(job.attemptsStarted ?? 0, job.attemptsMade),
    };
  }

  subscribe(id: string, listener: StatusListener): () => void {
    let set = this.listeners.get(id);
    if (!set) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  workerPids(): number[] {
    return [];
  }

  /**
   * Cancels a queued or running job: marks its data (a worker that takes it fails it at once, with
   * no retry) and tells every worker (the one running it aborts: its job process is killed). The
   * job stays, failed with E_CANCELLED, until it expires like any finished job.
   */
  async cancel(id: string): Promise<'cancelled' | 'finished' | 'not-found' | 'busy'> {
    const job = (await this.queue.getJob(id)) as Job<JobSpec, JobResult> | undefined;
    if (!job) return 'not-found';
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return 'finished';
    if (state === 'unknown') return 'not-found';
    await job.updateData({ ...job.data, cancelled: true });
    await this.cancels.publishEvent({ eventName: CANCEL_EVENT, jobId: id }, 10_000); // BullMQ's own length for the events stream
    this.notify(id);
    return 'cancelled';
  }

  async remove(id: string): Promise<JobRemoval> {
    const job = (await this.queue.getJob(id)) as Job<JobSpec, JobResult> | undefined;
    if (!job) return { outcome: 'not-found', blobs: [] };
    // An active job is locked by its worker; BullMQ refuses to remove it.
    if ((await job.getState()) === 'active') return { outcome: 'busy', blobs: [] };
    try {
      await job.remove();
    } catch {
      return { outcome: 'busy', blobs: [] };
    }
    const active = await this.activeInputs();
    return { outcome: 'removed', blobs: [...new Set(blobsOf(job.data, job.returnvalue))].filter((sha) => !active.has(sha)) };
  }

  async list(owner: string, limit: number): Promise<OwnedJob[]> {
    // Every job Redis still keeps (finished ones until keepFinishedMs), the owner's newest first.
    const all = (await this.queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'paused', 'completed', 'failed'], 0, LIST_SCAN - 1)) as Array<
      Job<JobSpec, JobResult> | undefined
    >;
    const mine = all.filter((j): j is Job<JobSpec, JobResult> => j?.data?.owner === owner).sort((a, b) => b.timestamp - a.timestamp);
    const out: OwnedJob[] = [];
    for (const job of mine.slice(0, limit)) {
      const status = await this.get(job.id!);
      if (status)
        out.push({ status, createdAt: job.data.submittedAt ?? new Date(job.timestamp).toISOString(), inputs: job.data.inputs.map((i) => i.clientName ?? '') });
    }
    return out;
  }

  async activeInputs(): Promise<Set<string>> {
    const out = new Set<string>();
    const jobs = (await this.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children'])) as Array<Job<JobSpec> | undefined>;
    for (const job of jobs) for (const i of job?.data?.inputs ?? []) out.add(i.sha256);
    return out;
  }

  async close(): Promise<void> {
    await this.queueEvents.close();
    await this.cancels.close();
    await this.queue.close();
  }
}

export interface RedisWorkerOptions extends PoolOptions {
  url: string;
  prefix?: string;
  /**
   * How long a job's lock lives without renewal. A worker killed mid-job is noticed after about
   * this long (plus the stalled-check interval, the same value), then its job runs elsewhere.
   */
  lockMs?: number;
  /** How many times a job may stall (its worker died) before it fails for good. */
  maxStalls?: number;
  /** Unseals secret job options (the server's queue secret: jobs/secrets.ts). */
  secret: Buffer;
}

/**
 * Takes jobs from Redis and runs them in a WorkerPool (so this process's event loop stays free to
 * renew job locks while onnxruntime computes). Returns the BullMQ worker and the pool.
 */
export function startRedisWorker(opts: RedisWorkerOptions): { worker: Worker; pool: WorkerPool; close: () => Promise<void> } {
  const pool = new WorkerPool(opts).warm();
  const lockMs = opts.lockMs ?? 30_000;
  const worker = new Worker<JobSpec, JobResult>(
    QUEUE_NAME,
    async (job, _token, signal) => {
      // Secret options leave Redis as soon as the job has finished for good.
      const forgetSecrets = () => (job.data.sealed?.length ? job.updateData(withoutSecrets(job.data)).catch(() => undefined) : undefined);
      const stop = () => pool.cancel(job.id!); // the job's process is killed; pool.run rejects with E_CANCELLED
      signal?.addEventListener('abort', stop, { once: true });
      try {
        if (job.data.cancelled || signal?.aborted) throw new JobFailure(CANCELLED.code, CANCELLED.message);
        const result = await pool.run(
          job.id!,
          unsealSpec(job.data, opts.secret),
          (p) => void job.updateProgress(p as unknown as object).catch(() => undefined),
        );
        await forgetSecrets();
        return result;
      } catch (err) {
        const f = err instanceof JobFailure ? err : new JobFailure('E_RUNTIME', err instanceof Error ? err.message : String(err));
        const message = `${f.code}: ${f.message}`;
        if (f.permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await forgetSecrets();
        throw f.permanent ? new UnrecoverableError(message) : new ClearsightError(ERROR_CODES.RUNTIME, message);
      } finally {
        signal?.removeEventListener('abort', stop);
      }
    },
    {
      connection: redisConnection(opts.url),
      prefix: opts.prefix ?? 'bull',
      concurrency: opts.size,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: opts.maxStalls ?? 3,
    },
  );
  worker.on('error', (err) => process.stderr.write(`clearsight worker: ${err.message}\n`));
  // Cancels from the server (RedisQueue.cancel): the worker running the job aborts it.
  const events = new QueueEvents(QUEUE_NAME, { connection: redisConnection(opts.url), prefix: opts.prefix ?? 'bull' });
  events.on(CANCEL_EVENT as never, (({ jobId }: { jobId: string }) => void worker.cancelJob(jobId, 'cancelled')) as never);
  events.on('error', (err: Error) => process.stderr.write(`clearsight worker: ${err.message}\n`));
  // Temp files of job processes that died with their worker (kill -9 of a worker on this host)
  // are removed by the next sweep of any worker here (see ContentStore.sweepTemp).
  const store = new ContentStore(opts.storeRoot);
  const sweeper = setInterval(() => void store.sweepTemp().catch(() => undefined), lockMs);
  sweeper.unref();
  return {
    worker,
    pool,
    close: async () => {
      clearInterval(sweeper);
      await events.close();
      await worker.close(true);
      await pool.close();
    },
  };
}
