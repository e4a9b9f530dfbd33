import { ClearsightError, ERROR_CODES } from './errors.js';

/** One progress report of a long task: `done` of `total` units of `stage`. */
export interface ProgressEvent {
  stage: string;
  done: number;
  total: number;
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
