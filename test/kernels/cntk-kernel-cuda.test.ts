/**
 * The exact CNTK on the GPU (native/cuda/cntk_exact.cu) against the CPU path,
 * which test/cntk-kernel.test.ts checks against the literal reference. Skipped,
 * with the reason, when no CUDA device is usable.
 */
import { describe, expect, it } from 'vitest';
import { backends, cntkKernel, cntkKernelSync } from '../../src/index.js';
import { maxRelErr } from '../helpers/assertions.js';
import { bitsEqual } from '../helpers/matrices.js';
import { gaussian } from '../reference/ntk-reference.js';

const cuda = backends().cuda;
const skip = !cuda.available;
const why = cuda.available ? 'CUDA device present' : `skipped: ${cuda.reason}`;

type Shape = { channels: number; height: number; width: number };
function images(seed: number, n: number, s: Shape): Float64Array {
  const rng = gaussian(seed);
  return Float64Array.from({ length: n * s.channels * s.height * s.width }, () => rng());
}
const imgs = (data: Float64Array | Float32Array, n: number, s: Shape) => ({ data, shape: [n, s.channels, s.height, s.width] });

/** Largest relative difference; equal entries (zeros included) are skipped. */
const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => maxRelErr(a, b, (i) => a[i] === b[i]);

describe(`cntkKernel backend 'cuda' (${why})`, () => {
  it.skipIf(skip)('matches the CPU to 1e-12 for valid / same, filters 1-4, depth 1-3, 1 and 3 channels, X vs Z and X vs X', () => {
    const cases = [
      { shape: { channels: 1, height: 7, width: 6 }, depth: 1, filterSize: 1, padding: 'valid' as const },
      { shape: { channels: 1, height: 8, width: 8 }, depth: 3, filterSize: 3, padding: 'same' as const },
      { shape: { channels: 3, height: 9, width: 7 }, depth: 2, filterSize: 3, padding: 'valid' as const },
      { shape: { channels: 2, height: 10, width: 10 }, depth: 2, filterSize: 4, padding: 'valid' as const },
      { shape: { channels: 1, height: 28, width: 28 }, depth: 3, filterSize: 3, padding: 'same' as const },
    ];
    for (const { shape, ...arch } of cases) {
      const n = 6, m = 4;
      const x = images(1, n, shape);
      for (let k = 0; k < shape.channels * shape.height * shape.width; k++) x[2 * shape.channels * shape.height * shape.width + k] = 0;
      const z = images(2, m, shape);
      for (const Z of [null, imgs(z, m, shape)]) {
        const cpu = cntkKernelSync(imgs(x, n, shape), Z, { ...arch, backend: 'cpu' });
        const gpu = cntkKernelSync(imgs(x, n, shape), Z, { ...arch, backend: 'cuda' });
        expect(maxRel(gpu.ntk.data, cpu.ntk.data)).toBeLessThan(1e-12);
        expect(maxRel(gpu.nngp.data, cpu.nngp.data)).toBeLessThan(1e-12);
        if (Z === null) {
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(gpu.ntk.data[i * n + j]).toBe(gpu.ntk.data[j * n + i]);
        }
      }
    }
  });

  it.skipIf(skip)('float32 images, one output, several launches (more than 65,535 pairs), progress blocks change nothing', async () => {
    const shape = { channels: 1, height: 5, width: 5 };
    const n = 300, m = 250; // 75,000 pairs
    const x = Float32Array.from(images(3, n, shape));
    const z = Float32Array.from(images(4, m, shape));
    const arch = { depth: 2, filterSize: 3, padding: 'same' as const, output: 'ntk' as const };
    const cpu = cntkKernelSync(imgs(x, n, shape), imgs(z, m, shape), { ...arch, backend: 'cpu' });
    const gpu = cntkKernelSync(imgs(x, n, shape), imgs(z, m, shape), { ...arch, backend: 'cuda' });
    expect('nngp' in gpu).toBe(false);
    expect(gpu.ntk.data).toBeInstanceOf(Float32Array);
    expect(maxRel(gpu.ntk.data, cpu.ntk.data)).toBeLessThanOrEqual(2 ** -23);
    let calls = 0;
    const blocks = await cntkKernel(imgs(x, n, shape), imgs(z, m, shape), { ...arch, backend: 'cuda', onProgress: () => calls++ });
    expect(calls).toBeGreaterThan(1);
    expect(bitsEqual(blocks.ntk.data, gpu.ntk.data)).toBe(true);
  });

  it.skipIf(skip)("'auto' runs on the GPU; images too large for a block's shared memory are refused with the reason", async () => {
    const shape = { channels: 1, height: 6, width: 6 };
    const x = images(5, 3, shape);
    const arch = { depth: 2, filterSize: 3, padding: 'same' as const };
    const gpu = cntkKernelSync(imgs(x, 3, shape), null, { ...arch, backend: 'cuda' });
    expect(bitsEqual(cntkKernelSync(imgs(x, 3, shape), null, { ...arch, backend: 'auto' }).ntk.data as Float64Array, gpu.ntk.data as Float64Array)).toBe(true);
    const big = { channels: 1, height: 120, width: 120 };
    expect(() => cntkKernelSync(imgs(images(6, 1, big), 1, big), null, { depth: 1, filterSize: 3, padding: 'same', backend: 'cuda' })).toThrow(
      /shared memory.*backend 'cpu'/,
    );
    await expect(cntkKernel(imgs(images(6, 1, big), 1, big), null, { depth: 1, filterSize: 3, padding: 'same', backend: 'cuda' })).rejects.toThrow(
      /shared memory/,
    );
  });
});

describe('cntkKernel backend option without a device', () => {
  it.skipIf(!skip)("'cuda' is a RangeError giving the reason, 'auto' is the CPU, an unknown backend is refused", () => {
    const shape = { channels: 1, height: 4, width: 4 };
    const x = imgs(images(7, 2, shape), 2, shape);
    const arch = { depth: 1, filterSize: 3, padding: 'same' as const };
    expect(() => cntkKernelSync(x, null, { ...arch, backend: 'cuda' })).toThrow(RangeError);
    expect(() => cntkKernelSync(x, null, { ...arch, backend: 'cuda' })).toThrow(/backend 'cuda' is not available: ./);
    expect(() => cntkKernelSync(x, null, { ...arch, backend: 'gpu' as never })).toThrow(/backend must be 'auto', 'cpu' or 'cuda'/);
    expect(bitsEqual(cntkKernelSync(x, null, { ...arch, backend: 'auto' }).ntk.data as Float64Array, cntkKernelSync(x, null, arch).ntk.data as Float64Array)).toBe(true);
  });
});
