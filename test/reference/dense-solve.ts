/**
 * Independent dense references for the ridge tests: plain-TypeScript float64
 * Gaussian elimination with partial pivoting, and small matrix helpers.
 */

/** Solves A X = B for square A (n x n) and B (n x k), both row-major. */
export function denseSolve(a: Float64Array, b: Float64Array, n: number, k: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[piv * n + col])) piv = r;
    if (piv !== col) {
      for (let c = 0; c < n; c++) [m[col * n + c], m[piv * n + c]] = [m[piv * n + c], m[col * n + c]];
      for (let c = 0; c < k; c++) [x[col * k + c], x[piv * k + c]] = [x[piv * k + c], x[col * k + c]];
    }
    const d = m[col * n + col];
    for (let r = col + 1; r < n; r++) {
      const f = m[r * n + col] / d;
      if (f === 0) continue;
      for (let c = col; c < n; c++) m[r * n + c] -= f * m[col * n + c];
      for (let c = 0; c < k; c++) x[r * k + c] -= f * x[col * k + c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    for (let c = 0; c < k; c++) {
      let s = x[r * k + c];
      for (let j = r + 1; j < n; j++) s -= m[r * n + j] * x[j * k + c];
      x[r * k + c] = s / m[r * n + r];
    }
  }
  return x;
}

/** C = A^T B for row-major A (n x p) and B (n x q). */
export function atb(a: ArrayLike<number>, b: ArrayLike<number>, n: number, p: number, q: number): Float64Array {
  const c = new Float64Array(p * q);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < p; r++) {
      const v = a[i * p + r];
      for (let s = 0; s < q; s++) c[r * q + s] += v * b[i * q + s];
    }
  return c;
}

/** C = A B for row-major A (n x p) and B (p x q). */
export function ab(a: ArrayLike<number>, b: ArrayLike<number>, n: number, p: number, q: number): Float64Array {
  const c = new Float64Array(n * q);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < p; r++) {
      const v = a[i * p + r];
      for (let s = 0; s < q; s++) c[i * q + s] += v * b[r * q + s];
    }
  return c;
}

/** Seeded uniform PRNG (mulberry32) and standard normals (Box-Muller). */
export function rng(seed: number): { uniform(): number; normal(): number } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = Math.max(uniform(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

export function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = r.normal();
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
