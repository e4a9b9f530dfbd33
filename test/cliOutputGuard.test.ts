/**
 * Inputs are never written, not even with --force, by any command (issue 14): output = input,
 * through a symlink or a hard link, for an image command, vsr, hdr's --ldr and batch's folder.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { fixtureClip, fixturePng } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'clearsight-outguard-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('output = input is refused with exit 4 for every kind of command, --force or not, and the input is untouched', async () => {
  const png = join(dir, 'in.png');
  writeFileSync(png, await fixturePng(16, 16, 4));
  const second = join(dir, 'b.png');
  writeFileSync(second, await fixturePng(16, 16, 5));
  symlinkSync(png, join(dir, 'link.png'));
  linkSync(png, join(dir, 'hard.png'));
  const clip = await fixtureClip(join(dir, 'clip.mp4'), 16, 16, 4);
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  writeFileSync(join(photos, 'a.png'), await fixturePng(16, 16, 6));
  const before = new Map([png, second, clip, join(photos, 'a.png')].map((p) => [p, readFileSync(p)]));

  const cases: Array<[string, string[]]> = [
    ['lowlight, same path', ['lowlight', png, '-o', png, '--force', '--method', 'gamma']],
    ['lowlight, through a symlink', ['lowlight', png, '-o', join(dir, 'link.png'), '--force', '--method', 'gamma']],
    ['lowlight, a hard link', ['lowlight', join(dir, 'hard.png'), '-o', png, '--force', '--method', 'gamma']],
    ['vsr', ['vsr', clip, '-o', clip, '--force']],
    ['hdr --ldr over a bracket', ['hdr', png, second, '-o', join(dir, 'out.hdr'), '--ldr', second, '--force']],
    ['batch into its own folder', ['batch', 'lowlight', photos, '-o', photos, '--force', '--set', 'method=gamma']],
  ];
  for (const [what, args] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 4, `${what}: ${r.stderr}`);
    assert.match(r.stderr, /is the input .* inputs are never overwritten \(not even with --force\)/, what);
  }
  for (const [p, bytes] of before) assert.ok(readFileSync(p).equals(bytes), `${p} was changed`);
});
