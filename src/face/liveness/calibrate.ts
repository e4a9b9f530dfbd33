/**
 * Adapting the liveness decision to a new site: a handful of labelled live/spoof clips from the
 * target camera re-estimate the cue normalisation - chosen so that the site's bona fide cues
 * standardise as the prior's bona fide cues did - and refit the attack experts, with the shipped
 * head as the prior (L2 pulls the weights toward it, so 4-10 clips do not overfit).
 * An attack clip without a stated family joins the prior expert that finds it least live.
 */
import { invalidOption } from '../../core/errors.js';
import type { LivenessAnalysis } from './index.js';
import { fitHead, type LivenessHead } from './fusion.js';
import { DEFAULT_LIVENESS_HEAD } from './defaultHead.js';

export interface CalibrationClip {
  analysis: Pick<LivenessAnalysis, 'cues'>;
  live: boolean;
  /** The attack family of a spoof clip ("print", "replay", "cutEye", ...), when known. */
  attack?: string;
}

export interface CalibrateOptions {
  /** Starting head (default: the shipped one). */
  prior?: LivenessHead;
  /** Pull toward the prior's weights; larger = trust the new clips less. Default 0.2. */
  l2?: number;
  /** Bona fide clips that weigh as much as the prior's cue normalisation (default ALIGNMENT_PRIOR_CLIPS, 8). */
  alignPriorClips?: number;
}

export function calibrateLiveness(clips: readonly CalibrationClip[], opts: CalibrateOptions = {}): LivenessHead {
  if (!Array.isArray(clips)) throw invalidOption('clips', 'an array of {analysis, live}', clips);
  for (const [i, c] of clips.entries()) {
    if (!c || typeof c.live !== 'boolean' || !c.analysis?.cues?.values) throw invalidOption(`clips[${i}]`, '{ analysis: LivenessAnalysis, live: boolean }', c);
  }
  const l2 = opts.l2 ?? 0.2;
  if (typeof l2 !== 'number' || !(l2 >= 0)) throw invalidOption('l2', 'a number >= 0', opts.l2);
  const prior = opts.prior ?? DEFAULT_LIVENESS_HEAD;
  return fitHead(
    clips.map((c) => ({ values: c.analysis.cues.values, live: c.live, ...(c.live || !c.attack ? {} : { attack: c.attack }) })),
    {
      prior,
      l2,
      ...(opts.alignPriorClips !== undefined ? { alignPriorClips: opts.alignPriorClips } : {}),
      source: `calibrated on ${clips.length} site clips (${clips.filter((c) => c.live).length} live) from prior "${prior.source}"`,
    },
  );
}
