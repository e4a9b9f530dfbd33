/** server: the HTTP API, the web app, the job queues and the content-addressed store (docs/server.md). */
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './app.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { ContentStore } from './store.js';
import { LocalQueue, RedisQueue, type JobQueue, type RetryPolicy } from './jobs/queue.js';
import { threadsPerJob } from './registry.js';

export { buildServer, jobView, type ServerOptions } from './app.js';
export { buildOpenApi } from './openapi.js';
export { ContentStore, sha256Of, isSha256 } from './store.js';
export { DEFAULT_LIMITS, HttpError, inspectUpload, sniffUpload, type ServerLimits } from './limits.js';
export { TASKS, PLANNED_TASKS, getTask, parseTaskOptions, threadsPerJob, type TaskDefinition, type TaskContext, type TaskOutcome, type InputKind } from './registry.js';
export { LocalQueue, RedisQueue, startRedisWorker, redisConnection, DEFAULT_RETRY, QUEUE_NAME, type JobQueue, type RetryPolicy } from './jobs/queue.js';
export { WorkerPool } from './jobs/pool.js';
export { runJob, runTask } from './jobs/run.js';
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
}

export interface RunningServer {
  app: FastifyInstance;
  queue: JobQueue;
  store: ContentStore;
  url: string;
  close(): Promise<void>;
}

/** Builds and starts the server (the `clearsight serve` command and the tests). */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const store = await new ContentStore(opts.storeDir ?? defaultStoreDir()).init();
  await store.sweepTemp();
  let queue: JobQueue;
  if (opts.queueUrl) {
    const rq = new RedisQueue({ url: opts.queueUrl, prefix: opts.queuePrefix, retry: opts.retry });
    await rq.ready();
    queue = rq;
  } else {
    const size = opts.concurrency ?? availableParallelism();
    queue = new LocalQueue({ size, storeRoot: store.root, maxPixels: limits.maxPixels, threads: threadsPerJob(size), timeoutMs: limits.jobTimeoutMs }, opts.retry);
  }
  const app = await buildServer({ queue, store, limits, token: opts.token, logger: opts.logger });
  const address = await app.listen({ port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1' });
  return {
    app,
    queue,
    store,
    url: address,
    close: async () => {
      await app.close();
      await queue.close();
    },
  };
}
