/**
 * What every feature map shares (NTKSketch, NTKRandomFeatures, CNTKSketch,
 * LeverageSelection): the whole transform path — options, reading and
 * checking X, the output buffer, the memory check, the native call, sync and
 * async from one generator — and saved documents (format, version and field
 * checks, and polynomial coefficients checked against those this version
 * computes). A map supplies only how it reads X (`readInput`)
 * and what runs a call ({@link FeatureMap.target}).
 */
import type { NdArray } from 'ndarray';
import {
  allocate,
  checkMemory,
  checkOptions,
  describe,
  dtypeOf,
  elementBytes,
  isCsrLike,
  toCsr,
  toMatrix,
  toNdarray,
  type DType,
  type MatrixLike,
} from '../core/arrays.js';
import type { RowsLike } from '../core/inputs.js';
import type { FloatArray, NativeFeatureMap } from '../core/native.js';
import { CONTROL_KEYS, controlOptions, runAsync, runSync, type CallControl, type Steps } from '../core/steps.js';
import { copyViews, isDetached, isPrivate } from '../core/job-inputs.js';
import type { PolynomialApproximation } from '../sketches/primitives.js';

export type FeatureKernel = 'ntk' | 'nngp';

/** Options every feature map takes. */
export interface FeatureMapOptions {
  /** Non-negative safe integer. Default 0. */
  seed?: number;
  /** Refuse maps or results needing more bytes than this. Default 4 GiB. */
  memoryLimit?: number;
}

/** Options of the maps built on polynomial approximations of k0 and k1 (NTKSketch, CNTKSketch). */
export interface PolynomialMapOptions extends FeatureMapOptions {
  /** 'nnls' (default) or 'taylor'; see arcCosinePolynomial. */
  approximation?: PolynomialApproximation;
}

/** Options of transform() and transformSync(). */
export interface FeatureTransformOptions {
  /** 'ntk' (default; a LeverageSelection's default is its own kernel) or 'nngp'. */
  kernel?: FeatureKernel;
  /**
   * Where to write the features instead of a new array: a Float32Array or
   * Float64Array of the map's dtype with exactly n x features elements, or a
   * contiguous row-major n x features ndarray / { data, shape } of one (a
   * view with an offset, such as a block of rows of a larger matrix, is
   * fine). The result is an ndarray over that memory. A new array costs
   * little more (it is first touched in bulk by the native call), but a
   * reused one spares the allocation (transformSync: async transforms
   * compute into a private array and copy it into `out` once complete, so
   * that the caller detaching `out` meanwhile cannot crash the job: that is
   * a TypeError instead; core/job-inputs.ts). It must not share memory with X.
   */
  out?: FloatArray | MatrixLike;
  /** Aborts the call: it rejects with an AbortError (DOMException) after the block of rows running; a given `out` is then untouched (async). */
  signal?: AbortSignal;
  /** Called with (rows done, rows) as blocks of rows complete. */
  onProgress?: (done: number, total: number) => void;
}

/** The input fields of a native transform call: dense rows (or images), or CSR rows. */
export type NativeInput = { x: FloatArray } | { indptr: Int32Array; indices: Int32Array; values: FloatArray };

/** X checked as a map's input: how many rows (or images), the arrays the native map reads, how to cut it into row blocks. */
export interface MapInput {
  count: number;
  /** The arrays the map will read (an `out` buffer must not overlap them). */
  arrays: ArrayBufferView[];
  /** Rows [begin, end) as a map input of the same kind (views, no copies of dense data). */
  slice(begin: number, end: number): RowsLike;
  /** The fields the native transform reads. */
  native: NativeInput;
}

/** What computes a map's transform calls. */
export interface TransformTarget {
  /** Output columns per row. */
  features: number;
  /** Bytes one call on `input` needs beyond its output (per-thread scratch, block buffers). */
  scratchBytes(input: MapInput, kernel: FeatureKernel): number;
  /** Writes the features of `input` into `out` now (sync) or off the JavaScript thread (async: a Promise). */
  run(input: MapInput, out: FloatArray, kernel: FeatureKernel, async: boolean): Promise<void> | undefined;
}

/** A target that runs a native map (and, for selections, can be released). */
export interface NativeTarget extends TransformTarget {
  dispose(): void;
}

/** What one input of a map is: a row of `columns` values, or an image [C, H, W] of `columns` = C * H * W values. */
export type InputLayout =
  | { kind: 'rows'; columns: number }
  | { kind: 'images'; shape: readonly [number, number, number]; columns: number };

/**
 * X as a map of `layout` reads it: flat rows of C * H * W values reshaped
 * (same data) into images [n, C, H, W] when the map reads images; anything
 * else as it is.
 */
export function asMapInput<X extends { data: ArrayLike<number>; shape: readonly number[] }>(X: X, layout: InputLayout): X {
  if (layout.kind !== 'images' || X.shape.length !== 2) return X;
  return { ...X, shape: [X.shape[0], ...layout.shape] };
}

/** The kinds of map a LeverageSelection can draw from, as its saved documents name them. */
export type PoolType = 'NTKSketch' | 'NTKRandomFeatures' | 'CNTKSketch';
/** What kind of map this is. */
export type MapType = PoolType | 'LeverageSelection' | 'NTKNystrom';

/**
 * Base of the feature maps. A subclass says how it reads X
 * (`readInput`) and what runs a call (`target`); this class does
 * the rest of transform and transformSync, and dispose(). It also declares
 * what a selection (LeverageSelection) needs from any map it keeps columns
 * of: its always-exact columns and, where the map can, a native map of the
 * kept columns alone.
 */
export abstract class FeatureMap {
  abstract readonly features: number;
  abstract readonly dtype: DType;
  /** Refuse results needing more bytes than this. */
  abstract readonly memoryLimit: number;
  /** What kind of map this is, as saved documents name it. */
  abstract readonly mapType: MapType;
  /** What one input (a row of X) is. */
  abstract readonly inputLayout: InputLayout;
  private released = false;

  /** @internal X validated as this map's input (rows, or images), and how to cut it into row blocks. */
  abstract readInput(X: unknown): MapInput;

  /** What computes this map's features of `kernel` (called once the map is known to be live). */
  protected abstract target(kernel: FeatureKernel): TransformTarget;

  /** A small document that mapFromJSON (or the class's fromJSON) turns back into the same map. */
  abstract toJSON(): object;

  /** Releases the native parameters (called once, by dispose). */
  protected abstract release(): void;

  /** The kernel of a transform that names none. */
  protected get defaultKernel(): FeatureKernel {
    return 'ntk';
  }

  /** @internal The columns of `kernel`'s features that are exact for every seed (a selection always keeps them). */
  constantColumns(_kernel: FeatureKernel): Int32Array {
    return new Int32Array(0);
  }

  /**
   * @internal A native map computing only `columns` (increasing) of
   * `kernel`'s features, column k times scales[k], when this map can build
   * one for a selection that `normalize`s; null when the selection must
   * compute all features and gather the columns.
   */
  keptColumns(_columns: Int32Array, _scales: Float64Array, _kernel: FeatureKernel, _normalize: boolean): NativeTarget | null {
    return null;
  }

  /** @internal Refuses, with a RangeError naming `map`, a map that a selection with `normalize` cannot draw from. */
  checkPool(_normalize: boolean): void {}

  /** Whether {@link dispose} was called. */
  get disposed(): boolean {
    return this.released;
  }

  /**
   * Releases the map's parameters (weights, hashes, signs: up to hundreds of
   * MiB) now instead of when the garbage collector finalises the map, which
   * Node defers until the event loop turns (a synchronous loop that builds
   * maps would otherwise hold them all). Transforms still running keep what
   * they need. Afterwards transform calls and `memory` throw; toJSON still
   * works. Calling it again does nothing. Also `using map = new ...`.
   */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Throws when the map has been disposed; `what` names the call. */
  protected requireLive(what: string): void {
    if (this.released) throw new Error(`${this.constructor.name}.${what}: the map has been disposed`);
  }

  /**
   * @internal A transform call checked before any work: X read, `out`
   * checked (or a result allocated), the memory of the call checked against
   * `memoryLimit`.
   */
  plan(fn: string, X: unknown, out: unknown, kernel: FeatureKernel, target: TransformTarget, memoryLimit: number): TransformPlan {
    const input = this.readInput(X);
    const n = input.count, f = target.features;
    const given = outputBuffer(out, this.dtype, n, f, input.arrays);
    const elem = elementBytes(this.dtype);
    checkMemory(`${fn}: ${n} x ${f} features`, (given ? 0 : n * f * elem) + target.scratchBytes(input, kernel), memoryLimit);
    return { input, out: given ?? allocate(this.dtype, n * f), given: given !== undefined };
  }

  private *transformSteps(fn: string, async: boolean, X: unknown, opts: Record<string, unknown>, control: CallControl): Steps<NdArray<FloatArray>> {
    this.requireLive(fn);
    const kernel = opts.kernel === undefined ? this.defaultKernel : kernelOption(opts.kernel);
    const target = this.target(kernel);
    const plan = this.plan(fn, X, opts.out, kernel, target, this.memoryLimit);
    const n = plan.input.count, f = this.features;
    if (n === 0) {
      control.onProgress?.(0, 0);
      return toNdarray(plan.out, n, f);
    }
    // Async: the job reads a private copy of X and never writes the caller's
    // `out` directly, so that the caller detaching either meanwhile can
    // neither crash it nor change its result (core/job-inputs.ts).
    const input = async ? this.readInput(copyViews(plan.input.slice(0, n))) : plan.input;
    // Async with the caller's out: each block of features goes to a private
    // block, copied into out once computed (one block of extra memory).
    const staged = async && plan.given && !isPrivate(plan.out);
    if (!staged && !control.signal && !control.onProgress) {
      yield target.run(input, plan.out, kernel, async);
      return toNdarray(plan.out, n, f);
    }
    // Row blocks, so that an abort waits for one block at most and a staged
    // copy stays small; every row's features are the same bits in any block
    // that contains it.
    let rows = n;
    if (control.signal || control.onProgress) rows = transformBlockRows(f, this.inputLayout.columns);
    if (staged) rows = Math.min(rows, Math.max(1, Math.floor(STAGED_BLOCK_BYTES / (f * elementBytes(this.dtype)))));
    const stage = staged ? allocate(this.dtype, Math.min(n, rows) * f) : null;
    const outBytes = plan.out.byteLength;
    control.onProgress?.(0, n);
    for (let b = 0; b < n; b += rows) {
      const e = Math.min(n, b + rows);
      const block = b === 0 && e === n ? input : this.readInput(input.slice(b, e));
      const dest = stage ? stage.subarray(0, (e - b) * f) : plan.out.subarray(b * f, e * f);
      yield target.run(block, dest, kernel, async);
      if (stage) {
        if (isDetached(plan.out, outBytes)) {
          throw new TypeError(`${fn}: options.out was detached (its ArrayBuffer transferred) while the transform ran; rows from ${b} on were not written`);
        }
        plan.out.set(dest, b * f);
      }
      control.onProgress?.(e, n);
    }
    return toNdarray(plan.out, n, f);
  }

  /** The transform options, and their signal and onProgress. */
  private transformOptions(fn: string, options: unknown): { opts: Record<string, unknown>; control: CallControl } {
    const opts = checkOptions(`${fn} options`, options, ['kernel', 'out', ...CONTROL_KEYS]);
    return { opts, control: controlOptions(`${fn} options`, opts) };
  }

  /**
   * Features of the rows of X: a dense n x inputDim matrix (ndarray or
   * { data, shape }) or a CSR matrix { indptr, indices, data, shape } (images
   * [n, C, H, W] for CNTKSketch). Returns an n x features ndarray of this
   * map's dtype.
   */
  transformSync(X: RowsLike, options?: FeatureTransformOptions): NdArray<FloatArray> {
    const { opts, control } = this.transformOptions('transformSync', options);
    return runSync(this.transformSteps('transformSync', false, X, opts, control), control.signal);
  }

  /**
   * Async form of {@link transformSync}: runs off the JavaScript thread; rejects on bad input.
   * With `signal` or `onProgress` the rows are computed in blocks (at most 2^21 output values
   * and about 0.1 s of work each, the same bits): onProgress(rows done, rows) after each, and an abort rejects with an
   * AbortError once the block running ends (a given `out` then holds the blocks done).
   */
  async transform(X: RowsLike, options?: FeatureTransformOptions): Promise<NdArray<FloatArray>> {
    const { opts, control } = this.transformOptions('transform', options);
    return runAsync(this.transformSteps('transform', true, X, opts, control), control.signal);
  }
}

/** Bytes of the private block an async transform computes before copying it into the caller's `out`. */
const STAGED_BLOCK_BYTES = 32 * 2 ** 20;

/** Output values per block of a transform with a signal or onProgress. */
export const TRANSFORM_BLOCK_VALUES = 2 ** 21;
/**
 * Output values x input values per row, per block: the maps' cost per row
 * grows with both (CNTKSketch: about 4 ms per 16 x 16 x 3 image at 4,096
 * features on one core), so a block stays near 0.1 s of work.
 */
export const TRANSFORM_BLOCK_WORK = 2 ** 26;

/** Rows per block of a transform with a signal or onProgress, for `features` outputs and `columns` inputs per row. */
export function transformBlockRows(features: number, columns: number): number {
  const f = Math.max(1, features);
  return Math.max(1, Math.floor(Math.min(TRANSFORM_BLOCK_VALUES / f, TRANSFORM_BLOCK_WORK / (f * Math.max(1, columns)))));
}

/** A checked transform call: its input and output buffer. */
export interface TransformPlan {
  input: MapInput;
  /** The caller's `out` (given) or a new result array. */
  out: FloatArray;
  given: boolean;
}

/** The kernel option: 'ntk' (when undefined) or 'nngp'. */
export function kernelOption(value: unknown): FeatureKernel {
  const kernel = value ?? 'ntk';
  if (kernel !== 'ntk' && kernel !== 'nngp') throw new RangeError(`kernel must be 'ntk' or 'nngp', got ${describe(kernel)}`);
  return kernel;
}

/** The transform of a native map: `features` wide, `scratchBytes` as the map computes them. */
export function nativeTarget(
  map: NativeFeatureMap, features: number, scratchBytes: (input: MapInput, kernel: FeatureKernel) => number,
): NativeTarget {
  return {
    features,
    scratchBytes,
    run: (input, out, kernel, async) => map.transform({ ...input.native, n: input.count, out, kernel }, async),
    dispose: () => map.dispose(),
  };
}

/** The elements [from, to) of the buffer underlying a typed array, in bytes. */
function byteRange(a: ArrayBufferView): [number, number] {
  return [a.byteOffset, a.byteOffset + a.byteLength];
}

/**
 * The transform option `out` checked for a result of `rows` x `features` in
 * `dtype`: the contiguous view to write, or undefined when none was given
 * (the caller allocates). `inputs` are the arrays the native map reads; `out`
 * must not overlap them, or rows would be overwritten while still being read.
 */
export function outputBuffer(
  out: unknown, dtype: DType, rows: number, features: number, inputs: readonly ArrayBufferView[],
): FloatArray | undefined {
  if (out === undefined) return undefined;
  const expected = dtype === 'float32' ? 'Float32Array' : 'Float64Array';
  const length = rows * features;
  let view: FloatArray;
  if (out instanceof Float32Array || out instanceof Float64Array) {
    if (dtypeOf(out) !== dtype) throw new TypeError(`options.out must be a ${expected} (this map's dtype is ${dtype}), got ${describe(out)}`);
    if (out.length !== length) {
      throw new RangeError(`options.out must have ${rows} x ${features} = ${length} elements, got ${out.length}`);
    }
    view = out;
  } else {
    if (out === null || typeof out !== 'object' || Array.isArray(out) || ArrayBuffer.isView(out)) {
      throw new TypeError(`options.out must be a ${expected} or an ndarray / { data, shape } of one, got ${describe(out)}`);
    }
    const o = out as Partial<MatrixLike>;
    if (!(o.data instanceof Float32Array || o.data instanceof Float64Array) || dtypeOf(o.data) !== dtype) {
      throw new TypeError(`options.out.data must be a ${expected} (this map's dtype is ${dtype}), got ${describe(o.data)}`);
    }
    const shape = Array.isArray(o.shape) || ArrayBuffer.isView(o.shape) ? Array.from(o.shape as ArrayLike<number>) : undefined;
    if (!shape || shape.length !== 2 || shape[0] !== rows || shape[1] !== features) {
      throw new RangeError(`options.out must have shape [${rows}, ${features}], got ${shape ? `[${shape.join(', ')}]` : describe(o.shape)}`);
    }
    const stride = o.stride === undefined ? [features, 1] : Array.from(o.stride);
    if (length > 0 && !(stride[1] === 1 && (stride[0] === features || rows === 1))) {
      throw new RangeError(`options.out must be contiguous and row-major (stride [${features}, 1]), got stride [${stride.join(', ')}]`);
    }
    const offset = o.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > o.data.length) {
      throw new RangeError(`options.out: ${rows} x ${features} elements from offset ${describe(offset)} do not fit in data of length ${o.data.length}`);
    }
    view = o.data.subarray(offset, offset + length);
  }
  const [from, to] = byteRange(view);
  for (const input of inputs) {
    const [a, b] = byteRange(input);
    if (input.buffer === view.buffer && a < to && from < b) throw new RangeError('options.out must not share memory with X');
  }
  return view;
}

/**
 * X as rows of `inputDim` columns for a map of `dtype` named `owner`: dense
 * (ndarray, { data, shape }) or CSR. The structure is checked here; the
 * values are not: contiguous float32 or float64 data is passed as is,
 * whatever `dtype`, and the native transform converts it in chunks and
 * refuses non-finite values with the RangeError this check would give
 * (bindings/feature_map.hpp). Other data (number[], strided views) is copied
 * to `dtype`.
 */
export function rowsInput(X: unknown, inputDim: number, dtype: DType, owner: string): MapInput {
  const options = { cols: inputDim, colsName: `the inputDim of this ${owner}`, dtype, nonEmpty: false, nativeValues: true };
  if (!isCsrLike(X)) {
    const { data, rows: n, cols: d } = toMatrix('X', X, options);
    return { count: n, arrays: [data], native: { x: data }, slice: (b, e) => ({ data: data.subarray(b * d, e * d), shape: [e - b, d] }) };
  }
  const csr = toCsr('X', X, options);
  return {
    count: csr.rows,
    arrays: [csr.indptr, csr.indices, csr.data],
    native: { indptr: csr.indptr, indices: csr.indices, values: csr.data },
    slice: (b, e) => {
      const base = csr.indptr[b];
      const indptr = new Int32Array(e - b + 1);
      for (let i = 0; i <= e - b; i++) indptr[i] = csr.indptr[b + i] - base;
      return { indptr, indices: csr.indices.subarray(base, csr.indptr[e]), data: csr.data.subarray(base, csr.indptr[e]), shape: [e - b, csr.cols] };
    },
  };
}

/** The backend option of a map that runs on the CPU only. */
export function cpuBackendOption(name: string, value: unknown, owner: string): void {
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${name} must be 'auto', 'cpu' or 'cuda', got ${describe(value)}`);
  if (value === 'cuda') throw new RangeError(`${name} 'cuda' is not available for ${owner}: it runs on the CPU`);
  if (value !== undefined && value !== 'cpu' && value !== 'auto') {
    throw new RangeError(`${name} must be 'auto', 'cpu' or 'cuda', got ${describe(value)}`);
  }
}

// ------------------------------------------------------------ saved documents

/** How a map's toJSON documents look. */
export interface SavedFormat {
  /** Class name, for messages. */
  owner: string;
  format: string;
  version: number;
  /** The fields besides format and version, all required, in the order they are reported missing. */
  fields: readonly string[];
  /** Versions no longer read, with the message that says why and what to do. */
  retired?: Readonly<Record<number, string>>;
}

/**
 * A document written by toJSON (object or JSON string), checked for format
 * (TypeError), version, unknown fields (RangeError) and missing fields
 * (TypeError), and the options of fromJSON (`optionKeys`; their values are
 * not yet validated). `older` lists earlier versions still read, with their
 * own fields; `format` is the one the document matched.
 */
export function readSaved(
  json: unknown,
  options: unknown,
  current: SavedFormat,
  older: readonly SavedFormat[] = [],
  optionKeys: readonly string[] = ['memoryLimit'],
): { doc: Record<string, unknown>; memoryLimit: unknown; options: Record<string, unknown>; format: SavedFormat } {
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (error) {
      throw new TypeError(`json is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || (doc as { format?: unknown }).format !== current.format) {
    throw new TypeError(`json is not a saved ${current.owner} (format must be '${current.format}')`);
  }
  const d = doc as Record<string, unknown>;
  const saved = older.find((f) => f.version === d.version) ?? current;
  const retired = typeof d.version === 'number' ? current.retired?.[d.version] : undefined;
  if (retired !== undefined) throw new RangeError(retired);
  if (d.version !== saved.version) {
    throw new RangeError(
      `json.version ${typeof d.version === 'number' ? d.version : describe(d.version)} is not supported (this library reads version ${current.version})`,
    );
  }
  const fromOpts = checkOptions('fromJSON options', options, optionKeys);
  for (const key of Object.keys(d)) {
    if (key !== 'format' && key !== 'version' && !saved.fields.includes(key)) {
      throw new RangeError(`json.${key} is not a field of a saved ${saved.owner}`);
    }
  }
  for (const key of saved.fields) if (d[key] === undefined) throw new TypeError(`json.${key} is missing`);
  return { doc: d, memoryLimit: fromOpts.memoryLimit, options: fromOpts, format: saved };
}

/** Constructor options from the saved fields `keys`, with fromJSON's memoryLimit when given. */
export function savedOptions(doc: Record<string, unknown>, keys: readonly string[], memoryLimit: unknown): Record<string, unknown> {
  return { ...Object.fromEntries(keys.map((k) => [k, doc[k]])), ...(memoryLimit === undefined ? {} : { memoryLimit }) };
}

// ---------------------------------------------------------------- polynomials

/** Coefficients c_0..c_degree of P1^h ~ k1 and P0^h ~ k0, index h-1 for layer h. */
export interface LayerPolynomials {
  k1: Float64Array[];
  k0: Float64Array[];
}

/** The coefficients this version computes for a kernel and layer index h (0-based). */
export type PolynomialSource = (kernel: 'k0' | 'k1', h: number) => Float64Array;

export function computePolynomials(depth: number, source: PolynomialSource): LayerPolynomials {
  const layers = (kernel: 'k0' | 'k1') => Array.from({ length: depth }, (_, h) => source(kernel, h));
  const k1 = layers('k1');
  return { k1, k0: layers('k0') };
}

/** Saved coefficients c_0..c_degree of P1^h and P0^h for h = 1..depth. */
export interface PolynomialsJSON {
  k1: number[][];
  k0: number[][];
}

export function polynomialsToJSON(p: LayerPolynomials): PolynomialsJSON {
  return { k1: p.k1.map((c) => Array.from(c)), k0: p.k0.map((c) => Array.from(c)) };
}

/** Stored coefficients must match recomputed ones this closely (they differ
 * only by libm rounding between machines). */
const COEFFICIENT_TOLERANCE = 1e-9;

/**
 * Validates json.polynomials against the coefficients computed for these
 * parameters. With `strictOwner`, other keys than k1 and k0 are refused as
 * not being fields of a saved `strictOwner`.
 */
export function readPolynomials(
  value: unknown,
  r: { depth: number; degree: number; approximation: PolynomialApproximation },
  source: PolynomialSource,
  strictOwner?: string,
): LayerPolynomials {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`json.polynomials must be an object { k1, k0 }, got ${describe(value)}`);
  }
  if (strictOwner !== undefined) {
    for (const key of Object.keys(value)) {
      if (key !== 'k1' && key !== 'k0') throw new RangeError(`json.polynomials.${key} is not a field of a saved ${strictOwner}`);
    }
  }
  const out: LayerPolynomials = { k1: [], k0: [] };
  for (const kernel of ['k1', 'k0'] as const) {
    const layers = (value as Record<string, unknown>)[kernel];
    const name = `json.polynomials.${kernel}`;
    if (!Array.isArray(layers)) throw new TypeError(`${name} must be an array of coefficient arrays, got ${describe(layers)}`);
    if (layers.length !== r.depth) throw new RangeError(`${name} must hold ${r.depth} polynomials (one per layer), got ${layers.length}`);
    layers.forEach((coeffs: unknown, h: number) => {
      if (!Array.isArray(coeffs)) throw new TypeError(`${name}[${h}] must be an array of numbers, got ${describe(coeffs)}`);
      if (coeffs.length !== r.degree + 1) {
        throw new RangeError(`${name}[${h}] must hold degree + 1 = ${r.degree + 1} coefficients, got ${coeffs.length}`);
      }
      const expected = source(kernel, h);
      const c = new Float64Array(coeffs.length);
      coeffs.forEach((v: unknown, j: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
          throw new RangeError(`${name}[${h}][${j}] must be a finite number >= 0, got ${describe(v)}`);
        }
        if (Math.abs(v - expected[j]) > COEFFICIENT_TOLERANCE) {
          throw new RangeError(
            `${name}[${h}][${j}] = ${v} does not match the ${r.approximation} coefficient ${expected[j]} for these parameters: ` +
              'the document is corrupted or was written by an incompatible version',
          );
        }
        c[j] = v;
      });
      out[kernel].push(c);
    });
  }
  return out;
}
