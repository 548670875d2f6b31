// Writers and sketch primitives on generated inputs: a clean error (and, for
// writers, no file under the final name) or a correct result.
import fc from 'fast-check';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type DataWriter, countSketch, createCsvWriter, createNpyWriter, openData, polySketch, readAll, srht, walshHadamard, writeData } from '../../src/index.js';
import { tempDir } from '../data/file-helpers.js';
import { badOptionValue, csrOf, csrValues, expectCleanError, expectFinite, fuzzParams, matrixCase, outcome } from './fuzz-helpers.js';

const tmp = tempDir('ntk-fuzz-writers-');
afterAll(() => tmp.remove());
const n = 3, d = 4;

describe('fuzz: writers', () => {
  let k = 0;
  it('rows of any kind: a clean error and no file (nor temporary file) left, or a file that reads back the same rows', async () => {
    await fc.assert(
      // writeData takes its width from the rows: another width or a vector is a valid write.
      fc.asyncProperty(matrixCase(n, d, ['wrong columns', 'shape 1-d']), fc.constantFrom('npy', 'csv'), async (c, format) => {
        const path = tmp.file(`w${k++}.${format}`);
        const r = await outcome(() => writeData(path, c.value as never));
        if (c.rows === null) {
          expect(r.ok, c.label).toBe(false);
          if (!r.ok) expectCleanError(r.error, /rows/);
          expect(existsSync(path)).toBe(false);
          expect(readdirSync(tmp.dir).filter((f) => f.startsWith(`w${k - 1}.`) || f.includes('.tmp'))).toEqual([]);
          return;
        }
        if (!r.ok) throw r.error;
        const back = await readAll(await openData(path, format === 'csv' ? { header: false } : {}));
        expect(back.X.shape).toEqual([n, d]);
        const want = c.rows;
        // Exact round trip (CSV writes the shortest text that reads back the same double; -0 may come back as 0).
        for (let i = 0; i < n * d; i++) expect(back.X.data[i] === want[i], `${back.X.data[i]} vs ${want[i]}`).toBe(true);
      }),
      fuzzParams(),
    );
  });

  it('writer options with wrong values or unknown keys: a clean error naming them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('columns', 'dtype', 'header', 'delimiter', 'bogus'), badOptionValue, fc.constantFrom('npy', 'csv'), async (key, value, format) => {
        const path = tmp.file(`o${k++}.${format}`);
        const options = { columns: 2, [key]: value } as never;
        const r = await outcome<DataWriter>(() => (format === 'npy' ? createNpyWriter(path, options) : createCsvWriter(path, options)));
        if (!r.ok) return expectCleanError(r.error, new RegExp(key));
        await r.value.abort();
        expect(existsSync(path)).toBe(false);
      }),
      fuzzParams(),
    );
  });
});

describe('fuzz: sketch primitives', () => {
  it('countSketch / srht / polySketch / walshHadamard on matrices of any kind and bad options: clean error or finite n x outDim', async () => {
    await fc.assert(
      fc.asyncProperty(
        // A primitive takes any number of columns.
        fc.oneof(matrixCase(n, d, ['wrong columns']).map((c) => [c.value, c.rows !== null] as const), csrValues(n, d).map((v) => [csrOf(v, n, d), true] as const)),
        fc.constantFrom('countSketch', 'srht', 'polySketch', 'walshHadamard'),
        fc.oneof(fc.integer({ min: 1, max: 64 }), badOptionValue),
        async ([X, valid], fn, dim) => {
          const r = await outcome(() => {
            switch (fn) {
              case 'countSketch': return countSketch(X as never, { outDim: dim as number, seed: 1 });
              case 'srht': return srht(X as never, { outDim: dim as number, seed: 1 });
              case 'polySketch': return polySketch(X as never, { degree: 2, sketchDim: dim as number, seed: 1 });
              default: return walshHadamard(X as never);
            }
          });
          if (!r.ok) return expectCleanError(r.error, /X|outDim|sketchDim|degree|power of two/);
          expect(valid).toBe(true);
          expect(r.value.shape[0]).toBe(n);
          expectFinite(r.value.data);
        },
      ),
      fuzzParams(),
    );
  });
});
