/**
 * "Which map for my data": measures a few configurations of each map on a
 * sample of the user's rows and projects their cost to the whole file, then
 * recommends the most accurate configuration within a time or memory budget
 * (the lowest Gram error when the data has no targets), with the `fit`
 * command that reproduces it.
 *
 * Per configuration (map x depth x features), on the sample: the NTK Gram
 * relative error against the exact kernel (first `fidelityRows` rows), the
 * test score of ridge on the features (sample split 80 / 20, lambda chosen
 * on validation rows as `fit` does), and the featurisation time (median of
 * interleaved rounds). Projection to N rows: featurisation N / (rows/s),
 * Gram accumulation N m (m + 1) flops at the measured rate, and the solve
 * (m^3 / 3 flops per lambda of the path, at the measured rate); memory: the
 * m x m float64 normal equations twice (statistics and the solve's copy),
 * the map's parameters and one batch of features.
 */
import { performance } from 'node:perf_hooks';
import type { RowsLike } from '../core/inputs.js';
import { native } from '../core/native.js';
import { featureRidgeScore, ridgeFitRows } from './accuracy.js';
import type { BenchData } from './data.js';
import { exactKernels, gramError } from './fidelity.js';
import { exactCntkRows, mapInput, type BenchMap, type MapConfig } from './maps.js';
import { spread } from './stats.js';
import { timeInterleaved } from './timing.js';

export interface RecommendOptions {
  /** Rows of the whole data set (the projection's N). */
  totalRows: number;
  features: readonly number[];
  depths: readonly number[];
  fidelityRows: number;
  rounds: number;
  /** Budgets: projected seconds of a fit on all rows, and bytes; null for none. */
  budgetSeconds: number | null;
  budgetBytes: number | null;
  /** The data flags of the reproducing `fit` command (fitDataFlags), with --task when there are targets. */
  dataFlags: string;
  seed: number;
}

export interface Candidate {
  map: string;
  depth: number;
  features: number;
  gramError: number;
  /** Test accuracy or R^2 on the sample, or null without targets. */
  score: number | null;
  rowsPerSecond: number;
  projectedSeconds: number;
  projectedBytes: number;
  withinBudget: boolean;
  command: string;
}

export interface Recommendation {
  sampleRows: number;
  totalRows: number;
  metric: 'accuracy' | 'r2' | 'gram error';
  budgetSeconds: number | null;
  budgetBytes: number | null;
  candidates: Candidate[];
  /** The chosen candidate, or null when none fits the budget. */
  best: Candidate | null;
  skipped: { map: string; reason: string }[];
}

/** GFLOP/s of Gram accumulation and of a Cholesky solve at size m, measured now (one run each after a warm-up). */
function solverRates(m: number): { gram: number; solve: number } {
  const n = 512;
  const phi = new Float32Array(n * m).map((_, i) => Math.sin(i));
  const gram = new Float64Array(m * m);
  const time = (run: () => void) => {
    run();
    const t0 = performance.now();
    run();
    return (performance.now() - t0) / 1000;
  };
  const tg = time(() => void native().gramAccumulate({ phi, n, m, y: null, k: 0, gram, rhs: null }, false));
  const spd = new Float64Array(m * m);
  for (let i = 0; i < m; i++) spd[i * m + i] = 1;
  const rhs = new Float64Array(m), weights = new Float64Array(m), status = new Float64Array(2);
  const ts = time(() => void native().ridgeSolve({ gram: spd, m, rhs, k: 1, lambda: 1e-3, weights, status }, false));
  return { gram: (n * m * (m + 1)) / tg / 1e9, solve: m ** 3 / 3 / ts / 1e9 };
}

/** Fewest rows of a Gram error that gives up rows to a held-out fit (Nyström landmarks). */
const MIN_GRAM_ROWS = 100;

/** Lambdas a fit's path tries (FeatureRidge's default: 10^-7 .. 10^1, one per decade, and a final solve). */
const PATH_SOLVES = 10;

export async function recommend(data: BenchData, maps: readonly BenchMap[], o: RecommendOptions, progress: (label: string) => void = () => {}): Promise<Recommendation> {
  const fidelityRows = Math.min(o.fidelityRows, data.train.n);
  const candidates: Candidate[] = [];
  const skipped: { map: string; reason: string }[] = [];
  const timings: { name: string; run: () => unknown; candidate: Candidate; rows: number }[] = [];
  const exactCache = new Map<string, Float64Array>();
  const rates = new Map<number, { gram: number; solve: number }>();
  const keep: { dispose(): void }[] = [];
  for (const spec of maps) {
    for (const depth of o.depths) {
      for (const features of o.features) {
        const config: MapConfig = { inputDim: data.d, imageShape: data.imageShape, depth, features, seed: o.seed, dtype: 'float32' };
        // The exact CNTK's Gram error on as many rows as its cost allows.
        let nf = spec.exactKernel === 'cntk' && data.imageShape ? exactCntkRows(data.imageShape, depth, fidelityRows) : fidelityRows;
        // Nyström landmarks come from the training rows after the Gram error's (fitsOnHeldOutRows): on a small
        // sample the Gram error takes fewer rows (down to MIN_GRAM_ROWS) to leave enough for the landmarks.
        if (spec.fitsOnHeldOutRows) nf = Math.max(Math.min(nf, data.train.n - features), Math.min(nf, MIN_GRAM_ROWS));
        const Xf = data.train.X.subarray(0, nf * data.d);
        const fit: RowsLike = spec.fitsOnHeldOutRows
          ? { data: data.train.X.subarray(nf * data.d), shape: [data.train.n - nf, data.d] }
          : { data: data.train.X, shape: [data.train.n, data.d] };
        const reason = spec.unavailable(config, fit.shape[0]);
        if (reason) {
          if (!skipped.some((s) => s.map === spec.name && s.reason === reason)) skipped.push({ map: spec.name, reason });
          continue;
        }
        const key = `${spec.exactKernel}/${depth}/${nf}`;
        if (!exactCache.has(key)) exactCache.set(key, exactKernels(spec.exactKernel, Xf, nf, data, depth).ntk);
        const map = await spec.create(config, fit);
        keep.push(map);
        const phi = (await map.transform(mapInput(map, Xf, nf, data.d))).data;
        const error = gramError(phi, nf, features, exactCache.get(key)!);
        const ridgeReady = spec.unavailable(config, ridgeFitRows(data.train.n, o.seed).length) === null;
        const score = data.task && ridgeReady ? (await featureRidgeScore(data, data.train, data.test, spec, depth, features, o.seed)).score : null;
        if (!rates.has(features)) rates.set(features, solverRates(features));
        const params = (map as unknown as { memory?: { parameterBytes?: number } }).memory?.parameterBytes ?? 0;
        const candidate: Candidate = {
          map: spec.name, depth, features, gramError: error, score, rowsPerSecond: 0, projectedSeconds: 0,
          projectedBytes: 2 * 8 * features * features + params + 4 * features * Math.min(o.totalRows, 4096),
          withinBudget: false,
          command: `ntk-sketch fit ${o.dataFlags} ${spec.cliFlags(config)} --out model.ntk`,
        };
        candidates.push(candidate);
        const input = mapInput(map, data.train.X, data.train.n, data.d);
        timings.push({ name: `${spec.name} ${depth} ${features}`, run: () => map.transform(input), candidate, rows: data.train.n });
        progress(`recommend: ${spec.name} depth ${depth} ${features} features`);
      }
    }
  }
  const samples = await timeInterleaved(timings.map((t) => [t.name, t.run] as [string, () => unknown]), o.rounds);
  for (const map of keep) map.dispose();
  for (const t of timings) {
    const c = t.candidate, r = rates.get(c.features)!;
    c.rowsPerSecond = t.rows / (spread(samples.get(t.name)!).median / 1000);
    const N = o.totalRows, m = c.features;
    c.projectedSeconds = N / c.rowsPerSecond + (N * m * (m + 1)) / (r.gram * 1e9) + (PATH_SOLVES * m ** 3) / 3 / (r.solve * 1e9);
    c.withinBudget = (o.budgetSeconds === null || c.projectedSeconds <= o.budgetSeconds) && (o.budgetBytes === null || c.projectedBytes <= o.budgetBytes);
  }
  const metric = data.task === 'classification' ? 'accuracy' : data.task === 'regression' ? 'r2' : 'gram error';
  const better = (a: Candidate, b: Candidate) => {
    const qa = a.score ?? -a.gramError, qb = b.score ?? -b.gramError;
    return qa !== qb ? qa > qb : a.projectedSeconds < b.projectedSeconds;
  };
  let best: Candidate | null = null;
  for (const c of candidates) if (c.withinBudget && (!best || better(c, best))) best = c;
  return { sampleRows: data.train.n + data.test.n, totalRows: o.totalRows, metric, budgetSeconds: o.budgetSeconds, budgetBytes: o.budgetBytes, candidates, best, skipped };
}

/** The recommendation as text: the trade-off table, the choice and its command. */
export function recommendationText(r: Recommendation): string {
  const score = (c: Candidate) => (c.score === null ? '–' : r.metric === 'accuracy' ? `${(100 * c.score).toFixed(2)} %` : c.score.toFixed(4));
  const lines = [
    `Measured on ${r.sampleRows} sample rows; projected to a fit on ${r.totalRows} rows` +
      `${r.budgetSeconds !== null ? `, budget ${r.budgetSeconds} s` : ''}${r.budgetBytes !== null ? `, budget ${(r.budgetBytes / 2 ** 20).toFixed(0)} MiB` : ''}.`,
    '',
    `${'map'.padEnd(12)}${'depth'.padStart(6)}${'features'.padStart(10)}${'Gram err'.padStart(10)}${(r.metric === 'r2' ? 'test R2' : 'test acc').padStart(10)}${'rows/s'.padStart(11)}${'fit s'.padStart(10)}${'MiB'.padStart(8)}  fits`,
  ];
  for (const c of r.candidates) {
    lines.push(
      `${c.map.padEnd(12)}${String(c.depth).padStart(6)}${String(c.features).padStart(10)}${c.gramError.toFixed(4).padStart(10)}${score(c).padStart(10)}` +
        `${Math.round(c.rowsPerSecond).toString().padStart(11)}${c.projectedSeconds.toFixed(1).padStart(10)}${(c.projectedBytes / 2 ** 20).toFixed(0).padStart(8)}  ${c.withinBudget ? 'yes' : 'no'}`,
    );
  }
  for (const s of r.skipped) lines.push(`${s.map}: skipped (${s.reason})`);
  lines.push('');
  if (r.best) {
    lines.push(`Recommended: ${r.best.map}, depth ${r.best.depth}, ${r.best.features} features (${r.metric === 'gram error' ? `Gram error ${r.best.gramError.toFixed(4)}` : `test ${r.metric} ${score(r.best)}`}, about ${r.best.projectedSeconds.toFixed(1)} s on all rows).`);
    lines.push(`Reproduce: ${r.best.command}`);
  } else {
    lines.push('No configuration fits the budget; raise it or try fewer features.');
  }
  return `${lines.join('\n')}\n`;
}
