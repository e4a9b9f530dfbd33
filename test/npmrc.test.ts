/**
 * The project .npmrc (issue 21 point 6): `npx clearsight ...` must not print npm's warning about
 * the onnxruntime-node-install key, and the key must still reach install scripts (it skips the
 * CUDA download from outside the npm registry).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ROOT } from './helpers/cli.js';

test('npm exec in the project: no "Unknown project config" warning, the CUDA download still skipped', () => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.toLowerCase().startsWith('npm_config_')) delete env[k]; // as from a fresh shell
  delete env.ONNXRUNTIME_NODE_INSTALL;
  const r = spawnSync('npm', ['exec', '--offline', '--', 'node', '-e', 'process.stdout.write(String(process.env.npm_config_onnxruntime_node_install))'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown project config/);
  assert.equal(r.stdout, 'skip');
});
