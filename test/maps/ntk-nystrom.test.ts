// NTKNystrom: features whose inner products are the exact kernel on the
// landmarks and on anything in their span, approximate it elsewhere with an
// error that falls with the landmarks; leverage landmarks beating uniform
// ones where the data call for it; rank-deficient landmark kernels (the
// cutoff); dense/CSR/dtype agreement; saving; the estimator and the CLI;
// bad input.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FeatureRidge, NTKNystrom, backends, isValidationRow, loadModel, mapFromJSON, ntkKernelSync, openData, readAll, setThreads } from '../../src/index.js';
import { mulberry32 } from '../../src/core/random.js';
import { bitsEqual, gram, mat, relFrobenius } from '../helpers/matrices.js';
import { spreadRows } from '../helpers/rows.js';
import { atb, denseSolve } from '../reference/dense-solve.js';
import { expectDocumentChecks } from '../helpers/saved-maps.js';

const d = 12;
const X = spreadRows(300, d, 3);
const Xrows = mat(X, 300, d);

/** max |a - b| / max |b|. */
/**
 * The documented checksum of a saved NTKNystrom: FNV-1a (32-bit) of
 * "format/version:" and its fields as key=value joined by ';', in the
 * document's order (a v1 document has no spectrum fields).
 */
function documentChecksum(doc: Record<string, unknown>): string {
  const text = `${String(doc.format)}/${String(doc.version)}:` +
    Object.keys(doc).filter((k) => !['format', 'version', 'checksum'].includes(k)).map((k) => `${k}=${String(doc[k])}`).join(';');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / s;
}

/** K(A, B) of the exact kernel between two distinct arrays (B copied, so that the call is never the symmetric one). */
function exactKernel(A: Float64Array, n: number, B: Float64Array, m: number, kernel: 'ntk' | 'nngp', depth = 2): Float64Array {
  const r = ntkKernelSync(mat(A, n, d), mat(B.slice(), m, d), { depth, output: kernel });
  return ('ntk' in r ? r.ntk.data : r.nngp.data) as Float64Array;
}

/** Phi_A Phi_B^T in float64. */
function cross(a: ArrayLike<number>, n: number, b: ArrayLike<number>, m: number, f: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < f; k++) s += a[i * f + k] * b[j * f + k];
      c[i * m + j] = s;
    }
  }
  return c;
}

describe('NTKNystrom features', () => {
  it.each([
    ['ntk', 'leverage', 1],
    ['nngp', 'uniform', 3],
  ] as const)('reproduce the exact %s kernel on the landmarks (%s landmarks, depth %i) to 1e-10 in float64', (kernel, sampling, depth) => {
    const m = 60;
    const map = new NTKNystrom({ depth, landmarks: m, kernel, sampling, seed: 5, dtype: 'float64' }).fitSync(Xrows);
    expect(map.info.rank).toBe(m);
    const L = map.landmarkRows as Float64Array;
    const FL = map.transformSync(mat(L, m, d)).data;
    expect(maxRel(gram(FL, m, m), exactKernel(L, m, L, m, kernel, depth))).toBeLessThan(1e-10);
    // Between a landmark and any row: K(x, l) exactly, since phi(l) spans what K(., l) sees.
    const FX = map.transformSync(Xrows).data;
    expect(maxRel(cross(FX, 300, FL, m, m), exactKernel(X, 300, L, m, kernel, depth))).toBeLessThan(1e-10);
    // The landmarks are rows of X, at the indices info reports.
    const idx = map.info.landmarkIndices as Int32Array;
    expect(idx.length).toBe(m);
    idx.forEach((r, t) => expect(Array.from(L.subarray(t * d, (t + 1) * d))).toEqual(Array.from(X.subarray(r * d, (r + 1) * d))));
  });

  it('approximate the kernel on held-out rows with an error that falls as landmarks are added', () => {
    const held = spreadRows(200, d, 11);
    const K = ntkKernelSync(mat(held, 200, d), null, { depth: 2, output: 'ntk' }).ntk.data;
    const errors = [10, 40, 160].map((m) => {
      const map = new NTKNystrom({ depth: 2, landmarks: m, seed: 1, dtype: 'float64' }).fitSync(Xrows);
      return relFrobenius(gram(map.transformSync(mat(held, 200, d)).data, 200, m), K);
    });
    // Measured 0.65, 0.47, 0.27: these rows' noise spreads the kernel's spectrum, so the error falls slowly.
    expect(errors[1]).toBeLessThan(0.85 * errors[0]);
    expect(errors[2]).toBeLessThan(0.7 * errors[1]);
    expect(errors[2]).toBeGreaterThan(1e-8); // not trivially exact: these rows are not in the landmarks' span
  });

  it('reproduce the exact kernel on every row when the landmarks span the data (positive multiples of landmark rows)', () => {
    // The NTK is positively homogeneous, K(c x, z) = c K(x, z): c l lies in the span of phi(l).
    const base = spreadRows(40, d, 21);
    const r = mulberry32(4);
    const n = 200;
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const c = 0.5 + 1.5 * r(), b = i % 40;
      for (let k = 0; k < d; k++) data[i * d + k] = c * base[b * d + k];
    }
    const map = new NTKNystrom({ depth: 2, landmarks: 40, seed: 2, dtype: 'float64' }).fitSync(mat(base, 40, d));
    const F = map.transformSync(mat(data, n, d)).data;
    const K = ntkKernelSync(mat(data, n, d), null, { depth: 2, output: 'ntk' }).ntk.data;
    // Parallel rows have cosines within an ulp of 1, where the exact kernel itself is good to ~1e-8 (arccos).
    expect(maxRel(gram(F, n, 40), K)).toBeLessThan(1e-7);
  });

  it('leverage landmarks beat uniform ones on a planted example: a tight cluster of 900 rows and 100 scattered ones', () => {
    const n = 1000, dd = 16, m = 60;
    const r = mulberry32(7);
    const g = () => {
      let s = 0;
      for (let i = 0; i < 12; i++) s += r();
      return s - 6;
    };
    const P = new Float64Array(n * dd);
    const centre = Array.from({ length: dd }, g);
    for (let i = 0; i < 900; i++) for (let k = 0; k < dd; k++) P[i * dd + k] = centre[k] + 0.05 * g();
    for (let i = 900; i < n; i++) for (let k = 0; k < dd; k++) P[i * dd + k] = g();
    const K = ntkKernelSync({ data: P, shape: [n, dd] }, null, { depth: 2, output: 'ntk' }).ntk.data;
    const run = (sampling: 'uniform' | 'leverage', seed: number) => {
      const map = new NTKNystrom({ depth: 2, landmarks: m, sampling, seed, dtype: 'float64' }).fitSync({ data: P, shape: [n, dd] });
      const F = map.transformSync({ data: P, shape: [n, dd] }).data;
      const scattered = (map.info.landmarkIndices as Int32Array).filter((i) => i >= 900).length;
      return { error: relFrobenius(gram(F, n, m), K), scattered };
    };
    for (const seed of [1, 2, 3]) {
      const u = run('uniform', seed), l = run('leverage', seed);
      // Uniform spends ~54 of 60 landmarks on the cluster; the scores send most to the scattered rows.
      expect(l.scattered).toBeGreaterThan(25);
      expect(u.scattered).toBeLessThan(15);
      expect(l.error).toBeLessThan(0.6 * u.error);
    }
  });

  it('are the same for dense and CSR input, any split of the rows, and float64 input to a float32 map (converted)', () => {
    const map = new NTKNystrom({ depth: 2, landmarks: 50, seed: 3 }).fitSync(Xrows);
    expect(map.dtype).toBe('float32');
    const dense = map.transformSync(Xrows).data;
    // CSR of the same rows, zeros left out.
    const indptr = [0], indices: number[] = [], values: number[] = [];
    for (let i = 0; i < 300; i++) {
      for (let k = 0; k < d; k++) {
        if (k % 3 === 1) continue;
        indices.push(k);
        values.push(X[i * d + k]);
      }
      indptr.push(indices.length);
    }
    const masked = Float64Array.from(X, (v, t) => ((t % d) % 3 === 1 ? 0 : v));
    const csr = { indptr, indices, data: Float64Array.from(values), shape: [300, d] };
    expect(bitsEqual(map.transformSync(csr).data, map.transformSync(mat(masked, 300, d)).data)).toBe(true);
    const f32 = map.transformSync(mat(Float32Array.from(X), 300, d)).data;
    expect(bitsEqual(dense, f32)).toBe(true);
    const parts = [map.transformSync(mat(X.subarray(0, 7 * d), 7, d)).data, map.transformSync(mat(X.subarray(7 * d), 293, d)).data];
    expect(bitsEqual(dense, Float32Array.from([...parts[0], ...parts[1]]))).toBe(true);
    // Float32 features: the landmark kernel to float32 accuracy.
    const L = Float64Array.from(map.landmarkRows);
    expect(maxRel(gram(map.transformSync(mat(L, 50, d)).data, 50, 50), exactKernel(L, 50, L, 50, 'ntk'))).toBeLessThan(1e-4);
  });

  it('are deterministic: the same seed gives the same landmarks and bit-identical features; async equals sync', async () => {
    const a = new NTKNystrom({ depth: 2, landmarks: 40, seed: 9 }).fitSync(Xrows);
    const b = await new NTKNystrom({ depth: 2, landmarks: 40, seed: 9 }).fit(Xrows);
    const c = new NTKNystrom({ depth: 2, landmarks: 40, seed: 10 }).fitSync(Xrows);
    expect(Array.from(b.info.landmarkIndices as Int32Array)).toEqual(Array.from(a.info.landmarkIndices as Int32Array));
    expect(Array.from(c.info.landmarkIndices as Int32Array)).not.toEqual(Array.from(a.info.landmarkIndices as Int32Array));
    expect(bitsEqual((await b.transform(Xrows)).data, a.transformSync(Xrows).data)).toBe(true);
    expect(a.info.levelLambdas.length).toBeGreaterThan(0);
  });

  it('fit, transform and a loaded map are bit-identical for any thread count', () => {
    const threads = backends().cpu.threads;
    const big = mat(spreadRows(600, d, 5), 600, d);
    const run = (t: number) => {
      setThreads(t);
      const map = new NTKNystrom({ depth: 2, landmarks: 300, seed: 2 }).fitSync(big);
      return { features: map.transformSync(big).data, loaded: mapFromJSON(JSON.stringify(map)).transformSync(big).data };
    };
    try {
      const one = run(1), two = run(2);
      expect(bitsEqual(one.features, two.features)).toBe(true);
      expect(bitsEqual(one.loaded, one.features)).toBe(true);
      expect(bitsEqual(two.loaded, one.features)).toBe(true);
    } finally {
      setThreads(threads);
    }
  });

  it('fit on CSR rows chooses what fit on the same dense rows chooses', () => {
    const indptr = [0], indices: number[] = [], values: number[] = [];
    for (let i = 0; i < 300; i++) {
      for (let k = 0; k < d; k++) if (X[i * d + k] !== 0) (indices.push(k), values.push(X[i * d + k]));
      indptr.push(indices.length);
    }
    const a = new NTKNystrom({ depth: 2, landmarks: 30, seed: 1, dtype: 'float64' }).fitSync({ indptr, indices, data: values, shape: [300, d] });
    const b = new NTKNystrom({ depth: 2, landmarks: 30, seed: 1, dtype: 'float64' }).fitSync(Xrows);
    expect(bitsEqual(a.landmarkRows, b.landmarkRows)).toBe(true);
  });
});

describe('NTKNystrom rank-deficient landmark kernels', () => {
  it('duplicate rows: the cutoff keeps the distinct directions (info.rank), the rest of the columns are zero, no NaN', () => {
    const distinct = spreadRows(10, d, 8);
    const n = 100;
    const dup = new Float64Array(n * d);
    for (let i = 0; i < n; i++) dup.set(distinct.subarray((i % 10) * d, (i % 10 + 1) * d), i * d);
    for (const sampling of ['uniform', 'leverage'] as const) {
      const map = new NTKNystrom({ depth: 2, landmarks: 50, sampling, seed: 1, dtype: 'float64' }).fitSync(mat(dup, n, d));
      const info = map.info;
      expect(info.rank).toBeLessThanOrEqual(10);
      expect(info.rank).toBeGreaterThan(0);
      expect(info.cutoff).toBe(1e-10);
      expect(info.threshold).toBeCloseTo(1e-10 * info.largestEigenvalue, 20);
      const F = map.transformSync(mat(dup, n, d)).data;
      expect(F.every(Number.isFinite)).toBe(true);
      for (let i = 0; i < n; i++) for (let k = info.rank; k < 50; k++) expect(F[i * 50 + k]).toBe(0);
      const chosen = new Set(Array.from(info.landmarkIndices as Int32Array, (r) => r % 10));
      expect(info.rank).toBe(chosen.size);
      if (chosen.size === 10) {
        // Identical rows' cosines are 1 within an ulp: the exact kernel is good to ~1e-8 there.
        const K = ntkKernelSync(mat(dup, n, d), null, { depth: 2, output: 'ntk' }).ntk.data;
        expect(maxRel(gram(F, n, 50), K)).toBeLessThan(1e-6);
      }
    }
  });

  it('zero rows: an all-zero sample gives rank 0 and zero features; zero rows among others are handled by the cutoff', () => {
    const zeros = new Float64Array(20 * d);
    const map = new NTKNystrom({ depth: 2, landmarks: 5, seed: 1 }).fitSync(mat(zeros, 20, d));
    expect(map.info.rank).toBe(0);
    const F = map.transformSync(Xrows).data;
    expect(F.every((v) => v === 0)).toBe(true);
    const mixed = Float64Array.from(X.subarray(0, 40 * d));
    mixed.fill(0, 0, 30 * d); // 30 zero rows, 10 others
    const u = new NTKNystrom({ depth: 2, landmarks: 20, sampling: 'uniform', seed: 1, dtype: 'float64' }).fitSync(mat(mixed, 40, d));
    const nonzero = (u.info.landmarkIndices as Int32Array).filter((r) => r >= 30).length;
    expect(u.info.rank).toBe(nonzero);
    expect(u.transformSync(mat(mixed, 40, d)).data.every(Number.isFinite)).toBe(true);
    // Leverage scores of zero rows vanish: all 10 non-zero rows are drawn first.
    const l = new NTKNystrom({ depth: 2, landmarks: 20, seed: 1, dtype: 'float64' }).fitSync(mat(mixed, 40, d));
    expect(l.info.rank).toBe(10);
  });
});

describe('NTKNystrom saved documents', () => {
  it('toJSON / mapFromJSON restore the landmarks and bit-identical features (float32 and float64)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const map = new NTKNystrom({ depth: 2, landmarks: 40, seed: 4, dtype, kernel: 'nngp' }).fitSync(Xrows);
      const text = JSON.stringify(map);
      const back = mapFromJSON(text) as NTKNystrom;
      expect(back).toBeInstanceOf(NTKNystrom);
      expect(back.toJSON()).toEqual(map.toJSON());
      expect(bitsEqual(back.landmarkRows, map.landmarkRows)).toBe(true);
      expect(bitsEqual(back.transformSync(Xrows).data, map.transformSync(Xrows).data)).toBe(true);
      const { fitRows: _f, landmarkIndices: _l, levelLambdas: _v, ...spectrum } = map.info;
      expect(back.info).toEqual({ ...spectrum, fitRows: null, landmarkIndices: null, levelLambdas: [] });
      // The landmarks (40 x d) and the projection (40 x rank) travel as base64 of their values: 4 or 8 bytes each, a third more as text.
      expect(text.length).toBeLessThan(1000 + (4 / 3) * 40 * (d + map.info.rank) * (dtype === 'float32' ? 4 : 8));
    }
  });

  it('a loaded map uses the stored projection (no eigendecomposition: the same bits on any BLAS); version 1 documents recompute it', () => {
    const map = new NTKNystrom({ depth: 2, landmarks: 12, seed: 2, dtype: 'float64' }).fitSync(Xrows);
    const doc = map.toJSON();
    expect(doc.version).toBe(2);
    // Scale the stored projection by 2 (checksum recomputed by a save of the edited map): features double,
    // which they would not if loading recomputed the projection.
    const loaded = NTKNystrom.fromJSON(doc);
    const { projection } = (loaded as unknown as { state: { projection: Float64Array } }).state;
    projection.forEach((v, i) => (projection[i] = 2 * v));
    const doubled = NTKNystrom.fromJSON(loaded.toJSON());
    const F = map.transformSync(Xrows).data, F2 = doubled.transformSync(Xrows).data;
    expect(F2.every((v, i) => v === 2 * F[i])).toBe(true);
    // Version 1: landmarks only; loading recomputes the projection from them, the same features on this machine.
    const { rank: _r, largestEigenvalue: _a, smallestKeptEigenvalue: _b, projection: _p, checksum: _c, ...v1 } = doc;
    const v1doc = { ...v1, version: 1 } as Record<string, unknown>;
    v1doc.checksum = documentChecksum(v1doc);
    const old = NTKNystrom.fromJSON(v1doc);
    expect(bitsEqual(old.transformSync(Xrows).data, F)).toBe(true);
    expect(() => NTKNystrom.fromJSON({ ...v1doc, rank: doc.rank })).toThrow(/json.rank is not a field/);
  });

  it('refuses other formats, missing, unknown, edited and truncated fields', () => {
    const doc = new NTKNystrom({ depth: 2, landmarks: 10, seed: 1 }).fitSync(Xrows).toJSON();
    expectDocumentChecks((j) => NTKNystrom.fromJSON(j), doc, 'NTKNystrom', 'ntk-sketch/ntk-sketch');
    expect(() => NTKNystrom.fromJSON({ ...doc, depth: 3 })).toThrow(/json.checksum .* does not match/);
    const short = { ...doc, landmarkRows: doc.landmarkRows.slice(0, 40) };
    expect(() => NTKNystrom.fromJSON({ ...short, checksum: undefined })).toThrow(/json.checksum is missing/);
    expect(() => NTKNystrom.fromJSON({ ...doc, sampling: 'best' })).toThrow(RangeError);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 10 }).toJSON()).toThrow(/call fit first/);
    // The spectrum fields: each checked, naming the field (checksums recomputed so the field check is what fails).
    const edit = (change: Record<string, unknown>) => {
      const e = { ...doc, ...change } as Record<string, unknown>;
      e.checksum = documentChecksum(e);
      return () => NTKNystrom.fromJSON(e);
    };
    expect(edit({ rank: 11 })).toThrow(/json.rank must be an integer in \[0, 10\]/);
    expect(edit({ rank: '3' })).toThrow(TypeError);
    expect(edit({ rank: doc.rank - 1 })).toThrow(/json.projection must hold landmarks x rank/);
    expect(edit({ projection: doc.projection.slice(0, 16) })).toThrow(/json.projection must hold/);
    expect(edit({ smallestKeptEigenvalue: 2 * doc.largestEigenvalue })).toThrow(/json.smallestKeptEigenvalue must be in/);
    expect(edit({ largestEigenvalue: -1 })).toThrow(/json.largestEigenvalue/);
    const nan = Buffer.from(doc.projection, 'base64');
    nan.writeFloatLE(Number.NaN, 0);
    expect(edit({ projection: nan.toString('base64') })).toThrow(/json.projection/);
  });
});

describe('NTKNystrom with the estimator and the CLI', () => {
  const target = (x: Float64Array, i: number) => Math.sin(2 * x[i * d]) + x[i * d + 1] * x[i * d + 2];

  it('FeatureRidge fits on its features: the centred ridge solution on transformSync features, computed densely', async () => {
    const m = 60, lambda = 1e-2;
    const map = new NTKNystrom({ depth: 2, landmarks: m, seed: 1, dtype: 'float64' }).fitSync(Xrows);
    const y = Float64Array.from({ length: 300 }, (_, i) => target(X, i));
    const model = await new FeatureRidge({ map, lambda }).fit(Xrows, y);
    const held = spreadRows(100, d, 31);
    const pred = (await model.predict(mat(held, 100, d))).data;
    // Reference: (Fc^T Fc + lambda I) w = Fc^T yc with centred features and targets; prediction (F - mu) w + ybar.
    const F = map.transformSync(Xrows).data, Fh = map.transformSync(mat(held, 100, d)).data;
    const mu = new Float64Array(m);
    for (let i = 0; i < 300; i++) for (let k = 0; k < m; k++) mu[k] += F[i * m + k] / 300;
    const ybar = y.reduce((a, b) => a + b, 0) / 300;
    const Fc = Float64Array.from(F, (v, t) => v - mu[t % m]);
    const A = atb(Fc, Fc, 300, m, m);
    for (let k = 0; k < m; k++) A[k * m + k] += lambda;
    const w = denseSolve(A, atb(Fc, Float64Array.from(y, (v) => v - ybar), 300, m, 1), m, 1);
    const expected = Array.from({ length: 100 }, (_, i) => {
      let s = ybar;
      for (let k = 0; k < m; k++) s += (Fh[i * m + k] - mu[k]) * w[k];
      return s;
    });
    expect(maxRel(pred, expected)).toBeLessThan(1e-8);
  });

  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'ntk-nystrom-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

  it('fit --method nystrom saves the landmarks in the model; predict and the loaded map agree with the library', async () => {
    const lines = ['a0,' + Array.from({ length: d - 1 }, (_, k) => `a${k + 1}`).join(',') + ',y'];
    for (let i = 0; i < 300; i++) lines.push([...X.subarray(i * d, (i + 1) * d), target(X, i)].map(String).join(','));
    writeFileSync(join(dir, 'train.csv'), lines.join('\n') + '\n');
    const f = cli('fit', '--data', join(dir, 'train.csv'), '--target', 'y', '--method', 'nystrom', '--features', '80', '--depth', '2',
      '--sampling', 'leverage', '--landmark-rows', '200', '--seed', '3', '--out', join(dir, 'm.ntkm'), '--json');
    expect(f.stderr).toBe('');
    expect(JSON.parse(f.stdout)).toMatchObject({ command: 'fit', map: 'NTKNystrom', features: 80 });
    const { map, model } = await loadModel(join(dir, 'm.ntkm'));
    // The landmarks come from the first 200 rows outside the validation split (default share 0.1, seed 3):
    // a validation row that were a landmark would be predicted through its own kernel function.
    const fitRows = Array.from({ length: 300 }, (_, i) => i).filter((i) => !isValidationRow(3, i, 0.1)).slice(0, 200);
    expect(fitRows[199]).toBeGreaterThan(199);
    const candidates = new Float64Array(fitRows.length * d);
    fitRows.forEach((r, t) => candidates.set(X.subarray(r * d, (r + 1) * d), t * d));
    const expected = new NTKNystrom({ depth: 2, landmarks: 80, seed: 3, inputDim: d }).fitSync(mat(candidates, fitRows.length, d));
    expect(bitsEqual((map as NTKNystrom).landmarkRows, expected.landmarkRows)).toBe(true);
    // With --lambda given there is no validation split: all of the first 200 rows are candidates.
    const g = cli('fit', '--data', join(dir, 'train.csv'), '--target', 'y', '--method', 'nystrom', '--features', '80', '--depth', '2',
      '--landmark-rows', '200', '--seed', '3', '--lambda', '1e-3', '--out', join(dir, 'g.ntkm'));
    expect(g.stderr).toBe('');
    const all = new NTKNystrom({ depth: 2, landmarks: 80, seed: 3, inputDim: d }).fitSync(mat(X.subarray(0, 200 * d), 200, d));
    expect(bitsEqual(((await loadModel(join(dir, 'g.ntkm'))).map as NTKNystrom).landmarkRows, all.landmarkRows)).toBe(true);
    expect(bitsEqual(map.transformSync(Xrows).data, expected.transformSync(Xrows).data)).toBe(true);
    const p = cli('predict', '--model', join(dir, 'm.ntkm'), '--data', join(dir, 'train.csv'), '--out', join(dir, 'p.npy'));
    expect(p.status).toBe(0);
    const pred = (await readAll(await openData(join(dir, 'p.npy')))).X.data;
    const mine = (await model.predict(Xrows)).data;
    for (let i = 0; i < 300; i++) expect(pred[i]).toBeCloseTo(mine[i], 5);
    // Flags of other methods, and bad values, are refused before any work.
    expect(cli('fit', '--data', join(dir, 'train.csv'), '--target', 'y', '--method', 'nystrom', '--features', '400', '--depth', '2', '--out', join(dir, 'x.ntkm')).stderr)
      .toMatch(/--features 400 landmarks need at least as many rows/);
    expect(cli('fit', '--data', join(dir, 'train.csv'), '--target', 'y', '--method', 'nystrom', '--features', '8', '--depth', '2', '--sampling', 'best', '--out', join(dir, 'x.ntkm')).stderr)
      .toMatch(/--sampling must be leverage or uniform/);
    expect(cli('fit', '--data', join(dir, 'train.csv'), '--target', 'y', '--method', 'ntk-rf', '--features', '8', '--depth', '2', '--sampling', 'uniform', '--out', join(dir, 'x.ntkm')).stderr)
      .toMatch(/--sampling applies to --method nystrom only/);
  });
});

describe('NTKNystrom bad input', () => {
  it('refuses bad options, naming them', () => {
    expect(() => new NTKNystrom(undefined as never)).toThrow(/NTKNystrom needs options \{ depth, landmarks \}/);
    expect(() => new NTKNystrom({ depth: 0, landmarks: 4 })).toThrow(/depth must be an integer in \[1, 1000\]/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 0 })).toThrow(/landmarks must be an integer in \[1, 65536\]/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, sampling: 'best' as never })).toThrow(/sampling must be 'uniform' or 'leverage'/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, kernel: 'cntk' as never })).toThrow(/kernel must be 'ntk' or 'nngp'/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, lambda: -1 })).toThrow(/lambda must be 'auto' or a number in \(0, 1e6\], got -1/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, lambda: 'big' as never })).toThrow(TypeError);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, cutoff: 1 })).toThrow(/cutoff must be a finite number in \[0, 1\)/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, cutoff: '1e-3' as never })).toThrow(TypeError);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, inputDim: 0 })).toThrow(/inputDim must be an integer/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, rank: 3 } as never)).toThrow(/rank is not a known option/);
    expect(new NTKNystrom({ depth: 2, landmarks: 4, dtype: 'float64' }).cutoff).toBe(1e-10);
    expect(new NTKNystrom({ depth: 2, landmarks: 4 }).cutoff).toBe(1e-6);
  });

  it('refuses more landmarks than rows, transform before fit, bad rows and another kernel; async calls reject', async () => {
    const map = new NTKNystrom({ depth: 2, landmarks: 20, seed: 1 });
    expect(() => map.transformSync(Xrows)).toThrow(/NTKNystrom.transform: call fit first/);
    await expect(map.transform(Xrows)).rejects.toThrow(/call fit first/);
    expect(() => map.inputLayout).toThrow(/unknown until fit/);
    expect(() => map.fitSync(mat(X.subarray(0, 10 * d), 10, d))).toThrow(/landmarks \(20\) must not exceed the 10 rows of X/);
    await expect(map.fit(mat(X.subarray(0, 10 * d), 10, d))).rejects.toThrow(RangeError);
    const bad = Float64Array.from(X);
    bad[17] = NaN;
    expect(() => map.fitSync(mat(bad, 300, d))).toThrow(/X must contain only finite numbers, found NaN at flat index 17/);
    expect(() => new NTKNystrom({ depth: 2, landmarks: 4, inputDim: 5 }).fitSync(Xrows)).toThrow(/X must have 5 columns/);
    map.fitSync(Xrows);
    expect(map.inputLayout).toEqual({ kind: 'rows', columns: d });
    expect(() => map.transformSync(mat(bad, 300, d))).toThrow(/X must contain only finite numbers, found NaN at flat index 17/);
    expect(() => map.transformSync({ indptr: [0, 1], indices: [0], data: [Infinity], shape: [1, d] })).toThrow(/X.data must contain only finite numbers/);
    expect(() => map.transformSync(mat(X.subarray(0, 8), 2, 4))).toThrow(/X must have 12 columns/);
    expect(() => map.transformSync(Xrows, { kernel: 'nngp' })).toThrow(/kernel must be 'ntk'/);
    expect(() => map.transformSync(Xrows, { out: new Float64Array(300 * 20) })).toThrow(/options.out must be a Float32Array/);
    map.dispose();
    expect(() => map.transformSync(Xrows)).toThrow(/disposed/);
    expect(() => map.fitSync(Xrows)).toThrow(/disposed/);
    expect(map.toJSON().landmarks).toBe(20);
  });
});
