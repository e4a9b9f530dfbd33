/** The OpenAPI 3.1 document, generated from the task table (one POST path per task). */
import { OUTPUT_FILE_TYPES, optionsJsonSchema, optionSectionsOf, PICTURE_OUTPUT, pictureOutputFile, type TaskOutputSpec } from '../tasks/index.js';
import { TASKS, type TaskDefinition } from './registry.js';

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } },
  },
};

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** Form-field schema of a task: its options (as strings/numbers) plus the file field(s). */
export function formSchema(task: TaskDefinition): Record<string, unknown> {
  const options = optionsJsonSchema(optionSectionsOf(task, 'api'));
  const fileField =
    task.input === 'images'
      ? { files: { type: 'array', items: { type: 'string', contentMediaType: 'application/octet-stream' }, minItems: 2 } }
      : { file: { type: 'string', contentMediaType: 'application/octet-stream' } };
  const extra = Object.fromEntries(
    (task.extraInputs ?? []).map((e) => [e.field, { type: 'string', contentMediaType: 'application/octet-stream', title: e.label, description: e.help }]),
  );
  return { type: 'object', required: [...Object.keys(fileField), ...(options.required ?? [])], properties: { ...fileField, ...extra, ...options.properties } };
}

/** An output's name in words: the picture's follows `format` (output.png unless it says otherwise). */
function outputText(o: TaskOutputSpec): string {
  if (o.name !== PICTURE_OUTPUT) return o.name;
  const others = (['jpeg', 'webp', 'tiff', 'avif', 'bmp'] as const).map((f) => pictureOutputFile(f).name);
  return `${pictureOutputFile().name} (${others.join(', ')} as format says)`;
}

/** POST /api/v1/jobs/<task>: queue a job of one task. */
function submitPath(task: TaskDefinition): Record<string, unknown> {
  return {
    post: {
      operationId: `submit_${task.name.replace(/-/g, '_')}`,
      summary: task.summary,
      description:
        `Queues a ${task.name} job. Input: ${task.input}. Options are form fields; an invalid one gives 400 naming the field.` +
        (task.outputs.length
          ? ` Outputs: ${task.outputs.map((o) => `${outputText(o)} (${o.label}${o.when ? `; with ${o.when}` : ''})`).join(', ')}.`
          : ' Outputs: the JSON result only.'),
      requestBody: { required: true, content: { 'multipart/form-data': { schema: formSchema(task) } } },
      responses: {
        202: {
          description: 'queued',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['id'],
                properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string' }, events: { type: 'string' } },
              },
            },
          },
        },
        400: errorResponse('bad option, truncated or corrupt input'),
        401: errorResponse('missing or wrong API token'),
        403: errorResponse('a Host this server does not answer to, or a cross-site request'),
        409: errorResponse('watermark-embed: the picture already carries a watermark under this key (send force=true to mark it anyway)'),
        413: errorResponse("upload, pixel count, video duration or the job's memory estimate over the limit"),
        415: errorResponse('the content is not a supported image or video'),
        429: errorResponse('too many jobs queued or running (in all or from this client); see Retry-After'),
      },
    },
  };
}

/** The paths that follow, list and fetch jobs, and the task list. */
function jobPaths(): Record<string, unknown> {
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
  return {
    '/api/v1/jobs/{id}': {
      get: {
        operationId: 'getJob',
        summary: 'state, progress and result (with file URLs) of a job',
        parameters: [id],
        responses: {
          200: { description: 'the job', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } },
          404: errorResponse('no such job'),
        },
      },
      delete: {
        operationId: 'deleteJob',
        summary: 'forget a job (cancelling it if it has not finished) and delete its files from the store',
        parameters: [id],
        responses: {
          204: { description: 'deleted' },
          404: errorResponse('no such job'),
          409: errorResponse('running on a Redis worker: delete it once it ends'),
        },
      },
    },
    '/api/v1/jobs': {
      get: {
        operationId: 'listJobs',
        summary: "the caller's jobs, newest first (the caller: its API token, or its address on a server without one)",
        responses: {
          200: {
            description: 'jobs',
            content: {
              'application/json': { schema: { type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/Job' } } } } },
            },
          },
        },
      },
    },
    '/api/v1/jobs/{id}/cancel': {
      post: {
        operationId: 'cancelJob',
        summary: 'stop a queued or running job; it stays listed, failed with E_CANCELLED (a finished job is returned as it is)',
        parameters: [id],
        responses: {
          200: { description: 'the job after the cancel', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } },
          404: errorResponse('no such job'),
          409: errorResponse('running on a Redis worker: it cannot be stopped from here'),
        },
      },
    },
    '/api/v1/jobs/{id}/events': {
      get: {
        operationId: 'jobEvents',
        summary: 'server-sent events: one `status` event (a Job) per change, until done or failed',
        parameters: [id],
        responses: {
          200: { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          404: errorResponse('no such job'),
          429: errorResponse('too many event streams open on this job'),
        },
      },
    },
    '/api/v1/jobs/{id}/files/{name}': {
      get: {
        operationId: 'getJobFile',
        summary: "download one of the job's output files (names as listed in its result)",
        parameters: [id, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          200: {
            description: "the file, served with the type its result entry gives (the picture's follows the format asked for: output.jpg is image/jpeg)",
            content: Object.fromEntries(
              [
                ...new Set([
                  ...Object.values(OUTPUT_FILE_TYPES).map((t) => t.mime),
                  'application/json',
                  'application/pdf',
                  'video/mp4',
                  'image/vnd.radiance',
                  'application/octet-stream',
                ]),
              ].map((type) => [type, { schema: { type: 'string', contentMediaType: type } }]),
            ),
          },
          404: errorResponse('no such job or file'),
          409: errorResponse('job not finished'),
          410: errorResponse('removed from the store by retention (age or size budget)'),
        },
      },
    },
    '/api/v1/tasks': {
      get: {
        operationId: 'listTasks',
        summary: 'tasks of this server (available or not) with their option schemas',
        responses: { 200: { description: 'tasks', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  };
}

/** A job as GET /api/v1/jobs/{id} returns it. */
const jobSchema = {
  type: 'object',
  required: ['id', 'task', 'state', 'progress', 'result'],
  properties: {
    id: { type: 'string' },
    task: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
    progress: {
      type: ['object', 'null'],
      properties: {
        stage: { type: 'string' },
        done: { type: 'number' },
        total: { type: 'number' },
        fraction: {
          type: 'number',
          description:
            "the whole job, 0 to 1, never going back, 1 only when done: each stage weighted ('decode', 'prepare model' with 'convert model' inside it the first time, the work: 'tiles', 'frames' ..., 'encode'; auto: 'analyze', then one step per expert)",
        },
        etaSeconds: { type: 'number', description: 'seconds left in the current stage (done/total of it), when known' },
        totalEtaSeconds: { type: 'number', description: 'seconds left in the whole job, at the current stage rate over the weights still ahead, when known' },
      },
    },
    result: {
      type: ['object', 'null'],
      properties: {
        files: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              url: { type: 'string' },
              type: { type: 'string' },
              role: { type: 'string', enum: ['output', 'map', 'report'] },
              label: { type: 'string' },
              sha256: { type: 'string' },
              bytes: { type: 'integer' },
            },
          },
        },
        seconds: { type: 'number' },
      },
      additionalProperties: true,
    },
    error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
    attempts: { type: 'integer' },
  },
};

export function buildOpenApi(version: string, token: boolean): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const task of TASKS.values()) {
    paths[`/api/v1/jobs/${task.name}`] = submitPath(task);
  }
  Object.assign(paths, jobPaths());
  return {
    openapi: '3.1.0',
    info: { title: 'clearsight', version, description: 'Restore pictures and check media: queue a job, follow its progress, download the results.' },
    paths,
    components: {
      schemas: {
        Error: errorSchema,
        Job: jobSchema,
      },
      ...(token ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}),
    },
    ...(token ? { security: [{ bearer: [] }] } : {}),
  };
}
