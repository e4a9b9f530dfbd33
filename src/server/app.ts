/**
 * The HTTP API and the web app (fastify).
 *
 *   POST /api/v1/jobs/{task}          multipart: `file` (or `files` for multi-image tasks) + option fields -> 202 {"id"}
 *   GET  /api/v1/jobs/{id}            {"id","task","state","progress","result","error","attempts"}
 *   GET  /api/v1/jobs/{id}/events     server-sent events, one `status` event per change
 *   GET  /api/v1/jobs/{id}/files/{n}  an output file, by a name from the job's own result only
 *   GET  /api/v1/jobs                 the caller's jobs, newest first (the caller: its API token, or its address)
 *   POST /api/v1/jobs/{id}/cancel     stop a queued or running job; it stays listed as failed (E_CANCELLED)
 *   DELETE /api/v1/jobs/{id}          forget a job (cancel it if still queued or running) and delete its files
 *   GET  /api/v1/tasks                the registry (plus planned tasks marked unavailable)
 *   GET  /openapi.json                OpenAPI 3.1, generated from the registry
 *   GET  /                            the web app (web/)
 *
 * Nothing from a request becomes a path: uploads are received under random temp names and
 * published by digest, job ids must be UUIDs, file names are looked up in the job's result and
 * served by the digest recorded there, web files come from a table read at start-up.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart, { type MultipartFile } from '@fastify/multipart';
import { listedOutputs, optionsJsonSchema, optionSectionsOf } from '../tasks/index.js';
import type { Writable } from 'node:stream';
import { crossSiteReason, givenToken, hostAllowed, hostName, needsToken, redactUrl, sameToken } from './guard.js';
import { asHttp, DEFAULT_LIMITS, HttpError, inspectUpload, trimTrailingData, type ServerLimits } from './limits.js';
import { buildOpenApi } from './openapi.js';
import { estimateJobMemory, getTask, parseTaskOptions, PLANNED_TASKS, TASKS, type TaskDefinition } from './registry.js';
import type { ContentStore } from './store.js';
import type { JobQueue } from './jobs/queue.js';
import { isJobId, type JobInput, type JobStatus } from './jobs/types.js';

export interface ServerOptions {
  queue: JobQueue;
  store: ContentStore;
  limits?: Partial<ServerLimits>;
  /** When set, /api/ requires `Authorization: Bearer <token>` (or `?access_token=` for SSE and downloads). */
  token?: string;
  /** Directory of the web app (default: web/ in the package). */
  webDir?: string;
  logger?: boolean;
  /** Where the request log goes (default stdout); tests capture it. */
  logStream?: Writable;
  version?: string;
  /**
   * Host names this server answers to (Host header and absolute-form request lines); others get
   * 403. Undefined: any host (a server beyond localhost without --allow-host). startServer sets
   * the loopback names on a localhost bind: a DNS-rebinding page cannot reach the API.
   */
  allowedHosts?: readonly string[];
  /** Called after a job's blobs may have been added or removed (store retention runs). */
  onStoreChange?: () => void;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The web app's files, read once: the only static paths the server answers. */
function loadWebFiles(dir: string): Map<string, { bytes: Buffer; type: string }> {
  const files = new Map<string, { bytes: Buffer; type: string }>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return files;
  }
  for (const name of names) {
    const type = MIME[extname(name)];
    if (type && /^[a-zA-Z0-9._-]+$/.test(name)) files.set(name, { bytes: readFileSync(join(dir, name)), type });
  }
  return files;
}

function defaultWebDir(): string {
  // Same relative place from src/server/ and dist/server/.
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

const fileUrl = (id: string, name: string) => `/api/v1/jobs/${id}/files/${encodeURIComponent(name)}`;

/**
 * A job as the API shows it: result files carry their download URLs; progress the whole job's
 * fraction (stages weighted by the worker, core/progress.ts), 1 once done.
 */
export function jobView(s: JobStatus): Record<string, unknown> {
  const progress = s.progress ? { ...s.progress, fraction: s.state === 'done' ? 1 : (s.progress.fraction ?? 0) } : null;
  const result = s.result ? { ...s.result.result, files: s.result.files.map((f) => ({ ...f, url: fileUrl(s.id, f.name) })), seconds: s.result.seconds } : null;
  return { id: s.id, task: s.task, state: s.state, progress, result, error: s.error, attempts: s.attempts };
}

const terminal = (s: JobStatus) => s.state === 'done' || s.state === 'failed';

/** Re-hashes a file (after trailing data was cut off). */
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A malformed multipart body (busboy: "Unexpected end of form", "Boundary not found", a part cut
 * short) is the client's fault: 400, not 500. File-system errors (they carry a syscall) stay 500.
 */
function multipartFailure(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  const e = err as NodeJS.ErrnoException & { statusCode?: number };
  if (e && typeof e === 'object' && (e.syscall || (e.statusCode && e.statusCode !== 500) || (typeof e.code === 'string' && e.code.startsWith('E_'))))
    return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HttpError(400, 'E_MALFORMED_REQUEST', `The multipart/form-data body is malformed: ${message.slice(0, 200)}`);
}

const sizeText = (bytes: number) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

/** Client address for the per-client queue cap. */
const clientOf = (req: FastifyRequest) => req.ip || 'unknown';

/** What the routes share: the options, the limits, and this server's own book-keeping of jobs. */
interface ServerContext {
  opts: ServerOptions;
  limits: ServerLimits;
  queue: JobQueue;
  store: ContentStore;
  /** Jobs queued or running that this server accepted, per client address (queue caps). */
  inFlight: Map<string, Set<string>>;
  inFlightTotal: number;
  /** Event streams open per job. */
  streams: Map<string, number>;
  /**
   * Who submitted each job this server accepted, for GET /api/v1/jobs. One server token is one
   * principal, so the owner is the token's digest when a token is set, else the client address
   * (a localhost server without a token: each address sees its own jobs). Single jobs stay
   * reachable by their unguessable id, as before.
   */
  owners: Map<string, { owner: string; createdAt: string; inputs: string[] }>;
  /** Per job counted against its client: ends the count (once). */
  releases: Map<string, () => void>;
}

type SubmitRequest = FastifyRequest<{ Params: { task: string } }>;
interface ReceivedUpload {
  tmp: string;
  sha256: string;
  bytes: number;
  clientName: string;
  field?: string;
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const ctx: ServerContext = {
    opts,
    limits,
    queue: opts.queue,
    store: opts.store,
    inFlight: new Map(),
    inFlightTotal: 0,
    streams: new Map(),
    owners: new Map(),
    releases: new Map(),
  };
  const version = opts.version ?? packageVersion();
  const web = loadWebFiles(opts.webDir ?? defaultWebDir());
  const openapi = buildOpenApi(version, Boolean(opts.token));
  const app = await createApp(opts, limits);
  installErrorHandlers(app, limits, opts.store);
  installGuard(app, opts);
  registerWebRoutes(app, ctx, web, openapi, version);
  registerSubmitRoute(app, ctx);
  registerJobRoutes(app, ctx);
  app.addHook('onClose', async () => {
    for (const release of [...ctx.releases.values()]) release();
  });
  return app;
}

function ownerOf(ctx: ServerContext, req: FastifyRequest): string {
  const given = ctx.opts.token ? givenToken(req.headers.authorization, req.query) : undefined;
  return given ? `token:${createHash('sha256').update(given).digest('hex')}` : `addr:${clientOf(req)}`;
}

/** The fastify instance with its limits and the multipart parser. */
async function createApp(opts: ServerOptions, limits: ServerLimits): Promise<FastifyInstance> {
  // forceCloseConnections: open event streams must not keep a stopping server alive.
  // Timeouts (slow clients): node checks them every connectionsCheckingInterval, so that interval
  // bounds how late a slow-header or slow-body client is cut (node's default of 30 s made it 83/132 s).
  const app = Fastify({
    logger: opts.logger
      ? {
          ...(opts.logStream ? { stream: opts.logStream } : {}),
          // The default serializer logs req.url as sent: ?access_token=... would land in the log.
          serializers: { req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }) },
        }
      : false,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 4)) } as never,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
  });
  app.server.maxConnections = limits.maxConnections;
  await app.register(multipart, {
    limits: { fileSize: limits.maxUploadBytes, files: limits.maxFiles, fields: 32, fieldSize: 4096, parts: limits.maxFiles + 32, headerPairs: 100 },
  });
  return app;
}

/** Every error as {"error": {"code", "message", "field"}} with its status; unknown routes 404. */
function installErrorHandlers(app: FastifyInstance, limits: ServerLimits, store: ContentStore): void {
  const scrub = (message: string) => message.split(store.root).join('<store>');
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err.code === 'FST_REQ_FILE_TOO_LARGE')
      e = new HttpError(413, 'E_INPUT_TOO_LARGE', `The upload is larger than this server's limit of ${(limits.maxUploadBytes / 1048576).toFixed(1)} MiB`);
    else if (err.code === 'FST_FILES_LIMIT') e = new HttpError(413, 'E_INPUT_TOO_LARGE', `Too many files in one request (limit ${limits.maxFiles})`);
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) e = new HttpError(err.statusCode, err.code ?? 'E_BAD_REQUEST', err.message);
    else e = asHttp(err);
    if (e.statusCode >= 500) app.log.error(err);
    if (e.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.retryAfterSeconds));
    // Internal store paths never reach a client (library messages may name the file they read).
    void reply.code(e.statusCode).send({ error: { code: e.code, message: scrub(e.message), ...(e.field ? { field: e.field } : {}) } });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0].slice(0, 200)}` } });
  });
}

/** One gate for every request, on the route the router resolved (see guard.ts): Host, Origin, token. */
function installGuard(app: FastifyInstance, opts: ServerOptions): void {
  const allowedHosts = opts.allowedHosts;
  const token = opts.token;
  app.addHook('onRequest', async (req) => {
    if (allowedHosts) assertHostAllowed(req, allowedHosts);
    const crossSite = crossSiteReason(req.method, req.headers.origin, req.headers.host, req.headers['sec-fetch-site'] as string | undefined);
    if (crossSite)
      throw new HttpError(403, 'E_CROSS_ORIGIN', `Refused ${crossSite}: jobs are submitted and deleted from this server's own pages or without a browser`);
    if (token && needsToken(req.routeOptions.url)) {
      const given = givenToken(req.headers.authorization, req.query);
      if (!given || !sameToken(given, token))
        throw new HttpError(401, 'E_UNAUTHORIZED', 'This server needs an API token: send "Authorization: Bearer <token>"');
    }
  });
}

function assertHostAllowed(req: FastifyRequest, allowedHosts: readonly string[]): void {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(req.raw.url ?? '')?.[1];
  // Absolute-form request lines name their host in the URL, and that one wins over Host.
  const authorities = [req.headers.host ?? '', ...(absolute !== undefined ? [absolute] : [])];
  for (const authority of authorities) {
    const name = hostName(authority.replace(/^[^@]*@/, ''));
    if (!hostAllowed(name, allowedHosts)) {
      throw new HttpError(
        403,
        'E_FORBIDDEN_HOST',
        `This server does not answer to host ${JSON.stringify(authority.slice(0, 100))}; it serves ${allowedHosts.join(', ')} (add a name with --allow-host)`,
      );
    }
  }
}

/** The web app, the OpenAPI document, the health check and the task list. */
function registerWebRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  web: Map<string, { bytes: Buffer; type: string }>,
  openapi: Record<string, unknown>,
  version: string,
): void {
  const { limits } = ctx;
  const sendWeb = (reply: FastifyReply, name: string) => {
    const f = web.get(name);
    if (!f) throw new HttpError(404, 'E_NOT_FOUND', `No file ${name.slice(0, 100)}`);
    return reply.type(f.type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(f.bytes);
  };
  app.get('/', async (_req, reply) => sendWeb(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/:file', async (req, reply) => sendWeb(reply, req.params.file));
  app.get('/openapi.json', async () => openapi);
  app.get('/healthz', async () => ({ ok: true, version }));

  app.get('/api/v1/tasks', async () => ({
    tasks: [
      ...[...TASKS.values()].map((t) => ({
        name: t.name,
        summary: t.summary,
        input: t.input,
        available: true,
        options: optionsJsonSchema(optionSectionsOf(t, 'api')),
        extraInputs: t.extraInputs ?? [],
        outputs: listedOutputs(t),
      })),
      ...PLANNED_TASKS.filter((p) => !TASKS.has(p.name)).map((p) => ({ ...p, available: false, options: null })),
    ],
    limits: { maxUploadBytes: limits.maxUploadBytes, maxPixels: limits.maxPixels, maxVideoSeconds: limits.maxVideoSeconds, jobTimeoutMs: limits.jobTimeoutMs },
  }));
}

/** POST /api/v1/jobs/{task}: receive the upload, check it, store it by digest and queue the job. */
function registerSubmitRoute(app: FastifyInstance, ctx: ServerContext): void {
  const { limits, queue, store, opts } = ctx;
  app.post<{ Params: { task: string } }>('/api/v1/jobs/:task', async (req, reply) => {
    const task = knownTask(req.params.task);
    if (!req.isMultipart()) throw new HttpError(415, 'E_INPUT_UNSUPPORTED', 'Send the upload as multipart/form-data (field "file", options as fields)');
    // Queue caps, checked before the upload is read: a flood costs the server nothing but the 429.
    const client = clientOf(req);
    assertQueueRoom(ctx, client);
    const fileField = task.input === 'images' ? 'files' : 'file';
    const received: ReceivedUpload[] = [];
    try {
      const fields = await receiveParts(req, task, ctx, received);
      // Main inputs first, extra inputs after them (the order the task sees).
      received.sort((a, b) => Number(a.field !== undefined) - Number(b.field !== undefined));
      const mainCount = received.filter((r) => r.field === undefined).length;
      if (mainCount === 0) throw new HttpError(400, 'E_INVALID_OPTION', `Missing the file: send it in the multipart field "${fileField}"`, fileField);
      if (task.input === 'images' && mainCount < 2)
        throw new HttpError(400, 'E_INVALID_OPTION', `Task ${task.name} needs at least 2 files in "${fileField}"`, fileField);
      const parsed = parseTaskOptions(task, fields);
      if (!parsed.ok) throw new HttpError(400, 'E_INVALID_OPTION', parsed.message, parsed.field);
      const inputs = await inspectInputs(task, received, mainCount, fileField, limits);
      assertJobMemory(task, fields, inputs, fileField, limits);
      // Pinned from publication until queued: a retention pass in between must not remove them.
      for (const r of received) store.pin(r.sha256);
      let id: string;
      try {
        for (const r of received) await store.adopt(r.tmp, r.sha256);
        id = await queue.add({ task: task.name, inputs, fields, owner: ownerOf(ctx, req), submittedAt: new Date().toISOString() });
      } finally {
        for (const r of received) store.unpin(r.sha256);
      }
      track(ctx, client, id);
      ctx.owners.set(id, { owner: ownerOf(ctx, req), createdAt: new Date().toISOString(), inputs: inputs.map((i) => i.clientName ?? '') });
      opts.onStoreChange?.();
      return reply
        .code(202)
        .header('location', `/api/v1/jobs/${id}`)
        .send({ id, status: `/api/v1/jobs/${id}`, events: `/api/v1/jobs/${id}/events` });
    } catch (err) {
      // A refused request leaves nothing behind.
      for (const r of received) await store.discard(r.tmp);
      throw err;
    }
  });
}

/** The task of a submission: 404 for an unknown one (and a planned one this server lacks). */
function knownTask(name: string): TaskDefinition {
  const task = getTask(name);
  if (!task) {
    const planned = PLANNED_TASKS.some((p) => p.name === name);
    throw new HttpError(
      404,
      'E_UNKNOWN_TASK',
      planned ? `Task "${name}" is not available on this server` : `Unknown task "${name.slice(0, 60)}"; see GET /api/v1/tasks`,
    );
  }
  return task;
}

/** 429 when the server, or this client, has as many jobs queued or running as allowed. */
function assertQueueRoom(ctx: ServerContext, client: string): void {
  const { limits } = ctx;
  if (ctx.inFlightTotal >= limits.maxQueuedJobs)
    throw new HttpError(
      429,
      'E_QUEUE_FULL',
      `The server has ${ctx.inFlightTotal} jobs queued or running (limit ${limits.maxQueuedJobs}); try again later`,
      undefined,
      5,
    );
  if ((ctx.inFlight.get(client)?.size ?? 0) >= limits.maxQueuedPerClient) {
    throw new HttpError(
      429,
      'E_QUEUE_FULL',
      `You have ${ctx.inFlight.get(client)!.size} jobs queued or running (limit ${limits.maxQueuedPerClient} per client); wait for some to finish`,
      undefined,
      5,
    );
  }
}

/**
 * Reads the multipart body: files into the store's temp area (appended to `received`, which the
 * caller discards on failure), option fields returned. Unexpected or repeated fields are refused.
 */
async function receiveParts(req: SubmitRequest, task: TaskDefinition, ctx: ServerContext, received: ReceivedUpload[]): Promise<Record<string, string>> {
  const fileField = task.input === 'images' ? 'files' : 'file';
  const extraFields = new Set((task.extraInputs ?? []).map((e) => e.field));
  const fields: Record<string, string> = {};
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (extraFields.has(part.fieldname)) {
          // An optional second input (liveness `enrolled`): one file in its own field.
          if (received.some((r) => r.field === part.fieldname)) {
            part.file.resume();
            throw new HttpError(400, 'E_INVALID_OPTION', `Only one file goes in "${part.fieldname}" for task ${task.name}`, part.fieldname);
          }
          await receiveFile(ctx, part, received, part.fieldname, part.fieldname);
          continue;
        }
        if (part.fieldname !== fileField) {
          part.file.resume();
          const also = extraFields.size ? ` (and optionally ${[...extraFields].map((f) => `"${f}"`).join(', ')})` : '';
          throw new HttpError(
            400,
            'E_INVALID_OPTION',
            `Unexpected file field "${part.fieldname.slice(0, 60)}"; this task takes its input in "${fileField}"${also}`,
            part.fieldname,
          );
        }
        if (task.input !== 'images' && received.some((r) => r.field === undefined)) {
          part.file.resume();
          throw new HttpError(400, 'E_INVALID_OPTION', `Only one file goes in "${fileField}" for task ${task.name}`, fileField);
        }
        await receiveFile(ctx, part, received, undefined, fileField);
      } else {
        if (Object.hasOwn(fields, part.fieldname))
          throw new HttpError(400, 'E_INVALID_OPTION', `Option "${part.fieldname.slice(0, 60)}" given twice`, part.fieldname);
        fields[part.fieldname] = String(part.value);
      }
    }
  } catch (err) {
    throw multipartFailure(err);
  }
  return fields;
}

/** One file part into the store's temp area (recorded in `received` even when cut short: 413). */
async function receiveFile(ctx: ServerContext, part: MultipartFile, received: ReceivedUpload[], field: string | undefined, errorField: string): Promise<void> {
  const r = await ctx.store.receive(part.file);
  received.push({ ...r, clientName: part.filename.slice(0, 200), ...(field !== undefined ? { field } : {}) });
  if (part.file.truncated)
    throw new HttpError(
      413,
      'E_INPUT_TOO_LARGE',
      `The upload is larger than this server's limit of ${(ctx.limits.maxUploadBytes / 1048576).toFixed(1)} MiB`,
      errorField,
    );
}

/** Each upload checked against what the task takes (kind, pixels, duration), trailing data cut off: the job's inputs. */
async function inspectInputs(
  task: TaskDefinition,
  received: ReceivedUpload[],
  mainCount: number,
  fileField: string,
  limits: ServerLimits,
): Promise<JobInput[]> {
  const inputs: JobInput[] = [];
  for (const [i, r] of received.entries()) {
    const label = r.field ?? (mainCount > 1 ? `${fileField}[${i}]` : fileField);
    const kind = r.field ? task.extraInputs!.find((e) => e.field === r.field)!.kind : task.input;
    const inspected = await inspectUpload(r.tmp, r.bytes, kind, limits, label);
    // Bytes after the image's own end (a PNG padded with 45 MiB of zeros, a motion photo's
    // video) are cut off before the file is stored: the store keeps the picture only.
    if (inspected.kind === 'image' && inspected.format && (await trimTrailingData(r.tmp, inspected.format, r.bytes)) !== undefined) {
      r.sha256 = await sha256File(r.tmp);
    }
    inputs.push({
      sha256: r.sha256,
      kind: inspected.kind,
      ...(inspected.pixels ? { pixels: inspected.pixels } : {}),
      clientName: r.clientName,
      ...(r.field ? { field: r.field } : {}),
    });
  }
  return inputs;
}

/** 413 when the job's memory estimate is over the server's budget. */
function assertJobMemory(task: TaskDefinition, fields: Record<string, string>, inputs: JobInput[], fileField: string, limits: ServerLimits): void {
  const need = estimateJobMemory({ task: task.name, fields, inputs });
  if (need > limits.jobMemoryBytes) {
    const px = inputs.reduce((s, i) => s + (i.pixels ?? 0), 0);
    throw new HttpError(
      413,
      'E_INPUT_TOO_LARGE',
      `This ${task.name} job would need about ${sizeText(need)} of memory (${(px / 1e6).toFixed(1)} megapixels), more than this server's job memory budget of ${sizeText(limits.jobMemoryBytes)}; send a smaller input or choose lighter options`,
      fileField,
    );
  }
}

/** Counts the job against its client until it ends (queue caps). */
function track(ctx: ServerContext, client: string, id: string): void {
  const { inFlight, releases, queue, opts } = ctx;
  let set = inFlight.get(client);
  if (!set) {
    set = new Set();
    inFlight.set(client, set);
  }
  set.add(id);
  ctx.inFlightTotal++;
  let unsubscribe: (() => void) | undefined;
  const release = () => {
    if (!set.delete(id)) return;
    releases.delete(id);
    ctx.inFlightTotal--;
    if (set.size === 0) inFlight.delete(client);
    unsubscribe?.();
    opts.onStoreChange?.();
  };
  unsubscribe = queue.subscribe(id, (s) => {
    if (terminal(s)) release();
  });
  releases.set(id, release);
  // A job that ended before the subscription took hold.
  void queue.get(id).then((s) => {
    if (!s || terminal(s)) release();
  });
}

async function findJob(ctx: ServerContext, id: string): Promise<JobStatus> {
  if (!isJobId(id)) throw new HttpError(404, 'E_NOT_FOUND', 'No such job (job ids are UUIDs)');
  const s = await ctx.queue.get(id);
  if (!s) throw new HttpError(404, 'E_NOT_FOUND', `No job ${id}`);
  return s;
}

/** The most jobs GET /api/v1/jobs lists (the caller's newest). */
const JOB_LIST_LIMIT = 200;

/** GET, list, cancel, follow (events), download from and delete jobs. */
function registerJobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { queue, store, opts, owners, releases } = ctx;
  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req) => jobView(await findJob(ctx, req.params.id)));

  app.get('/api/v1/jobs', async (req) => {
    const me = ownerOf(ctx, req);
    // From the queue where it can list (both of ours: the list survives restarts and covers every
    // server in front of one Redis); else what this process saw submitted.
    if (queue.list) return { jobs: (await queue.list(me, JOB_LIST_LIMIT)).map((j) => ({ ...jobView(j.status), createdAt: j.createdAt, inputs: j.inputs })) };
    const jobs: Array<Record<string, unknown>> = [];
    for (const [id, o] of [...owners].reverse()) {
      if (o.owner !== me) continue;
      const s = await queue.get(id);
      if (!s) {
        owners.delete(id); // forgotten by the queue (deleted, or expired)
        continue;
      }
      jobs.push({ ...jobView(s), createdAt: o.createdAt, inputs: o.inputs });
    }
    return { jobs };
  });

  app.post<{ Params: { id: string } }>('/api/v1/jobs/:id/cancel', async (req, reply) => {
    const s = await findJob(ctx, req.params.id);
    if (terminal(s)) return reply.code(200).send(jobView(s));
    const outcome = queue.cancel ? await queue.cancel(s.id) : 'busy';
    if (outcome === 'not-found') throw new HttpError(404, 'E_NOT_FOUND', `No job ${s.id}`);
    if (outcome === 'busy') throw new HttpError(409, 'E_JOB_RUNNING', `Job ${s.id} cannot be stopped by this queue where it runs; delete it once it ends`);
    releases.get(s.id)?.();
    return reply.code(200).send(jobView((await queue.get(s.id)) ?? s));
  });

  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id/events', async (req: FastifyRequest<{ Params: { id: string } }>, reply) =>
    streamEvents(ctx, req, reply),
  );

  app.get<{ Params: { id: string; name: string } }>('/api/v1/jobs/:id/files/:name', async (req, reply) => {
    const s = await findJob(ctx, req.params.id);
    if (s.state !== 'done' || !s.result) throw new HttpError(409, 'E_NOT_READY', `Job ${s.id} is ${s.state}; its files exist once it is done`);
    const file = s.result.files.find((f) => f.name === req.params.name);
    if (!file)
      throw new HttpError(
        404,
        'E_NOT_FOUND',
        `Job ${s.id} has no file named ${JSON.stringify(req.params.name.slice(0, 100))}; it has ${s.result.files.map((f) => f.name).join(', ')}`,
      );
    if (!(await store.has(file.sha256)))
      throw new HttpError(410, 'E_EXPIRED', `The file ${file.name} of job ${s.id} was removed from the store (retention: age or size budget)`);
    return reply
      .type(file.type)
      .header('content-length', file.bytes)
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', `${'download' in (req.query as object) ? 'attachment' : 'inline'}; filename="${s.task}-${file.name}"`)
      .header('cache-control', 'private, max-age=31536000, immutable')
      .send(store.read(file.sha256));
  });

  app.delete<{ Params: { id: string } }>('/api/v1/jobs/:id', async (req, reply) => {
    if (!isJobId(req.params.id)) throw new HttpError(404, 'E_NOT_FOUND', 'No such job (job ids are UUIDs)');
    const removal = await queue.remove(req.params.id);
    if (removal.outcome === 'not-found') throw new HttpError(404, 'E_NOT_FOUND', `No job ${req.params.id}`);
    if (removal.outcome === 'busy')
      throw new HttpError(409, 'E_JOB_RUNNING', `Job ${req.params.id} is running on a worker and cannot be removed until it ends`);
    releases.get(req.params.id)?.();
    owners.delete(req.params.id);
    for (const sha of removal.blobs) await store.remove(sha);
    opts.onStoreChange?.();
    return reply.code(204).send();
  });
}

/** Server-sent events: one `status` event per change of the job, until it ends (capped streams per job). */
async function streamEvents(ctx: ServerContext, req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<void> {
  const { streams, limits, queue } = ctx;
  await findJob(ctx, req.params.id);
  const id = req.params.id;
  const open = streams.get(id) ?? 0;
  if (open >= limits.maxStreamsPerJob)
    throw new HttpError(
      429,
      'E_TOO_MANY_STREAMS',
      `Job ${id} already has ${open} event streams open (limit ${limits.maxStreamsPerJob}); close one or poll GET /api/v1/jobs/${id}`,
      undefined,
      5,
    );
  streams.set(id, open + 1);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let closed = false;
  const send = (s: JobStatus) => {
    if (closed) return;
    raw.write(`event: status\ndata: ${JSON.stringify(jobView(s))}\n\n`);
    if (terminal(s)) finish();
  };
  // More often than the idle timeout, which would otherwise close a quiet stream.
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), Math.min(15_000, limits.idleTimeoutMs / 2));
  const unsubscribe = queue.subscribe(id, send);
  const finish = () => {
    if (closed) return;
    closed = true;
    const left = (streams.get(id) ?? 1) - 1;
    if (left > 0) streams.set(id, left);
    else streams.delete(id);
    clearInterval(heartbeat);
    unsubscribe();
    raw.end();
  };
  req.raw.on('close', finish);
  // Subscribed first, then the current state: no change can fall between the two.
  const now = await queue.get(id);
  if (now) send(now);
}
