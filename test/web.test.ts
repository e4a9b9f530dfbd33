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
import { join } from 'node:path';
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
  const size = await section.locator('img.after').evaluate((i) => [(i as unknown as { naturalWidth: number }).naturalWidth, (i as unknown as { naturalHeight: number }).naturalHeight]);
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
