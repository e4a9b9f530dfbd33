import type { Command } from 'commander';
import { DEFAULT_VEIL_STRENGTH } from '../lib.js';
import { addRestoreCommand } from './restore.js';

/** `clearsight derain`: texts only; options, maps and the run come from the task table (src/tasks/restore.ts). */
export function addDerainCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'derain',
    summary: 'remove rain streaks (and the rain veil with --veil)',
    description:
      'Remove rain streaks with MAXIM trained on Rain13K (--model maxim, the default: best quality, ~100 s a megapixel on 2 cores) ' +
      'or the fast student distilled from it here (--model fast: under a second a megapixel, but ~7 dB lower on Rain100H; see docs/models.md); with --veil s, then remove the mist of heavy rain ' +
      '(the rain veil, a haze) with the dark channel prior on the streak-free image, a fraction s of it. ' +
      `The default --veil ${DEFAULT_VEIL_STRENGTH} keeps the network's output: on Rain100H veil removal lowered PSNR (bench/heavy-rain.ts); use it on photos with visible mist.`,
    verb: 'deraining',
    example: 'examples/rain.png -o derained.png --veil 0.5 --maps rain-maps/',
  });
}
