/**
 * The task table as Markdown, for docs/server.md (between the `tasks:begin` / `tasks:end`
 * markers): generated, so the documentation is one more surface that cannot drift (a test
 * compares; `npm run docs:tasks` rewrites it).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { OUTPUT_OPTIONS, PICTURE_OUTPUT, RUN_OPTIONS, TASKS, type TaskDefinition } from './table.js';
import { expectedText, type OptionSpec } from './options.js';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';

const BEGIN = '<!-- tasks:begin (generated from src/tasks by `npm run docs:tasks`; do not edit) -->';
const END = '<!-- tasks:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The picture's name follows `format`: output.png unless it says otherwise. */
const PICTURE_TEXT = 'output.png (.jpg .webp .tif .avif .bmp by `format`)';

function optionText(name: string, spec: OptionSpec): string {
  const what =
    spec.type === 'choice'
      ? spec.choices.join('\\|')
      : spec.type === 'boolean'
        ? 'true\\|false'
        : spec.type === 'string'
          ? 'text'
          : expectedText(spec).replace(/^an? /, '');
  return `\`${name}\` (${what}${spec.default !== undefined ? `; default ${String(spec.default)}` : ''}${spec.required ? '; required' : ''})`;
}

function row(task: TaskDefinition): string {
  const options =
    Object.entries(task.optionSpecs)
      .map(([k, s]) => optionText(k, s))
      .join(', ') || '—';
  const outputs =
    task.outputs.map((o) => `${o.name === PICTURE_OUTPUT ? PICTURE_TEXT : o.name}${o.when ? ` (${o.when})` : ''}`).join(', ') || 'JSON result only';
  const extra = (task.extraInputs ?? []).map((e) => ` (+ optional \`${e.field}\` ${e.kind})`).join('');
  return `| ${task.name} | ${task.input}${extra} | ${cell(task.summary)} | ${options} | ${outputs} |`;
}

export function taskTableMarkdown(): string {
  const run = Object.entries(RUN_OPTIONS)
    .map(([k, s]) => optionText(k, s))
    .join(', ');
  const output = Object.entries(OUTPUT_OPTIONS)
    .map(([k, s]) => optionText(k, s as OptionSpec))
    .join(', ');
  return [
    BEGIN,
    '| task | input | what it does | options (form fields, `--set` keys, CLI flags in kebab case) | outputs |',
    '|---|---|---|---|---|',
    ...[...TASKS.values()].map(row),
    '',
    `Run options (CLI and batch; the server decides them for its jobs): ${run}. Output options (every task that writes a picture; stripMetadata where the picture comes from one input picture): ${output}. The picture is then \`output.<ext>\` (png, jpg, webp, tif, avif, bmp) with its MIME type; without \`format\` the API writes PNG.`,
    END,
  ].join('\n');
}

/** Replaces the generated block of `file` (docs/server.md) with the current table. */
export async function writeTaskDocs(file = new URL('../../docs/server.md', import.meta.url)): Promise<void> {
  const text = await readFile(file, 'utf8');
  const a = text.indexOf(BEGIN.slice(0, 20));
  const b = text.indexOf(END);
  if (a < 0 || b < 0) throw new ClearsightError(ERROR_CODES.RUNTIME, `${String(file)} has no generated task block`, { file: String(file) });
  await writeFile(file, text.slice(0, a) + taskTableMarkdown() + text.slice(b + END.length));
}

export const TASK_DOCS_MARKERS = { BEGIN, END };
