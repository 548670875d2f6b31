/**
 * CNTK regression on Fashion-MNIST (28 x 28 x 1), depth 3, filter 3, 'same'
 * (the configuration of the Gram error targets; --depth, --filter and --padding
 * change it), in two parts that each write a JSON record; the report
 * (bench/results/cntk-fashion-mnist.md and -accuracy.svg) is rebuilt from
 * whichever records exist.
 *
 * --exact: the exact CNTK (cntkKernel, float64) on --exact-train (600)
 *   training and --exact-test (200) test images, sized to take about 30
 *   minutes here, against CNTKSketch at 1,024 ... 16,384 features on the same
 *   images. Both are solved as kernel ridge regression (the sketch through its
 *   Gram Phi Phi^T, which gives the same predictions as ridge on Phi), with
 *   lambda chosen on the last 20% of the training images (metric 'accuracy')
 *   and then refitted on all of them; accuracy at n = 150, 300 and 600
 *   training images (the exact kernel's trend with n), the Gram error on the
 *   first 200 images, and the time of each.
 *
 * --full: CNTKSketch (--full-features, default 4,096; --full-sketch-dim
 *   and --full-degree override the map's defaults) on all 60,000
 *   training images, streamed into RidgeRegression.partialFit in batches of
 *   1,000 (memory: the f x f normal equations, one batch of features, and the
 *   validation and test features). Training images 55,000..59,999 choose
 *   lambda at checkpoints n = 5k, 10k, 20k, 40k (--full-checkpoints) and 55k
 *   (test accuracy at each);
 *   they are then added and the final model is evaluated on the 10,000 test
 *   images. Total wall time, including loading, featurising and solving.
 *
 *   npx tsx bench/cntk-fashion-mnist.bench.ts --exact | --full | --report
 *
 * --backend (cpu, cuda or auto; default cpu) is the backend of the exact
 * kernel, named in the record; --out the results' path without extension;
 * --full-train, --full-test, --full-val smaller runs.
 */
import os from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CNTKSketch,
  FASHION_MNIST_DIR,
  KernelRidgeRegression,
  RidgeRegression,
  argmaxRows,
  backends,
  cntkKernel,
  loadFashionMnist,
  oneHot,
  type Dataset,
} from '../src/index.js';
import { native } from '../src/core/native.js';
import { lineChart } from './lib/svg-plot.ts';
import { machineDescription } from './lib/machine.ts';
import { benchArgs } from './lib/args.ts';

const value = { type: 'string' } as const, flag = { type: 'boolean' } as const;
const cli = benchArgs({
  exact: flag, full: flag, report: flag, depth: value, filter: value, padding: value, backend: value, out: value,
  'exact-train': value, 'exact-test': value,
  'full-features': value, 'full-sketch-dim': value, 'full-degree': value, 'full-train': value, 'full-test': value, 'full-val': value, 'full-checkpoints': value,
});
const ARCH = {
  depth: cli.int('depth', 3),
  filterSize: cli.int('filter', 3),
  padding: cli.choice('padding', ['valid', 'same'] as const, 'same'),
};
const SHAPE: [number, number, number] = [1, 28, 28];
const PIXELS = 784;
const archLabel = `depth ${ARCH.depth}, filter ${ARCH.filterSize}, '${ARCH.padding}'`;
const BACKEND = cli.choice('backend', ['cpu', 'cuda', 'auto'] as const, 'cpu');
const here = dirname(fileURLToPath(import.meta.url));
const outBase = resolve(cli.text('out', resolve(here, 'results', 'cntk-fashion-mnist')));
const log = (s: string) => console.log(s);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const loadavg = () => os.loadavg().map((v) => v.toFixed(1)).join(', ');

if (!cli.flag('exact') && !cli.flag('full') && !cli.flag('report')) {
  console.error('usage: npx tsx bench/cntk-fashion-mnist.bench.ts --exact | --full | --report');
  process.exit(2);
}
if (!cli.flag('report') && !existsSync(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`)) {
  console.error(`Fashion-MNIST is not installed in ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
  process.exit(1);
}
mkdirSync(dirname(outBase), { recursive: true });

const images = (X: Float32Array | Float64Array, n: number) => ({ data: X, shape: [n, ...SHAPE] });
const accuracy = (pred: Int32Array, labels: Int32Array) => pred.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / pred.length;

/** Rows [r0, r1) x columns [c0, c1) of a row-major n x n matrix. */
function block(K: Float64Array, n: number, r0: number, r1: number, c0: number, c1: number) {
  const out = new Float64Array((r1 - r0) * (c1 - c0));
  for (let i = r0; i < r1; i++) out.set(K.subarray(i * n + c0, i * n + c1), (i - r0) * (c1 - c0));
  return { data: out, shape: [r1 - r0, c1 - c0] };
}

interface KrrResult { n: number; lambda: number; accuracy: number; seconds: number }

/**
 * Kernel ridge on the first n training rows of the joint kernel K (rows and
 * columns: nTrain training images, then the test images): lambda chosen on the
 * last 20% of the n, refitted on all n, accuracy on the test rows.
 */
async function krr(K: Float64Array, total: number, nTrain: number, n: number, labels: Int32Array, testLabels: Int32Array): Promise<KrrResult> {
  const t0 = performance.now();
  const nFit = Math.round(0.8 * n);
  const Y = oneHot(labels.subarray(0, n), 10);
  const model = new KernelRidgeRegression();
  await model.selectLambda(
    block(K, total, 0, nFit, 0, nFit), { data: Y.data.subarray(0, nFit * 10), shape: [nFit, 10] },
    block(K, total, nFit, n, 0, nFit), { data: Y.data.subarray(nFit * 10, n * 10), shape: [n - nFit, 10] },
    { metric: 'accuracy' },
  );
  const lambda = model.lambda!;
  await model.fit(block(K, total, 0, n, 0, n), Y);
  const pred = argmaxRows(await model.predict(block(K, total, nTrain, total, 0, n)));
  return { n, lambda, accuracy: accuracy(pred, testLabels), seconds: seconds(t0) };
}

function relFrobenius(a: ArrayLike<number>, b: ArrayLike<number>, n: number, stride: number): number {
  let e = 0, t = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = a[i * stride + j], y = b[i * stride + j];
      e += (x - y) ** 2;
      t += y * y;
    }
  }
  return Math.sqrt(e / t);
}

interface ExactRecord {
  generated: string; machine: string; arch: string; loadBefore: string; loadAfter: string;
  train: number; test: number; gramImages: number; kernelSeconds: number; pairs: number;
  exact: KrrResult[];
  sketch: { features: number; sketchDim: number; degree: number; featurizeSeconds: number; gramSeconds: number; gramError: number; krr: KrrResult[] }[];
}
interface FullRecord {
  generated: string; machine: string; arch: string; loadBefore: string; loadAfter: string;
  features: number; sketchDim: number; degree: number; seed: number;
  checkpoints: { n: number; lambda: number; valAccuracy: number; testAccuracy: number; elapsedSeconds: number }[];
  final: { n: number; lambda: number; testAccuracy: number };
  featurizeSeconds: number; solveSeconds: number; totalSeconds: number; msPerImage: number; peakRssMiB: number;
}

/** Where the exact kernel ran, when not on the CPU. */
function exactOn(): string {
  const cuda = backends().cuda;
  return BACKEND !== 'cpu' && cuda.available ? `; exact kernel on ${cuda.devices[0]?.name ?? 'a CUDA device'}` : '';
}

// ---------------------------------------------------------------- exact CNTK vs sketch
async function exactPart(): Promise<void> {
  const nTrain = cli.int('exact-train', 600), nTest = cli.int('exact-test', 200);
  const gramImages = Math.min(200, nTrain);
  const sizes = [nTrain / 4, nTrain / 2, nTrain].map(Math.round);
  const loadBefore = loadavg();
  const { train, test } = loadFashionMnist({ train: nTrain, test: nTest });
  const total = nTrain + nTest;
  const all = new Float64Array(total * PIXELS);
  all.set(train.X.subarray(0, nTrain * PIXELS));
  all.set(test.X.subarray(0, nTest * PIXELS), nTrain * PIXELS);
  const pairs = (total * (total + 1)) / 2;
  log(`== exact CNTK (${archLabel}) on ${nTrain} training + ${nTest} test images: ${pairs} pairs ==`);
  let t0 = performance.now();
  let lastLog = 0;
  const K = (await cntkKernel(images(all, total), null, {
    ...ARCH, output: 'ntk', backend: BACKEND,
    onProgress: (done, all) => {
      if (performance.now() - lastLog > 60000) {
        lastLog = performance.now();
        log(`  ${done} / ${all} pairs, ${seconds(t0).toFixed(0)} s`);
      }
    },
  })).ntk.data as Float64Array;
  const kernelSeconds = seconds(t0);
  log(`  kernel ${kernelSeconds.toFixed(0)} s (${(pairs / kernelSeconds).toFixed(0)} pairs/s)`);
  const exact: KrrResult[] = [];
  for (const n of sizes) {
    exact.push(await krr(K, total, nTrain, n, train.labels, test.labels.subarray(0, nTest)));
    log(`  exact KRR n = ${n}: ${(100 * exact.at(-1)!.accuracy).toFixed(2)} % (lambda ${exact.at(-1)!.lambda.toExponential(2)})`);
  }
  const record: ExactRecord = {
    generated: new Date().toISOString(), machine: machineDescription() + exactOn(), arch: archLabel, loadBefore, loadAfter: '',
    train: nTrain, test: nTest, gramImages, kernelSeconds, pairs, exact, sketch: [],
  };
  const all32 = Float32Array.from(all);
  for (const features of [1024, 2048, 4096, 8192, 16384]) {
    const map = new CNTKSketch({ inputShape: SHAPE, ...ARCH, features, seed: 1 });
    t0 = performance.now();
    const phi = Float64Array.from((await map.transform(images(all32, total))).data);
    const featurizeSeconds = seconds(t0);
    t0 = performance.now();
    const G = new Float64Array(total * total);
    native().gemm({ transA: false, transB: true, m: total, n: total, k: features, alpha: 1, a: phi, lda: features, b: phi, ldb: features, beta: 0, c: G, ldc: total }, false);
    const gramSeconds = seconds(t0);
    const gramError = relFrobenius(G, K, gramImages, total);
    const res: KrrResult[] = [];
    for (const n of sizes) res.push(await krr(G, total, nTrain, n, train.labels, test.labels.subarray(0, nTest)));
    record.sketch.push({ features, sketchDim: map.sketchDim, degree: map.degree, featurizeSeconds, gramSeconds, gramError, krr: res });
    log(`  sketch ${features} features: featurise ${featurizeSeconds.toFixed(1)} s, Gram error ${gramError.toFixed(4)}, ` +
      `accuracy ${res.map((r) => `${(100 * r.accuracy).toFixed(2)} %`).join(' / ')} at n = ${sizes.join(' / ')}`);
  }
  record.loadAfter = loadavg();
  writeFileSync(`${outBase}-exact.json`, JSON.stringify(record, null, 1) + '\n');
}

// ---------------------------------------------------------------- full 60k streaming run
async function fullPart(): Promise<void> {
  const features = cli.int('full-features', 4096), seed = 1;
  const sketchDim = cli.text('full-sketch-dim') === undefined ? undefined : cli.int('full-sketch-dim', 0);
  const degree = cli.text('full-degree') === undefined ? undefined : cli.int('full-degree', 0);
  const nAll = cli.int('full-train', 60000), nTest = cli.int('full-test', 10000);
  const batch = 1000, valStart = nAll - cli.int('full-val', 5000);
  const early = cli.ints('full-checkpoints', [5000, 10000, 20000, 40000]);
  const checkpoints = [...early.filter((c) => c < valStart), valStart];
  const loadBefore = loadavg();
  const started = performance.now();
  const { train, test } = loadFashionMnist({ train: nAll, test: nTest });
  const map = new CNTKSketch({ inputShape: SHAPE, ...ARCH, features, sketchDim, degree, seed });
  log(`== CNTKSketch ${features} features (sketchDim ${map.sketchDim}, degree ${map.degree}), ${archLabel}: ${nAll} / ${nTest} ==`);
  let featurizeSeconds = 0, solveSeconds = 0;
  const featurize = async (d: Dataset, from: number, to: number) => {
    const t0 = performance.now();
    const phi = await map.transform(images(Float32Array.from(d.X.subarray(from * PIXELS, to * PIXELS)), to - from));
    featurizeSeconds += seconds(t0);
    return phi;
  };
  const phiTest = await featurize(test, 0, nTest);
  const phiVal = await featurize(train, valStart, nAll);
  const yVal = oneHot(train.labels.subarray(valStart, nAll), 10);
  log(`  test + validation featurised: ${featurizeSeconds.toFixed(0)} s`);
  const model = new RidgeRegression();
  const record: FullRecord = {
    generated: '', machine: machineDescription(), arch: archLabel, loadBefore, loadAfter: '',
    features, sketchDim: map.sketchDim, degree: map.degree, seed, checkpoints: [],
    final: { n: nAll, lambda: 0, testAccuracy: 0 }, featurizeSeconds: 0, solveSeconds: 0, totalSeconds: 0, msPerImage: 0, peakRssMiB: 0,
  };
  const testAccuracy = async () => accuracy(argmaxRows(await model.predict(phiTest)), test.labels);
  for (let b = 0; b < valStart; b += batch) {
    const e = Math.min(b + batch, valStart);
    const phi = await featurize(train, b, e);
    let t0 = performance.now();
    await model.partialFit(phi, oneHot(train.labels.subarray(b, e), 10));
    solveSeconds += seconds(t0);
    if (checkpoints.includes(e)) {
      t0 = performance.now();
      const scores = await model.selectLambda(phiVal, yVal, { metric: 'accuracy' });
      const lambda = model.lambda!;
      const valAccuracy = scores.find((s) => s.lambda === lambda)!.score;
      const acc = await testAccuracy();
      solveSeconds += seconds(t0);
      record.checkpoints.push({ n: e, lambda, valAccuracy, testAccuracy: acc, elapsedSeconds: seconds(started) });
      log(`  n = ${e}: lambda ${lambda.toExponential(2)}, validation ${(100 * valAccuracy).toFixed(2)} %, ` +
        `test ${(100 * acc).toFixed(2)} % (${seconds(started).toFixed(0)} s)`);
    }
  }
  let t0 = performance.now();
  await model.partialFit(phiVal, yVal);
  const acc = await testAccuracy();
  solveSeconds += seconds(t0);
  record.final = { n: nAll, lambda: model.lambda!, testAccuracy: acc };
  record.featurizeSeconds = featurizeSeconds;
  record.solveSeconds = solveSeconds;
  record.totalSeconds = seconds(started);
  record.msPerImage = (1000 * featurizeSeconds) / (nAll + nTest);
  record.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  record.generated = new Date().toISOString();
  record.loadAfter = loadavg();
  log(`  all ${nAll}: test ${(100 * acc).toFixed(2)} %; total ${record.totalSeconds.toFixed(0)} s ` +
    `(featurising ${featurizeSeconds.toFixed(0)} s = ${record.msPerImage.toFixed(1)} ms/image, solving ${solveSeconds.toFixed(0)} s), ` +
    `peak RSS ${record.peakRssMiB.toFixed(0)} MiB`);
  writeFileSync(`${outBase}-full-${features}-${map.sketchDim}-${map.degree}${ARCH.depth === 3 && ARCH.filterSize === 3 && ARCH.padding === 'same' ? '' : `-d${ARCH.depth}q${ARCH.filterSize}${ARCH.padding}`}.json`, JSON.stringify(record, null, 1) + '\n');
}

// ---------------------------------------------------------------- report
function report(): void {
  const read = <T>(f: string): T | null => (existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as T) : null);
  const ex = read<ExactRecord>(`${outBase}-exact.json`);
  const prefix = `${basename(outBase)}-full-`;
  const fulls = readdirSync(dirname(outBase))
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .map((f) => read<FullRecord>(join(dirname(outBase), f))!)
    .sort((a, b) => a.features - b.features || a.sketchDim - b.sketchDim);
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  const md: string[] = ['# CNTK regression on Fashion-MNIST', '', 'Generated by `npx tsx bench/cntk-fashion-mnist.bench.ts --exact`, `--full` and `--report`.', ''];
  if (ex) {
    const nMax = ex.train;
    const exactTop = ex.exact.at(-1)!;
    const exactTotal = ex.kernelSeconds + exactTop.seconds;
    md.push(
      `## Exact CNTK kernel ridge vs CNTKSketch on ${ex.train} training / ${ex.test} test images`, '',
      `${ex.arch}; run ${ex.generated} on ${ex.machine}; load average ${ex.loadBefore} before, ${ex.loadAfter} after ` +
        '(the machine is shared). Lambda chosen on the last 20% of the n training images (metric accuracy), then refitted on all n; ' +
        `Gram error: relative Frobenius error of Phi Phi^T against the exact CNTK on the first ${ex.gramImages} training images. ` +
        `Exact kernel: ${ex.pairs} image pairs (training and test together, float64) in ${ex.kernelSeconds.toFixed(0)} s ` +
        `(${(ex.pairs / ex.kernelSeconds).toFixed(0)} pairs/s). Test-set standard error at 85 %: ~${(100 * Math.sqrt(0.85 * 0.15 / ex.test)).toFixed(1)} points.`,
      '',
      `| method | features | Gram error (${ex.gramImages} images) | ${ex.exact.map((r) => `accuracy, n = ${r.n}`).join(' | ')} | seconds (kernel or features + Gram + ridge, n = ${nMax}) | speed-up vs exact |`,
      `| --- | --- | --- | ${ex.exact.map(() => '---').join(' | ')} | --- | --- |`,
      `| exact CNTK | | 0 | ${ex.exact.map((r) => pct(r.accuracy)).join(' | ')} | ${exactTotal.toFixed(0)} | 1x |`,
    );
    for (const s of ex.sketch) {
      const t = s.featurizeSeconds + s.gramSeconds + s.krr.at(-1)!.seconds;
      md.push(`| CNTKSketch (sketchDim ${s.sketchDim}, degree ${s.degree}) | ${s.features} | ${s.gramError.toFixed(4)} | ` +
        `${s.krr.map((r) => pct(r.accuracy)).join(' | ')} | ${t.toFixed(1)} | ${(exactTotal / t).toFixed(0)}x |`);
    }
    // "Equal accuracy" within the test set's resolution: one binomial standard error.
    const se = Math.sqrt((exactTop.accuracy * (1 - exactTop.accuracy)) / ex.test);
    const within = ex.sketch.filter((s) => s.krr.at(-1)!.accuracy >= exactTop.accuracy - se);
    const time = (s: ExactRecord['sketch'][number]) => s.featurizeSeconds + s.gramSeconds + s.krr.at(-1)!.seconds;
    md.push('');
    if (within.length > 0) {
      md.push(`At n = ${nMax}, ${within.map((s) => s.features).join(', ')} features are within one test standard error ` +
        `(${(100 * se).toFixed(1)} points) of the exact kernel's ${pct(exactTop.accuracy)}: equal accuracy at this resolution, ` +
        `${within.map((s) => `${(exactTotal / time(s)).toFixed(0)}x`).join(', ')} faster respectively ` +
        `(exact: ${exactTotal.toFixed(0)} s). The Gram errors are for one seed (bench/results/cntk-sketch.md has the mean over three).`, '');
    } else {
      md.push(`No feature count came within one test standard error of the exact kernel's ${pct(exactTop.accuracy)} at n = ${nMax}.`, '');
    }
    const points = (f: (r: KrrResult) => number) => (rs: KrrResult[]) => rs.map((r) => [r.n, f(r)] as [number, number]);
    const svg = lineChart(
      [
        { name: `exact CNTK`, points: points((r) => 100 * r.accuracy)(ex.exact), dashed: true },
        ...ex.sketch.map((s) => ({ name: `sketch ${s.features}`, points: points((r) => 100 * r.accuracy)(s.krr) })),
        ...fulls.map((full) => ({
          name: `sketch ${full.features}/${full.sketchDim}/${full.degree}, streamed`,
          points: [...full.checkpoints.map((c) => [c.n, 100 * c.testAccuracy] as [number, number]), [full.final.n, 100 * full.final.testAccuracy] as [number, number]],
        })),
      ],
      { title: `Fashion-MNIST test accuracy, CNTK ${ex.arch}`, xLabel: 'training images', yLabel: 'test accuracy (%)', logX: true },
    );
    writeFileSync(`${outBase}-accuracy.svg`, svg);
    md.push(`![accuracy vs training images](${basename(outBase)}-accuracy.svg)`, '');
  }
  if (fulls.length > 0) {
    md.push(
      '## All training images: summary', '',
      '| architecture | features | sketchDim | degree | test accuracy | total minutes | ms / image |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...fulls.map((f) => `| ${f.arch} | ${f.features} | ${f.sketchDim} | ${f.degree} | ${pct(f.final.testAccuracy)} | ${(f.totalSeconds / 60).toFixed(1)} | ${f.msPerImage.toFixed(1)} |`),
      '',
    );
  }
  for (const full of fulls) {
    md.push(
      `## CNTKSketch, ${full.features} features (sketchDim ${full.sketchDim}, degree ${full.degree}), on all ${full.final.n} training images (streaming ridge)`, '',
      `${full.arch}, ${full.features} features (sketchDim ${full.sketchDim}, degree ${full.degree}), float32 features, seed ${full.seed}; ` +
        `run ${full.generated} on ${full.machine}; load average ${full.loadBefore} before, ${full.loadAfter} after. ` +
        'RidgeRegression.partialFit in batches of 1,000 images (float64 normal equations); lambda chosen on training images ' +
        `${full.checkpoints.at(-1)!.n}..${full.final.n - 1} ` +
        'at each checkpoint, which are then added for the final model.',
      '',
      '| training images | lambda | validation accuracy | test accuracy | elapsed s |',
      '| --- | --- | --- | --- | --- |',
      ...full.checkpoints.map((c) => `| ${c.n} | ${c.lambda.toExponential(2)} | ${pct(c.valAccuracy)} | ${pct(c.testAccuracy)} | ${c.elapsedSeconds.toFixed(0)} |`),
      `| ${full.final.n} | ${full.final.lambda.toExponential(2)} | | **${pct(full.final.testAccuracy)}** | ${full.totalSeconds.toFixed(0)} |`,
      '',
      `Total ${(full.totalSeconds / 60).toFixed(1)} min: featurising all training and test images ${full.featurizeSeconds.toFixed(0)} s ` +
        `(${full.msPerImage.toFixed(1)} ms/image), normal equations, lambda paths and predictions ${full.solveSeconds.toFixed(0)} s; ` +
        `peak RSS ${full.peakRssMiB.toFixed(0)} MiB.`,
      '',
    );
  }
  writeFileSync(`${outBase}.md`, md.join('\n'));
  log(`wrote ${outBase}.md`);
}

if (cli.flag('exact')) await exactPart();
if (cli.flag('full')) await fullPart();
report();
