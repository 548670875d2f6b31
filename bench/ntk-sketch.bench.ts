/**
 * NTKSketch: accuracy against the exact NTK and speed against one float32
 * GEMM of the same shape as a dense random-feature layer.
 *
 *   npx tsx bench/ntk-sketch.bench.ts [--rows 10000] [--features 8192] [--quick]
 *
 * Accuracy: depth 2, degree 4, 8192 features; relative Frobenius error of
 * the feature Gram matrix against ntkKernelSync (NTK and NNGP) on 1,000 rows
 * of (a) random Gaussian rows of dimension 784 with norms near 1, (b) UCI
 * digits (64 pixels, packaged), (c) Fashion-MNIST (784 pixels) when
 * installed; 'nnls' and 'taylor' polynomials; mean over seeds 1..3.
 * Speed (tinybench): featurising 10,000 x 784 float32 rows (Fashion-MNIST
 * test images when installed, random otherwise) vs one sgemm
 * 10,000 x 784 by 784 x 8,192 through native().gemm.
 */
import { existsSync } from 'node:fs';
import { Bench } from 'tinybench';
import { NTKSketch, backends, ntkKernelSync } from '../src/index.js';
import { FASHION_MNIST_DIR, loadDigits, loadFashionMnist } from '../src/datasets.js';
import { native } from '../src/native.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const quick = args.includes('--quick');
const FEATURES = arg('features', 8192);
const ROWS = arg('rows', quick ? 2000 : 10000);
const ACC_ROWS = quick ? 300 : 1000;
const DEPTH = 2, DEGREE = 4, D = 784;
const SEEDS = quick ? [1] : [1, 2, 3];

function gaussianRows(n: number, d: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const X = new Float64Array(n * d);
  for (let i = 0; i < X.length; i++) {
    X[i] = (Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-300))) * Math.cos(2 * Math.PI * uniform())) / Math.sqrt(d);
  }
  return X;
}

function gramError(phi: Float32Array | Float64Array, n: number, m: number, exact: ArrayLike<number>): number {
  const p = Float64Array.from(phi);
  const g = new Float64Array(n * n);
  native().gemm(false, true, n, n, m, 1, p, m, p, m, 0, g, n, false);
  let e = 0, t = 0;
  for (let i = 0; i < g.length; i++) {
    e += (g[i] - exact[i]) ** 2;
    t += exact[i] ** 2;
  }
  return Math.sqrt(e / t);
}

const haveFashion = existsSync(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`);
const datasets: { name: string; X: Float64Array; d: number }[] = [
  { name: `random N(0, I/784), ${ACC_ROWS} rows`, X: gaussianRows(ACC_ROWS, D, 1), d: D },
  { name: `UCI digits (d = 64), ${ACC_ROWS} rows`, X: loadDigits().X.slice(0, ACC_ROWS * 64), d: 64 },
];
if (haveFashion) {
  const fm = loadFashionMnist({ train: ACC_ROWS, test: 0 }).train;
  datasets.push({ name: `Fashion-MNIST (d = 784), ${ACC_ROWS} rows`, X: fm.X, d: 784 });
}

const info = backends();
console.log(`ntk-sketch NTKSketch bench: ${info.cpu.threads} threads, ${info.cpu.blas}`);
console.log(`\n== Gram relative Frobenius error, depth ${DEPTH}, degree ${DEGREE}, ${FEATURES} features (float32 maps, mean over seeds ${SEEDS.join(', ')}) ==`);
for (const ds of datasets) {
  const n = ds.X.length / ds.d;
  const exact = ntkKernelSync({ data: ds.X, shape: [n, ds.d] }, null, { depth: DEPTH });
  const row: string[] = [];
  for (const approximation of ['nnls', 'taylor'] as const) {
    let ntk = 0, nngp = 0;
    for (const seed of SEEDS) {
      const map = new NTKSketch({ inputDim: ds.d, depth: DEPTH, degree: DEGREE, features: FEATURES, seed, approximation });
      ntk += gramError(map.transformSync({ data: ds.X, shape: [n, ds.d] }).data, n, FEATURES, exact.ntk.data) / SEEDS.length;
      nngp += gramError(map.transformSync({ data: ds.X, shape: [n, ds.d] }, { kernel: 'nngp' }).data, n, FEATURES, exact.nngp.data) / SEEDS.length;
    }
    row.push(`${approximation}: NTK ${ntk.toFixed(4)}  NNGP ${nngp.toFixed(4)}`);
  }
  console.log(`${ds.name.padEnd(40)} ${row.join('   |   ')}`);
}

// Timing data: 10,000 x 784 float32 rows.
let X32: Float32Array;
let source: string;
if (haveFashion && ROWS <= 10000) {
  X32 = Float32Array.from(loadFashionMnist({ train: 0, test: ROWS }).test.X);
  source = 'Fashion-MNIST test images';
} else {
  X32 = Float32Array.from(gaussianRows(ROWS, D, 2));
  source = 'random rows';
}
const map = new NTKSketch({ inputDim: D, depth: DEPTH, degree: DEGREE, features: FEATURES, seed: 1, dtype: 'float32' });
const W = Float32Array.from(gaussianRows(D, FEATURES, 3));
const C = new Float32Array(ROWS * FEATURES);
const X = { data: X32, shape: [ROWS, D] };

const bench = new Bench({ iterations: quick ? 2 : 5, time: 0, warmupIterations: 1, warmupTime: 0 });
bench
  .add(`NTKSketch.transform ${ROWS} x ${D} -> ${FEATURES} (ntk)`, async () => {
    await map.transform(X);
  })
  .add(`NTKSketch.transform ${ROWS} x ${D} -> ${FEATURES} (nngp)`, async () => {
    await map.transform(X, { kernel: 'nngp' });
  })
  .add(`sgemm ${ROWS} x ${D} by ${D} x ${FEATURES}`, async () => {
    await native().gemm(false, false, ROWS, FEATURES, D, 1, X32, D, W, FEATURES, 0, C, FEATURES, true);
  });
await bench.run();
console.log(`\n== Speed (${source}, float32, ${info.cpu.threads} threads) ==`);
console.table(bench.table());
const mean = (i: number) => bench.tasks[i].result.latency.mean;
const gemmMs = mean(2);
console.log(
  `NTK features: ${mean(0).toFixed(0)} ms (${((mean(0) / ROWS) * 1000).toFixed(1)} us/row) = ${(mean(0) / gemmMs).toFixed(2)} x sgemm; ` +
    `NNGP features: ${mean(1).toFixed(0)} ms = ${(mean(1) / gemmMs).toFixed(2)} x sgemm; sgemm ${gemmMs.toFixed(0)} ms ` +
    `(${((2 * ROWS * D * FEATURES) / (gemmMs * 1e6)).toFixed(0)} GFLOP/s)`,
);
