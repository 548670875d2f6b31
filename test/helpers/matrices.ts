// Matrix helpers shared by the tests: input wrappers, Gram matrices, error
// norms, bitwise equality and eigenvalues.
import { native } from '../../src/core/native.js';

export type Arr = ArrayLike<number>;

/** A row-major rows x cols matrix as { data, shape }. */
export const mat = (data: Float32Array | Float64Array | number[], rows: number, cols: number) => ({ data, shape: [rows, cols] });

/** Phi Phi^T in float64 through BLAS. */
export function gram(phi: Float32Array | Float64Array, n: number, m: number): Float64Array {
  const p = Float64Array.from(phi);
  const g = new Float64Array(n * n);
  native().gemm({ transA: false, transB: true, m: n, n, k: m, alpha: 1, a: p, lda: m, b: p, ldb: m, beta: 0, c: g, ldc: n }, false);
  return g;
}

export function frobenius(a: Arr): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** |approx - exact|_F / |exact|_F. */
export function relFrobenius(approx: Arr, exact: Arr): number {
  let e = 0, t = 0;
  for (let i = 0; i < exact.length; i++) {
    e += (approx[i] - exact[i]) ** 2;
    t += exact[i] ** 2;
  }
  return Math.sqrt(e / t);
}

export function bitsEqual(a: Float64Array | Float32Array, b: Float64Array | Float32Array): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Eigenvalues of a symmetric n x n matrix by cyclic Jacobi rotations. */
export function jacobiEigenvalues(input: Arr, n: number): number[] {
  const a = Float64Array.from(input);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30 * frobenius(a) ** 2) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => x - y);
}
