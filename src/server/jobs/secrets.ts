/**
 * Secret job options (a watermark key) never sit in Redis in plaintext.
 *
 * Under BullMQ a job's data is stored in Redis for as long as the job is kept (24 h by default).
 * Fields a task declares secret (TaskDefinition.secretFields) are sealed with AES-256-GCM before
 * the job is queued, under a queue secret that lives in the shared store directory
 * (`<store>/queue-secret`, mode 0600, created by the first server or worker) and never in Redis:
 * reading Redis alone reveals no key. The worker unseals them for the run, and removes the sealed
 * values from the job's data as soon as the job has finished for good (done, or failed with no
 * attempt left), so not even the ciphertext outlives the job.
 *
 * `CLEARSIGHT_QUEUE_SECRET` (64 hex digits) overrides the file, for workers without the file.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobSpec } from './types.js';
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';

const PREFIX = 'sealed:v1:';

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** AES-256-GCM; the field name is authenticated too, so a sealed value cannot be moved to another field. */
export function sealValue(value: string, field: string, secret: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  cipher.setAAD(Buffer.from(field));
  const ct = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
}

export function unsealValue(sealed: string, field: string, secret: Buffer): string {
  const [iv, tag, ct] = sealed
    .slice(PREFIX.length)
    .split(':')
    .map((p) => Buffer.from(p, 'base64'));
  const decipher = createDecipheriv('aes-256-gcm', secret, iv);
  decipher.setAAD(Buffer.from(field));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
}

/** The spec with the named fields sealed (those present), listed in `sealed`. */
export function sealSpec(spec: JobSpec, secretFields: readonly string[], secret: Buffer): JobSpec {
  const names = secretFields.filter((f) => Object.hasOwn(spec.fields, f));
  if (names.length === 0) return spec;
  const fields = { ...spec.fields };
  for (const f of names) fields[f] = sealValue(fields[f], f, secret);
  return { ...spec, fields, sealed: names };
}

export function unsealSpec(spec: JobSpec, secret: Buffer): JobSpec {
  if (!spec.sealed?.length) return spec;
  const fields = { ...spec.fields };
  for (const f of spec.sealed) {
    if (!Object.hasOwn(fields, f))
      throw new ClearsightError(ERROR_CODES.INVALID_OPTION, `the secret option "${f}" of this job was already removed (the job had finished)`);
    fields[f] = unsealValue(fields[f], f, secret);
  }
  const { sealed: _sealed, ...rest } = spec;
  return { ...rest, fields };
}

/** The spec without its sealed fields (what stays in Redis once the job has finished). */
export function withoutSecrets(spec: JobSpec): JobSpec {
  if (!spec.sealed?.length) return spec;
  const fields = { ...spec.fields };
  for (const f of spec.sealed) delete fields[f];
  return { ...spec, fields };
}

/** The queue secret: $CLEARSIGHT_QUEUE_SECRET, else `<store>/queue-secret` (created, 0600, if missing). */
export async function loadQueueSecret(storeRoot: string): Promise<Buffer> {
  const env = process.env.CLEARSIGHT_QUEUE_SECRET;
  if (env) {
    if (!/^[0-9a-fA-F]{64}$/.test(env)) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, 'CLEARSIGHT_QUEUE_SECRET must be 64 hex digits (32 bytes)');
    return Buffer.from(env, 'hex');
  }
  const path = join(storeRoot, 'queue-secret');
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(randomBytes(32).toString('hex'));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Another process may be writing it right now: wait for the 64 digits.
  for (let i = 0; i < 50; i++) {
    const text = (await readFile(path, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(text)) return Buffer.from(text, 'hex');
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new ClearsightError(ERROR_CODES.INPUT_CORRUPT, `${path} does not hold a queue secret (64 hex digits); remove it to have a new one made`);
}
