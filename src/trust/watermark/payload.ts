/**
 * The watermark payload: 128 bits =
 *
 *   header   8 bits  version (4 bits, = 1) | identity-bound flag (1 bit) | reserved (3 bits, 0)
 *   source  32 bits  the publisher's source id: 1..6 characters of [a-z0-9-_.] in base 40
 *   identity 64 bits signs of a keyed random projection of the face embedding (0 when whole-image)
 *   mac     24 bits  truncated HMAC-SHA256 over the 104 bits above, keyed by the watermark key
 *
 * The MAC makes integrity keyed: a wrong key (or noise that happens to decode) fails it with
 * probability 1 - 2^-24 per attempt, so a wrong key reads as "no watermark", never as a wrong
 * identity or source.
 */
import { createHmac } from 'node:crypto';
import { ClearsightError, ERROR_CODES, invalidOption } from '../../core/errors.js';
import { chaoticGaussians } from './chaos.js';
import type { WatermarkKey } from './key.js';

export const PAYLOAD_VERSION = 1;
export const HEADER_BITS = 8;
export const SOURCE_BITS = 32;
export const IDENTITY_BITS = 64;
export const MAC_BITS = 24;
export const PAYLOAD_BITS = HEADER_BITS + SOURCE_BITS + IDENTITY_BITS + MAC_BITS;

export const SOURCE_ALPHABET = '\0abcdefghijklmnopqrstuvwxyz0123456789-_.';
export const SOURCE_MAX_LENGTH = 6;
const SOURCE_PATTERN = /^[a-z0-9._-]{1,6}$/;

export interface Payload {
  /** Identity-bound (a face code is carried) or whole-image mode. */
  identityBound: boolean;
  source: string;
  /** IDENTITY_BITS bits (0/1); all zero in whole-image mode. */
  identity: Uint8Array;
}

/** Checks a source id and returns its 32-bit code. */
export function encodeSource(source: unknown): number {
  if (typeof source !== 'string' || !SOURCE_PATTERN.test(source)) {
    throw new ClearsightError(
      ERROR_CODES.INVALID_OPTION,
      `Invalid option "source": expected 1 to ${SOURCE_MAX_LENGTH} characters of a-z 0-9 - _ . (the watermark carries 32 bits), got ${JSON.stringify(source)}`,
      { option: 'source', expected: `1..${SOURCE_MAX_LENGTH} characters of [a-z0-9._-]`, given: source },
    );
  }
  let v = 0;
  for (let i = source.length - 1; i >= 0; i--) v = v * 40 + SOURCE_ALPHABET.indexOf(source[i]);
  return v;
}

/** Inverse of encodeSource; undefined when the code is not a valid source (e.g. noise). */
export function decodeSource(code: number): string | undefined {
  let s = '';
  let v = code;
  for (let i = 0; i < SOURCE_MAX_LENGTH && v > 0; i++) {
    const sym = v % 40;
    if (sym === 0) return undefined; // a pad symbol inside the id
    s += SOURCE_ALPHABET[sym];
    v = Math.floor(v / 40);
  }
  return v === 0 && s.length > 0 ? s : undefined;
}

function pushBits(out: Uint8Array, at: number, value: number, n: number): number {
  for (let i = n - 1; i >= 0; i--) out[at++] = Math.floor(value / 2 ** i) % 2;
  return at;
}

function readBits(bits: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 2 + bits[at + i];
  return v;
}

function packBytes(bits: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

function mac(key: WatermarkKey, body: Uint8Array): number {
  const h = createHmac('sha256', key.macKey).update('clearsight-wm-mac').update(packBytes(body)).digest();
  return (h[0] << 16) | (h[1] << 8) | h[2];
}

/** Payload -> PAYLOAD_BITS bits (with MAC). */
export function packPayload(p: Payload, key: WatermarkKey): Uint8Array {
  if (p.identity.length !== IDENTITY_BITS) throw invalidOption('identity', `${IDENTITY_BITS} bits`, `${p.identity.length} bits`);
  const bits = new Uint8Array(PAYLOAD_BITS);
  let at = pushBits(bits, 0, PAYLOAD_VERSION, 4);
  at = pushBits(bits, at, p.identityBound ? 1 : 0, 1);
  at = pushBits(bits, at, 0, 3);
  at = pushBits(bits, at, encodeSource(p.source), SOURCE_BITS);
  for (let i = 0; i < IDENTITY_BITS; i++) bits[at++] = p.identityBound ? p.identity[i] & 1 : 0;
  pushBits(bits, at, mac(key, bits.subarray(0, at)), MAC_BITS);
  return bits;
}

/** Bits -> payload, or undefined when the MAC, version or source do not check out. */
export function unpackPayload(bits: Uint8Array, key: WatermarkKey): Payload | undefined {
  const bodyBits = PAYLOAD_BITS - MAC_BITS;
  if (readBits(bits, bodyBits, MAC_BITS) !== mac(key, bits.subarray(0, bodyBits))) return undefined;
  if (readBits(bits, 0, 4) !== PAYLOAD_VERSION) return undefined;
  const identityBound = bits[4] === 1;
  const source = decodeSource(readBits(bits, HEADER_BITS, SOURCE_BITS));
  if (source === undefined) return undefined;
  const identity = bits.slice(HEADER_BITS + SOURCE_BITS, HEADER_BITS + SOURCE_BITS + IDENTITY_BITS);
  return { identityBound, source, identity };
}

// ---------------------------------------------------------------------------------------------
// Identity code: signs of a keyed Gaussian random projection (SimHash, Charikar 2002). For unit
// vectors the probability that one bit differs is angle/pi, so the Hamming distance between two
// codes estimates the angle between the embeddings, and the projection (seeded from the key)
// is secret: a forger cannot craft an embedding for a target code without the key.

/** Identity code of a face embedding (any dimension, any scale). */
export function identityCode(embedding: ArrayLike<number>, key: WatermarkKey): Uint8Array {
  const d = embedding.length;
  if (d < 8 || !Array.prototype.every.call(embedding, (v: number) => Number.isFinite(v))) {
    throw invalidOption('identity', 'a face embedding of at least 8 finite numbers', `${d} values`);
  }
  let mean = 0;
  for (let i = 0; i < d; i++) mean += embedding[i];
  mean /= d;
  // Centring the vector removes the common offset of embeddings with non-negative components,
  // which otherwise pushes every projection the same way.
  const centred = new Float64Array(d);
  let norm = 0;
  for (let i = 0; i < d; i++) {
    centred[i] = embedding[i] - mean;
    norm += centred[i] * centred[i];
  }
  if (!(norm > 0)) throw invalidOption('identity', 'a non-constant face embedding', 'a constant vector');
  const seed = Uint8Array.from(key.projectionSeed);
  seed[0] ^= d & 0xff;
  seed[1] ^= (d >> 8) & 0xff;
  const r = chaoticGaussians(seed, IDENTITY_BITS * d);
  const code = new Uint8Array(IDENTITY_BITS);
  for (let b = 0; b < IDENTITY_BITS; b++) {
    let dot = 0;
    const row = b * d;
    for (let i = 0; i < d; i++) dot += r[row + i] * centred[i];
    code[b] = dot > 0 ? 1 : 0;
  }
  return code;
}

export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i] ^ b[i]) & 1;
  return d;
}
