/**
 * Guided filter with a grey guide (He, Sun & Tang, "Guided Image Filtering", ECCV 2010 /
 * TPAMI 2013), in O(N) with box filters, whatever the radius.
 *
 * For each window w_k the output is locally linear in the guide, q = a_k I + b_k, with
 *   a_k = cov_k(I, p) / (var_k(I) + eps),   b_k = mean_k(p) - a_k mean_k(I),
 * and every pixel averages the (a_k, b_k) of all windows that contain it:
 *   q_i = mean_{k in w_i}(a_k) I_i + mean_{k in w_i}(b_k).
 * Where the guide varies a lot (var >> eps) the filter follows it (edges kept); where it is
 * flat (var << eps) the output is the box mean of p. With guide = src and eps -> 0 the filter is
 * the identity; with eps -> infinity it becomes a box filter of p (of the mean of box means).
 *
 * Windows are clipped at the border and normalised by their true pixel count (see boxFilter).
 */
import { invalidOption } from '../errors.js';
import { boxMeanInto } from './box.js';
import { checkPlane, checkRadius } from './check.js';

export interface GuidedFilterOptions {
  /** Window radius in pixels (window (2r+1)^2), integer >= 1. */
  radius: number;
  /**
   * Regularisation (> 0), in squared units of the guide: edges whose local variance is well
   * above eps are preserved. Guides in [0, 1]: 1e-4..1e-2 typical (He et al. use 1e-3 for
   * transmission refinement).
   */
  eps: number;
}

/**
 * Filters `src` guided by the grey plane `guide` (both width*height, row-major). `guide` may be
 * the same array as `src` (edge-preserving self-smoothing). Returns a new plane.
 */
export function guidedFilter(guide: Float32Array, src: Float32Array, width: number, height: number, opts: GuidedFilterOptions): Float32Array {
  checkPlane('guide', guide, width, height);
  checkPlane('src', src, width, height);
  if (opts === null || typeof opts !== 'object') throw invalidOption('opts', 'an object { radius, eps }', opts);
  checkRadius('radius', opts.radius, 1);
  if (typeof opts.eps !== 'number' || !(opts.eps > 0) || !Number.isFinite(opts.eps)) {
    throw invalidOption('eps', 'a finite number > 0', opts.eps);
  }
  return guidedFilterUnchecked(guide, src, width, height, opts.radius, opts.eps);
}

/** Unchecked core (arguments already validated). */
export function guidedFilterUnchecked(I: Float32Array, p: Float32Array, w: number, h: number, r: number, eps: number): Float32Array {
  const n = w * h;
  const self = I === p;
  const tmp = new Float32Array(n);
  const meanI = new Float32Array(n);
  boxMeanInto(I, w, h, r, meanI, tmp);
  let meanP = meanI;
  if (!self) {
    meanP = new Float32Array(n);
    boxMeanInto(p, w, h, r, meanP, tmp);
  }
  // corrIp -> A, corrII -> B (when I = p, corrIp is corrII and B is only scratch).
  const A = new Float32Array(n);
  for (let i = 0; i < n; i++) A[i] = I[i] * p[i];
  boxMeanInto(A, w, h, r, A, tmp);
  const B = new Float32Array(n);
  if (!self) {
    for (let i = 0; i < n; i++) B[i] = I[i] * I[i];
    boxMeanInto(B, w, h, r, B, tmp);
  }
  // a -> A, b -> B (A holds corrIp; when self, it is also corrII).
  for (let i = 0; i < n; i++) {
    const mi = meanI[i];
    const mp = meanP[i];
    const corrII = self ? A[i] : B[i];
    let varI = corrII - mi * mi;
    if (varI < 0) varI = 0; // rounding in E[I^2] - E[I]^2
    const a = (A[i] - mi * mp) / (varI + eps);
    A[i] = a;
    B[i] = mp - a * mi;
  }
  boxMeanInto(A, w, h, r, A, tmp);
  boxMeanInto(B, w, h, r, B, tmp);
  const q = meanI; // reuse
  for (let i = 0; i < n; i++) q[i] = A[i] * I[i] + B[i];
  return q;
}
