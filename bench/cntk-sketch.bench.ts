/**
 * CNTKSketch on Fashion-MNIST (28 x 28 x 1), depth 3, filter 3, 'same'
 * (the defaults: degree 8 below 16,384 features and 16 from there on,
 * sketchDim = features / 4, float32):
 *
 * 1. Gram error vs features: relative Frobenius error of the feature Gram
 *    matrix against the exact CNTK / CNN-GP (cntkKernelSync) on the first
 *    --images (60) test images, features 1,024 ... 16,384, seeds 1..3; and the
 *    polynomial floors of degrees 8 and 16 (the exact recursion with the map's
 *    polynomials in place of k1, k0, i.e. infinite sketch dimension) on the
 *    first --floor-images (16) images, from the plain-TypeScript reference.
 * 2. Speed (tinybench): ms per image featurising --speed-images (400) test
 *    images at 1,024 ... 16,384 features on all cores, and at 4,096 on one;
 *    also 'valid' padding with filters 3 and 4. Memory: the map's parameters,
 *    the per-thread scratch, the output, and the process's peak RSS.
 * 3. Ridge (--ridge): RidgeRegression streamed with
 *    partialFit on --train (10,000) training images at 4,096 features,
 *    lambda chosen by selectLambda (metric 'accuracy') on the last 10% of them,
 *    refit on all, accuracy on --test (10,000) test images; and the cost
 *    of the full 60,000-image training set extrapolated from the timings.
 *
 *   npx tsx bench/cntk-sketch.bench.ts [--ridge] [--quick]
 *
 * Writes bench/results/cntk-sketch.md and cntk-sketch.svg (or --out PATH: PATH.md and PATH.svg).
 */
import os from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import {
  CNTKSketch,
  FASHION_MNIST_DIR,
  RidgeRegression,
  argmaxRows,
  backends,
  cntkKernelSync,
  evaluatePolynomial,
  loadFashionMnist,
  oneHot,
  setThreads,
} from '../src/index.js';
import { cntkPairWith } from '../test/reference/cntk-poly-reference.ts';
import { lineChart } from './lib/svg-plot.ts';
import { gramError } from './lib/gram-error.ts';
import { machineDescription } from './lib/machine.ts';
import { benchArgs } from './lib/args.js';

const value = { type: 'string' } as const;
const cli = benchArgs({
  quick: { type: 'boolean' }, ridge: { type: 'boolean' }, out: value,
  images: value, 'floor-images': value, 'speed-images': value, train: value, test: value,
});
const quick = cli.flag('quick');
const ridge = cli.flag('ridge');
const N = cli.int('images', quick ? 24 : 60);
const FLOOR_N = cli.int('floor-images', quick ? 4 : 16);
const SPEED_N = cli.int('speed-images', quick ? 100 : 400);
const TRAIN = cli.int('train', 10000);
const TEST = cli.int('test', 10000);
const FEATURES = quick ? [1024, 4096] : [1024, 2048, 4096, 8192, 16384];
const SPEED_FEATURES = quick ? [1024, 4096] : [1024, 2048, 4096, 8192, 16384];
const SEEDS = quick ? [1] : [1, 2, 3];
const ARCH = { depth: 3, filterSize: 3, padding: 'same' as const };
const SHAPE: [number, number, number] = [1, 28, 28];

if (!existsSync(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`)) {
  console.error(`Fashion-MNIST is not installed in ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
  process.exit(1);
}
const here = dirname(fileURLToPath(import.meta.url));
const outBase = resolve(cli.text('out', resolve(here, 'results', 'cntk-sketch')));
const loadBefore = os.loadavg()[0];
const started = performance.now();
const log = (s: string) => console.log(s);
const images = (X: Float64Array | Float32Array, n: number) => ({ data: X, shape: [n, ...SHAPE] });


function relFrobenius(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, t = 0;
  for (let i = 0; i < b.length; i++) {
    e += (a[i] - b[i]) ** 2;
    t += b[i] ** 2;
  }
  return Math.sqrt(e / t);
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

log(`CNTKSketch bench: ${machineDescription()}`);
const { test: testSet } = loadFashionMnist({ train: 0, test: Math.max(N, SPEED_N) });

// ---------------------------------------------------------------- accuracy
log(`\n== exact CNTK of the first ${N} test images (depth 3, filter 3, same) ==`);
let t0 = performance.now();
const exact = cntkKernelSync(images(testSet.X.subarray(0, N * 784), N), null, ARCH);
const exactSeconds = (performance.now() - t0) / 1000;
log(`  ${exactSeconds.toFixed(1)} s`);

const exactSub = { ntk: new Float64Array(FLOOR_N * FLOOR_N), nngp: new Float64Array(FLOOR_N * FLOOR_N) };
for (let i = 0; i < FLOOR_N; i++) {
  for (let j = 0; j < FLOOR_N; j++) {
    exactSub.ntk[i * FLOOR_N + j] = exact.ntk.data[i * N + j];
    exactSub.nngp[i * FLOOR_N + j] = exact.nngp.data[i * N + j];
  }
}
const floors: Record<number, { ntk: number; nngp: number }> = {};
for (const degree of [8, 16]) {
  const P = new CNTKSketch({ inputShape: SHAPE, ...ARCH, features: 64, degree }).polynomials;
  log(`\n== polynomial floor on the first ${FLOOR_N} images (degree ${degree}, nnls) ==`);
  t0 = performance.now();
  const fNtk = new Float64Array(FLOOR_N * FLOOR_N), fNngp = new Float64Array(FLOOR_N * FLOOR_N);
  for (let i = 0; i < FLOOR_N; i++) {
    for (let j = 0; j <= i; j++) {
      const r = cntkPairWith(
        testSet.X.subarray(i * 784, (i + 1) * 784), testSet.X.subarray(j * 784, (j + 1) * 784),
        { channels: 1, height: 28, width: 28 }, ARCH,
        (h, t) => evaluatePolynomial(P.k1[h - 1], t), (h, t) => evaluatePolynomial(P.k0[h - 1], t), i === j,
      );
      fNtk[i * FLOOR_N + j] = fNtk[j * FLOOR_N + i] = r.ntk;
      fNngp[i * FLOOR_N + j] = fNngp[j * FLOOR_N + i] = r.nngp;
    }
  }
  floors[degree] = { ntk: relFrobenius(fNtk, exactSub.ntk), nngp: relFrobenius(fNngp, exactSub.nngp) };
  log(`  NTK ${floors[degree].ntk.toFixed(4)}, NNGP ${floors[degree].nngp.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

interface AccRow { features: number; sketchDim: number; degree: number; ntk: number[]; nngp: number[] }
const accRows: AccRow[] = [];
log(`\n== Gram relative Frobenius error vs features (${N} images, float32 maps, seeds ${SEEDS.join(', ')}) ==`);
const accX = Float32Array.from(testSet.X.subarray(0, N * 784));
for (const features of FEATURES) {
  const row: AccRow = { features, sketchDim: 0, degree: 0, ntk: [], nngp: [] };
  for (const seed of SEEDS) {
    const map = new CNTKSketch({ inputShape: SHAPE, ...ARCH, features, seed });
    row.sketchDim = map.sketchDim;
    row.degree = map.degree;
    for (const kernel of ['ntk', 'nngp'] as const) {
      const phi = map.transformSync(images(accX, N), { kernel });
      row[kernel].push(gramError(phi.data, N, features, (kernel === 'ntk' ? exact.ntk : exact.nngp).data));
    }
  }
  accRows.push(row);
  const fmt = (v: number[]) => `${mean(v).toFixed(4)} (max ${Math.max(...v).toFixed(4)})`;
  log(`  ${String(features).padStart(6)} features (sketchDim ${row.sketchDim}, degree ${row.degree}): NTK ${fmt(row.ntk)}, NNGP ${fmt(row.nngp)}`);
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

// ---------------------------------------------------------------- speed
log(`\n== speed: ${SPEED_N} test images per call (float32, NTK features) ==`);
const speedX = Float32Array.from(testSet.X.subarray(0, SPEED_N * 784));
interface SpeedRow { label: string; features: number; threads: number; msPerImage: number; parameterBytes: number; workspaceBytes: number; outputBytes: number }
const speedRows: SpeedRow[] = [];
const threadsAll = backends().cpu.threads;
async function timeMap(label: string, map: CNTKSketch, threads: number, count: number): Promise<void> {
  setThreads(threads);
  const input = images(speedX.subarray(0, count * 784), count);
  map.transformSync(images(speedX.subarray(0, 784 * Math.min(count, 8)), Math.min(count, 8))); // warm-up
  const bench = new Bench({ iterations: 2, time: 0, warmup: false });
  bench.add(label, () => {
    map.transformSync(input);
  });
  await bench.run();
  const task = bench.tasks[0];
  const ms = (task.result as { latency?: { min: number } }).latency?.min ?? NaN;
  const mem = map.memory;
  speedRows.push({ label, features: map.features, threads, msPerImage: ms / count, parameterBytes: mem.parameterBytes, workspaceBytes: mem.workspaceBytes, outputBytes: count * map.features * 4 });
  log(`  ${label}, ${threads} thread(s): ${(ms / count).toFixed(2)} ms/image (best of 2 calls of ${count} images)`);
  setThreads(0);
}
const rssBefore = maxRssBytes();
for (const features of SPEED_FEATURES) {
  await timeMap(`same 3x3, ${features} features`, new CNTKSketch({ inputShape: SHAPE, ...ARCH, features }), threadsAll, SPEED_N);
}
await timeMap('same 3x3, 4096 features', new CNTKSketch({ inputShape: SHAPE, ...ARCH, features: 4096 }), 1, Math.min(SPEED_N, 100));
await timeMap('valid 3x3, 4096 features', new CNTKSketch({ inputShape: SHAPE, depth: 3, filterSize: 3, padding: 'valid', features: 4096 }), threadsAll, SPEED_N);
await timeMap('valid 4x4, 4096 features', new CNTKSketch({ inputShape: SHAPE, depth: 3, filterSize: 4, padding: 'valid', features: 4096 }), threadsAll, SPEED_N);
const rssAfter = maxRssBytes();

// ---------------------------------------------------------------- ridge
interface RidgeResult {
  train: number; test: number; val: number; features: number; lambda: number; valAccuracy: number; testAccuracy: number;
  featurizeMsPerImage: number; accumulateSeconds: number; selectSeconds: number; totalSeconds: number;
}
let ridgeResult: RidgeResult | null = null;
if (ridge) {
  log(`\n== ridge: ${TRAIN} training images (last 10% validation for lambda), ${TEST} test images, 4096 features ==`);
  const { train, test } = loadFashionMnist({ train: TRAIN, test: TEST });
  const map = new CNTKSketch({ inputShape: SHAPE, ...ARCH, features: 4096, seed: 1 });
  const rt0 = performance.now();
  const batch = 1000;
  const model = new RidgeRegression();
  const valStart = Math.floor(TRAIN * 0.9);
  const trainX = Float32Array.from(train.X);
  const Y = oneHot(train.labels, 10);
  let featMs = 0, accMs = 0;
  const featurize = async (X: Float32Array, from: number, to: number) => {
    const s = performance.now();
    const phi = await map.transform(images(X.subarray(from * 784, to * 784), to - from));
    featMs += performance.now() - s;
    return phi;
  };
  // Fit part, streamed; the validation features are kept for the lambda path
  // and then added to the normal equations for the final fit.
  for (let b = 0; b < valStart; b += batch) {
    const e = Math.min(valStart, b + batch);
    const phi = await featurize(trainX, b, e);
    const s = performance.now();
    await model.partialFit(phi, { data: Y.data.subarray(b * 10, e * 10), shape: [e - b, 10] });
    accMs += performance.now() - s;
  }
  const phiVal = await featurize(trainX, valStart, TRAIN);
  const yVal = { data: Y.data.subarray(valStart * 10, TRAIN * 10), shape: [TRAIN - valStart, 10] };
  let s = performance.now();
  const scores = await model.selectLambda(phiVal, yVal, { metric: 'accuracy' });
  const selectMs = performance.now() - s;
  const best = scores.reduce((a, b2) => (b2.lambda === model.lambda ? b2 : a), scores[0]);
  s = performance.now();
  await model.partialFit(phiVal, yVal);
  accMs += performance.now() - s;
  const testX = Float32Array.from(test.X);
  let correct = 0;
  for (let b = 0; b < TEST; b += batch) {
    const e = Math.min(TEST, b + batch);
    const phi = await featurize(testX, b, e);
    const pred = argmaxRows(await model.predict(phi));
    for (let i = 0; i < e - b; i++) if (pred[i] === test.labels[b + i]) correct++;
  }
  ridgeResult = {
    train: TRAIN, test: TEST, val: TRAIN - valStart, features: 4096, lambda: model.lambda as number,
    valAccuracy: best.score, testAccuracy: correct / TEST, featurizeMsPerImage: featMs / (TRAIN + TEST),
    accumulateSeconds: accMs / 1000, selectSeconds: selectMs / 1000, totalSeconds: (performance.now() - rt0) / 1000,
  };
  log(`  lambda ${ridgeResult.lambda.toExponential(2)} (validation accuracy ${(100 * ridgeResult.valAccuracy).toFixed(2)}%), ` +
    `test accuracy ${(100 * ridgeResult.testAccuracy).toFixed(2)}%; featurising ${ridgeResult.featurizeMsPerImage.toFixed(2)} ms/image, ` +
    `normal equations ${ridgeResult.accumulateSeconds.toFixed(1)} s, lambda path ${ridgeResult.selectSeconds.toFixed(1)} s, total ${ridgeResult.totalSeconds.toFixed(0)} s`);
}

// ---------------------------------------------------------------- report
const loadAfter = os.loadavg()[0];
const at = (label: string, threads = threadsAll) => speedRows.find((r) => r.label === label && r.threads === threads);
const ms4096 = at('same 3x3, 4096 features')?.msPerImage ?? NaN;
const lines: string[] = [];
lines.push('# CNTKSketch benchmark', '');
lines.push(`Generated by \`npx tsx bench/cntk-sketch.bench.ts${ridge ? ' --ridge' : ''}${quick ? ' --quick' : ''}\` on ${new Date().toISOString()}.`, '');
lines.push('| quantity | value |', '| --- | --- |');
lines.push(`| machine | ${machineDescription()} |`);
lines.push(`| load average (1 min) | ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after (other processes share the cores: compare ratios within this run) |`);
lines.push(`| data | Fashion-MNIST test images, pixels in [0, 1], shape [n, 1, 28, 28] |`);
lines.push(`| architecture | depth 3, filter 3, 'same' (global average pooling) unless stated |`);
lines.push(`| map | CNTKSketch defaults: degree 8 below 16,384 features, 16 from there on ('nnls'), sketchDim = features / 4, float32 |`);
lines.push(`| exact CNTK of ${N} images | ${exactSeconds.toFixed(1)} s (cntkKernelSync, NTK + NNGP) |`, '');

lines.push('## Gram error vs features', '');
lines.push(`Relative Frobenius error ‖ΦΦᵀ − K‖_F / ‖K‖_F against the exact kernel on the first ${N} test images, ` +
  `mean and max over seeds ${SEEDS.join(', ')}. Polynomial floors (the exact recursion with the map's polynomials, i.e. ` +
  `infinite sketchDim) on the first ${FLOOR_N} images: degree 8 NTK ${floors[8].ntk.toFixed(4)}, NNGP ${floors[8].nngp.toFixed(4)}; ` +
  `degree 16 NTK ${floors[16].ntk.toFixed(4)}, NNGP ${floors[16].nngp.toFixed(4)}.`, '');
lines.push('| features | sketchDim | degree | NTK mean | NTK max | NNGP mean | NNGP max |', '| --- | --- | --- | --- | --- | --- | --- |');
for (const r of accRows) {
  lines.push(`| ${r.features} | ${r.sketchDim} | ${r.degree} | ${mean(r.ntk).toFixed(4)} | ${Math.max(...r.ntk).toFixed(4)} | ${mean(r.nngp).toFixed(4)} | ${Math.max(...r.nngp).toFixed(4)} |`);
}
const target = (features: number, bound: number) => {
  const r = accRows.find((a) => a.features === features);
  return r ? `${mean(r.ntk).toFixed(4)} (max ${Math.max(...r.ntk).toFixed(4)}) vs target ≤ ${bound}: ${Math.max(...r.ntk) <= bound ? 'met' : 'NOT met'}` : 'not run';
};
lines.push('', `Targets (NTK): 8,192 features ${target(8192, 0.05)}; 16,384 features ${target(16384, 0.03)}.`, '');
lines.push('![Gram error vs features](cntk-sketch.svg)', '');

lines.push('## Speed and memory', '');
lines.push(`Milliseconds per image featurising ${SPEED_N} test images in one call (best of 2 calls, tinybench), NTK features, float32. ` +
  `Memory per map: parameters (shared by threads) and scratch per thread; the output is n x features float32.`, '');
lines.push('| configuration | threads | ms / image | parameters | scratch / thread | output |', '| --- | --- | --- | --- | --- | --- |');
for (const r of speedRows) {
  lines.push(`| ${r.label} | ${r.threads} | ${r.msPerImage.toFixed(2)} | ${mib(r.parameterBytes)} | ${mib(r.workspaceBytes)} | ${mib(r.outputBytes)} |`);
}
lines.push('', `Peak resident memory of the whole process (Node, dataset, exact kernels included): ${mib(rssBefore)} before the speed runs, ${mib(rssAfter)} after.`);
lines.push('', `Target: ≤ 30 ms/image at 4,096 features (10x the published PyTorch CNTKSketch, 305 ms/image): ` +
  `${ms4096.toFixed(2)} ms/image, ${ms4096 <= 30 ? 'met' : 'NOT met'} (${(305 / ms4096).toFixed(0)}x faster than 305 ms).`, '');

if (ridgeResult) {
  const r = ridgeResult;
  lines.push('## Ridge regression', '');
  lines.push(`RidgeRegression on CNTKSketch features (4,096, seed 1), streamed with partialFit in batches of 1,000: ` +
    `${r.train - r.val} training images, lambda chosen by selectLambda (metric 'accuracy') on the next ${r.val}, then those added and ` +
    `refitted; accuracy on the first ${r.test} test images.`, '');
  lines.push('| quantity | value |', '| --- | --- |');
  lines.push(`| lambda | ${r.lambda.toExponential(2)} (validation accuracy ${(100 * r.valAccuracy).toFixed(2)}%) |`);
  lines.push(`| test accuracy | ${(100 * r.testAccuracy).toFixed(2)}% |`);
  lines.push(`| featurising | ${r.featurizeMsPerImage.toFixed(2)} ms/image (${r.train + r.test} images) |`);
  lines.push(`| normal equations (Φᵀ Φ, Φᵀ Y) | ${r.accumulateSeconds.toFixed(1)} s |`);
  lines.push(`| lambda path (one eigendecomposition of 4096 x 4096) | ${r.selectSeconds.toFixed(1)} s |`);
  lines.push(`| total | ${r.totalSeconds.toFixed(0)} s |`, '');
  const full = 60000;
  const featFull = (full * r.featurizeMsPerImage) / 1000;
  const accFull = (r.accumulateSeconds * full) / r.train;
  lines.push(`Full training set (extrapolated from these timings): featurising 60,000 images ≈ ${(featFull / 60).toFixed(0)} min, ` +
    `normal equations ≈ ${accFull.toFixed(0)} s (linear in n), lambda path ≈ ${r.selectSeconds.toFixed(0)} s (independent of n); ` +
    `memory stays at the 4096 x 4096 float64 Gram matrix (128 MiB) plus one batch of features.`, '');
}

const svg = lineChart(
  [
    { name: 'NTK (mean)', points: accRows.map((r) => [r.features, mean(r.ntk)]) },
    { name: 'NNGP (mean)', points: accRows.map((r) => [r.features, mean(r.nngp)]) },
    { name: 'NTK floor, degree 8', points: accRows.map((r) => [r.features, floors[8].ntk]), dashed: true },
    { name: 'NTK floor, degree 16', points: accRows.map((r) => [r.features, floors[16].ntk]), dashed: true },
    { name: '1/sqrt(features)', points: accRows.map((r) => [r.features, 1 / Math.sqrt(r.features)]), dashed: true },
  ],
  { title: 'CNTKSketch Gram error, Fashion-MNIST, depth 3, 3x3 same', xLabel: 'features', yLabel: 'relative Frobenius error', logX: true, logY: true },
);
mkdirSync(dirname(outBase), { recursive: true });
writeFileSync(`${outBase}.md`, `${lines.join('\n')}\n`);
writeFileSync(`${outBase}.svg`, svg);
log(`\nwrote ${outBase}.md and ${outBase}.svg (${((performance.now() - started) / 1000).toFixed(0)} s)`);
