// Damaged files: every truncation of a small valid file of each format (and
// a random byte changed) gives a DataFileError naming the file (or a
// TypeError/RangeError), or — where a shorter file is still valid text —
// rows of the right width with finite values. Never a crash or a hang.
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureRidge, NTKSketch, loadModel, openData, readAll, saveModel, writeData } from '../../src/index.js';
import { tempDir } from '../data/file-helpers.js';
import { expectCleanError, expectFinite, fuzzParams, FUZZ_RUNS, outcome } from './fuzz-helpers.js';

const tmp = tempDir('ntk-fuzz-files-');
afterAll(() => tmp.remove());

const n = 4, d = 3;
const values = Float64Array.from({ length: n * d }, (_, i) => (i % 5) - 1.5);

/** Small valid files, by name, with the columns of X each must give. */
const files: Record<string, { bytes: Buffer; columns: number; binary: boolean; options?: object }> = {};

function idxImages(count: number, h: number, w: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0);
  head.writeUInt32BE(count, 4);
  head.writeUInt32BE(h, 8);
  head.writeUInt32BE(w, 12);
  return Buffer.concat([head, Buffer.from(Array.from({ length: count * h * w }, (_, i) => (i * 29) % 256))]);
}

beforeAll(async () => {
  await writeData(tmp.file('x.npy'), { data: values, shape: [n, d] });
  files['x.npy'] = { bytes: readFileSync(tmp.file('x.npy')), columns: d, binary: true };
  await writeData(tmp.file('x.csv'), { data: values, shape: [n, d] }, { header: ['a', 'b', 'y'] });
  files['x.csv'] = { bytes: readFileSync(tmp.file('x.csv')), columns: d - 1, binary: false, options: { target: 'y' } };
  files['x.libsvm'] = { bytes: Buffer.from('1.5 1:0.5 3:-2\n-1 2:1e-3\n0 1:4 2:5 3:6\n2 3:7\n'), columns: 3, binary: false };
  files['x.idx'] = { bytes: idxImages(3, 2, 2), columns: 4, binary: true };
  for (const [name, f] of Object.entries(files)) writeFileSync(tmp.file(name), f.bytes);
});

/** Opens and reads a damaged copy: a clean error, or rows of the right width, finite. */
async function expectCleanRead(name: string, bytes: Buffer, columns: number, binary: boolean, options?: object): Promise<void> {
  const path = tmp.file(`damaged-${name}`);
  writeFileSync(path, bytes);
  const r = await outcome(async () => readAll(await openData(path, { ...options, ...(name.endsWith('.libsvm') ? { columns: 3 } : {}) })));
  if (!r.ok) {
    expectCleanError(r.error);
    // A DataFileError names the file.
    if ((r.error as Error).name === 'DataFileError') expect((r.error as Error).message).toContain(path);
    return;
  }
  if (binary && bytes.length < files[name].bytes.length) throw new Error(`${name} truncated to ${bytes.length} bytes was read without an error`);
  const X = r.value.X;
  const width = X.shape.slice(1).reduce((a, b) => a * b, 1);
  expect(width).toBe(columns);
  expect(X.shape[0]).toBe(r.value.rows);
  expectFinite(X.data);
  if (r.value.y) expectFinite(r.value.y.data);
}

describe('fuzz: truncated and damaged data files', () => {
  for (const name of ['x.npy', 'x.csv', 'x.libsvm', 'x.idx']) {
    it(`${name}: truncated at every byte`, async () => {
      const f = files[name];
      for (let cut = 0; cut < f.bytes.length; cut++) await expectCleanRead(name, f.bytes.subarray(0, cut), f.columns, f.binary, f.options);
    });

    it(`${name}: one byte changed`, async () => {
      const f = files[name];
      await fc.assert(
        fc.asyncProperty(fc.nat(f.bytes.length - 1), fc.integer({ min: 0, max: 255 }), async (at, byte) => {
          const copy = Buffer.from(f.bytes);
          copy[at] = byte;
          // A changed byte may leave a valid file (of another length, for text): not a truncation.
          await expectCleanRead(name, copy, f.columns, false, f.options);
        }),
        fuzzParams(),
      );
    });
  }
});

describe('fuzz: damaged model files', () => {
  let model: Buffer;
  beforeAll(async () => {
    const map = new NTKSketch({ inputDim: d, depth: 1, features: 8, seed: 1 });
    const fitted = await new FeatureRidge({ map, lambda: 0.1 }).fit({ data: values, shape: [n, d] }, Float64Array.from({ length: n }, (_, i) => i));
    await saveModel(tmp.file('m.ntkmodel'), fitted, { columns: d, targetNames: ['y'], ranges: [{ file: 'x.csv', begin: 0, end: n }] });
    model = readFileSync(tmp.file('m.ntkmodel'));
  });

  async function expectCleanLoad(bytes: Buffer, truncated: boolean): Promise<void> {
    const path = tmp.file('damaged.ntkmodel');
    writeFileSync(path, bytes);
    const r = await outcome(() => loadModel(path));
    if (!r.ok) {
      expectCleanError(r.error);
      expect((r.error as Error).message).toContain('damaged.ntkmodel');
      return;
    }
    if (truncated) throw new Error(`a model file truncated to ${bytes.length} bytes loaded`);
    const pred = await outcome(() => r.value.model.predict({ data: values, shape: [n, d] }));
    if (!pred.ok) return expectCleanError(pred.error);
    expect(pred.value.shape[0]).toBe(n);
    expectFinite(pred.value.data);
  }

  it('truncated at every byte (the header and the map document every byte, the blocks every 64th)', async () => {
    for (let cut = 0; cut < model.length; cut += cut < 1024 ? 1 : 64) await expectCleanLoad(model.subarray(0, cut), true);
  });

  it('a header length or block length near 4 GiB (found by the long run: Node aborted the process on the read)', async () => {
    const huge = Buffer.from(model);
    huge.writeUInt32LE(0xfffffff0, 12);
    await expectCleanLoad(huge, true);
    const text = model.toString('latin1');
    const at = text.indexOf('"length":');
    if (at > 0) {
      const big = Buffer.from(text.slice(0, at) + '"length":9' + text.slice(at + '"length":'.length), 'latin1');
      await expectCleanLoad(big, false);
    }
  });

  it('one byte changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(model.length - 1), fc.integer({ min: 0, max: 255 }), async (at, byte) => {
        const copy = Buffer.from(model);
        copy[at] = byte;
        await expectCleanLoad(copy, false);
      }),
      fuzzParams(Math.max(FUZZ_RUNS, 100)),
    );
  });
});
