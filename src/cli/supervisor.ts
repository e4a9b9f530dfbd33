/**
 * Runs a restoration command in a child process and keeps Ctrl-C instant.
 *
 * Why: onnxruntime-node runs inference synchronously on the JavaScript thread, so during a tile
 * (seconds to a minute on a small CPU) the process that runs it cannot react to a signal at all.
 * This small parent process (node builtins only: no sharp, no onnxruntime) stays responsive:
 *
 * - the child (the same command line, with CLEARSIGHT_CLI_INPROCESS=1) shares stdin/stdout/stderr,
 *   so progress, JSON and error lines reach the user unchanged, and its exit code is ours;
 * - on SIGINT/SIGTERM we forward the signal (a terminal's Ctrl-C has reached the child already),
 *   the child aborts through its AbortController if its thread is free, and if it has not ended
 *   within GRACE_MS (it is inside a tile) we kill it; we then exit 130 (143 for SIGTERM);
 * - the child tells us when it starts writing the output; from then on we never kill it, so the
 *   atomic write completes and no temp file is left behind. A second signal kills at once
 *   (still not during the write).
 *
 * Nothing has been written before the write phase, so an interrupted run leaves no output file.
 */
import { spawn } from 'node:child_process';
import { EXIT } from './exitCodes.js';

/** IPC message the child sends when it starts writing the output. */
export const WRITING_MESSAGE = 'clearsight:writing';
/** IPC message the child sends when an output is complete (several inputs, batch). */
export const WROTE_MESSAGE = 'clearsight:wrote';

/** How long a signalled child may take to stop by itself before it is killed. */
export const GRACE_MS = 750;

/** Environment flag that makes the CLI run the command itself (set for the child). */
export const INPROCESS_ENV = 'CLEARSIGHT_CLI_INPROCESS';

/** The line for an interrupted run; `written` outputs were complete before the signal (they stay). */
export function abortMessage(sig: NodeJS.Signals, written = 0): string {
  const what = sig === 'SIGTERM' ? 'terminated (SIGTERM)' : 'interrupted (Ctrl-C)';
  if (written === 0) return `${what}; no output written`;
  return `${what}; ${written} input${written === 1 ? '' : 's'} finished before it (outputs kept), nothing half-written`;
}

const exitFor = (sig: NodeJS.Signals) => (sig === 'SIGTERM' ? EXIT.TERMINATED : EXIT.INTERRUPTED);

/** Re-runs this command line (`launcher` = bin/clearsight.js) in a child; resolves to the exit code. */
export function supervise(launcher: string, args: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, launcher, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [INPROCESS_ENV]: '1' },
  });
  let signalled: NodeJS.Signals | undefined;
  let writing = false;
  let written = 0;
  let killTimer: NodeJS.Timeout | undefined;

  const kill = () => {
    if (!writing && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      kill(); // second signal: do not wait any longer
      return;
    }
    signalled = sig;
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    killTimer = setTimeout(kill, GRACE_MS);
  };
  child.on('message', (message) => {
    if (message === WRITING_MESSAGE) writing = true;
    if (message === WROTE_MESSAGE) {
      writing = false; // the next output's write announces itself again
      written++;
    }
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      clearTimeout(killTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code);
    };
    child.on('error', (err) => {
      process.stderr.write(`clearsight: cannot start the worker process: ${err.message}\n`);
      finish(EXIT.INTERNAL);
    });
    child.on('exit', (code, sig) => {
      if (code !== null) return finish(code); // the child reported for itself
      // Killed: by us, by the signal itself before its handler was installed, or by the system.
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K\x1b[?25h'); // erase a half-drawn progress bar
      if (signalled) {
        process.stderr.write(`clearsight: ${abortMessage(signalled, written)} [E_ABORTED]\n`);
        return finish(exitFor(signalled));
      }
      const hint = sig === 'SIGKILL' ? ' (out of memory? try a smaller --max-tile)' : '';
      process.stderr.write(`clearsight: the worker process was killed by ${sig}${hint} [E_RUNTIME]\n`);
      finish(EXIT.RUNTIME);
    });
  });
}
