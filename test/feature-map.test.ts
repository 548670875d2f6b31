import { describe, expect, it } from 'vitest';
import { CNTKSketch, NTKRandomFeatures, NTKSketch } from '../src/index.js';
import { mat } from './helpers/matrices.js';
import { spreadRows } from './helpers/rows.js';

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
