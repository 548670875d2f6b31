/**
 * FeatureRidge: ridge regression (or one-hot ridge classification) on the
 * features of any feature map, fitted from a stream of batches that is never
 * whole in memory (docs/math.md#ridge-regression).
 *
 * Only sufficient statistics are accumulated, in float64 through the core's
 * FMA-chain GEMM: A = Phi^T Phi (m x m), Phi^T [Y 1] (the last column the
 * feature sums s), Y^T 1, the sum of squares of Y and n. With an intercept
 * (the default) the model is fitted on centred data, from the sums alone:
 *
 *     A_c = A - n mu mu^T,   B_c = Phi^T Y - n mu ybar^T,   mu = s / n, ybar = Y^T 1 / n
 *     (A_c + lambda I) W = B_c,   b = ybar - W^T mu,   prediction Phi W + 1 b^T
 *
 * which is what scikit-learn's Ridge(alpha=lambda, fit_intercept=True)
 * computes on the same features. Classification one-hot encodes the labels
 * (classes in order of first appearance; a class first seen late adds a
 * column that is zero for the rows before it, which is exact) and predicts
 * the class of the largest output.
 *
 * Lambda, when not given, is chosen on a validation part of the rows (each
 * row held out with probability `validation` by a seeded hash of its index,
 * so the split does not depend on the batches) from the statistics of both
 * parts, with no second pass and no features kept: the validation squared
 * error of every lambda follows exactly from the statistics of both parts
 * (lambda-path.ts), with W(lambda) from one eigendecomposition of the fit
 * part's Gram matrix (up to EIGEN_PATH_MAX_DIM features), from one Lanczos
 * run per output shared by all lambdas (Krylov spaces are shift-invariant;
 * above that size, where an eigendecomposition costs 14-17 Cholesky
 * factorisations), or from one Cholesky solve per lambda (see
 * `solver`). The model is then solved on all rows with lambda scaled by
 * (all rows / fit rows), keeping the regularisation per row the same. Classification picks
 * lambda by the squared error of the one-hot outputs.
 *
 * Cost: O(n m^2) to accumulate (85 % of a million-row, 4,096-feature fit
 * here, at 83 % of the machine's float64 GEMM peak: bench/results/million-rows.md),
 * then the path (O(m^3) for an eigendecomposition, O(s m^2 k) for s Lanczos
 * steps: 100-200 on Fashion-MNIST features) and one Cholesky solve. Memory: two m x m float64 matrices while
 * accumulating, up to five while choosing lambda and solving.
 */
import type { NdArray } from 'ndarray';
import { performance } from 'node:perf_hooks';
import {
  checkMemory,
  checkOptions,
  describe,
  memoryLimitOption,
  numberOption,
  seedOption,
  toNdarray,
} from '../core/arrays.js';
import type { RowsLike } from '../core/inputs.js';
import { native, type FloatArray } from '../core/native.js';
import { seedHash } from '../core/random.js';
import { checkAborted, controlOnlyOptions, controlOptions, type CallControl } from '../core/steps.js';
import type { FeatureMap } from '../maps/feature-map.js';
import { validationPath, type PathSolver } from './lambda-path.js';
import { EIGEN_PATH_MAX_DIM, MIN_RCOND } from './ridge.js';

export type Task = 'regression' | 'classification';

export interface FeatureRidgeOptions {
  /** The feature map (any map, or a LeverageSelection). */
  map: FeatureMap;
  /** 'regression' (default: targets n x k) or 'classification' (labels: one number per row). */
  task?: Task;
  /** Absolute ridge lambda >= 0; when absent it is chosen on the validation rows. */
  lambda?: number;
  /** Share of rows held out to choose lambda, in (0, 0.5]. Default 0.1 when lambda is absent; not allowed with lambda. */
  validation?: number;
  /** Lambdas to try, relative to the mean diagonal of the centred Gram matrix. Default 10^-7 .. 10^1. */
  lambdas?: number[];
  /** Fit an intercept by centring (default true). */
  fitIntercept?: boolean;
  /**
   * How the lambda path is computed: 'eigen' (one eigendecomposition for all
   * lambdas), 'cholesky' (one solve per lambda), 'krylov' (one Lanczos run per
   * output for all lambdas, errors to a relative 1e-6) or 'auto' (default:
   * eigen up to EIGEN_PATH_MAX_DIM features, krylov above). The chosen lambda
   * is then solved exactly whichever path chose it.
   */
  solver?: 'auto' | PathSolver;
  /** Seed of the validation split. Default 0. */
  seed?: number;
  /** Refuse statistics and solves needing more bytes than this. Default 4 GiB. */
  memoryLimit?: number;
}

/** A batch of a stream: inputs of the map and their targets (regression: n x k; classification: n labels). */
export interface TrainingBatch {
  X: RowsLike;
  y: { data: ArrayLike<number>; shape: readonly number[] } | ArrayLike<number> | null;
  /** Index of the batch's first row in the stream (the validation split hashes row indices). Default: rows seen so far. */
  offset?: number;
}

/** Validation score of one lambda. */
export interface LambdaChoice {
  /** Absolute lambda on the fit rows. */
  lambda: number;
  /** Mean squared error per output on the validation rows (Infinity when the solve would be unreliable). */
  mse: number;
}

/** How a lambda path was computed. */
export interface LambdaPathInfo {
  solver: PathSolver;
  /** 'krylov': Lanczos steps taken; 0 for the direct solvers. */
  iterations: number;
  /** 'krylov': whether the path settled before its step limit; true for the direct solvers. */
  converged: boolean;
  /** 'krylov': lambdas whose errors are estimates (still moving, each clearly above the least); 0 otherwise. */
  unsettled: number;
}

/** What toJSON writes (the statistics are not saved: a restored model predicts, it does not continue a fit). */
export interface FeatureRidgeJSON {
  format: 'ntk-sketch/feature-ridge';
  version: 1;
  task: Task;
  fitIntercept: boolean;
  lambda: number;
  rows: number;
  /** Classification: the label of each output, in order. */
  classes: number[] | null;
  outputs: number;
  /** features x outputs, row-major. */
  weights: number[];
  intercept: number[];
}

export const FEATURE_RIDGE_FORMAT = 'ntk-sketch/feature-ridge';
/** Share of rows held out to choose lambda when none is given. */
export const DEFAULT_VALIDATION = 0.1;
const DEFAULT_LAMBDAS = [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

/**
 * The sufficient statistics of a set of rows (m features, k outputs): what a
 * model file stores and a merge adds.
 */
export interface StatisticsData {
  rows: number;
  /** Sum of squares of all of Y. */
  yy: number;
  /** Y^T 1 (k). */
  ysum: Float64Array;
  /** Phi^T [Y 1] (m x (k + 1), row-major): the last column the feature sums. */
  rhs: Float64Array;
  /** Phi^T Phi (m x m, row-major; the upper triangle is what counts). */
  gram: Float64Array;
}

/** Everything a FeatureRidge holds besides its map: options, classes, statistics and solution. */
export interface FeatureRidgeState {
  task: Task;
  fitIntercept: boolean;
  /** The lambda given, or null when it is chosen on the validation rows. */
  lambda: number | null;
  validation: number;
  lambdas: number[];
  seed: number;
  classes: number[] | null;
  /** Outputs (columns of Y, or classes); 0 before any row. */
  outputs: number;
  fit: StatisticsData | null;
  validationPart: StatisticsData | null;
  solution: { lambda: number; weights: Float64Array; intercept: Float64Array } | null;
}

/** Accumulated statistics of a set of rows. */
class Statistics {
  rows = 0;
  /** Upper triangle of Phi^T Phi. */
  readonly gram: Float64Array;
  /** Phi^T [Y 1]: m x (k + 1), the last column the feature sums. */
  rhs: Float64Array;
  /** Y^T 1 (k). */
  ysum: Float64Array;
  /** Sum of squares of all of Y. */
  yy = 0;

  constructor(readonly m: number, public k: number, data?: StatisticsData) {
    this.gram = data?.gram ?? new Float64Array(m * m);
    this.rhs = data?.rhs ?? new Float64Array(m * (k + 1));
    this.ysum = data?.ysum ?? new Float64Array(k);
    if (data) {
      this.rows = data.rows;
      this.yy = data.yy;
    }
  }

  data(): StatisticsData {
    return { rows: this.rows, yy: this.yy, ysum: this.ysum, rhs: this.rhs, gram: this.gram };
  }

  /** More outputs (a new class): the new columns are zero for the rows seen so far. */
  widen(k: number): void {
    if (k === this.k) return;
    const m = this.m, old = this.k, rhs = new Float64Array(m * (k + 1));
    for (let j = 0; j < m; j++) {
      rhs.set(this.rhs.subarray(j * (old + 1), j * (old + 1) + old), j * (k + 1));
      rhs[j * (k + 1) + k] = this.rhs[j * (old + 1) + old];
    }
    const ysum = new Float64Array(k);
    ysum.set(this.ysum);
    this.rhs = rhs;
    this.ysum = ysum;
    this.k = k;
  }

  /** Adds n rows of features phi (n x m, float32 or float64) with targets y (n x k, float64), off the JavaScript thread. */
  async add(phi: FloatArray, n: number, y: Float64Array): Promise<void> {
    if (n === 0) return;
    const k = this.k, ext = new Float64Array(n * (k + 1));
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < k; t++) {
        const v = y[i * k + t];
        ext[i * (k + 1) + t] = v;
        this.ysum[t] += v;
        this.yy += v * v;
      }
      ext[i * (k + 1) + k] = 1;
    }
    await native().gramAccumulate({ phi, n, m: this.m, y: ext, k: k + 1, gram: this.gram, rhs: this.rhs }, true);
    this.rows += n;
  }

  /** Adds another part's statistics (same m and k). */
  merge(other: Statistics): void {
    for (let i = 0; i < this.gram.length; i++) this.gram[i] += other.gram[i];
    for (let i = 0; i < this.rhs.length; i++) this.rhs[i] += other.rhs[i];
    for (let i = 0; i < this.k; i++) this.ysum[i] += other.ysum[i];
    this.yy += other.yy;
    this.rows += other.rows;
  }

  /** Feature sums s (m). */
  sums(): Float64Array {
    const m = this.m, k = this.k, s = new Float64Array(m);
    for (let j = 0; j < m; j++) s[j] = this.rhs[j * (k + 1) + k];
    return s;
  }

  /** Phi^T Y (m x k). */
  cross(): Float64Array {
    const m = this.m, k = this.k, b = new Float64Array(m * k);
    for (let j = 0; j < m; j++) b.set(this.rhs.subarray(j * (k + 1), j * (k + 1) + k), j * k);
    return b;
  }

  /**
   * The centred system (full symmetric A_c, B_c), the feature means mu and
   * the target means ybar; uncentred (mu = ybar = 0) without an intercept.
   */
  system(intercept: boolean): { a: Float64Array; b: Float64Array; mu: Float64Array; ybar: Float64Array } {
    const m = this.m, k = this.k, n = Math.max(1, this.rows);
    const a = Float64Array.from(this.gram);
    symmetrizeUpper(a, m);
    const b = this.cross();
    const mu = new Float64Array(m), ybar = new Float64Array(k);
    if (intercept) {
      const s = this.sums();
      for (let j = 0; j < m; j++) mu[j] = s[j] / n;
      for (let t = 0; t < k; t++) ybar[t] = this.ysum[t] / n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) a[i * m + j] -= n * mu[i] * mu[j];
        for (let t = 0; t < k; t++) b[i * k + t] -= n * mu[i] * ybar[t];
      }
    }
    return { a, b, mu, ybar };
  }
}

function symmetrizeUpper(a: Float64Array, m: number): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) a[i * m + j] = a[j * m + i];
}

/**
 * Whether row `row` (0-based index in the stream) is a validation row of a
 * fit with this seed and validation share: a seeded hash of the index falls
 * below the share. Independent of how the rows come in batches.
 */
export function isValidationRow(seed: number, row: number, share: number): boolean {
  let h = (seedHash(seed) ^ Math.imul(row | 0, 0x9e3779b1) ^ Math.imul(Math.floor(row / 2 ** 32), 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 2 ** 32 < share;
}

export class FeatureRidge {
  readonly map: FeatureMap;
  readonly task: Task;
  readonly fitIntercept: boolean;
  readonly solver: 'auto' | PathSolver;
  readonly validation: number;
  readonly seed: number;
  readonly memoryLimit: number;
  private readonly lambdaGiven: number | undefined;
  private readonly relativeLambdas: number[];
  private fitPart: Statistics | null = null;
  private valPart: Statistics | null = null;
  private classIndex = new Map<number, number>();
  private classList: number[] = [];
  private solved: { lambda: number; weights: Float64Array; intercept: Float64Array; rows: number } | null = null;
  /** Seconds spent so far: computing features, accumulating statistics, on the lambda path, solving. */
  readonly seconds = { features: 0, statistics: 0, lambdaPath: 0, solve: 0 };
  private path: LambdaChoice[] = [];
  private pathReport: LambdaPathInfo | null = null;
  /** The signal of the fit running, passed to the map's transforms. */
  private signal: AbortSignal | undefined;

  constructor(options: FeatureRidgeOptions) {
    const o = checkOptions('FeatureRidge options', options, ['map', 'task', 'lambda', 'validation', 'lambdas', 'fitIntercept', 'solver', 'seed', 'memoryLimit']);
    if (!o.map || typeof (o.map as FeatureMap).transform !== 'function' || typeof (o.map as FeatureMap).features !== 'number') {
      throw new TypeError(`map must be a feature map (NTKSketch, NTKRandomFeatures, CNTKSketch or LeverageSelection), got ${describe(o.map)}`);
    }
    this.map = o.map as FeatureMap;
    const task = o.task ?? 'regression';
    if (task !== 'regression' && task !== 'classification') throw new RangeError(`task must be 'regression' or 'classification', got ${describe(task)}`);
    this.task = task;
    this.lambdaGiven = o.lambda === undefined ? undefined : numberOption('lambda', o.lambda, 0, Number.MAX_VALUE);
    if (o.lambda !== undefined && o.validation !== undefined) throw new RangeError('give lambda or validation, not both (validation rows choose lambda)');
    this.validation = this.lambdaGiven !== undefined ? 0 : o.validation === undefined ? DEFAULT_VALIDATION : numberOption('validation', o.validation, Number.MIN_VALUE, 0.5);
    if (o.lambdas !== undefined) {
      if (!Array.isArray(o.lambdas) || o.lambdas.length === 0) throw new TypeError(`lambdas must be a non-empty array of numbers, got ${describe(o.lambdas)}`);
      this.relativeLambdas = o.lambdas.map((v, i) => numberOption(`lambdas[${i}]`, v, Number.MIN_VALUE, Number.MAX_VALUE));
    } else {
      this.relativeLambdas = DEFAULT_LAMBDAS;
    }
    const solver = o.solver ?? 'auto';
    if (solver !== 'auto' && solver !== 'eigen' && solver !== 'cholesky' && solver !== 'krylov') {
      throw new RangeError(`solver must be 'auto', 'eigen', 'cholesky' or 'krylov', got ${describe(solver)}`);
    }
    this.solver = solver;
    const fi = o.fitIntercept ?? true;
    if (typeof fi !== 'boolean') throw new TypeError(`fitIntercept must be a boolean, got ${describe(fi)}`);
    this.fitIntercept = fi;
    this.seed = seedOption('seed', o.seed);
    this.memoryLimit = memoryLimitOption('memoryLimit', o.memoryLimit);
  }

  /** Rows accumulated so far (both parts). */
  get rows(): number {
    return (this.fitPart?.rows ?? 0) + (this.valPart?.rows ?? 0);
  }

  /** Classification: the label of each output, in order of first appearance; null for regression. */
  get classes(): number[] | null {
    return this.task === 'classification' ? this.classList.slice() : null;
  }

  /** Whether lambda is chosen on the validation rows (it was not given). */
  get lambdaChosen(): boolean {
    return this.lambdaGiven === undefined;
  }

  /** The lambda in use after a solve (absolute, for all rows). */
  get lambda(): number | undefined {
    return this.solved?.lambda;
  }

  /** The validation error of each lambda tried by the last solve (empty when lambda was given). */
  /** How the last lambda path was computed (null when lambda was given or before a solve). */
  get lambdaPathInfo(): LambdaPathInfo | null {
    return this.pathReport && { ...this.pathReport };
  }

  get lambdaPath(): LambdaChoice[] {
    return this.path.map((p) => ({ ...p }));
  }

  /** Targets of a batch as n x k float64, classes assigned for classification. */
  private targets(y: TrainingBatch['y'], n: number): Float64Array {
    if (y === null || y === undefined) throw new TypeError('y must hold the targets of the batch, got null');
    const shaped = y as { data?: ArrayLike<number>; shape?: readonly number[] };
    const data = shaped.data ?? (y as ArrayLike<number>);
    const shape = shaped.shape ?? [data.length];
    if (shape[0] !== n) throw new RangeError(`y must have one row per row of X (${n}), got ${shape[0]}`);
    const k = shape.length === 1 ? 1 : shape[1];
    if (shape.length > 2 || !Number.isSafeInteger(k) || k < 1) throw new RangeError(`y must be n values or n x k with k >= 1, got shape [${shape.join(', ')}]`);
    if (typeof data.length !== 'number' || data.length < n * k) throw new RangeError(`y must hold ${n} x ${k} values, got ${describe(data.length)}`);
    for (let i = 0; i < n * k; i++) {
      if (!Number.isFinite(data[i])) throw new RangeError(`y must contain only finite numbers, found ${data[i]} at flat index ${i}`);
    }
    if (this.task === 'regression') {
      const width = this.fitPart?.k;
      if (width !== undefined && width !== k) throw new RangeError(`y must have ${width} columns (as the first batch), got ${k}`);
      return Float64Array.from({ length: n * k }, (_, i) => data[i]);
    }
    if (k !== 1) throw new RangeError(`y of a classification must be one label per row, got ${k} columns`);
    for (let i = 0; i < n; i++) {
      if (!this.classIndex.has(data[i])) {
        this.classIndex.set(data[i], this.classList.length);
        this.classList.push(data[i]);
      }
    }
    const c = this.classList.length, out = new Float64Array(n * c);
    for (let i = 0; i < n; i++) out[i * c + (this.classIndex.get(data[i]) as number)] = 1;
    return out;
  }

  /**
   * Accumulates a batch: its features (computed here, by the map) and
   * targets. `options.signal`: an abort during the batch's transform rejects
   * with an AbortError and adds nothing.
   */
  async partialFit(X: RowsLike, y: TrainingBatch['y'], offset = this.rows, options?: Pick<CallControl, 'signal'>): Promise<this> {
    const signal = controlOptions('partialFit options', checkOptions('partialFit options', options, ['signal'])).signal ?? this.signal;
    let t = performance.now();
    const phi = await this.map.transform(X, signal ? { signal } : undefined);
    this.seconds.features += (performance.now() - t) / 1000;
    t = performance.now();
    const n = phi.shape[0], m = this.map.features;
    const Y = this.targets(y, n);
    const k = Y.length / Math.max(1, n) || this.fitPart?.k || 1;
    if (!this.fitPart) {
      checkMemory(`FeatureRidge: the ${m} x ${m} float64 Gram matrices`, 8 * m * m * (this.validation > 0 ? 2 : 1), this.memoryLimit);
      this.fitPart = new Statistics(m, k);
      if (this.validation > 0) this.valPart = new Statistics(m, k);
    }
    this.fitPart.widen(k);
    this.valPart?.widen(k);
    if (!this.valPart) {
      await this.fitPart.add(phi.data, n, Y);
    } else {
      // Split the batch's rows by their hashed index.
      const fitRows: number[] = [], valRows: number[] = [];
      for (let i = 0; i < n; i++) (isValidationRow(this.seed, offset + i, this.validation) ? valRows : fitRows).push(i);
      for (const [part, rows] of [[this.fitPart, fitRows], [this.valPart, valRows]] as const) {
        const features = new (phi.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(rows.length * m);
        const targets = new Float64Array(rows.length * k);
        rows.forEach((r, i) => {
          features.set(phi.data.subarray(r * m, (r + 1) * m), i * m);
          targets.set(Y.subarray(r * k, (r + 1) * k), i * k);
        });
        await part.add(features, rows.length, targets);
      }
    }
    this.seconds.statistics += (performance.now() - t) / 1000;
    this.solved = null;
    return this;
  }

  /**
   * Fits on the rows of X with targets y, or on a stream of batches
   * `{ X, y, offset? }` (replacing what was accumulated), then solves.
   */
  async fit(X: RowsLike, y: TrainingBatch['y'], options?: CallControl): Promise<this>;
  async fit(batches: AsyncIterable<TrainingBatch> | Iterable<TrainingBatch>, options?: CallControl): Promise<this>;
  async fit(
    source: RowsLike | AsyncIterable<TrainingBatch> | Iterable<TrainingBatch>, second?: TrainingBatch['y'] | CallControl, third?: CallControl,
  ): Promise<this> {
    const stream = isBatchSource(source);
    const control = controlOnlyOptions('fit options', stream ? second : third);
    const y = stream ? undefined : (second as TrainingBatch['y']);
    if (!stream && y === undefined) throw new TypeError('fit takes (X, y) or an iterable of batches { X, y, offset? }');
    const { signal, onProgress } = control;
    checkAborted(signal);
    // An aborted fit leaves the model as it was: what reset() clears is kept until the fit completes.
    const before = { fitPart: this.fitPart, valPart: this.valPart, classIndex: this.classIndex, classList: this.classList, solved: this.solved, path: this.path, pathReport: this.pathReport };
    this.reset();
    this.signal = signal;
    try {
      if (!stream) {
        await this.partialFit(source as RowsLike, y as TrainingBatch['y']);
        onProgress?.(this.rows, this.rows);
      } else {
        for await (const b of source) {
          checkAborted(signal);
          await this.partialFit(b.X, b.y, b.offset ?? this.rows);
          onProgress?.(this.rows, NaN);
        }
      }
      checkAborted(signal);
      await this.solve();
      checkAborted(signal);
    } catch (error) {
      if (signal?.aborted) Object.assign(this, before);
      throw error;
    } finally {
      this.signal = undefined;
    }
    return this;
  }

  /**
   * The model on the rows of X against targets y: { accuracy } for
   * classification (labels), { mse, r2 } for regression (MSE per output;
   * R^2 per output, averaged, as scikit-learn's r2_score).
   */
  async score(X: RowsLike, y: TrainingBatch['y']): Promise<{ accuracy: number } | { mse: number; r2: number }> {
    this.requireSolved('score');
    const pred = await this.predict(X);
    const n = pred.shape[0], k = pred.shape[1];
    const shaped = y as { data?: ArrayLike<number>; shape?: readonly number[] } | null;
    const data = shaped?.data ?? (y as ArrayLike<number> | null);
    if (!data || data.length !== (this.task === 'classification' ? n : n * k)) {
      throw new RangeError(`y must hold ${this.task === 'classification' ? n : `${n} x ${k}`} targets (one row per row of X), got ${data?.length ?? describe(y)}`);
    }
    if (this.task === 'classification') {
      const labels = labelsOf(pred.data, n, this.classList);
      let correct = 0;
      for (let i = 0; i < n; i++) correct += labels[i] === data[i] ? 1 : 0;
      return { accuracy: correct / n };
    }
    let mse = 0, r2 = 0;
    for (let t = 0; t < k; t++) {
      let sse = 0, sum = 0, sq = 0;
      for (let i = 0; i < n; i++) {
        const v = data[i * k + t];
        sse += (pred.data[i * k + t] - v) ** 2;
        sum += v;
        sq += v * v;
      }
      const total = sq - (sum * sum) / n;
      mse += sse / (n * k);
      r2 += (total > 0 ? 1 - sse / total : sse === 0 ? 1 : 0) / k;
    }
    return { mse, r2 };
  }

  /** @internal Options, classes, statistics and solution (what a model file stores). */
  state(): FeatureRidgeState {
    return {
      task: this.task,
      fitIntercept: this.fitIntercept,
      lambda: this.lambdaGiven ?? null,
      validation: this.validation,
      lambdas: this.relativeLambdas.slice(),
      seed: this.seed,
      classes: this.classes,
      outputs: this.fitPart?.k ?? 0,
      fit: this.fitPart?.data() ?? null,
      validationPart: this.valPart?.data() ?? null,
      solution: this.solved ? { lambda: this.solved.lambda, weights: this.solved.weights, intercept: this.solved.intercept } : null,
    };
  }

  /** @internal A model on `map` from a stored state: it predicts, and continues partialFit where the state stopped. */
  static fromState(map: FeatureMap, state: FeatureRidgeState, options: { memoryLimit?: number; solver?: 'auto' | PathSolver } = {}): FeatureRidge {
    const { memoryLimit, solver } = options;
    const model = new FeatureRidge({
      map,
      task: state.task,
      fitIntercept: state.fitIntercept,
      seed: state.seed,
      lambdas: state.lambdas,
      ...(state.lambda !== null ? { lambda: state.lambda } : { validation: state.validation }),
      ...(memoryLimit !== undefined ? { memoryLimit } : {}),
      ...(solver !== undefined ? { solver } : {}),
    });
    const m = map.features, k = state.outputs;
    if (state.fit) model.fitPart = new Statistics(m, k, state.fit);
    if (state.validationPart) model.valPart = new Statistics(m, k, state.validationPart);
    if (state.classes) {
      model.classList = state.classes.slice();
      state.classes.forEach((c, i) => model.classIndex.set(c, i));
    }
    if (state.solution) model.solved = { ...state.solution, rows: model.rows };
    return model;
  }

  /**
   * The model of all the rows of `parts` (fitted on the same map with the
   * same options, on disjoint rows): their statistics added, then solved.
   * Classes are matched by label. Refuses parts that differ in map, task,
   * intercept, lambda choice, seed or target width.
   */
  static async merge(parts: readonly FeatureRidge[]): Promise<FeatureRidge> {
    if (parts.length === 0) throw new RangeError('merge needs at least one model');
    const first = parts[0];
    const merged = FeatureRidge.fromState(first.map, { ...first.state(), fit: null, validationPart: null, solution: null, classes: null, outputs: 0 });
    parts.forEach((part, i) => {
      try {
        merged.include(part);
      } catch (error) {
        throw new RangeError(`merge: model ${i} cannot be merged with model 0: ${(error as Error).message}`);
      }
    });
    await merged.solve();
    return merged;
  }

  /**
   * Adds the statistics of `other`, a model of other rows fitted with the
   * same map and options (classes matched by label); the next solve uses
   * both. Throws a RangeError saying what differs.
   */
  include(other: FeatureRidge): this {
    const why = compatibility(this, other, JSON.stringify(this.map.toJSON()));
    if (why) throw new RangeError(why);
    this.add(other);
    return this;
  }

  private add(other: FeatureRidge): void {
    const of = other.fitPart, ov = other.valPart;
    if (!of) return;
    const m = this.map.features;
    // Columns of `other`'s outputs in this model's order (classes by label).
    let columns: number[];
    if (this.task === 'classification') {
      for (const c of other.classList) {
        if (!this.classIndex.has(c)) {
          this.classIndex.set(c, this.classList.length);
          this.classList.push(c);
        }
      }
      columns = other.classList.map((c) => this.classIndex.get(c) as number);
    } else {
      columns = Array.from({ length: of.k }, (_, t) => t);
    }
    const k = this.task === 'classification' ? this.classList.length : of.k;
    if (!this.fitPart) {
      this.fitPart = new Statistics(m, k);
      if (this.validation > 0) this.valPart = new Statistics(m, k);
    }
    this.fitPart.widen(k);
    this.valPart?.widen(k);
    for (const [mine, theirs] of [[this.fitPart, of], [this.valPart, ov]] as const) {
      if (!mine || !theirs) continue;
      for (let i = 0; i < mine.gram.length; i++) mine.gram[i] += theirs.gram[i];
      for (let j = 0; j < m; j++) {
        for (let t = 0; t < theirs.k; t++) mine.rhs[j * (k + 1) + columns[t]] += theirs.rhs[j * (theirs.k + 1) + t];
        mine.rhs[j * (k + 1) + k] += theirs.rhs[j * (theirs.k + 1) + theirs.k];
      }
      for (let t = 0; t < theirs.k; t++) mine.ysum[columns[t]] += theirs.ysum[t];
      mine.yy += theirs.yy;
      mine.rows += theirs.rows;
    }
    this.solved = null;
  }

  private reset(): void {
    this.fitPart = this.valPart = null;
    this.classIndex = new Map();
    this.classList = [];
    this.solved = null;
    this.path = [];
    this.pathReport = null;
  }

  /** Chooses lambda (when not given) and solves for the weights on all rows accumulated. */
  async solve(): Promise<this> {
    const fit = this.fitPart;
    if (!fit || this.rows === 0) throw new RangeError('FeatureRidge: no rows to fit (call partialFit or fit first)');
    let lambda = this.lambdaGiven;
    this.path = [];
    this.pathReport = null;
    if (lambda === undefined) {
      const val = this.valPart as Statistics;
      if (fit.rows < 2 || val.rows === 0) {
        throw new RangeError(`FeatureRidge: choosing lambda needs rows in both parts (fit ${fit.rows}, validation ${val.rows}); use more rows, a larger validation share, or give lambda`);
      }
      const t = performance.now();
      lambda = (await this.choose(fit, val)) * (this.rows / fit.rows);
      this.seconds.lambdaPath += (performance.now() - t) / 1000;
    }
    const t0 = performance.now();
    const all = new Statistics(fit.m, fit.k);
    all.merge(fit);
    if (this.valPart) all.merge(this.valPart);
    const { a, b, mu, ybar } = all.system(this.fitIntercept);
    const m = fit.m, k = fit.k;
    const weights = new Float64Array(m * k), status = new Float64Array(2);
    await native().ridgeSolve({ gram: a, m, rhs: b, k, lambda, weights, status }, true);
    if (status[0] !== 0 || status[1] < MIN_RCOND) {
      throw new RangeError(`lambda = ${lambda} leaves the ${m} x ${m} system singular or ill-conditioned; use a larger lambda`);
    }
    const intercept = new Float64Array(k);
    for (let t = 0; t < k; t++) {
      let s = ybar[t];
      for (let j = 0; j < m; j++) s -= weights[j * k + t] * mu[j];
      intercept[t] = s;
    }
    this.solved = { lambda, weights, intercept, rows: this.rows };
    this.seconds.solve += (performance.now() - t0) / 1000;
    return this;
  }

  /**
   * The lambda (absolute, on the fit rows) of least validation error, from
   * the statistics of both parts (see lambda-path.ts for the three solvers).
   */
  private async choose(fit: Statistics, val: Statistics): Promise<number> {
    const m = fit.m, k = fit.k;
    const solver: PathSolver = this.solver === 'auto' ? (m <= EIGEN_PATH_MAX_DIM ? 'eigen' : 'krylov') : this.solver;
    checkMemory(`FeatureRidge: the lambda path's two ${m} x ${m} float64 matrices`, 2 * 8 * m * m, this.memoryLimit);
    const { a, b, mu, ybar } = fit.system(this.fitIntercept);
    let trace = 0;
    for (let j = 0; j < m; j++) trace += a[j * m + j];
    const scale = trace / m;
    const gram = Float64Array.from(val.gram);
    symmetrizeUpper(gram, m);
    const validation = { gram, cross: val.cross(), sums: val.sums(), ysum: val.ysum, yy: val.yy, rows: val.rows };
    const lambdas = this.relativeLambdas.map((rel) => rel * scale);
    const report = await validationPath({ m, k, a, b, mu, ybar, validation }, lambdas, solver, this.memoryLimit - 2 * 8 * m * m, this.signal);
    const { errors, ...info } = report;
    this.path = lambdas.map((lambda, l) => ({ lambda, mse: errors[l] }));
    this.pathReport = info;
    let best: LambdaChoice | undefined;
    for (const choice of this.path) if (choice.mse !== Infinity && (!best || choice.mse < best.mse)) best = choice;
    if (!best) throw new RangeError('FeatureRidge: no lambda in the path gives a well-conditioned solve; give larger lambdas');
    return best.lambda;
  }

  private requireSolved(what: string): { lambda: number; weights: Float64Array; intercept: Float64Array } {
    if (!this.solved) throw new RangeError(`FeatureRidge.${what}: the model has not been fitted (call fit, or partialFit then solve)`);
    return this.solved;
  }

  /** Outputs of the rows of X: n x k (regression targets; classification scores per class). */
  async predict(X: RowsLike): Promise<NdArray<Float64Array>> {
    const { weights, intercept } = this.requireSolved('predict');
    const phi = await this.map.transform(X);
    const n = phi.shape[0], m = this.map.features, k = intercept.length;
    const p64 = phi.data instanceof Float64Array ? phi.data : Float64Array.from(phi.data);
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) out.set(intercept, i * k);
    if (n > 0) await native().gemm({ transA: false, transB: false, m: n, n: k, k: m, alpha: 1, a: p64, lda: m, b: weights, ldb: k, beta: 1, c: out, ldc: k }, true);
    return toNdarray(out, n, k);
  }

  /** Classification: the predicted label of each row of X. */
  async predictLabels(X: RowsLike): Promise<Float64Array> {
    if (this.task !== 'classification') throw new RangeError('FeatureRidge.predictLabels: the task is regression; use predict');
    const scores = await this.predict(X);
    return labelsOf(scores.data, scores.shape[0], this.classList);
  }

  toJSON(): FeatureRidgeJSON {
    const { lambda, weights, intercept } = this.requireSolved('toJSON');
    return {
      format: FEATURE_RIDGE_FORMAT,
      version: 1,
      task: this.task,
      fitIntercept: this.fitIntercept,
      lambda,
      rows: this.rows,
      classes: this.classes,
      outputs: intercept.length,
      weights: Array.from(weights),
      intercept: Array.from(intercept),
    };
  }

  /** A solved model from its document and the map it was fitted on (saved separately: see the CLI's model file). */
  static fromJSON(json: unknown, map: FeatureMap): FeatureRidge {
    let d: Partial<FeatureRidgeJSON> | null;
    try {
      d = (typeof json === 'string' ? JSON.parse(json) : json) as Partial<FeatureRidgeJSON> | null;
    } catch (error) {
      throw new TypeError(`json is not valid JSON: ${(error as Error).message}`);
    }
    if (!d || typeof d !== 'object' || d.format !== FEATURE_RIDGE_FORMAT) throw new TypeError(`json is not a saved FeatureRidge (format must be '${FEATURE_RIDGE_FORMAT}')`);
    if (d.version !== 1) throw new RangeError(`json.version ${typeof d.version === 'number' ? d.version : describe(d.version)} is not supported (this library reads version 1)`);
    const k = d.outputs, m = map.features;
    if (!Number.isSafeInteger(k) || (k as number) < 1) throw new RangeError(`json.outputs must be a positive integer, got ${describe(k)}`);
    if (!Array.isArray(d.weights) || d.weights.length !== m * (k as number)) {
      throw new RangeError(`json.weights must hold features x outputs = ${m} x ${k} numbers (the map has ${m} features)`);
    }
    if (!Array.isArray(d.intercept) || d.intercept.length !== k) throw new RangeError(`json.intercept must hold ${k} numbers`);
    if (d.task !== 'regression' && d.task !== 'classification') throw new RangeError(`json.task must be 'regression' or 'classification', got ${describe(d.task)}`);
    if (d.task === 'classification' && (!Array.isArray(d.classes) || d.classes.length !== k || !d.classes.every((c) => Number.isFinite(c)))) {
      throw new RangeError(`json.classes must hold ${k} finite labels`);
    }
    if (d.task === 'regression' && d.classes !== null && d.classes !== undefined) throw new RangeError(`json.classes must be null for a regression, got ${describe(d.classes)}`);
    if (typeof d.fitIntercept !== 'boolean') throw new TypeError(`json.fitIntercept must be a boolean, got ${describe(d.fitIntercept)}`);
    if (typeof d.lambda !== 'number' || !Number.isFinite(d.lambda) || d.lambda < 0) throw new RangeError(`json.lambda must be a finite number >= 0, got ${describe(d.lambda)}`);
    if (!Number.isSafeInteger(d.rows) || (d.rows as number) < 0) throw new RangeError(`json.rows must be a non-negative integer, got ${describe(d.rows)}`);
    const model = new FeatureRidge({ map, task: d.task as Task, lambda: d.lambda as number, fitIntercept: d.fitIntercept as boolean });
    const weights = Float64Array.from(d.weights), intercept = Float64Array.from(d.intercept);
    for (const [name, v] of [['weights', weights], ['intercept', intercept]] as const) {
      const bad = v.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new RangeError(`json.${name}[${bad}] must be a finite number`);
    }
    model.solved = { lambda: d.lambda as number, weights, intercept, rows: d.rows as number };
    if (d.classes) {
      model.classList = d.classes.slice();
      d.classes.forEach((c, i) => model.classIndex.set(c, i));
    }
    return model;
  }
}

function isBatchSource(x: unknown): x is AsyncIterable<TrainingBatch> | Iterable<TrainingBatch> {
  return x !== null && typeof x === 'object' && (Symbol.asyncIterator in x || (Symbol.iterator in x && !ArrayBuffer.isView(x)));
}

/** Why `b` cannot be merged into a model like `a` (whose map document is `doc`), or null. */
function compatibility(a: FeatureRidge, b: FeatureRidge, doc: string): string | null {
  if (JSON.stringify(b.map.toJSON()) !== doc) return 'it was fitted on another map (the saved map documents differ)';
  const sa = a.state(), sb = b.state();
  for (const key of ['task', 'fitIntercept', 'lambda', 'validation', 'seed'] as const) {
    if (sa[key] !== sb[key]) return `its ${key} is ${JSON.stringify(sb[key])}, not ${JSON.stringify(sa[key])}`;
  }
  if (JSON.stringify(sa.lambdas) !== JSON.stringify(sb.lambdas)) return 'its lambda grid differs';
  if (sa.task === 'regression' && sa.outputs !== 0 && sb.outputs !== 0 && sa.outputs !== sb.outputs) {
    return `it has ${sb.outputs} target columns, not ${sa.outputs}`;
  }
  return null;
}

/** The class of the largest score of each row. */
export function labelsOf(scores: ArrayLike<number>, n: number, classes: readonly number[]): Float64Array {
  const k = classes.length, out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let t = 1; t < k; t++) if (scores[i * k + t] > scores[i * k + best]) best = t;
    out[i] = classes[best];
  }
  return out;
}
