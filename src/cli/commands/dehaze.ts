import type { Command } from 'commander';
import { dehaze, type DehazeOptions } from '../lib.js';
import { choiceOption } from '../options.js';
import { addRestoreCommand, type CommonOptions } from './restore.js';

type Variant = NonNullable<DehazeOptions['variant']>;
const VARIANTS: readonly Variant[] = ['indoor', 'outdoor'];

interface DehazeCliOptions extends CommonOptions {
  variant: Variant;
}

export function addDehazeCommand(program: Command): Command {
  return addRestoreCommand<DehazeCliOptions>(program, {
    name: 'dehaze',
    summary: 'remove haze or fog',
    description: 'Remove haze or fog with MAXIM trained on RESIDE: outdoor (OTS) weights by default, indoor (ITS) with --variant indoor.',
    verb: 'dehazing',
    example: 'foggy.jpg -o clear.jpg --variant indoor',
    options: [choiceOption('--variant <variant>', 'weights trained on indoor or outdoor scenes', VARIANTS, 'outdoor')],
    model: (opts) => `maxim-dehazing-${opts.variant}`,
    run: (img, opts, control) => dehaze(img, { ...control, variant: opts.variant }),
  });
}
