/** Middle-first order of a run of B pictures (the B-ref of a pyramid is decoded first). */
export function pyramidOrder<T>(run: readonly T[]): T[] {
  if (run.length <= 2) return [...run];
  const mid = run.length >> 1;
  return [run[mid], ...pyramidOrder(run.slice(0, mid)), ...pyramidOrder(run.slice(mid + 1))];
}
