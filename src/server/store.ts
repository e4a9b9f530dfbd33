/**
 * Content-addressed store for job inputs and outputs.
 *
 *   <root>/blobs/<aa>/<sha256>   every input and output, named by the sha256 of its bytes
 *   <root>/tmp/                  uploads being received and outputs being written
 *
 * Why content addressing: a retried or duplicated job (a worker killed mid-job, a stalled job
 * picked up again while the first attempt still runs) writes the same bytes under the same name,
 * and a blob is only ever published whole (write to tmp/, fsync, rename). So a retry can never
 * corrupt an output another reader already sees, and two attempts cannot conflict.
 *
 * No path here is derived from a request: blob names are hex digests checked by a regex, temp
 * names are random. In a multi-machine deployment (`--queue redis://...`) the root must be a
 * shared directory (NFS or similar) mounted at the same place for the server and the workers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ClearsightError, ERROR_CODES } from '../core/errors.js';

const SHA256 = /^[0-9a-f]{64}$/;

export function isSha256(s: string): boolean {
  return SHA256.test(s);
}

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Host name as it may appear in a file name. */
function hostTag(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9.]/g, '_')
      .slice(0, 64) || 'host'
  );
}

/** Prefix of this process's temp names: host and pid, so a sweeper can tell whose they are. */
export function tempOwner(pid = process.pid): string {
  return `${hostTag()}-${pid}-`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ContentStore {
  readonly root: string;
  /** Temp files and folders of this process still in flight (removed by `abandonTemps` on a hard exit). */
  private readonly inFlight = new Set<string>();
  /** Blobs being handed to a job right now (published, not yet queued): retention keeps them. */
  private readonly pins = new Map<string, number>();

  constructor(root: string) {
    this.root = root;
  }

  async init(): Promise<this> {
    await mkdir(join(this.root, 'blobs'), { recursive: true });
    await mkdir(join(this.root, 'tmp'), { recursive: true });
    return this;
  }

  /** Path of a blob; throws on anything but a sha256 hex digest (never a request string). */
  blobPath(sha256: string): string {
    if (!isSha256(sha256)) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `not a sha256 digest: ${JSON.stringify(sha256).slice(0, 80)}`);
    return join(this.root, 'blobs', sha256.slice(0, 2), sha256);
  }

  /** A fresh temp file name inside the store (same file system as the blobs, so rename is atomic). */
  tempPath(suffix = '.part'): string {
    const p = join(this.root, 'tmp', `${tempOwner()}${randomBytes(8).toString('hex')}${suffix}`);
    this.inFlight.add(p);
    return p;
  }

  /** A fresh empty folder under tmp/ (a job's scratch folder); remove it with `discard`. */
  async tempDir(): Promise<string> {
    const p = this.tempPath('.job');
    await mkdir(p);
    return p;
  }

  /**
   * Removes, synchronously, every temp file and folder this process still has in flight: for a
   * worker process that must exit at once (its parent died) without leaving strays.
   */
  abandonTemps(): void {
    // Entries stay: a file whose creation was still under way is removed by a later call.
    for (const p of this.inFlight) rmSync(p, { recursive: true, force: true });
  }

  async has(sha256: string): Promise<boolean> {
    return stat(this.blobPath(sha256)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** Stores bytes; returns their digest. Idempotent: an existing blob (same bytes by definition) is kept. */
  async put(bytes: Buffer): Promise<string> {
    const sha = sha256Of(bytes);
    if (await this.touch(sha)) return sha;
    const tmp = this.tempPath();
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.publish(tmp, sha);
    } catch (err) {
      await this.discard(tmp);
      throw err;
    }
    return sha;
  }

  /**
   * Streams `source` into a temp file while hashing and counting it. The caller validates the
   * temp file and then calls `adopt` (publish under its digest) or `discard`.
   */
  async receive(source: Readable): Promise<{ tmp: string; sha256: string; bytes: number }> {
    const tmp = this.tempPath();
    const hash = createHash('sha256');
    let bytes = 0;
    source.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    try {
      await pipeline(source, createWriteStream(tmp, { flags: 'wx' }));
    } catch (err) {
      await this.discard(tmp);
      throw err;
    }
    return { tmp, sha256: hash.digest('hex'), bytes };
  }

  async adopt(tmp: string, sha256: string): Promise<void> {
    if (await this.touch(sha256)) {
      await this.discard(tmp);
      return;
    }
    await this.publish(tmp, sha256);
  }

  async discard(tmp: string): Promise<void> {
    await rm(tmp, { recursive: true, force: true });
    this.inFlight.delete(tmp);
  }

  /**
   * Marks an existing blob as just used (its mtime is what retention ages by), so a blob that a
   * new job reuses is not removed as old. Returns false when there is no such blob.
   */
  async touch(sha256: string): Promise<boolean> {
    const now = new Date();
    return utimes(this.blobPath(sha256), now, now).then(
      () => true,
      () => false,
    );
  }

  /** Keeps a blob from retention until `unpin` (an upload between its publication and its job's queueing). */
  pin(sha256: string): void {
    this.pins.set(sha256, (this.pins.get(sha256) ?? 0) + 1);
  }

  unpin(sha256: string): void {
    const n = (this.pins.get(sha256) ?? 1) - 1;
    if (n > 0) this.pins.set(sha256, n);
    else this.pins.delete(sha256);
  }

  pinned(): string[] {
    return [...this.pins.keys()];
  }

  /** Deletes a blob (retention, DELETE /api/v1/jobs/{id}); a missing one is not an error. */
  async remove(sha256: string): Promise<void> {
    await rm(this.blobPath(sha256), { force: true });
  }

  /** Every blob with its size and last use (mtime), for retention. */
  async listBlobs(): Promise<Array<{ sha256: string; bytes: number; mtimeMs: number }>> {
    const out: Array<{ sha256: string; bytes: number; mtimeMs: number }> = [];
    const blobs = join(this.root, 'blobs');
    for (const shard of await readdir(blobs).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await readdir(join(blobs, shard)).catch(() => [] as string[])) {
        if (!isSha256(name)) continue;
        const s = await stat(join(blobs, shard, name)).catch(() => undefined);
        if (s?.isFile()) out.push({ sha256: name, bytes: s.size, mtimeMs: s.mtimeMs });
      }
    }
    return out;
  }

  read(sha256: string): Readable {
    return createReadStream(this.blobPath(sha256));
  }

  /**
   * Removes temp files and folders (a job's scratch folder) left by processes killed mid-write:
   * those of this host whose process is gone (names carry host and pid), and anyone's older than
   * `maxAgeMs`. Never throws: a leftover it cannot remove is reported through `onError` and
   * skipped, so a server or worker always starts over whatever a crash left behind.
   */
  async sweepTemp(maxAgeMs = 3600_000, onError: (name: string, err: unknown) => void = () => undefined): Promise<number> {
    const dir = join(this.root, 'tmp');
    let removed = 0;
    const host = hostTag();
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, name);
      const m = /^(.+)-(\d+)-[0-9a-f]{16}\./.exec(name);
      const deadHere = m !== null && m[1] === host && Number(m[2]) !== process.pid && !alive(Number(m[2]));
      const s = await stat(p).catch(() => undefined);
      if (s && (deadHere || Date.now() - s.mtimeMs > maxAgeMs)) {
        try {
          await rm(p, { recursive: true, force: true });
          removed++;
        } catch (err) {
          onError(name, err);
        }
      }
    }
    return removed;
  }

  private async publish(tmp: string, sha: string): Promise<void> {
    const target = this.blobPath(sha);
    await mkdir(join(this.root, 'blobs', sha.slice(0, 2)), { recursive: true });
    // rename replaces atomically; a concurrent writer of the same digest wrote the same bytes.
    await rename(tmp, target);
    this.inFlight.delete(tmp);
  }
}
