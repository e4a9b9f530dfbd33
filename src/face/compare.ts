import { invalidOption } from '../core/errors.js';

/**
 * Cosine-similarity threshold above which two faceres descriptions are called the same
 * person. Calibrated on the deepface test set (bench/faces.ts, docs/face.md): the threshold
 * maximising accuracy over its 280 pivot pairs was 0.558 (ROC AUC 0.998, accuracy 97.9%,
 * 10-fold cross-validated 97.1%); rounded to 0.56.
 */
export const SAME_FACE_THRESHOLD = 0.56;

export interface FaceComparison {
  /** Cosine similarity of the two embeddings, in [-1, 1] (1 = identical direction). */
  similarity: number;
  /** similarity >= threshold */
  same: boolean;
  threshold: number;
}

/** Compares two face embeddings (from embedFace/detectFaces). */
export function compareFaces(a: Float32Array, b: Float32Array, opts: { threshold?: number } = {}): FaceComparison {
  checkEmbedding('a', a);
  checkEmbedding('b', b);
  if (a.length !== b.length) throw invalidOption('b', `an embedding of ${a.length} values like a`, `${b.length} values`);
  const threshold = opts.threshold ?? SAME_FACE_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold >= -1 && threshold <= 1)) throw invalidOption('threshold', 'a number in [-1, 1]', opts.threshold);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  // embeddings are L2-normalised already; dividing again makes raw descriptors safe too
  const similarity = dot / Math.sqrt(na * nb);
  return { similarity, same: similarity >= threshold, threshold };
}

function checkEmbedding(name: string, v: unknown): asserts v is Float32Array {
  if (!(v instanceof Float32Array) || v.length === 0) throw invalidOption(name, 'a non-empty Float32Array embedding', v === null ? null : typeof v);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw invalidOption(name, 'finite embedding values', `a non-finite value at index ${i}`);
    n += x * x;
  }
  if (n === 0) throw invalidOption(name, 'a non-zero embedding', 'all zeros');
}

/** L2-normalises in place and returns the vector. */
export function l2Normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const k = n > 0 ? 1 / Math.sqrt(n) : 0;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * k;
  return v;
}
