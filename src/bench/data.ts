/**
 * The data a benchmark runs on: the packaged UCI digits, Fashion-MNIST (the
 * Debian package's files), or the user's file through the library's readers
 * (any format `transform` reads). Rows are held in memory as dense float64
 * (the exact kernels need them), split into training and test rows: digits
 * and files by a seeded permutation (20 % test), Fashion-MNIST by its
 * official split.
 */
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_DIR, loadDigits, loadFashionMnist, permutation } from '../data/datasets.js';
import { openData, type OpenDataOptions } from '../data/readers/index.js';
import type { Task } from '../regression/feature-ridge.js';

/** Rows of a benchmark: n x d float64, row-major, with targets (n x k) when there are any. */
export interface BenchRows {
  X: Float64Array;
  n: number;
  /** Targets: class labels (k = 1) or regression targets (n x k), or null. */
  y: Float64Array | null;
}

export interface BenchData {
  /** digits, fashion-mnist, or the file's name. */
  name: string;
  /** Columns of a row (C * H * W for images). */
  d: number;
  /** [C, H, W] when the rows are images (the convolutional maps need them), else null. */
  imageShape: [number, number, number] | null;
  /** Target columns (0 without targets). */
  targets: number;
  /** What the targets are, or null without targets. */
  task: Task | null;
  /** Whether the file stored its rows sparse (CSR). */
  sparse: boolean;
  train: BenchRows;
  test: BenchRows;
}

/** Where the data comes from: a named dataset, or a file (with readers' options). */
export type DataRequest =
  | { kind: 'digits' }
  | { kind: 'fashion-mnist'; dir?: string }
  | { kind: 'file'; path: string; options: OpenDataOptions; task: Task; imageShape: [number, number, number] | null };

/**
 * The data flags of `ntk-sketch fit` that read the same rows as `request`
 * (the packaged digits CSV, the Fashion-MNIST IDX files, or the file and
 * its flags as given), for a command that reproduces a configuration.
 */
export function fitDataFlags(request: DataRequest, fileFlags: string): string {
  if (request.kind === 'digits') return `--data ${fileURLToPath(DIGITS_CSV)} --header no --target 64 --scale 0.0625 --task classification`;
  if (request.kind === 'fashion-mnist') {
    const dir = request.dir ?? FASHION_MNIST_DIR;
    return `--data ${join(dir, 'train-images-idx3-ubyte.gz')} --labels ${join(dir, 'train-labels-idx1-ubyte.gz')} --scale ${1 / 255} --task classification`;
  }
  return `--data ${request.path}${fileFlags} --task ${request.task}`;
}

/** The packaged digits (64 pixels in 0..16, then the label; no header). */
const DIGITS_CSV = new URL('../../data/digits/digits.csv.gz', import.meta.url);

/** Dense rows held in memory are refused beyond this many values (1 GiB of float64). */
export const MAX_DENSE_VALUES = 2 ** 27;

function rowsOf(X: Float64Array, d: number, idx: ArrayLike<number>, labels: ArrayLike<number> | null, k: number): BenchRows {
  const n = idx.length;
  const out = new Float64Array(n * d);
  const y = labels ? new Float64Array(n * k) : null;
  for (let i = 0; i < n; i++) {
    const r = idx[i];
    out.set(X.subarray(r * d, (r + 1) * d), i * d);
    if (y && labels) for (let j = 0; j < k; j++) y[i * k + j] = labels[r * k + j];
  }
  return { X: out, n, y };
}

/** A seeded split: the first 20 % of permutation(n, seed) are the test rows (as `compare` splits digits). */
function seededSplit(X: Float64Array, n: number, d: number, y: ArrayLike<number> | null, k: number, seed: number, maxTrain: number, maxTest: number) {
  const order = permutation(n, seed);
  const nTest = Math.max(1, Math.round(0.2 * n));
  const test = Array.from(order.slice(0, Math.min(nTest, maxTest))).sort((a, b) => a - b);
  const train = Array.from(order.slice(nTest, nTest + Math.min(n - nTest, maxTrain))).sort((a, b) => a - b);
  return { train: rowsOf(X, d, train, y, k), test: rowsOf(X, d, test, y, k) };
}

/**
 * Loads up to `maxTrain` training and `maxTest` test rows. A file is read up
 * to maxTrain + maxTest rows (its first ones), CSR rows made dense.
 */
export async function loadBenchData(request: DataRequest, maxTrain: number, maxTest: number, seed = 0): Promise<BenchData> {
  if (request.kind === 'digits') {
    const ds = loadDigits();
    const { train, test } = seededSplit(ds.X, ds.rows, ds.cols, ds.labels, 1, seed, maxTrain, maxTest);
    return { name: 'digits', d: ds.cols, imageShape: ds.imageShape, targets: 1, task: 'classification', sparse: false, train, test };
  }
  if (request.kind === 'fashion-mnist') {
    const ds = loadFashionMnist({ train: maxTrain, test: maxTest, ...(request.dir ? { dir: request.dir } : {}) });
    const all = (s: typeof ds.train): BenchRows => ({ X: s.X, n: s.rows, y: Float64Array.from(s.labels) });
    return { name: 'fashion-mnist', d: ds.train.cols, imageShape: ds.train.imageShape, targets: 1, task: 'classification', sparse: false, train: all(ds.train), test: all(ds.test) };
  }
  const source = await openData(request.path, { ...request.options, dtype: 'float64' });
  const d = source.columns, k = source.targetNames.length;
  const want = maxTrain + maxTest;
  if (want * d > MAX_DENSE_VALUES) {
    throw new RangeError(`rows: ${want} rows of ${d} columns are too many to hold dense (at most ${MAX_DENSE_VALUES} values); ask for fewer rows`);
  }
  const X = new Float64Array(want * d);
  const y = new Float64Array(want * k);
  let n = 0;
  for await (const batch of source.batches()) {
    const b = batch.X as { data: Float64Array | Float32Array; shape: number[]; indptr?: Int32Array; indices?: Int32Array };
    const rows = Math.min(b.shape[0], want - n);
    if (b.indptr && b.indices) {
      for (let i = 0; i < rows; i++) for (let p = b.indptr[i]; p < b.indptr[i + 1]; p++) X[(n + i) * d + b.indices[p]] = b.data[p];
    } else {
      X.set(b.data.subarray(0, rows * d), n * d);
    }
    if (k > 0 && batch.y) y.set(batch.y.data.subarray(0, rows * k), n * k);
    n += rows;
    if (n === want) break;
  }
  if (n < 10) throw new RangeError(`data: ${request.path} holds ${n} rows; a benchmark needs at least 10`);
  const task = k === 0 ? null : request.task;
  if (task === 'classification' && k !== 1) throw new RangeError(`task: classification needs one label column, ${request.path} has ${k}`);
  const imageShape = request.imageShape ?? source.imageShape;
  if (imageShape && imageShape[0] * imageShape[1] * imageShape[2] !== d) {
    throw new RangeError(`imageShape: ${imageShape.join(',')} holds ${imageShape[0] * imageShape[1] * imageShape[2]} values, but the rows have ${d}`);
  }
  const { train, test } = seededSplit(X.subarray(0, n * d), n, d, k > 0 ? y.subarray(0, n * k) : null, k, seed, maxTrain, maxTest);
  return { name: basename(request.path), d, imageShape, targets: k, task, sparse: source.layout === 'csr', train, test };
}

/** The first `count` rows of `rows` (views). */
export function headRows(rows: BenchRows, d: number, count: number, k: number): BenchRows {
  const n = Math.min(count, rows.n);
  return { X: rows.X.subarray(0, n * d), n, y: rows.y ? rows.y.subarray(0, n * Math.max(k, 1)) : null };
}
