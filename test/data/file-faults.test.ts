// I/O faults: a full disk (a 64 KiB tmpfs when the tests run as root, else
// an injected ENOSPC in test/data/file-faults-enospc.test.ts), a read-only
// directory, a file that shrinks or vanishes while it is read, and a CLI run
// killed while it writes: a clear error naming the file, and never a partial
// file under the final name.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFileError, openData, writeData } from '../../src/index.js';
import { tempDir } from './file-helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = tempDir('ntk-faults-');
const isRoot = process.getuid?.() === 0;

/** Mounts a tmpfs of `size` (options `extra`) at a new directory; null when that is not possible (not root, no mount). */
function mountTmpfs(name: string, options: string): string | null {
  if (!isRoot || process.platform !== 'linux') return null;
  const dir = tmp.file(name);
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  return r.status === 0 ? dir : null;
}
const mounted: string[] = [];
afterAll(() => {
  for (const dir of mounted) spawnSync('umount', [dir]);
  tmp.remove();
});

const big = (n: number, d: number) => ({ data: Float64Array.from({ length: n * d }, (_, i) => Math.sin(i)), shape: [n, d] });

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

describe('file faults', () => {
  let full: string | null = null;
  let readOnly: string | null = null;
  beforeAll(async () => {
    full = mountTmpfs('full', 'size=64k');
    if (full) mounted.push(full);
    readOnly = mountTmpfs('ro', 'ro,size=64k');
    if (readOnly) mounted.push(readOnly);
    else {
      // Not root: a directory without write permission does the same.
      readOnly = tmp.file('ro');
      mkdirSync(readOnly);
      chmodSync(readOnly, 0o555);
    }
    await writeData(tmp.file('rows.csv'), big(2000, 4), { header: ['a', 'b', 'c', 'y'] });
  });

  it.skipIf(!isRoot)('a full disk (64 KiB tmpfs): writeData and the CLI fail with "no space left" naming the file; nothing is left behind', async () => {
    if (!full) return;
    const out = join(full, 'x.npy');
    const error = await writeData(out, big(20_000, 4)).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as Error).message).toMatch(new RegExp(`${out}.*no space left on the device`));
    expect(readdirSync(full)).toEqual([]);
    const r = cli('transform', '--data', tmp.file('rows.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '256', '--depth', '1', '--out', join(full, 'f.npy'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/f\.npy.*no space left on the device/);
    expect(readdirSync(full)).toEqual([]);
  });

  it('a read-only directory: a clear error naming the file, nothing written', async () => {
    const out = join(readOnly!, 'x.csv');
    const error = await writeData(out, big(3, 2)).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as Error).message).toMatch(new RegExp(`${out}: cannot write: (the file system is read-only|permission denied)`));
    expect(existsSync(out)).toBe(false);
    const r = cli('fit', '--data', tmp.file('rows.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '32', '--depth', '1', '--lambda', '0.1', '--out', join(readOnly!, 'model'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/model.*(read-only|permission denied)/);
    expect(readdirSync(readOnly!)).toEqual([]);
  });

  it('a .npy file truncated while it is read: a DataFileError naming the file and the rows it lacks', async () => {
    const path = tmp.file('shrinks.npy');
    await writeData(path, big(4000, 8));
    const source = await openData(path);
    const seen: number[] = [];
    const error = await (async () => {
      for await (const batch of source.batches(500)) {
        seen.push(batch.X.shape[0]);
        if (seen.length === 1) truncateSync(path, 10_000);
      }
    })().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as Error).message).toContain(path);
    expect(seen).toEqual([500]);
  });

  it('a CSV file deleted while it is read: the open file is read to its end (the rows are all there) or a DataFileError names it', async () => {
    const path = tmp.file('vanishes.csv');
    await writeData(path, big(3000, 3));
    const source = await openData(path, { header: false });
    let rows = 0;
    const error = await (async () => {
      for await (const batch of source.batches(200)) {
        rows += batch.X.shape[0];
        if (existsSync(path)) unlinkSync(path);
      }
    })().then(() => null, (e: unknown) => e);
    if (error) expect((error as Error).message).toContain(path);
    else expect(rows).toBe(3000);
    // A new pass cannot open it: a DataFileError naming it.
    const again = await (async () => { for await (const _ of source.batches()) { /* nothing */ } })().then(() => null, (e: unknown) => e);
    expect(again).toBeInstanceOf(DataFileError);
    expect((again as Error).message).toContain(path);
  });

  it('the CLI killed while it writes its output: no file under the final name (only its hidden temporary file)', async () => {
    const dir = tmp.file('killed');
    mkdirSync(dir);
    const out = join(dir, 'features.npy');
    await writeData(tmp.file('many.csv'), big(40_000, 4), { header: ['a', 'b', 'c', 'y'] });
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'transform', '--data', tmp.file('many.csv'), '--target', 'y',
      '--method', 'ntk-sketch', '--features', '2048', '--depth', '2', '--batch-rows', '500', '--out', out], { cwd: root, stdio: 'ignore' });
    // Kill it once its temporary output exists and has grown.
    const killed = await new Promise<boolean>((resolve) => {
      const poll = setInterval(() => {
        const temp = readdirSync(dir).find((f) => f.endsWith('.tmp'));
        if (temp) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve(true);
        }
      }, 20);
      child.on('exit', () => { clearInterval(poll); resolve(false); });
    });
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on('exit', resolve)));
    expect(killed).toBe(true);
    expect(existsSync(out)).toBe(false);
    // Besides hidden temporary files, only complete files: the map saved beside the features.
    for (const f of readdirSync(dir)) {
      if (f.startsWith('.') && f.endsWith('.tmp')) continue;
      expect(f).toBe('features.map.json');
      expect(() => JSON.parse(readFileSync(join(dir, f), 'utf8'))).not.toThrow();
    }
  }, 120_000);
});
