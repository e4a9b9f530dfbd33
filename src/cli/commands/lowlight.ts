import type { Command } from 'commander';
import { chooseLowlightMethod, enhanceLowLightGamma, enhanceLowLightIagc, IAGC_ESTIMATOR, invalidOption, type IagcResult, LOWLIGHT_METHODS, lowlight, lowlightFuse, type LowLightGammaResult, type LowlightMethod, type RawImage } from '../lib.js';
import { choiceOption } from '../options.js';
import { addRestoreCommand, greyMap, type CommonOptions, type RestoreMap, type RestoreOutput } from './restore.js';

/** gamma.png stores gamma / GAMMA_PNG_SCALE (the default gamma range [0.2, 1.5] fits in [0, 1]). */
const GAMMA_PNG_SCALE = 2;
const GAMMA_MAPS = ['illumination.png', 'gamma.png', 'gamma.json'] as const;
const FUSE_MAPS = [...GAMMA_MAPS, 'fuse-weight.png'] as const;

interface LowlightCliOptions extends CommonOptions {
  method: LowlightMethod;
}

/**
 * The maps of a gamma method: illumination, the per-pixel gamma (scaled into a PNG) and gamma.json
 * with the range and the method's own facts (`lead` before the shared keys, `tail` after them).
 */
function gammaMapFiles(img: RawImage, illumination: Float32Array, gamma: Float32Array, lead: Record<string, unknown>, tail: Record<string, unknown>): Record<string, RestoreMap> {
  const scaled = Float32Array.from(gamma, (v) => v / GAMMA_PNG_SCALE);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of gamma) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return {
    'illumination.png': { image: greyMap(illumination, img.width, img.height) },
    'gamma.png': { image: greyMap(scaled, img.width, img.height) },
    'gamma.json': {
      json: {
        ...lead,
        gammaPng: { scale: GAMMA_PNG_SCALE, meaning: 'gamma = scale x pixel value (pixel value in [0, 1])' },
        gammaRange: [lo, hi],
        ...tail,
      },
    },
  };
}

/** The maps of the gamma step: illumination, gamma (scaled) and the Taylor-series error. */
const gammaMaps = (img: RawImage, g: LowLightGammaResult): Record<string, RestoreMap> =>
  gammaMapFiles(img, g.illumination, g.gamma, { alpha: g.alpha }, { maxTaylorError: g.maxTaylorError, taylorErrorSamples: g.taylorErrorSamples });

/** The maps of the learned gamma: illumination, gamma (scaled) and the network's white-balance gains. */
const iagcMaps = (img: RawImage, r: IagcResult): Record<string, RestoreMap> =>
  gammaMapFiles(img, r.illumination, r.gamma, { method: 'iagc' }, { whiteBalanceGains: r.gains, thumbnail: r.thumbnail });

export function addLowlightCommand(program: Command): Command {
  return addRestoreCommand<LowlightCliOptions>(program, {
    name: 'lowlight',
    summary: 'brighten a low-light photo',
    description:
      'Enhance a dark, underexposed photo. --method auto (default): learned for a uniformly dark photo, fuse when parts are already lit (the network alone would clip them). ' +
      '--method learned: MAXIM trained on LOL. ' +
      '--method gamma: illumination-aware gamma correction (per-pixel gamma from a smoothed illumination map; no network). ' +
      '--method fuse: both, the network in the darkest regions and the gamma result where the photo is already lit. ' +
      '--method iagc: illumination-aware gamma learned coarse to fine by a small network trained here (much faster than learned).',
    verb: 'brightening',
    example: 'dark.jpg -o bright.png --method gamma --maps dark-maps/',
    options: [choiceOption('--method <method>', 'auto choice, learned network (MAXIM), physical gamma, their fusion, or the learned gamma (iagc)', LOWLIGHT_METHODS, 'auto')],
    model: (opts) => (opts.method === 'gamma' ? null : opts.method === 'iagc' ? IAGC_ESTIMATOR : 'maxim-enhancement'),
    method: (opts) => opts.method,
    maps: {
      description: `${GAMMA_MAPS.join(', ')} (--method gamma, fuse or iagc; fuse adds fuse-weight.png, the network's weight)`,
      files: (opts) => {
        if (opts.method === 'learned' || opts.method === 'auto') throw invalidOption('--maps', '--method gamma, fuse or iagc (the learned network computes no illumination or gamma map)', `--method ${opts.method}`);
        return opts.method === 'fuse' ? FUSE_MAPS : GAMMA_MAPS;
      },
    },
    run: async (img, opts, control): Promise<RestoreOutput> => {
      const method = opts.method === 'auto' ? chooseLowlightMethod(img) : opts.method;
      if (method === 'learned') return { image: await lowlight(img, { ...control, method }) };
      if (method === 'gamma') {
        const g = enhanceLowLightGamma(img, { onProgress: control.onProgress, signal: control.signal });
        return { image: g.image, maps: gammaMaps(img, g) };
      }
      if (opts.method === 'iagc') {
        if (control.tta) throw invalidOption('--tta', 'absent with --method iagc (its networks are not run as a self-ensemble)', '--tta');
        const r = await enhanceLowLightIagc(img, { onProgress: control.onProgress, signal: control.signal, threads: control.threads, device: control.device, maxTile: control.maxTile });
        return { image: r.image, maps: iagcMaps(img, r) };
      }
      const f = await lowlightFuse(img, control);
      return { image: f.image, maps: { ...gammaMaps(img, f.gamma), 'fuse-weight.png': { image: greyMap(f.weight, img.width, img.height) } } };
    },
  });
}
