import type { Command } from 'commander';
import { addRestoreCommand } from './restore.js';

/** `clearsight dehaze`: texts only; options, maps and the run come from the task table (src/tasks/restore.ts). */
export function addDehazeCommand(program: Command): Command {
  return addRestoreCommand(program, {
    name: 'dehaze',
    summary: 'remove haze or fog',
    description:
      'Remove haze or fog. --method learned (default): MAXIM trained on RESIDE, outdoor (OTS) weights by default, indoor (ITS) with --variant indoor. ' +
      '--method prior: the dark channel prior (He et al.) with a guided-filter transmission and a quad-tree atmospheric light; no network, well under a second a megapixel. ' +
      '--method auto: the network, except on moderate haze (no-reference measure 0.4-0.8) that it barely lowers (< 25 %), typical of real photographs, where the prior is used.',
    verb: 'dehazing',
    example: 'foggy.jpg -o clear.jpg --method prior --maps foggy-maps/',
  });
}
