// A full disk without a size-limited file system: the file handle's writes
// fail with ENOSPC past the first 4 KiB (an injected fault, so this runs
// anywhere). The writers must report it naming the file and leave nothing.
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DataFileError, createNpyWriter, writeData, writeTextFile } from '../../src/index.js';
import { tempDir } from './file-helpers.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof fs.open = async (...args: Parameters<typeof fs.open>) => {
    const fh = await fs.open(...args);
    let written = 0;
    const write = fh.write.bind(fh) as (...a: unknown[]) => Promise<{ bytesWritten: number }>;
    (fh as unknown as { write: unknown }).write = async (...a: unknown[]) => {
      const length = typeof a[2] === 'number' ? a[2] : (a[0] as { length: number }).length;
      if (written + length > 4096) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      const r = await write(...a);
      written += r.bytesWritten;
      return r;
    };
    return fh;
  };
  return { ...fs, open, default: { ...fs, open } };
});

const tmp = tempDir('ntk-enospc-');
afterAll(() => tmp.remove());

describe('file faults: injected ENOSPC', () => {
  it('writeData, a streaming .npy writer and writeTextFile fail with "no space left" naming the file; nothing is left', async () => {
    const rows = { data: new Float64Array(8192), shape: [1024, 8] };
    for (const name of ['a.npy', 'a.csv']) {
      const path = tmp.file(name);
      const error = await writeData(path, rows).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(DataFileError);
      expect((error as Error).message).toBe(`${path}: cannot write: no space left on the device`);
    }
    const path = tmp.file('stream.npy');
    const writer = await createNpyWriter(path, { columns: 8 });
    await writer.write({ data: new Float64Array(256), shape: [32, 8] });
    await expect(writer.write(rows)).rejects.toThrow(`${path}: cannot write: no space left on the device`);
    await expect(writeTextFile(tmp.file('doc.json'), 'x'.repeat(10_000))).rejects.toThrow(/doc\.json: cannot write: no space left on the device/);
    expect(readdirSync(tmp.dir)).toEqual([]);
  });
});
