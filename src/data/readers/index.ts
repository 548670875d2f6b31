/**
 * Reading users' data files in row batches.
 *
 * `openData(path, options)` reads what it needs of the start of the file (a
 * header, the first record; for LIBSVM without `columns`, one pass over the
 * file) and returns a {@link DataSource}: what is known up front (format,
 * layout, input dimension, image shape, rows when known, target names) and
 * `batches(batchRows)`, an async iterable that reads the file from the start,
 * one batch of rows at a time, so that a file larger than memory can flow
 * through a feature map into a streaming fit. Every call of `batches` is a
 * new pass; breaking out of the loop closes the file.
 *
 * Formats, from the file name (each optionally `.gz`; a gzip file is
 * recognised by its first bytes, whatever its name) or the `format` option:
 * `.csv`, `.tsv`/`.tab`, `.npy`, `.svm`/`.libsvm`/`.svmlight`, IDX names
 * (`*-idx3-ubyte`, `*.idx`). Targets come from columns of a CSV/TSV (or a
 * 2-D .npy) named by `target`, the label of each LIBSVM line, or a second
 * file named by `labels` (.npy, CSV/TSV, IDX), read in step with the data.
 *
 * A problem with a file's contents is a {@link DataFileError} naming the file
 * and, where it applies, the line (text files) or row and the column; a bad
 * option is a TypeError or RangeError naming it.
 */
import { basename } from 'node:path';
import { checkOptions, describe, intOption, numberOption, type DType } from '../../core/arrays.js';
import type { FloatArray } from '../../core/native.js';
import {
  allocFloat,
  DataFileError,
  rowsOf,
  type Chunk,
  type CsrRows,
  type DataBatch,
  type DataFormat,
  type DenseRows,
  type FormatReader,
  type ImageRows,
  type Layout,
  type Targets,
} from './common.js';
import { openCsv } from './csv.js';
import { openIdx } from './idx.js';
import { openLibsvm } from './libsvm.js';
import { openNpy } from './npy.js';

export { DataFileError } from './common.js';
export type { CsrRows, DataBatch, DataFileLocation, DataFormat, DenseRows, ImageRows, Layout, Targets } from './common.js';

export const DATA_FORMATS: readonly DataFormat[] = ['csv', 'tsv', 'npy', 'libsvm', 'idx'];

/** Bytes of X a batch holds by default (see {@link defaultBatchRows}). */
export const DEFAULT_BATCH_BYTES = 16 * 1024 ** 2;
/** Rows of a LIBSVM batch by default. */
export const DEFAULT_SPARSE_BATCH_ROWS = 4096;
/** The largest batchRows accepted. */
export const MAX_BATCH_ROWS = 2 ** 24;

export interface OpenDataOptions {
  /** The file format; by default from the file name (an optional `.gz` removed). */
  format?: DataFormat;
  /** Element type of X: 'float64' (default) or 'float32'. Targets are always float64. */
  dtype?: DType;
  /** CSV/TSV: the first record is a header of column names: true, false or 'auto' (default: a header when the first record has a field that is not a number). */
  header?: boolean | 'auto';
  /** CSV/TSV: the field delimiter, one character (default ',' for CSV, tab for TSV). */
  delimiter?: string;
  /**
   * CSV/TSV (names or 0-based indices) or 2-D .npy (indices): the target
   * column(s), the others being X; several make a multi-output y. Negative
   * indices count from the end (-1: the last column).
   */
  target?: string | number | Array<string | number>;
  /** A second file holding the targets, one row per data row: .npy (1-D or 2-D), CSV/TSV (all columns) or an IDX label file. */
  labels?: string;
  /** LIBSVM: indices start at 0 (default false: at 1). */
  zeroBased?: boolean;
  /** LIBSVM: the number of columns; indices beyond it are an error. Default: one pass over the file finds the largest index. */
  columns?: number;
  /** Images (3-D/4-D .npy, 3-D IDX): yield rows [n, C*H*W] instead of images [n, C, H, W]. Default false. */
  flatten?: boolean;
  /** Multiply every value of X by this (e.g. 1/255 for byte images). Default 1. */
  scale?: number;
  /** Default rows per batch of {@link DataSource.batches}. */
  batchRows?: number;
}

/** An opened data file. */
export interface DataSource<X extends DenseRows | CsrRows | ImageRows = DenseRows | CsrRows | ImageRows> {
  path: string;
  format: DataFormat;
  /** Layout of X in every batch: 'dense' rows, 'csr' rows or 'images'. */
  layout: Layout;
  /** Element type of X. */
  dtype: DType;
  /** Input dimension: columns of X (C*H*W for images). */
  columns: number;
  /** [C, H, W] of an image file (also when flattened), else null. */
  imageShape: [number, number, number] | null;
  /** Rows, when known without a pass over the data (.npy, IDX, LIBSVM after its first pass); else null. */
  rows: number | null;
  /** Names of the target columns (header names, else 'y' or 'y0', 'y1', ...); empty when there are no targets. */
  targetNames: string[];
  /** Names of the X columns when a CSV/TSV header gives them, else null. */
  featureNames: string[] | null;
  /** The file of the targets: `path`, the `labels` file, or null when there are none. */
  labelsPath: string | null;
  /** The default rows per batch. */
  batchRows: number;
  /** A new pass over the file, `batchRows` rows per batch (the last may be shorter; none for an empty file). */
  batches(batchRows?: number): AsyncIterable<DataBatch<X>>;
}

/** The format a file name implies (an optional `.gz` removed), or null. */
export function formatFromName(path: string): DataFormat | null {
  const name = basename(path).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.tsv') || name.endsWith('.tab')) return 'tsv';
  if (name.endsWith('.npy')) return 'npy';
  if (name.endsWith('.svm') || name.endsWith('.libsvm') || name.endsWith('.svmlight')) return 'libsvm';
  if (/[-.]idx\d-u?byte$/.test(name) || /\.idx\d?$/.test(name)) return 'idx';
  return null;
}

const KNOWN = ['format', 'dtype', 'header', 'delimiter', 'target', 'labels', 'zeroBased', 'columns', 'flatten', 'scale', 'batchRows'] as const;

/** Which formats each format-specific option applies to. */
const APPLIES: Partial<Record<(typeof KNOWN)[number], readonly DataFormat[]>> = {
  header: ['csv', 'tsv'],
  delimiter: ['csv', 'tsv'],
  target: ['csv', 'tsv', 'npy'],
  labels: ['csv', 'tsv', 'npy', 'idx'],
  zeroBased: ['libsvm'],
  columns: ['libsvm'],
};

function stringOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`);
  return value;
}

function formatOption(name: string, value: unknown): DataFormat {
  if (typeof value !== 'string') throw new TypeError(`${name} must be one of ${DATA_FORMATS.join(', ')}, got ${describe(value)}`);
  if (!DATA_FORMATS.includes(value as DataFormat)) throw new RangeError(`${name} must be one of ${DATA_FORMATS.join(', ')}, got '${value}'`);
  return value as DataFormat;
}

function targetOption(value: unknown): Array<string | number> | null {
  if (value === undefined) return null;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new RangeError('target must name at least one column');
  list.forEach((t, i) => {
    const name = Array.isArray(value) ? `target[${i}]` : 'target';
    if (typeof t === 'string') {
      if (t === '') throw new RangeError(`${name} must be a column name or 0-based index, got an empty string`);
    } else if (typeof t === 'number') {
      if (!Number.isSafeInteger(t)) throw new RangeError(`${name} must be an integer column index, got ${t}`);
    } else {
      throw new TypeError(`${name} must be a column name (string) or 0-based index (integer), got ${describe(t)}`);
    }
  });
  return list as Array<string | number>;
}

/** The default batch rows: about DEFAULT_BATCH_BYTES of X, at least 1 and at most 65,536. */
export function defaultBatchRows(layout: Layout, columns: number, dtype: DType): number {
  if (layout === 'csr') return DEFAULT_SPARSE_BATCH_ROWS;
  const rowBytes = Math.max(1, columns) * (dtype === 'float32' ? 4 : 8);
  return Math.max(1, Math.min(65536, Math.floor(DEFAULT_BATCH_BYTES / rowBytes)));
}

interface Resolved {
  format: DataFormat;
  dtype: DType;
  header: boolean | 'auto';
  delimiter: string | undefined;
  target: Array<string | number> | null;
  labels: string | null;
  zeroBased: boolean;
  columns: number | null;
  flatten: boolean;
  scale: number;
  batchRows: number | undefined;
}

function resolve(path: unknown, options: unknown): { path: string; o: Resolved } {
  if (typeof path !== 'string' || path === '') throw new TypeError(`path must be a file path string, got ${describe(path)}`);
  const raw = checkOptions('openData options', options, KNOWN);
  const format = raw.format === undefined ? formatFromName(path) : formatOption('format', raw.format);
  if (format === null) {
    throw new RangeError(
      `cannot tell the format of ${path} from its name; pass format: one of ${DATA_FORMATS.join(', ')} ` +
        '(names: .csv, .tsv, .npy, .svm/.libsvm, *-idx3-ubyte, each optionally .gz)',
    );
  }
  for (const [key, formats] of Object.entries(APPLIES)) {
    if (raw[key] !== undefined && !formats.includes(format)) {
      throw new RangeError(`${key} applies to ${formats.join('/')} files, not to ${format} file ${path}`);
    }
  }
  const dtype = raw.dtype ?? 'float64';
  if (dtype !== 'float32' && dtype !== 'float64') throw new RangeError(`dtype must be 'float32' or 'float64', got ${describe(dtype)}`);
  const header = raw.header ?? 'auto';
  if (header !== true && header !== false && header !== 'auto') throw new TypeError(`header must be true, false or 'auto', got ${describe(header)}`);
  let delimiter: string | undefined;
  if (raw.delimiter !== undefined) {
    delimiter = stringOption('delimiter', raw.delimiter);
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new RangeError(`delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
    }
  }
  const target = targetOption(raw.target);
  if (target && format === 'npy' && target.some((t) => typeof t === 'string')) {
    throw new RangeError(`target of a .npy file must be 0-based column indices (.npy columns have no names)`);
  }
  const labels = raw.labels === undefined ? null : stringOption('labels', raw.labels);
  if (labels !== null && target) throw new RangeError('give the targets either as target columns or as a labels file, not both');
  const zeroBased = raw.zeroBased ?? false;
  if (typeof zeroBased !== 'boolean') throw new TypeError(`zeroBased must be a boolean, got ${describe(zeroBased)}`);
  const columns = raw.columns === undefined ? null : intOption('columns', raw.columns, 0, 2147483647);
  const flatten = raw.flatten ?? false;
  if (typeof flatten !== 'boolean') throw new TypeError(`flatten must be a boolean, got ${describe(flatten)}`);
  const scale = raw.scale === undefined ? 1 : numberOption('scale', raw.scale, -Number.MAX_VALUE, Number.MAX_VALUE);
  const batchRows = raw.batchRows === undefined ? undefined : intOption('batchRows', raw.batchRows, 1, MAX_BATCH_ROWS);
  return { path, o: { format, dtype, header, delimiter, target, labels, zeroBased, columns, flatten, scale, batchRows } };
}

async function openReader(path: string, o: Resolved): Promise<FormatReader> {
  switch (o.format) {
    case 'csv':
    case 'tsv':
      return openCsv(path, {
        format: o.format,
        dtype: o.dtype,
        scale: o.scale,
        delimiter: o.delimiter ?? (o.format === 'tsv' ? '\t' : ','),
        header: o.header,
        target: o.target,
      });
    case 'npy':
      return openNpy(path, { dtype: o.dtype, flatten: o.flatten, scale: o.scale, target: o.target as number[] | null });
    case 'idx':
      return openIdx(path, { dtype: o.dtype, flatten: o.flatten, scale: o.scale });
    case 'libsvm':
      return openLibsvm(path, { dtype: o.dtype, scale: o.scale, zeroBased: o.zeroBased, columns: o.columns });
  }
}

/** Opens a labels file: its rows (dense, 1 or more columns) are the targets. */
async function openLabels(path: string, dataPath: string): Promise<FormatReader> {
  const format = formatFromName(path);
  if (format === null || format === 'libsvm') {
    throw new RangeError(`labels file ${path} must be a .npy, CSV/TSV or IDX label file (optionally .gz)`);
  }
  const reader = await openReader(path, {
    format,
    dtype: 'float64',
    header: 'auto',
    delimiter: undefined,
    target: null,
    labels: null,
    zeroBased: false,
    columns: null,
    flatten: true,
    scale: 1,
    batchRows: undefined,
  });
  if (reader.info.imageShape) {
    throw new DataFileError(path, `holds images, not labels (labels for ${dataPath} must be 1-D or 2-D)`);
  }
  return reader;
}

/**
 * Opens a data file for reading in batches. Reads the start of the file (a
 * LIBSVM file without `columns`: all of it, once), checks it and returns what
 * is known up front with `batches()`. A labels file is opened and checked
 * too; when both row counts are known up front they must agree.
 */
export async function openData(path: string, options?: OpenDataOptions): Promise<DataSource> {
  const { o } = resolve(path, options);
  const reader = await openReader(path, o);
  const labels = o.labels === null ? null : await openLabels(o.labels, path);
  const info = reader.info;
  if (labels && info.rows !== null && labels.info.rows !== null && info.rows !== labels.info.rows) {
    throw mismatch(labels.info.path, labels.info.rows, path, info.rows);
  }
  const defaultRows = o.batchRows ?? defaultBatchRows(info.layout, info.columns, o.dtype);
  const targetNames = labels
    ? labels.info.featureNames ?? (labels.info.columns === 1 ? ['y'] : Array.from({ length: labels.info.columns }, (_, j) => `y${j}`))
    : info.targetNames;
  return {
    path,
    format: info.format,
    layout: info.layout,
    dtype: o.dtype,
    columns: info.columns,
    imageShape: info.imageShape,
    rows: info.rows,
    targetNames,
    featureNames: info.featureNames,
    labelsPath: labels ? labels.info.path : info.targetNames.length > 0 ? path : null,
    batchRows: defaultRows,
    batches(batchRows?: number) {
      const n = batchRows === undefined ? defaultRows : intOption('batchRows', batchRows, 1, MAX_BATCH_ROWS);
      return labels ? zipLabels(reader, labels, n) : numbered(reader, n);
    },
  };
}

async function* numbered(reader: FormatReader, batchRows: number): AsyncGenerator<DataBatch> {
  let offset = 0;
  for await (const chunk of reader.chunks(batchRows)) {
    yield { X: chunk.X, y: chunk.y, offset };
    offset += rowsOf(chunk.X);
  }
}

function mismatch(labelsPath: string, labelRows: number, dataPath: string, dataRows: number): DataFileError {
  return new DataFileError(labelsPath, `holds ${labelRows} labels (rows) but the data file ${dataPath} holds ${dataRows} rows`);
}

function asTargets(X: Chunk['X']): Targets {
  const [n] = X.shape;
  return { data: X.data as Float64Array, shape: [n, n === 0 ? 0 : X.data.length / n] };
}

/** Data batches with targets from the labels reader, read side by side in batches of the same size. */
async function* zipLabels(data: FormatReader, labels: FormatReader, batchRows: number): AsyncGenerator<DataBatch> {
  const xs = data.chunks(batchRows);
  const ys = labels.chunks(batchRows);
  let offset = 0;
  try {
    for (;;) {
      const [a, b] = await Promise.all([xs.next(), ys.next()]);
      const n = a.done ? 0 : rowsOf(a.value.X);
      const m = b.done ? 0 : rowsOf(b.value.X);
      if (a.done && b.done) return;
      if (a.done || b.done || n !== m) {
        // Count the rest of both files, for the message.
        let dataRows = offset + n;
        let labelRows = offset + m;
        if (!a.done) for (let r = await xs.next(); !r.done; r = await xs.next()) dataRows += rowsOf(r.value.X);
        if (!b.done) for (let r = await ys.next(); !r.done; r = await ys.next()) labelRows += rowsOf(r.value.X);
        throw mismatch(labels.info.path, labelRows, data.info.path, dataRows);
      }
      yield { X: a.value.X, y: asTargets(b.value.X), offset };
      offset += n;
    }
  } finally {
    await Promise.allSettled([xs.return(undefined), ys.return(undefined)]);
  }
}

/** All rows of a source in one batch (for data that fits in memory). */
export interface AllRows<X extends DenseRows | CsrRows | ImageRows = DenseRows | CsrRows | ImageRows> {
  X: X;
  y: Targets | null;
  rows: number;
}

/**
 * Reads every row of a source into one batch (X, y and the row count): for
 * data that fits in memory, e.g. the exact kernels or a small test set.
 */
export async function readAll(source: DataSource): Promise<AllRows> {
  const parts: DataBatch[] = [];
  for await (const batch of source.batches()) parts.push(batch);
  const rows = parts.reduce((s, p) => s + rowsOf(p.X), 0);
  const k = source.targetNames.length;
  let y: Targets | null = null;
  if (k > 0) {
    const data = new Float64Array(rows * k);
    let at = 0;
    for (const p of parts) {
      data.set(p.y!.data, at);
      at += p.y!.data.length;
    }
    y = { data, shape: [rows, k] };
  }
  let X: DenseRows | CsrRows | ImageRows;
  if (source.layout === 'csr') {
    const nnz = parts.reduce((s, p) => s + p.X.data.length, 0);
    const indptr = new Int32Array(rows + 1);
    const indices = new Int32Array(nnz);
    const data = allocFloat(source.dtype, nnz);
    let r = 0;
    let at = 0;
    for (const p of parts) {
      const x = p.X as CsrRows;
      for (let i = 1; i < x.indptr.length; i++) indptr[r + i] = at + x.indptr[i];
      indices.set(x.indices, at);
      data.set(x.data, at);
      r += x.shape[0];
      at += x.data.length;
    }
    X = { indptr, indices, data, shape: [rows, source.columns] };
  } else {
    const total = parts.reduce((s, p) => s + p.X.data.length, 0);
    const data: FloatArray = parts.length === 1 ? parts[0].X.data : allocFloat(source.dtype, total);
    if (parts.length !== 1) {
      let at = 0;
      for (const p of parts) {
        data.set(p.X.data, at);
        at += p.X.data.length;
      }
    }
    X = source.layout === 'images' && source.imageShape
      ? { data, shape: [rows, ...source.imageShape] }
      : { data, shape: [rows, source.columns] };
  }
  return { X, y, rows };
}
