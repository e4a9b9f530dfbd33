/**
 * Identity-bound invisible watermarks (issue 7): embed an encrypted, robust watermark carrying a
 * source id and a face identity code; verify it (authentic / manipulated / damaged / none).
 * See docs/watermark.md.
 */
export {
  embedWatermark,
  DEFAULT_TARGET_PSNR,
  DEFAULT_MIN_PSNR,
  READ_BACK_MAX_BIT_ERROR_RATE,
  MIN_EMBED_SIDE,
  PRESENT_SYNC_SCORE,
  type EmbedWatermarkOptions,
  type EmbedWatermarkResult,
  type ReadBack,
} from './embed.js';
export {
  verifyWatermark,
  DEFAULT_MAX_IDENTITY_DISTANCE,
  DEFAULT_STRONG_IDENTITY_DISTANCE,
  DAMAGED_BIT_ERROR_RATE,
  type VerifyWatermarkOptions,
  type VerifyWatermarkResult,
  type WatermarkVerdict,
  type IdentityCheck,
} from './verify.js';
export { extractWatermark, MIN_VERIFY_SIDE, type Extraction } from './extract.js';
export { deriveWatermarkKey, isWatermarkKey, type WatermarkKey, type WatermarkSecret } from './key.js';
export {
  identityFaceProblem,
  MIN_IDENTITY_FACE_QUALITY,
  MIN_IDENTITY_FACE_SIDE,
  type IdentityFace,
  type IdentityInput,
  type IdentityProvider,
} from './identity.js';
export {
  identityCode,
  hammingDistance,
  encodeSource,
  decodeSource,
  packPayload,
  unpackPayload,
  PAYLOAD_BITS,
  IDENTITY_BITS,
  SOURCE_MAX_LENGTH,
  type Payload,
} from './payload.js';
export { convEncode, viterbiDecode, codedLength, GUARANTEED_CORRECTION } from './ecc.js';
export { LogisticSineStream, chaoticBits, chaoticPermutation } from './chaos.js';
export { largestFaceIdentity } from './faceIdentity.js';
