/**
 * The error contract: every failure the library throws is a ClearsightError with a code declared in
 * src/core/errors.ts, and every code a client can see (library, CLI, HTTP API, job queue) is declared
 * there once and listed in docs/core.md. Scans the sources, so a plain `throw new Error(` or an
 * invented code fails here rather than in a user's catch block.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ClearsightError, ERROR_CODES, SERVICE_ERROR_CODES, isClearsightError } from '../src/core/errors.js';
import { createImage } from '../src/core/image/index.js';
import { bandPass } from '../src/face/index.js';
import { convertTfjsToOnnx } from '../src/core/models/index.js';
import { ROOT } from './helpers/cli.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const SOURCES = sourceFiles(join(ROOT, 'src')).map((file) => ({ file: relative(ROOT, file), text: readFileSync(file, 'utf8') }));
const DECLARED = new Set<string>([...Object.values(ERROR_CODES), ...Object.values(SERVICE_ERROR_CODES)]);

function matches(pattern: RegExp): string[] {
  const hits: string[] = [];
  for (const { file, text } of SOURCES) {
    text.split('\n').forEach((line, i) => {
      if (pattern.test(line) && !/^\s*(\/\/|\*)/.test(line)) hits.push(`${file}:${i + 1}: ${line.trim().slice(0, 120)}`);
    });
  }
  return hits;
}

test('src/ throws no plain Error, RangeError or TypeError', () => {
  assert.ok(SOURCES.length > 100, 'the scan reads the sources');
  assert.deepEqual(matches(/\bnew (Error|RangeError|TypeError)\(/), []);
});

test('every E_ code spelt in src/ is declared in core/errors.ts', () => {
  const used = new Set<string>();
  for (const { text } of SOURCES) for (const m of text.matchAll(/['"`](E_[A-Z_]+)['"`]/g)) used.add(m[1]!);
  assert.ok(used.size > 20);
  assert.deepEqual([...used].filter((code) => !DECLARED.has(code)).sort(), []);
});

test('codes are unique, E_-prefixed, and library and service codes do not overlap', () => {
  const all = [...Object.values(ERROR_CODES), ...Object.values(SERVICE_ERROR_CODES)];
  assert.equal(new Set(all).size, all.length);
  for (const code of all) assert.match(code, /^E_[A-Z_]+$/);
});

test('docs/core.md lists every declared code', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'core.md'), 'utf8');
  assert.deepEqual(
    [...DECLARED].filter((code) => !doc.includes(`\`${code}\``)),
    [],
  );
});

test('helpers that used to throw RangeError or Error now throw coded ClearsightErrors', () => {
  assert.throws(
    () => createImage(2, 2, 3, new Float32Array(5)),
    (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.INVALID_OPTION,
  );
  assert.throws(
    () => bandPass([1, 2, 3], 0, 1, 2),
    (e: unknown) => e instanceof ClearsightError && e.code === 'E_INVALID_OPTION',
  );
  const graph = {
    kind: 'graph',
    json: { modelTopology: { node: [], library: { function: [{}] } }, weightsManifest: [] },
    weights: new Map(),
    sha256: '0',
  } as const;
  assert.throws(
    () => convertTfjsToOnnx(graph as unknown as Parameters<typeof convertTfjsToOnnx>[0], [1, 4, 4, 3]),
    (e: unknown) => isClearsightError(e) && e.code === ERROR_CODES.MODEL_CONVERSION && /function libraries/.test(e.message),
  );
});
