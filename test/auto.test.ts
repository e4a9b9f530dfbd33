/**
 * Universal restoration: the plan (which experts, in which order, when), restoreAuto's contract
 * (clean pictures untouched, dry run, abort, options) and `clearsight restore auto` (dry-run JSON,
 * the clean path through the supervisor, usage and output errors). No learned expert runs here:
 * every picture is either clean or analysed with --dry-run. These tests pin the hand rules
 * (`analysis: 'rules'`, `--analysis rules`), whose behaviour on the generated scenes is known; the
 * learned recogniser has its own tests (recognizer.test.ts).
 */
import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { createImage, decodeImage, type RawImage } from '../src/core/image/index.js';
import { psnr } from '../src/core/metrics/index.js';
import { isClearsightError } from '../src/core/errors.js';
import type { ProgressEvent } from '../src/core/progress.js';
import {
  analyzeDegradations,
  DEGRADATION_CALIBRATION,
  DEGRADATIONS,
  planRestoration,
  restoreAuto,
  RESTORATION_ORDER,
  veilStrengthFor,
  type Degradation,
  type DegradationAnalysis,
  type PrimaryDegradation,
} from '../src/restore/auto/index.js';
import { addRain as addRainStreaks, cleanScene as scene } from './helpers/scenes.js';

/** The analysis tests' pictures, smaller: 256x192 and 500 streaks. */
const cleanScene = (seed: number, w = 256, h = 192) => scene(seed, w, h);
const addRain = (J: RawImage, seed: number) => addRainStreaks(J, seed, 500);

// ---------------------------------------------------------------------------------------------
// Pictures (the same recipes as analyze.test.ts, smaller)

async function writePng(path: string, img: RawImage): Promise<void> {
  const raw = Buffer.from(Array.from(img.data, (v) => Math.round(v * 255)));
  await writeFile(
    path,
    await sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

// ---------------------------------------------------------------------------------------------
// Plans from hand-set scores (the evidence of a real analysis, for the reasons)

const base = analyzeDegradations(cleanScene(11, 96, 64));

function analysisWith(scores: Partial<Record<Degradation, number>>, primary: PrimaryDegradation): DegradationAnalysis {
  const all = Object.fromEntries(DEGRADATIONS.map((d) => [d, scores[d] ?? 0.05])) as Record<Degradation, number>;
  return { ...base, scores: all, primary };
}

const tasks = (a: DegradationAnalysis, opts = {}) => planRestoration(a, opts).map((s) => s.task);

describe('planRestoration', () => {
  it('a clean picture gets no step, whatever its scores', () => {
    assert.deepEqual(planRestoration(analysisWith({ haze: 0.65, blur: 0.9 }, 'clean')), []);
  });
  it('orders the chain: lowlight, denoise, derain, dehaze, deblur', () => {
    const all = analysisWith({ haze: 0.9, lowlight: 0.92, noise: 0.91, blur: 0.93, jpeg: 0.94 }, 'lowlight');
    assert.deepEqual(tasks(all), ['lowlight', 'denoise', 'dehaze', 'deblur']);
    const rainy = analysisWith({ rain: 0.95, lowlight: 0.92, noise: 0.91, blur: 0.93 }, 'rain');
    assert.deepEqual(tasks(rainy), ['lowlight', 'denoise', 'derain', 'deblur']);
    assert.deepEqual(RESTORATION_ORDER, ['lowlight', 'denoise', 'derain', 'dehaze', 'deblur']);
  });
  it('low light before denoise, whichever scores higher', () => {
    assert.deepEqual(tasks(analysisWith({ noise: 0.99, lowlight: 0.8 }, 'noise')), ['lowlight', 'denoise']);
    assert.deepEqual(tasks(analysisWith({ noise: 0.8, lowlight: 0.99 }, 'lowlight')), ['lowlight', 'denoise']);
  });
  it('heavy rain (rain + haze): derain, then the veil removed physically at a strength set from the veil', () => {
    const plan = planRestoration(analysisWith({ rain: 0.9, haze: 0.95 }, 'haze'));
    assert.deepEqual(
      plan.map((s) => s.task),
      ['derain'],
    );
    assert.deepEqual(plan[0].degradations, ['rain']);
    assert.equal(plan[0].params?.veilStrength, veilStrengthFor(0.95));
    assert.match(plan[0].reason, /heavy rain: haze veil.*strength 0\.75/);
    // A learned severity sets the strength: a light veil is removed lightly.
    const light = planRestoration({ ...analysisWith({ rain: 0.9, haze: 0.8 }, 'rain'), severity: { ...analysisWith({}, 'rain').scores, haze: 0.1 } });
    assert.equal(light[0].params?.veilStrength, 0.2);
  });
  it('deblur last', () => {
    assert.deepEqual(tasks(analysisWith({ blur: 0.99, haze: 0.8, noise: 0.75 }, 'blur')), ['denoise', 'dehaze', 'deblur']);
  });
  it('JPEG blocking goes to the denoising expert, merged with noise into one step, and says so', () => {
    const jpegOnly = planRestoration(analysisWith({ jpeg: 0.97 }, 'jpeg'));
    assert.equal(jpegOnly.length, 1);
    assert.equal(jpegOnly[0].task, 'denoise');
    assert.deepEqual(jpegOnly[0].degradations, ['jpeg']);
    assert.match(jpegOnly[0].model, /^denoise\/maxim-denoising@/);
    assert.match(jpegOnly[0].reason, /JPEG blocking.*fallback/);
    const both = planRestoration(analysisWith({ jpeg: 0.8, noise: 0.9 }, 'noise'));
    assert.deepEqual(
      both.map((s) => s.task),
      ['denoise'],
    );
    assert.deepEqual(both[0].degradations, ['noise', 'jpeg']);
    assert.equal(both[0].score, 0.9);
  });
  it('secondary degradations need the step threshold; the primary always gets its step', () => {
    const t = DEGRADATION_CALIBRATION.primaryThreshold;
    const a = analysisWith({ rain: 0.97, haze: t - 0.05 }, 'rain');
    assert.deepEqual(tasks(a), ['derain']);
    assert.deepEqual(tasks(a, { threshold: t - 0.1 }), ['derain']);
    assert.ok((planRestoration(a, { threshold: t - 0.1 })[0].params?.veilStrength ?? 0) > 0, 'the haze found beside the rain is its veil');
    // A primary below the step threshold (found with a lower analysis threshold) still gets its step.
    assert.deepEqual(tasks(analysisWith({ blur: 0.55 }, 'blur'), { threshold: 0.9 }), ['deblur']);
  });
  it('steps carry the model, a reason with the evidence and the score', () => {
    const [step] = planRestoration(analysisWith({ rain: 0.93 }, 'rain'));
    assert.equal(step.score, 0.93);
    assert.match(step.model, /^derain\/maxim-deraining@/);
    assert.match(step.reason, /rain streaks: .*energy/);
    const [haze] = planRestoration(analysisWith({ haze: 0.93 }, 'haze'), { variant: 'indoor' });
    assert.match(haze.model, /maxim-dehazing-indoor/);
  });
  it('bad options: E_INVALID_OPTION', () => {
    const a = analysisWith({ rain: 0.9 }, 'rain');
    for (const opts of [{ threshold: 1 }, { threshold: 0 }, { variant: 'sideways' }]) {
      assert.throws(
        () => planRestoration(a, opts as never),
        (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
      );
    }
    assert.throws(
      () => planRestoration({} as never),
      (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION',
    );
  });
});

describe('restoreAuto (no expert runs)', () => {
  const clean = cleanScene(12);
  it('clean picture: empty plan, the input returned untouched (PSNR vs input = Infinity)', async () => {
    const events: ProgressEvent[] = [];
    let planned: unknown;
    const r = await restoreAuto(clean, { analysis: 'rules', onProgress: (e) => events.push(e), onPlan: (_a, p) => (planned = p) });
    assert.equal(r.analysis.primary, 'clean');
    assert.deepEqual(r.plan, []);
    assert.deepEqual(planned, []);
    assert.deepEqual(r.steps, []);
    assert.equal(r.image, clean);
    assert.equal(psnr(r.image, clean), Infinity);
    assert.deepEqual(
      events.map((e) => `${e.stage} ${e.done}/${e.total}`),
      ['analyze 0/1', 'analyze 1/1'],
    );
  });
  it('dry run: analysis and plan, no expert, the input returned', async () => {
    const rainy = addRain(clean, 3);
    const r = await restoreAuto(rainy, { analysis: 'rules', dryRun: true });
    assert.equal(r.analysis.primary, 'rain');
    assert.equal(r.plan[0].task, 'derain');
    assert.equal(r.image, rainy);
    assert.deepEqual(r.steps, []);
  });
  it('a dark picture runs the low-light student end to end (a tensor model, run through lowlight iagc) and brightens it', async () => {
    const dark = createImage(clean.width, clean.height, 3);
    for (let i = 0; i < dark.data.length; i++) dark.data[i] = clean.data[i] * 0.08;
    const r = await restoreAuto(dark, { analysis: 'rules', threads: 1 });
    assert.equal(r.analysis.primary, 'lowlight', `primary ${r.analysis.primary}`);
    assert.equal(r.plan[0].task, 'lowlight');
    assert.equal(r.plan[0].method, 'student', 'lowlight-iagc is committed, so the fast plan uses it');
    assert.equal(r.steps[0]?.method, 'student', 'the step ran as planned');
    const mean = (img: RawImage) => img.data.reduce((a, v) => a + v, 0) / img.data.length;
    assert.ok(mean(r.image) > 2 * mean(dark), `mean ${mean(r.image).toFixed(3)} vs input ${mean(dark).toFixed(3)}`);
  });
  it('an aborted signal stops before any work (E_ABORTED)', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(restoreAuto(clean, { signal: ac.signal }), (e: unknown) => isClearsightError(e) && e.code === 'E_ABORTED');
  });
  it('bad options: E_INVALID_OPTION naming them', async () => {
    for (const [opts, name] of [
      [{ dryRun: 'yes' }, 'dryRun'],
      [{ threshold: 2 }, 'threshold'],
      [{ variant: 'underwater' }, 'variant'],
      [{ model: {} }, 'model'],
    ] as const) {
      await assert.rejects(
        restoreAuto(clean, opts as never),
        (e: unknown) => isClearsightError(e) && e.code === 'E_INVALID_OPTION' && e.message.includes(`"${name}"`),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// CLI

/** The command as a user runs it, with this file's model cache. */
const run = (args: readonly string[]) => runCli(args, { CLEARSIGHT_CACHE_DIR: join(dir, 'cache') });

let dir: string;
let rainPng: string;
let cleanPng: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearsight-auto-'));
  rainPng = join(dir, 'rain.png');
  cleanPng = join(dir, 'clean.png');
  const clean = cleanScene(21);
  await writePng(cleanPng, clean);
  await writePng(rainPng, addRain(clean, 21));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clearsight restore auto', () => {
  it('--dry-run --json: one JSON object with primary, scores and plan; no -o needed', async () => {
    const r = await run(['restore', 'auto', rainPng, '--analysis', 'rules', '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]) as {
      primary: string;
      scores: Record<string, number>;
      plan: Array<{ task: string; reason: string; score: number }>;
      dryRun: boolean;
      output: null;
      steps: unknown[];
    };
    assert.equal(out.primary, 'rain');
    assert.deepEqual(Object.keys(out.scores).sort(), [...DEGRADATIONS].sort());
    for (const v of Object.values(out.scores)) assert.ok(v >= 0 && v <= 1);
    assert.equal(out.plan[0].task, 'derain');
    assert.ok(out.plan[0].reason.length > 0);
    assert.equal(out.dryRun, true);
    assert.equal(out.output, null);
    assert.deepEqual(out.steps, []);
  });
  it('--dry-run without --json prints the plan on stdout', async () => {
    const r = await run(['restore', 'auto', rainPng, '--analysis', 'rules', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    // The finding first, on a short line of its own; who decided on the next.
    assert.match(r.stdout, /^rain\.png \(\d+x\d+\): primary degradation rain\ndecided by: calibrated hand rules\n/);
    assert.match(r.stdout, /plan:\n {2}1\. derain \(expert\) with derain\/maxim-deraining@/);
  });
  it('a clean picture: nothing runs, the output is the input unchanged (through the supervisor)', async () => {
    const out = join(dir, 'clean-out.png');
    const r = await run(['restore', 'auto', cleanPng, '--analysis', 'rules', '-o', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { primary: string; plan: unknown[]; steps: unknown[]; output: string };
    assert.equal(summary.primary, 'clean');
    assert.deepEqual(summary.plan, []);
    assert.deepEqual(summary.steps, []);
    assert.equal(summary.output, out);
    const [a, b] = await Promise.all([decodeImage(cleanPng), decodeImage(out)]);
    assert.equal(psnr(a.image, b.image), Infinity);
    // Text mode: the plan on stderr, the summary on stdout; an existing output needs --force.
    const again = await run(['restore', 'auto', cleanPng, '--analysis', 'rules', '-o', out]);
    assert.equal(again.code, 4, again.stderr);
    assert.match(again.stderr, /E_OUTPUT_EXISTS/);
    const forced = await run(['restore', 'auto', cleanPng, '--analysis', 'rules', '-o', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /plan: nothing to do/);
    assert.match(forced.stdout, /looks clean: written back unchanged/);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('.')),
      [],
      'no temp files left',
    );
  });
  it('a clean JPEG into a .jpg is the input file itself (no lossy re-encode); into a .png its pixels, re-encoded, and the text says which', async () => {
    const raw = Buffer.from(Array.from(cleanScene(21).data, (v) => Math.round(v * 255)));
    const jpg = join(dir, 'clean-in.jpg');
    await writeFile(
      jpg,
      await sharp(raw, { raw: { width: 256, height: 192, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer(),
    );
    // --threshold 0.999: nothing is planned whatever the rules make of the JPEG's blocks.
    const args = ['restore', 'auto', jpg, '--analysis', 'rules', '--threshold', '0.999'];
    const sameOut = join(dir, 'clean-copy.jpg');
    const same = await run([...args, '-o', sameOut]);
    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(await readFile(sameOut), await readFile(jpg));
    assert.match(same.stdout, /written back unchanged \(a copy of the input\)/);
    const pngOut = join(dir, 'clean-copy.png');
    const png = await run([...args, '-o', pngOut, '--json']);
    assert.equal(png.code, 0, png.stderr);
    assert.equal((JSON.parse(png.stdout) as { copiedInput: boolean }).copiedInput, false);
    const [a, b] = await Promise.all([decodeImage(jpg), decodeImage(pngOut)]);
    assert.equal(psnr(a.image, b.image), Infinity);
    const text = await run([...args, '-o', pngOut, '--force']);
    assert.match(text.stdout, /pixels unchanged, re-encoded as PNG/);
    // An explicit --quality or --strip-metadata asks for an encode: no copy.
    const q = await run([...args, '-o', sameOut, '--force', '--quality', '60', '--json']);
    assert.equal((JSON.parse(q.stdout) as { copiedInput: boolean }).copiedInput, false);
    assert.notDeepEqual(await readFile(sameOut), await readFile(jpg));
  });
  it('several inputs, one damaged: the others are restored, the run names the failure and exits with its code (as derain does)', async () => {
    const bad = join(dir, 'damaged.png');
    await writeFile(bad, 'not a picture\n');
    const second = join(dir, 'clean-b.png');
    await writeFile(second, await readFile(cleanPng));
    const outDir = join(dir, 'several-out');
    const r = await run(['restore', 'auto', cleanPng, bad, second, '--analysis', 'rules', '--threshold', '0.999', '-o', `${outDir}/`]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /damaged\.png.*E_INPUT_CORRUPT/);
    assert.match(r.stderr, /2 of 3 inputs done; failed: \S*damaged\.png/);
    assert.deepEqual((await readdir(outDir)).sort(), ['clean-b.png', 'clean.png']);
  });
  it('usage errors: -o missing without --dry-run, bad --threshold (exit 2, nothing written)', async () => {
    const missing = await run(['restore', 'auto', rainPng]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--output/);
    const bad = await run(['restore', 'auto', rainPng, '--dry-run', '--threshold', '1.5']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"--threshold"/);
    const noInput = await run(['restore', 'auto', join(dir, 'nope.png'), '--dry-run']);
    assert.equal(noInput.code, 3);
    await assert.rejects(stat(join(dir, 'rain-out.png')));
  });
});
