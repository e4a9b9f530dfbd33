/**
 * Inputs are never written, not even with --force: before any command runs, every output path it
 * was given (-o/--output, --out, --ldr, --report, --annotate, batch's output folder) is compared with every
 * file or folder named anywhere else on its command line (positional arguments and the other
 * options: inputs, key files, masks, heads, clips). One check for every command, so a command
 * added later cannot forget it.
 *
 * Same file = same real path, or the same inode (a hard link, or a path through a symlinked
 * folder); an output that does not exist yet is compared through its folder's real path.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';

/** Option keys (commander's camelCase names) whose values the command writes. */
const OUTPUT_KEYS: ReadonlySet<string> = new Set(['output', 'out', 'ldr', 'report', 'annotate']);

interface Identity {
  real: string;
  ino?: string;
}

function identify(path: string): Identity | undefined {
  const abs = resolve(path);
  try {
    const s = statSync(abs);
    return { real: realpathSync(abs), ino: `${s.dev}:${s.ino}` };
  } catch {
    try {
      return { real: join(realpathSync(dirname(abs)), basename(abs)) };
    } catch {
      return undefined;
    }
  }
}

/** Whether two paths name the same file (same real path, or same inode); false when either is unreachable. */
export function sameFile(a: string, b: string): boolean {
  const x = identify(a);
  const y = identify(b);
  if (!x || !y) return false;
  return x.real === y.real || (x.ino !== undefined && x.ino === y.ino);
}

const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The paths the command line names as outputs and as everything else (only those that exist count as inputs). */
export function outputsAndInputs(cmd: Command): { outputs: string[]; inputs: string[] } {
  const opts = cmd.opts();
  const outputs: string[] = [];
  const others: string[] = [...cmd.processedArgs.flatMap(strings)];
  for (const [key, value] of Object.entries(opts)) (OUTPUT_KEYS.has(key) ? outputs : others).push(...strings(value));
  return { outputs, inputs: others };
}

/** Throws E_OUTPUT_UNWRITABLE when an output of `cmd` is one of its inputs. */
export function assertOutputsAreNotInputs(cmd: Command): void {
  const { outputs, inputs } = outputsAndInputs(cmd);
  if (outputs.length === 0) return;
  const ids = inputs.map((p) => ({ p, id: identify(p) })).filter((x) => x.id?.ino !== undefined);
  for (const out of outputs) {
    const o = identify(out);
    if (!o) continue;
    const clash = ids.find(({ id }) => id!.real === o.real || (o.ino !== undefined && id!.ino === o.ino));
    if (clash) {
      throw new ClearsightError(
        ERROR_CODES.OUTPUT_UNWRITABLE,
        `Cannot write output "${out}": it is the input "${clash.p}" of this command; inputs are never overwritten (not even with --force): choose another output`,
        { path: out, input: clash.p, reason: 'output is an input' },
      );
    }
  }
}
