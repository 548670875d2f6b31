/**
 * Helpers of the data-file tests: temporary directories, NumPy through
 * Python, byte-level comparisons and concatenation of batches.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataBatch, DataSource } from '../../src/data/readers/index.js';
import { findPython, runPython } from '../helpers/python.js';

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'ntk-data-'): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const numpy = findPython(['numpy']);

/** Why NumPy tests are skipped, or null when a Python with numpy runs. */
export const numpyMissing: string | null = numpy.missing;

/** Runs Python code (numpy imported as np; argv[1..] = args) and returns its stdout. */
export function python(code: string, ...args: string[]): string {
  if (numpy.exe === null) throw new Error(numpy.missing);
  return runPython(numpy.exe, `import numpy as np, sys\n${code}`, ...args);
}

export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A deterministic pseudo-random generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Every batch of a source, with the concatenated dense X (or CSR converted to dense) and y. */
export async function collect(source: DataSource, batchRows?: number) {
  const batches: DataBatch[] = [];
  for await (const b of source.batches(batchRows)) batches.push(b);
  const rows = batches.reduce((s, b) => s + b.X.shape[0], 0);
  const d = source.columns;
  const X = new Float64Array(rows * d);
  let r = 0;
  for (const b of batches) {
    const n = b.X.shape[0];
    if ('indptr' in b.X) {
      for (let i = 0; i < n; i++) {
        for (let p = b.X.indptr[i]; p < b.X.indptr[i + 1]; p++) X[(r + i) * d + b.X.indices[p]] = b.X.data[p];
      }
    } else {
      X.set(b.X.data, r * d);
    }
    r += n;
  }
  const k = source.targetNames.length;
  let y: Float64Array | null = null;
  if (k > 0) {
    y = new Float64Array(rows * k);
    let at = 0;
    for (const b of batches) {
      y.set(b.y!.data, at);
      at += b.y!.data.length;
    }
  }
  return { batches, rows, X, y };
}
