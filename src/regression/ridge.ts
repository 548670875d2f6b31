/**
 * Ridge regression on feature maps and kernel ridge regression on exact
 * kernels (docs/math.md#ridge-regression). Both solve (A + lambda I) W = B in float64:
 *
 * - RidgeRegression: A = Phi^T Phi (m x m), B = Phi^T Y, accumulated over
 *   batches (`partialFit`) through the core's FMA-chain SYRK/GEMM (any batch split
 *   accumulates the same bits as one fit), so the n x m feature
 *   matrix never has to be in memory at once. Cost O(n m^2) to accumulate,
 *   O(m^3 / 3) per Cholesky solve.
 * - KernelRidgeRegression: A = K (n x n), B = Y, predictions K_test W.
 *
 * A lambda path comes from one eigendecomposition A = V E V^T:
 * W(lambda) = V diag(1 / (e + lambda)) V^T B, each lambda scored on a
 * validation set (for large A and few lambdas, one Cholesky per lambda is
 * cheaper and is used instead; see LambdaPathOptions.solver). A lambda that leaves A + lambda I singular or too
 * ill-conditioned for a float64 solve (reciprocal condition < 1e-13) throws a
 * RangeError instead of returning inaccurate weights.
 */
import type { NdArray } from 'ndarray';
import {
  checkMemory,
  checkOptions,
  describe,
  memoryLimitOption,
  numberOption,
  toMatrix,
  toNdarray,
  type Matrix,
} from '../core/arrays.js';
import { native, type FloatArray } from '../core/native.js';
import { jobCopy } from '../core/job-inputs.js';
import { CONTROL_KEYS, abortable, controlOnlyOptions, controlOptions, runAsync, runSync, type CallControl, type Steps } from '../core/steps.js';
import type { MatrixLike, TargetsLike } from '../core/inputs.js';

export type Metric = 'accuracy' | 'mse';

export interface RidgeOptions {
  /** Regularisation lambda >= 0 (absolute). Default 1e-6 * mean diagonal of A, fixed at the first solve. */
  lambda?: number;
  /** Refuse Gram/kernel matrices needing more bytes than this. Default 4 GiB. */
  memoryLimit?: number;
}

export interface LambdaScore {
  lambda: number;
  /** Accuracy (higher is better) or mean squared error (lower is better); +-Infinity when lambda is too small to solve reliably. */
  score: number;
}

export interface LambdaPathOptions extends CallControl {
  /** Absolute lambdas to try (> 0). Default: 10^-7 .. 10^1 times the mean diagonal of A. */
  lambdas?: number[];
  /** 'accuracy' (argmax of one-hot rows; ties broken by MSE) or 'mse'. Default 'mse'. */
  metric?: Metric;
  /**
   * 'eigen': one eigendecomposition serves every lambda; 'cholesky': one
   * factorisation per lambda; 'auto' (default): eigen up to EIGEN_PATH_MAX_DIM
   * (or for more than 24 lambdas), else cholesky. Same scores either way.
   */
  solver?: 'auto' | 'eigen' | 'cholesky';
  // signal, onProgress (CallControl): onProgress(lambdas scored, lambdas); an
  // abort rejects with an AbortError at once and leaves the model as it was.
}

/**
 * Rows per block of a fit with a signal or onProgress: about 2^32 multiply-adds
 * of the m x (m + k) accumulation (a fraction of a second), at least one row.
 * Any split of the rows accumulates the same bits.
 */
export function fitBlockRows(m: number, k: number): number {
  return Math.max(1, Math.floor(2 ** 32 / Math.max(1, m * (m + k))));
}


/** Smallest reciprocal condition number accepted for a solve. */
export const MIN_RCOND = 1e-13;

/**
 * Largest system solved for a lambda path by eigendecomposition under
 * solver 'auto': a symmetric eigendecomposition costs about 25 Cholesky
 * factorisations (and runs single-threaded), so beyond this size one Cholesky
 * per lambda is faster for the default 9-point grid.
 */
export const EIGEN_PATH_MAX_DIM = 2048;

/** Solution state shared by both regressors. */
abstract class RegularizedSolver {
  protected lambdaValue: number | undefined;
  protected readonly memoryLimit: number;
  protected weights: Float64Array | null = null;
  protected dim = 0; // rows of A (features m, or training points n)
  protected outputs = 0; // columns of B

  constructor(options: unknown, name: string) {
    const opts = checkOptions(`${name} options`, options, ['lambda', 'memoryLimit']);
    this.lambdaValue = opts.lambda === undefined ? undefined : numberOption('lambda', opts.lambda, 0, Number.MAX_VALUE);
    this.memoryLimit = memoryLimitOption('memoryLimit', opts.memoryLimit);
  }

  /** The regularisation in use (undefined until set or first solved). */
  get lambda(): number | undefined {
    return this.lambdaValue;
  }
  /** Changes lambda (>= 0); the next predict solves again with it. */
  set lambda(value: number) {
    this.lambdaValue = numberOption('lambda', value, 0, Number.MAX_VALUE);
    this.weights = null;
  }

  /** Number of outputs (columns of Y). */
  get outputCount(): number {
    return this.outputs;
  }

  /** The m x k (or n x k) weights, solving on demand. */
  protected abstract system(): { a: Float64Array; b: Float64Array };
  /** The system for an async job: arrays the caller cannot detach (core/job-inputs.ts). */
  protected jobSystem(): { a: Float64Array; b: Float64Array } {
    return this.system();
  }

  protected meanDiagonal(a: Float64Array): number {
    let t = 0;
    for (let i = 0; i < this.dim; i++) t += a[i * this.dim + i];
    return t / Math.max(1, this.dim);
  }

  /**
   * Runs `call` (sync, or async when it returns a Promise); when it fails
   * because `signal` aborted, restores every field as it was before (the
   * arrays a call replaces are new ones, so the old ones are intact), so that
   * an aborted call leaves the model unchanged.
   */
  protected keepOnAbort<R>(signal: AbortSignal | undefined, call: () => R): R {
    const before = { ...this };
    const restore = (error: unknown): never => {
      if (signal?.aborted) Object.assign(this, before);
      throw error;
    };
    try {
      const result = call();
      return (result instanceof Promise ? result.catch(restore) : result) as R;
    } catch (error) {
      return restore(error);
    }
  }

  protected *solveSteps(async: boolean, signal?: AbortSignal): Steps {
    const { a, b } = async ? this.jobSystem() : this.system();
    const lambda = this.lambdaValue ?? 1e-6 * this.meanDiagonal(a);
    const w = new Float64Array(this.dim * this.outputs);
    const status = new Float64Array(2);
    yield abortable(native().ridgeSolve({ gram: a, m: this.dim, rhs: b, k: this.outputs, lambda, weights: w, status }, async), signal);
    this.lambdaValue = lambda;
    const [info, rcond] = status;
    if (info !== 0) {
      throw new RangeError(
        `lambda = ${this.lambdaValue} leaves the ${this.dim} x ${this.dim} system singular (not positive definite at pivot ${info}); use a larger lambda`,
      );
    }
    if (rcond < MIN_RCOND) {
      throw new RangeError(
        `lambda = ${this.lambdaValue} leaves the system ill-conditioned (condition number ~${(1 / Math.max(rcond, 1e-300)).toExponential(1)}), ` +
          'so the weights would be inaccurate; use a larger lambda',
      );
    }
    this.weights = w;
  }

  /** The selectLambda options and their signal and onProgress. */
  protected pathOptions(options: unknown): { opts: Record<string, unknown>; control: CallControl } {
    const opts = checkOptions('selectLambda options', options, ['lambdas', 'metric', 'solver', ...CONTROL_KEYS]);
    return { opts, control: controlOptions('selectLambda options', opts) };
  }

  protected *pathSteps(async: boolean, val: Matrix, yVal: Matrix, opts: Record<string, unknown>, control: CallControl = {}): Generator<Promise<void> | undefined, LambdaScore[]> {
    const { signal, onProgress } = control;
    const metric = opts.metric ?? 'mse';
    if (metric !== 'accuracy' && metric !== 'mse') throw new RangeError(`metric must be 'accuracy' or 'mse', got ${describe(metric)}`);
    const solverOpt = opts.solver ?? 'auto';
    if (solverOpt !== 'auto' && solverOpt !== 'eigen' && solverOpt !== 'cholesky') {
      throw new RangeError(`solver must be 'auto', 'eigen' or 'cholesky', got ${describe(solverOpt)}`);
    }
    const { a, b } = async ? this.jobSystem() : this.system();
    const mean = this.meanDiagonal(a);
    let lambdas: number[];
    if (opts.lambdas === undefined) {
      lambdas = [];
      for (let e = -7; e <= 1; e++) lambdas.push(mean * 10 ** e);
    } else {
      if (!Array.isArray(opts.lambdas) || opts.lambdas.length === 0) throw new TypeError('lambdas must be a non-empty array of numbers');
      lambdas = opts.lambdas.map((l, i) => numberOption(`lambdas[${i}]`, l, Number.MIN_VALUE, Number.MAX_VALUE));
    }
    const m = this.dim, k = this.outputs;
    const solver = solverOpt === 'auto' ? (m <= EIGEN_PATH_MAX_DIM || lambdas.length > 24 ? 'eigen' : 'cholesky') : solverOpt;
    const val64 = val.data instanceof Float64Array ? (async ? jobCopy(val.data) : val.data) : Float64Array.from(val.data);
    const pred = new Float64Array(val.rows * k);
    // Each strategy yields validation predictions for one lambda, or false when
    // that lambda is too small for a reliable solve.
    const predictions = solver === 'eigen'
      ? yield* this.eigenPath(async, a, b, val64, val.rows, pred, signal)
      : this.choleskyPath(async, a, b, val64, val.rows, pred, signal);
    const scores: LambdaScore[] = [];
    let best: { s: LambdaScore; mse: number } | undefined;
    onProgress?.(0, lambdas.length);
    for (const lambda of lambdas) {
      const usable = yield* predictions(lambda);
      onProgress?.(scores.length + 1, lambdas.length);
      if (!usable) {
        scores.push({ lambda, score: metric === 'accuracy' ? -Infinity : Infinity });
        continue;
      }
      const s = { lambda, score: score(metric, pred, yVal) };
      scores.push(s);
      // Accuracy ties (common: it is flat over decades of lambda) go to the
      // lower validation MSE, so the choice does not sit on a grid edge.
      const mse = metric === 'accuracy' ? score('mse', pred, yVal) : s.score;
      const better = !best
        || (metric === 'accuracy' ? s.score > best.s.score || (s.score === best.s.score && mse < best.mse) : s.score < best.s.score);
      if (better) best = { s, mse };
    }
    if (!best) throw new RangeError('no lambda in the path gives a well-conditioned solve; use larger lambdas');
    this.lambdaValue = best.s.lambda;
    this.weights = null;
    return scores;
  }

  /** One eigendecomposition A = V E V^T, then W(lambda) = V (E + lambda)^-1 V^T B per lambda. */
  private *eigenPath(async: boolean, a: Float64Array, b: Float64Array, val: Float64Array, rows: number, pred: Float64Array, signal?: AbortSignal) {
    const m = this.dim, k = this.outputs;
    const evals = new Float64Array(m);
    const vt = new Float64Array(m * m);
    const status = new Float64Array(1);
    yield abortable(native().symmetricEigh({ matrix: a, m, eigenvalues: evals, eigenvectors: vt, status }, async), signal);
    if (status[0] !== 0) throw new RangeError(`eigendecomposition failed to converge (info ${status[0]})`);
    // C = V^T B, Q = M V (validation rows in the eigenbasis).
    const c = new Float64Array(m * k);
    yield abortable(native().gemm({ transA: false, transB: false, m, n: k, k: m, alpha: 1, a: vt, lda: m, b, ldb: k, beta: 0, c, ldc: k }, async), signal);
    const q = new Float64Array(rows * m);
    yield abortable(native().gemm({ transA: false, transB: true, m: rows, n: m, k: m, alpha: 1, a: val, lda: m, b: vt, ldb: m, beta: 0, c: q, ldc: m }, async), signal);
    const scaled = new Float64Array(m * k);
    const emax = Math.max(evals[m - 1], 0);
    return function* (lambda: number): Generator<Promise<void> | undefined, boolean> {
      // The same acceptance rule as a direct solve: the LAPACK 1-norm
      // condition estimate can be up to m times the eigenvalue ratio.
      if (Math.max(evals[0], 0) + lambda < (emax + lambda) * MIN_RCOND * m) return false;
      for (let j = 0; j < m; j++) {
        // Eigenvalues clipped at 0 (A is PSD; tiny negatives are rounding).
        const d = Math.max(evals[j], 0) + lambda;
        for (let t = 0; t < k; t++) scaled[j * k + t] = c[j * k + t] / d;
      }
      yield abortable(native().gemm({ transA: false, transB: false, m: rows, n: k, k: m, alpha: 1, a: q, lda: m, b: scaled, ldb: k, beta: 0, c: pred, ldc: k }, async), signal);
      return true;
    };
  }

  /** One Cholesky solve per lambda (cheaper than an eigendecomposition for large m and few lambdas). */
  private choleskyPath(async: boolean, a: Float64Array, b: Float64Array, val: Float64Array, rows: number, pred: Float64Array, signal?: AbortSignal) {
    const m = this.dim, k = this.outputs;
    const w = new Float64Array(m * k);
    const status = new Float64Array(2);
    return function* (lambda: number): Generator<Promise<void> | undefined, boolean> {
      yield abortable(native().ridgeSolve({ gram: a, m, rhs: b, k, lambda, weights: w, status }, async), signal);
      if (status[0] !== 0 || status[1] < MIN_RCOND) return false;
      yield abortable(native().gemm({ transA: false, transB: false, m: rows, n: k, k: m, alpha: 1, a: val, lda: m, b: w, ldb: k, beta: 0, c: pred, ldc: k }, async), signal);
      return true;
    };
  }

  protected *predictSteps(async: boolean, mat: Matrix): Generator<Promise<void> | undefined, NdArray<Float64Array>> {
    if (this.outputs === 0) throw new RangeError('the model has not been fitted: call fit or partialFit first');
    if (!this.weights) yield* this.solveSteps(async);
    const w = this.weights as Float64Array;
    const m64 = mat.data instanceof Float64Array ? (async ? jobCopy(mat.data) : mat.data) : Float64Array.from(mat.data);
    const out = new Float64Array(mat.rows * this.outputs);
    const outputs = this.outputs, dim = this.dim;
    yield native().gemm({ transA: false, transB: false, m: mat.rows, n: outputs, k: dim, alpha: 1, a: m64, lda: dim, b: w, ldb: outputs, beta: 0, c: out, ldc: outputs }, async);
    return toNdarray(out, mat.rows, this.outputs);
  }

  /** The solved weights (dim x outputs, a copy), solving on demand. */
  coefficients(): NdArray<Float64Array> {
    if (this.outputs === 0) throw new RangeError('the model has not been fitted: call fit or partialFit first');
    if (!this.weights) runSync(this.solveSteps(false));
    // A copy: the model's own weights are read by async predictions, and must not be detached or changed by the caller.
    return toNdarray((this.weights as Float64Array).slice(), this.dim, this.outputs);
  }
}

function score(metric: Metric, pred: Float64Array, y: Matrix): number {
  const k = y.cols;
  if (metric === 'mse') {
    let s = 0;
    for (let i = 0; i < pred.length; i++) s += (pred[i] - y.data[i]) ** 2;
    return s / pred.length;
  }
  let correct = 0;
  for (let i = 0; i < y.rows; i++) {
    correct += argmax(pred, i * k, k) === argmax(y.data, i * k, k) ? 1 : 0;
  }
  return correct / y.rows;
}

function argmax(a: ArrayLike<number>, start: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[start + j] > a[start + best]) best = j;
  return best;
}

/** Class labels 0..classes-1 -> one-hot float64 targets (n x classes). */
export function oneHot(labels: ArrayLike<number>, classes: number): NdArray<Float64Array> {
  if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`classes must be a positive integer, got ${classes}`);
  const out = new Float64Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new RangeError(`labels[${i}] must be an integer in [0, ${classes - 1}], got ${c}`);
    out[i * classes + c] = 1;
  }
  return toNdarray(out, labels.length, classes);
}

/** Row-wise argmax of a prediction matrix (class labels). */
export function argmaxRows(pred: NdArray<FloatArray> | Matrix): Int32Array {
  const mat = 'rows' in pred ? pred : toMatrix('pred', pred);
  const out = new Int32Array(mat.rows);
  for (let i = 0; i < mat.rows; i++) out[i] = argmax(mat.data, i * mat.cols, mat.cols);
  return out;
}

export interface RidgeJSON {
  format: 'ntk-sketch/ridge-regression';
  version: 1;
  lambda: number;
  features: number;
  outputs: number;
  weights: number[];
}

/**
 * Ridge regression on a feature matrix Phi (n x m): minimises
 * |Phi W - Y|^2 + lambda |W|^2 for multi-output Y (n x k). No intercept
 * (NTK features carry the scale of the inputs; centre Y yourself if needed).
 */
export class RidgeRegression extends RegularizedSolver {
  private gram: Float64Array | null = null;
  private rhs: Float64Array | null = null;
  private rowsSeen = 0;

  constructor(options?: RidgeOptions) {
    super(options, 'RidgeRegression');
  }

  /** Number of rows accumulated so far. */
  get samples(): number {
    return this.rowsSeen;
  }

  protected system(): { a: Float64Array; b: Float64Array } {
    if (!this.gram || !this.rhs) throw new RangeError('the model has no accumulated data (it was loaded with fromJSON or never fitted)');
    return { a: this.gram, b: this.rhs };
  }

  private checkBatch(Phi: unknown, Y: unknown): { phi: Matrix; y: Matrix } {
    const phi = toMatrix('Phi', Phi, this.dim ? { cols: this.dim, colsName: 'the features of earlier batches' } : {});
    const y = toMatrix('Y', Y, { allowVector: true, dtype: 'float64', ...(this.outputs ? { cols: this.outputs, colsName: 'the outputs of earlier batches' } : {}) });
    if (y.rows !== phi.rows) throw new RangeError(`Y must have one row per row of Phi (${phi.rows}), got ${y.rows}`);
    if (!this.gram) {
      checkMemory(`RidgeRegression: the ${phi.cols} x ${phi.cols} Gram matrix`, 8 * phi.cols * (phi.cols + y.cols) * 2, this.memoryLimit);
    }
    return { phi, y };
  }

  private *accumulateSteps(async: boolean, Phi: unknown, Y: unknown, reset: boolean, control: CallControl = {}): Steps {
    if (reset) {
      this.gram = null;
      this.rhs = null;
      this.dim = 0;
      this.outputs = 0;
      this.rowsSeen = 0;
    }
    const { phi, y } = this.checkBatch(Phi, Y);
    if (!this.gram || !this.rhs) {
      this.dim = phi.cols;
      this.outputs = y.cols;
      this.gram = new Float64Array(this.dim * this.dim);
      this.rhs = new Float64Array(this.dim * this.outputs);
    }
    this.weights = null;
    const { signal, onProgress } = control;
    const n = phi.rows, m = phi.cols, k = y.cols;
    const gram = this.gram, rhs = this.rhs, ydata = y.data as Float64Array;
    // In row blocks when the call can be aborted or reports progress (the same bits).
    const rows = signal || onProgress ? fitBlockRows(m, k) : Math.max(1, n);
    onProgress?.(0, n);
    for (let r = 0; r < n || r === 0; r += rows) {
      const e = Math.min(n, r + rows);
      const block = { phi: phi.data.subarray(r * m, e * m), n: e - r, m, y: ydata.subarray(r * k, e * k), k, gram, rhs };
      // Async: the job reads private copies (core/job-inputs.ts); the caller may detach theirs meanwhile.
      if (async) Object.assign(block, { phi: jobCopy(block.phi), y: jobCopy(block.y) });
      yield abortable(native().gramAccumulate(block, async), signal);
      onProgress?.(e, n);
      if (e >= n) break;
    }
    this.rowsSeen += n;
  }

  /**
   * Fits on Phi (n x m) and Y (n x k, or a length-n vector), discarding
   * earlier data. With `signal` or `onProgress` the rows are accumulated in
   * blocks of about 2^32 multiply-adds (the same bits): onProgress(rows
   * done, rows) after each; an abort rejects with an AbortError (async: at
   * once, a native step running is left to finish in the background) and
   * leaves the model as it was.
   */
  fitSync(Phi: MatrixLike, Y: TargetsLike, options?: CallControl): this {
    const control = controlOnlyOptions('fit options', options);
    return this.keepOnAbort(control.signal, () => {
      runSync(this.accumulateSteps(false, Phi, Y, true, control), control.signal);
      runSync(this.solveSteps(false, control.signal), control.signal);
      return this;
    });
  }
  async fit(Phi: MatrixLike, Y: TargetsLike, options?: CallControl): Promise<this> {
    const control = controlOnlyOptions('fit options', options);
    return this.keepOnAbort(control.signal, async () => {
      await runAsync(this.accumulateSteps(true, Phi, Y, true, control), control.signal);
      await runAsync(this.solveSteps(true, control.signal), control.signal);
      return this;
    });
  }

  /** Adds a batch to the normal equations; the solve happens at the next predict. */
  partialFitSync(Phi: MatrixLike, Y: TargetsLike): this {
    runSync(this.accumulateSteps(false, Phi, Y, false));
    return this;
  }
  async partialFit(Phi: MatrixLike, Y: TargetsLike): Promise<this> {
    await runAsync(this.accumulateSteps(true, Phi, Y, false));
    return this;
  }

  /** Predictions Phi W (n x k, float64). */
  predictSync(Phi: MatrixLike): NdArray<Float64Array> {
    return runSync(this.predictSteps(false, toMatrix('Phi', Phi, { cols: this.dim || undefined, colsName: 'the fitted features' })));
  }
  async predict(Phi: MatrixLike): Promise<NdArray<Float64Array>> {
    return runAsync(this.predictSteps(true, toMatrix('Phi', Phi, { cols: this.dim || undefined, colsName: 'the fitted features' })));
  }

  /**
   * Chooses lambda on a validation set (PhiVal, YVal) from one
   * eigendecomposition of Phi^T Phi; sets it and returns every score.
   * `signal` and `onProgress` (per lambda) as for fit.
   */
  selectLambdaSync(PhiVal: MatrixLike, YVal: TargetsLike, options?: LambdaPathOptions): LambdaScore[] {
    const { opts, control } = this.pathOptions(options);
    const { phi, y } = this.checkValidation(PhiVal, YVal);
    return this.keepOnAbort(control.signal, () => runSync(this.pathSteps(false, phi, y, opts, control), control.signal));
  }
  async selectLambda(PhiVal: MatrixLike, YVal: TargetsLike, options?: LambdaPathOptions): Promise<LambdaScore[]> {
    const { opts, control } = this.pathOptions(options);
    const { phi, y } = this.checkValidation(PhiVal, YVal);
    return this.keepOnAbort(control.signal, () => runAsync(this.pathSteps(true, phi, y, opts, control), control.signal));
  }

  private checkValidation(PhiVal: unknown, YVal: unknown): { phi: Matrix; y: Matrix } {
    if (!this.gram) throw new RangeError('the model has no accumulated data: call fit or partialFit first');
    const phi = toMatrix('PhiVal', PhiVal, { cols: this.dim, colsName: 'the fitted features' });
    const y = toMatrix('YVal', YVal, { allowVector: true, cols: this.outputs, colsName: 'the fitted outputs' });
    if (y.rows !== phi.rows) throw new RangeError(`YVal must have one row per row of PhiVal (${phi.rows}), got ${y.rows}`);
    return { phi, y };
  }

  /** Serialises the solved weights (not the Gram matrix): enough to predict. */
  toJSON(): RidgeJSON {
    const w = this.coefficients();
    return {
      format: 'ntk-sketch/ridge-regression',
      version: 1,
      lambda: this.lambdaValue as number,
      features: this.dim,
      outputs: this.outputs,
      weights: Array.from(w.data),
    };
  }

  /** Restores a model saved by toJSON (it can predict; partialFit starts afresh). */
  static fromJSON(json: unknown): RidgeRegression {
    const doc = (typeof json === 'string' ? JSON.parse(json) : json) as Partial<RidgeJSON> | null;
    if (!doc || typeof doc !== 'object' || doc.format !== 'ntk-sketch/ridge-regression') {
      throw new TypeError('json is not a saved RidgeRegression (format must be ntk-sketch/ridge-regression)');
    }
    if (doc.version !== 1) throw new RangeError(`json.version ${String(doc.version)} is not supported (expected 1)`);
    const m = doc.features, k = doc.outputs;
    if (!Number.isSafeInteger(m) || !Number.isSafeInteger(k) || (m as number) < 1 || (k as number) < 1) {
      throw new RangeError('json.features and json.outputs must be positive integers');
    }
    if (!Array.isArray(doc.weights) || doc.weights.length !== (m as number) * (k as number)) {
      throw new RangeError(`json.weights must hold features x outputs = ${(m as number) * (k as number)} numbers`);
    }
    const model = new RidgeRegression({ lambda: numberOption('json.lambda', doc.lambda, 0, Number.MAX_VALUE) });
    doc.weights.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`json.weights[${i}] must be a finite number, got ${describe(v)}`);
    });
    const w = Float64Array.from(doc.weights);
    model.dim = m as number;
    model.outputs = k as number;
    model.weights = w;
    return model;
  }
}

/**
 * Kernel ridge regression with a precomputed kernel: fit(K, Y) solves
 * (K + lambda I) W = Y (Cholesky, O(n^3/3)); predict(K_test) = K_test W,
 * with K_test the m x n kernel between test and training points.
 */
export class KernelRidgeRegression extends RegularizedSolver {
  private kernel: Float64Array | null = null;
  private targets: Float64Array | null = null;
  /** Whether kernel and targets are the caller's arrays (a sync fit keeps them without a copy). */
  private callersArrays = false;

  constructor(options?: RidgeOptions) {
    super(options, 'KernelRidgeRegression');
  }

  protected system(): { a: Float64Array; b: Float64Array } {
    if (!this.kernel || !this.targets) throw new RangeError('the model has not been fitted: call fit first');
    return { a: this.kernel, b: this.targets };
  }

  /** Keeps K and Y (async: private copies, see core/job-inputs.ts; the model's later async calls read them). */
  protected jobSystem(): { a: Float64Array; b: Float64Array } {
    if (this.callersArrays && this.kernel && this.targets) {
      this.kernel = jobCopy(this.kernel);
      this.targets = jobCopy(this.targets);
      this.callersArrays = false;
    }
    return this.system();
  }

  private load(K: unknown, Y: unknown, async = false): void {
    const k = toMatrix('K', K, { dtype: 'float64' });
    if (k.rows !== k.cols) throw new RangeError(`K must be a square training kernel, got ${k.rows} x ${k.cols}`);
    // The Cholesky solve factors a float64 copy of K.
    checkMemory('KernelRidgeRegression: the factorised kernel', 8 * k.rows * k.rows, this.memoryLimit);
    const y = toMatrix('Y', Y, { allowVector: true, dtype: 'float64' });
    if (y.rows !== k.rows) throw new RangeError(`Y must have one row per row of K (${k.rows}), got ${y.rows}`);
    this.kernel = async ? jobCopy(k.data as Float64Array) : (k.data as Float64Array);
    this.targets = async ? jobCopy(y.data as Float64Array) : (y.data as Float64Array);
    this.callersArrays = !async;
    this.dim = k.rows;
    this.outputs = y.cols;
    this.weights = null;
  }

  /**
   * Fits dual weights on the training kernel K (n x n) and targets Y (n x k
   * or length n). An abort through `signal` rejects with an AbortError at once
   * (the Cholesky factorisation running is left to finish in the background)
   * and leaves the model as it was; onProgress(0, 1) and (1, 1).
   */
  fitSync(K: MatrixLike, Y: TargetsLike, options?: CallControl): this {
    const control = controlOnlyOptions('fit options', options);
    return this.keepOnAbort(control.signal, () => {
      this.load(K, Y);
      control.onProgress?.(0, 1);
      runSync(this.solveSteps(false, control.signal), control.signal);
      control.onProgress?.(1, 1);
      return this;
    });
  }
  async fit(K: MatrixLike, Y: TargetsLike, options?: CallControl): Promise<this> {
    const control = controlOnlyOptions('fit options', options);
    return this.keepOnAbort(control.signal, async () => {
      this.load(K, Y, true);
      control.onProgress?.(0, 1);
      await runAsync(this.solveSteps(true, control.signal), control.signal);
      control.onProgress?.(1, 1);
      return this;
    });
  }

  /** Predictions K_test W for the test-vs-train kernel K_test (m x n). */
  predictSync(Ktest: MatrixLike): NdArray<Float64Array> {
    return runSync(this.predictSteps(false, toMatrix('Ktest', Ktest, { cols: this.dim || undefined, colsName: 'the training points' })));
  }
  async predict(Ktest: MatrixLike): Promise<NdArray<Float64Array>> {
    return runAsync(this.predictSteps(true, toMatrix('Ktest', Ktest, { cols: this.dim || undefined, colsName: 'the training points' })));
  }

  /**
   * Loads (K, Y) and chooses lambda on validation points: KVal is the
   * validation-vs-train kernel, YVal its targets. One eigendecomposition of K.
   */
  selectLambdaSync(K: MatrixLike, Y: TargetsLike, KVal: MatrixLike, YVal: TargetsLike, options?: LambdaPathOptions): LambdaScore[] {
    const { opts, control } = this.pathOptions(options);
    return this.keepOnAbort(control.signal, () => {
      const { kv, yv } = this.loadWithValidation(K, Y, KVal, YVal);
      return runSync(this.pathSteps(false, kv, yv, opts, control), control.signal);
    });
  }
  async selectLambda(K: MatrixLike, Y: TargetsLike, KVal: MatrixLike, YVal: TargetsLike, options?: LambdaPathOptions): Promise<LambdaScore[]> {
    const { opts, control } = this.pathOptions(options);
    return this.keepOnAbort(control.signal, () => {
      const { kv, yv } = this.loadWithValidation(K, Y, KVal, YVal, true);
      return runAsync(this.pathSteps(true, kv, yv, opts, control), control.signal);
    });
  }

  private loadWithValidation(K: unknown, Y: unknown, KVal: unknown, YVal: unknown, async = false): { kv: Matrix; yv: Matrix } {
    this.load(K, Y, async);
    // The eigendecomposition holds the eigenvectors and about as much workspace.
    checkMemory('KernelRidgeRegression: the eigendecomposition of K', 8 * this.dim * this.dim * 3, this.memoryLimit);
    const kv = toMatrix('KVal', KVal, { cols: this.dim, colsName: 'the training points', dtype: 'float64' });
    const yv = toMatrix('YVal', YVal, { allowVector: true, cols: this.outputs, colsName: 'the outputs of Y', dtype: 'float64' });
    if (yv.rows !== kv.rows) throw new RangeError(`YVal must have one row per row of KVal (${kv.rows}), got ${yv.rows}`);
    return { kv, yv };
  }
}
