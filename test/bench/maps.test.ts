import { describe, expect, it } from 'vitest';
import { fidelitySuite } from '../../src/bench/fidelity.js';
import { BENCH_MAPS, EXACT_CNTK_ENTRY_BUDGET, exactCntkRows, selectMaps } from '../../src/bench/maps.js';

describe('benchmark map list', () => {
  it('selects maps by name in list order and names an unknown one', () => {
    expect(selectMaps(null).map((m) => m.name)).toEqual(BENCH_MAPS.map((m) => m.name));
    expect(selectMaps(['cntk-sketch', 'ntk-sketch']).map((m) => m.name)).toEqual(['ntk-sketch', 'cntk-sketch']);
    expect(() => selectMaps(['ntk-sketch', 'nystrom?'])).toThrow(/^maps: unknown map 'nystrom\?' \(known: ntk-sketch, ntk-rf, leverage, cntk-sketch, nystrom\)/);
  });

  it('exactCntkRows takes the most images whose exact CNTK fits the entry budget', () => {
    const cost = (r: number, hw: number, depth: number, extra: number) => (r * (r + 1) / 2 + r * extra) * hw ** 2 * depth;
    for (const [shape, depth, extra] of [[[1, 28, 28], 2, 0], [[1, 28, 28], 3, 0.5], [[3, 32, 32], 1, 1]] as const) {
      const r = exactCntkRows(shape, depth, 1e6, extra);
      const hw = shape[1] * shape[2];
      expect(cost(r, hw, depth, extra)).toBeLessThanOrEqual(EXACT_CNTK_ENTRY_BUDGET);
      expect(cost(r + 1, hw, depth, extra)).toBeGreaterThan(EXACT_CNTK_ENTRY_BUDGET);
    }
    expect(exactCntkRows([1, 8, 8], 2, 400)).toBe(400); // small images: the rows asked for
    expect(exactCntkRows([1, 1024, 1024], 3, 400)).toBe(2); // never fewer than 2
  });
});

describe('the Nyström entry', () => {
  const nystrom = BENCH_MAPS.find((m) => m.name === 'nystrom')!;
  const d = 6;
  const rowsOf = (n: number, shift: number) => Float64Array.from({ length: n * d }, (_, i) => Math.sin(0.7 * i + shift) + 0.2 * Math.cos(1.9 * i));

  it('is unavailable, with the reason, when the rows to fit on are fewer than its landmarks', () => {
    const config = { inputDim: d, imageShape: null, depth: 2, features: 32, seed: 1, dtype: 'float32' as const };
    expect(nystrom.unavailable(config, 32)).toBeNull();
    expect(nystrom.unavailable(config, 31)).toBe('32 landmarks need at least 32 rows to choose from; the sample has 31');
  });

  it('builds a fitted map whose features are its landmarks, chosen from the rows it is given', async () => {
    const fit = rowsOf(40, 0);
    using map = await nystrom.create({ inputDim: d, imageShape: null, depth: 2, features: 8, seed: 3, dtype: 'float64' }, { data: fit, shape: [40, d] });
    expect(map.features).toBe(8);
    const landmarks = (map as unknown as { landmarkRows: Float64Array }).landmarkRows;
    for (let l = 0; l < 8; l++) {
      const row = landmarks.subarray(l * d, (l + 1) * d);
      const found = Array.from({ length: 40 }, (_, i) => fit.subarray(i * d, (i + 1) * d)).some((r) => r.every((v, t) => v === row[t]));
      expect(found).toBe(true);
    }
  });

  it('the fidelity suite fits it on the training rows after the measured ones and skips landmark counts above them', async () => {
    const train = rowsOf(50, 0);
    const data = {
      name: 'synthetic', d, imageShape: null, targets: 0, task: null, sparse: false,
      train: { X: train, n: 50, y: null }, test: { X: rowsOf(5, 1), n: 5, y: null },
    } as unknown as Parameters<typeof fidelitySuite>[0];
    const r = await fidelitySuite(data, [nystrom], { rows: 20, depths: [1], features: [10, 30, 31], seeds: [1], spectral: false });
    expect(r.skipped).toEqual([{ map: 'nystrom (31 features)', reason: '31 landmarks need at least 31 rows to choose from; the sample has 30' }]);
    expect(r.points.map((p) => [p.kernel, p.features])).toEqual([['ntk', 10], ['ntk', 30]]);
    // Held-out landmarks: the Gram error on the 20 measured rows is not the in-sample 0, and 30 landmarks do better than 10.
    const [ten, thirty] = r.points.map((p) => p.gramError);
    expect(thirty).toBeGreaterThan(1e-6);
    expect(thirty).toBeLessThan(ten);
  });
});
