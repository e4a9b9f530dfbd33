/**
 * Small, fast, seedable PRNG (Tommy Ettinger's mulberry32), uniform in [0, 1).
 * One implementation for the library (synthetic rain), tests and benchmarks, so that
 * "seed 7" means the same numbers everywhere.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Standard normal deviates by Box-Muller on a uniform generator, both of each pair used. The
 * uniform u under the logarithm is max(1e-12, rand()) or, with `complement`, 1 - rand() (two
 * seeded synthesisers were built on the two streams; each keeps its own so its data stay the same).
 */
export function gaussianSampler(rand: () => number, complement = false): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = complement ? 1 - rand() : Math.max(1e-12, rand());
    const m = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rand();
    spare = m * Math.sin(a);
    return m * Math.cos(a);
  };
}
