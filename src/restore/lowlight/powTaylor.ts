/**
 * x^gamma without Math.pow: x^g = exp(g ln x), both factors by truncated Taylor series after a
 * range reduction that keeps the series arguments small.
 *
 * ln x: split x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 *   ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...),  s = (m - 1) / (m + 1),  |s| <= 0.1716,
 * the Taylor series of atanh, truncated after the s^order term (odd terms only).
 * The split ("frexp") for x in (4.7e-10, 1] needs no memory: u = floor(x sqrt(2) 2^31) is a
 * uint32 whose leading-zero count is -e (Math.clz32), and m = x 2^-e from a table. Other x > 0
 * go through the bits of a Float32 (a Float32Array/Int32Array view of one scratch word, as
 * musl's logf); both measured about equally fast, the first keeps shared scratch out of the hot
 * path.
 *
 * exp y (y = g ln x): y = k ln2 + r with k = round(y / ln2), |r| <= ln2 / 2,
 *   e^r = 1 + r + r^2/2! + ... + r^order/order!   (Horner form),
 * times 2^k from a table (0 below 2^-1022).
 *
 * Error (relative, hence absolute for x in [0, 1]), gamma in [0.2, 1.5], measured on a dense grid
 * (test/gamma.test.ts, bench/gamma.ts), in line with the first omitted terms, r^(n+1)/(n+1)! at
 * |r| = 0.347 for exp and gamma times 2 s^j/j (j the first odd degree above n) at s = 0.1716 for ln:
 *   order 2: 8.8e-3 (too coarse)   order 3: 6.0e-4   order 4: 8.2e-5   order 5: 3.2e-6   order 6: 1.2e-6
 * so order >= 3 meets the 1/255 (3.9e-3) target; the default 4 leaves a 48x margin.
 *
 * Speed: the default order 4 has hand-unrolled Horner forms (V8 runs the generic loops over the
 * terms ~30-50% slower). Per call, powTaylor is ~2.7-3.5x faster than Math.pow in a tight loop;
 * the array form powTaylorArray, which validates once and keeps the whole order-4 kernel in the
 * loop body, is ~4x (bench/gamma.ts). Image code uses the array form.
 *
 * Exact at x = 0 (returns 0) and x = 1 (returns 1: m = 1, s = 0, y = 0, k = 0, r = 0).
 * x < 0 and NaN return 0. Domain: x in [0, 1] (x up to ~3e38 works through the Float32 path,
 * accurate while x^g stays below 2^1023); gamma of either sign.
 */
import { invalidOption } from '../../core/errors.js';

export const POW_TAYLOR_MIN_ORDER = 1;
export const POW_TAYLOR_MAX_ORDER = 8;
export const POW_TAYLOR_DEFAULT_ORDER = 4;

const LN2 = Math.LN2;
const LOG2E = Math.LOG2E;
/** sqrt(2) * 2^31: x * FREXP_SCALE < 2^32 for x <= 1, so `>>> 0` keeps every bit. */
const FREXP_SCALE = Math.SQRT2 * 2147483648;
/** Below this, floor(x * FREXP_SCALE) is 0: use the Float32 path. */
const FAST_MIN = 4.7e-10;
/** 1/j for the Horner loops. */
const INV = Float64Array.from({ length: POW_TAYLOR_MAX_ORDER + 1 }, (_, j) => (j === 0 ? 0 : 1 / j));
/** 2^j, j = 0..32 (m = x * 2^clz). */
const POW2 = Float64Array.from({ length: 33 }, (_, j) => 2 ** j);
/** 2^k at index k + EXP_BIAS, k = -1022..1023. */
const EXP_BIAS = 1022;
const EXP2 = Float64Array.from({ length: 2046 }, (_, i) => 2 ** (i - EXP_BIAS));
/** Scratch word for the Float32 frexp of x outside (FAST_MIN, 1]. */
const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/**
 * Approximates x^gamma for x in [0, 1] (see the module notes for accuracy), truncating both
 * Taylor series after the term of degree `order` (integer 1..8, default 4).
 */
export function powTaylor(x: number, gamma: number, order: number = POW_TAYLOR_DEFAULT_ORDER): number {
  if (!(order >= POW_TAYLOR_MIN_ORDER && order <= POW_TAYLOR_MAX_ORDER) || (order | 0) !== order) {
    throw invalidOption('order', `an integer in [${POW_TAYLOR_MIN_ORDER}, ${POW_TAYLOR_MAX_ORDER}]`, order);
  }
  let m: number;
  let e: number;
  if (x > FAST_MIN && x <= 1) {
    const lz = Math.clz32((x * FREXP_SCALE) >>> 0);
    m = x * POW2[lz];
    e = -lz;
  } else {
    if (!(x > 0)) return 0;
    // Float32 frexp (as musl's logf): subtracting the bits of sqrt(1/2) makes the exponent
    // field floor(log2(x / sqrt(1/2))), so m = x / 2^e is in [sqrt(1/2), sqrt(2)).
    F32[0] = x;
    const bits = I32[0];
    e = (bits - 0x3f3504f3) >> 23;
    I32[0] = bits - (e << 23);
    m = F32[0];
  }
  // ln m = 2 (s + s^3/3 + ...), odd terms up to s^order.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let q: number;
  if (order === 3 || order === 4) {
    q = s2 * (1 / 3); // unrolled for the default order: the loop costs ~30% of the call
  } else {
    q = 0;
    for (let j = order % 2 === 1 ? order : order - 1; j >= 3; j -= 2) q = (q + INV[j]) * s2;
  }
  return expTaylor(gamma * (e * LN2 + 2 * s * (1 + q)), order);
}

/**
 * e^y by range reduction (y = k ln2 + r, |r| <= ln2/2) and the Taylor series of e^r truncated
 * after r^order (relative error ~ |r|^(order+1)/(order+1)!); 0 below 2^-1022, Infinity above
 * 2^1024. `order` is not checked here (1..8 expected).
 */
export function expTaylor(y: number, order: number = POW_TAYLOR_DEFAULT_ORDER): number {
  const k = Math.floor(y * LOG2E + 0.5); // Math.round is several times slower in V8
  if (k < -EXP_BIAS) return 0;
  if (k > 1023) return Infinity;
  const r = y - k * LN2;
  let p: number;
  if (order === 4) {
    p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24)))); // unrolled for the default order
  } else {
    p = 1;
    for (let j = order; j >= 1; j--) p = 1 + r * p * INV[j];
  }
  return p * EXP2[k + EXP_BIAS];
}

/**
 * out[i] = powTaylor(xs[i], gammas[i], order) for every i: the per-pixel form used by image code.
 * Same results as powTaylor bit for bit; faster because the order is checked once and, for the
 * default order and x in (4.7e-10, 1], the whole range reduction + both series sit in the loop
 * body (no call, no branch on the order). `out` may alias `xs`.
 */
export function powTaylorArray(
  xs: ArrayLike<number>,
  gammas: ArrayLike<number>,
  out: { [i: number]: number; readonly length: number },
  order: number = POW_TAYLOR_DEFAULT_ORDER,
): void {
  const n = xs.length;
  if (gammas.length !== n || out.length !== n) {
    throw invalidOption('gammas/out', `arrays of the same length as xs (${n})`, { gammas: gammas.length, out: out.length });
  }
  powTaylor(0.5, 1, order); // validates order with the same message as powTaylor
  if (order !== 4) {
    for (let i = 0; i < n; i++) out[i] = powTaylor(xs[i], gammas[i], order);
    return;
  }
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    if (!(x > FAST_MIN && x <= 1)) {
      out[i] = powTaylor(x, gammas[i], 4);
      continue;
    }
    // Inlined copy of powTaylor + expTaylor for order 4 (kept in step by the parity test).
    const lz = Math.clz32((x * FREXP_SCALE) >>> 0);
    const m = x * POW2[lz];
    const s = (m - 1) / (m + 1);
    const s2 = s * s;
    const y = gammas[i] * (-lz * LN2 + 2 * s * (1 + s2 * (1 / 3)));
    const k = Math.floor(y * LOG2E + 0.5);
    if (k < -EXP_BIAS || k > 1023) {
      out[i] = k > 0 ? Infinity : 0;
      continue;
    }
    const r = y - k * LN2;
    out[i] = (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24))))) * EXP2[k + EXP_BIAS];
  }
}
