/**
 * Readers for ncnn's model files (Tencent/ncnn, BSD-3): the `.param` text graph and the `.bin`
 * weight blob. Format as ncnn's src/net.cpp (load_param) and src/modelbin.cpp (ModelBinFromDataReader)
 * read them; only the plain-text param format (magic 7767517) is supported, not `.param.bin`.
 */
import { ClearsightError, ERROR_CODES } from '../../errors.js';

export const NCNN_MAGIC = 7767517;

/** A parameter value: int or float scalars, or an array (keys written as -23300 - id). */
export type NcnnParamValue = number | number[];

export interface NcnnLayer {
  type: string;
  name: string;
  bottoms: string[];
  tops: string[];
  params: Map<number, NcnnParamValue>;
}

function conversionError(message: string, details: Record<string, unknown> = {}): ClearsightError {
  return new ClearsightError(ERROR_CODES.MODEL_CONVERSION, `ncnn model: ${message}`, details);
}

/** Parses a `.param` file (text). */
export function parseNcnnParam(text: string): NcnnLayer[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (Number(lines[0]) !== NCNN_MAGIC)
    throw conversionError(`the .param file does not start with ncnn's magic ${NCNN_MAGIC} (got "${lines[0]?.slice(0, 20)}")`);
  const [layerCount, blobCount] = (lines[1] ?? '').split(/\s+/).map(Number);
  if (!(layerCount > 0) || !(blobCount > 0)) throw conversionError(`bad layer/blob counts "${lines[1]}"`);
  if (lines.length - 2 < layerCount) throw conversionError(`the header announces ${layerCount} layers, the file has ${lines.length - 2}`);
  const layers: NcnnLayer[] = [];
  for (let i = 0; i < layerCount; i++) {
    const f = lines[2 + i].split(/\s+/);
    const [type, name] = f;
    const nb = Number(f[2]);
    const nt = Number(f[3]);
    if (!type || !name || !Number.isInteger(nb) || !Number.isInteger(nt)) throw conversionError(`cannot read layer line ${i + 3}: "${lines[2 + i]}"`);
    const bottoms = f.slice(4, 4 + nb);
    const tops = f.slice(4 + nb, 4 + nb + nt);
    const params = new Map<number, NcnnParamValue>();
    for (const kv of f.slice(4 + nb + nt)) {
      const eq = kv.indexOf('=');
      if (eq < 0) throw conversionError(`layer ${name}: parameter "${kv}" is not key=value`);
      const key = Number(kv.slice(0, eq));
      const raw = kv.slice(eq + 1);
      if (!Number.isInteger(key)) throw conversionError(`layer ${name}: bad parameter key in "${kv}"`);
      if (key <= -23300) {
        // Array: -23300 - id = count,v1,v2,...
        const values = raw.split(',').map(Number);
        const count = values.shift()!;
        if (values.length !== count || values.some((v) => !Number.isFinite(v)))
          throw conversionError(`layer ${name}: array parameter "${kv}" does not hold ${count} numbers`);
        params.set(-23300 - key, values);
      } else {
        const v = Number(raw);
        if (!Number.isFinite(v)) throw conversionError(`layer ${name}: parameter "${kv}" is not a number`);
        params.set(key, v);
      }
    }
    layers.push({ type, name, bottoms, tops, params });
  }
  return layers;
}

/** An integer parameter with its default (ncnn's ParamDict::get). */
export function intParam(layer: NcnnLayer, id: number, fallback: number): number {
  const v = layer.params.get(id);
  if (v === undefined) return fallback;
  if (Array.isArray(v)) throw conversionError(`layer ${layer.name}: parameter ${id} is an array, a number was expected`);
  return v;
}

export function arrayParam(layer: NcnnLayer, id: number): number[] {
  const v = layer.params.get(id);
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Half-precision bits -> number (IEEE 754 binary16). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Sequential reader of a `.bin` blob, the way layers call ModelBin::load in graph order. */
export class NcnnWeights {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  private take(n: number, what: string): DataView {
    if (this.offset + n > this.bytes.byteLength)
      throw conversionError(
        `the .bin file ends at byte ${this.bytes.byteLength}; ${what} needs ${n} bytes from ${this.offset} (does the .bin belong to this .param?)`,
      );
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, n);
    this.offset += n;
    return view;
  }

  /** type 1: `n` raw float32 values (biases, slopes). */
  raw(n: number, what: string): Float32Array {
    const dv = this.take(4 * n, what);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }

  /** type 0: a 4-byte tag, then float32, float16 or 8-bit table-quantised values (weights). */
  tagged(n: number, what: string): Float32Array {
    const tag = this.take(4, what).getUint32(0, true);
    if (tag === 0x01306b47) {
      const dv = this.take(align4(2 * n), what);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return out;
    }
    if (tag === 0) return this.raw(n, what);
    if (tag === 0x000d4b38) throw conversionError(`${what}: int8-quantised weights are not supported`);
    if (tag === 0x0002c056) throw conversionError(`${what}: float32 weights with extra scaling (tag 0x0002c056) are not supported`);
    // Any other non-zero tag: a 256-entry float table followed by one byte index per value.
    const table = this.raw(256, what);
    const dv = this.take(align4(n), what);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = table[dv.getUint8(i)];
    return out;
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
