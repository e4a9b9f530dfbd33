import type { Command } from 'commander';
import { ESRGAN_SCALES, ESRGAN_SIZES, upscale, upscaleModelName, type UpscaleOptions } from '../lib.js';
import { choiceOption } from '../options.js';
import { addRestoreCommand, type CommonOptions } from './restore.js';

type Scale = NonNullable<UpscaleOptions['scale']>;
type Size = NonNullable<UpscaleOptions['size']>;
const SCALES: readonly Scale[] = ESRGAN_SCALES;
const SIZES: readonly Size[] = ESRGAN_SIZES;

interface UpscaleCliOptions extends CommonOptions {
  scale: Scale;
  size: Size;
}

export function addUpscaleCommand(program: Command): Command {
  return addRestoreCommand<UpscaleCliOptions>(program, {
    name: 'upscale',
    summary: 'enlarge 2x, 3x, 4x or 8x (super-resolution)',
    description:
      'Enlarge an image with ESRGAN-family networks trained on DIV2K. Sizes trade speed for quality: ' +
      'slim (fastest) < medium < thick (slowest, sharpest). An alpha channel is resized to the output.',
    verb: 'upscaling',
    example: 'small.png -o big.png --scale 2 --size medium',
    options: [
      choiceOption('--scale <factor>', 'enlargement factor', SCALES, 4),
      choiceOption('--size <size>', 'network size', SIZES, 'slim'),
    ],
    model: (opts) => upscaleModelName(opts),
    run: (img, opts, control) => upscale(img, { ...control, scale: opts.scale, size: opts.size }),
  });
}
