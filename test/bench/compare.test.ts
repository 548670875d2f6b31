import { beforeAll, describe, expect, it } from 'vitest';
import { compareRuns } from '../../src/bench/compare.js';
import { reportMarkdown } from '../../src/bench/report.js';
import { runBench, type BenchResults } from '../../src/bench/run.js';

/** A tiny run: the fidelity and throughput suites of one map. */
const tinyRun = () => runBench({ suite: 'tiny', data: { kind: 'digits' }, maps: ['ntk-sketch'], only: ['fidelity', 'throughput'], backend: 'cpu', seed: 0, sizes: { rounds: 2, threads: false } });
const copy = (r: BenchResults): BenchResults => JSON.parse(JSON.stringify(r));

describe('compareRuns (repeatability of a run)', () => {
  let first: BenchResults, second: BenchResults;
  beforeAll(async () => {
    first = await tinyRun();
    second = await tinyRun();
  }, 60_000);

  it('finds the fidelity numbers of two runs with the same seeds identical, and compares every speed median', () => {
    const rep = compareRuns(first, second);
    expect(rep.fidelity.compared).toBe(2 * first.fidelity!.points.length);
    expect(rep.fidelity.changed).toEqual([]);
    expect(rep.accuracy).toEqual({ compared: 0, changed: [] });
    // Every figure's time, and the ratio of those with a baseline.
    const figures = second.throughput!.figures;
    expect(rep.speed.compared).toBe(figures.length + figures.filter((f) => f.ratio).length);
    for (const o of rep.speed.outside) expect(o.current.median < o.previous.min || o.current.median > o.previous.max).toBe(true);
  });

  it('names a changed fidelity number and a median outside the earlier spread', () => {
    const changed = copy(second);
    changed.fidelity!.points[1].gramError += 1e-12;
    const fig = changed.throughput!.figures.find((f) => f.name === 'sgemm')!;
    const before = first.throughput!.figures.find((f) => f.name === 'sgemm')!;
    fig.ms = { min: before.ms.max * 2, median: before.ms.max * 3, max: before.ms.max * 4 };
    const rep = compareRuns(first, changed);
    const p = changed.fidelity!.points[1];
    expect(rep.fidelity.changed).toEqual([{ what: `ntk-sketch ${p.kernel} depth ${p.depth} ${p.features} features: Gram error`, previous: first.fidelity!.points[1].gramError, current: p.gramError }]);
    expect(rep.speed.outside).toContainEqual({ what: 'sgemm', measure: 'ms', previous: before.ms, current: fig.ms });
    changed.repeatability = rep;
    const md = reportMarkdown(changed, []);
    expect(md).toMatch(/## Repeatability/);
    expect(md).toMatch(/fidelity \(Gram errors, spectral ε\) \| 1 of \d+ differ/);
    expect(md).toMatch(/\| sgemm \| ms \|/);
  });

  it('refuses runs of another configuration, naming what differs', () => {
    const other = copy(second);
    other.sizes.fidelityRows += 1;
    expect(() => compareRuns(first, other)).toThrow(/^compare: the earlier run measured other sizes/);
    const seed = copy(second);
    seed.seed = 5;
    expect(() => compareRuns(first, seed)).toThrow(/^compare: the earlier run measured other seed \(0, now 5\)/);
    expect(() => compareRuns({ schema: 'x' } as unknown as BenchResults, second)).toThrow(/^compare: not a results\.json of ntk-sketch bench \(schema x\)/);
  });
});
