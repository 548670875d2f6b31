/**
 * Writing features and predictions: .npy written incrementally (rows
 * appended, the true row count put in the header at close) and CSV/TSV for
 * small outputs.
 *
 * Every writer writes to a temporary file in the target's directory and
 * renames it to the target path only at `close()`, once complete; `abort()`,
 * or any error while writing (a rejected `write`, a failing disk), removes
 * the temporary file, so a partial file is never left under the target path.
 * An output location that cannot be written is a {@link DataFileError}
 * naming the path.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkOptions, describe, intOption, toMatrix, type DType, type MatrixLike } from '../core/arrays.js';
import { encodeNpyHeader, NPY_GROWTH_DIGITS } from './npy.js';
import { DataFileError } from './readers/common.js';

/** A writer of rows. Calls must not overlap: await each before the next. */
export interface DataWriter {
  /** The target path (written at close). */
  readonly path: string;
  /** Columns of every row. */
  readonly columns: number;
  /** Rows written so far. */
  readonly rows: number;
  /**
   * Appends rows: `{ data, shape: [n, columns] }` (or an ndarray; a vector
   * of length n when columns is 1). On any error the writer is aborted.
   */
  write(rows: MatrixLike | ArrayLike<number>): Promise<void>;
  /** Completes the file and renames it to `path`; returns the path and rows. */
  close(): Promise<{ path: string; rows: number }>;
  /** Removes the temporary file; nothing is written under `path`. Safe to call more than once or after an error. */
  abort(): Promise<void>;
}

export interface NpyWriterOptions {
  /** Columns of every row. */
  columns: number;
  /** Element type of the file; by default that of the first rows written (float64 when none are). */
  dtype?: DType;
}

export interface CsvWriterOptions {
  /** Columns of every row. */
  columns: number;
  /** Column names for a header line (one per column); no header when absent. */
  header?: readonly string[];
  /** Field delimiter, one character: ',' by default (tab for a .tsv path). */
  delimiter?: string;
}

function osMessage(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT': return 'its directory does not exist';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'the file system is read-only';
    case 'ENOSPC': return 'no space left on the device';
    case 'ENOTDIR': return 'a component of the path is not a directory';
    case 'EISDIR': return 'it is a directory';
    default: return e.message;
  }
}

function pathOption(path: unknown): string {
  if (typeof path !== 'string' || path === '') throw new TypeError(`path must be a file path string, got ${describe(path)}`);
  return path;
}

/** Temporary files of writers neither closed nor aborted yet. */
const openTemporaries = new Set<string>();

/**
 * Removes, synchronously, the temporary files of every writer not yet closed
 * or aborted: for a process that must exit at once (a second Ctrl-C), so
 * that no temporary is left behind. Those writers can no longer be closed.
 */
export function removeOpenTemporariesSync(): void {
  for (const path of openTemporaries) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
  openTemporaries.clear();
}

/**
 * The shared part of the writers: a temporary file beside `path`, sequential
 * appends, and the rename or removal at the end.
 */
abstract class TempFileWriter implements DataWriter {
  rows = 0;
  protected position = 0;
  private state: 'open' | 'closed' | 'aborted' = 'open';
  private busy = false;

  protected constructor(
    readonly path: string,
    readonly columns: number,
    protected readonly tempPath: string,
    protected readonly fh: FileHandle,
  ) {}

  /** Opens a temporary file beside `path` (mode 0o666 less the umask, as an ordinary new file). */
  protected static async openTemp(path: string): Promise<{ tempPath: string; fh: FileHandle }> {
    try {
      if ((await stat(path)).isDirectory()) throw new DataFileError(path, 'cannot write: it is a directory');
    } catch (error) {
      if (error instanceof DataFileError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new DataFileError(path, `cannot write: ${osMessage(error)}`, {}, { cause: error });
    }
    const tempPath = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tempPath, 'wx', 0o666);
      openTemporaries.add(tempPath);
      return { tempPath, fh };
    } catch (error) {
      throw new DataFileError(path, `cannot write: ${osMessage(error)}`, {}, { cause: error });
    }
  }

  protected async append(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  /** Encodes validated rows (n x columns) to bytes, and may do more (dtype choice). */
  protected abstract encode(rows: MatrixLike | ArrayLike<number>): { bytes: Uint8Array; n: number };
  /** Work before the rename (header rewrite). */
  protected abstract finish(): Promise<void>;

  private async guarded<T>(what: string, body: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') throw new Error(`${what}: the writer of ${this.path} is already ${this.state}`);
    if (this.busy) throw new Error(`${what}: a previous call on the writer of ${this.path} has not finished (await each call)`);
    this.busy = true;
    try {
      return await body();
    } catch (error) {
      await this.abort();
      if (error instanceof DataFileError || error instanceof TypeError || error instanceof RangeError) throw error;
      throw new DataFileError(this.path, `cannot write: ${osMessage(error)}`, {}, { cause: error });
    } finally {
      this.busy = false;
    }
  }

  write(rows: MatrixLike | ArrayLike<number>): Promise<void> {
    return this.guarded('write', async () => {
      const { bytes, n } = this.encode(rows);
      await this.append(bytes);
      this.rows += n;
    });
  }

  close(): Promise<{ path: string; rows: number }> {
    return this.guarded('close', async () => {
      await this.finish();
      await this.fh.close();
      await rename(this.tempPath, this.path);
      openTemporaries.delete(this.tempPath);
      this.state = 'closed';
      return { path: this.path, rows: this.rows };
    });
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.fh.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
    openTemporaries.delete(this.tempPath);
  }
}

function columnsOption(value: unknown): number {
  if (value === undefined) throw new TypeError('columns is required: the number of columns of every row');
  return intOption('columns', value, 1, 2147483647);
}

/** Validates rows to write as an n x columns matrix of `dtype` (converted). */
function rowsMatrix(value: unknown, columns: number, dtype: DType | undefined) {
  const v = ArrayBuffer.isView(value) || Array.isArray(value) ? { data: value as ArrayLike<number>, shape: [(value as ArrayLike<number>).length] } : value;
  return toMatrix('rows', v, { cols: columns, colsName: 'the writer columns', allowVector: columns === 1, nonEmpty: false, dtype });
}

/** An incremental .npy writer: float32 or float64 rows, C order. */
export class NpyWriter extends TempFileWriter {
  private dtype: DType | undefined;
  private readonly headerLength: number;

  private constructor(path: string, columns: number, dtype: DType | undefined, tempPath: string, fh: FileHandle) {
    super(path, columns, tempPath, fh);
    this.dtype = dtype;
    this.headerLength = encodeNpyHeader('<f8', [0, columns], { reserve: NPY_GROWTH_DIGITS }).length;
    this.position = this.headerLength;
  }

  /** Opens the temporary file and writes a header with room for the final row count. */
  static async create(path: string, options: NpyWriterOptions): Promise<NpyWriter> {
    pathOption(path);
    const o = checkOptions('createNpyWriter options', options, ['columns', 'dtype']);
    const columns = columnsOption(o.columns);
    const dtype = o.dtype;
    if (dtype !== undefined && dtype !== 'float32' && dtype !== 'float64') {
      throw new RangeError(`dtype must be 'float32' or 'float64', got ${describe(dtype)}`);
    }
    const { tempPath, fh } = await TempFileWriter.openTemp(path);
    const writer = new NpyWriter(path, columns, dtype as DType | undefined, tempPath, fh);
    try {
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw new DataFileError(path, `cannot write: ${osMessage(error)}`, {}, { cause: error });
    }
    return writer;
  }

  private header(): Uint8Array {
    const descr = (this.dtype ?? 'float64') === 'float32' ? '<f4' : '<f8';
    return encodeNpyHeader(descr, [this.rows, this.columns], { length: this.headerLength });
  }

  protected encode(value: MatrixLike | ArrayLike<number>): { bytes: Uint8Array; n: number } {
    const m = rowsMatrix(value, this.columns, this.dtype);
    this.dtype ??= m.dtype;
    return { bytes: new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength), n: m.rows };
  }

  /** Writes the header for the rows so far at the start of the file. */
  protected async finish(): Promise<void> {
    const header = this.header();
    const { bytesWritten } = await this.fh.write(header, 0, header.length, 0);
    if (bytesWritten !== header.length) throw new Error('short write of the .npy header');
  }
}

/** Opens an incremental .npy writer (see {@link NpyWriter}). */
export function createNpyWriter(path: string, options: NpyWriterOptions): Promise<NpyWriter> {
  return NpyWriter.create(path, options);
}

/** Text of a header field, quoted when it holds the delimiter, a quote or a line break. */
function csvField(s: string, delimiter: string): string {
  return s.includes(delimiter) || /["\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A CSV/TSV writer: one line per row, numbers in the shortest form that reads
 * back to the same float64 (float32 values are written as their float64
 * value, which reads back to the same float32).
 */
export class CsvWriter extends TempFileWriter {
  private readonly encoder = new TextEncoder();

  private constructor(
    path: string,
    columns: number,
    private readonly delimiter: string,
    tempPath: string,
    fh: FileHandle,
  ) {
    super(path, columns, tempPath, fh);
  }

  static async create(path: string, options: CsvWriterOptions): Promise<CsvWriter> {
    pathOption(path);
    const o = checkOptions('createCsvWriter options', options, ['columns', 'header', 'delimiter']);
    const columns = columnsOption(o.columns);
    const delimiter = o.delimiter ?? (/\.tsv$/i.test(path) ? '\t' : ',');
    if (typeof delimiter !== 'string' || delimiter.length !== 1 || /["\r\n0-9.eE+-]/.test(delimiter)) {
      throw new RangeError(`delimiter must be one character other than a quote, line break or part of a number, got ${describe(delimiter)}`);
    }
    const header = o.header;
    if (header !== undefined) {
      if (!Array.isArray(header) || !header.every((h) => typeof h === 'string')) {
        throw new TypeError(`header must be an array of column names, got ${describe(header)}`);
      }
      if (header.length !== columns) throw new RangeError(`header must name the ${columns} columns, got ${header.length} names`);
    }
    const { tempPath, fh } = await TempFileWriter.openTemp(path);
    const writer = new CsvWriter(path, columns, delimiter, tempPath, fh);
    if (header) {
      try {
        await writer.append(writer.encoder.encode(header.map((h: string) => csvField(h, delimiter)).join(delimiter) + '\n'));
      } catch (error) {
        await writer.abort();
        throw new DataFileError(path, `cannot write: ${osMessage(error)}`, {}, { cause: error });
      }
    }
    return writer;
  }

  protected encode(value: MatrixLike | ArrayLike<number>): { bytes: Uint8Array; n: number } {
    const m = rowsMatrix(value, this.columns, undefined);
    const lines: string[] = new Array(m.rows);
    const row: string[] = new Array(m.cols);
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.cols; j++) row[j] = String(m.data[i * m.cols + j]);
      lines[i] = row.join(this.delimiter);
    }
    return { bytes: this.encoder.encode(m.rows ? lines.join('\n') + '\n' : ''), n: m.rows };
  }

  protected async finish(): Promise<void> {}
}

/** Opens a CSV/TSV writer (see {@link CsvWriter}). */
export function createCsvWriter(path: string, options: CsvWriterOptions): Promise<CsvWriter> {
  return CsvWriter.create(path, options);
}

export interface DataWriterOptions {
  columns: number;
  /** .npy: element type (default: that of the first rows). */
  dtype?: DType;
  /** CSV/TSV: column names for a header line. */
  header?: readonly string[];
}

/**
 * A writer chosen from the file name: `.npy` ({@link NpyWriter}), `.csv` or
 * `.tsv` ({@link CsvWriter}); options that do not apply to the format are
 * ignored.
 */
export async function createDataWriter(path: string, options: DataWriterOptions): Promise<DataWriter> {
  pathOption(path);
  const o = checkOptions('createDataWriter options', options, ['columns', 'dtype', 'header']);
  const name = path.toLowerCase();
  if (name.endsWith('.npy')) return createNpyWriter(path, { columns: o.columns as number, ...(o.dtype !== undefined ? { dtype: o.dtype as DType } : {}) });
  if (name.endsWith('.csv') || name.endsWith('.tsv')) {
    return createCsvWriter(path, { columns: o.columns as number, ...(o.header !== undefined ? { header: o.header as string[] } : {}) });
  }
  throw new RangeError(`cannot tell the output format of ${path} from its name: use .npy, .csv or .tsv`);
}

/** Writes a whole matrix (n x d, or a vector as n x 1) to a .npy, .csv or .tsv file at once. */
export async function writeData(
  path: string,
  rows: MatrixLike | ArrayLike<number>,
  options: { dtype?: DType; header?: readonly string[] } = {},
): Promise<{ path: string; rows: number }> {
  if (rows === null || typeof rows !== 'object') throw new TypeError(`rows must be an ndarray, { data, shape } matrix or array of numbers, got ${describe(rows)}`);
  const shape = (rows as MatrixLike).shape;
  if (shape !== undefined && !Array.isArray(shape) && !ArrayBuffer.isView(shape)) throw new TypeError(`rows.shape must be an array of dimensions, got ${describe(shape)}`);
  const columns = shape === undefined || shape.length === 1 ? 1 : shape[1];
  const writer = await createDataWriter(path, { columns, ...options });
  try {
    await writer.write(rows);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.close();
}

/**
 * A writer of bytes (one text document, or a binary file written in pieces),
 * by the same temporary-file-then-rename rule: `write(bytes)` appends a
 * Uint8Array, `close()` renames, `abort()` removes.
 */
export class ByteFileWriter extends TempFileWriter {
  private constructor(path: string, tempPath: string, fh: FileHandle) {
    super(path, 0, tempPath, fh);
  }

  static async create(path: string): Promise<ByteFileWriter> {
    const { tempPath, fh } = await TempFileWriter.openTemp(pathOption(path));
    return new ByteFileWriter(path, tempPath, fh);
  }

  /** The bytes to append (a Uint8Array). */
  protected encode(value: MatrixLike | ArrayLike<number>): { bytes: Uint8Array; n: number } {
    if (!(value instanceof Uint8Array)) throw new TypeError(`text bytes must be a Uint8Array, got ${describe(value)}`);
    return { bytes: value, n: 0 };
  }

  protected async finish(): Promise<void> {}
}

/**
 * Writes `text` (UTF-8) to `path` through a temporary file renamed into
 * place once written: `path` holds either its old contents or all of `text`.
 */
export async function writeTextFile(path: string, text: string): Promise<void> {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describe(text)}`);
  const writer = await ByteFileWriter.create(path);
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
}
