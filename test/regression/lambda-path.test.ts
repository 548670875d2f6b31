// The lambda path module directly: a path stops with an AbortError when its
// signal aborts between Lanczos steps (or Cholesky solves), and reports how
// far it went otherwise.
import { describe, expect, it } from 'vitest';
import { validationPath, type PathProblem } from '../../src/regression/lambda-path.js';
import { atb, randomMatrix } from '../reference/dense-solve.js';

/** A ridge problem from random rows: fit statistics (centred by construction: zero means) and validation statistics. */
function problem(n: number, nv: number, m: number, k: number): PathProblem {
  const phi = randomMatrix(n, m, 5), y = randomMatrix(n, k, 6);
  const pv = randomMatrix(nv, m, 7), yv = randomMatrix(nv, k, 8);
  const sums = new Float64Array(m), ysum = new Float64Array(k);
  for (let i = 0; i < nv; i++) {
    for (let j = 0; j < m; j++) sums[j] += pv[i * m + j];
    for (let t = 0; t < k; t++) ysum[t] += yv[i * k + t];
  }
  let yy = 0;
  for (const v of yv) yy += v * v;
  return {
    m, k, a: atb(phi, phi, n, m, m), b: atb(phi, y, n, m, k), mu: new Float64Array(m), ybar: new Float64Array(k),
    validation: { gram: atb(pv, pv, nv, m, m), cross: atb(pv, yv, nv, m, k), sums, ysum, yy, rows: nv },
  };
}

/** A signal that reads as aborted from its `after`-th check on. */
function abortingAfter(after: number): { signal: AbortSignal; reads: () => number } {
  let reads = 0;
  const signal = { get aborted() { return ++reads >= after; }, reason: undefined } as unknown as AbortSignal;
  return { signal, reads: () => reads };
}

describe('validationPath', () => {
  const p = problem(400, 100, 120, 3);
  const lambdas = Array.from({ length: 12 }, (_, i) => 10 ** (-4 + i / 2));

  it('krylov and cholesky stop with an AbortError when the signal aborts during the path', async () => {
    for (const solver of ['krylov', 'cholesky'] as const) {
      const late = abortingAfter(4);
      const error = await validationPath(p, lambdas, solver, 2 ** 30, late.signal).catch((e: unknown) => e);
      expect(error, solver).toBeInstanceOf(DOMException);
      expect((error as DOMException).name).toBe('AbortError');
      expect(late.reads()).toBe(4); // stopped at the check that saw the abort, past the first
    }
  });

  it('runs to the end when the signal never aborts, the Krylov errors matching the Cholesky errors near the least', async () => {
    const never = { aborted: false, reason: undefined } as unknown as AbortSignal;
    const krylov = await validationPath(p, lambdas, 'krylov', 2 ** 30, never);
    const cholesky = await validationPath(p, lambdas, 'cholesky', 2 ** 30, never);
    expect(krylov.converged).toBe(true);
    expect(krylov.iterations).toBeGreaterThan(1);
    const least = Math.min(...cholesky.errors);
    cholesky.errors.forEach((e, l) => {
      if (e < 1.2 * least) expect(Math.abs(krylov.errors[l] - e)).toBeLessThan(1e-4 * e);
    });
    expect(krylov.errors.indexOf(Math.min(...krylov.errors))).toBe(cholesky.errors.indexOf(least));
  });
});
