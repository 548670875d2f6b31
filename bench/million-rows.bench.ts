/**
 * Regression at scale, end to end through the command line: a million sparse
 * rows (bench/data/sparse_regression.py: d = 100,000, 50 non-zeros per row,
 * targets a smooth function of a latent point) fitted with 4,096 NTKSketch
 * features, next to linear ridge on the raw sparse coordinates (scikit-learn),
 * then the same fit as 4 shards under GNU parallel, merged. And Fashion-MNIST
 * (all 60,000 training images) through every row map. Writes
 * bench/results/million-rows.md.
 *
 *   npx tsx bench/million-rows.bench.ts [--data DIR] [--skip-shards] [--skip-fashion]
 *
 * DIR holds train.svm and test.svm (generated there when missing: python3
 * with numpy, several minutes). Needs the built CLI (npm run build), and for
 * the baseline and the shards python3-sklearn and GNU parallel.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../src/core/native.js';
import { findPython, runPython } from '../test/helpers/python.js';
import { machineDescription } from './lib/machine.js';
import { benchArgs } from './lib/args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const flags = benchArgs({ data: { type: 'string' }, 'skip-shards': { type: 'boolean' }, 'skip-fashion': { type: 'boolean' } });
const dataDir = flags.text('data') ?? join(tmpdir(), 'ntk-sketch-sparse-1m');
const work = mkdtempSync(join(tmpdir(), 'ntk-million-'));
const cliPath = join(root, 'dist', 'cli', 'main.js');
const fashion = '/usr/share/datasets/fashion-mnist';

interface Run {
  json: Record<string, unknown>;
  seconds: number;
  peakMiB: number;
}

/** Runs a command under /usr/bin/time -v: its JSON output line, wall time and peak resident memory. */
function timed(command: string[], label: string): Run {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', ...command], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  const json = lines.length ? (JSON.parse(lines[lines.length - 1]) as Record<string, unknown>) : {};
  console.error(`${label}: ${seconds.toFixed(1)} s, peak ${rss ? (Number(rss[1]) / 1024).toFixed(0) : '?'} MiB`);
  return { json, seconds, peakMiB: rss ? Number(rss[1]) / 1024 : NaN };
}

const cli = (...a: string[]) => [process.execPath, cliPath, ...a];
const f = (x: unknown, digits = 1) => (typeof x === 'number' ? x.toFixed(digits) : String(x));

/** float64 GEMM throughput (GFLOP/s) of the machine's BLAS and of the core's own GEMM, m = n = k = 4096. */
function gemmPeak(): { vendor: number; core: number } {
  const m = 4096, a = new Float64Array(m * m).map((_, i) => Math.sin(i)), c = new Float64Array(m * m);
  const rate = (engine: 'vendor' | 'core') => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      native().gemm({ transA: true, transB: false, m, n: m, k: m, alpha: 1, a, lda: m, b: a, ldb: m, beta: 0, c, ldc: m, engine }, false);
      best = Math.min(best, performance.now() - t);
    }
    return (2 * m ** 3) / best / 1e6;
  };
  return { vendor: rate('vendor'), core: rate('core') };
}

const lines: string[] = [];
const resultsPath = join(root, 'bench', 'results', 'million-rows.md');
/** Appends a line to the report, which is rewritten as it grows (a long run that stops keeps what it measured). */
const out = (s = '') => {
  lines.push(s);
  writeFileSync(resultsPath, `${lines.join('\n')}\n`);
};

async function main(): Promise<void> {
  const train = join(dataDir, 'train.svm'), test = join(dataDir, 'test.svm');
  const numpy = findPython(['numpy']);
  if (!existsSync(train) || !existsSync(test)) {
    if (numpy.exe === null) throw new Error(numpy.missing);
    mkdirSync(dataDir, { recursive: true });
    console.error(`generating ${dataDir} ...`);
    const g = spawnSync(numpy.exe, [join(root, 'bench', 'data', 'sparse_regression.py'), dataDir], { stdio: 'inherit' });
    if (g.status !== 0) throw new Error('the generator failed');
  }
  out('# Regression at scale: a million sparse rows, end to end through the CLI');
  out();
  out(`Machine: ${machineDescription()}. Date: ${new Date().toISOString().slice(0, 10)}.`);
  out();
  out('Data: `bench/data/sparse_regression.py` (seed 1): 1,000,000 training and 100,000 test rows, d = 100,000, 50 non-zeros per row');
  out('(the 50 largest of 100,000 random affine units of a latent point in R^8), target sin(2 p1) + p2 p3 + 0.5 cos(3 p4) + 0.3 p5^2 + noise (sd 0.1).');
  out();

  const peak = gemmPeak();
  const features = 4096;
  const fitArgs = ['--data', train, '--columns', '100000', '--method', 'ntk-sketch', '--features', String(features), '--depth', '2', '--validation', '0.05'];
  const fit = timed(cli('fit', ...fitArgs, '--out', join(work, 'model.ntkm'), '--json'), 'fit');
  const evaluate = timed(cli('evaluate', '--model', join(work, 'model.ntkm'), '--data', test, '--columns', '100000', '--json'), 'evaluate');
  const j = fit.json as Record<string, number>;
  // Phi^T Phi's upper triangle: n m (m + 1) / 2 multiply-adds, 2 flops each.
  const gramFlops = j.rows * features * (features + 1);
  out('## NTKSketch (depth 2, 4,096 features, float32) through `ntk-sketch fit` / `evaluate`');
  out();
  out('| phase | seconds | share |');
  out('|---|---:|---:|');
  const phases: [string, number][] = [
    ['reading (LIBSVM parse, waiting)', j.readSeconds],
    ['featurising', j.featureSeconds],
    ['Gram accumulation (float64)', j.statisticsSeconds],
    ['lambda path (validation 5 %)', j.lambdaPathSeconds],
    ['final solve', j.solveSeconds],
    ['prediction + scoring of 100,000 test rows (evaluate)', evaluate.seconds],
  ];
  const total = fit.seconds + evaluate.seconds;
  for (const [name, s] of phases) out(`| ${name} | ${f(s)} | ${f((100 * s) / total)} % |`);
  out(`| **total** (fit ${f(fit.seconds)} s + evaluate ${f(evaluate.seconds)} s, wall) | ${f(total)} | |`);
  out();
  const gramRate = gramFlops / j.statisticsSeconds / 1e9;
  out(`Peak resident memory: fit ${f(fit.peakMiB, 0)} MiB, evaluate ${f(evaluate.peakMiB, 0)} MiB. Lambda ${Number(j.lambda).toExponential(3)}; test R^2 **${f(evaluate.json.r2, 4)}**, MSE ${f(evaluate.json.mse, 4)}.`);
  out();
  out(`Gram accumulation: ${f(gramRate)} GFLOP/s (n m^2 multiply-adds of the upper triangle, 2 flops each, over its measured time, which includes converting the float32 features) ` +
    `against float64 GEMM in the same run: the machine's BLAS ${f(peak.vendor)} GFLOP/s, the core's FMA-chain GEMM ${f(peak.core)} GFLOP/s ` +
    `(${f((100 * gramRate) / peak.vendor, 0)} % of the BLAS peak).`);
  out();

  const sk = findPython(['numpy', 'scipy', 'sklearn']);
  if (sk.exe !== null) {
    const code = [
      'import json, sys, time',
      'import numpy as np',
      'from sklearn.datasets import load_svmlight_file',
      'from sklearn.linear_model import Ridge',
      't0 = time.time()',
      'X, y = load_svmlight_file(sys.argv[1], n_features=100000)',
      'Xt, yt = load_svmlight_file(sys.argv[2], n_features=100000)',
      'rng = np.random.default_rng(0); val = rng.random(X.shape[0]) < 0.05',
      'best = None',
      'for alpha in [10, 100, 1000, 1e4, 1e5]:',
      '    m = Ridge(alpha=alpha, solver="lsqr", tol=1e-4).fit(X[~val], y[~val])',
      '    mse = float(np.mean((m.predict(X[val]) - y[val]) ** 2))',
      '    if best is None or mse < best[1]: best = (alpha, mse)',
      'm = Ridge(alpha=best[0], solver="lsqr", tol=1e-4).fit(X, y)',
      'r2 = m.score(Xt, yt)',
      'print(json.dumps({"alpha": best[0], "r2": r2, "seconds": time.time() - t0}))',
    ].join('\n');
    const r = JSON.parse(runPython(sk.exe, code, train, test).trim().split('\n').pop() as string);
    out(`Linear ridge on the raw sparse coordinates (scikit-learn Ridge, lsqr, tol 1e-4, alpha ${r.alpha} chosen on a 5 % validation split from 10 .. 100,000): test R^2 **${f(r.r2, 4)}** in ${f(r.seconds)} s.`);
  } else {
    out(`Linear ridge baseline skipped: ${sk.missing}.`);
  }
  out();

  if (!flags.flag('skip-shards')) {
    const parallel = spawnSync('parallel', ['--version']);
    if (parallel.status === 0) {
      const t = performance.now();
      const shards = spawnSync('parallel', ['--halt', 'now,fail=1', '-j2', process.execPath, cliPath, 'fit', ...fitArgs, '--threads', '1', '--shard', '{}/4', '--out', join(work, 'part-{}.ntkm'), '--json', ':::', '1', '2', '3', '4'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (shards.status !== 0) throw new Error(`shards failed: ${shards.stderr.slice(-2000)}`);
      const shardSeconds = (performance.now() - t) / 1000;
      const merge = timed(cli('merge', ...[1, 2, 3, 4].map((i) => join(work, `part-${i}.ntkm`)), '--out', join(work, 'merged.ntkm'), '--json'), 'merge');
      const ev = timed(cli('evaluate', '--model', join(work, 'merged.ntkm'), '--data', test, '--columns', '100000', '--json'), 'evaluate merged');
      out('## The same fit as 4 shards (GNU parallel, 2 at a time, one thread each) and a merge');
      out();
      out(`Shards ${f(shardSeconds)} s, merge ${f(merge.seconds)} s (peak ${f(merge.peakMiB, 0)} MiB); merged lambda ${Number(merge.json.lambda).toExponential(3)} ` +
        `(single process ${Number(j.lambda).toExponential(3)}); test R^2 **${f(ev.json.r2, 4)}** (single process ${f(evaluate.json.r2, 4)}).`);
      out();
    }
  }

  if (!flags.flag('skip-fashion') && existsSync(join(fashion, 'train-images-idx3-ubyte.gz'))) {
    out('## Fashion-MNIST, all 60,000 training images, every row map through the CLI');
    out();
    out('Classification, lambda chosen on 10 % of the training rows, evaluated on the 10,000 test images; pixels scaled to [0, 1].');
    out();
    out('| map | fit s | peak MiB | test accuracy |');
    out('|---|---:|---:|---:|');
    const data = ['--data', join(fashion, 'train-images-idx3-ubyte.gz'), '--labels', join(fashion, 'train-labels-idx1-ubyte.gz'), '--scale', String(1 / 255)];
    const testData = ['--data', join(fashion, 't10k-images-idx3-ubyte.gz'), '--labels', join(fashion, 't10k-labels-idx1-ubyte.gz'), '--scale', String(1 / 255)];
    const maps: [string, string[]][] = [
      ['NTKSketch, 4,096 features, depth 2', ['--method', 'ntk-sketch', '--features', '4096', '--depth', '2']],
      ['NTKRandomFeatures, 4,096 features, depth 2', ['--method', 'ntk-rf', '--features', '4096', '--depth', '2']],
      ['LeverageSelection: 4,096 of a 16,384-feature NTKSketch, depth 2', ['--method', 'ntk-sketch', '--features', '4096', '--pool', '16384', '--depth', '2']],
    ];
    for (const [name, method] of maps) {
      const model = join(work, 'fashion.ntkm');
      const fitRun = timed(cli('fit', ...data, ...method, '--task', 'classification', '--out', model, '--json'), name);
      const ev = timed(cli('evaluate', '--model', model, ...testData, '--json'), `${name} evaluate`);
      out(`| ${name} | ${f(fitRun.seconds)} | ${f(fitRun.peakMiB, 0)} | ${f(100 * Number(ev.json.accuracy), 2)} % |`);
    }
    out();
    out('CNTKSketch is not in this table: at about 15 ms per image here, its 60,000-image fit takes a quarter of an hour; bench/results/cntk-fashion-mnist.md has it.');
    out();
  }
  console.log(lines.join('\n'));
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
