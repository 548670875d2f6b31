// { signal, onProgress } on the long calls: an abort rejects with an
// AbortError (DOMException) and leaves the map and the model as they were;
// progress is reported per step; results with either option are the same
// bits as without. (Abort latency is measured in bench/abort-latency.bench.ts.)
import { describe, expect, it } from 'vitest';
import { CNTKSketch, FeatureRidge, NTKRandomFeatures, NTKSketch, cntkKernel, ntkKernel, type FeatureMap } from '../../src/index.js';

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
