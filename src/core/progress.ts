import { performance } from 'node:perf_hooks';
import { ClearsightError, ERROR_CODES } from './errors.js';

/**
 * One progress report of a long task: `done` of `total` units of `stage` (total 0: unknown).
 *
 * The stages a learned task goes through, in order: 'prepare model' (0 of 1 ... 1 of 1: reading
 * the network and creating its session; the first time, 'convert model' 0/1 ... 1/1 inside it:
 * the tfjs -> ONNX conversion, seconds, cached after), then 'tiles' (0 of n before the first
 * tile, so a one-tile job shows 0/1, then after each tile; with TTA n counts every pass); video
 * super-resolution: 'prepare model', then 'frames' (0 of n first). A stage's share of the whole
 * is not known in advance (a conversion happens once; a tile's time depends on the machine), so
 * front ends show the current stage's fraction and, where its total is known, an ETA
 * (`estimateEta`, or `withEta` to have it on each event).
 */
export interface ProgressEvent {
  stage: string;
  done: number;
  total: number;
  /** Seconds left in this stage at the rate so far; only on events passed through withEta. */
  etaSeconds?: number;
}

/** The two controls every long-running library call accepts. */
export interface TaskControl {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

/** Throws E_ABORTED if the caller aborted; call between tiles, frames, stages. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new ClearsightError(ERROR_CODES.ABORTED, 'Operation aborted', { reason: String(signal.reason ?? '') });
  }
}

export function report(control: TaskControl | undefined, stage: string, done: number, total: number): void {
  control?.onProgress?.({ stage, done, total });
}

/**
 * Seconds left in a stage at the rate seen so far (`done` units in `elapsedSeconds`), or undefined
 * while that says nothing: the total unknown (0), nothing done yet, or already finished.
 */
export function estimateEta(elapsedSeconds: number, done: number, total: number): number | undefined {
  if (!(total > 0) || !(done > 0) || done >= total || !(elapsedSeconds > 0)) return undefined;
  return (elapsedSeconds / done) * (total - done);
}

/**
 * Wraps an onProgress so that each event of a stage with a known total carries `etaSeconds`,
 * timed from the stage's first event (the library reports 0 of n before the first unit, so the
 * first unit's time counts). For front ends that relay events (the HTTP API, batch).
 */
export function withEta(onProgress: (event: ProgressEvent) => void, now: () => number = () => performance.now()): (event: ProgressEvent) => void {
  let stage = '';
  let started = 0;
  return (event) => {
    if (event.stage !== stage) {
      stage = event.stage;
      started = now();
    }
    const eta = estimateEta((now() - started) / 1000, event.done, event.total);
    onProgress(eta === undefined ? event : { ...event, etaSeconds: Math.round(eta) });
  };
}
