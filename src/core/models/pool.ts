/**
 * A pool of warm onnxruntime sessions, owned by whoever runs many jobs in one process (a server
 * worker, `clearsight batch`): sessions stay loaded per (model, input shape, device, precision,
 * threads) and are shared by every job that asks for the same key; the least recently used idle
 * ones are disposed once the pool's estimated memory passes its budget.
 *
 * Not a singleton: the library never creates one itself (DESIGN: caller-owned models). Pass it to
 * a task as `pool` (ExpertOptions); without one, every call loads and disposes its own model.
 *
 * Memory estimate: the ONNX bytes of the session times SESSION_MEMORY_FACTOR, a factor measured
 * once (RSS growth when the session is created, onnxruntime-node 1.x, CPU, memory arena and
 * memory patterns off as in core/runtime): MAXIM-deraining 128x128 (56.8 MiB file) +146.7 MiB,
 * ESRGAN slim 13.3 MiB file +69 MiB (including ~30 MiB onnxruntime start-up, paid once per
 * process). RSS deltas measured live were not used: they are noisy while other work allocates in
 * the same process, and they count the allocator's retained pages, not the session.
 */
import { ClearsightError, ERROR_CODES, invalidOption } from '../errors.js';
import type { InferenceSession } from '../runtime/index.js';

/** Estimated resident bytes of a session per byte of its ONNX file (measured; see above). */
export const SESSION_MEMORY_FACTOR = 2.5;

/** Default budget: 2 GiB of warm sessions (a dozen MAXIM tile shapes, or MAXIM plus every ESRGAN). */
export const DEFAULT_POOL_BUDGET_BYTES = 2 * 1024 ** 3;

/** What identifies one warm session. */
export interface SessionKey {
  /** Model card id (`task/name@version`) or another stable model name. */
  model: string;
  /** Input shape, or 'dynamic' for a model whose one session serves every shape. */
  shape: string;
  device: string;
  precision: string;
  threads: number;
}

export interface PoolEvent {
  type: 'load' | 'hit' | 'evict';
  model: string;
  key: string;
  /** Estimated bytes of the session. */
  bytes: number;
  /** Seconds the load took ('load' only). */
  seconds?: number;
}

export interface ModelPoolOptions {
  /** Estimated bytes the idle sessions may hold together; default DEFAULT_POOL_BUDGET_BYTES. */
  budgetBytes?: number;
  /** Called on every load, hit and eviction (counters in tests and benches, logs in a server). */
  onEvent?: (event: PoolEvent) => void;
}

/** A session lent to one run; release() it when the run is over (the pool may then evict it). */
export interface SessionLease {
  readonly session: InferenceSession;
  release(): void;
}

/** What ImageModel asks its session store for: one session per key, created at most once at a time. */
export interface SessionStore {
  acquire(key: SessionKey, create: () => Promise<{ session: InferenceSession; onnxBytes: number }>): Promise<SessionLease>;
}

interface Entry {
  readonly key: string;
  readonly model: string;
  ready: Promise<InferenceSession>;
  bytes: number;
  /** Runs holding a lease: an entry in use is never evicted. */
  users: number;
}

export interface PoolStats {
  loads: number;
  hits: number;
  evictions: number;
  /** Estimated bytes of the sessions held now. */
  bytes: number;
  sessions: number;
}

export function sessionKeyString(k: SessionKey): string {
  return `${k.model}|${k.shape}|${k.device}|${k.precision}|t${k.threads}`;
}

export class ModelPool implements SessionStore {
  /** Map order is recency: an entry is moved to the end on every use, the first idle one goes first. */
  private readonly entries = new Map<string, Entry>();
  /** Loaded model objects (ImageModel and the like) by their own key, reused across jobs. */
  private readonly models = new Map<string, unknown>();
  private readonly budget: number;
  private readonly onEvent?: (event: PoolEvent) => void;
  private readonly counters = { loads: 0, hits: 0, evictions: 0 };
  private closed = false;

  constructor(options: ModelPoolOptions = {}) {
    const budget = options.budgetBytes ?? DEFAULT_POOL_BUDGET_BYTES;
    if (typeof budget !== 'number' || !(budget >= 0)) throw invalidOption('budgetBytes', 'a number of bytes >= 0', budget);
    this.budget = budget;
    this.onEvent = options.onEvent;
  }

  async acquire(key: SessionKey, create: () => Promise<{ session: InferenceSession; onnxBytes: number }>): Promise<SessionLease> {
    if (this.closed) throw new ClearsightError(ERROR_CODES.RUNTIME, 'model pool used after dispose()');
    const id = sessionKeyString(key);
    let entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
      this.entries.set(id, entry);
      this.counters.hits++;
      this.onEvent?.({ type: 'hit', model: key.model, key: id, bytes: entry.bytes });
    } else {
      const t0 = performance.now();
      const fresh: Entry = { key: id, model: key.model, bytes: 0, users: 0, ready: undefined as unknown as Promise<InferenceSession> };
      fresh.ready = create().then(
        ({ session, onnxBytes }) => {
          fresh.bytes = Math.round(onnxBytes * SESSION_MEMORY_FACTOR);
          this.counters.loads++;
          this.onEvent?.({ type: 'load', model: key.model, key: id, bytes: fresh.bytes, seconds: (performance.now() - t0) / 1000 });
          return session;
        },
        (err: unknown) => {
          if (this.entries.get(id) === fresh) this.entries.delete(id);
          throw err;
        },
      );
      this.entries.set(id, fresh);
      entry = fresh;
    }
    entry.users++;
    let session: InferenceSession;
    try {
      session = await entry.ready;
    } catch (err) {
      entry.users--;
      throw err;
    }
    this.evict();
    const held = entry;
    let released = false;
    return {
      session,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        this.evict();
      },
    };
  }

  /** A model object shared by every job asking for `key` (loaded once; the pool keeps it). */
  model<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ClearsightError(ERROR_CODES.RUNTIME, 'model pool used after dispose()'));
    let p = this.models.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      p.catch(() => this.models.delete(key));
      this.models.set(key, p);
    }
    return p;
  }

  /** Whether a warm session of this model is held (the job router prefers such a worker). */
  holds(model: string): boolean {
    for (const e of this.entries.values()) if (e.model === model && e.bytes > 0) return true;
    return false;
  }

  /** Models with at least one warm session, least recently used first. */
  heldModels(): string[] {
    return [...new Set([...this.entries.values()].filter((e) => e.bytes > 0).map((e) => e.model))];
  }

  stats(): PoolStats {
    const all = [...this.entries.values()];
    return { ...this.counters, bytes: all.reduce((s, e) => s + e.bytes, 0), sessions: all.length };
  }

  /** Disposes every session (waiting for those still loading). The pool cannot be used afterwards. */
  async dispose(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.models.clear();
    for (const e of entries) await (await e.ready.catch(() => undefined))?.dispose();
  }

  /**
   * Disposes least recently used idle sessions while the estimate exceeds the budget. Sessions in
   * use are kept even over budget (a run cannot lose its session); they go when released.
   */
  private evict(): void {
    let total = 0;
    for (const e of this.entries.values()) total += e.bytes;
    for (const e of [...this.entries.values()]) {
      if (total <= this.budget) return;
      if (e.users > 0 || e.bytes === 0) continue;
      this.entries.delete(e.key);
      total -= e.bytes;
      this.counters.evictions++;
      this.onEvent?.({ type: 'evict', model: e.model, key: e.key, bytes: e.bytes });
      void e.ready.then((s) => s.dispose());
    }
  }
}
