/**
 * The text `forensics analyze` prints (without --json): besides the probability it states what
 * the interval is (frames of a video) or why there is none (a single image), the reliability on
 * held-out material and the detector's measured error rates, as the case report does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysisText } from '../src/cli/commands/forensics.js';
import type { forensics } from '../src/cli/lib.js';

const STATEMENT = 'Measured on real manipulated media: at a probability of 0.5 or more it flagged 1 of 12 manipulated clips and 0 of 15 authentic clips.';

function result(kind: 'image' | 'video', interval: [number, number] | null, note: string): forensics.ForensicsResult {
  return {
    outcome: 'analysed',
    summary: 'The detector finds no blending artefacts typical of face swapping.',
    input: { path: `x.${kind === 'image' ? 'jpg' : 'mp4'}`, sha256: '0', bytes: 1, kind, width: 64, height: 64 },
    probability: 0.367,
    interval,
    intervalNote: note,
    validation: { realMedia: null, untested: [], statement: STATEMENT },
    reliability: {
      neighbours: 25,
      manipulated: 10,
      rate: 0.4,
      interval: [0.2113, 0.6133],
      scoreRange: [0.2989, 0.4357],
      caveat: 'Held-out items are self-blended pseudo-fakes.',
    },
    watermark: { verdict: 'not checked', detail: '' },
  } as unknown as forensics.ForensicsResult;
}

describe('forensics analyze text', () => {
  it('a video: the frame interval with its meaning, the reliability and the error rates', () => {
    const t = analysisText(
      'clip.mp4',
      result('video', [0.331, 0.4], 'over the analysed frames: how much the choice of frames matters, not how often the detector is right.'),
      'case.pdf',
    );
    assert.match(t, /^clip\.mp4: analysed, probability of manipulation 36\.7% \(95% interval 33\.1%–40\.0%\)\n/);
    assert.match(t, /\ninterval: over the analysed frames: how much the choice of frames matters, not how often the detector is right\.\n/);
    assert.match(
      t,
      /\nreliability: of the 25 held-out items scored nearest \(29\.9%–43\.6%\), 10 were manipulated: 40\.0%, exact 95% interval \[21\.1%, 61\.3%\]\. Held-out items are self-blended pseudo-fakes\.\n/,
    );
    assert.ok(t.includes(`\nerror rates: ${STATEMENT}\n`), t);
    assert.match(t, /\nreport: case\.pdf\n$/);
  });
  it('a single image: no interval on the first line, the reason why on its own line', () => {
    const t = analysisText('face.jpg', result('image', null, 'A single image has no frames to resample, so there is no sampling interval.'), undefined);
    assert.match(t, /^face\.jpg: analysed, probability of manipulation 36\.7%\n/);
    assert.match(t, /\ninterval: none: A single image has no frames to resample, so there is no sampling interval\.\n/);
    assert.match(t, /\nerror rates: /);
  });
});
