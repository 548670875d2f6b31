/**
 * Exact convolutional NTK with global average pooling (SPEC §2.2): agreement
 * with a literal float64 reference, the q = 1 reduction to the fully connected
 * NTK, the infinite-width limit of an empirical CNN NTK, symmetry, PSD,
 * scaling, determinism, async and progress, input forms and bad input.
 */
import { describe, it, expect } from 'vitest';
import ndarray from 'ndarray';
import { cntkKernel, cntkKernelSync, ntkKernelSync, setThreads } from '../../src/index.js';
import { native } from '../../src/core/native.js';
import { expectThrows, maxRelErr } from '../helpers/assertions.js';
import { bitsEqual, jacobiEigenvalues, relFrobenius, type Arr } from '../helpers/matrices.js';
import { gaussian } from '../reference/ntk-reference.js';
import {
  cntkPairReference,
  cntkReference,
  empiricalCntk,
  gridEdges,
  normalisers,
  toImageList,
  type CntkArch,
  type ImageShape,
} from '../reference/cntk-reference.js';

function randomImages(seed: number, n: number, shape: ImageShape, scale = 1): Float64Array {
  const rng = gaussian(seed);
  return Float64Array.from({ length: n * shape.channels * shape.height * shape.width }, () => scale * rng());
}

function imgs(data: Float64Array | Float32Array | number[], n: number, shape: ImageShape) {
  return { data, shape: [n, shape.channels, shape.height, shape.width] };
}

const arch = (depth: number, filterSize: number, padding: 'valid' | 'same'): CntkArch => ({ depth, filterSize, padding });

describe('the reference itself', () => {
  it('N^h (SPEC recursion on patch sums of |x_p|^2) equals the diagonal of Gamma^h(x, x) from the literal tensors', () => {
    const shape = { channels: 2, height: 5, width: 4 };
    const x = randomImages(1, 1, shape);
    for (const a of [arch(2, 3, 'same'), arch(2, 3, 'valid'), arch(3, 1, 'same')]) {
      const pair = cntkPairReference(x, x, shape, a, true);
      const N = normalisers(x, shape, a);
      const grids = gridEdges(shape, a);
      for (let h = 1; h <= a.depth; h++) {
        const G = grids[h][0] * grids[h][1];
        for (let p = 0; p < G; p++) {
          expect(Math.abs(pair.gamma[h - 1][p * G + p] - N[h - 1][p])).toBeLessThanOrEqual(1e-13 * N[h - 1][p]);
        }
      }
    }
  });

  it("'same' padding keeps the grid, 'valid' shrinks it by q - 1 per layer", () => {
    expect(gridEdges({ channels: 1, height: 6, width: 5 }, arch(2, 3, 'valid'))).toEqual([[6, 5], [4, 3], [2, 1]]);
    expect(gridEdges({ channels: 1, height: 6, width: 5 }, arch(2, 3, 'same'))).toEqual([[6, 5], [6, 5], [6, 5]]);
  });
});

describe('cntkKernelSync agrees with the literal reference of SPEC §2.2', () => {
  const shape = { channels: 2, height: 5, width: 5 };
  const n = 4;
  const m = 3;
  const x = randomImages(2, n, shape, 2);
  const z = randomImages(3, m, shape);
  const cases: CntkArch[] = [
    arch(1, 3, 'valid'),
    arch(2, 3, 'valid'),
    arch(1, 3, 'same'),
    arch(2, 3, 'same'),
    arch(3, 3, 'same'),
    arch(1, 5, 'valid'),
    arch(2, 5, 'same'),
    arch(2, 2, 'valid'),
    arch(4, 2, 'valid'),
  ];
  for (const a of cases) {
    it(`depth ${a.depth}, filter ${a.filterSize}, ${a.padding}: X vs Z and X vs X within 1e-12 relative`, () => {
      const r = cntkKernelSync(imgs(x, n, shape), imgs(z, m, shape), a);
      expect(r.ntk.shape).toEqual([n, m]);
      expect(r.nngp.shape).toEqual([n, m]);
      expect(r.ntk.data).toBeInstanceOf(Float64Array);
      const ref = cntkReference(toImageList(x, n, shape), toImageList(z, m, shape), shape, a);
      expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(1e-12);
      expect(maxRelErr(r.nngp.data, ref.nngp)).toBeLessThan(1e-12);
      const s = cntkKernelSync(imgs(x, n, shape), null, a);
      const refS = cntkReference(toImageList(x, n, shape), null, shape, a);
      expect(s.ntk.shape).toEqual([n, n]);
      expect(maxRelErr(s.ntk.data, refS.ntk)).toBeLessThan(1e-12);
      expect(maxRelErr(s.nngp.data, refS.nngp)).toBeLessThan(1e-12);
    });
  }

  it('non-square images, 3 channels (rows and columns are not mixed up)', () => {
    const shp = { channels: 3, height: 4, width: 7 };
    const xa = randomImages(4, 3, shp);
    const za = randomImages(5, 2, shp);
    for (const a of [arch(2, 3, 'same'), arch(1, 3, 'valid'), arch(1, 4, 'valid')]) {
      const r = cntkKernelSync(imgs(xa, 3, shp), imgs(za, 2, shp), a);
      const ref = cntkReference(toImageList(xa, 3, shp), toImageList(za, 2, shp), shp, a);
      expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(1e-12);
      expect(maxRelErr(r.nngp.data, ref.nngp)).toBeLessThan(1e-12);
    }
  });

  it('images with zero regions (zero normalisers: Sigma = 0, no NaN) match the reference', () => {
    // A zero border two pixels wide around positive values, 2 channels. (With
    // one channel, or channels that vanish, patches of different pixels can be
    // exactly parallel: rho = 1 up to rounding, where arccos turns an ulp into
    // ~1e-8 and no two implementations agree better than that.)
    const shp = { channels: 2, height: 8, width: 8 };
    const rng = gaussian(6);
    const count = 3;
    const xa = new Float64Array(count * 128);
    for (let i = 0; i < count; i++) {
      for (let c = 0; c < 2; c++) {
        for (let r = 2; r < 6; r++) for (let col = 2; col < 6; col++) xa[i * 128 + c * 64 + r * 8 + col] = Math.abs(rng());
      }
    }
    for (const a of [arch(2, 3, 'same'), arch(3, 3, 'same'), arch(2, 3, 'valid'), arch(1, 1, 'same')]) {
      const r = cntkKernelSync(imgs(xa, count, shp), null, a);
      const ref = cntkReference(toImageList(xa, count, shp), null, shp, a);
      for (const v of r.ntk.data) expect(Number.isFinite(v)).toBe(true);
      expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(1e-12);
      expect(maxRelErr(r.nngp.data, ref.nngp)).toBeLessThan(1e-12);
    }
  });

  it('float32 images give float32 results within one float32 rounding (2^-24 relative) of the reference on the same values; Z follows X dtype', () => {
    const x32 = Float32Array.from(x);
    const z32 = Float32Array.from(z);
    const a = arch(2, 3, 'same');
    const r = cntkKernelSync(imgs(x32, n, shape), imgs(z32, m, shape), a);
    expect(r.ntk.data).toBeInstanceOf(Float32Array);
    expect(r.nngp.data).toBeInstanceOf(Float32Array);
    const ref = cntkReference(toImageList(x32, n, shape), toImageList(z32, m, shape), shape, a);
    // One rounding of a float64 result to float32, plus the float64 computation's own error.
    expect(maxRelErr(r.ntk.data, ref.ntk)).toBeLessThan(2 ** -24 + 1e-12);
    expect(maxRelErr(r.nngp.data, ref.nngp)).toBeLessThan(2 ** -24 + 1e-12);
    // float64 Z is converted to X's float32.
    const mixed = cntkKernelSync(imgs(x32, n, shape), imgs(z, m, shape), a);
    expect(bitsEqual(mixed.ntk.data, r.ntk.data)).toBe(true);
  });

  it("output: 'ntk' / 'nngp' return only that kernel, bit-identical to 'both'", () => {
    const a = arch(2, 3, 'same');
    const both = cntkKernelSync(imgs(x, n, shape), imgs(z, m, shape), a);
    const onlyNtk = cntkKernelSync(imgs(x, n, shape), imgs(z, m, shape), { ...a, output: 'ntk' });
    const onlyNngp = cntkKernelSync(imgs(x, n, shape), imgs(z, m, shape), { ...a, output: 'nngp' });
    expect('nngp' in onlyNtk).toBe(false);
    expect('ntk' in onlyNngp).toBe(false);
    expect(bitsEqual(onlyNtk.ntk.data, both.ntk.data)).toBe(true);
    expect(bitsEqual(onlyNngp.nngp.data, both.nngp.data)).toBe(true);
  });
});

describe('filter size 1: the mean over pixel pairs of the fully connected NTK', () => {
  // With q = 1 the patch sum is the identity and q^2 = 1, so T^L_{p,p'} is the
  // FC Theta^L of the channel vectors x_p, z_p' (SPEC §2.1), and the CNTK is
  // its mean over all pixel pairs.
  const shape = { channels: 3, height: 4, width: 3 };
  const P = shape.height * shape.width;
  const n = 3;
  const m = 2;
  const x = randomImages(7, n, shape);
  const z = randomImages(8, m, shape);

  /** n P x C matrix of the pixel vectors (channels of each pixel). */
  function pixelRows(data: Float64Array, count: number): { data: Float64Array; shape: number[] } {
    const out = new Float64Array(count * P * shape.channels);
    for (let i = 0; i < count; i++) {
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < shape.channels; c++) out[(i * P + p) * shape.channels + c] = data[(i * shape.channels + c) * P + p];
      }
    }
    return { data: out, shape: [count * P, shape.channels] };
  }

  function blockMeans(K: Arr, rows: number, cols: number): Float64Array {
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let p = 0; p < P; p++) for (let p2 = 0; p2 < P; p2++) s += K[(i * P + p) * cols * P + j * P + p2];
        out[i * cols + j] = s / (P * P);
      }
    }
    return out;
  }

  for (const depth of [1, 2, 3]) {
    for (const padding of ['valid', 'same'] as const) {
      it(`depth ${depth}, ${padding}: X vs Z and X vs X within 1e-12 of ntkKernelSync on the pixels`, () => {
        const a = arch(depth, 1, padding);
        const c = cntkKernelSync(imgs(x, n, shape), imgs(z, m, shape), a);
        const fc = ntkKernelSync(pixelRows(x, n), pixelRows(z, m), { depth });
        expect(maxRelErr(c.ntk.data, blockMeans(fc.ntk.data, n, m))).toBeLessThan(1e-12);
        expect(maxRelErr(c.nngp.data, blockMeans(fc.nngp.data, n, m))).toBeLessThan(1e-12);
        // Symmetric: both use the exact cosine 1 for a pixel with itself.
        const cs = cntkKernelSync(imgs(x, n, shape), null, a);
        const fcs = ntkKernelSync(pixelRows(x, n), null, { depth });
        expect(maxRelErr(cs.ntk.data, blockMeans(fcs.ntk.data, n, n))).toBeLessThan(1e-12);
        expect(maxRelErr(cs.nngp.data, blockMeans(fcs.nngp.data, n, n))).toBeLessThan(1e-12);
      });
    }
  }
});

describe('the infinite-width limit of an empirical CNN NTK (SPEC §2.2 network)', () => {
  // Empirical NTK of f_1 = conv(x, W_1), g_h = sqrt(2/width) relu(f_h),
  // f_(h+1) = conv(g_h, W_(h+1)) / q, out = v . mean_p g_L (all N(0, 1)) by
  // explicit backpropagation, averaged over seeds. Its fluctuation is
  // O(1/sqrt(width)); C = relErr * sqrt(width).
  // Calibration (seed groups of the same size, measured): depth 1: C = 0.08..0.51
  // (NTK) and 0.09..0.53 (NNGP) over 16 groups of 8 seeds at width 2048; depth 2:
  // C = 0.29..1.58 (NTK) and 0.38..1.72 (NNGP) over 11 groups of 4 seeds at width
  // 512. The width check compares the root-mean-square per-seed error at the
  // narrow and the wide width (expected ratio 4, measured 1.9..6.6).
  // Tolerances: about 2x the worst measured group.
  interface Case {
    depth: number;
    padding: 'valid' | 'same';
    side: number;
    wide: number;
    narrow: number;
    seeds: number;
    cNtk: number;
    cNngp: number;
  }
  const cases: Case[] = [
    { depth: 1, padding: 'valid', side: 6, wide: 2048, narrow: 128, seeds: 8, cNtk: 1, cNngp: 1.2 },
    { depth: 1, padding: 'same', side: 6, wide: 2048, narrow: 128, seeds: 8, cNtk: 1, cNngp: 1.2 },
    { depth: 2, padding: 'valid', side: 6, wide: 512, narrow: 32, seeds: 4, cNtk: 3, cNngp: 3.5 },
    { depth: 2, padding: 'same', side: 4, wide: 512, narrow: 32, seeds: 4, cNtk: 3, cNngp: 3.5 },
  ];
  const n = 4;

  for (const k of cases) {
    const shape = { channels: 2, height: k.side, width: k.side };
    it(`depth ${k.depth}, ${k.padding}, ${k.side} x ${k.side}: width ${k.wide} within ${k.cNtk}/sqrt(width), error shrinking from width ${k.narrow}`, () => {
      const x = randomImages(11, n, shape);
      const images = toImageList(x, n, shape);
      const a = arch(k.depth, 3, k.padding);
      const exact = cntkKernelSync(imgs(x, n, shape), null, a);
      function run(width: number) {
        const acc = new Float64Array(n * n);
        const accG = new Float64Array(n * n);
        let meanSq = 0;
        for (let s = 0; s < k.seeds; s++) {
          const e = empiricalCntk(images, shape, a, width, 1 + s + 1000 * width + 7 * k.depth);
          for (let i = 0; i < n * n; i++) {
            acc[i] += e.ntk[i] / k.seeds;
            accG[i] += e.nngp[i] / k.seeds;
          }
          meanSq += relFrobenius(e.ntk, exact.ntk.data) ** 2 / k.seeds;
        }
        return { acc, ntk: relFrobenius(acc, exact.ntk.data), nngp: relFrobenius(accG, exact.nngp.data), rms: Math.sqrt(meanSq) };
      }
      const wide = run(k.wide);
      const narrow = run(k.narrow);
      expect(wide.ntk).toBeLessThan(k.cNtk / Math.sqrt(k.wide));
      expect(wide.nngp).toBeLessThan(k.cNngp / Math.sqrt(k.wide));
      // Expected ratio sqrt(wide / narrow) = 4; require 1.5.
      expect(narrow.rms / wide.rms).toBeGreaterThan(1.5);
      // The comparison can tell a wrong recursion (one layer more or less) apart.
      const wrong = cntkKernelSync(imgs(x, n, shape), null, { ...a, depth: k.depth === 1 ? 2 : 1 });
      expect(relFrobenius(wide.acc, wrong.ntk.data)).toBeGreaterThan(3 * wide.ntk);
    });
  }
});

describe('symmetry, positive semi-definiteness and scaling', () => {
  const shape = { channels: 2, height: 6, width: 5 };

  it('X vs X is exactly symmetric, equals X vs Z with Z = X off the diagonal, and is PSD', () => {
    const n = 12;
    const x = randomImages(20, n, shape);
    for (const a of [arch(2, 3, 'same'), arch(2, 3, 'valid'), arch(1, 1, 'valid')]) {
      const s = cntkKernelSync(imgs(x, n, shape), null, a);
      const g = cntkKernelSync(imgs(x, n, shape), imgs(x, n, shape), a);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          expect(s.ntk.data[i * n + j]).toBe(s.ntk.data[j * n + i]);
          expect(s.nngp.data[i * n + j]).toBe(s.nngp.data[j * n + i]);
          const tol = i === j ? 1e-7 : 1e-12;
          expect(Math.abs(s.ntk.data[i * n + j] - g.ntk.data[i * n + j])).toBeLessThanOrEqual(tol * Math.abs(s.ntk.data[i * n + j]));
        }
      }
      for (const K of [s.ntk.data, s.nngp.data]) {
        const ev = jacobiEigenvalues(K, n);
        expect(ev[0]).toBeGreaterThan(-1e-12 * ev[n - 1]);
      }
    }
  });

  it('K(a x, b z) = a b K(x, z): bit-identical for powers of two (also 2^+-600), 1e-14 otherwise; no overflow at |x| ~ 1e150', () => {
    const n = 3;
    const x = randomImages(21, n, shape);
    const z = randomImages(22, 2, shape);
    const a = arch(2, 3, 'same');
    const base = cntkKernelSync(imgs(x, n, shape), imgs(z, 2, shape), a);
    const scaled = (v: Float64Array, f: number) => v.map((t) => t * f);
    const p2 = cntkKernelSync(imgs(scaled(x, 2 ** 600), n, shape), imgs(scaled(z, 2 ** -620), 2, shape), a);
    for (let i = 0; i < base.ntk.data.length; i++) {
      expect(p2.ntk.data[i]).toBe(base.ntk.data[i] * 2 ** -20);
      expect(p2.nngp.data[i]).toBe(base.nngp.data[i] * 2 ** -20);
    }
    const big = cntkKernelSync(imgs(scaled(x, 1e150), n, shape), imgs(scaled(z, 1e-150), 2, shape), a);
    expect(maxRelErr(big.ntk.data, base.ntk.data)).toBeLessThan(1e-14);
    const huge = cntkKernelSync(imgs(scaled(x, 1e150), n, shape), null, a);
    for (const v of huge.ntk.data) expect(Number.isFinite(v) && v !== 0).toBe(true);
  });

  it('a zero image gives a zero row and column (no NaN)', () => {
    const n = 3;
    const x = randomImages(23, n, shape);
    x.fill(0, 60, 120); // image 1
    const r = cntkKernelSync(imgs(x, n, shape), null, arch(2, 3, 'same'));
    for (let j = 0; j < n; j++) {
      expect(r.ntk.data[n + j]).toBe(0);
      expect(r.ntk.data[j * n + 1]).toBe(0);
      expect(r.nngp.data[n + j]).toBe(0);
    }
    expect(r.ntk.data[0]).toBeGreaterThan(0);
  });
});

describe('determinism and the work split', () => {
  const shape = { channels: 1, height: 9, width: 9 };
  const n = 14;
  const x = randomImages(30, n, shape);
  const z = randomImages(31, 5, shape);
  const a = arch(2, 3, 'same');

  it('setThreads(1) vs setThreads(2): bit-identical, X vs X and X vs Z, many pairs and a single pair', () => {
    try {
      for (const zz of [null, imgs(z, 5, shape)]) {
        setThreads(1);
        const one = cntkKernelSync(imgs(x, n, shape), zz, a);
        setThreads(2);
        const two = cntkKernelSync(imgs(x, n, shape), zz, a);
        expect(bitsEqual(one.ntk.data, two.ntk.data)).toBe(true);
        expect(bitsEqual(one.nngp.data, two.nngp.data)).toBe(true);
      }
      // One pair: split over displacement rows across threads.
      setThreads(1);
      const single1 = cntkKernelSync(imgs(x.subarray(0, 81), 1, shape), imgs(z.subarray(0, 81), 1, shape), a);
      setThreads(2);
      const single2 = cntkKernelSync(imgs(x.subarray(0, 81), 1, shape), imgs(z.subarray(0, 81), 1, shape), a);
      expect(bitsEqual(single1.ntk.data, single2.ntk.data)).toBe(true);
    } finally {
      setThreads(0);
    }
  });

  it('a pair gives the same bits alone (split over displacements) as inside a large block (one pair per thread)', () => {
    const full = cntkKernelSync(imgs(x, n, shape), imgs(z, 5, shape), a);
    for (const [i, j] of [[0, 0], [5, 3], [13, 4]]) {
      const alone = cntkKernelSync(imgs(x.subarray(i * 81, (i + 1) * 81), 1, shape), imgs(z.subarray(j * 81, (j + 1) * 81), 1, shape), a);
      expect(alone.ntk.data[0]).toBe(full.ntk.data[i * 5 + j]);
      expect(alone.nngp.data[0]).toBe(full.nngp.data[i * 5 + j]);
    }
    const sym = cntkKernelSync(imgs(x, n, shape), null, a);
    const self = cntkKernelSync(imgs(x.subarray(2 * 81, 3 * 81), 1, shape), null, a);
    expect(self.ntk.data[0]).toBe(sym.ntk.data[2 * n + 2]);
  });

  it('onProgress (row blocks) changes nothing: bit-identical results, done increasing to total', () => {
    for (const zz of [null, imgs(z, 5, shape)]) {
      const plain = cntkKernelSync(imgs(x, n, shape), zz, a);
      const calls: [number, number][] = [];
      const withProgress = cntkKernelSync(imgs(x, n, shape), zz, { ...a, onProgress: (d, t) => calls.push([d, t]) });
      expect(bitsEqual(plain.ntk.data, withProgress.ntk.data)).toBe(true);
      expect(bitsEqual(plain.nngp.data, withProgress.nngp.data)).toBe(true);
      const total = zz ? n * 5 : (n * (n + 1)) / 2;
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(calls[calls.length - 1]).toEqual([total, total]);
      for (let k = 1; k < calls.length; k++) expect(calls[k][0]).toBeGreaterThan(calls[k - 1][0]);
    }
  });
});

describe('async form and progress', () => {
  const shape = { channels: 2, height: 7, width: 7 };
  const n = 20;
  const x = randomImages(40, n, shape);
  const z = randomImages(41, 3, shape);
  const a = arch(2, 3, 'same');

  it('cntkKernel resolves to results bit-identical to cntkKernelSync (float64 and float32, X vs X and X vs Z)', async () => {
    for (const [xx, zz] of [
      [x, z],
      [Float32Array.from(x), Float32Array.from(z)],
    ] as const) {
      for (const zArg of [null, imgs(zz, 3, shape)]) {
        const sync = cntkKernelSync(imgs(xx, n, shape), zArg, a);
        const promise = cntkKernel(imgs(xx, n, shape), zArg, a);
        expect(promise).toBeInstanceOf(Promise);
        const result = await promise;
        expect(bitsEqual(result.ntk.data, sync.ntk.data)).toBe(true);
        expect(bitsEqual(result.nngp.data, sync.nngp.data)).toBe(true);
      }
    }
  });

  it('reports progress in several blocks between which the event loop runs', async () => {
    const calls: [number, number][] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      const r = await cntkKernel(imgs(x, n, shape), null, { ...a, onProgress: (d, t) => calls.push([d, t]) });
      expect(bitsEqual(r.ntk.data, cntkKernelSync(imgs(x, n, shape), null, a).ntk.data)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    const total = (n * (n + 1)) / 2;
    expect(calls.length).toBeGreaterThan(1);
    expect(calls[calls.length - 1]).toEqual([total, total]);
    for (let k = 1; k < calls.length; k++) expect(calls[k][0]).toBeGreaterThan(calls[k - 1][0]);
    expect(ticks).toBeGreaterThan(0);
  });

  it('concurrent async calls all give the right answer', async () => {
    const expected = cntkKernelSync(imgs(x, n, shape), imgs(z, 3, shape), a);
    const all = await Promise.all(Array.from({ length: 4 }, () => cntkKernel(imgs(x, n, shape), imgs(z, 3, shape), a)));
    for (const r of all) expect(bitsEqual(r.ntk.data, expected.ntk.data)).toBe(true);
  });

  it('rejects (does not throw) on bad input, with the right error class', async () => {
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = cntkKernel('X' as never, null, a);
    }).not.toThrow();
    await expect(promise).rejects.toThrow(TypeError);
    const bad = cntkKernel(imgs(x, n, shape), null, { ...a, filterSize: 4 });
    await expect(bad).rejects.toBeInstanceOf(RangeError);
    await expect(bad).rejects.toThrow(/filterSize/);
    const thrower = cntkKernel(imgs(x, n, shape), null, {
      ...a,
      onProgress: () => {
        throw new Error('stop here');
      },
    });
    await expect(thrower).rejects.toThrow(/stop here/);
  });
});

describe('input forms', () => {
  const shape = { channels: 2, height: 5, width: 4 };
  const n = 3;
  const x = randomImages(50, n, shape);
  const a = arch(2, 3, 'same');
  const expected = cntkKernelSync(imgs(x, n, shape), null, a);

  it('ndarray, number[] and strided views give the same bits as contiguous { data, shape }', () => {
    const r = cntkKernelSync(ndarray(x, [n, 2, 5, 4]), null, a);
    expect(bitsEqual(r.ntk.data, expected.ntk.data)).toBe(true);
    const plain = cntkKernelSync({ data: Array.from(x), shape: [n, 2, 5, 4] }, null, a);
    expect(plain.ntk.data).toBeInstanceOf(Float64Array);
    expect(bitsEqual(plain.ntk.data, expected.ntk.data)).toBe(true);
    // Stored as n x H x W x C (channels last) and viewed as n x C x H x W.
    const hwc = new Float64Array(x.length);
    for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) for (let p = 0; p < 20; p++) hwc[i * 40 + p * 2 + c] = x[i * 40 + c * 20 + p];
    const view = ndarray(hwc, [n, 5, 4, 2]).transpose(0, 3, 1, 2);
    expect(view.shape).toEqual([n, 2, 5, 4]);
    const rv = cntkKernelSync(view, null, a);
    expect(bitsEqual(rv.ntk.data, expected.ntk.data)).toBe(true);
    // An offset view of images 1..2.
    const sliced = ndarray(x, [n, 2, 5, 4]).lo(1, 0, 0, 0);
    const rs = cntkKernelSync(sliced, null, a);
    expect(rs.ntk.data[0]).toBe(expected.ntk.data[1 * n + 1]);
    expect(rs.ntk.get(1, 0)).toBe(expected.ntk.data[2 * n + 1]);
  });
});

describe('bad input: the error class and a message naming the argument', () => {
  const shape = { channels: 2, height: 6, width: 6 };
  const x = imgs(randomImages(60, 3, shape), 3, shape);
  const a = arch(2, 3, 'same');

  it('wrong types are TypeErrors', () => {
    expectThrows(() => cntkKernelSync('X' as never, null, a), TypeError, /\bX\b/);
    expectThrows(() => cntkKernelSync(x, 'Z' as never, a), TypeError, /\bZ\b/);
    expectThrows(() => cntkKernelSync({ data: new Int32Array(72), shape: [1, 2, 6, 6] } as never, null, a), TypeError, /X\.data/);
    expectThrows(() => cntkKernelSync({ data: new Float64Array(72) } as never, null, a), TypeError, /X\.shape/);
    expectThrows(() => cntkKernelSync(x, null, undefined as never), TypeError, /options/);
    expectThrows(() => cntkKernelSync(x, null, null as never), TypeError, /options/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, depth: '2' } as never), TypeError, /depth/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, filterSize: undefined } as never), TypeError, /filterSize/);
    expectThrows(() => cntkKernelSync(x, null, { depth: 2, filterSize: 3 } as never), TypeError, /padding/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, padding: 1 } as never), TypeError, /padding/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, onProgress: 'yes' } as never), TypeError, /onProgress/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, memoryLimit: '1e9' } as never), TypeError, /memoryLimit/);
  });

  it('wrong rank, empty or mismatched images are RangeErrors naming X or Z', () => {
    expectThrows(() => cntkKernelSync({ data: new Float64Array(72), shape: [2, 36] }, null, a), RangeError, /\bX\b.*4-dimensional/);
    expectThrows(() => cntkKernelSync({ data: new Float64Array(72), shape: [2, 6, 6] }, null, a), RangeError, /\bX\b.*4-dimensional.*\[n, 1, height, width\]/);
    expectThrows(() => cntkKernelSync({ data: new Float64Array(0), shape: [0, 2, 6, 6] }, null, a), RangeError, /\bX\b.*at least one image/);
    expectThrows(() => cntkKernelSync({ data: new Float64Array(0), shape: [1, 0, 6, 6] }, null, a), RangeError, /\bX\b.*channel/);
    expectThrows(() => cntkKernelSync({ data: new Float64Array(70), shape: [1, 2, 6, 6] }, null, a), RangeError, /\bX\b/);
    expectThrows(() => cntkKernelSync(x, imgs(new Float64Array(108), 1, { channels: 3, height: 6, width: 6 }), a), RangeError, /\bZ\b.*2 channels/);
    expectThrows(() => cntkKernelSync(x, imgs(new Float64Array(60), 1, { channels: 2, height: 6, width: 5 }), a), RangeError, /\bZ\b.*6 x 6/);
    expectThrows(() => cntkKernelSync(x, { data: new Float64Array(72), shape: [2, 36] }, a), RangeError, /\bZ\b.*4-dimensional/);
  });

  it('filterSize, depth and padding out of range are RangeErrors naming the option', () => {
    for (const filterSize of [0, 7, 2.5, NaN, -1]) expectThrows(() => cntkKernelSync(x, null, { ...a, filterSize }), RangeError, /filterSize/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, filterSize: 7, padding: 'valid' }), RangeError, /filterSize.*6 x 6/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, filterSize: 4 }), RangeError, /filterSize.*odd/);
    for (const depth of [0, 1.5, NaN, Infinity, 100000]) expectThrows(() => cntkKernelSync(x, null, { ...a, depth }), RangeError, /depth/);
    // 6 x 6 with 3 x 3 'valid' filters: 6 -> 4 -> 2 -> nothing at depth 3.
    expect(() => cntkKernelSync(x, null, { depth: 2, filterSize: 3, padding: 'valid' })).not.toThrow();
    expectThrows(() => cntkKernelSync(x, null, { depth: 3, filterSize: 3, padding: 'valid' }), RangeError, /depth.*at most 2/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, padding: 'full' } as never), RangeError, /padding/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, output: 'both!' } as never), RangeError, /output/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, dpeth: 2 } as never), RangeError, /dpeth/);
    expectThrows(() => cntkKernelSync(x, null, { ...a, memoryLimit: -1 }), RangeError, /memoryLimit/);
  });

  it('NaN and Infinity in X or Z are RangeErrors that say where', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const data = randomImages(61, 2, shape);
      data[40] = bad;
      expectThrows(() => cntkKernelSync(imgs(data, 2, shape), null, a), RangeError, /\bX\b.*finite.*index 40/);
      expectThrows(() => cntkKernelSync(x, imgs(data, 2, shape), a), RangeError, /\bZ\b.*finite/);
    }
  });

  it('work above memoryLimit is refused with a RangeError naming memoryLimit', () => {
    expectThrows(() => cntkKernelSync(x, null, { ...a, memoryLimit: 100 }), RangeError, /memoryLimit/);
    expect(() => cntkKernelSync(x, null, { ...a, memoryLimit: 1e6 })).not.toThrow();
    // 1e6 one-pixel images (a stride-0 view of one) need a 1e6 x 1e6 result: refused before the work.
    const many = { data: new Float64Array(1), shape: [1_000_000, 1, 1, 1], stride: [0, 1, 1, 1] };
    expectThrows(() => cntkKernelSync(many, null, { depth: 1, filterSize: 1, padding: 'same' }), RangeError, /memoryLimit/);
  });
});

describe('raw addon guards', () => {
  const addon = native();

  it('refuse short arrays, bad shapes and bad row ranges instead of touching memory', () => {
    const prep = new Float64Array(10);
    const shape = { channels: 1, height: 4, width: 4, depth: 1, filterSize: 3, padding: 'same' as const };
    expect(() => addon.cntkPrepare({ shape, x: new Float64Array(10), n: 1, prep: new Float64Array(1000) }, false)).toThrow(/X is too short/);
    expect(() => addon.cntkPrepare({ shape, x: new Float64Array(16), n: 1, prep }, false)).toThrow(/prep is too short/);
    expect(() => addon.cntkLayout({ channels: 1, height: 4, width: 4, depth: 1, filterSize: 2, padding: 'same' })).toThrow(/odd/);
    expect(() => addon.cntkLayout({ channels: 1, height: 4, width: 4, depth: 2, filterSize: 3, padding: 'valid' })).toThrow(/nothing/);
    const per = addon.cntkLayout(shape).prepDoubles;
    const px = new Float64Array(2 * per);
    expect(() => addon.cntkPairs({ shape, prepX: px, n: 2, prepZ: null, m: 0, rowBegin: 0, rowEnd: 3, ntkOut: new Float64Array(4), nngpOut: null }, false)).toThrow(/rowEnd/);
    expect(() => addon.cntkPairs({ shape, prepX: px, n: 2, prepZ: null, m: 0, rowBegin: 0, rowEnd: 2, ntkOut: new Float64Array(3), nngpOut: null }, false)).toThrow(/ntkOut is too short/);
    expect(() => addon.cntkPairs({ shape, prepX: px, n: 3, prepZ: null, m: 0, rowBegin: 0, rowEnd: 2, ntkOut: new Float64Array(9), nngpOut: null }, false)).toThrow(/prepX is too short/);
    expect(() => addon.cntkPairs({ shape, prepX: px, n: 2, prepZ: null, m: 0, rowBegin: 0, rowEnd: 2, ntkOut: null, nngpOut: null }, false)).toThrow(/both null/);
  });
});
