// The default transform path (a new result array, float64 input) against the
// tuned one (a reused `out` buffer, input already in the map's dtype): the
// same features bit for bit, the same refusals of non-finite values, and a
// result that is an ordinary array the caller owns.
//
// The sizes reach past one chunk of converted rows (4 MiB of the map's dtype:
// 256 rows of 4,096 float32 values) and one piece of the finiteness scan
// (65,536 values), and the results past the 4 MiB from which allocate()
// registers them for a bulk prefault (bindings/result_memory.hpp, feature_map.hpp).
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CNTKSketch, LeverageSelection, NTKRandomFeatures, NTKSketch } from '../../src/index.js';
import { allocate, FRESH_RESULT_BYTES } from '../../src/core/arrays.js';
import { native, type FloatArray } from '../../src/core/native.js';
import { bitsEqual, mat } from '../helpers/matrices.js';
import { rng } from '../reference/dense-solve.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const turn = () => new Promise((resolve) => setImmediate(resolve));

const D = 4096; // dense rows: 16 KiB as float32, 256 rows per converted chunk
const N = 700; // 3 chunks (256, 256, 188)
const F = 2048; // N x F float32 = 5.7 MB: a fresh result prefaulted in bulk

function gaussian(count: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: count }, () => r.normal());
}

/** Float64 values that are not all float32 values, and their float32 rounding. */
function pair(count: number, seed: number): { x64: Float64Array; x32: Float32Array } {
  const x64 = gaussian(count, seed);
  return { x64, x32: Float32Array.from(x64) };
}

/** A CSR matrix of `rows` x `cols` with `perRow` entries per row (row 4 empty), values of both dtypes. */
function csrPair(rows: number, cols: number, perRow: number, seed: number) {
  const r = rng(seed);
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (i !== 4) {
      const start = Math.floor(r.uniform() * (cols - perRow));
      for (let k = 0; k < perRow; k++) indices.push(start + k);
    }
    indptr[i + 1] = indices.length;
  }
  const { x64, x32 } = pair(indices.length, seed + 1);
  const base = { indptr, indices: Int32Array.from(indices), shape: [rows, cols] };
  return { c64: { ...base, data: x64 }, c32: { ...base, data: x32 }, nnz: indices.length };
}

type RowMap = NTKSketch | NTKRandomFeatures;

interface Case {
  name: string;
  make: (dtype: 'float32' | 'float64') => NTKSketch | NTKRandomFeatures | CNTKSketch;
  /** X of n rows (images) as float64 values and their float32 rounding. */
  dense: (n?: number) => { x64: { data: Float64Array; shape: number[] }; x32: { data: Float32Array; shape: number[] }; n: number; cols: number };
  csr: boolean;
}

const cases: Case[] = [
  {
    name: 'NTKSketch',
    make: (dtype) => new NTKSketch({ inputDim: D, depth: 2, features: F, sketchDim: 256, seed: 3, dtype }),
    dense: (n = N) => {
      const { x64, x32 } = pair(n * D, 1);
      return { x64: { data: x64, shape: [n, D] }, x32: { data: x32, shape: [n, D] }, n, cols: D };
    },
    csr: true,
  },
  {
    name: 'NTKRandomFeatures',
    make: (dtype) => new NTKRandomFeatures({ inputDim: D, depth: 2, features: F, sketchFeatures: 1536, seed: 3, dtype }),
    dense: (n = N) => {
      const { x64, x32 } = pair(n * D, 2);
      return { x64: { data: x64, shape: [n, D] }, x32: { data: x32, shape: [n, D] }, n, cols: D };
    },
    csr: true,
  },
  {
    name: 'CNTKSketch',
    // 3 x 32 x 32 images: 12 KiB as float32, 256 images per converted chunk; 520 x 2048 float32 = 4.3 MB.
    make: (dtype) =>
      new CNTKSketch({ inputShape: [3, 32, 32], depth: 1, filterSize: 3, padding: 'same', features: F, sketchDim: 16, degree: 2, seed: 3, dtype }),
    dense: (n = 520) => {
      const per = 3 * 32 * 32;
      const { x64, x32 } = pair(n * per, 3);
      return { x64: { data: x64, shape: [n, 3, 32, 32] }, x32: { data: x32, shape: [n, 3, 32, 32] }, n, cols: per };
    },
    csr: false,
  },
];

const sparse = csrPair(600, D, 2000, 5); // 1.2M stored values: two chunks of converted values

describe('default path: a new result array equals a reused out buffer, bit for bit', () => {
  for (const c of cases) {
    it(`${c.name}: dense${c.csr ? ' and CSR' : ''}, sync and async, float32 and float64 input`, async () => {
      const map = c.make('float32');
      const { x64, x32, n } = c.dense();
      const out = new Float32Array(n * F);
      for (const x of [x32, x64]) {
        const fresh = map.transformSync(x).data;
        expect(fresh.byteLength).toBeGreaterThanOrEqual(FRESH_RESULT_BYTES);
        out.fill(-1);
        map.transformSync(x, { out });
        expect(bitsEqual(fresh, out)).toBe(true);
        expect(bitsEqual((await map.transform(x)).data, out)).toBe(true);
        out.fill(-1);
        await map.transform(x, { out });
        expect(bitsEqual(fresh, out)).toBe(true);
      }
      if (c.csr) {
        const rows = map as RowMap;
        const m = sparse.c64.shape[0];
        const into = new Float32Array(m * F);
        const fresh = (await rows.transform(sparse.c64)).data;
        rows.transformSync(sparse.c64, { out: into });
        expect(bitsEqual(fresh, into)).toBe(true);
      }
      map.dispose();
    });
  }

  it('a block of rows of a larger new array is written only where asked (out views into fresh memory)', async () => {
    const map = cases[0].make('float32');
    const { x32 } = cases[0].dense();
    const all = allocate('float32', 2 * N * F) as Float32Array;
    await map.transform(x32, { out: { data: all, shape: [N, F], offset: N * F } });
    expect(all.subarray(0, N * F).every((v) => v === 0)).toBe(true);
    expect(bitsEqual(all.subarray(N * F), map.transformSync(x32).data)).toBe(true);
    map.dispose();
  });
});

describe('default path: float64 input gives the features of its float32 rounding', () => {
  for (const c of cases) {
    it(`${c.name} (float32 map): dense${c.csr ? ' and CSR' : ''}, sync and async`, async () => {
      const map = c.make('float32');
      const { x64, x32, n, cols } = c.dense();
      const want = map.transformSync(x32).data;
      expect(bitsEqual(map.transformSync(x64).data, want)).toBe(true);
      expect(bitsEqual((await map.transform(x64)).data, want)).toBe(true);
      // Data JavaScript still copies (number[], a strided view) agrees too.
      const few = 3;
      const firstRows = map.transformSync({ data: Array.from(x64.data.subarray(0, few * cols)), shape: [few, ...x64.shape.slice(1)] }).data;
      expect(bitsEqual(firstRows, want.subarray(0, few * F))).toBe(true);
      if (c.csr) {
        const rows = map as RowMap;
        const want32 = rows.transformSync(sparse.c32).data;
        expect(bitsEqual(rows.transformSync(sparse.c64).data, want32)).toBe(true);
        expect(bitsEqual((await rows.transform(sparse.c64)).data, want32)).toBe(true);
        // Strided dense rows (every other row of a 2n-row matrix) are copied in JavaScript.
        const strided = { data: new Float64Array(2 * n * cols), shape: [n, cols], stride: [2 * cols, 1] };
        for (let i = 0; i < n; i++) strided.data.set(x64.data.subarray(i * cols, (i + 1) * cols), 2 * i * cols);
        expect(bitsEqual(rows.transformSync(strided).data, want)).toBe(true);
      }
      map.dispose();
    });
  }

  it('a float64 map gives the same features for float32 input as for the same values in float64', () => {
    for (const c of cases) {
      const map = c.make('float64');
      const { x32 } = c.dense(300); // 128 float64 rows of 4,096 per chunk: 3 chunks
      const x64 = { data: Float64Array.from(x32.data), shape: x32.shape };
      expect(bitsEqual(map.transformSync(x32).data, map.transformSync(x64).data)).toBe(true);
      if (c.csr) {
        const rows = map as RowMap;
        const c64 = { ...sparse.c32, data: Float64Array.from(sparse.c32.data) };
        expect(bitsEqual(rows.transformSync(sparse.c32).data, rows.transformSync(c64).data)).toBe(true);
      }
      map.dispose();
    }
  });

  it('LeverageSelection (NTKSketch pool, kept rows) and its float64 input', async () => {
    const d = 64, n = 300;
    const { x64, x32 } = pair(n * d, 9);
    const pool = new NTKSketch({ inputDim: d, depth: 2, features: 1024, seed: 1, exactCopies: false });
    const sel = new LeverageSelection({ map: pool, features: 128, seed: 2 }).fitSync(mat(x32, n, d));
    const want = sel.transformSync(mat(x32, n, d)).data;
    expect(bitsEqual(sel.transformSync(mat(x64, n, d)).data, want)).toBe(true);
    expect(bitsEqual((await sel.transform(mat(x64, n, d))).data, want)).toBe(true);
    pool.dispose();
  });
});

describe('default path: non-finite values are refused before anything is written', () => {
  const finite = /must contain only finite numbers/;
  for (const c of cases) {
    it(`${c.name}: NaN and +-Infinity in float32 and float64 input, sync throws and async rejects a RangeError naming X`, async () => {
      const map = c.make('float32');
      const { x64, x32, n, cols } = c.dense();
      // In the last chunk and well past the first piece of the scan.
      const at = (n - 2) * cols + 17;
      for (const [x, value, shown] of [
        [x64, NaN, 'NaN'],
        [x32, NaN, 'NaN'],
        [x64, -Infinity, '-Infinity'],
        [x32, Infinity, 'Infinity'],
        [x64, 1e39, 'Infinity'], // finite in float64, not in the map's float32
      ] as const) {
        const data = (x.data as FloatArray).slice();
        data[at] = value;
        const bad = { data, shape: x.shape };
        const message = new RegExp(`^X must contain only finite numbers, found ${shown} at flat index ${at}$`);
        const out = new Float32Array(n * F).fill(7);
        let error: unknown;
        try {
          map.transformSync(bad, { out });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(RangeError);
        expect((error as Error).message).toMatch(message);
        expect(out.every((v) => v === 7)).toBe(true);
        await expect(map.transform(bad)).rejects.toThrow(RangeError);
        await expect(map.transform(bad, { out })).rejects.toThrow(message);
        expect(out.every((v) => v === 7)).toBe(true);
      }
      if (c.csr) {
        const rows = map as RowMap;
        const k = sparse.nnz - 5;
        for (const src of [sparse.c64, sparse.c32]) {
          const data = (src.data as FloatArray).slice();
          data[k] = NaN;
          const bad = { ...src, data };
          expect(() => rows.transformSync(bad)).toThrow(new RegExp(`^X.data must contain only finite numbers, found NaN at flat index ${k}$`));
          await expect(rows.transform(bad)).rejects.toThrow(RangeError);
          await expect(rows.transform(bad)).rejects.toThrow(/X.data must contain only finite/);
        }
      }
      // A float64 map refuses them too (no conversion: the same scan).
      const map64 = c.make('float64');
      const data = x64.data.slice();
      data[3] = NaN;
      expect(() => map64.transformSync({ data, shape: x64.shape })).toThrow(finite);
      await expect(map64.transform({ data, shape: x64.shape })).rejects.toThrow(RangeError);
      map.dispose();
      map64.dispose();
    });
  }
});

describe('default path: the result is an ordinary array the caller owns', () => {
  for (const c of cases) {
    it(`${c.name}: a plain Float32Array / Float64Array that outlives the map, clones and transfers`, async () => {
      for (const dtype of ['float32', 'float64'] as const) {
        let map: NTKSketch | NTKRandomFeatures | CNTKSketch | null = c.make(dtype);
        const { x64, n } = c.dense();
        const result = (await map.transform(x64)).data;
        const Type = dtype === 'float32' ? Float32Array : Float64Array;
        expect(Object.getPrototypeOf(result)).toBe(Type.prototype);
        expect(result.buffer).toBeInstanceOf(ArrayBuffer);
        expect(result.byteOffset).toBe(0);
        expect(result.length).toBe(n * F);
        const copy = result.slice();
        map.dispose();
        map = null;
        gc();
        await turn();
        gc();
        expect(bitsEqual(result, copy)).toBe(true);
        // Writable like any array.
        result[0] = 42;
        expect(result[0]).toBe(42);
        result[0] = copy[0];
        // structuredClone copies it; a transfer detaches the original, as for any ArrayBuffer.
        expect(bitsEqual(structuredClone(result), copy)).toBe(true);
        const moved = structuredClone(result, { transfer: [result.buffer] });
        expect(result.byteLength).toBe(0);
        expect(bitsEqual(moved, copy)).toBe(true);
      }
    });
  }

  it('fresh result arrays are forgotten when collected (the native registry does not grow)', async () => {
    const info = () => native().freshResultInfo();
    gc();
    await turn();
    const before = info().arrays;
    let held: FloatArray[] = [];
    for (let i = 0; i < 20; i++) held.push(allocate('float32', FRESH_RESULT_BYTES / 4));
    expect(info().arrays).toBeGreaterThanOrEqual(before + 20);
    held = [];
    expect(held).toHaveLength(0);
    for (let i = 0; i < 5 && info().arrays > before; i++) {
      gc();
      await turn();
    }
    expect(info().arrays).toBeLessThanOrEqual(before);
    // Small arrays are left alone.
    const small = allocate('float64', 16);
    expect(small).toBeInstanceOf(Float64Array);
    expect(info().arrays).toBeLessThanOrEqual(before);
  });
});
