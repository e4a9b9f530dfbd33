/**
 * Verification: find and decode the watermark, then compare the identity it carries with the
 * face now in the picture.
 *
 * - "none": no watermark decodes under this key (never marked, a different key, or destroyed).
 * - "authentic": the watermark decodes and, if it is identity-bound, the face in the picture
 *   matches the identity it carries (Hamming distance of the 64-bit codes <= maxIdentityDistance).
 * - "manipulated": the watermark decodes but the face does not match (a face swap: the mark in
 *   the rest of the picture still carries the original identity), or the marked face is gone.
 *   Only on identity evidence: a face far from the carried identity (distance >= strongDistance,
 *   where unrelated faces sit), or beyond maxIdentityDistance in a picture whose mark is clean.
 * - "damaged": a mark under this key is there but damaged, and nothing says the face changed:
 *   its pilot is found but the payload does not decode (marked twice with the same key, heavy
 *   processing), or it decodes through many bit errors (marked again under another key, strong
 *   compression) while the face differs from the carried identity only moderately. A picture
 *   marked again drifts the face embedding a little; that drift is not a face swap.
 */
import { invalidOption } from '../../core/errors.js';
import type { RawImage } from '../../core/image/types.js';
import { report, throwIfAborted, type TaskControl } from '../../core/progress.js';
import { bitsToHex, PRESENT_SYNC_SCORE } from './embed.js';
import { extractWatermark, MIN_VERIFY_SIDE } from './extract.js';
import type { FaceBox } from '../../core/shapes.js';
import { DEFAULT_MAX_IDENTITY_DISTANCE, resolveIdentity, type IdentityFace, type IdentityInput } from './identity.js';
import { resolveKey, type WatermarkSecret } from './key.js';
import { hammingDistance, identityCode, IDENTITY_BITS } from './payload.js';
import { checkImage } from './validate.js';

export type WatermarkVerdict = 'authentic' | 'manipulated' | 'damaged' | 'none';

/**
 * Bit error rate above which a decoded mark counts as damaged: a clean marked photo decodes at
 * 0 to 0.02, after JPEG q50 at 0 to 0.045; marked again under a second key 0.045 to 0.12
 * (measured on 6 to 16 photos of shared/data/faces; docs/watermark.md).
 */
export const DAMAGED_BIT_ERROR_RATE = 0.03;

/**
 * Hamming distance (of 64) from which the face is taken to be another person's whatever the state
 * of the mark: different people sit at 20 to 32, one face under benign edits at 0 to 8.
 */
export const DEFAULT_STRONG_IDENTITY_DISTANCE = 20;

export { DEFAULT_MAX_IDENTITY_DISTANCE };

export interface VerifyWatermarkOptions extends TaskControl {
  key: WatermarkSecret;
  /**
   * The identity now in the picture: an embedding, {embedding, box}, a provider (finds the face),
   * or null (no face in the picture). Omit it to check the watermark alone.
   */
  identity?: IdentityInput;
  maxIdentityDistance?: number;
  /** Distance that is identity evidence on its own, even when the mark is damaged (default 20). */
  strongIdentityDistance?: number;
}

export interface IdentityCheck {
  /** False when no identity was supplied, so only the watermark was checked. */
  checked: boolean;
  /** Face present in the picture now (when checked). */
  facePresent?: boolean;
  /** Hamming distance between carried and observed codes, of IDENTITY_BITS. */
  distance?: number;
  maxDistance: number;
  match?: boolean;
  carriedCode: string;
  observedCode?: string;
  faceBox?: FaceBox;
}

export interface VerifyWatermarkResult {
  verdict: WatermarkVerdict;
  /** Decoded source id (null when verdict is none). */
  source: string | null;
  /** Fraction of coded bits the channel flipped (re-encoded decision vs soft bits); null for none. */
  bitErrorRate: number | null;
  /** 0..1: how sure the verdict is (see docs/watermark.md). */
  confidence: number;
  mode: 'identity' | 'whole-image' | null;
  identity?: IdentityCheck;
  sync: { score: number; period?: { x: number; y: number } };
  keyFingerprint: string;
  /** Why the verdict is "damaged" (or a "manipulated" verdict's identity evidence), in words. */
  reason?: string;
}

export async function verifyWatermark(img: RawImage, opts: VerifyWatermarkOptions): Promise<VerifyWatermarkResult> {
  if (typeof opts !== 'object' || opts === null) throw invalidOption('options', 'an object {key, identity?}', opts);
  checkImage(img, MIN_VERIFY_SIDE, 'verification');
  const { maxDistance, strongDistance } = identityThresholds(opts);
  const key = resolveKey(opts.key);
  report(opts, 'extract', 0, 1);
  const ex = extractWatermark(img, key);
  report(opts, 'extract', 1, 1);
  throwIfAborted(opts.signal);
  const sync = { score: round(ex.syncScore, 2), ...(ex.period ? { period: { x: round(ex.period.x, 2), y: round(ex.period.y, 2) } } : {}) };
  if ((!ex.found || !ex.payload) && ex.syncScore >= PRESENT_SYNC_SCORE) {
    // The key's pilot is plainly there (random pictures score about 4): a mark of this key whose
    // payload no longer decodes. Confidence: how far the pilot stands above that level.
    return {
      verdict: 'damaged',
      source: null,
      bitErrorRate: null,
      confidence: round(clamp01((ex.syncScore - 6) / 4), 3),
      mode: null,
      sync,
      keyFingerprint: key.fingerprint,
      reason: `a watermark under this key is present (pilot at ${ex.syncScore.toFixed(1)} sigma) but its payload cannot be read: damaged or overwritten (for example marked twice with this key)`,
    };
  }
  if (!ex.found || !ex.payload) {
    // Confidence in "no watermark": the pilot peak's height, random at about 4 sigma.
    const confidence = clamp01((8 - ex.syncScore) / 4);
    return { verdict: 'none', source: null, bitErrorRate: null, confidence: round(confidence, 3), mode: null, sync, keyFingerprint: key.fingerprint };
  }
  const p = ex.payload;
  // Watermark confidence: 1 at a clean channel, falling to 0 where soft Viterbi stops coping.
  const markConfidence = clamp01(1 - ex.bitErrorRate / 0.25);
  const base = { source: p.source, bitErrorRate: round(ex.bitErrorRate, 4), sync, keyFingerprint: key.fingerprint };
  if (!p.identityBound) {
    return { verdict: 'authentic', ...base, confidence: round(markConfidence, 3), mode: 'whole-image' };
  }
  const carriedCode = bitsToHex(p.identity);
  report(opts, 'identity', 0, 1);
  const { face, given } = await resolveIdentity(opts.identity, img);
  report(opts, 'identity', 1, 1);
  if (!given) {
    return { verdict: 'authentic', ...base, confidence: round(markConfidence, 3), mode: 'identity', identity: { checked: false, maxDistance, carriedCode } };
  }
  if (!face) {
    return {
      verdict: 'manipulated',
      ...base,
      confidence: round(markConfidence, 3),
      mode: 'identity',
      identity: { checked: true, facePresent: false, maxDistance, match: false, carriedCode },
    };
  }
  return identityVerdict(ex, base, markConfidence, face, key, p.identity, { maxDistance, strongDistance, carriedCode });
}

/** The identity distance thresholds (checked): match up to maxDistance, another person's face from strongDistance. */
function identityThresholds(opts: VerifyWatermarkOptions): { maxDistance: number; strongDistance: number } {
  const maxDistance = opts.maxIdentityDistance ?? DEFAULT_MAX_IDENTITY_DISTANCE;
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance >= IDENTITY_BITS / 2) {
    throw invalidOption('maxIdentityDistance', `an integer from 0 to ${IDENTITY_BITS / 2 - 1}`, opts.maxIdentityDistance);
  }
  const strongDistance = opts.strongIdentityDistance ?? DEFAULT_STRONG_IDENTITY_DISTANCE;
  if (!Number.isInteger(strongDistance) || strongDistance <= maxDistance || strongDistance > IDENTITY_BITS) {
    throw invalidOption('strongIdentityDistance', `an integer from ${maxDistance + 1} to ${IDENTITY_BITS}`, opts.strongIdentityDistance);
  }
  return { maxDistance, strongDistance };
}

/**
 * The verdict of an identity-bound mark with a face in the picture: the face's code against the
 * carried one (authentic, manipulated, or damaged when a damaged mark meets a moderate distance).
 */
function identityVerdict(
  ex: ReturnType<typeof extractWatermark>,
  base: Pick<VerifyWatermarkResult, 'source' | 'bitErrorRate' | 'sync' | 'keyFingerprint'>,
  markConfidence: number,
  face: IdentityFace,
  key: ReturnType<typeof resolveKey>,
  carried: Parameters<typeof hammingDistance>[1],
  thresholds: { maxDistance: number; strongDistance: number; carriedCode: string },
): VerifyWatermarkResult {
  const { maxDistance, strongDistance, carriedCode } = thresholds;
  const observed = identityCode(face.embedding, key);
  const distance = hammingDistance(observed, carried);
  const match = distance <= maxDistance;
  // Identity confidence: distance from the threshold in binomial standard deviations (p = 1/2
  // per bit is the scale of an unrelated face), mapped to 0..1.
  const margin = Math.abs(distance - (maxDistance + 0.5)) / Math.sqrt(IDENTITY_BITS / 4);
  const identityConfidence = clamp01(margin / 2);
  const identity = {
    checked: true,
    facePresent: true,
    distance,
    maxDistance,
    match,
    carriedCode,
    observedCode: bitsToHex(observed),
    ...(face.box ? { faceBox: face.box } : {}),
  };
  const damaged = ex.bitErrorRate > DAMAGED_BIT_ERROR_RATE;
  if (!match && damaged && distance < strongDistance) {
    return {
      verdict: 'damaged',
      ...base,
      confidence: round(clamp01((ex.bitErrorRate - DAMAGED_BIT_ERROR_RATE) / 0.05) * clamp01((strongDistance - distance) / 4), 3),
      mode: 'identity',
      identity,
      reason:
        `the mark decodes but is damaged (bit error rate ${(100 * ex.bitErrorRate).toFixed(1)}%: marked again or strongly processed) and the face differs from the carried identity ` +
        `only moderately (distance ${distance}/64, below ${strongDistance} where other people's faces sit): not evidence of a face change`,
    };
  }
  return {
    verdict: match ? 'authentic' : 'manipulated',
    ...base,
    confidence: round(markConfidence * identityConfidence, 3),
    mode: 'identity',
    identity,
    ...(match
      ? {}
      : {
          reason:
            distance >= strongDistance
              ? `the face is another person's (distance ${distance}/64 >= ${strongDistance})`
              : `the mark is clean and the face differs from the carried identity (distance ${distance}/64 > ${maxDistance})`,
        }),
  };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function round(x: number, d: number): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}
