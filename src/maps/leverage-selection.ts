/**
 * LeverageSelection: keeps the `features` most useful columns of a larger
 * feature map (the pool), chosen from data by ridge leverage scores.
 *
 * For the pool's features Phi (n x M) on n sample rows, with G = Phi Phi^T,
 * the ridge leverage score of column j is
 *
 *     s_j = phi_j^T (G + lambda I)^-1 phi_j,   lambda = lambda_rel * mean diag(G),
 *
 * the share of column j in ridge regression on those rows; they sum to the
 * effective dimension d_eff(lambda) <= n. Random-feature theory (Bach 2017;
 * Avron et al. 2017) says sampling features in proportion to these scores
 * needs about d_eff features for a given accuracy, where uniform sampling
 * needs a worst-case multiple of it. Columns are drawn without replacement
 * with inclusion probabilities pi_j = min(1, c s_j) (sum: `features`), by
 * systematic sampling over a seeded random order, and kept column j is
 * scaled by 1 / sqrt(pi_j): then E[Phi_S Phi_S^T] = Phi Phi^T exactly, so
 * the selected features still approximate the pool's kernel without bias.
 * Columns that are the same for every seed (an NTKSketch's constant block,
 * sqrt(c_0) |x|) are always kept, at scale 1: sampling them would only add
 * noise (dropping the constant column of an NTKSketch loses a tenth of its
 * kernel).
 *
 * `normalize` (the default) rescales as the maps do, which makes the kernel
 * diagonals exact and the estimate a ratio estimator (bias O(1 / features));
 * without it the Gram error on new rows is heavy-tailed, since the scales
 * 1 / sqrt(pi_j) of rarely drawn columns are large.
 *   - NTKSketch pools: each block of the pool (the samples of one product
 *     sketch) is rescaled to its exact norm over its kept rows, and only the
 *     kept rows are computed (natively, on the CPU; the hidden layers cost
 *     what the pool's do, the output only the kept rows). The rows of a
 *     block must be alike for this: the pool must be built with
 *     `exactCopies: false`.
 *   - NTKRandomFeatures and CNTKSketch pools: each kept row is rescaled to
 *     the norm of its pool row, which the pool's transform computes whole.
 *
 * Measured on Fashion-MNIST (depth 2, 10,000 training / 10,000 test images,
 * the CLI's ridge protocol, 3 seeds; bench/results/leverage-selection.md):
 * 8,192 columns kept from a 65,536-feature NTKSketch with sketchDim 16,384
 * give 86.82 % ridge accuracy, 0.89 points below exact NTK kernel ridge
 * (plain 8,192 features: 1.48 points below), a Gram error against the exact
 * NTK on new rows of 0.029..0.033 (plain: 0.026..0.031), and transform 10,000
 * rows in 0.93x the time of one sgemm of the output's shape.
 *
 * Cost: fit computes the pool's features of the sample rows and the scores
 * in O(n^2 M + n^3) float64 work (n x n memory). A transform costs, for an
 * NTKSketch pool, its hidden layers plus the kept rows; for other pools, one
 * pool transform plus a gather.
 */
import type { RowsLike } from '../core/inputs.js';
import {
  allocate,
  booleanOption,
  checkMemory,
  checkOptions,
  describe,
  elementBytes,
  intOption,
  memoryLimitOption,
  numberOption,
  seedOption,
  type DType,
} from '../core/arrays.js';
import { CNTKSketch } from './cntk-sketch.js';
import { mulberry32, permutation, seedHash } from '../core/random.js';
import {
  FeatureMap,
  kernelOption,
  readSaved,
  type FeatureKernel,
  type InputLayout,
  type MapInput,
  type NativeTarget,
  type PoolType,
  type SavedFormat,
  type TransformTarget,
} from './feature-map.js';
import { native, type FloatArray } from '../core/native.js';
import { NTKRandomFeatures } from './ntk-random-features.js';
import { NTKSketch } from './ntk-sketch.js';
import { markPrivate } from '../core/job-inputs.js';
import { abortable, controlOnlyOptions, runAsync, runSync, type CallControl, type Steps } from '../core/steps.js';


/** The maps a selection can draw from. */
export type PoolMap = NTKSketch | NTKRandomFeatures | CNTKSketch;

export interface LeverageSelectionOptions {
  /** The pool: a feature map with more features than `features` (an NTKSketch built with exactCopies: false when normalize). */
  map: PoolMap;
  /** Columns to keep, 1 .. map.features. */
  features: number;
  /** 'ntk' (default) or 'nngp': the pool's features to select from. */
  kernel?: FeatureKernel;
  /**
   * Ridge parameter of the scores relative to the mean diagonal of the
   * sample's Gram matrix, in (0, 1e6]. Default 1e-3: smaller values give
   * more weight to the directions in which the data vary least. Measured on
   * Fashion-MNIST (8,192 of 32,768 NTKSketch features, one run each): ridge
   * accuracy 86.39 / 86.55 / 86.67 / 86.45 % at 1e-1 / 1e-2 / 1e-3 / 1e-4.
   */
  lambda?: number;
  /** Seed of the column draw. Default 0. */
  seed?: number;
  /** Rescale the kept rows as the maps do: block by block for NTKSketch pools, else to the pool row's norm (see above). Default true. */
  normalize?: boolean;
  /** Refuse fits or results needing more bytes than this. Default 4 GiB. */
  memoryLimit?: number;
}

/**
 * What toJSON() writes: the pool's own document, and the kept columns with
 * their scales. Version 2: NTKSketch pools normalise block by block (version
 * 1 selections, normalised by rows, are refused: refit).
 */
export interface LeverageSelectionJSON {
  format: 'ntk-sketch/leverage-selection';
  version: 2;
  map: { type: PoolType; json: unknown };
  features: number;
  kernel: FeatureKernel;
  lambda: number;
  seed: number;
  normalize: boolean;
  columns: number[];
  scales: number[];
}

export const LEVERAGE_SELECTION_FORMAT = 'ntk-sketch/leverage-selection';
export const LEVERAGE_SELECTION_VERSION = 2;
const DEFAULT_LAMBDA = 1e-3;
const SAVED: SavedFormat = {
  owner: 'LeverageSelection',
  format: LEVERAGE_SELECTION_FORMAT,
  version: LEVERAGE_SELECTION_VERSION,
  fields: ['map', 'features', 'kernel', 'lambda', 'seed', 'normalize', 'columns', 'scales'],
  retired: {
    1:
      'json.version 1 is not supported: its NTKSketch selections normalised whole rows, and this version normalises block by block; ' +
      `fit a new selection (this library reads version ${LEVERAGE_SELECTION_VERSION})`,
  },
};
/** Bytes of pool features one transform block holds. */
const BLOCK_BYTES = 32 * 2 ** 20;

/**
 * Inclusion probabilities pi_j = min(1, c s_j) with sum `k` (columns with
 * a zero score are never drawn); the columns in `always` get pi = 1. Throws
 * when fewer than k columns can be drawn.
 */
export function inclusionProbabilities(scores: Float64Array, k: number, always: ArrayLike<number> = []): Float64Array {
  const pi = new Float64Array(scores.length);
  const capped = new Uint8Array(scores.length);
  for (let t = 0; t < always.length; t++) capped[always[t]] = 1;
  let positive = 0;
  for (let j = 0; j < scores.length; j++) if (scores[j] > 0 || capped[j]) positive++;
  if (positive < k) {
    throw new RangeError(
      `features (${k}) must not exceed the ${positive} columns of the map that can be drawn (a positive leverage score on the fitted rows, or always kept)`,
    );
  }
  let left = k;
  for (let j = 0; j < scores.length; j++) if (capped[j]) left--;
  if (left < 0) throw new RangeError(`features (${k}) must be at least the ${k - left} columns that are always kept`);
  for (;;) {
    let sum = 0;
    for (let j = 0; j < scores.length; j++) if (!capped[j]) sum += scores[j];
    const c = left / sum;
    let newly = 0;
    for (let j = 0; j < scores.length; j++) {
      if (!capped[j] && scores[j] > 0 && c * scores[j] >= 1) {
        capped[j] = 1;
        newly++;
      }
    }
    left -= newly;
    if (newly === 0 || left === 0) {
      for (let j = 0; j < scores.length; j++) pi[j] = capped[j] ? 1 : left === 0 ? 0 : Math.max(0, c * scores[j]);
      return pi;
    }
  }
}

/**
 * Draws exactly k distinct columns, column j with probability pi[j]
 * (sum k): those with pi = 1 always, the others by systematic sampling (one
 * uniform offset, targets one apart) over a seeded random order. As every
 * such pi is below 1, no interval holds two targets. Returns the columns in
 * increasing order.
 */
export function drawColumns(pi: Float64Array, k: number, seed: number): Int32Array {
  const order = permutation(pi.length, seed);
  // The offset comes from a stream of its own (the permutation used the seed's).
  const offset = mulberry32(seedHash(seed) ^ 0x5bd1e995)();
  const chosen = new Uint8Array(pi.length);
  let count = 0;
  for (let j = 0; j < pi.length; j++) {
    if (pi[j] >= 1) {
      chosen[j] = 1;
      count++;
    }
  }
  let target = offset;
  let acc = 0;
  for (const j of order) {
    if (pi[j] >= 1 || pi[j] <= 0) continue;
    acc += pi[j];
    if (target < acc && count < k) {
      chosen[j] = 1;
      count++;
      target += 1;
    }
  }
  // Rounding can leave the sum of pi a hair under k and the last target unmet.
  while (count < k) {
    let best = -1;
    for (let j = 0; j < pi.length; j++) if (!chosen[j] && pi[j] > 0 && (best < 0 || pi[j] > pi[best])) best = j;
    chosen[best] = 1;
    count++;
  }
  const columns = new Int32Array(k);
  for (let j = 0, t = 0; j < pi.length; j++) if (chosen[j]) columns[t++] = j;
  return columns;
}

/** Runs the pool's transform of `rows` into `out`: a Promise when async. */
function poolTransform(
  map: FeatureMap, rows: RowsLike, kernel: FeatureKernel, out: FloatArray, async: boolean, control: CallControl = {},
): Promise<void> | undefined {
  const options = { kernel, out, ...(control.signal ? { signal: control.signal } : {}), ...(control.onProgress ? { onProgress: control.onProgress } : {}) };
  if (async) return map.transform(rows, options).then(() => undefined);
  map.transformSync(rows, options);
  return undefined;
}

function poolMap(map: unknown): PoolMap {
  if (map instanceof FeatureMap) return map as PoolMap;
  throw new TypeError(`map must be an NTKSketch, NTKRandomFeatures or CNTKSketch, got ${describe(map)}`);
}

export class LeverageSelection extends FeatureMap {
  readonly mapType = 'LeverageSelection';
  readonly map: PoolMap;
  readonly features: number;
  readonly kernel: FeatureKernel;
  readonly lambda: number;
  readonly seed: number;
  readonly normalize: boolean;
  readonly memoryLimit: number;

  /** The pool's inputs. */
  get inputLayout(): InputLayout {
    return this.map.inputLayout;
  }
  private cols: Int32Array | null = null;
  private colScales: Float64Array | null = null;
  private fittedScores: Float64Array | null = null;
  /** Pools that can (NTKSketch with normalize): the native map of the kept columns alone. */
  private kept: NativeTarget | null = null;
  /** Whether this selection built its pool (fromJSON), and so releases it in dispose(). */
  private ownsPool = false;

  constructor(options: LeverageSelectionOptions) {
    super();
    const opts = checkOptions('LeverageSelection options', options, ['map', 'features', 'kernel', 'lambda', 'seed', 'normalize', 'memoryLimit']);
    if (options === undefined) throw new TypeError('LeverageSelection options must be an object with map and features');
    this.map = poolMap(opts.map);
    if (this.map.disposed) throw new RangeError('map has been disposed');
    this.features = intOption('features', opts.features, 1, this.map.features);
    this.kernel = kernelOption(opts.kernel);
    this.lambda = opts.lambda === undefined ? DEFAULT_LAMBDA : numberOption('lambda', opts.lambda, Number.MIN_VALUE, 1e6);
    this.seed = seedOption('seed', opts.seed);
    this.normalize = booleanOption('normalize', opts.normalize, true);
    this.memoryLimit = memoryLimitOption('memoryLimit', opts.memoryLimit);
    this.map.checkPool(this.normalize);
  }

  /** The dtype of the features (the pool's). */
  get dtype(): DType {
    return this.map.dtype;
  }

  /** Whether fit (or fromJSON) has chosen the columns. */
  get fitted(): boolean {
    return this.cols !== null;
  }

  /** The kept columns of the pool, increasing (after fit). */
  get columns(): Int32Array {
    return this.requireFitted('columns').columns.slice();
  }

  /** 1 / sqrt(pi_j) for each kept column (after fit). */
  get scales(): Float64Array {
    return this.requireFitted('scales').scales.slice();
  }

  /** The leverage score of every pool column on the fitted rows (after fit; not saved by toJSON). */
  get scores(): Float64Array | null {
    return this.fittedScores ? this.fittedScores.slice() : null;
  }

  private requireFitted(what: string): { columns: Int32Array; scales: Float64Array } {
    if (!this.cols || !this.colScales) throw new RangeError(`LeverageSelection.${what}: call fit first`);
    return { columns: this.cols, scales: this.colScales };
  }

  protected override requireLive(what: string): void {
    if (this.disposed) throw new Error(`LeverageSelection.${what}: the selection has been disposed`);
  }

  private requirePool(what: string): void {
    if (this.map.disposed) throw new RangeError(`LeverageSelection.${what}: the map has been disposed`);
  }

  private *fitSteps(async: boolean, X: unknown, control: CallControl): Steps<this> {
    this.requireLive('fit');
    this.requirePool('fit');
    const input = this.map.readInput(X);
    const n = input.count;
    if (n === 0) throw new RangeError('X must hold at least one row');
    const M = this.map.features;
    const elem = elementBytes(this.dtype);
    checkMemory(
      `LeverageSelection.fit: ${n} rows x ${M} pool features and the ${n} x ${n} Gram matrix`,
      // Float64: the Gram matrix, one 512-column block (native kColumnBlock) and the scores.
      n * M * elem + 8 * (n * n + 512 * n + M),
      this.memoryLimit,
    );
    const phi = markPrivate(allocate(this.dtype, n * M)); // never handed to the caller: the pool writes it directly
    // Progress: the pool's transform reports rows; the scores count as n more.
    const { signal, onProgress } = control;
    const rowsProgress = onProgress && ((done: number) => onProgress(done, 2 * n));
    yield poolTransform(this.map, input.slice(0, n), this.kernel, phi, async, { signal, onProgress: rowsProgress });
    const scores = new Float64Array(M);
    const status = new Float64Array(2);
    yield abortable(native().ridgeLeverage({ phi, n, m: M, lambdaRel: this.lambda, scores, status }, async), signal);
    onProgress?.(2 * n, 2 * n);
    if (status[0] !== 0) {
      throw new RangeError(`LeverageSelection.fit: the Gram matrix plus lambda is not positive definite (pivot ${status[0]}); use a larger lambda`);
    }
    // Columns exact for every seed (NTKSketch's constant blocks): kept, no sampling noise.
    const always = this.map.constantColumns(this.kernel);
    const pi = inclusionProbabilities(scores, this.features, always);
    const columns = drawColumns(pi, this.features, this.seed);
    this.cols = columns;
    this.colScales = Float64Array.from(columns, (j) => 1 / Math.sqrt(pi[j]));
    this.fittedScores = scores;
    this.kept?.dispose();
    this.kept = this.keptTarget();
    return this;
  }

  /**
   * Releases the native memory of the kept-rows map now (and the pool's, when
   * fromJSON built the pool; a pool you passed in stays yours). Transforms
   * still running keep what they need; later fit and transform calls throw.
   * Calling it again does nothing. Also `using selection = ...`.
   */
  protected release(): void {
    this.kept?.dispose();
    this.kept = null;
    if (this.ownsPool) this.map.dispose();
  }

  private keptTarget(): NativeTarget | null {
    if (!this.cols || !this.colScales) return null;
    return this.map.keptColumns(this.cols, this.colScales, this.kernel, this.normalize);
  }

  /** @internal The pool's input. */
  readInput(X: unknown): MapInput {
    this.requirePool('transform');
    return this.map.readInput(X);
  }

  /** A transform names no kernel: the selection's. */
  protected override get defaultKernel(): FeatureKernel {
    return this.kernel;
  }

  /**
   * The kept-columns map when the pool has one (NTKSketch: only the kept
   * columns are computed, on the CPU, each block normalised over its kept
   * rows); otherwise the pool's transform of blocks of rows, then a gather.
   */
  protected target(kernel: FeatureKernel): TransformTarget {
    const { columns, scales } = this.requireFitted('transform');
    this.requirePool('transform');
    if (kernel !== this.kernel) {
      throw new RangeError(`kernel must be '${this.kernel}' (the features this selection kept), got '${kernel}'`);
    }
    if (this.kept) return this.kept;
    const M = this.map.features, elem = elementBytes(this.dtype);
    const blockRows = (n: number) => Math.max(1, Math.min(n, Math.floor(BLOCK_BYTES / (M * elem))));
    return {
      features: this.features,
      scratchBytes: (input) => blockRows(input.count) * M * elem,
      run: (input, out, _kernel, async) => {
        const steps = this.gatherSteps(async, input, out, blockRows(input.count), columns, scales);
        if (async) return runAsync(steps);
        runSync(steps);
        return undefined;
      },
    };
  }

  /** The pool's features of blocks of `rows` rows, the kept columns gathered into `out`. */
  private *gatherSteps(
    async: boolean, input: MapInput, out: FloatArray, rows: number, columns: Int32Array, scales: Float64Array,
  ): Steps<void> {
    const n = input.count, k = this.features, M = this.map.features;
    const pool = markPrivate(allocate(this.dtype, rows * M));
    for (let b = 0; b < n; b += rows) {
      const e = Math.min(n, b + rows);
      yield poolTransform(this.map, input.slice(b, e), this.kernel, pool.subarray(0, (e - b) * M), async);
      native().gatherColumns({
        pool: pool.subarray(0, (e - b) * M), rows: e - b, poolFeatures: M, columns, scales, normalize: this.normalize, out: out.subarray(b * k, e * k),
      });
    }
  }

  /** @internal A selection does not feed another selection. */
  override checkPool(): void {
    throw new RangeError('map: a LeverageSelection cannot be the pool of another selection; select from its pool directly');
  }

  /**
   * Scores the pool's columns on the rows of X (a sample of the training
   * data: a few thousand rows; dense, CSR or images as the pool takes) and
   * draws the columns to keep. Replaces an earlier fit.
   */
  fitSync(X: RowsLike, options?: CallControl): this {
    const control = controlOnlyOptions('fit options', options);
    return runSync(this.fitSteps(false, X, control), control.signal);
  }

  /**
   * Async form of {@link fitSync}. `signal`: an abort rejects with an
   * AbortError (after the pool's transform block running, or at once during
   * the scores, whose native step finishes in the background) and leaves the
   * selection as it was; onProgress(done, 2 n): the n sample rows
   * transformed, then n more when the scores are done.
   */
  async fit(X: RowsLike, options?: CallControl): Promise<this> {
    const control = controlOnlyOptions('fit options', options);
    return runAsync(this.fitSteps(true, X, control), control.signal);
  }

  /** The pool's document and the kept columns with their scales (after fit). */
  toJSON(): LeverageSelectionJSON {
    const { columns, scales } = this.requireFitted('toJSON');
    return {
      format: LEVERAGE_SELECTION_FORMAT,
      version: LEVERAGE_SELECTION_VERSION,
      map: { type: this.map.mapType, json: this.map.toJSON() },
      features: this.features,
      kernel: this.kernel,
      lambda: this.lambda,
      seed: this.seed,
      normalize: this.normalize,
      columns: Array.from(columns),
      scales: Array.from(scales),
    };
  }

  /**
   * Restores a fitted selection saved by toJSON (object or JSON string), its
   * pool map included: bit-identical features. Refuses other formats and
   * versions, unknown or missing fields, a corrupted pool document, and
   * columns or scales that cannot come from a fit.
   */
  static fromJSON(json: unknown, options: { memoryLimit?: number } = {}): LeverageSelection {
    const { doc: d, memoryLimit } = readSaved(json, options, SAVED);
    const m = d.map as { type?: unknown; json?: unknown } | null;
    const loaders = { NTKSketch: NTKSketch.fromJSON, NTKRandomFeatures: NTKRandomFeatures.fromJSON, CNTKSketch: CNTKSketch.fromJSON };
    if (m === null || typeof m !== 'object' || typeof m.type !== 'string' || !Object.hasOwn(loaders, m.type)) {
      throw new TypeError("json.map must be { type: 'NTKSketch' | 'NTKRandomFeatures' | 'CNTKSketch', json }");
    }
    let map: PoolMap;
    try {
      map = loaders[m.type as keyof typeof loaders](m.json, memoryLimit === undefined ? {} : { memoryLimit: memoryLimit as number });
    } catch (error) {
      if (error instanceof Error) error.message = `json.map.json (a saved ${m.type}): ${error.message}`;
      throw error;
    }
    const sel = new LeverageSelection({
      map,
      features: d.features as number,
      kernel: d.kernel as FeatureKernel,
      lambda: d.lambda as number,
      seed: d.seed as number,
      normalize: d.normalize as boolean,
      ...(memoryLimit === undefined ? {} : { memoryLimit: memoryLimit as number }),
    });
    sel.ownsPool = true;
    const cols = d.columns, sc = d.scales;
    if (!Array.isArray(cols)) throw new TypeError(`json.columns must be an array of column indices, got ${describe(cols)}`);
    if (!Array.isArray(sc)) throw new TypeError(`json.scales must be an array of numbers, got ${describe(sc)}`);
    if (cols.length !== sel.features) throw new RangeError(`json.columns must hold features = ${sel.features} column indices, got ${cols.length}`);
    if (sc.length !== sel.features) throw new RangeError(`json.scales must hold features = ${sel.features} numbers, got ${sc.length}`);
    const columns = new Int32Array(sel.features);
    cols.forEach((c: unknown, t: number) => {
      if (!Number.isInteger(c) || (c as number) < 0 || (c as number) >= map.features || (t > 0 && (c as number) <= columns[t - 1])) {
        throw new RangeError(`json.columns[${t}] must be an integer in [0, ${map.features}) above the previous one, got ${describe(c)}`);
      }
      columns[t] = c as number;
    });
    const scales = new Float64Array(sel.features);
    sc.forEach((v: unknown, t: number) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) throw new RangeError(`json.scales[${t}] must be a finite number >= 1, got ${describe(v)}`);
      scales[t] = v;
    });
    sel.cols = columns;
    sel.colScales = scales;
    sel.kept = sel.keptTarget();
    return sel;
  }
}
