/**
 * How a face identity reaches the watermark: as an embedding (any fixed-length vector, e.g. the
 * face module's 1024-d description) or through an IdentityProvider that finds the face in the
 * image. The watermark module never loads a face model itself: the caller owns the model and
 * passes a provider (see the CLI for one built on src/face).
 */
import { invalidOption } from '../../core/errors.js';
import type { RawImage } from '../../core/image/types.js';
import type { FaceBox } from '../../core/shapes.js';

export interface IdentityFace {
  /** Face embedding (identity descriptor); any length >= 8, any scale. */
  embedding: ArrayLike<number>;
  /** Where the face is, in image pixels (reported, used to localise damage). */
  box?: FaceBox;
  /**
   * 0..1: how usable the face is for recognition (the face module's Face.quality: detector score x
   * size x sharpness). When given, embedding binds only a face at MIN_IDENTITY_FACE_QUALITY or more.
   */
  quality?: number;
}

/**
 * Largest Hamming distance (of 64) between the carried and the observed identity code still
 * called the same face. Codes of one face under benign edits differ in a few bits (angle/pi of
 * the embeddings' angle); different people sit near 64 * angle/pi, typically 20-32. Calibrated on
 * the face benchmark (docs/watermark.md).
 */
export const DEFAULT_MAX_IDENTITY_DISTANCE = 14;

/**
 * Least face quality (src/face Face.quality) a mark binds: the face module's own line for "usable
 * for recognition" (ANNOTATE_GOOD_QUALITY). Why: a false or tiny "face" (a 17 px patch of texture
 * in examples/rain-clean.png, 22-28 px ones in 8 of 44 CBSD68 landscapes) gives an embedding that
 * does not survive the mark itself, so verify then called the untouched picture manipulated.
 */
export const MIN_IDENTITY_FACE_QUALITY = 0.5;

/**
 * Least face side (pixels, the box's shorter side) a mark binds. The quality already falls below
 * MIN_IDENTITY_FACE_QUALITY under 40 px (its size factor is side / 80); this also holds for a
 * provider that reports a box but no quality.
 */
export const MIN_IDENTITY_FACE_SIDE = 40;

/**
 * Why `face` is not one to bind a mark to (too small, or too unsure a face), or undefined when it
 * is. A face given without a box or quality (a bare embedding) is the caller's word: accepted.
 */
export function identityFaceProblem(face: IdentityFace): string | undefined {
  const side = face.box ? Math.min(face.box.width, face.box.height) : undefined;
  const described = `${side !== undefined ? `${Math.round(side)} px` : 'face'}${face.quality !== undefined ? `, quality ${face.quality.toFixed(2)}` : ''}`;
  if (side !== undefined && side < MIN_IDENTITY_FACE_SIDE) return `the face found is too small to bind (${described}; at least ${MIN_IDENTITY_FACE_SIDE} px)`;
  if (face.quality !== undefined && !(face.quality >= MIN_IDENTITY_FACE_QUALITY))
    return `the face found is too unsure a face to bind (${described}; quality at least ${MIN_IDENTITY_FACE_QUALITY})`;
  return undefined;
}

/** Finds the face whose identity the watermark binds (e.g. the largest); null when there is none. */
export type IdentityProvider = (img: RawImage) => Promise<IdentityFace | null>;

/** An embedding, a face with its box, a provider, or null/undefined (no identity). */
export type IdentityInput = ArrayLike<number> | IdentityFace | IdentityProvider | null | undefined;

/**
 * Resolves the identity input against an image.
 * `given` is false when the caller supplied nothing at all (undefined), so that verification can
 * say "identity not checked" instead of "face missing".
 */
export async function resolveIdentity(identity: IdentityInput, img: RawImage): Promise<{ face: IdentityFace | null; given: boolean }> {
  if (identity === undefined) return { face: null, given: false };
  if (identity === null) return { face: null, given: true };
  if (typeof identity === 'function') {
    const face = await identity(img);
    if (face !== null && (typeof face !== 'object' || !isArrayLike(face.embedding))) {
      throw invalidOption('identity', 'a provider resolving to {embedding, box?} or null', face);
    }
    return { face, given: true };
  }
  if (isArrayLike(identity)) return { face: { embedding: identity }, given: true };
  if (typeof identity === 'object' && isArrayLike((identity as IdentityFace).embedding)) return { face: identity as IdentityFace, given: true };
  throw invalidOption('identity', 'a face embedding (Float32Array or number[]), {embedding, box}, an IdentityProvider or null', identity);
}

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}
