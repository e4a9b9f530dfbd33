import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tensor, type ConstTensor, type DType } from './tensor.js';
import { conversionFailed } from './fail.js';

/** What a TensorFlow.js model.json says about its weights. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: Quantization;
}

/** tfjs weight quantisation: `float16` halves, or affine `uint8`/`uint16` codes (value = code * scale + min). */
interface Quantization {
  dtype: string;
  scale?: number;
  min?: number;
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

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint16: 2, uint8: 1 };

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
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const storedAs = spec.quantization?.dtype ?? spec.dtype;
    const bytes = BYTES_PER_ELEMENT[storedAs];
    if (!bytes) throw conversionFailed(`weight ${spec.name}: ${spec.quantization ? 'quantization' : 'dtype'} ${storedAs} is not supported`);
    const end = offset + count * bytes;
    if (end > buffer.length) throw conversionFailed(`weight ${spec.name}: shards end before its data (${end} > ${buffer.length} bytes)`);
    // Copy into an aligned buffer: shard offsets are not guaranteed to be 4-byte aligned in memory.
    const slice = new Uint8Array(buffer.subarray(offset, end));
    into.set(spec.name, decodeWeight(spec, slice));
    offset = end;
  }
}

/** One weight's bytes -> its float32/int32/bool values, dequantised exactly as tfjs' io does. */
export function decodeWeight(spec: WeightSpec, bytes: Uint8Array): ConstTensor {
  const q = spec.quantization;
  if (!q) {
    const dtype = spec.dtype as DType;
    const view = dtype === 'float32' ? new Float32Array(bytes.buffer) : dtype === 'int32' ? new Int32Array(bytes.buffer) : bytes;
    return tensor(dtype, spec.shape, view);
  }
  if (q.dtype === 'float16') {
    if (spec.dtype !== 'float32') throw conversionFailed(`weight ${spec.name}: float16 quantization of ${spec.dtype} weights is not supported`);
    return tensor('float32', spec.shape, halfToFloat(new Uint16Array(bytes.buffer)));
  }
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16') throw conversionFailed(`weight ${spec.name}: quantization ${q.dtype} is not supported`);
  if (typeof q.scale !== 'number' || typeof q.min !== 'number') throw conversionFailed(`weight ${spec.name}: ${q.dtype} quantization without scale and min`);
  if (spec.dtype !== 'float32' && spec.dtype !== 'int32')
    throw conversionFailed(`weight ${spec.name}: ${q.dtype} quantization of ${spec.dtype} weights is not supported`);
  const codes = q.dtype === 'uint8' ? bytes : new Uint16Array(bytes.buffer);
  const values = new Array<number>(codes.length);
  // tfjs computes code * scale + min in double and stores the float32 rounding (int32: rounded).
  for (let i = 0; i < codes.length; i++) values[i] = codes[i] * q.scale + q.min;
  return tensor(spec.dtype, spec.shape, spec.dtype === 'int32' ? values.map(Math.round) : values);
}

/** IEEE 754 half -> float32 (every half is exactly representable, so no rounding happens). */
export function halfToFloat(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0)
      out[i] = sign * mantissa * 2 ** -24; // zero and subnormals
    else if (exponent === 31) out[i] = mantissa ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
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
