/**
 * `clearsight worker --queue redis://... [--store dir] [--concurrency n]`: takes jobs from the
 * Redis queue (BullMQ) that `clearsight serve --queue` fills, on this or any other machine that
 * mounts the same store directory. Jobs run in child processes; a worker killed mid-job loses its
 * lock and the job is run again by another worker (after --lock-seconds).
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { integerOption } from '../options.js';
import { addLimitOptions, untilSignal } from './serve.js';

interface WorkerCliOptions {
  queue: string;
  store?: string;
  concurrency?: number;
  lockSeconds: number;
  maxMegapixels: number;
  jobTimeout: number;
  jobMemoryGb: number;
  preload: string[];
  modelMemoryGb: number;
}

export function addWorkerCommand(program: Command): Command {
  const cmd = program
    .command('worker')
    .summary('process jobs from a Redis queue (for `serve --queue`)')
    .description(
      'Take jobs queued by `clearsight serve --queue redis://...` and run them. Start as many as you like, on any machine that shares the store directory.',
    )
    .requiredOption('--queue <url>', 'redis://host:port[/db]')
    .option('--store <dir>', 'the store directory the server uses (default ~/.cache/clearsight/store)')
    .addOption(integerOption('--concurrency <n>', 'jobs at a time (default: cores)', 1, 256))
    .addOption(integerOption('--lock-seconds <n>', 'job lock lifetime: a dead worker is noticed after about this long', 1, 3600).default(30));
  addLimitOptions(cmd);
  cmd.action(async (opts: WorkerCliOptions) => {
    const { ContentStore, defaultStoreDir, loadQueueSecret, startRedisWorker, threadsPerJob } = await import('../../server/index.js');
    const store = await new ContentStore(opts.store ?? defaultStoreDir()).init();
    await store.sweepTemp();
    const size = opts.concurrency ?? availableParallelism();
    const w = startRedisWorker({
      url: opts.queue,
      size,
      storeRoot: store.root,
      maxPixels: Math.round(opts.maxMegapixels * 1e6),
      threads: threadsPerJob(size),
      timeoutMs: opts.jobTimeout * 1000,
      lockMs: opts.lockSeconds * 1000,
      memoryBudgetBytes: Math.round(opts.jobMemoryGb * 1024 ** 3),
      secret: await loadQueueSecret(store.root),
      preload: opts.preload,
      modelBudgetBytes: Math.round(opts.modelMemoryGb * 1024 ** 3),
    });
    await w.worker.waitUntilReady();
    process.stderr.write(
      `clearsight: worker ${process.pid} taking jobs from ${opts.queue.replace(/\/\/[^@]*@/, '//***@')} (${size} at a time); store ${store.root}\n`,
    );
    const sig = await untilSignal();
    process.stderr.write(`clearsight: ${sig}, finishing\n`);
    await w.close();
  });
  return cmd;
}
