/**
 * Repeatability of a benchmark run against an earlier one of the same
 * configuration (`ntk-sketch bench --compare OLD/results.json`): the
 * fidelity and accuracy numbers must be identical (same seeds, same
 * arithmetic), and each speed figure's median should fall within the
 * min – max spread the earlier run reported for it. Figures outside are
 * listed, not hidden: on a shared machine the load can change between runs
 * more than it does between the interleaved rounds of one run.
 */
import type { BenchResults } from './run.js';
import type { Spread } from './stats.js';

/** A number of two runs that should be identical and is not. */
export interface ChangedNumber {
  what: string;
  previous: number | null;
  current: number | null;
}

/** A speed figure whose median left the earlier run's spread. */
export interface OutsideSpread {
  what: string;
  /** 'ms' (the time) or 'ratio' (time / its baseline in the same rounds). */
  measure: 'ms' | 'ratio';
  previous: Spread;
  current: Spread;
}

export interface Repeatability {
  /** The earlier run's command, date and load averages (1, 5, 15 minutes) at its start and end. */
  previous: { command: string; date: string; loadAverage: number[]; loadAverageEnd: number[] };
  /** Numbers compared and those that differ (fidelity: Gram errors and spectral epsilons; accuracy: scores and lambdas). */
  fidelity: { compared: number; changed: ChangedNumber[] };
  accuracy: { compared: number; changed: ChangedNumber[] };
  /** Medians (times and ratios) compared and those outside the earlier spread. */
  speed: { compared: number; outside: OutsideSpread[] };
}

/** What a run measured: the fields two runs must share for their numbers to be comparable. */
export type RunConfiguration = Pick<BenchResults, 'suite' | 'sizes' | 'seed'> & { maps: readonly string[]; data?: BenchResults['data'] };

function configurationOf(r: BenchResults, withData: boolean): RunConfiguration {
  return { suite: r.suite, sizes: r.sizes, seed: r.seed, maps: r.maps.map((m) => m.name), ...(withData ? { data: r.data } : {}) };
}

/**
 * Checks that `previous` is a results.json of ntk-sketch bench that measured
 * `planned` (before a run: without the data, which loading describes), with
 * a RangeError naming `compare` and the first field that differs.
 */
export function checkComparable(previous: BenchResults, planned: RunConfiguration): void {
  if (previous?.schema !== 'ntk-sketch/bench-results') throw new RangeError(`compare: not a results.json of ntk-sketch bench (schema ${String(previous?.schema)})`);
  const before = configurationOf(previous, planned.data !== undefined);
  for (const key of ['suite', 'seed', 'maps', 'sizes', 'data'] as const) {
    if (JSON.stringify(before[key]) !== JSON.stringify(planned[key])) {
      throw new RangeError(`compare: the earlier run measured other ${key} (${JSON.stringify(before[key])}, now ${JSON.stringify(planned[key])}); rerun it with the same flags`);
    }
  }
}

/** Compares `current` with `previous` (a RangeError naming `compare` when their configurations differ). */
export function compareRuns(previous: BenchResults, current: BenchResults): Repeatability {
  checkComparable(previous, configurationOf(current, true));
  const exact = (pairs: [string, number | null, number | null][]) => {
    const changed: ChangedNumber[] = [];
    for (const [what, p, c] of pairs) if (!Object.is(p, c)) changed.push({ what, previous: p, current: c });
    return { compared: pairs.length, changed };
  };

  const fidelityPairs: [string, number | null, number | null][] = [];
  for (const c of current.fidelity?.points ?? []) {
    const key = `${c.map} ${c.kernel} depth ${c.depth} ${c.features} features`;
    const p = previous.fidelity?.points.find((x) => x.map === c.map && x.kernel === c.kernel && x.depth === c.depth && x.features === c.features);
    fidelityPairs.push([`${key}: Gram error`, p?.gramError ?? null, c.gramError], [`${key}: spectral epsilon`, p?.spectralEpsilon ?? null, c.spectralEpsilon]);
  }
  const accuracyPairs: [string, number | null, number | null][] = [];
  for (const c of current.accuracy?.points ?? []) {
    const key = `${c.method} depth ${c.depth}${c.features === null ? '' : ` ${c.features} features`}`;
    const p = previous.accuracy?.points.find((x) => x.method === c.method && x.depth === c.depth && x.features === c.features);
    accuracyPairs.push([`${key}: score`, p?.score ?? null, c.score], [`${key}: lambda`, p?.lambda ?? null, c.lambda]);
  }

  const outside: OutsideSpread[] = [];
  let compared = 0;
  const check = (what: string, measure: 'ms' | 'ratio', p: Spread | null | undefined, c: Spread | null | undefined) => {
    if (!p || !c) return;
    compared++;
    if (c.median < p.min || c.median > p.max) outside.push({ what, measure, previous: p, current: c });
  };
  for (const c of current.throughput?.figures ?? []) {
    const p = previous.throughput?.figures.find((x) => x.name === c.name);
    check(c.name, 'ms', p?.ms, c.ms);
    check(c.name, 'ratio', p?.ratio, c.ratio);
  }
  for (const c of current.sparsity?.points ?? []) {
    const p = previous.sparsity?.points.find((x) => x.map === c.map && x.series === c.series && x.inputDim === c.inputDim && x.nonZerosPerRow === c.nonZerosPerRow);
    const what = `${c.map} CSR d = ${c.inputDim}, ${c.nonZerosPerRow} non-zeros (${c.series} series)`;
    check(what, 'ms', p?.ms, c.ms);
    check(what, 'ratio', p?.ratioToDense, c.ratioToDense);
  }
  for (const c of current.formats?.formats ?? []) {
    const p = previous.formats?.formats.find((x) => x.name === c.name);
    check(`read ${c.name}`, 'ratio', p?.read.ratio, c.read.ratio);
    check(`end to end ${c.name}`, 'ratio', p?.endToEnd.ratio, c.endToEnd.ratio);
  }
  return {
    previous: { command: previous.command, date: previous.machine.date, loadAverage: previous.machine.cpu.loadAverage, loadAverageEnd: previous.loadAverageEnd ?? [] },
    fidelity: exact(fidelityPairs),
    accuracy: exact(accuracyPairs),
    speed: { compared, outside },
  };
}
