import { conversionFailed } from './fail.js';
/**
 * Small dense tensors known at conversion time (weights and folded shape arithmetic).
 * Row-major, TensorFlow dtypes; bool is stored as 0/1 bytes.
 */
export type DType = 'float32' | 'int32' | 'bool';

export type TypedData = Float32Array | Int32Array | Uint8Array;

export interface ConstTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedData;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function allocate(dtype: DType, length: number): TypedData {
  if (dtype === 'float32') return new Float32Array(length);
  if (dtype === 'int32') return new Int32Array(length);
  return new Uint8Array(length);
}

export function tensor(dtype: DType, shape: readonly number[], data?: ArrayLike<number>): ConstTensor {
  const out = allocate(dtype, numel(shape));
  if (data) {
    if (data.length !== out.length) throw conversionFailed(`tensor data has ${data.length} values, shape ${JSON.stringify(shape)} needs ${out.length}`);
    out.set(data);
  }
  return { dtype, shape: [...shape], data: out };
}

export function scalarOf(t: ConstTensor): number {
  if (t.data.length !== 1) throw conversionFailed(`expected a scalar, got shape ${JSON.stringify(t.shape)}`);
  return t.data[0];
}

export function toNumbers(t: ConstTensor): number[] {
  return Array.from(t.data);
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** NumPy broadcasting of two shapes; throws on incompatible dims. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw conversionFailed(`shapes ${JSON.stringify(a)} and ${JSON.stringify(b)} do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For each flat index of `outShape`, the flat index into a tensor of `inShape`
 * broadcast to it. Used by the element-wise folders.
 */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const total = numel(outShape);
  const map = new Int32Array(total);
  const rank = outShape.length;
  const offset = rank - inShape.length;
  const inStrides = stridesOf(inShape);
  const effective = outShape.map((_d, i) => {
    const k = i - offset;
    return k < 0 || inShape[k] === 1 ? 0 : inStrides[k];
  });
  const counter = new Array<number>(rank).fill(0);
  let src = 0;
  for (let flat = 0; flat < total; flat++) {
    map[flat] = src;
    for (let i = rank - 1; i >= 0; i--) {
      counter[i]++;
      src += effective[i];
      if (counter[i] < outShape[i]) break;
      src -= effective[i] * counter[i];
      counter[i] = 0;
    }
  }
  return map;
}

/** Permutes axes (like np.transpose). */
export function transposeTensor(t: ConstTensor, perm: readonly number[]): ConstTensor {
  const outShape = perm.map((p) => t.shape[p]);
  const inStrides = stridesOf(t.shape);
  const permStrides = perm.map((p) => inStrides[p]);
  const out = allocate(t.dtype, t.data.length);
  const rank = perm.length;
  const counter = new Array<number>(rank).fill(0);
  let src = 0;
  for (let flat = 0; flat < out.length; flat++) {
    out[flat] = t.data[src];
    for (let i = rank - 1; i >= 0; i--) {
      counter[i]++;
      src += permStrides[i];
      if (counter[i] < outShape[i]) break;
      src -= permStrides[i] * counter[i];
      counter[i] = 0;
    }
  }
  return { dtype: t.dtype, shape: outShape, data: out };
}

export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw conversionFailed(`axis ${axis} out of range for rank ${rank}`);
  return a;
}
