// mapFromJSON: a saved map of any kind comes back as the class that wrote it,
// with bit-identical features; documents of no known format are refused.
import { describe, expect, it } from 'vitest';
import { CNTKSketch, LeverageSelection, NTKRandomFeatures, NTKSketch, mapFromJSON, type FeatureMap } from '../../src/index.js';

const d = 10;
const rows = { data: Float64Array.from({ length: 24 * d }, (_, i) => Math.sin(0.7 * i) + 0.1), shape: [24, d] };
const images = { data: Float32Array.from({ length: 6 * 2 * 5 * 5 }, (_, i) => Math.cos(0.3 * i)), shape: [6, 2, 5, 5] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function roundTrip(map: FeatureMap, X: unknown, cls: abstract new (...args: any[]) => FeatureMap): void {
  const restored = mapFromJSON(JSON.stringify(map));
  expect(restored).toBeInstanceOf(cls);
  expect(restored.mapType).toBe(map.mapType);
  expect(restored.inputLayout).toEqual(map.inputLayout);
  const a = map.transformSync(X as never).data, b = restored.transformSync(X as never).data;
  expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toBe(true);
  restored.dispose();
}

describe('mapFromJSON', () => {
  it('restores every kind of map from its document (object or string), features bit-identical', () => {
    roundTrip(new NTKSketch({ inputDim: d, depth: 2, features: 64, seed: 4 }), rows, NTKSketch);
    roundTrip(new NTKRandomFeatures({ inputDim: d, depth: 2, features: 64, seed: 4, dtype: 'float64' }), rows, NTKRandomFeatures);
    roundTrip(new CNTKSketch({ inputShape: [2, 5, 5], depth: 1, filterSize: 3, padding: 'same', features: 32, seed: 4 }), images, CNTKSketch);
    const pool = new NTKSketch({ inputDim: d, depth: 1, features: 96, seed: 5, exactCopies: false });
    roundTrip(new LeverageSelection({ map: pool, features: 16, seed: 1 }).fitSync(rows), rows, LeverageSelection);
    const doc = new NTKSketch({ inputDim: d, depth: 1, features: 8 }).toJSON();
    expect(mapFromJSON(doc)).toBeInstanceOf(NTKSketch);
    expect(mapFromJSON(doc).inputLayout).toEqual({ kind: 'rows', columns: d });
    const cntk = new CNTKSketch({ inputShape: [2, 5, 5], depth: 1, filterSize: 3, padding: 'same', features: 32 });
    expect(cntk.inputLayout).toEqual({ kind: 'images', shape: [2, 5, 5], columns: 50 });
    expect(new LeverageSelection({ map: cntk, features: 8 }).inputLayout).toEqual(cntk.inputLayout);
  });

  it('refuses documents of no known format, and passes on what the class refuses', () => {
    expect(() => mapFromJSON('{')).toThrow(TypeError);
    expect(() => mapFromJSON('{')).toThrow(/json is not valid JSON/);
    expect(() => mapFromJSON({ format: 'ntk-sketch/model' })).toThrow(/json is not a saved feature map: format must be one of 'ntk-sketch\/ntk-sketch'/);
    expect(() => mapFromJSON(null)).toThrow(TypeError);
    const doc = { ...new NTKSketch({ inputDim: d, depth: 1, features: 8 }).toJSON(), depth: 0 };
    expect(() => mapFromJSON(doc)).toThrow(RangeError);
  });
});
