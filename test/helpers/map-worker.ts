// A worker thread that restores a saved map and transforms rows with it
// (test/core/concurrency.test.ts): the addon loaded in a second context.
import { parentPort, workerData } from 'node:worker_threads';
import { mapFromJSON, ntkKernelSync } from '../../src/index.js';

const { doc, X, rounds } = workerData as { doc: string; X: { data: Float64Array; shape: number[] }; rounds: number };
const map = mapFromJSON(doc);
const results: Float64Array[] = [];
for (let r = 0; r < rounds; r++) {
  const features = r % 2 === 0 ? map.transformSync(X) : await map.transform(X);
  results.push(Float64Array.from(features.data));
}
const kernel = ntkKernelSync(X, null, { depth: 2 }).ntk.data;
parentPort!.postMessage({ results, kernel: Float64Array.from(kernel) });
