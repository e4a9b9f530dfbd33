/**
 * Worker-thread entry of the HDR merge (threads.ts starts it): runs jobs of the task table and
 * posts their results back. A job's error goes back as its code and message (a ClearsightError
 * is rebuilt on the other side).
 */
import { parentPort } from 'node:worker_threads';
import { isClearsightError } from '../../core/errors.js';
import { HDR_TASKS, type HdrTaskKind } from './tasks.js';

export interface TaskMessage {
  id: number;
  kind: HdrTaskKind;
  job: unknown;
}

export type ReplyMessage =
  | { id: number; result: unknown }
  | { id: number; error: { message: string; code?: string; details?: Record<string, unknown> } }
  | { ready: true };

/** The (non-shared) buffers of the typed arrays in a result, one level deep: moved, not copied. */
function transferables(result: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const visit = (v: unknown) => {
    if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) found.add(v.buffer);
  };
  if (Array.isArray(result)) result.forEach(visit);
  else if (result && typeof result === 'object') Object.values(result).forEach(visit);
  return [...found];
}

const port = parentPort;
if (port) {
  port.on('message', (m: TaskMessage) => {
    let reply: ReplyMessage;
    try {
      const run = HDR_TASKS[m.kind] as (job: unknown) => unknown;
      const result = run(m.job);
      reply = { id: m.id, result };
      port.postMessage(reply, transferables(result));
      return;
    } catch (err) {
      const e = err as Error;
      reply = {
        id: m.id,
        error: isClearsightError(err) ? { message: err.message, code: err.code, details: err.details } : { message: e?.message ?? String(err) },
      };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true } satisfies ReplyMessage);
}
