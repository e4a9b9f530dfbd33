#!/usr/bin/env node
// Launcher for the `clearsight` CLI.
//
// Installed packages run the compiled CLI (dist/, from `npm run build`). In a checkout without a
// build, the TypeScript sources run through tsx (a devDependency). CLEARSIGHT_CLI_FROM=src or
// CLEARSIGHT_CLI_FROM=dist forces one of them; the tests force src so a stale dist/ is never tested.
import { existsSync } from 'node:fs';

const from = process.env.CLEARSIGHT_CLI_FROM;
const dist = new URL('../dist/cli/main.js', import.meta.url);
const useDist = from === 'dist' || (from !== 'src' && existsSync(dist));

let entry = dist.href;
if (!useDist) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('clearsight: not built and tsx is not installed: run `npm run build` (or `npm install` for development)\n');
    process.exit(1);
  }
  entry = new URL('../src/cli/main.ts', import.meta.url).href;
}
const { cli } = await import(entry);
await cli(process.argv);
