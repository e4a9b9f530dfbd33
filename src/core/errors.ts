/**
 * Every failure the library reports is a ClearsightError with a stable `code`.
 * Codes are part of the public API: the CLI maps them to exit codes and the
 * HTTP API to status codes, so never rename one, only add.
 */
export const ERROR_CODES = {
  INPUT_NOT_FOUND: 'E_INPUT_NOT_FOUND',
  INPUT_UNREADABLE: 'E_INPUT_UNREADABLE',
  INPUT_UNSUPPORTED: 'E_INPUT_UNSUPPORTED',
  INPUT_CORRUPT: 'E_INPUT_CORRUPT',
  INPUT_TOO_SMALL: 'E_INPUT_TOO_SMALL',
  INPUT_TOO_LARGE: 'E_INPUT_TOO_LARGE',
  OUTPUT_EXISTS: 'E_OUTPUT_EXISTS',
  OUTPUT_UNSUPPORTED: 'E_OUTPUT_UNSUPPORTED',
  OUTPUT_UNWRITABLE: 'E_OUTPUT_UNWRITABLE',
  INVALID_OPTION: 'E_INVALID_OPTION',
  MODEL_NOT_FOUND: 'E_MODEL_NOT_FOUND',
  MODEL_CONVERSION: 'E_MODEL_CONVERSION',
  RUNTIME: 'E_RUNTIME',
  ABORTED: 'E_ABORTED',
  /** A face was required (embedding, liveness) but none was found. */
  NO_FACE: 'E_NO_FACE',
  /** The picture already carries a watermark this key reads; marking again would erase it (use force). */
  ALREADY_MARKED: 'E_ALREADY_MARKED',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class ClearsightError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClearsightError';
    this.code = code;
    this.details = details;
  }
}

export function isClearsightError(err: unknown): err is ClearsightError {
  return err instanceof ClearsightError;
}

/**
 * Error for a bad option, phrased the same way everywhere:
 * which parameter, what was expected, what was given.
 */
export function invalidOption(name: string, expected: string, given: unknown): ClearsightError {
  return new ClearsightError(
    ERROR_CODES.INVALID_OPTION,
    `Invalid option "${name}": expected ${expected}, got ${describeValue(given)}`,
    { option: name, expected, given },
  );
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing'; // "got undefined" reads like a bug; the message names the option that was missing
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
