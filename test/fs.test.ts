import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOutputWritable, writeFileAtomic } from '../src/core/fs.js';
import type { ClearsightError } from '../src/core/errors.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearsight-fs-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Names in `d` that look like our temp files: none may survive any call. */
async function leftovers(d: string): Promise<string[]> {
  return (await readdir(d)).filter((name) => name.endsWith('.tmp'));
}

describe('writeFileAtomic', () => {
  it('writes a new file and leaves no temp file', async () => {
    const path = join(dir, 'new.bin');
    await writeFileAtomic(path, Buffer.from([1, 2, 3]));
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    assert.deepEqual(await leftovers(dir), []);
  });

  it('writes strings', async () => {
    const path = join(dir, 'text.json');
    await writeFileAtomic(path, '{"ok":true}');
    assert.equal(await readFile(path, 'utf8'), '{"ok":true}');
  });

  it('refuses to overwrite without force, naming the file and --force, and keeps the old content', async () => {
    const path = join(dir, 'exists.txt');
    await writeFile(path, 'old');
    await assert.rejects(writeFileAtomic(path, 'new'), (err: ClearsightError) => {
      assert.equal(err.code, 'E_OUTPUT_EXISTS');
      assert.match(err.message, /exists\.txt/);
      assert.match(err.message, /--force/);
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), 'old');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('overwrites with force', async () => {
    const path = join(dir, 'replace.txt');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new', { force: true });
    assert.equal(await readFile(path, 'utf8'), 'new');
    assert.deepEqual(await leftovers(dir), []);
  });

  it('does not create missing directories unless asked', async () => {
    const path = join(dir, 'missing', 'sub', 'out.txt');
    await assert.rejects(writeFileAtomic(path, 'x'), (err: ClearsightError) => {
      assert.equal(err.code, 'E_OUTPUT_UNWRITABLE');
      assert.match(err.message, /does not exist/);
      return true;
    });
    await writeFileAtomic(path, 'x', { mkdirs: true });
    assert.equal(await readFile(path, 'utf8'), 'x');
  });

  it('refuses a directory as the output, even with force', async () => {
    const path = join(dir, 'a-dir');
    await mkdir(path);
    await assert.rejects(writeFileAtomic(path, 'x', { force: true }), { code: 'E_OUTPUT_UNWRITABLE' });
  });

  it('refuses a path whose parent is a file', async () => {
    const parent = join(dir, 'plain-file');
    await writeFile(parent, 'x');
    await assert.rejects(writeFileAtomic(join(parent, 'out.txt'), 'x'), { code: 'E_OUTPUT_UNWRITABLE' });
  });

  it('a failure while writing leaves neither the output nor a temp file', async () => {
    const sub = join(dir, 'failing');
    await mkdir(sub);
    const path = join(sub, 'out.bin');
    // An invalid payload makes the write itself throw after the temp file was opened.
    await assert.rejects(writeFileAtomic(path, 42 as unknown as Buffer), { code: 'E_OUTPUT_UNWRITABLE' });
    assert.deepEqual(await readdir(sub), []);
  });
});

describe('assertOutputWritable', () => {
  it('passes for a new file in an existing directory', async () => {
    await assertOutputWritable(join(dir, 'fresh.png'));
  });

  it('fails fast on an existing file unless force', async () => {
    const path = join(dir, 'taken.png');
    await writeFile(path, 'x');
    await assert.rejects(assertOutputWritable(path), { code: 'E_OUTPUT_EXISTS' });
    await assertOutputWritable(path, true);
  });

  it('fails on a missing directory, a directory target and a file parent', async () => {
    await assert.rejects(assertOutputWritable(join(dir, 'nope', 'x.png')), { code: 'E_OUTPUT_UNWRITABLE' });
    await assert.rejects(assertOutputWritable(dir, true), { code: 'E_OUTPUT_UNWRITABLE' });
    const file = join(dir, 'parent-file');
    await writeFile(file, 'x');
    await assert.rejects(assertOutputWritable(join(file, 'x.png')), { code: 'E_OUTPUT_UNWRITABLE' });
  });

  it('accepts a missing directory when mkdirs is set', async () => {
    await assertOutputWritable(join(dir, 'later', 'x.png'), false, { mkdirs: true });
  });
});
