import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { DataFileError, formatFromName, openData, readAll, type OpenDataOptions } from '../../src/data/readers/index.js';
import { encodeNpyHeader } from '../../src/data/npy.js';
import { bytesOf, collect, rng, tempDir } from './file-helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

/** An n x d matrix of varied float64 values (not all short decimals). */
function matrix(n: number, d: number, seed = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n * d);
  for (let i = 0; i < out.length; i++) out[i] = (r() - 0.5) * 10 ** Math.floor(r() * 6 - 3);
  return out;
}

function csvText(data: Float64Array, d: number, delimiter = ',', header?: string[]): string {
  const lines = header ? [header.join(delimiter)] : [];
  for (let i = 0; i < data.length / d; i++) lines.push(Array.from(data.subarray(i * d, (i + 1) * d), String).join(delimiter));
  return lines.join('\n') + '\n';
}

function npyFile(name: string, data: Float64Array | Float32Array | Uint8Array, shape: number[], descr: string): string {
  const header = encodeNpyHeader(descr, shape);
  const path = tmp.file(name);
  writeFileSync(path, Buffer.concat([header, bytesOf(data)]));
  return path;
}

function idxBytes(magic: number, dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, body]);
}

/** Columns `cols` of an n x d matrix. */
function columnsOf(data: Float64Array, d: number, cols: number[]): Float64Array {
  const n = data.length / d;
  const out = new Float64Array(n * cols.length);
  for (let i = 0; i < n; i++) cols.forEach((c, j) => (out[i * cols.length + j] = data[i * d + c]));
  return out;
}

describe('formatFromName', () => {
  it('maps extensions, with or without .gz', () => {
    expect(formatFromName('a/b.csv')).toBe('csv');
    expect(formatFromName('B.CSV.GZ')).toBe('csv');
    expect(formatFromName('x.tsv.gz')).toBe('tsv');
    expect(formatFromName('x.npy')).toBe('npy');
    expect(formatFromName('x.npy.gz')).toBe('npy');
    expect(formatFromName('x.svm')).toBe('libsvm');
    expect(formatFromName('x.libsvm.gz')).toBe('libsvm');
    expect(formatFromName('train-images-idx3-ubyte.gz')).toBe('idx');
    expect(formatFromName('t10k-labels-idx1-ubyte')).toBe('idx');
    expect(formatFromName('x.txt')).toBeNull();
  });
});

describe('CSV and TSV', () => {
  const n = 37, d = 5;
  const data = matrix(n, d, 7);
  const names = ['a', 'b', 'price', 'c', 'qty'];

  it('reads a header-less CSV bit-identically (header auto-detected as absent)', async () => {
    const path = tmp.file('plain.csv');
    writeFileSync(path, csvText(data, d));
    const s = await openData(path);
    expect(s.format).toBe('csv');
    expect(s.columns).toBe(d);
    expect(s.rows).toBeNull();
    expect(s.targetNames).toEqual([]);
    expect(s.featureNames).toBeNull();
    const { X, y, rows } = await collect(s, 8);
    expect(rows).toBe(n);
    expect(y).toBeNull();
    expect(bytesOf(X).equals(bytesOf(data))).toBe(true);
  });

  it('detects a header, takes the target by name, the others in file order', async () => {
    const path = tmp.file('header.csv');
    writeFileSync(path, csvText(data, d, ',', names));
    const s = await openData(path, { target: 'price' });
    expect(s.columns).toBe(4);
    expect(s.targetNames).toEqual(['price']);
    expect(s.featureNames).toEqual(['a', 'b', 'c', 'qty']);
    const { X, y, rows } = await collect(s, 10);
    expect(rows).toBe(n);
    expect(Array.from(X)).toEqual(Array.from(columnsOf(data, d, [0, 1, 3, 4])));
    expect(Array.from(y!)).toEqual(Array.from(columnsOf(data, d, [2])));
  });

  it('takes targets by index (negative from the end) and several targets as multi-output', async () => {
    const path = tmp.file('multi.csv');
    writeFileSync(path, csvText(data, d));
    const s = await openData(path, { target: [-1, 1], header: false });
    expect(s.targetNames).toEqual(['y0', 'y1']);
    const { X, y } = await collect(s, 4);
    expect(Array.from(X)).toEqual(Array.from(columnsOf(data, d, [0, 2, 3])));
    // y columns in the order given: last column, then column 1.
    expect(Array.from(y!)).toEqual(Array.from(columnsOf(data, d, [4, 1])));
    const byName = await openData(tmp.file('header.csv'), { target: ['qty', 'a'] });
    const named = await collect(byName);
    expect(Array.from(named.y!)).toEqual(Array.from(columnsOf(data, d, [4, 0])));
    expect(byName.targetNames).toEqual(['qty', 'a']);
  });

  it('header: true treats a numeric first record as names; header: false reads it as data', async () => {
    const path = tmp.file('plain.csv');
    const asHeader = await collect(await openData(path, { header: true }));
    expect(asHeader.rows).toBe(n - 1);
    expect(Array.from(asHeader.X)).toEqual(Array.from(data.subarray(d)));
    const asData = await collect(await openData(path, { header: false }));
    expect(asData.rows).toBe(n);
  });

  it('reads TSV, gzipped CSV, CRLF line ends, quoted fields and blank lines', async () => {
    const tsv = tmp.file('t.tsv');
    writeFileSync(tsv, csvText(data, d, '\t', names));
    const fromTsv = await collect(await openData(tsv, { target: 'price' }));
    const gz = tmp.file('h.csv.gz');
    writeFileSync(gz, gzipSync(csvText(data, d, ',', names)));
    const fromGz = await collect(await openData(gz, { target: 'price' }));
    const crlf = tmp.file('crlf.csv');
    writeFileSync(crlf, csvText(data, d, ',', names.map((s) => `"${s}"`)).replace(/\n/g, '\r\n\r\n'));
    const fromCrlf = await collect(await openData(crlf, { target: 'price' }));
    const reference = await collect(await openData(tmp.file('header.csv'), { target: 'price' }));
    for (const r of [fromTsv, fromGz, fromCrlf]) {
      expect(r.rows).toBe(n);
      expect(bytesOf(r.X).equals(bytesOf(reference.X))).toBe(true);
      expect(bytesOf(r.y!).equals(bytesOf(reference.y!))).toBe(true);
    }
  });

  it('gives float32 X with dtype float32 and applies scale', async () => {
    const s = await openData(tmp.file('plain.csv'), { dtype: 'float32', scale: 0.5 });
    const batches = (await collect(s)).batches;
    expect(batches[0].X.data).toBeInstanceOf(Float32Array);
    expect(batches[0].X.data[3]).toBe(Math.fround(data[3] * 0.5));
  });

  it('reads an empty file as no batches', async () => {
    const path = tmp.file('empty.csv');
    writeFileSync(path, '');
    const s = await openData(path);
    expect((await collect(s)).batches).toEqual([]);
  });
});

describe('batches of every size give the same rows', () => {
  it('for CSV, .npy, LIBSVM and IDX, with offsets and labels in step', async () => {
    const n = 23, d = 3;
    const data = matrix(n, d, 3);
    const csv = tmp.file('prop.csv');
    writeFileSync(csv, csvText(data, d, ',', ['u', 'v', 'w']));
    const npy = npyFile('prop.npy', data, [n, d], '<f8');
    // LIBSVM of the same values (all stored).
    const svm = tmp.file('prop.svm');
    writeFileSync(svm, Array.from({ length: n }, (_, i) => `${i} ` + Array.from({ length: d }, (_, j) => `${j + 1}:${data[i * d + j]}`).join(' ')).join('\n'));
    const pixels = Uint8Array.from({ length: n * 6 }, (_, i) => (i * 37) % 256);
    const idx = tmp.file('prop-idx3-ubyte.gz');
    writeFileSync(idx, gzipSync(idxBytes(0x803, [n, 2, 3], pixels)));
    const idxLabels = tmp.file('prop-idx1-ubyte');
    writeFileSync(idxLabels, idxBytes(0x801, [n], Uint8Array.from({ length: n }, (_, i) => i % 10)));

    const sources = [
      () => openData(csv, { target: 'v' }),
      () => openData(npy),
      () => openData(svm),
      () => openData(idx, { labels: idxLabels }),
      () => openData(npy, { labels: tmp.file('labels-2d.npy') }),
    ];
    npyFile('labels-2d.npy', data, [n, d], '<f8');
    const r = rng(11);
    for (const open of sources) {
      const s = await open();
      const whole = await collect(s, 1000);
      expect(whole.rows).toBe(n);
      const sizes = [1, 2, n - 1, n, n + 1, ...Array.from({ length: 4 }, () => 1 + Math.floor(r() * n))];
      for (const size of sizes) {
        const part = await collect(s, size);
        expect(part.batches.map((b) => b.offset)).toEqual(Array.from({ length: Math.ceil(n / size) }, (_, i) => i * size));
        expect(part.batches.every((b, i) => b.X.shape[0] === Math.min(size, n - i * size))).toBe(true);
        expect(bytesOf(part.X).equals(bytesOf(whole.X))).toBe(true);
        if (whole.y) expect(bytesOf(part.y!).equals(bytesOf(whole.y))).toBe(true);
        for (const b of part.batches) if (b.y) expect(b.y.shape).toEqual([b.X.shape[0], s.targetNames.length]);
      }
    }
  });

  it('readAll concatenates dense, CSR and image batches', async () => {
    const s = await openData(tmp.file('prop.svm'), { batchRows: 4 });
    const all = await readAll(s);
    expect(all.rows).toBe(23);
    expect('indptr' in all.X).toBe(true);
    const ref = await collect(s, 100);
    const X = all.X as { indptr: Int32Array; indices: Int32Array; data: Float64Array };
    expect(X.indptr.length).toBe(24);
    expect(X.indptr[23]).toBe(69);
    expect(Array.from(X.data)).toEqual(Array.from(ref.X));
    const img = await readAll(await openData(tmp.file('prop-idx3-ubyte.gz'), { batchRows: 5 }));
    expect(img.X.shape).toEqual([23, 1, 2, 3]);
    expect(img.X.data[7]).toBe((7 * 37) % 256);
  });
});

describe('.npy reader', () => {
  it('reads float32 files as float32 or float64, and 3-D/4-D files as images', async () => {
    const data = Float32Array.from(matrix(6, 8, 5));
    const p2 = npyFile('f4.npy', data, [6, 8], '<f4');
    const as32 = await collect(await openData(p2, { dtype: 'float32' }), 4);
    expect(as32.batches[0].X.data).toBeInstanceOf(Float32Array);
    const as64 = await collect(await openData(p2), 4);
    expect(Array.from(as64.X)).toEqual(Array.from(data));
    const p4 = npyFile('img4.npy', data, [6, 2, 2, 2], '<f4');
    const s4 = await openData(p4);
    expect(s4.layout).toBe('images');
    expect(s4.imageShape).toEqual([2, 2, 2]);
    expect(s4.columns).toBe(8);
    const b4 = (await collect(s4, 4)).batches;
    expect(b4[0].X.shape).toEqual([4, 2, 2, 2]);
    expect(b4[1].X.shape).toEqual([2, 2, 2, 2]);
    const p3 = npyFile('img3.npy', data, [6, 2, 4], '<f4');
    const s3 = await openData(p3);
    expect(s3.imageShape).toEqual([1, 2, 4]);
    const flat = await openData(p3, { flatten: true });
    expect(flat.layout).toBe('dense');
    expect((await collect(flat)).batches[0].X.shape).toEqual([6, 8]);
  });

  it('reads uint8 images scaled, a 1-D file as one column, and a gzipped file', async () => {
    const px = Uint8Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i * 10);
    const p = npyFile('u1.npy', px, [2, 3, 2, 2], '|u1');
    const s = await openData(p, { scale: 1 / 255 });
    const { X } = await collect(s);
    expect(X[5]).toBe(50 * (1 / 255));
    const v = npyFile('vec.npy', Float64Array.of(1, 2, 3), [3], '<f8');
    const sv = await openData(v);
    expect(sv.columns).toBe(1);
    expect((await collect(sv, 2)).batches[0].X.shape).toEqual([2, 1]);
    const gz = tmp.file('vec.npy.gz');
    writeFileSync(gz, gzipSync(Buffer.concat([encodeNpyHeader('<f8', [3]), bytesOf(Float64Array.of(1, 2, 3))])));
    expect(Array.from((await collect(await openData(gz), 2)).X)).toEqual([1, 2, 3]);
  });

  it('splits target columns of a 2-D file', async () => {
    const data = matrix(5, 4, 9);
    const p = npyFile('t.npy', data, [5, 4], '<f8');
    const s = await openData(p, { target: 0 });
    const { X, y } = await collect(s, 2);
    expect(Array.from(X)).toEqual(Array.from(columnsOf(data, 4, [1, 2, 3])));
    expect(Array.from(y!)).toEqual(Array.from(columnsOf(data, 4, [0])));
  });
});

describe('LIBSVM', () => {
  it('reads into CSR equal to a dense reference, with comments, qid and 0-based indices', async () => {
    const text = [
      '# leading comment',
      '1.5 1:0.25 4:-3 qid:2',
      '',
      '-1 2:1e-3 3:7 # trailing',
      '0',
      '2 5:1',
    ].join('\n');
    const p = tmp.file('a.svm');
    writeFileSync(p, text);
    const s = await openData(p);
    expect(s.layout).toBe('csr');
    expect(s.columns).toBe(5);
    expect(s.rows).toBe(4);
    const { X, y, batches } = await collect(s, 3);
    expect(Array.from(X)).toEqual([0.25, 0, 0, -3, 0, 0, 0.001, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(Array.from(y!)).toEqual([1.5, -1, 0, 2]);
    const first = batches[0].X as { indptr: Int32Array; indices: Int32Array };
    expect(Array.from(first.indptr)).toEqual([0, 2, 4, 4]);
    expect(Array.from(first.indices)).toEqual([0, 3, 1, 2]);
    const zero = tmp.file('z.svm');
    writeFileSync(zero, '1 0:2 3:4\n');
    const sz = await openData(zero, { zeroBased: true, columns: 6 });
    expect(sz.columns).toBe(6);
    expect(sz.rows).toBeNull();
    expect(Array.from((await collect(sz)).X)).toEqual([2, 0, 0, 4, 0, 0]);
    const gz = tmp.file('a.svm.gz');
    writeFileSync(gz, gzipSync(text));
    expect(Array.from((await collect(await openData(gz))).X)).toEqual(Array.from(X));
  });
});

describe('IDX', () => {
  const pixels = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 13) % 256);
  const labels = Uint8Array.of(3, 1, 4, 1, 5);

  it('reads gzipped and plain image files with a label file, and a label file alone', async () => {
    const plain = tmp.file('x-images-idx3-ubyte');
    writeFileSync(plain, idxBytes(0x803, [5, 4, 3], pixels));
    const gz = tmp.file('x-images-idx3-ubyte.gz');
    writeFileSync(gz, gzipSync(idxBytes(0x803, [5, 4, 3], pixels)));
    const lbl = tmp.file('x-labels-idx1-ubyte.gz');
    writeFileSync(lbl, gzipSync(idxBytes(0x801, [5], labels)));
    for (const p of [plain, gz]) {
      const s = await openData(p, { labels: lbl });
      expect(s.layout).toBe('images');
      expect(s.imageShape).toEqual([1, 4, 3]);
      expect(s.rows).toBe(5);
      expect(s.labelsPath).toBe(lbl);
      const { X, y, batches } = await collect(s, 2);
      expect(batches[0].X.shape).toEqual([2, 1, 4, 3]);
      expect(Array.from(X)).toEqual(Array.from(pixels));
      expect(Array.from(y!)).toEqual(Array.from(labels));
    }
    const alone = await openData(lbl);
    expect(alone.columns).toBe(1);
    expect(Array.from((await collect(alone)).X)).toEqual(Array.from(labels));
  });

  it('reads big-endian int32 and float64 IDX', async () => {
    const body = Buffer.alloc(3 * 2 * 8);
    [1.5, -2, 3.25, 1e-300, 7, -0].forEach((v, i) => body.writeDoubleBE(v, 8 * i));
    const p = tmp.file('f8.idx');
    writeFileSync(p, idxBytes(0x0e02, [3, 2], body));
    expect(Array.from((await collect(await openData(p))).X)).toEqual([1.5, -2, 3.25, 1e-300, 7, -0]);
    const ib = Buffer.alloc(4 * 4);
    [1, -5, 70000, -70000].forEach((v, i) => ib.writeInt32BE(v, 4 * i));
    const pi = tmp.file('i4.idx');
    writeFileSync(pi, idxBytes(0x0c01, [4], ib));
    expect(Array.from((await collect(await openData(pi))).X)).toEqual([1, -5, 70000, -70000]);
  });
});

describe('labels file', () => {
  it('reads a one-column CSV (with a header) in step with the data', async () => {
    const data = matrix(9, 2, 4);
    const x = npyFile('lx.npy', data, [9, 2], '<f8');
    const l = tmp.file('ly.csv');
    writeFileSync(l, 'label\n' + Array.from({ length: 9 }, (_, i) => String(i * 1.5)).join('\n') + '\n');
    const s = await openData(x, { labels: l });
    expect(s.targetNames).toEqual(['label']);
    const { y } = await collect(s, 4);
    expect(Array.from(y!)).toEqual(Array.from({ length: 9 }, (_, i) => i * 1.5));
  });

  it('a length mismatch is an error naming both files and counts (known up front or found while reading)', async () => {
    const x = npyFile('mx.npy', matrix(9, 2, 4), [9, 2], '<f8');
    const short = npyFile('my.npy', Float64Array.of(1, 2, 3), [3], '<f8');
    const err = await openData(x, { labels: short }).catch((e) => e);
    expect(err).toBeInstanceOf(DataFileError);
    expect(err.message).toContain(short);
    expect(err.message).toContain(x);
    expect(err.message).toMatch(/3 labels.*9 rows/);
    // CSV labels: the counts are found while reading.
    const l = tmp.file('my.csv');
    writeFileSync(l, Array.from({ length: 11 }, (_, i) => String(i)).join('\n'));
    const s = await openData(x, { labels: l });
    for (const size of [2, 4, 100]) {
      const e = await collect(s, size).catch((e) => e);
      expect(e).toBeInstanceOf(DataFileError);
      expect(e.file).toBe(l);
      expect(e.message).toContain(x);
      expect(e.message).toMatch(/11 labels.*9 rows/);
    }
    const l2 = tmp.file('my2.csv');
    writeFileSync(l2, '1\n2\n');
    const e2 = await collect(await openData(x, { labels: l2 }), 4).catch((e) => e);
    expect(e2.message).toMatch(/2 labels.*9 rows/);
  });
});

describe('option validation', () => {
  it('names the option in a TypeError or RangeError', async () => {
    const p = tmp.file('plain.csv');
    await expect(openData(p, { nope: 1 } as never)).rejects.toThrow(/openData options\.nope is not a known option/);
    await expect(openData(p, { dtype: 'int8' as never })).rejects.toThrow(RangeError);
    await expect(openData(p, { header: 'yes' as never })).rejects.toThrow(/header must be/);
    await expect(openData(p, { target: {} as never })).rejects.toThrow(TypeError);
    await expect(openData(p, { target: 99 })).rejects.toThrow(/target 99 is out of range/);
    await expect(openData(p, { zeroBased: true })).rejects.toThrow(/zeroBased applies to libsvm/);
    await expect(openData(p, { batchRows: 0 })).rejects.toThrow(/batchRows must be an integer/);
    await expect(openData(p, { delimiter: ';;' })).rejects.toThrow(/delimiter/);
    await expect(openData(tmp.file('x.dat'))).rejects.toThrow(/pass format/);
    await expect(openData(tmp.file('prop.npy'), { target: 'a' })).rejects.toThrow(/0-based column indices/);
    const s = await openData(p);
    expect(() => s.batches(1.5)).toThrow(/batchRows/);
  });

  it('a missing file is a DataFileError naming it', async () => {
    const p = tmp.file('missing.csv');
    const e = await openData(p).catch((e) => e);
    expect(e).toBeInstanceOf(DataFileError);
    expect(e.file).toBe(p);
    expect(e.message).toContain('no such file');
  });
});

describe('resources', () => {
  const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'FileHandle').length;

  it('breaking out of the loop, or an error, closes the files (every format, plain and gzip)', async () => {
    const before = handles();
    const cases: Array<[string, OpenDataOptions]> = [
      [tmp.file('prop.csv'), {}],
      [tmp.file('h.csv.gz'), {}],
      [tmp.file('prop.npy'), { labels: tmp.file('labels-2d.npy') }],
      [tmp.file('vec.npy.gz'), {}],
      [tmp.file('prop.svm'), {}],
      [tmp.file('a.svm.gz'), {}],
      [tmp.file('prop-idx3-ubyte.gz'), { labels: tmp.file('prop-idx1-ubyte') }],
      [tmp.file('x-images-idx3-ubyte'), {}],
    ];
    for (const [path, options] of cases) {
      const s = await openData(path, options);
      for await (const b of s.batches(1)) {
        expect(b.offset).toBe(0);
        break;
      }
      const it = s.batches(1)[Symbol.asyncIterator]();
      await it.next();
      await it.return?.(undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handles()).toBe(before);
  });
});
