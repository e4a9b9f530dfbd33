/**
 * Option names a user carries from one command to the next: every command that overwrites with
 * --force also takes -f.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/program.js';

function* commands(cmd: Command, prefix = ''): Generator<[string, Command]> {
  for (const sub of cmd.commands) {
    const name = `${prefix}${sub.name()}`;
    yield [name, sub];
    yield* commands(sub, `${name} `);
  }
}

describe('option names across commands', () => {
  it('--force always has the short form -f', () => {
    const missing: string[] = [];
    for (const [name, cmd] of commands(buildProgram())) {
      const force = cmd.options.find((o) => o.long === '--force');
      if (force && force.short !== '-f') missing.push(name);
    }
    assert.deepEqual(missing, []);
  });
});
