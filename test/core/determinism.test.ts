// Reproducibility of every path that multiplies data by a matrix: the same
// bits for any thread count, batch split, row position, sync/async, `out`
// buffer, vector instruction set and OpenBLAS kernel family. CI runs this file
// once under each of OPENBLAS_CORETYPE=Haswell, SkylakeX (where the CPU has
// AVX-512), Zen and Prescott; the last test also compares the families
// against each other from child processes.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ndarray from 'ndarray';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FeatureRidge,
  LeverageSelection,
  NTKRandomFeatures,
  NTKSketch,
  RidgeRegression,
  backends,
  ntkKernel,
  ntkKernelSync,
  setThreads,
} from '../../src/index.js';
import { native, openblasCoreTypeFor } from '../../src/core/native.js';
import { bitsEqual, mat } from '../helpers/matrices.js';
import {
  X,
  X32,
  coreGemm,
  d,
  gemmOperand,
  n,
  randomFeatureOptions,
  ridgeCase,
  sparse,
  targets,
  type Summary,
} from '../helpers/determinism-cases.js';

afterEach(() => setThreads(0));

/** The row splits of [0, n) every test replays: a short block, one across a 256-row boundary, the rest. */
const splits = [[0, 13], [13, 270], [270, n]] as const;

describe('the core GEMM: each element is one FMA chain over k, wherever it sits', () => {
  const shapes = [[false, false], [false, true], [true, false], [true, true]] as const;

  it('a row of op(A) op(B) has the same bits in any call that contains it (position, shape, tile edges)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [ta, tb] of shapes) {
        const m = 300, cols = 70, k = 530;
        const { a, b, c } = coreGemm(ta, tb, m, cols, k, dtype);
        for (const [s, e] of [[1, 2], [13, 270], [255, 300], [7, 263]]) {
          const rows = e - s;
          // op(A) rows s..e: rows of A, or columns of A (lda stays m) when transposed.
          const sub = ta ? a.subarray(s) : a.subarray(s * k);
          const part = dtype === 'float32' ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
          native().gemm({ transA: ta, transB: tb, m: rows, n: cols, k, alpha: 1, a: sub, lda: ta ? m : k, b, ldb: tb ? k : cols, beta: 0, c: part, ldc: cols }, false);
          expect(bitsEqual(part, c.subarray(s * cols, e * cols)), `${dtype} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} rows ${s}..${e}`).toBe(true);
        }
      }
    }
  });

  it('a few columns of op(B) (the unpacked paths: up to 16 columns, or a transposed A) give the bits of the blocked product', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [ta, tb] of shapes) {
        const m = 133, cols = 70, k = 1100;
        const { a, b, c } = coreGemm(ta, tb, m, cols, k, dtype);
        for (const [s, e] of [[0, 1], [5, 15], [3, 19], [40, 56], [69, 70]]) {
          const n = e - s;
          // Columns s..e of op(B): a copy with its own leading dimension.
          const sub = dtype === 'float32' ? new Float32Array(k * n) : new Float64Array(k * n);
          for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) sub[tb ? j * k + p : p * n + j] = b[tb ? (s + j) * k + p : p * cols + s + j];
          for (const beta of [0, 1]) {
            const part = dtype === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n);
            const start = dtype === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n);
            for (let i = 0; i < m * n; i++) part[i] = start[i] = beta * ((i % 7) - 3) * 0.125;
            native().gemm({ transA: ta, transB: tb, m, n, k, alpha: 1, a, lda: ta ? m : k, b: sub, ldb: tb ? k : n, beta, c: part, ldc: n }, false);
            // The reference: the blocked product over all 70 columns continuing from the same start.
            const ref = dtype === 'float32' ? new Float32Array(m * cols) : new Float64Array(m * cols);
            for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) ref[i * cols + s + j] = start[i * n + j];
            native().gemm({ transA: ta, transB: tb, m, n: cols, k, alpha: 1, a, lda: ta ? m : k, b, ldb: tb ? k : cols, beta, c: ref, ldc: cols }, false);
            const expected = dtype === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n);
            for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expected[i * n + j] = ref[i * cols + s + j];
            expect(bitsEqual(part, expected), `${dtype} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} columns ${s}..${e} beta ${beta}`).toBe(true);
          }
        }
      }
    }
  });

  it('accumulating (beta = 1) over blocks of k continues the chain: equal to one call over all of k', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const m = 90, cols = 41, k = 1000;
      const { a, b, c } = coreGemm(true, false, m, cols, k, dtype);
      const acc = dtype === 'float32' ? new Float32Array(m * cols) : new Float64Array(m * cols);
      for (const [s, e] of [[0, 3], [3, 517], [517, 1000]]) {
        native().gemm({ transA: true, transB: false, m, n: cols, k: e - s, alpha: 1, a: a.subarray(s * m), lda: m, b: b.subarray(s * cols), ldb: cols, beta: 1, c: acc, ldc: cols }, false);
      }
      expect(bitsEqual(acc, c)).toBe(true);
    }
  });

  it('agrees with a float64 reference within the bound of a k-term FMA chain, gamma_k sum |a||b|', () => {
    // Each FMA rounds once, so |c - exact| <= gamma_k sum_p |a_ip b_pj| with
    // gamma_k = k u / (1 - k u) (u = 2^-24 float32, 2^-53 float64). A kernel
    // that dropped or repeated a block of k would miss by O(1).
    for (const dtype of ['float32', 'float64'] as const) {
      const u = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
      for (const [ta, tb] of shapes) {
        const m = 37, cols = 45, k = 700;
        const { a, b, c } = coreGemm(ta, tb, m, cols, k, dtype, 3);
        const gamma = (k * u) / (1 - k * u);
        let worst = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < cols; j++) {
            let exact = 0, magnitude = 0;
            for (let p = 0; p < k; p++) {
              const x = ta ? a[p * m + i] : a[i * k + p], y = tb ? b[j * k + p] : b[p * cols + j];
              exact += x * y;
              magnitude += Math.abs(x * y);
            }
            worst = Math.max(worst, Math.abs(c[i * cols + j] - exact) / (gamma * magnitude));
          }
        }
        expect(worst, `${dtype} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`).toBeLessThanOrEqual(1);
        expect(worst).toBeGreaterThan(0); // the comparison sees rounding at all
      }
    }
  });

  it('alpha and beta other than 1 / 0 scale the same product', () => {
    const m = 20, cols = 30, k = 50;
    const { a, b, c } = coreGemm(false, false, m, cols, k, 'float64');
    const out = gemmOperand(m * cols, 9, 'float64');
    const before = Float64Array.from(out);
    native().gemm({ transA: false, transB: false, m, n: cols, k, alpha: 0.5, a, lda: k, b, ldb: cols, beta: -2, c: out, ldc: cols }, false);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBe(0.5 * c[i] + -2 * before[i]);
  });
});

describe('every path that multiplies data is bit-identical for any thread count (1, 2, 3, 5: odd counts split the tiles unevenly) and any batch split', () => {
  it('NTKRandomFeatures: dense float32/float64 and CSR, sync and async, into `out` views', async () => {
    for (const options of randomFeatureOptions) {
      const map = new NTKRandomFeatures(options);
      const f = map.features;
      const x = options.dtype === 'float64' ? X : X32;
      for (const kernel of ['ntk', 'nngp'] as const) {
        setThreads(1);
        const one = map.transformSync(mat(x, n, d), { kernel }).data;
        for (const threads of [2, 3, 5]) {
          setThreads(threads);
          expect(bitsEqual(map.transformSync(mat(x, n, d), { kernel }).data, one), `${threads} threads`).toBe(true);
        }
        // Row blocks written into one larger matrix through `out` views, the middle one async.
        const joined = ndarray(options.dtype === 'float64' ? new Float64Array(n * f) : new Float32Array(n * f), [n, f]);
        for (const [s, e] of splits) {
          const rows = mat(x.subarray(s * d, e * d), e - s, d);
          const out = joined.lo(s, 0).hi(e - s, f);
          if (s === 13) await map.transform(rows, { kernel, out });
          else map.transformSync(rows, { kernel, out });
        }
        expect(bitsEqual(joined.data as Float32Array, one), `${JSON.stringify(options)} ${kernel}`).toBe(true);
      }
    }
    const map = new NTKRandomFeatures(randomFeatureOptions[0]);
    const csr = { ...sparse.csr, data: Float32Array.from(sparse.csr.data) };
    const whole = map.transformSync(csr).data;
    setThreads(1);
    const f = map.features;
    for (const [s, e] of splits) {
      const indptr = sparse.csr.indptr.subarray(s, e + 1);
      const base = indptr[0];
      const part = map.transformSync({
        indptr: indptr.map((v) => v - base),
        indices: sparse.csr.indices.subarray(base, indptr[e - s]),
        data: csr.data.subarray(base, indptr[e - s]),
        shape: [e - s, d],
      }).data;
      expect(bitsEqual(part, whole.subarray(s * f, e * f))).toBe(true);
    }
  });

  it('exact NTK: a row block of K(X, Z) equals the same rows of the whole; X against itself equals K(X, X) off the diagonal', async () => {
    const Z = mat(X.subarray(0, 90 * d), 90, d);
    setThreads(2);
    const whole = ntkKernelSync(mat(X, n, d), Z, { depth: 3 });
    setThreads(1);
    for (const [s, e] of splits) {
      const part = s === 13
        ? await ntkKernel(mat(X.subarray(s * d, e * d), e - s, d), Z, { depth: 3 })
        : ntkKernelSync(mat(X.subarray(s * d, e * d), e - s, d), Z, { depth: 3 });
      expect(bitsEqual(part.ntk!.data, whole.ntk!.data.subarray(s * 90, e * 90)), `rows ${s}..${e}`).toBe(true);
      expect(bitsEqual(part.nngp!.data, whole.nngp!.data.subarray(s * 90, e * 90))).toBe(true);
    }
    // Off the diagonal (where the symmetric form uses the exact cosine 1),
    // K(Z, null) mirrors one triangle and K(Z, Z) computes both: a product
    // chain is the same either way round.
    const self = ntkKernelSync(Z, null, { depth: 3 }).ntk!.data, pair = ntkKernelSync(Z, Z, { depth: 3 }).ntk!.data;
    for (let i = 0; i < 90; i++) self[i * 90 + i] = pair[i * 90 + i];
    expect(bitsEqual(self, pair)).toBe(true);
  });

  it('RidgeRegression: partialFit in any batch split gives the same statistics and weights as one fit; predictions split by rows', async () => {
    const { phi, f, model } = ridgeCase();
    const y = Float32Array.from(targets());
    setThreads(2);
    const batched = new RidgeRegression({ lambda: model.lambda });
    for (const [s, e] of splits) {
      const rows = mat(phi.subarray(s * f, e * f), e - s, f), ys = mat(y.subarray(s * 3, e * 3), e - s, 3);
      if (s === 13) await batched.partialFit(rows, ys);
      else batched.partialFitSync(rows, ys);
    }
    expect(bitsEqual(batched.coefficients().data, model.coefficients().data)).toBe(true);
    const whole = model.predictSync(mat(phi, n, f)).data;
    setThreads(1);
    for (const [s, e] of splits) {
      expect(bitsEqual(model.predictSync(mat(phi.subarray(s * f, e * f), e - s, f)).data, whole.subarray(s * 3, e * 3))).toBe(true);
    }
  });

  it('LeverageSelection: the same columns, scales and features for 1, 2 or 3 threads', () => {
    const run = (threads: number) => {
      setThreads(threads);
      const pool = new NTKSketch({ inputDim: d, depth: 2, features: 512, seed: 3, exactCopies: false });
      const kept = new LeverageSelection({ map: pool, features: 128, seed: 5 }).fitSync(mat(X32.subarray(0, 200 * d), 200, d));
      return { columns: kept.columns, scales: kept.scales, phi: kept.transformSync(mat(X32, n, d)).data as Float32Array };
    };
    const one = run(1);
    for (const threads of [2, 3]) {
      const other = run(threads);
      expect(Array.from(other.columns)).toEqual(Array.from(one.columns));
      expect(bitsEqual(other.scales, one.scales)).toBe(true);
      expect(bitsEqual(other.phi, one.phi)).toBe(true);
    }
  });

  it('FeatureRidge: the Krylov lambda path (core GEMM only) gives the same errors, lambda and weights for 1, 2 or 3 threads', async () => {
    const ys = targets();
    const run = async (threads: number) => {
      setThreads(threads);
      const map = new NTKSketch({ inputDim: d, depth: 2, features: 256, seed: 4, dtype: 'float64' });
      const model = new FeatureRidge({ map, validation: 0.25, seed: 2, solver: 'krylov' });
      await model.fit(mat(X, n, d), mat(ys, n, 3));
      return { errors: Float64Array.from(model.lambdaPath, (p) => p.mse), lambda: model.lambda, info: model.lambdaPathInfo };
    };
    const one = await run(1);
    expect(one.info!.iterations).toBeGreaterThan(1);
    for (const threads of [2, 3]) {
      const other = await run(threads);
      expect(bitsEqual(other.errors, one.errors), `${threads} threads`).toBe(true);
      expect(other.lambda).toBe(one.lambda);
    }
  });
});

describe('across OpenBLAS kernel families and vector instruction sets', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const script = `import { summary } from './test/helpers/determinism-cases.ts'; console.log(JSON.stringify(summary()));`;
  function run(env: Record<string, string>): Summary {
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, ...env },
    });
    expect(child.status, child.stderr).toBe(0);
    return JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Summary;
  }
  const cpuFlags = (() => {
    try {
      return new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
    } catch {
      return new Set<string>();
    }
  })();
  // OpenBLAS's x86-64 families this machine can run (a DYNAMIC_ARCH build falls back when one is not built in).
  const x86 = process.platform === 'linux' && process.arch === 'x64' && cpuFlags.has('avx2') && cpuFlags.has('fma');
  const families = ['Haswell', 'Zen', 'Prescott', ...(openblasCoreTypeFor(cpuFlags) === 'SkylakeX' ? ['SkylakeX'] : [])];

  it.skipIf(!x86)('gives the same bits under every kernel family and instruction set; ridge weights (LAPACK Cholesky) within c m u kappa', () => {
    const here = run({});
    const runs = [
      ...families.map((core) => ({ label: core, result: run({ OPENBLAS_CORETYPE: core }) })),
      { label: 'avx2', result: run({ NTK_SKETCH_SIMD: 'avx2' }) },
      { label: 'baseline', result: run({ NTK_SKETCH_SIMD: 'baseline' }) },
    ];
    const cores = new Set([here.blasCore, ...runs.map((r) => r.result.blasCore)]);
    expect(cores.size).toBeGreaterThanOrEqual(3); // the families really changed
    expect(runs.find((r) => r.label === 'baseline')!.result.simd).toBe('baseline');
    const m = here.ridgeWeights.length / 3;
    // Cholesky's relative forward error is at most ~3 m u kappa (each run);
    // two runs differ by at most twice that.
    const bound = 2 * 3 * m * 2 ** -53 * here.ridgeCondition;
    const wmax = Math.max(...here.ridgeWeights.map(Math.abs));
    for (const { label, result } of runs) {
      expect(result.exact, label).toEqual(here.exact);
      let diff = 0;
      for (let i = 0; i < here.ridgeWeights.length; i++) diff = Math.max(diff, Math.abs(result.ridgeWeights[i] - here.ridgeWeights[i]));
      expect(diff / wmax, label).toBeLessThanOrEqual(bound);
    }
    expect(backends().cpu.blasCore.length).toBeGreaterThan(0);
  }, 300_000);
});
