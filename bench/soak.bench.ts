/**
 * Leak soak: 100,000 small calls of each entry point (sync and async, and
 * calls that throw or reject), resident memory sampled after a forced GC
 * every SAMPLE calls; the slope of a least-squares line through the samples
 * after the warm-up is reported in bytes per call (flat: |slope| well under
 * one byte per call; a leak of one small array per call would be ~100+).
 *
 *   node --expose-gc --import tsx bench/soak.bench.ts [--calls 100000] [--filter TEXT] [--threads 1]
 */
import {
  CNTKSketch,
  FeatureRidge,
  NTKRandomFeatures,
  NTKSketch,
  RidgeRegression,
  cntkKernel,
  cntkKernelSync,
  mapFromJSON,
  ntkKernel,
  ntkKernelSync,
  setThreads,
} from '../src/index.js';
import { benchArgs } from './lib/args.js';

const cli = benchArgs({ calls: { type: 'string' }, filter: { type: 'string' }, threads: { type: 'string' } });
const CALLS = cli.int('calls', 100_000);
/** Only the entry points whose name contains this text. */
const FILTER = cli.text('filter');
const SAMPLE = Math.max(1000, Math.floor(CALLS / 20));
const WARMUP = SAMPLE * 2;

// One core thread: the soak is about memory, and on a shared 2-core machine
// OpenMP regions of tiny calls otherwise wait on busy cores (ms per call).
setThreads(cli.int('threads', 1));

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const d = 8;
const X = { data: Float32Array.from({ length: 4 * d }, (_, i) => Math.sin(i)), shape: [4, d] };
const bad = { data: Float32Array.from({ length: 4 * d }, (_, i) => (i === 5 ? NaN : i)), shape: [4, d] };
const images = { data: Float32Array.from({ length: 2 * 1 * 4 * 4 }, (_, i) => Math.cos(i)), shape: [2, 1, 4, 4] };
const sketch = new NTKSketch({ inputDim: d, depth: 2, features: 64, seed: 1 });
const rf = new NTKRandomFeatures({ inputDim: d, depth: 2, features: 64, seed: 1 });
const cntk = new CNTKSketch({ inputShape: [1, 4, 4], depth: 1, filterSize: 3, padding: 'same', features: 64, seed: 1 });
const doc = JSON.stringify(sketch);
const Y = Float64Array.from({ length: 4 }, (_, i) => i);

const swallow = (f: () => unknown) => { try { f(); } catch { /* expected */ } };
const swallowAsync = async (f: () => Promise<unknown>) => { await f().catch(() => undefined); };

const cases: Record<string, () => unknown | Promise<unknown>> = {
  'ntkKernelSync': () => ntkKernelSync(X, null, { depth: 2 }),
  'ntkKernel (async)': () => ntkKernel(X, null, { depth: 2 }),
  'ntkKernelSync throwing (NaN)': () => swallow(() => ntkKernelSync(bad, null, { depth: 2 })),
  'cntkKernelSync': () => cntkKernelSync(images, null, { depth: 1, filterSize: 3, padding: 'same' }),
  'cntkKernel (async)': () => cntkKernel(images, null, { depth: 1, filterSize: 3, padding: 'same' }),
  'NTKSketch.transformSync': () => sketch.transformSync(X),
  'NTKSketch.transform (async)': () => sketch.transform(X),
  'NTKSketch.transform rejecting (NaN, native check)': () => swallowAsync(() => sketch.transform(bad)),
  'NTKSketch.transform aborted': () => swallowAsync(() => sketch.transform(X, { signal: AbortSignal.abort() })),
  'NTKRandomFeatures.transformSync': () => rf.transformSync(X),
  'NTKRandomFeatures.transform (async)': () => rf.transform(X),
  'CNTKSketch.transformSync': () => cntk.transformSync(images),
  'mapFromJSON + transform + dispose': () => { const m = mapFromJSON(doc); m.transformSync(X); m.dispose(); },
  'new NTKSketch throwing (bad option)': () => swallow(() => new NTKSketch({ inputDim: d, depth: 2, features: -1 })),
  'RidgeRegression fitSync + predictSync': () => new RidgeRegression({ lambda: 0.1 }).fitSync({ data: Float64Array.from(X.data), shape: X.shape }, Y).predictSync({ data: Float64Array.from(X.data), shape: X.shape }),
  'FeatureRidge fit + predict (async)': async () => { const m = await new FeatureRidge({ map: sketch, lambda: 0.1 }).fit(X, Y); await m.predict(X); },
};

function slope(xs: number[], ys: number[]): number {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; }
  return sxy / sxx;
}

console.log(`soak: ${CALLS} calls per entry point, RSS sampled every ${SAMPLE} after ${WARMUP} warm-up calls (node ${process.version})`);
console.log('| entry point | calls | RSS start MiB | RSS end MiB | slope bytes/call | heap slope bytes/call | s |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, call] of Object.entries(cases)) {
  if (FILTER && !name.includes(FILTER)) continue;
  const started = performance.now();
  const xs: number[] = [], rss: number[] = [], heap: number[] = [];
  for (let i = 1; i <= CALLS; i++) {
    const r = call();
    if (r instanceof Promise) await r;
    if (i >= WARMUP && i % SAMPLE === 0) {
      // Let finalizers of native objects run, then collect.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const m = process.memoryUsage();
      xs.push(i); rss.push(m.rss); heap.push(m.heapUsed + m.external + m.arrayBuffers);
    }
  }
  const mib = (b: number) => (b / 1024 ** 2).toFixed(1);
  console.log(`| ${name} | ${CALLS} | ${mib(rss[0])} | ${mib(rss[rss.length - 1])} | ${slope(xs, rss).toFixed(3)} | ${slope(xs, heap).toFixed(3)} | ${((performance.now() - started) / 1000).toFixed(1)} |`);
}
