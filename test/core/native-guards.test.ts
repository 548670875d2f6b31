// The raw addon is only reached through the validated TypeScript layer, but a
// wrong call must still throw rather than read or write out of bounds.
import { describe, expect, it } from 'vitest';
import { native } from '../../src/core/native.js';

describe('raw addon guards', () => {
  const a = native();

  it('refuses arrays shorter than the sizes claim', () => {
    const x = new Float64Array(6);
    expect(() => a.ntkKernel({ x, n: 3, d: 3, z: null, m: 0, depth: 1, ntkOut: new Float64Array(9), nngpOut: null }, false)).toThrow(/X is too short/);
    expect(() => a.ntkKernel({ x, n: 2, d: 3, z: null, m: 0, depth: 1, ntkOut: new Float64Array(3), nngpOut: null }, false)).toThrow(/ntkOut is too short/);
    expect(() => a.gemm(false, false, 2, 2, 2, 1, new Float64Array(4), 2, new Float64Array(3), 2, 0, new Float64Array(4), 2, false)).toThrow(/B is too short/);
    expect(() => a.ridgeSolve(new Float64Array(3), 2, new Float64Array(2), 1, 1, new Float64Array(2), new Float64Array(2), false)).toThrow(/A is too short/);
  });

  it('refuses wrong element types and sizes', () => {
    expect(() => a.ntkKernel({ x: new Int32Array(4) as never, n: 2, d: 2, z: null, m: 0, depth: 1, ntkOut: null, nngpOut: null }, false)).toThrow(TypeError);
    expect(() => a.ntkKernel({ x: new Float32Array(4), n: 2, d: 2, z: null, m: 0, depth: 1, ntkOut: new Float64Array(4) as never, nngpOut: null }, false)).toThrow(/ntkOut must be a Float32Array/);
    expect(() => a.ntkKernel({ x: new Float64Array(4), n: -2, d: 2, z: null, m: 0, depth: 1, ntkOut: null, nngpOut: null }, false)).toThrow(/n must be a non-negative integer/);
    expect(() => a.gramAccumulate(new Float64Array(4), 2, 2, null, 0, new Float32Array(4) as never, null, false)).toThrow(/A must be a Float64Array/);
    expect(() => a.ntkKernel('x' as never, false)).toThrow(/ntkKernel: expected an options object/);
    expect(() => a.ntkKernel({ x: new Float64Array(4), n: 2, d: 2, z: null, m: 0, ntkOut: null, nngpOut: null } as never, false)).toThrow(/ntkKernel.depth is required/);
  });

  describe('feature map transform({ ...named args }, async)', () => {
    const d = 9, n = 2;
    const poly = [Float64Array.from([0.25, 0.5, 0.25])];
    const maps = {
      NtkSketchMap: () => new a.NtkSketchMap({ inputDim: d, depth: 1, features: 16, sketchDim: 8, seed: 1, dtype: 'float64', k1: poly, k0: poly }),
      NtkRandomFeaturesMap: () =>
        new a.NtkRandomFeaturesMap({ inputDim: d, depth: 1, features: 16, stepFeatures: 8, arcCosineFeatures: 8, sketchFeatures: 8, seed: 1, dtype: 'float64' }),
      CntkSketchMap: () =>
        new a.CntkSketchMap({ channels: 1, height: 3, width: 3, depth: 1, filterSize: 3, padding: 'same', features: 16, sketchDim: 8, seed: 1, dtype: 'float64', k1: poly, k0: poly }),
    };
    const x = Float64Array.from({ length: n * d }, (_, i) => Math.sin(i + 1));
    const csr = { indptr: Int32Array.from([0, 2, 3]), indices: Int32Array.from([0, 5, 7]), values: Float64Array.from([1, -2, 0.5]) };

    for (const [name, make] of Object.entries(maps)) {
      it(`${name}: a missing options object or field, a short or mistyped out are TypeErrors or RangeErrors, never a crash`, async () => {
        const map = make();
        const out = new Float64Array(n * 16);
        expect(() => map.transform(undefined as never, false)).toThrow(/transform: expected an options object/);
        expect(() => map.transform([x] as never, false)).toThrow(TypeError);
        expect(() => map.transform({ x, n, kernel: 'ntk' } as never, false)).toThrow(/transform.out is required/);
        expect(() => map.transform({ x, n, out, kernel: 'ntk' } as never, false)).not.toThrow();
        expect(() => map.transform({ n, out, kernel: 'ntk' } as never, false)).toThrow(/transform.x is required/);
        expect(() => map.transform({ x, out, kernel: 'ntk' } as never, false)).toThrow(/transform.n is required/);
        expect(() => map.transform({ x, n, out } as never, false)).toThrow(/transform.kernel is required/);
        expect(() => map.transform({ x, n, out, kernel: 'x' as never }, false)).toThrow(/kernel must be 'ntk' or 'nngp'/);
        expect(() => map.transform({ x, n, out: new Float64Array(3), kernel: 'ntk' }, false)).toThrow(/out is too short/);
        expect(() => map.transform({ x, n, out: new Float32Array(n * 16), kernel: 'ntk' }, false)).toThrow(/out must be a Float64Array/);
        expect(() => map.transform({ x: x.subarray(1), n, out, kernel: 'ntk' }, false)).toThrow(/X is too short/);
        expect(() => map.transform({ x: new Int32Array(n * d) as never, n, out, kernel: 'ntk' }, false)).toThrow(TypeError);
        await expect(map.transform({ x: Float32Array.from(x), n, out, kernel: 'nngp' }, true)).resolves.toBeUndefined();
        map.dispose();
        expect(() => map.transform({ x, n, out, kernel: 'ntk' }, false)).toThrow(/disposed/);
      });
    }

    it('CSR args (chosen by indptr) on the row maps, refused by the image map with a TypeError', () => {
      for (const make of [maps.NtkSketchMap, maps.NtkRandomFeaturesMap]) {
        const map = make();
        const dense = new Float64Array(n * 16), sparse = new Float64Array(n * 16);
        const xd = new Float64Array(n * d);
        for (let i = 0; i < n; i++) for (let k = csr.indptr[i]; k < csr.indptr[i + 1]; k++) xd[i * d + csr.indices[k]] = csr.values[k];
        map.transform({ x: xd, n, out: dense, kernel: 'ntk' }, false);
        map.transform({ ...csr, n, out: sparse, kernel: 'ntk' }, false);
        expect(sparse).toEqual(dense);
        expect(() => map.transform({ indptr: csr.indptr, values: csr.values, n, out: sparse, kernel: 'ntk' } as never, false)).toThrow(/transform.indices is required/);
        expect(() => map.transform({ ...csr, indices: Int32Array.from([0, 5, 9]), n, out: sparse, kernel: 'ntk' }, false)).toThrow(/indices out of range/);
        map.dispose();
      }
      const cntk = maps.CntkSketchMap();
      const out = new Float64Array(n * 16);
      expect(() => cntk.transform({ ...csr, n, out, kernel: 'ntk' }, false)).toThrow(TypeError);
      expect(() => cntk.transform({ ...csr, n, out, kernel: 'ntk' }, false)).toThrow(/dense input only/);
      cntk.dispose();
    });
  });

  it('rejects asynchronously when the CUDA backend is requested without a device', async () => {
    if (a.backends().cuda.available) return;
    const x = new Float64Array(4);
    await expect(a.ntkKernel({ x, n: 2, d: 2, z: null, m: 0, depth: 1, ntkOut: new Float64Array(4), nngpOut: null, backend: 'cuda' }, true)).rejects.toThrow(/CUDA|cuda/);
  });
});
