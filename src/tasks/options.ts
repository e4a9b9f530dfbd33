/**
 * Option specs: the one description of a task option (name, type, range, default, label, help)
 * and the one validation of a value given for it. Every surface reads these specs:
 *
 *   - the CLI builds its flags from them (src/cli/taskOptions.ts: flag name, help, default, and an
 *     argParser that calls parseOptionValue with the flag as typed);
 *   - the HTTP API, the queue workers and `clearsight batch --set` parse form fields / key=value
 *     strings with parseOptionFields (unknown keys refused);
 *   - the OpenAPI document, GET /api/v1/tasks and the web form read optionJsonSchema (label as
 *     `title`, help as `description`, range as minimum/maximum, `x-kind` for checkboxes).
 *
 * A bad value is always the same ClearsightError (E_INVALID_OPTION) with the same "expected ..."
 * text; only the name differs, as the user typed it (`--max-frames` on the command line,
 * `maxFrames` in a form or --set).
 *
 * Why a small spec of our own rather than zod schemas read back: the CLI needs the range and the
 * choices to build flags and help, the web form needs labels, and all three need one error text
 * that names the option; zod keeps these behind its own object model and words its errors for
 * programmers ("Invalid input: expected string, received undefined"). A zod schema is still
 * derived (optionsZod) for callers that hold one.
 */
import { z } from 'zod';
import { ClearsightError, ERROR_CODES, invalidOption } from '../core/errors.js';

interface SpecBase<T> {
  /** A few words for a form label ("Largest tile"). */
  label: string;
  /** One or two sentences of help, in words. */
  help: string;
  /** The value when none is given; absent: the library decides (help says what it does). */
  default?: T;
  /** A secret (watermark key): typed blind in the web form, sealed in the queue, never logged. */
  secret?: boolean;
  /** Must be given (no default makes sense: a watermark key, a source id). */
  required?: boolean;
  /** The value's name in usage text (`--veil <strength>`); default from the type. */
  valueName?: string;
}

export interface IntegerSpec extends SpecBase<number> {
  type: 'integer';
  min: number;
  max: number;
}

export interface NumberSpec extends SpecBase<number> {
  type: 'number';
  min: number;
  max: number;
  /** The bounds themselves are excluded (e.g. a threshold strictly between 0 and 1). */
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
}

export interface ChoiceSpec<T extends string | number = string | number> extends SpecBase<T> {
  type: 'choice';
  choices: readonly T[];
}

export interface BooleanSpec extends SpecBase<boolean> {
  type: 'boolean';
}

export interface StringSpec extends SpecBase<string> {
  type: 'string';
  /** The whole value must match (anchored by the caller's regex). */
  pattern?: RegExp;
  /** What the pattern means, in words, for the error ("1 to 6 characters of a-z 0-9 - _ ."). */
  patternText?: string;
  maxLength: number;
}

export type OptionSpec = IntegerSpec | NumberSpec | ChoiceSpec | BooleanSpec | StringSpec;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The typed value of a spec. */
export type OptionValue<S extends OptionSpec> = S extends ChoiceSpec<infer T> ? T : S extends BooleanSpec ? boolean : S extends StringSpec ? string : number;

/** The typed options object of a set of specs: a value for each option with a default, else optional. */
export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]: S[K] extends { default: unknown } | { required: true } ? OptionValue<S[K]> : OptionValue<S[K]> | undefined;
};

// Constructors keep the literal types of choices and defaults.
type WithDefault<D, T> = D extends undefined ? object : { default: T };
export const integer = <D extends number | undefined = undefined>(
  s: Omit<IntegerSpec, 'type' | 'default'> & { default?: D },
): IntegerSpec & WithDefault<D, number> => ({ type: 'integer', ...s }) as never;
export const number = <D extends number | undefined = undefined>(
  s: Omit<NumberSpec, 'type' | 'default'> & { default?: D },
): NumberSpec & WithDefault<D, number> => ({ type: 'number', ...s }) as never;
export const choice = <T extends string | number, D extends T | undefined = undefined>(
  s: Omit<ChoiceSpec<T>, 'type' | 'default' | 'choices'> & { choices: readonly T[]; default?: D },
): ChoiceSpec<T> & (D extends undefined ? object : { default: T }) => ({ type: 'choice', ...s }) as never;
export const boolean = <D extends boolean | undefined = undefined>(
  s: Omit<BooleanSpec, 'type' | 'default'> & { default?: D },
): BooleanSpec & (D extends undefined ? object : { default: boolean }) => ({ type: 'boolean', ...s }) as never;
export const string = <R extends boolean | undefined = undefined>(
  s: Omit<StringSpec, 'type' | 'required'> & { required?: R },
): StringSpec & (R extends true ? { required: true } : object) => ({ type: 'string', ...s }) as never;

/** A bound in words: plain digits (2147483647, not 2.147483647e+9, which reads as a fraction). */
const fmt = (n: number) => String(n);

/** What a valid value looks like, in words: the "expected ..." of every E_INVALID_OPTION. */
export function expectedText(spec: OptionSpec): string {
  switch (spec.type) {
    case 'integer':
      return `an integer from ${fmt(spec.min)} to ${fmt(spec.max)}`;
    case 'number': {
      if (spec.exclusiveMin && spec.exclusiveMax) return `a number between ${spec.min} and ${spec.max} (exclusive)`;
      // "from 0 to below 1", not "from 0 below 1".
      return `a number ${spec.exclusiveMin ? 'above' : 'from'} ${spec.min} ${spec.exclusiveMax ? 'to below' : 'to'} ${spec.max}`;
    }
    case 'choice':
      return `one of ${spec.choices.join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return spec.patternText ?? `a text of 1 to ${spec.maxLength} characters`;
  }
}

const INTEGER = /^\s*[+-]?\d+\s*$/;
const DECIMAL = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const TRUE = new Set(['true', '1', 'yes', 'on', 'y', 'enabled']);
const FALSE = new Set(['false', '0', 'no', 'off', 'n', 'disabled']);

/**
 * The one validation: a value as given (a string from a form, a flag or --set; or already a
 * number/boolean from a program) -> the typed value, or E_INVALID_OPTION naming `name`.
 * Numbers must be written as numbers ("8", "0.5"; not "", "0x8" or "8 px").
 */
export function parseOptionValue(name: string, spec: OptionSpec, given: unknown): string | number | boolean {
  const bad = () => invalidOption(name, expectedText(spec), spec.secret ? '(hidden)' : given);
  const text = typeof given === 'string' ? given : typeof given === 'number' || typeof given === 'boolean' ? String(given) : undefined;
  if (text === undefined) throw bad();
  switch (spec.type) {
    case 'integer': {
      const n = INTEGER.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) throw bad();
      return n;
    }
    case 'number': {
      const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
      if (!Number.isFinite(n)) throw bad();
      if (spec.exclusiveMin ? n <= spec.min : n < spec.min) throw bad();
      if (spec.exclusiveMax ? n >= spec.max : n > spec.max) throw bad();
      return n;
    }
    case 'choice': {
      const found = spec.choices.find((c) => String(c) === text.trim());
      if (found === undefined) throw bad();
      return found;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (TRUE.has(t)) return true;
      if (FALSE.has(t)) return false;
      throw bad();
    }
    case 'string': {
      if (text.length === 0 || text.length > spec.maxLength) throw bad();
      if (spec.pattern && !spec.pattern.test(text)) throw bad();
      return text;
    }
  }
}

/**
 * Options from string fields (a form, --set key=value): every key must be an option, every value
 * valid; options not given take their default (or stay undefined). `name` says how a key is
 * shown in an error (identity for forms and --set).
 */
export function parseOptionFields(specs: OptionSpecs, fields: Readonly<Record<string, unknown>>, owner: string): Record<string, unknown> {
  for (const key of Object.keys(fields)) {
    if (!Object.hasOwn(specs, key)) {
      const known = Object.keys(specs);
      throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `Unknown option "${key}" for ${owner}; known: ${known.join(', ') || 'none'}`, {
        option: key,
        expected: `one of ${known.join(', ')}`,
        given: key,
      });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const given = fields[key];
    if (given === undefined && spec.required) throw missingOption(key, spec);
    out[key] = given === undefined ? spec.default : parseOptionValue(key, spec, given);
  }
  return out;
}

/** A required option that was not given (named as the user names it: `key`, `--key`). */
export function missingOption(name: string, spec: OptionSpec): ClearsightError {
  return new ClearsightError(ERROR_CODES.INVALID_OPTION, `Option "${name}" is required: ${spec.label.toLowerCase()}, ${expectedText(spec)}`, {
    option: name,
    expected: expectedText(spec),
  });
}

/** JSON Schema of one option (OpenAPI, GET /api/v1/tasks, the web form). */
export function optionJsonSchema(spec: OptionSpec): Record<string, unknown> {
  const common: Record<string, unknown> = { title: spec.label, description: spec.help, ...(spec.default !== undefined ? { default: spec.default } : {}) };
  switch (spec.type) {
    case 'integer':
      return { type: 'integer', minimum: spec.min, maximum: spec.max, ...common };
    case 'number':
      return {
        type: 'number',
        ...(spec.exclusiveMin ? { exclusiveMinimum: spec.min } : { minimum: spec.min }),
        ...(spec.exclusiveMax ? { exclusiveMaximum: spec.max } : { maximum: spec.max }),
        ...common,
      };
    case 'choice': {
      const numeric = spec.choices.every((c) => typeof c === 'number');
      return { type: numeric ? 'integer' : 'string', enum: [...spec.choices], ...common };
    }
    case 'boolean':
      // Form fields are strings: "true"/"false" on the wire; x-kind tells form builders to draw a checkbox.
      return { type: 'boolean', 'x-kind': 'boolean', ...common };
    case 'string':
      return {
        type: 'string',
        minLength: 1,
        maxLength: spec.maxLength,
        ...(spec.pattern ? { pattern: spec.pattern.source } : {}),
        ...(spec.secret ? { format: 'password', writeOnly: true } : {}),
        ...common,
      };
  }
}

/** JSON Schema of a set of options (an object; nothing required: every option has a default or is optional). */
export function optionsJsonSchema(specs: OptionSpecs): {
  type: 'object';
  additionalProperties: false;
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
} {
  const required = Object.entries(specs)
    .filter(([, s]) => s.required)
    .map(([k]) => k);
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, optionJsonSchema(s)])),
    ...(required.length ? { required } : {}),
  };
}

/**
 * A zod object over the same specs, for callers that hold zod schemas: each field runs
 * parseOptionValue (the one validation) and takes the spec's default.
 */
export function optionsZod(specs: OptionSpecs): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, spec] of Object.entries(specs)) {
    shape[key] = z
      .unknown()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) {
          if (spec.required) ctx.addIssue({ code: 'custom', message: missingOption(key, spec).message });
          return spec.default;
        }
        try {
          return parseOptionValue(key, spec, v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      });
  }
  return z.strictObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
}
