/**
 * NTKSketch: accuracy against the exact NTK and speed against one float32
 * GEMM of the same shape as a dense random-feature layer.
 *
 *   npx tsx bench/ntk-sketch.bench.ts [--quick] [--rows 10000] [--features 8192] [--ridge]
 *   (or: npm run bench:ntk-sketch)
 *
 * 1. Gram error: relative Frobenius error ||Phi Phi^T - K||_F / ||K||_F of the
 *    NTK features (float32 maps, 'nnls' polynomials, default sketchDim)
 *    against ntkKernelSync on 1,000 Fashion-MNIST training images, for
 *    depth 1, 2, 3, degree 2, 4, 8 and 1,024 .. 16,384 features, mean over
 *    seeds 1..3; next to the polynomial floor (the error of the polynomial
 *    recursion itself, i.e. of infinitely many features). Also NNGP and
 *    'taylor' at the target point (depth 2, degree 4, 8,192 features), and
 *    random Gaussian rows and UCI digits there.
 * 2. Speed (tinybench, rounds interleaved so that machine noise hits every
 *    task alike, task order rotated each round, garbage collected before
 *    each task so that no task pays for freeing another's output; median of
 *    the rounds): featurising 10,000 x 784
 *    Fashion-MNIST test images to 8,192 NTK (and NNGP) features in float32
 *    and float64, against one sgemm 10,000 x 784 by 784 x 8,192 through
 *    native().gemm in the same run.
 * 3. With --ridge: test accuracy of ridge regression on the 8,192 NTK
 *    features (depth 2, degree 4) with the protocol of the `ntk-sketch` CLI
 *    (first 10,000 training images, 75/25 fit/validation split with seed 0
 *    for lambda, refit, 10,000 test images), next to the CLI's exact-NTK
 *    kernel ridge regression on the same split (several minutes). The
 *    results are kept in bench/results/ntk-sketch-ridge.json and reported by
 *    later runs without --ridge (with their date).
 *
 * Writes bench/results/ntk-sketch.md and the error plots
 * bench/results/ntk-sketch-error-depth{1,2,3}.svg (or under --out-dir DIR).
 * Needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NTKSketch, backends, ntkKernelSync } from '../src/index.js';
import { FASHION_MNIST_DIR, loadDigits, loadFashionMnist } from '../src/data/datasets.js';
import { native } from '../src/core/native.js';
import { gramError } from './lib/gram-error.js';
import { median, timeInterleaved, type TimedTask } from './lib/interleaved-timing.js';
import { machineDescription } from './lib/machine.js';
import { cliSplit, ridgeTestAccuracy, runCli } from './lib/ridge-protocol.js';
import { lineChart, type Series } from './lib/svg-plot.js';
import { gaussianRows } from './lib/gaussian-rows.js';
import { benchArgs } from './lib/args.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = benchArgs({ 'out-dir': { type: 'string' }, quick: { type: 'boolean' }, ridge: { type: 'boolean' }, features: { type: 'string' }, rows: { type: 'string' } });
const quick = cli.flag('quick');
const withRidge = cli.flag('ridge');
const args = cli.argv;
const FEATURES = cli.int('features', 8192);
const ROWS = cli.int('rows', quick ? 2000 : 10000);
const ACC_ROWS = quick ? 300 : 1000;
const DEPTH = 2, DEGREE = 4, D = 784;
const SEEDS = quick ? [1] : [1, 2, 3];
const DEPTHS = [1, 2, 3];
const DEGREES = [2, 4, 8];
const GRID_FEATURES = quick ? [1024, 4096, 8192] : [1024, 2048, 4096, 8192, 16384];
const ROUNDS = quick ? 2 : 5;
const TARGET_ERROR = 0.035;

if (!existsSync(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`)) {
  console.error(`Fashion-MNIST is not installed in ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
  process.exit(2);
}

type Rows = { X: Float64Array; n: number; d: number };
const mat = (r: Rows) => ({ data: r.X, shape: [r.n, r.d] });



/** Norms and cosines of the rows (for the polynomial floor). */
function cosines(r: Rows): { norm: Float64Array; cos: Float64Array } {
  const g = new Float64Array(r.n * r.n);
  native().gemm({ transA: false, transB: true, m: r.n, n: r.n, k: r.d, alpha: 1, a: r.X, lda: r.d, b: r.X, ldb: r.d, beta: 0, c: g, ldc: r.n }, false);
  const norm = Float64Array.from({ length: r.n }, (_, i) => Math.sqrt(g[i * r.n + i]));
  const cos = g.map((v, k) => Math.max(-1, Math.min(1, v / (norm[Math.floor(k / r.n)] * norm[k % r.n] || 1))));
  return { norm, cos };
}

const horner = (c: number[], t: number) => c.reduceRight((s, v) => s * t + v, 0);

/** Error of the polynomial recursion itself (the limit of infinitely many features). */
function polynomialFloor(r: Rows, cs: ReturnType<typeof cosines>, exact: ArrayLike<number>, p: { k1: number[][]; k0: number[][] }, kernel: 'ntk' | 'nngp'): number {
  let e = 0, t = 0;
  for (let k = 0; k < cs.cos.length; k++) {
    let rho = cs.cos[k], theta = rho;
    for (let h = 0; h < p.k1.length; h++) {
      const d0 = horner(p.k0[h], rho);
      rho = horner(p.k1[h], rho);
      theta = theta * d0 + rho;
    }
    const v = (kernel === 'ntk' ? theta : rho) * cs.norm[Math.floor(k / r.n)] * cs.norm[k % r.n];
    e += (v - exact[k]) ** 2;
    t += exact[k] ** 2;
  }
  return Math.sqrt(e / t);
}

const info = backends();
const machine = machineDescription();
console.log(`ntk-sketch NTKSketch bench: ${machine}; sketch kernels: ${info.cpu.simd}`);

// ------------------------------------------------------------------ accuracy

const fm = loadFashionMnist({ train: ACC_ROWS, test: 0 }).train;
const fmRows: Rows = { X: fm.X, n: ACC_ROWS, d: D };
const fmCos = cosines(fmRows);

interface GridCell { depth: number; degree: number; features: number; error: number; min: number; max: number; floor: number; seconds: number }
const grid: GridCell[] = [];
console.log(`\n== NTK Gram error on ${ACC_ROWS} Fashion-MNIST rows (float32 maps, nnls, mean over seeds ${SEEDS.join(', ')}; floor = polynomial recursion) ==`);
console.log(`${'depth'.padEnd(6)}${'degree'.padEnd(8)}${GRID_FEATURES.map((f) => String(f).padStart(9)).join('')}${'floor'.padStart(9)}`);
for (const depth of DEPTHS) {
  const exact = ntkKernelSync(mat(fmRows), null, { depth, output: 'ntk' }).ntk.data;
  for (const degree of DEGREES) {
    const cells: GridCell[] = [];
    let floor = NaN;
    for (const features of GRID_FEATURES) {
      const errors: number[] = [];
      const t0 = performance.now();
      for (const seed of SEEDS) {
        const map = new NTKSketch({ inputDim: D, depth, degree, features, seed });
        if (Number.isNaN(floor)) floor = polynomialFloor(fmRows, fmCos, exact, map.polynomials, 'ntk');
        errors.push(gramError(map.transformSync(mat(fmRows)).data, ACC_ROWS, features, exact));
      }
      const cell = {
        depth, degree, features, floor,
        error: errors.reduce((a, b) => a + b, 0) / errors.length,
        min: Math.min(...errors), max: Math.max(...errors),
        seconds: (performance.now() - t0) / 1000,
      };
      cells.push(cell);
      grid.push(cell);
    }
    console.log(`${String(depth).padEnd(6)}${String(degree).padEnd(8)}${cells.map((c) => c.error.toFixed(4).padStart(9)).join('')}${floor.toFixed(4).padStart(9)}`);
  }
}

// The target point: NTK and NNGP, nnls and taylor; other data sets.
interface PointRow { data: string; approximation: string; ntk: number; nngp: number; ntkFloor: number; nngpFloor: number }
const points: PointRow[] = [];
const otherData: { name: string; rows: Rows }[] = [
  { name: `Fashion-MNIST (d = 784), ${ACC_ROWS} rows`, rows: fmRows },
  { name: `random N(0, I/784), ${ACC_ROWS} rows`, rows: { X: gaussianRows(ACC_ROWS, D, 1), n: ACC_ROWS, d: D } },
  { name: `UCI digits (d = 64), ${ACC_ROWS} rows`, rows: { X: loadDigits().X.slice(0, ACC_ROWS * 64), n: ACC_ROWS, d: 64 } },
];
console.log(`\n== Depth ${DEPTH}, degree ${DEGREE}, ${FEATURES} features: NTK and NNGP Gram error (mean over seeds ${SEEDS.join(', ')}) ==`);
for (const ds of otherData) {
  const exact = ntkKernelSync(mat(ds.rows), null, { depth: DEPTH });
  const cs = ds.rows === fmRows ? fmCos : cosines(ds.rows);
  for (const approximation of ds.rows === fmRows ? (['nnls', 'taylor'] as const) : (['nnls'] as const)) {
    let ntk = 0, nngp = 0, ntkFloor = 0, nngpFloor = 0;
    for (const seed of SEEDS) {
      const map = new NTKSketch({ inputDim: ds.rows.d, depth: DEPTH, degree: DEGREE, features: FEATURES, seed, approximation });
      ntk += gramError(map.transformSync(mat(ds.rows)).data, ds.rows.n, FEATURES, exact.ntk.data) / SEEDS.length;
      nngp += gramError(map.transformSync(mat(ds.rows), { kernel: 'nngp' }).data, ds.rows.n, FEATURES, exact.nngp.data) / SEEDS.length;
      ntkFloor = polynomialFloor(ds.rows, cs, exact.ntk.data, map.polynomials, 'ntk');
      nngpFloor = polynomialFloor(ds.rows, cs, exact.nngp.data, map.polynomials, 'nngp');
    }
    points.push({ data: ds.name, approximation, ntk, nngp, ntkFloor, nngpFloor });
    console.log(`${ds.name.padEnd(40)} ${approximation.padEnd(7)} NTK ${ntk.toFixed(4)} (floor ${ntkFloor.toFixed(4)})  NNGP ${nngp.toFixed(4)} (floor ${nngpFloor.toFixed(4)})`);
  }
}

// --------------------------------------------------------------------- speed

const X64 = loadFashionMnist({ train: 0, test: ROWS }).test.X;
const X32 = Float32Array.from(X64);
const W = Float32Array.from(gaussianRows(D, FEATURES, 3));
const C = new Float32Array(ROWS * FEATURES);
const maps = {
  float32: new NTKSketch({ inputDim: D, depth: DEPTH, degree: DEGREE, features: FEATURES, seed: 1, dtype: 'float32' }),
  float64: new NTKSketch({ inputDim: D, depth: DEPTH, degree: DEGREE, features: FEATURES, seed: 1, dtype: 'float64' }),
};
const sketchDim = maps.float32.sketchDim;
// The sgemm writes into a reused C; 'NTK float32 out' likewise writes into a reused buffer (options.out).
const reused = new Float32Array(ROWS * FEATURES);
const tasks: TimedTask[] = [
  [`NTK float32`, () => maps.float32.transform({ data: X32, shape: [ROWS, D] })],
  [`NTK float32 out`, () => maps.float32.transform({ data: X32, shape: [ROWS, D] }, { out: reused })],
  [`NNGP float32`, () => maps.float32.transform({ data: X32, shape: [ROWS, D] }, { kernel: 'nngp' })],
  [`NTK float64`, () => maps.float64.transform({ data: X64, shape: [ROWS, D] })],
  [`NNGP float64`, () => maps.float64.transform({ data: X64, shape: [ROWS, D] }, { kernel: 'nngp' })],
  [`sgemm`, async () => native().gemm({ transA: false, transB: false, m: ROWS, n: FEATURES, k: D, alpha: 1, a: X32, lda: D, b: W, ldb: FEATURES, beta: 0, c: C, ldc: FEATURES }, true)],
  // What any map returning a fresh float32 result pays before computing: a
  // new ArrayBuffer of the output's size, every page touched once.
  [`output alloc`, async () => new Float32Array(ROWS * FEATURES).fill(1)],
];
// Each transform allocates a large output; timeInterleaved collects the
// previous ones before every task, outside the timing.
const samples = await timeInterleaved(tasks, ROUNDS);
const ms = (name: string) => median(samples.get(name)!);
const gemmMs = ms('sgemm');
console.log(`\n== Speed: ${ROWS} x ${D} Fashion-MNIST test images -> ${FEATURES} features (depth ${DEPTH}, degree ${DEGREE}, sketchDim ${sketchDim}), ${info.cpu.threads} threads; median of ${ROUNDS} interleaved rounds ==`);
const speedRows = tasks.map(([name]) => {
  const t = ms(name);
  const all = samples.get(name)!;
  return { name, ms: t, min: Math.min(...all), max: Math.max(...all), ratio: t / gemmMs, perRow: (t / ROWS) * 1000 };
});
for (const r of speedRows) {
  console.log(`${r.name.padEnd(14)} ${r.ms.toFixed(0).padStart(6)} ms  (${r.min.toFixed(0)}..${r.max.toFixed(0)})  ${r.perRow.toFixed(1).padStart(6)} us/row  ${r.ratio.toFixed(2)} x sgemm`);
}
const gflops = (2 * ROWS * D * FEATURES) / (gemmMs * 1e6);
console.log(`sgemm ${ROWS} x ${D} by ${D} x ${FEATURES}: ${gemmMs.toFixed(0)} ms = ${gflops.toFixed(0)} GFLOP/s`);

// --------------------------------------------------------------------- ridge

interface RidgeResult { method: string; accuracy: number; lambda: number; seconds: number }
let ridge: RidgeResult[] = [];
const ridgeFile = join(resolve(cli.text('out-dir', resolve(here, 'results'))), 'ntk-sketch-ridge.json');
let ridgeDate = new Date().toISOString();
if (withRidge) {
  console.log(`\n== Ridge on ${FEATURES} NTK features vs exact-NTK kernel ridge (CLI protocol, 10,000 / 10,000, seed 0) ==`);
  const n = 10000, nTest = 10000;
  const split = cliSplit(n, nTest);
  for (const degree of [DEGREE, 8]) {
    const t0 = performance.now();
    const map = new NTKSketch({ inputDim: D, depth: DEPTH, degree, features: FEATURES, seed: 1 });
    const P = map.transformSync({ data: split.Xtrain, shape: [n, D] }).data;
    const Pt = map.transformSync({ data: split.Xtest, shape: [nTest, D] }).data;
    const { accuracy, lambda } = await ridgeTestAccuracy(split, P, Pt, FEATURES);
    const r = { method: `NTKSketch ridge (degree ${degree}, ${FEATURES} features)`, accuracy, lambda, seconds: (performance.now() - t0) / 1000 };
    ridge.push(r);
    console.log(`${r.method.padEnd(44)} accuracy ${r.accuracy.toFixed(4)}  lambda ${lambda.toExponential(2)}  ${r.seconds.toFixed(0)} s`);
  }
  const cli = runCli(['--data', 'fashion-mnist', '--train', String(n), '--test', String(nTest), '--depth', String(DEPTH)]);
  for (const o of cli.results) {
    const r = { method: o.method === 'exact-ntk' ? `exact NTK kernel ridge (depth ${o.depth})` : 'linear ridge on pixels', accuracy: o.accuracy, lambda: o.lambda, seconds: o.seconds };
    ridge.push(r);
    console.log(`${r.method.padEnd(44)} accuracy ${r.accuracy.toFixed(4)}  lambda ${r.lambda.toExponential(2)}  ${r.seconds.toFixed(0)} s`);
  }
  if (cli.error !== null) console.log(`exact KRR (CLI) failed: ${cli.error}`);
  mkdirSync(dirname(ridgeFile), { recursive: true });
  writeFileSync(ridgeFile, JSON.stringify({ date: ridgeDate, machine, results: ridge }, null, 2) + '\n');
} else if (existsSync(ridgeFile)) {
  const saved = JSON.parse(readFileSync(ridgeFile, 'utf8')) as { date: string; results: RidgeResult[] };
  ridge = saved.results;
  ridgeDate = saved.date;
}

// ------------------------------------------------------------------- report

const outDir = resolve(cli.text('out-dir', resolve(here, 'results')));
mkdirSync(outDir, { recursive: true });
const colors: Record<number, string> = { 2: '#1f77b4', 4: '#d62728', 8: '#2ca02c' };
for (const depth of DEPTHS) {
  const series: Series[] = [];
  for (const degree of DEGREES) {
    const cells = grid.filter((c) => c.depth === depth && c.degree === degree);
    series.push({ name: `degree ${degree}`, points: cells.map((c) => [c.features, c.error]), color: colors[degree] });
    series.push({ name: `degree ${degree} floor`, points: cells.map((c) => [c.features, c.floor]), color: colors[degree], dashed: true });
  }
  const svg = lineChart(series, {
    title: `NTKSketch Gram error, depth ${depth} (${ACC_ROWS} Fashion-MNIST rows)`,
    xLabel: 'features',
    yLabel: 'relative Frobenius error of the NTK Gram matrix',
    logX: true,
    logY: true,
  });
  writeFileSync(join(outDir, `ntk-sketch-error-depth${depth}.svg`), svg);
}

const target = grid.find((c) => c.depth === DEPTH && c.degree === DEGREE && c.features === FEATURES);
const ntk32 = speedRows.find((r) => r.name === 'NTK float32')!;
const ntk64 = speedRows.find((r) => r.name === 'NTK float64')!;
const ntk32out = speedRows.find((r) => r.name === 'NTK float32 out')!;
const exactRidge = ridge.find((r) => r.method.startsWith('exact NTK'));
const sketchRidge = ridge.find((r) => r.method.includes(`degree ${DEGREE},`));
const yes = (ok: boolean) => (ok ? 'met' : 'NOT met');
const md: string[] = [
  '# NTKSketch benchmark',
  '',
  `Generated by \`npx tsx bench/ntk-sketch.bench.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  `Machine: ${machine}; sketch kernels: ${info.cpu.simd}.`,
  '',
  '## Targets (depth 2, degree 4, 8,192 features)',
  '',
  '| target | measured | |',
  '| --- | --- | --- |',
  target
    ? `| NTK Gram error <= ${TARGET_ERROR} on ${ACC_ROWS} Fashion-MNIST rows | ${target.error.toFixed(4)} (seeds ${SEEDS.join(', ')}: ${target.min.toFixed(4)}..${target.max.toFixed(4)}; polynomial floor ${target.floor.toFixed(4)}) | ${yes(target.max <= TARGET_ERROR)} |`
    : `| NTK Gram error | (grid lacks ${FEATURES} features) | |`,
  `| float32 featurisation of ${ROWS} rows <= one sgemm ${ROWS} x ${D} by ${D} x ${FEATURES} | ${ntk32.ms.toFixed(0)} ms vs ${gemmMs.toFixed(0)} ms: ${ntk32.ratio.toFixed(2)} x sgemm | ${yes(ntk32.ratio <= 1)} |`,
  `| float32 into a reused buffer (options.out; the sgemm too writes into a reused C) | ${ntk32out.ms.toFixed(0)} ms: ${ntk32out.ratio.toFixed(2)} x sgemm | |`,
  `| float64 featurisation (reported) | ${ntk64.ms.toFixed(0)} ms: ${ntk64.ratio.toFixed(2)} x sgemm | |`,
  exactRidge && sketchRidge
    ? `| ridge accuracy within 1 point of exact NTK kernel ridge (10k / 10k) | ${(100 * sketchRidge.accuracy).toFixed(2)} % vs ${(100 * exactRidge.accuracy).toFixed(2)} % | ${yes(sketchRidge.accuracy >= exactRidge.accuracy - 0.01)} |`
    : '| ridge accuracy | not measured in this run (--ridge) | |',
  '',
  `## Gram error of the NTK features, ${ACC_ROWS} Fashion-MNIST training images`,
  '',
  `Relative Frobenius error ||Phi Phi^T - Theta||_F / ||Theta||_F against ntkKernelSync; float32 maps, 'nnls' polynomials, default sketchDim`,
  `(min(4096, features)); mean over seeds ${SEEDS.join(', ')}. "floor": the error of the polynomial recursion itself (infinitely many features).`,
  '',
  `| depth | degree | ${GRID_FEATURES.join(' | ')} | floor |`,
  `| --- | --- | ${GRID_FEATURES.map(() => '---').join(' | ')} | --- |`,
  ...DEPTHS.flatMap((depth) =>
    DEGREES.map((degree) => {
      const cells = grid.filter((c) => c.depth === depth && c.degree === degree);
      return `| ${depth} | ${degree} | ${cells.map((c) => c.error.toFixed(4)).join(' | ')} | ${cells[0].floor.toFixed(4)} |`;
    }),
  ),
  '',
  ...DEPTHS.map((depth) => `![Gram error, depth ${depth}](ntk-sketch-error-depth${depth}.svg)`),
  '',
  `## Depth ${DEPTH}, degree ${DEGREE}, ${FEATURES} features: NTK and NNGP, other data`,
  '',
  '| data | polynomials | NTK error | NTK floor | NNGP error | NNGP floor |',
  '| --- | --- | --- | --- | --- | --- |',
  ...points.map((p) => `| ${p.data} | ${p.approximation} | ${p.ntk.toFixed(4)} | ${p.ntkFloor.toFixed(4)} | ${p.nngp.toFixed(4)} | ${p.nngpFloor.toFixed(4)} |`),
  '',
  `## Speed: ${ROWS} x ${D} Fashion-MNIST test images -> ${FEATURES} features`,
  '',
  `Depth ${DEPTH}, degree ${DEGREE}, sketchDim ${sketchDim}, ${info.cpu.threads} threads, async transform (allocating the output, except 'out': into one reused buffer);`,
  `median (min..max) of ${ROUNDS} rounds, each round running every task once (tinybench; order rotated, garbage collected`,
  'before each task), after a warm-up round. The machine is shared: compare within this table.',
  '',
  '| task | ms | us / row | x sgemm |',
  '| --- | --- | --- | --- |',
  ...speedRows.map((r) => `| ${r.name === 'sgemm' ? `sgemm ${ROWS} x ${D} by ${D} x ${FEATURES} (${gflops.toFixed(0)} GFLOP/s)` : r.name === 'output alloc' ? `allocating and touching a new ${ROWS} x ${FEATURES} float32 array (part of the float32 transforms)` : r.name === 'NTK float32 out' ? 'NTK float32 into a reused buffer (options.out)' : r.name} | ${r.ms.toFixed(0)} (${r.min.toFixed(0)}..${r.max.toFixed(0)}) | ${r.perRow.toFixed(1)} | ${r.ratio.toFixed(2)} |`),
  '',
];
if (ridge.length) {
  md.push(
    '## Ridge regression, Fashion-MNIST 10,000 training / 10,000 test images',
    '',
    'Protocol of the `ntk-sketch` CLI: lambda chosen on a seeded 75/25 fit/validation split of the training rows',
    '(accuracy of one-hot ridge predictions), refitted on all training rows, evaluated once on the test rows.',
    `Depth ${DEPTH}, seed 1 for the map; measured ${ridgeDate}${withRidge ? ' (this run)' : ' (an earlier run with --ridge; bench/results/ntk-sketch-ridge.json)'}.`,
    '',
    '| method | test accuracy | lambda | seconds |',
    '| --- | --- | --- | --- |',
    ...ridge.map((r) => `| ${r.method} | ${(100 * r.accuracy).toFixed(2)} % | ${r.lambda.toExponential(2)} | ${r.seconds.toFixed(0)} |`),
    '',
  );
}
md.push(
  '## How the map is built (see native/maps/ntk_sketch.hpp)',
  '',
  '- Every output is a concatenation of product-sketch blocks (one per polynomial degree, and per degree times',
  '  T^(h-1) for the NTK part), the rows split in proportion to the block weights; no SRHT from padded',
  '  (q+1)m- or 2m-dimensional packed vectors.',
  '- Factors are sampled entries of Walsh–Hadamard transforms of the layer input (one transform serves every leaf',
  '  factor), of T^(h-1), and of a small tree of sampled products shared by the k1 and k0 branches.',
  '- Every block is rescaled to its exact norm on unit inputs (Sigma^h(x,x) = 1, Theta^h(x,x) = h + 1).',
  '- FWHT: in-register stages and radix-8 passes on 64-byte vectors; products: AVX-512 / AVX2 gathers; both',
  '  bit-identical to the baseline code, so features do not depend on the instruction set.',
  '',
);
writeFileSync(join(outDir, 'ntk-sketch.md'), md.join('\n'));
console.log(`\nwrote ${join(outDir, 'ntk-sketch.md')} and ${DEPTHS.length} SVG plots`);
