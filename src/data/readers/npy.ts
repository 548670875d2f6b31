/**
 * Reader of NumPy .npy files (optionally gzip-compressed): C order, the
 * element types of {@link npyElementType} converted to float; 1-D (one
 * column), 2-D rows, 3-D [n, H, W] (images of one channel) or 4-D
 * [n, C, H, W] images. Rows are read in batches from the file handle (or the
 * gunzip stream), never the whole file.
 */
import type { DType } from '../../core/arrays.js';
import { NPY_PREFIX_BYTES, npyElementType, npyHeaderLength, parseNpyHeader, type NpyElementType, type NpyHeader } from '../npy.js';
import {
  allocFloat,
  convertElements,
  DataFileError,
  firstNonFinite,
  openBytes,
  withBytes,
  readRows,
  type ByteSource,
  type Chunk,
  type FormatReader,
  type ReaderInfo,
} from './common.js';

export interface NpyReaderOptions {
  dtype: DType;
  flatten: boolean;
  scale: number;
  /** Target columns of a 2-D file (0-based, negative from the end), or null. */
  target: number[] | null;
}

/** Reads the header of an opened source; the source is positioned at the data. */
async function readHeader(path: string, source: ByteSource): Promise<NpyHeader> {
  const prefix = new Uint8Array(NPY_PREFIX_BYTES);
  const got = await source.readInto(prefix);
  let length: number;
  try {
    length = npyHeaderLength(prefix.subarray(0, got));
  } catch (error) {
    throw new DataFileError(path, (error as Error).message);
  }
  if (length > 1 << 24) throw new DataFileError(path, `has an implausible .npy header length of ${length} bytes`);
  const all = new Uint8Array(length);
  all.set(prefix.subarray(0, Math.min(got, length)));
  if (length > got) {
    const rest = await source.readInto(all.subarray(got));
    if (rest < length - got) throw new DataFileError(path, 'is truncated inside the .npy header');
  } else if (length < got) {
    throw new DataFileError(path, `has a .npy header length of ${length} bytes, too short for a header`);
  }
  try {
    return parseNpyHeader(all);
  } catch (error) {
    throw new DataFileError(path, (error as Error).message);
  }
}

/** Opens a .npy file: reads and checks its header. */
export async function openNpy(path: string, options: NpyReaderOptions): Promise<FormatReader> {
  const { header, gzip, fileSize } = await withBytes(path, async (source) => ({
    header: await readHeader(path, source), gzip: source.gzip, fileSize: source.fileSize,
  }));
  const found = npyElementType(header.descr);
  if (typeof found === 'string') throw new DataFileError(path, `has ${found}`);
  const type: NpyElementType = found;
  if (header.fortranOrder) {
    throw new DataFileError(path, 'is in Fortran (column-major) order; only C order is read (save np.ascontiguousarray(arr))');
  }
  const shape = header.shape;
  if (shape.length < 1 || shape.length > 4) {
    throw new DataFileError(
      path,
      `has shape (${shape.join(', ')}); expected 1-D (one column), 2-D (rows x columns), 3-D (images x height x width) or 4-D (images x channels x height x width)`,
    );
  }
  const rows = shape[0];
  const imageShape: [number, number, number] | null =
    shape.length === 4 ? [shape[1], shape[2], shape[3]] : shape.length === 3 ? [1, shape[1], shape[2]] : null;
  const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = rowElems * type.bytes;
  const dataBytes = rows * rowBytes;
  if (!gzip) {
    const expected = header.dataOffset + dataBytes;
    if (fileSize < expected) {
      const lastRow = rowBytes > 0 ? Math.floor((fileSize - header.dataOffset) / rowBytes) : 0;
      throw new DataFileError(
        path,
        `is truncated: shape (${shape.join(', ')}) of ${type.name} needs ${expected} bytes, the file has ${fileSize} (it ends inside row ${lastRow})`,
        { record: lastRow },
      );
    }
    if (fileSize > expected) {
      throw new DataFileError(path, `has ${fileSize - expected} bytes after the data of shape (${shape.join(', ')}) of ${type.name}`);
    }
  }

  // Target columns (2-D files only).
  let targetCols: number[] = [];
  if (options.target) {
    if (shape.length !== 2) {
      throw new RangeError(`target applies to 2-D .npy files, but ${path} has shape (${shape.join(', ')})`);
    }
    targetCols = options.target.map((t) => {
      const c = t < 0 ? rowElems + t : t;
      if (c < 0 || c >= rowElems) throw new RangeError(`target ${t} is out of range for the ${rowElems} columns of ${path}`);
      return c;
    });
    if (new Set(targetCols).size !== targetCols.length) throw new RangeError(`target names a column of ${path} twice`);
  }
  const k = targetCols.length;
  const columns = rowElems - k;
  const layout = imageShape && !options.flatten ? 'images' : 'dense';
  const info: ReaderInfo = {
    path,
    format: 'npy',
    layout,
    columns,
    imageShape,
    rows,
    targetNames: k === 0 ? [] : k === 1 ? ['y'] : targetCols.map((_, j) => `y${j}`),
    featureNames: null,
  };
  const split = k > 0 ? columnSplit(rowElems, targetCols) : null;

  async function* chunks(batchRows: number): AsyncGenerator<Chunk> {
    const source = await openBytes(path);
    try {
      await readHeader(path, source);
      for (let offset = 0; offset < rows; offset += batchRows) {
        const n = Math.min(batchRows, rows - offset);
        const count = n * rowElems;
        const direct = !split && ((type.descr === '<f8' && options.dtype === 'float64') || (type.descr === '<f4' && options.dtype === 'float32'));
        const full = allocFloat(split ? 'float64' : options.dtype, count);
        const raw = direct ? new Uint8Array(full.buffer) : new Uint8Array(n * rowBytes);
        await readRows(path, source, raw, offset, rows, rowBytes, header.dataOffset);
        let bad: number;
        if (direct) {
          if (options.scale !== 1) for (let i = 0; i < count; i++) full[i] *= options.scale;
          bad = firstNonFinite(full, count);
        } else {
          bad = convertElements(raw, count, type.descr, full, split ? 1 : options.scale);
        }
        if (bad >= 0) throw valueError(path, type, raw, full[bad], bad, offset, rowElems);
        if (!split) {
          const X = imageShape && !options.flatten
            ? { data: full, shape: [n, imageShape[0], imageShape[1], imageShape[2]] as [number, number, number, number] }
            : { data: full, shape: [n, rowElems] as [number, number] };
          yield { X, y: null };
        } else {
          const X = allocFloat(options.dtype, n * columns);
          const y = new Float64Array(n * k);
          for (let i = 0; i < n; i++) {
            const row = i * rowElems;
            for (let j = 0; j < columns; j++) X[i * columns + j] = full[row + split.x[j]] * options.scale;
            for (let j = 0; j < k; j++) y[i * k + j] = full[row + split.y[j]];
          }
          if (options.scale !== 1) {
            const b = firstNonFinite(X);
            if (b >= 0) throw valueError(path, type, raw, X[b], Math.floor(b / columns) * rowElems + split.x[b % columns], offset, rowElems);
          }
          yield { X: { data: X, shape: [n, columns] }, y: { data: y, shape: [n, k] } };
        }
      }
      if (source.gzip && (await source.readInto(new Uint8Array(1))) > 0) {
        throw new DataFileError(path, `has data after its ${rows} rows of shape (${shape.join(', ')})`);
      }
    } finally {
      await source.close();
    }
  }
  return { info, chunks };
}

function valueError(
  path: string,
  type: NpyElementType,
  raw: Uint8Array,
  converted: number,
  flat: number,
  offset: number,
  rowElems: number,
): DataFileError {
  const record = offset + Math.floor(flat / rowElems);
  const column = flat % rowElems;
  const what = type.float || converted - converted !== 0 ? 'is not finite' : 'is too large to be represented exactly as a float64';
  let value = type.float || converted - converted !== 0 ? ` ${converted}` : '';
  if (type.descr === '<i8' || type.descr === '<u8') {
    const v = new DataView(raw.buffer, raw.byteOffset + flat * 8, 8);
    value = ` ${type.descr === '<i8' ? v.getBigInt64(0, true) : v.getBigUint64(0, true)}`;
  }
  return new DataFileError(path, `value${value} ${what}`, { record, column });
}

/** The positions of the X and y columns in a row. */
function columnSplit(width: number, targetCols: number[]): { x: number[]; y: number[] } {
  const isTarget = new Set(targetCols);
  const x: number[] = [];
  for (let j = 0; j < width; j++) if (!isTarget.has(j)) x.push(j);
  return { x, y: targetCols };
}
