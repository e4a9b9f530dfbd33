import type { Command } from 'commander';
import { addRestoreCommand } from './restore.js';

export function addRetouchCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'retouch',
    summary: 'retouch colour and tone',
    description: 'Retouch colour and tone like an expert with MAXIM trained on MIT-Adobe FiveK.',
    verb: 'retouching',
  });
}
