import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  FASHION_MNIST_DIR,
  loadDigits,
  loadFashionMnist,
  parseIdxImages,
  parseIdxLabels,
  permutation,
  splitIndices,
} from '../../src/data/datasets.js';

describe('loadDigits', () => {
  const d = loadDigits();

  it('has 1797 rows of 64 pixels and 10 classes', () => {
    expect(d.rows).toBe(1797);
    expect(d.cols).toBe(64);
    expect(d.classes).toBe(10);
    expect(d.X).toBeInstanceOf(Float64Array);
    expect(d.X.length).toBe(1797 * 64);
    expect(d.labels).toBeInstanceOf(Int32Array);
    expect(d.labels.length).toBe(1797);
    expect(d.imageShape).toEqual([1, 8, 8]);
  });

  it('has labels 0..9, about 180 of each', () => {
    const counts = new Array(10).fill(0);
    for (const l of d.labels) {
      expect(Number.isInteger(l) && l >= 0 && l <= 9).toBe(true);
      counts[l]++;
    }
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(170), expect(c).toBeLessThanOrEqual(190);
    expect(counts).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  });

  it('has pixels in [0, 1] that are multiples of 1/16, reaching both ends', () => {
    let min = Infinity, max = -Infinity;
    for (const v of d.X) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      expect(Number.isInteger(v * 16)).toBe(true);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // First row of the UCI file: 0,0,5,13,9,1,0,0,... label 0.
    expect(Array.from(d.X.subarray(0, 6), (v) => v * 16)).toEqual([0, 0, 5, 13, 9, 1]);
    expect(d.labels[0]).toBe(0);
  });

  it('returns an independent copy on each call', () => {
    const a = loadDigits();
    a.X[0] = 42;
    a.labels[0] = 7;
    const b = loadDigits();
    expect(b.X[0]).toBe(0);
    expect(b.labels[0]).toBe(0);
  });
});

describe('splitIndices', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = splitIndices(1000, [0.6, 0.2, 0.2], 7);
    const b = splitIndices(1000, [0.6, 0.2, 0.2], 7);
    const c = splitIndices(1000, [0.6, 0.2, 0.2], 8);
    expect(a.map((p) => Array.from(p))).toEqual(b.map((p) => Array.from(p)));
    expect(Array.from(a[0])).not.toEqual(Array.from(c[0]));
  });

  it('partitions 0..n-1 into parts of the requested sizes', () => {
    const n = 1797;
    const parts = splitIndices(n, [0.6, 0.2, 0.2], 0);
    expect(parts.map((p) => p.length)).toEqual([1078, 359, 360]);
    const seen = new Uint8Array(n);
    for (const p of parts) {
      for (let i = 0; i < p.length; i++) {
        expect(p[i]).toBeGreaterThanOrEqual(0);
        expect(p[i]).toBeLessThan(n);
        seen[p[i]]++;
        if (i > 0) expect(p[i]).toBeGreaterThan(p[i - 1]);
      }
    }
    expect(seen.every((s) => s === 1)).toBe(true);
  });

  it('leaves an unused tail when the fractions sum to less than 1', () => {
    const parts = splitIndices(100, [0.1, 0.3], 3);
    expect(parts.map((p) => p.length)).toEqual([10, 30]);
    const all = new Set([...parts[0], ...parts[1]]);
    expect(all.size).toBe(40);
  });

  it('handles n = 0 and a single part', () => {
    expect(splitIndices(0, [1], 0).map((p) => p.length)).toEqual([0]);
    expect(Array.from(splitIndices(5, [1], 1)[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it('shuffles: the first part is not just a prefix', () => {
    const [first] = splitIndices(1000, [0.5, 0.5], 0);
    expect(first[first.length - 1]).toBeGreaterThan(600);
    const perm = permutation(1000, 0);
    expect(Array.from(perm).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('validates its arguments', () => {
    expect(() => splitIndices('10' as unknown as number, [1])).toThrow(TypeError);
    expect(() => splitIndices(-1, [1])).toThrow(/n must be/);
    expect(() => splitIndices(2.5, [1])).toThrow(RangeError);
    expect(() => splitIndices(10, [])).toThrow(/fractions/);
    expect(() => splitIndices(10, 0.5 as unknown as number[])).toThrow(TypeError);
    expect(() => splitIndices(10, [0.5, Number.NaN])).toThrow(/fractions\[1\]/);
    expect(() => splitIndices(10, [0.7, 0.7])).toThrow(/sum to at most 1/);
    expect(() => splitIndices(10, [0.5], -1)).toThrow(/seed/);
    expect(() => splitIndices(10, [0.5], 1.5)).toThrow(RangeError);
  });
});

/** Big-endian int32 header words followed by bytes. */
function idx(words: number[], body: number[]): Buffer {
  const head = Buffer.alloc(4 * words.length);
  words.forEach((w, i) => head.writeInt32BE(w, 4 * i));
  return Buffer.concat([head, Buffer.from(body)]);
}

describe('IDX parser and loadFashionMnist on synthetic files', () => {
  let dir: string;
  // 3 training images of 2 x 3 and 2 test images, labels 0..9.
  const trainPixels = [0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6, 255, 255, 255, 0, 0, 0];
  const testPixels = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ntk-sketch-idx-'));
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([2051, 3, 2, 3], trainPixels)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([2049, 3], [9, 0, 4])));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([2051, 2, 2, 3], testPixels)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([2049, 2], [1, 2])));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses headers and pixels (gzip or raw)', () => {
    const raw = idx([2051, 3, 2, 3], trainPixels);
    for (const bytes of [raw, gzipSync(raw)]) {
      const im = parseIdxImages(bytes);
      expect([im.count, im.height, im.width]).toEqual([3, 2, 3]);
      expect(Array.from(im.pixels)).toEqual(trainPixels);
    }
    expect(parseIdxImages(raw, 1).count).toBe(1);
    expect(Array.from(parseIdxLabels(idx([2049, 3], [9, 0, 4])))).toEqual([9, 0, 4]);
  });

  it('rejects a wrong magic number, a truncated file and bad gzip clearly', () => {
    expect(() => parseIdxImages(idx([2049, 3, 2, 3], trainPixels), Infinity, 'x.gz')).toThrow(
      /x\.gz is not an IDX3 image file: magic number 2049, expected 2051/,
    );
    expect(() => parseIdxLabels(gzipSync(idx([2051, 3], [1, 2, 3])))).toThrow(/magic number 2051, expected 2049/);
    expect(() => parseIdxImages(idx([2051, 3, 2, 3], trainPixels.slice(0, 10)))).toThrow(/truncated/);
    expect(() => parseIdxLabels(Buffer.from([1, 2, 3]))).toThrow(/too short/);
    expect(() => parseIdxImages(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).toThrow(/not a valid gzip/);
    expect(() => parseIdxImages('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('loads a directory, scales pixels to [0, 1] and honours train/test counts', () => {
    const { train, test } = loadFashionMnist({ dir });
    expect([train.rows, train.cols, test.rows, test.cols]).toEqual([3, 6, 2, 6]);
    expect(train.imageShape).toEqual([1, 2, 3]);
    expect(Array.from(train.X.subarray(0, 3))).toEqual([0, 1, 0.2]);
    expect(Array.from(train.labels)).toEqual([9, 0, 4]);
    expect(Array.from(test.labels)).toEqual([1, 2]);
    const small = loadFashionMnist({ dir, train: 2, test: 1 });
    expect([small.train.rows, small.test.rows]).toEqual([2, 1]);
    expect(() => loadFashionMnist({ dir, train: 5 })).toThrow(/holds only 3/);
  });

  it('reports a wrong magic number in a file of the directory', () => {
    const bad = mkdtempSync(join(tmpdir(), 'ntk-sketch-idx-bad-'));
    try {
      writeFileSync(join(bad, 'train-images-idx3-ubyte.gz'), gzipSync(idx([1234, 3, 2, 3], trainPixels)));
      writeFileSync(join(bad, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([2049, 3], [9, 0, 4])));
      writeFileSync(join(bad, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([2051, 2, 2, 3], testPixels)));
      writeFileSync(join(bad, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([2049, 2], [1, 2])));
      expect(() => loadFashionMnist({ dir: bad })).toThrow(/train-images-idx3-ubyte\.gz is not an IDX3 image file: magic number 1234/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('says how to install the data when the files are missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ntk-sketch-empty-'));
    try {
      expect(() => loadFashionMnist({ dir: empty })).toThrow(/apt-get install dataset-fashion-mnist/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('validates its options', () => {
    expect(() => loadFashionMnist({ dir, train: -1 })).toThrow(RangeError);
    expect(() => loadFashionMnist({ dir, train: 60001 })).toThrow(/train must be an integer in \[0, 60000\]/);
    expect(() => loadFashionMnist({ dir, test: '5' as unknown as number })).toThrow(TypeError);
    expect(() => loadFashionMnist({ dir: 5 as unknown as string })).toThrow(/dir must be/);
    expect(() => loadFashionMnist({ dir, bogus: 1 } as never)).toThrow(/bogus is not a known option/);
    expect(() => loadFashionMnist(null as never)).toThrow(TypeError);
  });
});

const haveFashion = existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));

describe.skipIf(!haveFashion)(
  `loadFashionMnist from ${FASHION_MNIST_DIR} (skipped when absent: apt-get install dataset-fashion-mnist)`,
  () => {
    it('reads the first rows of the real files', () => {
      const { train, test } = loadFashionMnist({ train: 100, test: 50 });
      expect([train.rows, train.cols, test.rows, test.cols]).toEqual([100, 784, 50, 784]);
      expect(train.imageShape).toEqual([1, 28, 28]);
      let min = Infinity, max = -Infinity;
      for (const v of train.X) (min = Math.min(min, v)), (max = Math.max(max, v));
      expect(min).toBe(0);
      expect(max).toBe(1);
      for (const l of [...train.labels, ...test.labels]) expect(l >= 0 && l <= 9).toBe(true);
      // The official first labels: training 9 (ankle boot), test 9 (ankle boot).
      expect(train.labels[0]).toBe(9);
      expect(test.labels[0]).toBe(9);
    });
  },
);
