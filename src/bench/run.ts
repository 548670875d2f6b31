/**
 * `runBench`: the benchmark tool's entry point (the `ntk-sketch bench`
 * subcommand calls it). Loads the data, runs the suites a preset names at
 * its sizes (each size can be overridden), and returns every raw number with
 * the machine it ran on; writeReport turns the result into report.md,
 * results.json and SVG plots.
 *
 * Presets (sizes below): 'tiny' (seconds; tests), 'quick' (under 3 minutes
 * on 2 cores with the digits), 'full' (what the README quotes; about 10
 * minutes on a busy 2-core machine). Sizes beyond them (more rows, 16,384
 * features, Fashion-MNIST) are options of runBench and flags of the CLI.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { accuracySuite, type AccuracyResult } from './accuracy.js';
import { backendSuite, type BackendResult } from './backend-comparison.js';
import type { Repeatability } from './compare.js';
import { loadBenchData, type DataRequest } from './data.js';
import { fidelitySuite, type FidelityResult } from './fidelity.js';
import { formatsSuite, type FormatsResult } from './formats.js';
import { describeMachine, type MachineInfo } from './machine.js';
import { selectMaps } from './maps.js';
import { sparsitySuite, type SparsityResult } from './sparsity.js';
import { threadLadder, throughputSuite, type ThroughputResult } from './throughput.js';

export const SUITE_PRESETS = ['tiny', 'quick', 'full'] as const;
export type SuitePreset = (typeof SUITE_PRESETS)[number];
export const SUITE_NAMES = ['fidelity', 'accuracy', 'throughput', 'sparsity', 'formats', 'backends'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** The sizes of every suite. */
export interface SuiteSizes {
  fidelityRows: number;
  depths: number[];
  fidelityFeatures: number[];
  seeds: number[];
  spectral: boolean;
  trainRows: number;
  testRows: number;
  accuracyDepths: number[];
  accuracyFeatures: number[];
  exactRidge: boolean;
  /** Training / test rows of the CNTK comparison (the first ones of the split). */
  cntkTrainRows: number;
  cntkTestRows: number;
  throughputRows: number;
  throughputFeatures: number;
  exactRows: number;
  rounds: number;
  threads: boolean;
  scalingFractions: number[];
  sparseRows: number;
  sparseFeatures: number;
  sparseDim: number;
  sparseNonZeros: number[];
  sparseDims: number[];
  sparseFixedNonZeros: number;
  /** Columns of the dense rows the CSR cases are compared with. */
  sparseDenseDim: number;
  /** Rows written to each file of the data-formats suite. */
  formatRows: number;
}

export const PRESET_SIZES: Record<SuitePreset, SuiteSizes> = {
  tiny: {
    fidelityRows: 60, depths: [1], fidelityFeatures: [64, 256], seeds: [1], spectral: true,
    trainRows: 200, testRows: 100, accuracyDepths: [1], accuracyFeatures: [256], exactRidge: true, cntkTrainRows: 100, cntkTestRows: 50,
    throughputRows: 200, throughputFeatures: 256, exactRows: 100, rounds: 1, threads: false, scalingFractions: [0.5, 1],
    sparseRows: 100, sparseFeatures: 256, sparseDim: 1024, sparseNonZeros: [4, 16], sparseDims: [256, 1024], sparseFixedNonZeros: 8, sparseDenseDim: 256,
    formatRows: 300,
  },
  quick: {
    fidelityRows: 250, depths: [1, 2], fidelityFeatures: [256, 1024, 4096], seeds: [1], spectral: true,
    trainRows: 1437, testRows: 360, accuracyDepths: [2], accuracyFeatures: [512, 2048], exactRidge: true, cntkTrainRows: 300, cntkTestRows: 150,
    throughputRows: 2000, throughputFeatures: 1024, exactRows: 500, rounds: 5, threads: true, scalingFractions: [0.25, 0.5, 1],
    sparseRows: 1000, sparseFeatures: 1024, sparseDim: 16384, sparseNonZeros: [8, 32, 128, 512], sparseDims: [1024, 16384, 131072], sparseFixedNonZeros: 32, sparseDenseDim: 1000,
    formatRows: 10000,
  },
  full: {
    fidelityRows: 400, depths: [1, 2, 3], fidelityFeatures: [256, 1024, 4096], seeds: [1, 2, 3], spectral: true,
    trainRows: 5000, testRows: 2000, accuracyDepths: [1, 2, 3], accuracyFeatures: [512, 2048], exactRidge: true, cntkTrainRows: 300, cntkTestRows: 150,
    throughputRows: 3000, throughputFeatures: 1024, exactRows: 2000, rounds: 4, threads: true, scalingFractions: [0.25, 0.5, 0.75, 1],
    sparseRows: 2000, sparseFeatures: 1024, sparseDim: 65536, sparseNonZeros: [8, 32, 128, 512], sparseDims: [1024, 16384, 131072, 1048576], sparseFixedNonZeros: 32, sparseDenseDim: 1000,
    formatRows: 30000,
  },
};

export interface BenchOptions {
  suite: SuitePreset;
  data: DataRequest;
  /** Map names (BENCH_MAPS), or null for all. */
  maps: string[] | null;
  /** Which suites run (default all). */
  only: SuiteName[] | null;
  backend: 'cpu' | 'cuda' | 'auto';
  /** Seed of the data split and the ridge validation rows (the maps' seeds are the fidelity seeds, 1 elsewhere). */
  seed: number;
  /** Overrides of the preset's sizes. */
  sizes: Partial<SuiteSizes>;
  /** Told each finished step. */
  progress?: (message: string) => void;
}

export interface BenchResults {
  schema: 'ntk-sketch/bench-results';
  version: 1;
  /** The command line that reproduces the run (without --out). */
  command: string;
  suite: SuitePreset;
  data: { name: string; d: number; imageShape: number[] | null; trainRows: number; testRows: number; task: string | null; sparse: boolean };
  maps: { name: string; label: string; exactKernel: string }[];
  sizes: SuiteSizes;
  seed: number;
  machine: MachineInfo;
  /** Seconds each suite took. */
  seconds: Partial<Record<SuiteName | 'total', number>>;
  /** The 1, 5 and 15 minute load averages when the run ended (machine.cpu.loadAverage has them at the start). */
  loadAverageEnd: number[];
  /** This run against an earlier one of the same configuration (--compare), or null. */
  repeatability: Repeatability | null;
  fidelity: FidelityResult | null;
  accuracy: AccuracyResult | null;
  throughput: ThroughputResult | null;
  sparsity: SparsityResult | null;
  /** Reading each file format, and reading + featurising, against featurising from memory. */
  formats: FormatsResult | null;
  backends: BackendResult | null;
}

export async function runBench(options: BenchOptions, command = ''): Promise<BenchResults> {
  const t0 = performance.now();
  const sizes: SuiteSizes = { ...PRESET_SIZES[options.suite], ...options.sizes };
  const maps = selectMaps(options.maps);
  const only = new Set<SuiteName>(options.only ?? SUITE_NAMES);
  const progress = options.progress ?? (() => {});
  const data = await loadBenchData(options.data, sizes.trainRows, sizes.testRows, options.seed);
  const results: BenchResults = {
    schema: 'ntk-sketch/bench-results',
    version: 1,
    command,
    suite: options.suite,
    data: { name: data.name, d: data.d, imageShape: data.imageShape, trainRows: data.train.n, testRows: data.test.n, task: data.task, sparse: data.sparse },
    maps: maps.map((m) => ({ name: m.name, label: m.label, exactKernel: m.exactKernel })),
    sizes,
    seed: options.seed,
    machine: describeMachine(),
    seconds: {},
    loadAverageEnd: [],
    repeatability: null,
    fidelity: null,
    accuracy: null,
    throughput: null,
    sparsity: null,
    formats: null,
    backends: null,
  };
  const timed = async <T>(name: SuiteName, run: () => Promise<T>): Promise<T | null> => {
    if (!only.has(name)) return null;
    const start = performance.now();
    const out = await run();
    results.seconds[name] = Number(((performance.now() - start) / 1000).toFixed(2));
    progress(`${name} suite: ${results.seconds[name]} s`);
    return out;
  };
  results.fidelity = await timed('fidelity', () =>
    fidelitySuite(data, maps, { rows: sizes.fidelityRows, depths: sizes.depths, features: sizes.fidelityFeatures, seeds: sizes.seeds, spectral: sizes.spectral }, progress));
  results.accuracy = await timed('accuracy', async () =>
    data.task === null ? null : accuracySuite(data, maps, { depths: sizes.accuracyDepths, features: sizes.accuracyFeatures, seed: options.seed, exact: sizes.exactRidge, convolutionalRows: { train: sizes.cntkTrainRows, test: sizes.cntkTestRows } }, progress));
  const depth = sizes.accuracyDepths.includes(2) ? 2 : sizes.accuracyDepths[0];
  results.throughput = await timed('throughput', () =>
    throughputSuite(data, maps, {
      rows: sizes.throughputRows, features: sizes.throughputFeatures, depth, exactRows: sizes.exactRows, outputs: 10, rounds: sizes.rounds,
      threads: sizes.threads ? threadLadder() : [], scalingFractions: sizes.scalingFractions,
    }, progress));
  results.sparsity = await timed('sparsity', () =>
    sparsitySuite(maps, {
      rows: sizes.sparseRows, features: sizes.sparseFeatures, depth, fixedDim: sizes.sparseDim, nonZeros: sizes.sparseNonZeros,
      dims: sizes.sparseDims, fixedNonZeros: sizes.sparseFixedNonZeros, denseDim: sizes.sparseDenseDim, rounds: sizes.rounds,
    }, progress));
  results.formats = await timed('formats', () =>
    formatsSuite(data, { rows: sizes.formatRows, features: sizes.throughputFeatures, depth, rounds: sizes.rounds }, progress));
  results.backends = await timed('backends', () =>
    backendSuite(data, { backend: options.backend, rows: sizes.throughputRows, features: sizes.throughputFeatures, depth, exactRows: sizes.exactRows, rounds: sizes.rounds }));
  results.seconds.total = Number(((performance.now() - t0) / 1000).toFixed(2));
  results.loadAverageEnd = os.loadavg().map((l) => Number(l.toFixed(2)));
  return results;
}
