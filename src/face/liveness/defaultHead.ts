import type { LivenessHead } from './fusion.js';

/** PROVISIONAL: replaced by bench/liveness.ts --write-head output. */
export const DEFAULT_LIVENESS_HEAD: LivenessHead = {
  cues: ['blink', 'mouth', 'nonRigid', 'eyeMotion', 'headPose', 'antispoof', 'liveness', 'microMotion', 'pulse', 'texture', 'moire', 'banding', 'stutter'],
  mean: [0, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 0, 0],
  std: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  weights: [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0],
  bias: 0,
  temperature: 1,
  thresholds: { live: 0.6, spoof: 0.4 },
  source: 'provisional',
};
