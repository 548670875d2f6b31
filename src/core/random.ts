/**
 * The small seeded generator of the TypeScript side (dataset splits, the
 * column draw of LeverageSelection): deterministic for a seed on every
 * platform. The feature maps' randomness lives in the native core.
 */

/** A 32-bit state from any safe-integer seed: both halves mixed (splitmix32 finaliser). */
export function seedHash(seed: number): number {
  let h = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: uniform numbers in [0, 1) from a 32-bit state. */
export function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic permutation of 0..n-1 (Fisher–Yates with a seeded 32-bit PRNG). */
export function permutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seedHash(seed));
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}
