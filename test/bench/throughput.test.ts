import { describe, expect, it } from 'vitest';
import { loadBenchData } from '../../src/bench/data.js';
import { BENCH_MAPS } from '../../src/bench/maps.js';
import { PATH_LAMBDAS, throughputSuite } from '../../src/bench/throughput.js';

describe('throughput suite figures', () => {
  it('times the transform paths against the default path and the lambda path against one Cholesky solve, in the same rounds', async () => {
    const data = await loadBenchData({ kind: 'digits' }, 200, 50, 0);
    const maps = BENCH_MAPS.filter((m) => m.name === 'ntk-sketch' || m.name === 'cntk-sketch');
    const r = await throughputSuite(data, maps, { rows: 200, features: 128, depth: 1, exactRows: 50, outputs: 10, rounds: 3, threads: [], scalingFractions: [1] });
    const byName = new Map(r.figures.map((f) => [f.name, f]));
    for (const name of ['ntk-sketch float32 from float64 rows', 'ntk-sketch float32 into a reused out']) {
      expect(byName.get(name)).toMatchObject({ group: 'paths', baseline: 'ntk-sketch float32', rows: 200, features: 128 });
      expect(byName.get(name)!.ratio!.median).toBeGreaterThan(0);
    }
    // Convolutional maps: no path figures.
    expect(r.figures.filter((f) => f.group === 'paths' && f.map === 'cntk-sketch')).toEqual([]);
    for (const solver of ['krylov', 'eigen']) {
      const f = byName.get(`lambda path, ${PATH_LAMBDAS.length} lambdas (${solver})`)!;
      expect(f).toMatchObject({ group: 'lambda-path', baseline: 'solve', rows: 128, rateUnit: 'lambdas/s' });
      // lambdas/s is the lambda count over the time of each round (the median of an odd count is a round's).
      expect(f.rate.median).toBeCloseTo(PATH_LAMBDAS.length / (f.ms.median / 1000), 6);
    }
  }, 60_000);

  it('has no lambda path without targets', async () => {
    const data = { ...(await loadBenchData({ kind: 'digits' }, 100, 20, 0)), task: null, targets: 0 };
    data.train = { ...data.train, y: null };
    const r = await throughputSuite(data, BENCH_MAPS.filter((m) => m.name === 'ntk-sketch'), { rows: 100, features: 64, depth: 1, exactRows: 20, outputs: 10, rounds: 1, threads: [], scalingFractions: [1] });
    expect(r.figures.filter((f) => f.group === 'lambda-path')).toEqual([]);
  }, 60_000);
});
