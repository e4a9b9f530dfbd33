/**
 * Which pretrained image models a job will load, from its task and fields: the router sends a job
 * to a worker that already holds them, and `serve --preload` warms them. A job whose models
 * depend on the picture (auto, lowlight auto) names what it most likely needs; a wrong guess
 * only costs the routing preference, never correctness.
 *
 * This table belongs with the task table (each entry would declare its models); it lives here
 * until that table exists in the library.
 */
import { invalidOption } from '../../core/errors.js';
import { getModelCard } from '../../core/models/registry.js';
import { DEFAULT_DERAIN_MODEL, DERAIN_MODEL_NAMES, DERAIN_MODELS, upscaleModelName, type DerainModel } from '../../restore/index.js';
import type { EsrganScale, EsrganSize } from '../../core/models/registry.js';

/** Registry names (not ids) of the image models a job with these fields runs. */
export function jobModelNames(spec: { task: string; fields: Record<string, string> }): string[] {
  const f = spec.fields;
  switch (spec.task) {
    case 'derain': {
      const model = (DERAIN_MODELS as readonly string[]).includes(f.model) ? (f.model as DerainModel) : DEFAULT_DERAIN_MODEL;
      return [DERAIN_MODEL_NAMES[model]];
    }
    case 'dehaze':
      return f.method === 'prior' ? [] : [`maxim-dehazing-${f.variant === 'indoor' ? 'indoor' : 'outdoor'}`];
    case 'lowlight':
      return f.method === 'gamma' || f.method === 'iagc' ? [] : ['maxim-enhancement'];
    case 'denoise':
      return ['maxim-denoising'];
    case 'deblur':
      return ['maxim-deblurring'];
    case 'retouch':
      return ['maxim-retouching'];
    case 'upscale': {
      const scale = Number(f.scale ?? 4) as EsrganScale;
      const size = (f.size ?? 'slim') as EsrganSize;
      try {
        return [upscaleModelName({ scale, size })];
      } catch {
        return []; // invalid fields fail in the job itself, with the option's message
      }
    }
    default:
      return [];
  }
}

/** Card ids of a job's models, as a worker's ModelPool reports them (heldModels). */
export function jobModelIds(spec: { task: string; fields: Record<string, string> }): string[] {
  return jobModelNames(spec).flatMap((name) => {
    try {
      return [getModelCard(name).id];
    } catch {
      return [];
    }
  });
}

/** Tasks `serve --preload` accepts: those with a model to warm. */
export const PRELOADABLE_TASKS = ['derain', 'dehaze', 'lowlight', 'denoise', 'deblur', 'retouch', 'upscale'] as const;

/** Refuses a preload list naming a task without a model to warm (E_INVALID_OPTION naming it). */
export function checkPreload(tasks: readonly string[]): void {
  for (const task of tasks) {
    if (!(PRELOADABLE_TASKS as readonly string[]).includes(task)) throw invalidOption('preload', `tasks among ${PRELOADABLE_TASKS.join(', ')}`, task);
  }
}
