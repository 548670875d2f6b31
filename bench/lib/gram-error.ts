/** The Gram-error measure the benches share. */
import { native } from '../../src/core/native.js';

/** Relative Frobenius error ||Phi Phi^T - K||_F / ||K||_F of n x m features (Phi Phi^T by a float64 GEMM). */
export function gramError(phi: Float32Array | Float64Array, n: number, m: number, exact: ArrayLike<number>): number {
  const p = Float64Array.from(phi);
  const g = new Float64Array(n * n);
  native().gemm({ transA: false, transB: true, m: n, n, k: m, alpha: 1, a: p, lda: m, b: p, ldb: m, beta: 0, c: g, ldc: n }, false);
  let e = 0, t = 0;
  for (let i = 0; i < g.length; i++) {
    e += (g[i] - exact[i]) ** 2;
    t += exact[i] ** 2;
  }
  return Math.sqrt(e / t);
}
