/**
 * The .npy header code, and interchange with NumPy itself: files NumPy
 * writes read bit-identically, and files our writer writes load in NumPy
 * with the same values.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { encodeNpyHeader, npyElementType, parseNpyHeader } from '../../src/data/npy.js';
import { openData } from '../../src/data/readers/index.js';
import { createNpyWriter } from '../../src/data/writers.js';
import { bytesOf, collect, numpyMissing, python, rng, tempDir } from './file-helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('.npy header', () => {
  it('encodes as NumPy does: data at a multiple of 64, parse inverts encode', () => {
    for (const shape of [[3], [5, 7], [0, 784], [12345678, 3, 32, 32]]) {
      const h = encodeNpyHeader('<f4', shape);
      expect(h.length % 64).toBe(0);
      expect(h[h.length - 1]).toBe(0x0a);
      const p = parseNpyHeader(h);
      expect(p).toEqual({ version: [1, 0], descr: '<f4', fortranOrder: false, shape, dataOffset: h.length });
    }
    const text = new TextDecoder().decode(encodeNpyHeader('<f8', [3]).subarray(10));
    expect(text.startsWith("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }")).toBe(true);
  });

  it('pads to a fixed length with room for a grown shape, and refuses one that does not fit', () => {
    const reserved = encodeNpyHeader('<f8', [0, 10], { reserve: 21 });
    const grown = encodeNpyHeader('<f8', [2 ** 53 - 1, 10], { length: reserved.length });
    expect(grown.length).toBe(reserved.length);
    expect(parseNpyHeader(grown).shape).toEqual([2 ** 53 - 1, 10]);
    expect(() => encodeNpyHeader('<f8', [1, 2], { length: 32 })).toThrow(/reserved/);
  });

  it('parses version 2.0 and 3.0 headers and double-quoted keys', () => {
    const dict = '{"descr": "<i4", "fortran_order": False, "shape": (2, 3)}';
    const body = dict.padEnd(128 - 12 - 1, ' ') + '\n';
    for (const major of [2, 3]) {
      const b = new Uint8Array(128);
      b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
      new DataView(b.buffer).setUint32(8, body.length, true);
      b.set(new TextEncoder().encode(body), 12);
      expect(parseNpyHeader(b)).toMatchObject({ version: [major, 0], descr: '<i4', shape: [2, 3], dataOffset: 128 });
    }
  });

  it('accepts little-endian numeric descrs only', () => {
    expect(npyElementType('<f8')).toMatchObject({ name: 'float64', bytes: 8 });
    expect(npyElementType('|u1')).toMatchObject({ name: 'uint8' });
    expect(npyElementType('<u1')).toMatchObject({ name: 'uint8' });
    expect(npyElementType('=f4')).toMatchObject({ name: 'float32' });
    expect(npyElementType('>f4')).toMatch(/big-endian/);
    expect(npyElementType('<c8')).toMatch(/not supported/);
    expect(npyElementType('<U5')).toMatch(/not supported/);
  });
});

const skipReason = numpyMissing ? ` (skipped: ${numpyMissing})` : '';

describe.skipIf(numpyMissing !== null)(`NumPy interchange${skipReason}`, () => {
  it('reads files NumPy writes (every accepted dtype, 1-D to 4-D, versions 1.0/2.0/3.0) bit-identically', async () => {
    // For each file NumPy also writes the float64 values as raw bytes.
    const cases = python(`
d = sys.argv[1]
rng = np.random.default_rng(0)
base = rng.standard_normal((7, 5)) * 10.0 ** rng.integers(-3, 4, (7, 5))
cases = [
  ('f8', base), ('f4', base.astype('<f4')), ('f2', base.astype('<f2')),
  ('u1', rng.integers(0, 256, (7, 5)).astype('u1')), ('i1', rng.integers(-128, 128, (7, 5)).astype('i1')),
  ('u2', rng.integers(0, 65536, (7, 5)).astype('<u2')), ('i2', rng.integers(-30000, 30000, (7, 5)).astype('<i2')),
  ('i4', rng.integers(-2**31, 2**31, (7, 5)).astype('<i4')), ('u4', rng.integers(0, 2**32, (7, 5)).astype('<u4')),
  ('i8', rng.integers(-2**53, 2**53, (7, 5)).astype('<i8')), ('u8', rng.integers(0, 2**53, (7, 5)).astype('<u8')),
  ('b1', rng.integers(0, 2, (7, 5)).astype(bool)),
  ('vec', base[:, 0].copy()), ('img3', rng.standard_normal((4, 3, 5))), ('img4', rng.standard_normal((4, 2, 3, 5)).astype('<f4')),
]
for name, a in cases:
  np.save(f'{d}/{name}.npy', a)
  a.astype('<f8').tofile(f'{d}/{name}.f8')
  print(name, a.shape[0], a.size // a.shape[0])
big = np.lib.format
for v in [(2, 0), (3, 0)]:
  with open(f'{d}/v{v[0]}.npy', 'wb') as f:
    big.write_array(f, base, version=v)
  base.tofile(f'{d}/v{v[0]}.f8')
  print(f'v{v[0]}', 7, 5)
`, tmp.dir);
    const lines = cases.trim().split('\n').map((l) => l.split(' '));
    expect(lines.length).toBe(17);
    for (const [name, rows, cols] of lines) {
      const s = await openData(tmp.file(`${name}.npy`));
      expect([name, s.rows, s.columns]).toEqual([name, Number(rows), Number(cols)]);
      const { X } = await collect(s, 3);
      const expected = readFileSync(tmp.file(`${name}.f8`));
      expect(bytesOf(X).equals(expected), name).toBe(true);
    }
    // float32 files read as float32 keep their exact bits.
    const s32 = await openData(tmp.file('f4.npy'), { dtype: 'float32' });
    const first = (await collect(s32, 100)).batches[0].X.data;
    expect(first).toBeInstanceOf(Float32Array);
    const ref = new Float64Array(new Uint8Array(readFileSync(tmp.file('f4.f8'))).buffer);
    expect(Array.from(first)).toEqual(Array.from(Float32Array.from(ref)));
  });

  it('files from our writer load in NumPy with the same values, dtype and shape', async () => {
    const r = rng(5);
    for (const dtype of ['float64', 'float32'] as const) {
      const path = tmp.file(`ours-${dtype}.npy`);
      const w = await createNpyWriter(path, { dtype, columns: 6 });
      const all: number[] = [];
      for (const n of [3, 0, 10, 1]) {
        const data = Float64Array.from({ length: n * 6 }, () => (r() - 0.5) * 1e3);
        await w.write({ data, shape: [n, 6] });
        all.push(...(dtype === 'float32' ? Float32Array.from(data) : data));
      }
      await w.close();
      const out = python(
        `a = np.load(sys.argv[1]); import hashlib
print(a.dtype.str, a.shape, a.flags['C_CONTIGUOUS'], hashlib.sha256(a.astype('<f8').tobytes()).hexdigest())
a2 = np.load(sys.argv[1], mmap_mode='r'); print(a2.shape)`,
        path,
      );
      const hash = createHash('sha256').update(bytesOf(Float64Array.from(all))).digest('hex');
      expect(out.trim().split('\n')).toEqual([`${dtype === 'float32' ? '<f4' : '<f8'} (14, 6) True ${hash}`, '(14, 6)']);
    }
  });
});
