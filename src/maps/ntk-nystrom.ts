/**
 * NTKNystrom: Nyström features of the exact fully connected NTK (or NNGP)
 * from m landmark rows L chosen from data (docs/math.md#nystrom-features):
 *
 *     phi(x) = K(x, L) V_r Lambda_r^(-1/2),   K(L, L) = V Lambda V^T,
 *
 * r the eigenvalues of K(L, L) above `cutoff` x its largest (the
 * numerically positive eigenspace), in decreasing order. Then
 * phi(x) . phi(z) = K(x, L) K(L, L)^+_r K(L, z): exact when x or z is a
 * landmark (up to the cutoff), and the best approximation of K(x, z) from
 * the landmarks' span otherwise (Williams & Seeger 2001). The output has m
 * columns; the last m - r are zero (a rank-deficient landmark kernel:
 * duplicate or zero rows), and `info.rank` says how many are not.
 *
 * Landmarks (`fit`): `sampling: 'uniform'` draws m distinct rows of X;
 * `'leverage'` (the default) draws them by approximate ridge leverage scores
 * l_i(lambda) = [K (K + lambda I)^-1]_ii without forming the n x n kernel,
 * as in Musco & Musco's recursive RLS-Nyström ("Recursive Sampling for the
 * Nyström Method", NeurIPS 2017): the rows are nested in halves of a seeded
 * permutation; on the smallest half all rows are kept, and each larger half
 * is scored against the weighted sample S of the level below,
 *
 *     l_i = (K_ii - k_iS W (W K_SS W + lambda I)^-1 W k_Si) / lambda,
 *
 * (one eigendecomposition of W K_SS W and one GEMM of the rows' kernel
 * block per level), then resampled with probabilities
 * p_i = min(1, log(m) l_i) and weights 1 / sqrt(p_i); on all n rows exactly
 * m landmarks are drawn with inclusion probabilities proportional to the
 * scores (capped at 1; the draw of LeverageSelection). lambda is `lambda` x
 * the mean kernel diagonal, or by default (`'auto'`) chosen per level as
 * Musco & Musco do: the mean of the eigenvalues of W K_SS W beyond its top
 * k = m / (4 log m), so that the scores sum to about m / 4 before
 * oversampling. Leverage sampling favours rows the others explain badly
 * (rare classes, outliers) over many near-copies, which uniform sampling
 * draws in proportion to their number.
 *
 * With FeatureRidge choosing lambda on a validation split, fit the map on
 * the rows outside that split (those for which `isValidationRow(seed,
 * index, validation)` is false), as the CLI's `fit` does: a validation row
 * that is a landmark is predicted through its own kernel function, and the
 * validation error then favours large lambdas (docs/math.md#nystrom-features).
 *
 * Numerics: K(x, L) comes from the exact NTK core (ntkKernel: float64
 * cosines, the same numbers as the exact kernel between distinct arrays);
 * K(L, L) is computed by the same call as a transform of the landmark rows,
 * so that a landmark's features reproduce the kernel the eigendecomposition
 * saw; the projection V_r Lambda_r^(-1/2) is formed in float64 and rounded
 * to the map's dtype, and a transform is one GEMM of the kernel block with
 * it, in blocks of rows. The cutoff defaults to 1e-10 (float64) or 1e-6
 * (float32): a direction of eigenvalue mu amplifies the rounding error of
 * the kernel block (relative 1e-16 or 6e-8) by sqrt(lambda_max / mu).
 *
 * Cost: fit O(n m d + n m^2 + m^3) float64 work per level, about 2x that
 * over the levels (leverage) or one m x m kernel and eigendecomposition
 * (uniform), with a float64 copy of X (n x d) and a few m x m float64
 * matrices in memory. transform: per row a kernel row against the landmarks
 * (2 m d flops and the O(m L) recursion) and m r flops of GEMM. The map holds
 * the landmarks (m x d) and the projection (m x r) in its dtype.
 *
 * Determinism: the landmark choice is a function of X, the options and the
 * seed; features are bit-identical for any split of the rows into calls and
 * any thread count of the kernel and GEMM. fit's eigendecomposition is
 * LAPACK's (dsyevd), whose last bits depend on the BLAS kernel family, so a
 * saved map stores its projection next to its landmarks (toJSON): a loaded
 * map does no eigendecomposition and gives the same bits on every machine
 * (the kernel and the projection GEMM are the library's own). A document of
 * version 1 (landmarks only) still loads; its projection is recomputed.
 */
import type { RowsLike } from '../core/inputs.js';
import {
  allocate,
  assertFinite,
  checkMemory,
  describe,
  elementBytes,
  intOption,
  isCsrLike,
  numberOption,
  toCsr,
  toMatrix,
  type DType,
} from '../core/arrays.js';
import { native, type FloatArray } from '../core/native.js';
import { field, fields, resolveOptions, savedKeys, savedValues, type OptionsOf, type ValuesOf } from '../core/options.js';
import { mulberry32, permutation, seedHash } from '../core/random.js';
import { runAsync, runSync, type Steps } from '../core/steps.js';
import { MAX_DEPTH } from '../kernels/ntk-kernel.js';
import {
  FeatureMap,
  readSaved,
  rowsInput,
  type FeatureKernel,
  type InputLayout,
  type MapInput,
  type SavedFormat,
  type TransformTarget,
} from './feature-map.js';
import { drawColumns, inclusionProbabilities } from './leverage-selection.js';

export const NTK_NYSTROM_FORMAT = 'ntk-sketch/ntk-nystrom';
export const NTK_NYSTROM_VERSION = 2;
/** Most landmarks: the m x m float64 matrices of fit take 8 m^2 bytes each. */
export const NTK_NYSTROM_MAX_LANDMARKS = 1 << 16;
const MAX_INPUT_DIM = 2 ** 30;
/** Default relative eigenvalue cutoff per dtype (see the class notes). */
export const DEFAULT_CUTOFF: Readonly<Record<DType, number>> = { float32: 1e-6, float64: 1e-10 };
/** Bytes of kernel block one transform or scoring step holds. */
const BLOCK_BYTES = 32 * 2 ** 20;

/** The options of NTKNystrom, declared once: validation, defaults, types and the saved fields. */
const OPTIONS = {
  /** Hidden ReLU layers L of the kernel, 1..1000. */
  depth: fields.int(1, MAX_DEPTH).save(),
  /** Landmarks m = output features, 1..65,536 (at most the rows given to fit). */
  landmarks: fields.int(1, NTK_NYSTROM_MAX_LANDMARKS).save(),
  /** Columns of X, 1..2^30. Default: those of the rows given to fit. */
  inputDim: field<number | null, number>((name, v) => intOption(name, v, 1, MAX_INPUT_DIM)).default(null).save(),
  /** The kernel the features approximate: 'ntk' (default) or 'nngp'. */
  kernel: fields.oneOf(['ntk', 'nngp'] as const).default('ntk').save(),
  /** How fit chooses the landmarks: 'leverage' (default; approximate ridge leverage scores) or 'uniform'. */
  sampling: fields.oneOf(['uniform', 'leverage'] as const).default('leverage').save(),
  /**
   * Ridge parameter of the leverage scores relative to the mean kernel
   * diagonal, in (0, 1e6], or 'auto' (default): chosen per level from the
   * sample's spectrum (see the class notes). Unused with uniform sampling.
   */
  lambda: field<number | 'auto', number | 'auto'>((name, v) => {
    if (v === 'auto') return 'auto';
    if (typeof v !== 'number') throw new TypeError(`${name} must be 'auto' or a number in (0, 1e6], got ${describe(v)}`);
    if (!(v > 0 && v <= 1e6)) throw new RangeError(`${name} must be 'auto' or a number in (0, 1e6], got ${v}`);
    return v;
  })
    .default('auto')
    .save(),
  /** Dtype of the landmarks, the projection and the features (inputs are converted to it). Default 'float32'. */
  dtype: fields.dtype().save(),
  /**
   * Eigenvalues of K(L, L) at most cutoff x the largest are dropped, in
   * [0, 1). Default 1e-10 for float64, 1e-6 for float32 features.
   */
  cutoff: field<number>((name, v) => {
    const c = numberOption(name, v, 0, 1);
    if (c >= 1) throw new RangeError(`${name} must be a finite number in [0, 1), got ${c}`);
    return c;
  })
    .default(({ resolved }) => DEFAULT_CUTOFF[resolved.dtype as DType])
    .save(),
  /** Seed of the landmark draw. Default 0. */
  seed: fields.seed().save(),
  /** Refuse fits, maps or results needing more bytes than this. Default 4 GiB. */
  memoryLimit: fields.memoryLimit(),
};

export type NTKNystromOptions = OptionsOf<typeof OPTIONS>;
type Resolved = ValuesOf<typeof OPTIONS>;
const EXAMPLE = "new NTKNystrom({ depth: 2, landmarks: 4096, sampling: 'leverage' })";

/** What toJSON() writes: the options, the landmark rows, the projection and a checksum of them. */
export interface NTKNystromJSON {
  format: 'ntk-sketch/ntk-nystrom';
  version: 2;
  depth: number;
  landmarks: number;
  inputDim: number;
  kernel: FeatureKernel;
  sampling: 'uniform' | 'leverage';
  lambda: number | 'auto';
  cutoff: number;
  seed: number;
  dtype: DType;
  /** The landmarks x inputDim landmark rows: base64 of their little-endian values in `dtype`. */
  landmarkRows: string;
  /** Eigenvalues of K(L, L) kept (the projection's columns), and the largest and smallest of them. */
  rank: number;
  largestEigenvalue: number;
  smallestKeptEigenvalue: number;
  /** The landmarks x rank projection V_r Lambda_r^(-1/2): base64 of its little-endian values in `dtype`. */
  projection: string;
  /** FNV-1a (32-bit, hex) of the fields above: detects corrupted documents. */
  checksum: string;
}

/** What fit found, as {@link NTKNystrom.info} reports it. */
export interface NTKNystromInfo {
  /** Landmarks m (= features). */
  landmarks: number;
  /** Eigenvalues of K(L, L) kept: the non-zero feature columns. */
  rank: number;
  /** The relative cutoff, and the absolute eigenvalue threshold it gave. */
  cutoff: number;
  threshold: number;
  /** Largest and smallest kept eigenvalue of K(L, L) (0 when rank is 0). */
  largestEigenvalue: number;
  smallestKeptEigenvalue: number;
  /** Rows of X the landmarks were drawn from (null for a loaded map). */
  fitRows: number | null;
  /** The landmarks' row indices in the fitted X, increasing (null for a loaded map). */
  landmarkIndices: Int32Array | null;
  /** The absolute ridge lambda of each leverage level, smallest level first (empty for uniform sampling or a loaded map). */
  levelLambdas: number[];
  /** Bytes of the landmarks and the projection. */
  parameterBytes: number;
}

const SAVED_FIELDS = savedKeys(OPTIONS);
/** What fit found, saved from version 2 on so that loading needs no eigendecomposition. */
const SPECTRUM_FIELDS = ['rank', 'largestEigenvalue', 'smallestKeptEigenvalue', 'projection'];
const SAVED: SavedFormat = {
  owner: 'NTKNystrom',
  format: NTK_NYSTROM_FORMAT,
  version: NTK_NYSTROM_VERSION,
  fields: [...SAVED_FIELDS, 'landmarkRows', ...SPECTRUM_FIELDS, 'checksum'],
};
/** Version 1: the landmarks only (the projection is recomputed when loaded). */
const SAVED_V1: SavedFormat = { ...SAVED, version: 1, fields: [...SAVED_FIELDS, 'landmarkRows', 'checksum'] };

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The checksum of a document's fields (those of its format version, the checksum itself excepted). */
function checksumOf(doc: Record<string, unknown>, format: SavedFormat = SAVED): string {
  const fields = format.fields.filter((k) => k !== 'checksum');
  return fnv1a(`${NTK_NYSTROM_FORMAT}/${format.version}:` + fields.map((k) => `${k}=${String(doc[k])}`).join(';'));
}

/** Little-endian bytes of a typed array as base64 (the library runs on little-endian machines). */
function base64Of(a: FloatArray): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** A base64 field of a saved document as `count` finite values of `dtype`. */
function arrayField(doc: Record<string, unknown>, key: string, dtype: DType, count: number, shape: string): FloatArray {
  const text = doc[key];
  if (typeof text !== 'string') throw new TypeError(`json.${key} must be a base64 string, got ${describe(text)}`);
  const bytes = Buffer.from(text, 'base64');
  const elem = elementBytes(dtype);
  if (bytes.length !== count * elem) {
    throw new RangeError(`json.${key} must hold ${shape} = ${count} ${dtype} values (${count * elem} bytes), got ${bytes.length} bytes`);
  }
  const out = allocate(dtype, count);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  assertFinite(`json.${key}`, out);
  return out;
}

/** The kernel block out (n x m, dtype of x) = K(x, z) of `kernel`: a Promise when async. */
function kernelBlock(
  x: FloatArray, n: number, z: FloatArray, m: number, d: number, depth: number, kernel: FeatureKernel, out: FloatArray, async: boolean,
): Promise<void> | undefined {
  return native().ntkKernel(
    { x, n, d, z, m, depth, ntkOut: kernel === 'ntk' ? out : null, nngpOut: kernel === 'nngp' ? out : null },
    async,
  );
}

/** Rows [begin, end) of `input` as dense rows in `dtype`, written to `buf` (or a view of X when no conversion is needed). */
function denseRows(input: MapInput, begin: number, end: number, d: number, dtype: DType, buf: FloatArray): FloatArray {
  const rows = end - begin;
  const native = input.native;
  if ('x' in native) {
    const view = native.x.subarray(begin * d, end * d);
    if ((dtype === 'float32') === (view instanceof Float32Array)) return view;
    const out = buf.subarray(0, rows * d);
    out.set(view);
    return out;
  }
  const out = buf.subarray(0, rows * d);
  out.fill(0);
  const { indptr, indices, values } = native;
  for (let i = 0; i < rows; i++) {
    for (let k = indptr[begin + i]; k < indptr[begin + i + 1]; k++) out[i * d + indices[k]] = values[k];
  }
  return out;
}

/** X (dense or CSR, any float dtype) as a dense float64 n x d matrix for fit. */
function fitRows(X: unknown, inputDim: number | null): { x: Float64Array; n: number; d: number } {
  const cols = inputDim ?? undefined;
  const colsName = 'the inputDim of this NTKNystrom';
  if (isCsrLike(X)) {
    const csr = toCsr('X', X, { cols, colsName, dtype: 'float64' });
    const x = new Float64Array(csr.rows * csr.cols);
    for (let i = 0; i < csr.rows; i++) {
      for (let k = csr.indptr[i]; k < csr.indptr[i + 1]; k++) x[i * csr.cols + csr.indices[k]] = csr.data[k];
    }
    return { x, n: csr.rows, d: csr.cols };
  }
  const m = toMatrix('X', X, { cols, colsName, dtype: 'float64' });
  return { x: m.data as Float64Array, n: m.rows, d: m.cols };
}

/** Rows `indices` of x (n x d) into a new array of `dtype`. */
function gather(x: Float64Array, d: number, indices: ArrayLike<number>, dtype: DType): FloatArray {
  const out = allocate(dtype, indices.length * d);
  for (let t = 0; t < indices.length; t++) out.set(x.subarray(indices[t] * d, indices[t] * d + d), t * d);
  return out;
}

/** Ascending eigenvalues and eigenvectors (rows of vt) of the symmetric m x m `a` (overwritten). */
function* eigh(a: Float64Array, m: number, async: boolean, what: string): Steps<{ values: Float64Array; vt: Float64Array }> {
  const values = new Float64Array(m), vt = new Float64Array(m * m), status = new Float64Array(1);
  yield native().symmetricEigh({ matrix: a, m, eigenvalues: values, eigenvectors: vt, status }, async);
  if (status[0] !== 0) throw new RangeError(`NTKNystrom.fit: the eigendecomposition of ${what} failed (LAPACK info ${status[0]})`);
  return { values, vt };
}

/** Fit's state: the landmarks, the projection and what info reports. */
interface Fitted {
  inputDim: number;
  rows: FloatArray;
  projection: FloatArray;
  info: NTKNystromInfo;
}

const restoreToken = Symbol('NTKNystrom.restore');

/** The resolved options, as read-only properties of the map. */
export interface NTKNystrom extends Readonly<Omit<Resolved, 'inputDim'>> {}

export class NTKNystrom extends FeatureMap {
  declare readonly dtype: DType;
  declare readonly memoryLimit: number;
  readonly mapType = 'NTKNystrom';
  private state: Fitted | null = null;
  private readonly givenInputDim: number | null;

  constructor(options: NTKNystromOptions, ...restore: [typeof restoreToken] | []) {
    super();
    const r = resolveOptions(
      OPTIONS,
      options,
      restore[0] === restoreToken ? { prefix: 'json.', what: 'NTKNystrom.fromJSON', example: EXAMPLE } : { what: 'NTKNystrom', example: EXAMPLE },
    );
    const { inputDim, ...rest } = r;
    Object.assign(this, rest);
    this.givenInputDim = inputDim;
  }

  /** Output columns: one per landmark (the last landmarks - rank are zero). */
  get features(): number {
    return this.landmarks;
  }

  /** Columns of X: given, or those of the rows fit saw; null before then. */
  get inputDim(): number | null {
    return this.state?.inputDim ?? this.givenInputDim;
  }

  /** Rows of inputDim values (known once fitted, or given). */
  get inputLayout(): InputLayout {
    const d = this.inputDim;
    if (d === null) throw new RangeError('NTKNystrom.inputLayout: the input width is unknown until fit (or give inputDim)');
    return { kind: 'rows', columns: d };
  }

  /** Whether fit (or fromJSON) has chosen the landmarks. */
  get fitted(): boolean {
    return this.state !== null;
  }

  /** The numerical rank kept, the cutoff and how the landmarks were found (after fit). */
  get info(): NTKNystromInfo {
    const f = this.requireFitted('info');
    return { ...f.info, landmarkIndices: f.info.landmarkIndices?.slice() ?? null, levelLambdas: [...f.info.levelLambdas] };
  }

  /** A copy of the landmark rows, landmarks x inputDim in the map's dtype (after fit). */
  get landmarkRows(): FloatArray {
    return this.requireFitted('landmarkRows').rows.slice();
  }

  private requireFitted(what: string): Fitted {
    if (!this.state) throw new RangeError(`NTKNystrom.${what}: call fit first (the landmarks come from data)`);
    return this.state;
  }

  /** The map's features: those of its kernel only. */
  protected override get defaultKernel(): FeatureKernel {
    return this.kernel;
  }

  /** @internal Dense or CSR rows of inputDim values; their values are checked here (the transform is not one native job). */
  readInput(X: unknown): MapInput {
    const d = this.requireFitted('transform').inputDim;
    const input = rowsInput(X, d, this.dtype, 'NTKNystrom');
    if ('x' in input.native) assertFinite('X', input.native.x);
    else assertFinite('X.data', input.native.values);
    return input;
  }

  /** Rows per transform block: a kernel block of at most BLOCK_BYTES. */
  private blockRows(n: number): number {
    return Math.max(1, Math.min(n, Math.floor(BLOCK_BYTES / (this.landmarks * elementBytes(this.dtype)))));
  }

  protected target(kernel: FeatureKernel): TransformTarget {
    const f = this.requireFitted('transform');
    if (kernel !== this.kernel) throw new RangeError(`kernel must be '${this.kernel}' (the kernel of these Nyström features), got '${kernel}'`);
    const elem = elementBytes(this.dtype), m = this.landmarks, d = f.inputDim;
    return {
      features: m,
      // The kernel block, a converted (or densified) block of X, and the kernel core's float64 normalised rows.
      scratchBytes: (input) => {
        const b = this.blockRows(input.count);
        return b * m * elem + b * d * elem + 8 * (b + m) * d;
      },
      run: (input, out, _kernel, async) => {
        const steps = this.transformBlocks(async, input, out, f);
        if (async) return runAsync(steps);
        runSync(steps);
        return undefined;
      },
    };
  }

  /** out = K(X, L) P, blocks of rows at a time: one kernel call and one GEMM each. */
  private *transformBlocks(async: boolean, input: MapInput, out: FloatArray, f: Fitted): Steps<void> {
    const n = input.count, m = this.landmarks, d = f.inputDim, r = f.info.rank;
    if (r < m) {
      // Columns past the rank are zero; a caller's `out` may hold anything.
      for (let i = 0; i < n; i++) out.fill(0, i * m + r, (i + 1) * m);
    }
    if (r === 0) return;
    const rows = this.blockRows(n);
    const kbuf = allocate(this.dtype, rows * m);
    const xbuf = allocate(this.dtype, 'x' in input.native && (input.native.x instanceof Float32Array) === (this.dtype === 'float32') ? 0 : rows * d);
    for (let b = 0; b < n; b += rows) {
      const e = Math.min(n, b + rows);
      const x = denseRows(input, b, e, d, this.dtype, xbuf);
      const k = kbuf.subarray(0, (e - b) * m);
      yield kernelBlock(x, e - b, f.rows, m, d, this.depth, this.kernel, k, async);
      yield native().gemm(
        { transA: false, transB: false, m: e - b, n: r, k: m, alpha: 1, a: k, lda: m, b: f.projection, ldb: r, beta: 0, c: out.subarray(b * m, e * m), ldc: m },
        async,
      );
    }
  }

  /** Nothing native to release: the landmarks and projection are JavaScript arrays (dispose still stops transforms). */
  protected release(): void {}

  /**
   * Chooses the landmarks from the rows of X (dense or CSR, at least
   * `landmarks` rows; a float64 dense copy is made) and computes the
   * projection. Replaces an earlier fit. Duplicate or zero rows make the
   * landmark kernel rank-deficient: the cutoff drops those directions (see
   * info.rank); no feature is ever NaN.
   */
  fitSync(X: RowsLike): this {
    return runSync(this.fitSteps(false, X));
  }

  /** Async form of {@link fitSync}: runs the heavy steps off the JavaScript thread. */
  async fit(X: RowsLike): Promise<this> {
    return runAsync(this.fitSteps(true, X));
  }

  private *fitSteps(async: boolean, X: unknown): Steps<this> {
    this.requireLive('fit');
    const { x, n, d } = fitRows(X, this.givenInputDim);
    const m = this.landmarks;
    if (m > n) throw new RangeError(`landmarks (${m}) must not exceed the ${n} rows of X given to fit`);
    const leverage = this.sampling === 'leverage' && m < n;
    // The landmark kernel, its eigenvectors and the projection (float64), and
    // for leverage scoring a block of kernel rows and its product.
    const scoreBlock = leverage ? 2 * Math.max(1, Math.floor(BLOCK_BYTES / (8 * m))) * m * 8 : 0;
    checkMemory(
      `NTKNystrom.fit: ${n} rows x ${d} columns (float64) and ${m} x ${m} landmark matrices`,
      8 * n * d + 4 * 8 * m * m + scoreBlock + 8 * (n + m * d),
      this.memoryLimit,
    );
    const levelLambdas: number[] = [];
    let indices: Int32Array;
    if (!leverage) {
      indices = permutation(n, this.seed).slice(0, m).sort();
    } else {
      indices = yield* this.leverageIndices(async, x, n, d, levelLambdas);
    }
    const rows = gather(x, d, indices, this.dtype);
    const { projection, info } = yield* this.project(async, rows, d);
    this.state = { inputDim: d, rows, projection, info: { ...info, fitRows: n, landmarkIndices: indices, levelLambdas } };
    return this;
  }

  /**
   * Eigendecomposition of K(L, L) (computed as a transform computes kernel
   * rows, so that landmarks reproduce it) and the projection V_r
   * Lambda_r^(-1/2) onto the eigenvalues above the cutoff, largest first.
   */
  private *project(async: boolean, rows: FloatArray, d: number): Steps<{ projection: FloatArray; info: Omit<NTKNystromInfo, 'fitRows' | 'landmarkIndices' | 'levelLambdas'> }> {
    const m = this.landmarks;
    const kll = allocate(this.dtype, m * m);
    yield kernelBlock(rows, m, rows, m, d, this.depth, this.kernel, kll, async);
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) a[i * m + j] = 0.5 * (kll[i * m + j] + kll[j * m + i]);
    const { values, vt } = yield* eigh(a, m, async, 'the landmark kernel');
    const largest = Math.max(0, values[m - 1]);
    const threshold = this.cutoff * largest;
    let rank = 0;
    while (rank < m && largest > 0 && values[m - 1 - rank] > threshold) rank++;
    const projection = allocate(this.dtype, m * rank);
    for (let c = 0; c < rank; c++) {
      const j = m - 1 - c, s = 1 / Math.sqrt(values[j]);
      for (let i = 0; i < m; i++) projection[i * rank + c] = vt[j * m + i] * s;
    }
    return { projection, info: this.spectrumInfo(d, rank, largest, rank > 0 ? values[m - rank] : 0) };
  }

  /** What info reports of a projection of `rank` columns (fit's, or a loaded one's). */
  private spectrumInfo(d: number, rank: number, largest: number, smallestKept: number): Omit<NTKNystromInfo, 'fitRows' | 'landmarkIndices' | 'levelLambdas'> {
    const m = this.landmarks;
    return {
      landmarks: m,
      rank,
      cutoff: this.cutoff,
      threshold: this.cutoff * largest,
      largestEigenvalue: largest,
      smallestKeptEigenvalue: rank > 0 ? smallestKept : 0,
      parameterBytes: elementBytes(this.dtype) * (m * d + m * rank),
    };
  }

  /**
   * Recursive ridge-leverage sampling (class notes): the indices of
   * `landmarks` rows of x, increasing. Appends each level's lambda.
   */
  private *leverageIndices(async: boolean, x: Float64Array, n: number, d: number, levelLambdas: number[]): Steps<Int32Array> {
    const s = this.landmarks;
    const scale = this.kernel === 'ntk' ? this.depth + 1 : 1;
    const diag = new Float64Array(n);
    let meanDiag = 0;
    for (let i = 0; i < n; i++) {
      let q = 0;
      for (let t = i * d; t < (i + 1) * d; t++) q += x[t] * x[t];
      diag[i] = scale * q;
      meanDiag += diag[i] / n;
    }
    const perm = permutation(n, this.seed);
    // All zero rows: every choice spans the same (empty) space.
    if (!(meanDiag > 0)) return perm.slice(0, s).sort();
    const oversample = Math.max(1, Math.log(s));
    const top = Math.max(1, Math.ceil(s / (4 * oversample)));
    const sizes = [n];
    while (sizes[sizes.length - 1] > s) sizes.push(Math.ceil(sizes[sizes.length - 1] / 2));
    const rand = mulberry32(seedHash(this.seed) ^ 0x2545f491);
    let sample: Int32Array = perm.slice(0, sizes[sizes.length - 1]);
    let weights = new Float64Array(sample.length).fill(1);
    for (let level = sizes.length - 2; level >= 0; level--) {
      const count = sizes[level], S = sample.length;
      const xs = gather(x, d, sample, 'float64');
      const a = new Float64Array(S * S);
      yield kernelBlock(xs, S, xs, S, d, this.depth, this.kernel, a, async);
      for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) a[i * S + j] *= weights[i] * weights[j];
      let trace = 0;
      for (let i = 0; i < S; i++) trace += a[i * S + i];
      const { values, vt } = yield* eigh(a, S, async, 'a leverage sample kernel');
      let lambda: number;
      if (this.lambda !== 'auto') lambda = this.lambda * meanDiag;
      else if (top >= S) lambda = 1e-6 * meanDiag;
      else {
        let head = 0;
        for (let j = S - 1; j >= S - top; j--) head += Math.max(0, values[j]);
        lambda = (trace - head) / top;
      }
      // A sample of duplicates leaves no tail: keep lambda a small share of the diagonal.
      lambda = Math.max(lambda, 1e-10 * meanDiag);
      levelLambdas.push(lambda);
      // M = W V (Lambda + lambda)^(-1/2): the squared row norms of K(x_i, S) M are k_iS W (A + lambda I)^-1 W k_Si.
      const mat = new Float64Array(S * S);
      for (let j = 0; j < S; j++) {
        const c = 1 / Math.sqrt(Math.max(0, values[j]) + lambda);
        for (let i = 0; i < S; i++) mat[i * S + j] = weights[i] * vt[j * S + i] * c;
      }
      const scores = new Float64Array(count);
      const rows = Math.max(1, Math.min(count, Math.floor(BLOCK_BYTES / (8 * S))));
      const kb = new Float64Array(rows * S), gb = new Float64Array(rows * S);
      for (let b = 0; b < count; b += rows) {
        const e = Math.min(count, b + rows);
        const xb = gather(x, d, perm.subarray(b, e), 'float64');
        yield kernelBlock(xb, e - b, xs, S, d, this.depth, this.kernel, kb, async);
        yield native().gemm(
          { transA: false, transB: false, m: e - b, n: S, k: S, alpha: 1, a: kb, lda: S, b: mat, ldb: S, beta: 0, c: gb, ldc: S },
          async,
        );
        for (let i = b; i < e; i++) {
          let q = 0;
          for (let t = (i - b) * S; t < (i - b + 1) * S; t++) q += gb[t] * gb[t];
          scores[i] = Math.max(0, diag[perm[i]] - q) / lambda;
        }
      }
      if (level > 0) {
        const next: number[] = [], w: number[] = [];
        for (let i = 0; i < count; i++) {
          const p = Math.min(1, oversample * scores[i]);
          if (p > 0 && rand() < p) {
            next.push(perm[i]);
            w.push(1 / Math.sqrt(p));
          }
        }
        // Keep the previous sample rather than none (only when every score vanishes).
        if (next.length > 0) {
          sample = Int32Array.from(next);
          weights = Float64Array.from(w);
        }
        continue;
      }
      // All n rows (count = n): exactly s landmarks, inclusion probabilities
      // proportional to the scores; rows scored 0 (explained by the sample,
      // such as duplicates) get a tiny floor so that s distinct rows exist.
      let max = 0;
      for (let i = 0; i < n; i++) max = Math.max(max, scores[i]);
      const floor = 1e-9 * (max > 0 ? max : 1);
      for (let i = 0; i < n; i++) scores[i] = Math.max(scores[i], floor);
      const pi = inclusionProbabilities(scores, s);
      const drawn = drawColumns(pi, s, this.seed);
      return Int32Array.from(drawn, (i) => perm[i]).sort();
    }
    return perm.slice(0, s).sort();
  }

  /** The options, the landmark rows and the projection (base64), and a checksum (after fit). */
  toJSON(): NTKNystromJSON {
    const f = this.requireFitted('toJSON');
    const saved = {
      ...savedValues(OPTIONS, { ...(this as unknown as Resolved), inputDim: f.inputDim }),
      landmarkRows: base64Of(f.rows),
      rank: f.info.rank,
      largestEigenvalue: f.info.largestEigenvalue,
      smallestKeptEigenvalue: f.info.smallestKeptEigenvalue,
      projection: base64Of(f.projection),
    };
    return {
      format: NTK_NYSTROM_FORMAT,
      version: NTK_NYSTROM_VERSION,
      ...saved,
      checksum: checksumOf(saved),
    } as NTKNystromJSON;
  }

  /**
   * Restores a map saved by toJSON (object or JSON string): its landmarks and
   * projection, bit-identical features on any machine (a version 1 document
   * has no projection: it is recomputed, the same features on the machine
   * that saved it). Refuses documents of another format (TypeError) or
   * version, with unknown, missing or invalid fields, or whose checksum does
   * not match their fields (RangeError).
   */
  static fromJSON(json: unknown, options: { memoryLimit?: number } = {}): NTKNystrom {
    const { doc, memoryLimit, format } = readSaved(json, options, SAVED, [SAVED_V1]);
    if (typeof doc.checksum !== 'string') throw new TypeError(`json.checksum must be a string, got ${describe(doc.checksum)}`);
    const expected = checksumOf(doc, format);
    if (doc.checksum !== expected) {
      throw new RangeError(`json.checksum ${doc.checksum} does not match the saved fields (expected ${expected}): the document is corrupted or was edited`);
    }
    const params = Object.fromEntries(SAVED_FIELDS.map((k) => [k, doc[k]]));
    if (doc.inputDim === null) throw new TypeError('json.inputDim must be an integer, got null');
    const map = new NTKNystrom({ ...params, ...(memoryLimit === undefined ? {} : { memoryLimit }) } as NTKNystromOptions, restoreToken);
    const d = doc.inputDim as number, m = map.landmarks, elem = elementBytes(map.dtype);
    const recompute = format.version === 1;
    checkMemory(`NTKNystrom landmarks (${m} x ${d}) and projection`, elem * (m * d + m * m) + (recompute ? 8 * 3 * m * m : 0), map.memoryLimit);
    const rows = arrayField(doc, 'landmarkRows', map.dtype, m * d, `landmarks x inputDim = ${m} x ${d}`);
    const loaded = { fitRows: null, landmarkIndices: null, levelLambdas: [] };
    if (recompute) {
      const { projection, info } = runSync(map.project(false, rows, d));
      map.state = { inputDim: d, rows, projection, info: { ...info, ...loaded } };
      return map;
    }
    const rank = intOption('json.rank', doc.rank, 0, m);
    const largest = numberOption('json.largestEigenvalue', doc.largestEigenvalue, 0, Number.MAX_VALUE);
    const smallest = numberOption('json.smallestKeptEigenvalue', doc.smallestKeptEigenvalue, 0, Number.MAX_VALUE);
    if (rank > 0 && !(smallest > 0 && smallest <= largest)) {
      throw new RangeError(`json.smallestKeptEigenvalue must be in (0, largestEigenvalue = ${largest}] when rank > 0, got ${smallest}`);
    }
    const projection = arrayField(doc, 'projection', map.dtype, m * rank, `landmarks x rank = ${m} x ${rank}`);
    map.state = { inputDim: d, rows, projection, info: { ...map.spectrumInfo(d, rank, largest, smallest), ...loaded } };
    return map;
  }
}
