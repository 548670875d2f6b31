// The same saved map (and the exact kernels) used from several worker threads
// and from many concurrent async calls gives results bit-identical to
// sequential calls: the addon keeps no per-process JavaScript state, and
// concurrent native jobs share the thread setting (bindings/job.hpp,
// native/common/threads.hpp) without changing any result.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CNTKSketch, NTKRandomFeatures, NTKSketch, cntkKernel, cntkKernelSync, mapFromJSON, ntkKernel, ntkKernelSync, type FeatureMap } from '../../src/index.js';

const d = 20, n = 64;
const X = { data: Float64Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.37) + (i % 7) / 7), shape: [n, d] };
const rowsOf = (b: number, e: number) => ({ data: X.data.subarray(b * d, e * d), shape: [e - b, d] });
const images = { data: Float64Array.from({ length: 6 * 2 * 6 * 6 }, (_, i) => Math.cos(i * 0.11)), shape: [6, 2, 6, 6] };

const makers: Record<string, () => FeatureMap> = {
  NTKSketch: () => new NTKSketch({ inputDim: d, depth: 3, features: 256, seed: 5 }),
  NTKRandomFeatures: () => new NTKRandomFeatures({ inputDim: d, depth: 2, features: 256, seed: 5 }),
};

function runWorker(doc: string, rounds: number): Promise<{ results: Float64Array[]; kernel: Float64Array }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../helpers/map-worker.mjs', import.meta.url), {
      workerData: { doc, X, rounds },
    });
    worker.once('message', (m) => {
      resolve(m as { results: Float64Array[]; kernel: Float64Array });
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('concurrency', () => {
  for (const [name, make] of Object.entries(makers)) {
    it(`${name}: 32 concurrent async transforms (one map, and maps restored from its document) equal sequential ones bit for bit`, async () => {
      const map = make();
      const doc = JSON.stringify(map);
      const blocks = Array.from({ length: 32 }, (_, k) => [(k * 2) % n, ((k * 2) % n) + 2 + (k % 5)] as const).map(([b, e]) => [b, Math.min(e, n)] as const);
      const sequential = blocks.map(([b, e]) => Float64Array.from(map.transformSync(rowsOf(b, e)).data));
      const restored = mapFromJSON(doc);
      const concurrent = await Promise.all(blocks.map(([b, e], k) => (k % 2 ? restored : map).transform(rowsOf(b, e))));
      concurrent.forEach((f, k) => expect(Float64Array.from(f.data)).toEqual(sequential[k]));
    });
  }

  it('CNTKSketch and the exact kernels: concurrent async calls equal sequential ones bit for bit', async () => {
    const cntk = new CNTKSketch({ inputShape: [2, 6, 6], depth: 2, filterSize: 3, padding: 'same', features: 128, seed: 2 });
    const features = cntk.transformSync(images).data;
    const ntk = ntkKernelSync(X, null, { depth: 3 }).ntk.data;
    const cntkK = cntkKernelSync(images, null, { depth: 1, filterSize: 3, padding: 'same' }).ntk.data;
    const calls = await Promise.all(
      Array.from({ length: 12 }, (_, k) => (k % 3 === 0 ? cntk.transform(images).then((r) => r.data) : k % 3 === 1 ? ntkKernel(X, null, { depth: 3 }).then((r) => r.ntk.data) : cntkKernel(images, null, { depth: 1, filterSize: 3, padding: 'same' }).then((r) => r.ntk.data))),
    );
    calls.forEach((data, k) => expect(data).toEqual(k % 3 === 0 ? features : k % 3 === 1 ? ntk : cntkK));
  });

  it('three worker threads restoring the same saved map (sync and async transforms) and the exact kernel give the main thread\'s bits', async () => {
    const map = makers.NTKSketch();
    const doc = JSON.stringify(map);
    const expected = Float64Array.from(map.transformSync(X).data);
    const kernel = Float64Array.from(ntkKernelSync(X, null, { depth: 2 }).ntk.data);
    // The main thread keeps transforming while the workers run.
    const [workers, mainAsync] = await Promise.all([Promise.all([runWorker(doc, 4), runWorker(doc, 4), runWorker(doc, 4)]), Promise.all(Array.from({ length: 8 }, () => map.transform(X)))]);
    for (const w of workers) {
      for (const r of w.results) expect(r).toEqual(expected);
      expect(w.kernel).toEqual(kernel);
    }
    for (const r of mainAsync) expect(Float64Array.from(r.data)).toEqual(expected);
  });
});
