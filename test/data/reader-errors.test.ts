/**
 * Every malformed or non-finite input is a DataFileError naming the file and
 * where in it the problem is.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { DataFileError, openData, type OpenDataOptions } from '../../src/data/readers/index.js';
import { encodeNpyHeader } from '../../src/data/npy.js';
import { bytesOf, collect, tempDir } from './file-helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

/** Opens and reads the whole file (batches of `batchRows`), returning the error. */
async function failure(name: string, contents: string | Uint8Array, options: OpenDataOptions = {}, batchRows = 2): Promise<DataFileError> {
  const path = tmp.file(name);
  writeFileSync(path, contents);
  let error: unknown;
  try {
    const s = await openData(path, options);
    await collect(s, batchRows);
  } catch (e) {
    error = e;
  }
  expect(error, `${name} should fail`).toBeInstanceOf(DataFileError);
  const e = error as DataFileError;
  expect(e.file).toBe(path);
  expect(e.message.startsWith(path)).toBe(true);
  return e;
}

describe('CSV errors name the file, line and column', () => {
  it('non-finite values and empty fields', async () => {
    let e = await failure('nan.csv', 'a,b\n1,2\n3,NaN\n');
    expect([e.line, e.column]).toEqual([3, 1]);
    expect(e.message).toMatch(/line 3, column 1: value "NaN" is not finite/);
    e = await failure('inf.csv', '1,2\n3,4\n-inf,5\n');
    expect([e.line, e.column]).toEqual([3, 0]);
    e = await failure('inf2.csv', '1,2\n3,Infinity\n');
    expect([e.line, e.column]).toEqual([2, 1]);
    e = await failure('empty-field.csv', '1,2\n3,\n');
    expect([e.line, e.column]).toEqual([2, 1]);
    expect(e.message).toContain('empty field');
    e = await failure('blank-field.csv', '1,2\n3, \n');
    expect([e.line, e.column]).toEqual([2, 1]);
  });

  it('non-numeric fields, including hexadecimal', async () => {
    let e = await failure('word.csv', 'x,y\n1,2\n3,4\n5,abc\n', {}, 1);
    expect([e.line, e.column]).toEqual([4, 1]);
    expect(e.message).toContain('"abc" is not a number');
    e = await failure('hex.csv', '1,2\n0x1f,4\n');
    expect([e.line, e.column]).toEqual([2, 0]);
    e = await failure('junk.csv', '1,2\n3,4kg\n');
    expect([e.line, e.column]).toEqual([2, 1]);
  });

  it('missing and extra fields', async () => {
    let e = await failure('short.csv', '1,2,3\n4,5,6\n7,8\n');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/has 2 fields where the first record has 3/);
    e = await failure('long.tsv', 'a\tb\n1\t2\n3\t4\t5\n');
    expect(e.line).toBe(3);
  });

  it('an unclosed quote, a target name that is not there, gzip garbage', async () => {
    let e = await failure('quote.csv', '1,2\n3,"4\n');
    expect(e.message).toContain('not valid CSV');
    e = await failure('noname.csv', 'a,b\n1,2\n', { target: 'c' });
    expect(e.line).toBe(1);
    expect(e.message).toContain("no column named 'c'");
    e = await failure('nohead.csv', '1,2\n3,4\n', { target: 'a' });
    expect(e.message).toContain('no header row');
    const gz = gzipSync('1,2\n3,4\n'.repeat(1000));
    e = await failure('cut.csv.gz', gz.subarray(0, gz.length - 20));
    expect(e.message).toContain('not a valid gzip file');
  });
});

describe('.npy errors', () => {
  const good = (shape: number[], data: Float64Array, descr = '<f8') => Buffer.concat([encodeNpyHeader(descr, shape), bytesOf(data)]);

  it('a truncated file names the row where it ends', async () => {
    const full = good([10, 3], new Float64Array(30));
    const e = await failure('trunc.npy', full.subarray(0, full.length - 8 * 4));
    expect(e.record).toBe(8);
    expect(e.message).toContain('truncated');
    const e2 = await failure('trunc-header.npy', full.subarray(0, 40));
    expect(e2.message).toContain('truncated inside the .npy header');
    const gz = await failure('trunc.npy.gz', gzipSync(full.subarray(0, full.length - 8 * 4)), {}, 3);
    expect(gz.record).toBe(8);
  });

  it('another dtype, big-endian, Fortran order, structured, bad magic, 5-D', async () => {
    let e = await failure('c16.npy', good([2], new Float64Array(4), '<c16'));
    expect(e.message).toMatch(/dtype '<c16' is not supported/);
    e = await failure('be.npy', good([2], new Float64Array(2), '>f8'));
    expect(e.message).toContain('big-endian');
    const fortran = good([2, 2], new Float64Array(4));
    e = await failure('fortran.npy', Buffer.from(fortran.toString('latin1').replace("'fortran_order': False,", "'fortran_order': True, "), 'latin1'));
    expect(e.message).toContain('Fortran');
    const structured = Buffer.from(good([2], new Float64Array(2)).toString('latin1').replace("'descr': '<f8'", "'descr': [('a','<f8')]".slice(0, 14)), 'latin1');
    e = await failure('structured.npy', structured);
    expect(e.message).toMatch(/structured|malformed|descr/);
    e = await failure('magic.npy', Buffer.from('not numpy at all, really not'));
    expect(e.message).toContain('not a .npy file');
    e = await failure('5d.npy', good([1, 1, 1, 1, 1], new Float64Array(1)));
    expect(e.message).toContain('shape (1, 1, 1, 1, 1)');
  });

  it('NaN and Infinity name the row and column; trailing bytes are an error', async () => {
    const data = new Float64Array(12);
    data[7] = NaN;
    let e = await failure('nan.npy', good([4, 3], data));
    expect([e.record, e.column]).toEqual([2, 1]);
    expect(e.message).toContain('NaN is not finite');
    const f32 = new Float32Array(6);
    f32[5] = -Infinity;
    e = await failure('inf.npy', Buffer.concat([encodeNpyHeader('<f4', [3, 2]), bytesOf(f32)]), { dtype: 'float32' });
    expect([e.record, e.column]).toEqual([2, 1]);
    e = await failure('extra.npy', Buffer.concat([good([2], new Float64Array(2)), Buffer.alloc(3)]));
    expect(e.message).toContain('3 bytes after the data');
  });
});

describe('LIBSVM errors', () => {
  it('index out of range, not increasing, zero in a 1-based file, bad tokens, multi-label, non-finite', async () => {
    let e = await failure('range.svm', '1 1:1 2:2\n0 3:1 5:2\n', { columns: 4 });
    expect(e.line).toBe(2);
    expect(e.message).toContain('index 5 is out of range for 4 columns');
    e = await failure('order.svm', '1 1:1 2:2\n# c\n0 3:1 2:2\n');
    expect(e.line).toBe(3);
    expect(e.message).toContain('strictly increasing: 2 follows 3');
    e = await failure('dup.svm', '1 3:1 3:2\n');
    expect(e.line).toBe(1);
    e = await failure('zero.svm', '1 0:1\n');
    expect(e.message).toContain('zeroBased');
    e = await failure('token.svm', '1 1:1 oops\n');
    expect(e.message).toContain("'oops' is not index:value");
    e = await failure('multi.svm', '1 1:1\n1,2 1:3\n');
    expect(e.line).toBe(2);
    expect(e.message).toContain('multi-label');
    e = await failure('nan.svm', '1 1:1\n\n2 4:nan\n');
    expect([e.line, e.column]).toEqual([3, 3]);
    e = await failure('label.svm', '1 1:1\nabc 1:1\n');
    expect(e.line).toBe(2);
    e = await failure('noval.svm', '1 1:\n');
    expect(e.message).toContain('empty field');
  });

  it('an error in a file read with columns given is found while reading, with its line', async () => {
    const e = await failure('late.svm', '1 1:1\n'.repeat(10) + '1 2:x\n', { columns: 3 }, 3);
    expect(e.line).toBe(11);
  });
});

describe('IDX errors', () => {
  const idx = (magic: number, dims: number[], body: Uint8Array) => {
    const head = Buffer.alloc(4 + 4 * dims.length);
    head.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => head.writeInt32BE(d, 4 + 4 * i));
    return Buffer.concat([head, body]);
  };

  it('a wrong magic number', async () => {
    const e = await failure('bad-idx3-ubyte', idx(0x1234, [2, 2, 2], new Uint8Array(8)));
    expect(e.message).toContain('magic number 0x00001234');
    const e2 = await failure('bad2-idx3-ubyte.gz', gzipSync(idx(0x0807, [2], new Uint8Array(2))));
    expect(e2.message).toContain('magic number 0x00000807');
  });

  it('truncated plain and gzipped files name the row', async () => {
    const full = idx(0x803, [10, 2, 2], new Uint8Array(40));
    let e = await failure('t-idx3-ubyte', full.subarray(0, full.length - 10));
    expect(e.record).toBe(7);
    e = await failure('t-idx3-ubyte.gz', gzipSync(full.subarray(0, full.length - 10)), {}, 4);
    expect(e.record).toBe(7);
    expect(e.message).toContain('truncated');
    // A cut gzip stream: the row at which the decompressed data stops.
    const gz = gzipSync(idx(0x803, [2000, 8, 8], Uint8Array.from({ length: 128000 }, (_, i) => (i * 7919) % 251)));
    e = await failure('cut-idx3-ubyte.gz', gz.subarray(0, Math.floor(gz.length / 2)), {}, 100);
    expect(e.message).toContain('gzip');
    expect(e.record).toBeGreaterThan(0);
    expect(e.record).toBeLessThan(2000);
    e = await failure('short-idx1-ubyte', Buffer.from([0, 0, 8, 1, 0]));
    expect(e.message).toContain('truncated inside its IDX header');
  });

  it('extra data after the last row, plain and gzipped', async () => {
    const body = idx(0x801, [3], Uint8Array.of(1, 2, 3));
    let e = await failure('x-idx1-ubyte', Buffer.concat([body, Buffer.alloc(2)]));
    expect(e.message).toContain('2 bytes after');
    e = await failure('y-idx1-ubyte.gz', gzipSync(Buffer.concat([body, Buffer.alloc(2)])));
    expect(e.message).toContain('data after');
  });
});
