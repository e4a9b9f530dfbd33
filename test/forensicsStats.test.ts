import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClearsightError } from '../src/core/errors.js';
import { mulberry32 } from '../src/core/random.js';
import { calibrateScore, expectedCalibrationError, fitIsotonic, fitPlatt } from '../src/trust/forensics/calibration.js';
import { fitLogistic, predictLogistic } from '../src/core/logistic.js';
import {
  aucHanleyMcNeil,
  betaCdf,
  bootstrapInterval,
  clopperPearson,
  lnGamma,
  normalQuantile,
  rocAuc,
  sampleSizeForWidth,
  STATISTICS,
} from '../src/trust/forensics/stats.js';
import { readManifest, runStudy, stratifiedSample, type ManifestItem } from '../src/trust/forensics/study.js';

const close = (a: number, b: number, tol: number, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const isInvalid = (option: string) => (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && e.details.option === option;

describe('special functions', () => {
  it('lnGamma matches factorials and Γ(1/2) = √π', () => {
    close(lnGamma(5), Math.log(24), 1e-12);
    close(lnGamma(11), Math.log(3628800), 1e-10);
    close(lnGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12);
  });

  it('betaCdf matches closed forms', () => {
    // Beta(2,3) CDF at 1/2 = P(Bin(4, 1/2) >= 2) = 11/16.
    close(betaCdf(0.5, 2, 3), 11 / 16, 1e-12);
    // Beta(1,1) is uniform; Beta(a,1) CDF is x^a.
    close(betaCdf(0.3, 1, 1), 0.3, 1e-12);
    close(betaCdf(0.7, 4.5, 1), 0.7 ** 4.5, 1e-12);
    close(betaCdf(0.2, 30, 70) + betaCdf(0.8, 70, 30), 1, 1e-12, 'symmetry');
  });

  it('normalQuantile matches the standard table', () => {
    close(normalQuantile(0.975), 1.959963985, 1e-8);
    close(normalQuantile(0.5), 0, 1e-12);
    close(normalQuantile(0.001), -3.090232306, 1e-8);
  });
});

describe('clopperPearson', () => {
  it('matches published values', () => {
    const ci = clopperPearson(5, 10);
    close(ci.lo, 0.187086, 1e-6, 'lo');
    close(ci.hi, 0.812914, 1e-6, 'hi');
    // k = 0 and k = n have closed forms (alpha/2)^(1/n).
    close(clopperPearson(0, 10).hi, 1 - 0.025 ** 0.1, 1e-10);
    assert.equal(clopperPearson(0, 10).lo, 0);
    close(clopperPearson(10, 10).lo, 0.025 ** 0.1, 1e-10);
    assert.equal(clopperPearson(10, 10).hi, 1);
  });

  it('covers at least the nominal level (exact test over p)', () => {
    const n = 30;
    for (const p of [0.05, 0.3, 0.5, 0.9]) {
      let coverage = 0;
      for (let k = 0; k <= n; k++) {
        const ci = clopperPearson(k, n);
        const pk = Math.exp(lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p));
        if (ci.lo <= p && p <= ci.hi) coverage += pk;
      }
      assert.ok(coverage >= 0.95, `p=${p}: coverage ${coverage}`);
    }
  });

  it('rejects impossible counts', () => {
    assert.throws(() => clopperPearson(11, 10), isInvalid('k'));
    assert.throws(() => clopperPearson(1, 0), isInvalid('n'));
    assert.throws(() => clopperPearson(1, 10, 1), isInvalid('confidence'));
  });

  it('plans the sample size for an interval width', () => {
    const n = sampleSizeForWidth(0.5, 0.1);
    // Normal approximation says 385; the exact interval is a little wider, so a little more.
    assert.ok(n >= 385 && n <= 420, `n = ${n}`);
    const at = (m: number) => {
      const c = clopperPearson(Math.round(0.5 * m), m);
      return c.hi - c.lo;
    };
    assert.ok(at(n) <= 0.1);
    for (let m = n - 20; m < n; m++) assert.ok(at(m) > 0.1, `n=${m} already meets the width`);
    assert.ok(sampleSizeForWidth(0.95, 0.1) < n, 'proportions near 1 need fewer items');
  });
});

describe('AUC', () => {
  it('is the Mann-Whitney probability, ties counted half', () => {
    // Pairs (pos, neg): 3>1, 3>2, 3>2 ; 2>1, 2=2 (half), 2=2 (half)... computed by hand: 5/6.
    const auc = rocAuc({ scores: [3, 2, 1, 2], labels: [1, 1, 0, 0] });
    close(auc, (1 + 1 + 1 + 0.5) / 4, 1e-12);
    assert.equal(rocAuc({ scores: [0.9, 0.8, 0.1], labels: [1, 1, 0] }), 1);
    assert.equal(rocAuc({ scores: [0.1, 0.9], labels: [1, 0] }), 0);
  });

  it('has intervals that contain the estimate and shrink with n', () => {
    const rand = mulberry32(3);
    const make = (n: number) => {
      const scores: number[] = [];
      const labels: number[] = [];
      for (let i = 0; i < n; i++) {
        const l = i % 2;
        scores.push(rand() + 0.4 * l);
        labels.push(l);
      }
      return { scores, labels };
    };
    const small = make(60);
    const big = make(600);
    const bs = bootstrapInterval(small, STATISTICS.auc, { seed: 7, resamples: 500 });
    const bb = bootstrapInterval(big, STATISTICS.auc, { seed: 7, resamples: 500 });
    const a = rocAuc(small);
    assert.ok(bs.lo <= a && a <= bs.hi);
    assert.ok(bb.hi - bb.lo < bs.hi - bs.lo);
    // Same seed, same interval.
    assert.deepEqual(bootstrapInterval(small, STATISTICS.auc, { seed: 7, resamples: 500 }), bs);
    const hm = aucHanleyMcNeil(a, 30, 30);
    assert.ok(hm.lo < a && a < hm.hi);
  });

  it('rejects one-class data and bad labels', () => {
    assert.throws(() => rocAuc({ scores: [1, 2], labels: [1, 1] }), isInvalid('labels'));
    assert.throws(() => rocAuc({ scores: [1, 2], labels: [1, 2] }), isInvalid('labels[1]'));
    assert.throws(() => rocAuc({ scores: [1, Number.NaN], labels: [1, 0] }), isInvalid('scores[1]'));
  });
});

describe('logistic regression and calibration', () => {
  it('recovers a known logistic model', () => {
    const rand = mulberry32(11);
    const X: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const a = rand() * 4 - 2;
      const b = rand() * 4 - 2;
      const p = 1 / (1 + Math.exp(-(1.5 * a - 0.8 * b + 0.3)));
      X.push([a, b]);
      y.push(rand() < p ? 1 : 0);
    }
    const m = fitLogistic(X, y, { l2: 0, standardise: false });
    close(m.weights[0], 1.5, 0.15, 'w0');
    close(m.weights[1], -0.8, 0.12, 'w1');
    close(m.bias, 0.3, 0.12, 'bias');
    close(predictLogistic(m, [0, 0]), 1 / (1 + Math.exp(-m.bias)), 1e-12);
  });

  it('Platt and isotonic calibration make over-confident scores honest', () => {
    const rand = mulberry32(5);
    const scores: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = rand();
      labels.push(rand() < p ? 1 : 0);
      scores.push(p > 0.5 ? 0.5 + (p - 0.5) * 0.2 + 0.4 : p * 0.2); // squashed to the extremes
    }
    const before = expectedCalibrationError(scores, labels);
    for (const c of [fitPlatt(scores, labels), fitIsotonic(scores, labels)]) {
      const probs = scores.map((s) => calibrateScore(c, s));
      const after = expectedCalibrationError(probs, labels);
      assert.ok(after < before / 2, `${c.method}: ECE ${after} vs ${before}`);
      // Calibration is monotone: it never reorders items.
      for (let i = 1; i < 50; i++) assert.ok(calibrateScore(c, i / 50) >= calibrateScore(c, (i - 1) / 50));
    }
  });

  it('isotonic regression pools adjacent violators', () => {
    const c = fitIsotonic([1, 2, 3, 4, 5], [0, 1, 0, 1, 1]);
    assert.deepEqual(c.method === 'isotonic' && c.values, [0, 0.5, 1]);
    assert.equal(calibrateScore(c, 2.5), 0.5);
    assert.equal(calibrateScore(c, 99), 1);
  });
});

describe('reliability study', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clearsight-study-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const population = (n: number): ManifestItem[] =>
    Array.from({ length: n }, (_, i) => ({
      path: `/x/${String(i).padStart(4, '0')}.png`,
      label: (i % 3 === 0 ? 1 : 0) as 0 | 1,
      stratum: i % 3 === 0 ? 'manipulated' : 'authentic',
    }));

  it('draws the same stratified sample for the same seed, another for another seed', () => {
    const items = population(300);
    const a = stratifiedSample(items, 0.2, 42);
    const b = stratifiedSample(items, 0.2, 42);
    const c = stratifiedSample(items, 0.2, 43);
    assert.deepEqual(
      a.items.map((i) => i.path),
      b.items.map((i) => i.path),
    );
    assert.notDeepEqual(
      a.items.map((i) => i.path),
      c.items.map((i) => i.path),
    );
    assert.deepEqual(a.record.strata, { authentic: { population: 200, sampled: 40 }, manipulated: { population: 100, sampled: 20 } });
    assert.equal(new Set(a.items.map((i) => i.path)).size, 60, 'without replacement');
  });

  it('reports metrics with exact and bootstrap intervals and lists unscorable items', async () => {
    const items = population(300);
    const rand = mulberry32(9);
    const noise = new Map(items.map((it) => [it.path, rand()]));
    const report = await runStudy(
      items,
      async (it) => {
        if (it.path.endsWith('0001.png')) throw new (await import('../src/core/errors.js')).ClearsightError('E_INPUT_CORRUPT', 'no face found');
        return 0.7 * it.label + 0.3 * noise.get(it.path)!; // separable above 0.5 except noise
      },
      { seed: 3, repeats: 4, bootstrapResamples: 200 },
    );
    assert.equal(report.counts.positives, 100);
    assert.equal(report.counts.negatives, 199);
    assert.deepEqual(
      report.counts.unscorable.map((u) => u.path),
      ['/x/0001.png'],
    );
    // Positives score >= 0.7, negatives <= 0.3: perfect at threshold 0.5.
    assert.equal(report.metrics.accuracy.value, 1);
    assert.equal(report.metrics.auc?.value, 1);
    close(report.metrics.tpr.exact!.lo, 0.025 ** (1 / 100), 1e-9, 'CP lower bound for 100/100');
    assert.equal(report.metrics.fpr.exact!.k, 0);
    assert.equal(report.stability?.repeats, 4);
    assert.ok(report.sampleSize.accuracy > 0);
  });

  it('reads folder and CSV manifests and rejects bad ones', async () => {
    await mkdir(join(dir, 'set/real'), { recursive: true });
    await mkdir(join(dir, 'set/fake'), { recursive: true });
    await writeFile(join(dir, 'set/real/a.png'), '');
    await writeFile(join(dir, 'set/fake/b.jpg'), '');
    await writeFile(join(dir, 'set/fake/notes.txt'), '');
    const items = await readManifest(join(dir, 'set'));
    assert.deepEqual(
      items.map((i) => [i.path.slice(dir.length), i.label]),
      [
        ['/set/fake/b.jpg', 1],
        ['/set/real/a.png', 0],
      ],
    );

    await writeFile(join(dir, 'm.csv'), 'path,label,stratum\nset/real/a.png,authentic,cam1\nset/fake/b.jpg,1,cam2\n');
    const csv = await readManifest(join(dir, 'm.csv'));
    assert.deepEqual(
      csv.map((i) => [i.label, i.stratum]),
      [
        [1, 'cam2'],
        [0, 'cam1'],
      ],
    );

    await writeFile(join(dir, 'bad.csv'), 'file,label\na.png,1\n');
    await assert.rejects(readManifest(join(dir, 'bad.csv')), (e: unknown) => isClearsightError(e) && e.code === 'E_INPUT_CORRUPT');
    await writeFile(join(dir, 'badlabel.csv'), 'path,label\na.png,maybe\n');
    await assert.rejects(readManifest(join(dir, 'badlabel.csv')), /line 2: label "maybe"/);
    await assert.rejects(readManifest(join(dir, 'nope')), (e: unknown) => isClearsightError(e) && e.code === 'E_INPUT_NOT_FOUND');
  });
});
