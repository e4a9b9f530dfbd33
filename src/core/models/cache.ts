import { mkdir, readFile, rename, writeFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * On-disk cache of converted ONNX models, content-addressed: the file name carries
 * the sha256 of the source weights, the input shape and the converter version, so a
 * changed package, shape or converter can never pick up a stale conversion.
 */
export function defaultCacheDir(): string {
  return process.env.CLEARSIGHT_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'clearsight');
}

export function cacheFileName(sourceSha256: string, shape: readonly number[], converterVersion: number, variant?: string): string {
  return `${sourceSha256.slice(0, 32)}-${shape.join('x')}-c${converterVersion}${variant ? `-${variant}` : ''}.onnx`;
}

export async function readCached(dir: string, name: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(join(dir, 'models', name));
  } catch {
    return undefined;
  }
}

/**
 * Writes atomically (temp + rename) so that concurrent processes never read half a
 * model. A cache that cannot be written is not an error: the caller still has the bytes.
 */
export async function writeCached(dir: string, name: string, bytes: Uint8Array): Promise<boolean> {
  const target = join(dir, 'models', name);
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(join(dir, 'models'), { recursive: true });
    await writeFile(temp, bytes);
    await rename(temp, target);
    return true;
  } catch {
    await rm(temp, { force: true });
    return false;
  }
}
