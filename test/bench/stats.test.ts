import { describe, expect, it } from 'vitest';
import { isNoisy, linearFit, NOISY_SPREAD, spread } from '../../src/bench/stats.js';
import { timeInterleaved } from '../../src/bench/timing.js';

describe('benchmark statistics', () => {
  it('spread gives min, median (mean of the middle two for even counts) and max', () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ min: 1, median: 2.5, max: 4 });
    expect(() => spread([])).toThrow(RangeError);
  });

  it('isNoisy flags rounds whose slowest takes more than NOISY_SPREAD times the fastest', () => {
    expect(isNoisy({ min: 10, median: 12, max: 10 * NOISY_SPREAD })).toBe(false);
    expect(isNoisy({ min: 10, median: 12, max: 10 * NOISY_SPREAD + 0.01 })).toBe(true);
  });

  it('linearFit recovers a line exactly and measures the residual of a bent one', () => {
    const x = [1, 2, 3, 4];
    const line = linearFit(x, x.map((v) => 2.5 * v + 1));
    expect(line.slope).toBeCloseTo(2.5, 12);
    expect(line.intercept).toBeCloseTo(1, 12);
    expect(line.relativeResidual).toBeLessThan(1e-12);
    expect(line.r2).toBeCloseTo(1, 12);
    // y = x^2 on 1..4: least squares slope 5, intercept -5, residuals 1, -1, -1, 1.
    const bent = linearFit(x, x.map((v) => v * v));
    expect(bent.slope).toBeCloseTo(5, 12);
    expect(bent.intercept).toBeCloseTo(-5, 12);
    expect(bent.relativeResidual).toBeCloseTo(Math.sqrt(4 / (1 + 16 + 81 + 256)), 12);
    expect(() => linearFit([1, 1], [2, 3])).toThrow(/distinct/);
  });

  it('timeInterleaved runs each task once per round after a warm-up round, rotating the order', async () => {
    const order: string[] = [];
    const samples = await timeInterleaved([['a', () => order.push('a')], ['b', () => order.push('b')], ['c', () => order.push('c')]], 2);
    expect(order).toEqual(['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    expect([...samples.keys()]).toEqual(['a', 'b', 'c']);
    for (const ms of samples.values()) expect(ms).toHaveLength(2);
    await expect(timeInterleaved([['a', () => 0], ['a', () => 0]], 1)).rejects.toThrow(/unique/);
    await expect(timeInterleaved([['a', () => 0]], 0)).rejects.toThrow(/rounds/);
  });
});
