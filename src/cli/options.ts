/**
 * Parsers for option values, used as commander argParsers. They throw the library's
 * E_INVALID_OPTION error naming the flag as typed (`--threads`), so every bad value reads the
 * same way and exits with the usage code:
 *
 *   clearsight: Invalid option "--threads": expected an integer from 1 to 256, got "0" [E_INVALID_OPTION]
 */
import { Option } from 'commander';
import { DEVICES, invalidOption } from './lib.js';

/** A whole number in [min, max], written in plain decimal digits ("8", not "8.0", "1e1" or "0x8"). */
export function integerParser(flag: string, min: number, max: number): (value: string) => number {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return (value: string) => {
    const n = /^\s*\+?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw invalidOption(flag, expected, value);
    return n;
  };
}

/** One of a fixed list of values; numbers are compared as typed ("2", not "2.0"). */
export function choiceParser<T extends string | number>(flag: string, choices: readonly T[]): (value: string) => T {
  const expected = `one of ${choices.join(', ')}`;
  return (value: string) => {
    const found = choices.find((c) => String(c) === value.trim());
    if (found === undefined) throw invalidOption(flag, expected, value);
    return found;
  };
}

/** `--name <value>` with a fixed list of choices (shown in --help) and our error message. */
export function choiceOption<T extends string | number>(flags: string, description: string, choices: readonly T[], defaultValue?: T): Option {
  const flag = flags.split(/[ ,]+/).find((f) => f.startsWith('--')) ?? flags;
  const option = new Option(flags, description).choices(choices.map(String)).argParser(choiceParser(flag, choices));
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** `--name <n>` taking an integer in [min, max]. */
export function integerOption(flags: string, description: string, min: number, max = Number.MAX_SAFE_INTEGER): Option {
  const flag = flags.split(/[ ,]+/).find((f) => f.startsWith('--')) ?? flags;
  return new Option(flags, description).argParser(integerParser(flag, min, max));
}

/** `--device <device>`: cpu, cuda (falls back to the CPU with a warning) or cuda! (fails without a GPU). */
export function deviceOption(description: string): Option {
  return choiceOption(
    '--device <device>',
    `${description}: cpu, cuda (falls back to the CPU with a warning when no GPU is usable) or cuda! (fail instead)`,
    DEVICES,
    'cpu',
  );
}
