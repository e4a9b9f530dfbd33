/**
 * An IdentityProvider on the face module's public API (detectFaces + embedFace): the largest
 * face's 1024-d FaceRes embedding and its box. The caller owns (and disposes) the FaceModels.
 */
import { detectFaces, embedFace, type FaceModels } from '../../face/index.js';
import type { IdentityProvider } from './identity.js';

export function largestFaceIdentity(models: FaceModels, opts: { minScore?: number } = {}): IdentityProvider {
  return async (img) => {
    const faces = await detectFaces(models, img, { minScore: opts.minScore ?? 0.5 });
    const face = faces[0]; // sorted largest first
    if (!face) return null;
    const embedding = await embedFace(models, img, face);
    return { embedding, box: face.box };
  };
}
