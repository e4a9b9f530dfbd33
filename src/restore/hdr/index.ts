/**
 * Ghost-free HDR from exposure brackets (issue 4): `mergeHdr(frames, opts)`.
 *
 *   frames (sRGB RawImages, 2..9, same size) + exposure times
 *   -> 8-bit codes -> MTB translation alignment to the reference exposure (align.ts)
 *   -> camera response, Debevec-Malik least squares (response.ts)
 *   -> ghost masks: disagreement with the reference after exposure normalisation (merge.ts)
 *   -> radiance merge with hat weights x consistency (merge.ts)
 *   -> optional LDR: exposure fusion (Mertens, deghosted with the same weights; fusion.ts) or
 *      tone mapping of the radiance (Reinhard global or a local base/detail operator; tonemap.ts)
 *
 * Also exported: the Radiance .hdr codec (rgbe.ts), EXIF exposure-time reading and parsers of
 * time/EV lists (exposure.ts), and `readBracket(paths)` that decodes files and reads their times.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { decodeImage } from '../../core/image/io.js';
import { createImage, type RawImage } from '../../core/image/types.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { shiftCodes, type Shift } from './align.js';
import { checkExposureTimes, exifExposureTime, exposureTimesFromEv, formatTime } from './exposure.js';
import { fillBorder } from './border.js';
import { fuseExposures } from './fusion.js';
import { denoiseShadowChroma } from './chroma.js';
import { estimateClipLevels, finishGhosts, ghostJobs, planGhosts, type ClipLevels, type DeghostOptions, type MergeInput, type ValidRect } from './merge.js';
import { keptSamples, poolAlikeChannels, type ResponseCurve, type ResponseFit } from './response.js';
import { defaultThreads, HdrThreads, PARALLEL_MIN_PIXELS } from './threads.js';
import { toneMap, TONE_MAPPERS, type LocalToneMapOptions, type ReinhardOptions, type ToneMapper } from './tonemap.js';

export { decodeRgbe, encodeRgbe, type RgbeEncodeOptions } from './rgbe.js';
export { exifExposureTime, parseExposureTimes, parseExposureValues, exposureTimesFromEv, checkExposureTimes, formatTime } from './exposure.js';
export {
  recoverResponse,
  fitResponse,
  refitResponse,
  poolAlikeChannels,
  POOL_TOLERANCE,
  srgbResponse,
  stepSmoothness,
  choleskySolve,
  type ResponseCurve,
  type ResponseFit,
  type ResponseOptions,
} from './response.js';
export { mtbShift, mtbPyramid, mtbShiftPyramids, greyCodes, shiftCodes, type Shift, type MtbPyramid } from './align.js';
export { mergeRadiance, detectGhosts, estimateClipLevels, DEFAULT_CLIP, type ClipLevels, type DeghostOptions, type DeghostResult } from './merge.js';
export { fuseExposures, type FusionOptions } from './fusion.js';
export { fillBorder } from './border.js';
export { closeHdrThreads, defaultThreads, HDR_MAX_THREADS, PARALLEL_MIN_PIXELS } from './threads.js';
export { denoiseShadowChroma, type ShadowChromaOptions } from './chroma.js';
export {
  toneMap,
  toneMapReinhard,
  toneMapLocal,
  TONE_MAPPERS,
  type ToneMapper,
  type ToneMapOptions,
  type ReinhardOptions,
  type LocalToneMapOptions,
} from './tonemap.js';

export const HDR_MIN_FRAMES = 2;
export const HDR_MAX_FRAMES = 9;

export interface MergeHdrOptions extends TaskControl {
  /** Exposure times in seconds, one per frame (or give `ev`). */
  times?: readonly number[];
  /** Exposure values, one per frame (t = 2^ev); alternative to `times`. */
  ev?: readonly number[];
  /** MTB translation alignment to the reference (default true). */
  align?: boolean;
  /** Largest shift searched, pixels (default 64). */
  maxShift?: number;
  /** Deghosting (default true). */
  deghost?: boolean;
  deghostOptions?: DeghostOptions;
  /** Reference frame index (default: the middle exposure by time; the shorter of the two middle ones). */
  reference?: number;
  /** A known response: skips calibration. */
  response?: ResponseCurve;
  /** Smoothness lambda of the response recovery (default 10). */
  lambda?: number;
  /** LDR result by tone mapping the radiance with this operator. */
  tonemap?: ToneMapper;
  reinhard?: ReinhardOptions;
  local?: LocalToneMapOptions;
  /** LDR result by exposure fusion (Mertens) instead of tone mapping; deghosted too. */
  fusion?: boolean;
  /**
   * Chroma denoising of the radiance where even the longest exposure saw the scene dark (its
   * green code for the pixel's luminance below `SHADOW_CHROMA_CODES.none`, fully from `.full`):
   * luminance kept, chromaticity box-smoothed (chroma.ts). Default true.
   */
  shadowChroma?: boolean;
  /**
   * Threads for alignment, response fit, deghosting and merge, this one included (worker
   * threads, threads.ts; the result is the same for any count). Default: the available cores (at
   * most HDR_MAX_THREADS) for frames of at least PARALLEL_MIN_PIXELS, else 1. Workers that are
   * still starting are not waited for, except when `threads` is given.
   */
  threads?: number;
}

/** Codes of the longest exposure (green curve) between which shadow chroma is smoothed: fully at and below `full`, not at all from `none`. */
export const SHADOW_CHROMA_CODES = { full: 64, none: 128 } as const;

export interface MergeHdrResult {
  /** Linear radiance, RGB (relative units: the response fixes g(128) = 0). */
  radiance: RawImage;
  /** The LDR result (fusion or tone mapping), sRGB in [0, 1], when asked for. */
  ldr?: RawImage;
  /** Grey, 1 where an exposure was rejected as a ghost (max over the exposures, feathered); zeros without deghosting. */
  ghostMask: RawImage;
  response: ResponseCurve;
  /** Clipping codes found in the bracket (black and white levels, per channel). */
  clip: ClipLevels;
  /** Translation applied to each frame (the reference: 0, 0). */
  shifts: Shift[];
  reference: number;
  times: number[];
  /** Seconds per stage. */
  timings: Record<string, number>;
  /** Most threads a stage ran on (the main one included; workers still starting are not counted). */
  threads: number;
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** Validates frames and times; returns the times in seconds. */
export function checkBracket(frames: readonly RawImage[], opts: Pick<MergeHdrOptions, 'times' | 'ev'>): number[] {
  if (!Array.isArray(frames) || frames.length < HDR_MIN_FRAMES || frames.length > HDR_MAX_FRAMES) {
    const n = Array.isArray(frames) ? frames.length : 0;
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      `HDR merge needs ${HDR_MIN_FRAMES} to ${HDR_MAX_FRAMES} exposures of the same scene, got ${n} image(s)`,
      { option: 'frames', expected: `${HDR_MIN_FRAMES}..${HDR_MAX_FRAMES}`, given: n },
    );
  }
  const { width, height } = frames[0]!;
  frames.forEach((f, i) => {
    if (!f || !(f.data instanceof Float32Array) || (f.channels !== 1 && f.channels !== 3) || f.data.length !== f.width * f.height * f.channels) {
      throw invalidOption(`frames[${i}]`, 'a RawImage', f);
    }
    if (f.width !== width || f.height !== height) {
      throw new ClearsightError(
        ERROR_CODES.INPUT_UNSUPPORTED,
        `Exposure ${i + 1} is ${f.width}x${f.height} but exposure 1 is ${width}x${height}: all exposures of a bracket must have the same size`,
        { index: i, width: f.width, height: f.height, expectedWidth: width, expectedHeight: height },
      );
    }
  });
  if (opts.times !== undefined && opts.ev !== undefined) throw invalidOption('ev', 'either times or ev, not both', opts.ev);
  if (opts.ev !== undefined) {
    if (!Array.isArray(opts.ev) || opts.ev.some((e) => typeof e !== 'number' || !Number.isFinite(e)))
      throw invalidOption('ev', 'finite exposure values, one per image', opts.ev);
    checkExposureTimes(exposureTimesFromEv(opts.ev), frames.length, 'ev');
    return exposureTimesFromEv(opts.ev);
  }
  if (opts.times === undefined) {
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      'HDR merge needs the exposure times: none were given (and none found in EXIF); give times (--times 1/320,1/80,...) or exposure values (--ev -2,0,2)',
      { option: 'times' },
    );
  }
  return checkExposureTimes(opts.times, frames.length, 'times');
}

function toCodes(img: RawImage, shared: boolean): Uint8Array {
  const n = img.width * img.height;
  // Uint8ClampedArray clamps and rounds natively (the fast path); a Uint8Array view shares it.
  const clamped = shared ? new Uint8ClampedArray(new SharedArrayBuffer(n * 3)) : new Uint8ClampedArray(n * 3);
  const out = new Uint8Array(clamped.buffer);
  const d = img.data;
  if (img.channels === 3) {
    for (let i = 0; i < clamped.length; i++) clamped[i] = d[i]! * 255;
  } else {
    for (let i = 0; i < n; i++) {
      const v = d[i]! * 255 + 0.5;
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v <= 0 ? 0 : v >= 255 ? 255 : v;
    }
  }
  return out;
}

/** Merges an exposure bracket into radiance, with alignment, deghosting and an optional LDR result. */
export async function mergeHdr(frames: readonly RawImage[], opts: MergeHdrOptions = {}): Promise<MergeHdrResult> {
  const times = checkBracket(frames, opts);
  const P = frames.length;
  const { width, height } = frames[0]!;
  if (opts.tonemap !== undefined && !TONE_MAPPERS.includes(opts.tonemap)) throw invalidOption('tonemap', `one of ${TONE_MAPPERS.join(', ')}`, opts.tonemap);
  const maxShift = opts.maxShift ?? 64;
  if (!Number.isInteger(maxShift) || maxShift < 1 || maxShift > 4096) throw invalidOption('maxShift', 'an integer from 1 to 4096', opts.maxShift);
  const order = times
    .map((t, i) => ({ t, i }))
    .sort((a, b) => a.t - b.t)
    .map((e) => e.i);
  const reference = opts.reference ?? order[(P - 1) >> 1]!;
  if (!Number.isInteger(reference) || reference < 0 || reference >= P) throw invalidOption('reference', `a frame index from 0 to ${P - 1}`, opts.reference);
  const lambda = opts.lambda ?? 10;
  if (!(lambda > 0) || !Number.isFinite(lambda)) throw invalidOption('lambda', 'a positive number', opts.lambda);
  const threadCount = opts.threads ?? (width * height >= PARALLEL_MIN_PIXELS ? defaultThreads() : 1);
  if (!Number.isInteger(threadCount) || threadCount < 1 || threadCount > 64) throw invalidOption('threads', 'an integer from 1 to 64', opts.threads);
  const threads = new HdrThreads(threadCount);
  if (opts.threads !== undefined) await threads.started();
  // Planes the workers read or write live in shared memory (no copies).
  const shared = threadCount > 1;
  const share = <T extends Uint8Array | Float32Array>(a: T): T => (shared ? toShared(a) : a);
  const signal = opts.signal;
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    timings[name] = Math.round(t - t0) / 1000;
    t0 = t;
  };
  const step = async (stage: string, done: number, total: number) => {
    report(opts, stage, done, total);
    await yieldToEventLoop();
    throwIfAborted(signal);
  };

  await step('prepare', 0, 1);
  let codes = frames.map((f) => toCodes(f, shared));
  lap('prepare');

  // Alignment to the reference exposure.
  const shifts: Shift[] = codes.map(() => ({ dx: 0, dy: 0 }));
  const valid: (ValidRect | null)[] = codes.map(() => null);
  if (opts.align ?? true) {
    await step('align', 0, P);
    // The exposures other than the reference, dealt out to the threads (each builds the reference's bitmaps).
    const moving = dealOut(
      codes.map((_, j) => j).filter((j) => j !== reference),
      threads.lanes,
    );
    const found = await threads.run(
      'shifts',
      moving.map((js) => ({ ref: codes[reference]!, frames: js.map((j) => codes[j]!), width, height, maxShift })),
    );
    moving.forEach((js, k) => {
      for (const [i, j] of js.entries()) shifts[j] = found[k]![i]!;
    });
    for (let j = 0; j < P; j++) {
      const s = shifts[j]!;
      if (s.dx !== 0 || s.dy !== 0) {
        codes[j] = share(shiftCodes(codes[j]!, width, height, 3, s));
        valid[j] = { x0: Math.max(0, s.dx), y0: Math.max(0, s.dy), x1: Math.min(width, width + s.dx), y1: Math.min(height, height + s.dy) };
      }
    }
    await step('align', P, P);
    lap('align');
  }

  await step('response', 0, 1);
  const clip = estimateClipLevels(codes, times);
  // Edge fill (registration padding of scans, border.ts) is no scene point: never a curve sample.
  const fills = codes.map((c) => fillBorder(c, width, height, clip));
  const scene = sceneMask(fills, width * height);
  const curveOpts = { lambda, clipLow: clip.low, clipHigh: clip.high };
  // One job per channel (the channels' fits are independent).
  const fit: ResponseFit | null = opts.response
    ? null
    : fitFromChannels(
        await threads.run(
          'channel',
          [0, 1, 2].map((c) => ({ codes, width, height, times, c, opts: { ...curveOpts, ...(scene ? { sampleMask: share(scene) } : {}) } })),
        ),
      );
  let response = opts.response ?? poolAlikeChannels(fit!.response);
  lap('response');

  let consistency: (Float32Array | null)[] | undefined;
  let mask: Float32Array = new Float32Array(width * height);
  if (opts.deghost ?? true) {
    await step('deghost', 0, 1);
    const plan = planGhosts({ codes, width, height, times, response, reference, clip, fills }, opts.deghostOptions, valid);
    const g = finishGhosts(plan, await threads.run('ghost', ghostJobs(plan)), (n) =>
      shared ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n),
    );
    consistency = g.consistency;
    mask = g.mask;
    lap('deghost');
    if (fit && mask.some((v) => v > 0.5)) {
      // The first curve saw the moving objects too: fit it again on its samples less those on
      // flagged pixels, so a ghost changes the radiance of nothing else (the masks stay those
      // found with the first curve). The samples are not drawn again (issue 23).
      const still = new Float32Array(mask.length);
      for (let i = 0; i < mask.length; i++) still[i] = 1 - mask[i]!;
      response = poolAlikeChannels(await refit(threads, codes, times, fit, still, curveOpts));
      lap('response refit');
    }
  } else if (valid.some((v) => v)) {
    // Without deghosting the replicated borders of shifted frames are still not data.
    consistency = valid.map((v) => {
      if (!v) return null;
      const c = new Float32Array(width * height);
      for (let y = v.y0; y < v.y1; y++) c.fill(1, y * width + v.x0, y * width + v.x1);
      return c;
    });
  }

  await step('merge', 0, 1);
  const radiance = createImage(
    width,
    height,
    3,
    await mergeInBands(threads, { codes, width, height, times, response, consistency: consistency?.map((c) => c && share(c)), reference, clip }, shared),
  );
  lap('merge');
  if (opts.shadowChroma ?? true) {
    await step('chroma', 0, 1);
    // Radiance of a code z of the longest exposure: exp(g(z)) / t (the merge's units).
    const tMax = Math.max(...times);
    const g = response.log[1];
    denoiseShadowChroma(radiance.data, width, height, {
      yFull: Math.exp(g[SHADOW_CHROMA_CODES.full]!) / tMax,
      yNone: Math.exp(g[SHADOW_CHROMA_CODES.none]!) / tMax,
    });
    lap('chroma');
  }

  let ldr: RawImage | undefined;
  if (opts.fusion) {
    await step('fusion', 0, 1);
    ldr = fuseExposures(codes, width, height, { consistency, reference });
    lap('fusion');
  } else if (opts.tonemap) {
    await step('tonemap', 0, 1);
    ldr = toneMap(radiance, { method: opts.tonemap, ...(opts.reinhard ? { reinhard: opts.reinhard } : {}), ...(opts.local ? { local: opts.local } : {}) });
    lap('tonemap');
  }
  codes = [];
  report(opts, 'done', 1, 1);
  return {
    radiance,
    ...(ldr ? { ldr } : {}),
    ghostMask: createImage(width, height, 1, mask),
    response,
    clip,
    shifts,
    reference,
    times,
    timings,
    threads: threads.mostLanes,
  };
}

/** The same array in shared memory (copied unless it already is). */
function toShared<T extends Uint8Array | Float32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const copy = new (a.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

/** Items dealt out round robin into `parts` lists (none empty when there are enough items). */
function dealOut<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: Math.min(parts, items.length) }, () => []);
  for (const [i, v] of items.entries()) out[i % out.length]!.push(v);
  return out;
}

function fitFromChannels(channels: readonly { picks: Int32Array; log: Float32Array }[]): ResponseFit {
  const [r, g, b] = channels as [(typeof channels)[number], (typeof channels)[number], (typeof channels)[number]];
  return { response: { log: [r.log, g.log, b.log] }, samples: [r.picks, g.picks, b.picks] };
}

/** refitResponse, one job per channel that lost samples to the mask. */
async function refit(
  threads: HdrThreads,
  codes: Uint8Array[],
  times: number[],
  fit: ResponseFit,
  keep: Float32Array,
  curveOpts: { lambda: number; clipLow: readonly number[]; clipHigh: readonly number[] },
): Promise<ResponseCurve> {
  const log = [...fit.response.log];
  const kept = fit.samples.map((all) => keptSamples(all, keep));
  // The same samples give the same curve: a static bracket's refit costs nothing.
  const changed = [0, 1, 2].filter((c) => kept[c]!.length !== fit.samples[c]!.length);
  const solved = await threads.run(
    'channel',
    changed.map((c) => ({ codes, width: 0, height: 0, times, c, picks: kept[c]!, opts: curveOpts })),
  );
  for (const [i, c] of changed.entries()) log[c] = solved[i]!.log;
  return { log: [log[0]!, log[1]!, log[2]!] };
}

/**
 * mergeRadiance in one band of rows per thread. This thread writes its band straight into the
 * result; the workers write theirs into shared memory, copied over afterwards (the caller gets
 * an ordinary buffer: a shared one cannot cross a process boundary, e.g. the server's job workers).
 */
async function mergeInBands(threads: HdrThreads, input: MergeInput, shared: boolean): Promise<Float32Array> {
  const { width, height } = input;
  const lanes = threads.lanes;
  const result = new Float32Array(width * height * 3);
  const rowOf = (k: number) => Math.round((k * height) / lanes);
  // Rows from rowOf(1) on go to the workers (when there are any).
  const spill = shared && lanes > 1 ? new Float32Array(new SharedArrayBuffer(width * height * 3 * 4)) : result;
  const bands = Array.from({ length: lanes }, (_, k) => ({ input, out: k === 0 ? result : spill, y0: rowOf(k), y1: rowOf(k + 1) }));
  await threads.run('mergeRows', bands);
  if (spill !== result) result.set(spill.subarray(rowOf(1) * width * 3), rowOf(1) * width * 3);
  return result;
}

/** 0 where any frame holds edge fill, 1 elsewhere; null when no frame has any. */
function sceneMask(fills: readonly (Uint8Array | null)[], n: number): Float32Array | null {
  if (fills.every((f) => f === null)) return null;
  const out = new Float32Array(n).fill(1);
  for (const f of fills) if (f) for (let i = 0; i < n; i++) if (f[i]) out[i] = 0;
  return out;
}

export interface Bracket {
  frames: RawImage[];
  /** EXIF exposure time of each file (undefined where absent). */
  exifTimes: (number | undefined)[];
  paths: string[];
}

/** Decodes the files of a bracket and reads their EXIF exposure times. Sizes are checked by mergeHdr. */
export async function readBracket(paths: readonly string[], control: TaskControl = {}): Promise<Bracket> {
  if (paths.length < HDR_MIN_FRAMES || paths.length > HDR_MAX_FRAMES) {
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      `HDR merge needs ${HDR_MIN_FRAMES} to ${HDR_MAX_FRAMES} exposures of the same scene, got ${paths.length} image(s)`,
      { option: 'inputs', given: paths.length },
    );
  }
  const frames: RawImage[] = [];
  const exifTimes: (number | undefined)[] = [];
  for (let i = 0; i < paths.length; i++) {
    report(control, 'decode', i, paths.length);
    throwIfAborted(control.signal);
    const bytes = await readFile(paths[i]!).catch(() => undefined);
    const { image } = await decodeImage(bytes ?? paths[i]!, bytes ? { name: paths[i]! } : {});
    if (i > 0 && (image.width !== frames[0]!.width || image.height !== frames[0]!.height)) {
      throw new ClearsightError(
        ERROR_CODES.INPUT_UNSUPPORTED,
        `"${paths[i]}" is ${image.width}x${image.height} but "${paths[0]}" is ${frames[0]!.width}x${frames[0]!.height}: all exposures of a bracket must have the same size`,
        { path: paths[i] },
      );
    }
    frames.push(image);
    let exif: Buffer | undefined;
    try {
      exif = (await sharp(bytes!).metadata()).exif;
    } catch {
      exif = undefined;
    }
    exifTimes.push(exifExposureTime(exif));
  }
  report(control, 'decode', paths.length, paths.length);
  return { frames, exifTimes, paths: [...paths] };
}

/**
 * The times to use for a bracket read from files: the given list, else EXIF when every file has
 * a time and they differ. Explains what is missing or inconsistent otherwise.
 */
export function bracketTimes(
  bracket: Bracket,
  given: { times?: readonly number[]; ev?: readonly number[] },
): { times?: readonly number[]; ev?: readonly number[]; source: 'times' | 'ev' | 'exif' } {
  if (given.times) return { times: given.times, source: 'times' };
  if (given.ev) return { ev: given.ev, source: 'ev' };
  const missing = bracket.exifTimes.map((t, i) => (t === undefined ? bracket.paths[i] : undefined)).filter((p): p is string => p !== undefined);
  if (missing.length) {
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      `No exposure time in the EXIF of ${missing.map((p) => `"${p}"`).join(', ')}; give --times (e.g. 1/320,1/80,1/20) or --ev (e.g. -2,0,2)`,
      { option: 'times', missing },
    );
  }
  const times = bracket.exifTimes as number[];
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! / sorted[i - 1]! < 1.01) {
      throw new ClearsightError(
        ERROR_CODES.INVALID_OPTION,
        `The EXIF exposure times are inconsistent (${times.map(formatTime).join(', ')} s): two images have the same time; give --times or --ev`,
        { option: 'times', exif: times },
      );
    }
  }
  return { times, source: 'exif' };
}
