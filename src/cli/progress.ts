/**
 * Progress display on stderr.
 *
 * - `bar`: a terminal (stderr is a TTY and no --json): one cli-progress line, redrawn in place,
 *   showing the whole job's fraction (its stages weighted: core/progress.ts trackJob), the stage
 *   running now in words with its count (3/8 tiles), elapsed time and the job's ETA; erased when
 *   the run ends or something else is printed, and drawn again, where it was, by the next event.
 * - `lines`: stderr is a file or pipe: one line the first time each stage starts (logs stay short).
 * - `quiet`: --json: nothing, so scripts see only the JSON on stdout and errors on stderr.
 *
 * Stages: the CLI's own ('decode', 'encode') and the library's ProgressEvents ('prepare model',
 * loading the network, with 'convert model' inside it the first time, and 'tiles', the inference
 * itself: its total is reported before the first tile, so the bar shows 0/n and then an ETA).
 * restore auto's steps arrive as '<task>:<stage>' with 'plan' i/n between them (AUTO_STAGES).
 */
import cliProgress from 'cli-progress';
import { RESTORE_STAGES, trackJob, type JobProgressEvent, type StagePlan } from '../core/progress.js';
import type { ProgressEvent } from './lib.js';

export type ProgressMode = 'bar' | 'lines' | 'quiet';

export interface Reporter {
  /** Feed to the library as `onProgress`. */
  readonly onProgress: (event: ProgressEvent) => void;
  /** A stage of the CLI's own ('decode', 'encode'; no sub-steps). */
  stage(stage: string): void;
  /** Names what the work stage does from now on ("step 2/3 dehazing"). */
  setVerb(verb: string): void;
  /** Erases the bar; call before printing anything else on stderr (the next event draws it again). Idempotent. */
  stop(): void;
}

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'quiet';
  return stream.isTTY ? 'bar' : 'lines';
}

/** `verb` names the work stage: "deraining", "upscaling", ...; `plan` the job's stages and weights. */
export function createReporter(mode: ProgressMode, verb: string, stream: NodeJS.WriteStream = process.stderr, plan: StagePlan = RESTORE_STAGES): Reporter {
  let doing = verb;
  const label = (stage: string) => {
    const own = ownStage(stage);
    return STAGE_LABELS[own] ?? (own === 'tiles' || own === 'frames' ? doing : own);
  };
  const setVerb = (v: string) => {
    doing = v;
  };
  if (mode === 'quiet') return { onProgress: () => undefined, stage: () => undefined, setVerb, stop: () => undefined };
  if (mode === 'lines') return linesReporter(label, setVerb, stream);
  return barReporter(label, setVerb, stream, plan);
}

/** An auto step's event "derain:tiles" is the step's own stage "tiles"; "forensics: faces" is a stage name as it is. */
const ownStage = (stage: string) => stage.replace(/^[a-z-]+:(?! )/, '');

/** The library's stages in words (the web app's STAGE_WORDS say the same). */
const STAGE_LABELS: Record<string, string> = {
  decode: 'reading input',
  analyze: 'analysing the picture',
  'prepare model': 'loading model',
  'convert model': 'converting the model to ONNX (first run only; cached after)',
  encode: 'writing output',
  'veil removal': 'removing the rain veil',
  'dehaze prior': 'dehazing (dark channel prior)',
  'lowlight gamma': 'brightening (gamma)',
  'lowlight iagc': 'brightening (learned gamma)',
  'track face': 'tracking the face',
  'forensics: faces': 'finding faces',
  'forensics: frames': 'scoring frames',
  'study: scoring': 'scoring the collection',
  embed: 'embedding the watermark',
  extract: 'reading the watermark',
  identity: 'checking the identity',
  check: 'checking',
};

function linesReporter(label: (stage: string) => string, setVerb: (v: string) => void, stream: NodeJS.WriteStream): Reporter {
  const seen = new Set<string>();
  const line = (stage: string, extra = '') => {
    if (seen.has(stage)) return;
    seen.add(stage);
    stream.write(`clearsight: ${label(stage)}${extra}\n`);
  };
  return {
    // 'plan' i/n only separates auto's steps (the command prints a line per step itself).
    onProgress: (e) => (e.stage === 'plan' ? undefined : line(e.stage, e.stage.endsWith('tiles') ? ` (${e.total} tile${e.total === 1 ? '' : 's'})` : '')),
    stage: (stage) => line(stage),
    setVerb,
    stop: () => undefined,
  };
}

interface Payload {
  label: string;
  /** "3/8 tiles"; empty for one-shot stages. */
  counts: string;
  /** The job's ETA in seconds, when known. */
  eta?: number;
}

function barReporter(label: (stage: string) => string, setVerb: (v: string) => void, stream: NodeJS.WriteStream, plan: StagePlan): Reporter {
  const job = trackJob(plan);
  let bar: cliProgress.SingleBar | undefined;
  let shown = '';
  const startedAt = Date.now();

  const show = (e: JobProgressEvent) => {
    if (e.stage === 'plan') return; // between auto's steps: the next step's first event follows at once
    const own = ownStage(e.stage);
    const unit = own === 'tiles' || own === 'frames' ? ` ${own}` : '';
    const payload: Payload = {
      label: label(e.stage),
      counts: e.total > 1 || unit ? `${e.done}/${e.total > 0 ? e.total : '?'}${unit}` : '',
      ...(e.totalEtaSeconds !== undefined ? { eta: e.totalEtaSeconds } : {}),
    };
    const value = Math.round(e.fraction * 1000);
    if (!bar) {
      bar = new cliProgress.SingleBar({
        stream,
        format,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        gracefulExit: false, // our SIGINT handler stops the bar, then aborts
        fps: 5,
      });
      bar.start(1000, value, { ...payload, startedAt });
    } else {
      bar.update(value, { ...payload, startedAt });
      bar.render(); // each event drawn (they come per tile, per stage), not at the timer's next tick
    }
    shown = e.stage;
  };

  return {
    onProgress: (e) => show(job.place(e)),
    stage(stage) {
      if (shown !== stage) show(job.place({ stage, done: 0, total: 1 }));
    },
    setVerb,
    stop() {
      bar?.stop();
      bar = undefined;
      shown = '';
    },
  };
}

/** `deraining |######------| 42% | 3/8 tiles | 0:41 elapsed, ETA 1:02` or `loading model |#-----| 5% | 0:05 elapsed`. */
const format: cliProgress.GenericFormatter = (options, params, payload: Payload & { startedAt: number }) => {
  const elapsed = clock((Date.now() - payload.startedAt) / 1000);
  const barText = cliProgress.Format.BarFormat(params.progress, options);
  const percent = `${Math.floor(params.progress * 100)}%`;
  const eta = payload.eta !== undefined ? `, ETA ${clock(payload.eta)}` : '';
  return [`${payload.label} |${barText}| ${percent}`, payload.counts, `${elapsed} elapsed${eta}`].filter(Boolean).join(' | ');
};

/** m:ss or h:mm:ss. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
