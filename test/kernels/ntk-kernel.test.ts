/**
 * Exact fully connected NTK / NNGP (SPEC §2.1): agreement with an independent
 * float64 reference, the closed-form diagonal, symmetry, PSD, extreme norms,
 * the infinite-width limit of an empirical NTK, determinism, async, input
 * forms and bad input.
 */
import { describe, it, expect } from 'vitest';
import ndarray from 'ndarray';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ntkKernel, ntkKernelSync, setThreads, backends, MAX_DEPTH } from '../../src/index.js';
import { expectThrows, maxRelErr } from '../helpers/assertions.js';
import { bitsEqual, jacobiEigenvalues, mat, relFrobenius } from '../helpers/matrices.js';
import { ntkReference, empiricalNtk, gaussian, rawCosine, toRows, k0, k1 } from '../reference/ntk-reference.js';

/** One rounding to float32 of a float64 result (relative 2^-24) plus the float64 computation's own error (1e-12 against the reference). */
const FLOAT32_ROUNDING = 2 ** -24 + 1e-12;

function randomMatrix(seed: number, n: number, d: number, scale = 1): Float64Array {
  const rng = gaussian(seed);
  return Float64Array.from({ length: n * d }, () => scale * rng());
}

describe('the reference itself', () => {
  it('k0 and k1 equal the Taylor series of SPEC §2 (so the reference is not circular)', () => {
    for (const t of [-0.9, -0.5, -0.1, 0, 0.3, 0.7, 0.9]) {
      let s0 = 0.5;
      let s1 = 1 / Math.PI + t / 2;
      let c = 1 / Math.PI; // (2k)! / (pi 4^k (k!)^2)
      for (let k = 0; k < 400; k++) {
        s0 += (c / (2 * k + 1)) * t ** (2 * k + 1);
        s1 += (c / ((2 * k + 1) * (2 * k + 2))) * t ** (2 * k + 2);
        c *= (2 * k + 1) / (2 * k + 2);
      }
      expect(Math.abs(k0(t) - s0)).toBeLessThan(1e-12);
      expect(Math.abs(k1(t) - s1)).toBeLessThan(1e-12);
    }
    expect(k0(1)).toBe(1);
    expect(k1(1)).toBe(1);
    expect(k0(-1)).toBe(0);
    expect(k1(-1)).toBe(0);
    // Clamped past +-1 instead of NaN.
    expect(k1(1 + 2e-16)).toBe(1);
    expect(k0(-1 - 2e-16)).toBe(0);
  });
});

describe('ntkKernelSync agrees with the plain-TypeScript reference (SPEC §2.1)', () => {
  const n = 17;
  const m = 13;
  const d = 9;
  const x = randomMatrix(1, n, d, 3);
  const z = randomMatrix(2, m, d);

  for (const depth of [1, 2, 3, 4]) {
    it(`float64, X vs Z and X vs X, depth ${depth}: relative error <= 1e-12`, () => {
      const r = ntkKernelSync(mat(x, n, d), mat(z, m, d), { depth });
      expect(r.ntk.shape).toEqual([n, m]);
      expect(r.nngp.shape).toEqual([n, m]);
      expect(r.ntk.data).toBeInstanceOf(Float64Array);
      const ref = ntkReference(toRows(x, n, d), toRows(z, m, d), depth);
      expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(1e-12);
      expect(maxRelErr(r.nngp.data, ref.nngp)).toBeLessThan(1e-12);

      const s = ntkKernelSync(mat(x, n, d), null, { depth });
      const refS = ntkReference(toRows(x, n, d), null, depth);
      expect(s.ntk.shape).toEqual([n, n]);
      expect(maxRelErr(s.ntk.data, refS.ntk)).toBeLessThan(1e-12);
      expect(maxRelErr(s.nngp.data, refS.nngp)).toBeLessThan(1e-12);
    });

    it(`float32 inputs give float32 outputs within one float32 rounding (2^-24 relative, the README's 6e-8), depth ${depth}`, () => {
      const x32 = Float32Array.from(x);
      const z32 = Float32Array.from(z);
      const r = ntkKernelSync(mat(x32, n, d), mat(z32, m, d), { depth });
      expect(r.ntk.data).toBeInstanceOf(Float32Array);
      expect(r.nngp.data).toBeInstanceOf(Float32Array);
      // Reference on the same float32-rounded values, in float64.
      const ref = ntkReference(toRows(x32, n, d), toRows(z32, m, d), depth);
      expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(FLOAT32_ROUNDING);
      expect(maxRelErr(r.nngp.data, ref.nngp)).toBeLessThan(FLOAT32_ROUNDING);
      const s = ntkKernelSync(mat(x32, n, d), null, { depth });
      expect(s.ntk.data).toBeInstanceOf(Float32Array);
      const refS = ntkReference(toRows(x32, n, d), null, depth);
      expect(maxRelErr(s.ntk.data, refS.ntk)).toBeLessThan(FLOAT32_ROUNDING);
    });
  }

  it('Z is converted to the dtype of X (float32 X, float64 Z)', () => {
    const x32 = Float32Array.from(x);
    const r = ntkKernelSync(mat(x32, n, d), mat(z, m, d), { depth: 2 });
    expect(r.ntk.data).toBeInstanceOf(Float32Array);
    const ref = ntkReference(toRows(x32, n, d), toRows(Float32Array.from(z), m, d), 2);
    expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(FLOAT32_ROUNDING);
  });

  it("output: 'ntk' / 'nngp' return only that kernel, equal to 'both'", () => {
    const both = ntkKernelSync(mat(x, n, d), mat(z, m, d), { depth: 3 });
    const onlyNtk = ntkKernelSync(mat(x, n, d), mat(z, m, d), { depth: 3, output: 'ntk' });
    const onlyNngp = ntkKernelSync(mat(x, n, d), mat(z, m, d), { depth: 3, output: 'nngp' });
    expect('nngp' in onlyNtk).toBe(false);
    expect('ntk' in onlyNngp).toBe(false);
    expect(bitsEqual(onlyNtk.ntk.data as Float64Array, both.ntk.data as Float64Array)).toBe(true);
    expect(bitsEqual(onlyNngp.nngp.data as Float64Array, both.nngp.data as Float64Array)).toBe(true);
  });

  it('depth MAX_DEPTH runs and stays finite and close to the reference', () => {
    const r = ntkKernelSync(mat(x.subarray(0, 3 * d), 3, d), null, { depth: MAX_DEPTH });
    const ref = ntkReference(toRows(x, 3, d), null, MAX_DEPTH);
    for (const v of r.ntk.data) expect(Number.isFinite(v)).toBe(true);
    // Deep recursions converge to a fixed point; error accumulates ~linearly in depth.
    expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(1e-9);
  });
});

describe('closed forms, symmetry and positive semi-definiteness', () => {
  it('Theta^L(x,x) = (L+1)|x|^2 and Sigma^L(x,x) = |x|^2 to 1e-12', () => {
    const n = 11;
    const d = 7;
    const x = randomMatrix(3, n, d, 5);
    for (const depth of [1, 2, 3, 5, 10]) {
      const r = ntkKernelSync(mat(x, n, d), null, { depth });
      for (let i = 0; i < n; i++) {
        let sq = 0;
        for (let k = 0; k < d; k++) sq += x[i * d + k] ** 2;
        expect(Math.abs(r.ntk.data[i * n + i] - (depth + 1) * sq)).toBeLessThanOrEqual(1e-12 * (depth + 1) * sq);
        expect(Math.abs(r.nngp.data[i * n + i] - sq)).toBeLessThanOrEqual(1e-12 * sq);
      }
    }
  });

  it('the symmetric result is exactly symmetric and equals X vs Z with Z = X off the diagonal', () => {
    const n = 40;
    const d = 6;
    const x = randomMatrix(4, n, d);
    for (const depth of [1, 3]) {
      const s = ntkKernelSync(mat(x, n, d), null, { depth });
      const g = ntkKernelSync(mat(x, n, d), mat(x, n, d), { depth });
      for (const key of ['ntk', 'nngp'] as const) {
        const a = s[key].data;
        const b = g[key].data;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            expect(a[i * n + j]).toBe(a[j * n + i]);
            if (i !== j) expect(Math.abs(a[i * n + j] - b[i * n + j])).toBeLessThanOrEqual(1e-12 * Math.abs(b[i * n + j]));
            // The diagonal of the general path goes through arccos near 1 (~1e-8 relative).
            else expect(Math.abs(a[i * n + j] - b[i * n + j])).toBeLessThanOrEqual(1e-7 * Math.abs(a[i * n + j]));
          }
        }
      }
    }
  });

  it('the NTK and NNGP Gram matrices are PSD (smallest eigenvalue >= -1e-10 trace)', () => {
    const n = 40;
    const d = 5;
    const x = randomMatrix(5, n, d);
    // Near-duplicates and a parallel pair make the matrix nearly singular.
    for (let k = 0; k < d; k++) {
      x[1 * d + k] = x[0 * d + k] + 1e-7 * (k + 1);
      x[2 * d + k] = 3 * x[0 * d + k];
    }
    for (const depth of [1, 2, 4]) {
      const r = ntkKernelSync(mat(x, n, d), null, { depth });
      for (const key of ['ntk', 'nngp'] as const) {
        const k = r[key].data;
        let trace = 0;
        for (let i = 0; i < n; i++) trace += k[i * n + i];
        const evals = jacobiEigenvalues(k, n);
        expect(evals[0]).toBeGreaterThanOrEqual(-1e-10 * trace);
        expect(evals[n - 1]).toBeGreaterThan(0);
        // Sanity check of the eigen solver: the eigenvalues sum to the trace.
        expect(Math.abs(evals.reduce((s, v) => s + v, 0) - trace)).toBeLessThan(1e-9 * trace);
      }
    }
  });
});

describe('zero rows, extreme norms and cosines rounding past +-1', () => {
  const d = 8;

  it('zero rows give zero rows and columns (symmetric and X vs Z)', () => {
    const n = 5;
    const x = randomMatrix(6, n, d);
    x.fill(0, 2 * d, 3 * d); // row 2 is zero
    const z = randomMatrix(7, 4, d);
    z.fill(0, 0, d); // row 0 of Z is zero
    for (const depth of [1, 3]) {
      const s = ntkKernelSync(mat(x, n, d), null, { depth });
      const g = ntkKernelSync(mat(x, n, d), mat(z, 4, d), { depth });
      for (const key of ['ntk', 'nngp'] as const) {
        for (let j = 0; j < n; j++) {
          expect(s[key].data[2 * n + j]).toBe(0);
          expect(s[key].data[j * n + 2]).toBe(0);
        }
        for (let j = 0; j < 4; j++) expect(g[key].data[2 * 4 + j]).toBe(0);
        for (let i = 0; i < n; i++) expect(g[key].data[i * 4 + 0]).toBe(0);
        for (const v of s[key].data) expect(Number.isFinite(v)).toBe(true);
      }
      // Other entries are untouched by the zero row.
      const ref = ntkReference(toRows(x, n, d), null, depth);
      expect(maxRelErr(s.ntk.data, ref.ntk, (i) => ref.ntk[i] === 0)).toBeLessThan(1e-12);
    }
  });

  for (const c of [1e150, 1e-150]) {
    it(`norms scaled by ${c} scale the kernels exactly: Theta(c x, z) = c Theta(x, z), Theta(c x, c x') = c^2 Theta`, () => {
      const n = 6;
      const m = 5;
      const x = randomMatrix(8, n, d);
      const z = randomMatrix(9, m, d);
      const cx = x.map((v) => v * c);
      const cz = z.map((v) => v * c);
      for (const depth of [1, 3]) {
        const base = ntkKernelSync(mat(x, n, d), mat(z, m, d), { depth });
        const one = ntkKernelSync(mat(cx, n, d), mat(z, m, d), { depth });
        const two = ntkKernelSync(mat(cx, n, d), mat(cz, m, d), { depth });
        const sym = ntkKernelSync(mat(cx, n, d), null, { depth });
        const symBase = ntkKernelSync(mat(x, n, d), null, { depth });
        for (const key of ['ntk', 'nngp'] as const) {
          const b = base[key].data;
          expect(maxRelErr(Float64Array.from(one[key].data, (v) => v / c), b)).toBeLessThan(1e-12);
          expect(maxRelErr(Float64Array.from(two[key].data, (v) => v / c / c), b)).toBeLessThan(1e-12);
          expect(maxRelErr(Float64Array.from(sym[key].data, (v) => v / c / c), symBase[key].data)).toBeLessThan(1e-12);
        }
      }
    });
  }

  it('cosines that round past +1 (x vs 3x) and -1 (x vs -x) give finite values equal to the clamped reference', () => {
    // Find inputs whose literal cosine <x,z>/(|x||z|) rounds outside [-1, 1],
    // so that an unclamped arccos would give NaN.
    const rng = gaussian(10);
    const over: Float64Array[] = [];
    const under: Float64Array[] = [];
    while (over.length < 4 || under.length < 4) {
      const v = Float64Array.from({ length: d }, () => rng());
      if (over.length < 4 && rawCosine(v, v.map((t) => 3 * t)) > 1) over.push(v);
      if (under.length < 4 && rawCosine(v, v.map((t) => -t)) < -1) under.push(v);
    }
    for (const depth of [1, 2, 3]) {
      for (const [rows, factor] of [
        [over, 3],
        [under, -1],
      ] as const) {
        for (const v of rows) {
          const w = v.map((t) => factor * t);
          const r = ntkKernelSync(mat(v, 1, d), mat(w, 1, d), { depth });
          const ref = ntkReference([v], [w], depth);
          let sq = 0;
          for (const t of v) sq += t * t;
          const scale = Math.abs(factor) * sq; // |x||z|
          for (const key of ['ntk', 'nngp'] as const) {
            const got = r[key].data[0];
            expect(Number.isFinite(got)).toBe(true);
            expect(Number.isFinite(ref[key][0])).toBe(true);
            // arccos is not Lipschitz at +-1: a one-ulp cosine difference moves the
            // kernel by ~1e-8 |x||z|.
            expect(Math.abs(got - ref[key][0])).toBeLessThanOrEqual(1e-7 * scale);
          }
          // Closed forms: x vs 3x is the diagonal scaled; x vs -x has Sigma^1 = 0.
          if (factor === 3) expect(Math.abs(r.ntk.data[0] - (depth + 1) * scale)).toBeLessThanOrEqual(1e-7 * scale);
          if (factor === -1 && depth === 1) expect(Math.abs(r.ntk.data[0])).toBeLessThanOrEqual(1e-7 * scale);
        }
      }
    }
  });
});

describe('agreement with the empirical NTK of a finite-width ReLU network', () => {
  // Calibration (6 Gaussian inputs of dim 10; relative Frobenius error of the
  // mean of 4 networks against the exact kernel; 20 groups of 4 seeds at depth 1,
  // 4-8 groups at depth 2), written as C = error * sqrt(width):
  //   NTK : mean C ~ 0.9, worst group C = 1.5 (depth 1) / 1.4 (depth 2) at width 2048-4096
  //         (width 128-512: worst C = 1.4 / 2.7)
  //   NNGP: mean C ~ 1.1-1.2, worst group C = 1.9 (depth 1) / 1.5 (depth 2) at width 2048
  // The seeds used below give NTK C = 0.83 / 1.24 and NNGP C = 1.57 / 1.32 (depth 1 / 2).
  // Tolerances: about 2x the worst measured group.
  const C_NTK = 3;
  const C_NNGP = 4;
  const n = 6;
  const d = 10;
  const x = toRows(randomMatrix(11, n, d), n, d);
  const seeds = [1, 2, 3, 4];

  function averagedError(depth: number, width: number): { ntk: number; nngp: number } {
    const acc = new Float64Array(n * n);
    const accG = new Float64Array(n * n);
    for (const seed of seeds) {
      const e = empiricalNtk(x, depth, width, seed + 100 * width + 7 * depth);
      for (let i = 0; i < n * n; i++) {
        acc[i] += e.ntk[i] / seeds.length;
        accG[i] += e.nngp[i] / seeds.length;
      }
    }
    const exact = ntkKernelSync(mat(Float64Array.from(x.flatMap((r) => Array.from(r))), n, d), null, { depth });
    return { ntk: relFrobenius(acc, exact.ntk.data), nngp: relFrobenius(accG, exact.nngp.data) };
  }

  for (const depth of [1, 2]) {
    it(`depth ${depth}: width 2048 within ${C_NTK}/sqrt(width) (NNGP ${C_NNGP}/sqrt(width)), and the error shrinks from width 128`, () => {
      const wide = averagedError(depth, 2048);
      const narrow = averagedError(depth, 128);
      const tol = C_NTK / Math.sqrt(2048);
      expect(wide.ntk).toBeLessThan(tol);
      expect(wide.nngp).toBeLessThan(C_NNGP / Math.sqrt(2048));
      // Expected ratio sqrt(2048/128) = 4; require at least 2.
      expect(wide.ntk).toBeLessThan(narrow.ntk / 2);
      // The test can tell a wrong depth (a wrong recursion) from the right one.
      const exactWrong = ntkReference(x, null, depth + 1);
      const emp = empiricalNtk(x, depth, 2048, 999);
      expect(relFrobenius(emp.ntk, exactWrong.ntk)).toBeGreaterThan(3 * tol);
    });
  }
});

describe('determinism', () => {
  it('the same input twice gives bit-identical results', () => {
    const x = randomMatrix(12, 50, 20);
    const z = randomMatrix(13, 30, 20);
    for (const zz of [null, mat(z, 30, 20)]) {
      const a = ntkKernelSync(mat(x, 50, 20), zz, { depth: 3 });
      const b = ntkKernelSync(mat(x, 50, 20), zz, { depth: 3 });
      expect(bitsEqual(a.ntk.data, b.ntk.data)).toBe(true);
      expect(bitsEqual(a.nngp.data, b.nngp.data)).toBe(true);
    }
  });

  // Cases and thread counts shared by the two tests below.
  const threadCases: [number, number, number | null][] = [
    [60, 12, 25],
    [700, 300, null],
    [1100, 300, null],
    [1100, 300, 900],
  ];
  function byThreads(n: number, d: number, m: number | null) {
    const x = randomMatrix(14 + n, n, d);
    const z = m === null ? null : mat(randomMatrix(15 + n, m, d), m, d);
    try {
      setThreads(1);
      const one = ntkKernelSync(mat(x, n, d), z, { depth: 2 });
      setThreads(2);
      const two = ntkKernelSync(mat(x, n, d), z, { depth: 2 });
      setThreads(2);
      const twoAgain = ntkKernelSync(mat(x, n, d), z, { depth: 2 });
      return { x, one, two, twoAgain };
    } finally {
      setThreads(0);
    }
  }

  it('setThreads(1) vs setThreads(2): same to 1e-15 relative, repeatable per thread count; n = 1100 crosses the 1024-row block', () => {
    for (const [n, d, m] of threadCases) {
      const { x, one, two, twoAgain } = byThreads(n, d, m);
      expect(bitsEqual(two.ntk.data, twoAgain.ntk.data)).toBe(true);
      expect(bitsEqual(two.nngp.data, twoAgain.nngp.data)).toBe(true);
      expect(maxRelErr(one.ntk.data, two.ntk.data)).toBeLessThan(1e-15);
      expect(maxRelErr(one.nngp.data, two.nngp.data)).toBeLessThan(1e-15);
      if (n === 1100 && m === null) {
        // Rows on both sides of the 1024-row GEMM block boundary match the reference.
        const rows = [0, 1023, 1024, 1099];
        const xr = toRows(x, n, d);
        const ref = ntkReference(
          rows.map((i) => xr[i]),
          xr,
          2,
        );
        rows.forEach((i, k) => {
          const got = one.ntk.data.subarray(i * n, (i + 1) * n);
          // Skip the diagonal entry (exact cosine 1 in the symmetric path).
          expect(maxRelErr(got, ref.ntk.subarray(k * n, (k + 1) * n), (j) => j === i)).toBeLessThan(1e-12);
        });
      }
    }
  });

  it('setThreads(1) vs setThreads(2) bit-identical on a small case (d below the BLAS K-block)', () => {
    const { one, two } = byThreads(60, 12, 25);
    expect(bitsEqual(one.ntk.data, two.ntk.data)).toBe(true);
    expect(bitsEqual(one.nngp.data, two.nngp.data)).toBe(true);
  });

  // OpenBLAS's multi-threaded dgemm rounds differently for 1 and 2 threads; the
  // core keeps BLAS single-threaded and parallelises over fixed tiles instead.
  it('setThreads(1) vs setThreads(2) bit-identical for n = 700 and 1100, d = 300 (several tiles)', () => {
    for (const [n, d, m] of threadCases.slice(1)) {
      const { one, two } = byThreads(n, d, m);
      expect(bitsEqual(one.ntk.data, two.ntk.data)).toBe(true);
      expect(bitsEqual(one.nngp.data, two.nngp.data)).toBe(true);
    }
  });
});

describe('async form', () => {
  it('ntkKernel resolves to results bit-identical to ntkKernelSync (float64 and float32)', async () => {
    const x = randomMatrix(16, 80, 15);
    const z = randomMatrix(17, 20, 15);
    for (const [xx, zz] of [
      [x, z],
      [Float32Array.from(x), Float32Array.from(z)],
    ] as const) {
      for (const zArg of [null, mat(zz, 20, 15)]) {
        const sync = ntkKernelSync(mat(xx, 80, 15), zArg, { depth: 2 });
        const promise = ntkKernel(mat(xx, 80, 15), zArg, { depth: 2 });
        expect(promise).toBeInstanceOf(Promise);
        const async = await promise;
        expect(bitsEqual(async.ntk.data, sync.ntk.data)).toBe(true);
        expect(bitsEqual(async.nngp.data, sync.nngp.data)).toBe(true);
      }
    }
  });

  it('several concurrent async calls all give the right answer', async () => {
    const x = randomMatrix(18, 30, 10);
    const expected = ntkKernelSync(mat(x, 30, 10), null, { depth: 3 });
    const all = await Promise.all(Array.from({ length: 6 }, () => ntkKernel(mat(x, 30, 10), null, { depth: 3 })));
    for (const r of all) expect(bitsEqual(r.ntk.data, expected.ntk.data)).toBe(true);
  });

  it('rejects (does not throw) on bad input, with the right error class', async () => {
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = ntkKernel('X' as never, null, { depth: 2 });
    }).not.toThrow();
    await expect(promise).rejects.toThrow(TypeError);
    await expect(promise).rejects.toThrow(/X/);
    const bad = ntkKernel(mat(randomMatrix(19, 3, 2), 3, 2), null, { depth: 0 });
    await expect(bad).rejects.toBeInstanceOf(RangeError);
    await expect(bad).rejects.toThrow(/depth/);
    const nan = ntkKernel(mat(new Float64Array([1, NaN, 2, 3]), 2, 2), null, { depth: 1 });
    await expect(nan).rejects.toBeInstanceOf(RangeError);
  });
});

describe('input forms', () => {
  const n = 9;
  const d = 5;
  const x = randomMatrix(20, n, d);
  const z = randomMatrix(21, 4, d);
  const expected = ntkKernelSync(mat(x, n, d), mat(z, 4, d), { depth: 2 });

  it('ndarray inputs give the same result as { data, shape }', () => {
    const r = ntkKernelSync(ndarray(x, [n, d]), ndarray(z, [4, d]), { depth: 2 });
    expect(bitsEqual(r.ntk.data, expected.ntk.data)).toBe(true);
    expect(bitsEqual(r.nngp.data, expected.nngp.data)).toBe(true);
  });

  it('a non-contiguous transposed ndarray view gives the same result as contiguous data', () => {
    // Store X^T (d x n) and pass its transpose: an n x d view with strides [1, n].
    const xt = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) xt[k * n + i] = x[i * d + k];
    const view = ndarray(xt, [d, n]).transpose(1, 0);
    expect(view.shape).toEqual([n, d]);
    expect(view.stride).toEqual([1, n]);
    const r = ntkKernelSync(view, ndarray(z, [4, d]), { depth: 2 });
    expect(bitsEqual(r.ntk.data, expected.ntk.data)).toBe(true);
    // A row-sliced view with an offset (rows 2..5) and a stepped view (every other row).
    const sliced = ndarray(x, [n, d]).lo(2, 0).hi(4, d);
    const rs = ntkKernelSync(sliced, ndarray(z, [4, d]), { depth: 2 });
    expect(bitsEqual(rs.ntk.data, expected.ntk.data.subarray(2 * 4, 6 * 4))).toBe(true);
    const stepped = ndarray(x, [n, d]).step(2, 1);
    const rst = ntkKernelSync(stepped, ndarray(z, [4, d]), { depth: 2 });
    for (let i = 0; i < 5; i++) {
      expect(bitsEqual(rst.ntk.data.subarray(i * 4, i * 4 + 4), expected.ntk.data.subarray(2 * i * 4, 2 * i * 4 + 4))).toBe(true);
    }
  });

  it('plain { data: number[], shape } works, and results are ndarrays', () => {
    const r = ntkKernelSync({ data: Array.from(x), shape: [n, d] }, { data: Array.from(z), shape: [4, d] }, { depth: 2 });
    expect(r.ntk.data).toBeInstanceOf(Float64Array);
    expect(bitsEqual(r.ntk.data, expected.ntk.data)).toBe(true);
    expect(r.ntk.get(3, 2)).toBe(expected.ntk.data[3 * 4 + 2]);
  });

  it("backend 'cpu' and 'auto' (without CUDA) give the CPU result", () => {
    const cpu = ntkKernelSync(mat(x, n, d), null, { depth: 2, backend: 'cpu' });
    const plain = ntkKernelSync(mat(x, n, d), null, { depth: 2 });
    expect(bitsEqual(cpu.ntk.data, plain.ntk.data)).toBe(true);
    if (!backends().cuda.available) {
      const auto = ntkKernelSync(mat(x, n, d), null, { depth: 2, backend: 'auto' });
      expect(bitsEqual(auto.ntk.data, plain.ntk.data)).toBe(true);
    }
  });
});

describe('bad input: the error class and a message naming the argument', () => {
  const x = mat(randomMatrix(22, 4, 3), 4, 3);

  it('wrong types are TypeErrors', () => {
    expectThrows(() => ntkKernelSync('X' as never, null, { depth: 2 }), TypeError, /\bX\b/);
    expectThrows(() => ntkKernelSync(x, 'Z' as never, { depth: 2 }), TypeError, /\bZ\b/);
    expectThrows(() => ntkKernelSync({ data: 'abc', shape: [1, 3] } as never, null, { depth: 2 }), TypeError, /X\.data/);
    expectThrows(() => ntkKernelSync({ data: new Int32Array(3), shape: [1, 3] } as never, null, { depth: 2 }), TypeError, /X\.data/);
    expectThrows(() => ntkKernelSync({ data: new Float64Array(3) } as never, null, { depth: 2 }), TypeError, /X\.shape/);
    expectThrows(() => ntkKernelSync(x, null, undefined as never), TypeError, /options.*depth|depth.*options/);
    expectThrows(() => ntkKernelSync(x, null, null as never), TypeError, /options/);
    expectThrows(() => ntkKernelSync(x, null, { depth: '2' } as never), TypeError, /depth/);
    expectThrows(() => ntkKernelSync(x, null, { depth: 2, memoryLimit: '1e9' } as never), TypeError, /memoryLimit/);
  });

  it('depth out of range or not an integer is a RangeError', () => {
    for (const depth of [0, 1.5, 100000, -1, NaN, Infinity]) {
      expectThrows(() => ntkKernelSync(x, null, { depth }), RangeError, /depth/);
    }
  });

  it('Z with mismatched columns, shapes and data lengths are RangeErrors', () => {
    expectThrows(() => ntkKernelSync(x, mat(new Float64Array(8), 2, 4), { depth: 2 }), RangeError, /\bZ\b.*columns/);
    expectThrows(() => ntkKernelSync({ data: new Float64Array(10), shape: [4, 3] }, null, { depth: 2 }), RangeError, /\bX\b/);
    expectThrows(() => ntkKernelSync({ data: new Float64Array(12), shape: [12] }, null, { depth: 2 }), RangeError, /\bX\b.*2-dimensional/);
    expectThrows(() => ntkKernelSync({ data: new Float64Array(0), shape: [0, 3] }, null, { depth: 2 }), RangeError, /\bX\b.*row/);
    expectThrows(() => ntkKernelSync({ data: new Float64Array(12), shape: [4, -3] }, null, { depth: 2 }), RangeError, /X\.shape/);
    expectThrows(() => ntkKernelSync(ndarray(new Float64Array(6), [4, 3]), null, { depth: 2 }), RangeError, /\bX\b/);
  });

  it('NaN and Infinity in X or Z are RangeErrors that say where', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const data = randomMatrix(23, 4, 3);
      data[7] = bad;
      expectThrows(() => ntkKernelSync(mat(data, 4, 3), null, { depth: 2 }), RangeError, /\bX\b.*finite.*index 7/);
      expectThrows(() => ntkKernelSync(x, mat(data, 4, 3), { depth: 2 }), RangeError, /\bZ\b.*finite/);
      expectThrows(() => ntkKernelSync({ data: Array.from(data), shape: [4, 3] }, null, { depth: 2 }), RangeError, /\bX\b.*finite/);
    }
    // A float64 Z that overflows float32 when converted to X's dtype.
    const x32 = mat(Float32Array.from(randomMatrix(24, 2, 3)), 2, 3);
    expectThrows(() => ntkKernelSync(x32, mat(new Float64Array([1e300, 0, 0]), 1, 3), { depth: 1 }), RangeError, /\bZ\b/);
  });

  it('unknown options and bad option values are RangeErrors naming the option', () => {
    expectThrows(() => ntkKernelSync(x, null, { depth: 2, dpeth: 3 } as never), RangeError, /dpeth/);
    expectThrows(() => ntkKernelSync(x, null, { depth: 2, output: 'bogus' } as never), RangeError, /output/);
    expectThrows(() => ntkKernelSync(x, null, { depth: 2, backend: 'bogus' } as never), RangeError, /backend/);
    expectThrows(() => ntkKernelSync(x, null, { depth: 2, memoryLimit: -1 }), RangeError, /memoryLimit/);
  });

  // Zero-column inputs once reached the core with a null Z pointer that it read
  // as "symmetric" and overflowed the n x m output. Run in a child process so a
  // regression cannot take the test runner down.
  it('zero-column X vs Z (d = 0, n > m) gives an n x m zero kernel without crashing', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `
      import { ntkKernelSync } from './src/index.ts';
      try {
        const r = ntkKernelSync({ data: [], shape: [3, 0] }, { data: [], shape: [2, 0] }, { depth: 2 });
        console.log(JSON.stringify({ shape: r.ntk.shape, data: Array.from(r.ntk.data) }));
      } catch (e) {
        console.log(JSON.stringify({ error: e.constructor.name, message: e.message }));
      }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    const out = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
    expect(out.shape).toEqual([3, 2]);
    expect(out.data).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it.skipIf(backends().cuda.available)("backend 'cuda' without a usable device is a RangeError giving the reason", () => {
    const reason = backends().cuda.reason ?? '';
    expect(reason.length).toBeGreaterThan(0);
    let caught: unknown;
    try {
      ntkKernelSync(x, null, { depth: 2, backend: 'cuda' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as Error).message).toMatch(/backend/);
    expect((caught as Error).message).toContain(reason);
  });

  it('a result above memoryLimit is refused with a RangeError naming memoryLimit', () => {
    // 20 x 20 float64 NTK + NNGP = 6400 bytes (+ 480 for the normalised copy).
    const x20 = mat(randomMatrix(25, 20, 3), 20, 3);
    expectThrows(() => ntkKernelSync(x20, null, { depth: 2, memoryLimit: 1000 }), RangeError, /memoryLimit/);
    expectThrows(() => ntkKernelSync(x20, null, { depth: 2, output: 'ntk', memoryLimit: 3000 }), RangeError, /memoryLimit/);
    // Big enough: passes.
    expect(() => ntkKernelSync(x20, null, { depth: 2, memoryLimit: 10_000 })).not.toThrow();
    expect(() => ntkKernelSync(x20, null, { depth: 2, output: 'ntk', memoryLimit: 4000 })).not.toThrow();
    // A 1e6 x 1e6 kernel is refused by the default limit before anything is allocated.
    const huge = { data: new Float64Array(1), shape: [1_000_000, 1], stride: [0, 1] };
    expectThrows(() => ntkKernelSync(huge, null, { depth: 1 }), RangeError, /memoryLimit/);
  });
});
