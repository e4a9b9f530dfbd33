import type { Command } from 'commander';
import { addRestoreCommand } from './restore.js';

export function addDenoiseCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'denoise',
    summary: 'remove camera noise',
    description: 'Remove real camera noise with MAXIM trained on SIDD.',
    verb: 'denoising',
  });
}
