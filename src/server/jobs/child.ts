/**
 * Entry of a worker process (forked by pool.ts). It runs one job at a time, sent over IPC, and
 * answers with progress, the result or the error.
 *
 * Why a process and not the server's thread: onnxruntime-node runs inference synchronously on
 * the JavaScript thread; inside the server it would freeze every request (and, under BullMQ,
 * the lock renewal, making every long job look stalled). A process can also be killed at once
 * on a timeout, which a worker thread inside onnxruntime cannot.
 */
import { isClearsightError } from '../../core/errors.js';
import { ModelPool } from '../../core/models/pool.js';
import { withJobProgress, type JobProgressEvent } from '../../core/progress.js';
import { stagesOf } from '../../tasks/table.js';
import { ContentStore } from '../store.js';
import { preloadModels, runJob } from './run.js';
import type { ChildConfig, ChildReply, ChildRequest } from './pool.js';

const config: ChildConfig = process.argv[2] ? (JSON.parse(process.argv[2]) as ChildConfig) : { preload: [], threads: 1 };
const stores = new Map<string, ContentStore>();
const cache = new Map<string, unknown>();
/** This worker's warm models: kept across jobs, least recently used dropped beyond the budget. */
const pool = new ModelPool({ budgetBytes: config.modelBudgetBytes });

function send(message: ChildReply): void {
  if (process.connected) process.send?.(message);
}

/** At most ~10 progress messages a second, but always stage changes and the last unit. */
function throttled(jobId: string): (e: JobProgressEvent) => void {
  let last = 0;
  let stage = '';
  return (e) => {
    const now = Date.now();
    if (e.stage === stage && e.done < e.total && now - last < 100) return;
    last = now;
    stage = e.stage;
    send({
      type: 'progress',
      jobId,
      event: {
        stage: e.stage,
        done: e.done,
        total: e.total,
        fraction: e.fraction,
        ...(e.etaSeconds !== undefined ? { etaSeconds: e.etaSeconds } : {}),
        ...(e.totalEtaSeconds !== undefined ? { totalEtaSeconds: e.totalEtaSeconds } : {}),
      },
    });
  };
}

async function handle(req: ChildRequest): Promise<void> {
  let store = stores.get(req.storeRoot);
  if (!store) {
    store = await new ContentStore(req.storeRoot).init();
    stores.set(req.storeRoot, store);
  }
  try {
    const result = await runJob(req.spec, store, {
      maxPixels: req.maxPixels,
      threads: req.threads,
      cache,
      pool,
      onProgress: withJobProgress(stagesOf(req.spec.task), throttled(req.jobId)),
    });
    send({ type: 'done', jobId: req.jobId, result, models: pool.heldModels() });
  } catch (err) {
    const code = isClearsightError(err) ? err.code : 'E_RUNTIME';
    // Library messages may name the file they read: the store's paths are not the client's business.
    const message = (err instanceof Error ? err.message : String(err)).split(req.storeRoot).join('<store>');
    send({ type: 'error', jobId: req.jobId, error: { code, message }, models: pool.heldModels() });
  }
}

// The parent went away (killed, even with -9): the IPC channel closes; a worker must not outlive
// it, nor leave its half-written temp files behind (the job runs again elsewhere).
// A second pass shortly after catches files whose creation was already under way in libuv's
// thread pool during the first; what still escapes is removed by the next sweep (dead pid).
process.on('disconnect', () => {
  for (const store of stores.values()) store.abandonTemps();
  setTimeout(() => {
    for (const store of stores.values()) store.abandonTemps();
    process.exit(0);
  }, 100);
});
process.on('message', (msg: ChildRequest) => {
  if (msg?.type === 'run') void handle(msg);
});
send({ type: 'ready' });
if (config.preload.length > 0) {
  preloadModels(config.preload, pool, { threads: config.threads }).then(
    () => send({ type: 'models', models: pool.heldModels() }),
    (err: unknown) => process.stderr.write(`clearsight worker: preload failed: ${err instanceof Error ? err.message : String(err)}\n`),
  );
}
