/**
 * What the per-format readers share: the error class, the batch types, byte
 * sources over plain or gzip-compressed files, number parsing and the
 * conversion of stored elements to float rows.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { createGunzip } from 'node:zlib';
import type { DType } from '../../core/arrays.js';
import type { FloatArray } from '../../core/native.js';

if (endianness() !== 'LE') throw new Error('the data readers need a little-endian host');

/** Where in a file a problem is. */
export interface DataFileLocation {
  /** 1-based line of a text file. */
  line?: number;
  /** 0-based index of the data row (record) among the file's rows. */
  record?: number;
  /** 0-based column. */
  column?: number;
}

/**
 * A data file that cannot be read or written: missing, malformed, truncated,
 * holding a non-finite value, or an output location that is not writable.
 * `file` names the file; `line` (1-based, text files), `record` (0-based row)
 * and `column` (0-based) say where, when known. The message starts with the
 * file name and the location.
 */
export class DataFileError extends Error {
  readonly file: string;
  readonly line?: number;
  readonly record?: number;
  readonly column?: number;

  constructor(file: string, detail: string, where: DataFileLocation = {}, options?: { cause?: unknown }) {
    const parts = [file];
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (where.record !== undefined) parts.push(`row ${where.record}`);
    if (where.column !== undefined) parts.push(`column ${where.column}`);
    super(`${parts.join(', ')}: ${detail}`, options);
    this.name = 'DataFileError';
    this.file = file;
    if (where.line !== undefined) this.line = where.line;
    if (where.record !== undefined) this.record = where.record;
    if (where.column !== undefined) this.column = where.column;
  }
}

/** Dense rows, n x d, row-major. */
export interface DenseRows<T extends FloatArray = FloatArray> {
  data: T;
  shape: [number, number];
}

/** Sparse rows in CSR form (indices 0-based, strictly increasing in each row). */
export interface CsrRows<T extends FloatArray = FloatArray> {
  indptr: Int32Array;
  indices: Int32Array;
  data: T;
  shape: [number, number];
}

/** Images, n x C x H x W, row-major. */
export interface ImageRows<T extends FloatArray = FloatArray> {
  data: T;
  shape: [number, number, number, number];
}

/** Targets, n x k, row-major. */
export interface Targets {
  data: Float64Array;
  shape: [number, number];
}

/** A batch of rows: inputs, their targets (null when the data has none) and the index of the first row. */
export interface DataBatch<X extends DenseRows | CsrRows | ImageRows = DenseRows | CsrRows | ImageRows> {
  X: X;
  y: Targets | null;
  /** 0-based index, in the file, of the batch's first row. */
  offset: number;
}

/** The layout of X in every batch of a source. */
export type Layout = 'dense' | 'csr' | 'images';

/** A chunk a format reader yields: X and, when the file holds them, targets. */
export interface Chunk {
  X: DenseRows | CsrRows | ImageRows;
  y: Targets | null;
}

/** What a format reader knows after reading the start of a file. */
export interface ReaderInfo {
  path: string;
  format: DataFormat;
  layout: Layout;
  /** Input dimension: columns of X (C*H*W for images). */
  columns: number;
  /** [C, H, W] for image files (also when flattened), else null. */
  imageShape: [number, number, number] | null;
  /** Rows, when known without reading the data; else null. */
  rows: number | null;
  /** Names of the target columns (empty when the file holds none). */
  targetNames: string[];
  /** Names of the input columns (CSV/TSV with a header), else null. */
  featureNames: string[] | null;
}

/** A format reader: its info and a fresh pass over the rows, `batchRows` rows per chunk (the last may be shorter). */
export interface FormatReader {
  info: ReaderInfo;
  chunks(batchRows: number): AsyncGenerator<Chunk>;
}

export type DataFormat = 'csv' | 'tsv' | 'npy' | 'libsvm' | 'idx';

export function rowsOf(X: { shape: readonly number[] }): number {
  return X.shape[0];
}

export function allocFloat(dtype: DType, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

/** Opens a file for reading, turning a failure into a DataFileError naming it. */
export async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new DataFileError(path, `cannot open: ${why}`, {}, { cause: error });
  }
}

/** A sequential source of the (decompressed) bytes of a file. */
export interface ByteSource {
  /** The file is gzip-compressed (and is read through gunzip). */
  readonly gzip: boolean;
  /** Size of the file on disk (compressed size when gzip). */
  readonly fileSize: number;
  /** Bytes delivered so far (decompressed), including those of a read that failed. */
  readonly position: number;
  /** Fills `target` from the current position; returns the bytes read, fewer than target.length only at the end. */
  readInto(target: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

const GZIP_CHUNK = 1 << 16;
const READ_CHUNK = 1 << 20;

/** True when the file starts with the gzip magic bytes. */
async function isGzip(fh: FileHandle): Promise<boolean> {
  const head = new Uint8Array(2);
  const { bytesRead } = await fh.read(head, 0, 2, 0);
  return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Opens `path` as a byte source, gunzipping it when it starts with the gzip
 * magic bytes (whatever its name). Reads are positional on the file handle
 * for a plain file, and through a stream for a compressed one.
 */
/** `read` on a byte source of `path` opened for it and closed after (a header read up front). */
export async function withBytes<T>(path: string, read: (source: ByteSource) => Promise<T>): Promise<T> {
  const source = await openBytes(path);
  try {
    return await read(source);
  } finally {
    await source.close();
  }
}

export async function openBytes(path: string): Promise<ByteSource> {
  const fh = await openFile(path);
  try {
    const { size } = await fh.stat();
    if (await isGzip(fh)) return new GunzipSource(path, fh, size);
    return new FileSource(path, fh, size);
  } catch (error) {
    await fh.close();
    if (error instanceof DataFileError) throw error;
    throw new DataFileError(path, `cannot read: ${(error as Error).message}`, {}, { cause: error });
  }
}

class FileSource implements ByteSource {
  readonly gzip = false;
  position = 0;
  constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    readonly fileSize: number,
  ) {}

  async readInto(target: Uint8Array): Promise<number> {
    let filled = 0;
    try {
      while (filled < target.length) {
        const { bytesRead } = await this.fh.read(target, filled, target.length - filled, this.position);
        if (bytesRead === 0) break;
        filled += bytesRead;
        this.position += bytesRead;
      }
    } catch (error) {
      throw new DataFileError(this.path, `cannot read: ${(error as Error).message}`, {}, { cause: error });
    }
    return filled;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

class GunzipSource implements ByteSource {
  readonly gzip = true;
  private readonly stream: NodeJS.ReadableStream & { destroy(): void };
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;
  private done = false;
  position = 0;

  constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    readonly fileSize: number,
  ) {
    const raw = fh.createReadStream({ start: 0, highWaterMark: READ_CHUNK, autoClose: false });
    const gunzip = createGunzip({ chunkSize: GZIP_CHUNK });
    raw.on('error', (e) => gunzip.destroy(e));
    raw.pipe(gunzip);
    this.stream = gunzip;
    this.iterator = gunzip[Symbol.asyncIterator]();
  }

  async readInto(target: Uint8Array): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      if (!this.pending || this.pending.length === 0) {
        if (this.done) break;
        let r: IteratorResult<Buffer>;
        try {
          r = await this.iterator.next();
        } catch (error) {
          this.position += filled;
          throw new DataFileError(this.path, `is not a valid gzip file: ${(error as Error).message}`, {}, { cause: error });
        }
        if (r.done) {
          this.done = true;
          break;
        }
        this.pending = r.value;
      }
      const n = Math.min(this.pending.length, target.length - filled);
      target.set(this.pending.subarray(0, n), filled);
      this.pending = this.pending.subarray(n);
      filled += n;
    }
    this.position += filled;
    return filled;
  }

  async close(): Promise<void> {
    this.stream.destroy();
    await this.fh.close();
  }
}

/**
 * A readable stream of the decompressed bytes of `path` (gunzipped when it
 * starts with the gzip magic bytes), for the text formats. The file handle is
 * closed with the stream.
 */
export async function openTextStream(path: string): Promise<NodeJS.ReadableStream & { destroy(error?: Error): void }> {
  const fh = await openFile(path);
  let gzip: boolean;
  try {
    gzip = await isGzip(fh);
  } catch (error) {
    await fh.close();
    throw new DataFileError(path, `cannot read: ${(error as Error).message}`, {}, { cause: error });
  }
  const raw = fh.createReadStream({ start: 0, highWaterMark: READ_CHUNK });
  if (!gzip) return raw;
  const gunzip = createGunzip({ chunkSize: GZIP_CHUNK });
  raw.on('error', (e) => gunzip.destroy(e));
  gunzip.on('close', () => raw.destroy());
  raw.pipe(gunzip);
  gunzip.on('error', (e) => {
    (e as Error & { gzip?: boolean }).gzip = true;
  });
  return gunzip;
}

/**
 * Reads the rows `first` .. `first + raw.length / rowBytes - 1` (of `rows`)
 * into `raw`; a file that ends early or a read error becomes a DataFileError
 * naming the row where the data stops. `dataStart` is the position of row 0.
 */
export async function readRows(
  path: string,
  source: ByteSource,
  raw: Uint8Array,
  first: number,
  rows: number,
  rowBytes: number,
  dataStart: number,
): Promise<void> {
  let got: number;
  try {
    got = await source.readInto(raw);
  } catch (error) {
    if (!(error instanceof DataFileError) || error.record !== undefined) throw error;
    const record = rowBytes > 0 ? Math.floor((source.position - dataStart) / rowBytes) : first;
    throw new DataFileError(path, `${error.message.slice(path.length + 2)} (inside row ${record} of ${rows})`, { record }, { cause: error });
  }
  if (got < raw.length) {
    const record = first + Math.floor(got / rowBytes);
    throw new DataFileError(path, `is truncated: it ends inside row ${record} of ${rows}`, { record });
  }
}

/** Result of parsing a text field: the number, or why it is not one. */
export const NOT_NUMERIC = 1;
export const NOT_FINITE = 2;

const NON_FINITE_WORDS = new Set(['nan', '+nan', '-nan', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity']);

/**
 * Parses a decimal number field (surrounding spaces allowed). Returns the
 * value, or NaN when it is not a finite number; {@link numberProblem} then
 * says which problem it is. Empty fields, hexadecimal and other non-decimal
 * forms are not numbers.
 */
export function parseNumber(s: string): number {
  const v = +s;
  if (v - v !== 0) return NaN;
  // Number('') and Number(' ') are 0 and Number('0x1f') is 31: a field that
  // starts with a digit, sign or point is decimal unless it starts 0x, 0b
  // or 0o; any other is checked against parseFloat, which rejects those.
  const c0 = s.charCodeAt(0);
  if ((c0 >= 49 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46) return v;
  if (c0 === 48) {
    const c1 = s.charCodeAt(1) | 0x20;
    return c1 === 0x78 || c1 === 0x62 || c1 === 0x6f ? NaN : v;
  }
  return v === parseFloat(s) ? v : NaN;
}

const POW10 = new Float64Array(23).map((_, i) => 10 ** i);

/**
 * {@link parseNumber}, faster for the common plain decimals: a field of an
 * optional sign, at most 15 digits with an optional point and an optional
 * exponent is converted here (the digits as an integer, exact, times or
 * divided by an exact power of ten: one correctly rounded operation, so
 * the very value Number gives); any other field goes to parseNumber.
 */
export function parseDecimal(s: string): number {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  const negative = c === 45;
  if (negative || c === 43) i = 1;
  let m = 0;
  const start = i;
  for (; i < n; i++) {
    c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    m = m * 10 + c;
  }
  let digits = i - start;
  let p = 0;
  if (i < n && c === -2) {
    const fraction = ++i;
    for (; i < n; i++) {
      c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      m = m * 10 + c;
    }
    p = fraction - i;
    digits -= p;
  }
  if (digits === 0 || digits > 15) return parseNumber(s);
  if (i < n) return c === 53 || c === 21 ? withExponent(s, i + 1, m, p, negative) : parseNumber(s);
  // At most 15 digits after the point: 10 ** -p is exact.
  const v = p === 0 ? m : m / POW10[-p];
  return negative ? -v : v;
}

/** The rest of {@link parseDecimal} past the e of `s` (at `i`): digits `m` times ten to the `p`. */
function withExponent(s: string, i: number, m: number, p: number, negative: boolean): number {
  const n = s.length;
  let c = s.charCodeAt(i);
  const negativeExponent = c === 45;
  if (negativeExponent || c === 43) i++;
  // 1 to 3 digits to the end of the field.
  if (i === n || n - i > 3) return parseNumber(s);
  let e = 0;
  for (; i < n; i++) {
    c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return parseNumber(s);
    e = e * 10 + c;
  }
  p += negativeExponent ? -e : e;
  let v: number;
  if (p === 0) v = m;
  else if (p < 0 && p >= -22) v = m / POW10[-p];
  else if (p > 0 && p <= 22) v = m * POW10[p];
  else return parseNumber(s);
  return negative ? -v : v;
}

/** Why `s` failed {@link parseNumber}: NOT_FINITE for NaN/Infinity spellings, else NOT_NUMERIC. */
export function numberProblem(s: string): typeof NOT_NUMERIC | typeof NOT_FINITE {
  return NON_FINITE_WORDS.has(s.trim().toLowerCase()) ? NOT_FINITE : NOT_NUMERIC;
}

/** The message for a field that failed {@link parseNumber}. */
export function fieldMessage(s: string): string {
  if (s.trim() === '') return 'empty field where a number is expected';
  if (numberProblem(s) === NOT_FINITE) return `value ${JSON.stringify(s)} is not finite`;
  return `field ${JSON.stringify(s.length > 40 ? s.slice(0, 40) + '...' : s)} is not a number`;
}

/** A view of `bytes` (which start at an offset aligned to the element size) as elements of `descr`. */
function elementsView(bytes: Uint8Array, count: number, descr: string): ArrayLike<number> | BigInt64Array | BigUint64Array {
  const { buffer, byteOffset } = bytes;
  switch (descr) {
    case '<f8': return new Float64Array(buffer, byteOffset, count);
    case '<f4': return new Float32Array(buffer, byteOffset, count);
    case '<f2': return new Uint16Array(buffer, byteOffset, count);
    case '|u1': case '|b1': return new Uint8Array(buffer, byteOffset, count);
    case '|i1': return new Int8Array(buffer, byteOffset, count);
    case '<u2': return new Uint16Array(buffer, byteOffset, count);
    case '<i2': return new Int16Array(buffer, byteOffset, count);
    case '<u4': return new Uint32Array(buffer, byteOffset, count);
    case '<i4': return new Int32Array(buffer, byteOffset, count);
    case '<u8': return new BigUint64Array(buffer, byteOffset, count);
    case '<i8': return new BigInt64Array(buffer, byteOffset, count);
    default: throw new Error(`no conversion for ${descr}`);
  }
}

const HALF_TABLE = (() => {
  const t = new Float64Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
})();

/**
 * Converts `count` little-endian elements of `descr` (npy descr) held in
 * `bytes` into `out` (multiplying by `scale` unless it is 1). Returns the
 * flat index of the first value that is not finite (or, for 64-bit
 * integers, not exactly representable), or -1.
 */
export function convertElements(bytes: Uint8Array, count: number, descr: string, out: FloatArray, scale: number): number {
  const src = elementsView(bytes, count, descr);
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) {
      const v = Number(src[i]);
      if (!Number.isSafeInteger(v)) return i;
      out[i] = v;
    }
  } else if (descr === '<f2') {
    for (let i = 0; i < count; i++) out[i] = HALF_TABLE[(src as Uint16Array)[i]];
  } else if (src !== out) {
    (out as Float64Array).set(src as Float64Array);
  }
  if (scale !== 1) for (let i = 0; i < count; i++) out[i] *= scale;
  return firstNonFinite(out, count);
}

/** Index of the first non-finite value among the first `count` of `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>, count = data.length): number {
  for (let i = 0; i < count; i++) {
    const v = data[i];
    if (v - v !== 0) return i;
  }
  return -1;
}
