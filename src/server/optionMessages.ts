/**
 * Option errors in the words the rest of clearsight uses (`Invalid option "x": expected ..., got
 * "..."`, or "is required"), from zod's issues, whose own text ("Invalid input: expected string,
 * received undefined", "Invalid option: expected one of ...") reached users through the API and
 * `batch --set`. One function, for every surface that validates task options with zod.
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

/** What was expected, as a phrase ("an integer from 16 to 8192", "one of a, b"). */
function expectedPhrase(issue: Issue): string {
  const i = issue as Issue & { expected?: string; values?: unknown[]; minimum?: number | bigint; maximum?: number | bigint; inclusive?: boolean; origin?: string; format?: string };
  switch (issue.code) {
    case 'invalid_value':
      return i.expected === 'stringbool' ? 'true or false' : `one of ${(i.values ?? []).map(String).join(', ')}`;
    case 'invalid_type':
      if (i.expected === 'int' || i.format === 'safeint') return 'an integer';
      if (i.expected === 'number') return 'a number';
      if (i.expected === 'string') return 'a text value';
      if (i.expected === 'boolean') return 'true or false';
      return `a value of type ${i.expected ?? 'unknown'}`;
    case 'too_small':
      return i.origin === 'string' ? `at least ${String(i.minimum)} characters` : `a number ${i.inclusive === false ? '>' : '>='} ${String(i.minimum)}`;
    case 'too_big':
      return i.origin === 'string' ? `at most ${String(i.maximum)} characters` : `a number ${i.inclusive === false ? '<' : '<='} ${String(i.maximum)}`;
    default:
      // Custom refinements carry a message written for people.
      return issue.message;
  }
}

/**
 * One line for the first issue: the option's name, what it expects, what was given (from
 * `given`, the raw fields, since zod does not keep the input in its issues).
 */
export function describeOptionIssue(issue: Issue | undefined, given: Readonly<Record<string, unknown>> = {}): { field: string; message: string } {
  const field = issue?.path.map(String).join('.') || '(options)';
  if (!issue) return { field, message: `Invalid option "${field}"` };
  const value = given[field];
  if (value === undefined && issue.code === 'invalid_type') return { field, message: `Option "${field}" is required (${expectedPhrase(issue)})` };
  const got = value === undefined ? '' : `, got ${JSON.stringify(value)}`;
  return { field, message: `Invalid option "${field}": expected ${expectedPhrase(issue)}${got}` };
}
