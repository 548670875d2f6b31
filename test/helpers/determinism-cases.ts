// The outputs whose bits the determinism tests compare: every path that
// multiplies data by a matrix (NTKRandomFeatures, exact NTK, ridge statistics
// and predictions, LeverageSelection, the raw GEMM), on small fixed inputs.
// The same cases run in this process and in child processes started under
// another OpenBLAS kernel family or vector instruction set, which print
// `summary()` as JSON.
import { createHash } from 'node:crypto';
import {
  LeverageSelection,
  NTKRandomFeatures,
  NTKSketch,
  RidgeRegression,
  backends,
  ntkKernelSync,
} from '../../src/index.js';
import { native } from '../../src/core/native.js';
import { mat } from './matrices.js';
import { sparseRows, spreadRows } from './rows.js';

export const n = 300, d = 40;
export const X = spreadRows(n, d, 17);
export const X32 = Float32Array.from(X);
export const sparse = sparseRows(n, d, 0.2, 5);

/** Targets: a smooth function of the rows, 3 outputs. */
export function targets(rows = n): Float64Array {
  const y = new Float64Array(rows * 3);
  for (let i = 0; i < rows; i++)
    for (let o = 0; o < 3; o++) y[i * 3 + o] = Math.sin(X[i * d + o] * 3) + X[i * d + o + 5] ** 2;
  return y;
}

/** The NTKRandomFeatures variants every determinism test runs. */
export const randomFeatureOptions = [
  { inputDim: d, depth: 2, features: 640, seed: 9 },
  { inputDim: d, depth: 3, features: 96, arcCosineFeatures: 40, sketchFeatures: 70, leverage: true, normalize: true, seed: 4 },
  { inputDim: d, depth: 2, features: 300, dtype: 'float64' as const, seed: 2 },
];

/** Deterministic test matrices for the raw GEMM: values with full mantissas. */
export function gemmOperand(len: number, seed: number, dtype: 'float32' | 'float64'): Float32Array | Float64Array {
  const a = dtype === 'float32' ? new Float32Array(len) : new Float64Array(len);
  for (let i = 0; i < len; i++) a[i] = Math.sin(i * 0.7311 + seed * 1.37) * (1 + ((i * 7 + seed) % 13) / 7);
  return a;
}

/** C = op(A) op(B) through the core GEMM, for the shapes the tests use. */
export function coreGemm(ta: boolean, tb: boolean, m: number, nn: number, k: number, dtype: 'float32' | 'float64', seed = 1) {
  const a = gemmOperand(m * k, seed, dtype), b = gemmOperand(k * nn, seed + 1, dtype);
  const c = dtype === 'float32' ? new Float32Array(m * nn) : new Float64Array(m * nn);
  native().gemm({ transA: ta, transB: tb, m, n: nn, k, alpha: 1, a, lda: ta ? m : k, b, ldb: tb ? k : nn, beta: 0, c, ldc: nn }, false);
  return { a, b, c };
}

function hash(...arrays: (Float32Array | Float64Array | Int32Array)[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 16);
}

export interface Summary {
  blasCore: string;
  simd: string;
  /** Paths that must give the same bits under every kernel family and instruction set. */
  exact: Record<string, string>;
  /** Ridge weights: solved by LAPACK's Cholesky, compared within a bound. */
  ridgeWeights: number[];
  /** Upper bound on the condition number of the ridge system (trace-based). */
  ridgeCondition: number;
}

export function ridgeCase() {
  const map = new NTKRandomFeatures(randomFeatureOptions[0]);
  const phi = map.transformSync(mat(X32, n, d)).data;
  const f = map.features;
  let trace = 0;
  for (let i = 0; i < phi.length; i++) trace += phi[i] * phi[i];
  const lambda = 1e-2 * (trace / f);
  const model = new RidgeRegression({ lambda }).fitSync(mat(phi, n, f), mat(Float32Array.from(targets()), n, 3));
  return { map, phi, f, model, condition: (trace + lambda) / lambda };
}

export function summary(): Summary {
  const exact: Record<string, string> = {};
  for (const [i, options] of randomFeatureOptions.entries()) {
    const map = new NTKRandomFeatures(options);
    const x = options.dtype === 'float64' ? X : X32;
    for (const kernel of ['ntk', 'nngp'] as const) {
      exact[`ntkRandomFeatures${i}.${kernel}`] = hash(map.transformSync(mat(x, n, d), { kernel }).data);
    }
    if (i === 0) exact[`ntkRandomFeatures${i}.csr`] = hash(map.transformSync({ ...sparse.csr, data: Float32Array.from(sparse.csr.data) }).data);
  }
  const kernels = ntkKernelSync(mat(X.subarray(0, 120 * d), 120, d), mat(X.subarray(120 * d), n - 120, d), { depth: 3 });
  exact.exactNtk = hash(kernels.ntk!.data, kernels.nngp!.data);
  // Predictions use the LAPACK-solved weights, so only the statistics are compared bit for bit.
  const { phi, f, model, condition } = ridgeCase();
  const gram = new Float64Array(f * f);
  native().gramAccumulate({ phi: Float64Array.from(phi), n, m: f, y: null, k: 0, gram, rhs: null }, false);
  exact.ridgeGram = hash(gram);
  const pool = new NTKSketch({ inputDim: d, depth: 2, features: 512, seed: 3, exactCopies: false });
  const kept = new LeverageSelection({ map: pool, features: 128, seed: 5 }).fitSync(mat(X32.subarray(0, 200 * d), 200, d));
  exact.leverageSelection = hash(Int32Array.from(kept.columns), kept.transformSync(mat(X32, n, d)).data);
  for (const [ta, tb] of [[false, false], [false, true], [true, false]] as const) {
    for (const dtype of ['float32', 'float64'] as const) exact[`gemm.${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}.${dtype}`] = hash(coreGemm(ta, tb, 77, 301, 413, dtype).c);
  }
  const b = backends();
  return {
    blasCore: b.cpu.blasCore,
    simd: b.cpu.simd,
    exact,
    ridgeWeights: Array.from(model.coefficients().data),
    ridgeCondition: condition,
  };
}
