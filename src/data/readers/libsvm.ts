/**
 * Reader of LIBSVM / SVMlight files (optionally gzip-compressed) into CSR
 * batches: one row per line, `label index:value index:value ...`, indices
 * 1-based unless `zeroBased`, strictly increasing; `# ...` comments and
 * blank lines are skipped, `qid:n` tokens ignored. The label is the target
 * (y, one column). Multi-label lines (`1,3 ...`) are refused.
 *
 * The number of columns is the `columns` option when given; otherwise a
 * first pass over the file finds the largest index (as scikit-learn's
 * load_svmlight_file does), checks every line and counts the rows.
 */
import type { DType } from '../../core/arrays.js';
import { allocFloat, DataFileError, fieldMessage, openTextStream, parseNumber, type Chunk, type FormatReader, type ReaderInfo } from './common.js';

export interface LibsvmReaderOptions {
  dtype: DType;
  scale: number;
  zeroBased: boolean;
  /** Number of columns, or null to find it with a first pass. */
  columns: number | null;
}

/** The non-empty lines of a text file (comments not yet removed), with their 1-based numbers. */
async function* textLines(path: string): AsyncGenerator<[string, number]> {
  const stream = await openTextStream(path);
  stream.setEncoding('utf8');
  let rest = '';
  let lineNo = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      let start = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        lineNo++;
        yield [text.slice(start, end), lineNo];
        start = end + 1;
      }
      rest = text.slice(start);
    }
  } catch (error) {
    if (error instanceof DataFileError) throw error;
    const e = error as Error & { gzip?: boolean };
    throw new DataFileError(path, e.gzip ? `is not a valid gzip file: ${e.message}` : `cannot read: ${e.message}`, {}, { cause: error });
  } finally {
    stream.destroy();
  }
  if (rest !== '') yield [rest, lineNo + 1];
}

/** One parsed line: its label, and its entries pushed onto the given arrays. */
type LineSink = (label: number, lineNo: number) => void;

const SPACE = /[ \t\r\f\v]+/;

/**
 * Parses `line`; returns false for a blank or comment line. Pushes the
 * 0-based columns and values onto `indices` and `values` and reports the
 * label to `sink`.
 */
function parseLine(
  path: string,
  raw: string,
  lineNo: number,
  options: LibsvmReaderOptions,
  indices: number[],
  values: number[],
  sink: LineSink,
): boolean {
  const hash = raw.indexOf('#');
  const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
  if (line === '') return false;
  const tokens = line.split(SPACE);
  const labelText = tokens[0];
  if (labelText.includes(',')) {
    throw new DataFileError(path, `has a multi-label line (label '${labelText}'); multi-label LIBSVM files are not supported`, { line: lineNo });
  }
  if (labelText.includes(':')) throw new DataFileError(path, `line starts with '${labelText}' instead of a label`, { line: lineNo });
  const label = parseNumber(labelText);
  if (label !== label) throw new DataFileError(path, `label: ${fieldMessage(labelText)}`, { line: lineNo });
  const base = options.zeroBased ? 0 : 1;
  let prev = -1;
  for (let t = 1; t < tokens.length; t++) {
    const token = tokens[t];
    const colon = token.indexOf(':');
    if (colon <= 0) throw new DataFileError(path, `token '${token}' is not index:value`, { line: lineNo });
    let index = 0;
    for (let i = 0; i < colon; i++) {
      const c = token.charCodeAt(i) - 48;
      if (c < 0 || c > 9 || index > 1e15) {
        index = -1;
        break;
      }
      index = index * 10 + c;
    }
    if (index < 0) {
      const key = token.slice(0, colon);
      if (key === 'qid') continue;
      throw new DataFileError(path, `index '${key}' is not a non-negative integer`, { line: lineNo });
    }
    const col = index - base;
    if (col < 0) {
      throw new DataFileError(path, `index 0 in a file read with 1-based indices (pass zeroBased: true for 0-based indices)`, { line: lineNo });
    }
    if (options.columns !== null && col >= options.columns) {
      throw new DataFileError(
        path,
        `index ${index} is out of range for ${options.columns} columns (${base}-based indices ${base}..${options.columns - 1 + base})`,
        { line: lineNo },
      );
    }
    if (col > 2147483646) throw new DataFileError(path, `index ${index} is too large`, { line: lineNo });
    if (col <= prev) {
      throw new DataFileError(path, `indices must be strictly increasing: ${index} follows ${prev + base}`, { line: lineNo });
    }
    prev = col;
    const valueText = token.slice(colon + 1);
    const value = parseNumber(valueText);
    if (value !== value) throw new DataFileError(path, `index ${index}: ${fieldMessage(valueText)}`, { line: lineNo, column: col });
    indices.push(col);
    values.push(value * options.scale);
  }
  sink(label, lineNo);
  return true;
}

export async function openLibsvm(path: string, options: LibsvmReaderOptions): Promise<FormatReader> {
  let columns = options.columns;
  let rows: number | null = null;
  if (columns === null) {
    // First pass: the largest index, every line checked, the rows counted.
    let max = -1;
    let count = 0;
    const indices: number[] = [];
    const values: number[] = [];
    const sink: LineSink = () => {
      for (const c of indices) if (c > max) max = c;
      count++;
    };
    for await (const [line, lineNo] of textLines(path)) {
      indices.length = 0;
      values.length = 0;
      parseLine(path, line, lineNo, options, indices, values, sink);
    }
    columns = max + 1;
    rows = count;
  }
  const width: number = columns;
  const resolved = { ...options, columns: width };
  const info: ReaderInfo = {
    path,
    format: 'libsvm',
    layout: 'csr',
    columns,
    imageShape: null,
    rows,
    targetNames: ['y'],
    featureNames: null,
  };

  async function* chunks(batchRows: number): AsyncGenerator<Chunk> {
    let indptr = new Int32Array(batchRows + 1);
    let indices: number[] = [];
    let values: number[] = [];
    let y = new Float64Array(batchRows);
    let n = 0;
    const sink: LineSink = (label) => {
      y[n++] = label;
      indptr[n] = indices.length;
    };
    const take = (): Chunk => {
      const data = allocFloat(options.dtype, values.length);
      data.set(values);
      const chunk: Chunk = {
        X: { indptr: n === batchRows ? indptr : indptr.slice(0, n + 1), indices: Int32Array.from(indices), data, shape: [n, width] },
        y: { data: n === batchRows ? y : y.slice(0, n), shape: [n, 1] },
      };
      indptr = new Int32Array(batchRows + 1);
      indices = [];
      values = [];
      y = new Float64Array(batchRows);
      n = 0;
      return chunk;
    };
    for await (const [line, lineNo] of textLines(path)) {
      parseLine(path, line, lineNo, resolved, indices, values, sink);
      if (n === batchRows) yield take();
    }
    if (n > 0) yield take();
  }
  return { info, chunks };
}
