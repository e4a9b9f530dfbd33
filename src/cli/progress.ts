/**
 * Progress display on stderr.
 *
 * - `bar`: a terminal (stderr is a TTY and no --json): one cli-progress line, redrawn in place,
 *   showing the stage, tiles done/total, elapsed time and ETA; erased when the run ends.
 * - `lines`: stderr is a file or pipe: one line the first time each stage starts (logs stay short).
 * - `quiet`: --json: nothing, so scripts see only the JSON on stdout and errors on stderr.
 *
 * Stages: the CLI's own ('decode', 'write') and the library's ProgressEvents ('prepare model',
 * loading the network, with 'convert model' inside it the first time, and 'tiles', the inference
 * itself: its total is reported before the first tile, so the bar shows 0/n and then an ETA).
 */
import cliProgress from 'cli-progress';
import type { ProgressEvent } from './lib.js';

export type ProgressMode = 'bar' | 'lines' | 'quiet';

export interface Reporter {
  /** Feed to the library as `onProgress`. */
  readonly onProgress: (event: ProgressEvent) => void;
  /** A stage of the CLI's own (no sub-steps). */
  stage(stage: string): void;
  /** Erases the bar; call before printing anything else on stderr. Idempotent. */
  stop(): void;
}

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'quiet';
  return stream.isTTY ? 'bar' : 'lines';
}

/** `verb` names the inference stage: "deraining", "upscaling", ... */
export function createReporter(mode: ProgressMode, verb: string, stream: NodeJS.WriteStream = process.stderr): Reporter {
  const label = (stage: string) => STAGE_LABELS[stage] ?? (stage === 'tiles' ? verb : stage);
  if (mode === 'quiet') return { onProgress: () => undefined, stage: () => undefined, stop: () => undefined };
  if (mode === 'lines') return linesReporter(label, stream);
  return barReporter(label, stream);
}

const STAGE_LABELS: Record<string, string> = {
  decode: 'reading input',
  'prepare model': 'loading model',
  'convert model': 'converting the model to ONNX (first run only; cached after)',
  write: 'writing output',
};

function linesReporter(label: (stage: string) => string, stream: NodeJS.WriteStream): Reporter {
  const seen = new Set<string>();
  const line = (stage: string, extra = '') => {
    if (seen.has(stage)) return;
    seen.add(stage);
    stream.write(`clearsight: ${label(stage)}${extra}\n`);
  };
  return {
    onProgress: (e) => line(e.stage, e.stage === 'tiles' ? ` (${e.total} tile${e.total === 1 ? '' : 's'})` : ''),
    stage: (stage) => line(stage),
    stop: () => undefined,
  };
}

interface Payload {
  label: string;
  /** Unit of done/total; absent for stages shown as a timer only. */
  unit?: string;
}

function barReporter(label: (stage: string) => string, stream: NodeJS.WriteStream): Reporter {
  let bar: cliProgress.SingleBar | undefined;
  let current = '';
  let tiles = { done: 0, total: 0 };

  const start = (stage: string, total: number, value: number, unit?: string) => {
    bar?.stop();
    current = stage;
    bar = new cliProgress.SingleBar({
      stream,
      format,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      gracefulExit: false, // our SIGINT handler stops the bar, then aborts
      etaBuffer: 20,
      fps: 5,
    });
    const payload: Payload = { label: label(stage), ...(unit ? { unit } : {}) };
    bar.start(total, value, payload);
  };

  return {
    onProgress(e) {
      if (e.stage === 'tiles') {
        tiles = { done: e.done, total: e.total };
        if (current !== 'tiles') start('tiles', e.total, e.done, 'tiles');
        bar!.setTotal(e.total);
        bar!.update(e.done);
        return;
      }
      if (current !== e.stage) start(e.stage, e.total, e.done);
      else bar!.update(e.done);
      // A model prepared in the middle of the tiles (another tile shape) hands back to their bar;
      // at the start the library reports 'tiles' 0/n itself, right after the model is ready.
      if (e.stage === 'prepare model' && e.done >= e.total && tiles.total > 0) start('tiles', tiles.total, tiles.done, 'tiles');
    },
    stage(stage) {
      if (current !== stage) start(stage, 0, 0);
    },
    stop() {
      bar?.stop();
      bar = undefined;
      current = '';
    },
  };
}

/** `deraining |######------| 3/8 tiles | 0:41 elapsed, ETA 1:02` or `preparing model | 0:05`. */
const format: cliProgress.GenericFormatter = (options, params, payload: Payload) => {
  const elapsed = clock((Date.now() - params.startTime) / 1000);
  if (!payload.unit) return `${payload.label} | ${elapsed}`;
  const known = params.total > 0;
  const barText = cliProgress.Format.BarFormat(known ? params.progress : 0, options);
  const counts = known ? `${params.value}/${params.total}` : `${params.value}/?`;
  const eta = known && params.value > 0 && params.value < params.total && Number.isFinite(params.eta) ? `, ETA ${clock(params.eta)}` : '';
  return `${payload.label} |${barText}| ${counts} ${payload.unit} | ${elapsed} elapsed${eta}`;
};

/** m:ss or h:mm:ss. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
