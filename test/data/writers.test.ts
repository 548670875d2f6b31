import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { DataFileError, openData } from '../../src/data/readers/index.js';
import { parseNpyHeader } from '../../src/data/npy.js';
import { createCsvWriter, createDataWriter, createNpyWriter, writeData } from '../../src/data/writers.js';
import { bytesOf, collect, rng, tempDir } from './file-helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
afterEach(() => vi.restoreAllMocks());

/** A fresh empty directory: after a failure it must still be empty. */
function dir(name: string): string {
  const d = tmp.file(name);
  mkdirSync(d);
  return d;
}

function values(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => (r() - 0.5) * 10 ** Math.floor(r() * 8 - 4));
}

describe('NpyWriter', () => {
  it('round trip: rows written in pieces read back bit-identically (float64 and float32)', async () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const d = dir(`rt-${dtype}`);
      const path = `${d}/out.npy`;
      const w = await createNpyWriter(path, { dtype, columns: 4 });
      expect(existsSync(path)).toBe(false);
      const pieces = [5, 1, 0, 17].map((n, i) => values(n * 4, i + 1));
      for (const p of pieces) await w.write({ data: p, shape: [p.length / 4, 4] });
      expect(w.rows).toBe(23);
      expect(existsSync(path)).toBe(false);
      expect(await w.close()).toEqual({ path, rows: 23 });
      expect(readdirSync(d)).toEqual(['out.npy']);
      const header = parseNpyHeader(readFileSync(path));
      expect(header.shape).toEqual([23, 4]);
      expect(header.dataOffset % 64).toBe(0);
      const all = new Float64Array(pieces.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of pieces) (all.set(p, at), (at += p.length));
      const s = await openData(path, { dtype });
      for (const size of [1, 7, 100]) {
        const batches = (await collect(s, size)).batches;
        const got = dtype === 'float32' ? new Float32Array(23 * 4) : new Float64Array(23 * 4);
        batches.forEach((b) => got.set(b.X.data, b.offset * 4));
        const expected = dtype === 'float32' ? Float32Array.from(all) : all;
        expect(bytesOf(got).equals(bytesOf(expected))).toBe(true);
      }
    }
  });

  it('takes the dtype of the first rows when none is given, and writes an empty file', async () => {
    const d = dir('dtype');
    const w = await createNpyWriter(`${d}/a.npy`, { columns: 2 });
    await w.write({ data: Float32Array.of(1, 2), shape: [1, 2] });
    await w.write({ data: Float64Array.of(3, 4.5), shape: [1, 2] });
    await w.close();
    const h = parseNpyHeader(readFileSync(`${d}/a.npy`));
    expect([h.descr, h.shape]).toEqual(['<f4', [2, 2]]);
    const e = await createNpyWriter(`${d}/empty.npy`, { columns: 3 });
    await e.close();
    const s = await openData(`${d}/empty.npy`);
    expect([s.rows, s.columns]).toEqual([0, 3]);
    expect((await collect(s)).batches).toEqual([]);
  });

  it('abort leaves no file, and no temporary file', async () => {
    const d = dir('abort');
    const w = await createNpyWriter(`${d}/x.npy`, { columns: 2 });
    await w.write({ data: new Float64Array(20), shape: [10, 2] });
    expect(readdirSync(d).length).toBe(1); // the temporary file
    await w.abort();
    await w.abort();
    expect(readdirSync(d)).toEqual([]);
    await expect(w.write({ data: new Float64Array(2), shape: [1, 2] })).rejects.toThrow(/aborted/);
    await expect(w.close()).rejects.toThrow(/aborted/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a failing disk write aborts: no file under the path, the error names it', async () => {
    const d = dir('fail');
    const path = `${d}/x.npy`;
    const w = await createNpyWriter(path, { columns: 2 });
    await w.write({ data: new Float64Array(4), shape: [2, 2] });
    const probe = await open(`${tmp.dir}/probe`, 'w');
    const proto = Object.getPrototypeOf(probe);
    await probe.close();
    vi.spyOn(proto, 'write').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    const e = await w.write({ data: new Float64Array(4), shape: [2, 2] }).catch((e) => e);
    expect(e).toBeInstanceOf(DataFileError);
    expect(e.file).toBe(path);
    expect(e.message).toContain('no space left');
    expect(readdirSync(d)).toEqual([]);
    await expect(w.close()).rejects.toThrow(/aborted/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('rows of the wrong width or with NaN abort the writer', async () => {
    const d = dir('bad-rows');
    const w = await createNpyWriter(`${d}/x.npy`, { columns: 3 });
    await expect(w.write({ data: new Float64Array(4), shape: [2, 2] })).rejects.toThrow(/3 columns/);
    expect(readdirSync(d)).toEqual([]);
    const w2 = await createNpyWriter(`${d}/y.npy`, { columns: 1 });
    await w2.write(Float64Array.of(1, 2));
    await expect(w2.write(Float64Array.of(1, NaN))).rejects.toThrow(/finite/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a location that cannot be written is a DataFileError naming the path', async () => {
    const missing = `${tmp.dir}/no/such/dir/x.npy`;
    let e = await createNpyWriter(missing, { columns: 2 }).catch((e) => e);
    expect(e).toBeInstanceOf(DataFileError);
    expect(e.file).toBe(missing);
    expect(e.message).toContain('directory does not exist');
    const d = dir('is-dir');
    e = await createNpyWriter(d, { columns: 2 }).catch((e) => e);
    expect(e).toBeInstanceOf(DataFileError);
    expect(e.message).toContain('is a directory');
    await expect(createNpyWriter(`${d}/a.npy`, { columns: 0 })).rejects.toThrow(/columns must be an integer/);
    await expect(createNpyWriter(`${d}/a.npy`, { columns: 2, dtype: 'int8' as never })).rejects.toThrow(/dtype/);
    await expect(createNpyWriter(`${d}/a.npy`, {} as never)).rejects.toThrow(/columns is required/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('replaces an existing file only at close', async () => {
    const d = dir('replace');
    const path = `${d}/x.npy`;
    await writeData(path, { data: Float64Array.of(1, 2), shape: [1, 2] });
    const before = readFileSync(path);
    const w = await createNpyWriter(path, { columns: 2 });
    await w.write({ data: Float64Array.of(5, 6), shape: [1, 2] });
    expect(readFileSync(path).equals(before)).toBe(true);
    await w.abort();
    expect(readFileSync(path).equals(before)).toBe(true);
    const w2 = await createNpyWriter(path, { columns: 2 });
    await w2.write({ data: Float64Array.of(5, 6), shape: [1, 2] });
    await w2.close();
    expect(Array.from((await collect(await openData(path))).X)).toEqual([5, 6]);
  });
});

describe('CsvWriter', () => {
  it('writes predictions with a header that read back exactly', async () => {
    const d = dir('csv');
    const path = `${d}/pred.csv`;
    const w = await createCsvWriter(path, { columns: 3, header: ['a', 'b,c', 'q"x'] });
    const v = values(30, 3);
    await w.write({ data: v.subarray(0, 12), shape: [4, 3] });
    await w.write({ data: v.subarray(12), shape: [6, 3] });
    expect(existsSync(path)).toBe(false);
    await w.close();
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe('a,"b,c","q""x"');
    const s = await openData(path);
    expect(s.featureNames).toEqual(['a', 'b,c', 'q"x']);
    const { X } = await collect(s);
    expect(bytesOf(X).equals(bytesOf(v))).toBe(true);
  });

  it('TSV by name; float32 values read back to the same float32; abort leaves nothing', async () => {
    const d = dir('tsv');
    const f = Float32Array.from(values(8, 4));
    await writeData(`${d}/p.tsv`, { data: f, shape: [4, 2] });
    expect(readFileSync(`${d}/p.tsv`, 'utf8')).toContain('\t');
    const s = await openData(`${d}/p.tsv`, { dtype: 'float32' });
    expect(Array.from((await collect(s)).batches[0].X.data)).toEqual(Array.from(f));
    const w = await createDataWriter(`${d}/q.csv`, { columns: 1 });
    await w.write(Float64Array.of(1, 2, 3));
    await w.abort();
    expect(readdirSync(d)).toEqual(['p.tsv']);
    await expect(createDataWriter(`${d}/q.txt`, { columns: 1 })).rejects.toThrow(/\.npy, \.csv or \.tsv/);
  });
});

describe('writeTextFile', () => {
  it('writes the text, replacing a file only once complete; a failure leaves nothing', async () => {
    const { writeTextFile } = await import('../../src/data/writers.js');
    const d = dir('text');
    await writeTextFile(`${d}/m.json`, '{"a": "é"}\n');
    expect(readFileSync(`${d}/m.json`, 'utf8')).toBe('{"a": "é"}\n');
    const probe = await open(`${tmp.dir}/probe2`, 'w');
    const proto = Object.getPrototypeOf(probe);
    await probe.close();
    vi.spyOn(proto, 'write').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
    const e = await writeTextFile(`${d}/m.json`, 'new').catch((e) => e);
    expect(e).toBeInstanceOf(DataFileError);
    expect(readdirSync(d)).toEqual(['m.json']);
    expect(readFileSync(`${d}/m.json`, 'utf8')).toBe('{"a": "é"}\n');
    await expect(writeTextFile(`${tmp.dir}/nope/m.json`, 'x')).rejects.toThrow(/nope\/m\.json: cannot write/);
  });
});
