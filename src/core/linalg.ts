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
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let d = M[rowJ + j]!;
    for (let k = 0; k < j; k++) d -= M[rowJ + k]! * M[rowJ + k]!;
    if (!(d > 0)) return undefined;
    const ljj = Math.sqrt(d);
    M[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let s = M[rowI + j]!;
      // Unrolled by four, in the same order (the same result): the HDR response fit solves
      // 256 x 256 systems, and this loop is nearly all of their time.
      let k = 0;
      for (; k + 4 <= j; k += 4) {
        s -= M[rowI + k]! * M[rowJ + k]!;
        s -= M[rowI + k + 1]! * M[rowJ + k + 1]!;
        s -= M[rowI + k + 2]! * M[rowJ + k + 2]!;
        s -= M[rowI + k + 3]! * M[rowJ + k + 3]!;
      }
      for (; k < j; k++) s -= M[rowI + k]! * M[rowJ + k]!;
      M[rowI + j] = s / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= M[i * n + k]! * y[k]!;
    y[i] = s / M[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= M[k * n + i]! * x[k]!;
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
