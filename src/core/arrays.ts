/**
 * Input conversion and validation shared by every entry point.
 *
 * Matrices are accepted as scijs `ndarray`s or plain `{ data, shape }`
 * objects, float32 or float64, row-major n x d (any strides: non-contiguous
 * views are copied). Everything is checked before native code runs (except,
 * with `nativeValues`, the values of a feature map's input, which its native
 * transform converts and checks off the JavaScript thread), and errors name
 * the argument: `TypeError` for a wrong type, `RangeError` for a wrong shape,
 * non-finite value or size.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { native, type FloatArray } from './native.js';

export type DType = 'float32' | 'float64';

/** Anything matrix-shaped the library accepts. */
export interface MatrixLike {
  data: ArrayLike<number>;
  shape: readonly number[];
  stride?: readonly number[];
  offset?: number;
}

/** A validated, contiguous row-major matrix. */
export interface Matrix<T extends FloatArray = FloatArray> {
  data: T;
  rows: number;
  cols: number;
  dtype: DType;
}

/** Default cap on the bytes a single result may need (4 GiB). */
export const DEFAULT_MEMORY_LIMIT = 4 * 1024 ** 3;

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float32Array ? 'float32' : 'float64';
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function isPositiveIntegerOrZero(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Throws RangeError naming `name` when data holds NaN or +-Infinity. */
export function assertFinite(name: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      throw new RangeError(`${name} must contain only finite numbers, found ${v} at flat index ${i}`);
    }
  }
}

export interface ToMatrixOptions {
  /** Required number of columns. */
  cols?: number;
  /** Name of what fixes `cols`, for the message. */
  colsName?: string;
  /** Accept a 1-D vector as an n x 1 matrix (targets). */
  allowVector?: boolean;
  /** Require at least one row. Default true. */
  nonEmpty?: boolean;
  /** Convert to this dtype (copies when different). */
  dtype?: DType;
  /**
   * The native call that reads the matrix converts and checks its values
   * itself (the feature maps' transforms): contiguous Float32Array or
   * Float64Array data is used in place whatever `dtype` says, other data is
   * copied to `dtype`, and no value is scanned here. The result's dtype is
   * then that of its data.
   */
  nativeValues?: boolean;
}

/** The data (typed array or number[]) and shape (non-negative integers) of a matrix-like value. */
function dataAndShape(name: string, v: Partial<MatrixLike>): { data: FloatArray | number[]; shape: number[] } {
  const data = v.data;
  if (
    data === undefined ||
    !(data instanceof Float32Array || data instanceof Float64Array || Array.isArray(data))
  ) {
    throw new TypeError(`${name}.data must be a Float32Array, Float64Array or number[], got ${describe(data)}`);
  }
  if (!Array.isArray(v.shape) && !(v.shape && typeof v.shape === 'object' && 'length' in v.shape)) {
    throw new TypeError(`${name}.shape must be an array of dimensions, got ${describe(v.shape)}`);
  }
  const shape = Array.from(v.shape as ArrayLike<number>);
  if (!shape.every((s) => isPositiveIntegerOrZero(s))) {
    throw new RangeError(`${name}.shape must hold non-negative integers, got [${shape.join(', ')}]`);
  }
  return { data, shape };
}

/**
 * Converts `value` to a validated contiguous matrix; `name` is used in error
 * messages (e.g. 'X'). Typed-array data is used in place when it is already
 * contiguous and of the requested dtype.
 */
export function toMatrix(name: string, value: unknown, options: ToMatrixOptions = {}): Matrix {
  // Targets may be a bare vector (TargetsLike): a typed array or number[] of n values.
  if (options.allowVector && (value instanceof Float32Array || value instanceof Float64Array || Array.isArray(value))) {
    value = { data: value, shape: [value.length] };
  }
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`${name} must be an ndarray or { data, shape } matrix, got ${describe(value)}`);
  }
  const v = value as Partial<MatrixLike>;
  const { data, shape: dims } = dataAndShape(name, v);
  let shape = dims;
  let stride = v.stride ? Array.from(v.stride) : undefined;
  if (shape.length === 1 && options.allowVector) {
    shape = [shape[0], 1];
    if (stride) stride = [stride[0], 1];
  }
  if (shape.length !== 2) {
    throw new RangeError(`${name} must be 2-dimensional (rows x columns), got shape [${shape.join(', ')}]`);
  }
  const [rows, cols] = shape;
  if ((options.nonEmpty ?? true) && rows === 0) throw new RangeError(`${name} must have at least one row`);
  if (options.cols !== undefined && cols !== options.cols) {
    throw new RangeError(
      `${name} must have ${options.cols} columns${options.colsName ? ` (${options.colsName})` : ''}, got ${cols}`,
    );
  }
  const offset = v.offset ?? 0;
  if (!isPositiveIntegerOrZero(offset)) throw new RangeError(`${name}.offset must be a non-negative integer`);
  const st = stride ?? [cols, 1];
  if (st.length !== 2 || !st.every((s) => Number.isSafeInteger(s))) {
    throw new RangeError(`${name}.stride must be two integers, got ${describe(stride)}`);
  }
  // Every addressed element must lie inside data.
  const last = offset + (rows > 0 && cols > 0 ? Math.max(0, (rows - 1) * st[0]) + Math.max(0, (cols - 1) * st[1]) : 0);
  const first = offset + (rows > 0 && cols > 0 ? Math.min(0, (rows - 1) * st[0]) + Math.min(0, (cols - 1) * st[1]) : 0);
  if (rows * cols > 0 && (first < 0 || last >= data.length)) {
    throw new RangeError(`${name}: shape [${rows}, ${cols}] does not fit in data of length ${data.length}`);
  }
  if (!stride && v.offset === undefined && data.length !== rows * cols) {
    throw new RangeError(`${name}: data has ${data.length} elements but shape [${rows}, ${cols}] needs ${rows * cols}`);
  }
  const srcType: DType = data instanceof Float32Array ? 'float32' : 'float64';
  const dtype = options.dtype ?? srcType;
  const contiguous = st[1] === 1 && (st[0] === cols || rows <= 1);
  let out: FloatArray;
  if (contiguous && !Array.isArray(data) && (dtype === srcType || options.nativeValues)) {
    out = (data as FloatArray).subarray(offset, offset + rows * cols);
  } else {
    out = dtype === 'float32' ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
    let k = 0;
    for (let i = 0; i < rows; i++) {
      const base = offset + i * st[0];
      for (let j = 0; j < cols; j++) out[k++] = data[base + j * st[1]];
    }
  }
  if (!options.nativeValues) assertFinite(name, out);
  return { data: out, rows, cols, dtype: dtypeOf(out) };
}

/** A validated, contiguous batch of images, n x C x H x W row-major. */
export interface Images<T extends FloatArray = FloatArray> {
  data: T;
  count: number;
  channels: number;
  height: number;
  width: number;
  dtype: DType;
}

export interface ToImagesOptions {
  /** Required channels, height and width (all three), e.g. those of X. */
  like?: { channels: number; height: number; width: number };
  /** Name of what fixes `like`, for the message. */
  likeName?: string;
  /** Convert to this dtype (copies when different). */
  dtype?: DType;
  /** As for {@link toMatrix}: the native call converts and checks the values. */
  nativeValues?: boolean;
}

/**
 * Converts `value` (ndarray or { data, shape, stride?, offset? } of shape
 * [n, C, H, W]) to a validated contiguous batch of images; `name` is used in
 * error messages. The 4-D counterpart of {@link toMatrix}: typed-array data is
 * used in place when it is contiguous and of the requested dtype.
 */
export function toImages(name: string, value: unknown, options: ToImagesOptions = {}): Images {
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`${name} must be an ndarray or { data, shape } of images [n, channels, height, width], got ${describe(value)}`);
  }
  const v = value as Partial<MatrixLike>;
  const { data, shape } = dataAndShape(name, v);
  if (shape.length !== 4) {
    throw new RangeError(
      `${name} must be 4-dimensional (images x channels x height x width), got shape [${shape.join(', ')}]` +
        (shape.length === 3 ? '; for single-channel images use shape [n, 1, height, width]' : ''),
    );
  }
  const [count, channels, height, width] = shape;
  if (count === 0) throw new RangeError(`${name} must hold at least one image`);
  if (channels === 0 || height === 0 || width === 0) {
    throw new RangeError(`${name} must have at least one channel and one pixel, got shape [${shape.join(', ')}]`);
  }
  const like = options.like;
  if (like && channels !== like.channels) {
    throw new RangeError(
      `${name} must have ${like.channels} channels${options.likeName ? ` (${options.likeName})` : ''}, got ${channels}`,
    );
  }
  if (like && (height !== like.height || width !== like.width)) {
    throw new RangeError(
      `${name} must have images of ${like.height} x ${like.width} pixels${options.likeName ? ` (${options.likeName})` : ''}, got ${height} x ${width}`,
    );
  }
  const offset = v.offset ?? 0;
  if (!isPositiveIntegerOrZero(offset)) throw new RangeError(`${name}.offset must be a non-negative integer`);
  const dense = [channels * height * width, height * width, width, 1];
  const st = v.stride ? Array.from(v.stride) : dense;
  if (st.length !== 4 || !st.every((s) => Number.isSafeInteger(s))) {
    throw new RangeError(`${name}.stride must be four integers, got ${describe(v.stride)}`);
  }
  let first = offset;
  let last = offset;
  for (let k = 0; k < 4; k++) {
    first += Math.min(0, (shape[k] - 1) * st[k]);
    last += Math.max(0, (shape[k] - 1) * st[k]);
  }
  const total = count * channels * height * width;
  if (first < 0 || last >= data.length) {
    throw new RangeError(`${name}: shape [${shape.join(', ')}] does not fit in data of length ${data.length}`);
  }
  if (!v.stride && v.offset === undefined && data.length !== total) {
    throw new RangeError(`${name}: data has ${data.length} elements but shape [${shape.join(', ')}] needs ${total}`);
  }
  const srcType: DType = data instanceof Float32Array ? 'float32' : 'float64';
  const dtype = options.dtype ?? srcType;
  // Strides of dimensions of extent 1 do not matter.
  const contiguous = st.every((s, k) => shape[k] === 1 || s === dense[k]);
  let out: FloatArray;
  if (contiguous && !Array.isArray(data) && (dtype === srcType || options.nativeValues)) {
    out = (data as FloatArray).subarray(offset, offset + total);
  } else {
    out = dtype === 'float32' ? new Float32Array(total) : new Float64Array(total);
    let k = 0;
    for (let i = 0; i < count; i++) {
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < height; y++) {
          const base = offset + i * st[0] + c * st[1] + y * st[2];
          for (let x = 0; x < width; x++) out[k++] = data[base + x * st[3]];
        }
      }
    }
  }
  if (!options.nativeValues) assertFinite(name, out);
  return { data: out, count, channels, height, width, dtype: dtypeOf(out) };
}

/** Validates an integer option in [min, max]. */
export function intOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** Validates a finite number option in [min, max] (inclusive). */
export function numberOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a finite number in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** A boolean option, `fallback` when undefined. */
export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** The memoryLimit option: a byte count, DEFAULT_MEMORY_LIMIT when undefined. */
export function memoryLimitOption(name: string, value: unknown): number {
  return value === undefined ? DEFAULT_MEMORY_LIMIT : numberOption(name, value, 0, Number.MAX_SAFE_INTEGER);
}

/** The seed option: a non-negative safe integer, 0 when undefined. */
export function seedOption(name: string, value: unknown): number {
  return value === undefined ? 0 : intOption(name, value, 0, Number.MAX_SAFE_INTEGER);
}

/** The dtype option: 'float32' or 'float64', 'float32' when undefined. */
export function dtypeOption(name: string, value: unknown): DType {
  const dtype = value ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new RangeError(`${name} must be 'float32' or 'float64', got ${describe(dtype)}`);
  }
  return dtype;
}

/** Bytes per element of a dtype. */
export function elementBytes(dtype: DType): number {
  return dtype === 'float32' ? 4 : 8;
}

/** Validates that an options argument is an object (or undefined) with only known keys. */
export function checkOptions(name: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${name} must be an options object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new RangeError(`${name}.${key} is not a known option (known: ${known.join(', ')})`);
    }
  }
  return options as Record<string, unknown>;
}

/** Refuses a result that would need more than `limit` bytes. */
export function checkMemory(what: string, bytes: number, limit: number, optionName = 'memoryLimit'): void {
  if (bytes > limit) {
    throw new RangeError(
      `${what} would need ${(bytes / 1024 ** 3).toFixed(2)} GiB, above the ${optionName} of ${(limit / 1024 ** 3).toFixed(2)} GiB; ` +
        `use fewer rows or raise ${optionName}`,
    );
  }
}

/** Arrays of at least this many bytes are registered as fresh results (see {@link allocate}). */
export const FRESH_RESULT_BYTES = 4 * 1024 ** 2;

type MarkFresh = (array: FloatArray) => void;
/** The addon's markFreshResult (bindings/result_memory.hpp); null when unavailable. */
let markFresh: MarkFresh | null | undefined;

function freshResultMarker(): MarkFresh | null {
  if (markFresh === undefined) {
    try {
      const addon = native();
      markFresh = addon.markFreshResult.bind(addon);
    } catch {
      markFresh = null;
    }
  }
  return markFresh;
}

/**
 * A new zeroed Float32Array or Float64Array of `length` elements: an ordinary
 * JavaScript array the caller owns. A large one (FRESH_RESULT_BYTES and up) is
 * registered with the addon as fresh: the first feature-map transform writing
 * it maps its pages in bulk over all threads before computing, instead of
 * taking a page fault per 4 KiB on first write (on a 2-core VM, 328 MB of
 * NTKSketch features: +60 ms instead of +75-100 ms next to a 140 ms
 * transform; bindings/result_memory.hpp).
 */
export function allocate(dtype: DType, length: number): FloatArray {
  const array = dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
  if (array.byteLength >= FRESH_RESULT_BYTES) freshResultMarker()?.(array);
  return array;
}

/** Wraps a row-major buffer as an ndarray. */
export function toNdarray<T extends FloatArray>(data: T, rows: number, cols: number): NdArray<T> {
  return ndarray(data, [rows, cols]);
}

/** A sparse matrix in compressed sparse row form (as scipy.sparse.csr_matrix). */
export interface CsrMatrixLike {
  /** Row pointers, length rows + 1: row i holds entries indptr[i] .. indptr[i+1]-1. */
  indptr: ArrayLike<number>;
  /** Column of each stored entry, strictly increasing within a row. */
  indices: ArrayLike<number>;
  /** Value of each stored entry. */
  data: ArrayLike<number>;
  shape: readonly number[];
}

/** A validated CSR matrix with int32 structure and float values of one dtype. */
export interface CsrMatrix<T extends FloatArray = FloatArray> {
  indptr: Int32Array;
  indices: Int32Array;
  data: T;
  rows: number;
  cols: number;
  nnz: number;
  dtype: DType;
}

/** True when value looks like a CSR matrix (has indptr and indices). */
export function isCsrLike(value: unknown): value is CsrMatrixLike {
  return value !== null && typeof value === 'object' && 'indptr' in value && 'indices' in value;
}

const INT32_MAX = 2147483647;

function isIntegerArrayLike(v: unknown): v is ArrayLike<number> {
  return (
    Array.isArray(v) ||
    v instanceof Int32Array ||
    v instanceof Uint32Array ||
    v instanceof Int16Array ||
    v instanceof Uint16Array ||
    v instanceof Int8Array ||
    v instanceof Uint8Array ||
    v instanceof Float64Array
  );
}

/** Copies (or shares, when already an Int32Array) integer entries, checking each is an integer. */
function toInt32(name: string, v: ArrayLike<number>): Int32Array {
  if (v instanceof Int32Array) return v;
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < -INT32_MAX - 1 || x > INT32_MAX) {
      throw new RangeError(`${name}[${i}] must be an integer in the int32 range, got ${String(x)}`);
    }
    out[i] = x;
  }
  return out;
}

export interface ToCsrOptions {
  /** Required number of columns. */
  cols?: number;
  colsName?: string;
  /** Convert values to this dtype (copies when different). */
  dtype?: DType;
  /** Require at least one row. Default true. */
  nonEmpty?: boolean;
  /** As for {@link toMatrix}: the native call converts and checks the values. */
  nativeValues?: boolean;
}

/**
 * Validates a CSR matrix: shape [rows, cols]; indptr of length rows + 1,
 * starting at 0, non-decreasing, ending at nnz = indices.length =
 * data.length; indices in [0, cols) and strictly increasing within each row
 * (sorted, no duplicates); finite values. Structure arrays become Int32Array
 * (shared when they already are), values the requested dtype.
 */
export function toCsr(name: string, value: unknown, options: ToCsrOptions = {}): CsrMatrix {
  if (!isCsrLike(value)) {
    throw new TypeError(`${name} must be a CSR matrix { indptr, indices, data, shape }, got ${describe(value)}`);
  }
  const v = value as Partial<CsrMatrixLike>;
  if (!Array.isArray(v.shape) && !(v.shape && typeof v.shape === 'object' && 'length' in v.shape)) {
    throw new TypeError(`${name}.shape must be an array [rows, columns], got ${describe(v.shape)}`);
  }
  const shape = Array.from(v.shape as ArrayLike<number>);
  if (shape.length !== 2 || !shape.every((s) => isPositiveIntegerOrZero(s))) {
    throw new RangeError(`${name}.shape must be two non-negative integers [rows, columns], got [${shape.join(', ')}]`);
  }
  const [rows, cols] = shape;
  if ((options.nonEmpty ?? true) && rows === 0) throw new RangeError(`${name} must have at least one row`);
  if (options.cols !== undefined && cols !== options.cols) {
    throw new RangeError(
      `${name} must have ${options.cols} columns${options.colsName ? ` (${options.colsName})` : ''}, got ${cols}`,
    );
  }
  if (cols > INT32_MAX) throw new RangeError(`${name}.shape[1] must be at most ${INT32_MAX}, got ${cols}`);
  for (const key of ['indptr', 'indices'] as const) {
    if (!isIntegerArrayLike(v[key])) {
      throw new TypeError(`${name}.${key} must be an Int32Array, Uint32Array or number[], got ${describe(v[key])}`);
    }
  }
  const data = v.data;
  if (data === undefined || !(data instanceof Float32Array || data instanceof Float64Array || Array.isArray(data))) {
    throw new TypeError(`${name}.data must be a Float32Array, Float64Array or number[], got ${describe(data)}`);
  }
  const indptr = toInt32(`${name}.indptr`, v.indptr as ArrayLike<number>);
  const indices = toInt32(`${name}.indices`, v.indices as ArrayLike<number>);
  if (indptr.length !== rows + 1) {
    throw new RangeError(`${name}.indptr must have rows + 1 = ${rows + 1} entries, got ${indptr.length}`);
  }
  if (indptr[0] !== 0) throw new RangeError(`${name}.indptr[0] must be 0, got ${indptr[0]}`);
  const nnz = indptr[rows];
  if (indices.length !== nnz) {
    throw new RangeError(`${name}.indices must have indptr[${rows}] = ${nnz} entries, got ${indices.length}`);
  }
  if (data.length !== nnz) throw new RangeError(`${name}.data must have indptr[${rows}] = ${nnz} entries, got ${data.length}`);
  for (let i = 0; i < rows; i++) {
    const begin = indptr[i], end = indptr[i + 1];
    if (end < begin) {
      throw new RangeError(`${name}.indptr must be non-decreasing, but indptr[${i + 1}] = ${end} < indptr[${i}] = ${begin}`);
    }
    let prev = -1;
    for (let k = begin; k < end; k++) {
      const c = indices[k];
      if (c < 0 || c >= cols) throw new RangeError(`${name}.indices[${k}] = ${c} is out of range [0, ${cols}) (row ${i})`);
      if (c <= prev) {
        throw new RangeError(
          `${name}.indices must be strictly increasing within a row (sorted, no duplicates): row ${i} has ${c} after ${prev} at indices[${k}]`,
        );
      }
      prev = c;
    }
  }
  const srcType: DType = data instanceof Float32Array ? 'float32' : 'float64';
  const dtype = options.dtype ?? srcType;
  let values: FloatArray;
  if (!Array.isArray(data) && (dtype === srcType || options.nativeValues)) {
    values = data as FloatArray;
  } else {
    values = dtype === 'float32' ? new Float32Array(nnz) : new Float64Array(nnz);
    for (let k = 0; k < nnz; k++) values[k] = data[k];
  }
  if (!options.nativeValues) assertFinite(`${name}.data`, values);
  return { indptr, indices, data: values, rows, cols, nnz, dtype: dtypeOf(values) };
}

/** Smallest power of two >= n (n >= 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
