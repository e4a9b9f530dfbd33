import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { LivenessHead } from '../../src/face/liveness/index.js';
import { round } from './common.js';

/**
 * Writes `head` as src/face/liveness/defaultHead.ts (the shipped DEFAULT_LIVENESS_HEAD), with
 * `doc` (lines, no comment markers) as its doc comment: how and on what it was fitted.
 */
export async function writeDefaultHead(repo: string, head: LivenessHead, doc: readonly string[]): Promise<string> {
  const r = (v: number) => round(v, 5);
  const text = `import type { LivenessHead } from './fusion.js';

/**
${doc.map((l) => ` * ${l}`.trimEnd()).join('\n')}
 */
export const DEFAULT_LIVENESS_HEAD: LivenessHead = {
  cues: ${JSON.stringify(head.cues)},
  mean: ${JSON.stringify(head.mean.map(r))},
  std: ${JSON.stringify(head.std.map(r))},
  bonaFide: { mean: ${JSON.stringify(head.bonaFide!.mean.map(r))}, std: ${JSON.stringify(head.bonaFide!.std.map(r))} },
  experts: [
${head.experts.map((e) => `    { attack: ${JSON.stringify(e.attack)}, weights: ${JSON.stringify(e.weights.map(r))}, bias: ${r(e.bias)} },`).join('\n')}
  ],
  temperature: ${head.temperature},
  thresholds: ${JSON.stringify(head.thresholds)},
  source: ${JSON.stringify(head.source)},
};
`;
  const file = path.join(repo, 'src/face/liveness/defaultHead.ts');
  await writeFile(file, text);
  return file;
}
