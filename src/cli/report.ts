/** Turns whatever ended a run into one stderr line and an exit code (see exitCodes.ts). */
import { CommanderError } from 'commander';
import { isClearsightError } from './lib.js';
import { EXIT, EXIT_FOR_CODE, USAGE_CODE } from './exitCodes.js';
import { exitCodeForSignal } from './interrupt.js';

export interface ErrorOutput {
  write(text: string): unknown;
}

const debug = () => process.env.CLEARSIGHT_DEBUG === '1';

export function reportError(err: unknown, stderr: ErrorOutput = process.stderr): number {
  if (err instanceof CommanderError) return reportCommanderError(err, stderr);
  if (isClearsightError(err)) {
    stderr.write(`clearsight: ${oneLine(err.message)}${hintFor(err.details)} [${err.code}]\n`);
    if (debug()) stderr.write(`${err.stack ?? ''}\n${err.cause instanceof Error ? `cause: ${err.cause.stack}\n` : ''}`);
    return exitCodeForSignal(err.details.signal) ?? EXIT_FOR_CODE[err.code] ?? EXIT.INTERNAL;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`clearsight: unexpected error: ${oneLine(message)}${debug() ? '' : ' (set CLEARSIGHT_DEBUG=1 for details)'}\n`);
  if (debug() && err instanceof Error) stderr.write(`${err.stack}\n`);
  return EXIT.INTERNAL;
}

function reportCommanderError(err: CommanderError, stderr: ErrorOutput): number {
  // --help and --version end through here too (with exitOverride), having printed their text.
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
  // `clearsight` alone: commander printed the help on stderr.
  if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  const message = oneLine(err.message.replace(/^error:\s*/, ''));
  stderr.write(`clearsight: ${message} (see --help) [${USAGE_CODE}]\n`);
  return EXIT.USAGE;
}

/** A pointer to the right command, where the library says what kind of input it was given. */
function hintFor(details: Readonly<Record<string, unknown>>): string {
  if (details.kind === 'video') return '; videos go to `clearsight vsr` (super-resolution), `clearsight liveness` or `clearsight forensics analyze`';
  if (details.kind === 'image')
    return '; pictures go to the picture commands: `clearsight upscale` (super-resolution), `clearsight restore auto`, `clearsight faces` ... (see clearsight --help)';
  return '';
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}
