/**
 * Reader of CSV and TSV files of numbers (optionally gzip-compressed),
 * parsed as a stream by csv-parse. Every field is a decimal number; one or
 * more target columns (by header name or 0-based index) become y, the others
 * X in file order. Empty lines are skipped; quoting follows RFC 4180.
 */
import { parse, type CsvError, type Info } from 'csv-parse';
import type { DType } from '../../core/arrays.js';
import type { FloatArray } from '../../core/native.js';
import {
  allocFloat,
  DataFileError,
  fieldMessage,
  NOT_NUMERIC,
  numberProblem,
  openTextStream,
  parseNumber,
  type Chunk,
  type FormatReader,
  type ReaderInfo,
} from './common.js';

export interface CsvReaderOptions {
  format: 'csv' | 'tsv';
  dtype: DType;
  scale: number;
  delimiter: string;
  header: boolean | 'auto';
  /** Target columns: header names or 0-based indices (negative from the end); null for none. */
  target: Array<string | number> | null;
}

type Transform = (record: string[], info: Info & { lines: number }) => unknown;

/**
 * A csv-parse stream over the file; `onRecord` sees each record with its
 * info (line numbers) and returns what the stream emits (null: nothing).
 */
async function csvStream(path: string, delimiter: string, onRecord: Transform) {
  const input = await openTextStream(path);
  const parser = parse({
    delimiter,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    on_record: onRecord as never,
    // Stream options (csv-parse passes them to its Transform): hold at most
    // two parsed batches ahead of the consumer.
    ...({ readableHighWaterMark: 2 } as object),
  });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  const close = () => {
    input.unpipe(parser);
    parser.destroy();
    input.destroy();
  };
  return { parser, close };
}

/** Turns what a csv stream threw into a DataFileError naming the file and line. */
function streamError(path: string, error: unknown): Error {
  if (error instanceof DataFileError || error instanceof RangeError || error instanceof TypeError) return error;
  const e = error as CsvError & { gzip?: boolean; lines?: number };
  if (e.gzip) return new DataFileError(path, `is not a valid gzip file: ${e.message}`, {}, { cause: error });
  if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
    const message = e.message.replace(/^Invalid (Record|Closing Quote|Opening Quote):\s*/i, '').replace(/ at line \d+$/, '');
    return new DataFileError(path, `is not valid CSV: ${message}`, typeof e.lines === 'number' ? { line: e.lines } : {}, { cause: error });
  }
  return new DataFileError(path, `cannot read: ${(error as Error).message}`, {}, { cause: error });
}

/** The first record of the file (null for a file without records). */
async function firstRecord(path: string, delimiter: string): Promise<string[] | null> {
  const { parser, close } = await csvStream(path, delimiter, (record) => record);
  try {
    for await (const record of parser) return record as string[];
    return null;
  } catch (error) {
    throw streamError(path, error);
  } finally {
    close();
  }
}

export async function openCsv(path: string, options: CsvReaderOptions): Promise<FormatReader> {
  const first = await firstRecord(path, options.delimiter);
  const width = first ? first.length : 0;
  let header = options.header;
  if (header === 'auto') header = first !== null && first.some((s) => parseNumber(s) !== parseNumber(s) && (s.trim() === '' || numberProblem(s) === NOT_NUMERIC));
  const names = header && first ? first.map((s) => s.trim()) : null;

  // Target columns, resolved against the header or the width.
  const targetCols: number[] = [];
  for (const t of options.target ?? []) {
    let c: number;
    if (typeof t === 'string') {
      if (!names) {
        throw new DataFileError(
          path,
          `has no header row (${options.header === 'auto' ? 'its first record is all numbers' : 'header: false'}), so target '${t}' cannot be found by name; give the target as a 0-based column index`,
          { line: 1 },
        );
      }
      c = names.indexOf(t);
      if (c < 0) throw new DataFileError(path, `has no column named '${t}' (columns: ${names.join(', ')})`, { line: 1 });
      if (names.indexOf(t, c + 1) >= 0) throw new DataFileError(path, `has two columns named '${t}'; give the target as a 0-based column index`, { line: 1 });
    } else {
      c = t < 0 ? width + t : t;
      if (first === null) throw new DataFileError(path, `is empty, so it has no target column ${t}`);
      if (c < 0 || c >= width) throw new RangeError(`target ${t} is out of range for the ${width} columns of ${path}`);
    }
    if (targetCols.includes(c)) throw new RangeError(`target names column ${c} of ${path} twice`);
    targetCols.push(c);
  }
  const k = targetCols.length;
  const columns = width - k;
  // role[j] >= 0: X column; role[j] < 0: target -role[j]-1.
  const role = new Int32Array(width);
  for (let j = 0, x = 0; j < width; j++) {
    const t = targetCols.indexOf(j);
    role[j] = t >= 0 ? -t - 1 : x++;
  }
  const info: ReaderInfo = {
    path,
    format: options.format,
    layout: 'dense',
    columns,
    imageShape: null,
    rows: null,
    targetNames: targetCols.map((c, j) => (names ? names[c] : k === 1 ? 'y' : `y${j}`)),
    featureNames: names ? names.filter((_, j) => role[j] >= 0) : null,
  };
  const skipFirst = Boolean(header);
  const scale = options.scale;

  async function* chunks(batchRows: number): AsyncGenerator<Chunk> {
    let X: FloatArray = allocFloat(options.dtype, batchRows * columns);
    let y = new Float64Array(batchRows * k);
    let n = 0;
    let skip = skipFirst;
    const full = () => {
      const chunk: Chunk = { X: { data: X, shape: [n, columns] }, y: k ? { data: y, shape: [n, k] } : null };
      X = allocFloat(options.dtype, batchRows * columns);
      y = new Float64Array(batchRows * k);
      n = 0;
      return chunk;
    };
    const onRecord: Transform = (record, context) => {
      if (skip) {
        skip = false;
        return null;
      }
      if (record.length !== width) {
        throw new DataFileError(path, `has ${record.length} field${record.length === 1 ? '' : 's'} where the first record has ${width}`, { line: context.lines });
      }
      const xBase = n * columns;
      const yBase = n * k - 1;
      for (let j = 0; j < width; j++) {
        const s = record[j];
        const v = parseNumber(s);
        if (v !== v) throw new DataFileError(path, fieldMessage(s), { line: context.lines, column: j });
        const r = role[j];
        if (r >= 0) X[xBase + r] = v * scale;
        else y[yBase - r] = v;
      }
      n++;
      return n === batchRows ? full() : null;
    };
    const { parser, close } = await csvStream(path, options.delimiter, onRecord);
    try {
      for await (const chunk of parser) yield chunk as Chunk;
    } catch (error) {
      throw streamError(path, error);
    } finally {
      close();
    }
    if (n > 0) {
      yield {
        X: { data: X.slice(0, n * columns), shape: [n, columns] },
        y: k ? { data: y.slice(0, n * k), shape: [n, k] } : null,
      };
    }
  }
  return { info, chunks };
}
