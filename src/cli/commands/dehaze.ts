import type { Command } from 'commander';
import { DEHAZE_METHODS, dehaze, dehazePrior, invalidOption, type DehazeMethod, type DehazeOptions } from '../lib.js';
import { choiceOption } from '../options.js';
import { addRestoreCommand, greyMap, type CommonOptions, type RestoreOutput } from './restore.js';

type Variant = NonNullable<DehazeOptions['variant']>;
const VARIANTS: readonly Variant[] = ['indoor', 'outdoor'];
const MAP_FILES = ['transmission.png', 'dark-channel.png', 'atmospheric-light.json'] as const;

interface DehazeCliOptions extends CommonOptions {
  method: DehazeMethod;
  variant: Variant;
}

export function addDehazeCommand(program: Command): Command {
  return addRestoreCommand<DehazeCliOptions>(program, {
    name: 'dehaze',
    summary: 'remove haze or fog',
    description:
      'Remove haze or fog. --method learned (default): MAXIM trained on RESIDE, outdoor (OTS) weights by default, indoor (ITS) with --variant indoor. ' +
      '--method prior: the dark channel prior (He et al.) with a guided-filter transmission and a quad-tree atmospheric light; no network, well under a second a megapixel. ' +
      '--method auto: the network, except on moderate haze (no-reference measure 0.4-0.8) that it barely lowers (< 25 %), typical of real photographs, where the prior is used.',
    verb: 'dehazing',
    example: 'foggy.jpg -o clear.jpg --method prior --maps foggy-maps/',
    options: [
      choiceOption('--method <method>', 'learned network, physical prior, or auto (by measured haze)', DEHAZE_METHODS, 'learned'),
      choiceOption('--variant <variant>', 'weights trained on indoor or outdoor scenes (learned method)', VARIANTS, 'outdoor'),
    ],
    model: (opts) => (opts.method === 'prior' ? null : `maxim-dehazing-${opts.variant}`),
    method: (opts) => opts.method,
    maps: {
      description: `${MAP_FILES.join(', ')} (--method prior)`,
      files: (opts) => {
        if (opts.method !== 'prior') throw invalidOption('--maps', '--method prior (the learned network computes no transmission or atmospheric light)', `--method ${opts.method}`);
        return MAP_FILES;
      },
    },
    run: async (img, opts, control): Promise<RestoreOutput> => {
      if (opts.method !== 'prior') return { image: await dehaze(img, { ...control, variant: opts.variant, method: opts.method }) };
      const r = dehazePrior(img, { onProgress: control.onProgress, signal: control.signal });
      return {
        image: r.image,
        maps: {
          'transmission.png': { image: greyMap(r.transmission, img.width, img.height) },
          'dark-channel.png': { image: greyMap(r.darkChannel, img.width, img.height) },
          'atmospheric-light.json': { json: { atmosphericLight: r.atmosphericLight, params: r.params } },
        },
      };
    },
  });
}
