/**
 * `ntk-sketch compare`, also what `ntk-sketch` runs with no subcommand: the main job.
 *
 * Fits exact-NTK kernel ridge regression (and a linear ridge baseline on the
 * raw pixels) on a dataset and reports test accuracy and time.
 *
 * Protocol (honest: the test rows never influence any choice):
 *  1. A seeded permutation of the dataset fixes the split. digits: the first
 *     `--test` rows of the permutation (default 20 %) are the test set, the
 *     next `--train` rows (default: all the others) the training set.
 *     fashion-mnist: the first `--train` of the 60,000 training images and
 *     the first `--test` of the 10,000 test images (the official split).
 *  2. The training rows are split again (seeded): 75 % "fit" and 25 %
 *     validation. Lambda is chosen on the validation rows from one
 *     eigendecomposition of the fit kernel (accuracy of one-hot ridge
 *     predictions, argmax), over 10^-7 .. 10^1 times the mean kernel diagonal.
 *  3. The model is refitted on all training rows with that lambda scaled by
 *     (training rows / fit rows), so the regularisation per row stays the
 *     same, and evaluated once on the test rows.
 * Inputs are the pixels scaled to [0, 1], with no other preprocessing.
 * The baseline `linear-ridge` is ridge regression on the pixels plus a
 * constant 1 column (an intercept), with the same protocol.
 * `ntk-sketch` is ridge regression on NTKSketch features (float32, seeded by
 * --seed) with the same protocol, streamed: the normal equations of the fit
 * rows are accumulated, lambda chosen on the validation rows, the validation
 * rows added, and the model solved once more with the rescaled lambda. With
 * --pool, the features are those a LeverageSelection keeps of a larger
 * NTKSketch, scored on fit rows only (no labels).
 * `nystrom` (not in the default list) is the same ridge protocol on
 * NTKNystrom features: --features landmarks chosen by ridge leverage scores
 * from the fit rows only (never the validation rows, whose error would
 * otherwise favour large lambdas; docs/math.md#nystrom-features).
 */
import { parseArgs } from 'node:util';
import { totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  KernelRidgeRegression,
  LeverageSelection,
  MAX_DEPTH,
  NTK_SKETCH_MAX_DEPTH,
  NTKNystrom,
  NTKSketch,
  RidgeRegression,
  argmaxRows,
  backends,
  ntkKernel,
  oneHot,
  setThreads,
} from '../index.js';
import { loadDigits, loadFashionMnist, permutation, type Dataset } from '../data/datasets.js';
import { UsageError, parseBackend, parseInteger } from './args.js';
import { Progress } from './progress.js';
import { poolSketchDim } from './map-options.js';

export const COMPARE_HELP = `Usage: ntk-sketch [compare] [options]

Neural Tangent Kernel regression on a dataset: kernel ridge regression with
the exact NTK of a deep ReLU network, and ridge regression on NTKSketch
features that approximate it (lambda chosen on a validation split of the
training rows, then refitted on all of them), evaluated on test rows, next to
a linear ridge baseline on the raw pixels.

Options:
  --data NAME     digits (default; packaged UCI 8x8 digits, 1,797 images) or
                  fashion-mnist (28x28; needs \`apt-get install dataset-fashion-mnist\`)
  --data-dir DIR  directory of the Fashion-MNIST IDX .gz files
                  (default /usr/share/datasets/fashion-mnist)
  --train N       training rows (digits: default all rows not in the test set;
                  fashion-mnist: default 5000, at most 20000)
  --test N        test rows (digits: default 20 % of 1,797; fashion-mnist:
                  default all 10,000 test images)
  --depth L       hidden ReLU layers of the NTK, or a list such as 1,2,3
                  (default 1,2,3)
  --method LIST   any of linear-ridge, exact-ntk, ntk-sketch, nystrom, comma
                  separated (default: linear-ridge, exact-ntk, ntk-sketch)
  --features N    NTKSketch features, or NTKNystrom landmarks (chosen from
                  the fit rows; default 1024 for digits, 4096 for
                  fashion-mnist, at most the fit rows)
  --pool N        keep the --features columns of an N-feature NTKSketch
                  (internal sketchDim up to 16384) chosen by ridge leverage
                  scores on up to 4,000 fit rows (LeverageSelection;
                  N > --features; default: no selection)
  --seed S        seed of the split (default 0)
  --threads T     threads for the native core (default: all cores)
  --backend B     cpu, cuda or auto for the exact NTK and NTKSketch (default
                  auto: CUDA when a device is usable; NTKSketch features are
                  the same bits on either)
  --json          print one JSON object per result line, nothing else
  -h, --help      show this help

Output columns: method, depth, training rows, chosen lambda, test accuracy,
seconds (kernels, lambda search, refit and prediction of that row).`;

type Method = 'linear-ridge' | 'exact-ntk' | 'ntk-sketch' | 'nystrom';
const METHODS: readonly Method[] = ['linear-ridge', 'exact-ntk', 'ntk-sketch', 'nystrom'];
/** What runs without --method. */
const DEFAULT_METHODS: readonly Method[] = ['linear-ridge', 'exact-ntk', 'ntk-sketch'];

interface Config {
  data: 'digits' | 'fashion-mnist';
  methods: Method[];
  features: number;
  pool: number | undefined;
  train: number | undefined;
  test: number | undefined;
  depths: number[];
  seed: number;
  threads: number | undefined;
  backend: 'cpu' | 'cuda';
  dataDir: string | undefined;
  json: boolean;
}

/** Largest training set for the exact kernel (an n x n float64 kernel, several copies). */
const MAX_FASHION_TRAIN = 20000;

function parseConfig(argv: string[]): Config | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        train: { type: 'string' },
        test: { type: 'string' },
        depth: { type: 'string' },
        method: { type: 'string' },
        features: { type: 'string' },
        pool: { type: 'string' },
        seed: { type: 'string' },
        threads: { type: 'string' },
        backend: { type: 'string' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const data = values.data ?? 'digits';
  if (data !== 'digits' && data !== 'fashion-mnist') {
    throw new UsageError(`--data must be 'digits' or 'fashion-mnist', got '${data}'`);
  }
  if (values['data-dir'] !== undefined && data !== 'fashion-mnist') {
    throw new UsageError(`--data-dir applies only to --data fashion-mnist`);
  }
  if (values['data-dir'] === '') throw new UsageError('--data-dir must not be empty');
  let depths = [1, 2, 3];
  if (values.depth !== undefined) {
    const parts = values.depth.split(',');
    depths = parts.map((p) => parseInteger('--depth', p, 1, MAX_DEPTH) as number);
    depths = [...new Set(depths)];
  }
  let methods: Method[] = [...DEFAULT_METHODS];
  if (values.method !== undefined) {
    methods = [];
    for (const part of values.method.split(',')) {
      const name = part.trim() as Method;
      if (!METHODS.includes(name)) throw new UsageError(`--method must list ${METHODS.join(', ')}; got '${part}'`);
      if (!methods.includes(name)) methods.push(name);
    }
  }
  const features = parseInteger('--features', values.features, 1, 1 << 20) ?? (data === 'digits' ? 1024 : 4096);
  const pool = parseInteger('--pool', values.pool, 2, 1 << 22);
  if (pool !== undefined && pool <= features) throw new UsageError(`--pool must exceed --features (${features}), got ${pool}`);
  // Each method's own limits, before any work (the exact kernel would otherwise run first).
  const deepest = Math.max(...depths);
  if (methods.includes('ntk-sketch') && deepest > NTK_SKETCH_MAX_DEPTH) {
    throw new UsageError(`--depth must be at most ${NTK_SKETCH_MAX_DEPTH} with ntk-sketch, got ${deepest}`);
  }
  return {
    data,
    methods,
    features,
    pool,
    train: parseInteger('--train', values.train, 1, Number.MAX_SAFE_INTEGER),
    test: parseInteger('--test', values.test, 1, Number.MAX_SAFE_INTEGER),
    depths,
    seed: parseInteger('--seed', values.seed, 0, 2 ** 32 - 1) ?? 0,
    threads: parseInteger('--threads', values.threads, 0, 4096),
    backend: parseBackend(values.backend ?? 'auto'),
    dataDir: values['data-dir'],
    json: values.json ?? false,
  };
}

/** A prepared task: training rows (fit rows first, then validation rows) and test rows. */
interface Task {
  name: string;
  cols: number;
  classes: number;
  Xtrain: Float64Array;
  ytrain: Int32Array;
  nFit: number;
  Xtest: Float64Array;
  ytest: Int32Array;
}

function rows(ds: Dataset, idx: ArrayLike<number>): { X: Float64Array; y: Int32Array } {
  const X = new Float64Array(idx.length * ds.cols);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    X.set(ds.X.subarray(r * ds.cols, (r + 1) * ds.cols), i * ds.cols);
    y[i] = ds.labels[r];
  }
  return { X, y };
}

/** Orders the training rows as [fit rows..., validation rows...] (seeded 75/25). */
function fitValidationOrder(n: number, seed: number): { order: Int32Array; nFit: number } {
  const order = permutation(n, seed + 1);
  const nVal = Math.max(1, Math.round(0.25 * n));
  const nFit = n - nVal;
  // Keep each part in ascending original order (tidier, and independent of the shuffle inside a part).
  const fit = order.slice(0, nFit).sort();
  const val = order.slice(nFit).sort();
  const out = new Int32Array(n);
  out.set(fit, 0);
  out.set(val, nFit);
  return { order: out, nFit };
}

function prepareTask(cfg: Config): Task {
  if (cfg.data === 'digits') {
    const ds = loadDigits();
    const nTest = cfg.test ?? Math.round(0.2 * ds.rows);
    if (nTest > ds.rows - 4) throw new UsageError(`--test must be at most ${ds.rows - 4} for digits (${ds.rows} rows), got ${nTest}`);
    const pool = ds.rows - nTest;
    const nTrain = cfg.train ?? pool;
    if (nTrain < 4 || nTrain > pool) {
      throw new UsageError(`--train must be an integer in [4, ${pool}] for digits with --test ${nTest}, got ${nTrain}`);
    }
    const perm = permutation(ds.rows, cfg.seed);
    const testIdx = perm.slice(0, nTest).sort();
    const trainIdx = perm.slice(nTest, nTest + nTrain).sort();
    const { order, nFit } = fitValidationOrder(nTrain, cfg.seed);
    const ordered = Int32Array.from(order, (i) => trainIdx[i]);
    const tr = rows(ds, ordered);
    const te = rows(ds, testIdx);
    return { name: 'digits (8x8)', cols: ds.cols, classes: ds.classes, Xtrain: tr.X, ytrain: tr.y, nFit, Xtest: te.X, ytest: te.y };
  }
  const nTrain = cfg.train ?? 5000;
  if (nTrain < 4) throw new UsageError(`--train must be at least 4, got ${nTrain}`);
  if (nTrain > 60000) throw new UsageError(`--train must be at most 60000 for fashion-mnist (its training images), got ${nTrain}`);
  if (nTrain > MAX_FASHION_TRAIN && cfg.methods.includes('exact-ntk')) {
    const gib = (8 * nTrain * nTrain) / 1024 ** 3;
    throw new UsageError(
      `--train ${nTrain} is too large for the exact kernel (one ${nTrain} x ${nTrain} float64 kernel is ${gib.toFixed(1)} GiB ` +
        `and the solver needs several); use at most ${MAX_FASHION_TRAIN} with exact-ntk, or --method without it`,
    );
  }
  const nTest = cfg.test ?? 10000;
  if (nTest > 10000) throw new UsageError(`--test must be at most 10000 for fashion-mnist, got ${nTest}`);
  let data;
  try {
    data = loadFashionMnist({ train: nTrain, test: nTest, ...(cfg.dataDir === undefined ? {} : { dir: cfg.dataDir }) });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { order, nFit } = fitValidationOrder(nTrain, cfg.seed);
  const tr = rows(data.train, order);
  return {
    name: 'fashion-mnist (28x28)',
    cols: data.train.cols,
    classes: data.train.classes,
    Xtrain: tr.X,
    ytrain: tr.y,
    nFit,
    Xtest: data.test.X,
    ytest: data.test.labels,
  };
}

/** Rows per kernel block: about 4M kernel entries, so the bar moves smoothly. */
function blockRows(cols: number): number {
  return Math.max(16, Math.min(4096, Math.floor(4_000_000 / Math.max(1, cols))));
}

/**
 * NTK kernel between the rows of A (a x d) and B (b x d), computed in row
 * blocks of A (async, off the JS thread) so progress can be shown.
 */
async function kernelBlocks(
  A: Float64Array, a: number, B: Float64Array, b: number, d: number, depth: number, progress: Progress, unit: number,
  backend: 'cpu' | 'cuda',
): Promise<Float64Array> {
  const out = new Float64Array(a * b);
  const step = blockRows(b);
  const bMat = { data: B, shape: [b, d] };
  for (let r = 0; r < a; r += step) {
    const end = Math.min(a, r + step);
    const { ntk } = await ntkKernel({ data: A.subarray(r * d, end * d), shape: [end - r, d] }, bMat, { depth, output: 'ntk', memoryLimit: totalmem(), backend });
    out.set(ntk.data, r * b);
    progress.advance((end - r) * b * unit);
  }
  return out;
}

function symmetrize(K: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (K[i * n + j] + K[j * n + i]);
      K[i * n + j] = v;
      K[j * n + i] = v;
    }
  }
}

function accuracy(pred: Int32Array, labels: Int32Array): number {
  let c = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) c++;
  return c / labels.length;
}

interface Result {
  method: Method;
  depth: number | null;
  features: number | null;
  /** ntk-sketch with --pool: the NTKSketch features the kept ones were chosen from. */
  pool?: number;
  train: number;
  validation: number;
  test: number;
  lambda: number;
  validationAccuracy: number;
  accuracy: number;
  seconds: number;
}

/** A method's scores, with the sizes of the task and the seconds since t0. */
function result(
  task: Task, method: Method, depth: number | null, features: number | null, lambda: number, validationAccuracy: number,
  pred: Int32Array, t0: number,
): Result {
  const n = task.ytrain.length;
  return {
    method,
    depth,
    features,
    train: n,
    validation: n - task.nFit,
    test: task.ytest.length,
    lambda,
    validationAccuracy,
    accuracy: accuracy(pred, task.ytest),
    seconds: (performance.now() - t0) / 1000,
  };
}

async function exactNtk(task: Task, depth: number, progress: Progress, backend: 'cpu' | 'cuda'): Promise<Result> {
  const t0 = performance.now();
  const n = task.ytrain.length, nFit = task.nFit, nVal = n - nFit, d = task.cols, k = task.classes;
  const nTest = task.ytest.length;
  const memoryLimit = totalmem();
  // Progress in rough flop units: kernel entries cost ~2d, the eigendecomposition
  // ~9 nFit^3, the Cholesky refit ~n^3/3, predictions 2k per kernel entry.
  const entry = 2 * d + 10 * depth;
  const eighCost = 9 * nFit ** 3, cholCost = n ** 3 / 3;
  progress.start(`depth ${depth}: train x train kernel`, entry * (n * n + nTest * n) + eighCost + cholCost + 2 * k * nTest * n);
  const K = await kernelBlocks(task.Xtrain, n, task.Xtrain, n, d, depth, progress, entry, backend);
  symmetrize(K, n);
  // Fit block (top left) and validation-vs-fit block (bottom left).
  const Kfit = new Float64Array(nFit * nFit);
  for (let i = 0; i < nFit; i++) Kfit.set(K.subarray(i * n, i * n + nFit), i * nFit);
  const Kval = new Float64Array(nVal * nFit);
  for (let i = 0; i < nVal; i++) Kval.set(K.subarray((nFit + i) * n, (nFit + i) * n + nFit), i * nFit);
  progress.note(`depth ${depth}: choosing lambda (eigendecomposition of ${nFit} x ${nFit})`);
  const Y = oneHot(task.ytrain, k);
  const Yfit = { data: Y.data.subarray(0, nFit * k), shape: [nFit, k] };
  const Yval = { data: Y.data.subarray(nFit * k), shape: [nVal, k] };
  const search = new KernelRidgeRegression({ memoryLimit });
  const scores = await search.selectLambda({ data: Kfit, shape: [nFit, nFit] }, Yfit, { data: Kval, shape: [nVal, nFit] }, Yval, { metric: 'accuracy' });
  const chosen = search.lambda as number;
  progress.advance(eighCost);
  const validationAccuracy = Math.max(...scores.map((s) => s.score));
  const lambda = (chosen * n) / nFit;
  progress.note(`depth ${depth}: refitting on ${n} rows`);
  const model = await new KernelRidgeRegression({ lambda, memoryLimit }).fit({ data: K, shape: [n, n] }, Y);
  progress.advance(cholCost);
  progress.note(`depth ${depth}: test x train kernel and predictions`);
  // Test predictions block by block (the test kernel is never held whole).
  const step = blockRows(n);
  const pred = new Int32Array(nTest);
  const train = { data: task.Xtrain, shape: [n, d] };
  for (let r = 0; r < nTest; r += step) {
    const end = Math.min(nTest, r + step);
    const { ntk } = await ntkKernel({ data: task.Xtest.subarray(r * d, end * d), shape: [end - r, d] }, train, { depth, output: 'ntk', memoryLimit, backend });
    pred.set(argmaxRows(await model.predict(ntk)), r);
    progress.advance((end - r) * n * (entry + 2 * k));
  }
  progress.clear();
  return result(task, 'exact-ntk', depth, null, lambda, validationAccuracy, pred, t0);
}

/** Pixels plus a constant 1 column (intercept). */
function withBias(X: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * (d + 1));
  for (let i = 0; i < n; i++) {
    out.set(X.subarray(i * d, (i + 1) * d), i * (d + 1));
    out[i * (d + 1) + d] = 1;
  }
  return out;
}

async function linearRidge(task: Task, progress: Progress): Promise<Result> {
  const t0 = performance.now();
  const n = task.ytrain.length, nFit = task.nFit, nVal = n - nFit, d = task.cols, k = task.classes;
  const nTest = task.ytest.length;
  progress.start('linear ridge baseline', 0);
  const P = withBias(task.Xtrain, n, d);
  const m = d + 1;
  const Y = oneHot(task.ytrain, k);
  const search = await new RidgeRegression().partialFit({ data: P.subarray(0, nFit * m), shape: [nFit, m] }, { data: Y.data.subarray(0, nFit * k), shape: [nFit, k] });
  const scores = await search.selectLambda({ data: P.subarray(nFit * m), shape: [nVal, m] }, { data: Y.data.subarray(nFit * k), shape: [nVal, k] }, { metric: 'accuracy' });
  const lambda = ((search.lambda as number) * n) / nFit;
  const model = await new RidgeRegression({ lambda }).fit({ data: P, shape: [n, m] }, Y);
  const pred = argmaxRows(await model.predict({ data: withBias(task.Xtest, nTest, d), shape: [nTest, m] }));
  progress.clear();
  return result(task, 'linear-ridge', null, null, lambda, Math.max(...scores.map((s) => s.score)), pred, t0);
}

/** Rows featurised per call: bounds memory and lets the bar move. */
const FEATURE_BLOCK = 1024;

/** NTK features of float32 rows: an NTKSketch, or the columns a LeverageSelection keeps of one. */
interface Featurizer {
  readonly features: number;
  transform(X: unknown, options: { out: Float32Array }): Promise<unknown>;
}

async function featurize(sketch: Featurizer, X: Float64Array, n: number, d: number, progress: Progress): Promise<Float32Array> {
  const out = new Float32Array(n * sketch.features);
  for (let r = 0; r < n; r += FEATURE_BLOCK) {
    const end = Math.min(n, r + FEATURE_BLOCK);
    const rows = { data: X.subarray(r * d, end * d), shape: [end - r, d] };
    await sketch.transform(rows, { out: out.subarray(r * sketch.features, end * sketch.features) });
    progress.advance(end - r);
  }
  return out;
}

/** Rows of the fit part that LeverageSelection scores the pool's columns on. */
const SELECTION_ROWS = 4000;

async function ntkSketchRidge(
  task: Task, depth: number, features: number, pool: number | undefined, seed: number, progress: Progress, backend: 'cpu' | 'cuda',
): Promise<Result> {
  const t0 = performance.now();
  const nFit = task.nFit, d = task.cols;
  let sketch: Featurizer = new NTKSketch({ inputDim: d, depth, features, seed, backend });
  if (pool !== undefined) {
    const rows = Math.min(nFit, SELECTION_ROWS);
    progress.note(`depth ${depth}: scoring the ${pool} pool features on ${rows} fit rows`);
    const map = new NTKSketch({ inputDim: d, depth, features: pool, seed, backend, sketchDim: poolSketchDim(pool), exactCopies: false });
    sketch = await new LeverageSelection({ map, features, seed }).fit({ data: task.Xtrain.subarray(0, rows * d), shape: [rows, d] });
  }
  const r = await ridgeOnFeatures(task, depth, 'ntk-sketch', `NTKSketch features (${features})`, sketch, progress, t0);
  return pool === undefined ? r : { ...r, pool };
}

/** Ridge on NTKNystrom features: `landmarks` rows chosen by ridge leverage scores among the fit rows only. */
async function nystromRidge(task: Task, depth: number, landmarks: number, seed: number, progress: Progress): Promise<Result> {
  const t0 = performance.now();
  const nFit = task.nFit, d = task.cols;
  const m = Math.min(landmarks, nFit);
  progress.note(`depth ${depth}: choosing ${m} landmarks among the ${nFit} fit rows`);
  const map = await new NTKNystrom({ depth, landmarks: m, seed }).fit({ data: task.Xtrain.subarray(0, nFit * d), shape: [nFit, d] });
  return ridgeOnFeatures(task, depth, 'nystrom', `NTKNystrom features (${m} landmarks)`, map, progress, t0);
}

/** The ridge protocol on float32 features of the training and test rows (the class notes, 2. and 3.). */
async function ridgeOnFeatures(task: Task, depth: number, method: Method, what: string, sketch: Featurizer, progress: Progress, t0: number): Promise<Result> {
  const n = task.ytrain.length, nFit = task.nFit, d = task.cols, k = task.classes;
  const nTest = task.ytest.length, features = sketch.features;
  progress.start(`depth ${depth}: ${what}`, n + nTest);
  const Phi = await featurize(sketch, task.Xtrain, n, d, progress);
  const PhiTest = await featurize(sketch, task.Xtest, nTest, d, progress);
  const Y = oneHot(task.ytrain, k);
  const rowsOf = (data: Float32Array | Float64Array, from: number, to: number, cols: number) => ({ data: data.subarray(from * cols, to * cols), shape: [to - from, cols] });
  progress.note(`depth ${depth}: ridge on ${features} features, choosing lambda`);
  const model = await new RidgeRegression().partialFit(rowsOf(Phi, 0, nFit, features), rowsOf(Y.data, 0, nFit, k));
  const scores = await model.selectLambda(rowsOf(Phi, nFit, n, features), rowsOf(Y.data, nFit, n, k), { metric: 'accuracy' });
  const lambda = ((model.lambda as number) * n) / nFit;
  await model.partialFit(rowsOf(Phi, nFit, n, features), rowsOf(Y.data, nFit, n, k));
  model.lambda = lambda;
  const pred = argmaxRows(await model.predict({ data: PhiTest, shape: [nTest, features] }));
  progress.clear();
  return result(task, method, depth, features, lambda, Math.max(...scores.map((s) => s.score)), pred, t0);
}

const COLUMNS: [string, number][] = [['method', 13], ['depth', 5], ['features', 8], ['train n', 8], ['lambda', 9], ['accuracy', 8], ['seconds', 8]];

function tableLine(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i][1]) : c.padStart(COLUMNS[i][1]))).join('  ');
}

function printResult(r: Result, cfg: Config): void {
  if (cfg.json) {
    // Each line names what produced it: the data, the seed, the map and where it ran.
    const map = r.method === 'nystrom' ? 'NTKNystrom' : r.method !== 'ntk-sketch' ? null : r.pool === undefined ? 'NTKSketch' : 'LeverageSelection';
    const backend = r.method === 'linear-ridge' || r.method === 'nystrom' ? 'cpu' : cfg.backend;
    process.stdout.write(`${JSON.stringify({ ...r, data: cfg.data, seed: cfg.seed, map, backend })}\n`);
    return;
  }
  process.stdout.write(
    `${tableLine([
      r.method,
      r.depth === null ? '-' : String(r.depth),
      r.features === null ? '-' : String(r.features),
      String(r.train),
      r.lambda.toExponential(2),
      r.accuracy.toFixed(4),
      r.seconds.toFixed(2),
    ])}\n`,
  );
}

/** `ntk-sketch compare` (and `ntk-sketch` with no subcommand): the comparison on digits or Fashion-MNIST. */
export async function compare(argv: string[]): Promise<void> {
  const cfg = parseConfig(argv);
  if (cfg === 'help') {
    process.stdout.write(`${COMPARE_HELP}\n`);
    return;
  }
  if (cfg.threads !== undefined) setThreads(cfg.threads);
  const task = prepareTask(cfg);
  const progress = new Progress(Boolean(process.stderr.isTTY) && !cfg.json);
  if (!cfg.json) {
    const n = task.ytrain.length;
    process.stdout.write(
      `${task.name}: ${n} training rows (lambda chosen on ${n - task.nFit} of them, then refitted on all), ` +
        `${task.ytest.length} test rows, seed ${cfg.seed}` +
        `${cfg.backend === 'cuda' ? `, on CUDA (${backends().cuda.devices[0]?.name ?? 'device'})` : ''}` +
        `${cfg.pool !== undefined && cfg.methods.includes('ntk-sketch') ? `; ntk-sketch keeps ${cfg.features} of ${cfg.pool} NTKSketch features by leverage scores` : ''}\n\n`,
    );
    process.stdout.write(`${tableLine(COLUMNS.map(([name]) => name))}\n`);
  }
  if (cfg.methods.includes('linear-ridge')) printResult(await linearRidge(task, progress), cfg);
  for (const depth of cfg.depths) {
    if (cfg.methods.includes('exact-ntk')) printResult(await exactNtk(task, depth, progress, cfg.backend), cfg);
    if (cfg.methods.includes('ntk-sketch')) {
      printResult(await ntkSketchRidge(task, depth, cfg.features, cfg.pool, cfg.seed, progress, cfg.backend), cfg);
    }
    if (cfg.methods.includes('nystrom')) printResult(await nystromRidge(task, depth, cfg.features, cfg.seed, progress), cfg);
  }
}

