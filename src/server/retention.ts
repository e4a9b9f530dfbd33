/**
 * Store retention: what the server keeps is bounded by age and by a total size budget.
 *
 * - A blob (input or output) unused for longer than `maxAgeMs` is removed (its mtime is its last
 *   use: ContentStore.touch refreshes it when a new job reuses it).
 * - While the blobs together are over `maxBytes`, the least recently used go first.
 * - The inputs of jobs not yet finished are never removed (queue.activeInputs), whatever their
 *   age: a queued job must find its input.
 * - The embedded queue forgets finished jobs after the same age; their blobs go with them.
 * - Temp files of dead processes are swept on each run too (a crashed worker's scratch folder).
 *
 * A run follows every job that ends (poke) and a timer; runs never overlap. A finished job whose
 * output was removed answers 410 for that file.
 */
import type { ContentStore } from './store.js';
import type { JobQueue } from './jobs/queue.js';

export interface RetentionOptions {
  /** Total bytes of blobs kept at most. */
  maxBytes: number;
  /** A blob unused for longer is removed, ms. */
  maxAgeMs: number;
  /** Time between runs besides those after each job, ms (default 60 s). */
  intervalMs?: number;
}

export interface RetentionReport {
  removed: number;
  removedBytes: number;
  /** Bytes of blobs left. */
  bytes: number;
}

/** Fraction of the budget a pass frees down to once the store is over it. */
export const LOW_WATER = 0.85;

/** Queues that forget old jobs themselves (the embedded one) say which blobs went with them. */
type ExpiringQueue = JobQueue & { expire?: () => string[] };

/**
 * Which blobs to remove, oldest first: those over age, then the least recently used until the rest
 * fit the budget; `keep` is never chosen. Pure (the retention test checks it directly).
 */
export function chooseEvictions(
  blobs: ReadonlyArray<{ sha256: string; bytes: number; mtimeMs: number }>,
  keep: ReadonlySet<string>,
  maxBytes: number,
  maxAgeMs: number,
  now: number,
): string[] {
  const sorted = [...blobs].sort((a, b) => a.mtimeMs - b.mtimeMs);
  let total = sorted.reduce((s, b) => s + b.bytes, 0);
  // Over the budget, room is made down to LOW_WATER of it: jobs finishing before the next pass
  // then land under the budget instead of over it (bench:store: 1,000 jobs, 100 MiB).
  const target = total > maxBytes ? LOW_WATER * maxBytes : maxBytes;
  const out: string[] = [];
  for (const b of sorted) {
    if (keep.has(b.sha256)) continue;
    if (now - b.mtimeMs > maxAgeMs || total > target) {
      out.push(b.sha256);
      total -= b.bytes;
    }
  }
  return out;
}

export class StoreRetention {
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private running?: Promise<RetentionReport>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: ContentStore,
    private readonly queue: ExpiringQueue,
    readonly options: RetentionOptions,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(): this {
    this.timer = setInterval(() => this.poke(), this.options.intervalMs ?? 60_000);
    this.timer.unref();
    return this;
  }

  /** Asks for a run shortly (coalesced: a burst of finished jobs costs one or two runs). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.run().catch(this.onError);
    }, 20);
  }

  /** One retention pass now (waits for a pass already under way, then runs again). */
  async run(): Promise<RetentionReport> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.pass();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.poke();
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<RetentionReport> {
    await this.store.sweepTemp();
    // Listed first, then what to keep: a job queued after the listing protects its input in time,
    // and a blob published after it is not in the list at all.
    const blobs = await this.store.listBlobs();
    const keep = await this.queue.activeInputs();
    for (const sha of this.store.pinned()) keep.add(sha);
    let removed = 0;
    let removedBytes = 0;
    // Blobs of jobs the embedded queue has just forgotten (age) go now, not only when over budget.
    const expired = new Set(this.queue.expire?.() ?? []);
    const evict = new Set(chooseEvictions(blobs, keep, this.options.maxBytes, this.options.maxAgeMs, Date.now()));
    for (const sha of expired) if (!keep.has(sha)) evict.add(sha);
    let bytes = 0;
    for (const b of blobs) {
      // Pinned since the list was made (the same bytes uploaded again just now): kept.
      if (evict.has(b.sha256) && !this.store.pinned().includes(b.sha256)) {
        await this.store.remove(b.sha256);
        removed++;
        removedBytes += b.bytes;
      } else bytes += b.bytes;
    }
    return { removed, removedBytes, bytes };
  }
}
