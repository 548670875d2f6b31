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

  it('rejects asynchronously when the CUDA backend is requested without a device', async () => {
    if (a.backends().cuda.available) return;
    const x = new Float64Array(4);
    await expect(a.ntkKernel({ x, n: 2, d: 2, z: null, m: 0, depth: 1, ntkOut: new Float64Array(4), nngpOut: null, backend: 'cuda' }, true)).rejects.toThrow(/CUDA|cuda/);
  });
});
