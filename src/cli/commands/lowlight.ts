import type { Command } from 'commander';
import { lowlight } from '../lib.js';
import { addRestoreCommand } from './restore.js';

export function addLowlightCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'lowlight',
    summary: 'brighten a low-light photo',
    description: 'Enhance a dark, underexposed photo with MAXIM trained on LOL.',
    verb: 'brightening',
    model: () => 'maxim-enhancement',
    run: (img, _opts, control) => lowlight(img, control),
  });
}
