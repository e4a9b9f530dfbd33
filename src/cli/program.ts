/**
 * The `clearsight` commander program: a thin layer over the library's public API.
 * Loaded by main.ts in the process that runs the command.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { EXIT, EXIT_CODE_HELP } from './exitCodes.js';
import { reportError } from './report.js';
import { addDeblurCommand } from './commands/deblur.js';
import { addDehazeCommand } from './commands/dehaze.js';
import { addDenoiseCommand } from './commands/denoise.js';
import { addDerainCommand } from './commands/derain.js';
import { addLowlightCommand } from './commands/lowlight.js';
import { addModelsCommand } from './commands/models.js';
import { addRetouchCommand } from './commands/retouch.js';
import { addUpscaleCommand } from './commands/upscale.js';
import { addRestoreAutoCommand } from './commands/restoreAuto.js';
import { addForensicsCommand } from './commands/forensics.js';
import { addHdrCommand } from './commands/hdr.js';
import { addVsrCommand } from './commands/vsr.js';
import { addLivenessCommand } from './commands/liveness.js';
import { addWatermarkCommand } from './commands/watermark.js';
import { addServeCommand } from './commands/serve.js';
import { addWorkerCommand } from './commands/worker.js';
import { addBatchCommand } from './commands/batch.js';
import { assertOutputsAreNotInputs } from './outputGuard.js';

const COMMANDS = [
  addDerainCommand,
  addDehazeCommand,
  addLowlightCommand,
  addDenoiseCommand,
  addDeblurCommand,
  addRetouchCommand,
  addUpscaleCommand,
  addRestoreAutoCommand,
  addHdrCommand,
  addVsrCommand,
  addLivenessCommand,
  addWatermarkCommand,
  addModelsCommand,
  addForensicsCommand,
  addServeCommand,
  addWorkerCommand,
  addBatchCommand,
];

const EXAMPLES = `Examples:
  $ clearsight derain examples/rain.png -o derained.png
  $ clearsight upscale photo.jpg -o big.png --scale 2 --size medium
  $ clearsight dehaze foggy.jpg -o clear.jpg --variant outdoor --quality 90 --json
  $ clearsight hdr dark.jpg mid.jpg bright.jpg -o out.hdr --ldr out.jpg
  $ clearsight vsr clip.mp4 -o clip_x4.mp4 --scale 4 --json
  $ clearsight liveness clip.mp4 --json
  $ clearsight watermark embed photo.jpg -o marked.png --source news1 --key-file secret.txt
  $ clearsight watermark verify shared.jpg --key-file secret.txt --json
  $ clearsight forensics analyze clip.mp4 --report case.pdf
  $ clearsight serve --port 8080
  $ clearsight batch lowlight photos/ -o bright/ --set method=gamma
  $ clearsight models`;

function version(): string {
  // Same relative place from src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('clearsight')
    .description(
      'Restore degraded pictures and video (rain, haze, low light, HDR, super-resolution) and defend faces (liveness, identity watermarks, deepfake forensics).',
    )
    .version(version(), '-V, --version')
    // Set before adding commands, which inherit both: errors come back to main() as exceptions
    // and are printed there in the one clearsight format.
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `\n${EXAMPLES}\n\n${EXIT_CODE_HELP}\n\nEnvironment:\n  CLEARSIGHT_CACHE_DIR  where converted models are cached (default ~/.cache/clearsight)\n  CLEARSIGHT_DEBUG=1    print stack traces`,
    );
  for (const add of COMMANDS) add(program);
  // Runs before every (sub)command's action: an output that is an input is refused, --force or not.
  program.hook('preAction', (_program, action) => assertOutputsAreNotInputs(action));
  return program;
}

/**
 * Library warnings (process.emitWarning with a CLEARSIGHT_* code, e.g. the CUDA fallback) print
 * as our one-line warnings instead of Node's "(node:1234) Warning: ..." with a --trace hint.
 */
function printWarningsOurWay(): void {
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (typeof w.code === 'string' && w.code.startsWith('CLEARSIGHT_')) process.stderr.write(`clearsight: warning: ${w.message}\n`);
    else for (const listener of defaults) listener(w);
  });
}

/** Runs the command line `argv` (process.argv layout) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  printWarningsOurWay();
  try {
    await buildProgram().parseAsync([...argv]);
    // An action may end with a non-zero code of its own (batch with failed files, a verdict).
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    return reportError(err);
  }
}
