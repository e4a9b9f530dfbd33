/**
 * Watermark keys. The user's secret (a passphrase or bytes) goes through scrypt (memory-hard,
 * so guessing weak passphrases offline is slow) with a fixed, versioned salt, and the master key
 * is split with HKDF-SHA256 into independent sub-keys: one per chaotic stream (pilot pattern,
 * cell permutation, chip signs, keystream), one for the identity projection, one for the MAC.
 *
 * The salt is fixed (not random) on purpose: the verifier must re-derive the same key from the
 * secret alone, and the watermark has no room to carry a salt. Different deployments should use
 * different secrets; the key's fingerprint lets a user check they typed the same one.
 */
import { createHash, hkdfSync, scryptSync } from 'node:crypto';
import { invalidOption } from '../../core/errors.js';

export const KEY_KIND = 'clearsight-watermark-key';
const SALT = 'clearsight/watermark/v1';
/** scrypt cost: 2^14 x 8 x 128 B = 16 MiB, about 50 ms here. */
const SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export interface WatermarkKey {
  readonly kind: typeof KEY_KIND;
  /** First 8 hex digits of SHA-256 over the master key: safe to show, identifies the key. */
  readonly fingerprint: string;
  readonly pilotSeed: Uint8Array;
  readonly permutationSeed: Uint8Array;
  readonly chipSeed: Uint8Array;
  readonly keystreamSeed: Uint8Array;
  readonly projectionSeed: Uint8Array;
  readonly macKey: Uint8Array;
}

/** A secret as given by a user, or an already derived key (derive once, reuse for many images). */
export type WatermarkSecret = string | Uint8Array | WatermarkKey;

export function isWatermarkKey(k: unknown): k is WatermarkKey {
  return typeof k === 'object' && k !== null && (k as { kind?: unknown }).kind === KEY_KIND;
}

/** Derives the watermark key from a secret (non-empty string or bytes). */
export function deriveWatermarkKey(secret: string | Uint8Array): WatermarkKey {
  const bytes = typeof secret === 'string' ? Buffer.from(secret.normalize('NFC'), 'utf8') : secret instanceof Uint8Array ? Buffer.from(secret) : undefined;
  if (!bytes) throw invalidOption('key', 'a non-empty string or Uint8Array', secret);
  if (bytes.length === 0) throw invalidOption('key', 'a non-empty secret', secret);
  const master = scryptSync(bytes, SALT, 32, SCRYPT);
  const sub = (info: string) => new Uint8Array(hkdfSync('sha256', master, SALT, info, 32));
  return {
    kind: KEY_KIND,
    fingerprint: createHash('sha256').update(master).digest('hex').slice(0, 8),
    pilotSeed: sub('pilot'),
    permutationSeed: sub('permutation'),
    chipSeed: sub('chips'),
    keystreamSeed: sub('keystream'),
    projectionSeed: sub('projection'),
    macKey: sub('mac'),
  };
}

/** Accepts a secret or a derived key. */
export function resolveKey(key: WatermarkSecret | undefined): WatermarkKey {
  if (isWatermarkKey(key)) return key;
  if (key === undefined || key === null) throw invalidOption('key', 'a non-empty secret (string or bytes) or a derived WatermarkKey', key);
  return deriveWatermarkKey(key as string | Uint8Array);
}
