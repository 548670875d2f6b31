import { describe, expect, it } from 'vitest';
import {
  arcCosinePolynomial,
  countSketch,
  evaluatePolynomial,
  layerLowerBounds,
  polyKernelSketch,
  polySketch,
  srht,
  tensorSrht,
  walshHadamard,
} from '../../src/sketches/primitives.js';
import { rng } from '../reference/dense-solve.js';

const k0 = (t: number) => (Math.PI - Math.acos(t)) / Math.PI;
const k1 = (t: number) => (Math.sqrt((1 - t) * (1 + t)) + t * (Math.PI - Math.acos(t))) / Math.PI;

function dot(a: ArrayLike<number>, b: ArrayLike<number>, aOff = 0, bOff = 0, len = a.length): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[aOff + i] * b[bOff + i];
  return s;
}

/** Two unit vectors of dimension d with cosine `cos` (random otherwise). */
function unitPair(d: number, cos: number, seed: number): Float64Array {
  const r = rng(seed);
  const a = Array.from({ length: d }, () => r.normal());
  const b = Array.from({ length: d }, () => r.normal());
  const na = Math.sqrt(dot(a, a));
  const u = a.map((v) => v / na);
  const proj = dot(b, u);
  const w = b.map((v, i) => v - proj * u[i]);
  const nw = Math.sqrt(dot(w, w));
  const out = new Float64Array(2 * d);
  for (let i = 0; i < d; i++) {
    out[i] = u[i];
    out[d + i] = cos * u[i] + Math.sqrt(1 - cos * cos) * (w[i] / nw);
  }
  return out;
}

interface Stats {
  mean: number;
  variance: number;
  /** Standard error of the mean. */
  se: number;
}

function stats(values: number[]): Stats {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, variance, se: Math.sqrt(variance / n) };
}

/** Mean and variance over `seeds` sketches of <S x, S y> for the two rows of a 2 x w result. */
function innerProducts(seeds: number, sketch: (seed: number) => ArrayLike<number>, width: number, offset = 0, len = width) {
  const values: number[] = [];
  for (let s = 0; s < seeds; s++) {
    const out = sketch(1000 + s);
    values.push(dot(out, out, offset, width + offset, len));
  }
  return stats(values);
}

/**
 * Unbiasedness and the 1/m variance law: the mean over seeds lies within
 * 5 standard errors of the target, and the variance falls by about 4 when m
 * grows 4x (2.5..6.5 allows for the sampling error of a variance).
 */
function expectUnbiased(small: Stats, large: Stats, target: number) {
  expect(Math.abs(small.mean - target)).toBeLessThan(5 * small.se + 1e-12);
  expect(Math.abs(large.mean - target)).toBeLessThan(5 * large.se + 1e-12);
  const ratio = small.variance / large.variance;
  expect(ratio).toBeGreaterThan(2.5);
  expect(ratio).toBeLessThan(6.5);
}

const SEEDS = 1500;

describe('fast Walsh–Hadamard transform', () => {
  it('equals the explicit +-1 Hadamard matrix (float64 and float32, n = 1..256)', () => {
    for (const n of [1, 2, 4, 8, 16, 64, 256]) {
      const r = rng(n);
      const x = Float64Array.from({ length: 2 * n }, () => r.normal());
      for (const data of [x, Float32Array.from(x)]) {
        const hx = walshHadamard({ data, shape: [2, n] }).data;
        for (let row = 0; row < 2; row++) {
          for (let i = 0; i < n; i++) {
            let s = 0;
            for (let j = 0; j < n; j++) {
              let bits = i & j, parity = 0;
              while (bits) {
                parity ^= bits & 1;
                bits >>= 1;
              }
              s += (parity ? -1 : 1) * data[row * n + j];
            }
            const tol = data instanceof Float32Array ? 1e-5 * Math.sqrt(n) * 4 : 1e-12 * n;
            expect(Math.abs(hx[row * n + i] - s)).toBeLessThan(tol);
          }
        }
      }
    }
  });

  it('is bit-identical to the plain radix-2 transform, stages by increasing stride (float64 and float32, n = 1..2^16)', () => {
    // The vectorised transform (in-register stages, radix-8 passes, cache
    // blocks) must do exactly the same additions in the same order.
    const reference = (x: Float64Array, f32: boolean) => {
      const y = Float64Array.from(x);
      const round = f32 ? Math.fround : (v: number) => v;
      for (let h = 1; h < y.length; h *= 2) {
        for (let i = 0; i < y.length; i += 2 * h) {
          for (let j = i; j < i + h; j++) {
            const a = y[j], b = y[j + h];
            y[j] = round(a + b);
            y[j + h] = round(a - b);
          }
        }
      }
      return y;
    };
    for (let k = 0; k <= 16; k++) {
      const n = 2 ** k;
      const r = rng(100 + k);
      const x = Float64Array.from({ length: n }, () => r.normal());
      for (const data of [x, Float32Array.from(x)]) {
        const f32 = data instanceof Float32Array;
        const hx = walshHadamard({ data, shape: [1, n] }).data;
        const ref = reference(Float64Array.from(data), f32);
        let same = true;
        for (let i = 0; i < n && same; i++) same = hx[i] === ref[i];
        expect(same, `n = ${n}, ${f32 ? 'float32' : 'float64'}`).toBe(true);
      }
    }
  });

  it('is an involution up to n for a long vector (blocked stages, n = 2^15)', () => {
    const n = 1 << 15;
    const r = rng(3);
    const x = Float64Array.from({ length: n }, () => r.normal());
    const hhx = walshHadamard({ data: walshHadamard({ data: x, shape: [1, n] }).data, shape: [1, n] }).data;
    let err = 0;
    for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(hhx[i] / n - x[i]));
    expect(err).toBeLessThan(1e-12);
  });
});

describe('CountSketch', () => {
  it('sends each coordinate to one bucket with sign +-1, and the same seed gives the same map', () => {
    const d = 50, m = 16;
    const eye = new Float64Array(d * d);
    for (let i = 0; i < d; i++) eye[i * d + i] = 1;
    const s = countSketch({ data: eye, shape: [d, d] }, { outDim: m, seed: 7 }).data;
    for (let i = 0; i < d; i++) {
      const row = Array.from(s.subarray(i * m, (i + 1) * m));
      expect(row.filter((v) => v !== 0)).toHaveLength(1);
      expect(Math.abs(row.find((v) => v !== 0) as number)).toBe(1);
    }
    expect(countSketch({ data: eye, shape: [d, d] }, { outDim: m, seed: 7 }).data).toEqual(s);
    expect(countSketch({ data: eye, shape: [d, d] }, { outDim: m, seed: 8 }).data).not.toEqual(s);
  });

  it('gives the same result for CSR input as for the dense matrix, and checks CSR indices', () => {
    const csr = { indptr: [0, 2, 2, 3], indices: [1, 3, 0], data: [1.5, -2, 3], shape: [3, 4] };
    const dense = { data: Float64Array.from([0, 1.5, 0, -2, 0, 0, 0, 0, 3, 0, 0, 0]), shape: [3, 4] };
    expect(countSketch(csr, { outDim: 8, seed: 1 }).data).toEqual(countSketch(dense, { outDim: 8, seed: 1 }).data);
    expect(() => countSketch({ ...csr, indices: [1, 4, 0] }, { outDim: 8 })).toThrow(/X.indices\[1\] = 4 is out of range/);
  });

  it('is unbiased with variance (|x|^2 |y|^2 + <x,y>^2 - 2 sum x_i^2 y_i^2) / m', () => {
    const d = 40, cos = 0.6;
    const xy = unitPair(d, cos, 11);
    let cross = 0;
    for (let i = 0; i < d; i++) cross += xy[i] ** 2 * xy[d + i] ** 2;
    const run = (m: number) => innerProducts(SEEDS, (seed) => countSketch({ data: xy, shape: [2, d] }, { outDim: m, seed }).data, m);
    const small = run(8), large = run(32);
    expectUnbiased(small, large, cos);
    for (const [s, m] of [[small, 8], [large, 32]] as const) {
      const exact = (1 + cos * cos - 2 * cross) / m;
      expect(s.variance / exact).toBeGreaterThan(0.85);
      expect(s.variance / exact).toBeLessThan(1.15);
    }
  });
});

describe('SRHT', () => {
  it('maps e_0 to +-1/sqrt(m) entries of one sign (H D e_0 = s_0 (1, ..., 1))', () => {
    const d = 20, m = 12;
    const e0 = new Float64Array(d);
    e0[0] = 1;
    const s = srht({ data: e0, shape: [1, d] }, { outDim: m, seed: 5 }).data;
    for (const v of s) expect(v).toBeCloseTo(s[0], 15);
    expect(Math.abs(s[0])).toBeCloseTo(1 / Math.sqrt(m), 15);
  });

  it('is unbiased, variance ~ 1/m (expanding and reducing), CSR = dense', () => {
    for (const [d, cos] of [[48, 0.5], [300, -0.3]] as const) {
      const xy = unitPair(d, cos, 21);
      const run = (m: number) => innerProducts(SEEDS, (seed) => srht({ data: xy, shape: [2, d] }, { outDim: m, seed }).data, m);
      expectUnbiased(run(16), run(64), cos);
    }
    const csr = { indptr: Int32Array.from([0, 2]), indices: Int32Array.from([3, 17]), data: Float32Array.from([2, -1]), shape: [1, 30] };
    const dense = new Float32Array(30);
    dense[3] = 2;
    dense[17] = -1;
    expect(srht(csr, { outDim: 40, seed: 9 }).data).toEqual(srht({ data: dense, shape: [1, 30] }, { outDim: 40, seed: 9 }).data);
  });
});

describe('TensorSRHT', () => {
  it('is unbiased for <x,x><y,y> products with variance ~ 1/m', () => {
    const da = 24, db = 40;
    const x = unitPair(da, 0.7, 31); // rows x, x'
    const y = unitPair(db, -0.4, 32); // rows y, y'
    const run = (m: number) =>
      innerProducts(SEEDS, (seed) => tensorSrht({ data: x, shape: [2, da] }, { data: y, shape: [2, db] }, { outDim: m, seed }).data, m);
    expectUnbiased(run(16), run(64), 0.7 * -0.4);
  });
});

describe('PolySketch', () => {
  it('E <Q_j x, Q_j y> = <x,y>^j for every j = 1..4 at once, variance ~ 1/m', () => {
    const d = 20, cos = 0.8, p = 4;
    const xy = unitPair(d, cos, 41);
    const results = (m: number) => {
      const per: number[][] = Array.from({ length: p }, () => []);
      for (let s = 0; s < SEEDS; s++) {
        const out = polySketch({ data: xy, shape: [2, d] }, { degree: p, sketchDim: m, seed: 5000 + s }).data;
        for (let j = 0; j < p; j++) per[j].push(dot(out, out, j * m, p * m + j * m, m));
      }
      return per.map(stats);
    };
    const small = results(32), large = results(128);
    for (let j = 0; j < p; j++) expectUnbiased(small[j], large[j], cos ** (j + 1));
  });

  it('starts from a CountSketch when d > m, so CSR input costs O(nnz) and equals dense', () => {
    const d = 5000, m = 64;
    const csr = { indptr: [0, 3, 5], indices: [2, 999, 4000, 7, 4000], data: [0.5, -1, 2, 1, 1], shape: [2, d] };
    const dense = new Float64Array(2 * d);
    dense[2] = 0.5;
    dense[999] = -1;
    dense[4000] = 2;
    dense[d + 7] = 1;
    dense[d + 4000] = 1;
    const a = polySketch(csr, { degree: 4, sketchDim: m, seed: 3 }).data;
    const b = polySketch({ data: dense, shape: [2, d] }, { degree: 4, sketchDim: m, seed: 3 }).data;
    expect(a).toEqual(b);
    // Unbiased through the CountSketch leaves too: <x,y> = 2, |x|^2 = 5.25.
    const st = [1, 2].map((j) => {
      const v: number[] = [];
      for (let s = 0; s < 800; s++) {
        const out = polySketch(csr, { degree: 2, sketchDim: 256, seed: 90000 + s }).data;
        v.push(dot(out, out, (j - 1) * 256, 512 + (j - 1) * 256, 256));
      }
      return stats(v);
    });
    expect(Math.abs(st[0].mean - 2)).toBeLessThan(5 * st[0].se);
    expect(Math.abs(st[1].mean - 4)).toBeLessThan(5 * st[1].se);
  });
});

describe('polynomial kernel sketch', () => {
  it('E <phi x, phi y> = P(<x,y>), zero coefficients cost no block, SRHT to m keeps it unbiased', () => {
    const d = 30, cos = 0.45, m = 32;
    const coefficients = [0.2, 0.3, 0, 0.1, 0.4];
    const xy = unitPair(d, cos, 51);
    const target = evaluatePolynomial(coefficients, cos);
    const packed = polyKernelSketch({ data: xy, shape: [2, d] }, { coefficients, sketchDim: m, seed: 1 });
    // [sqrt(c0), Q1 (m - 1 rows), Q3, Q4]: 3 blocks of m, the constant exact.
    expect(packed.shape).toEqual([2, 3 * m]);
    expect(packed.data[0]).toBeCloseTo(Math.sqrt(0.2), 15);
    const runPacked = (mm: number) =>
      innerProducts(800, (seed) => polyKernelSketch({ data: xy, shape: [2, d] }, { coefficients, sketchDim: mm, seed }).data, 3 * mm);
    expectUnbiased(runPacked(16), runPacked(64), target);
    const runSrht = (out: number) =>
      innerProducts(800, (seed) => polyKernelSketch({ data: xy, shape: [2, d] }, { coefficients, sketchDim: 64, outDim: out, seed }).data, out);
    const s = runSrht(64);
    expect(Math.abs(s.mean - target)).toBeLessThan(5 * s.se);
  });

  it('rejects bad coefficients and options, naming them', () => {
    const X = { data: new Float64Array(4), shape: [1, 4] };
    expect(() => polyKernelSketch(X, { coefficients: [0.5, -0.1], sketchDim: 8 })).toThrow(/coefficients\[1\]/);
    expect(() => polyKernelSketch(X, { coefficients: [0, 0], sketchDim: 8 })).toThrow(RangeError);
    expect(() => polyKernelSketch(X, { coefficients: 'x' as never, sketchDim: 8 })).toThrow(TypeError);
    expect(() => polySketch(X, { degree: 3, sketchDim: 8 })).toThrow(/power of two/);
    expect(() => srht(X, { outDim: 0 })).toThrow(/outDim/);
    expect(() => srht(X, { outDim: 4, seed: -1 })).toThrow(/seed/);
    expect(() => srht(X, { outDim: 4, rows: 2 } as never)).toThrow(/rows is not a known option/);
    expect(() => countSketch({ indptr: [0, 1], indices: [0], data: [NaN], shape: [1, 4] }, { outDim: 2 })).toThrow(/X.data must contain only finite/);
  });
});

describe('arc-cosine polynomial approximations', () => {
  const lowers = Array.from(layerLowerBounds(3));
  const maxError = (c: Float64Array, f: (t: number) => number, lower: number) => {
    let e = 0;
    for (let i = 0; i <= 4000; i++) {
      const t = lower + ((1 - lower) * i) / 4000;
      e = Math.max(e, Math.abs(evaluatePolynomial(c, t) - f(t)));
    }
    return e;
  };

  it('layer intervals: alpha_0 = -1, alpha_h = k1(alpha_(h-1))', () => {
    expect(lowers[0]).toBe(-1);
    expect(lowers[1]).toBeCloseTo(0, 15);
    expect(lowers[2]).toBeCloseTo(1 / Math.PI, 15);
  });

  it('Taylor: the series with the tail folded into the top term: c >= 0, P(1) = 1, P(-1) = k(-1)', () => {
    for (let q = 2; q <= 16; q++) {
      const c0 = arcCosinePolynomial('k0', { degree: q, approximation: 'taylor' });
      const c1 = arcCosinePolynomial('k1', { degree: q, approximation: 'taylor' });
      const top0 = q % 2 === 1 ? q : q - 1;
      const top1 = q % 2 === 0 ? q : q - 1;
      let a = 1; // (2k)! / (4^k k!^2)
      for (let k = 0; 2 * k + 1 <= q; k++) {
        if (k > 0) a *= (2 * k - 1) / (2 * k);
        if (2 * k + 1 < top0) expect(c0[2 * k + 1]).toBeCloseTo(a / (Math.PI * (2 * k + 1)), 15);
        if (2 * k + 2 < top1) expect(c1[2 * k + 2]).toBeCloseTo(a / (Math.PI * (2 * k + 1) * (2 * k + 2)), 15);
      }
      expect(c0[0]).toBe(0.5);
      expect(c1[0]).toBeCloseTo(1 / Math.PI, 15);
      for (const c of [c0, c1]) {
        expect(c.every((v) => v >= 0)).toBe(true);
        expect(Math.abs(evaluatePolynomial(c, 1) - 1)).toBeLessThan(1e-15);
        expect(Math.abs(evaluatePolynomial(c, -1))).toBeLessThan(1e-15);
      }
    }
  });

  it('measured maximum errors: Taylor k0 <= 0.125/sqrt(q0), k1 <= 0.04/q1^1.5; NNLS <= 0.9 x Taylor for q >= 3', () => {
    // k0 ~ 1 - sqrt(2(1-t))/pi and k1 ~ (1-t)^(3/2) terms at t = 1 make the
    // error decay like q^-1/2 and q^-3/2. Measured (q = 4, [-1, 1]): Taylor
    // k0 0.0627, k1 0.0025; NNLS k0 0.0507, k1 0.0013.
    for (const q of [2, 3, 4, 6, 8, 12, 16]) {
      for (const lower of lowers) {
        const t0 = maxError(arcCosinePolynomial('k0', { degree: q, approximation: 'taylor' }), k0, lower);
        const t1 = maxError(arcCosinePolynomial('k1', { degree: q, approximation: 'taylor' }), k1, lower);
        // Effective degrees: the top odd (k0) or even (k1) power <= q.
        const q0 = q % 2 === 1 ? q : q - 1, q1 = q % 2 === 0 ? q : q - 1;
        expect(t0).toBeLessThan(0.125 / Math.sqrt(q0));
        expect(t1).toBeLessThan(0.04 / q1 ** 1.5);
        const n0 = arcCosinePolynomial('k0', { degree: q, approximation: 'nnls', lower });
        const n1 = arcCosinePolynomial('k1', { degree: q, approximation: 'nnls', lower });
        for (const c of [n0, n1]) {
          expect(c.every((v) => v >= 0)).toBe(true);
          expect(Math.abs(evaluatePolynomial(c, 1) - 1)).toBeLessThan(1e-14);
        }
        if (q >= 3) {
          expect(maxError(n0, k0, lower)).toBeLessThan(0.9 * t0);
          expect(maxError(n1, k1, lower)).toBeLessThan(0.9 * t1);
        }
      }
    }
  });

  it('validates its options', () => {
    expect(() => arcCosinePolynomial('k2' as never, { degree: 2 })).toThrow(/kernel/);
    expect(() => arcCosinePolynomial('k0', { degree: 0 })).toThrow(/degree/);
    expect(() => arcCosinePolynomial('k0', { degree: 2, approximation: 'remez' as never })).toThrow(/approximation/);
    expect(() => arcCosinePolynomial('k0', { degree: 2, lower: 1 })).toThrow(/lower/);
  });
});
