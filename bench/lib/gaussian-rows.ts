/** n x d rows of independent N(0, 1/d) entries (rows of norm about 1), seeded: the synthetic data of the benches. */
export function gaussianRows(n: number, d: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const X = new Float64Array(n * d);
  for (let i = 0; i < X.length; i++) {
    X[i] = (Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-300))) * Math.cos(2 * Math.PI * uniform())) / Math.sqrt(d);
  }
  return X;
}
