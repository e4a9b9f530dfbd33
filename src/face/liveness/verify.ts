/**
 * One pass for anti-spoofing and identity ("this live person is X"): the face squares the
 * liveness tracker cuts from each frame - the same squares its CNNs score - also feed the
 * identity network, so the verdict and the match are about the same face in the same frames
 * (the multi-task idea of GFA-CNN, with our two pretrained networks instead of one).
 */
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import type { RawImage } from '../../core/image/types.js';
import { compareFaces, l2Normalize, SAME_FACE_THRESHOLD } from '../compare.js';
import { embedRegion, EMBEDDING_SIZE } from '../embed.js';
import type { FaceModels } from '../models.js';
import type { VideoClip } from '../../core/video/index.js';
import { DEFAULT_LIVENESS_HEAD } from './defaultHead.js';
import type { LivenessHead } from './fusion.js';
import { analyzeTracked, decideLiveness, type LivenessVerdict } from './index.js';
import type { FrameObservation } from './track.js';
import type { TaskControl } from '../../core/progress.js';

export interface VerifyLiveOptions extends TaskControl {
  head?: LivenessHead;
  /** Cosine similarity needed to call the face the enrolled person. Default SAME_FACE_THRESHOLD (0.56). */
  threshold?: number;
  /** How many tracked frames to embed (spread over the clip, sharpest of each stretch). Default 5. */
  identityFrames?: number;
  /** How many decisive liveness frames to list. Default 5. */
  topFrames?: number;
}

export interface LiveVerification {
  /** live AND same person: the only answer that admits. */
  accepted: boolean;
  /** One line: "live, matches the enrolled face (0.83 >= 0.56)", or why not. */
  summary: string;
  liveness: LivenessVerdict;
  identity: {
    /** Cosine similarity of the clip's mean embedding (over `frames`) to the enrolled one. */
    similarity: number;
    same: boolean;
    threshold: number;
    /** Lowest per-frame similarity: a low value next to a high mean says the face changed within the clip. */
    minSimilarity: number;
    frames: Array<{ index: number; time: number; similarity: number }>;
  };
}

/**
 * Liveness and identity from one tracking pass over the clip. Needs
 * FaceModels.load({ liveness: true, embed: true }). `enrolled` is a face embedding (from
 * embedFace / detectFaces({ embed: true })), normalised here.
 */
export async function verifyLive(
  models: FaceModels,
  clip: Pick<VideoClip, 'frames' | 'times' | 'fps'>,
  enrolled: Float32Array,
  opts: VerifyLiveOptions = {},
): Promise<LiveVerification> {
  const reference = checkEnrolled(enrolled);
  const k = opts.identityFrames ?? 5;
  if (!Number.isInteger(k) || k < 1 || k > 50) throw invalidOption('identityFrames', 'an integer from 1 to 50', opts.identityFrames);
  const threshold = opts.threshold ?? SAME_FACE_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold >= -1 && threshold <= 1)) throw invalidOption('threshold', 'a number in [-1, 1]', opts.threshold);
  const top = opts.topFrames ?? 5;
  if (!Number.isInteger(top) || top < 1 || top > 100) throw invalidOption('topFrames', 'an integer from 1 to 100', opts.topFrames);
  models.runner('embed'); // fail before the long part if the identity network is not loaded

  const { analysis, observations } = await analyzeTracked(models, clip, opts);
  const liveness = decideLiveness(analysis, opts.head ?? DEFAULT_LIVENESS_HEAD, top);
  const picks = identityFrames(observations, k);
  if (picks.length === 0) throw new ClearsightError(ERROR_CODES.NO_FACE, 'no face found in the clip', { frames: clip.frames.length });
  const sum = new Float32Array(EMBEDDING_SIZE);
  const frames: LiveVerification['identity']['frames'] = [];
  for (const o of picks) {
    const e = await embedRegion(models, clip.frames[o.index] as RawImage, o.region!);
    for (let i = 0; i < e.length; i++) sum[i]! += e[i]!;
    frames.push({ index: o.index, time: round(o.time), similarity: round(compareFaces(e, reference).similarity) });
  }
  const match = compareFaces(l2Normalize(sum), reference, { threshold });
  const identity = {
    similarity: round(match.similarity),
    same: match.same,
    threshold,
    minSimilarity: Math.min(...frames.map((f) => f.similarity)),
    frames,
  };
  const accepted = liveness.verdict === 'live' && identity.same;
  return { accepted, summary: summarise(liveness, identity), liveness, identity };
}

/**
 * The frames to embed: the tracked frames cut into `k` stretches of equal length, and from
 * each the one with the highest mesh face flag (a blink or motion blur lowers it), so the
 * identity covers the whole clip rather than one moment.
 */
export function identityFrames(obs: readonly FrameObservation[], k: number): FrameObservation[] {
  const tracked = obs.filter((o) => o.found && o.region);
  const picks: FrameObservation[] = [];
  const n = Math.min(k, tracked.length);
  for (let s = 0; s < n; s++) {
    const stretch = tracked.slice(Math.floor((s * tracked.length) / n), Math.floor(((s + 1) * tracked.length) / n));
    picks.push(stretch.reduce((best, o) => ((o.meshScore ?? 0) > (best.meshScore ?? 0) ? o : best)));
  }
  return picks;
}

function checkEnrolled(v: unknown): Float32Array {
  const ok = (v instanceof Float32Array || Array.isArray(v)) && (v as ArrayLike<number>).length === EMBEDDING_SIZE;
  if (!ok)
    throw invalidOption(
      'enrolled',
      `a face embedding of ${EMBEDDING_SIZE} numbers (embedFace)`,
      Array.isArray(v) || v instanceof Float32Array ? `${(v as ArrayLike<number>).length} values` : v === null ? null : typeof v,
    );
  const e = Float32Array.from(v as ArrayLike<number>);
  let n = 0;
  for (const x of e) {
    if (!Number.isFinite(x)) throw invalidOption('enrolled', 'finite embedding values', 'a non-finite value');
    n += x * x;
  }
  if (n === 0) throw invalidOption('enrolled', 'a non-zero embedding', 'all zeros');
  return l2Normalize(e);
}

function summarise(l: LivenessVerdict, id: LiveVerification['identity']): string {
  const who = id.same
    ? `matches the enrolled face (${id.similarity.toFixed(2)} >= ${id.threshold})`
    : `is not the enrolled face (${id.similarity.toFixed(2)} < ${id.threshold})`;
  if (l.verdict === 'live') return `live, ${who}`;
  if (l.verdict === 'spoof') return `spoof (${l.decidedBy} expert, score ${l.score.toFixed(2)}); the face ${who}`;
  return `liveness uncertain${l.reason ? ` (${l.reason})` : ''}; the face ${who}`;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
