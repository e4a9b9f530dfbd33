/**
 * x^gamma without Math.pow: x^g = exp(g ln x), both factors by truncated Taylor series after a
 * range reduction that keeps the series arguments small.
 *
 * ln x: split x = m 2^e through the bits of a Float32 (frexp by a Float32Array / Int32Array view
 * of one scratch word), with m in [sqrt(1/2), sqrt(2)) (branch-free, see below). Then
 *   ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...),  s = (m - 1) / (m + 1),  |s| <= 0.1716,
 * the Taylor series of atanh, truncated after the s^order term (odd terms only).
 *
 * exp y (y = g ln x <= 0 for x in (0, 1]): y = k ln2 + r with k = round(y / ln2), |r| <= ln2 / 2,
 *   e^r = 1 + r + r^2/2! + ... + r^order/order!   (Horner form),
 * and 2^k is built directly in the exponent bits of a Float32 (0 when k < -126).
 *
 * Error (relative, hence absolute for x in [0, 1]), gamma in [0.2, 1.5], measured on a dense grid
 * (test/gamma.test.ts, bench/gamma.ts); the bounds are the first omitted terms
 * r^(n+1)/(n+1)! at |r| = 0.347 plus gamma * 2 s^(n+2)/(n+2) at s = 0.1716:
 *   order 3: ~7e-4   order 4: ~1.3e-4   order 5: ~4e-6   order 6: ~1.5e-7
 * so order >= 3 meets the 1/255 (3.9e-3) target; the default 4 leaves a 30x margin.
 *
 * Exact at x = 0 (returns 0) and x = 1 (returns 1: m = 1, s = 0, y = 0, k = 0, r = 0).
 * Inputs below 2^-126 (Float32 subnormals) are treated as about 2^-127 (absolute error < 3e-8 for
 * gamma >= 0.2). x < 0 and NaN return 0. Meant for x in [0, 1]; x > 1 works while x^g < 2^127.
 *
 * The scratch words make this function non-reentrant only in a sense JavaScript never exercises
 * (it is synchronous and has no callbacks): it holds no state between calls.
 */
import { invalidOption } from '../../core/errors.js';

export const POW_TAYLOR_MIN_ORDER = 1;
export const POW_TAYLOR_MAX_ORDER = 8;
export const POW_TAYLOR_DEFAULT_ORDER = 4;

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

const LN2 = Math.LN2;
const LOG2E = Math.LOG2E;
/** 1/j for the exp Horner loop. */
const INV = Float64Array.from({ length: POW_TAYLOR_MAX_ORDER + 1 }, (_, j) => (j === 0 ? 0 : 1 / j));

/**
 * Approximates x^gamma for x in [0, 1] (see the module notes for accuracy), truncating both
 * Taylor series after the term of degree `order` (integer 1..8, default 4).
 */
export function powTaylor(x: number, gamma: number, order: number = POW_TAYLOR_DEFAULT_ORDER): number {
  if (!(order >= POW_TAYLOR_MIN_ORDER && order <= POW_TAYLOR_MAX_ORDER) || (order | 0) !== order) {
    throw invalidOption('order', `an integer in [${POW_TAYLOR_MIN_ORDER}, ${POW_TAYLOR_MAX_ORDER}]`, order);
  }
  if (!(x > 0)) return 0;

  // frexp, branch-free (as musl's logf): subtracting the bits of sqrt(1/2) from the bits of x
  // makes the exponent field floor(log2(x / sqrt(1/2))), so m = x / 2^e is in [sqrt(1/2), sqrt(2)).
  F32[0] = x;
  const bits = I32[0];
  const e = (bits - 0x3f3504f3) >> 23;
  I32[0] = bits - (e << 23);
  const m = F32[0];

  // ln m = 2 (s + s^3/3 + ... ), odd terms up to s^order.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let q = 0;
  for (let j = order % 2 === 1 ? order : order - 1; j >= 3; j -= 2) q = (q + INV[j]) * s2;
  const lnx = e * LN2 + 2 * s * (1 + q);

  // exp(y) = 2^k e^r.
  const y = gamma * lnx;
  const k = Math.floor(y * LOG2E + 0.5); // Math.round is several times slower in V8
  if (k < -126) return 0;
  const r = y - k * LN2;
  let p = 1;
  for (let j = order; j >= 1; j--) p = 1 + r * p * INV[j];
  I32[0] = (k + 127) << 23;
  return p * F32[0];
}

/**
 * e^y by the same range reduction and truncated Taylor series as powTaylor's exp step
 * (y = k ln2 + r, |r| <= ln2/2, relative error ~ |r|^(order+1)/(order+1)!). Returns 0 below
 * 2^-126; meant for y <= 88. `order` is not checked here (internal helper for per-pixel maps).
 */
export function expTaylor(y: number, order: number = POW_TAYLOR_DEFAULT_ORDER): number {
  const k = Math.floor(y * LOG2E + 0.5);
  if (k < -126) return 0;
  const r = y - k * LN2;
  let p = 1;
  for (let j = order; j >= 1; j--) p = 1 + r * p * INV[j];
  I32[0] = (k + 127) << 23;
  return p * F32[0];
}
