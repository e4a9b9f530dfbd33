/**
 * Verdicts in the exit code (issue 21 point 4): `watermark verify`, `liveness` and
 * `forensics analyze` exit 0 only for the positive verdict and with a distinct, documented code
 * for every other one; --json is unchanged.
 *
 * The mapping is tested for every verdict; end to end: watermark authentic (0) and none (10) in
 * watermarkCli.test.ts; here forensics without a face (32) and on a face (the code its JSON implies), liveness on a clip
 * made here from a still face (the code its verdict implies; a still picture is not live).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { EXIT, EXIT_CODE_HELP, exitForForensics, exitForLiveness, exitForWatermark, VERDICT_EXIT } from '../src/cli/exitCodes.js';
import { createImage } from '../src/core/image/index.js';
import { rgbToYuv, VideoWriter } from '../src/core/video/index.js';
import { livenessText } from '../src/cli/commands/liveness.js';
import { runCli } from './helpers/cli.js';

let dir: string;
let face: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'clearsight-verdicts-'));
  const req = createRequire(import.meta.url);
  const samples = path.join(path.dirname(req.resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
  face = path.join(dir, 'face.png');
  await sharp(samples).extract({ left: 326, top: 0, width: 210, height: 158 }).png().toFile(face);
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('verdict exit codes: the mapping', () => {
  it('0 only for authentic / live / no manipulation found; every other verdict its own code', () => {
    const codes = [
      exitForWatermark('none'),
      exitForWatermark('manipulated'),
      exitForWatermark('damaged'),
      exitForLiveness('spoof'),
      exitForLiveness('uncertain'),
      exitForLiveness('live', false),
      exitForForensics({ outcome: 'analysed', probability: 0.9, interval: [0.7, 0.95] }),
      exitForForensics({ outcome: 'analysed', probability: 0.5, interval: [0.3, 0.7] }),
      exitForForensics({ outcome: 'no-face', probability: null, interval: null }),
    ];
    assert.deepEqual(codes, [10, 11, 12, 20, 21, 22, 30, 31, 32]);
    assert.equal(new Set(codes).size, codes.length, 'distinct');
    assert.equal(exitForWatermark('authentic'), EXIT.OK);
    assert.equal(exitForLiveness('live'), EXIT.OK);
    assert.equal(exitForLiveness('live', true), EXIT.OK);
    assert.equal(exitForForensics({ outcome: 'analysed', probability: 0.1, interval: [0.05, 0.2] }), EXIT.OK);
    // A single image has no interval: the probability decides, 50% counts as manipulated (as its summary says).
    assert.equal(exitForForensics({ outcome: 'analysed', probability: 0.49, interval: null }), EXIT.OK);
    assert.equal(exitForForensics({ outcome: 'analysed', probability: 0.5, interval: null }), 30);
    assert.equal(exitForForensics({ outcome: 'too-short', probability: null, interval: null }), 32);
    // None collides with an error code, and --help documents each.
    const errors: number[] = Object.values(EXIT);
    for (const code of Object.values(VERDICT_EXIT)) {
      assert.ok(!errors.includes(code), `${code} is not an error code`);
      assert.match(EXIT_CODE_HELP, new RegExp(`\\n  ${code} `), `--help documents ${code}`);
    }
  });
});

describe('verdict exit codes: end to end', () => {
  // watermark verify end to end (authentic 0, none 10): test/watermarkCli.test.ts.

  it('forensics analyze on a face: the code its JSON implies', async () => {
    const r = await runCli(['forensics', 'analyze', face, '--json']);
    const json = JSON.parse(r.stdout) as { outcome: string; probability: number | null; interval: [number, number] | null };
    assert.equal(r.code, exitForForensics(json), r.stderr);
  });

  it('liveness on a still face (a replayed photo): a non-zero verdict code matching its JSON', async () => {
    const img = await sharp(face).resize(210, 158).raw().toBuffer({ resolveWithObject: true });
    const rgb = createImage(
      210,
      158,
      3,
      Float32Array.from(img.data, (v) => v / 255),
    );
    const clip = path.join(dir, 'still.mp4');
    const writer = await VideoWriter.open(clip, { width: 210, height: 158, fps: 15 });
    for (let i = 0; i < 30; i++) writer.write(rgbToYuv(rgb));
    await writer.finish();
    const r = await runCli(['liveness', clip, '--json']);
    const json = JSON.parse(r.stdout) as { verdict: 'live' | 'spoof' | 'uncertain' };
    assert.equal(r.code, exitForLiveness(json.verdict), r.stderr);
    assert.notEqual(json.verdict, 'live', 'a still picture is not live');
    assert.ok(r.code === 20 || r.code === 21);
  });
});

describe('liveness text', () => {
  const verdict = (pulse: { bpm: number | null; snr: number; minSnr: number }) => ({
    verdict: 'spoof' as const,
    score: 0.164,
    decidedBy: 'cutEye',
    experts: { print: 0.188, replay: 0.842, cutEye: 0.164 },
    cues: { microMotion: { value: -1.2, contribution: -0.41 } },
    frames: [{ index: 3, time: 0.12, attention: 0.3, cue: 'microMotion', contribution: -0.2 }],
    pulse,
    coverage: { tracked: 125, total: 125 },
    head: 'test head',
  });
  it('names the attacks in words and says why no pulse rate is printed', () => {
    const drift = livenessText('still.mp4', verdict({ bpm: null, snr: 0.38, minSnr: 0.34 }));
    assert.match(drift, /live score against each attack: print 0\.188, screen replay 0\.842, cut-eye print 0\.164 \(the lowest decides: cut-eye print\)/);
    assert.match(drift, /pulse: not measured \(SNR 0\.38 is above the noise bar 0\.34, but the heart band holds no spectral peak/);
    assert.doesNotMatch(drift, /cutEye/);
    assert.match(
      livenessText('a.mp4', verdict({ bpm: null, snr: 0.2, minSnr: 0.34 })),
      /pulse: not measured \(SNR 0\.20, noise reaches 0\.34 on a clip this long\)/,
    );
    assert.match(livenessText('a.mp4', verdict({ bpm: 80.4, snr: 0.46, minSnr: 0.35 })), /pulse: 80 bpm, SNR 0\.46 \(noise reaches 0\.35\)/);
  });
});
