/**
 * Safe output writing.
 *
 * Every file the library produces goes through `writeFileAtomic`: the bytes are written to a
 * temp file in the destination directory, flushed, and then moved into place in one step, so an
 * interrupted or failed run never leaves a half-written output behind.
 *
 * Policy decisions (documented because callers rely on them):
 * - An existing file is never overwritten unless `force` is set (E_OUTPUT_EXISTS).
 *   Without `force`, the final step is a hard link, which the OS refuses if the name appeared
 *   in the meantime, so "no clobber" holds even against a concurrent writer.
 * - Parent directories are NOT created unless `mkdirs` is set: a typo in an output path should
 *   fail loudly (E_OUTPUT_UNWRITABLE) rather than silently grow a directory tree.
 *
 * Also here: `readFileHead`, the first bytes of an input, which the video reader and the server's
 * upload check read to name what a file really is.
 */
import { constants as fsConstants } from 'node:fs';
import { access, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { ClearsightError, ERROR_CODES } from './errors.js';

export interface WriteOptions {
  /** Replace an existing file. Default false. */
  force?: boolean;
  /** Create missing parent directories. Default false (fail with E_OUTPUT_UNWRITABLE). */
  mkdirs?: boolean;
}

/**
 * Checks, before long work starts, that `path` could be written: the parent directory exists and
 * is writable, the path is not a directory, and it does not exist yet unless `force` is set.
 * Call it before spending minutes on inference so the user learns about a bad path at once.
 */
export async function assertOutputWritable(path: string, force = false, opts: { mkdirs?: boolean } = {}): Promise<void> {
  const target = resolve(path);
  const existing = await statOrUndefined(target);
  if (existing?.isDirectory()) {
    throw unwritable(path, 'it is a directory; give a file name');
  }
  if (existing && !force) {
    throw exists(path);
  }
  const dir = dirname(target);
  const dirStat = await statOrUndefined(dir);
  if (!dirStat) {
    if (opts.mkdirs) return; // will be created by writeFileAtomic
    throw unwritable(path, `the directory "${dir}" does not exist`);
  }
  if (!dirStat.isDirectory()) {
    throw unwritable(path, `"${dir}" is not a directory`);
  }
  try {
    await access(dir, fsConstants.W_OK);
  } catch (err) {
    throw unwritable(path, `the directory "${dir}" is not writable`, err);
  }
}

/**
 * Writes `data` to `path` atomically (temp file in the same directory + rename/link).
 * Throws E_OUTPUT_EXISTS when the file exists and `force` is not set, E_OUTPUT_UNWRITABLE when
 * the location cannot be written. On any failure the temp file is removed.
 */
export async function writeFileAtomic(path: string, data: Buffer | string, opts: WriteOptions = {}): Promise<void> {
  const force = opts.force ?? false;
  await assertOutputWritable(path, force, { mkdirs: opts.mkdirs });
  const target = resolve(path);
  if (opts.mkdirs) {
    await mkdir(dirname(target), { recursive: true }).catch((err: unknown) => {
      throw unwritable(path, `cannot create the directory "${dirname(target)}"`, err);
    });
  }
  const tmp = tempPathFor(target);
  try {
    await writeAndSync(tmp, data);
    await publishTemp(tmp, target, { force, shownPath: path });
  } catch (err) {
    await unlink(tmp).catch(() => undefined); // best effort: the temp file may not exist
    if (err instanceof ClearsightError) throw err;
    throw unwritable(path, describeFsError(err), err);
  }
}

/**
 * Temp name beside the target (same filesystem, so rename is atomic), hidden and unique.
 * `extension` is appended after `.tmp` for writers that pick a format from the name.
 * Writers that stream into a file (the video writer) write here and call `publishTemp`.
 */
export function tempPathFor(target: string, extension = ''): string {
  const suffix = `${process.pid}.${randomBytes(6).toString('hex')}`;
  return join(dirname(resolve(target)), `.${basename(target)}.${suffix}.tmp${extension}`);
}

async function writeAndSync(tmp: string, data: Buffer | string): Promise<void> {
  // 'wx': never reuse an existing temp name.
  const handle = await open(tmp, 'wx');
  try {
    await handle.writeFile(data);
    // Flush before the rename so a crash cannot expose a complete name with incomplete bytes.
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Moves a finished temp file (from `tempPathFor`) to its final name: a rename with `force`,
 * otherwise a hard link that the OS refuses if the name exists (E_OUTPUT_EXISTS), so an existing
 * file is never clobbered. The caller removes the temp file when this throws.
 */
export async function publishTemp(tmp: string, target: string, opts: { force?: boolean; shownPath?: string } = {}): Promise<void> {
  const force = opts.force ?? false;
  const shownPath = opts.shownPath ?? target;
  if (force) {
    await rename(tmp, target);
    return;
  }
  try {
    // link() fails with EEXIST if the name exists: an atomic "create only if absent".
    await link(tmp, target);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') throw exists(shownPath);
    // Filesystems without hard links (FAT, some network mounts): fall back to check + rename.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV') {
      if (await statOrUndefined(target)) throw exists(shownPath);
      await rename(tmp, target);
      return;
    }
    throw err;
  }
  await unlink(tmp);
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw unwritable(path, describeFsError(err), err);
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function describeFsError(err: unknown): string {
  switch (errnoCode(err)) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the filesystem is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ENOENT':
      return 'the directory does not exist';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

function exists(path: string): ClearsightError {
  return new ClearsightError(ERROR_CODES.OUTPUT_EXISTS, `Output file "${path}" already exists; use --force to overwrite it`, { path });
}

function unwritable(path: string, reason: string, cause?: unknown): ClearsightError {
  return new ClearsightError(
    ERROR_CODES.OUTPUT_UNWRITABLE,
    `Cannot write output "${path}": ${reason}`,
    { path, reason },
    cause === undefined ? undefined : { cause },
  );
}

/** The first `n` bytes of a file (fewer when it is shorter). */
export async function readFileHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
