/**
 * NTKNystrom on Fashion-MNIST (depth 2): ridge accuracy of uniform and
 * leverage-chosen landmarks against exact NTK kernel ridge, Gram error on
 * held-out rows next to NTKSketch and NTKRandomFeatures at the same number of
 * features, and the cost of fit and transform as ratios to one sgemm.
 *
 *   npx tsx bench/ntk-nystrom.bench.ts [--train 20000] [--test 10000] [--landmarks 1024,2048,4096,8192]
 *                                      [--sampling uniform,leverage] [--lambda auto|1e-3] [--gram-rows 1000]
 *                                      [--exact | --exact-result FILE] [--quick] [--out-dir DIR]
 *
 * Protocol of the `ntk-sketch` CLI (bench/lib/ridge-protocol.ts): the first
 * --train training images in the CLI's seeded fit/validation order, lambda
 * chosen by accuracy on the 25 % validation rows, refitted on all of them,
 * evaluated once on the --test test images. The landmarks are chosen from
 * the fit rows only (no labels), as the CLI's `fit` does: a validation row
 * that is a landmark is predicted through its own kernel function, and its
 * error then favours large lambdas (10,000 rows, 4,096 uniform landmarks:
 * 73 % validation accuracy at small lambdas against 87 % on the test set
 * when landmarks came from all rows). Exact NTK kernel ridge on the same
 * split: with --exact, computed here by the CLI (`--method exact-ntk`; an
 * n x n kernel and its eigendecomposition: about 3 minutes at 10,000 rows
 * and 8x that at 20,000 on 2 cores); --exact-result FILE reads the JSON
 * line of such a CLI run made beforehand; otherwise the saved 10,000 /
 * 10,000 result of bench/ntk-sketch.bench.ts --ridge when the split is
 * that one.
 *
 * Gram error: ||Phi Phi^T - K||_F / ||K||_F on the first --gram-rows test
 * images (held out from the landmark choice), float32 features.
 *
 * Cost: fit (landmark choice and the eigendecomposition of K(L, L)) on the
 * fit rows, timed once, and transform of 10,000 test rows (interleaved
 * rounds, median), each as a ratio to one sgemm 10,000 x 784 by 784 x m (the
 * output's shape) timed in the same run.
 *
 * A run at --train 10000 --landmarks 1024,2048,4096 takes about 11 minutes
 * on 2 cores; 8,192 landmarks (an 8,192 x 8,192 eigendecomposition in fit and
 * in the ridge, a 4x larger projection GEMM) and the 20,000-row exact kernel
 * ridge each add more than that.
 *
 * Writes bench/results/ntk-nystrom.md (or under --out-dir DIR). Needs the
 * Fashion-MNIST files (apt-get install dataset-fashion-mnist).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NTKNystrom, NTKRandomFeatures, NTKSketch, ntkKernel } from '../src/index.js';
import { native } from '../src/core/native.js';
import { benchArgs } from './lib/args.js';
import { gramError } from './lib/gram-error.js';
import { median, timeInterleaved } from './lib/interleaved-timing.js';
import { machineDescription } from './lib/machine.js';
import { cliSplitOrSkip, ridgeTestAccuracy, runCli, savedExactNtkRidge, type CliResult } from './lib/ridge-protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
const value = { type: 'string' } as const, toggle = { type: 'boolean' } as const;
const cli = benchArgs({
  train: value, test: value, landmarks: value, sampling: value, lambda: value, 'gram-rows': value,
  exact: toggle, 'exact-result': value, quick: toggle, 'out-dir': value,
});
const args = cli.argv;
const quick = cli.flag('quick');
const n = cli.int('train', quick ? 3000 : 20000);
const nTest = cli.int('test', quick ? 2000 : 10000);
const LANDMARKS = cli.ints('landmarks', quick ? [256, 512] : [1024, 2048, 4096, 8192]);
const SAMPLINGS = cli.text('sampling', 'uniform,leverage').split(',').map((v) => {
  if (v !== 'uniform' && v !== 'leverage') throw new RangeError(`--sampling must list uniform and/or leverage, got '${v}'`);
  return v;
});
/** Ridge parameter of the leverage scores relative to the mean kernel diagonal, or 'auto' (the map's default). */
const lambdaText = cli.text('lambda', 'auto');
const LAMBDA: number | 'auto' = lambdaText === 'auto' ? 'auto' : Number(lambdaText);
if (LAMBDA !== 'auto' && !(LAMBDA > 0)) throw new RangeError(`--lambda must be 'auto' or a positive number, got '${lambdaText}'`);
const exactResult = cli.text('exact-result');
if (cli.flag('exact') && exactResult !== undefined) throw new RangeError('give --exact or --exact-result, not both');
const GRAM_ROWS = Math.min(nTest, cli.int('gram-rows', 1000));
const SPEED_ROWS = Math.min(nTest, 10000);
const D = 784, DEPTH = 2, SEED = 1;

const machine = machineDescription();
const split = cliSplitOrSkip(n, nTest);
const { test } = split;
/** The landmark candidates: the fit rows (the first nFit rows of the split's fit-then-validation order). */
const fitRows = { data: split.Xtrain.subarray(0, split.nFit * D), shape: [split.nFit, D] };
const gramInput = { data: split.Xtest.subarray(0, GRAM_ROWS * D), shape: [GRAM_ROWS, D] };
const exactGram = (await ntkKernel(gramInput, null, { depth: DEPTH, output: 'ntk' })).ntk.data;

/** One sgemm SPEED_ROWS x 784 by 784 x m into a reused output: the unit of the cost ratios. */
function sgemmTask(m: number): () => Promise<unknown> {
  const W = Float32Array.from({ length: D * m }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const C = new Float32Array(SPEED_ROWS * m);
  const A = split.Xtest.subarray(0, SPEED_ROWS * D);
  return async () => native().gemm({ transA: false, transB: false, m: SPEED_ROWS, n: m, k: D, alpha: 1, a: A, lda: D, b: W, ldb: m, beta: 0, c: C, ldc: m }, true);
}

interface Row {
  m: number;
  sampling: 'uniform' | 'leverage';
  rank: number;
  accuracy: number;
  lambdaRel: number;
  gram: number;
  fitS: number;
  fitRatio: number;
  transformMs: number;
  transformRatio: number;
  sgemmMs: number;
}
const rows: Row[] = [];
const others: { m: number; name: string; gram: number }[] = [];

for (const m of LANDMARKS) {
  const sgemm = sgemmTask(m);
  for (const sampling of SAMPLINGS) {
    const map = new NTKNystrom({ depth: DEPTH, landmarks: m, sampling, seed: SEED, lambda: LAMBDA });
    const before = median((await timeInterleaved([['sgemm', sgemm]], 2)).get('sgemm')!);
    let t = performance.now();
    await map.fit(fitRows);
    const fitS = (performance.now() - t) / 1000;
    t = performance.now();
    const P = (await map.transform(split.train)).data;
    const trainS = (performance.now() - t) / 1000;
    const Pt = (await map.transform(test)).data;
    const gram = gramError(Pt.subarray(0, GRAM_ROWS * m), GRAM_ROWS, m, exactGram);
    const ridge = await ridgeTestAccuracy(split, P, Pt, m);
    // Transform cost: SPEED_ROWS test rows into a reused output, interleaved with the sgemm.
    const speedInput = { data: split.Xtest.subarray(0, SPEED_ROWS * D), shape: [SPEED_ROWS, D] };
    const out = new Float32Array(SPEED_ROWS * m);
    const samples = await timeInterleaved([['sgemm', sgemm], ['transform', () => map.transform(speedInput, { out })]], m >= 4096 ? 1 : 2);
    const sgemmMs = median([before, ...samples.get('sgemm')!]);
    const transformMs = median(samples.get('transform')!);
    const row: Row = {
      m, sampling, rank: map.info.rank, accuracy: ridge.accuracy, lambdaRel: ridge.lambdaRel, gram,
      fitS, fitRatio: (1000 * fitS) / sgemmMs, transformMs, transformRatio: transformMs / sgemmMs, sgemmMs,
    };
    rows.push(row);
    console.log(
      `m ${String(m).padStart(5)} ${sampling.padEnd(8)} rank ${row.rank}  ${(100 * row.accuracy).toFixed(2)} %  gram ${gram.toFixed(4)}  ` +
        `fit ${fitS.toFixed(1)} s (${row.fitRatio.toFixed(1)} x sgemm)  transform ${SPEED_ROWS} rows ${transformMs.toFixed(0)} ms (${row.transformRatio.toFixed(2)} x sgemm ${sgemmMs.toFixed(0)} ms)  ` +
        `[train transform ${trainS.toFixed(1)} s]`,
    );
  }
  for (const [name, make] of [
    ['NTKSketch', () => new NTKSketch({ inputDim: D, depth: DEPTH, features: m, seed: SEED })],
    ['NTKRandomFeatures', () => new NTKRandomFeatures({ inputDim: D, depth: DEPTH, features: m, seed: SEED })],
  ] as const) {
    const map = make();
    const phi = (await map.transform(gramInput)).data;
    others.push({ m, name, gram: gramError(phi, GRAM_ROWS, m, exactGram) });
    map.dispose();
    console.log(`m ${String(m).padStart(5)} ${name}  gram ${others[others.length - 1].gram.toFixed(4)}`);
  }
}

// Exact NTK kernel ridge on the same split.
let exact: { accuracy: number; source: string } | null = null;
if (exactResult !== undefined) {
  const file = exactResult;
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CliResult & { train?: number });
  const e = lines.find((r) => r.method === 'exact-ntk' && r.depth === DEPTH);
  if (!e) throw new RangeError(`--exact-result ${file} holds no exact-ntk result at depth ${DEPTH}`);
  exact = { accuracy: e.accuracy, source: `the CLI, \`--method exact-ntk --train ${n} --test ${nTest}\`, run before this one (${e.seconds.toFixed(0)} s)` };
} else if (cli.flag('exact')) {
  const cli = runCli(['--data', 'fashion-mnist', '--train', String(n), '--test', String(nTest), '--depth', String(DEPTH), '--method', 'exact-ntk']);
  const e = cli.results.find((r) => r.method === 'exact-ntk');
  if (e) exact = { accuracy: e.accuracy, source: `the CLI, this run (${e.seconds.toFixed(0)} s)` };
  if (cli.error !== null) console.log(`exact kernel ridge (CLI) failed: ${cli.error}`);
} else if (n === 10000 && nTest === 10000) {
  const saved = savedExactNtkRidge(DEPTH);
  if (saved) exact = { accuracy: saved.accuracy, source: `bench/results/ntk-sketch-ridge.json (${saved.date})` };
}
if (exact) console.log(`exact NTK kernel ridge: ${(100 * exact.accuracy).toFixed(2)} % (${exact.source})`);

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const int = (v: number) => v.toLocaleString('en');
const gap = (a: number) => (exact ? `${(100 * (exact.accuracy - a)).toFixed(2)}` : '');
const find = (m: number, s: string) => rows.find((r) => r.m === m && r.sampling === s);
const md: string[] = [
  '# NTKNystrom: landmarks, accuracy, Gram error and cost (Fashion-MNIST, depth 2)',
  '',
  `Generated by \`npx tsx bench/ntk-nystrom.bench.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  `Machine: ${machine}. A shared machine: timings are noisy; the ratios compare times measured in the same run.`,
  '',
  `Ridge regression with the protocol of the \`ntk-sketch\` CLI on the first ${int(n)} training / ${int(nTest)} test images (lambda chosen by`,
  `accuracy on a seeded 25 % of the training rows, refitted, evaluated once), float32 features (cutoff 1e-6), seed 1, leverage lambda ${LAMBDA}. The landmarks are`,
  `chosen from the ${int(split.nFit)} fit rows (never from the validation rows). Exact NTK kernel ridge on the same split: ${exact ? `${pct(exact.accuracy)} (${exact.source})` : 'not run (give --exact)'}.`,
  `The test-set standard error of an accuracy near 86 % on ${int(nTest)} images is ${(100 * Math.sqrt((0.86 * 0.14) / nTest)).toFixed(2)} points.`,
  '',
  '## Ridge accuracy and Gram error vs landmarks',
  '',
  `Gram error: ||Phi Phi^T - K||_F / ||K||_F on the first ${int(GRAM_ROWS)} test images (held out), next to the data-oblivious maps with`,
  'the same number of features (default options, seed 1). rank: eigenvalues of K(L, L) kept by the cutoff.',
  '',
  '| landmarks | uniform: accuracy | gap to exact | rank | leverage: accuracy | gap to exact | rank | Gram error uniform | Gram error leverage | NTKSketch | NTKRandomFeatures |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...LANDMARKS.map((m) => {
    const u = find(m, 'uniform'), l = find(m, 'leverage');
    const o = (name: string) => others.find((r) => r.m === m && r.name === name)?.gram.toFixed(4) ?? '';
    return (
      `| ${int(m)} | ${u ? pct(u.accuracy) : ''} | ${u ? gap(u.accuracy) : ''} | ${u?.rank ?? ''} | ${l ? pct(l.accuracy) : ''} | ${l ? gap(l.accuracy) : ''} | ${l?.rank ?? ''} | ` +
      `${u?.gram.toFixed(4) ?? ''} | ${l?.gram.toFixed(4) ?? ''} | ${o('NTKSketch')} | ${o('NTKRandomFeatures')} |`
    );
  }),
  '',
  '## Cost',
  '',
  `fit: landmark choice and eigendecomposition on the ${int(split.nFit)} fit rows, timed once. transform: ${int(SPEED_ROWS)} test rows into a reused`,
  `float32 output (median of interleaved rounds). Both as ratios to one sgemm ${int(SPEED_ROWS)} x 784 by 784 x landmarks in the same run.`,
  '',
  '| landmarks | sampling | fit s | fit / sgemm | transform ms | transform / sgemm | sgemm ms | ridge lambda (x diag) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${int(r.m)} | ${r.sampling} | ${r.fitS.toFixed(1)} | ${r.fitRatio.toFixed(0)} | ${r.transformMs.toFixed(0)} | ${r.transformRatio.toFixed(1)} | ${r.sgemmMs.toFixed(0)} | ${r.lambdaRel.toExponential(1)} |`,
  ),
  '',
];
const outDir = resolve(cli.text('out-dir', resolve(here, 'results')));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'ntk-nystrom.md'), md.join('\n'));
console.log(`\nwrote ${join(outDir, 'ntk-nystrom.md')}`);
