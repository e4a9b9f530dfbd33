/**
 * `clearsight serve [--port P] [--host 127.0.0.1] [--queue redis://...] [--token T]`: the HTTP API
 * and the web app (src/server). Localhost by default; with --queue the jobs go to Redis and
 * `clearsight worker` processes run them, otherwise worker processes of this server do.
 */
import { Option, type Command } from 'commander';
import { invalidOption } from '../../core/errors.js';
import { integerOption } from '../options.js';
import type { StartOptions } from '../../server/index.js';

interface ServeCliOptions {
  port: number;
  host: string;
  queue?: string;
  token?: string;
  store?: string;
  concurrency?: number;
  maxUploadMb: number;
  maxMegapixels: number;
  maxVideoSeconds: number;
  jobTimeout: number;
  jobMemoryGb: number;
  log?: boolean;
  allowHost: string[];
  storeMaxGb: number;
  retentionHours: number;
  maxConnections: number;
  maxQueued: number;
  maxQueuedPerClient: number;
  headersTimeout: number;
  requestTimeout: number;
  preload: string[];
  modelMemoryGb: number;
}

function collect(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

function positive(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw invalidOption(flag, 'a positive number', v);
    return n;
  };
}

/** Options shared by serve and worker. */
export function addLimitOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--preload <tasks>',
        'warm the default models of these tasks in every worker at start (comma-separated: derain,upscale; tasks with a model: derain, dehaze, lowlight, denoise, deblur, retouch, upscale)',
      )
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option('--model-memory-gb <n>', 'warm models each worker keeps (estimated); least recently used dropped beyond it')
        .argParser(positive('--model-memory-gb'))
        .default(2),
    )
    .addOption(
      new Option('--max-megapixels <n>', 'largest image accepted (header checked before decoding)').argParser(positive('--max-megapixels')).default(40),
    )
    .addOption(integerOption('--job-timeout <seconds>', 'a job running longer is stopped (its worker process is killed)', 1, 86400).default(900))
    .addOption(
      new Option(
        '--job-memory-gb <n>',
        'memory the jobs running at once may need together (estimated per job from task and pixels); a job needing more alone is refused',
      )
        .argParser(positive('--job-memory-gb'))
        .default(2),
    );
}

export function addServeCommand(program: Command): Command {
  const cmd = program
    .command('serve')
    .summary('HTTP API and web app (localhost by default)')
    .description('Serve the HTTP API (POST /api/v1/jobs/<task>, GET /api/v1/jobs/<id>[/events|/files/<name>], /openapi.json) and the web app at /.')
    .addOption(integerOption('--port <port>', 'TCP port', 0, 65535).default(8080))
    .option('--host <host>', 'address to listen on (0.0.0.0 exposes the server: use --token)', '127.0.0.1')
    .option('--queue <url>', 'redis://host:port[/db]: queue jobs in Redis (BullMQ) for `clearsight worker` processes')
    .option('--token <token>', 'require "Authorization: Bearer <token>" on /api/ (default: $CLEARSIGHT_TOKEN)')
    .option('--store <dir>', 'content-addressed store of inputs and outputs (shared with the workers; default ~/.cache/clearsight/store)')
    .addOption(integerOption('--concurrency <n>', 'jobs at a time, embedded queue (default: cores)', 1, 256))
    .addOption(new Option('--max-upload-mb <n>', 'largest upload, MiB').argParser(positive('--max-upload-mb')).default(50))
    .addOption(new Option('--max-video-seconds <n>', 'longest video accepted').argParser(positive('--max-video-seconds')).default(60))
    .option(
      '--allow-host <name>',
      'answer this Host name too (repeatable; "*.example.org" for sub-domains; "*" turns the check off). On a localhost bind only localhost names are answered by default (DNS rebinding)',
      collect,
      [],
    )
    .addOption(
      new Option('--store-max-gb <n>', 'size budget of the store: least recently used inputs and outputs are removed beyond it')
        .argParser(positive('--store-max-gb'))
        .default(5),
    )
    .addOption(
      new Option('--retention-hours <n>', 'finished jobs and store files unused for longer are removed').argParser(positive('--retention-hours')).default(24),
    )
    .addOption(integerOption('--max-connections <n>', 'open connections at most (more are closed at once)', 1, 1_000_000).default(256))
    .addOption(integerOption('--max-queued <n>', 'jobs queued or running at most; more get 429 with Retry-After', 1, 1_000_000).default(1000))
    .addOption(integerOption('--max-queued-per-client <n>', 'jobs queued or running per client address at most (429)', 1, 1_000_000).default(250))
    .addOption(integerOption('--headers-timeout <seconds>', 'a request whose headers take longer is cut (slow clients)', 1, 3600).default(10))
    .addOption(integerOption('--request-timeout <seconds>', 'a request (upload included) that takes longer is cut', 1, 86400).default(60))
    .option('--log', 'log every request (JSON lines on stdout; access tokens redacted)');
  addLimitOptions(cmd);
  cmd.action(async (opts: ServeCliOptions) => {
    const { startServer } = await import('../../server/index.js');
    const token = opts.token ?? process.env.CLEARSIGHT_TOKEN ?? undefined;
    const start: StartOptions = {
      port: opts.port,
      host: opts.host,
      queueUrl: opts.queue,
      token: token || undefined,
      storeDir: opts.store,
      concurrency: opts.concurrency,
      logger: opts.log ?? false,
      allowHosts: opts.allowHost,
      preload: opts.preload,
      modelBudgetBytes: Math.round(opts.modelMemoryGb * 1024 ** 3),
      retention: { maxBytes: Math.round(opts.storeMaxGb * 1024 ** 3), maxAgeMs: opts.retentionHours * 3600_000 },
      limits: {
        maxUploadBytes: Math.round(opts.maxUploadMb * 1048576),
        maxPixels: Math.round(opts.maxMegapixels * 1e6),
        maxVideoSeconds: opts.maxVideoSeconds,
        jobTimeoutMs: opts.jobTimeout * 1000,
        jobMemoryBytes: Math.round(opts.jobMemoryGb * 1024 ** 3),
        maxConnections: opts.maxConnections,
        maxQueuedJobs: opts.maxQueued,
        maxQueuedPerClient: opts.maxQueuedPerClient,
        headersTimeoutMs: opts.headersTimeout * 1000,
        requestTimeoutMs: opts.requestTimeout * 1000,
      },
    };
    const server = await startServer(start);
    const loopback = /^(127\.|::1$|localhost$)/.test(opts.host);
    process.stderr.write(
      `clearsight: serving ${server.url} (web app at /, API at /api/v1, OpenAPI at /openapi.json); ` +
        `${opts.queue ? `jobs queued in ${opts.queue.replace(/\/\/[^@]*@/, '//***@')}` : 'embedded queue'}; store ${server.store.root}\n`,
    );
    if (!loopback && !start.token)
      process.stderr.write('clearsight: warning: listening beyond localhost without --token: anyone who can reach it can run jobs\n');
    const sig = await untilSignal();
    process.stderr.write(`clearsight: ${sig}, stopping\n`);
    await server.close();
  });
  return cmd;
}
