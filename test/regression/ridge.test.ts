import { describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { KernelRidgeRegression, RidgeRegression, argmaxRows, oneHot, ntkKernelSync, setThreads } from '../../src/index.js';
import { ab, atb, denseSolve, maxAbs, maxAbsDiff, randomMatrix, rng } from '../reference/dense-solve.js';
import { mat } from '../helpers/matrices.js';

/** Dense reference: W = (Phi^T Phi + lambda I)^-1 Phi^T Y. */
function referenceRidge(phi: Float64Array, y: Float64Array, n: number, m: number, k: number, lambda: number) {
  const a = atb(phi, phi, n, m, m);
  for (let i = 0; i < m; i++) a[i * m + i] += lambda;
  return denseSolve(a, atb(phi, y, n, m, k), m, k);
}

describe('RidgeRegression', () => {
  const n = 300, m = 40, k = 3;
  const phi = randomMatrix(n, m, 1);
  const wTrue = randomMatrix(m, k, 2);
  const noise = randomMatrix(n, k, 3);
  const y = ab(phi, wTrue, n, m, k).map((v, i) => v + 0.1 * noise[i]);

  it('matches a dense reference solve (multi-output, float64)', () => {
    const lambda = 0.5;
    const model = new RidgeRegression({ lambda }).fitSync(mat(phi, n, m), mat(y, n, k));
    const ref = referenceRidge(phi, y, n, m, k, lambda);
    expect(maxAbsDiff(model.coefficients().data, ref)).toBeLessThan(1e-10 * maxAbs(ref));
    const pred = model.predictSync(mat(phi, n, m));
    expect(maxAbsDiff(pred.data, ab(phi, ref, n, m, k))).toBeLessThan(1e-9);
    // The fit recovers the generating weights up to the noise level.
    expect(maxAbsDiff(model.coefficients().data, wTrue)).toBeLessThan(0.05);
  });

  it('accumulates float32 features in float64', () => {
    const phi32 = Float32Array.from(phi);
    const y32 = Float32Array.from(y);
    const lambda = 0.5;
    const model = new RidgeRegression({ lambda }).fitSync(mat(phi32, n, m), mat(y32, n, k));
    const ref = referenceRidge(Float64Array.from(phi32), Float64Array.from(y32), n, m, k, lambda);
    // Same float32 inputs, float64 arithmetic: agreement to float64 precision.
    expect(maxAbsDiff(model.coefficients().data, ref)).toBeLessThan(1e-10 * maxAbs(ref));
  });

  it('partialFit over batches equals one fit', () => {
    const lambda = 0.1;
    const whole = new RidgeRegression({ lambda }).fitSync(mat(phi, n, m), mat(y, n, k));
    const streamed = new RidgeRegression({ lambda });
    for (const [r0, r1] of [[0, 1], [1, 100], [100, 257], [257, 300]]) {
      streamed.partialFitSync(mat(phi.subarray(r0 * m, r1 * m), r1 - r0, m), mat(y.subarray(r0 * k, r1 * k), r1 - r0, k));
    }
    expect(streamed.samples).toBe(n);
    expect(maxAbsDiff(streamed.coefficients().data, whole.coefficients().data)).toBeLessThan(1e-10);
  });

  it('gives bit-identical weights and predictions for any thread count', () => {
    // 600 features: several 256-wide tiles of the Gram matrix.
    const rows = 700, cols = 600;
    const x = randomMatrix(rows, cols, 41);
    const t = randomMatrix(rows, 2, 42);
    const fit = (threads: number) => {
      setThreads(threads);
      try {
        const model = new RidgeRegression({ lambda: 1 }).fitSync(mat(x, rows, cols), mat(t, rows, 2));
        return { w: model.coefficients().data, p: model.predictSync(mat(x, rows, cols)).data };
      } finally {
        setThreads(0);
      }
    };
    const one = fit(1), two = fit(2);
    expect(Buffer.compare(Buffer.from(one.w.buffer), Buffer.from(two.w.buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(one.p.buffer), Buffer.from(two.p.buffer))).toBe(0);
  });

  it('accepts a 1-D target vector and ndarray views', () => {
    const y1 = new Float64Array(n);
    for (let i = 0; i < n; i++) y1[i] = y[i * k];
    const model = new RidgeRegression({ lambda: 1 }).fitSync(ndarray(phi, [n, m]), ndarray(y1, [n]));
    const ref = referenceRidge(phi, y1, n, m, 1, 1);
    expect(maxAbsDiff(model.coefficients().data, ref)).toBeLessThan(1e-10);
    // A transposed (non-contiguous) view of Phi^T gives the same model.
    const phiT = new Float64Array(m * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) phiT[j * n + i] = phi[i * m + j];
    const viaView = new RidgeRegression({ lambda: 1 }).fitSync(ndarray(phiT, [m, n]).transpose(1, 0), ndarray(y1, [n]));
    expect(maxAbsDiff(viaView.coefficients().data, ref)).toBeLessThan(1e-10);
  });

  it('async forms equal sync forms and reject bad input', async () => {
    const a = new RidgeRegression({ lambda: 0.3 }).fitSync(mat(phi, n, m), mat(y, n, k));
    const b = await new RidgeRegression({ lambda: 0.3 }).fit(mat(phi, n, m), mat(y, n, k));
    expect(Array.from(b.coefficients().data)).toEqual(Array.from(a.coefficients().data));
    expect(Array.from((await b.predict(mat(phi, n, m))).data)).toEqual(Array.from(a.predictSync(mat(phi, n, m)).data));
    await expect(new RidgeRegression().fit(mat(phi, n, m), mat(y, n - 1, k))).rejects.toThrow(RangeError);
    await expect(b.predict(mat(phi, n / 2, m).data as never)).rejects.toThrow(TypeError);
  });

  it('selects lambda on a validation split from one eigendecomposition', () => {
    // Few noisy rows: a tiny lambda overfits, a huge one underfits.
    const nt = 60, nv = 200, mm = 50;
    const r = rng(9);
    const w = Float64Array.from({ length: mm }, () => r.normal());
    const make = (rows: number, seed: number) => {
      const x = randomMatrix(rows, mm, seed);
      const t = ab(x, w, rows, mm, 1).map((v) => v + 2 * r.normal());
      return { x, t };
    };
    const train = make(nt, 10), val = make(nv, 11);
    const model = new RidgeRegression().fitSync(mat(train.x, nt, mm), mat(train.t, nt, 1));
    const lambdas = [1e-4, 1e-2, 1, 10, 30, 100, 1e4, 1e6];
    const scores = model.selectLambdaSync(mat(val.x, nv, mm), mat(val.t, nv, 1), { lambdas, metric: 'mse' });
    expect(scores.map((s) => s.lambda)).toEqual(lambdas);
    // Each path score equals the validation MSE of a direct solve with that lambda.
    for (const s of scores) {
      const wl = referenceRidge(train.x, train.t, nt, mm, 1, s.lambda);
      const pv = ab(val.x, wl, nv, mm, 1);
      let mse = 0;
      for (let i = 0; i < nv; i++) mse += (pv[i] - val.t[i]) ** 2;
      expect(s.score).toBeCloseTo(mse / nv, 8);
    }
    const best = scores.reduce((p, c) => (c.score < p.score ? c : p));
    expect(model.lambda).toBe(best.lambda);
    // One Cholesky per lambda scores the same path.
    const viaCholesky = new RidgeRegression().fitSync(mat(train.x, nt, mm), mat(train.t, nt, 1))
      .selectLambdaSync(mat(val.x, nv, mm), mat(val.t, nv, 1), { lambdas, metric: 'mse', solver: 'cholesky' });
    viaCholesky.forEach((s, i) => expect(s.score).toBeCloseTo(scores[i].score, 8));
    expect(() => model.selectLambdaSync(mat(val.x, nv, mm), mat(val.t, nv, 1), { solver: 'qr' as never })).toThrow(/solver/);
    expect(best.lambda).toBeGreaterThan(1e-4);
    expect(best.lambda).toBeLessThan(1e6);
    // The model then predicts with the chosen lambda.
    const ref = referenceRidge(train.x, train.t, nt, mm, 1, best.lambda);
    expect(maxAbsDiff(model.coefficients().data, ref)).toBeLessThan(1e-8 * maxAbs(ref));
  });

  it('refuses a singular or ill-conditioned system instead of returning NaN', () => {
    // Rank-deficient: a duplicated column.
    const rows = 50, cols = 6;
    const x = randomMatrix(rows, cols, 4);
    for (let i = 0; i < rows; i++) x[i * cols + 5] = x[i * cols + 4];
    const t = randomMatrix(rows, 1, 5);
    expect(() => new RidgeRegression({ lambda: 0 }).fitSync(mat(x, rows, cols), mat(t, rows, 1))).toThrow(/lambda/);
    expect(() => new RidgeRegression({ lambda: 0 }).fitSync(mat(x, rows, cols), mat(t, rows, 1))).toThrow(RangeError);
    // Nearly collinear columns with a negligible lambda: ill-conditioned.
    const y2 = Float64Array.from(x);
    for (let i = 0; i < rows; i++) y2[i * cols + 5] = x[i * cols + 4] * (1 + 1e-12 * (i % 3));
    expect(() => new RidgeRegression({ lambda: 1e-300 }).fitSync(mat(y2, rows, cols), mat(t, rows, 1))).toThrow(/lambda/);
    // The documented remedy works: a real lambda gives finite weights.
    const ok = new RidgeRegression({ lambda: 1e-3 }).fitSync(mat(x, rows, cols), mat(t, rows, 1));
    expect(ok.coefficients().data.every(Number.isFinite)).toBe(true);
  });

  it('round-trips through toJSON / fromJSON and refuses corrupted documents', () => {
    const model = new RidgeRegression({ lambda: 0.2 }).fitSync(mat(phi, n, m), mat(y, n, k));
    const restored = RidgeRegression.fromJSON(JSON.parse(JSON.stringify(model)));
    expect(Array.from(restored.predictSync(mat(phi, n, m)).data)).toEqual(Array.from(model.predictSync(mat(phi, n, m)).data));
    const doc = model.toJSON();
    expect(() => RidgeRegression.fromJSON({ ...doc, format: 'other' })).toThrow(TypeError);
    expect(() => RidgeRegression.fromJSON({ ...doc, version: 2 })).toThrow(/version/);
    expect(() => RidgeRegression.fromJSON({ ...doc, weights: doc.weights.slice(1) })).toThrow(/weights/);
    expect(() => RidgeRegression.fromJSON({ ...doc, weights: doc.weights.map(() => null) })).toThrow(RangeError);
    expect(() => RidgeRegression.fromJSON(null)).toThrow(TypeError);
    expect(() => restored.partialFitSync(mat(phi, n, m), mat(y, n, k))).not.toThrow();
  });

  it('validates its arguments', () => {
    expect(() => new RidgeRegression({ lambda: -1 })).toThrow(/lambda/);
    expect(() => new RidgeRegression({ lambda: '1' as never })).toThrow(TypeError);
    expect(() => new RidgeRegression({ lamda: 1 } as never)).toThrow(/lamda/);
    const model = new RidgeRegression({ lambda: 1 });
    expect(() => model.predictSync(mat(phi, n, m))).toThrow(/fit/);
    expect(() => model.fitSync(mat(phi, n, m), mat(y, n - 3, k))).toThrow(/Y/);
    const bad = Float64Array.from(phi);
    bad[17] = NaN;
    expect(() => model.fitSync(mat(bad, n, m), mat(y, n, k))).toThrow(/Phi.*finite/);
    model.partialFitSync(mat(phi, n, m), mat(y, n, k));
    expect(() => model.partialFitSync(mat(phi.subarray(0, 10 * (m - 1)), 10, m - 1), mat(y.subarray(0, 10 * k), 10, k))).toThrow(/Phi must have 40 columns/);
    expect(() => model.predictSync(mat(phi.subarray(0, 2 * (m - 1)), 2, m - 1))).toThrow(RangeError);
    expect(() => new RidgeRegression({ memoryLimit: 1000 }).fitSync(mat(phi, n, m), mat(y, n, k))).toThrow(/memoryLimit/);
  });
});

describe('KernelRidgeRegression', () => {
  // An exact NTK on a small regression problem: the kernel comes from the library, the solve is checked densely.
  const n = 80, d = 5, k = 2;
  const x = randomMatrix(n, d, 21);
  const y = randomMatrix(n, k, 22);
  const K = ntkKernelSync(mat(x, n, d), null, { depth: 2, output: 'ntk' }).ntk;

  it('matches a dense reference solve of (K + lambda I) W = Y', () => {
    const lambda = 0.05;
    const model = new KernelRidgeRegression({ lambda }).fitSync(K, mat(y, n, k));
    const a = Float64Array.from(K.data);
    for (let i = 0; i < n; i++) a[i * n + i] += lambda;
    const ref = denseSolve(a, y, n, k);
    expect(maxAbsDiff(model.coefficients().data, ref)).toBeLessThan(1e-8 * maxAbs(ref));
    // Predicting the training points: K W = Y - lambda W.
    const pred = model.predictSync(K);
    const expected = y.map((v, i) => v - lambda * ref[i]);
    expect(maxAbsDiff(pred.data, expected)).toBeLessThan(1e-8);
  });

  it('the lambda path scores (eigen and cholesky) equal direct solves and predictions at each lambda', () => {
    const nv = 30;
    const xv = randomMatrix(nv, d, 23), yv = randomMatrix(nv, k, 24);
    const Kv = ntkKernelSync(mat(xv, nv, d), mat(x, n, d), { depth: 2, output: 'ntk' }).ntk;
    const lambdas = [1e-4, 1e-3, 1e-2, 0.1, 1, 10];
    for (const solver of ['eigen', 'cholesky'] as const) {
      const model = new KernelRidgeRegression();
      const scores = model.selectLambdaSync(K, mat(y, n, k), Kv, mat(yv, nv, k), { lambdas, metric: 'mse', solver });
      scores.forEach(({ lambda, score }) => {
        // Direct: (K + lambda I) W = Y by a dense solve, predictions Kv W, their mean squared error.
        const a = Float64Array.from(K.data);
        for (let i = 0; i < n; i++) a[i * n + i] += lambda;
        const w = denseSolve(a, y, n, k);
        const pred = ab(Kv.data, w, nv, n, k);
        let mse = 0;
        for (let i = 0; i < nv * k; i++) mse += (pred[i] - yv[i]) ** 2;
        mse /= nv * k;
        expect(Math.abs(score - mse), `${solver} lambda ${lambda}`).toBeLessThan(1e-9 * mse);
      });
      // The model keeps the best lambda, solved: its predictions are the direct ones at that lambda.
      const best = scores.reduce((p, q) => (q.score < p.score ? q : p));
      expect(model.lambda).toBe(best.lambda);
    }
  });

  it('chooses lambda for classification by validation accuracy', async () => {
    // Two Gaussian blobs; labels as one-hot targets.
    const r = rng(5);
    const make = (rows: number) => {
      const xs = new Float64Array(rows * d);
      const labels = new Int32Array(rows);
      for (let i = 0; i < rows; i++) {
        labels[i] = i % 2;
        for (let j = 0; j < d; j++) xs[i * d + j] = r.normal() + (labels[i] ? 1.5 : -1.5) * (j === 0 ? 1 : 0) + 3;
      }
      return { xs, labels };
    };
    const train = make(120), val = make(60);
    const Ktr = ntkKernelSync(mat(train.xs, 120, d), null, { depth: 1, output: 'ntk' }).ntk;
    const Kval = ntkKernelSync(mat(val.xs, 60, d), mat(train.xs, 120, d), { depth: 1, output: 'ntk' }).ntk;
    const model = new KernelRidgeRegression();
    const scores = await model.selectLambda(Ktr, oneHot(train.labels, 2), Kval, oneHot(val.labels, 2), { metric: 'accuracy' });
    expect(scores.length).toBe(9);
    const best = Math.max(...scores.map((s) => s.score));
    expect(best).toBeGreaterThan(0.85);
    const labels = argmaxRows(await model.predict(Kval));
    const acc = labels.reduce((s, l, i) => s + (l === val.labels[i] ? 1 : 0), 0) / 60;
    expect(acc).toBeCloseTo(best, 10);
  });

  it('never selects a lambda that the solve would then refuse', () => {
    // A rank-2 kernel: lambda = 1e-12 makes K + lambda I numerically singular.
    const nn = 50;
    const f = randomMatrix(nn, 2, 31);
    const Kr = ab(f, Array.from({ length: 2 * nn }, (_, i) => f[(i % nn) * 2 + Math.floor(i / nn)]), nn, 2, nn);
    const t = randomMatrix(nn, 1, 32);
    const model = new KernelRidgeRegression();
    const scores = model.selectLambdaSync(mat(Kr, nn, nn), mat(t, nn, 1), mat(Kr, nn, nn), mat(t, nn, 1), { lambdas: [1e-12, 1e-2] });
    expect(scores[0].score).toBe(Infinity);
    expect(model.lambda).toBe(1e-2);
    expect(model.predictSync(mat(Kr, nn, nn)).data.every(Number.isFinite)).toBe(true);
    expect(() => model.selectLambdaSync(mat(Kr, nn, nn), mat(t, nn, 1), mat(Kr, nn, nn), mat(t, nn, 1), { lambdas: [1e-14] })).toThrow(RangeError);
  });

  it('validates its arguments', () => {
    expect(() => new KernelRidgeRegression({ lambda: 1 }).fitSync(mat(x, n, d), mat(y, n, k))).toThrow(/K must be a square/);
    expect(() => new KernelRidgeRegression({ lambda: 1 }).fitSync(K, mat(y.subarray(0, (n - 1) * k), n - 1, k))).toThrow(/Y must have one row/);
    const model = new KernelRidgeRegression({ lambda: 1 }).fitSync(K, mat(y, n, k));
    expect(() => model.predictSync(mat(x, n, d))).toThrow(/Ktest must have 80 columns/);
    expect(() => oneHot([0, 3], 3)).toThrow(/labels\[1\]/);
    expect(() => new KernelRidgeRegression().selectLambdaSync(K, mat(y, n, k), K, mat(y, n, k), { lambdas: [-1] })).toThrow(/lambdas\[0\]/);
  });
});
