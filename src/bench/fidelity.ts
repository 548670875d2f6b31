/**
 * Fidelity suite: how well each map's features reproduce the exact kernel
 * they approximate, against the number of features, for every depth and for
 * the NTK and the NNGP. Two measures of Phi Phi^T against K on the same n
 * rows:
 *  - Gram relative error ||Phi Phi^T - K||_F / ||K||_F;
 *  - spectral epsilon: the smallest eps with
 *    (1 - eps)(K + lambda I) <= Phi Phi^T + lambda I <= (1 + eps)(K + lambda I),
 *    i.e. the spectral norm of (K + lambda I)^-1/2 (Phi Phi^T - K) (K + lambda I)^-1/2,
 *    the guarantee the sketching papers state, with lambda = SPECTRAL_LAMBDA_REL
 *    times the mean diagonal of K.
 * Cost per point: the features (n rows), one n x n x m GEMM; the spectral
 * epsilon adds two n x n eigendecompositions (O(n^3)). The exact kernels are
 * computed once per depth. Maps that are fitted (a leverage selection) are
 * fitted on the measured rows, Nyström landmarks on the training rows after
 * them (fitsOnHeldOutRows), so that a landmark count above those rows is
 * skipped with its reason.
 */
import type { RowsLike } from '../core/inputs.js';
import { native } from '../core/native.js';
import { cntkKernelSync } from '../kernels/cntk-kernel.js';
import { ntkKernelSync } from '../kernels/ntk-kernel.js';
import type { FeatureKernel } from '../maps/feature-map.js';
import { CNTK_FILTER, CNTK_PADDING, exactCntkRows, mapInput, type BenchMap, type ExactKernelKind } from './maps.js';
import type { BenchData } from './data.js';

/** Lambda of the spectral epsilon, relative to the mean diagonal of K. */
export const SPECTRAL_LAMBDA_REL = 1e-2;

/** Relative Frobenius error ||Phi Phi^T - K||_F / ||K||_F of n x m features (Phi Phi^T by a float64 GEMM). */
export function gramError(phi: ArrayLike<number>, n: number, m: number, exact: ArrayLike<number>): number {
  // A kernel of other rows than the features' would give a number, and a wrong one.
  if (phi.length !== n * m) throw new RangeError(`gramError: phi must hold n x m = ${n} x ${m} values, got ${phi.length}`);
  if (exact.length !== n * n) throw new RangeError(`gramError: exact must be the n x n = ${n} x ${n} kernel, got ${exact.length} values`);
  const g = gram(phi, n, m);
  let e = 0, t = 0;
  for (let i = 0; i < g.length; i++) {
    e += (g[i] - exact[i]) ** 2;
    t += exact[i] ** 2;
  }
  return Math.sqrt(e / t);
}

function gram(phi: ArrayLike<number>, n: number, m: number): Float64Array {
  const p = Float64Array.from(phi);
  const g = new Float64Array(n * n);
  native().gemm({ transA: false, transB: true, m: n, n, k: m, alpha: 1, a: p, lda: m, b: p, ldb: m, beta: 0, c: g, ldc: n }, false);
  return g;
}

function eigh(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const values = new Float64Array(n), vectors = new Float64Array(n * n), status = new Float64Array(1);
  native().symmetricEigh({ matrix: Float64Array.from(matrix), m: n, eigenvalues: values, eigenvectors: vectors, status }, false);
  if (status[0] !== 0) throw new Error(`symmetric eigendecomposition failed (info ${status[0]})`);
  return { values, vectors };
}

/**
 * The spectral epsilon of n x m features against K (n x n) at ridge lambda
 * = lambdaRel x mean diagonal of K: the largest |eigenvalue| of
 * S^-1/2 V^T (Phi Phi^T - K) V S^-1/2 where K + lambda I = V S V^T.
 */
export function spectralEpsilon(phi: ArrayLike<number>, n: number, m: number, exact: ArrayLike<number>, lambdaRel = SPECTRAL_LAMBDA_REL): number {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += exact[i * n + i];
  const lambda = (lambdaRel * trace) / n;
  const shifted = Float64Array.from(exact);
  for (let i = 0; i < n; i++) shifted[i * n + i] += lambda;
  const { values, vectors } = eigh(shifted, n); // vectors: one eigenvector per row (V^T)
  const diff = gram(phi, n, m);
  for (let i = 0; i < diff.length; i++) diff[i] -= exact[i];
  // W = D^-1/2 V^T diff V D^-1/2, with the rows of `vectors` the columns of V.
  const t = new Float64Array(n * n), w = new Float64Array(n * n);
  const gemm = (transA: boolean, transB: boolean, a: Float64Array, b: Float64Array, c: Float64Array) =>
    native().gemm({ transA, transB, m: n, n, k: n, alpha: 1, a, lda: n, b, ldb: n, beta: 0, c, ldc: n }, false);
  gemm(false, false, vectors, diff, t); // V^T diff
  gemm(false, true, t, vectors, w); // V^T diff V
  for (let i = 0; i < n; i++) {
    const si = 1 / Math.sqrt(Math.max(values[i], Number.MIN_VALUE));
    for (let j = 0; j < n; j++) w[i * n + j] *= si / Math.sqrt(Math.max(values[j], Number.MIN_VALUE));
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) w[i * n + j] = w[j * n + i] = (w[i * n + j] + w[j * n + i]) / 2;
  const ev = eigh(w, n).values;
  return Math.max(Math.abs(ev[0]), Math.abs(ev[n - 1]));
}

/** The exact NTK and NNGP of rows X (n x d) with themselves, float64: the fully connected or the convolutional kernel. */
export function exactKernels(kind: ExactKernelKind, X: Float64Array, n: number, data: BenchData, depth: number): Record<FeatureKernel, Float64Array> {
  if (kind === 'ntk') {
    const k = ntkKernelSync({ data: X, shape: [n, data.d] }, null, { depth });
    return { ntk: k.ntk.data as Float64Array, nngp: k.nngp.data as Float64Array };
  }
  const shape = data.imageShape;
  if (!shape) throw new RangeError('the exact CNTK needs image rows');
  const k = cntkKernelSync({ data: X, shape: [n, ...shape] }, null, { depth, filterSize: CNTK_FILTER, padding: CNTK_PADDING });
  return { ntk: k.ntk.data as Float64Array, nngp: k.nngp.data as Float64Array };
}

export interface FidelityOptions {
  rows: number;
  depths: readonly number[];
  features: readonly number[];
  seeds: readonly number[];
  /** Also compute the spectral epsilon (two n x n eigendecompositions per point). */
  spectral: boolean;
}

export interface FidelityPoint {
  map: string;
  kernel: FeatureKernel;
  depth: number;
  features: number;
  /** Mean over the seeds, and each seed's value. */
  gramError: number;
  gramErrors: number[];
  spectralEpsilon: number | null;
  spectralEpsilons: number[] | null;
}

export interface FidelityResult {
  rows: number;
  /** Rows of the maps that approximate the exact CNTK (fewer when its cost asks: exactCntkRows), per depth. */
  cntkRows: Record<number, number>;
  seeds: number[];
  spectralLambdaRel: number;
  points: FidelityPoint[];
  skipped: { map: string; reason: string }[];
}

/** Runs the fidelity suite on the first `rows` training rows. `progress` is told each finished point. */
export async function fidelitySuite(data: BenchData, maps: readonly BenchMap[], o: FidelityOptions, progress: (label: string) => void = () => {}): Promise<FidelityResult> {
  const rowsAll = Math.min(o.rows, data.train.n);
  const cntkRows: Record<number, number> = {};
  const points: FidelityPoint[] = [];
  const skipped: { map: string; reason: string }[] = [];
  const exactCache = new Map<string, Record<FeatureKernel, Float64Array>>();
  for (const spec of maps) {
    const reason = spec.unavailable({ inputDim: data.d, imageShape: data.imageShape, depth: o.depths[0], features: o.features[0], seed: o.seeds[0], dtype: 'float32' }, Infinity);
    if (reason) {
      skipped.push({ map: spec.name, reason });
      continue;
    }
    for (const depth of o.depths) {
      const n = spec.exactKernel === 'cntk' && data.imageShape ? (cntkRows[depth] = exactCntkRows(data.imageShape, depth, rowsAll)) : rowsAll;
      const X = data.train.X.subarray(0, n * data.d);
      // Fitted maps are fitted on the measured rows, or on the training rows after them (fitsOnHeldOutRows).
      const fit: RowsLike = spec.fitsOnHeldOutRows
        ? { data: data.train.X.subarray(n * data.d), shape: [data.train.n - n, data.d] }
        : { data: X, shape: [n, data.d] };
      const fitRows = fit.shape[0];
      const key = `${spec.exactKernel}/${depth}`;
      if (!exactCache.has(key)) exactCache.set(key, exactKernels(spec.exactKernel, X, n, data, depth));
      const exact = exactCache.get(key)!;
      for (const features of o.features) {
        const config = { inputDim: data.d, imageShape: data.imageShape, depth, features, seed: o.seeds[0], dtype: 'float32' as const };
        const why = spec.unavailable(config, fitRows);
        if (why) {
          if (!skipped.some((s) => s.map === `${spec.name} (${features} features)`)) skipped.push({ map: `${spec.name} (${features} features)`, reason: why });
          continue;
        }
        const perKernel = new Map<FeatureKernel, { g: number[]; s: number[] }>(spec.kernels.map((k) => [k, { g: [], s: [] }]));
        for (const seed of o.seeds) {
          using map = await spec.create({ ...config, seed }, fit);
          const input = mapInput(map, X, n, data.d);
          for (const kernel of spec.kernels) {
            const phi = (await map.transform(input, { kernel })).data;
            const acc = perKernel.get(kernel)!;
            acc.g.push(gramError(phi, n, map.features, exact[kernel]));
            if (o.spectral) acc.s.push(spectralEpsilon(phi, n, map.features, exact[kernel]));
          }
        }
        for (const [kernel, acc] of perKernel) {
          const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
          points.push({
            map: spec.name, kernel, depth, features,
            gramError: mean(acc.g), gramErrors: acc.g,
            spectralEpsilon: o.spectral ? mean(acc.s) : null, spectralEpsilons: o.spectral ? acc.s : null,
          });
        }
        progress(`fidelity ${spec.name} depth ${depth} ${features} features`);
      }
    }
  }
  return { rows: rowsAll, cntkRows, seeds: [...o.seeds], spectralLambdaRel: SPECTRAL_LAMBDA_REL, points, skipped };
}
