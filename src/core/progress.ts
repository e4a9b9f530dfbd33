import { performance } from 'node:perf_hooks';
import { ClearsightError, ERROR_CODES } from './errors.js';

/**
 * One progress report of a long task: `done` of `total` units of `stage` (total 0: unknown).
 *
 * The stages a learned task goes through, in order: 'prepare model' (0 of 1 ... 1 of 1: reading
 * the network and creating its session; the first time, 'convert model' 0/1 ... 1/1 inside it:
 * the tfjs -> ONNX conversion, seconds, cached after), then 'tiles' (0 of n before the first
 * tile, so a one-tile job shows 0/1, then after each tile; with TTA n counts every pass); video
 * super-resolution: 'prepare model', then 'frames' (0 of n first). A stage's share of the whole
 * is not known in advance (a conversion happens once; a tile's time depends on the machine), so
 * front ends show the current stage's fraction and, where its total is known, an ETA
 * (`estimateEta`, or `withEta` to have it on each event).
 */
export interface ProgressEvent {
  stage: string;
  done: number;
  total: number;
  /** Seconds left in this stage at the rate so far; only on events passed through withEta. */
  etaSeconds?: number;
}

/** The two controls every long-running library call accepts. */
export interface TaskControl {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

/** Throws E_ABORTED if the caller aborted; call between tiles, frames, stages. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new ClearsightError(ERROR_CODES.ABORTED, 'Operation aborted', { reason: String(signal.reason ?? '') });
  }
}

export function report(control: TaskControl | undefined, stage: string, done: number, total: number): void {
  control?.onProgress?.({ stage, done, total });
}

/**
 * Seconds left in a stage at the rate seen so far (`done` units in `elapsedSeconds`), or undefined
 * while that says nothing: the total unknown (0), nothing done yet, or already finished.
 */
export function estimateEta(elapsedSeconds: number, done: number, total: number): number | undefined {
  if (!(total > 0) || !(done > 0) || done >= total || !(elapsedSeconds > 0)) return undefined;
  return (elapsedSeconds / done) * (total - done);
}

/**
 * Wraps an onProgress so that each event of a stage with a known total carries `etaSeconds`,
 * timed from the stage's first event (the library reports 0 of n before the first unit, so the
 * first unit's time counts). For front ends that relay events (the HTTP API, batch).
 */
export function withEta(onProgress: (event: ProgressEvent) => void, now: () => number = () => performance.now()): (event: ProgressEvent) => void {
  let stage = '';
  let started = 0;
  return (event) => {
    if (event.stage !== stage) {
      stage = event.stage;
      started = now();
    }
    const eta = estimateEta((now() - started) / 1000, event.done, event.total);
    onProgress(eta === undefined ? event : { ...event, etaSeconds: Math.round(eta) });
  };
}

// ---------------------------------------------------------------------------------------------
// The whole job: stages with their weights

/**
 * One stage of a job's plan and its share of the whole (weights are relative; they need not sum
 * to 1). `stage` '*' stands for the task's own work stage, whatever its name ('tiles', 'frames',
 * 'dehaze prior', 'track face' ...): any stage the plan does not name. A stage with `steps` is a
 * sequence of n steps reported as `stage` i/n before step i, whose own events arrive as
 * `<step>:<event stage>` (restore auto: 'plan' 1/3, then 'derain:tiles' ...); each step goes
 * through `steps`.
 */
export interface StageWeight {
  stage: string;
  weight: number;
  steps?: StagePlan;
}

export type StagePlan = readonly StageWeight[];

/** A ProgressEvent placed in its job: the whole job's fraction, and its ETA where it can be known. */
export interface JobProgressEvent extends ProgressEvent {
  /** Whole job, 0..1: never goes back; 1 only from `finish()`. */
  fraction: number;
  /** Seconds left in the whole job at this stage's rate, spread over the weights still ahead. */
  totalEtaSeconds?: number;
}

/** The stage a nested event belongs to, and the share of that stage it completes (a first-run conversion is most of a model's preparation). */
const NESTED_STAGES: Readonly<Record<string, { in: string; share: number }>> = {
  'convert model': { in: 'prepare model', share: 0.9 },
};

/**
 * Stage weights of a picture restoration: shares of the wall time measured here (2-core machine,
 * threads 1, examples/rain.png 320x240, second run in the process: session created again, graph
 * cached), decode / prepare model / tiles / encode: derain (MAXIM) 0.1 / 10.6 / 88.9 / 0.4 %,
 * lowlight 1.4 / 9.2 / 89.1 / 0.3 %, denoise 0.2 / 10.2 / 88.9 / 0.8 %, upscale 0.5 / 0.2 / 90.0 /
 * 9.3 % (four times the pixels out). Command: `node --import tsx bench/progressStages.ts derain`
 * (lowlight, denoise, upscale, auto likewise). A
 * first-run conversion lengthens 'prepare model' (the bar waits there with the stage named); a
 * method without a network skips it and its weight goes to the stages after it (no jump).
 */
export const RESTORE_STAGES: StagePlan = [
  { stage: 'decode', weight: 0.01 },
  { stage: 'prepare model', weight: 0.1 },
  { stage: '*', weight: 0.86 },
  { stage: 'encode', weight: 0.03 },
];

/**
 * restore auto: the analysis, then each planned expert as one step (its model, its tiles), each
 * step the same share. Measured as above (auto on examples/rain.png: one derain step): decode 0.2,
 * analyze 3.2, the step 96.4 (its model 6.6, its tiles 93.4), encode 0.2 %.
 */
export const AUTO_STAGES: StagePlan = [
  { stage: 'decode', weight: 0.01 },
  { stage: 'analyze', weight: 0.04 },
  {
    stage: 'plan',
    weight: 0.92,
    steps: [
      { stage: 'prepare model', weight: 0.1 },
      { stage: '*', weight: 0.9 },
    ],
  },
  { stage: 'encode', weight: 0.03 },
];

interface StageCursor {
  /** Index in the plan of the current stage (-1: none yet). */
  index: number;
  /** Whole fraction when the current stage started, and the span it covers. */
  base: number;
  span: number;
  /** When the current stage started (ms), for the ETAs. */
  startedAt: number;
}

/**
 * Follows a job through its `plan`: each event gets the whole job's `fraction` (monotone; a stage
 * the job skips gives its weight to the stages still ahead instead of making the bar jump; an
 * event of an earlier stage, a second model prepared among the tiles, holds the bar where it is),
 * the stage's own `etaSeconds` and, inside a stage with a known total, `totalEtaSeconds`. The
 * fraction stays below 1 until `finish()`.
 */
export function trackJob(
  plan: StagePlan,
  now: () => number = () => performance.now(),
): { place(event: ProgressEvent): JobProgressEvent; finish(): JobProgressEvent } {
  const total = (from: number) => plan.slice(from).reduce((s, w) => s + w.weight, 0);
  const cursor: StageCursor = { index: -1, base: 0, span: 0, startedAt: now() };
  let fraction = 0;
  let stageOfEta = '';
  let etaStart = now();
  let steps: { i: number; n: number; inner: ReturnType<typeof trackJob> } | undefined;

  const indexOf = (stage: string): number => {
    const named = plan.findIndex((w) => w.stage === stage);
    return named >= 0 ? named : plan.findIndex((w) => w.stage === '*');
  };
  /** Moves the cursor to stage `index` (never back), spreading the weight still ahead over what remains. */
  const enter = (index: number) => {
    if (index <= cursor.index) return;
    cursor.base = Math.max(fraction, cursor.index >= 0 ? cursor.base + cursor.span : 0);
    cursor.span = ((1 - cursor.base) * plan[index]!.weight) / total(index);
    cursor.index = index;
    cursor.startedAt = now();
  };
  /** The fraction of the current stage an event stands for. */
  const within = (event: ProgressEvent, entry: StageWeight): number => {
    if (entry.steps && steps) return Math.min(1, (steps.i + steps.inner.place(event).fraction) / steps.n);
    return event.total > 0 ? Math.min(1, event.done / event.total) : 0;
  };

  const place = (event: ProgressEvent): JobProgressEvent => {
    const t = now();
    if (event.stage !== stageOfEta) {
      stageOfEta = event.stage;
      etaStart = t;
    }
    const colon = event.stage.indexOf(':');
    const stepsAt = plan.findIndex((w) => w.steps);
    let share: number | undefined;
    if (stepsAt >= 0 && event.stage === plan[stepsAt]!.stage) {
      enter(stepsAt);
      if (cursor.index === stepsAt && event.total > 0 && event.done < event.total)
        steps = { i: event.done, n: event.total, inner: trackJob(plan[stepsAt]!.steps!, now) };
      share = event.total > 0 ? Math.min(1, event.done / event.total) : 0;
    } else if (stepsAt >= 0 && colon > 0 && cursor.index === stepsAt && steps) {
      share = within({ ...event, stage: event.stage.slice(colon + 1) }, plan[stepsAt]!);
    } else {
      const nested = NESTED_STAGES[event.stage];
      const index = indexOf(nested ? nested.in : event.stage);
      if (index >= 0) {
        enter(index);
        if (index === cursor.index) share = nested ? (event.total > 0 ? (nested.share * event.done) / event.total : 0) : within(event, plan[index]!);
      }
    }
    if (share !== undefined) fraction = Math.max(fraction, Math.min(cursor.base + cursor.span * share, MAX_BEFORE_FINISH));
    const out: JobProgressEvent = { ...event, fraction };
    const stageEta = estimateEta((t - etaStart) / 1000, event.done, event.total);
    if (stageEta !== undefined) {
      out.etaSeconds = Math.round(stageEta);
      const gained = fraction - cursor.base;
      if (gained > 0) out.totalEtaSeconds = Math.round((((t - cursor.startedAt) / 1000) * (1 - fraction)) / gained);
    }
    return out;
  };
  return {
    place,
    finish: () => {
      fraction = 1;
      return { stage: 'done', done: 1, total: 1, fraction: 1 };
    },
  };
}

/** Below 1 until the job says it is finished: the last unit of the last stage is not the end (the answer is still being written). */
const MAX_BEFORE_FINISH = 0.999;

/**
 * An onProgress that places each event in the job (`trackJob`) and passes it on: the one place
 * the CLI, the server's job progress and batch turn stage events into a whole-job fraction.
 */
export function withJobProgress(plan: StagePlan, onProgress: (event: JobProgressEvent) => void, now?: () => number): (event: ProgressEvent) => void {
  const job = trackJob(plan, now);
  return (event) => onProgress(job.place(event));
}
