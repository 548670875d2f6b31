import { describe, expect, it } from 'vitest';
import { BENCH_MAPS, EXACT_CNTK_ENTRY_BUDGET, exactCntkRows, selectMaps } from '../../src/bench/maps.js';

describe('benchmark map list', () => {
  it('selects maps by name in list order and names an unknown one', () => {
    expect(selectMaps(null).map((m) => m.name)).toEqual(BENCH_MAPS.map((m) => m.name));
    expect(selectMaps(['cntk-sketch', 'ntk-sketch']).map((m) => m.name)).toEqual(['ntk-sketch', 'cntk-sketch']);
    expect(() => selectMaps(['ntk-sketch', 'nystrom?'])).toThrow(/^maps: unknown map 'nystrom\?' \(known: ntk-sketch, ntk-rf, leverage, cntk-sketch\)/);
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
