/**
 * Liveness building blocks on synthetic signals: band-pass response, rPPG (POS) on a synthetic
 * 1.2 Hz skin-colour signal, EVM amplification, attention weights, Procrustes, the logistic head,
 * Fourier domain adaptation (keeps the source phase), the verdict logic, and bad inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isClearsightError } from '../src/core/errors.js';
import type { RawImage } from '../src/core/image/types.js';
import { mulberry32 } from '../src/core/random.js';
import {
  alternation,
  bandPass,
  calibrateLiveness,
  chooseThresholds,
  CUES,
  decideLiveness,
  DEFAULT_LIVENESS_HEAD,
  dft2,
  fitHead,
  fitSimilarity,
  fourierDomainAdaptation,
  fuse,
  magnify,
  parseHead,
  pool,
  posPulse,
  pulseFromSignal,
  readVideoFrames,
  assessPulse,
  noiseSnrQuantile,
  pulseOf,
  softmax,
  verdictOf,
  type CueMatrix,
  type LivenessHead,
  type LivenessAnalysis,
} from '../src/face/liveness/index.js';
import { pad, rocAuc, bestThreshold } from '../src/face/metrics.js';

const rand = mulberry32(11);
const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, rand()))) * Math.cos(2 * Math.PI * rand());
const sine = (f: number, fs: number, n: number, amp = 1) => Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * f * i) / fs));
const rms = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

describe('temporal band-pass 0.7-4 Hz at 30 fps', () => {
  it('passes 1.5 Hz, rejects 0.1 Hz drift and 10 Hz flicker', () => {
    const n = 300,
      fs = 30;
    const mid = (x: number[]) => x.slice(50, 250); // ignore the edges
    const gain = (f: number) => rms(mid(bandPass(sine(f, fs, n), fs, 0.7, 4))) / rms(mid(sine(f, fs, n)));
    assert.ok(gain(1.5) > 0.9 && gain(1.5) < 1.1, `1.5 Hz gain ${gain(1.5)}`);
    assert.ok(gain(0.1) < 0.05, `0.1 Hz gain ${gain(0.1)}`);
    assert.ok(gain(10) < 0.05, `10 Hz gain ${gain(10)}`);
  });
  it('is zero-phase: the filtered 1.5 Hz sine peaks where the input does', () => {
    const x = sine(1.5, 30, 300);
    const y = bandPass(x, 30, 0.7, 4);
    const corr = (lag: number) => {
      let c = 0;
      for (let i = 60; i < 240; i++) c += x[i]! * y[i + lag]!;
      return c;
    };
    const lags = [-4, -3, -2, -1, 0, 1, 2, 3, 4];
    const best = lags.reduce((b, l) => (corr(l) > corr(b) ? l : b), -4);
    assert.equal(best, 0);
  });
  it('rejects a bad band', () => assert.throws(() => bandPass([1, 2, 3], 30, 4, 0.7), { code: 'E_INVALID_OPTION' }));
});

describe('rPPG', () => {
  it('POS on a synthetic 1.2 Hz skin-colour pulse gives 72 bpm', () => {
    const fs = 30,
      n = 300;
    // skin tone (0.6, 0.45, 0.35); the pulse modulates green most (haemoglobin absorption),
    // plus a common illumination drift and sensor noise
    const rgb = Array.from({ length: n }, (_, i) => {
      const p = Math.sin((2 * Math.PI * 1.2 * i) / fs);
      const light = 1 + 0.02 * Math.sin((2 * Math.PI * 0.15 * i) / fs);
      return [
        0.6 * light * (1 + 0.001 * p) + 0.0005 * gauss(),
        0.45 * light * (1 + 0.004 * p) + 0.0005 * gauss(),
        0.35 * light * (1 + 0.002 * p) + 0.0005 * gauss(),
      ] as [number, number, number];
    });
    const est = pulseFromSignal(posPulse(rgb, fs), fs);
    assert.ok(Math.abs(est.bpm - 72) <= 2, `bpm ${est.bpm}`);
    assert.ok(est.snr > 0.5, `snr ${est.snr}`);
  });
  it('noise has no concentrated pulse', () => {
    const est = pulseFromSignal(Array.from({ length: 300 }, gauss), 30);
    assert.ok(est.snr < 0.35, `snr ${est.snr}`);
  });
  const skin = (n: number, fs: number, pulseAmp: number, noise: number) =>
    Array.from({ length: n }, (_, i) => {
      const p = pulseAmp * Math.sin((2 * Math.PI * 1.2 * i) / fs);
      return [0.6 * (1 + 0.25 * p) + noise * gauss(), 0.45 * (1 + p) + noise * gauss(), 0.35 * (1 + 0.5 * p) + noise * gauss()] as [number, number, number];
    });
  it('the noise bar sits above what noise usually reads, per clip length, and is reproducible', () => {
    for (const n of [45, 150, 300]) {
      const bar = noiseSnrQuantile(n, 30);
      const typical = noiseSnrQuantile(n, 30, 0.5);
      assert.ok(bar > typical + 0.05 && bar < 0.6, `${n} frames: bar ${bar}, median ${typical}`);
      assert.equal(noiseSnrQuantile(n, 30), bar, 'seeded: the same clip length always gets the same bar');
    }
  });
  it('a clear pulse is reported with its rate; colour noise alone never is', () => {
    const clear = assessPulse(skin(300, 30, 0.004, 0.0005), 30);
    assert.ok(clear.reliable, `snr ${clear.snr} vs bar ${clear.minSnr}`);
    assert.ok(Math.abs(clear.bpm - 72) <= 2, `bpm ${clear.bpm}`);
    assert.ok(Math.abs(pulseOf(clear).bpm! - 72) <= 2);
    let falseAlarms = 0;
    for (let k = 0; k < 10; k++) if (assessPulse(skin(150, 30, 0, 0.002), 30, 100).reliable) falseAlarms++;
    assert.ok(falseAlarms <= 1, `${falseAlarms} of 10 noise clips read as a pulse`);
  });
  it('a slow drift is no pulse: its band maximum sits on the band edge, and no rate is printed', () => {
    // a still picture: skin colour swaying at 0.58 Hz, just below the 0.7-4 Hz band, almost no
    // noise; its power spills over the band edge, so the concentration alone (snr) passes the bar
    const fs = 30;
    const drift = Array.from({ length: 180 }, (_, i) => {
      const d = 0.01 * Math.sin((2 * Math.PI * 0.58 * i) / fs);
      return [0.6 * (1 + 0.5 * d) + 1e-5 * gauss(), 0.45 * (1 + d) + 1e-5 * gauss(), 0.35 * (1 + 0.7 * d) + 1e-5 * gauss()] as [number, number, number];
    });
    const r = assessPulse(drift, fs);
    assert.ok(Math.abs(r.bpm - 42) <= 1, `the band maximum is at the lower edge (42 bpm), got ${r.bpm}`);
    assert.ok(r.snr > r.minSnr, `the concentration passes the noise bar (snr ${r.snr} vs ${r.minSnr}): only the peak check withholds it`);
    assert.equal(r.localPeak, false);
    assert.equal(r.reliable, false);
    assert.equal(pulseOf(r).bpm, null);
    // the same check keeps a real pulse: a clear 72 bpm is a local peak
    const clear = assessPulse(skin(180, fs, 0.004, 0.0005), fs);
    assert.ok(clear.localPeak && clear.reliable);
  });
  it('a pulse below the noise bar prints no rate ("164 bpm at SNR 0.14" is withheld)', () => {
    const weak = pulseOf({ bpm: 164, snr: 0.14, minSnr: 0.31, reliable: false });
    assert.deepEqual(weak, { bpm: null, snr: 0.14, minSnr: 0.31 });
    // an analysis that carries no bar (older serialised cues) is not trusted either
    assert.equal(pulseOf({ bpm: 164, snr: 0.9 }).bpm, null);
    const buried = assessPulse(skin(45, 30, 0.001, 0.01), 30);
    assert.equal(buried.reliable, false, `snr ${buried.snr} vs bar ${buried.minSnr}`);
  });
});

describe('Eulerian magnification', () => {
  it('amplifies a 1 Hz colour oscillation by alpha and leaves a static frame alone', () => {
    const fs = 30,
      n = 90,
      size = 32;
    const crops = Array.from({ length: n }, (_, t) => ({
      width: size,
      height: size,
      data: new Float32Array(size * size * 3).fill(0.5 + 0.001 * Math.sin((2 * Math.PI * t) / fs)),
    }));
    const m = magnify(crops, fs, { level: 2, alpha: 20 });
    const band = m.colourBand.slice(30, 60).map((p) => p.data[0]!);
    const amp = Math.max(...band.map(Math.abs));
    assert.ok(amp > 0.0008 && amp < 0.0012, `band amplitude ${amp}`);
    const out = m.colour.slice(30, 60).map((p) => p.data[0]! - 0.5);
    assert.ok(Math.max(...out.map(Math.abs)) > 0.015, 'magnified ~21x');
    assert.equal(m.colour[0]!.width, 8);
  });
});

describe('attention fusion', () => {
  it('softmax weights sum to 1 and favour salient frames; NaN frames get 0', () => {
    const a = softmax([0, 1, 2, NaN]);
    assert.ok(Math.abs(a.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    assert.equal(a[3], 0);
    assert.ok(a[2]! > a[1]! && a[1]! > a[0]!, a.join(' '));
    assert.throws(
      () => softmax([1], 0),
      (e: unknown) => isClearsightError(e),
    );
  });
  it('pooling puts the weight on the frame with the strong cue', () => {
    const z = [
      [0, 0],
      [0, 0],
      [5, 0],
      [0, 0],
    ];
    const { attention, pooled } = pool(z, [1, 1], 1);
    assert.ok(Math.abs(attention.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    assert.equal(attention.indexOf(Math.max(...attention)), 2);
    assert.ok(pooled[0]! > 5 / 4, 'attention lifts the blink above its plain mean');
  });
  it('a fitted head separates live from spoof clips and names the decisive frame', () => {
    const k = CUES.indexOf('blink');
    const clip = (live: boolean): number[][] =>
      Array.from({ length: 40 }, (_, t) =>
        CUES.map((c, j) => (j === k && live && t === 20 ? 0.6 : c === 'antispoof' ? 0.5 + 0.05 * gauss() : 0.02 * Math.abs(gauss()))),
      );
    const clips = Array.from({ length: 20 }, (_, i) => ({ values: clip(i % 2 === 0), live: i % 2 === 0 }));
    const head = fitHead(clips);
    const live = fuse(clip(true), head),
      spoof = fuse(clip(false), head);
    assert.ok(live.score > 0.7 && spoof.score < 0.3, `${live.score} ${spoof.score}`);
    const values = clip(true);
    const analysis = {
      cues: { values, fps: 30, pulse: { bpm: 0, snr: 0, bandEnergyRatio: 0 } } as CueMatrix,
      frames: values.map((_, i) => ({ index: i, time: i / 30, found: true, reset: false, cut: false })),
    };
    const v = decideLiveness(analysis, head);
    assert.equal(v.verdict, 'live');
    assert.equal(v.frames[0]!.index, 20);
    assert.equal(v.frames[0]!.cue, 'blink');
    // too few tracked frames -> uncertain, whatever the score
    const short = { ...analysis, frames: analysis.frames.map((f, i) => ({ ...f, found: i < 5 })) };
    assert.equal(decideLiveness(short, head).verdict, 'uncertain');
    // calibration from a handful of clips starts from the prior and still separates them
    const cal = calibrateLiveness(
      clips.slice(0, 6).map((c) => ({
        analysis: { cues: { values: c.values, fps: 30, pulse: { bpm: 0, snr: 0, bandEnergyRatio: 0 } } } as Pick<LivenessAnalysis, 'cues'>,
        live: c.live,
      })),
      { prior: head },
    );
    assert.ok(fuse(clip(true), cal).score > fuse(clip(false), cal).score);
  });
  it('rejects clips that cannot be fitted', () => {
    const v = [[0]];
    assert.throws(
      () => fitHead([{ values: v, live: true }]),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
    assert.throws(
      () =>
        fitHead([
          { values: v, live: true },
          { values: v, live: true },
        ]),
      (e: unknown) => isClearsightError(e),
    );
    assert.throws(
      () => calibrateLiveness([{ live: true } as never, { live: false } as never]),
      (e: unknown) => isClearsightError(e),
    );
  });
  it('per-attack experts catch what one head over all attacks trades away', () => {
    // prints: no motion; replays: live motion but a screen cue; bona fide: motion, no screen cue
    const kM = CUES.indexOf('microMotion'),
      kS = CUES.indexOf('stutter');
    const clip = (motion: number, screen: number): number[][] =>
      Array.from({ length: 30 }, () => CUES.map((_, j) => (j === kM ? motion + 0.05 * gauss() : j === kS ? screen + 0.05 * gauss() : 0.1 * gauss())));
    const make = (kind: 'live' | 'print' | 'replay') => (kind === 'live' ? clip(1, 0) : kind === 'print' ? clip(0, 0) : clip(1, 1));
    // prints dominate the attack clips, as when a site records more of one attack
    const kinds = [...Array(8).fill('live'), ...Array(12).fill('print'), ...Array(3).fill('replay')] as Array<'live' | 'print' | 'replay'>;
    const clips = kinds.map((k) => ({ values: make(k), live: k === 'live', ...(k === 'live' ? {} : { attack: k }) }));
    const typed = fitHead(clips, { l2: 1 });
    assert.deepEqual(typed.experts.map((e) => e.attack).sort(), ['print', 'replay']);
    const replay = fuse(make('replay'), typed),
      live = fuse(make('live'), typed),
      print = fuse(make('print'), typed);
    assert.ok(replay.score < 0.5 && print.score < 0.5 && live.score > 0.5, `replay ${replay.score} print ${print.score} live ${live.score}`);
    assert.equal(replay.decidedBy, 'replay');
    assert.equal(print.decidedBy, 'print');
    assert.ok(replay.cues.stutter!.contribution < 0, 'the screen cue argues against the replay');
    // the same clips without attack labels: one head, and the rare replay gets through
    const single = fitHead(
      clips.map(({ values, live }) => ({ values, live })),
      { l2: 1 },
    );
    assert.deepEqual(
      single.experts.map((e) => e.attack),
      ['spoof'],
    );
    assert.ok(fuse(make('replay'), single).score > replay.score);
    // calibration: an unlabelled replay joins the prior's replay expert
    const analysis = (values: number[][]) => ({ cues: { values, fps: 30, pulse: { bpm: 0, snr: 0, bandEnergyRatio: 0 } } as CueMatrix });
    const cal = calibrateLiveness(
      [make('live'), make('live'), make('replay'), make('replay')].map((v, i) => ({ analysis: analysis(v), live: i < 2 })),
      { prior: typed },
    );
    assert.deepEqual(cal.experts.map((e) => e.attack).sort(), ['print', 'replay']);
    assert.match(cal.source, /calibrated on 4 site clips/);
    const calReplay = fuse(make('replay'), cal).score,
      calLive = fuse(make('live'), cal).score;
    assert.ok(calReplay < 0.5 && calLive > 0.5, `calibrated: replay ${calReplay}, live ${calLive}`);
    // a camera that reads every cue 30 % higher: after calibration its clips score as before
    const gain = (v: number[][]) => v.map((row) => row.map((x) => 1.3 * x));
    const cal2 = calibrateLiveness(
      [make('live'), make('live'), make('replay')].map((v, i) => ({ analysis: analysis(gain(v)), live: i < 2 })),
      { prior: typed },
    );
    const p2 = fuse(gain(make('print')), cal2),
      l2 = fuse(gain(make('live')), cal2);
    assert.ok(
      p2.score < 0.5 && p2.decidedBy === 'print' && l2.score > 0.5,
      `print ${p2.score} (${p2.decidedBy}), live ${l2.score}: the print expert had no site clip and still works`,
    );
    // unlabelled attack clips from a camera reading every cue at half scale join the right experts
    const half = (v: number[][]) => v.map((row) => row.map((x) => 0.5 * x));
    const site = fitHead(
      [make('live'), make('live'), make('print'), make('replay')].map((v, i) => ({ values: half(v), live: i < 2 })),
      { prior: typed, l2: 0.2 },
    );
    assert.match(site.source, /2 live; 1 print, 1 replay/);
  });
  it('calibration from one live clip (one person) does not re-centre the site on that person', () => {
    // every person has their own motion level; prints have none. The prior knows the spread
    // across people; one site clip shows one person's level with a tiny spread.
    const kM = CUES.indexOf('microMotion');
    const clip = (motion: number): number[][] => Array.from({ length: 30 }, () => CUES.map((_, j) => (j === kM ? motion + 0.05 * gauss() : 0.1 * gauss())));
    const person = () => 1 + 0.4 * gauss();
    const training = Array.from({ length: 40 }, (_, i) => ({
      values: i < 20 ? clip(person()) : clip(0),
      live: i < 20,
      ...(i < 20 ? {} : { attack: 'print' }),
    }));
    const prior = fitHead(training, { l2: 0.1 });
    const site = (values: number[][], live: boolean) => ({
      analysis: { cues: { values, fps: 30, pulse: { bpm: 0, snr: 0, bandEnergyRatio: 0 } } as CueMatrix },
      live,
    });
    // the one site person moves a lot (1.8); the site's other people move as the prior's did
    const clips = [site(clip(1.8), true), site(clip(0), false)];
    const cal = calibrateLiveness(clips, { prior });
    const full = calibrateLiveness(clips, { prior, alignPriorClips: 0 }); // align fully to the one person
    const others = [0.5, 0.7, 0.9, 1.1, 1.3].map((m) => clip(m));
    const accepted = (h: typeof prior) => others.filter((v) => fuse(v, h).score >= 0.5).length;
    assert.equal(accepted(prior), 5);
    assert.equal(accepted(full), 0, 'fully aligned to one person, every other person reads as a print');
    // shrunk toward the prior: better, though one live clip still moves the print expert
    assert.ok(accepted(cal) >= 2, `after calibrating on one person, ${accepted(cal)} of 5 other people accepted`);
    assert.ok(fuse(clip(0), cal).score < 0.5, 'prints still rejected');
    assert.throws(
      () => calibrateLiveness(clips, { prior, alignPriorClips: -1 }),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
  });
  it('parseHead accepts heads of both shapes and names what is wrong', () => {
    const h = parseHead(JSON.parse(JSON.stringify(DEFAULT_LIVENESS_HEAD)));
    assert.deepEqual(h, DEFAULT_LIVENESS_HEAD);
    const legacy = { cues: ['blink'], mean: [0], std: [1], weights: [2], bias: -1, temperature: 1, thresholds: { live: 0.6, spoof: 0.4 }, source: 'old' };
    assert.deepEqual(parseHead(legacy).experts, [{ attack: 'spoof', weights: [2], bias: -1 }]);
    const bad = (x: unknown, what: RegExp) =>
      assert.throws(
        () => parseHead(x),
        (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && what.test(e.message),
      );
    bad({ ...legacy, cues: ['smile'] }, /head\.cues/);
    bad({ ...legacy, weights: [1, 2] }, /head\.experts\[0\]/);
    bad({ ...legacy, std: 'x' }, /head\.std/);
    bad({ ...legacy, thresholds: { live: 0.2, spoof: 0.8 } }, /head\.thresholds/);
    bad(null, /head/);
  });
  it('shipped head covers every cue in every expert', () => {
    assert.deepEqual(DEFAULT_LIVENESS_HEAD.cues, [...CUES]);
    assert.ok(DEFAULT_LIVENESS_HEAD.experts.length >= 1, 'at least one expert');
    assert.equal(DEFAULT_LIVENESS_HEAD.bonaFide?.mean.length, CUES.length);
    for (const e of DEFAULT_LIVENESS_HEAD.experts) assert.equal(e.weights.length, CUES.length, e.attack);
  });
});

describe('frame-rate stutter (alternation of frame differences)', () => {
  const obs = (d: number[]) => d.map((structDiff, i) => ({ found: true, cut: false, structDiff: i === 0 ? 0 : structDiff }));
  const mid = (a: number[]) => a.slice(8, -8);
  it('is ~1 when every frame is shown twice, ~0 for steady motion and for 3:2 pulldown', () => {
    const n = 40;
    const doubled = alternation(obs(Array.from({ length: n }, (_, i) => (i % 2 ? 0.0005 : 0.02))));
    const steady = alternation(obs(Array.from({ length: n }, () => 0.01 + 0.002 * rand())));
    const pulldown = alternation(obs(Array.from({ length: n }, (_, i) => (i % 5 === 4 ? 0.0005 : 0.015))));
    assert.ok(Math.min(...mid(doubled)) > 0.9, `doubled ${Math.min(...mid(doubled))}`);
    assert.ok(Math.max(...mid(steady)) < 0.15, `steady ${Math.max(...mid(steady))}`);
    assert.ok(Math.max(...mid(pulldown)) < 0.15, `pulldown ${Math.max(...mid(pulldown))}`);
  });
  it('does not reach across a lost face or a cut', () => {
    const o = obs(Array.from({ length: 20 }, (_, i) => (i % 2 ? 0.0005 : 0.02)));
    o[10] = { found: false, cut: false, structDiff: 0 };
    const a = alternation(o);
    assert.ok(Number.isNaN(a[10]!), 'no value without a face');
    assert.ok(a[9]! > 0.9 && a[11]! > 0.9, `${a[9]} ${a[11]}`);
  });
});

describe('geometry and metrics', () => {
  it('fitSimilarity recovers a rotation + scale + shift exactly', () => {
    const src = Float64Array.from([0, 0, 10, 0, 0, 5, 7, 3]);
    const a = 0.3,
      s = 1.7;
    const dst = src.map((_, i) =>
      i % 2 === 0 ? s * (Math.cos(a) * src[i]! - Math.sin(a) * src[i + 1]!) + 4 : s * (Math.sin(a) * src[i - 1]! + Math.cos(a) * src[i]!) - 2,
    );
    const m = fitSimilarity(src, dst);
    const [x, y] = m(7, 3);
    assert.ok(Math.abs(x - dst[6]!) < 1e-9 && Math.abs(y - dst[7]!) < 1e-9);
  });
  it('ROC AUC, best threshold and ISO 30107-3 rates', () => {
    assert.equal(rocAuc([0.9, 0.8], [0.1, 0.2]), 1);
    assert.equal(rocAuc([0.5], [0.5]), 0.5);
    assert.ok(Math.abs(bestThreshold([0.9, 0.8], [0.1, 0.2]).threshold - 0.5) < 1e-9);
    const r = pad([0.9, 0.2, 0.8, 0.7], { print: [0.1, 0.6], replay: [0.1, 0.2] }, 0.5);
    assert.equal(r.bpcer, 0.25);
    assert.equal(r.apcer, 0.5);
    assert.equal(r.acer, 0.375);
  });
});

describe('Fourier domain adaptation', () => {
  const img = (f: (x: number, y: number, c: number) => number, w = 16, h = 12): RawImage => ({
    width: w,
    height: h,
    channels: 3,
    data: Float32Array.from({ length: w * h * 3 }, (_, i) => f(((i / 3) | 0) % w, (i / 3 / w) | 0, i % 3)),
  });
  const src = img(() => rand());
  const tgt = img((x, y, c) => 0.3 + 0.2 * Math.sin(x / 3 + c) * Math.cos(y / 4));
  it('keeps the source phase and takes the target low-frequency amplitude', () => {
    const out = fourierDomainAdaptation(src, tgt, 0.1);
    const spec = (im: RawImage) => {
      const re = Float64Array.from({ length: im.width * im.height }, (_, i) => im.data[i * 3]!);
      return dft2(im.width, im.height, re, new Float64Array(re.length));
    };
    const S = spec(src),
      T = spec(tgt),
      O = spec(out);
    for (let i = 0; i < S.re.length; i++) {
      const amp = Math.hypot(O.re[i]!, O.im[i]!);
      if (amp < 1e-6 || Math.hypot(S.re[i]!, S.im[i]!) < 1e-6) continue;
      const dphi = Math.atan2(O.im[i]!, O.re[i]!) - Math.atan2(S.im[i]!, S.re[i]!);
      assert.ok(Math.abs(Math.atan2(Math.sin(dphi), Math.cos(dphi))) < 1e-6, `phase kept at ${i}`);
    }
    assert.ok(Math.abs(Math.hypot(O.re[0]!, O.im[0]!) - Math.hypot(T.re[0]!, T.im[0]!)) < 1e-6, 'DC amplitude from the target');
    const far = 6 * 16 + 8; // (u 8, v 6): the highest frequency, outside the swapped square
    assert.ok(Math.abs(Math.hypot(O.re[far]!, O.im[far]!) - Math.hypot(S.re[far]!, S.im[far]!)) < 1e-6);
  });
  it('beta 0 with the source as target is the identity', () => {
    const out = fourierDomainAdaptation(src, src, 0);
    assert.ok(out.data.every((v, i) => Math.abs(v - src.data[i]!) < 1e-5));
  });
  it('rejects mismatched pictures and a bad beta', () => {
    assert.throws(
      () =>
        fourierDomainAdaptation(
          src,
          img(() => 0, 8, 8),
        ),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
    assert.throws(
      () => fourierDomainAdaptation(src, tgt, 0.9),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
  });
});

describe('video reader input checks', () => {
  it('rejects a missing file and a file that is not a video', async () => {
    await assert.rejects(readVideoFrames('/nonexistent/clip.mp4'), (e: unknown) => isClearsightError(e) && e.code === 'E_INPUT_NOT_FOUND');
    const dir = await mkdtemp(path.join(tmpdir(), 'cs-live-'));
    try {
      const f = path.join(dir, 'not-a-video.mp4');
      await writeFile(f, 'hello, this is text');
      await assert.rejects(readVideoFrames(f), (e: unknown) => isClearsightError(e) && e.code === 'E_INPUT_UNSUPPORTED');
      await assert.rejects(readVideoFrames(f, { maxSeconds: -1 }), (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('learned temporal model (models/liveness-gru)', () => {
  it('scoreTemporal reproduces the PyTorch golden output from a cue matrix (frames without a face masked)', async () => {
    const { TrainedModel } = await import('../src/core/models/trainedModel.js');
    const { readGolden } = await import('../src/core/models/trained.js');
    const { scoreTemporal } = await import('../src/face/liveness/index.js');
    const model = await TrainedModel.load('liveness-gru', { threads: 1 });
    try {
      const golden = readGolden(model.card);
      const [cues, mask] = golden.inputs;
      const [T, C] = [cues!.shape[1]!, cues!.shape[2]!];
      // a frame whose mask is 0 is a frame without a face: all cues non-finite
      const values = Array.from({ length: T }, (_, t) =>
        mask!.data[t] ? Array.from(cues!.data.subarray(t * C, (t + 1) * C)) : new Array<number>(C).fill(NaN),
      );
      const r = await scoreTemporal(model, { values });
      assert.ok(Math.abs(r.score - golden.outputs[0]!.data[0]!) <= 1e-4, `score ${r.score} vs golden ${golden.outputs[0]!.data[0]}`);
      assert.match(r.model, /^liveness\/liveness-gru@/);
      assert.ok(r.topFrame.index >= 0 && r.topFrame.index < T && mask!.data[r.topFrame.index] === 1, 'attention never lands on a masked frame');
      await assert.rejects(scoreTemporal(model, { values: [[1, 2, 3]] }), /14 cues per frame/);
    } finally {
      await model.dispose();
    }
  });
});

describe('operating thresholds', () => {
  const scores = (xs: number[], live: boolean, attack?: string) => xs.map((score) => ({ score, live, ...(attack ? { attack } : {}) }));
  it('the rule picks the thresholds worked out by hand', () => {
    // 20 real clips: at most 1 may fall below live (5 %) -> b* = 0.62, capped at 0.5; 20 prints:
    // at most 1 may reach live -> s* = 0.2 (second largest) + 1e-4; replays lower still
    const real = [0.3, 0.62, ...Array.from({ length: 18 }, (_, i) => 0.7 + i * 0.01)];
    const prints = [0.35, 0.2, ...Array.from({ length: 18 }, (_, i) => 0.01 * i)];
    const replays = Array.from({ length: 20 }, (_, i) => 0.005 * i);
    assert.deepEqual(chooseThresholds([...scores(real, true), ...scores(prints, false, 'print'), ...scores(replays, false, 'replay')]), {
      live: 0.5,
      spoof: 0.2001,
    });
    // 10 real clips: none may fall below live -> live = the lowest real score, under the cap
    const few = [0.42, 0.6, 0.7, 0.8, 0.9, 0.9, 0.95, 0.97, 0.99, 0.99];
    assert.deepEqual(chooseThresholds([...scores(few, true), ...scores([0.1, 0.05, 0.01], false, 'print')]), { live: 0.42, spoof: 0.1001 });
    // an attack family above the lowest real clips: live is raised to shut it out, no uncertain band
    const cut = [0.45, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    assert.deepEqual(chooseThresholds([...scores([0.3, ...few.slice(1)], true), ...scores(cut, false, 'cutEye')]), { live: 0.4501, spoof: 0.4501 });
  });
  it('the rule rejects score sets it cannot choose from', () => {
    const invalid = (x: unknown) =>
      assert.throws(
        () => chooseThresholds(x as never),
        (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && /scores/.test(e.message),
      );
    invalid(scores([0.9, 0.8], true));
    invalid([...scores([0.9], true), { score: Number.NaN, live: false }]);
    invalid('0.5');
    assert.throws(
      () => chooseThresholds([...scores([0.9], true), ...scores([0.1], false, 'print')], { maxBpcer: 0.05, maxApcer: 1, liveCap: 0.5 }),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && /rule/.test(e.message),
    );
  });
  it("the verdict uses the head's thresholds and rejects a spoof threshold above the live one", () => {
    // one cue at 0 and bias 0: every clip scores exactly 0.5
    const head = (thresholds: { live: number; spoof: number }): LivenessHead => ({
      cues: ['blink'],
      mean: [0],
      std: [1],
      experts: [{ attack: 'spoof', weights: [1], bias: 0 }],
      temperature: 1,
      thresholds,
      source: 'test',
    });
    const values = Array.from({ length: 40 }, () => CUES.map(() => 0));
    const analysis = {
      cues: { values, fps: 30, pulse: { bpm: 0, snr: 0, bandEnergyRatio: 0 } } as CueMatrix,
      frames: values.map((_, i) => ({ index: i, time: i / 30, found: true, reset: false, cut: false })),
    };
    assert.equal(decideLiveness(analysis, head({ live: 0.5, spoof: 0.4 })).verdict, 'live');
    assert.equal(decideLiveness(analysis, head({ live: 0.6, spoof: 0.4 })).verdict, 'uncertain');
    assert.equal(decideLiveness(analysis, head({ live: 0.7, spoof: 0.55 })).verdict, 'spoof');
    assert.equal(verdictOf(0.45, { live: 0.5, spoof: 0.45 }), 'uncertain', 'a score at the spoof threshold is not a spoof');
    for (const bad of [
      { live: 0.3, spoof: 0.7 },
      { live: 1.2, spoof: 0.4 },
      { live: Number.NaN, spoof: 0.4 },
    ])
      assert.throws(
        () => decideLiveness(analysis, head(bad)),
        (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && /head\.thresholds/.test(e.message) && /spoof <= live/.test(e.message),
      );
  });
});

describe('cues that may only argue for life', () => {
  it('nonNegative holds a cue fitted against life at 0 and the expert still separates on the others', () => {
    // live clips blink; prints do not, and (as the simulated cut-eye prints did) read a HIGHER pulse.
    // Its own random stream, drawn inside the test: the module's stream feeds the tests above.
    const r = mulberry32(5);
    const g = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());
    const kb = CUES.indexOf('blink'),
      kp = CUES.indexOf('pulse');
    const clip = (live: boolean): number[][] =>
      Array.from({ length: 30 }, (_, t) =>
        CUES.map((_, j) => (j === kb ? (live && t % 10 === 0 ? 0.5 : 0) : j === kp ? (live ? 0.3 : 0.5) + 0.05 * g() : 0.02 * g())),
      );
    const clips = Array.from({ length: 16 }, (_, i) => ({ values: clip(i % 2 === 0), live: i % 2 === 0, ...(i % 2 ? { attack: 'print' } : {}) }));
    const free = fitHead(clips, { l2: 0.1 });
    assert.ok(free.experts[0]!.weights[kp]! < 0, `unconstrained pulse weight ${free.experts[0]!.weights[kp]}`);
    const held = fitHead(clips, { l2: 0.1, nonNegative: ['pulse'] });
    assert.equal(held.experts[0]!.weights[kp], 0);
    assert.ok(held.experts[0]!.weights[kb]! > 0);
    assert.ok(fuse(clip(true), held).score > 0.5 && fuse(clip(false), held).score < 0.5);
    assert.throws(
      () => fitHead(clips, { cues: ['blink'], nonNegative: ['pulse'] }),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && /nonNegative/.test(e.message),
    );
  });
});
