import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ClearsightError, ERROR_CODES } from '../errors.js';

/**
 * Models trained in this repository (training/ writes them; see training/README.md).
 *
 * Each lives in `models/<name>/` beside the package: `model.onnx` (exported from PyTorch with
 * dynamic height and width), `card.json` (this schema), `golden.json` (a seeded input and the
 * output PyTorch gave for it: the parity test runs the ONNX on it) and `loss.png`.
 * Cards are data, validated here, so a malformed card fails loudly instead of half-loading.
 */

/** The folder of trained models: `<package root>/models` from both src/ and dist/. */
export const TRAINED_MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models');

const figure = z.object({
  dataset: z.string(),
  /** How the evaluation data relates to training: `cross-source` (a source never trained on), `held-out` (same source, unseen items), `training`. */
  split: z.enum(['cross-source', 'held-out', 'training']),
  metric: z.string(),
  value: z.number(),
  /**
   * The same metric for the reference (teacher or baseline) measured in the same run, when there is one;
   * `run` says where it was measured when it was not this run (an earlier run's figure, reused).
   */
  reference: z.object({ name: z.string(), value: z.number(), run: z.string().optional() }).optional(),
  note: z.string().optional(),
  command: z.string(),
});

const trainedCardSchema = z.object({
  format: z.literal('clearsight-trained-model/1'),
  name: z.string().regex(/^[a-z0-9-]+$/),
  version: z.string(),
  /** One of the registry's ModelTask values (the id is `task/name@version`). */
  task: z.enum(['derain', 'dehaze', 'lowlight', 'denoise', 'deblur', 'retouch', 'upscale', 'analyze', 'liveness', 'forensics', 'vsr', 'face']),
  /** `image`: NHWC image in, NHWC image out (ImageModel). `tensor`: named tensors in and out (TrainedModel.run). */
  kind: z.enum(['image', 'tensor']),
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  architecture: z.string(),
  params: z.number().int().positive(),
  flopsPerMegapixel: z.number().nonnegative(),
  io: z.object({
    inputs: z.array(z.object({ name: z.string(), shape: z.array(z.union([z.number(), z.string()])), range: z.tuple([z.number(), z.number()]).optional() })),
    outputs: z.array(z.object({ name: z.string(), shape: z.array(z.union([z.number(), z.string()])), meaning: z.string().optional() })),
    divisibility: z.number().int().positive().default(1),
    scale: z.number().positive().default(1),
    maxTile: z.number().int().positive().default(512),
    /** Smallest tile worth feeding: below it the network sees too little context (see expertTilePlan). */
    minTile: z.number().int().positive().default(64),
    overlap: z.number().int().nonnegative().default(16),
  }),
  training: z.object({
    data: z.array(z.object({ source: z.string(), count: z.number().int().nonnegative(), manifestSha256: z.string().optional(), role: z.string().optional() })),
    split: z.string(),
    seed: z.number().int(),
    command: z.string(),
    steps: z.number().int().nonnegative(),
    wallTimeSeconds: z.number().nonnegative(),
    machine: z.string(),
    lossCurve: z.string().optional(),
    teacher: z.string().optional(),
  }),
  quality: z.array(figure),
  speed: z
    .array(
      z.object({
        what: z.string(),
        value: z.number(),
        unit: z.string(),
        reference: z.object({ name: z.string(), value: z.number() }).optional(),
        command: z.string(),
      }),
    )
    .default([]),
  golden: z.string(),
  licence: z.string().default('MIT'),
  paper: z.string().default(''),
  notes: z.array(z.string()).default([]),
});

export type TrainedCard = z.infer<typeof trainedCardSchema> & { readonly dir: string };

/** Parses and checks one card; `dir` is where its files live. Throws E_MODEL_NOT_FOUND naming what is wrong. */
export function parseTrainedCard(json: unknown, dir: string): TrainedCard {
  const parsed = trainedCardSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model card ${join(dir, 'card.json')} is invalid at "${issue.path.join('.')}": ${issue.message}`, {
      dir,
    });
  }
  return { ...parsed.data, dir };
}

/** Every trained model's card, read from `dir` (default: the package's models/ folder). */
export function listTrainedCards(dir = TRAINED_MODELS_DIR): TrainedCard[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'card.json')))
    .map((e) => e.name)
    .sort()
    .map((name) => parseTrainedCard(JSON.parse(readFileSync(join(dir, name, 'card.json'), 'utf8')), join(dir, name)));
}

/** The ONNX bytes of a trained model, checked against the card's sha256 (a stale or damaged file fails here, not in a numeric surprise). */
export function readTrainedOnnx(card: TrainedCard): Uint8Array {
  const path = join(card.dir, card.file);
  if (!existsSync(path)) throw new ClearsightError(ERROR_CODES.MODEL_NOT_FOUND, `model file ${path} is missing`, { model: card.name });
  const bytes = readFileSync(path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== card.sha256) {
    throw new ClearsightError(
      ERROR_CODES.MODEL_NOT_FOUND,
      `model file ${path} does not match its card (sha256 ${sha.slice(0, 12)}…, card says ${card.sha256.slice(0, 12)}…)`,
      { model: card.name },
    );
  }
  return bytes;
}

export interface GoldenTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The golden pair written at export: seeded inputs and the outputs PyTorch computed for them. */
export function readGolden(card: TrainedCard): { inputs: GoldenTensor[]; outputs: GoldenTensor[]; tolerance: number } {
  const raw = JSON.parse(readFileSync(join(card.dir, card.golden), 'utf8')) as {
    tolerance?: number;
    inputs: Array<{ name: string; shape: number[]; base64: string }>;
    outputs: Array<{ name: string; shape: number[]; base64: string }>;
  };
  const decode = (t: { name: string; shape: number[]; base64: string }): GoldenTensor => {
    const bytes = Buffer.from(t.base64, 'base64');
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new ClearsightError(
        ERROR_CODES.MODEL_NOT_FOUND,
        `golden tensor ${t.name} of ${card.name} has ${data.length} values for shape ${t.shape.join('x')}`,
      );
    }
    return { name: t.name, shape: t.shape, data };
  };
  return { inputs: raw.inputs.map(decode), outputs: raw.outputs.map(decode), tolerance: raw.tolerance ?? 1e-4 };
}
