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
  /** The watermark does not read back from the marked picture even at the strongest allowed (use allowWeak). */
  WATERMARK_WEAK: 'E_WATERMARK_WEAK',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * Codes the service layers report about a job or a request, never about a picture: the CLI's
 * argument parser, the HTTP API and its job queue and worker pool. The library never throws them;
 * they are declared here so every code a client can see has one home and one documented meaning
 * (docs/core.md lists them all). Same rule: never rename one, only add.
 */
export const SERVICE_ERROR_CODES = {
  /** CLI: unknown command or option, missing argument (commander). */
  USAGE: 'E_USAGE',
  /** A job ran past the server's time limit and was stopped (permanent: a retry would time out too). */
  TIMEOUT: 'E_TIMEOUT',
  /** The worker process running a job died mid-job (retryable; the worker is replaced). */
  WORKER_DIED: 'E_WORKER_DIED',
  /** The job was deleted or cancelled before it finished. */
  CANCELLED: 'E_CANCELLED',
  /** HTTP: no such route, job or file. */
  NOT_FOUND: 'E_NOT_FOUND',
  /** HTTP: the task name is not one the server knows or serves. */
  UNKNOWN_TASK: 'E_UNKNOWN_TASK',
  /** HTTP: a body the multipart parser cannot read. */
  MALFORMED_REQUEST: 'E_MALFORMED_REQUEST',
  /** HTTP: another 4xx from the framework without a code of its own. */
  BAD_REQUEST: 'E_BAD_REQUEST',
  /** HTTP: the server needs an API token and none (or a wrong one) was sent. */
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  /** HTTP: the Host header names a host this server does not answer to. */
  FORBIDDEN_HOST: 'E_FORBIDDEN_HOST',
  /** HTTP: a state-changing request from another site. */
  CROSS_ORIGIN: 'E_CROSS_ORIGIN',
  /** HTTP: too many jobs queued or running (server-wide or for this client); retry after a while. */
  QUEUE_FULL: 'E_QUEUE_FULL',
  /** HTTP: too many event streams open on one job. */
  TOO_MANY_STREAMS: 'E_TOO_MANY_STREAMS',
  /** HTTP: the job's files were asked for before it was done. */
  NOT_READY: 'E_NOT_READY',
  /** HTTP: the job's file was removed from the store by retention. */
  EXPIRED: 'E_EXPIRED',
  /** HTTP: the job cannot be removed while a worker runs it. */
  JOB_RUNNING: 'E_JOB_RUNNING',
} as const;

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[keyof typeof SERVICE_ERROR_CODES];

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
  return new ClearsightError(ERROR_CODES.INVALID_OPTION, `Invalid option "${name}": expected ${expected}, got ${describeValue(given)}`, {
    option: name,
    expected,
    given,
  });
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
