/**
 * LeverageSelection on Fashion-MNIST: ridge accuracy of 8,192 features kept
 * by ridge leverage scores from a larger NTKSketch or NTKRandomFeatures pool,
 * next to the plain 8,192-feature maps and to exact NTK kernel ridge.
 *
 *   npx tsx bench/leverage-selection.bench.ts [--quick] [--seeds 1,2,3]
 *
 * Protocol of the `ntk-sketch` CLI (and of bench/ntk-sketch.bench.ts
 * --ridge): the first 10,000 training images in the CLI's seeded 75/25
 * fit/validation order, lambda chosen on the validation rows (accuracy),
 * refitted on all 10,000 and evaluated once on the 10,000 test images.
 * Depth 2; float32 features. The selection is fitted on the first 4,000 fit
 * rows (no labels), lambda 1e-3 x the mean diagonal, rows normalised. Also
 * the Gram error against the exact NTK on 1,000 test images. The exact-NTK figure is
 * read from bench/results/ntk-sketch-ridge.json (same split). Also times the
 * fit and the transform of the 10,000 training rows, against the plain map's
 * transform, in the same run.
 *
 * Writes bench/results/leverage-selection.md (or under BENCH_OUT_DIR).
 * Needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeverageSelection, NTKRandomFeatures, NTKSketch, ntkKernelSync } from '../src/index.js';
import { FASHION_MNIST_DIR } from '../src/datasets.js';
import type { FloatArray } from '../src/native.js';
import { gramError } from './lib/gram-error.js';
import { machineDescription } from './lib/machine.js';
import { cliSplit, ridgeTestAccuracy } from './lib/ridge-protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seedArg = args.indexOf('--seeds');
const SEEDS = seedArg >= 0 ? args[seedArg + 1].split(',').map(Number) : [1];
const D = 784, FEATURES = 8192, DEPTH = 2, SAMPLE = quick ? 1000 : 4000, LAMBDA = 1e-3;
const n = quick ? 3000 : 10000, nTest = quick ? 2000 : 10000;

if (!existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'))) {
  console.log(`skipped: Fashion-MNIST not found under ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
  process.exit(0);
}
const machine = machineDescription();
const split = cliSplit(n, nTest);
const train = { data: split.Xtrain, shape: [n, D] };
const test = { data: split.Xtest, shape: [nTest, D] };
const sample = { data: split.Xtrain.subarray(0, SAMPLE * D), shape: [SAMPLE, D] };
const ridgeAccuracy = (P: FloatArray, Pt: FloatArray, m: number) => ridgeTestAccuracy(split, P, Pt, m);

// Gram error against the exact NTK on the first GRAM_ROWS test images (new rows for a selection).
const GRAM_ROWS = quick ? 300 : 1000;
const gramRows = { data: split.Xtest.subarray(0, GRAM_ROWS * D), shape: [GRAM_ROWS, D] };
const exactGram = ntkKernelSync(gramRows, null, { depth: DEPTH, output: 'ntk' }).ntk.data as Float64Array;
const gramErrorOf = (phi: FloatArray) => gramError(phi, GRAM_ROWS, FEATURES, exactGram);

interface Row { map: string; method: string; seed: number; accuracy: number; lambdaRel: number; fitS: number; transformS: number; dEff: number | null; gram: number }
const rows: Row[] = [];
const log = (r: Row) =>
  console.log(
    `${r.map.padEnd(18)} ${r.method.padEnd(34)} seed ${r.seed}  accuracy ${(100 * r.accuracy).toFixed(2)} %  lambda ${r.lambdaRel.toExponential(2)} x diag` +
      `  fit ${r.fitS.toFixed(1)} s  transform ${r.transformS.toFixed(1)} s  Gram error ${r.gram.toFixed(4)}${r.dEff === null ? '' : `  d_eff ${r.dEff.toFixed(0)}`}`,
  );

/** A pool: its number of features and, for NTKSketch, the internal sketchDim (default: the map's). */
interface Pool { size: number; sketchDim?: number }
type Make = (features: number, seed: number, sketchDim?: number) => NTKSketch | NTKRandomFeatures;
const families: [string, Make, Pool[]][] = [
  [
    'NTKSketch',
    (features, seed, sketchDim) => new NTKSketch({ inputDim: D, depth: DEPTH, features, seed, ...(sketchDim ? { sketchDim } : {}) }),
    // A wider internal sketch lowers the noise all pool columns share, which
    // selection cannot remove (plain maps gain little from it: their output rows dominate).
    quick ? [{ size: 16384 }] : [{ size: 32768 }, { size: 65536 }, { size: 32768, sketchDim: 16384 }],
  ],
  ['NTKRandomFeatures', (features, seed) => new NTKRandomFeatures({ inputDim: D, depth: DEPTH, features, seed }), quick ? [{ size: 16384 }] : [{ size: 32768 }]],
];

for (const [name, make, pools] of families) {
  for (const seed of SEEDS) {
    const map = make(FEATURES, seed);
    let t = performance.now();
    const P = map.transformSync(train).data;
    const transformS = (performance.now() - t) / 1000;
    const Pt = map.transformSync(test).data;
    const gram = gramErrorOf(map.transformSync(gramRows).data);
    const r = { map: name, method: `plain ${FEATURES} features`, seed, ...(await ridgeAccuracy(P, Pt, FEATURES)), fitS: 0, transformS, dEff: null, gram };
    rows.push(r);
    log(r);
    map.dispose();
    for (const { size: poolSize, sketchDim } of pools) {
      const pool = make(poolSize, seed, sketchDim);
      t = performance.now();
      const sel = await new LeverageSelection({ map: pool, features: FEATURES, lambda: LAMBDA, seed }).fit(sample);
      const fitS = (performance.now() - t) / 1000;
      t = performance.now();
      const S = (await sel.transform(train)).data;
      const selTransformS = (performance.now() - t) / 1000;
      const St = (await sel.transform(test)).data;
      const dEff = sel.scores!.reduce((a, b) => a + b, 0);
      const method = `leverage ${FEATURES} of ${poolSize}${sketchDim ? ` (sketchDim ${sketchDim})` : ''}`;
      const gram = gramErrorOf(sel.transformSync(gramRows).data);
      const row = { map: name, method, seed, ...(await ridgeAccuracy(S, St, FEATURES)), fitS, transformS: selTransformS, dEff, gram };
      rows.push(row);
      log(row);
      pool.dispose();
    }
  }
}

const ridgeFile = resolve(here, 'results', 'ntk-sketch-ridge.json');
let exact: { accuracy: number; date: string } | null = null;
if (!quick && existsSync(ridgeFile)) {
  const saved = JSON.parse(readFileSync(ridgeFile, 'utf8')) as { date: string; results: { method: string; accuracy: number }[] };
  const e = saved.results.find((r) => r.method.startsWith('exact NTK'));
  if (e) exact = { accuracy: e.accuracy, date: saved.date };
}

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const md = [
  '# LeverageSelection: 8,192 features kept by ridge leverage scores (Fashion-MNIST)',
  '',
  `Generated by \`npx tsx bench/leverage-selection.bench.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  `Machine: ${machine}.`,
  '',
  `Ridge regression with the protocol of the \`ntk-sketch\` CLI on the first ${n} training / ${nTest} test images (lambda chosen on a`,
  `seeded 75/25 split of the training rows, refitted, evaluated once). Depth ${DEPTH}, float32 features. LeverageSelection: fitted on`,
  `the first ${SAMPLE} fit rows (no labels), lambda ${LAMBDA} x the mean diagonal, draw seed = map seed. "transform": the ${n}`,
  'training rows (a selection transforms with its whole pool, then keeps columns). "lambda": the ridge lambda chosen, relative to',
  'the mean diagonal of Phi Phi^T. d_eff: the sum of the pool columns\' leverage scores. Gram error: relative Frobenius error of',
  `Phi Phi^T against the exact depth-${DEPTH} NTK on the first ${GRAM_ROWS} test images (rows the selection never saw).`,
  '',
  '| map | features | seed | test accuracy | ridge lambda | fit s | transform s | d_eff | Gram error |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.map} | ${r.method} | ${r.seed} | ${pct(r.accuracy)} | ${r.lambdaRel.toExponential(2)} | ${r.fitS ? r.fitS.toFixed(1) : ''} | ${r.transformS.toFixed(1)} | ${r.dEff === null ? '' : r.dEff.toFixed(0)} | ${r.gram.toFixed(4)} |`,
  ),
  ...(exact ? [`| exact NTK kernel ridge | (n x n kernel) | | ${pct(exact.accuracy)} | | | | | 0 |`] : []),
  '',
  `Mean test accuracy over seeds ${SEEDS.join(', ')}${exact ? ` (gap to exact NTK kernel ridge, ${pct(exact.accuracy)})` : ''}:`,
  '',
  '| map | features | mean accuracy | min .. max | gap | Gram error (max) |',
  '| --- | --- | --- | --- | --- | --- |',
  ...[...new Set(rows.map((r) => `${r.map}\t${r.method}`))].map((key) => {
    const [map, method] = key.split('\t');
    const same = rows.filter((r) => r.map === map && r.method === method);
    const acc = same.map((r) => r.accuracy);
    const mean = acc.reduce((a, b) => a + b, 0) / acc.length;
    const gap = exact ? `${(100 * (exact.accuracy - mean)).toFixed(2)} points` : '';
    return `| ${map} | ${method} | ${pct(mean)} | ${pct(Math.min(...acc))} .. ${pct(Math.max(...acc))} | ${gap} | ${Math.max(...same.map((r) => r.gram)).toFixed(4)} |`;
  }),
  '',
  ...(exact ? [`Exact NTK kernel ridge on the same split: from bench/results/ntk-sketch-ridge.json (${exact.date}).`, ''] : []),
];
const outDir = process.env.BENCH_OUT_DIR ? resolve(process.env.BENCH_OUT_DIR) : resolve(here, 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'leverage-selection.md'), md.join('\n'));
console.log(`\nwrote ${join(outDir, 'leverage-selection.md')}`);
