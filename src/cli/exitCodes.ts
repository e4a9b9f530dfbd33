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
  E_WATERMARK_WEAK: EXIT.INPUT,
  E_OUTPUT_EXISTS: EXIT.OUTPUT,
  E_OUTPUT_UNSUPPORTED: EXIT.OUTPUT,
  E_OUTPUT_UNWRITABLE: EXIT.OUTPUT,
  E_MODEL_NOT_FOUND: EXIT.RUNTIME,
  E_MODEL_CONVERSION: EXIT.RUNTIME,
  E_RUNTIME: EXIT.RUNTIME,
  E_ABORTED: EXIT.INTERRUPTED,
};

/**
 * Verdict codes: `watermark verify`, `liveness` and `forensics analyze` exit 0 only for the
 * positive verdict (authentic / live / no manipulation found) and with one of these for the
 * others, so scripts can branch without parsing the JSON (which is unchanged). Stable: never
 * renumber, only add. Errors keep their codes (1-5, 130, 143): a verdict code means the analysis
 * ran to its end.
 */
export const VERDICT_EXIT = {
  /** watermark verify: no watermark under this key. */
  WATERMARK_NONE: 10,
  /** watermark verify: our watermark, but the picture or its face was changed after marking. */
  WATERMARK_MANIPULATED: 11,
  /** watermark verify: a watermark, too damaged to be sure of its content. */
  WATERMARK_DAMAGED: 12,
  /** liveness: spoof (print, replay, mask ...). */
  LIVENESS_SPOOF: 20,
  /** liveness: uncertain (score between the thresholds, or the face tracked too briefly). */
  LIVENESS_UNCERTAIN: 21,
  /** liveness --enrolled: live, but not the enrolled person. */
  LIVENESS_NOT_ENROLLED: 22,
  /** forensics analyze: likely manipulated (the whole interval at or above 50%). */
  FORENSICS_MANIPULATED: 30,
  /** forensics analyze: uncertain (the interval straddles 50%: mixed evidence). */
  FORENSICS_UNCERTAIN: 31,
  /** forensics analyze: no conclusion (no usable face, or a video too short). */
  FORENSICS_NO_CONCLUSION: 32,
  /** compare: the two faces are different people. */
  FACES_DIFFERENT: 40,
} as const;

/** Exit code of a watermark verdict. */
export function exitForWatermark(verdict: 'authentic' | 'manipulated' | 'damaged' | 'none'): number {
  return { authentic: EXIT.OK, none: VERDICT_EXIT.WATERMARK_NONE, manipulated: VERDICT_EXIT.WATERMARK_MANIPULATED, damaged: VERDICT_EXIT.WATERMARK_DAMAGED }[
    verdict
  ];
}

/** Exit code of a liveness verdict (with --enrolled: `accepted` says whether the identity matched too). */
export function exitForLiveness(verdict: 'live' | 'spoof' | 'uncertain', accepted?: boolean): number {
  if (verdict === 'spoof') return VERDICT_EXIT.LIVENESS_SPOOF;
  if (verdict === 'uncertain') return VERDICT_EXIT.LIVENESS_UNCERTAIN;
  return accepted === false ? VERDICT_EXIT.LIVENESS_NOT_ENROLLED : EXIT.OK;
}

/**
 * Exit code of a forensic analysis, by the same rule as its summary sentence: the interval over
 * the analysed frames (a single image: the probability itself) wholly below 50% is "no
 * manipulation found", wholly at or above it "likely manipulated", else uncertain.
 */
export function exitForForensics(result: { outcome: string; probability: number | null; interval: [number, number] | null }): number {
  if (result.outcome !== 'analysed' || result.probability === null) return VERDICT_EXIT.FORENSICS_NO_CONCLUSION;
  const [lo, hi] = result.interval ?? [result.probability, result.probability];
  if (hi < 0.5) return EXIT.OK;
  if (lo >= 0.5) return VERDICT_EXIT.FORENSICS_MANIPULATED;
  return VERDICT_EXIT.FORENSICS_UNCERTAIN;
}

/** Code printed for command-line errors found by the argument parser (not a library code). */
export const USAGE_CODE = 'E_USAGE';

/** The table for `clearsight --help`. */
export const EXIT_CODE_HELP = `Exit codes:
  0    success
  1    unexpected error (a bug; CLEARSIGHT_DEBUG=1 prints the stack)
  2    bad usage: unknown command or option, missing argument, invalid value  [E_USAGE, E_INVALID_OPTION]
  3    input problem: missing, unreadable, unsupported, corrupt, too small or too large, no face, already watermarked, watermark too weak to read back  [E_INPUT_*, E_NO_FACE, E_ALREADY_MARKED, E_WATERMARK_WEAK]
  4    output problem: exists (use --force), unsupported extension, not writable  [E_OUTPUT_*]
  5    model or runtime failure  [E_MODEL_NOT_FOUND, E_MODEL_CONVERSION, E_RUNTIME]
  130  interrupted by Ctrl-C (SIGINT)  [E_ABORTED]
  143  terminated by SIGTERM  [E_ABORTED]
Errors print one line on stderr: "clearsight: <message> [<code>]".
Verdicts (the analysis ran; 0 is the positive verdict: authentic / live / no manipulation found):
  10   watermark verify: none (no watermark under this key)
  11   watermark verify: manipulated
  12   watermark verify: damaged
  20   liveness: spoof
  21   liveness: uncertain
  22   liveness --enrolled: live but not the enrolled person
  30   forensics analyze: likely manipulated
  31   forensics analyze: uncertain (mixed evidence)
  32   forensics analyze: no conclusion (no usable face, video too short)
  40   compare: different people (0: the same person)`;
