/**
 * NTKSketch on the GPU (native/cuda/ntk_sketch.cu) against the CPU path: the
 * same operations in the same order, so the features must be bit-identical.
 * Skipped, with the reason, when no CUDA device is usable.
 */
import { describe, expect, it } from 'vitest';
import { NTKSketch, backends } from '../../src/index.js';
import { native } from '../../src/core/native.js';
import { bitsEqual, mat } from '../helpers/matrices.js';
import { sparseRows, spreadRows } from '../helpers/rows.js';

const cuda = backends().cuda;
const skip = !cuda.available;
const why = cuda.available ? 'CUDA device present' : `skipped: ${cuda.reason}`;

/** Index and values of the first difference, for a readable failure. */
function firstDifference(a: Float32Array | Float64Array, b: Float32Array | Float64Array): string {
  let count = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      count++;
      if (first < 0) first = i;
    }
  }
  return count === 0 ? 'identical' : `${count} of ${a.length} differ, first at ${first}: ${a[first]} vs ${b[first]}`;
}

function expectSame(gpu: Float32Array | Float64Array, cpu: Float32Array | Float64Array): void {
  expect(firstDifference(gpu, cpu)).toBe('identical');
  expect(bitsEqual(gpu, cpu)).toBe(true);
}

describe(`NTKSketch backend 'cuda' (${why})`, () => {
  it.skipIf(skip)('dense rows: bit-identical to the CPU for depth 1-3, degree 2-8, NTK and NNGP, float32 and float64', () => {
    const n = 37;
    // d = 40 <= 2 sketchDim: phi^0 = u; d = 300 > 2 x 64: the input CountSketch.
    for (const [d, features] of [[40, 200], [300, 64]] as const) {
      const rows = spreadRows(n, d, d);
      for (let k = 0; k < d; k++) {
        rows[5 * d + k] = 0; // a zero row
        rows[6 * d + k] *= 1e30; // norms far from 1
        rows[7 * d + k] *= 1e-30;
      }
      for (const dtype of ['float32', 'float64'] as const) {
        const X = mat(dtype === 'float32' ? Float32Array.from(rows) : rows, n, d);
        for (const [depth, degree] of [[1, 2], [2, 4], [3, 8]] as const) {
          const options = { inputDim: d, depth, degree, features, seed: 11, dtype };
          const cpu = new NTKSketch(options);
          const gpu = new NTKSketch({ ...options, backend: 'cuda' });
          expect(gpu.backend).toBe('cuda');
          for (const kernel of ['ntk', 'nngp'] as const) {
            expectSame(gpu.transformSync(X, { kernel }).data, cpu.transformSync(X, { kernel }).data);
          }
        }
      }
    }
  });

  it.skipIf(skip)('transforms longer than a shared-memory piece (4,096 entries): sketchDim 8192, inputs of 6,000', () => {
    for (const [d, sketchDim, features] of [[40, 8192, 256], [6000, 4096, 512]] as const) {
      const n = 5;
      const X = mat(spreadRows(n, d, 3), n, d);
      for (const dtype of ['float32', 'float64'] as const) {
        const options = { inputDim: d, depth: 2, features, sketchDim, seed: 8, dtype };
        const gpu = new NTKSketch({ ...options, backend: 'cuda' }).transformSync(X).data;
        expectSame(gpu, new NTKSketch(options).transformSync(X).data);
      }
    }
  });

  it.skipIf(skip)('exactCopies: false (every block sampled, as in LeverageSelection pools) too', () => {
    const d = 40, n = 29;
    const X = mat(spreadRows(n, d, 5), n, d);
    for (const dtype of ['float32', 'float64'] as const) {
      // 2,048 features over 40 inputs: with copies, the degree-1 blocks would copy their inputs.
      const options = { inputDim: d, depth: 2, features: 2048, sketchDim: 256, seed: 4, dtype, exactCopies: false };
      const cpu = new NTKSketch(options);
      const gpu = new NTKSketch({ ...options, backend: 'cuda' });
      for (const kernel of ['ntk', 'nngp'] as const) {
        const Xd = dtype === 'float32' ? mat(Float32Array.from(X.data), n, d) : X;
        expectSame(gpu.transformSync(Xd, { kernel }).data, cpu.transformSync(Xd, { kernel }).data);
      }
    }
  });

  it.skipIf(skip)('without the rescaling (plain product sketch) too', () => {
    const n = 20, d = 24, features = 96, depth = 2;
    const X = Float64Array.from(spreadRows(n, d, 5));
    const nat = native();
    const poly = (h: number) => Float64Array.from([0.2, 0.5, 0.2, 0.1].map((c) => c / (1 + 0.1 * h)));
    const k = [poly(1), poly(2)];
    const options = { inputDim: d, depth, features, sketchDim: 32, seed: 3, dtype: 'float64' as const, k1: k, k0: k, normalize: false };
    const cpu = new nat.NtkSketchMap(options), gpu = new nat.NtkSketchMap({ ...options, backend: 'cuda' });
    expect(gpu.info().deviceBytes).toBeGreaterThan(0); // the parameters live on the device
    for (const kernel of ['ntk', 'nngp'] as const) {
      const a = new Float64Array(n * features), b = new Float64Array(n * features);
      cpu.transform({ x: X, n, out: a, kernel }, false);
      gpu.transform({ x: X, n, out: b, kernel }, false);
      expectSame(b, a);
    }
    cpu.dispose();
    gpu.dispose();
  });

  it.skipIf(skip)('CSR rows: bit-identical to the CPU and to the same rows dense (identity and CountSketch inputs)', () => {
    for (const [dim, features] of [[60, 128], [5000, 64]] as const) {
      const { dense, csr } = sparseRows(30, dim, 0.05, dim);
      for (const dtype of ['float32', 'float64'] as const) {
        const options = { inputDim: dim, depth: 2, features, seed: 4, dtype };
        const cpu = new NTKSketch(options);
        const gpu = new NTKSketch({ ...options, backend: 'cuda' });
        const data = dtype === 'float32' ? Float32Array.from(csr.data) : Float64Array.from(csr.data);
        const sparse = { ...csr, data };
        const fromCsr = gpu.transformSync(sparse).data;
        expectSame(fromCsr, cpu.transformSync(sparse).data);
        const denseRows = mat(dtype === 'float32' ? Float32Array.from(dense) : dense, 30, dim);
        expectSame(fromCsr, gpu.transformSync(denseRows).data);
      }
    }
  });

  it.skipIf(skip)('more rows than one device batch (65,535), async, and fromJSON with a backend', async () => {
    const n = 70_000, d = 8;
    const X = mat(Float32Array.from(spreadRows(n, d, 9)), n, d);
    const options = { inputDim: d, depth: 2, features: 16, seed: 2 };
    const cpu = new NTKSketch(options).transformSync(X).data;
    const gpu = new NTKSketch({ ...options, backend: 'cuda' });
    expectSame((await gpu.transform(X)).data, cpu);
    const loaded = NTKSketch.fromJSON(gpu.toJSON(), { backend: 'cuda' });
    expect(loaded.backend).toBe('cuda');
    expectSame(loaded.transformSync(X).data, cpu);
    expect(NTKSketch.fromJSON(gpu.toJSON()).backend).toBe('cpu');
    expect(new NTKSketch({ ...options, backend: 'auto' }).backend).toBe('cuda');
  });
});

describe('NTKSketch backend option without a device', () => {
  it.skipIf(!skip)("'cuda' is a RangeError giving the reason, 'auto' falls back to the CPU, fromJSON checks it", () => {
    const ok = { inputDim: 4, depth: 1, features: 8 };
    expect(() => new NTKSketch({ ...ok, backend: 'cuda' })).toThrow(RangeError);
    expect(() => new NTKSketch({ ...ok, backend: 'cuda' })).toThrow(/backend 'cuda' is not available: ./);
    expect(new NTKSketch({ ...ok, backend: 'auto' }).backend).toBe('cpu');
    const doc = new NTKSketch(ok).toJSON();
    expect(() => NTKSketch.fromJSON(doc, { backend: 'cuda' })).toThrow(/json\.backend 'cuda' is not available/);
    expect(() => NTKSketch.fromJSON(doc, { backend: 'gpu' as never })).toThrow(/backend must be 'auto', 'cpu' or 'cuda'/);
    expect(() => NTKSketch.fromJSON(doc, { backends: 'cpu' } as never)).toThrow(/backends/);
  });
});
