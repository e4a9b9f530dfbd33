/**
 * The web app in a real browser: Debian's chromium driven by playwright-core. Uploads a small
 * generated picture through the page (lowlight, gamma method), waits for the SSE-driven result and
 * checks the before/after images and the physical maps appear; keeps a screenshot in
 * test-artifacts/. Skipped, saying why, when /usr/bin/chromium is absent (CI installs it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../src/server/index.js';
import { fixtureMidtones, fixturePng } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (apt-get install -y chromium); browser test skipped`;

const dir = mkdtempSync(join(tmpdir(), 'clearsight-web-'));
let server: RunningServer | undefined;
let browser: Browser | undefined;

before(async () => {
  if (skip) return;
  server = await startServer({ port: 0, storeDir: join(dir, 'store'), concurrency: 1 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--disable-gpu', '--disable-dev-shm-usage'] });
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('upload through the page, follow progress, see before/after and the maps', { skip }, async () => {
  const fixture = join(dir, 'dim.png');
  writeFileSync(fixture, await fixturePng(48, 32, 5));
  const page = await browser!.newPage({ viewport: { width: 1100, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server!.url);
  await page.waitForSelector('body[data-ready="1"]');
  const section = page.locator('#page-restore');
  await section.locator('input.file').setInputFiles(fixture);
  await section.locator('select.task').selectOption('lowlight');
  await section.locator('select[name="method"]').selectOption('gamma');
  await section.locator('button.run').click();
  await page.waitForSelector('#page-restore[data-state="done"]', { timeout: 30_000 });
  // Both sides of the comparison are loaded images, the output at the fixture's size.
  // (A string: this runs in the page, and the typecheck has no DOM library.)
  await page.waitForFunction(`(() => {
    const imgs = [...document.querySelectorAll('#page-restore .compare img, #page-restore .maps img')];
    return imgs.length === 4 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  })()`);
  const size = await section
    .locator('img.after')
    .evaluate((i) => [(i as unknown as { naturalWidth: number }).naturalWidth, (i as unknown as { naturalHeight: number }).naturalHeight]);
  assert.deepEqual(size, [48, 32]);
  assert.deepEqual(await section.locator('.maps figcaption').allTextContents(), ['illumination L', 'gamma map (scaled to its max)']);
  assert.equal(await section.locator('progress.bar').evaluate((p) => (p as unknown as { value: number }).value), 1);
  assert.match((await section.locator('.downloads').textContent()) ?? '', /Download output\.png/);
  // The slider moves the clip of the "before" picture.
  await section.locator('input.slider').fill('20');
  assert.match((await section.locator('.before-clip').getAttribute('style')) ?? '', /inset\(0(px)? 80% 0(px)? 0(px)?\)/);
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = join(ARTIFACTS, 'web-lowlight.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 1000);

  // auto: the degradation scores and the plan are shown (threshold 0.999: nothing counts, so no network runs).
  // This time the file arrives by drag and drop (a DataTransfer made in the page).
  const b64 = (await fixtureMidtones()).toString('base64');
  const dataTransfer = await page.evaluateHandle(`(() => {
    const bytes = Uint8Array.from(atob('${b64}'), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'mid.png', { type: 'image/png' }));
    return dt;
  })()`);
  await section.locator('.drop').dispatchEvent('drop', { dataTransfer });
  assert.match((await section.locator('.drop-text').textContent()) ?? '', /^mid\.png/);
  await section.locator('select.task').selectOption('auto');
  await section.locator('input[name="threshold"]').fill('0.999');
  await section.locator('button.run').click();
  await page.waitForSelector('#page-restore[data-state="done"] .scores tr');
  assert.equal(await section.locator('.scores tr').count(), 6);
  assert.match((await section.locator('.scores h3').textContent()) ?? '', /primary: clean/);
  assert.match((await section.locator('.plan').textContent()) ?? '', /Looks clean/);
  await page.screenshot({ path: join(ARTIFACTS, 'web-auto.png'), fullPage: true });

  // The watermark page offers verify and embed, with the secret typed blind; liveness takes video.
  await page.goto(`${server!.url}/#watermark`);
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.locator('#page-watermark').isVisible(), true);
  assert.deepEqual(await page.locator('#page-watermark select.task option').allTextContents(), ['watermark-embed', 'watermark-verify']);
  assert.equal(await page.locator('#page-watermark input[name="key"]').getAttribute('type'), 'password');
  await page.goto(`${server!.url}/#liveness`);
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.locator('#page-liveness input.file').getAttribute('accept'), 'video/*');
  assert.deepEqual(errors, []);
});

test('labels and help from the task table, native-scale zoom and pan, elapsed time, favicon, job history, evidence pages', { skip }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const fav = await fetch(`${server!.url}/favicon.svg`);
  assert.equal(fav.status, 200);
  assert.equal(fav.headers.get('content-type'), 'image/svg+xml');
  await page.goto(server!.url);
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.locator('link[rel="icon"]').getAttribute('href'), 'favicon.svg');
  const section = page.locator('#page-restore');
  // Labels in words with help text, from the table (not `maxTile`).
  await section.locator('select.task').selectOption('lowlight');
  assert.equal(await section.locator('[data-option="maxTile"] .option-label').textContent(), 'Largest tile (pixels)');
  assert.match((await section.locator('[data-option="maxTile"] .help').textContent()) ?? '', /save memory/);
  assert.equal(await section.locator('[data-option="method"] .option-label').textContent(), 'Method');
  // A picture larger than the view: shown at native scale (1:1), zoomed with the buttons.
  const fixture = join(dir, 'big.png');
  writeFileSync(fixture, await fixturePng(640, 400, 4));
  await section.locator('input.file').setInputFiles(fixture);
  await section.locator('select[name="method"]').selectOption('gamma');
  await section.locator('button.run').click();
  await page.waitForSelector('#page-restore[data-state="done"]', { timeout: 30_000 });
  await page.waitForFunction(`document.querySelector('#page-restore .canvas').style.transform.includes('scale(1)')`);
  assert.equal(await section.locator('.zoom-level').textContent(), '100%');
  assert.deepEqual(
    await section.locator('img.after').evaluate((i) => [(i as unknown as { width: number }).width, (i as unknown as { height: number }).height]),
    [640, 400],
    'drawn at its own size',
  );
  await section.locator('.zoom-bar button[data-zoom="in"]').click();
  assert.equal(await section.locator('.zoom-level').textContent(), '150%');
  await section.locator('.zoom-bar button[data-zoom="fit"]').click();
  const fit = Number(((await section.locator('.zoom-level').textContent()) ?? '').replace('%', ''));
  assert.ok(fit < 150 && fit > 10, `fit ${fit}%`);
  // Drag pans the picture.
  const before = await section.locator('.canvas').evaluate((s) => (s as unknown as { style: { transform: string } }).style.transform);
  const box = (await section.locator('.viewport').boundingBox())!;
  await page.mouse.move(box.x + 100, box.y + 100);
  await page.mouse.down();
  await page.mouse.move(box.x + 160, box.y + 130);
  await page.mouse.up();
  assert.notEqual(await section.locator('.canvas').evaluate((s) => (s as unknown as { style: { transform: string } }).style.transform), before);
  assert.match((await section.locator('.elapsed').textContent()) ?? '', /^done in \d+ s$/);
  await section.locator('.zoom-bar button[data-zoom="1"]').click();
  await page.screenshot({ path: join(ARTIFACTS, 'web-zoom.png'), fullPage: true });

  // The job history lists this browser's jobs with their files.
  await page.goto(`${server!.url}/#jobs`);
  await page.waitForSelector('#jobs-list table.jobs tr[data-state="done"]');
  assert.ok((await page.locator('#jobs-list tr[data-state="done"]').count()) >= 1);
  assert.match((await page.locator('#jobs-list tr[data-state="done"] .job-files').first().textContent()) ?? '', /output\.png/);
  await page.screenshot({ path: join(ARTIFACTS, 'web-jobs.png'), fullPage: true });

  // Liveness: the evidence the CLI prints (cues, decisive frames; a pulse only when credible). The
  // job is answered by a stand-in (the real networks take minutes): this checks the page, not the model.
  const verdict = {
    verdict: 'spoof',
    score: 0.12,
    decidedBy: 'replay',
    experts: { print: 0.61, replay: 0.12 },
    cues: { blink: { value: -1.2, contribution: -0.8 }, moire: { value: 2.1, contribution: -1.6 }, headPose: { value: 0.4, contribution: 0.3 } },
    frames: [
      { index: 12, time: 0.48, attention: 0.31, cue: 'moire', contribution: -0.9 },
      { index: 40, time: 1.6, attention: 0.2, cue: 'blink', contribution: -0.4 },
    ],
    pulse: { bpm: null, snr: 1.1, minSnr: 2.3 },
    coverage: { tracked: 118, total: 125 },
    head: 'shipped',
  };
  const job = {
    id: '11111111-1111-4111-8111-111111111111',
    task: 'liveness',
    state: 'done',
    progress: { stage: 'liveness', done: 1, total: 1, fraction: 1 },
    result: { ...verdict, files: [], seconds: 3 },
    error: null,
    attempts: 1,
  };
  await page.route('**/api/v1/jobs/liveness', (r) => r.fulfill({ status: 202, contentType: 'application/json', body: JSON.stringify({ id: job.id }) }));
  await page.route(`**/api/v1/jobs/${job.id}/events`, (r) =>
    r.fulfill({ status: 200, contentType: 'text/event-stream', body: `event: status\ndata: ${JSON.stringify(job)}\n\n` }),
  );
  await page.goto(`${server!.url}/#liveness`);
  await page.waitForSelector('body[data-ready="1"]');
  const live = page.locator('#page-liveness');
  const clip = join(dir, 'clip.mp4');
  writeFileSync(clip, Buffer.from('not really a video: the stand-in answers'));
  await live.locator('input.file').setInputFiles(clip);
  assert.equal(await live.locator('[data-option="seconds"] .option-label').textContent(), 'Seconds analysed');
  // The optional enrolled photo (the CLI's --enrolled) has its own file field.
  assert.equal(await live.locator('input[data-extra="enrolled"]').getAttribute('type'), 'file');
  await live.locator('button.run').click();
  await page.waitForSelector('#page-liveness[data-state="done"] .verdict table.cues');
  assert.deepEqual(await live.locator('table.cues td:first-child').allTextContents(), ['moire', 'blink', 'headPose']);
  assert.match((await live.locator('.frames').textContent()) ?? '', /frame #12 at 0\.48 s: moire/);
  assert.match((await live.locator('.pulse').textContent()) ?? '', /not measured/);
  assert.doesNotMatch((await live.locator('.verdict').textContent()) ?? '', /bpm/);
  await page.screenshot({ path: join(ARTIFACTS, 'web-liveness.png'), fullPage: true });

  // Watermark verify: source, bit error rate and confidence, as the CLI prints them (stand-in job again).
  const verify = {
    ...job,
    id: '22222222-2222-4222-8222-222222222222',
    task: 'watermark-verify',
    progress: { stage: 'verify', done: 1, total: 1, fraction: 1 },
    result: {
      verdict: 'authentic',
      source: 'cam7',
      bitErrorRate: 0.0312,
      confidence: 0.97,
      mode: 'whole-image',
      sync: { score: 0.8 },
      keyFingerprint: 'ab12',
      files: [],
      seconds: 1,
    },
  };
  await page.route('**/api/v1/jobs/watermark-verify', (r) =>
    r.fulfill({ status: 202, contentType: 'application/json', body: JSON.stringify({ id: verify.id }) }),
  );
  await page.route(`**/api/v1/jobs/${verify.id}/events`, (r) =>
    r.fulfill({ status: 200, contentType: 'text/event-stream', body: `event: status\ndata: ${JSON.stringify(verify)}\n\n` }),
  );
  await page.goto(`${server!.url}/#watermark`);
  await page.waitForSelector('body[data-ready="1"]');
  const wm = page.locator('#page-watermark');
  await wm.locator('select.task').selectOption('watermark-verify');
  await wm.locator('input.file').setInputFiles(fixture);
  await wm.locator('input[name="key"]').fill('k');
  await wm.locator('button.run').click();
  await page.waitForSelector('#page-watermark[data-state="done"] .verdict table.facts');
  const facts = (await wm.locator('.verdict table.facts').textContent()) ?? '';
  assert.match(facts, /Sourcecam7/);
  assert.match(facts, /Bit error rate3\.1%/);
  assert.match(facts, /Confidence97%/);
  await page.screenshot({ path: join(ARTIFACTS, 'web-watermark.png'), fullPage: true });

  // Forensics (real run): a picture without a face is an outcome; the case report is linked.
  await page.goto(`${server!.url}/#restore`);
  await page.waitForSelector('body[data-ready="1"]');
  await section.locator('select.task').selectOption('forensics');
  await section.locator('input.file').setInputFiles(fixture);
  await section.locator('button.run').click();
  await page.waitForSelector('#page-restore[data-state="done"] .verdict a.report-link', { timeout: 60_000 });
  assert.match((await section.locator('.verdict h3').textContent()) ?? '', /Outcome: no-face/);
  const href = (await section.locator('a.report-link').getAttribute('href')) ?? '';
  assert.match(href, /\/files\/report\.pdf$/);
  const pdf = await fetch(`${server!.url}${href}`);
  assert.equal(pdf.headers.get('content-type'), 'application/pdf');
  assert.equal(
    Buffer.from(await pdf.arrayBuffer())
      .subarray(0, 5)
      .toString(),
    '%PDF-',
  );

  // faces (real run, new in the API): a face tile of @vladmandic/human's sample picture, boxes drawn over it.
  const { createRequire } = await import('node:module');
  const sharp = (await import('sharp')).default;
  const samples = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/human')), '..', 'assets', 'samples.jpg');
  const face = join(dir, 'face.png');
  await sharp(samples).extract({ left: 326, top: 0, width: 210, height: 158 }).png().toFile(face);
  await section.locator('select.task').selectOption('faces');
  await section.locator('input.file').setInputFiles(face);
  await section.locator('button.run').click();
  await page.waitForSelector('#page-restore[data-state="done"] .faces-view svg rect', { timeout: 60_000 });
  assert.match((await section.locator('.verdict h3').textContent()) ?? '', /^1 face in 210x158/);
  assert.equal(await section.locator('.faces-view svg rect').count(), 1);
  await page.screenshot({ path: join(ARTIFACTS, 'web-faces.png'), fullPage: true });

  // Forensics on that face, a single image: no sampling interval, and the page says why, with the
  // reliability on held-out material beside the probability (as the CLI text and the PDF do).
  await section.locator('select.task').selectOption('forensics');
  await section.locator('input.file').setInputFiles(face);
  // The tile's face is small (34 px) and soft: let the detector judge it.
  await section.locator('input[name="minQuality"]').fill('0');
  await section.locator('input[name="minFace"]').fill('16');
  await section.locator('button.run').click();
  await page.waitForSelector('#page-restore[data-state="done"] .verdict p.reliability', { timeout: 60_000 });
  assert.doesNotMatch((await section.locator('.verdict p.probability').textContent()) ?? '', /interval/);
  assert.match((await section.locator('.verdict p.interval-note').textContent()) ?? '', /^Interval: none\. A single image has no frames to resample/);
  assert.match(
    (await section.locator('.verdict p.reliability').textContent()) ?? '',
    /^Reliability: of the \d+ held-out items scored nearest .* were manipulated: [\d.]+%, exact 95% interval/,
  );
  assert.deepEqual(errors, []);
});

test('output format and quality in the form; stages in words and the server ETA, on the runner and in the job history', { skip }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server!.url);
  await page.waitForSelector('body[data-ready="1"]');
  const section = page.locator('#page-restore');
  await section.locator('select.task').selectOption('lowlight');
  // The output options come from the task table like any other: label, help, choices; no format picked by default.
  assert.equal(await section.locator('[data-option="format"] .option-label').textContent(), 'Output format');
  assert.equal(await section.locator('select[name="format"]').inputValue(), '');
  assert.deepEqual(await section.locator('select[name="format"] option').allTextContents(), ['(default)', 'png', 'jpeg', 'webp', 'tiff', 'avif', 'bmp']);
  assert.equal(await section.locator('[data-option="stripMetadata"] input').getAttribute('type'), 'checkbox');
  const fixture = join(dir, 'dim-jpeg.png');
  writeFileSync(fixture, await fixturePng(48, 32, 6));
  await section.locator('input.file').setInputFiles(fixture);
  await section.locator('select[name="method"]').selectOption('gamma');
  await section.locator('select[name="format"]').selectOption('jpeg');
  await section.locator('input[name="quality"]').fill('80');
  await section.locator('button.run').click();
  await page.waitForSelector('#page-restore[data-state="done"]', { timeout: 30_000 });
  assert.match((await section.locator('.downloads').textContent()) ?? '', /Download output\.jpg/);
  await page.waitForFunction(`(() => { const i = document.querySelector('#page-restore img.after'); return i.complete && i.naturalWidth === 48; })()`);

  // Progress as the server sends it (a stand-in job: a real one is over before it can be watched).
  const id = '33333333-3333-4333-8333-333333333333';
  const running = (progress: Record<string, unknown>) => ({ id, task: 'derain', state: 'running', progress, result: null, error: null, attempts: 1 });
  const events = [
    // Whole-job fractions as the server weights them (core/progress.ts RESTORE_STAGES).
    running({ stage: 'derain:convert model', done: 0, total: 1, fraction: 0.01 }),
    running({ stage: 'prepare model', done: 1, total: 1, fraction: 0.11 }),
    running({ stage: 'tiles', done: 3, total: 12, fraction: 0.325, etaSeconds: 42, totalEtaSeconds: 47 }),
  ];
  const live = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  live.on('pageerror', (e) => errors.push(e.message));
  await live.route('**/api/v1/jobs/derain', (r) => r.fulfill({ status: 202, contentType: 'application/json', body: JSON.stringify({ id }) }));
  await live.route(`**/api/v1/jobs/${id}/events`, (r) =>
    r.fulfill({
      status: 200,
      contentType: 'text/event-stream',
      // retry: the stand-in stream ends here; the page should not reconnect during the test.
      body: `retry: 600000\n\n${events.map((e) => `event: status\ndata: ${JSON.stringify(e)}\n\n`).join('')}`,
    }),
  );
  await live.goto(server!.url);
  await live.waitForSelector('body[data-ready="1"]');
  // Every text the stage line shows, in order (the last one is replaced when the stream ends).
  await live.evaluate(`(() => {
    window.stages = [];
    const stage = document.querySelector('#page-restore .stage');
    new MutationObserver(() => window.stages.push(stage.textContent)).observe(stage, { childList: true, characterData: true, subtree: true });
  })()`);
  const runner = live.locator('#page-restore');
  await runner.locator('select.task').selectOption('derain');
  await runner.locator('input.file').setInputFiles(fixture);
  await runner.locator('button.run').click();
  await live.waitForFunction(`window.stages.includes('processing tiles 3/12')`);
  const shown = (await live.evaluate('window.stages')) as string[];
  assert.ok(shown.includes('derain: converting the model to ONNX (first run only; cached after)'), shown.join(' | '));
  assert.ok(shown.includes('loading the model'), shown.join(' | '));
  // The whole job's ETA where the server sends one, and the whole job's percentage.
  assert.match((await runner.locator('.elapsed').textContent()) ?? '', /elapsed, about 4\d s left$/);
  assert.equal(await runner.locator('.percent').textContent(), '32 %');
  assert.equal(await runner.locator('.bar').evaluate((b) => (b as unknown as { value: number }).value), 0.325);

  // The job history says the same.
  await live.route('**/api/v1/jobs', (r) =>
    r.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        jobs: [
          {
            ...running({ stage: 'convert model', done: 0, total: 1, fraction: 0 }),
            id: '44444444-4444-4444-8444-444444444444',
            createdAt: Date.now(),
            inputs: ['a.png'],
          },
          { ...events[2], createdAt: Date.now(), inputs: ['b.png'] },
          {
            ...running({ stage: 'frames', done: 5, total: 50, fraction: 0.4, etaSeconds: 90 }),
            id: '55555555-5555-4555-8555-555555555555',
            createdAt: Date.now(),
            inputs: ['c.mp4'],
          },
        ],
      }),
    }),
  );
  await live.goto(`${server!.url}/#jobs`);
  await live.waitForSelector('#jobs-list table.jobs tr[data-state="running"]');
  assert.deepEqual(await live.locator('#jobs-list .job-state').allTextContents(), [
    'running, 0 %, converting the model to ONNX (first run only; cached after)',
    'running, 32 %, processing tiles 3/12, about 47 s left',
    'running, 40 %, processing frames 5/50, about 1 min 30 s left in this stage',
  ]);
  await live.screenshot({ path: join(ARTIFACTS, 'web-progress.png'), fullPage: true });
  await live.close();
  await page.close();
  assert.deepEqual(errors, []);
});
