/**
 * The picture restorations of the task table (derain, dehaze, lowlight, denoise, deblur, retouch,
 * upscale): each one's options and its one run function, `restore(img, options, control)`, which
 * returns the restored picture, its physical maps by file name, and facts for the result. The CLI
 * (restore.ts writes the picture and, with --maps <dir>, the maps) and the server/batch (the
 * picture and the image maps as output files, the JSON maps inside the result) call the same
 * function, so a method's maps and facts cannot differ between surfaces.
 */
import {
  chooseLowlightMethod,
  DEFAULT_DERAIN_MODEL,
  DEFAULT_VEIL_STRENGTH,
  DEHAZE_METHODS,
  dehaze,
  dehazeAuto,
  dehazeModelName,
  dehazePrior,
  deblur,
  denoise,
  DERAIN_MODEL_NAMES,
  DERAIN_MODELS,
  derainHeavy,
  enhanceLowLightGamma,
  enhanceLowLightIagc,
  EXPERT_MODELS,
  IAGC_ESTIMATOR,
  LOWLIGHT_METHODS,
  lowlight,
  lowlightFuse,
  retouch,
  upscale,
  upscaleModelName,
  type ExpertOptions,
} from '../restore/index.js';
import { ESRGAN_SCALES, ESRGAN_SIZES } from '../core/models/registry.js';
import { PRECISIONS, validatePrecision } from '../core/models/precision.js';
import { createImage, type RawImage } from '../core/image/index.js';
import { invalidOption } from '../core/errors.js';
import { boolean, choice, integer, number, type OptionSpecs, type OptionValues } from './options.js';

/** One map: an image (a PNG, 16-bit unless said otherwise) or a JSON value. */
export type RestoreMap = { image: RawImage; bitDepth?: 8 | 16; label?: string } | { json: unknown; label?: string };

export interface RestoreOutput {
  image: RawImage;
  /** File name ("transmission.png", "gamma.json") -> content. */
  maps?: Readonly<Record<string, RestoreMap>>;
  /** Facts of the run for the result / the CLI's JSON summary (the method an `auto` chose ...). */
  details?: Record<string, unknown>;
}

export interface RestoreTaskSpec<S extends OptionSpecs = OptionSpecs> {
  /** The model card these options select (null: the method runs no network). */
  model(opts: OptionValues<S>): string | null;
  /** The method these options select (tasks with a choice). */
  method?(opts: OptionValues<S>): string;
  /** Map files the options produce and what they are (for --help); absent: the task has none. */
  maps?: {
    description: string;
    /** The map files these options produce; throws invalidOption(flag, ...) when the method has none. */
    files(opts: OptionValues<S>, flag: string): readonly string[];
  };
  restore(img: RawImage, opts: OptionValues<S>, control: ExpertOptions): Promise<RestoreOutput>;
  /** Checks across options (TaskDefinition.check), before any work. */
  check?(opts: OptionValues<S>, nameOf: (key: string) => string): void;
}

/** A width*height plane as a grey RawImage (values as they are; the encoder clamps to [0, 1]). */
export function greyMap(plane: Float32Array, width: number, height: number): RawImage {
  return createImage(width, height, 1, plane);
}

// ---------------------------------------------------------------------------------------------
// Shared options

export const expertOptions = {
  tta: boolean({ label: 'Self-ensemble (TTA)', help: 'x8 self-ensemble over flips and rotations: 8x slower, usually a little better.' }),
  maxTile: integer({
    label: 'Largest tile (pixels)',
    help: 'Largest tile side in pixels; lower it to save memory. Default: from the model card; never below the card minimum (256 for MAXIM, whose output changes on smaller tiles).',
    min: 16,
    max: 8192,
  }),
} as const;

export const VARIANTS = ['indoor', 'outdoor'] as const;

// ---------------------------------------------------------------------------------------------
// derain

export const derainOptions = {
  model: choice({
    label: 'Deraining network',
    help: 'maxim: best quality (about 100 s a megapixel on 2 cores); fast: the student distilled from it here (under a second a megapixel, about 7 dB lower on heavy rain).',
    choices: DERAIN_MODELS,
    default: DEFAULT_DERAIN_MODEL,
  }),
  precision: choice({
    valueName: 'p',
    label: 'Numeric precision',
    help: 'int8: the MAXIM network quantized (model maxim only: within 0.1 dB of fp32, about 10% less CPU time, a smaller graph; docs/performance.md).',
    choices: PRECISIONS,
    default: 'fp32',
  }),
  veil: number({
    valueName: 'strength',
    label: 'Rain veil removed',
    help: 'Fraction of the rain veil (the mist of heavy rain) removed after the streaks, with the dark channel prior: 0 keeps the network output, 1 removes it all.',
    min: 0,
    max: 1,
    default: DEFAULT_VEIL_STRENGTH,
  }),
  ...expertOptions,
} as const;

const DERAIN_MAPS = ['rain-layer.png', 'transmission.png', 'atmospheric-light.json'] as const;

export const derainTask: RestoreTaskSpec<typeof derainOptions> = {
  model: (o) => DERAIN_MODEL_NAMES[o.model],
  // int8 where the chosen network has a measured recipe (the library refuses it too, but only
  // once the model loads: here it is refused before the upload is queued or the input decoded).
  check: (o, nameOf) => {
    if (o.precision === 'int8') validatePrecision(o.precision, DERAIN_MODEL_NAMES[o.model], nameOf('precision'));
  },
  method: (o) => (o.veil > 0 ? 'learned+veil' : 'learned'),
  maps: {
    description: `${DERAIN_MAPS.join(', ')} (streaks taken out; veil transmission and atmospheric light of the streak-free image)`,
    files: () => DERAIN_MAPS,
  },
  async restore(img, o, control) {
    const r = await derainHeavy(img, { ...control, model: o.model, veilStrength: o.veil, ...(o.precision === 'int8' ? { precision: 'int8' as const } : {}) });
    const meanT = r.transmission.reduce((a, b) => a + b, 0) / r.transmission.length;
    return {
      image: r.image,
      maps: {
        'rain-layer.png': { image: r.rainLayer, label: 'rain layer (streaks taken out)' },
        'transmission.png': { image: greyMap(r.transmission, img.width, img.height), label: 'veil transmission t' },
        'atmospheric-light.json': { json: { atmosphericLight: r.atmosphericLight, meanTransmission: meanT, veilStrength: r.veilStrength } },
      },
      details: { derainModel: o.model, veil: o.veil, precision: o.precision },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// dehaze

export const dehazeOptions = {
  method: choice({
    label: 'Method',
    help: 'learned: MAXIM trained on RESIDE; prior: the dark channel prior (no network, fast, gives the transmission map and the airlight); auto: the network, replaced by the prior on moderate haze it barely lowers.',
    choices: DEHAZE_METHODS,
    default: 'learned',
  }),
  variant: choice({
    label: 'Network weights',
    help: 'Weights trained on indoor (ITS) or outdoor (OTS) scenes (learned and auto methods).',
    choices: VARIANTS,
    default: 'outdoor',
  }),
  ...expertOptions,
} as const;

const DEHAZE_MAPS = ['transmission.png', 'dark-channel.png', 'atmospheric-light.json'] as const;

export const dehazeTask: RestoreTaskSpec<typeof dehazeOptions> = {
  model: (o) => (o.method === 'prior' ? null : dehazeModelName(o.variant)),
  method: (o) => o.method,
  maps: {
    description: `${DEHAZE_MAPS.join(', ')} (method prior)`,
    files: (o, flag) => {
      if (o.method !== 'prior')
        throw invalidOption(flag, '--method prior (the learned network computes no transmission or atmospheric light)', `--method ${o.method}`);
      return DEHAZE_MAPS;
    },
  },
  async restore(img, o, control) {
    if (o.method === 'learned') return { image: await dehaze(img, { ...control, variant: o.variant, method: 'learned' }), details: { variant: o.variant } };
    if (o.method === 'auto') {
      const r = await dehazeAuto(img, (x) => dehaze(x, { ...control, variant: o.variant, method: 'learned' }));
      return { image: r.image, details: { chose: r.method, hazeIn: r.hazeIn, hazeLearned: r.hazeLearned ?? null, variant: o.variant } };
    }
    const r = dehazePrior(img, { onProgress: control.onProgress, signal: control.signal });
    return {
      image: r.image,
      maps: {
        'transmission.png': { image: greyMap(r.transmission, img.width, img.height), label: 'transmission t' },
        'dark-channel.png': { image: greyMap(r.darkChannel, img.width, img.height), label: 'dark channel' },
        'atmospheric-light.json': { json: { atmosphericLight: r.atmosphericLight, params: r.params } },
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// lowlight

export const lowlightOptions = {
  method: choice({
    label: 'Method',
    help: 'auto: learned for a uniformly dark photo, else fuse; learned: MAXIM trained on LOL; gamma: illumination-aware gamma (no network, fast); fuse: both, the network in the darkest regions; iagc: the gamma learned coarse to fine by a small network trained here (fast).',
    choices: LOWLIGHT_METHODS,
    default: 'auto',
  }),
  ...expertOptions,
} as const;

const GAMMA_MAPS = ['illumination.png', 'gamma.png', 'gamma.json'] as const;
const FUSE_MAPS = [...GAMMA_MAPS, 'fuse-weight.png'] as const;

/**
 * The maps of a gamma method: illumination, the per-pixel gamma and gamma.json (range, the PNG's
 * scale and the method's own facts, `lead` before the shared keys, `tail` after). gamma.png
 * stores gamma / max(gamma), so the map uses the whole grey range; gamma.json gives the scale.
 */
function gammaMapFiles(
  img: RawImage,
  illumination: Float32Array,
  gamma: Float32Array,
  lead: Record<string, unknown>,
  tail: Record<string, unknown>,
): Record<string, RestoreMap> {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of gamma) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > 0 ? hi : 1;
  const scaled = Float32Array.from(gamma, (v) => v / scale);
  return {
    'illumination.png': { image: greyMap(illumination, img.width, img.height), label: 'illumination L' },
    'gamma.png': { image: greyMap(scaled, img.width, img.height), label: 'gamma map (scaled to its max)' },
    'gamma.json': {
      json: {
        ...lead,
        gammaPng: { scale, meaning: 'gamma = scale x pixel value (pixel value in [0, 1])' },
        gammaRange: [lo, hi],
        ...tail,
      },
    },
  };
}

export const lowlightTask: RestoreTaskSpec<typeof lowlightOptions> = {
  model: (o) => (o.method === 'gamma' ? null : o.method === 'iagc' ? IAGC_ESTIMATOR : EXPERT_MODELS.lowlight),
  method: (o) => o.method,
  maps: {
    description: `${GAMMA_MAPS.join(', ')} (method gamma, fuse or iagc; fuse adds fuse-weight.png, the network's weight)`,
    files: (o, flag) => {
      if (o.method === 'learned' || o.method === 'auto')
        throw invalidOption(flag, '--method gamma, fuse or iagc (the learned network computes no illumination or gamma map)', `--method ${o.method}`);
      return o.method === 'fuse' ? FUSE_MAPS : GAMMA_MAPS;
    },
  },
  async restore(img, o, control) {
    const method = o.method === 'auto' ? chooseLowlightMethod(img) : o.method;
    const chose = o.method === 'auto' ? { chose: method } : {};
    if (method === 'learned') return { image: await lowlight(img, { ...control, method }), details: chose };
    if (method === 'gamma') {
      const g = enhanceLowLightGamma(img, { onProgress: control.onProgress, signal: control.signal });
      return {
        image: g.image,
        maps: gammaMapFiles(img, g.illumination, g.gamma, { alpha: g.alpha }, { maxTaylorError: g.maxTaylorError, taylorErrorSamples: g.taylorErrorSamples }),
        details: { ...chose, alpha: g.alpha },
      };
    }
    if (method === 'iagc') {
      if (control.tta) throw invalidOption('tta', 'off with method iagc (its networks are not run as a self-ensemble)', true);
      const r = await enhanceLowLightIagc(img, {
        onProgress: control.onProgress,
        signal: control.signal,
        threads: control.threads,
        device: control.device,
        maxTile: control.maxTile,
      });
      return { image: r.image, maps: gammaMapFiles(img, r.illumination, r.gamma, { method: 'iagc' }, { whiteBalanceGains: r.gains, thumbnail: r.thumbnail }) };
    }
    const f = await lowlightFuse(img, control);
    const g = f.gamma;
    return {
      image: f.image,
      maps: {
        ...gammaMapFiles(img, g.illumination, g.gamma, { alpha: g.alpha }, { maxTaylorError: g.maxTaylorError, taylorErrorSamples: g.taylorErrorSamples }),
        'fuse-weight.png': { image: greyMap(f.weight, img.width, img.height), label: "network's weight in the fusion" },
      },
      details: chose,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// the plain experts and upscale

export const plainExpertOptions = { ...expertOptions } as const;

const plainExpert = (model: string, fn: (img: RawImage, o: ExpertOptions) => Promise<RawImage>): RestoreTaskSpec<typeof plainExpertOptions> => ({
  model: () => model,
  restore: async (img, _o, control) => ({ image: await fn(img, control) }),
});

export const denoiseTask = plainExpert(EXPERT_MODELS.denoise, denoise);
export const deblurTask = plainExpert(EXPERT_MODELS.deblur, deblur);
export const retouchTask = plainExpert(EXPERT_MODELS.retouch, retouch);

export const upscaleOptions = {
  scale: choice({ valueName: 'factor', label: 'Scale', help: 'Enlargement factor.', choices: ESRGAN_SCALES, default: 4 }),
  size: choice({ label: 'Network size', help: 'ESRGAN size: slim (fastest) < medium < thick (slowest, sharpest).', choices: ESRGAN_SIZES, default: 'slim' }),
  ...expertOptions,
} as const;

export const upscaleTask: RestoreTaskSpec<typeof upscaleOptions> = {
  model: (o) => upscaleModelName(o),
  restore: async (img, o, control) => ({ image: await upscale(img, { ...control, scale: o.scale, size: o.size }) }),
};
