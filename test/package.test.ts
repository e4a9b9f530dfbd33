/**
 * The built package, imported through its "exports" map as a user would (`import 'clearsight'`,
 * `import 'clearsight/restore'`, ...). The sources are compiled with the project's tsc into
 * test-artifacts/pkg/dist beside a copy of package.json, so the package name self-references that
 * build (never a stale dist/) and dependencies resolve from the checkout's node_modules.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ROOT } from './helpers/cli.js';

const PKG = join(ROOT, 'test-artifacts', 'pkg');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types: string; import: string }>;
};
const SUBPATHS = Object.keys(manifest.exports).filter((k) => k !== './package.json');

// Records every module specifier resolved while the probe imports the package.
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (process.env.PROBE_LOG) appendFileSync(process.env.PROBE_LOG, specifier + '\\n');
  return next(specifier, context);
}`;

const PROBE = `import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url));
const out = {};
for (const sub of JSON.parse(process.argv[2])) {
  const name = sub === '.' ? 'clearsight' : 'clearsight/' + sub.slice(2);
  out[sub] = Object.keys(await import(name)).sort();
}
let internal = 'exported';
try { await import('clearsight/dist/core/fft.js'); } catch (e) { internal = e.code; }
process.stdout.write(JSON.stringify({ out, internal }));`;

let probe: { out: Record<string, string[]>; internal: string };
let resolved: string[];

before(() => {
  rmSync(PKG, { recursive: true, force: true });
  mkdirSync(PKG, { recursive: true });
  const tsc = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', join(PKG, 'dist')], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  copyFileSync(join(ROOT, 'package.json'), join(PKG, 'package.json'));
  writeFileSync(join(PKG, 'hooks.mjs'), HOOKS);
  writeFileSync(join(PKG, 'probe.mjs'), PROBE);
  const log = join(PKG, 'resolved.log');
  const run = spawnSync(process.execPath, [join(PKG, 'probe.mjs'), JSON.stringify(SUBPATHS)], { encoding: 'utf8', env: { ...process.env, PROBE_LOG: log } });
  assert.equal(run.status, 0, run.stderr);
  probe = JSON.parse(run.stdout);
  resolved = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
});

test('every subpath export has its types and module in the build', () => {
  assert.deepEqual(SUBPATHS, ['.', './restore', './face', './video', './trust', './server', './models', './core']);
  for (const sub of SUBPATHS) {
    const entry = manifest.exports[sub] as { types: string; import: string };
    assert.ok(existsSync(join(PKG, entry.import)), `${sub}: ${entry.import} missing`);
    assert.ok(existsSync(join(PKG, entry.types)), `${sub}: ${entry.types} missing`);
    assert.ok(probe.out[sub]!.length > 0, `${sub} exports nothing`);
  }
});

test('the top level holds task verbs, image I/O, model classes and errors, not internals', () => {
  const top = new Set(probe.out['.']);
  for (const name of [
    'derain',
    'dehaze',
    'lowlight',
    'upscale',
    'restoreAuto',
    'mergeHdr',
    'detectFaces',
    'compareFaces',
    'analyzeLiveness',
    'superResolveVideo',
    'analyzeForensics',
    'embedWatermark',
    'verifyWatermark',
  ]) {
    assert.ok(top.has(name), `task verb ${name} missing at top level`);
  }
  for (const name of [
    'decodeImage',
    'encodeImage',
    'writeImage',
    'createImage',
    'ImageModel',
    'TrainedModel',
    'UpscalerModel',
    'FaceModels',
    'ClearsightError',
    'isClearsightError',
    'ERROR_CODES',
  ]) {
    assert.ok(top.has(name), `${name} missing at top level`);
  }
  for (const internal of ['softmax', 'fuse', 'viterbiDecode', 'fft1d', 'boxFilter', 'planTiles', 'convertTfjsToOnnx', 'analyseLiveness']) {
    assert.ok(!top.has(internal), `${internal} leaked to the top level`);
  }
  assert.ok(top.size <= 80, `top level has ${top.size} runtime names`);
  assert.ok(new Set(probe.out['./face']).has('softmax'), 'internals stay reachable under their subpath');
  assert.ok(new Set(probe.out['./core']).has('fft1d'));
  assert.ok(new Set(probe.out['./models']).has('convertTfjsToOnnx'));
});

test('paths outside the exports map are not importable', () => {
  assert.equal(probe.internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});

test('importing the package loads no tfjs (tfjs is the test reference only)', () => {
  assert.ok(resolved.length > 20, 'the resolve hook saw the imports');
  assert.deepEqual(
    resolved.filter((s) => s.includes('@tensorflow')),
    [],
  );
});
