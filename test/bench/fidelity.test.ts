import { describe, expect, it } from 'vitest';
import { gramError, spectralEpsilon } from '../../src/bench/fidelity.js';
import { native } from '../../src/core/native.js';

/** A seeded n x d matrix and K = A A^T (positive semi-definite, rank d). */
function psd(n: number, d: number): { A: Float64Array; K: Float64Array } {
  const A = Float64Array.from({ length: n * d }, (_, i) => Math.sin(1.3 * i + 0.7) + 0.3 * Math.cos(0.37 * i * i));
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let t = 0; t < d; t++) K[i * n + j] += A[i * d + t] * A[j * d + t];
  return { A, K };
}

/** Eigenvalues of a symmetric n x n matrix (for the reference value). */
function eigenvalues(M: Float64Array, n: number): Float64Array {
  const values = new Float64Array(n);
  native().symmetricEigh({ matrix: Float64Array.from(M), m: n, eigenvalues: values, eigenvectors: new Float64Array(n * n), status: new Float64Array(1) }, false);
  return values;
}

describe('fidelity measures', () => {
  const n = 12, d = 5;
  const { A, K } = psd(n, d);

  it('gramError is 0 for exact features and |c| for features scaled by sqrt(1 + c)', () => {
    expect(gramError(A, n, d, K)).toBeLessThan(1e-14);
    const c = 0.21;
    expect(gramError(A.map((v) => v * Math.sqrt(1 + c)), n, d, K)).toBeCloseTo(c, 12);
  });

  it('spectralEpsilon is 0 for exact features and c max_i s_i / (s_i + lambda) for features scaled by sqrt(1 + c)', () => {
    expect(spectralEpsilon(A, n, d, K, 1e-2)).toBeLessThan(1e-10);
    // Phi Phi^T - K = c K, so (K + lambda I)^-1/2 c K (K + lambda I)^-1/2 has eigenvalues c s / (s + lambda).
    const c = -0.3;
    let trace = 0;
    for (let i = 0; i < n; i++) trace += K[i * n + i];
    const lambda = (1e-2 * trace) / n;
    const s = eigenvalues(K, n);
    const expected = Math.abs(c) * Math.max(...Array.from(s, (v) => Math.max(v, 0) / (Math.max(v, 0) + lambda)));
    expect(spectralEpsilon(A.map((v) => v * Math.sqrt(1 + c)), n, d, K, 1e-2)).toBeCloseTo(expected, 10);
  });

  it('spectralEpsilon sees an error along a direction where K is small, which the Gram error barely shows', () => {
    // One extra feature column e: Phi Phi^T = K + e e^T with e orthogonal to the columns of A (K e = 0).
    const e = new Float64Array(n);
    for (let i = 0; i < n; i++) e[i] = i % 2 ? 1 : -1;
    // Project e off the column space of A (Gram-Schmidt against A's columns, twice for accuracy).
    for (let pass = 0; pass < 2; pass++) {
      const Q: Float64Array[] = [];
      for (let t = 0; t < d; t++) {
        const q = Float64Array.from({ length: n }, (_, i) => A[i * d + t]);
        for (const p of Q) {
          const dot = q.reduce((acc, v, i) => acc + v * p[i], 0);
          for (let i = 0; i < n; i++) q[i] -= dot * p[i];
        }
        const norm = Math.hypot(...q);
        for (let i = 0; i < n; i++) q[i] /= norm;
        Q.push(q);
      }
      for (const p of Q) {
        const dot = e.reduce((acc, v, i) => acc + v * p[i], 0);
        for (let i = 0; i < n; i++) e[i] -= dot * p[i];
      }
    }
    const scale = 0.05;
    const phi = new Float64Array(n * (d + 1));
    for (let i = 0; i < n; i++) {
      phi.set(A.subarray(i * d, (i + 1) * d), i * (d + 1));
      phi[i * (d + 1) + d] = scale * e[i];
    }
    let trace = 0;
    for (let i = 0; i < n; i++) trace += K[i * n + i];
    const lambda = (1e-2 * trace) / n;
    const ee = e.reduce((acc, v) => acc + v * v, 0) * scale * scale;
    // Along e, K is 0: the eigenvalue is |e|^2 scale^2 / lambda.
    expect(spectralEpsilon(phi, n, d + 1, K, 1e-2)).toBeCloseTo(ee / lambda, 8);
  });

  it('spectralEpsilon matches the generalised eigenvalues of (Phi Phi^T + lambda I, K + lambda I) computed through a Cholesky factor', () => {
    // Features with a generic error: A plus a seeded perturbation and an extra column.
    const m = d + 2;
    const phi = Float64Array.from({ length: n * m }, (_, k) => {
      const i = Math.floor(k / m), t = k % m;
      return (t < d ? A[i * d + t] : 0) + 0.1 * Math.sin(3.1 * k + 0.2);
    });
    let trace = 0;
    for (let i = 0; i < n; i++) trace += K[i * n + i];
    const lambda = (1e-2 * trace) / n;
    // L L^T = K + lambda I (plain Cholesky), D = Phi Phi^T - K, M = L^-1 D L^-T.
    const L = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      let s = K[j * n + j] + lambda;
      for (let t = 0; t < j; t++) s -= L[j * n + t] ** 2;
      L[j * n + j] = Math.sqrt(s);
      for (let i = j + 1; i < n; i++) {
        let v = K[i * n + j];
        for (let t = 0; t < j; t++) v -= L[i * n + t] * L[j * n + t];
        L[i * n + j] = v / L[j * n + j];
      }
    }
    const D = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let g = 0;
      for (let t = 0; t < m; t++) g += phi[i * m + t] * phi[j * m + t];
      D[i * n + j] = g - K[i * n + j];
    }
    const solveLower = (b: Float64Array) => {
      const x = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let v = b[i];
        for (let t = 0; t < i; t++) v -= L[i * n + t] * x[t];
        x[i] = v / L[i * n + i];
      }
      return x;
    };
    // Y = L^-1 D (column by column), M = L^-1 Y^T (D symmetric).
    const Y = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const col = solveLower(Float64Array.from({ length: n }, (_, i) => D[i * n + j]));
      for (let i = 0; i < n; i++) Y[i * n + j] = col[i];
    }
    const M = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const col = solveLower(Float64Array.from({ length: n }, (_, i) => Y[j * n + i]));
      for (let i = 0; i < n; i++) M[i * n + j] = col[i];
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) M[i * n + j] = M[j * n + i] = (M[i * n + j] + M[j * n + i]) / 2;
    const ev = eigenvalues(M, n);
    const expected = Math.max(Math.abs(ev[0]), Math.abs(ev[n - 1]));
    expect(expected).toBeGreaterThan(0.01);
    expect(spectralEpsilon(phi, n, m, K, 1e-2)).toBeCloseTo(expected, 9);
  });
});

describe('gramError arguments', () => {
  it('refuses features or a kernel of another row count', () => {
    const phi = new Float64Array(12), K = new Float64Array(16);
    expect(gramError(phi, 4, 3, K)).toBeNaN(); // all zero: 0 / 0
    expect(() => gramError(phi, 3, 3, K)).toThrow(/^gramError: phi must hold n x m = 3 x 3 values, got 12/);
    expect(() => gramError(phi, 4, 3, new Float64Array(9))).toThrow(/^gramError: exact must be the n x n = 4 x 4 kernel, got 9 values/);
  });
});
