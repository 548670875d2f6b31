/**
 * Datasets for examples, tests and the command line.
 *
 * - `loadDigits()`: the UCI optical-recognition handwritten digits (1,797
 *   8 x 8 images, 10 classes), shipped with the package in
 *   `data/digits/digits.csv.gz` (see `data/digits/README.md` for the citation
 *   and licence).
 * - `loadFashionMnist()`: Fashion-MNIST (28 x 28 grey images, 10 classes)
 *   read from the IDX files that Debian's `dataset-fashion-mnist` package
 *   installs in /usr/share/datasets/fashion-mnist (or any directory holding
 *   the four standard `*-idx?-ubyte.gz` files).
 * - `splitIndices(n, fractions, seed)`: a seeded, deterministic shuffle of
 *   0..n-1 cut into consecutive parts.
 *
 * Images are returned as float64 row-major matrices (n x pixels) with pixel
 * values scaled to [0, 1], and labels as Int32Array.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe } from '../core/arrays.js';
import { permutation } from '../core/random.js';

export { permutation };

/** A labelled image dataset, images flattened to rows. */
export interface Dataset {
  /** n x cols pixel matrix, row-major, values in [0, 1]. */
  X: Float64Array;
  /** Class label of each row, 0..classes-1. */
  labels: Int32Array;
  rows: number;
  cols: number;
  classes: number;
  /** Image shape [channels, height, width] of each row. */
  imageShape: [number, number, number];
}

/** Default location of the Fashion-MNIST files (Debian package `dataset-fashion-mnist`). */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The Fashion-MNIST class names, by label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

const DIGITS_FILE = new URL('../../data/digits/digits.csv.gz', import.meta.url);

let digitsCache: Dataset | null = null;

/**
 * The UCI handwritten digits: 1,797 rows of 64 pixels (8 x 8, row by row)
 * divided by 16 so they lie in [0, 1], labels 0..9 (about 180 per class).
 * Read from the packaged gzip CSV; the parsed result is cached and a fresh
 * copy is returned on every call.
 */
export function loadDigits(): Dataset {
  if (!digitsCache) digitsCache = parseDigits(readDataFile(DIGITS_FILE));
  const d = digitsCache;
  return { ...d, X: d.X.slice(), labels: d.labels.slice(), imageShape: [...d.imageShape] };
}

function readDataFile(url: URL): Buffer {
  const path = fileURLToPath(url);
  try {
    return gunzipSync(readFileSync(path));
  } catch (error) {
    throw new Error(`cannot read the digits data file ${path}: ${(error as Error).message}`);
  }
}

function parseDigits(buffer: Buffer): Dataset {
  const lines = buffer.toString('latin1').split('\n').filter((l) => l.trim() !== '');
  const cols = 64;
  const rows = lines.length;
  const X = new Float64Array(rows * cols);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const fields = lines[i].split(',');
    if (fields.length !== cols + 1) throw new Error(`digits.csv.gz line ${i + 1}: expected ${cols + 1} fields, got ${fields.length}`);
    for (let j = 0; j < cols; j++) {
      const v = Number(fields[j]);
      if (!Number.isInteger(v) || v < 0 || v > 16) throw new Error(`digits.csv.gz line ${i + 1}: pixel ${j} is not an integer in 0..16`);
      X[i * cols + j] = v / 16;
    }
    const label = Number(fields[cols]);
    if (!Number.isInteger(label) || label < 0 || label > 9) throw new Error(`digits.csv.gz line ${i + 1}: label is not in 0..9`);
    labels[i] = label;
  }
  return { X, labels, rows, cols, classes: 10, imageShape: [1, 8, 8] };
}

export interface FashionMnistOptions {
  /** Training rows to return (the first ones of the 60,000). Default: all in the file. */
  train?: number;
  /** Test rows to return (the first ones of the 10,000). Default: all in the file. */
  test?: number;
  /** Directory with the four IDX gz files. Default /usr/share/datasets/fashion-mnist. */
  dir?: string;
}

/** IDX magic numbers: 0x00000803 (unsigned bytes, 3 dimensions) and 0x00000801. */
const IDX_IMAGES_MAGIC = 2051;
const IDX_LABELS_MAGIC = 2049;

export interface IdxImages {
  count: number;
  height: number;
  width: number;
  /** count x (height*width) bytes, as in the file. */
  pixels: Uint8Array;
}

/**
 * Parses an IDX3 unsigned-byte image file (gzip-compressed or not), reading
 * at most `limit` images. Header: big-endian int32 magic 2051, count,
 * rows, columns; then count*rows*columns bytes.
 */
export function parseIdxImages(bytes: Uint8Array, limit = Infinity, name = 'IDX image file'): IdxImages {
  const buf = maybeGunzip(bytes, name);
  if (buf.length < 16) throw new Error(`${name} is too short for an IDX3 header (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getInt32(0, false);
  if (magic !== IDX_IMAGES_MAGIC) {
    throw new Error(`${name} is not an IDX3 image file: magic number ${magic}, expected ${IDX_IMAGES_MAGIC}`);
  }
  const total = view.getInt32(4, false);
  const height = view.getInt32(8, false);
  const width = view.getInt32(12, false);
  if (total < 0 || height <= 0 || width <= 0) throw new Error(`${name} has an invalid header (${total} images of ${height} x ${width})`);
  const count = Math.min(total, limit);
  const size = height * width;
  if (buf.length < 16 + total * size) {
    throw new Error(`${name} is truncated: ${total} images of ${height} x ${width} need ${16 + total * size} bytes, got ${buf.length}`);
  }
  return { count, height, width, pixels: buf.subarray(16, 16 + count * size) };
}

/**
 * Parses an IDX1 unsigned-byte label file (gzip-compressed or not), reading
 * at most `limit` labels. Header: big-endian int32 magic 2049, count.
 */
export function parseIdxLabels(bytes: Uint8Array, limit = Infinity, name = 'IDX label file'): Uint8Array {
  const buf = maybeGunzip(bytes, name);
  if (buf.length < 8) throw new Error(`${name} is too short for an IDX1 header (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getInt32(0, false);
  if (magic !== IDX_LABELS_MAGIC) {
    throw new Error(`${name} is not an IDX1 label file: magic number ${magic}, expected ${IDX_LABELS_MAGIC}`);
  }
  const total = view.getInt32(4, false);
  if (total < 0) throw new Error(`${name} has an invalid header (${total} labels)`);
  if (buf.length < 8 + total) throw new Error(`${name} is truncated: ${total} labels need ${8 + total} bytes, got ${buf.length}`);
  return buf.subarray(8, 8 + Math.min(total, limit));
}

function maybeGunzip(bytes: Uint8Array, name: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name} contents must be a Uint8Array or Buffer, got ${describe(bytes)}`);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (error) {
      throw new Error(`${name} is not a valid gzip file: ${(error as Error).message}`);
    }
  }
  return bytes;
}

/** A row count option; undefined means every row of the file. */
function countOption(name: string, value: unknown, max: number): number {
  if (value === undefined) return Infinity;
  if (typeof value !== 'number') throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer in [0, ${max}], got ${value}`);
  }
  return value;
}

/** Reads one images + labels pair of IDX files into a Dataset. */
function loadIdxPair(dir: string, prefix: string, limit: number, what: string): Dataset {
  const imgPath = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  const lblPath = join(dir, `${prefix}-labels-idx1-ubyte.gz`);
  for (const p of [imgPath, lblPath]) {
    if (!existsSync(p)) {
      throw new Error(
        `Fashion-MNIST file ${p} not found; install it with \`apt-get install dataset-fashion-mnist\` ` +
          `(Debian/Ubuntu, files in ${FASHION_MNIST_DIR}) or point the \`dir\` option (command line: --data-dir) at a directory holding the IDX files`,
      );
    }
  }
  const images = parseIdxImages(readFileSync(imgPath), limit, imgPath);
  const labels = parseIdxLabels(readFileSync(lblPath), limit, lblPath);
  if (Number.isFinite(limit) && images.count < limit) throw new RangeError(`${what} asks for ${limit} rows but ${imgPath} holds only ${images.count}`);
  if (labels.length !== images.count) {
    throw new Error(`${lblPath} holds ${labels.length} labels for ${images.count} images in ${imgPath}`);
  }
  const cols = images.height * images.width;
  const X = new Float64Array(images.count * cols);
  for (let i = 0; i < X.length; i++) X[i] = images.pixels[i] / 255;
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > 9) throw new Error(`${lblPath}: label ${labels[i]} at index ${i} is not in 0..9`);
    out[i] = labels[i];
  }
  return { X, labels: out, rows: images.count, cols, classes: 10, imageShape: [1, images.height, images.width] };
}

/**
 * Fashion-MNIST: the first `train` of the 60,000 training images and the
 * first `test` of the 10,000 test images, 784 pixels each scaled to [0, 1].
 * Throws an Error naming `apt-get install dataset-fashion-mnist` when the
 * files are missing.
 */
export function loadFashionMnist(options: FashionMnistOptions = {}): { train: Dataset; test: Dataset } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`loadFashionMnist options must be an options object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!['train', 'test', 'dir'].includes(key)) {
      throw new RangeError(`loadFashionMnist options.${key} is not a known option (known: train, test, dir)`);
    }
  }
  const train = countOption('train', options.train, 60000);
  const test = countOption('test', options.test, 10000);
  const dir = options.dir ?? FASHION_MNIST_DIR;
  if (typeof dir !== 'string' || dir === '') throw new TypeError(`dir must be a directory path string, got ${describe(dir)}`);
  return {
    train: loadIdxPair(dir, 'train', train, 'train'),
    test: loadIdxPair(dir, 't10k', test, 'test'),
  };
}

/**
 * A deterministic permutation of 0..n-1 from `seed` (xorshift-style PRNG
 * seeded by splitmix32, Fisher–Yates), cut into parts of sizes
 * round(fraction * n) in order; the last part takes the remainder when the
 * fractions sum to 1. Fractions must be non-negative and sum to at most 1.
 * The parts are disjoint; together with any unused tail they cover 0..n-1.
 * Each part is sorted ascending.
 */
export function splitIndices(n: number, fractions: readonly number[], seed = 0): Int32Array[] {
  if (typeof n !== 'number') throw new TypeError(`n must be an integer, got ${describe(n)}`);
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new RangeError(`n must be an integer in [0, 2^31 - 1], got ${n}`);
  if (!Array.isArray(fractions) || fractions.length === 0) {
    throw new TypeError(`fractions must be a non-empty array of numbers, got ${describe(fractions)}`);
  }
  let sum = 0;
  fractions.forEach((f, i) => {
    if (typeof f !== 'number') throw new TypeError(`fractions[${i}] must be a number, got ${describe(f)}`);
    if (!Number.isFinite(f) || f < 0 || f > 1) throw new RangeError(`fractions[${i}] must be a number in [0, 1], got ${f}`);
    sum += f;
  });
  if (sum > 1 + 1e-9) throw new RangeError(`fractions must sum to at most 1, got ${sum}`);
  if (typeof seed !== 'number') throw new TypeError(`seed must be an integer, got ${describe(seed)}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);

  const perm = permutation(n, seed);
  const parts: Int32Array[] = [];
  let start = 0;
  const fillsAll = Math.abs(sum - 1) <= 1e-9;
  for (let i = 0; i < fractions.length; i++) {
    const last = i === fractions.length - 1;
    const size = last && fillsAll ? n - start : Math.min(n - start, Math.round(fractions[i] * n));
    parts.push(perm.slice(start, start + size).sort());
    start += size;
  }
  return parts;
}

/** Copies the given rows of an n x cols matrix into a new matrix. */
export function takeRows(X: Float64Array, cols: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * cols);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out.set(X.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return out;
}

/** The labels at the given indices. */
export function takeLabels(labels: Int32Array, rows: ArrayLike<number>): Int32Array {
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = labels[rows[i]];
  return out;
}
