/**
 * The ridge protocol of the `ntk-sketch` CLI on Fashion-MNIST, shared by the
 * benches that report test accuracy: the first n training images in the
 * CLI's seeded 75/25 fit/validation order (permutation(n, 1), each part
 * sorted), lambda chosen on the validation rows by accuracy, refitted on all
 * n rows with lambda scaled by n / nFit, evaluated once on the test images.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RidgeRegression, argmaxRows, loadFashionMnist, oneHot } from '../../src/index.js';
import { FASHION_MNIST_DIR, permutation } from '../../src/data/datasets.js';
import type { FloatArray } from '../../src/core/native.js';

const D = 784, CLASSES = 10;

export interface CliSplit {
  n: number;
  nFit: number;
  nVal: number;
  nTest: number;
  /** n x 784 training rows in fit-then-validation order, float32. */
  Xtrain: Float32Array;
  ytrain: Int32Array;
  Xtest: Float32Array;
  ytest: Int32Array;
  /** Xtrain and Xtest as transform inputs (n x 784, nTest x 784). */
  train: { data: Float32Array; shape: number[] };
  test: { data: Float32Array; shape: number[] };
}

export function cliSplit(n: number, nTest: number): CliSplit {
  const data = loadFashionMnist({ train: n, test: nTest });
  const order = permutation(n, 1);
  const nVal = Math.round(0.25 * n), nFit = n - nVal;
  const idx = [...order.slice(0, nFit).sort(), ...order.slice(nFit).sort()];
  const Xtrain = new Float32Array(n * D), ytrain = new Int32Array(n);
  idx.forEach((r, i) => {
    Xtrain.set(data.train.X.subarray(r * D, (r + 1) * D), i * D);
    ytrain[i] = data.train.labels[r];
  });
  const Xtest = Float32Array.from(data.test.X);
  return { n, nFit, nVal, nTest, Xtrain, ytrain, Xtest, ytest: data.test.labels, train: { data: Xtrain, shape: [n, D] }, test: { data: Xtest, shape: [nTest, D] } };
}

/** cliSplit, or a "skipped" line and exit status 0 when the Fashion-MNIST files are not installed. */
export function cliSplitOrSkip(n: number, nTest: number): CliSplit {
  if (!existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'))) {
    console.log(`skipped: Fashion-MNIST not found under ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
    process.exit(0);
  }
  return cliSplit(n, nTest);
}

/**
 * Ridge on training features P (n x m) with the CLI's lambda choice; test
 * accuracy on Pt, the lambda used, and that lambda relative to the mean
 * diagonal of P P^T.
 */
export async function ridgeTestAccuracy(
  s: CliSplit, P: FloatArray, Pt: FloatArray, m: number,
): Promise<{ accuracy: number; lambda: number; lambdaRel: number }> {
  const { n, nFit, nVal, nTest } = s;
  const Y = oneHot(s.ytrain, CLASSES);
  const k = CLASSES;
  const search = await new RidgeRegression().fit({ data: P.subarray(0, nFit * m), shape: [nFit, m] }, { data: Y.data.subarray(0, nFit * k), shape: [nFit, k] });
  await search.selectLambda({ data: P.subarray(nFit * m), shape: [nVal, m] }, { data: Y.data.subarray(nFit * k), shape: [nVal, k] }, { metric: 'accuracy' });
  const lambda = ((search.lambda as number) * n) / nFit;
  const model = await new RidgeRegression({ lambda }).fit({ data: P, shape: [n, m] }, Y);
  const pred = argmaxRows(await model.predict({ data: Pt, shape: [nTest, m] }));
  let correct = 0;
  for (let i = 0; i < nTest; i++) if (pred[i] === s.ytest[i]) correct++;
  let diag = 0;
  for (let i = 0; i < n * m; i++) diag += P[i] * P[i];
  return { accuracy: correct / nTest, lambda, lambdaRel: lambda / (diag / n) };
}

/** Where `bench/ntk-sketch.bench.ts --ridge` keeps its ridge results on this split (exact NTK kernel ridge included). */
export const SAVED_RIDGE_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'ntk-sketch-ridge.json');

/** The saved exact NTK kernel ridge accuracy at `depth` on this split (SAVED_RIDGE_FILE), or null. */
export function savedExactNtkRidge(depth: number): { accuracy: number; date: string } | null {
  if (!existsSync(SAVED_RIDGE_FILE)) return null;
  const saved = JSON.parse(readFileSync(SAVED_RIDGE_FILE, 'utf8')) as { date: string; results: { method: string; accuracy: number }[] };
  const e = saved.results.find((r) => r.method === `exact NTK kernel ridge (depth ${depth})`);
  return e ? { accuracy: e.accuracy, date: saved.date } : null;
}

/** One result line of the CLI's --json output. */
export interface CliResult { method: string; depth: number | null; accuracy: number; lambda: number; seconds: number }

/**
 * Runs the `ntk-sketch` CLI with `args` and --json; its result lines, and
 * the tail of its stderr when it failed.
 */
export function runCli(args: string[]): { results: CliResult[]; error: string | null } {
  const cli = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
  const run = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const results: CliResult[] = [];
  for (const line of run.stdout.trim().split('\n')) {
    try {
      results.push(JSON.parse(line) as CliResult);
    } catch {
      // progress or non-JSON lines
    }
  }
  return { results, error: run.status === 0 ? null : run.stderr.slice(-500) };
}
