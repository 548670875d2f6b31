import { afterEach, describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { NTKRandomFeatures, loadDigits, ntkKernelSync, setThreads } from '../../src/index.js';
import { gram, mat, relFrobenius } from '../helpers/matrices.js';
import { expectRowInputChecks } from '../helpers/row-inputs.js';
import { sparseRows, spreadRows } from '../helpers/rows.js';
import { expectDocumentChecks, expectRoundTrip } from '../helpers/saved-maps.js';
import { rng } from '../reference/dense-solve.js';
import { k1 } from '../reference/ntk-reference.js';

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

afterEach(() => setThreads(0));

describe('NTKRandomFeatures is an unbiased estimator', () => {
  const n = 8, d = 6;
  const X = spreadRows(n, d, 21);
  const SEEDS = 400;
  // Per Gram entry: the mean over SEEDS maps against the exact kernel, in
  // units of its standard error (measured from the same maps). Depth 1 is
  // exactly unbiased: |z| <= 4.5 over the 36 distinct entries. At depth 2 the
  // second layer is a nonlinear function of the first layer's estimate, a
  // bias O(1/m1) (m1 = 96 here), too small to see with 400 seeds: measured
  // max |z| 2.0-2.2 at depth 1 and 1.8-2.7 at depth 2 (plain and leverage,
  // NTK and NNGP); allowed 4.5 standard errors, plus 1 % of the entry at depth 2.
  // Independent columns (SPEC §4.2, the default) and columns drawn jointly
  // (orthogonal: antithetic pairs and orthogonal blocks; every column keeps
  // its law).
  const cases = [
    { depth: 1, leverage: false, orthogonal: false },
    { depth: 1, leverage: true, orthogonal: false },
    { depth: 2, leverage: false, orthogonal: false },
    { depth: 2, leverage: true, orthogonal: false },
    { depth: 1, leverage: false, orthogonal: true },
    { depth: 2, leverage: true, orthogonal: true },
  ];
  for (const { depth, leverage, orthogonal } of cases) {
    {
      const label = `${leverage ? ', leverage sampling' : ''}${orthogonal ? ', orthogonal weights' : ''}`;
      it(`depth ${depth}${label}: mean Gram over ${SEEDS} seeds -> ntkKernelSync (NTK and NNGP)`, () => {
        const exact = ntkKernelSync(mat(X, n, d), null, { depth });
        for (const kernel of ['ntk', 'nngp'] as const) {
          const ex = (kernel === 'ntk' ? exact.ntk : exact.nngp).data;
          const sum = new Float64Array(n * n), sq = new Float64Array(n * n);
          for (let seed = 0; seed < SEEDS; seed++) {
            const map = new NTKRandomFeatures({ inputDim: d, depth, features: 256, leverage, orthogonal, normalize: false, seed, dtype: 'float64' });
            const g = gram(map.transformSync(mat(X, n, d), { kernel }).data, n, 256);
            for (let e = 0; e < n * n; e++) {
              sum[e] += g[e];
              sq[e] += g[e] * g[e];
            }
          }
          let worst = 0;
          for (let i = 0; i < n; i++) {
            for (let j = 0; j <= i; j++) {
              const e = i * n + j;
              const mean = sum[e] / SEEDS;
              const se = Math.sqrt(Math.max(sq[e] / SEEDS - mean * mean, 0) / SEEDS);
              const allowed = 4.5 * se + (depth > 1 ? 0.01 * Math.abs(ex[e]) : 0);
              worst = Math.max(worst, Math.abs(mean - ex[e]) / allowed);
            }
          }
          expect(worst).toBeLessThan(1);
        }
      });
    }
  }
});

describe('NTKRandomFeatures accuracy', () => {
  const n = 120, d = 30;
  const X = spreadRows(n, d, 5);

  it('Gram error against the exact NTK and NNGP falls ~1/sqrt(features) (depth 2, mean over 3 seeds)', () => {
    const exact = ntkKernelSync(mat(X, n, d), null, { depth: 2 });
    for (const kernel of ['ntk', 'nngp'] as const) {
      const errors = [256, 1024, 4096].map((features) => {
        let sum = 0;
        for (const seed of [1, 2, 3]) {
          const phi = new NTKRandomFeatures({ inputDim: d, depth: 2, features, seed, normalize: false }).transformSync(mat(X, n, d), { kernel });
          sum += relFrobenius(gram(phi.data, n, features), (kernel === 'ntk' ? exact.ntk : exact.nngp).data) / 3;
        }
        return sum;
      });
      // 4x the features halves the error (ratio 0.5 up to seed noise).
      expect(errors[1]).toBeLessThan(0.7 * errors[0]);
      expect(errors[2]).toBeLessThan(0.7 * errors[1]);
      // Measured NTK 0.371 / 0.153 / 0.067, NNGP 0.271 / 0.131 / 0.071; bound 1.3x.
      expect(errors[2]).toBeLessThan(0.09);
    }
  });

  it('normalize: rows hit the exact diagonal (L+1)|x|^2 (NTK) and |x|^2 (NNGP), and the Gram error drops', () => {
    const exact = ntkKernelSync(mat(X, n, d), null, { depth: 2 });
    const norms = Array.from({ length: n }, (_, i) => X.subarray(i * d, (i + 1) * d).reduce((s, v) => s + v * v, 0));
    for (const extra of [{}, { arcCosineFeatures: 300, sketchFeatures: 900 }]) {
      const map = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 1024, seed: 4, dtype: 'float64', normalize: true, ...extra });
      for (const kernel of ['ntk', 'nngp'] as const) {
        const g = gram(map.transformSync(mat(X, n, d), { kernel }).data, n, 1024);
        for (let i = 0; i < n; i++) expect(g[i * n + i] / ((kernel === 'ntk' ? 3 : 1) * norms[i])).toBeCloseTo(1, 12);
      }
    }
    for (const kernel of ['ntk', 'nngp'] as const) {
      const error = (normalize: boolean) => {
        let sum = 0;
        for (const seed of [1, 2, 3]) {
          const phi = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 4096, seed, normalize }).transformSync(mat(X, n, d), { kernel });
          sum += relFrobenius(gram(phi.data, n, 4096), (kernel === 'ntk' ? exact.ntk : exact.nngp).data) / 3;
        }
        return sum;
      };
      // Measured (mean over the seeds): NTK 0.067 -> 0.045, NNGP 0.071 -> 0.022.
      expect(error(true)).toBeLessThan(0.8 * error(false));
    }
  });

  it('float32 and float64 maps draw the same weights (rounded) and agree to float32 rounding', () => {
    const m32 = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 300, seed: 8, dtype: 'float32' });
    const m64 = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 300, seed: 8, dtype: 'float64' });
    const w32 = m32.weights(1), w64 = m64.weights(1);
    expect(w32.arcCosine.data).toEqual(Float32Array.from(w64.arcCosine.data));
    const a = m32.transformSync(mat(X, n, d)).data, b = m64.transformSync(mat(X, n, d)).data;
    const ga = gram(a, n, 300), gb = gram(b, n, 300);
    expect(relFrobenius(ga, gb)).toBeLessThan(1e-4);
  });
});

describe('leverage-score sampler of the arc-cosine weights', () => {
  const K = 12, N = 40000;
  const plain = new NTKRandomFeatures({ inputDim: K, depth: 1, features: N + 100, arcCosineFeatures: N, sketchFeatures: 100, stepFeatures: 16, seed: 3, dtype: 'float64' });
  const lev = new NTKRandomFeatures({ inputDim: K, depth: 1, features: N + 100, arcCosineFeatures: N, sketchFeatures: 100, stepFeatures: 16, leverage: true, seed: 3, dtype: 'float64' });
  const column = (w: Float64Array, j: number) => Array.from({ length: K }, (_, k) => w[k * N + j]);

  it('plain columns are N(0, I): moments and CDF of the entries, E|w|^2 = d', () => {
    const w = plain.weights(0).arcCosine.data as Float64Array;
    const count = w.length;
    let m1 = 0, m2 = 0, m4 = 0;
    for (const v of w) {
      m1 += v;
      m2 += v * v;
      m4 += v ** 4;
    }
    expect(Math.abs(m1 / count)).toBeLessThan(5 / Math.sqrt(count));
    expect(Math.abs(m2 / count - 1)).toBeLessThan(5 * Math.sqrt(2 / count));
    expect(Math.abs(m4 / count - 3)).toBeLessThan(5 * Math.sqrt(96 / count));
    for (const t of [-3.5, -2, -1, -0.3, 0, 0.5, 1, 2, 3]) {
      const p = phi(t);
      const frac = w.reduce((s, v) => s + (v < t ? 1 : 0), 0) / count;
      expect(Math.abs(frac - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / count) + 1e-6);
    }
    expect(Array.from(plain.weights(0).weight).every((v) => v === 1)).toBe(true);
  });

  it('leverage columns: E|w|^2 = d + 2, Var |w|^2 = 2(d + 2), uniform directions (mean 0, second moment I/d); weight = sqrt(d)/|w|', () => {
    const { arcCosine, weight, inputDim } = lev.weights(0);
    expect(inputDim).toBe(K);
    const w = arcCosine.data as Float64Array;
    const norms2 = new Float64Array(N);
    const mean = new Float64Array(K), second = new Float64Array(K * K);
    for (let j = 0; j < N; j++) {
      const c = column(w, j);
      const r2 = c.reduce((s, v) => s + v * v, 0);
      norms2[j] = r2;
      const r = Math.sqrt(r2);
      expect(Math.abs(weight[j] - Math.sqrt(K) / r)).toBeLessThan(1e-12 * weight[j]);
      for (let a = 0; a < K; a++) {
        mean[a] += c[a] / r / N;
        for (let b = 0; b < K; b++) second[a * K + b] += (c[a] * c[b]) / r2 / N;
      }
    }
    const mu = norms2.reduce((s, v) => s + v, 0) / N;
    const variance = norms2.reduce((s, v) => s + (v - mu) ** 2, 0) / (N - 1);
    // |w|^2 ~ chi^2 with d + 2 degrees of freedom.
    expect(Math.abs(mu - (K + 2))).toBeLessThan(5 * Math.sqrt((2 * (K + 2)) / N));
    expect(Math.abs(variance / (2 * (K + 2)) - 1)).toBeLessThan(0.05);
    // u = w/|w| uniform on the sphere: E u = 0, E u u^T = I/d, with
    // Var u_a^2 = 3/(d(d+2)) - 1/d^2 and Var u_a u_b = 1/(d(d+2)).
    for (let a = 0; a < K; a++) {
      expect(Math.abs(mean[a])).toBeLessThan(5 * Math.sqrt(1 / K / N));
      for (let b = 0; b < K; b++) {
        const target = a === b ? 1 / K : 0;
        const sd = a === b ? Math.sqrt(3 / (K * (K + 2)) - 1 / K ** 2) : Math.sqrt(1 / (K * (K + 2)));
        expect(Math.abs(second[a * K + b] - target)).toBeLessThan(5 * sd / Math.sqrt(N));
      }
    }
  });

  it('weighted leverage features estimate the order-1 arc-cosine kernel |x||z| k1(cos) without bias', () => {
    const { arcCosine, weight } = lev.weights(0);
    const w = arcCosine.data as Float64Array;
    const r = rng(9);
    for (let pair = 0; pair < 4; pair++) {
      const x = Array.from({ length: K }, () => r.normal());
      const z = x.map((v) => (pair / 3) * v + (1 - pair / 3) * r.normal());
      const nx = Math.hypot(...x), nz = Math.hypot(...z);
      const cos = x.reduce((s, v, k) => s + v * z[k], 0) / (nx * nz);
      let s1 = 0, s2 = 0;
      for (let j = 0; j < N; j++) {
        let px = 0, pz = 0;
        for (let k = 0; k < K; k++) {
          px += w[k * N + j] * x[k];
          pz += w[k * N + j] * z[k];
        }
        const v = 2 * weight[j] ** 2 * Math.max(px, 0) * Math.max(pz, 0);
        s1 += v;
        s2 += v * v;
      }
      const m = s1 / N, se = Math.sqrt((s2 / N - m * m) / N);
      expect(Math.abs(m - nx * nz * k1(cos))).toBeLessThan(5 * se);
    }
  });

  it('leverage and plain maps give the same NTK/NNGP up to sampling noise; the NNGP output uses the weighted features', () => {
    const n = 6, x = spreadRows(n, K, 4);
    const exact = ntkKernelSync(mat(x, n, K), null, { depth: 1 });
    const g = gram(lev.transformSync(mat(x, n, K), { kernel: 'nngp' }).data, n, N + 100);
    expect(relFrobenius(g, exact.nngp.data)).toBeLessThan(0.03);
  });
});

describe('NTKRandomFeatures determinism and structure', () => {
  const n = 300, d = 64;
  const X = Float32Array.from(spreadRows(n, d, 11));

  it('is bit-identical for 1 or 2 threads and for rows split across calls and 256-row blocks, sync or async', async () => {
    for (const options of [
      { inputDim: d, depth: 2, features: 640, seed: 9 },
      { inputDim: d, depth: 3, features: 96, arcCosineFeatures: 40, sketchFeatures: 70, leverage: true, normalize: true, seed: 4 },
    ]) {
      const map = new NTKRandomFeatures(options);
      const f = map.features;
      for (const kernel of ['ntk', 'nngp'] as const) {
        setThreads(1);
        const one = map.transformSync(mat(X, n, d), { kernel }).data;
        setThreads(2);
        const two = map.transformSync(mat(X, n, d), { kernel }).data;
        expect(two).toEqual(one);
        const joined = new Float32Array(one.length);
        let at = 0;
        for (const [s, e] of [[0, 13], [13, 270], [270, 300]]) {
          const part = s === 13
            ? (await map.transform(mat(X.subarray(s * d, e * d), e - s, d), { kernel })).data
            : map.transformSync(mat(X.subarray(s * d, e * d), e - s, d), { kernel }).data;
          joined.set(part, at);
          at += part.length;
        }
        expect(joined).toEqual(one);
        expect(one.subarray(0, f).some((v) => v !== 0)).toBe(true);
      }
    }
  });

  it('the same options and seed give the same map; another seed (or leverage) another map', () => {
    const make = (seed: number, leverage = false) => new NTKRandomFeatures({ inputDim: d, depth: 2, features: 100, seed, leverage });
    const a = make(42).transformSync(mat(X.subarray(0, 20 * d), 20, d)).data;
    expect(make(42).transformSync(mat(X.subarray(0, 20 * d), 20, d)).data).toEqual(a);
    expect(make(43).transformSync(mat(X.subarray(0, 20 * d), 20, d)).data).not.toEqual(a);
    expect(make(42, true).transformSync(mat(X.subarray(0, 20 * d), 20, d)).data).not.toEqual(a);
  });

  it('layout: NTK output = [arc-cosine features, sketch]; NNGP columns j < m1 are the NTK ones rescaled (independent columns); zero rows give zeros', () => {
    const map = new NTKRandomFeatures({ inputDim: d, depth: 1, features: 80, dtype: 'float64', seed: 2, normalize: false, orthogonal: false });
    expect([map.stepFeatures, map.arcCosineFeatures, map.sketchFeatures, map.finalSrht]).toEqual([30, 30, 50, false]);
    const rows = mat(Float64Array.from(X.subarray(0, 3 * d)), 3, d);
    rows.data.fill(0, 2 * d); // row 2 is zero
    const ntk = map.transformSync(rows).data, nngp = map.transformSync(rows, { kernel: 'nngp' }).data;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 30; j++) expect(nngp[i * 80 + j] * Math.sqrt(80 / 30)).toBeCloseTo(ntk[i * 80 + j], 12);
    }
    expect(ntk.subarray(160).every((v) => v === 0)).toBe(true);
    expect(nngp.subarray(160).every((v) => v === 0)).toBe(true);
    // The default split: sketchFeatures = round(5/8 features), m0 = m1.
    const big = new NTKRandomFeatures({ inputDim: 3, depth: 1, features: 8192 });
    expect([big.arcCosineFeatures, big.sketchFeatures, big.stepFeatures]).toEqual([3072, 5120, 3072]);
  });

  it('the NNGP-only last-layer columns are drawn on the first NNGP call and counted in memory', () => {
    for (const orthogonal of [false, true]) {
      const map = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 200, dtype: 'float64', orthogonal });
      const before = map.memory.parameterBytes;
      map.transformSync(mat(X.subarray(0, 5 * d), 5, d));
      expect(map.memory.parameterBytes).toBe(before);
      map.transformSync(mat(X.subarray(0, 5 * d), 5, d), { kernel: 'nngp' });
      // Independent columns (the default): the 125 columns beyond W1_L's 75
      // (75 inputs), plus the 200 scales. Orthogonal maps draw their columns
      // jointly, so the NNGP output has a 75 x 200 matrix of its own.
      expect(map.memory.parameterBytes - before).toBe(8 * (75 * (orthogonal ? 200 : 125) + 200));
    }
  });

  it('orthogonal weights: antithetic pairs, orthogonal directions in blocks of the layer input, Gaussian lengths', () => {
    const map = new NTKRandomFeatures({ inputDim: 10, depth: 2, features: 64, sketchFeatures: 39, dtype: 'float64', seed: 5, orthogonal: true });
    expect([map.orthogonal, map.arcCosineFeatures, map.stepFeatures]).toEqual([true, 25, 25]);
    for (const layer of [0, 1]) {
      const w = map.weights(layer);
      const K = w.inputDim, m = 25, P = 13; // 13 directions, columns 13..24 = -(columns 0..11)
      const col = (a: typeof w.arcCosine, j: number) => Array.from({ length: K }, (_, k) => a.get(k, j));
      for (const a of [w.arcCosine, w.step]) {
        for (let i = 0; i < m - P; i++) expect(col(a, P + i)).toEqual(col(a, i).map((v) => -v));
      }
      // W1: directions j, l in the same block of K are orthogonal (to rounding).
      let worst = 0, lengths = 0;
      for (let j = 0; j < P; j++) {
        const u = col(w.arcCosine, j);
        const nu = Math.hypot(...u);
        lengths += nu * nu;
        for (let l = j + 1; l < P; l++) {
          if (Math.floor(j / K) !== Math.floor(l / K)) continue;
          const v = col(w.arcCosine, l);
          worst = Math.max(worst, Math.abs(u.reduce((t, x, k) => t + x * v[k], 0)) / (nu * Math.hypot(...v)));
        }
        expect(w.weight[j]).toBe(1);
      }
      expect(worst).toBeLessThan(1e-12);
      // Lengths are chi_K, not normalised: their squares average K (loose: 13 draws).
      expect(lengths / P / K).toBeGreaterThan(0.5);
      expect(lengths / P / K).toBeLessThan(1.6);
      // Step directions are antithetic but not orthogonalised.
      const s0 = col(w.step, 0), s1 = col(w.step, 1);
      expect(Math.abs(s0.reduce((t, x, k) => t + x * s1[k], 0))).toBeGreaterThan(1e-6);
    }
  });

  it('orthogonal weights: a block of fewer than K/8 directions keeps independent columns (high-dimensional input)', () => {
    const map = new NTKRandomFeatures({ inputDim: 100, depth: 2, features: 16, sketchFeatures: 10, dtype: 'float64', seed: 3, orthogonal: true });
    const cosines = (layer: number) => {
      const w = map.weights(layer), K = w.inputDim;
      const col = (j: number) => Array.from({ length: K }, (_, k) => w.arcCosine.get(k, j));
      const out: number[] = [];
      for (let j = 0; j < 3; j++)
        for (let l = j + 1; l < 3; l++) {
          const u = col(j), v = col(l);
          out.push(Math.abs(u.reduce((t, x, k) => t + x * v[k], 0)) / (Math.hypot(...u) * Math.hypot(...v)));
        }
      return out;
    };
    // Layer 0: 3 directions in 100 dimensions (3 * 8 < 100): independent, cosines ~ 1/sqrt(100).
    expect(Math.max(...cosines(0))).toBeGreaterThan(1e-3);
    // Layer 1: 3 directions in 6 dimensions: orthogonalised.
    expect(Math.max(...cosines(1))).toBeLessThan(1e-12);
  });

  it('orthogonal weights lower the Gram error of NNGP and NTK features (depth 2, digits rows, mean over 3 seeds)', () => {
    const n = 150, dim = 64;
    const Xd = loadDigits().X.subarray(0, n * dim);
    const exact = ntkKernelSync(mat(Xd, n, dim), null, { depth: 2 });
    const err = (orthogonal: boolean, kernel: 'ntk' | 'nngp') => {
      let total = 0;
      for (const seed of [1, 2, 3]) {
        const map = new NTKRandomFeatures({ inputDim: dim, depth: 2, features: 1024, orthogonal, seed, dtype: 'float64' });
        total += relFrobenius(gram(map.transformSync(mat(Xd, n, dim), { kernel }).data, n, 1024), (kernel === 'ntk' ? exact.ntk : exact.nngp).data);
      }
      return total / 3;
    };
    const nngp = [err(false, 'nngp'), err(true, 'nngp')], ntk = [err(false, 'ntk'), err(true, 'ntk')];
    // Measured: NNGP 0.0286 -> 0.0119, NTK 0.0594 -> 0.0549 (1,024 features on 150 rows).
    expect(nngp[1]).toBeLessThan(0.5 * nngp[0]);
    expect(ntk[1]).toBeLessThan(ntk[0]);
  });

  it('CSR input gives the dense features (float64 to 1e-12, float32 to 1e-5), with and without a final SRHT and normalize', () => {
    const dim = 50, rows = 9;
    const { dense, csr } = sparseRows(rows, dim, 0.15, 5);
    for (const dtype of ['float32', 'float64'] as const) {
      for (const extra of [{}, { arcCosineFeatures: 30, sketchFeatures: 40, normalize: true }]) {
        const map = new NTKRandomFeatures({ inputDim: dim, depth: 2, features: 48, seed: 2, dtype, ...extra });
        for (const kernel of ['ntk', 'nngp'] as const) {
          const a = map.transformSync(mat(dense, rows, dim), { kernel }).data;
          const b = map.transformSync(csr, { kernel }).data;
          let err = 0, mx = 0;
          for (let i = 0; i < a.length; i++) {
            err = Math.max(err, Math.abs(a[i] - b[i]));
            mx = Math.max(mx, Math.abs(a[i]));
          }
          expect(err / mx).toBeLessThan(dtype === 'float64' ? 1e-12 : 1e-5);
          expect(Array.from(b.subarray(4 * 48, 5 * 48)).every((v) => v === 0)).toBe(true);
        }
      }
    }
  });

  it('accepts ndarray views and returns n x features ndarrays of the map dtype; 0 rows give 0 x features', () => {
    const map = new NTKRandomFeatures({ inputDim: d, depth: 1, features: 32, dtype: 'float64' });
    const out = map.transformSync(ndarray(X.subarray(0, 7 * d), [7, d]));
    expect(out.shape).toEqual([7, 32]);
    expect(out.data).toBeInstanceOf(Float64Array);
    const xt = new Float32Array(7 * d);
    for (let i = 0; i < 7; i++) for (let k = 0; k < d; k++) xt[k * 7 + i] = X[i * d + k];
    expect(map.transformSync(ndarray(xt, [d, 7]).transpose(1, 0)).data).toEqual(out.data);
    expect(map.transformSync(mat(new Float32Array(0), 0, d)).shape).toEqual([0, 32]);
  });
});

/** The checksum toJSON writes: FNV-1a of 'format/version:' and the fields. */
function sign(doc: Record<string, unknown>, version: number, fields: string[]): string {
  let h = 0x811c9dc5;
  const text = `ntk-sketch/ntk-random-features/${version}:` + fields.map((k) => `${k}=${String(doc[k])}`).join(';');
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
const V1_FIELDS = ['inputDim', 'depth', 'features', 'sketchFeatures', 'arcCosineFeatures', 'stepFeatures', 'leverage', 'normalize', 'seed', 'dtype'];
const V2_FIELDS = [...V1_FIELDS.slice(0, 8), 'orthogonal', 'seed', 'dtype'];

describe('NTKRandomFeatures save and load', () => {
  const d = 16, n = 5;
  const X = spreadRows(n, d, 3);
  const map = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 50, leverage: true, seed: 77, dtype: 'float64' });
  const doc = map.toJSON();

  it('round-trips through JSON text to a bit-identical map', () => {
    expectRoundTrip(map, NTKRandomFeatures.fromJSON, mat(X, n, d), 400);
  });

  it('refuses other formats, versions, corrupted, edited or incomplete documents', () => {
    expectDocumentChecks(NTKRandomFeatures.fromJSON, doc, 'NTKRandomFeatures', 'ntk-sketch/ntk-sketch');
    expect(() => NTKRandomFeatures.fromJSON({ ...doc, version: 3 })).toThrow(/json.version 3 is not supported/);
    expect(() => NTKRandomFeatures.fromJSON({ ...doc, version: 3 })).toThrow(RangeError);
    // Any edited field breaks the checksum: the map would silently differ.
    for (const edit of [{ seed: 78 }, { leverage: false }, { normalize: false }, { orthogonal: true }, { sketchFeatures: 21 }, { depth: 3 }, { dtype: 'float32' }]) {
      expect(() => NTKRandomFeatures.fromJSON({ ...doc, ...edit })).toThrow(/json.checksum .* does not match.*corrupted/);
    }
    expect(() => NTKRandomFeatures.fromJSON({ ...doc, checksum: 12 })).toThrow(/json.checksum must be a string/);
    // A consistent checksum over invalid fields is still validated field by field.
    const bad = { ...doc, depth: 0 };
    const resigned = { ...bad, checksum: sign(bad, 2, V2_FIELDS) };
    expect(() => NTKRandomFeatures.fromJSON(resigned)).toThrow(/json.depth must be an integer in \[1, 32\]/);
    // Version 1 documents (before the orthogonal option) restore maps with independent columns.
    const { orthogonal: _, ...v1body } = { ...doc, version: 1 };
    const v1 = { ...v1body, checksum: sign(v1body, 1, V1_FIELDS) };
    const restored = NTKRandomFeatures.fromJSON(JSON.stringify(v1));
    expect(restored.orthogonal).toBe(false);
    const plain = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 50, leverage: true, seed: 77, dtype: 'float64', orthogonal: false });
    expect(restored.transformSync(mat(X, n, d)).data).toEqual(plain.transformSync(mat(X, n, d)).data);
    expect(() => NTKRandomFeatures.fromJSON({ ...v1, orthogonal: true })).toThrow(/json.orthogonal is not a field/);
    expect(() => NTKRandomFeatures.fromJSON({ ...v1, seed: 78 })).toThrow(/json.checksum .* does not match/);
    expect(() => NTKRandomFeatures.fromJSON(doc, { memoryLimit: 100 })).toThrow(/memoryLimit/);
  });
});

describe('NTKRandomFeatures bad input', () => {
  const ok = { inputDim: 4, depth: 1, features: 8 };
  const X = mat(new Float64Array([1, 2, 3, 4, 0, 1, 0, 1]), 2, 4);

  it('validates every constructor option, naming it', () => {
    expect(() => new NTKRandomFeatures(undefined as never)).toThrow(TypeError);
    expect(() => new NTKRandomFeatures(5 as never)).toThrow(/options must be an options object/);
    expect(() => new NTKRandomFeatures({ ...ok, inputDim: 0 })).toThrow(/inputDim must be an integer in \[1/);
    expect(() => new NTKRandomFeatures({ ...ok, inputDim: '4' as never })).toThrow(TypeError);
    expect(() => new NTKRandomFeatures({ ...ok, depth: 33 })).toThrow(/depth must be an integer in \[1, 32\]/);
    expect(() => new NTKRandomFeatures({ ...ok, depth: 1.5 })).toThrow(RangeError);
    expect(() => new NTKRandomFeatures({ ...ok, features: 1 })).toThrow(/features must be an integer in \[2/);
    expect(() => new NTKRandomFeatures({ ...ok, features: 2 ** 24 + 1 })).toThrow(/features/);
    // sketchFeatures: zero, non-integer, too large (no arc-cosine feature left), wrong type.
    expect(() => new NTKRandomFeatures({ ...ok, sketchFeatures: 0 })).toThrow(/sketchFeatures must be an integer in \[1, 7\]/);
    expect(() => new NTKRandomFeatures({ ...ok, sketchFeatures: 2.5 })).toThrow(/sketchFeatures must be an integer/);
    expect(() => new NTKRandomFeatures({ ...ok, sketchFeatures: 8 })).toThrow(/sketchFeatures must be an integer in \[1, 7\], got 8/);
    expect(() => new NTKRandomFeatures({ ...ok, sketchFeatures: '3' as never })).toThrow(TypeError);
    expect(() => new NTKRandomFeatures({ ...ok, arcCosineFeatures: 0 })).toThrow(/arcCosineFeatures must be an integer/);
    expect(() => new NTKRandomFeatures({ ...ok, arcCosineFeatures: 3, sketchFeatures: 4 })).toThrow(
      /arcCosineFeatures \+ sketchFeatures must be at least features \(8\), got 3 \+ 4/,
    );
    expect(() => new NTKRandomFeatures({ ...ok, arcCosineFeatures: 3, sketchFeatures: 2 ** 24 + 1 })).toThrow(/sketchFeatures/);
    expect(() => new NTKRandomFeatures({ ...ok, stepFeatures: -1 })).toThrow(/stepFeatures must be an integer/);
    expect(() => new NTKRandomFeatures({ ...ok, leverage: 1 as never })).toThrow(/leverage must be a boolean/);
    expect(() => new NTKRandomFeatures({ ...ok, leverage: 1 as never })).toThrow(TypeError);
    expect(() => new NTKRandomFeatures({ ...ok, normalize: 'yes' as never })).toThrow(/normalize must be a boolean/);
    expect(() => new NTKRandomFeatures({ ...ok, orthogonal: 0 as never })).toThrow(/orthogonal must be a boolean/);
    expect(() => new NTKRandomFeatures({ ...ok, orthogonal: 0 as never })).toThrow(TypeError);
    expect(() => new NTKRandomFeatures({ ...ok, seed: -1 })).toThrow(/seed/);
    expect(() => new NTKRandomFeatures({ ...ok, seed: 2 ** 60 })).toThrow(/seed/);
    expect(() => new NTKRandomFeatures({ ...ok, dtype: 'int8' as never })).toThrow(/dtype must be 'float32' or 'float64'/);
    expect(() => new NTKRandomFeatures({ ...ok, memoryLimit: -1 })).toThrow(/memoryLimit/);
    expect(() => new NTKRandomFeatures({ ...ok, widht: 3 } as never)).toThrow(/widht is not a known option/);
    // Weights of 2^20 x 2^14 float32 = 64 GiB: refused before drawing them.
    expect(() => new NTKRandomFeatures({ inputDim: 2 ** 20, depth: 1, features: 2 ** 14 })).toThrow(/would need .* GiB, above the memoryLimit/);
    const small = new NTKRandomFeatures({ ...ok, memoryLimit: 32 * 1024 ** 2 });
    expect(() => small.transformSync(mat(new Float64Array(2e6 * 4), 2e6, 4))).toThrow(/transformSync: 2000000 x 8 features.*memoryLimit/);
  });

  it('validates matrices, CSR structure, transform options and weights(layer), naming the argument', async () => {
    const map = new NTKRandomFeatures(ok);
    await expectRowInputChecks(map, X);
    expect(() => map.weights(1)).toThrow(/layer must be an integer in \[0, 0\]/);
    expect(() => map.weights('0' as never)).toThrow(TypeError);
    // The map is untouched by failed calls.
    expect(map.transformSync(X).data).toEqual(new NTKRandomFeatures(ok).transformSync(X).data);
  });
});
