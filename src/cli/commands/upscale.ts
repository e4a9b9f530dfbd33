import type { Command } from 'commander';
import { addRestoreCommand } from './restore.js';

/** `clearsight upscale`: texts only; options and the run come from the task table (src/tasks/restore.ts). */
export function addUpscaleCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'upscale',
    summary: 'enlarge 2x, 3x, 4x or 8x (super-resolution)',
    description:
      'Enlarge an image with ESRGAN-family networks trained on DIV2K. Sizes trade speed for quality: ' +
      'slim (fastest) < medium < thick (slowest, sharpest). An alpha channel is resized to the output.',
    verb: 'upscaling',
    example: 'small.png -o big.png --scale 2 --size medium',
  });
}
