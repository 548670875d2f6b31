// Golden files: documents saved by the 0.1.0 release (test/golden/saved-maps.json)
// must load and give the features that release gave, bit for bit, for every
// map, dense and CSR, float32 and float64, NTK and NNGP; and the same seed and
// options must build the same features. The one allowed exception is
// rounding where the core's own GEMM replaced BLAS's (README, determinism):
// maps whose weights come from a factorisation (orthogonal NTKRandomFeatures)
// and new LeverageSelection fits, checked here against the saved features
// within a few units in the last place; and new NTKNystrom fits, whose
// LAPACK eigenvectors may differ on another BLAS kernel family, checked by
// the inner products of their features (loaded NTKNystrom documents carry
// their projection and stay bit-identical). NTKNystrom came after 0.1.0: its
// entries were added to the file by `generate.ts --add`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SAMPLE_ROWS, goldenCases, hashOf, inputFor, type GoldenCase } from '../golden/golden-cases.js';

interface GoldenEntry {
  name: string;
  document: Record<string, unknown>;
  features: Record<string, string>;
  samples?: Record<string, number[]>;
}

const entries = JSON.parse(readFileSync(fileURLToPath(new URL('../golden/saved-maps.json', import.meta.url)), 'utf8')) as GoldenEntry[];

function features(c: GoldenCase, map: ReturnType<GoldenCase['load']>, kernel: 'ntk' | 'nngp', oneKernel: boolean) {
  return map.transformSync(inputFor(c), oneKernel ? undefined : { kernel }).data;
}

/**
 * Saved features vs new ones where rounding may move them: the weights or
 * leverage scores differ by a few units of float64 rounding, so a float32
 * feature moves by at most a few float32 ulps of the row's scale (allowed:
 * 2^-20 of the largest feature, 16 ulps), a float64 one by a few float64 ulps
 * (2^-48).
 */
function expectClose(actual: Float32Array | Float64Array, saved: number[], dtype: 'float32' | 'float64', label: string) {
  const scale = Math.max(...saved.map(Math.abs));
  const tolerance = (dtype === 'float32' ? 2 ** -20 : 2 ** -48) * scale;
  let worst = 0;
  for (let i = 0; i < saved.length; i++) worst = Math.max(worst, Math.abs(actual[i] - saved[i]));
  expect(worst, label).toBeLessThanOrEqual(tolerance);
}

/**
 * Nyström features of a new fit vs the saved ones: phi(x) = K(x, L) V_r
 * Lambda_r^(-1/2) may differ by a rotation of eigenvectors, so compare the
 * inner products phi(x) . phi(z) of the first SAMPLE_ROWS rows. Their
 * rounding is that of K(x, L) K(L, L)^+ K(L, z): relative m u kappa, kappa
 * the ratio of the largest to the smallest kept eigenvalue (saved in the
 * document) and u the unit roundoff of the dtype; allowed 4 m u kappa of the
 * largest inner product.
 */
function expectSameGram(actual: Float32Array | Float64Array, saved: number[], doc: Record<string, unknown>, dtype: 'float32' | 'float64', label: string) {
  const m = doc.landmarks as number, r = SAMPLE_ROWS;
  const kappa = (doc.largestEigenvalue as number) / (doc.smallestKeptEigenvalue as number);
  const u = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
  const gram = (f: ArrayLike<number>) =>
    Array.from({ length: r * r }, (_, t) => {
      let sum = 0;
      for (let k = 0; k < m; k++) sum += f[Math.floor(t / r) * m + k] * f[(t % r) * m + k];
      return sum;
    });
  const a = gram(actual), b = gram(saved);
  const scale = Math.max(...b.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst, label).toBeLessThanOrEqual(4 * m * u * kappa * scale);
}

describe('saved maps of the 0.1.0 release (golden files)', () => {
  it('the file covers every case (each map, dense and CSR, float32 and float64)', () => {
    expect(entries.map((e) => e.name)).toEqual(goldenCases.map((c) => c.name));
    for (const name of ['NTKSketch', 'NTKRandomFeatures', 'CNTKSketch', 'LeverageSelection', 'NTKNystrom']) {
      expect(entries.some((e) => e.name.startsWith(name))).toBe(true);
    }
  });

  for (const c of goldenCases) {
    const entry = entries.find((e) => e.name === c.name);
    it(`${c.name}: the saved document loads and gives the saved features${c.rounding ? ' (rounding allowed)' : ''}`, () => {
      expect(entry).toBeDefined();
      const oneKernel = typeof entry!.document.kernel === 'string';
      const loaded = c.load(entry!.document);
      for (const [kernel, hash] of Object.entries(entry!.features) as ['ntk' | 'nngp', string][]) {
        const phi = features(c, loaded, kernel, oneKernel);
        if (c.rounding === 'weights') expectClose(phi, entry!.samples![kernel], c.dtype, `${c.name} ${kernel}`);
        else expect(hashOf(phi), `${c.name} ${kernel}`).toBe(hash);
      }
    });

    it(`${c.name}: the same seed and options build the same features`, () => {
      const built = c.build();
      const document = JSON.parse(JSON.stringify(built)) as Record<string, unknown>;
      const oneKernel = typeof document.kernel === 'string';
      const map = c.load(document);
      for (const [kernel, hash] of Object.entries(entry!.features) as ['ntk' | 'nngp', string][]) {
        const phi = features(c, map, kernel, oneKernel);
        if (c.rounding === 'spectrum') expectSameGram(phi, entry!.samples![kernel], entry!.document, c.dtype, `${c.name} ${kernel}`);
        else if (c.rounding) expectClose(phi, entry!.samples![kernel], c.dtype, `${c.name} ${kernel}`);
        else expect(hashOf(phi), `${c.name} ${kernel}`).toBe(hash);
      }
      if (c.rounding === 'spectrum') {
        // The same landmarks; the spectrum may round differently.
        expect(document.landmarkRows).toEqual(entry!.document.landmarkRows);
        expect(document.rank).toBe(entry!.document.rank);
      } else if (c.rounding === 'fit') {
        // A new fit keeps the same columns; only the scales move by rounding.
        expect(document.columns).toEqual(entry!.document.columns);
      } else {
        expect(document).toEqual(entry!.document);
      }
    });
  }

  it('the stored samples are the first rows of the hashed features', () => {
    for (const e of entries) {
      if (!e.samples) continue;
      for (const values of Object.values(e.samples)) expect(values.length % SAMPLE_ROWS).toBe(0);
    }
  });
});
