/** server: the HTTP API, the web app, the job queues and the content-addressed store (docs/server.md). */
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './app.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { ContentStore } from './store.js';
import { LocalQueue, RedisQueue, type JobQueue, type RetryPolicy } from './jobs/queue.js';
import { threadsPerJob } from './registry.js';
import { isLoopbackAddress, LOOPBACK_HOSTS } from './guard.js';
import { StoreRetention, type RetentionOptions } from './retention.js';
import { loadQueueSecret } from './jobs/secrets.js';

export { buildServer, jobView, type ServerOptions } from './app.js';
export { buildOpenApi } from './openapi.js';
export { ContentStore, sha256Of, isSha256 } from './store.js';
export { DEFAULT_LIMITS, HttpError, inspectUpload, sniffUpload, type ServerLimits } from './limits.js';
export {
  TASKS,
  PLANNED_TASKS,
  getTask,
  estimateJobMemory,
  parseTaskOptions,
  threadsPerJob,
  type TaskDefinition,
  type TaskContext,
  type TaskOutcome,
  type InputKind,
} from './registry.js';
export { LocalQueue, RedisQueue, startRedisWorker, redisConnection, DEFAULT_RETRY, QUEUE_NAME, type JobQueue, type RetryPolicy } from './jobs/queue.js';
export { WorkerPool } from './jobs/pool.js';
export { StoreRetention, chooseEvictions, type RetentionOptions, type RetentionReport } from './retention.js';
export { PUBLIC_ROUTES, hostAllowed, crossSiteReason, redactUrl } from './guard.js';
export { runJob, runTask } from './jobs/run.js';
export { loadQueueSecret, sealSpec, unsealSpec, withoutSecrets } from './jobs/secrets.js';
export type { JobSpec, JobStatus, JobResult, JobFile, JobInput } from './jobs/types.js';

/** Where the store lives by default (also the default of `clearsight worker`, so one machine needs no flag). */
export function defaultStoreDir(): string {
  return join(process.env.CLEARSIGHT_CACHE_DIR ?? join(homedir(), '.cache', 'clearsight'), 'store');
}

export interface StartOptions {
  port?: number;
  host?: string;
  /** redis://... to use BullMQ; default the embedded queue. */
  queueUrl?: string;
  /** Redis key prefix (tests). */
  queuePrefix?: string;
  token?: string;
  storeDir?: string;
  /** Embedded queue: worker processes (default: cores). */
  concurrency?: number;
  limits?: Partial<ServerLimits>;
  retry?: RetryPolicy;
  logger?: boolean;
  /**
   * Host names to answer besides the loopback ones (`--allow-host`). On a localhost bind only
   * localhost names are answered unless listed here (DNS rebinding); beyond localhost any Host is
   * answered unless some are listed. "*" turns the check off.
   */
  allowHosts?: string[];
  /** Store retention (defaults: 5 GiB, 24 h). */
  retention?: Partial<RetentionOptions>;
  /** Tasks whose default models each worker warms at start (`--preload derain,upscale`). */
  preload?: string[];
  /** Each worker's warm-model budget, estimated bytes (default 2 GiB). */
  modelBudgetBytes?: number;
}

export const DEFAULT_RETENTION: RetentionOptions = { maxBytes: 5 * 1024 ** 3, maxAgeMs: 24 * 3600_000, intervalMs: 60_000 };

/** The Host allow-list for a bind address and --allow-host values (undefined: no check). */
export function allowedHostsFor(bindHost: string, allow: readonly string[] = []): string[] | undefined {
  if (allow.includes('*')) return undefined;
  if (isLoopbackAddress(bindHost) || allow.length > 0) return [...new Set([...LOOPBACK_HOSTS, ...allow.map((h) => h.toLowerCase())])];
  return undefined;
}

export interface RunningServer {
  app: FastifyInstance;
  queue: JobQueue;
  store: ContentStore;
  retention: StoreRetention;
  url: string;
  close(): Promise<void>;
}

/** Builds and starts the server (the `clearsight serve` command and the tests). */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const retentionOptions = { ...DEFAULT_RETENTION, ...opts.retention };
  const store = await new ContentStore(opts.storeDir ?? defaultStoreDir()).init();
  // Whatever a crash left in tmp/ (files or a job's scratch folder) is removed; what cannot be is
  // reported, never a reason not to start.
  await store.sweepTemp(undefined, (name, err) => process.stderr.write(`clearsight: could not remove leftover temp ${name}: ${(err as Error).message}\n`));
  let queue: JobQueue;
  if (opts.queueUrl) {
    const rq = new RedisQueue({
      url: opts.queueUrl,
      prefix: opts.queuePrefix,
      retry: opts.retry,
      keepFinishedMs: retentionOptions.maxAgeMs,
      secret: await loadQueueSecret(store.root),
    });
    await rq.ready();
    queue = rq;
  } else {
    const size = opts.concurrency ?? availableParallelism();
    queue = new LocalQueue(
      {
        size,
        storeRoot: store.root,
        maxPixels: limits.maxPixels,
        threads: threadsPerJob(size),
        timeoutMs: limits.jobTimeoutMs,
        memoryBudgetBytes: limits.jobMemoryBytes,
        preload: opts.preload,
        modelBudgetBytes: opts.modelBudgetBytes,
      },
      opts.retry,
      retentionOptions.maxAgeMs,
    );
  }
  const retention = new StoreRetention(store, queue, retentionOptions, (err) =>
    process.stderr.write(`clearsight: store retention: ${(err as Error).message}\n`),
  ).start();
  const host = opts.host ?? '127.0.0.1';
  const app = await buildServer({
    queue,
    store,
    limits,
    token: opts.token,
    logger: opts.logger,
    allowedHosts: allowedHostsFor(host, opts.allowHosts),
    onStoreChange: () => retention.poke(),
  });
  const address = await app.listen({ port: opts.port ?? 8080, host });
  retention.poke();
  return {
    app,
    queue,
    store,
    retention,
    url: address,
    close: async () => {
      await app.close();
      await retention.stop();
      await queue.close();
    },
  };
}
