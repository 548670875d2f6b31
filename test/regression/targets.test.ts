// Targets as the public type allows them (TargetsLike): an n x k matrix, or a
// bare vector of n numbers (a typed array or number[]), which is one output.
import { describe, expect, it } from 'vitest';
import { KernelRidgeRegression, RidgeRegression } from '../../src/index.js';

describe('targets given as a bare vector', () => {
  const Phi = { data: Float64Array.of(1, 0, 0, 1, 1, 1), shape: [3, 2] };
  const y = [1, 2, 3];
  it('RidgeRegression and KernelRidgeRegression take a typed array or number[] as n x 1 targets', async () => {
    const asMatrix = (await new RidgeRegression({ lambda: 0.5 }).fit(Phi, { data: y, shape: [3, 1] })).coefficients().data;
    expect(Array.from((await new RidgeRegression({ lambda: 0.5 }).fit(Phi, Float64Array.from(y))).coefficients().data)).toEqual(Array.from(asMatrix));
    expect(Array.from((await new RidgeRegression({ lambda: 0.5 }).fit(Phi, y)).coefficients().data)).toEqual(Array.from(asMatrix));
    const K = { data: Float64Array.of(2, 1, 0, 1, 2, 1, 0, 1, 2), shape: [3, 3] };
    const krr = await new KernelRidgeRegression({ lambda: 0.1 }).fit(K, Float64Array.from(y));
    expect(krr.coefficients().shape).toEqual([3, 1]);
    await expect(new RidgeRegression().fit(Phi, [1, 2])).rejects.toThrow(/Y must have one row per row of Phi \(3\), got 2/);
  });
});
