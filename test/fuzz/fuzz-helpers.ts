// Shared pieces of the property tests: the run count, the property every
// entry point must satisfy on any input, and generators of bad (and good)
// matrices, CSR matrices and option objects.
import fc from 'fast-check';
import ndarray from 'ndarray';
import { expect } from 'vitest';
import { DataFileError } from '../../src/index.js';

/**
 * Cases per property: small in CI (the whole folder stays under a minute),
 * NTK_FUZZ_RUNS for a long run (e.g. NTK_FUZZ_RUNS=2000 npx vitest run test/fuzz).
 */
export const FUZZ_RUNS = Number(process.env.NTK_FUZZ_RUNS ?? 40);
/** Fewer cases for properties that spawn processes or touch files. */
export const FUZZ_RUNS_SLOW = Math.max(4, Math.round(FUZZ_RUNS / 4));
export const fuzzParams = (runs = FUZZ_RUNS): fc.Parameters<unknown> => ({ numRuns: runs, seed: fuzzSeed(), endOnFailure: true });
/** Fixed unless NTK_FUZZ_SEED says otherwise, so that CI failures reproduce. */
export function fuzzSeed(): number {
  return Number(process.env.NTK_FUZZ_SEED ?? 20261206);
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs fn (sync or async) and captures its result or what it threw or rejected with. */
export async function outcome<T>(fn: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * The error contract: a TypeError or RangeError (or a DataFileError naming
 * the file) whose message says what is wrong; `names`, when given, must occur
 * in the message (the argument it is about).
 */
export function expectCleanError(error: unknown, names?: RegExp): void {
  const ok = error instanceof TypeError || error instanceof RangeError || error instanceof DataFileError;
  if (!ok) throw new Error(`expected a TypeError, RangeError or DataFileError, got ${String(error)}`, { cause: error });
  const message = (error as Error).message;
  expect(message.length).toBeGreaterThan(10);
  // Messages of JavaScript's own failures (a crash in our code, not a check).
  expect(message).not.toMatch(/Cannot read properties of|Cannot convert|is not iterable|Maximum call stack/);
  if (names) expect(message).toMatch(names);
}

/** Every value finite. */
export function expectFinite(data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new Error(`non-finite value ${data[i]} at ${i}`);
  }
}

// ----------------------------------------------------------------- matrices

/** A dense matrix as the library may be handed it, and the rows it stands for (null when it is invalid). */
export interface MatrixCase {
  label: string;
  value: unknown;
  /** Row-major n x d values when valid. */
  rows: Float64Array | null;
  n: number;
  d: number;
}

/** Detaches buf (as a transfer to a worker does): views on it become length 0. */
export function detach(buf: ArrayBuffer): void {
  structuredClone(buf, { transfer: [buf] });
}

/** Valid representations of the same n x d values: contiguous, number[], transposed, offset and negative-stride views. */
export function validRepresentations(values: Float64Array, n: number, d: number, dtype: 'float32' | 'float64'): MatrixCase[] {
  const T = dtype === 'float32' ? Float32Array : Float64Array;
  const rows = dtype === 'float32' ? Float64Array.from(Float32Array.from(values)) : values;
  const out: MatrixCase[] = [];
  out.push({ label: `${dtype} contiguous`, value: { data: T.from(values), shape: [n, d] }, rows, n, d });
  out.push({ label: 'ndarray', value: ndarray(T.from(values), [n, d]), rows, n, d });
  if (dtype === 'float64') out.push({ label: 'number[]', value: { data: Array.from(values), shape: [n, d] }, rows, n, d });
  // Column-major storage: a transposed view.
  const colMajor = new T(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) colMajor[j * n + i] = values[i * d + j];
  out.push({ label: 'transposed view', value: ndarray(colMajor, [d, n]).transpose(1, 0), rows, n, d });
  // Offset inside a larger buffer with padding between rows.
  const pad = 3, padded = new T(5 + n * (d + pad));
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) padded[5 + i * (d + pad) + j] = values[i * d + j];
  out.push({ label: 'offset + row stride', value: ndarray(padded, [n, d], [d + pad, 1], 5), rows, n, d });
  // Rows and columns stored in reverse: negative strides.
  const reversed = new T(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) reversed[(n - 1 - i) * d + (d - 1 - j)] = values[i * d + j];
  out.push({ label: 'negative strides', value: ndarray(reversed, [n, d]).step(-1, -1), rows, n, d });
  return out;
}

/** One fault applied to a valid n x d float64 matrix; each makes it invalid. */
export const MATRIX_FAULTS = [
  'nan', 'infinity', 'int32 data', 'uint8 data', 'string data', 'null', 'number', 'short data', 'long data',
  'detached', 'shape 1-d', 'shape 3-d', 'negative shape', 'fractional shape', 'huge shape', 'shape string',
  'stride outside', 'fractional stride', 'negative offset', 'fractional offset', 'wrong columns',
] as const;
export type MatrixFault = (typeof MATRIX_FAULTS)[number];

export function faultyMatrix(values: Float64Array, n: number, d: number, fault: MatrixFault): unknown {
  const data = Float64Array.from(values);
  switch (fault) {
    case 'nan': data[data.length - 1] = NaN; return { data, shape: [n, d] };
    case 'infinity': data[0] = -Infinity; return { data, shape: [n, d] };
    case 'int32 data': return { data: Int32Array.from(values), shape: [n, d] };
    case 'uint8 data': return { data: new Uint8Array(n * d), shape: [n, d] };
    case 'string data': return { data: 'abc', shape: [n, d] };
    case 'null': return null;
    case 'number': return 42;
    case 'short data': return { data: data.subarray(0, n * d - 1), shape: [n, d] };
    case 'long data': return { data: new Float64Array(n * d + 1), shape: [n, d] };
    case 'detached': detach(data.buffer); return { data, shape: [n, d] };
    case 'shape 1-d': return { data, shape: [n * d] };
    case 'shape 3-d': return { data, shape: [n, d, 1] };
    case 'negative shape': return { data, shape: [-n, d] };
    case 'fractional shape': return { data, shape: [n + 0.5, d] };
    case 'huge shape': return { data, shape: [2 ** 40, d] };
    case 'shape string': return { data, shape: 'n by d' };
    case 'stride outside': return { data, shape: [n, d], stride: [d + 1, 1] , offset: 0 };
    case 'fractional stride': return { data, shape: [n, d], stride: [d, 0.5] };
    case 'negative offset': return { data, shape: [n, d], stride: [d, 1], offset: -1 };
    case 'fractional offset': return { data, shape: [n, d], stride: [d, 1], offset: 0.5 };
    case 'wrong columns': return { data: new Float64Array(n * (d + 1)), shape: [n, d + 1] };
  }
}

/** Arbitrary values of n x d in [-2, 2] (with an occasional 0 row). */
export const matrixValues = (n: number, d: number): fc.Arbitrary<Float64Array> =>
  fc.array(fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), { minLength: n * d, maxLength: n * d }).map((a) => Float64Array.from(a));

/** A matrix case: a valid representation (with its rows) or a faulty one (rows null). */
export function matrixCase(n: number, d: number, exclude: readonly MatrixFault[] = []): fc.Arbitrary<MatrixCase> {
  const faults = MATRIX_FAULTS.filter((f) => !exclude.includes(f));
  return fc.tuple(matrixValues(n, d), fc.constantFrom<'float32' | 'float64'>('float32', 'float64'), fc.nat(5), fc.option(fc.constantFrom(...faults), { freq: 2 }))
    .map(([values, dtype, k, fault]) => {
      if (fault !== null) return { label: `fault: ${fault}`, value: faultyMatrix(values, n, d, fault), rows: null, n, d };
      const reps = validRepresentations(values, n, d, dtype);
      return reps[k % reps.length];
    });
}

// --------------------------------------------------------------------- CSR

/** A valid CSR matrix of the rows of a dense matrix (zeros dropped). */
export function csrOf(values: Float64Array, n: number, d: number): { indptr: Int32Array; indices: Int32Array; data: Float64Array; shape: [number, number] } {
  const indptr = new Int32Array(n + 1), indices: number[] = [], data: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) if (values[i * d + j] !== 0) { indices.push(j); data.push(values[i * d + j]); }
    indptr[i + 1] = indices.length;
  }
  return { indptr, indices: Int32Array.from(indices), data: Float64Array.from(data), shape: [n, d] };
}

export const CSR_FAULTS = [
  'indptr short', 'indptr start', 'indptr decreasing', 'indptr end', 'index negative', 'index too large',
  'index unsorted', 'index duplicate', 'index fractional', 'data short', 'data nan', 'indices float32', 'shape 3',
  'indptr detached',
] as const;
export type CsrFault = (typeof CSR_FAULTS)[number];

/** A CSR matrix with one structural fault (the matrix needs >= 2 stored entries in row 0 and n >= 2). */
export function faultyCsr(values: Float64Array, n: number, d: number, fault: CsrFault): unknown {
  const c = csrOf(values, n, d);
  const indptr = Int32Array.from(c.indptr), indices = Array.from(c.indices), data = Float64Array.from(c.data);
  const shape = [n, d];
  switch (fault) {
    case 'indptr short': return { indptr: indptr.subarray(0, n), indices, data, shape };
    case 'indptr start': indptr[0] = 1; return { indptr, indices, data, shape };
    case 'indptr decreasing': indptr[1] = indptr[2] + 1; return { indptr, indices, data, shape };
    case 'indptr end': indptr[n] += 1; return { indptr, indices, data, shape };
    case 'index negative': indices[0] = -1; return { indptr, indices, data, shape };
    case 'index too large': indices[indptr[1] - 1] = d; return { indptr, indices, data, shape };
    case 'index unsorted': [indices[0], indices[1]] = [indices[1], indices[0]]; return { indptr, indices, data, shape };
    case 'index duplicate': indices[1] = indices[0]; return { indptr, indices, data, shape };
    case 'index fractional': indices[0] += 0.5; return { indptr, indices, data, shape };
    case 'data short': return { indptr, indices, data: data.subarray(1), shape };
    case 'data nan': data[0] = NaN; return { indptr, indices, data, shape };
    case 'indices float32': return { indptr, indices: Float32Array.from(indices), data, shape };
    case 'shape 3': return { indptr, indices, data, shape: [n, d, 1] };
    case 'indptr detached': detach(indptr.buffer); return { indptr, indices, data, shape };
  }
}

/** Dense values whose row 0 has >= 2 non-zeros (so every CSR fault applies). */
export const csrValues = (n: number, d: number): fc.Arbitrary<Float64Array> =>
  fc.tuple(matrixValues(n, d), fc.array(fc.boolean(), { minLength: n * d, maxLength: n * d })).map(([v, zero]) => {
    const out = Float64Array.from(v, (x, i) => (zero[i] ? 0 : x));
    out[0] = 1; out[1] = -1;
    return out;
  });

// ------------------------------------------------------------------ options

/** Values of the wrong type or range for any option. */
export const badOptionValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0.5, 1.5, 2 ** 53, -(2 ** 31), null, '', 'x', true, [], {}, [1, 2], () => 1),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 4 }),
);
