// Input checks shared by the tests of the maps of rows (NTKSketch,
// NTKRandomFeatures), which read X and the transform options alike.
import { expect } from 'vitest';
import { mat } from './matrices.js';

interface RowMap {
  transformSync(X: unknown, options?: { kernel?: 'ntk' | 'nngp' }): { shape: number[] };
  transform(X: unknown, options?: { kernel?: 'ntk' | 'nngp' }): Promise<unknown>;
}

/**
 * A map of inputDim 4 and 8 features refuses bad dense and CSR matrices and
 * transform options, naming the argument; X is a valid input.
 */
export async function expectRowInputChecks(map: RowMap, X: unknown): Promise<void> {
  expect(() => map.transformSync(5)).toThrow(TypeError);
  expect(() => map.transformSync(mat(new Float64Array(6), 2, 3))).toThrow(/X must have 4 columns \(the inputDim/);
  expect(() => map.transformSync(mat(new Float64Array([1, NaN, 0, 0]), 1, 4))).toThrow(/X must contain only finite/);
  expect(() => map.transformSync(X, { kernel: 'cntk' as never })).toThrow(/kernel must be 'ntk' or 'nngp'/);
  expect(() => map.transformSync(X, { kernal: 'ntk' } as never)).toThrow(/kernal is not a known option/);
  const csr = { indptr: [0, 2, 3], indices: [0, 3, 1], data: [1, 2, 3], shape: [2, 4] };
  expect(map.transformSync(csr).shape).toEqual([2, 8]);
  expect(() => map.transformSync({ ...csr, indices: [3, 0, 1] })).toThrow(/X.indices must be strictly increasing within a row/);
  expect(() => map.transformSync({ ...csr, indices: [0, 0, 1] })).toThrow(/no duplicates/);
  expect(() => map.transformSync({ ...csr, indices: [0, 4, 1] })).toThrow(/X.indices\[1\] = 4 is out of range \[0, 4\)/);
  expect(() => map.transformSync({ ...csr, indptr: [0, 3, 2] })).toThrow(/X.indptr must be non-decreasing|X.indices must have/);
  expect(() => map.transformSync({ ...csr, indptr: [0, 2, 1, 3], shape: [3, 4] })).toThrow(/X.indptr must be non-decreasing/);
  expect(() => map.transformSync({ ...csr, indptr: [0, 3] })).toThrow(/X.indptr must have rows \+ 1 = 3 entries/);
  expect(() => map.transformSync({ ...csr, indptr: [1, 2, 3] })).toThrow(/X.indptr\[0\] must be 0/);
  expect(() => map.transformSync({ ...csr, data: [1, 2] })).toThrow(/X.data must have indptr\[2\] = 3 entries/);
  expect(() => map.transformSync({ ...csr, indices: [0, 1.5, 1] })).toThrow(/X.indices\[1\] must be an integer/);
  expect(() => map.transformSync({ ...csr, shape: [2, 5] })).toThrow(/X must have 4 columns/);
  expect(() => map.transformSync({ ...csr, data: 'abc' })).toThrow(TypeError);
  expect(() => map.transformSync({ ...csr, data: [1, Infinity, 3] })).toThrow(/X.data must contain only finite/);
  // The async form rejects instead of throwing.
  await expect(map.transform(mat(new Float64Array(6), 2, 3))).rejects.toThrow(RangeError);
  await expect(map.transform(X, { kernel: 'x' as never })).rejects.toThrow(/kernel/);
}
