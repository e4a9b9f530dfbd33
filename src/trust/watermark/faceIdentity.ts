/**
 * An IdentityProvider on the face module's public API (detectFaces + embedFace): the largest face
 * usable for recognition (quality, size: identityFaceProblem), its 1024-d FaceRes embedding, box
 * and quality. When no face found is usable, the largest one still comes back, with its quality,
 * so that embedding can say why it did not bind it (and verification still compares it: a face
 * that lost quality is not a missing face). The caller owns (and disposes) the FaceModels.
 */
import { detectFaces, embedFace, type FaceModels } from '../../face/index.js';
import { identityFaceProblem, type IdentityProvider } from './identity.js';

export function largestFaceIdentity(models: FaceModels, opts: { minScore?: number } = {}): IdentityProvider {
  return async (img) => {
    const faces = await detectFaces(models, img, { minScore: opts.minScore ?? 0.5 }); // sorted largest first
    const face = faces.find((f) => identityFaceProblem({ embedding: [], box: f.box, quality: f.quality }) === undefined) ?? faces[0];
    if (!face) return null;
    const embedding = await embedFace(models, img, face);
    return { embedding, box: face.box, quality: face.quality };
  };
}
