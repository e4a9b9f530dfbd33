/**
 * Entry point of the `clearsight` command: bin/clearsight.js imports this module (compiled from
 * dist/, or the source through tsx) and calls cli().
 *
 * Restoration commands run under a supervisor (a child process does the work; see
 * supervisor.ts) so that Ctrl-C stays instant while onnxruntime blocks the worker's thread.
 * Everything else (--help, models, usage errors) runs here. This module loads only node builtins
 * until it knows which of the two it is: the supervisor never loads sharp or onnxruntime.
 */
import { RESTORE_COMMANDS } from './commands/names.js';
import { EXIT } from './exitCodes.js';
import { INPROCESS_ENV, supervise } from './supervisor.js';

const supervised: ReadonlySet<string> = new Set(RESTORE_COMMANDS);

/** Runs the command line (process.argv layout: node, script, args...) and sets the exit code. */
export async function cli(argv: readonly string[] = process.argv): Promise<void> {
  // `clearsight models | head`: a reader that went away is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const args = argv.slice(2);
  let code: number;
  if (process.env[INPROCESS_ENV] !== '1' && supervised.has(args[0] ?? '') && argv[1]) {
    code = await supervise(argv[1], args);
  } else {
    const { main } = await import('./program.js');
    code = await main(argv);
    // After an interrupt the abandoned task may still hold the event loop: leave now.
    if (code === EXIT.INTERRUPTED || code === EXIT.TERMINATED) process.exit(code);
  }
  process.exitCode = code;
}
