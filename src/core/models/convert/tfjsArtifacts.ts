import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tensor, type ConstTensor, type DType } from './tensor.js';

/** What a TensorFlow.js model.json says about its weights. */
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface TfjsModelJson {
  format?: string;
  modelTopology: Record<string, unknown>;
  weightsManifest: WeightsGroup[];
}

export interface TfjsArtifacts {
  readonly kind: 'graph' | 'layers';
  readonly json: TfjsModelJson;
  readonly weights: ReadonlyMap<string, ConstTensor>;
  /** sha256 over model.json and every shard, in manifest order: the cache key. */
  readonly sha256: string;
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Reads model.json and its weight shards from disk (no fetch) and decodes every weight. */
export async function loadTfjsArtifacts(modelJsonPath: string): Promise<TfjsArtifacts> {
  const jsonBytes = await readFile(modelJsonPath);
  const json = JSON.parse(jsonBytes.toString('utf8')) as TfjsModelJson;
  const hash = createHash('sha256').update(jsonBytes);
  const dir = dirname(modelJsonPath);
  const weights = new Map<string, ConstTensor>();
  for (const group of json.weightsManifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dir, p))));
    for (const shard of shards) hash.update(shard);
    decodeGroup(Buffer.concat(shards), group.weights, weights);
  }
  return { kind: detectKind(json), json, weights, sha256: hash.digest('hex') };
}

function detectKind(json: TfjsModelJson): 'graph' | 'layers' {
  if (json.format === 'graph-model' || Array.isArray((json.modelTopology as { node?: unknown }).node)) return 'graph';
  return 'layers';
}

function decodeGroup(buffer: Buffer, specs: readonly WeightSpec[], into: Map<string, ConstTensor>): void {
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization) throw new Error(`weight ${spec.name}: quantized weights are not supported`);
    const bytes = BYTES_PER_ELEMENT[spec.dtype];
    if (!bytes) throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not supported`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const end = offset + count * bytes;
    if (end > buffer.length) throw new Error(`weight ${spec.name}: shards end before its data (${end} > ${buffer.length} bytes)`);
    // Copy into an aligned buffer: shard offsets are not guaranteed to be 4-byte aligned in memory.
    const slice = new Uint8Array(buffer.subarray(offset, end));
    const dtype = spec.dtype as DType;
    const view =
      dtype === 'float32' ? new Float32Array(slice.buffer) : dtype === 'int32' ? new Int32Array(slice.buffer) : slice;
    into.set(spec.name, tensor(dtype, spec.shape, view));
    offset = end;
  }
}

/** sha256 of model.json and its shards without decoding them: the conversion cache key. */
export async function hashTfjsModel(modelJsonPath: string): Promise<string> {
  const jsonBytes = await readFile(modelJsonPath);
  const json = JSON.parse(jsonBytes.toString('utf8')) as TfjsModelJson;
  const hash = createHash('sha256').update(jsonBytes);
  const dir = dirname(modelJsonPath);
  for (const group of json.weightsManifest) {
    for (const p of group.paths) hash.update(await readFile(join(dir, p)));
  }
  return hash.digest('hex');
}
