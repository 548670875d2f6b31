/**
 * backends(), setThreads() validation, the CUDA path (when a device is
 * present) and the load-error explanations of src/native.ts.
 */
import { describe, it, expect } from 'vitest';
import { CNTKSketch, NTKSketch, backends, cntkKernelSync, setThreads, ntkKernelSync } from '../../src/index.js';
import { explainLoadError, addonCandidates } from '../../src/core/native.js';
import { maxRelErr } from '../helpers/assertions.js';
import { gaussian } from '../reference/ntk-reference.js';

const info = backends();
const cudaAvailable = info.cuda.available;

describe('backends()', () => {
  it('describes the CPU backend: BLAS vendor, threads', () => {
    expect(info.cpu.available).toBe(true);
    expect(typeof info.cpu.blas).toBe('string');
    expect(info.cpu.blas.length).toBeGreaterThan(0);
    expect(Number.isInteger(info.cpu.threads)).toBe(true);
    expect(info.cpu.threads).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(info.cpu.blasThreads)).toBe(true);
    expect(info.cpu.blasThreads).toBeGreaterThanOrEqual(1);
    expect(typeof info.cpu.openmp).toBe('boolean');
    // How the addon was compiled: the compiler and its version, and NDEBUG for a release build (the test
    // build is one; the sanitizer build says so).
    expect(info.cpu.compiler).toMatch(/^(gcc|clang) \d+\.\d+/);
    expect(info.cpu.compiler).toMatch(process.env.NTK_SKETCH_ADDON?.includes('sanitize') ? /AddressSanitizer/ : /NDEBUG/);
  });

  it('describes the CUDA backend consistently', () => {
    expect(typeof info.cuda.compiled).toBe('boolean');
    expect(typeof info.cuda.available).toBe('boolean');
    expect(Array.isArray(info.cuda.devices)).toBe(true);
    if (!info.cuda.compiled) expect(info.cuda.available).toBe(false);
    if (!info.cuda.available) {
      expect(typeof info.cuda.reason).toBe('string');
      expect((info.cuda.reason ?? '').trim().length).toBeGreaterThan(0);
    } else {
      expect(info.cuda.devices.length).toBeGreaterThan(0);
      for (const dev of info.cuda.devices) {
        expect(typeof dev.name).toBe('string');
        expect(dev.memoryBytes).toBeGreaterThan(0);
        expect(dev.computeCapability).toMatch(/^\d+\.\d+$/);
      }
    }
  });

  it('returns a fresh, stable description on each call', () => {
    const again = backends();
    expect(again.cpu.blas).toBe(info.cpu.blas);
    expect(again.cuda.available).toBe(info.cuda.available);
  });
});

describe('setThreads()', () => {
  it('accepts 1 and 0 (default) and validates its argument', () => {
    try {
      setThreads(1);
      expect(backends().cpu.threads).toBe(1);
    } finally {
      setThreads(0);
    }
    expect(backends().cpu.threads).toBe(info.cpu.threads);
    expect(() => setThreads(-1)).toThrow(RangeError);
    expect(() => setThreads(1.5)).toThrow(/threads/);
    expect(() => setThreads('2' as never)).toThrow(TypeError);
  });
});

describe('the backend option', () => {
  it('is a string: anything else is a TypeError naming it; an unknown name a RangeError', () => {
    const x = { data: new Float64Array(8).fill(0.5), shape: [2, 4] };
    const images = { data: new Float64Array(25).fill(0.5), shape: [1, 1, 5, 5] };
    const calls: [string, (backend: unknown) => unknown][] = [
      ['backend', (backend) => ntkKernelSync(x, null, { depth: 1, backend } as never)],
      ['backend', (backend) => cntkKernelSync(images, null, { depth: 1, filterSize: 3, padding: 'same', backend } as never)],
      ['backend', (backend) => new NTKSketch({ inputDim: 4, depth: 1, features: 8, backend } as never)],
      ['backend', (backend) => new CNTKSketch({ inputShape: [1, 5, 5], depth: 1, filterSize: 3, padding: 'same', features: 8, backend } as never)],
    ];
    for (const [name, call] of calls) {
      for (const bad of [5, true, null, { kind: 'cuda' }]) {
        expect(() => call(bad)).toThrow(TypeError);
        expect(() => call(bad)).toThrow(new RegExp(`${name} must be 'auto', 'cpu' or 'cuda'`));
      }
      expect(() => call('gpu')).toThrow(RangeError);
    }
  });
});

describe('CUDA backend', () => {
  function data(seed: number, n: number, d: number): Float64Array {
    const rng = gaussian(seed);
    return Float64Array.from({ length: n * d }, () => rng());
  }

  it.skipIf(!cudaAvailable)(
    `backend 'cuda' matches 'cpu' to 1e-10 (skipped when no CUDA device: ${cudaAvailable ? 'available' : info.cuda.reason})`,
    () => {
      const n = 300;
      const m = 170;
      const d = 40;
      const x = { data: data(1, n, d), shape: [n, d] };
      const z = { data: data(2, m, d), shape: [m, d] };
      for (const depth of [1, 3]) {
        for (const zz of [null, z]) {
          const cpu = ntkKernelSync(x, zz, { depth, backend: 'cpu' });
          const gpu = ntkKernelSync(x, zz, { depth, backend: 'cuda' });
          for (const key of ['ntk', 'nngp'] as const) {
            const a = gpu[key].data;
            const b = cpu[key].data;
            expect(a.length).toBe(b.length);
            let err = 0;
            for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
            expect(err).toBeLessThan(1e-10);
          }
        }
      }
    },
  );

  it.skipIf(!cudaAvailable)(
    `backend 'cuda': a symmetric Gram is exactly symmetric, tiles and k steps cut anywhere, zero and extreme rows (skipped when no CUDA device)`,
    () => {
      // n and d not multiples of the 64-row tiles or the 16-wide k steps.
      for (const [n, d] of [[1, 3], [65, 17], [200, 129]] as const) {
        const rows = data(4 + n, n, d);
        if (n > 7) {
          // A zero row, and rows whose squares would overflow / underflow.
          for (let k = 0; k < d; k++) {
            rows[3 * d + k] = 0;
            rows[5 * d + k] *= 1e200;
            rows[7 * d + k] *= 1e-200;
          }
        }
        const x = { data: rows, shape: [n, d] };
        const cpu = ntkKernelSync(x, null, { depth: 2, backend: 'cpu' });
        const gpu = ntkKernelSync(x, null, { depth: 2, backend: 'cuda' });
        const a = gpu.ntk.data;
        const b = cpu.ntk.data;
        let asym = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (a[i * n + j] !== a[j * n + i]) asym++;
        expect(asym).toBe(0);
        // Equal entries are skipped: the zero row, and two huge rows (Infinity on both).
        expect(maxRelErr(a, b, (i) => a[i] === b[i])).toBeLessThan(1e-10);
      }
    },
  );

  it.skipIf(!cudaAvailable)(
    `backend 'cuda' in several row chunks, one output only, float32 (skipped when no CUDA device)`,
    () => {
      // 1,500 x 30,000 = 45M entries: more than one device chunk (2^25 entries).
      const n = 1500;
      const m = 30000;
      const d = 6;
      const x = { data: Float32Array.from(data(7, n, d)), shape: [n, d] };
      const z = { data: Float32Array.from(data(8, m, d)), shape: [m, d] };
      const cpu = ntkKernelSync(x, z, { depth: 3, output: 'nngp', backend: 'cpu' });
      const gpu = ntkKernelSync(x, z, { depth: 3, output: 'nngp', backend: 'cuda' });
      expect('ntk' in gpu).toBe(false);
      // Both round the same float64 value to float32: at most one float32 ulp apart.
      expect(maxRelErr(gpu.nngp.data, cpu.nngp.data)).toBeLessThanOrEqual(2 ** -23);
    },
  );

  it.skipIf(!cudaAvailable)(
    `backend 'auto' uses CUDA and 'cuda' works with float32 (skipped when no CUDA device)`,
    () => {
      const x = { data: Float32Array.from(data(3, 50, 8)), shape: [50, 8] };
      const cpu = ntkKernelSync(x, null, { depth: 2 });
      const auto = ntkKernelSync(x, null, { depth: 2, backend: 'auto' });
      expect(auto.ntk.data).toBeInstanceOf(Float32Array);
      for (let i = 0; i < cpu.ntk.data.length; i++) {
        expect(Math.abs(auto.ntk.data[i] - cpu.ntk.data[i])).toBeLessThanOrEqual(1e-6 * Math.abs(cpu.ntk.data[i]));
      }
    },
  );
});

describe('explainLoadError()', () => {
  const path = '/opt/x/build-cmake/Release/ntk_sketch.node';

  it('a missing BLAS library names the library and how to install it', () => {
    const msg = explainLoadError(path, new Error(`libopenblas.so.0: cannot open shared object file: No such file or directory`));
    expect(msg).toContain(path);
    expect(msg).toContain('libopenblas.so.0');
    expect(msg).toMatch(/libopenblas-dev/);
    expect(msg).toMatch(/npm run build:native/);
  });

  it('a missing OpenMP runtime points at libgomp', () => {
    const msg = explainLoadError(path, new Error('libgomp.so.1: cannot open shared object file: No such file or directory'));
    expect(msg).toContain('libgomp.so.1');
    expect(msg).toMatch(/libgomp1/);
  });

  it('another missing library is named', () => {
    const msg = explainLoadError(path, new Error('libcudart.so.13: cannot open shared object file: No such file or directory'));
    expect(msg).toContain('libcudart.so.13');
    expect(msg).toMatch(/rebuild|install/);
  });

  it('an ABI mismatch says to rebuild for this Node version', () => {
    const err = new Error(
      `The module '${path}'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 108. ` +
        `This version of Node.js requires\nNODE_MODULE_VERSION 115. Please try re-compiling or re-installing\nthe module.`,
    );
    const msg = explainLoadError(path, err);
    expect(msg).toMatch(/another Node\.js ABI|different Node/);
    expect(msg).toContain(process.version);
    expect(msg).toMatch(/npm run build:native/);
    expect(msg).toContain('NODE_MODULE_VERSION 108');
  });

  it('an undefined symbol and an unknown failure keep the original message', () => {
    const sym = explainLoadError(path, new Error(`${path}: undefined symbol: cblas_dgemm`));
    expect(sym).toMatch(/BLAS/);
    expect(sym).toContain('cblas_dgemm');
    const other = explainLoadError(path, 'something odd');
    expect(other).toContain('something odd');
    expect(other).toContain(path);
  });

  it('addonCandidates uses NTK_SKETCH_ADDON alone when it is set', () => {
    const list = addonCandidates({ NTK_SKETCH_ADDON: '/opt/custom/ntk_sketch.node' });
    expect(list).toEqual([{ path: '/opt/custom/ntk_sketch.node', kind: 'env' }]);
    const defaults = addonCandidates({});
    expect(defaults.map((c) => c.kind)).toEqual(['cmake', 'gyp', 'prebuild']);
    expect(defaults[0].path.endsWith('build-cmake/Release/ntk_sketch.node')).toBe(true);
  });
});

describe('OpenBLAS kernel selection', () => {
  it('asks only for kernels whose instructions the CPU flags list', async () => {
    const { openblasCoreTypeFor } = await import('../../src/core/native.js');
    const avx512 = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl', 'avx2', 'fma'];
    expect(openblasCoreTypeFor(new Set(avx512))).toBe('SkylakeX');
    expect(openblasCoreTypeFor(new Set(['avx512f', 'avx2', 'fma']))).toBe('Haswell');
    expect(openblasCoreTypeFor(new Set(['sse2', 'avx']))).toBeUndefined();
  });

  it('reports the kernel family in use', () => {
    expect(typeof info.cpu.blasCore).toBe('string');
  });
});
