/**
 * The NumPy `.npy` format (format versions 1.0, 2.0 and 3.0): parsing and
 * writing of the header, and the element types the readers accept.
 *
 * A file is the magic string `\x93NUMPY`, a major and a minor version byte,
 * the header length (uint16 little-endian in 1.0, uint32 in 2.0 and 3.0),
 * then the header: a Python dict literal such as
 * `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` padded with
 * spaces and ended by a newline so that the data starts at a multiple of 64
 * bytes; the data follows, in C (row-major) order here.
 */

/** The magic string at the start of every .npy file. */
export const NPY_MAGIC = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59);

/** NumPy aligns the start of the data to this many bytes. */
export const NPY_ALIGN = 64;

/** Digits reserved for the row count by a header written before the rows are known (NumPy's GROWTH_AXIS_MAX_DIGITS). */
export const NPY_GROWTH_DIGITS = 21;

/** How an element type is stored and converted. */
export interface NpyElementType {
  /** Canonical descr, as NumPy writes it ('<f8', '|u1', ...). */
  descr: string;
  /** Bytes per element. */
  bytes: number;
  /** NumPy name ('float64', 'uint8', ...). */
  name: string;
  /** Floating point (values may be non-finite). */
  float: boolean;
}

const ELEMENT_TYPES: Record<string, NpyElementType> = {};
for (const [descr, bytes, name, float] of [
  ['<f8', 8, 'float64', true],
  ['<f4', 4, 'float32', true],
  ['<f2', 2, 'float16', true],
  ['|u1', 1, 'uint8', false],
  ['|i1', 1, 'int8', false],
  ['|b1', 1, 'bool', false],
  ['<u2', 2, 'uint16', false],
  ['<i2', 2, 'int16', false],
  ['<u4', 4, 'uint32', false],
  ['<i4', 4, 'int32', false],
  ['<u8', 8, 'uint64', false],
  ['<i8', 8, 'int64', false],
] as const) {
  ELEMENT_TYPES[descr] = { descr, bytes, name, float };
}

/** The descrs {@link npyElementType} accepts, for messages. */
export const NPY_ACCEPTED_DESCRS = Object.keys(ELEMENT_TYPES);

/**
 * The element type of a descr string, or an explanation of why it is not
 * accepted. Single-byte types may carry any byte-order character; wider ones
 * must be little-endian ('<', or '=' which NumPy never writes).
 */
export function npyElementType(descr: string): NpyElementType | string {
  if (descr.length === 3 && '<>|='.includes(descr[0])) {
    const code = descr.slice(1);
    const single = ELEMENT_TYPES[`|${code}`];
    if (single) return single;
    const wide = ELEMENT_TYPES[`<${code}`];
    if (wide) {
      if (descr[0] === '>') return `dtype '${descr}' is big-endian; only little-endian files are read (save with arr.astype('<${code}'))`;
      if (descr[0] === '|') return `dtype '${descr}' is not a valid descr`;
      return wide;
    }
  }
  return `dtype '${descr}' is not supported (accepted: ${NPY_ACCEPTED_DESCRS.join(', ')})`;
}

/** A parsed .npy header. */
export interface NpyHeader {
  /** Format version [major, minor]. */
  version: [number, number];
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data (size of magic, version, length and header). */
  dataOffset: number;
}

/** Bytes needed to know the header length: magic, version and a uint32 length. */
export const NPY_PREFIX_BYTES = 12;

/**
 * The total length of the magic, version, length field and header, from the
 * first {@link NPY_PREFIX_BYTES} bytes (or fewer, for a file that short).
 * Throws an Error with the reason when this is not a .npy file.
 */
export function npyHeaderLength(prefix: Uint8Array): number {
  if (prefix.length < 10 || !NPY_MAGIC.every((b, i) => prefix[i] === b)) {
    throw new Error('is not a .npy file (no \\x93NUMPY magic string at the start)');
  }
  const major = prefix[6];
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major === 1) return 10 + view.getUint16(8, true);
  if (major === 2 || major === 3) {
    if (prefix.length < 12) throw new Error('is truncated inside the .npy header');
    return 12 + view.getUint32(8, true);
  }
  throw new Error(`has .npy format version ${major}.${prefix[7]}; versions 1.0, 2.0 and 3.0 are read`);
}

/**
 * Parses the whole header (the first {@link npyHeaderLength} bytes). Throws an
 * Error with the reason (to be prefixed with the file name) when it is not a
 * valid header; the dtype and order are not checked here.
 */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const dataOffset = npyHeaderLength(bytes);
  if (bytes.length < dataOffset) throw new Error('is truncated inside the .npy header');
  const major = bytes[6];
  const start = major === 1 ? 10 : 12;
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, dataOffset)).trim();
  if (!text.startsWith('{') || !text.endsWith('}')) throw new Error(`has a malformed .npy header: ${JSON.stringify(text)}`);
  const descrMatch = /['"]descr['"]\s*:\s*(?:'([^']*)'|"([^"]*)"|(\[))/.exec(text);
  if (!descrMatch) throw new Error(`has no 'descr' in its .npy header: ${JSON.stringify(text)}`);
  if (descrMatch[3]) throw new Error('holds a structured array (record dtype); only plain numeric arrays are read');
  const orderMatch = /['"]fortran_order['"]\s*:\s*(True|False)\b/.exec(text);
  if (!orderMatch) throw new Error(`has no 'fortran_order' in its .npy header: ${JSON.stringify(text)}`);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!shapeMatch) throw new Error(`has no 'shape' in its .npy header: ${JSON.stringify(text)}`);
  const shape: number[] = [];
  for (const part of shapeMatch[1].split(',')) {
    const s = part.trim().replace(/L$/, '');
    if (s === '') continue;
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new Error(`has an invalid shape (${shapeMatch[1]}) in its .npy header`);
    shape.push(Number(s));
  }
  return {
    version: [major, bytes[7]],
    descr: descrMatch[1] ?? descrMatch[2],
    fortranOrder: orderMatch[1] === 'True',
    shape,
    dataOffset,
  };
}

export interface EncodeNpyHeaderOptions {
  /** Exact total length (magic to data) to pad to; an Error when the header does not fit. */
  length?: number;
  /** Extra characters to reserve (for a shape that grows), before rounding up to 64. */
  reserve?: number;
}

function shapeText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Encodes a C-order header for `descr` and `shape` as NumPy writes it: format
 * 1.0 (2.0 when the header exceeds 65,535 bytes), padded with spaces and a
 * final newline so that the data starts at a multiple of 64 bytes, or at
 * exactly `length` bytes.
 */
export function encodeNpyHeader(descr: string, shape: readonly number[], options: EncodeNpyHeaderOptions = {}): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText(shape)}, }`;
  const needed = (prefix: number) => prefix + dict.length + 1;
  let prefix = 10;
  let total = options.length ?? Math.ceil((needed(prefix) + (options.reserve ?? 0)) / NPY_ALIGN) * NPY_ALIGN;
  if (total - 10 > 0xffff) {
    prefix = 12;
    if (options.length === undefined) total = Math.ceil((needed(prefix) + (options.reserve ?? 0)) / NPY_ALIGN) * NPY_ALIGN;
  }
  if (needed(prefix) > total) throw new Error(`the .npy header for shape ${shapeText(shape)} needs ${needed(prefix)} bytes, more than the ${total} reserved`);
  const out = new Uint8Array(total);
  out.set(NPY_MAGIC, 0);
  out[6] = prefix === 10 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, total - 10, true);
  else view.setUint32(8, total - 12, true);
  const body = dict.padEnd(total - prefix - 1, ' ') + '\n';
  for (let i = 0; i < body.length; i++) out[prefix + i] = body.charCodeAt(i);
  return out;
}
