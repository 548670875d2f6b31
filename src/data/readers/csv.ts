/**
 * Reader of CSV and TSV files of numbers (optionally gzip-compressed),
 * parsed as a stream by papaparse. Every field is a decimal number; one or
 * more target columns (by header name or 0-based index) become y, the others
 * X in file order. Empty lines are skipped; quoting follows RFC 4180.
 *
 * The text is handed to papaparse's chunk parser about a mebibyte at a time
 * (what papaparse's own streamers do: the unfinished last record is kept and
 * parsed again with the next chunk); this reader counts the lines itself, so
 * every error names the 1-based line where the record or field starts, also
 * after quoted fields that hold line breaks. Fields go straight into the
 * batch's Float32Array or Float64Array through {@link parseDecimal}.
 */
import Papa from 'papaparse';
import type { DType } from '../../core/arrays.js';
import type { FloatArray } from '../../core/native.js';
import {
  allocFloat,
  DataFileError,
  fieldMessage,
  NOT_NUMERIC,
  numberProblem,
  openTextStream,
  parseDecimal,
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

/** Characters of text gathered before each parse. */
const PARSE_CHARS = 1 << 20;
/** Longest record (in characters) accepted: past it, a quote is most likely left open. */
const MAX_RECORD_CHARS = 1 << 27;

const QUOTE = 34;

/** Occurrences of the character `ch` in `text` from `start` to `end`. */
function countChar(text: string, ch: string, start: number, end: number): number {
  let count = 0;
  for (let p = text.indexOf(ch, start); p >= 0 && p < end; p = text.indexOf(ch, p + 1)) count++;
  return count;
}

/**
 * The records that one parse of a stretch of text gave (empty lines among
 * them, as a record of one empty field), with what it takes to find the
 * line each starts on.
 */
class RecordBlock {
  /** Line of each record relative to the block's first line, once asked for. */
  private starts: Int32Array | null = null;
  /** Offset in the text of each line of the block, once asked for. */
  private lineOffsets: Int32Array | null = null;
  /** The text holds a quote (null: not yet looked at). */
  private quoted: boolean | null = null;

  constructor(
    readonly rows: string[][],
    /** 1-based line of the first record. */
    readonly line: number,
    /** The text parsed: it starts with the first record. */
    private readonly text: string,
    /** The line break character counted: '\n' (also for CRLF) or '\r'. */
    private readonly lineChar: string,
  ) {}

  /** The 1-based line where record `i` starts, or where its field `column` starts. */
  lineOf(i: number, column = 0): number {
    if (this.starts === null) {
      // A record takes one line plus the line breaks inside its (quoted) fields.
      const starts = new Int32Array(this.rows.length);
      let at = 0;
      for (let r = 0; r < this.rows.length; r++) {
        starts[r] = at;
        at += 1 + this.breaksIn(this.rows[r], this.rows[r].length);
      }
      this.starts = starts;
    }
    return this.line + this.starts[i] + this.breaksIn(this.rows[i], column);
  }

  private breaksIn(record: string[], fields: number): number {
    let count = 0;
    for (let j = 0; j < fields; j++) if (record[j].includes(this.lineChar)) count += countChar(record[j], this.lineChar, 0, record[j].length);
    return count;
  }

  /** Record `i` is an empty line (not a quoted empty field, `""`, which is a record). */
  isEmptyLine(i: number): boolean {
    const record = this.rows[i];
    if (record.length !== 1 || record[0] !== '') return false;
    this.quoted ??= this.text.includes('"');
    if (!this.quoted) return true;
    if (this.lineOffsets === null) {
      const lines = this.lineOf(this.rows.length - 1) - this.line + 1;
      const offsets = new Int32Array(lines);
      for (let l = 1, p = -1; l < lines; l++) {
        p = this.text.indexOf(this.lineChar, p + 1);
        offsets[l] = p + 1;
      }
      this.lineOffsets = offsets;
    }
    return this.text.charCodeAt(this.lineOffsets[this.lineOf(i) - this.line]) !== QUOTE;
  }
}

/** Turns what reading the text stream threw into a DataFileError naming the file. */
function streamError(path: string, error: unknown): Error {
  if (error instanceof DataFileError || error instanceof RangeError || error instanceof TypeError) return error;
  const e = error as Error & { gzip?: boolean };
  if (e.gzip) return new DataFileError(path, `is not a valid gzip file: ${e.message}`, {}, { cause: error });
  return new DataFileError(path, `cannot read: ${e.message}`, {}, { cause: error });
}

/**
 * The records of a CSV file, in blocks, parsed by papaparse's chunk parser
 * as the decompressed text streams in. A malformed quote is a DataFileError
 * naming the line where the quoted field starts (thrown after the block of
 * the records before it).
 */
async function* csvBlocks(path: string, delimiter: string): AsyncGenerator<RecordBlock> {
  const stream = await openTextStream(path);
  stream.setEncoding('utf8');
  const input = (stream as AsyncIterable<string>)[Symbol.asyncIterator]();
  let parser: Papa.Parser | null = null;
  let lineChar = '\n';
  let pending: string[] = [];
  let pendingChars = 0;
  let rest = '';
  let line = 1;
  let atStart = true;
  try {
    for (;;) {
      let next: IteratorResult<string>;
      try {
        next = await input.next();
      } catch (error) {
        throw streamError(path, error);
      }
      const done = next.done === true;
      if (!done) {
        pending.push(next.value);
        pendingChars += next.value.length;
        // Parse a mebibyte at a time, and (past a record that long) at
        // least as much new text as is left over, so that a long record
        // is not parsed again and again.
        if (pendingChars < PARSE_CHARS || pendingChars < rest.length) continue;
      }
      let text = rest + pending.join('');
      pending = [];
      pendingChars = 0;
      if (atStart && text !== '') {
        atStart = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      if (done && text === '') return;
      if (parser === null) {
        // papaparse finds the line break (\n, \r\n or \r, outside quotes) in the first line break seen.
        if (!done && !/[\r\n]/.test(text)) {
          rest = text;
          continue;
        }
        const newline = Papa.parse(text.slice(0, PARSE_CHARS), { delimiter, preview: 1 }).meta.linebreak as '\n' | '\r\n' | '\r';
        lineChar = newline === '\r' ? '\r' : '\n';
        parser = new Papa.Parser({ delimiter, newline, quoteChar: '"' });
      }
      const result = parser.parse(text, 0, !done) as Papa.ParseResult<string[]>;
      const rows = result.data;
      const consumed = done ? text.length : result.meta.cursor;
      // Errors in the unfinished last record are found again with more text.
      const error = result.errors.find((e) => done || (e.row !== undefined && e.row < rows.length));
      if (error) {
        const errorLine = line + countChar(text, lineChar, 0, error.index ?? 0);
        if (error.row !== undefined && error.row > 0) yield new RecordBlock(rows.slice(0, error.row), line, text, lineChar);
        throw new DataFileError(path, `is not valid CSV: ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`, { line: errorLine });
      }
      const block = new RecordBlock(rows, line, text, lineChar);
      line += countChar(text, lineChar, 0, consumed);
      rest = text.slice(consumed);
      if (rows.length > 0) yield block;
      if (done) return;
      if (rest.length > MAX_RECORD_CHARS) {
        throw new DataFileError(path, `has a record of more than ${MAX_RECORD_CHARS} characters (is a quote left open?)`, { line });
      }
    }
  } finally {
    stream.destroy();
  }
}

/** The first record of the file (null for a file without records). */
async function firstRecord(path: string, delimiter: string): Promise<string[] | null> {
  for await (const block of csvBlocks(path, delimiter)) {
    for (let i = 0; i < block.rows.length; i++) if (!block.isEmptyLine(i)) return block.rows[i];
  }
  return null;
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
    for await (const block of csvBlocks(path, options.delimiter)) {
      const rows = block.rows;
      for (let i = 0; i < rows.length; i++) {
        const record = rows[i];
        if (record.length === 1 && record[0] === '' && block.isEmptyLine(i)) continue;
        if (skip) {
          skip = false;
          continue;
        }
        if (record.length !== width) {
          throw new DataFileError(path, `has ${record.length} field${record.length === 1 ? '' : 's'} where the first record has ${width}`, { line: block.lineOf(i) });
        }
        const column = fillRow(record, X, n * columns, y, n * k - 1);
        if (column >= 0) throw new DataFileError(path, fieldMessage(record[column]), { line: block.lineOf(i, column), column });
        if (++n === batchRows) {
          yield { X: { data: X, shape: [n, columns] }, y: k ? { data: y, shape: [n, k] } : null };
          X = allocFloat(options.dtype, batchRows * columns);
          y = new Float64Array(batchRows * k);
          n = 0;
        }
      }
    }
    if (n > 0) {
      yield {
        X: { data: X.slice(0, n * columns), shape: [n, columns] },
        y: k ? { data: y.slice(0, n * k), shape: [n, k] } : null,
      };
    }
  }

  /**
   * Converts the fields of `record` into X (from `xBase`, times scale) and y
   * (target t at `yBase` + t + 1); returns the column of the first field
   * that is not a finite number, or -1.
   */
  function fillRow(record: string[], X: FloatArray, xBase: number, y: Float64Array, yBase: number): number {
    if (k === 0) {
      for (let j = 0; j < width; j++) {
        const v = parseDecimal(record[j]);
        if (v !== v) return j;
        X[xBase + j] = v * scale;
      }
    } else {
      for (let j = 0; j < width; j++) {
        const v = parseDecimal(record[j]);
        if (v !== v) return j;
        const r = role[j];
        if (r >= 0) X[xBase + r] = v * scale;
        else y[yBase - r] = v;
      }
    }
    return -1;
  }
  return { info, chunks };
}
