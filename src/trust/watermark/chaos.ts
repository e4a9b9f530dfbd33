/**
 * Chaotic pseudo-random streams: the logistic-sine system (LSS, Zhou, Bao & Chen 2014),
 *
 *   x[n+1] = ( r x[n] (1 - x[n]) + (4 - r) sin(pi x[n]) / 4 )  mod 1,   r in (0, 4),
 *
 * which is chaotic over its whole parameter range (the plain logistic map only near r = 4) and
 * spreads its orbit over (0, 1). The initial value and r come from a 32-byte secret seed
 * (derived by the KDF in key.ts), so the orbit is unpredictable without the key.
 *
 * Bits are taken from the middle of the mantissa (bits 25..40 of the fraction) of every orbit
 * value: the leading bits of a chaotic orbit follow its (non-uniform) invariant density, the
 * middle bits are the ones that are sensitive to the seed and look uniform. A Weyl increment is
 * added to the state every step so that double rounding can never trap the orbit in a short
 * cycle (a known weakness of chaotic maps in finite precision).
 */
import { ClearsightError, ERROR_CODES } from '../../core/errors.js';

const BURN_IN = 1024;
/** Fractional part of the golden ratio: an irrational Weyl step. */
const WEYL = 0.6180339887498949;
const WEYL_SCALE = 2 ** -30;

export class LogisticSineStream {
  private x: number;
  private readonly r: number;
  private step = 0;

  constructor(seed: Uint8Array) {
    if (seed.length < 16) throw new ClearsightError(ERROR_CODES.INVALID_OPTION, 'LogisticSineStream needs a seed of at least 16 bytes');
    // 52-bit fractions from the seed; both kept away from the map's fixed points 0 and 1.
    this.x = 0.05 + 0.9 * fraction52(seed, 0);
    this.r = 0.5 + 3.4 * fraction52(seed, 8);
    for (let i = 0; i < BURN_IN; i++) this.advance();
  }

  private advance(): number {
    const x = this.x;
    let next = this.r * x * (1 - x) + ((4 - this.r) * Math.sin(Math.PI * x)) / 4;
    this.step++;
    next += ((this.step * WEYL) % 1) * WEYL_SCALE;
    next -= Math.floor(next);
    if (next <= 0 || next >= 1) next = 0.5 + ((this.step * WEYL) % 1) * 0.25;
    this.x = next;
    return next;
  }

  /** 16 uniform-looking bits from the next orbit value. */
  nextUint16(): number {
    const v = this.advance();
    return Math.floor(v * 2 ** 40) % 65536;
  }

  /** A float in [0, 1) with 32 bits of resolution (two orbit values). */
  nextFloat(): number {
    return (this.nextUint16() * 65536 + this.nextUint16()) / 4294967296;
  }
}

function fraction52(seed: Uint8Array, offset: number): number {
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + seed[offset + i];
  v = v * 16 + (seed[offset + 6] >> 4);
  return v / 2 ** 52;
}

/** n keystream bits (0/1) from a seed. */
export function chaoticBits(seed: Uint8Array, n: number): Uint8Array {
  const s = new LogisticSineStream(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 16) {
    const word = s.nextUint16();
    for (let b = 0; b < 16 && i + b < n; b++) out[i + b] = (word >> b) & 1;
  }
  return out;
}

/** n signs (+1/-1) from a seed. */
export function chaoticSigns(seed: Uint8Array, n: number): Int8Array {
  const bits = chaoticBits(seed, n);
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = bits[i] ? 1 : -1;
  return out;
}

/**
 * A permutation of 0..n-1 from a chaotic sequence: the classic chaotic-sort permutation
 * (positions ordered by their orbit values).
 */
export function chaoticPermutation(seed: Uint8Array, n: number): Int32Array {
  const s = new LogisticSineStream(seed);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = s.nextFloat();
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => keys[a] - keys[b] || a - b);
  return Int32Array.from(idx);
}

/** n standard normal values (Box-Muller over the chaotic stream), for the identity projection. */
export function chaoticGaussians(seed: Uint8Array, n: number): Float64Array {
  const s = new LogisticSineStream(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = (s.nextFloat() * 4294967295 + 1) / 4294967296;
    const u2 = s.nextFloat();
    const rad = Math.sqrt(-2 * Math.log(u1));
    out[i] = rad * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = rad * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
