/**
 * Ctrl-C (SIGINT) and SIGTERM inside the process that runs a restoration.
 *
 * The first signal aborts the AbortController whose `signal` the library task receives, and the
 * CLI stops waiting for the task at once (`untilAborted`); nothing has been written then (the
 * output is written only at the end, atomically), so the run ends with E_ABORTED, exit 130
 * (SIGINT) or 143 (SIGTERM), and no output file. Once the output is being written the
 * (short) write completes and the run succeeds: the interrupt came too late to matter.
 *
 * Limitation: onnxruntime-node runs a session synchronously on the main thread, so while one
 * tile is inferring no JavaScript runs, this handler included. That is why restoration commands
 * run in a child process under a supervisor (supervisor.ts), which stays responsive and kills
 * this process if it does not stop within a moment. Run directly (CLEARSIGHT_CLI_INPROCESS=1),
 * a signal takes effect when the current tile ends.
 */
import { ClearsightError, ERROR_CODES } from './lib.js';
import { EXIT } from './exitCodes.js';
import { abortMessage, WRITING_MESSAGE, WROTE_MESSAGE } from './supervisor.js';

export interface Interrupts {
  readonly signal: AbortSignal;
  /**
   * Lets pending signals be delivered (one event-loop turn: a signal that arrived while a tile
   * was blocking the thread is queued), then throws E_ABORTED if one arrived.
   */
  checkpoint(): Promise<void>;
  /** Marks the start of the output write; tells the supervisor not to kill us from now on. */
  writing(): void;
  /** Marks an output complete (several inputs, batch): an interrupt from now on says it is kept. */
  wrote(output: string): void;
  /** Removes the handlers. */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type HandledSignal = (typeof SIGNALS)[number];

export function exitCodeForSignal(signal: unknown): number | undefined {
  if (signal === 'SIGINT') return EXIT.INTERRUPTED;
  if (signal === 'SIGTERM') return EXIT.TERMINATED;
  return undefined;
}

/** `beforeAbort` runs first (e.g. to erase the progress bar before the message is printed). */
export function watchInterrupts(beforeAbort: () => void = () => undefined): Interrupts {
  const controller = new AbortController();
  const supervised = typeof process.send === 'function';
  let received: HandledSignal | undefined;
  let writing = false;
  let written = 0;
  const handler = (sig: HandledSignal) => {
    if (received) {
      // Repeated: under a supervisor (which also forwards what the terminal sent us) it decides
      // when to give up; alone, a second Ctrl-C leaves at once, unless the output is being written.
      if (!supervised && !writing) process.exit(exitCodeForSignal(sig) ?? EXIT.INTERRUPTED);
      return;
    }
    received = sig;
    beforeAbort();
    controller.abort(abortedError(sig, written));
  };
  for (const sig of SIGNALS) process.on(sig, handler);
  return {
    signal: controller.signal,
    async checkpoint() {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (received) throw abortedError(received, written);
    },
    writing() {
      writing = true;
      if (supervised && process.connected) process.send!(WRITING_MESSAGE);
    },
    wrote() {
      writing = false;
      written++;
      if (supervised && process.connected) process.send!(WROTE_MESSAGE);
    },
    dispose() {
      for (const sig of SIGNALS) process.off(sig, handler);
    },
  };
}

export function abortedError(sig: HandledSignal, written = 0): ClearsightError {
  return new ClearsightError(ERROR_CODES.ABORTED, abortMessage(sig, written), { signal: sig, written });
}

/**
 * Settles with `task`, or rejects with the signal's reason as soon as it aborts. The abandoned
 * task keeps a handler attached, so its later rejection is not an unhandled one.
 */
export function untilAborted<T>(task: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    task.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    task.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
