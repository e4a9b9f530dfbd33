/**
 * The CLI flags of a task, generated from the task table (src/tasks): one commander Option per
 * option spec, named as the spec in kebab case (`maxFrames` -> `--max-frames`), with the spec's
 * help and default, and an argParser that runs the table's one validation with the flag as typed
 * (so `--max-frames 0` and `maxFrames=0` fail with the same E_INVALID_OPTION text).
 *
 * Booleans are switches: `--tta`; one that defaults to on is turned off with `--no-<name>`
 * (`--no-deghost`). A command may leave out an option the CLI covers otherwise (say so in
 * `omit`, with the reason) or widen its parser (`extend`: vsr's --model also takes a file).
 */
import { Option, type Command } from 'commander';
import {
  expectedText,
  getTask,
  OUTPUT_OPTIONS,
  optionSectionsOf,
  parseOptionValue,
  RUN_OPTIONS,
  type OptionSpec,
  type OptionSpecs,
  type TaskDefinition,
} from '../tasks/index.js';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';

/** `maxFrames` -> `max-frames`. */
export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function helpOf(spec: OptionSpec): string {
  const range = spec.type === 'integer' || spec.type === 'number' ? ` (${expectedText(spec).replace(/^an? /, '')})` : '';
  return `${spec.help}${range}`;
}

/** One commander Option for one option spec. */
export function cliOption(name: string, spec: OptionSpec, extend?: (value: string, flag: string) => unknown): Option {
  const flag = `--${kebab(name)}`;
  if (spec.type === 'boolean') {
    // A switch; one on by default is turned off with --no-<name> (commander sets the default true).
    // The help describes the feature; say it is on and that this flag is the way off.
    return spec.default === true ? new Option(`--no-${kebab(name)}`, `${spec.help} On by default: this flag turns it off.`) : new Option(flag, spec.help);
  }
  const placeholder =
    spec.valueName ?? (spec.type === 'choice' ? kebab(name).split('-').pop()! : spec.type === 'string' ? 'text' : spec.type === 'integer' ? 'n' : 'x');
  const option = new Option(`${flag} <${placeholder}>`, helpOf(spec));
  if (spec.type === 'choice' && !extend) option.choices(spec.choices.map(String));
  option.argParser((value: string) => {
    if (!extend) return parseOptionValue(flag, spec, value);
    try {
      return parseOptionValue(flag, spec, value);
    } catch (err) {
      const widened = extend(value, flag);
      if (widened === undefined) throw err;
      return widened;
    }
  });
  if (spec.default !== undefined) option.default(spec.default);
  // A required secret may also come from a file or the environment (the command checks it).
  if (spec.required && !spec.secret) option.makeOptionMandatory();
  return option;
}

export interface TaskCliOptionsConfig {
  /** Options of the table this command does not take as flags, each with the reason (tests read it). */
  omit?: Readonly<Record<string, string>>;
  /** Option -> a parser tried when the table's validation refuses the value (return undefined to refuse). */
  extend?: Readonly<Record<string, (value: string, flag: string) => unknown>>;
  /** Leave out the run options (threads, device) even if the task runs networks. */
  noRunOptions?: boolean;
  /** The command already has the output flags (addImageOutputOptions added them, from the same specs). */
  outputFlagsAdded?: boolean;
}

/**
 * The output flags (--format, --quality, --strip-metadata) from OUTPUT_OPTIONS: every command
 * that writes a picture has them, built here only (through taskCliOptions, or addImageOutputOptions).
 */
export function outputCliOptions(extend: TaskCliOptionsConfig['extend'] = {}): Option[] {
  return Object.entries(OUTPUT_OPTIONS).map(([name, spec]) => cliOption(name, spec, extend[name]));
}

/** Why a task's options become flags the way they do: kept for the drift test. */
export const CLI_OMISSIONS = new Map<string, Readonly<Record<string, string>>>();

/** The flags of a task command: its own options, then threads/device where it runs networks. */
export function taskCliOptions(taskName: string, config: TaskCliOptionsConfig = {}): Option[] {
  const task = getTask(taskName);
  if (!task) throw new ClearsightError(ERROR_CODES.RUNTIME, `internal error: no task "${taskName}" in the table`, { task: taskName });
  CLI_OMISSIONS.set(taskName, {
    ...config.omit,
    ...(config.noRunOptions ? Object.fromEntries(Object.keys(RUN_OPTIONS).map((k) => [k, 'this command runs no network itself'])) : {}),
  });
  const specs: OptionSpecs = optionSectionsOf(task, 'cli');
  const out: Option[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (config.omit?.[name] !== undefined) continue;
    if (config.noRunOptions && Object.hasOwn(RUN_OPTIONS, name)) continue;
    if (config.outputFlagsAdded && Object.hasOwn(OUTPUT_OPTIONS, name)) continue;
    out.push(cliOption(name, spec, config.extend?.[name]));
    // A switch on by default also takes its positive form (`--deghost`, as hdr had), hidden: it
    // restates the default, and scripts that spell it out keep working.
    if (spec.type === 'boolean' && spec.default === true) out.push(new Option(`--${kebab(name)}`, `(the default) ${spec.help}`).hideHelp());
  }
  return out;
}

/** The table entry behind a command (for commands that read its restore function). */
export function taskOf(taskName: string): TaskDefinition {
  const task = getTask(taskName);
  if (!task) throw new ClearsightError(ERROR_CODES.RUNTIME, `internal error: no task "${taskName}" in the table`, { task: taskName });
  return task;
}

/** Adds the task's flags to `cmd` (in a commander chain: `withTaskOptions(cmd.option(...), 'vsr').option(...)`). */
export function withTaskOptions<C extends Command>(cmd: C, taskName: string, config: TaskCliOptionsConfig = {}): C {
  for (const option of taskCliOptions(taskName, config)) cmd.addOption(option);
  return cmd;
}
