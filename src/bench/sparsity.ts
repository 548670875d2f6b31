/**
 * Input-sparsity suite: featurisation time of CSR rows against their
 * non-zeros, at a fixed input dimension (growing non-zeros per row) and at a
 * fixed number of non-zeros (growing input dimension), for every map that
 * reads CSR rows. A map whose cost follows the non-zeros shows a line in the
 * first series (fitted slope and residual) and a flat second series. The
 * baselines, timed in the same rounds: a copy of the output's size, and the
 * same map on dense rows of `denseDim` columns (a CSR row costing about a
 * dense row of that width means the input's non-zeros, not its dimension,
 * set the cost).
 * Rows: `nnz` distinct columns drawn uniformly per row, values N(0, 1/nnz)
 * (rows of norm about 1), seeded.
 */
import type { FeatureMap } from '../maps/feature-map.js';
import type { RowsLike } from '../core/inputs.js';
import { linearFit, spread, type LinearFit, type Spread } from './stats.js';
import { timeInterleaved, type TimedTask } from './timing.js';
import type { BenchMap } from './maps.js';
import { mulberry32 } from '../core/random.js';

export interface SparsityOptions {
  rows: number;
  features: number;
  depth: number;
  /** The input dimension of the growing-non-zeros series. */
  fixedDim: number;
  nonZeros: readonly number[];
  /** Input dimensions of the fixed-non-zeros series. */
  dims: readonly number[];
  fixedNonZeros: number;
  /** Input dimension of the dense rows each CSR case is compared with (the same map on dense rows). */
  denseDim: number;
  rounds: number;
}

export interface SparsityPoint {
  map: string;
  series: 'non-zeros' | 'dimension';
  inputDim: number;
  nonZerosPerRow: number;
  ms: Spread;
  rowsPerSecond: Spread;
  /** Time / the output copy's time, per round. */
  ratio: Spread;
  /** Time / the same map's time on dense rows of `denseDim` columns, per round. */
  ratioToDense: Spread;
}

export interface SparsityResult {
  rows: number;
  features: number;
  depth: number;
  rounds: number;
  copyMs: Spread;
  denseDim: number;
  /** Each map's time on dense rows of denseDim columns. */
  dense: { map: string; ms: Spread }[];
  points: SparsityPoint[];
  /** Median ms against non-zeros per row (fixed dimension), per map. */
  fits: (LinearFit & { map: string })[];
  skipped: { map: string; reason: string }[];
}

/** Seeded CSR rows: n rows of `nnz` distinct columns in [0, d). */
export function randomCsr(n: number, d: number, nnz: number, seed: number): { indptr: Int32Array; indices: Int32Array; data: Float32Array; shape: [number, number] } {
  const u = mulberry32(seed >>> 0);
  const k = Math.min(nnz, d);
  const indptr = new Int32Array(n + 1), indices = new Int32Array(n * k), data = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const cols = new Set<number>();
    while (cols.size < k) cols.add(Math.floor(u() * d));
    const sorted = [...cols].sort((a, b) => a - b);
    for (let j = 0; j < k; j++) {
      indices[i * k + j] = sorted[j];
      data[i * k + j] = (Math.sqrt(-2 * Math.log(Math.max(u(), 1e-300))) * Math.cos(2 * Math.PI * u())) / Math.sqrt(k);
    }
    indptr[i + 1] = (i + 1) * k;
  }
  return { indptr, indices, data, shape: [n, d] };
}

function densify(csr: ReturnType<typeof randomCsr>, rows: number): Float64Array {
  const d = csr.shape[1], out = new Float64Array(rows * d);
  for (let i = 0; i < rows; i++) for (let p = csr.indptr[i]; p < csr.indptr[i + 1]; p++) out[i * d + csr.indices[p]] = csr.data[p];
  return out;
}

export async function sparsitySuite(maps: readonly BenchMap[], o: SparsityOptions, progress: (label: string) => void = () => {}): Promise<SparsityResult> {
  const n = o.rows, m = o.features;
  const cases = [
    ...o.nonZeros.map((nnz) => ({ series: 'non-zeros' as const, d: o.fixedDim, nnz })),
    ...o.dims.filter((d) => d !== o.fixedDim || !o.nonZeros.includes(o.fixedNonZeros)).map((d) => ({ series: 'dimension' as const, d, nnz: o.fixedNonZeros })),
  ];
  const inputs = cases.map((c, i) => randomCsr(n, c.d, c.nnz, 100 + i));
  const copyFrom = new Float32Array(n * m).fill(1), copyTo = new Float32Array(n * m);
  const tasks: TimedTask[] = [['copy', () => copyTo.set(copyFrom)]];
  const built: FeatureMap[] = [];
  const skipped: { map: string; reason: string }[] = [];
  const meta = new Map<string, { map: string; series: SparsityPoint['series']; d: number; nnz: number }>();
  for (const spec of maps.filter((s) => s.sparseInput)) {
    const create = (d: number, rows: RowsLike) => spec.create({ inputDim: d, imageShape: null, depth: o.depth, features: m, seed: 1, dtype: 'float32' }, rows);
    const denseRows = Float32Array.from(densify(randomCsr(n, o.denseDim, o.denseDim, 99), n));
    const denseMap = await create(o.denseDim, { data: denseRows, shape: [n, o.denseDim] });
    built.push(denseMap);
    tasks.push([`${spec.name} dense`, () => denseMap.transform({ data: denseRows, shape: [n, o.denseDim] })]);
    const byDim = new Map<number, FeatureMap | string>();
    for (const [i, c] of cases.entries()) {
      if (!byDim.has(c.d)) {
        try {
          // A map of this width (a selection is fitted on these CSR rows).
          const map = await create(c.d, inputs[i]);
          built.push(map);
          byDim.set(c.d, map);
        } catch (error) {
          // Too large for its memory limit (e.g. dense weights of d x m): skipped at this width only.
          if (!(error instanceof RangeError)) throw error;
          byDim.set(c.d, error.message);
          skipped.push({ map: `${spec.name} (d = ${c.d})`, reason: error.message });
        }
      }
      const map = byDim.get(c.d)!;
      if (typeof map === 'string') continue;
      const name = `${spec.name} d=${c.d} nnz=${c.nnz}`, X = inputs[i];
      tasks.push([name, () => map.transform(X)]);
      meta.set(name, { map: spec.name, series: c.series, d: c.d, nnz: c.nnz });
    }
  }
  for (const s of maps.filter((x) => !x.sparseInput)) skipped.push({ map: s.name, reason: s.denseOnlyReason ?? 'reads dense rows or images only' });
  progress(`sparsity: ${tasks.length} tasks x ${o.rounds} rounds`);
  const samples = await timeInterleaved(tasks, o.rounds);
  for (const map of built) map.dispose();
  const copy = samples.get('copy')!;
  const points: SparsityPoint[] = [...meta].map(([name, c]) => {
    const ms = samples.get(name)!, dense = samples.get(`${c.map} dense`)!;
    return {
      map: c.map, series: c.series, inputDim: c.d, nonZerosPerRow: c.nnz,
      ms: spread(ms), rowsPerSecond: spread(ms.map((t) => n / (t / 1000))), ratio: spread(ms.map((t, r) => t / copy[r])), ratioToDense: spread(ms.map((t, r) => t / dense[r])),
    };
  });
  const fits = [...new Set(points.map((p) => p.map))].flatMap((map) => {
    const series = points.filter((p) => p.map === map && p.series === 'non-zeros');
    return series.length < 2 ? [] : [{ map, ...linearFit(series.map((p) => p.nonZerosPerRow), series.map((p) => p.ms.median)) }];
  });
  const dense = [...new Set(points.map((p) => p.map))].map((map) => ({ map, ms: spread(samples.get(`${map} dense`)!) }));
  return { rows: n, features: m, depth: o.depth, rounds: o.rounds, copyMs: spread(copy), denseDim: o.denseDim, dense, points, fits, skipped };
}
