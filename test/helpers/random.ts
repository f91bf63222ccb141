/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export function makeRandom(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Uniform in [lo, hi). */
    uniform: (lo = -1, hi = 1) => lo + (hi - lo) * next(),
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    array(n: number, lo = -1, hi = 1): Float32Array {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * next();
      return a;
    },
  };
}
export type Random = ReturnType<typeof makeRandom>;
