import type { Command } from 'commander';
import { addRestoreCommand } from './restore.js';

/** `clearsight lowlight`: texts only; options, maps and the run come from the task table (src/tasks/restore.ts). */
export function addLowlightCommand(program: Command): Command {
  return addRestoreCommand(program, {
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
  });
}
