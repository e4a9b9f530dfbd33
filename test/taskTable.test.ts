/**
 * The task table is the one description of every task's options (src/tasks). These tests fail
 * when a surface drifts from it: for every task, the CLI command's flags, the OpenAPI form schema,
 * GET /api/v1/tasks and the batch --set keys carry exactly the table's option names and
 * defaults; and a bad value is refused with the same ClearsightError code and the same
 * "expected ..." text on the CLI, the API and batch. Plus the one validation itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { buildProgram } from '../src/cli/program.js';
import { CLI_OMISSIONS } from '../src/cli/taskOptions.js';
import { batchUsage, runBatch } from '../src/cli/commands/batch.js';
import { ClearsightError } from '../src/core/errors.js';
import { buildOpenApi, buildServer, ContentStore, parseTaskOptions } from '../src/server/index.js';
import {
  expectedText,
  optionSectionsOf,
  outputOptionsOf,
  OUTPUT_OPTIONS,
  parseOptionFields,
  parseOptionValue,
  TASKS,
  getTask,
  RUN_OPTIONS,
  type OptionSpec,
} from '../src/tasks/index.js';
import { fixturePng, idleQueue } from './helpers/server.js';

/** The command that runs each task. */
const COMMAND: Readonly<Record<string, string[]>> = {
  auto: ['restore', 'auto'],
  'watermark-embed': ['watermark', 'embed'],
  'watermark-verify': ['watermark', 'verify'],
  forensics: ['forensics', 'analyze'],
};

/**
 * Flags a command may have beyond the table: where outputs go and how they are named and printed
 * (CLI-only by nature: faces --annotate writes a picture the API does not make), and secrets
 * read from files. The output encoding (--format, --quality, --strip-metadata) is the table's.
 */
const CLI_ONLY = new Set([
  'output',
  'force',
  'json',
  'maps',
  'annotate',
  'suffix',
  'name',
  'recursive',
  'keyFile',
  'watermarkKeyFile',
  'model:forensics',
  'report',
  'out',
  'head',
  'ldr',
  'mask',
  'help',
]);

function findCommand(program: Command, path: readonly string[]): Command {
  let cmd = program;
  for (const name of path) {
    const next = cmd.commands.find((c) => c.name() === name);
    assert.ok(next, `command ${path.join(' ')} exists`);
    cmd = next;
  }
  return cmd;
}

const program = buildProgram();

describe('every surface carries the table', () => {
  for (const task of TASKS.values()) {
    test(`${task.name}: CLI flags = the table's options, with its defaults`, () => {
      const cmd = findCommand(program, COMMAND[task.name] ?? [task.name]);
      const table = optionSectionsOf(task, 'cli');
      const omitted = CLI_OMISSIONS.get(task.name) ?? {};
      // Hidden flags (a default-on switch's positive form, forensics' --model) are not the table's surface.
      const flags = new Map<string, Option>(cmd.options.filter((o) => !o.hidden).map((o) => [o.attributeName(), o]));
      // The flags standing for table options, plus any flag that is neither a table option nor CLI-only:
      // a flag the table does not know, or an option the CLI lacks without a stated reason, fails here.
      // Extra inputs (liveness: the enrolled photo) are flags of the same name.
      const extras = (task.extraInputs ?? []).map((e) => e.field);
      const taskFlags = [...flags.keys()].filter(
        (k) => (k in table && !(k in omitted)) || (!(k in table) && !CLI_ONLY.has(k) && !CLI_ONLY.has(`${k}:${task.name}`)),
      );
      assert.deepEqual(taskFlags.sort(), [...Object.keys(table).filter((k) => !(k in omitted)), ...extras].sort());
      for (const [name, spec] of Object.entries(table)) {
        if (name in omitted) {
          assert.ok(omitted[name]!.length > 10, `${task.name}: the CLI says why it has no --${name}`);
          continue;
        }
        const flag = flags.get(name)!;
        // A switch on by default is `--no-<name>` alone, which commander defaults to true.
        if (spec.type === 'boolean' && spec.default === true)
          assert.ok(flag.negate && flag.long === `--no-${flag.long!.slice(5)}`, `${task.name}: --no-${name} turns ${name} off`);
        else assert.deepEqual(flag.defaultValue, spec.default, `${task.name} ${flag.long}: default`);
      }
    });

    test(`${task.name}: OpenAPI form fields and GET /api/v1/tasks = the table's options (API sections), with its defaults`, () => {
      const doc = buildOpenApi('test', false) as {
        paths: Record<
          string,
          {
            post: {
              requestBody: { content: Record<string, { schema: { properties: Record<string, { default?: unknown; title?: string; description?: string }> } }> };
            };
          }
        >;
      };
      const props = doc.paths[`/api/v1/jobs/${task.name}`]!.post.requestBody.content['multipart/form-data']!.schema.properties;
      const table = optionSectionsOf(task, 'api');
      const extras = (task.extraInputs ?? []).map((e) => e.field);
      const fields = Object.keys(props).filter((k) => k !== 'file' && k !== 'files' && !extras.includes(k));
      assert.deepEqual(fields.sort(), Object.keys(table).sort());
      for (const e of extras)
        assert.equal((props[e] as { contentMediaType?: string }).contentMediaType, 'application/octet-stream', `${task.name}: ${e} is a file field`);
      for (const [name, spec] of Object.entries(table)) {
        assert.deepEqual(props[name]!.default, spec.default, `${task.name}.${name}: default`);
        // The web form's label and help text come from here.
        assert.equal(props[name]!.title, spec.label);
        assert.equal(props[name]!.description, spec.help);
      }
      // The API leaves threads/device to the operator; everything else reaches it.
      for (const k of Object.keys(RUN_OPTIONS)) assert.equal(k in props, false, `${task.name}: no ${k} in the API`);
    });

    if (task.input !== 'images') {
      test(`${task.name}: batch --set takes exactly the table's options (run sections included), defaults filled`, () => {
        const table = optionSectionsOf(task, 'batch');
        const parsed = parseTaskOptions(task, requiredFields(task), 'batch');
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
        for (const [name, spec] of Object.entries(task.optionSpecs))
          if (!spec.required) assert.deepEqual(parsed.options[name], spec.default, `${task.name}.${name}`);
        // Every key is accepted with a valid value; the usage text lists every key.
        const line = batchUsage()
          .split('\n')
          .find((l) => l.startsWith(`  ${task.name}:`))!;
        for (const [name, spec] of Object.entries(table)) {
          assert.match(line, new RegExp(`\\b${name}=`), `batch --help lists ${name}`);
          const value = validValue(spec);
          if (value === undefined) continue;
          const one = parseTaskOptions(task, { ...requiredFields(task), [name]: value }, 'batch');
          assert.ok(one.ok, `${task.name} --set ${name}=${value}: ${one.ok ? '' : one.message}`);
        }
        const unknown = parseTaskOptions(task, { notAnOption: '1' }, 'batch');
        assert.equal(unknown.ok, false);
      });
    }
  }

  test('the output options (format, quality, stripMetadata) reach every surface of each task writing a picture, from the one spec, and no other task', () => {
    const doc = buildOpenApi('test', false) as {
      paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, { title?: string }> } }> } } }>;
    };
    const usage = batchUsage().split('\n');
    const outputFlags = (cmd: Command) => cmd.options.filter((o) => !o.hidden && Object.hasOwn(OUTPUT_OPTIONS, o.attributeName()));
    let pictures = 0;
    for (const task of TASKS.values()) {
      const expected = Object.keys(outputOptionsOf(task)).sort();
      if (expected.length) pictures++;
      const flags = outputFlags(findCommand(program, COMMAND[task.name] ?? [task.name]));
      assert.deepEqual(flags.map((o) => o.attributeName()).sort(), expected, `${task.name}: CLI flags`);
      for (const o of flags) {
        const spec = OUTPUT_OPTIONS[o.attributeName() as keyof typeof OUTPUT_OPTIONS];
        assert.ok(o.description.startsWith(spec.help), `${task.name} ${o.long}: the spec's help`);
      }
      const props = doc.paths[`/api/v1/jobs/${task.name}`]!.post.requestBody.content['multipart/form-data']!.schema.properties;
      assert.deepEqual(
        Object.keys(props)
          .filter((k) => Object.hasOwn(OUTPUT_OPTIONS, k))
          .sort(),
        expected,
        `${task.name}: OpenAPI form fields`,
      );
      for (const k of expected) assert.equal(props[k]!.title, OUTPUT_OPTIONS[k as keyof typeof OUTPUT_OPTIONS].label);
      if (task.input !== 'images') {
        const line = usage.find((l) => l.startsWith(`  ${task.name}:`))!;
        assert.deepEqual(
          Object.keys(OUTPUT_OPTIONS)
            .filter((k) => new RegExp(`\\b${k}=`).test(line))
            .sort(),
          expected,
          `${task.name}: batch --set keys`,
        );
      }
    }
    assert.ok(pictures >= 9, `${pictures} tasks write a picture`);
    // batch's own --format/--quality/--strip-metadata are the same specs (the documented spelling of --set format=...).
    const batch = outputFlags(findCommand(program, ['batch']));
    assert.deepEqual(batch.map((o) => o.attributeName()).sort(), Object.keys(OUTPUT_OPTIONS).sort());
    for (const o of batch) assert.ok(o.description.startsWith(OUTPUT_OPTIONS[o.attributeName() as keyof typeof OUTPUT_OPTIONS].help));
  });

  test('the disagreements the copies had are gone (one value each)', () => {
    assert.equal((getTask('forensics')!.optionSpecs.maxFrames as { max: number }).max, 10000);
    assert.equal(getTask('vsr')!.optionSpecs.scale!.default, undefined, 'vsr: the library default (4, or a model file its own) everywhere');
    assert.equal((getTask('liveness')!.optionSpecs.seconds as { max: number }).max, 60);
    assert.deepEqual((getTask('watermark-embed')!.optionSpecs.identity as { choices: readonly string[] }).choices, ['auto', 'face', 'none']);
    const cli = findCommand(program, ['vsr']).options.find((o) => o.long === '--scale')!;
    assert.equal(cli.defaultValue, undefined);
  });
});

/** A valid value of a spec, as a string (undefined: a free-form string whose pattern we do not invent). */
function validValue(spec: OptionSpec): string | undefined {
  if (spec.default !== undefined) return String(spec.default);
  switch (spec.type) {
    case 'integer':
      return String(spec.max);
    case 'number':
      return String((spec.min + spec.max) / 2);
    case 'choice':
      return String(spec.choices[0]);
    case 'boolean':
      return 'true';
    case 'string':
      return spec.pattern ? undefined : 'abc';
  }
}

function requiredFields(task: { optionSpecs: Record<string, OptionSpec> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(task.optionSpecs)) if (s.required) out[k] = k === 'source' ? 'cam1' : 'secret';
  return out;
}

describe('the one validation', () => {
  test('values as given by a form, a flag or --set: typed, or E_INVALID_OPTION naming the option as typed', () => {
    const int = { type: 'integer', min: 1, max: 10, label: 'n', help: 'n' } as const;
    assert.equal(parseOptionValue('n', int, ' 7 '), 7);
    assert.equal(parseOptionValue('n', int, 7), 7);
    for (const bad of ['', '0', '11', '7.5', '0x7', '7 px', '1e1'])
      assert.throws(
        () => parseOptionValue('--n', int, bad),
        (e: unknown) => e instanceof ClearsightError && e.code === 'E_INVALID_OPTION' && /"--n": expected an integer from 1 to 10/.test(e.message),
        bad,
      );
    const frac = { type: 'number', min: 0, max: 1, exclusiveMin: true, exclusiveMax: true, label: 't', help: 't' } as const;
    assert.equal(parseOptionValue('t', frac, '.5'), 0.5);
    for (const bad of ['0', '1', '-0.5', 'half', '']) assert.throws(() => parseOptionValue('t', frac, bad), /between 0 and 1 \(exclusive\)/);
    // Bounds in words a user reads: "to below 1" (not "from 0 below 1"), 2147483647 (not 2.147483647e+9).
    const upTo = { type: 'number', min: 0, max: 1, exclusiveMax: true, label: 'q', help: 'q' } as const;
    assert.equal(expectedText(upTo), 'a number from 0 to below 1');
    const seed = { type: 'integer', min: 0, max: 2 ** 31 - 1, label: 'seed', help: 'seed' } as const;
    assert.equal(expectedText(seed), 'an integer from 0 to 2147483647');
    const scale = { type: 'choice', choices: [2, 4], label: 's', help: 's' } as const;
    assert.equal(parseOptionValue('s', scale, '4'), 4);
    assert.throws(() => parseOptionValue('s', scale, '4.0'), /one of 2, 4/);
    const flag = { type: 'boolean', label: 'b', help: 'b' } as const;
    assert.equal(parseOptionValue('b', flag, 'true'), true);
    assert.equal(parseOptionValue('b', flag, 'off'), false);
    assert.throws(() => parseOptionValue('b', flag, 'maybe'), /true or false/);
    const key = { type: 'string', maxLength: 4, secret: true, label: 'k', help: 'k' } as const;
    assert.throws(
      () => parseOptionValue('key', key, 'too long'),
      (e: unknown) => e instanceof Error && !e.message.includes('too long'),
      'a secret is not echoed',
    );
    assert.throws(() => parseOptionFields({ key: { ...key, required: true } }, {}, 'x'), /Option "key" is required/);
    assert.throws(() => parseOptionFields({}, { nope: '1' }, 'task x'), /Unknown option "nope" for task x/);
  });
});

describe('a bad value: the same code and text on the CLI, the API and batch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clearsight-tasktable-'));
  let base = '';
  let close: () => Promise<void> = async () => undefined;
  before(async () => {
    const queue = idleQueue();
    const app = await buildServer({ queue, store: await new ContentStore(join(dir, 'store')).init() });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    close = () => app.close();
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'a.png'), await fixturePng(16, 16, 1));
  });
  after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { task: 'forensics', option: 'maxFrames', value: '0', cli: ['forensics', 'analyze', 'x.png', '--max-frames', '0'] },
    { task: 'lowlight', option: 'method', value: 'bogus', cli: ['lowlight', 'x.png', '-o', 'y.png', '--method', 'bogus'] },
    { task: 'derain', option: 'veil', value: '1.5', cli: ['derain', 'x.png', '-o', 'y.png', '--veil', '1.5'] },
    { task: 'liveness', option: 'seconds', value: '61', cli: ['liveness', 'x.mp4', '--seconds', '61'] },
  ];
  for (const c of cases) {
    test(`${c.task} ${c.option}=${c.value}`, async () => {
      const spec = getTask(c.task)!.optionSpecs[c.option]!;
      const expected = `expected ${expectedText(spec)}`;
      // CLI: the flag's parser refuses before any action runs.
      const cliErr = await buildProgram()
        .parseAsync(['node', 'clearsight', ...c.cli])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(cliErr instanceof ClearsightError, String(cliErr));
      assert.equal(cliErr.code, 'E_INVALID_OPTION');
      assert.ok(cliErr.message.includes(expected), cliErr.message);
      // API: 400 naming the field.
      const fd = new FormData();
      fd.append('file', new Blob([await fixturePng(16, 16, 1)], { type: 'image/png' }), 'a.png');
      fd.append(c.option, c.value);
      const res = await fetch(`${base}/api/v1/jobs/${c.task}`, { method: 'POST', body: fd });
      const body = (await res.json()) as { error: { code: string; message: string; field: string } };
      assert.equal(res.status, 400);
      assert.equal(body.error.code, 'E_INVALID_OPTION');
      assert.equal(body.error.field, c.option);
      assert.ok(body.error.message.includes(expected), body.error.message);
      // batch --set
      const batchErr = await runBatch(c.task, join(dir, 'in'), { output: join(dir, 'out'), set: [`${c.option}=${c.value}`] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(batchErr instanceof ClearsightError);
      assert.equal(batchErr.code, 'E_INVALID_OPTION');
      assert.ok(batchErr.message.includes(expected), batchErr.message);
    });
  }
});

test('docs/server.md carries the generated task table (npm run docs:tasks rewrites it)', async () => {
  const { readFile } = await import('node:fs/promises');
  const { taskTableMarkdown } = await import('../src/tasks/markdown.js');
  const doc = await readFile(new URL('../docs/server.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(taskTableMarkdown()), 'docs/server.md is stale: run npm run docs:tasks');
});

test('no task option shares a name with the run or output sections (a section would silently replace it)', () => {
  for (const task of TASKS.values()) {
    for (const name of Object.keys(task.optionSpecs)) {
      assert.equal(name in RUN_OPTIONS, false, `${task.name}.${name} vs RUN_OPTIONS`);
      assert.equal(name in OUTPUT_OPTIONS, false, `${task.name}.${name} vs OUTPUT_OPTIONS`);
    }
  }
});
