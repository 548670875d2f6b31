/**
 * Sketch primitives (docs/math.md#sketch-primitives) and the polynomial approximations of the
 * arc-cosine kernels that NTKSketch is built from.
 *
 * Every sketch is a seeded linear map whose inner products are unbiased:
 *
 * - `walshHadamard(X)`: the in-place fast transform H x (entries of H are +-1).
 * - `countSketch(X, { outDim, seed })`: CS(x)_j = sum_{h(i)=j} s(i) x_i, O(nnz).
 * - `srht(X, { outDim, seed })`: (H D x)_P / sqrt(m) after zero-padding to a
 *   power of two (H the +-1 Walsh–Hadamard matrix, P rows sampled with
 *   replacement).
 * - `tensorSrht(X, Y, { outDim, seed })`: (H D1 x)_P1 * (H D2 y)_P2 / sqrt(m),
 *   E <T(x,y), T(x',y')> = <x,x'><y,y'>.
 * - `polySketch(X, { degree, sketchDim, seed })`: Q_1 x .. Q_p x (p = degree,
 *   a power of two) side by side, E <Q_j x, Q_j y> = <x,y>^j.
 * - `polyKernelSketch(X, { coefficients, sketchDim, outDim, seed })`:
 *   [sqrt(c0), sqrt(c_j) Q_j x ...], optionally SRHT'd to outDim,
 *   E <phi x, phi y> = sum_j c_j <x,y>^j.
 *
 * The random parameters are a pure function of the seed (counter-based RNG),
 * so results do not depend on threads or batching. Output dtype follows X.
 * CSR input ({ indptr, indices, data, shape }) is accepted wherever X is.
 */
import type { NdArray } from 'ndarray';
import {
  DEFAULT_MEMORY_LIMIT,
  allocate,
  checkMemory,
  checkOptions,
  describe,
  elementBytes,
  intOption,
  isCsrLike,
  seedOption,
  toCsr,
  toMatrix,
  toNdarray,
  type DType,
} from '../core/arrays.js';
import { native, type FloatArray, type NativeSketchPrimitive } from '../core/native.js';
import type { CsrMatrixLike, MatrixLike } from '../core/inputs.js';

export type ArcCosKernelName = 'k0' | 'k1';
export type PolynomialApproximation = 'taylor' | 'nnls';

export interface ArcCosinePolynomialOptions {
  /** Polynomial degree q (1..32). */
  degree: number;
  /** 'taylor' (truncated series, tail folded into the top term) or 'nnls'. Default 'nnls'. */
  approximation?: PolynomialApproximation;
  /** Lower end of the fitting interval [lower, 1] for 'nnls' (in [-1, 1)). Default -1. */
  lower?: number;
}

/** Largest degree accepted by arcCosinePolynomial. */
export const MAX_POLYNOMIAL_DEGREE = 32;

export function approximationOption(name: string, value: unknown): PolynomialApproximation {
  if (value === undefined) return 'nnls';
  if (value !== 'taylor' && value !== 'nnls') {
    throw new RangeError(`${name} must be 'taylor' or 'nnls', got ${describe(value)}`);
  }
  return value;
}

/**
 * Coefficients c_0..c_q (all >= 0, sum = P(1) = 1) of a polynomial
 * approximating k0(t) = (pi - arccos t)/pi or
 * k1(t) = (sqrt(1 - t^2) + t (pi - arccos t))/pi:
 *
 * - 'taylor': the Maclaurin series truncated at degree q, the tail mass
 *   added to the highest non-zero term (exact at t = 1 and t = -1).
 * - 'nnls': non-negative least squares on Chebyshev points of [lower, 1] with
 *   sum(c) = 1, usually a smaller maximum error on that interval.
 */
export function arcCosinePolynomial(kernel: ArcCosKernelName, options: ArcCosinePolynomialOptions): Float64Array {
  if (kernel !== 'k0' && kernel !== 'k1') throw new RangeError(`kernel must be 'k0' or 'k1', got ${describe(kernel)}`);
  const opts = checkOptions('arcCosinePolynomial options', options, ['degree', 'approximation', 'lower']);
  const degree = intOption('degree', opts.degree, 1, MAX_POLYNOMIAL_DEGREE);
  const approximation = approximationOption('approximation', opts.approximation);
  let lower = -1;
  if (opts.lower !== undefined) {
    if (typeof opts.lower !== 'number') throw new TypeError(`lower must be a number, got ${describe(opts.lower)}`);
    if (!(opts.lower >= -1 && opts.lower < 1)) throw new RangeError(`lower must be a number in [-1, 1), got ${opts.lower}`);
    lower = opts.lower;
  }
  return native().arccosPolynomial(kernel, approximation, degree, lower);
}

/**
 * The smallest cosine that can reach each layer h = 1..depth of the NTK
 * recursion: [-1, k1(-1) = 0, k1(0) = 1/pi, ...]. NTKSketch fits the 'nnls'
 * polynomials of layer h on [lower[h-1], 1].
 */
export function layerLowerBounds(depth: number): Float64Array {
  return native().layerLowerBounds(intOption('depth', depth, 0, 100000));
}

/** Evaluates sum_j c[j] t^j (Horner). */
export function evaluatePolynomial(coefficients: ArrayLike<number>, t: number): number {
  let s = 0;
  for (let j = coefficients.length - 1; j >= 0; j--) s = s * t + coefficients[j];
  return s;
}

// ------------------------------------------------------------------ primitives

const MAX_SKETCH_DIM = 1 << 24;

interface Input {
  data: FloatArray;
  rows: number;
  cols: number;
  dtype: DType;
  indptr: Int32Array | null;
  indices: Int32Array | null;
}

function input(name: string, X: unknown): Input {
  let x: Input;
  if (isCsrLike(X)) {
    const c = toCsr(name, X);
    x = { data: c.data, rows: c.rows, cols: c.cols, dtype: c.dtype, indptr: c.indptr, indices: c.indices };
  } else {
    const m = toMatrix(name, X);
    x = { data: m.data, rows: m.rows, cols: m.cols, dtype: m.dtype, indptr: null, indices: null };
  }
  if (x.cols < 1) throw new RangeError(`${name} must have at least one column`);
  return x;
}

function run(x: Input, width: number, primitive: NativeSketchPrimitive<FloatArray>): NdArray<FloatArray> {
  checkMemory(`${primitive.kind}: a ${x.rows} x ${width} result`, x.rows * width * elementBytes(x.dtype), DEFAULT_MEMORY_LIMIT);
  const out = allocate(x.dtype, x.rows * width);
  native().sketchPrimitive({ ...primitive, x: x.data, n: x.rows, inDim: x.cols, indptr: x.indptr, indices: x.indices, out });
  return toNdarray(out, x.rows, width);
}

/** Unnormalised Walsh–Hadamard transform H x of each dense row (length a power of two). */
export function walshHadamard(X: MatrixLike): NdArray<FloatArray> {
  const x = toMatrix('X', X);
  if (x.cols < 1 || (x.cols & (x.cols - 1)) !== 0) throw new RangeError(`X must have a power-of-two number of columns, got ${x.cols}`);
  return run({ ...x, indptr: null, indices: null }, x.cols, { kind: 'fwht' });
}

/** CountSketch of each row of X to outDim entries. */
export function countSketch(X: MatrixLike | CsrMatrixLike, options: { outDim: number; seed?: number }): NdArray<FloatArray> {
  const opts = checkOptions('countSketch options', options, ['outDim', 'seed']);
  const outDim = intOption('outDim', opts.outDim, 1, MAX_SKETCH_DIM);
  const x = input('X', X);
  return run(x, outDim, { kind: 'countsketch', seed: seedOption('seed', opts.seed), outDim });
}

/** SRHT of each row of X to outDim entries. */
export function srht(X: MatrixLike | CsrMatrixLike, options: { outDim: number; seed?: number }): NdArray<FloatArray> {
  const opts = checkOptions('srht options', options, ['outDim', 'seed']);
  const outDim = intOption('outDim', opts.outDim, 1, MAX_SKETCH_DIM);
  const x = input('X', X);
  return run(x, outDim, { kind: 'srht', seed: seedOption('seed', opts.seed), outDim });
}

/** TensorSRHT of row i of X with row i of Y (dense), outDim entries each. */
export function tensorSrht(X: MatrixLike | CsrMatrixLike, Y: MatrixLike, options: { outDim: number; seed?: number }): NdArray<FloatArray> {
  const opts = checkOptions('tensorSrht options', options, ['outDim', 'seed']);
  const outDim = intOption('outDim', opts.outDim, 1, MAX_SKETCH_DIM);
  const x = input('X', X);
  const y = toMatrix('Y', Y, { dtype: x.dtype });
  if (y.rows !== x.rows) throw new RangeError(`Y must have as many rows as X (${x.rows}), got ${y.rows}`);
  if (y.cols < 1) throw new RangeError('Y must have at least one column');
  return run(x, outDim, { kind: 'tensorsrht', seed: seedOption('seed', opts.seed), outDim, y: y.data, inDimY: y.cols });
}

/**
 * PolySketch with `degree` leaves (a power of two, 2..64): row i of the
 * result is [Q_1 x_i, Q_2 x_i, ..., Q_degree x_i], each block sketchDim wide.
 */
export function polySketch(X: MatrixLike | CsrMatrixLike, options: { degree: number; sketchDim: number; seed?: number }): NdArray<FloatArray> {
  const opts = checkOptions('polySketch options', options, ['degree', 'sketchDim', 'seed']);
  const degree = intOption('degree', opts.degree, 2, 64);
  if ((degree & (degree - 1)) !== 0) throw new RangeError(`degree must be a power of two, got ${degree}`);
  const sketchDim = intOption('sketchDim', opts.sketchDim, 1, MAX_SKETCH_DIM);
  const x = input('X', X);
  return run(x, degree * sketchDim, { kind: 'polysketch', seed: seedOption('seed', opts.seed), degree, sketchDim });
}

/**
 * Sketch of the dot-product kernel sum_j c_j <x,y>^j (c_j >= 0): the packed
 * vector [sqrt(c0), sqrt(c_j) Q_j x, ...] (outDim 0 or omitted), or its SRHT
 * to outDim entries.
 */
export function polyKernelSketch(
  X: MatrixLike | CsrMatrixLike,
  options: { coefficients: ArrayLike<number>; sketchDim: number; outDim?: number; seed?: number },
): NdArray<FloatArray> {
  const opts = checkOptions('polyKernelSketch options', options, ['coefficients', 'sketchDim', 'outDim', 'seed']);
  const c = opts.coefficients;
  if (!(Array.isArray(c) || c instanceof Float64Array || c instanceof Float32Array)) {
    throw new TypeError(`coefficients must be an array of numbers, got ${describe(c)}`);
  }
  if (c.length < 1 || c.length > 65) throw new RangeError(`coefficients must have 1 to 65 entries, got ${c.length}`);
  const coeffs = Float64Array.from(c as ArrayLike<number>);
  coeffs.forEach((v, i) => {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`coefficients[${i}] must be a finite number >= 0, got ${v}`);
  });
  if (!coeffs.some((v) => v > 0)) throw new RangeError('coefficients must not all be zero');
  const sketchDim = intOption('sketchDim', opts.sketchDim, 2, MAX_SKETCH_DIM);
  const outDim = opts.outDim === undefined ? 0 : intOption('outDim', opts.outDim, 0, MAX_SKETCH_DIM);
  const x = input('X', X);
  const width = outDim > 0 ? outDim : native().polyKernelPackedDim(x.cols, sketchDim, coeffs);
  return run(x, width, { kind: 'polykernel', seed: seedOption('seed', opts.seed), coefficients: coeffs, sketchDim, outDim });
}
