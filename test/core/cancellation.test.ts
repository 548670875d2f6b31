// { signal, onProgress } on the long calls: an abort rejects with an
// AbortError (DOMException) and leaves the map and the model as they were;
// progress is reported per step; results with either option are the same
// bits as without. (Abort latency is measured in bench/abort-latency.bench.ts.)
import { describe, expect, it } from 'vitest';
import {
  CNTKSketch, FeatureRidge, KernelRidgeRegression, LeverageSelection, NTKRandomFeatures, NTKSketch, RidgeRegression, cntkKernel, ntkKernel,
  type FeatureMap,
} from '../../src/index.js';

const d = 16;
const rows = (n: number, seed = 1) => ({ data: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.013 + seed)), shape: [n, d] });
const images = (n: number) => ({ data: Float32Array.from({ length: n * 3 * 8 * 8 }, (_, i) => Math.cos(i * 0.07)), shape: [n, 3, 8, 8] });

/** The same bits (a byte comparison: toEqual is slow on millions of elements). */
function expectSameBits(a: ArrayBufferView, b: ArrayBufferView): void {
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
}

async function expectAbortError(p: Promise<unknown>): Promise<void> {
  const error = await p.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DOMException);
  expect((error as DOMException).name).toBe('AbortError');
}

const maps: Record<string, () => { map: FeatureMap; X: ReturnType<typeof rows> | ReturnType<typeof images>; n: number }> = {
  NTKSketch: () => ({ map: new NTKSketch({ inputDim: d, depth: 2, features: 2048, seed: 1 }), X: rows(4000), n: 4000 }),
  NTKRandomFeatures: () => ({ map: new NTKRandomFeatures({ inputDim: d, depth: 2, features: 2048, seed: 1 }), X: rows(4000), n: 4000 }),
  CNTKSketch: () => ({ map: new CNTKSketch({ inputShape: [3, 8, 8], depth: 1, filterSize: 3, padding: 'same', features: 4096, seed: 1 }), X: images(1200), n: 1200 }),
};

describe('cancellation and progress: feature-map transforms', () => {
  for (const [name, make] of Object.entries(maps)) {
    it(`${name}: progress per block of rows, same bits; abort after the first block rejects with an AbortError and the map still gives the same bits`, async () => {
      const { map, X, n } = make();
      const plain = map.transformSync(X).data;
      const seen: [number, number][] = [];
      const withProgress = await map.transform(X, { onProgress: (done, total) => seen.push([done, total]) });
      expectSameBits(withProgress.data, plain);
      expect(seen.length).toBeGreaterThan(2);
      expect(seen[0]).toEqual([0, n]);
      expect(seen[seen.length - 1]).toEqual([n, n]);
      for (let k = 1; k < seen.length; k++) expect(seen[k][0]).toBeGreaterThan(seen[k - 1][0]);

      const controller = new AbortController();
      let blocks = 0;
      const aborted = map.transform(X, { signal: controller.signal, onProgress: (done) => { if (done > 0 && ++blocks === 1) controller.abort(); } });
      await expectAbortError(aborted);
      expect(blocks).toBe(1);
      expectSameBits(map.transformSync(X).data, plain);
    });
  }

  it('an already aborted signal rejects at once (sync: throws) and nothing runs; a bad signal or onProgress is a TypeError naming it', async () => {
    const { map, X } = maps.NTKSketch();
    const signal = AbortSignal.abort(new Error('stop'));
    const progress: number[] = [];
    await expectAbortError(map.transform(X, { signal, onProgress: (done) => progress.push(done) }));
    expect(() => map.transformSync(X, { signal })).toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(progress).toEqual([]);
    await expect(map.transform(X, { signal: {} as AbortSignal })).rejects.toThrow(/transform options.signal must be an AbortSignal/);
    await expect(map.transform(X, { onProgress: 1 as never })).rejects.toThrow(TypeError);
  });
});

describe('cancellation and progress: exact kernels', () => {
  it('ntkKernel: progress in tiles; aborting stops the native job between tiles with an AbortError; the next call is unaffected', async () => {
    const X = rows(1800);
    const plain = (await ntkKernel(X, null, { depth: 3, output: 'ntk' })).ntk.data;
    const seen: [number, number][] = [];
    const again = await ntkKernel(X, null, { depth: 3, output: 'ntk', onProgress: (done, total) => seen.push([done, total]) });
    expectSameBits(again.ntk.data, plain);
    // 1800 rows: 8 row tiles of 256, 36 in the lower triangle.
    expect(seen[seen.length - 1]).toEqual([36, 36]);
    const controller = new AbortController();
    // Aborted while the job is queued or running: it stops at its next tile.
    const call = ntkKernel(X, null, { depth: 3, output: 'ntk', signal: controller.signal });
    controller.abort();
    await expectAbortError(call);
    expectSameBits((await ntkKernel(X, null, { depth: 3, output: 'ntk' })).ntk.data, plain);
  });

  it('cntkKernel: an abort between row blocks rejects with an AbortError; results with a signal are the same bits', async () => {
    const X = images(40);
    const plain = (await cntkKernel(X, null, { depth: 1, filterSize: 3, padding: 'same', output: 'ntk' })).ntk.data;
    const untouched = new AbortController();
    expectSameBits((await cntkKernel(X, null, { depth: 1, filterSize: 3, padding: 'same', output: 'ntk', signal: untouched.signal })).ntk.data, plain);
    const controller = new AbortController();
    let calls = 0;
    const call = cntkKernel(X, null, { depth: 1, filterSize: 3, padding: 'same', output: 'ntk', signal: controller.signal, onProgress: () => { if (++calls === 2) controller.abort(); } });
    await expectAbortError(call);
    expect(calls).toBe(2);
  });
});

describe('cancellation and progress: FeatureRidge.fit', () => {
  it('an aborted fit (in X\'s transform or between batches) leaves the fitted model as it was', async () => {
    const map = new NTKSketch({ inputDim: d, depth: 1, features: 4096, seed: 3 });
    const X = rows(3000, 2);
    const y = Float64Array.from({ length: 3000 }, (_, i) => Math.sin(i));
    const model = await new FeatureRidge({ map, lambda: 0.1 }).fit(rows(200), y.subarray(0, 200));
    const before = (await model.predict(rows(10, 5))).data;
    const controller = new AbortController();
    await expectAbortError(model.fit(X, y, { signal: controller.signal, onProgress: () => controller.abort() }).finally(() => undefined));
    const c2 = new AbortController();
    const p = model.fit(X, y, { signal: c2.signal });
    c2.abort();
    await expectAbortError(p);
    const c3 = new AbortController();
    const batches = (function* () {
      for (let b = 0; b < 3000; b += 500) {
        if (b === 1000) c3.abort();
        yield { X: { data: X.data.subarray(b * d, (b + 500) * d), shape: [500, d] }, y: y.subarray(b, b + 500) };
      }
    })();
    const progress: number[] = [];
    await expectAbortError(model.fit(batches, { signal: c3.signal, onProgress: (done) => progress.push(done) }));
    expect(progress).toEqual([500, 1000]);
    expect((await model.predict(rows(10, 5))).data).toEqual(before);
    expect(model.rows).toBe(200);
    await expect(model.fit(X, y, { bogus: 1 } as never)).rejects.toThrow(/fit options.bogus is not a known option/);
  });
});

describe('cancellation and progress: RidgeRegression and KernelRidgeRegression', () => {
  const n = 600, m = 160, k = 2;
  const Phi = Float64Array.from({ length: n * m }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011));
  const Y = Float64Array.from({ length: n * k }, (_, i) => Math.sin(i * 0.3));
  const val = { data: Phi.subarray(0, 100 * m), shape: [100, m] }, yVal = { data: Y.subarray(0, 100 * k), shape: [100, k] };
  const all = { data: Phi, shape: [n, m] }, targets = { data: Y, shape: [n, k] };
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < m; t++) s += Phi[i * m + t] * Phi[j * m + t];
    K[i * n + j] = s;
  }
  const kAll = { data: K, shape: [n, n] }, kVal = { data: K.subarray(0, 100 * n), shape: [100, n] };
  const probe = { data: Phi.subarray(200 * m, 210 * m), shape: [10, m] }, kProbe = { data: K.subarray(200 * n, 210 * n), shape: [10, n] };

  it('RidgeRegression.fit: progress per row block, the same bits; an abort (in the blocks, in the solve, or already set) leaves the model as it was', async () => {
    const plain = new RidgeRegression({ lambda: 0.5 }).fitSync(all, targets).coefficients().data;
    const seen: number[] = [];
    const withProgress = await new RidgeRegression({ lambda: 0.5 }).fit(all, targets, { onProgress: (done, total) => { expect(total).toBe(n); seen.push(done); } });
    expectSameBits(withProgress.coefficients().data, plain);
    expect(seen[0]).toBe(0);
    expect(seen[seen.length - 1]).toBe(n);
    const model = new RidgeRegression({ lambda: 0.5 }).fitSync({ data: Phi.subarray(0, 50 * m), shape: [50, m] }, { data: Y.subarray(0, 50 * k), shape: [50, k] });
    const before = model.predictSync(probe).data;
    const c1 = new AbortController();
    await expectAbortError(model.fit(all, targets, { signal: c1.signal, onProgress: (done) => { if (done > 0) c1.abort(); } }));
    const c2 = new AbortController();
    const solving = model.fit(all, targets, { signal: c2.signal });
    c2.abort();
    await expectAbortError(solving);
    await expectAbortError(model.fit(all, targets, { signal: AbortSignal.abort() }));
    const c3 = new AbortController();
    expect(() => model.fitSync(all, targets, { signal: c3.signal, onProgress: (done) => { if (done > 0) c3.abort(); } })).toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(model.samples).toBe(50);
    expectSameBits(model.predictSync(probe).data, before);
    expect(model.lambda).toBe(0.5);
    await expect(model.fit(all, targets, { signal: 'stop' } as never)).rejects.toThrow(/fit options.signal must be an AbortSignal/);
    expect(() => model.fitSync(all, targets, { lambda: 1 } as never)).toThrow(/fit options.lambda is not a known option/);
  });

  it('RidgeRegression.selectLambda: progress per lambda; an abort leaves lambda and the weights as they were', async () => {
    for (const solver of ['eigen', 'cholesky'] as const) {
      const model = new RidgeRegression({ lambda: 0.5 }).fitSync(all, targets);
      const before = model.predictSync(probe).data;
      const lambdas = [1e-3, 1e-2, 1e-1, 1, 10];
      const seen: [number, number][] = [];
      const scores = await new RidgeRegression().fit(all, targets).then((r) => r.selectLambda(val, yVal, { lambdas, solver, onProgress: (d, t) => seen.push([d, t]) }));
      expect(seen).toEqual([[0, 5], [1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
      expect(scores).toEqual(new RidgeRegression().fitSync(all, targets).selectLambdaSync(val, yVal, { lambdas, solver }));
      const c1 = new AbortController();
      await expectAbortError(model.selectLambda(val, yVal, { lambdas, solver, signal: c1.signal, onProgress: (d) => { if (d === 2) c1.abort(); } }));
      const c2 = new AbortController();
      const call = model.selectLambda(val, yVal, { lambdas, solver, signal: c2.signal });
      c2.abort();
      await expectAbortError(call);
      expect(model.lambda).toBe(0.5);
      expectSameBits(model.predictSync(probe).data, before);
    }
  });

  it('KernelRidgeRegression.fit and selectLambda: an abort leaves the kernel, lambda and weights as they were', async () => {
    const fitted = new KernelRidgeRegression({ lambda: 2 }).fitSync(kAll, targets);
    const before = fitted.predictSync(kProbe).data;
    const seen: number[] = [];
    expectSameBits((await new KernelRidgeRegression({ lambda: 2 }).fit(kAll, targets, { onProgress: (d) => seen.push(d) })).predictSync(kProbe).data, before);
    expect(seen).toEqual([0, 1]);
    const c1 = new AbortController();
    const call = fitted.fit({ data: K.map((v, i) => v * (1 + (i % 7) * 1e-3)), shape: [n, n] }, targets, { signal: c1.signal });
    c1.abort();
    await expectAbortError(call);
    expectSameBits(fitted.predictSync(kProbe).data, before);
    const c2 = new AbortController();
    const path = fitted.selectLambda(kAll, targets, kVal, yVal, { lambdas: [0.1, 1, 10], signal: c2.signal, onProgress: (d) => { if (d === 1) c2.abort(); } });
    await expectAbortError(path);
    expect(fitted.lambda).toBe(2);
    expectSameBits(fitted.predictSync(kProbe).data, before);
    expect(fitted.outputCount).toBe(k);
  });
});

describe('cancellation and progress: LeverageSelection.fit', () => {
  it('progress over the pool transform then the scores; an abort in either leaves the selection as it was', async () => {
    const pool = new NTKSketch({ inputDim: d, depth: 2, features: 4096, seed: 4, exactCopies: false });
    // 700 rows: two blocks of the pool's transform (2^21 / 4096 = 512 rows).
    const X = rows(700, 3);
    const selection = new LeverageSelection({ map: pool, features: 128, seed: 2 }).fitSync(rows(300, 4));
    const before = selection.transformSync(rows(20, 5)).data;
    const columns = selection.columns.slice();
    const seen: [number, number][] = [];
    const other = await new LeverageSelection({ map: pool, features: 128, seed: 2 }).fit(X, { onProgress: (d2, t) => seen.push([d2, t]) });
    expect(seen).toEqual([[0, 1400], [512, 1400], [700, 1400], [1400, 1400]]);
    expectSameBits(other.transformSync(rows(20, 5)).data, new LeverageSelection({ map: pool, features: 128, seed: 2 }).fitSync(X).transformSync(rows(20, 5)).data);
    const c1 = new AbortController();
    await expectAbortError(selection.fit(X, { signal: c1.signal, onProgress: (done) => { if (done > 0) c1.abort(); } }));
    const c2 = new AbortController();
    await expectAbortError(selection.fit(X, { signal: c2.signal, onProgress: (done) => { if (done === 700) setTimeout(() => c2.abort(), 0); } }));
    expect(selection.columns).toEqual(columns);
    expectSameBits(selection.transformSync(rows(20, 5)).data, before);
    expect(() => selection.fitSync(X, { signal: AbortSignal.abort() })).toThrow(expect.objectContaining({ name: 'AbortError' }));
    await expect(selection.fit(X, { signal: 1 } as never)).rejects.toThrow(/fit options.signal must be an AbortSignal/);
  });
});
