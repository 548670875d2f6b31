/**
 * Reader of IDX files (the MNIST format), gzip-compressed or not, streamed.
 * Magic number 0x0000TTDD: TT the element type (0x08 unsigned byte, 0x09
 * signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64, all
 * big-endian), DD the number of dimensions (1: one value per row, e.g.
 * labels, magic 0x00000801; 2: rows; 3: images of one channel, e.g. MNIST
 * images, magic 0x00000803); then DD big-endian int32 sizes and the data.
 */
import type { DType } from '../../core/arrays.js';
import { allocFloat, DataFileError, firstNonFinite, openBytes,
  withBytes, readRows, type ByteSource, type Chunk, type FormatReader, type ReaderInfo } from './common.js';

export interface IdxReaderOptions {
  dtype: DType;
  flatten: boolean;
  scale: number;
}

const TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'unsigned byte', bytes: 1 },
  0x09: { name: 'signed byte', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

interface IdxHeader {
  type: number;
  dims: number[];
  dataOffset: number;
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

async function readHeader(path: string, source: ByteSource): Promise<IdxHeader> {
  const head = new Uint8Array(4);
  const got = await source.readInto(head);
  if (got < 4) throw new DataFileError(path, `is too short for an IDX header (${got} bytes)`);
  const magic = new DataView(head.buffer).getUint32(0, false);
  const type = head[2];
  const ndim = head[3];
  if (head[0] !== 0 || head[1] !== 0 || !TYPES[type] || ndim < 1 || ndim > 3) {
    throw new DataFileError(
      path,
      `is not an IDX file of 1 to 3 dimensions: magic number ${hex(magic)}, expected ${hex(0x803)} (images), ${hex(0x801)} (labels) or another 0x00000TDD`,
    );
  }
  const sizes = new Uint8Array(4 * ndim);
  if ((await source.readInto(sizes)) < sizes.length) throw new DataFileError(path, 'is truncated inside its IDX header');
  const view = new DataView(sizes.buffer);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) {
    const d = view.getInt32(4 * i, false);
    if (d < 0) throw new DataFileError(path, `has a negative size ${d} in its IDX header`);
    dims.push(d);
  }
  return { type, dims, dataOffset: 4 + 4 * ndim };
}

/** Converts `count` big-endian elements of IDX type `type` into out (times scale); index of the first non-finite value or -1. */
function convert(raw: Uint8Array, count: number, type: number, out: ArrayLike<number> & { [i: number]: number }, scale: number): number {
  if (type === 0x08) {
    if (scale === 1) for (let i = 0; i < count; i++) out[i] = raw[i];
    else for (let i = 0; i < count; i++) out[i] = raw[i] * scale;
    return -1;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read =
    type === 0x09 ? (i: number) => view.getInt8(i)
    : type === 0x0b ? (i: number) => view.getInt16(2 * i, false)
    : type === 0x0c ? (i: number) => view.getInt32(4 * i, false)
    : type === 0x0d ? (i: number) => view.getFloat32(4 * i, false)
    : (i: number) => view.getFloat64(8 * i, false);
  for (let i = 0; i < count; i++) out[i] = read(i) * scale;
  return firstNonFinite(out, count);
}

export async function openIdx(path: string, options: IdxReaderOptions): Promise<FormatReader> {
  const { header, gzip, fileSize } = await withBytes(path, async (source) => ({
    header: await readHeader(path, source), gzip: source.gzip, fileSize: source.fileSize,
  }));
  const { type, dims } = header;
  const elem = TYPES[type];
  const rows = dims[0];
  const rowElems = dims.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = rowElems * elem.bytes;
  const shapeText = dims.join(' x ');
  if (!gzip) {
    const expected = header.dataOffset + rows * rowBytes;
    if (fileSize < expected) {
      const record = rowBytes > 0 ? Math.floor((fileSize - header.dataOffset) / rowBytes) : 0;
      throw new DataFileError(path, `is truncated: ${shapeText} ${elem.name} values need ${expected} bytes, the file has ${fileSize}`, { record });
    }
    if (fileSize > expected) throw new DataFileError(path, `has ${fileSize - expected} bytes after its ${shapeText} ${elem.name} values`);
  }
  const imageShape: [number, number, number] | null = dims.length === 3 ? [1, dims[1], dims[2]] : null;
  const info: ReaderInfo = {
    path,
    format: 'idx',
    layout: imageShape && !options.flatten ? 'images' : 'dense',
    columns: rowElems,
    imageShape,
    rows,
    targetNames: [],
    featureNames: null,
  };

  async function* chunks(batchRows: number): AsyncGenerator<Chunk> {
    const source = await openBytes(path);
    try {
      await readHeader(path, source);
      for (let offset = 0; offset < rows; offset += batchRows) {
        const n = Math.min(batchRows, rows - offset);
        const raw = new Uint8Array(n * rowBytes);
        await readRows(path, source, raw, offset, rows, rowBytes, header.dataOffset);
        const data = allocFloat(options.dtype, n * rowElems);
        const bad = convert(raw, n * rowElems, type, data, options.scale);
        if (bad >= 0) {
          throw new DataFileError(path, `value ${data[bad]} is not finite`, { record: offset + Math.floor(bad / rowElems), column: bad % rowElems });
        }
        const X = imageShape && !options.flatten
          ? { data, shape: [n, 1, imageShape[1], imageShape[2]] as [number, number, number, number] }
          : { data, shape: [n, rowElems] as [number, number] };
        yield { X, y: null };
      }
      if (source.gzip && (await source.readInto(new Uint8Array(1))) > 0) {
        throw new DataFileError(path, `has data after its ${shapeText} ${elem.name} values`);
      }
    } finally {
      await source.close();
    }
  }
  return { info, chunks };
}
