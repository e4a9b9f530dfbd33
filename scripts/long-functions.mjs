#!/usr/bin/env node
/**
 * Lists the functions whose body is longer than N lines (default 80) in the given folders
 * (default src), by Biome's complexity/noExcessiveLinesPerFunction rule (the body's lines, blank
 * lines included, immediately invoked functions included).
 *
 *   node scripts/long-functions.mjs [--max 80] [--list] [folder ...]
 *
 * Why Biome: TypeScript 7 (the compiler this project builds with) has no JavaScript compiler API,
 * and Biome is already the linter. BIOME_BIN overrides the binary (default node_modules/.bin/biome).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
let max = 80;
let list = false;
const folders = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--max') max = Number(args[++i]);
  else if (args[i] === '--list') list = true;
  else folders.push(args[i]);
}
if (!Number.isInteger(max) || max < 1) {
  console.error('long-functions: --max takes a whole number of lines');
  process.exit(2);
}
const biome = process.env.BIOME_BIN ?? resolve('node_modules/.bin/biome');
const dir = mkdtempSync(join(tmpdir(), 'long-functions-'));
try {
  writeFileSync(
    join(dir, 'biome.json'),
    JSON.stringify({
      vcs: { enabled: false },
      linter: {
        enabled: true,
        rules: {
          recommended: false,
          complexity: { noExcessiveLinesPerFunction: { level: 'error', options: { maxLines: max } } },
        },
      },
    }),
  );
  const run = spawnSync(biome, ['lint', `--config-path=${dir}`, '--reporter=json', '--max-diagnostics=none', ...(folders.length ? folders : ['src'])], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const start = run.stdout.indexOf('{');
  if (start < 0) {
    console.error(run.stderr || run.stdout);
    process.exit(2);
  }
  const report = JSON.parse(run.stdout.slice(start));
  const hits = report.diagnostics.filter((d) => d.category === 'lint/complexity/noExcessiveLinesPerFunction');
  if (list) for (const d of hits) console.log(`${d.location.path?.file ?? d.location.path}  ${d.description ?? d.message ?? ''}`.trim());
  console.log(`${hits.length} functions over ${max} lines`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
