// NTKSketch's kept-rows maps (LeverageSelection's columns): built from a pool
// map whose layers they share. Their features against an independent
// computation from the pool's whole output, what they own, and what happens
// when the pool is disposed first.
import { describe, expect, it } from 'vitest';
import { LeverageSelection, NTKSketch, loadDigits } from '../../src/index.js';
import { native, type NativeNtkSketchMap } from '../../src/core/native.js';
import { mulberry32 } from '../../src/core/random.js';
import { bitsEqual, mat } from '../helpers/matrices.js';

const ds = loadDigits();
const d = 64, n = 40;
const X = Float64Array.from(ds.X.subarray(0, n * d));

/** A raw native pool with the parameters of an NTKSketch (the same map as its native half). */
function rawPool(features: number, sketchDim: number, dtype: 'float32' | 'float64'): NativeNtkSketchMap {
  const pool = new NTKSketch({ inputDim: d, depth: 2, features, sketchDim, seed: 7, exactCopies: false, dtype });
  const p = pool.polynomials;
  const k1 = p.k1.map((c) => Float64Array.from(c)), k0 = p.k0.map((c) => Float64Array.from(c));
  pool.dispose();
  return new (native().NtkSketchMap)({ inputDim: d, depth: 2, features, sketchDim, seed: 7, dtype, k1, k0, exactCopies: false });
}

/**
 * The pool's blocks, found from its output alone: every block has the same
 * share of a row's squared norm in every row (its weight), so the prefix
 * shares agree across rows exactly at block boundaries, and nowhere else.
 */
function blockStarts(P: Float64Array, rows: number, f: number): number[] {
  const share = (i: number) => {
    let total = 0;
    for (let j = 0; j < f; j++) total += P[i * f + j] ** 2;
    const s = [0];
    for (let j = 0, acc = 0; j < f; j++) s.push((acc += P[i * f + j] ** 2) / total);
    return s;
  };
  const shares = Array.from({ length: rows }, (_, i) => share(i));
  const starts: number[] = [];
  for (let c = 0; c < f; c++) if (shares.every((s) => Math.abs(s[c] - shares[0][c]) < 1e-11)) starts.push(c);
  return starts;
}

/** Kept row r of a block = P_r s_r rescaled so that the block's kept rows have the block's squared norm in P. */
function expectedKept(P: Float64Array, rows: number, f: number, cols: Int32Array, scales: Float64Array, starts: number[]): Float64Array {
  const k = cols.length;
  const out = new Float64Array(rows * k);
  const blockOf = (c: number) => starts.filter((s) => s <= c).length - 1;
  for (let i = 0; i < rows; i++) {
    const full = new Float64Array(starts.length), kept = new Float64Array(starts.length);
    for (let c = 0; c < f; c++) full[blockOf(c)] += P[i * f + c] ** 2;
    for (let t = 0; t < k; t++) kept[blockOf(cols[t])] += (P[i * f + cols[t]] * scales[t]) ** 2;
    for (let t = 0; t < k; t++) {
      const b = blockOf(cols[t]);
      out[i * k + t] = kept[b] > 0 ? P[i * f + cols[t]] * scales[t] * Math.sqrt(full[b] / kept[b]) : 0;
    }
  }
  return out;
}

describe('NTKSketch kept-rows maps share the pool layers', () => {
  it('give the pool columns times their scales, each pool block rescaled over its kept rows (independent computation)', () => {
    const f = 2048;
    const pool = rawPool(f, 256, 'float64');
    const rand = mulberry32(3);
    const picked: number[] = [];
    for (let c = 0; c < f; c++) if (rand() < 0.15) picked.push(c);
    const cols = Int32Array.from(picked);
    const scales = Float64Array.from(cols, () => 1 + 2 * rand());
    for (const kernel of ['ntk', 'nngp'] as const) {
      const P = new Float64Array(n * f);
      pool.transform({ x: X, n, out: P, kernel }, false);
      const starts = blockStarts(P, n, f);
      expect(starts.length).toBeGreaterThanOrEqual(4); // several blocks, found in every row alike
      const kept = new (native().NtkSketchMap)({ pool, kept: { rows: cols, scales, kernel } });
      const K = new Float64Array(n * cols.length);
      kept.transform({ x: X, n, out: K, kernel }, false);
      const want = expectedKept(P, n, f, cols, scales, starts);
      for (let i = 0; i < K.length; i++) expect(Math.abs(K[i] - want[i])).toBeLessThanOrEqual(1e-12 * Math.abs(want[i]) + 1e-14);
      kept.dispose();
    }
    pool.dispose();
  });

  it('own only their gathered blocks: parameterBytes a small fraction of the pool\'s', () => {
    const pool = rawPool(8192, 1024, 'float32');
    const cols = Int32Array.from({ length: 512 }, (_, i) => i * 16);
    const kept = new (native().NtkSketchMap)({ pool, kept: { rows: cols, scales: new Float64Array(512).fill(1), kernel: 'ntk' } });
    const own = kept.info().parameterBytes, all = pool.info().parameterBytes;
    // Per kept row: one int32 index per factor (one to a few) and its float32 scale; none of the pool's layers.
    expect(own).toBeGreaterThanOrEqual(512 * (4 + 4));
    expect(own).toBeLessThanOrEqual(512 * (8 * 4 + 4));
    expect(own).toBeLessThan(all / 10);
    expect(kept.info().workspaceBytes).toBe(pool.info().workspaceBytes);
    kept.dispose();
    pool.dispose();
  });

  it('keep working after the native pool is disposed (shared ownership), sync and with a transform in flight', async () => {
    const pool = rawPool(1024, 128, 'float32');
    const cols = Int32Array.from({ length: 100 }, (_, i) => i * 10);
    const kept = new (native().NtkSketchMap)({ pool, kept: { rows: cols, scales: new Float64Array(100).fill(1.5), kernel: 'ntk' } });
    const before = new Float32Array(n * 100);
    kept.transform({ x: X, n, out: before, kernel: 'ntk' }, false);
    const inFlight = new Float32Array(n * 100);
    const pending = kept.transform({ x: X, n, out: inFlight, kernel: 'ntk' }, true);
    pool.dispose();
    await pending;
    const after = new Float32Array(n * 100);
    kept.transform({ x: X, n, out: after, kernel: 'ntk' }, false);
    expect(bitsEqual(inFlight, before)).toBe(true);
    expect(bitsEqual(after, before)).toBe(true);
    kept.dispose();
    expect(() => kept.transform({ x: X, n, out: after, kernel: 'ntk' }, false)).toThrow(/disposed/);
  });

  it('LeverageSelection: a transform in flight outlives the pool\'s dispose(); later transforms are refused cleanly', async () => {
    const pool = new NTKSketch({ inputDim: d, depth: 2, features: 1024, seed: 2, exactCopies: false });
    const sel = new LeverageSelection({ map: pool, features: 64, seed: 3 }).fitSync(mat(X, n, d));
    const want = sel.transformSync(mat(X, n, d)).data;
    const pending = sel.transform(mat(X, n, d));
    pool.dispose();
    expect(bitsEqual((await pending).data, want)).toBe(true);
    expect(() => sel.transformSync(mat(X, n, d))).toThrow(/LeverageSelection.transform: the map has been disposed/);
    sel.dispose();
  });
});
