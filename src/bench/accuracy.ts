/**
 * Accuracy suite: ridge regression on each map's features against kernel
 * ridge regression with the exact kernel the map approximates, on the same
 * training and test rows and the same lambda protocol (FeatureRidge and
 * ExactKernelRidge share it: the seeded validation rows choose lambda,
 * scaled by all rows / fit rows for the refit on every training row),
 * evaluated once on the test rows. Classification reports accuracy,
 * regression R^2 (and MSE).
 */
import { performance } from 'node:perf_hooks';
import { takeRows } from '../data/datasets.js';
import { ExactKernelRidge, type ExactKernel } from '../regression/exact-kernel-ridge.js';
import { DEFAULT_VALIDATION, FeatureRidge, isValidationRow, labelsOf, type Task } from '../regression/feature-ridge.js';
import { headRows, type BenchData, type BenchRows } from './data.js';
import { CNTK_FILTER, CNTK_PADDING, exactCntkRows, mapInput, type BenchMap, type ExactKernelKind } from './maps.js';

export interface AccuracyOptions {
  depths: readonly number[];
  features: readonly number[];
  seed: number;
  /** Also fit exact kernel ridge (O(n^2) kernel, O(n^3) solve). */
  exact: boolean;
  /**
   * Training and test rows of the maps that approximate the CNTK (and of the
   * exact CNTK): the first ones of the split, since an exact CNTK pair costs
   * (HW)^2 per layer.
   */
  convolutionalRows: { train: number; test: number };
}

export interface Score {
  /** Test accuracy (classification) or R^2 (regression). */
  score: number;
  mse: number | null;
  lambda: number;
  seconds: number;
}

export interface AccuracyPoint extends Score {
  /** A map's name, or exact-ntk / exact-cntk. */
  method: string;
  /** Training and test rows of this point. */
  trainRows: number;
  testRows: number;
  depth: number;
  /** Features (null for the exact kernels). */
  features: number | null;
}

export interface AccuracyResult {
  task: Task;
  metric: 'accuracy' | 'r2';
  trainRows: number;
  testRows: number;
  seed: number;
  points: AccuracyPoint[];
  skipped: { map: string; reason: string }[];
}

function scoreOf(task: Task, pred: ArrayLike<number>, y: Float64Array, n: number, k: number): { score: number; mse: number | null } {
  if (task === 'classification') {
    let correct = 0;
    for (let i = 0; i < n; i++) correct += pred[i] === y[i] ? 1 : 0;
    return { score: correct / n, mse: null };
  }
  let mse = 0, r2 = 0;
  for (let t = 0; t < k; t++) {
    let sse = 0, sum = 0, sq = 0;
    for (let i = 0; i < n; i++) {
      const v = y[i * k + t];
      sse += (pred[i * k + t] - v) ** 2;
      sum += v;
      sq += v * v;
    }
    const total = sq - (sum * sum) / n;
    mse += sse / (n * k);
    r2 += (total > 0 ? 1 - sse / total : 0) / k;
  }
  return { score: r2, mse };
}

/** Exact kernel ridge on the training rows, scored on the test rows. */
export async function exactRidgeScore(data: BenchData, train: BenchRows, test: BenchRows, kind: ExactKernelKind, depth: number, seed: number): Promise<Score> {
  const task = data.task as Task;
  const k = Math.max(data.targets, 1);
  const kernel: ExactKernel = kind === 'ntk' ? { kind, depth } : { kind, depth, inputShape: data.imageShape as [number, number, number], filterSize: CNTK_FILTER, padding: CNTK_PADDING };
  const t0 = performance.now();
  const model = await new ExactKernelRidge({ kernel, task, seed }).fit(train.X, train.n, data.d, train.y as Float64Array, task === 'classification' ? 1 : k);
  const raw = await model.predict(test.X, test.n);
  const pred = task === 'classification' ? labelsOf(raw.data, test.n, model.classes as number[]) : raw.data;
  const seconds = (performance.now() - t0) / 1000;
  return { ...scoreOf(task, pred, test.y as Float64Array, test.n, k), lambda: model.lambda as number, seconds };
}

/** The training rows FeatureRidge (seed `seed`, default validation share) fits on rather than holding out. */
export function ridgeFitRows(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => !isValidationRow(seed, i, DEFAULT_VALIDATION));
}

/** Ridge on the features of `spec` (built with `features`, `depth`, `seed`) on the training rows, scored on the test rows. */
export async function featureRidgeScore(data: BenchData, train: BenchRows, test: BenchRows, spec: BenchMap, depth: number, features: number, seed: number): Promise<Score> {
  const task = data.task as Task;
  const k = Math.max(data.targets, 1);
  const t0 = performance.now();
  // A map fitted on data (landmarks, kept columns) sees only the rows FeatureRidge fits on, never its
  // validation rows: a validation row that is a Nyström landmark would bias the choice of lambda.
  const fitIndex = ridgeFitRows(train.n, seed);
  const fitX = takeRows(train.X, data.d, fitIndex);
  using map = await spec.create({ inputDim: data.d, imageShape: data.imageShape, depth, features, seed, dtype: 'float32' }, { data: fitX, shape: [fitIndex.length, data.d] });
  const y = task === 'classification' ? (train.y as Float64Array) : { data: train.y as Float64Array, shape: [train.n, k] };
  const model = await new FeatureRidge({ map, task, seed }).fit(mapInput(map, train.X, train.n, data.d), y);
  const raw = await model.predict(mapInput(map, test.X, test.n, data.d));
  const pred = task === 'classification' ? labelsOf(raw.data, test.n, model.classes as number[]) : raw.data;
  const seconds = (performance.now() - t0) / 1000;
  return { ...scoreOf(task, pred, test.y as Float64Array, test.n, k), lambda: model.lambda as number, seconds };
}

/** Runs the accuracy suite on all training and test rows of `data` (which must have targets). */
export async function accuracySuite(data: BenchData, maps: readonly BenchMap[], o: AccuracyOptions, progress: (label: string) => void = () => {}): Promise<AccuracyResult> {
  if (!data.task) throw new RangeError(`data: ${data.name} has no targets; the accuracy suite needs them (give --target or --labels)`);
  const points: AccuracyPoint[] = [];
  const skipped: { map: string; reason: string }[] = [];
  const usable = maps.filter((spec) => {
    const reason = spec.unavailable({ inputDim: data.d, imageShape: data.imageShape, depth: o.depths[0], features: o.features[0], seed: o.seed, dtype: 'float32' }, Infinity);
    if (reason) skipped.push({ map: spec.name, reason });
    return !reason;
  });
  const exactKinds = [...new Set(usable.map((m) => m.exactKernel))];
  const k = Math.max(data.targets, 1);
  const split = (kind: ExactKernelKind, depth: number) => {
    if (kind === 'ntk' || !data.imageShape) return { train: data.train, test: data.test };
    // The first rows of the split, as many as the exact CNTK's cost allows (train pairs and test x train pairs).
    const share = o.convolutionalRows.test / o.convolutionalRows.train;
    const train = exactCntkRows(data.imageShape, depth, Math.min(o.convolutionalRows.train, data.train.n), share);
    return { train: headRows(data.train, data.d, train, k), test: headRows(data.test, data.d, Math.max(1, Math.min(o.convolutionalRows.test, Math.round(train * share))), k) };
  };
  const rowsOf = (s: { train: BenchRows; test: BenchRows }) => ({ trainRows: s.train.n, testRows: s.test.n });
  for (const depth of o.depths) {
    if (o.exact) {
      for (const kind of exactKinds) {
        const s = split(kind, depth);
        points.push({ method: `exact-${kind}`, depth, features: null, ...rowsOf(s), ...(await exactRidgeScore(data, s.train, s.test, kind, depth, o.seed)) });
        progress(`accuracy exact-${kind} depth ${depth}`);
      }
    }
    for (const spec of usable) {
      const s = split(spec.exactKernel, depth);
      for (const features of o.features) {
        // Fitted maps are fitted on the ridge's fit rows: too few for some sizes (Nyström landmarks).
        const why = spec.unavailable({ inputDim: data.d, imageShape: data.imageShape, depth, features, seed: o.seed, dtype: 'float32' }, ridgeFitRows(s.train.n, o.seed).length);
        if (why) {
          if (!skipped.some((x) => x.map === `${spec.name} (${features} features)`)) skipped.push({ map: `${spec.name} (${features} features)`, reason: why });
          continue;
        }
        points.push({ method: spec.name, depth, features, ...rowsOf(s), ...(await featureRidgeScore(data, s.train, s.test, spec, depth, features, o.seed)) });
        progress(`accuracy ${spec.name} depth ${depth} ${features} features`);
      }
    }
  }
  return { task: data.task, metric: data.task === 'classification' ? 'accuracy' : 'r2', trainRows: data.train.n, testRows: data.test.n, seed: o.seed, points, skipped };
}
