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
