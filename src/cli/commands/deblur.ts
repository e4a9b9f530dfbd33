import type { Command } from 'commander';
import { addRestoreCommand } from './restore.js';

export function addDeblurCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'deblur',
    summary: 'remove motion blur',
    description: 'Remove camera-shake and motion blur with MAXIM trained on GoPro.',
    verb: 'deblurring',
  });
}
