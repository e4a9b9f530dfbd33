// Type-only: this module is also loaded by the supervisor process, which must stay light
// (no sharp, no onnxruntime), so the keys below are written out and checked against ErrorCode.
import type { ErrorCode } from '../index.js';

/**
 * Exit codes of the `clearsight` command. Stable: scripts branch on them, so never renumber,
 * only add. One code per family of library error codes (src/core/errors.ts); the exact
 * library code is printed in brackets at the end of the error line, e.g.
 *
 *   clearsight: Input file "a.png" does not exist [E_INPUT_NOT_FOUND]
 */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** Unexpected failure (a bug): set CLEARSIGHT_DEBUG=1 for the stack trace. */
  INTERNAL: 1,
  /** Bad command line: unknown command or option, missing argument, invalid option value. */
  USAGE: 2,
  /** The input: missing, unreadable, unsupported format, corrupt or truncated, too small or too large. */
  INPUT: 3,
  /** The output: exists (no --force), unsupported extension, directory missing or not writable. */
  OUTPUT: 4,
  /** Model or runtime: model package missing, conversion failed, onnxruntime or encoder failure. */
  RUNTIME: 5,
  /** Interrupted with Ctrl-C (SIGINT); no output file is left behind. */
  INTERRUPTED: 130,
  /** Terminated with SIGTERM; no output file is left behind. */
  TERMINATED: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Every library error code mapped to its exit code. A Record over ErrorCode, so a code added to
 * the library without a line here (or a key misspelt) fails the typecheck.
 */
export const EXIT_FOR_CODE: Readonly<Record<ErrorCode, ExitCode>> = {
  E_INVALID_OPTION: EXIT.USAGE,
  E_INPUT_NOT_FOUND: EXIT.INPUT,
  E_INPUT_UNREADABLE: EXIT.INPUT,
  E_INPUT_UNSUPPORTED: EXIT.INPUT,
  E_INPUT_CORRUPT: EXIT.INPUT,
  E_INPUT_TOO_SMALL: EXIT.INPUT,
  E_INPUT_TOO_LARGE: EXIT.INPUT,
  E_NO_FACE: EXIT.INPUT,
  E_ALREADY_MARKED: EXIT.INPUT,
  E_OUTPUT_EXISTS: EXIT.OUTPUT,
  E_OUTPUT_UNSUPPORTED: EXIT.OUTPUT,
  E_OUTPUT_UNWRITABLE: EXIT.OUTPUT,
  E_MODEL_NOT_FOUND: EXIT.RUNTIME,
  E_MODEL_CONVERSION: EXIT.RUNTIME,
  E_RUNTIME: EXIT.RUNTIME,
  E_ABORTED: EXIT.INTERRUPTED,
};

/** Code printed for command-line errors found by the argument parser (not a library code). */
export const USAGE_CODE = 'E_USAGE';

/** The table for `clearsight --help`. */
export const EXIT_CODE_HELP = `Exit codes:
  0    success
  1    unexpected error (a bug; CLEARSIGHT_DEBUG=1 prints the stack)
  2    bad usage: unknown command or option, missing argument, invalid value  [E_USAGE, E_INVALID_OPTION]
  3    input problem: missing, unreadable, unsupported, corrupt, too small or too large, no face, already watermarked  [E_INPUT_*, E_NO_FACE, E_ALREADY_MARKED]
  4    output problem: exists (use --force), unsupported extension, not writable  [E_OUTPUT_*]
  5    model or runtime failure  [E_MODEL_NOT_FOUND, E_MODEL_CONVERSION, E_RUNTIME]
  130  interrupted by Ctrl-C (SIGINT)  [E_ABORTED]
  143  terminated by SIGTERM  [E_ABORTED]
Errors print one line on stderr: "clearsight: <message> [<code>]".`;
