import { conversionFailed } from './fail.js';
/**
 * TensorFlow StridedSlice semantics, resolved against a known input shape into
 * one plain (start, end, step) per input dimension plus the final output shape
 * (after shrink_axis and new_axis). The folder and the ONNX emitter both use it.
 */
export interface SliceMasks {
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
}

export interface DimSlice {
  start: number;
  /** Exclusive; -1 with a negative step means "through index 0". */
  end: number;
  step: number;
  size: number;
}

export interface ResolvedSlice {
  /** One entry per input dimension. */
  dims: DimSlice[];
  /** Shape after slicing every input dimension (before shrink/new axes). */
  slicedShape: number[];
  /** Shape of the op's result. */
  outputShape: number[];
}

const bit = (mask: number, i: number): boolean => ((mask >> i) & 1) === 1;

export function resolveStridedSlice(
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  strides: readonly number[],
  masks: SliceMasks,
): ResolvedSlice {
  const rank = shape.length;
  const dims: DimSlice[] = [];
  const outputShape: number[] = [];
  const full = (d: number): DimSlice => ({ start: 0, end: d, step: 1, size: d });
  let inDim = 0;
  for (let i = 0; i < begin.length; i++) {
    if (bit(masks.ellipsisMask, i)) {
      let after = 0;
      for (let j = i + 1; j < begin.length; j++) if (!bit(masks.newAxisMask, j)) after++;
      const covered = rank - inDim - after;
      for (let k = 0; k < covered; k++) {
        dims.push(full(shape[inDim]));
        outputShape.push(shape[inDim]);
        inDim++;
      }
      continue;
    }
    if (bit(masks.newAxisMask, i)) {
      outputShape.push(1);
      continue;
    }
    if (inDim >= rank) throw conversionFailed(`StridedSlice spec longer than input rank ${rank}`);
    const d = shape[inDim];
    const step = strides[i];
    if (step === 0) throw conversionFailed('StridedSlice stride 0');
    if (bit(masks.shrinkAxisMask, i)) {
      const index = begin[i] < 0 ? begin[i] + d : begin[i];
      if (index < 0 || index >= d) throw conversionFailed(`StridedSlice index ${begin[i]} out of range for dim ${d}`);
      dims.push({ start: index, end: index + 1, step: 1, size: 1 });
    } else {
      const s = bit(masks.beginMask, i) ? (step > 0 ? 0 : d - 1) : clampIndex(begin[i], d, step);
      const e = bit(masks.endMask, i) ? (step > 0 ? d : -1) : clampIndex(end[i], d, step);
      const size = Math.max(0, Math.ceil((e - s) / step));
      dims.push({ start: s, end: e, step, size });
      outputShape.push(size);
    }
    inDim++;
  }
  for (; inDim < rank; inDim++) {
    dims.push(full(shape[inDim]));
    outputShape.push(shape[inDim]);
  }
  return { dims, slicedShape: dims.map((d) => d.size), outputShape };
}

function clampIndex(index: number, d: number, step: number): number {
  const i = index < 0 ? index + d : index;
  return step > 0 ? Math.min(Math.max(i, 0), d) : Math.min(Math.max(i, -1), d - 1);
}
