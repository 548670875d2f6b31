import { describe, expect, it } from 'vitest';
import { CNTKSketch, NTKRandomFeatures, NTKSketch } from '../../src/index.js';
import { mat } from '../helpers/matrices.js';
import { spreadRows } from '../helpers/rows.js';

const d = 12, n = 4;
const X = mat(spreadRows(n, d, 8), n, d);
const images = { data: new Float64Array(2 * 1 * 5 * 5).map((_, i) => (i % 7) / 7), shape: [2, 1, 5, 5] };

const makers = {
  NTKSketch: () => new NTKSketch({ inputDim: d, depth: 2, features: 64, seed: 1 }),
  NTKRandomFeatures: () => new NTKRandomFeatures({ inputDim: d, depth: 2, features: 64, seed: 1 }),
  CNTKSketch: () => new CNTKSketch({ inputShape: [1, 5, 5], depth: 1, filterSize: 3, padding: 'same', features: 64, seed: 1 }),
};
const inputOf = (name: string) => (name === 'CNTKSketch' ? images : X);

describe('feature maps: dispose', () => {
  for (const [name, make] of Object.entries(makers)) {
    it(`${name}: dispose releases the map; later transforms throw (async: reject), toJSON still works, twice is a no-op`, async () => {
      const map = make();
      const before = map.transformSync(inputOf(name)).data;
      const pending = map.transform(inputOf(name)); // runs on its own reference to the native map
      expect(map.disposed).toBe(false);
      map.dispose();
      expect(map.disposed).toBe(true);
      expect((await pending).data).toEqual(before);
      expect(() => map.transformSync(inputOf(name))).toThrow(new RegExp(`${name}.transformSync: the map has been disposed`));
      await expect(map.transform(inputOf(name))).rejects.toThrow(/transform: the map has been disposed/);
      expect(() => map.memory).toThrow(/memory: the map has been disposed/);
      expect(() => map.dispose()).not.toThrow();
      expect(typeof JSON.stringify(map)).toBe('string');
      const again = make();
      again[Symbol.dispose]();
      expect(again.disposed).toBe(true);
    });
  }

  it('a synchronous loop that builds and disposes maps does not accumulate them', () => {
    // Each map holds 784 x 6144 + 3072 x 6144 float32 weights (~94 MiB). Node
    // finalises native objects only when the event loop turns, so without
    // dispose() this loop would hold all 12 (over 1 GiB).
    const big = mat(new Float64Array(8 * 784).fill(0.5), 8, 784);
    const rss0 = process.memoryUsage().rss;
    for (let seed = 0; seed < 12; seed++) {
      const map = new NTKRandomFeatures({ inputDim: 784, depth: 2, features: 8192, seed });
      map.transformSync(big);
      map.dispose();
    }
    expect(process.memoryUsage().rss - rss0).toBeLessThan(400 * 2 ** 20);
  });
});

describe('feature maps: transform into a caller buffer (options.out)', () => {
  const m = 64;
  const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a)).toEqual(Array.from(b));

  for (const [name, make] of Object.entries(makers)) {
    const input = inputOf(name);
    const rows = name === 'CNTKSketch' ? 2 : n;

    it(`${name}: out as a typed array, an ndarray view with an offset, sync and async, gives the fresh result in place`, async () => {
      const map = make();
      for (const kernel of ['ntk', 'nngp'] as const) {
        const fresh = map.transformSync(input, { kernel }).data;
        const out = new Float32Array(rows * m).fill(NaN);
        const got = map.transformSync(input, { kernel, out });
        expect(got.shape).toEqual([rows, m]);
        expect(got.data.buffer).toBe(out.buffer);
        sameBits(out, fresh);

        // Rows 1..rows of a larger matrix: the rows around them stay untouched.
        const big = new Float32Array((rows + 2) * m).fill(7);
        const view = { data: big, shape: [rows, m], stride: [m, 1], offset: m };
        const async = await map.transform(input, { kernel, out: view });
        expect(async.data.buffer).toBe(big.buffer);
        sameBits(big.subarray(m, (rows + 1) * m), fresh);
        expect(big.subarray(0, m).every((v) => v === 7) && big.subarray((rows + 1) * m).every((v) => v === 7)).toBe(true);
      }
      if (name !== 'CNTKSketch') {
        const csr = { indptr: [0, 2, 3], indices: [0, 11, 5], data: [1, -2, 3], shape: [2, d] };
        const out = new Float32Array(2 * m);
        map.transformSync(csr, { out });
        sameBits(out, map.transformSync(csr).data);
      }
    });

    it(`${name}: a bad out is refused before any work, naming options.out (async: rejects)`, async () => {
      const map = make();
      const bad: [unknown, RegExp, ErrorConstructor][] = [
        [new Float64Array(rows * m), /options.out must be a Float32Array \(this map's dtype is float32\), got a Float64Array/, TypeError],
        [new Float32Array(rows * m + 1), new RegExp(`options.out must have ${rows} x ${m} = ${rows * m} elements, got ${rows * m + 1}`), RangeError],
        [[1, 2, 3], /options.out must be a Float32Array or an ndarray/, TypeError],
        [new Int32Array(rows * m), /options.out must be a Float32Array or an ndarray/, TypeError],
        [{ data: new Float64Array(rows * m), shape: [rows, m] }, /options.out.data must be a Float32Array/, TypeError],
        [{ data: new Float32Array(rows * m), shape: [rows, m + 1] }, new RegExp(`options.out must have shape \\[${rows}, ${m}\\], got \\[${rows}, ${m + 1}\\]`), RangeError],
        [{ data: new Float32Array(2 * rows * m), shape: [rows, m], stride: [2 * m, 1] }, /options.out must be contiguous and row-major/, RangeError],
        [{ data: new Float32Array(2 * rows * m), shape: [rows, m], stride: [1, rows] }, /options.out must be contiguous and row-major/, RangeError],
        [{ data: new Float32Array(rows * m), shape: [rows, m], offset: 1 }, /do not fit in data of length/, RangeError],
      ];
      for (const [out, message, type] of bad) {
        expect(() => map.transformSync(input, { out } as never)).toThrow(type);
        expect(() => map.transformSync(input, { out } as never)).toThrow(message);
        await expect(map.transform(input, { out } as never)).rejects.toThrow(message);
      }
      expect(() => map.transformSync(input, { output: new Float32Array(rows * m) } as never)).toThrow(/output is not a known option \(known: kernel, out, signal, onProgress\)/);
    });
  }

  it('out may not share memory with the input rows, which are read in place', async () => {
    const map = new NTKSketch({ inputDim: d, depth: 2, features: m, seed: 1, dtype: 'float64' });
    const buffer = new Float64Array(n * d + n * m);
    buffer.set(X.data as Float64Array);
    const x = { data: buffer.subarray(0, n * d), shape: [n, d] };
    const overlapping = buffer.subarray(n * d - 1, n * d - 1 + n * m);
    expect(() => map.transformSync(x, { out: overlapping })).toThrow(/options.out must not share memory with X/);
    await expect(map.transform(x, { out: overlapping })).rejects.toThrow(/must not share memory with X/);
    // Adjacent, not overlapping: fine, and equal to a fresh result.
    const after = buffer.subarray(n * d);
    map.transformSync(x, { out: after });
    expect(Array.from(after)).toEqual(Array.from(map.transformSync(x).data));
  });

  it('memoryLimit counts a new result but not a caller buffer', () => {
    const rows = 10_000;
    const map = new NTKSketch({ inputDim: d, depth: 2, features: m, seed: 1, memoryLimit: 2 ** 20 });
    const big = mat(new Float64Array(rows * d).map((_, i) => X.data[i % (n * d)]), rows, d);
    expect(() => map.transformSync(big)).toThrow(/memoryLimit/);
    const out = new Float32Array(rows * m);
    map.transformSync(big, { out });
    expect(Array.from(out.subarray(0, n * m))).toEqual(Array.from(map.transformSync(X).data));
  });

  it('an empty batch writes nothing into an empty out', () => {
    const map = makers.NTKSketch();
    expect(map.transformSync(mat(new Float64Array(0), 0, d), { out: new Float32Array(0) }).shape).toEqual([0, m]);
    const cntk = makers.CNTKSketch();
    expect(cntk.transformSync({ data: new Float64Array(0), shape: [0, 1, 5, 5] }, { out: new Float32Array(0) }).shape).toEqual([0, m]);
    expect(() => cntk.transformSync({ data: new Float64Array(0), shape: [0, 1, 5, 5] }, { out: new Float32Array(3) })).toThrow(/options.out must have 0 x 64 = 0 elements/);
  });
});
