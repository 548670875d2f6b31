// LeverageSelection: the native ridge leverage scores against a dense
// float64 reference, the inclusion probabilities and the column draw
// (exact inclusion frequencies, unbiased Gram), the spectral gain over
// uniform selection that is the point of it, transforms, saving, bad input.
import { describe, expect, it } from 'vitest';
import { CNTKSketch, FeatureMap, LeverageSelection, NTKRandomFeatures, NTKSketch, loadDigits, setThreads } from '../../src/index.js';
import { drawColumns, inclusionProbabilities } from '../../src/maps/leverage-selection.js';
import { native } from '../../src/core/native.js';
import { mulberry32 } from '../../src/core/random.js';
import { bitsEqual, mat, relFrobenius } from '../helpers/matrices.js';

/** A x B^T for row-major A (n x k), B (m x k), in float64 through BLAS. */
function abt(a: Float64Array, n: number, b: Float64Array, m: number, k: number): Float64Array {
  const c = new Float64Array(n * m);
  native().gemm({ transA: false, transB: true, m: n, n: m, k, alpha: 1, a, lda: k, b, ldb: k, beta: 0, c, ldc: m }, false);
  return c;
}

/** Dense reference: s_j = phi_j^T (G + lambda I)^-1 phi_j by Gauss-Jordan inversion in float64. */
function referenceScores(phi: ArrayLike<number>, n: number, m: number, lambdaRel: number): { scores: number[]; lambda: number } {
  const p = Float64Array.from(phi);
  const g = abt(p, n, p, n, m);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += g[i * n + i];
  const lambda = (lambdaRel * trace) / n;
  const a = Float64Array.from(g);
  for (let i = 0; i < n; i++) a[i * n + i] += lambda;
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    const piv = a[c * n + c];
    for (let j = 0; j < n; j++) {
      a[c * n + j] /= piv;
      inv[c * n + j] /= piv;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c];
      for (let j = 0; j < n; j++) {
        a[r * n + j] -= f * a[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  const scores: number[] = [];
  for (let j = 0; j < m; j++) {
    let s = 0;
    for (let r = 0; r < n; r++) for (let q = 0; q < n; q++) s += p[r * m + j] * inv[r * n + q] * p[q * m + j];
    scores.push(s);
  }
  return { scores, lambda };
}

function randomMatrix(n: number, m: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  // Columns of very different sizes, so that the scores differ.
  return Float64Array.from({ length: n * m }, (_, i) => (rand() - 0.5) * (1 + 10 * ((i % m) % 3 === 0 ? 1 : 0)));
}

describe('ridgeLeverage (native)', () => {
  it('matches a dense float64 reference (float64 and float32 input); the scores sum to d_eff', () => {
    const n = 23, m = 70; // more columns than rows; column blocks of 512 are not reached, so also m = 1100 below
    for (const lambdaRel of [1e-3, 0.5]) {
      const phi = randomMatrix(n, m, 3);
      const ref = referenceScores(phi, n, m, lambdaRel);
      const scores = new Float64Array(m), status = new Float64Array(2);
      native().ridgeLeverage({ phi, n, m, lambdaRel, scores, status }, false);
      expect(status[0]).toBe(0);
      expect(status[1]).toBeCloseTo(ref.lambda, 12);
      for (let j = 0; j < m; j++) expect(Math.abs(scores[j] - ref.scores[j])).toBeLessThan(1e-10 * Math.max(1, ref.scores[j]));
      // sum_j s_j = trace(G (G + lambda I)^-1) < n, and each score is in [0, 1).
      const sum = scores.reduce((a, b) => a + b, 0);
      expect(sum).toBeLessThan(n);
      expect(sum).toBeGreaterThan(lambdaRel < 0.01 ? n - 1 : 1);
      expect(Math.max(...scores)).toBeLessThan(1);
      const phi32 = Float32Array.from(phi);
      const ref32 = referenceScores(phi32, n, m, lambdaRel);
      native().ridgeLeverage({ phi: phi32, n, m, lambdaRel, scores, status }, false);
      for (let j = 0; j < m; j++) expect(Math.abs(scores[j] - ref32.scores[j])).toBeLessThan(1e-10 * Math.max(1, ref32.scores[j]));
    }
  });

  it('several column blocks, bit-identical for 1 and 2 threads; a zero matrix gives zeros', async () => {
    const n = 40, m = 1100;
    const phi = Float32Array.from(randomMatrix(n, m, 5));
    const ref = referenceScores(phi, n, m, 1e-2);
    const run = () => {
      const s = new Float64Array(m), st = new Float64Array(2);
      native().ridgeLeverage({ phi, n, m, lambdaRel: 1e-2, scores: s, status: st }, false);
      return s;
    };
    const two = run();
    setThreads(1);
    let one: Float64Array;
    try {
      one = run();
    } finally {
      setThreads(0);
    }
    expect(bitsEqual(one, two)).toBe(true);
    for (let j = 0; j < m; j += 97) expect(two[j]).toBeCloseTo(ref.scores[j], 10);
    const async = new Float64Array(m), st = new Float64Array(2);
    await native().ridgeLeverage({ phi, n, m, lambdaRel: 1e-2, scores: async, status: st }, true);
    expect(bitsEqual(async, two)).toBe(true);
    const zeros = new Float64Array(m).fill(7);
    native().ridgeLeverage({ phi: new Float64Array(n * m), n, m, lambdaRel: 1e-2, scores: zeros, status: st }, false);
    expect(zeros.every((v) => v === 0)).toBe(true);
  });
});

describe('column draw', () => {
  it('inclusion probabilities: sum k, capped at 1, proportional to the scores below the cap, zero for zero scores', () => {
    const scores = Float64Array.from([10, 0.1, 0.2, 0, 0.3, 0.4, 5, 0.05]);
    const pi = inclusionProbabilities(scores, 4);
    expect(pi.reduce((a, b) => a + b, 0)).toBeCloseTo(4, 12);
    expect(pi[0]).toBe(1);
    expect(pi[6]).toBe(1);
    expect(pi[3]).toBe(0);
    const c = pi[1] / scores[1];
    for (const j of [2, 4, 5, 7]) expect(pi[j] / scores[j]).toBeCloseTo(c, 12);
    expect(Math.max(...[1, 2, 4, 5, 7].map((j) => pi[j]))).toBeLessThan(1);
    expect(inclusionProbabilities(scores, 7)).toEqual(Float64Array.from([1, 1, 1, 0, 1, 1, 1, 1]));
    expect(() => inclusionProbabilities(scores, 8)).toThrow(/must not exceed the 7 columns of the map that can be drawn/);
    // Columns always kept: pi = 1 whatever their score, the rest share k minus their count.
    const forced = inclusionProbabilities(scores, 4, [3, 7]);
    expect(forced[3]).toBe(1);
    expect(forced[7]).toBe(1);
    expect(forced.reduce((a, b) => a + b, 0)).toBeCloseTo(4, 12);
    expect(forced[0]).toBe(1);
    expect(forced[1] / scores[1]).toBeCloseTo(forced[5] / scores[5], 12);
    expect(inclusionProbabilities(scores, 8, [3])).toEqual(new Float64Array(8).fill(1));
    expect(() => inclusionProbabilities(scores, 1, [3, 7])).toThrow(/at least the 2 columns that are always kept/);
  });

  it('always keeps the constant columns of an NTKSketch pool (exact for every seed), at scale 1', () => {
    const ds = loadDigits();
    const Xd = mat(ds.X.subarray(0, 200 * 64), 200, 64);
    for (const kernel of ['ntk', 'nngp'] as const) {
      const pool = new NTKSketch({ inputDim: 64, depth: 2, features: 2048, seed: 1, exactCopies: false });
      const constant = pool.constantColumns(kernel);
      expect(constant.length).toBe(1);
      // The constant block's features: sqrt(c_0) |x| for every row.
      const P = pool.transformSync(Xd, { kernel }).data;
      for (let i = 1; i < 200; i++) {
        const ratio = P[i * 2048 + constant[0]] / P[constant[0]];
        let a = 0, b = 0;
        for (let j = 0; j < 64; j++) (a += Xd.data[i * 64 + j] ** 2), (b += Xd.data[j] ** 2);
        expect(ratio).toBeCloseTo(Math.sqrt(a / b), 5);
      }
      for (let seed = 1; seed <= 20; seed++) {
        const sel = new LeverageSelection({ map: pool, features: 64, seed, kernel }).fitSync(Xd);
        const t = Array.from(sel.columns).indexOf(constant[0]);
        expect(t).toBeGreaterThanOrEqual(0);
        expect(sel.scales[t]).toBe(1);
      }
    }
  });

  it('draws exactly k distinct increasing columns, column j with probability pi_j (2,000 seeds)', () => {
    const scores = Float64Array.from({ length: 20 }, (_, j) => (j === 3 ? 0 : 0.2 + ((j * 7) % 11) + (j === 5 ? 40 : 0)));
    const k = 7;
    const pi = inclusionProbabilities(scores, k);
    const seeds = 2000;
    const hits = new Float64Array(20);
    for (let seed = 0; seed < seeds; seed++) {
      const cols = drawColumns(pi, k, seed);
      expect(cols.length).toBe(k);
      for (let t = 1; t < k; t++) expect(cols[t]).toBeGreaterThan(cols[t - 1]);
      for (const c of cols) hits[c]++;
    }
    expect(drawColumns(pi, k, 9)).toEqual(drawColumns(pi, k, 9));
    for (let j = 0; j < 20; j++) {
      const sd = Math.sqrt((pi[j] * (1 - pi[j])) / seeds);
      expect(Math.abs(hits[j] / seeds - pi[j])).toBeLessThanOrEqual(4.5 * sd + 1e-12);
    }
    expect(hits[3]).toBe(0);
    expect(hits[5]).toBe(seeds);
  });

  it('the kept columns scaled by 1/sqrt(pi) give the pool Gram without bias (mean over 1,000 seeds)', () => {
    const n = 12, M = 60, k = 15;
    const phi = randomMatrix(n, M, 8);
    const scores = new Float64Array(M), st = new Float64Array(2);
    native().ridgeLeverage({ phi, n, m: M, lambdaRel: 1e-2, scores, status: st }, false);
    const pi = inclusionProbabilities(scores, k);
    const full = abt(phi, n, phi, n, M);
    const mean = new Float64Array(n * n), plain = new Float64Array(n * n);
    const seeds = 1000;
    for (let seed = 0; seed < seeds; seed++) {
      const cols = drawColumns(pi, k, seed);
      const sel = new Float64Array(n * k), raw = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        cols.forEach((c, t) => {
          sel[i * k + t] = phi[i * M + c] / Math.sqrt(pi[c]);
          raw[i * k + t] = phi[i * M + c] * Math.sqrt(M / k);
        });
      }
      const g = abt(sel, n, sel, n, k), h = abt(raw, n, raw, n, k);
      for (let i = 0; i < n * n; i++) {
        mean[i] += g[i] / seeds;
        plain[i] += h[i] / seeds;
      }
    }
    // One draw's relative error is ~0.3 here; the mean of 1,000 has ~0.01.
    expect(relFrobenius(mean, full)).toBeLessThan(0.03);
    // Uniform scaling of the same leverage-drawn columns is biased far beyond that.
    expect(relFrobenius(plain, full)).toBeGreaterThan(0.1);
  });
});

describe('LeverageSelection', () => {
  const ds = loadDigits();
  const d = 64, n = 300;
  const X = mat(ds.X.subarray(0, n * d), n, d);
  const Xnew = mat(ds.X.subarray(n * d, (n + 40) * d), 40, d);

  /** eps with (1-eps)(K + lam I) <= Kt + lam I <= (1+eps)(K + lam I), lam = lambdaRel x mean diag(K). */
  function spectralEps(K: Float64Array, Kt: Float64Array, m: number, lambdaRel: number): number {
    let tr = 0;
    for (let i = 0; i < m; i++) tr += K[i * m + i];
    const lam = (lambdaRel * tr) / m;
    const a = Float64Array.from(K);
    for (let i = 0; i < m; i++) a[i * m + i] += lam;
    const ev = new Float64Array(m), vt = new Float64Array(m * m), st = new Float64Array(1);
    native().symmetricEigh({ matrix: a, m, eigenvalues: ev, eigenvectors: vt, status: st }, false);
    const w = new Float64Array(m * m);
    for (let r = 0; r < m; r++) for (let i = 0; i < m; i++) w[r * m + i] = vt[r * m + i] / Math.sqrt(ev[r]);
    const b = Float64Array.from(Kt);
    for (let i = 0; i < m; i++) b[i * m + i] += lam;
    const wb = new Float64Array(m * m), c = new Float64Array(m * m);
    native().gemm({ transA: false, transB: false, m, n: m, k: m, alpha: 1, a: w, lda: m, b, ldb: m, beta: 0, c: wb, ldc: m }, false);
    native().gemm({ transA: false, transB: true, m, n: m, k: m, alpha: 1, a: wb, lda: m, b: w, ldb: m, beta: 0, c, ldc: m }, false);
    const e = new Float64Array(m);
    native().symmetricEigh({ matrix: c, m, eigenvalues: e, eigenvectors: new Float64Array(m * m), status: st }, false);
    return Math.max(1 - e[0], e[m - 1] - 1);
  }

  it('approximates the pool kernel spectrally several times better than uniformly chosen columns (the point of it)', () => {
    const M = 4096, k = 256, lambdaRel = 1e-2;
    const pool = new NTKSketch({ inputDim: d, depth: 2, features: M, seed: 1, exactCopies: false, dtype: 'float64' });
    const P = pool.transformSync(X).data as Float64Array;
    const K = abt(P, n, P, n, M);
    const gramOf = (cols: Int32Array, scale: (t: number) => number) => {
      const F = new Float64Array(n * k);
      for (let i = 0; i < n; i++) cols.forEach((c, t) => (F[i * k + t] = P[i * M + c] * scale(t)));
      return abt(F, n, F, n, k);
    };
    const lev: number[] = [], unif: number[] = [];
    for (const seed of [1, 2, 3]) {
      const sel = new LeverageSelection({ map: pool, features: k, lambda: lambdaRel, seed, normalize: false }).fitSync(X);
      const phi = sel.transformSync(X).data as Float64Array;
      // The selected features are exactly the pool's kept columns times their scales.
      const scales = sel.scales;
      expect(bitsEqual(abt(phi, n, phi, n, k), gramOf(sel.columns, (t) => scales[t]))).toBe(true);
      lev.push(spectralEps(K, abt(phi, n, phi, n, k), n, lambdaRel));
      const uniform = drawColumns(new Float64Array(M).fill(k / M), k, seed);
      unif.push(spectralEps(K, gramOf(uniform, () => Math.sqrt(M / k)), n, lambdaRel));
    }
    // Measured: leverage 2.1-2.3, uniform 6.1-8.9.
    expect(Math.max(...lev)).toBeLessThan(0.6 * Math.min(...unif));
  });

  it('transform: dense, CSR and options.out, sync and async, equal the kept pool columns times their scales', async () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const pool = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 512, seed: 2, dtype });
      const sel = await new LeverageSelection({ map: pool, features: 100, kernel: 'nngp', seed: 4, normalize: false }).fit(X);
      expect(sel.fitted).toBe(true);
      const cols = sel.columns, scales = sel.scales;
      const P = pool.transformSync(Xnew, { kernel: 'nngp' }).data;
      const expected = dtype === 'float32' ? new Float32Array(40 * 100) : new Float64Array(40 * 100);
      for (let i = 0; i < 40; i++) for (let t = 0; t < 100; t++) expected[i * 100 + t] = P[i * 512 + cols[t]] * scales[t];
      const got = sel.transformSync(Xnew);
      expect(got.shape).toEqual([40, 100]);
      expect(bitsEqual(got.data, expected)).toBe(true);
      expect(bitsEqual((await sel.transform(Xnew)).data, expected)).toBe(true);
      const out = dtype === 'float32' ? new Float32Array(40 * 100) : new Float64Array(40 * 100);
      sel.transformSync(Xnew, { out });
      expect(bitsEqual(out, expected)).toBe(true);
      // CSR rows: the pool's CSR features (a sparse product, not bitwise the dense GEMM's), gathered.
      const dense = ds.X.subarray(n * d, (n + 3) * d);
      const indptr = [0], indices: number[] = [], data: number[] = [];
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < d; j++) if (dense[i * d + j] !== 0) indices.push(j), data.push(dense[i * d + j]);
        indptr.push(indices.length);
      }
      const csrX = { indptr, indices, data, shape: [3, d] };
      const round = dtype === 'float32' ? Math.fround : (v: number) => v;
      const Pc = pool.transformSync(csrX, { kernel: 'nngp' }).data;
      const fromCsr = sel.transformSync(csrX).data;
      for (let i = 0; i < 3; i++) for (let t = 0; t < 100; t++) expect(fromCsr[i * 100 + t]).toBe(round(Pc[i * 512 + cols[t]] * scales[t]));
      expect(relFrobenius(fromCsr, expected.subarray(0, 300))).toBeLessThan(1e-5);
    }
  });

  it('normalize on an NTKRandomFeatures pool: each row is the unnormalised kept row rescaled to its pool row\'s norm', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const pool = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 2048, seed: 5, dtype });
      const plain = new LeverageSelection({ map: pool, features: 300, seed: 2, normalize: false }).fitSync(X);
      const norm = new LeverageSelection({ map: pool, features: 300, seed: 2 }).fitSync(X);
      expect(norm.normalize).toBe(true);
      expect(norm.columns).toEqual(plain.columns);
      const P = pool.transformSync(Xnew).data, A = plain.transformSync(Xnew).data, B = norm.transformSync(Xnew).data;
      const tol = dtype === 'float32' ? 1e-6 : 1e-13;
      for (let i = 0; i < 40; i++) {
        let full = 0, kept = 0;
        for (let j = 0; j < 2048; j++) full += P[i * 2048 + j] ** 2;
        for (let t = 0; t < 300; t++) kept += A[i * 300 + t] ** 2;
        const factor = Math.sqrt(full / kept);
        let got = 0;
        for (let t = 0; t < 300; t++) {
          expect(Math.abs(B[i * 300 + t] - A[i * 300 + t] * factor)).toBeLessThanOrEqual(tol * 4 * Math.abs(A[i * 300 + t] * factor) + 1e-30);
          got += B[i * 300 + t] ** 2;
        }
        expect(Math.abs(got / full - 1)).toBeLessThan(20 * tol);
      }
    }
  });

  it('NTKSketch pool, normalize: every block of the pool is rescaled over its kept rows, computed without the other rows', async () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const tol = dtype === 'float32' ? 2e-6 : 1e-13;
      for (const kernel of ['ntk', 'nngp'] as const) {
        const pool = new NTKSketch({ inputDim: d, depth: 2, features: 2048, sketchDim: 512, seed: 5, exactCopies: false, dtype });
        const P = pool.transformSync(Xnew, { kernel }).data;
        // Every row kept with scale 1: the pool itself (the same blocks, normalised over the same rows).
        const all = LeverageSelection.fromJSON({
          ...new LeverageSelection({ map: pool, features: 300, seed: 2, kernel }).fitSync(X).toJSON(),
          features: 2048,
          columns: Array.from({ length: 2048 }, (_, j) => j),
          scales: new Array(2048).fill(1),
        });
        const A = all.transformSync(Xnew).data;
        expect(relFrobenius(A, P)).toBeLessThan(tol);
        for (let i = 0; i < A.length; i++) expect(Math.abs(A[i] - P[i])).toBeLessThanOrEqual(4 * tol * Math.abs(P[i]) + 1e-12);

        // A fitted selection: row t is pool column c_t times scale t times a factor that depends only on
        // the row and on the block of c_t, so it changes at the same (block boundary) columns in every row.
        const sel = new LeverageSelection({ map: pool, features: 300, seed: 2, kernel }).fitSync(X);
        const cols = sel.columns, scales = sel.scales;
        const B = sel.transformSync(Xnew).data;
        let segments: number[] | null = null, shares: number[] | null = null;
        for (let i = 0; i < 40; i++) {
          const ratio: number[] = [];
          for (let t = 0; t < 300; t++) {
            const base = P[i * 2048 + cols[t]] * scales[t];
            // A zero pool entry (a zero pixel in every factor) stays zero; it says nothing about the factor.
            if (base === 0) expect(B[i * 300 + t] === 0).toBe(true);
            ratio.push(base === 0 ? Number.NaN : B[i * 300 + t] / base);
          }
          // segment[t]: how many times the factor changed up to column t (-1: a zero entry).
          const segment: number[] = [];
          let last = Number.NaN, changes = 0;
          for (let t = 0; t < 300; t++) {
            if (Number.isNaN(ratio[t])) {
              segment.push(-1);
              continue;
            }
            expect(ratio[t]).toBeGreaterThan(0);
            if (!Number.isNaN(last) && Math.abs(ratio[t] / last - 1) > 100 * tol) changes++;
            last = ratio[t];
            segment.push(changes);
          }
          expect(changes).toBeLessThanOrEqual(12); // at most one change per block boundary
          // Each block of kept rows has its exact squared norm, weight x |x|^2: the same share of |x|^2 in every row.
          let x2 = 0;
          for (let j = 0; j < d; j++) x2 += Xnew.data[i * d + j] ** 2;
          const share = new Array(changes + 1).fill(0);
          for (let t = 0, seg = 0; t < 300; t++) {
            if (segment[t] >= 0) seg = segment[t];
            share[seg] += B[i * 300 + t] ** 2 / x2;
          }
          if (shares) for (let b = 0; b < Math.min(share.length, shares.length); b++) expect(Math.abs(share[b] / shares[b] - 1)).toBeLessThan(100 * tol);
          if (!shares || share.length > shares.length) shares = share;
          if (segments) for (let t = 0; t < 300; t++) if (segment[t] >= 0 && segments[t] >= 0) expect(segment[t]).toBe(segments[t]);
          if (!segments || changes > Math.max(...segments)) segments = segment;
        }
        expect(Math.max(...segments!)).toBeGreaterThanOrEqual(3);

        // Dense, CSR, out, async: the same bits; 1 and 2 threads too.
        const csr = { indptr: [0] as number[], indices: [] as number[], data: [] as number[], shape: [40, d] };
        for (let i = 0; i < 40; i++) {
          for (let j = 0; j < d; j++) if (Xnew.data[i * d + j] !== 0) csr.indices.push(j), csr.data.push(Xnew.data[i * d + j]);
          csr.indptr.push(csr.indices.length);
        }
        expect(bitsEqual(sel.transformSync(csr).data, B)).toBe(true);
        const out = dtype === 'float32' ? new Float32Array(40 * 300) : new Float64Array(40 * 300);
        await sel.transform(Xnew, { out });
        expect(bitsEqual(out, B)).toBe(true);
        setThreads(1);
        try {
          expect(bitsEqual(sel.transformSync(Xnew).data, B)).toBe(true);
        } finally {
          setThreads(0);
        }
      }
    }
  });

  it('the native kept-rows map refuses bad pools, rows, scales and kernels without crashing', () => {
    const pool = new NTKSketch({ inputDim: d, depth: 2, features: 256, seed: 1, exactCopies: false });
    const p = pool.polynomials;
    const k1 = p.k1.map((c) => Float64Array.from(c)), k0 = p.k0.map((c) => Float64Array.from(c));
    const base = { inputDim: d, depth: 2, features: 256, sketchDim: pool.sketchDim, seed: 1, dtype: 'float32' as const, k1, k0, exactCopies: false };
    const nat = native();
    const raw = new nat.NtkSketchMap(base);
    const kept = (rows: number[], scales: number[], kernel: 'ntk' | 'nngp' = 'ntk') => ({ rows: Int32Array.from(rows), scales: Float64Array.from(scales), kernel });
    const make = (rows: number[], scales: number[], kernel: 'ntk' | 'nngp' = 'ntk', backend: 'cpu' | 'cuda' = 'cpu') =>
      new nat.NtkSketchMap({ pool: raw, kept: kept(rows, scales, kernel), ...(backend === 'cuda' ? { backend } : {}) } as never);
    expect(() => make([3, 2], [1, 1])).toThrow(/strictly increasing/);
    expect(() => make([3, 256], [1, 1])).toThrow(/below features/);
    expect(() => make([3, 4], [1, 0])).toThrow(/finite and positive/);
    expect(() => make([3, 4], [1, Number.NaN])).toThrow(/finite and positive/);
    expect(() => make([3, 4], [1])).toThrow(/kept.scales is too short/);
    expect(() => make([], [])).toThrow(/must not be empty/);
    expect(() => make([3, 4], [1, 1], 'ntk', 'cuda')).toThrow(/'cuda' backend is not available/);
    // The pool must be a live NtkSketchMap that keeps no rows itself; kept rows need a pool.
    expect(() => new nat.NtkSketchMap({ pool: {} as never, kept: kept([3], [1]) })).toThrow(/pool must be an NtkSketchMap/);
    const other = new nat.NtkRandomFeaturesMap({ inputDim: d, depth: 1, features: 32, stepFeatures: 16, arcCosineFeatures: 16, sketchFeatures: 16, seed: 1, dtype: 'float32' });
    expect(() => new nat.NtkSketchMap({ pool: other as never, kept: kept([3], [1]) })).toThrow(TypeError);
    expect(() => new nat.NtkSketchMap({ pool: raw } as never)).toThrow(/kept is required/);
    expect(() => new nat.NtkSketchMap({ ...base, kept: kept([3], [1]) } as never)).toThrow(/kept needs NtkSketchMap.pool/);
    expect(() => new nat.NtkSketchMap({ pool: make([3], [1]), kept: kept([0], [1]) })).toThrow(/keeps rows itself/);
    const dropped = new nat.NtkSketchMap(base);
    dropped.dispose();
    expect(() => new nat.NtkSketchMap({ pool: dropped, kept: kept([3], [1]) })).toThrow(/pool: the map has been disposed/);
    // A map with exact copies cannot keep rows (their rows are not alike).
    const copies = new nat.NtkSketchMap({ ...base, features: 2048, sketchDim: 256, exactCopies: true });
    expect(() => new nat.NtkSketchMap({ pool: copies, kept: kept([3], [1]) })).toThrow(/without exact copies/);
    const m = make([3, 4, 100], [1, 2, 1]);
    const out = new Float32Array(3);
    const x = Float32Array.from({ length: d }, (_, i) => i % 3);
    expect(() => m.transform({ x, n: 1, out, kernel: 'nngp' }, false)).toThrow(/other kernel/);
    m.transform({ x, n: 1, out, kernel: 'ntk' }, false);
    for (const v of out) expect(Number.isFinite(v)).toBe(true);
    for (const map of [raw, other, copies, m]) map.dispose();
  });

  it('works on CNTKSketch images, in row blocks that do not change the result', () => {
    const images = { data: Float64Array.from({ length: 6 * 25 }, (_, i) => ((i * 13) % 17) / 17), shape: [6, 1, 5, 5] };
    const pool = new CNTKSketch({ inputShape: [1, 5, 5], depth: 1, filterSize: 3, padding: 'same', features: 256, seed: 1 });
    const sel = new LeverageSelection({ map: pool, features: 32, seed: 1, normalize: false }).fitSync(images);
    const all = sel.transformSync(images).data;
    const P = pool.transformSync(images).data;
    const cols = sel.columns, scales = sel.scales;
    for (let i = 0; i < 6; i++) for (let t = 0; t < 32; t++) expect(all[i * 32 + t]).toBe(Math.fround(P[i * 256 + cols[t]] * scales[t]));
  });

  it('toJSON / fromJSON: bit-identical features; corrupted documents are refused', () => {
    const pool = new NTKSketch({ inputDim: d, depth: 2, features: 1024, seed: 3, exactCopies: false });
    const sel = new LeverageSelection({ map: pool, features: 200, seed: 2 }).fitSync(X);
    const text = JSON.stringify(sel);
    const back = LeverageSelection.fromJSON(text);
    expect(back.toJSON()).toEqual(sel.toJSON());
    expect(bitsEqual(back.transformSync(Xnew).data, sel.transformSync(Xnew).data)).toBe(true);
    expect(back.scores).toBeNull();
    const doc = sel.toJSON();
    const edit = (f: (x: Record<string, unknown>) => void) => {
      const copy = JSON.parse(text) as Record<string, unknown>;
      f(copy);
      return copy;
    };
    expect(() => LeverageSelection.fromJSON({ ...doc, format: 'ntk-sketch/ntk-sketch' })).toThrow(TypeError);
    expect(() => LeverageSelection.fromJSON({ ...doc, version: 1 })).toThrow(/json.version 1 is not supported: .*fit a new selection/);
    expect(() => LeverageSelection.fromJSON({ ...doc, version: 3 })).toThrow(/json.version 3 is not supported/);
    expect(() => LeverageSelection.fromJSON({ ...doc, extra: 1 })).toThrow(/json.extra is not a field of a saved LeverageSelection/);
    expect(() => LeverageSelection.fromJSON(edit((x) => delete x.scales))).toThrow(/json.scales is missing/);
    expect(() => LeverageSelection.fromJSON(edit((x) => ((x.map as { type: string }).type = 'Foo')))).toThrow(/json.map must be/);
    expect(() => LeverageSelection.fromJSON(edit((x) => ((x.map as { json: { seed: number } }).json.seed = -1)))).toThrow(
      /json.map.json \(a saved NTKSketch\): json.seed/,
    );
    expect(() => LeverageSelection.fromJSON(edit((x) => ((x.columns as number[])[5] = 1024)))).toThrow(/json.columns\[5\] must be an integer in \[0, 1024\)/);
    expect(() => LeverageSelection.fromJSON(edit((x) => ((x.columns as number[])[5] = (x.columns as number[])[4])))).toThrow(/above the previous one/);
    expect(() => LeverageSelection.fromJSON(edit((x) => (x.columns as number[]).pop()))).toThrow(/json.columns must hold features = 200/);
    expect(() => LeverageSelection.fromJSON(edit((x) => ((x.scales as number[])[0] = 0.5)))).toThrow(/json.scales\[0\] must be a finite number >= 1/);
    expect(() => LeverageSelection.fromJSON(edit((x) => (x.scales = 'a')))).toThrow(TypeError);
    expect(() => LeverageSelection.fromJSON(edit((x) => (x.features = 2000)))).toThrow(/features/);
  });

  it('bad options and inputs are refused, naming the argument; async forms reject', async () => {
    const pool = new NTKSketch({ inputDim: d, depth: 1, features: 128, seed: 1, exactCopies: false });
    const copies = new NTKSketch({ inputDim: d, depth: 1, features: 128, seed: 1 });
    expect(() => new LeverageSelection({ map: copies, features: 8 })).toThrow(/map: an NTKSketch pool must be built with exactCopies: false/);
    expect(new LeverageSelection({ map: copies, features: 8, normalize: false }).fitSync(X).columns.length).toBe(8);
    expect(() => new LeverageSelection(undefined as never)).toThrow(TypeError);
    expect(() => new LeverageSelection({ map: {} as never, features: 8 })).toThrow(/map must be an NTKSketch, NTKRandomFeatures or CNTKSketch/);
    expect(() => new LeverageSelection({ map: pool, features: 129 })).toThrow(RangeError);
    expect(() => new LeverageSelection({ map: pool, features: 1.5 })).toThrow(/features/);
    expect(() => new LeverageSelection({ map: pool, features: 8, lambda: 0 })).toThrow(/lambda/);
    expect(() => new LeverageSelection({ map: pool, features: 8, lambda: 'x' as never })).toThrow(TypeError);
    expect(() => new LeverageSelection({ map: pool, features: 8, kernel: 'rbf' as never })).toThrow(/kernel must be 'ntk' or 'nngp'/);
    expect(() => new LeverageSelection({ map: pool, features: 8, sed: 1 } as never)).toThrow(/sed is not a known option/);
    expect(() => new LeverageSelection({ map: pool, features: 8, normalize: 'yes' } as never)).toThrow(/normalize must be a boolean/);
    const sel = new LeverageSelection({ map: pool, features: 8 });
    expect(() => sel.transformSync(X)).toThrow(/LeverageSelection.transform: call fit first/);
    expect(() => sel.toJSON()).toThrow(/call fit first/);
    expect(() => sel.fitSync(mat(new Float64Array(10), 2, 5))).toThrow(/X must have 64 columns/);
    await expect(sel.fit(mat(new Float64Array(10), 2, 5))).rejects.toThrow(/X must have 64 columns/);
    expect(() => sel.fitSync(mat(new Float64Array(0), 0, d))).toThrow(/at least one row/);
    // An all-zero sample gives every column a zero score: nothing to draw from.
    expect(() => sel.fitSync(mat(new Float64Array(4 * d), 4, d))).toThrow(/must not exceed the 1 columns of the map that can be drawn/); // the constant column
    const small = new LeverageSelection({ map: pool, features: 8, memoryLimit: 1000 });
    expect(() => small.fitSync(X)).toThrow(/memoryLimit/);
    sel.fitSync(X);
    expect(() => sel.transformSync(Xnew, { out: new Float32Array(3) })).toThrow(/options.out must have 40 x 8 = 320 elements/);
    expect(() => sel.transformSync(Xnew, { kernel: 'nngp' })).toThrow(/kernel must be 'ntk' \(the features this selection kept\), got 'nngp'/);
    expect(() => sel.transformSync(Xnew, { kernel: 'ntk', scale: 2 } as never)).toThrow(/scale is not a known option/);
    await expect(sel.transform(mat(new Float64Array([NaN, ...new Float64Array(d - 1)]), 1, d))).rejects.toThrow(/finite/);
    pool.dispose();
    expect(() => sel.transformSync(Xnew)).toThrow(/disposed/);
    expect(() => new LeverageSelection({ map: pool, features: 8 })).toThrow(/map has been disposed/);
  });

  it('is a FeatureMap: the base transform path, `using`, no selection of a selection, pool input checked as the pool checks it', async () => {
    const d = 12;
    const X = { data: Float32Array.from({ length: 30 * d }, (_, i) => Math.cos(i * 0.41)), shape: [30, d] };
    const pool = new NTKSketch({ inputDim: d, depth: 1, features: 96, seed: 3, exactCopies: false });
    let selected: LeverageSelection;
    {
      using sel = new LeverageSelection({ map: pool, features: 12, kernel: 'nngp', seed: 1 }).fitSync(X);
      selected = sel;
      expect(sel).toBeInstanceOf(FeatureMap);
      expect(sel.mapType).toBe('LeverageSelection');
      // The default kernel of a selection is its own.
      const a = sel.transformSync(X);
      expect(Array.from(sel.transformSync(X, { kernel: 'nngp' }).data)).toEqual(Array.from(a.data));
      const out = new Float32Array(30 * 12);
      const b = await sel.transform(X, { out });
      expect(b.data).toBe(out);
      expect(Array.from(out)).toEqual(Array.from(a.data));
      expect(() => new LeverageSelection({ map: sel as never, features: 4 })).toThrow(/a LeverageSelection cannot be the pool of another selection/);
    }
    expect(selected.disposed).toBe(true);
    expect(pool.disposed).toBe(false);
    // A CNTKSketch pool refuses images of another shape before any work (fit and transform alike).
    const cntk = new CNTKSketch({ inputShape: [1, 4, 4], depth: 1, filterSize: 3, padding: 'same', features: 64, seed: 1 });
    const images = { data: new Float32Array(3 * 25), shape: [3, 1, 5, 5] };
    const csel = new LeverageSelection({ map: cntk, features: 8 });
    expect(() => csel.fitSync(images)).toThrow(/X must hold images of shape \[1, 4, 4\]/);
  });

  it('dispose() releases the selection; a pool passed in stays usable, a pool built by fromJSON is released with it', () => {
    const d = 12;
    const X = { data: Float32Array.from({ length: 40 * d }, (_, i) => Math.sin(i * 0.37)), shape: [40, d] };
    const pool = new NTKSketch({ inputDim: d, depth: 2, features: 128, seed: 1, exactCopies: false });
    const sel = new LeverageSelection({ map: pool, features: 16, seed: 2 }).fitSync(X);
    const before = sel.transformSync(X).data;
    const restored = LeverageSelection.fromJSON(JSON.stringify(sel));
    expect(restored.transformSync(X).data).toEqual(before);
    sel.dispose();
    sel.dispose(); // again: nothing
    expect(sel.disposed).toBe(true);
    expect(() => sel.transformSync(X)).toThrow(/LeverageSelection.transformSync: the selection has been disposed/);
    expect(() => sel.fitSync(X)).toThrow(/LeverageSelection.fit: the selection has been disposed/);
    expect(pool.disposed).toBe(false);
    expect(pool.transformSync(X).shape).toEqual([40, 128]);
    restored.dispose();
    expect(restored.map.disposed).toBe(true);
  });
});
