/** Shapes shared by the queue, the worker processes and the HTTP layer. */
import type { OutputRole } from '../registry.js';

/** One input of a job: a blob in the store and what the upload check found it to be. */
export interface JobInput {
  sha256: string;
  kind: 'image' | 'video';
  /** Pixels of the picture (or of one video frame), from the upload check: the job's memory estimate. */
  pixels?: number;
  /** The client's file name, for display only: never used to build a path. */
  clientName?: string;
  /** An extra input's form field (the task table's extraInputs: liveness `enrolled`); absent for the main input(s). */
  field?: string;
}

/** What a job asks for. Plain JSON: it travels through Redis and IPC. */
export interface JobSpec {
  task: string;
  inputs: JobInput[];
  /** Options already validated by the task's schema (parsed again by the worker). */
  fields: Record<string, string>;
  /** Fields sealed for the trip through Redis (jobs/secrets.ts). */
  sealed?: string[];
  /** Set by a cancel under Redis: the worker that takes (or runs) the job fails it with E_CANCELLED. */
  cancelled?: boolean;
  /** Who submitted it (a token's digest or the client address): GET /api/v1/jobs lists a caller's own, from the queue. */
  owner?: string;
  /** When it was submitted (ISO 8601). */
  submittedAt?: string;
}

/** A job as the caller's list shows it. */
export interface OwnedJob {
  status: JobStatus;
  createdAt: string;
  /** The client's file names, for display. */
  inputs: string[];
}

/** One output file of a finished job, as stored. */
export interface JobFile {
  name: string;
  type: string;
  role: OutputRole;
  label?: string;
  sha256: string;
  bytes: number;
}

export interface JobResult {
  files: JobFile[];
  result: Record<string, unknown>;
  seconds: number;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobProgress {
  stage: string;
  done: number;
  total: number;
  /** The whole job, 0..1, stages weighted (core/progress.ts trackJob): never goes back; 1 when done. */
  fraction?: number;
  /** Seconds left in this stage at the rate so far, when its total is known and a unit is done. */
  etaSeconds?: number;
  /** Seconds left in the whole job (this stage's rate over the weights still ahead), with etaSeconds. */
  totalEtaSeconds?: number;
}

export interface JobError {
  code: string;
  message: string;
}

export interface JobStatus {
  id: string;
  task: string;
  state: JobState;
  progress: JobProgress | null;
  result: JobResult | null;
  error: JobError | null;
  attempts: number;
}

/** Error codes that mean "this input or these options will fail every time": never retried. */
export const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'E_INPUT_NOT_FOUND',
  'E_INPUT_UNREADABLE',
  'E_INPUT_UNSUPPORTED',
  'E_INPUT_CORRUPT',
  'E_INPUT_TOO_SMALL',
  'E_INPUT_TOO_LARGE',
  'E_INVALID_OPTION',
  'E_NO_FACE',
  'E_TIMEOUT',
  'E_CANCELLED',
  'E_ALREADY_MARKED',
  'E_WATERMARK_WEAK',
]);

/** A job failure that crossed a process boundary. */
export class JobFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'JobFailure';
    this.code = code;
  }
  get permanent(): boolean {
    return PERMANENT_CODES.has(this.code);
  }
}

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job ids are random UUIDs; anything else in a URL is refused before it reaches a queue or a path. */
export function isJobId(s: string): boolean {
  return JOB_ID.test(s);
}
