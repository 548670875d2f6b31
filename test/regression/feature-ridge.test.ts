// FeatureRidge against a dense float64 reference on the same features: the
// centred solve and intercept, the validation errors of the lambda path
// computed from statistics only (each against refitting and predicting the
// held-out rows directly), classification, batches, saving, bad input.
import { describe, expect, it } from 'vitest';
import { FeatureRidge, NTKSketch, NTKRandomFeatures, isValidationRow, loadDigits } from '../../src/index.js';
import { ab, atb, denseSolve, maxAbs, maxAbsDiff, randomMatrix } from '../reference/dense-solve.js';

const d = 6;
const n = 240;
const X = randomMatrix(n, d, 11);
/** A smooth target of the inputs, two outputs, with an offset the intercept must absorb. */
const Y = Float64Array.from({ length: n * 2 }, (_, i) => {
  const r = Math.floor(i / 2), t = i % 2;
  return 5 + Math.sin(X[r * d] + 2 * X[r * d + 1]) * (t + 1) + 0.3 * X[r * d + 2 + t];
});

function features(map: NTKSketch | NTKRandomFeatures, rows: Float64Array, count: number): Float64Array {
  return Float64Array.from(map.transformSync({ data: rows, shape: [count, d] }).data);
}

/** Ridge with an intercept on rows `idx` of phi (count x m): W, b by centring and a dense solve. */
function reference(phi: Float64Array, m: number, y: Float64Array, k: number, idx: number[], lambda: number) {
  const rows = idx.length;
  const p = new Float64Array(rows * m), t = new Float64Array(rows * k);
  idx.forEach((r, i) => {
    p.set(phi.subarray(r * m, (r + 1) * m), i * m);
    t.set(y.subarray(r * k, (r + 1) * k), i * k);
  });
  const mu = new Float64Array(m), ybar = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < m; j++) mu[j] += p[i * m + j] / rows;
    for (let s = 0; s < k; s++) ybar[s] += t[i * k + s] / rows;
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < m; j++) p[i * m + j] -= mu[j];
    for (let s = 0; s < k; s++) t[i * k + s] -= ybar[s];
  }
  const a = atb(p, p, rows, m, m);
  for (let j = 0; j < m; j++) a[j * m + j] += lambda;
  const w = denseSolve(a, atb(p, t, rows, m, k), m, k);
  const b = Float64Array.from(ybar, (v, s) => {
    let x = v;
    for (let j = 0; j < m; j++) x -= w[j * k + s] * mu[j];
    return x;
  });
  return { w, b };
}

function predictWith(phi: Float64Array, m: number, idx: number[], w: Float64Array, b: Float64Array, k: number): Float64Array {
  const p = new Float64Array(idx.length * m);
  idx.forEach((r, i) => p.set(phi.subarray(r * m, (r + 1) * m), i * m));
  const out = ab(p, w, idx.length, m, k);
  for (let i = 0; i < idx.length; i++) for (let s = 0; s < k; s++) out[i * k + s] += b[s];
  return out;
}

describe('FeatureRidge', () => {
  it('with a given lambda: the centred solve and intercept of a dense reference, from any batch split', async () => {
    const map = new NTKSketch({ inputDim: d, depth: 2, features: 64, seed: 3, dtype: 'float64' });
    const phi = features(map, X, n);
    const lambda = 0.05;
    const model = new FeatureRidge({ map, lambda });
    for (const [b, e] of [[0, 17], [17, 100], [100, n]]) {
      await model.partialFit({ data: X.subarray(b * d, e * d), shape: [e - b, d] }, { data: Y.subarray(b * 2, e * 2), shape: [e - b, 2] });
    }
    await model.solve();
    const all = Array.from({ length: n }, (_, i) => i);
    const ref = reference(phi, 64, Y, 2, all, lambda);
    const pred = (await model.predict({ data: X, shape: [n, d] })).data;
    const expected = predictWith(phi, 64, all, ref.w, ref.b, 2);
    expect(maxAbsDiff(pred, expected)).toBeLessThan(1e-8 * maxAbs(expected));
    // The intercept matters here (targets around 5): without it predictions are off.
    const plain = new FeatureRidge({ map, lambda, fitIntercept: false });
    await plain.partialFit({ data: X, shape: [n, d] }, { data: Y, shape: [n, 2] });
    await plain.solve();
    expect(maxAbsDiff((await plain.predict({ data: X, shape: [n, d] })).data, expected)).toBeGreaterThan(1e-3);
  });

  it('the validation errors of the lambda path (statistics only) equal refitting on the fit rows and predicting the held-out rows', async () => {
    const map = new NTKRandomFeatures({ inputDim: d, depth: 1, features: 48, seed: 2, dtype: 'float64' });
    const phi = features(map, X, n);
    const model = new FeatureRidge({ map, validation: 0.25, seed: 9, lambdas: [1e-4, 1e-2, 1] });
    await model.fit([{ X: { data: X, shape: [n, d] }, y: { data: Y, shape: [n, 2] } }]);
    const path = model.lambdaPath;
    expect(path).toHaveLength(3);
    const parts = splitOf(model);
    expect(parts.val.length).toBeGreaterThan(30);
    expect(parts.val.length).toBeLessThan(90);
    for (const { lambda, mse } of path) {
      const ref = reference(phi, 48, Y, 2, parts.fit, lambda);
      const pred = predictWith(phi, 48, parts.val, ref.w, ref.b, 2);
      let err = 0;
      parts.val.forEach((r, i) => {
        for (let s = 0; s < 2; s++) err += (pred[i * 2 + s] - Y[r * 2 + s]) ** 2;
      });
      expect(mse).toBeCloseTo(err / (parts.val.length * 2), 9);
    }
    // One Cholesky solve per lambda instead of the eigendecomposition: the same errors.
    const cholesky = new FeatureRidge({ map, validation: 0.25, seed: 9, lambdas: [1e-4, 1e-2, 1], solver: 'cholesky' });
    await cholesky.fit([{ X: { data: X, shape: [n, d] }, y: { data: Y, shape: [n, 2] } }]);
    cholesky.lambdaPath.forEach((p, i) => expect(p.mse).toBeCloseTo(path[i].mse, 9));
    expect(cholesky.lambda).toBe(model.lambda);
    // The chosen lambda is the best of the path, scaled to all rows.
    const best = path.reduce((x, y) => (y.mse < x.mse ? y : x));
    expect(model.lambda).toBeCloseTo((best.lambda * n) / parts.fit.length, 12);
  });

  it('the Krylov path: exact once the Krylov space is invariant, and the errors and choice of the eigen path on a 30-lambda path of digits', async () => {
    // 12 features: Lanczos exhausts the space (at most 12 steps) before its first check, so every lambda is solved exactly.
    const small = new NTKRandomFeatures({ inputDim: d, depth: 1, features: 12, seed: 2, dtype: 'float64' });
    const fitWith = async (solver: 'eigen' | 'krylov', map: NTKSketch | NTKRandomFeatures, options: { X: Float64Array; n: number; d: number; y: Float64Array; k: number; lambdas: number[] }) => {
      const model = new FeatureRidge({ map, validation: 0.25, seed: 3, lambdas: options.lambdas, solver });
      await model.fit([{ X: { data: options.X, shape: [options.n, options.d] }, y: { data: options.y, shape: [options.n, options.k] } }]);
      return model;
    };
    const lambdas = Array.from({ length: 30 }, (_, i) => 10 ** (-7 + (8 * i) / 29));
    const eig = await fitWith('eigen', small, { X, n, d, y: Y, k: 2, lambdas });
    const kry = await fitWith('krylov', small, { X, n, d, y: Y, k: 2, lambdas });
    expect(kry.lambdaPathInfo).toMatchObject({ solver: 'krylov', converged: true });
    expect(kry.lambdaPathInfo!.iterations).toBeLessThanOrEqual(12);
    expect(kry.lambdaPathInfo!.unsettled).toBe(0);
    kry.lambdaPath.forEach((p, i) => {
      const e = eig.lambdaPath[i].mse;
      if (e === Infinity) return;
      expect(Math.abs(p.mse - e)).toBeLessThan(1e-8 * e);
    });
    expect(kry.lambda).toBe(eig.lambda);
    // Digits through 1,024 features, ten one-hot outputs (1,024 features on ~1,350 fit rows: full rank, so the
    // smallest lambdas converge slowly): the Krylov path stops well before m steps, with the errors near the
    // least within a few times its stopping tolerance (1e-6 relative change) of the exact ones and the rest
    // (estimates still moving) clearly above the least.
    const ds = loadDigits();
    const map = new NTKSketch({ inputDim: 64, depth: 2, features: 1024, seed: 4, dtype: 'float64' });
    const onehot = new Float64Array(ds.rows * 10);
    for (let i = 0; i < ds.rows; i++) onehot[i * 10 + ds.labels[i]] = 1;
    const digits = { X: ds.X, n: ds.rows, d: 64, y: onehot, k: 10, lambdas };
    const exact = await fitWith('eigen', map, digits);
    const krylov = await fitWith('krylov', map, digits);
    const info = krylov.lambdaPathInfo!;
    expect(info.converged).toBe(true);
    expect(info.iterations).toBeLessThan(400);
    const least = Math.min(...exact.lambdaPath.map((p) => p.mse));
    let near = 0;
    krylov.lambdaPath.forEach((p, i) => {
      const e = exact.lambdaPath[i].mse;
      if (e === Infinity || p.mse === Infinity) return;
      if (e < 1.2 * least) {
        near++;
        expect(Math.abs(p.mse - e)).toBeLessThan(1e-4 * e);
      } else {
        expect(p.mse).toBeGreaterThan(1.1 * least);
      }
    });
    expect(near).toBeGreaterThan(3);
    expect(krylov.lambda).toBe(exact.lambda);
  });

  it('classifies digits: labels in order of first appearance, one-hot outputs, accuracy far above chance', async () => {
    const ds = loadDigits();
    const rows = 1200, test = ds.rows - rows;
    const map = new NTKSketch({ inputDim: 64, depth: 1, features: 256, seed: 1 });
    const model = new FeatureRidge({ map, task: 'classification', validation: 0.2 });
    // Labels as the digit plus 10: classes are label values, not indices.
    const labels = Float64Array.from(ds.labels, (l) => l + 10);
    await model.fit([0, 400, 800].map((b) => ({ X: { data: ds.X.subarray(b * 64, (b + 400) * 64), shape: [400, 64] }, y: labels.subarray(b, b + 400) })));
    expect(model.classes?.slice().sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(model.classes?.[0]).toBe(labels[0]);
    const pred = await model.predictLabels({ data: ds.X.subarray(rows * 64), shape: [test, 64] });
    let correct = 0;
    for (let i = 0; i < test; i++) correct += pred[i] === labels[rows + i] ? 1 : 0;
    expect(correct / test).toBeGreaterThan(0.95);
    // Saved and restored with the same map: the same predictions.
    const restored = FeatureRidge.fromJSON(JSON.stringify(model), map);
    expect(Array.from(await restored.predictLabels({ data: ds.X.subarray(rows * 64), shape: [test, 64] }))).toEqual(Array.from(pred));
  });

  it('refuses bad options, targets and documents, naming them', async () => {
    const map = new NTKSketch({ inputDim: d, depth: 1, features: 16 });
    expect(() => new FeatureRidge({ map: {} as never })).toThrow(/map must be a feature map/);
    expect(() => new FeatureRidge({ map, task: 'ranking' as never })).toThrow(/task must be 'regression' or 'classification'/);
    expect(() => new FeatureRidge({ map, lambda: 1, validation: 0.1 })).toThrow(/give lambda or validation, not both/);
    expect(() => new FeatureRidge({ map, validation: 0.9 })).toThrow(RangeError);
    expect(() => new FeatureRidge({ map, lambdas: [] })).toThrow(/lambdas must be a non-empty array/);
    const model = new FeatureRidge({ map, lambda: 1 });
    await expect(model.solve()).rejects.toThrow(/no rows to fit/);
    await expect(model.predict({ data: X, shape: [n, d] })).rejects.toThrow(/has not been fitted/);
    await expect(model.partialFit({ data: X.subarray(0, 2 * d), shape: [2, d] }, [1, 2, 3])).rejects.toThrow(/one row per row of X/);
    await expect(model.partialFit({ data: X.subarray(0, 2 * d), shape: [2, d] }, [1, NaN])).rejects.toThrow(/finite/);
    await model.partialFit({ data: X.subarray(0, 2 * d), shape: [2, d] }, { data: [1, 2, 3, 4], shape: [2, 2] });
    await expect(model.partialFit({ data: X.subarray(0, 2 * d), shape: [2, d] }, [1, 2])).rejects.toThrow(/y must have 2 columns/);
    expect(() => FeatureRidge.fromJSON({ format: 'other' }, map)).toThrow(TypeError);
    await model.solve();
    const doc = model.toJSON();
    expect(() => FeatureRidge.fromJSON({ ...doc, version: 2 }, map)).toThrow(/version 2 is not supported/);
    expect(() => FeatureRidge.fromJSON(doc, new NTKSketch({ inputDim: d, depth: 1, features: 8 }))).toThrow(/json.weights must hold features x outputs = 8 x 2 numbers \(the map has 8 features\)/);
    expect(() => FeatureRidge.fromJSON({ ...doc, intercept: [0, NaN] }, map)).toThrow(/intercept\[1\] must be a finite number/);
  });
});

/** The rows of each part, by the documented split rule. */
function splitOf(model: FeatureRidge): { fit: number[]; val: number[] } {
  const fit: number[] = [], val: number[] = [];
  for (let r = 0; r < n; r++) (isValidationRow(model.seed, r, model.validation) ? val : fit).push(r);
  return { fit, val };
}
