import type { Command } from 'commander';
import { denoise } from '../lib.js';
import { addRestoreCommand } from './restore.js';

export function addDenoiseCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'denoise',
    summary: 'remove camera noise',
    description: 'Remove real camera noise with MAXIM trained on SIDD.',
    verb: 'denoising',
    model: () => 'maxim-denoising',
    run: (img, _opts, control) => denoise(img, control),
  });
}
