// The raw addon is only reached through the validated TypeScript layer, but a
// wrong call must still throw rather than read or write out of bounds.
import { describe, expect, it } from 'vitest';
import { native } from '../../src/core/native.js';

describe('raw addon guards', () => {
  const a = native();
  const f64 = (length: number) => new Float64Array(length);

  it('refuses arrays shorter than the sizes claim', () => {
    const x = new Float64Array(6);
    expect(() => a.ntkKernel({ x, n: 3, d: 3, z: null, m: 0, depth: 1, ntkOut: new Float64Array(9), nngpOut: null }, false)).toThrow(/X is too short/);
    expect(() => a.ntkKernel({ x, n: 2, d: 3, z: null, m: 0, depth: 1, ntkOut: new Float64Array(3), nngpOut: null }, false)).toThrow(/ntkOut is too short/);
    const gemm = { transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: f64(4), lda: 2, b: f64(4), ldb: 2, beta: 0, c: f64(4), ldc: 2 };
    expect(() => a.gemm({ ...gemm, b: f64(3) }, false)).toThrow(/b is too short/);
    // The leading dimensions count too: row 1 of a starts at lda.
    expect(() => a.gemm({ ...gemm, lda: 3 }, false)).toThrow(/a is too short/);
    expect(() => a.gemm({ ...gemm, transB: true, ldc: 3 }, false)).toThrow(/c is too short/);
    expect(() => a.ridgeSolve({ gram: f64(3), m: 2, rhs: f64(2), k: 1, lambda: 1, weights: f64(2), status: f64(2) }, false)).toThrow(/gram is too short/);
    expect(() => a.gatherColumns({ pool: f64(3), rows: 2, poolFeatures: 2, columns: Int32Array.of(0), scales: f64(1), normalize: false, out: f64(2) })).toThrow(/pool is too short/);
    expect(() => a.gatherColumns({ pool: f64(4), rows: 2, poolFeatures: 2, columns: Int32Array.of(2), scales: f64(1), normalize: false, out: f64(2) })).toThrow(/columns out of range/);
    expect(() => a.sketchPrimitive({ kind: 'countsketch', seed: 1, outDim: 4, x: f64(6), n: 2, inDim: 3, indptr: null, indices: null, out: f64(7) })).toThrow(/out is too short/);
    expect(() => a.sketchPrimitive({
      kind: 'countsketch', seed: 1, outDim: 4, x: f64(2), n: 2, inDim: 3, indptr: Int32Array.of(0, 1, 2), indices: Int32Array.of(0, 3), out: f64(8),
    })).toThrow(/indices out of range/);
  });

  it('refuses wrong element types and sizes', () => {
    expect(() => a.ntkKernel({ x: new Int32Array(4) as never, n: 2, d: 2, z: null, m: 0, depth: 1, ntkOut: null, nngpOut: null }, false)).toThrow(TypeError);
    expect(() => a.ntkKernel({ x: new Float32Array(4), n: 2, d: 2, z: null, m: 0, depth: 1, ntkOut: new Float64Array(4) as never, nngpOut: null }, false)).toThrow(/ntkOut must be a Float32Array/);
    expect(() => a.ntkKernel({ x: new Float64Array(4), n: -2, d: 2, z: null, m: 0, depth: 1, ntkOut: null, nngpOut: null }, false)).toThrow(/n must be a non-negative integer/);
    expect(() => a.gramAccumulate({ phi: f64(4), n: 2, m: 2, y: null, k: 0, gram: new Float32Array(4) as never, rhs: null }, false)).toThrow(/gram must be a Float64Array/);
    expect(() => a.sketchPrimitive({ kind: 'tensorsrht', seed: 1, outDim: 4, y: new Float32Array(4) as never, inDimY: 2, x: f64(4), n: 2, inDim: 2, indptr: null, indices: null, out: f64(8) }))
      .toThrow(/y must be a Float64Array/);
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


  it('refuses a bad choice of engine or sketch kind', () => {
    const gemm = { transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: f64(4), lda: 2, b: f64(4), ldb: 2, beta: 0, c: f64(4), ldc: 2 };
    expect(() => a.gemm({ ...gemm, engine: 'fast' as never }, false)).toThrow(RangeError);
    expect(() => a.sketchPrimitive({ kind: 'gaussian' as never, x: f64(4), n: 2, inDim: 2, indptr: null, indices: null, out: f64(4) })).toThrow(/unknown sketch kind gaussian/);
    expect(() => a.sketchPrimitive({ kind: 'fwht', x: f64(6), n: 2, inDim: 3, indptr: null, indices: null, out: f64(6) })).toThrow(/power-of-two/);
  });

  // Each native taking an options object, with a valid call and the fields it must have (for that call).
  const cases: { name: string; call: (options: unknown) => unknown; valid: () => Record<string, unknown>; required: string[] }[] = [
    {
      name: 'gemm',
      call: (o) => a.gemm(o as never, false),
      valid: () => ({ transA: false, transB: true, m: 2, n: 2, k: 2, alpha: 1, a: f64(4), lda: 2, b: f64(4), ldb: 2, beta: 0, c: f64(4), ldc: 2 }),
      required: ['transA', 'transB', 'm', 'n', 'k', 'alpha', 'a', 'lda', 'b', 'ldb', 'beta', 'c', 'ldc'],
    },
    {
      name: 'gramAccumulate',
      call: (o) => a.gramAccumulate(o as never, false),
      valid: () => ({ phi: f64(4), n: 2, m: 2, y: f64(2), k: 1, gram: f64(4), rhs: f64(2) }),
      required: ['phi', 'n', 'm', 'y', 'k', 'gram', 'rhs'],
    },
    {
      name: 'ridgeSolve',
      call: (o) => a.ridgeSolve(o as never, false),
      valid: () => ({ gram: Float64Array.of(2, 0, 0, 2), m: 2, rhs: f64(2), k: 1, lambda: 1, weights: f64(2), status: f64(2) }),
      required: ['gram', 'm', 'rhs', 'k', 'lambda', 'weights', 'status'],
    },
    {
      name: 'symmetricEigh',
      call: (o) => a.symmetricEigh(o as never, false),
      valid: () => ({ matrix: Float64Array.of(2, 1, 1, 2), m: 2, eigenvalues: f64(2), eigenvectors: f64(4), status: f64(1) }),
      required: ['matrix', 'm', 'eigenvalues', 'eigenvectors', 'status'],
    },
    {
      name: 'ridgeLeverage',
      call: (o) => a.ridgeLeverage(o as never, false),
      valid: () => ({ phi: Float64Array.of(1, 2, 3, 4, 5, 6), n: 2, m: 3, lambdaRel: 0.1, scores: f64(3), status: f64(2) }),
      required: ['phi', 'n', 'm', 'lambdaRel', 'scores', 'status'],
    },
    {
      name: 'gatherColumns',
      call: (o) => a.gatherColumns(o as never),
      valid: () => ({ pool: f64(6), rows: 2, poolFeatures: 3, columns: Int32Array.of(2, 0), scales: f64(2), normalize: true, out: f64(4) }),
      required: ['pool', 'rows', 'poolFeatures', 'columns', 'scales', 'normalize', 'out'],
    },
    ...([
      [{ kind: 'fwht' }, 4, []],
      [{ kind: 'countsketch', seed: 1, outDim: 3 }, 3, ['seed', 'outDim']],
      [{ kind: 'srht', seed: 1, outDim: 3 }, 3, ['seed', 'outDim']],
      [{ kind: 'tensorsrht', seed: 1, outDim: 3, y: f64(6), inDimY: 3 }, 3, ['seed', 'outDim', 'y', 'inDimY']],
      [{ kind: 'polysketch', seed: 1, degree: 2, sketchDim: 3 }, 6, ['seed', 'degree', 'sketchDim']],
      [{ kind: 'polykernel', seed: 1, coefficients: Float64Array.of(0.5, 0.5), sketchDim: 4, outDim: 3 }, 3, ['seed', 'coefficients', 'sketchDim', 'outDim']],
    ] as const).map(([fields, width, own]) => ({
      name: `sketchPrimitive ${fields.kind}`,
      call: (o: unknown) => a.sketchPrimitive(o as never),
      valid: () => ({ ...fields, x: f64(8), n: 2, inDim: 4, indptr: null, indices: null, out: f64(2 * width) }),
      required: ['kind', 'x', 'n', 'inDim', 'indptr', 'out', ...own],
    })),
    {
      name: 'sketchPrimitive countsketch (CSR)',
      call: (o) => a.sketchPrimitive(o as never),
      valid: () => ({ kind: 'countsketch', seed: 1, outDim: 3, x: f64(3), n: 2, inDim: 4, indptr: Int32Array.of(0, 1, 3), indices: Int32Array.of(2, 0, 3), out: f64(6) }),
      required: ['kind', 'x', 'n', 'inDim', 'indptr', 'indices', 'out', 'seed', 'outDim'],
    },
  ];

  describe.each(cases)('$name', ({ name, call, valid, required }) => {
    it('runs with its valid options (the cases below differ from it in one field)', () => {
      expect(() => call(valid())).not.toThrow();
    });

    it('refuses a missing or non-object options argument with a TypeError', () => {
      const native = name.split(' ')[0];
      for (const bad of [undefined, null, 'x', 3, [valid()]]) {
        expect(() => call(bad), String(bad)).toThrow(TypeError);
        expect(() => call(bad)).toThrow(new RegExp(`${native}: expected an options object`));
      }
    });

    it('refuses each required field missing or of the wrong type with a TypeError', () => {
      for (const field of required) {
        const missing = valid();
        delete missing[field];
        expect(() => call(missing), `${field} missing`).toThrow(TypeError);
        const wrong = valid();
        wrong[field] = typeof wrong[field] === 'string' ? 1 : 'x';
        expect(() => call(wrong), `${field} wrong type`).toThrow(TypeError);
      }
    });
  });

  it('rejects asynchronously when the CUDA backend is requested without a device', async () => {
    if (a.backends().cuda.available) return;
    const x = new Float64Array(4);
    await expect(a.ntkKernel({ x, n: 2, d: 2, z: null, m: 0, depth: 1, ntkOut: new Float64Array(4), nngpOut: null, backend: 'cuda' }, true)).rejects.toThrow(/CUDA|cuda/);
  });
});
