import type { Command } from 'commander';
import { derain } from '../lib.js';
import { addRestoreCommand } from './restore.js';

export function addDerainCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'derain',
    summary: 'remove rain streaks',
    description: 'Remove rain streaks with MAXIM trained on Rain13K.',
    verb: 'deraining',
    example: 'examples/rain.png -o derained.png',
    model: () => 'maxim-deraining',
    run: (img, _opts, control) => derain(img, control),
  });
}
