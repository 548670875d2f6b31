/**
 * The ridge lambda path at many features: 30 lambdas chosen on validation
 * rows from statistics only, by the Krylov path (one Lanczos run per output
 * for all lambdas), next to one Cholesky factorisation of the same m x m
 * system (the unit the target is stated in) and, up to --eigen-max
 * features, the eigendecomposition path it replaces. Fashion-MNIST training
 * images through NTKSketch (depth 2), ten one-hot outputs.
 *
 *   npx tsx bench/lambda-path.bench.ts [--features 4096,12288] [--rows 16000] [--eigen-max 4096] [--rounds 2]
 *
 * Writes bench/results/lambda-path.md. Needs the Fashion-MNIST files
 * (apt-get install dataset-fashion-mnist).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FeatureRidge, NTKSketch, loadFashionMnist } from '../src/index.js';
import { native } from '../src/core/native.js';
import { machineDescription } from './lib/machine.js';
import { benchArgs } from './lib/args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const value = { type: 'string' } as const;
const cli = benchArgs({ features: value, rows: value, 'eigen-max': value, rounds: value });
const featureCounts = cli.ints('features', [4096, 12288]);
const rows = cli.int('rows', 16000), eigenMax = cli.int('eigen-max', 4096, 0), rounds = cli.int('rounds', 2);
const lambdas = Array.from({ length: 30 }, (_, i) => 10 ** (-7 + (8 * i) / 29));
const { train } = loadFashionMnist({ train: rows, test: 0 });
const labels = Float64Array.from(train.labels);

const lines: string[] = [];
const out = (s = '') => {
  lines.push(s);
  console.log(s);
};
out('# Lambda path at many features: Krylov vs one Cholesky factorisation (and the eigendecomposition path)');
out();
out(`${machineDescription()}; ${new Date().toISOString().slice(0, 10)}.`);
out();
out(`Fashion-MNIST, the first ${rows} training images, NTKSketch depth 2 (float32 features), classification (10 one-hot outputs), validation share 0.1, 30 lambdas from 1e-7 to 10 (relative to the mean diagonal). Times in seconds, min over ${rounds} interleaved rounds; "Cholesky" is one native ridge solve (factorisation and 10 right-hand sides) of the same m x m system.`);
out();
out('| features | statistics (s) | one Cholesky (s) | Krylov path (s) | path / Cholesky | Lanczos steps | unsettled lambdas | eigen path (s) | eigen / Cholesky | same lambda as eigen | max rel. error diff near the least |');
out('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');

for (const m of featureCounts) {
  const map = new NTKSketch({ inputDim: 784, depth: 2, features: m, seed: 1 });
  const base = new FeatureRidge({ map, task: 'classification', validation: 0.1, lambdas, seed: 0, memoryLimit: 20 * 2 ** 30 });
  const t0 = performance.now();
  const batch = 2000;
  for (let s = 0; s < rows; s += batch) {
    const e = Math.min(rows, s + batch);
    await base.partialFit({ data: train.X.subarray(s * 784, e * 784), shape: [e - s, 784] }, labels.subarray(s, e));
  }
  const statsSeconds = (performance.now() - t0) / 1000;
  console.error(`m=${m}: statistics ${statsSeconds.toFixed(1)} s`);

  // One Cholesky solve of the fit part's system, the unit of the target.
  const state = base.state();
  const fit = state.fit!;
  const k = state.outputs;
  const gram = Float64Array.from(fit.gram);
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) gram[i * m + j] = gram[j * m + i];
  let trace = 0;
  for (let j = 0; j < m; j++) trace += gram[j * m + j];
  const rhs = new Float64Array(m * k);
  for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) rhs[j * k + t] = fit.rhs[j * (k + 1) + t];
  const cholesky = async () => {
    const weights = new Float64Array(m * k), status = new Float64Array(2);
    const t = performance.now();
    await native().ridgeSolve({ gram, m, rhs, k, lambda: (1e-2 * trace) / m, weights, status }, true);
    return (performance.now() - t) / 1000;
  };
  const path = async (solver: 'krylov' | 'eigen') => {
    const model = new FeatureRidge({ map, task: 'classification', validation: 0.1, lambdas, seed: 0, solver, memoryLimit: 20 * 2 ** 30 });
    model.include(base);
    await model.solve();
    return { seconds: model.seconds.lambdaPath, model };
  };
  let chol = Infinity, kry = Infinity, eig = Infinity;
  let krylovModel: FeatureRidge | null = null, eigenModel: FeatureRidge | null = null;
  for (let r = 0; r < rounds; r++) {
    chol = Math.min(chol, await cholesky());
    const kr = await path('krylov');
    kry = Math.min(kry, kr.seconds);
    krylovModel = kr.model;
    console.error(`m=${m} round ${r}: Cholesky ${chol.toFixed(2)} s, Krylov path ${kr.seconds.toFixed(2)} s`, kr.model.lambdaPathInfo);
    if (m <= eigenMax) {
      const er = await path('eigen');
      eig = Math.min(eig, er.seconds);
      eigenModel = er.model;
      console.error(`m=${m} round ${r}: eigen path ${er.seconds.toFixed(2)} s`);
    }
  }
  const info = krylovModel!.lambdaPathInfo!;
  let same = '-', diff = '-';
  if (eigenModel) {
    same = eigenModel.lambda === krylovModel!.lambda ? 'yes' : `no (${krylovModel!.lambda} vs ${eigenModel.lambda})`;
    const exact = eigenModel.lambdaPath, approx = krylovModel!.lambdaPath;
    const least = Math.min(...exact.map((p) => p.mse));
    let worst = 0;
    exact.forEach((p, i) => {
      if (p.mse < 1.2 * least && approx[i].mse !== Infinity) worst = Math.max(worst, Math.abs(approx[i].mse - p.mse) / p.mse);
    });
    diff = worst.toExponential(1);
  }
  out(
    `| ${m} | ${statsSeconds.toFixed(1)} | ${chol.toFixed(2)} | ${kry.toFixed(2)} | ${(kry / chol).toFixed(2)} | ${info.iterations} | ${info.unsettled} | ` +
      `${eig === Infinity ? '-' : eig.toFixed(2)} | ${eig === Infinity ? '-' : (eig / chol).toFixed(1)} | ${same} | ${diff} |`,
  );
}
out();
out('"unsettled lambdas": errors still moving by more than 1e-6 (relative) when the path stopped, each clearly above the least (their values are estimates; the chosen lambda is solved exactly afterwards).');
writeFileSync(join(root, 'bench', 'results', 'lambda-path.md'), lines.join('\n') + '\n');
