// Property tests of the ridge solvers: bad features, targets and options give
// a TypeError/RangeError naming them; good ones give finite predictions of the
// right shape, the same whatever representation the matrices came in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeatureRidge, KernelRidgeRegression, NTKSketch, RidgeRegression } from '../../src/index.js';
import { badOptionValue, expectCleanError, expectFinite, faultyMatrix, fuzzParams, matrixCase, MATRIX_FAULTS, matrixValues, outcome } from './fuzz-helpers.js';

const n = 8, d = 4;
const Phi = { data: new Float64Array(n * d).map((_, i) => Math.sin(i + 1)), shape: [n, d] };
const Y = { data: new Float64Array(n).map((_, i) => Math.cos(i)), shape: [n, 1] };

/** Targets in any form: valid (vector, n x k, number[]) or faulty. */
const targetCase = fc.oneof(
  fc.constantFrom<[string, unknown, boolean]>(
    ['vector', Float64Array.from(Y.data), true],
    ['number[]', Array.from(Y.data), true],
    ['n x 2', { data: new Float64Array(2 * n).fill(0.5), shape: [n, 2] }, true],
    ['short', { data: new Float64Array(n - 1), shape: [n - 1, 1] }, false],
    ['nan', { data: Float64Array.from(Y.data, (v, i) => (i === 3 ? NaN : v)), shape: [n, 1] }, false],
    ['data shorter than shape', { data: new Float64Array(2), shape: [n, 1] }, false],
    ['negative columns', { data: new Float64Array(n), shape: [n, -1] }, false],
    ['null', null, false],
    ['string', 'targets', false],
    ['int32', { data: new Int32Array(n), shape: [n, 1] }, false],
  ),
);

describe('fuzz: RidgeRegression', () => {
  it('fit / partialFit / predict on features of any kind: clean error or finite n x k predictions', async () => {
    await fc.assert(
      fc.asyncProperty(matrixCase(n, d, ['wrong columns']), targetCase, fc.boolean(), fc.constantFrom('fit', 'partialFit'), async (c, [, y, yValid], async, method) => {
        const model = new RidgeRegression({ lambda: 0.1 });
        const call = () => {
          if (method === 'fit') return async ? model.fit(c.value as never, y as never) : model.fitSync(c.value as never, y as never);
          return async ? model.partialFit(c.value as never, y as never) : model.partialFitSync(c.value as never, y as never);
        };
        const r = await outcome(call);
        if (c.rows === null || !yValid) {
          expect(r.ok, c.label).toBe(false);
          if (!r.ok) expectCleanError(r.error, /Phi|Y|y/);
          return;
        }
        if (!r.ok) throw r.error;
        const pred = await model.predict(c.value as never);
        expect(pred.shape[0]).toBe(n);
        expectFinite(pred.data);
        // The same rows in contiguous float64 give the same model (float32 rows were widened exactly).
        const ref = new RidgeRegression({ lambda: 0.1 }).fitSync({ data: c.rows, shape: [n, d] }, y as never);
        const want = ref.predictSync({ data: c.rows, shape: [n, d] }).data;
        for (let i = 0; i < want.length; i++) expect(Math.abs(pred.data[i] - want[i])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(want[i])));
      }),
      fuzzParams(),
    );
  });

  it('options and selectLambda options with wrong values or unknown keys give clean errors naming them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('lambda', 'fitIntercept', 'memoryLimit', 'bogus'), badOptionValue, async (key, value) => {
        const r = await outcome(() => new RidgeRegression({ [key]: value } as never).fitSync(Phi, Y));
        if (r.ok) {
          expectFinite(r.value.predictSync(Phi).data);
          return;
        }
        expectCleanError(r.error, new RegExp(key));
      }),
      fuzzParams(),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('lambdas', 'metric', 'bogus'), badOptionValue, async (key, value) => {
        const model = new RidgeRegression({ lambda: 0.1 }).fitSync(Phi, Y);
        const r = await outcome(() => model.selectLambda(Phi, Y, { [key]: value } as never));
        if (r.ok) return;
        expectCleanError(r.error, new RegExp(key));
      }),
      fuzzParams(),
    );
  });

  it('fromJSON of a saved model with one field changed: clean error or a model that predicts finite values', async () => {
    const doc = new RidgeRegression({ lambda: 0.1 }).fitSync(Phi, Y).toJSON() as unknown as Record<string, unknown>;
    const keys = Object.keys(doc);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), badOptionValue, async (key, value) => {
        const r = await outcome(() => RidgeRegression.fromJSON({ ...doc, [key]: value }));
        if (!r.ok) return expectCleanError(r.error, /json|format|version/);
        const p = await outcome(() => r.value.predictSync(Phi));
        if (!p.ok) return expectCleanError(p.error, /Phi/);
        expectFinite(p.value.data);
      }),
      fuzzParams(),
    );
  });
});

describe('fuzz: KernelRidgeRegression', () => {
  it('a kernel matrix of any kind: clean error or finite predictions', async () => {
    await fc.assert(
      fc.asyncProperty(matrixValues(n, n), fc.option(fc.constantFrom(...MATRIX_FAULTS), { freq: 2 }), fc.boolean(), async (v, fault, async) => {
        // A PSD kernel from the values: K = V V^T + I.
        const K = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
          let s = i === j ? 1 : 0;
          for (let k = 0; k < n; k++) s += v[i * n + k] * v[j * n + k];
          K[i * n + j] = s;
        }
        const value = fault === null ? { data: K, shape: [n, n] } : faultyMatrix(K, n, n, fault);
        const model = new KernelRidgeRegression({ lambda: 0.1 });
        const r = await outcome(() => (async ? model.fit(value as never, Y) : model.fitSync(value as never, Y)));
        if (!r.ok) return expectCleanError(r.error, /K/);
        expect(fault === null || fault === 'wrong columns').toBe(true);
        if (fault === 'wrong columns') throw new Error('a non-square kernel matrix was accepted');
        const pred = model.predictSync({ data: K, shape: [n, n] });
        expect(pred.shape).toEqual([n, 1]);
        expectFinite(pred.data);
      }),
      fuzzParams(),
    );
  });
});

describe('fuzz: FeatureRidge', () => {
  const map = new NTKSketch({ inputDim: d, depth: 1, features: 16, seed: 2 });

  it('constructor options with a wrong value or unknown key give a clean error naming it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('map', 'task', 'lambda', 'validation', 'lambdas', 'fitIntercept', 'solver', 'seed', 'memoryLimit', 'bogus'), badOptionValue, async (key, value) => {
        const r = await outcome(() => new FeatureRidge({ map, [key]: value } as never));
        if (!r.ok) return expectCleanError(r.error, new RegExp(key === 'lambdas' ? 'lambdas' : key));
        const fitted = await outcome(() => r.value.fit(Phi, Y));
        if (!fitted.ok) return expectCleanError(fitted.error, /y|X|lambda|validation|rows/);
        expectFinite((await r.value.predict(Phi)).data);
      }),
      fuzzParams(),
    );
  });

  it('partialFit / fit / predict with rows and targets of any kind: clean error, or finite predictions; a refused batch leaves the model as it was', async () => {
    await fc.assert(
      fc.asyncProperty(matrixCase(n, d), targetCase, fc.constantFrom('regression', 'classification'), async (c, [label, y, yValid], task) => {
        const model = new FeatureRidge({ map, lambda: 0.01, task: task as never });
        await model.partialFit(Phi, task === 'classification' ? Float64Array.from({ length: n }, (_, i) => i % 2) : Y);
        const before = model.rows;
        const r = await outcome(() => model.partialFit(c.value as never, y as never));
        if (!r.ok) {
          expectCleanError(r.error, /X|y/);
          expect(model.rows).toBe(before);
          await model.solve();
          expectFinite((await model.predict(Phi)).data);
          return;
        }
        // Labels and targets may be any array of numbers here (Int32Array included).
        expect(c.rows !== null && (yValid || label === 'int32')).toBe(true);
        await model.solve();
        const pred = await model.predict(c.value as never);
        expect(pred.shape[0]).toBe(n);
        expectFinite(pred.data);
      }),
      fuzzParams(),
    );
  });

  it('fromJSON of a saved model with one field changed: clean error or finite predictions', async () => {
    const model = await new FeatureRidge({ map, lambda: 0.01 }).fit(Phi, Y);
    const doc = model.toJSON() as unknown as Record<string, unknown>;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(doc)), badOptionValue, async (key, value) => {
        const r = await outcome(() => FeatureRidge.fromJSON({ ...doc, [key]: value }, map));
        if (!r.ok) return expectCleanError(r.error, /json|format|version/);
        const p = await outcome(() => r.value.predict(Phi));
        if (!p.ok) return expectCleanError(p.error);
        expect(p.value.shape[0]).toBe(n);
        expectFinite(p.value.data);
      }),
      fuzzParams(),
    );
  });
});
