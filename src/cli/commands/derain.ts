import { Option, type Command } from 'commander';
import { DEFAULT_DERAIN_MODEL, DEFAULT_VEIL_STRENGTH, DERAIN_MODEL_NAMES, DERAIN_MODELS, derainHeavy, invalidOption, type DerainModel } from '../lib.js';
import { choiceOption } from '../options.js';
import { addRestoreCommand, greyMap, type CommonOptions, type RestoreOutput } from './restore.js';

const MAP_FILES = ['rain-layer.png', 'transmission.png', 'atmospheric-light.json'] as const;

interface DerainCliOptions extends CommonOptions {
  model: DerainModel;
  veil: number;
}

/** A number in [0, 1], written as a plain decimal ("0.5", ".5", "1"). */
function fractionParser(flag: string): (value: string) => number {
  return (value: string) => {
    const n = /^\s*\+?(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 0 && n <= 1)) throw invalidOption(flag, 'a number from 0 to 1', value);
    return n;
  };
}

export function addDerainCommand(program: Command): Command {
  return addRestoreCommand<DerainCliOptions>(program, {
    name: 'derain',
    summary: 'remove rain streaks (and the rain veil with --veil)',
    description:
      'Remove rain streaks with MAXIM trained on Rain13K (--model maxim, the default: best quality, ~100 s a megapixel on 2 cores) ' +
      'or the fast student distilled from it here (--model fast: under a second a megapixel, but ~7 dB lower on Rain100H; see docs/models.md); with --veil s, then remove the mist of heavy rain ' +
      '(the rain veil, a haze) with the dark channel prior on the streak-free image, a fraction s of it. ' +
      `The default --veil ${DEFAULT_VEIL_STRENGTH} keeps the network's output: on Rain100H veil removal lowered PSNR (bench/heavy-rain.ts); use it on photos with visible mist.`,
    verb: 'deraining',
    example: 'examples/rain.png -o derained.png --veil 0.5 --maps rain-maps/',
    options: [
      choiceOption('--model <model>', 'deraining network: the fast student or MAXIM', DERAIN_MODELS, DEFAULT_DERAIN_MODEL),
      new Option('--veil <strength>', 'fraction of the rain veil to remove after the streaks, 0 to 1')
        .argParser(fractionParser('--veil'))
        .default(DEFAULT_VEIL_STRENGTH),
    ],
    model: (opts) => DERAIN_MODEL_NAMES[opts.model],
    method: (opts) => (opts.veil > 0 ? 'learned+veil' : 'learned'),
    details: (opts) => ({ derainModel: opts.model, veil: opts.veil }),
    maps: {
      description: `${MAP_FILES.join(', ')} (streaks taken out; veil transmission and atmospheric light of the streak-free image)`,
      files: () => MAP_FILES,
    },
    run: async (img, opts, control): Promise<RestoreOutput> => {
      const r = await derainHeavy(img, { ...control, model: opts.model, veilStrength: opts.veil });
      const meanT = r.transmission.reduce((a, b) => a + b, 0) / r.transmission.length;
      return {
        image: r.image,
        maps: {
          'rain-layer.png': { image: r.rainLayer },
          'transmission.png': { image: greyMap(r.transmission, img.width, img.height) },
          'atmospheric-light.json': { json: { atmosphericLight: r.atmosphericLight, meanTransmission: meanT, veilStrength: r.veilStrength } },
        },
      };
    },
  });
}
