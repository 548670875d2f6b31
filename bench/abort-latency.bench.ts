/**
 * Abort latency: how long after controller.abort() a long async call
 * settles with its AbortError, for each call that takes { signal }. Each
 * call is aborted at a random time within its first second, REPEATS times;
 * reports the median and worst latency, next to the call's full duration.
 *
 *   npx tsx bench/abort-latency.bench.ts [--repeats 15] [--only NAME]
 */
import {
  CNTKSketch, FeatureRidge, KernelRidgeRegression, LeverageSelection, NTKRandomFeatures, NTKSketch, RidgeRegression, cntkKernel, ntkKernel,
} from '../src/index.js';
import { benchArgs } from './lib/args.js';

const flags = benchArgs({ repeats: { type: 'string' }, only: { type: 'string' } });
const REPEATS = flags.int('repeats', 15);
/** Only the calls whose name contains this text (all by default). */
const FILTER = flags.text('only', '');
const d = 64;
const rows = (n: number) => ({ data: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.001)), shape: [n, d] });
const images = (n: number) => ({ data: Float32Array.from({ length: n * 3 * 16 * 16 }, (_, i) => Math.cos(i * 0.01)), shape: [n, 3, 16, 16] });

const X = rows(40_000);
const Xk = rows(6000);
const I = images(3000);
const Ik = images(300);
const sketch = new NTKSketch({ inputDim: d, depth: 3, features: 8192, seed: 1 });
const rf = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 8192, seed: 1 });
const cntk = new CNTKSketch({ inputShape: [3, 16, 16], depth: 2, filterSize: 3, padding: 'same', features: 4096, seed: 1 });
const y = Float64Array.from({ length: 40_000 }, (_, i) => Math.sin(i));
// Ridge problems: 20,000 x 2,048 features; a 3,000 x 3,000 kernel (SPD: Phi Phi^T + I).
const Phi = { data: Float64Array.from({ length: 20_000 * 2048 }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.0011)), shape: [20_000, 2048] };
const Yr = { data: y.subarray(0, 20_000), shape: [20_000, 1] };
const nk = 3000;
const Kd = new Float64Array(nk * nk);
for (let i = 0; i < nk; i++) for (let j = 0; j < nk; j++) Kd[i * nk + j] = Math.exp(-Math.abs(i - j) / 50) + (i === j ? 1 : 0);
const K = { data: Kd, shape: [nk, nk] }, Yk = { data: y.subarray(0, nk), shape: [nk, 1] };
const Kval = { data: Kd.subarray(0, 500 * nk), shape: [500, nk] }, Yval = { data: y.subarray(0, 500), shape: [500, 1] };
const fitted = new RidgeRegression({ lambda: 1 }).fitSync(Phi, Yr);
const PhiVal = { data: Phi.data.subarray(0, 2000 * 2048), shape: [2000, 2048] }, YrVal = { data: y.subarray(0, 2000), shape: [2000, 1] };
const pool = new NTKSketch({ inputDim: d, depth: 2, features: 8192, seed: 1, exactCopies: false });

const calls: Record<string, (signal?: AbortSignal) => Promise<unknown>> = {
  'NTKSketch.transform 40,000 x 8,192': (signal) => sketch.transform(X, { signal }),
  'NTKRandomFeatures.transform 40,000 x 8,192': (signal) => rf.transform(X, { signal }),
  'CNTKSketch.transform 3,000 images 16x16x3': (signal) => cntk.transform(I, { signal }),
  'ntkKernel 6,000 x 6,000': (signal) => ntkKernel(Xk, null, { depth: 3, signal }),
  'cntkKernel 300 x 300 images 16x16x3': (signal) => cntkKernel(Ik, null, { depth: 2, filterSize: 3, padding: 'same', signal }),
  'FeatureRidge.fit 40,000 rows, 8,192 features': (signal) => new FeatureRidge({ map: sketch, lambda: 0.1 }).fit(X, y, { signal }),
  'RidgeRegression.fit 20,000 x 2,048': (signal) => new RidgeRegression({ lambda: 1 }).fit(Phi, Yr, { signal }),
  'RidgeRegression.selectLambda 2,048 features (eigen)': (signal) => fitted.selectLambda(PhiVal, YrVal, { solver: 'eigen', signal }),
  'KernelRidgeRegression.fit 3,000 x 3,000': (signal) => new KernelRidgeRegression({ lambda: 0.1 }).fit(K, Yk, { signal }),
  'KernelRidgeRegression.selectLambda 3,000 x 3,000': (signal) => new KernelRidgeRegression().selectLambda(K, Yk, Kval, Yval, { signal }),
  'LeverageSelection.fit 3,000 rows, pool 8,192': (signal) => new LeverageSelection({ map: pool, features: 1024, seed: 1 }).fit(rows(3000), { signal }),
};

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

console.log(`abort latency, ${REPEATS} aborts per call at a random time in [0, min(1 s, 0.8 x full run)) (node ${process.version})`);
console.log('| call | full run ms | median latency ms | worst latency ms |');
console.log('|---|---|---|---|');
for (const [name, call] of Object.entries(calls).filter(([name]) => name.includes(FILTER))) {
  let t = performance.now();
  await call();
  const full = performance.now() - t;
  const latencies: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const controller = new AbortController();
    const at = random() * Math.min(1000, 0.8 * full);
    let abortedAt = 0;
    const p = call(controller.signal).then(() => 'completed', (e: Error) => e.name);
    setTimeout(() => { abortedAt = performance.now(); controller.abort(); }, at);
    const outcome = await p;
    t = performance.now();
    // A run faster than the first may complete before the abort fires.
    if (outcome === 'completed' && abortedAt === 0) continue;
    if (outcome !== 'AbortError') throw new Error(`${name}: ${outcome} instead of an AbortError`);
    latencies.push(t - abortedAt);
  }
  if (latencies.length === 0) { console.log(`| ${name} | ${full.toFixed(0)} | (completed before every abort) | |`); continue; }
  console.log(`| ${name} | ${full.toFixed(0)} | ${quantile(latencies, 0.5).toFixed(1)} | ${Math.max(...latencies).toFixed(1)} |`);
}
