/**
 * The passes of mergeHdr that can run on another thread (issue 23: OpenCV merges on every core).
 * Each is a pure function of its job, so a job gives the same result on a worker (threads.ts) as
 * on the main thread: the parallel merge is bit-identical to the single-threaded one.
 *
 * Large planes travel in SharedArrayBuffers (codes, consistency, the radiance being written);
 * everything else is small and copied.
 */
import { greyCodes, mtbPyramid, mtbShiftPyramids, type Shift } from './align.js';
import { exposureGhost, mergeRadianceRows, type MergeInput } from './merge.js';
import { channelSamples, solveChannel, type ResponseOptions } from './response.js';

/** Translations of `frames` to `ref` (each lane builds the reference's bitmaps itself: cheaper than shipping them). */
export interface ShiftsJob {
  ref: Uint8Array;
  frames: Uint8Array[];
  width: number;
  height: number;
  maxShift: number;
}

function shifts(job: ShiftsJob): Shift[] {
  const { width, height, maxShift } = job;
  const ref = mtbPyramid(greyCodes(job.ref, width, height), width, height, maxShift);
  return job.frames.map((f) => mtbShiftPyramids(ref, mtbPyramid(greyCodes(f, width, height), width, height, maxShift)));
}

/** One channel's response curve: on the given samples, else on samples drawn here (returned with it). */
export interface ChannelJob {
  codes: Uint8Array[];
  width: number;
  height: number;
  times: number[];
  c: number;
  picks?: Int32Array;
  opts: ResponseOptions;
}

function channel(job: ChannelJob): { picks: Int32Array; log: Float32Array } {
  const { codes, width, height, times, c, opts } = job;
  const picks = job.picks ?? channelSamples(codes, width, height, times, c, opts);
  return { picks, log: solveChannel(codes, times, picks, c, opts) };
}

/** Rows y0 <= y < y1 of the radiance, written into `out` (shared). */
export interface MergeRowsJob {
  input: MergeInput;
  out: Float32Array;
  y0: number;
  y1: number;
}

function mergeRows(job: MergeRowsJob): null {
  mergeRadianceRows(job.input, job.out, job.y0, job.y1);
  return null;
}

export const HDR_TASKS = { shifts, channel, ghost: exposureGhost, mergeRows } as const;

export type HdrTasks = typeof HDR_TASKS;
export type HdrTaskKind = keyof HdrTasks;
export type HdrJob<K extends HdrTaskKind> = Parameters<HdrTasks[K]>[0];
export type HdrResult<K extends HdrTaskKind> = ReturnType<HdrTasks[K]>;
