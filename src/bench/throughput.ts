/**
 * Throughput suite: rows per second and GFLOP/s of featurisation (every map,
 * float32 and float64), the exact kernels, Gram accumulation (the streamed
 * normal equations) and the ridge solve, against baselines timed in the same
 * interleaved rounds: the machine's BLAS GEMM (float32 and float64) of the
 * shape of a dense random-feature layer (n x d by d x m), and a memory copy
 * of the output's size. Also the cost against n (four sizes; the fitted line
 * time = slope n + intercept and its relative residual show whether the cost
 * is linear in n) and against threads, and the transform paths of each
 * float32 row map against its default (float32 rows into a new array):
 * float64 rows, and a reused `out` buffer. With targets, the lambda path:
 * FeatureRidge choosing among 30 lambdas on validation rows from the
 * statistics (Krylov and eigendecomposition solvers) against one Cholesky
 * solve of the same m x m system.
 *
 * Ratios are per round (task time / baseline time in the same round), so
 * the noise that hits a round hits both; min / median / max over rounds.
 * Flop counts (what GFLOP/s divides): GEMM 2 n d m; featurisation the GEMM
 * of the same shape ("GEMM-equivalent"); the exact NTK's input Gram
 * 2 n^2 d; Gram accumulation n m (m + 1) (one triangle) ; the solve
 * m^3 / 3 + 2 m^2 k (Cholesky and two triangular solves).
 */
import os from 'node:os';
import { native, type FloatArray } from '../core/native.js';
import { setThreads } from '../core/backends.js';
import { ntkKernel } from '../kernels/ntk-kernel.js';
import { cntkKernel } from '../kernels/cntk-kernel.js';
import type { FeatureMap } from '../maps/feature-map.js';
import { FeatureRidge } from '../regression/feature-ridge.js';
import { linearFit, spread, type LinearFit, type Spread } from './stats.js';
import { timeInterleaved, type TimedTask } from './timing.js';
import { CNTK_FILTER, CNTK_PADDING, exactCntkRows, mapInput, type BenchMap } from './maps.js';
import type { BenchData } from './data.js';
import { mulberry32 } from '../core/random.js';

export interface ThroughputOptions {
  /** Rows featurised (training rows repeated when the data has fewer). */
  rows: number;
  features: number;
  depth: number;
  /** Rows of the exact kernels (n x n). */
  exactRows: number;
  /** Outputs of the solve's right-hand side. */
  outputs: number;
  rounds: number;
  /** Thread counts of the scaling figures (empty: none). */
  threads: readonly number[];
  /** Row counts of the scaling in n, as fractions of `rows`. */
  scalingFractions: readonly number[];
}

export interface SpeedFigure {
  /** Task name, unique in the run. */
  name: string;
  group: 'baseline' | 'featurise' | 'paths' | 'exact' | 'gram' | 'solve' | 'lambda-path' | 'scaling-n' | 'threads';
  map: string | null;
  dtype: 'float32' | 'float64' | null;
  rows: number;
  features: number | null;
  threads: number;
  ms: Spread;
  /** Absolute throughput: rows/s (featurisation, exact kernels: rows of the n x n kernel), GFLOP/s (GEMM, Gram, solve) or GB/s (copy). */
  rate: Spread;
  rateUnit: 'rows/s' | 'GFLOP/s' | 'GB/s' | 'lambdas/s';
  /** GFLOP/s by the flop count of the module doc, or null. */
  gflops: Spread | null;
  /** The baseline task, and time / baseline time per round. */
  baseline: string | null;
  ratio: Spread | null;
}

export interface ScalingFit extends LinearFit {
  map: string;
  /** Rows and median milliseconds of each size. */
  rows: number[];
  medianMs: number[];
}

export interface ThroughputResult {
  rows: number;
  features: number;
  depth: number;
  rounds: number;
  figures: SpeedFigure[];
  /** Milliseconds vs rows for each map (float32): the fitted line. */
  scaling: ScalingFit[];
  skipped: { map: string; reason: string }[];
}

/** `rows` rows of the training data and their targets, repeated as needed (float32 and float64). */
function tiledRows(data: BenchData, rows: number): { x64: Float64Array; x32: Float32Array; y: Float64Array | null } {
  const d = data.d, src = data.train.X, have = data.train.n, k = Math.max(data.targets, 1), ys = data.train.y;
  const x64 = new Float64Array(rows * d);
  const y = ys ? new Float64Array(rows * k) : null;
  for (let i = 0; i < rows; i++) {
    x64.set(src.subarray((i % have) * d, (i % have + 1) * d), i * d);
    if (y && ys) y.set(ys.subarray((i % have) * k, (i % have + 1) * k), i * k);
  }
  return { x64, x32: Float32Array.from(x64), y };
}

/** Lambdas of the lambda-path figures: 30 from 1e-7 to 10 (relative to the mean diagonal), log-spaced. */
export const PATH_LAMBDAS: readonly number[] = Array.from({ length: 30 }, (_, i) => 10 ** (-7 + (8 * i) / 29));

function gaussian(length: number, seed: number): Float64Array {
  const u = mulberry32(seed >>> 0);
  return Float64Array.from({ length }, () => Math.sqrt(-2 * Math.log(Math.max(u(), 1e-300))) * Math.cos(2 * Math.PI * u()));
}

interface Planned {
  task: TimedTask;
  figure: Omit<SpeedFigure, 'ms' | 'rate' | 'gflops' | 'ratio'>;
  /** Rate from milliseconds. */
  rate: (ms: number) => number;
  flops: number | null;
}

export async function throughputSuite(data: BenchData, maps: readonly BenchMap[], o: ThroughputOptions, progress: (label: string) => void = () => {}): Promise<ThroughputResult> {
  const n = o.rows, d = data.d, m = o.features, allThreads = native().backends().cpu.threads;
  const { x64, x32, y: targets } = tiledRows(data, n);
  const planned: Planned[] = [];
  const add = (p: Planned) => planned.push(p);
  const withThreads = (threads: number, run: () => unknown) => async () => {
    if (threads === allThreads) return run();
    setThreads(threads);
    try {
      return await run();
    } finally {
      setThreads(0);
    }
  };

  // Baselines: GEMM of a dense random-feature layer's shape, and a copy of the output's size.
  const w64 = gaussian(d * m, 7), w32 = Float32Array.from(w64);
  const c32 = new Float32Array(n * m), c64 = new Float64Array(n * m);
  const gemm = <T extends FloatArray>(a: T, b: T, c: T) => () => native().gemm({ transA: false, transB: false, m: n, n: m, k: d, alpha: 1, a, lda: d, b, ldb: m, beta: 0, c, ldc: m }, true);
  const gemmFlops = 2 * n * d * m;
  const base = { map: null, rows: n, features: m, threads: allThreads, baseline: null };
  add({ task: ['sgemm', gemm(x32, w32, c32)], figure: { ...base, name: 'sgemm', group: 'baseline', dtype: 'float32', rateUnit: 'GFLOP/s' }, rate: (ms) => gemmFlops / ms / 1e6, flops: gemmFlops });
  add({ task: ['dgemm', gemm(x64, w64, c64)], figure: { ...base, name: 'dgemm', group: 'baseline', dtype: 'float64', rateUnit: 'GFLOP/s' }, rate: (ms) => gemmFlops / ms / 1e6, flops: gemmFlops });
  const copyFrom = new Float32Array(n * m).fill(1), copyTo = new Float32Array(n * m);
  add({ task: ['copy', () => copyTo.set(copyFrom)], figure: { ...base, name: 'copy', group: 'baseline', dtype: 'float32', rateUnit: 'GB/s' }, rate: (ms) => (2 * copyFrom.byteLength) / ms / 1e6, flops: null });

  // Featurisation: every map, float32 and float64, against the GEMM of its dtype.
  const skipped: { map: string; reason: string }[] = [];
  const built: FeatureMap[] = [];
  const scalingRows = o.scalingFractions.map((f) => Math.max(1, Math.round(f * n)));
  for (const spec of maps) {
    const config = { inputDim: d, imageShape: data.imageShape, depth: o.depth, features: m, seed: 1 };
    const fitRows = Math.min(n, 2000);
    const reason = spec.unavailable({ ...config, dtype: 'float32' }, fitRows);
    if (reason) {
      skipped.push({ map: spec.name, reason });
      continue;
    }
    for (const dtype of ['float32', 'float64'] as const) {
      const map = await spec.create({ ...config, dtype }, { data: x64.subarray(0, fitRows * d), shape: [fitRows, d] });
      built.push(map);
      const x = dtype === 'float32' ? x32 : x64;
      const name = `${spec.name} ${dtype}`;
      const input = mapInput(map, x, n, d);
      add({
        task: [name, () => map.transform(input)],
        figure: { name, group: 'featurise', map: spec.name, dtype, rows: n, features: m, threads: allThreads, rateUnit: 'rows/s', baseline: dtype === 'float32' ? 'sgemm' : 'dgemm' },
        rate: (ms) => n / (ms / 1000), flops: gemmFlops,
      });
      if (dtype !== 'float32') continue;
      if (spec.exactKernel === 'ntk') {
        // Transform paths of a float32 map against its default (float32 rows into a new array): float64 rows
        // (what most JavaScript code holds; converted block by block) and a reused `out` buffer. Row maps only:
        // a convolutional map's time is its arithmetic, whatever the path.
        const reused = new Float32Array(n * m);
        const input64 = mapInput(map, x64, n, d);
        const paths: [string, () => unknown][] = [
          [`${name} from float64 rows`, () => map.transform(input64)],
          [`${name} into a reused out`, () => map.transform(input, { out: reused })],
        ];
        for (const [pname, run] of paths) {
          add({
            task: [pname, run],
            figure: { name: pname, group: 'paths', map: spec.name, dtype, rows: n, features: m, threads: allThreads, rateUnit: 'rows/s', baseline: name },
            rate: (ms) => n / (ms / 1000), flops: null,
          });
        }
      }
      for (const rows of scalingRows) {
        if (rows === n) continue;
        const sub = mapInput(map, x.subarray(0, rows * d), rows, d);
        const sname = `${spec.name} float32 n=${rows}`;
        add({
          task: [sname, () => map.transform(sub)],
          figure: { name: sname, group: 'scaling-n', map: spec.name, dtype, rows, features: m, threads: allThreads, rateUnit: 'rows/s', baseline: 'sgemm' },
          rate: (ms) => rows / (ms / 1000), flops: null,
        });
      }
      if (spec === maps.find((s) => !s.unavailable({ ...config, dtype }, fitRows))) {
        for (const threads of o.threads) {
          if (threads === allThreads) continue;
          const tname = `${spec.name} float32 ${threads} thread${threads > 1 ? 's' : ''}`;
          add({
            task: [tname, withThreads(threads, () => map.transform(input))],
            figure: { name: tname, group: 'threads', map: spec.name, dtype, rows: n, features: m, threads, rateUnit: 'rows/s', baseline: name },
            rate: (ms) => n / (ms / 1000), flops: gemmFlops,
          });
          const gname = `sgemm ${threads} thread${threads > 1 ? 's' : ''}`;
          add({
            task: [gname, withThreads(threads, gemm(x32, w32, c32))],
            figure: { ...base, name: gname, group: 'threads', dtype: 'float32', threads, rateUnit: 'GFLOP/s', baseline: 'sgemm' },
            rate: (ms) => gemmFlops / ms / 1e6, flops: gemmFlops,
          });
        }
      }
    }
  }

  // Exact kernels (n_e x n_e, both outputs), against the GEMM of their input Gram's size.
  const ne = Math.min(o.exactRows, n);
  const xe = x64.subarray(0, ne * d);
  const exactFlops = 2 * ne * ne * d;
  const ge = new Float64Array(ne * ne);
  add({
    task: ['dgemm X X^T', () => native().gemm({ transA: false, transB: true, m: ne, n: ne, k: d, alpha: 1, a: xe, lda: d, b: xe, ldb: d, beta: 0, c: ge, ldc: ne }, true)],
    figure: { ...base, name: 'dgemm X X^T', group: 'baseline', dtype: 'float64', rows: ne, features: null, rateUnit: 'GFLOP/s' },
    rate: (ms) => exactFlops / ms / 1e6, flops: exactFlops,
  });
  const exactFig = { group: 'exact' as const, map: null, dtype: 'float64' as const, rows: ne, features: null, threads: allThreads, rateUnit: 'rows/s' as const, baseline: 'dgemm X X^T' };
  if (maps.some((s) => s.exactKernel === 'ntk')) {
    add({ task: ['exact NTK', () => ntkKernel({ data: xe, shape: [ne, d] }, null, { depth: o.depth })], figure: { ...exactFig, name: 'exact NTK' }, rate: (ms) => ne / (ms / 1000), flops: exactFlops });
  }
  if (data.imageShape && maps.some((s) => s.exactKernel === 'cntk')) {
    // An eighth of the NTK's rows, fewer when the exact CNTK's cost asks (it runs once per round).
    const nc = exactCntkRows(data.imageShape, o.depth, Math.max(2, Math.round(ne / 8)));
    const xc = { data: x64.subarray(0, nc * d), shape: [nc, ...data.imageShape] };
    add({
      task: ['exact CNTK', () => cntkKernel(xc, null, { depth: o.depth, filterSize: CNTK_FILTER, padding: CNTK_PADDING })],
      figure: { ...exactFig, name: 'exact CNTK', rows: nc }, rate: (ms) => nc / (ms / 1000), flops: null,
    });
  }

  // Gram accumulation of n x m float32 features with k outputs, and the m x m solve.
  const k = o.outputs;
  const phi = Float32Array.from(gaussian(n * m, 11));
  const y = gaussian(n * k, 12);
  const gram = new Float64Array(m * m), rhs = new Float64Array(m * k);
  const gramFlops = n * m * (m + 1) + 2 * n * m * k;
  add({
    task: ['gram accumulation', () => native().gramAccumulate({ phi, n, m, y, k, gram, rhs }, true)],
    figure: { ...base, name: 'gram accumulation', group: 'gram', dtype: 'float32', rateUnit: 'GFLOP/s', baseline: 'sgemm' },
    rate: (ms) => gramFlops / ms / 1e6, flops: gramFlops,
  });
  const spd = new Float64Array(m * m);
  for (let i = 0; i < m; i++) spd[i * m + i] = 1;
  const weights = new Float64Array(m * k), status = new Float64Array(2), solveRhs = gaussian(m * k, 13);
  const solveFlops = m ** 3 / 3 + 2 * m * m * k;
  add({
    task: ['solve', () => native().ridgeSolve({ gram: spd, m, rhs: solveRhs, k, lambda: 1e-3, weights, status }, true)],
    figure: { ...base, name: 'solve', group: 'solve', dtype: 'float64', rows: m, rateUnit: 'GFLOP/s', baseline: 'dgemm' },
    rate: (ms) => solveFlops / ms / 1e6, flops: solveFlops,
  });

  // The lambda path: FeatureRidge choosing among 30 lambdas on its validation rows from the statistics alone
  // (then solving at the chosen one), per path solver, against one Cholesky solve of the same m x m size.
  const pathMap = built.find((map) => map.dtype === 'float32');
  if (pathMap && targets && data.task) {
    const task = data.task, options = { map: pathMap, task, validation: 0.1, lambdas: [...PATH_LAMBDAS], seed: 0 };
    const statistics = new FeatureRidge(options);
    const y = task === 'classification' ? targets : { data: targets, shape: [n, Math.max(data.targets, 1)] };
    await statistics.partialFit(mapInput(pathMap, x32, n, d), y);
    for (const solver of ['krylov', 'eigen'] as const) {
      const name = `lambda path, ${PATH_LAMBDAS.length} lambdas (${solver})`;
      add({
        task: [name, async () => {
          const model = new FeatureRidge({ ...options, solver });
          model.include(statistics);
          await model.solve();
        }],
        figure: { ...base, name, group: 'lambda-path', map: null, dtype: 'float64', rows: m, rateUnit: 'lambdas/s', baseline: 'solve' },
        rate: (ms) => PATH_LAMBDAS.length / (ms / 1000), flops: null,
      });
    }
  }

  progress(`throughput: ${planned.length} tasks x ${o.rounds} rounds`);
  const samples = await timeInterleaved(planned.map((p) => p.task), o.rounds);
  for (const map of built) map.dispose();

  const figures: SpeedFigure[] = planned.map((p) => {
    const ms = samples.get(p.figure.name)!;
    const baseMs = p.figure.baseline ? samples.get(p.figure.baseline) : undefined;
    const rates = ms.map(p.rate);
    return {
      ...p.figure,
      ms: spread(ms),
      rate: spread(rates),
      gflops: p.flops === null ? null : spread(ms.map((t) => p.flops! / t / 1e6)),
      ratio: baseMs ? spread(ms.map((t, r) => t / baseMs[r])) : null,
    };
  });
  const scaling: ScalingFit[] = [];
  for (const spec of maps) {
    const points = figures.filter((f) => f.map === spec.name && f.dtype === 'float32' && (f.group === 'scaling-n' || (f.group === 'featurise' && f.threads === allThreads)));
    if (points.length < 2) continue;
    points.sort((a, b) => a.rows - b.rows);
    const rows = points.map((f) => f.rows), medianMs = points.map((f) => f.ms.median);
    scaling.push({ map: spec.name, rows, medianMs, ...linearFit(rows, medianMs) });
  }
  return { rows: n, features: m, depth: o.depth, rounds: o.rounds, figures, scaling, skipped };
}

/** Thread counts 1, 2, 4, ... up to the machine's, and the machine's. */
export function threadLadder(): number[] {
  const all = native().backends().cpu.threads || os.cpus().length;
  const out: number[] = [];
  for (let t = 1; t < all; t *= 2) out.push(t);
  out.push(all);
  return out;
}
