/**
 * ExactKernelRidge: kernel ridge regression (or one-hot classification) with
 * the exact NTK of a fully connected ReLU network or the exact CNTK of a
 * convolutional one, on rows held in memory: the ground truth the feature
 * maps approximate, for data small enough for an n x n kernel (about 20,000
 * rows in float64 on this machine class).
 *
 * With an intercept (the default) the targets are centred: the model is
 * K_test alpha + ybar with (K + lambda I) alpha = Y - ybar (the NTK has no
 * bias of its own, and the targets' mean is what a constant feature would
 * fit). Lambda, when not given, is chosen on the validation rows (the same
 * seeded split of row indices as FeatureRidge, isValidationRow) from one
 * eigendecomposition of the fit rows' kernel, then scaled by (all rows / fit
 * rows) for the refit on all rows. Classification picks lambda by accuracy.
 *
 * Cost: the kernel of the n rows (O(n^2 d L) for the NTK), one
 * eigendecomposition of the fit rows' kernel (O(n^3)), one Cholesky solve;
 * predictions need the kernel between the new rows and the n training rows,
 * which the model keeps.
 */
import type { NdArray } from 'ndarray';
import { checkOptions, describe, memoryLimitOption, numberOption, seedOption, toNdarray } from '../core/arrays.js';
import { cntkKernel } from '../kernels/cntk-kernel.js';
import { ntkKernel } from '../kernels/ntk-kernel.js';
import type { Padding } from '../kernels/cntk-kernel.js';
import { isValidationRow, labelsOf, type Task } from './feature-ridge.js';
import { KernelRidgeRegression } from './ridge.js';
import { native } from '../core/native.js';

/** The exact kernel and its network. */
export type ExactKernel =
  | { kind: 'ntk'; depth: number }
  | { kind: 'cntk'; depth: number; inputShape: readonly [number, number, number]; filterSize: number; padding: Padding };

export interface ExactKernelRidgeOptions {
  kernel: ExactKernel;
  task?: Task;
  /** Absolute lambda >= 0; when absent it is chosen on the validation rows. */
  lambda?: number;
  /** Share of rows held out to choose lambda, in (0, 0.5]. Default 0.1 when lambda is absent. */
  validation?: number;
  fitIntercept?: boolean;
  seed?: number;
  memoryLimit?: number;
}

/** What a model file keeps of a fitted ExactKernelRidge. */
export interface ExactKernelRidgeState {
  kernel: ExactKernel;
  task: Task;
  fitIntercept: boolean;
  lambda: number;
  classes: number[] | null;
  /** The training rows (n x columns, float64). */
  train: Float64Array;
  rows: number;
  columns: number;
  /** Dual weights (n x outputs) and the target means (outputs). */
  dual: Float64Array;
  offset: Float64Array;
}

/** Rows per block of the test-vs-train kernel in predict (bounds its memory). */
const PREDICT_BLOCK_ENTRIES = 1 << 22;

export class ExactKernelRidge {
  readonly kernel: ExactKernel;
  readonly task: Task;
  readonly fitIntercept: boolean;
  readonly validation: number;
  readonly seed: number;
  readonly memoryLimit: number;
  private readonly lambdaGiven: number | undefined;
  private fitted: ExactKernelRidgeState | null = null;

  constructor(options: ExactKernelRidgeOptions) {
    const o = checkOptions('ExactKernelRidge options', options, ['kernel', 'task', 'lambda', 'validation', 'fitIntercept', 'seed', 'memoryLimit']);
    const k = o.kernel as ExactKernel | undefined;
    if (!k || (k.kind !== 'ntk' && k.kind !== 'cntk')) throw new TypeError(`kernel must be { kind: 'ntk', depth } or { kind: 'cntk', depth, inputShape, filterSize, padding }, got ${describe(k)}`);
    this.kernel = k;
    const task = o.task ?? 'regression';
    if (task !== 'regression' && task !== 'classification') throw new RangeError(`task must be 'regression' or 'classification', got ${describe(task)}`);
    this.task = task;
    if (o.lambda !== undefined && o.validation !== undefined) throw new RangeError('give lambda or validation, not both (validation rows choose lambda)');
    this.lambdaGiven = o.lambda === undefined ? undefined : numberOption('lambda', o.lambda, 0, Number.MAX_VALUE);
    this.validation = this.lambdaGiven !== undefined ? 0 : o.validation === undefined ? 0.1 : numberOption('validation', o.validation, Number.MIN_VALUE, 0.5);
    const fi = o.fitIntercept ?? true;
    if (typeof fi !== 'boolean') throw new TypeError(`fitIntercept must be a boolean, got ${describe(fi)}`);
    this.fitIntercept = fi;
    this.seed = seedOption('seed', o.seed);
    this.memoryLimit = memoryLimitOption('memoryLimit', o.memoryLimit);
  }

  /** The kernel between rows a (na x columns) and b (nb x columns; a itself when null), float64. */
  private async gram(a: Float64Array, na: number, b: Float64Array | null, nb: number, columns: number): Promise<Float64Array> {
    const k = this.kernel;
    if (k.kind === 'ntk') {
      const r = await ntkKernel({ data: a, shape: [na, columns] }, b && { data: b, shape: [nb, columns] }, { depth: k.depth, output: 'ntk', memoryLimit: this.memoryLimit });
      return r.ntk.data as Float64Array;
    }
    const shape = [...k.inputShape];
    const r = await cntkKernel({ data: a, shape: [na, ...shape] }, b && { data: b, shape: [nb, ...shape] }, {
      depth: k.depth, filterSize: k.filterSize, padding: k.padding, output: 'ntk', memoryLimit: this.memoryLimit,
    });
    return r.ntk.data as Float64Array;
  }

  /** Targets as n x k float64 (classification: one-hot, classes in order of first appearance). */
  private targets(y: ArrayLike<number>, n: number, width: number): { Y: Float64Array; k: number; classes: number[] | null } {
    for (let i = 0; i < n * width; i++) if (!Number.isFinite(y[i])) throw new RangeError(`y must contain only finite numbers, found ${y[i]} at flat index ${i}`);
    if (this.task === 'regression') return { Y: Float64Array.from({ length: n * width }, (_, i) => y[i]), k: width, classes: null };
    if (width !== 1) throw new RangeError(`y of a classification must be one label per row, got ${width} columns`);
    const classes: number[] = [], index = new Map<number, number>();
    for (let i = 0; i < n; i++) if (!index.has(y[i])) index.set(y[i], classes.push(y[i]) - 1);
    const Y = new Float64Array(n * classes.length);
    for (let i = 0; i < n; i++) Y[i * classes.length + (index.get(y[i]) as number)] = 1;
    return { Y, k: classes.length, classes };
  }

  /** Fits on the n rows of X (n x columns, float64) and their targets y (n x width), all in memory. */
  async fit(X: Float64Array, n: number, columns: number, y: ArrayLike<number>, width: number): Promise<this> {
    if (n < 2) throw new RangeError(`X must hold at least 2 rows, got ${n}`);
    if (X.length !== n * columns) throw new RangeError(`X must hold ${n} x ${columns} values, got ${X.length}`);
    if (y.length !== n * width) throw new RangeError(`y must hold ${n} x ${width} targets (one row per row of X), got ${y.length}`);
    const { Y, k, classes } = this.targets(y, n, width);
    const K = await this.gram(X, n, null, n, columns);
    let lambda = this.lambdaGiven;
    if (lambda === undefined) {
      const fitRows: number[] = [], valRows: number[] = [];
      for (let i = 0; i < n; i++) (isValidationRow(this.seed, i, this.validation) ? valRows : fitRows).push(i);
      if (fitRows.length < 2 || valRows.length === 0) throw new RangeError(`choosing lambda needs rows in both parts (fit ${fitRows.length}, validation ${valRows.length})`);
      const block = (rows: number[], cols: number[]) => {
        const out = new Float64Array(rows.length * cols.length);
        rows.forEach((r, i) => cols.forEach((c, j) => (out[i * cols.length + j] = K[r * n + c])));
        return { data: out, shape: [rows.length, cols.length] };
      };
      const yOf = (rows: number[], mean: Float64Array) => ({ data: Float64Array.from({ length: rows.length * k }, (_, i) => Y[rows[Math.floor(i / k)] * k + (i % k)] - mean[i % k]), shape: [rows.length, k] });
      const fitMean = this.mean(Y, fitRows, k);
      const search = new KernelRidgeRegression({ memoryLimit: this.memoryLimit });
      await search.selectLambda(block(fitRows, fitRows), yOf(fitRows, fitMean), block(valRows, fitRows), yOf(valRows, fitMean), { metric: this.task === 'classification' ? 'accuracy' : 'mse' });
      lambda = (search.lambda as number) * (n / fitRows.length);
    }
    const all = Array.from({ length: n }, (_, i) => i);
    const offset = this.mean(Y, all, k);
    const centred = Float64Array.from(Y, (v, i) => v - offset[i % k]);
    const model = await new KernelRidgeRegression({ lambda, memoryLimit: this.memoryLimit }).fit({ data: K, shape: [n, n] }, { data: centred, shape: [n, k] });
    this.fitted = { kernel: this.kernel, task: this.task, fitIntercept: this.fitIntercept, lambda, classes, train: X, rows: n, columns, dual: Float64Array.from(model.coefficients().data), offset };
    return this;
  }

  /** The targets' mean over `rows` (zeros without an intercept). */
  private mean(Y: Float64Array, rows: number[], k: number): Float64Array {
    const m = new Float64Array(k);
    if (!this.fitIntercept) return m;
    for (const r of rows) for (let t = 0; t < k; t++) m[t] += Y[r * k + t] / rows.length;
    return m;
  }

  get lambda(): number | undefined {
    return this.fitted?.lambda;
  }

  get classes(): number[] | null {
    return this.fitted?.classes?.slice() ?? null;
  }

  /** Outputs for the rows of X (n x columns): n x k. */
  async predict(X: Float64Array, n: number): Promise<NdArray<Float64Array>> {
    const s = this.requireFitted();
    const k = s.offset.length, out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) out.set(s.offset, i * k);
    const block = Math.max(1, Math.floor(PREDICT_BLOCK_ENTRIES / s.rows));
    for (let b = 0; b < n; b += block) {
      const e = Math.min(n, b + block);
      const Kt = await this.gram(X.subarray(b * s.columns, e * s.columns), e - b, s.train, s.rows, s.columns);
      // out[b:e] += K(X[b:e], train) alpha
      await native().gemm({ transA: false, transB: false, m: e - b, n: k, k: s.rows, alpha: 1, a: Kt, lda: s.rows, b: s.dual, ldb: k, beta: 1, c: out.subarray(b * k, e * k), ldc: k }, true);
    }
    return toNdarray(out, n, k);
  }

  async predictLabels(X: Float64Array, n: number): Promise<Float64Array> {
    const s = this.requireFitted();
    if (!s.classes) throw new RangeError('ExactKernelRidge.predictLabels: the task is regression; use predict');
    return labelsOf((await this.predict(X, n)).data, n, s.classes);
  }

  private requireFitted(): ExactKernelRidgeState {
    if (!this.fitted) throw new RangeError('ExactKernelRidge: the model has not been fitted (call fit first)');
    return this.fitted;
  }

  /** @internal What a model file stores. */
  state(): ExactKernelRidgeState {
    return this.requireFitted();
  }

  /** @internal A fitted model from a stored state. */
  static fromState(state: ExactKernelRidgeState, memoryLimit?: number): ExactKernelRidge {
    const model = new ExactKernelRidge({ kernel: state.kernel, task: state.task, lambda: state.lambda, fitIntercept: state.fitIntercept, ...(memoryLimit !== undefined ? { memoryLimit } : {}) });
    model.fitted = state;
    return model;
  }
}
