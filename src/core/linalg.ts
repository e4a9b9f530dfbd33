import { invalidOption } from './errors.js';

/**
 * Dense linear algebra the library needs: small symmetric positive definite systems (the HDR
 * response fit, Newton steps of logistic regression).
 */

/**
 * Solves M x = b for a symmetric positive definite M (n x n, row-major), by Cholesky
 * factorisation in place (M is overwritten by its factor). Returns undefined when M is not
 * positive definite (a pivot <= 0), so each caller can say what that means for it.
 */
export function choleskySolve(M: Float64Array, b: ArrayLike<number>, n: number): Float64Array | undefined {
  // Envelope (skyline) factorisation: the factor has no nonzero left of a row's first nonzero,
  // so each row's products start there and rows that begin right of column j skip it. The
  // skipped terms are exact zeros, so the result is the dense one, bit for bit. (The HDR
  // response matrix is a band outside the codes between the clip levels: memorial's film black
  // level leaves 20-odd leading rows that are a band.)
  const first = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let f = 0;
    while (f < i && M[row + f] === 0) f++;
    first[i] = f;
  }
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    const fj = first[j]!;
    let d = M[rowJ + j]!;
    for (let k = fj; k < j; k++) d -= M[rowJ + k]! * M[rowJ + k]!;
    if (!(d > 0)) return undefined;
    const ljj = Math.sqrt(d);
    M[rowJ + j] = ljj;
    // Four rows at a time: each row's sum runs in its own order as before (the same result),
    // and the four independent chains hide the latency of the additions that a single chain
    // waits on. A row starting left of another's first nonzero only adds exact zeros.
    let i = j + 1;
    while (i < n) {
      while (i < n && first[i]! > j) i++;
      let i1 = i + 1;
      while (i1 < n && first[i1]! > j) i1++;
      let i2 = i1 + 1;
      while (i2 < n && first[i2]! > j) i2++;
      let i3 = i2 + 1;
      while (i3 < n && first[i3]! > j) i3++;
      if (i3 < n) {
        const r0 = i * n;
        const r1 = i1 * n;
        const r2 = i2 * n;
        const r3 = i3 * n;
        let s0 = M[r0 + j]!;
        let s1 = M[r1 + j]!;
        let s2 = M[r2 + j]!;
        let s3 = M[r3 + j]!;
        const k0 = Math.max(fj, Math.min(first[i]!, first[i1]!, first[i2]!, first[i3]!));
        for (let k = k0; k < j; k++) {
          const m = M[rowJ + k]!;
          s0 -= M[r0 + k]! * m;
          s1 -= M[r1 + k]! * m;
          s2 -= M[r2 + k]! * m;
          s3 -= M[r3 + k]! * m;
        }
        M[r0 + j] = s0 / ljj;
        M[r1 + j] = s1 / ljj;
        M[r2 + j] = s2 / ljj;
        M[r3 + j] = s3 / ljj;
        i = i3 + 1;
        continue;
      }
      for (const r of [i, i1, i2]) {
        if (r >= n) break;
        const rowI = r * n;
        let s = M[rowI + j]!;
        for (let k = Math.max(fj, first[r]!); k < j; k++) s -= M[rowI + k]! * M[rowJ + k]!;
        M[rowI + j] = s / ljj;
      }
      break;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = first[i]!; k < i; k++) s -= M[i * n + k]! * y[k]!;
    y[i] = s / M[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) if (first[k]! <= i) s -= M[k * n + i]! * x[k]!;
    x[i] = s / M[i * n + i]!;
  }
  return x;
}

/**
 * Solves H x = g for a symmetric positive definite H (number[][]), by Cholesky; a singular
 * (separable) system is retried with a growing diagonal jitter.
 */
export function solveSymmetric(H: readonly (readonly number[])[], g: readonly number[]): number[] {
  const n = g.length;
  for (let jitter = 0; jitter <= 1e-3; jitter = jitter === 0 ? 1e-12 : jitter * 100) {
    const M = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = H[i]![j]! + (i === j ? jitter : 0);
    const x = choleskySolve(M, g, n);
    if (x) return Array.from(x);
  }
  throw invalidOption('H', 'a positive definite matrix', 'a singular one');
}
