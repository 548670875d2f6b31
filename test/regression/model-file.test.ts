// Model files and merged fits: a saved model predicts the same, continues
// partialFit into the model an uninterrupted fit gives, and merges with the
// models of other rows into the model of all rows; damaged, foreign and
// incompatible files are refused with the reason and nothing is written.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureRidge, NTKSketch, loadModel, mergeModelFiles, saveModel } from '../../src/index.js';
import { randomMatrix } from '../reference/dense-solve.js';

const dir = mkdtempSync(join(tmpdir(), 'ntk-model-'));
const file = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const d = 5, n = 300;
const X = randomMatrix(n, d, 4);
const Y = Float64Array.from({ length: n * 2 }, (_, i) => 1 + Math.cos(X[Math.floor(i / 2) * d + (i % 2)] * 2));
const rows = (b: number, e: number) => ({ data: X.subarray(b * d, e * d), shape: [e - b, d] });
const targets = (b: number, e: number) => ({ data: Y.subarray(b * 2, e * 2), shape: [e - b, 2] });
const newMap = () => new NTKSketch({ inputDim: d, depth: 2, features: 48, seed: 7 });
const data = (b: number, e: number) => ({ columns: d, targetNames: ['y0', 'y1'], ranges: [{ file: 'rows.csv', begin: b, end: e }] });

async function fitRows(b: number, e: number, map = newMap()): Promise<FeatureRidge> {
  const model = new FeatureRidge({ map, validation: 0.2, seed: 1 });
  for (let s = b; s < e; s += 70) await model.partialFit(rows(s, Math.min(e, s + 70)), targets(s, Math.min(e, s + 70)), s);
  return model;
}

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
};

describe('model files', () => {
  it('save and load: the same predictions; a loaded model continues partialFit into the uninterrupted fit', async () => {
    const whole = await fitRows(0, n);
    await whole.solve();
    const expected = (await whole.predict(rows(0, n))).data;

    const first = await fitRows(0, 140);
    await first.solve();
    await saveModel(file('first.ntkm'), first, data(0, 140));
    const loaded = await loadModel(file('first.ntkm'));
    expect(Array.from((await loaded.model.predict(rows(0, 50))).data)).toEqual(Array.from((await first.predict(rows(0, 50))).data));
    expect(loaded.data).toEqual(data(0, 140));
    for (let s = 140; s < n; s += 70) await loaded.model.partialFit(rows(s, Math.min(n, s + 70)), targets(s, Math.min(n, s + 70)), s);
    await loaded.model.solve();
    expect(loaded.model.lambda).toBe(whole.lambda);
    // The same statistics, accumulated in the same order: the same bits.
    expect(Array.from((await loaded.model.predict(rows(0, n))).data)).toEqual(Array.from(expected));
    expect((await loaded.model.score(rows(0, n), targets(0, n))) as { r2: number }).toMatchObject({ r2: expect.any(Number) });
  });

  it('merges the models of disjoint rows into the model of all rows (library and files), and refuses what does not fit together', async () => {
    const whole = await fitRows(0, n);
    await whole.solve();
    const expected = (await whole.predict(rows(0, n))).data;
    const parts = [await fitRows(0, 100), await fitRows(100, 220), await fitRows(220, n)];
    const merged = await FeatureRidge.merge(parts);
    expect(merged.rows).toBe(n);
    expect(relDiff((await merged.predict(rows(0, n))).data, expected)).toBeLessThan(1e-10);
    const paths = [];
    for (const [i, [b, e]] of [[0, 100], [100, 220], [220, n]].entries()) {
      await saveModel(file(`part-${i}.ntkm`), parts[i], data(b, e));
      paths.push(file(`part-${i}.ntkm`));
    }
    const fromFiles = await mergeModelFiles([paths[2], paths[0], paths[1]], file('merged.ntkm'));
    expect(fromFiles.data.ranges).toHaveLength(3);
    const reloaded = await loadModel(file('merged.ntkm'));
    expect(relDiff((await reloaded.model.predict(rows(0, n))).data, expected)).toBeLessThan(1e-10);

    const before = readdirSync(dir).length;
    await expect(mergeModelFiles([paths[0], paths[2]], file('gap.ntkm'))).rejects.toThrow(/rows \[100, 220\) of rows\.csv are in no part/);
    await expect(mergeModelFiles([paths[0], paths[0]], file('twice.ntkm'))).rejects.toThrow(/the parts overlap: rows \[0, 100\) of rows\.csv were fitted twice/);
    const other = new FeatureRidge({ map: new NTKSketch({ inputDim: d, depth: 2, features: 48, seed: 8 }), validation: 0.2, seed: 1 });
    await other.partialFit(rows(100, 300), targets(100, 300), 100);
    await saveModel(file('other.ntkm'), other, data(100, 300));
    await expect(mergeModelFiles([paths[0], file('other.ntkm')], file('x.ntkm'))).rejects.toThrow(/other\.ntkm: cannot be merged with .*part-0\.ntkm: it was fitted on another map/);
    const lambda = new FeatureRidge({ map: newMap(), lambda: 1 });
    await lambda.partialFit(rows(100, 300), targets(100, 300));
    await saveModel(file('lambda.ntkm'), lambda, data(100, 300));
    await expect(mergeModelFiles([paths[0], file('lambda.ntkm')], file('x.ntkm'))).rejects.toThrow(/its lambda is 1, not null/);
    expect(readdirSync(dir).length).toBe(before + 2); // other.ntkm and lambda.ntkm; no merged output
    await expect(FeatureRidge.merge([])).rejects.toThrow(/at least one model/);
  });

  it('refuses truncated, corrupted, foreign and future files, naming the file', async () => {
    const model = await fitRows(0, 100);
    await model.solve();
    await saveModel(file('ok.ntkm'), model, data(0, 100));
    const bytes = readFileSync(file('ok.ntkm'));
    const variant = (name: string, change: (b: Buffer) => Buffer) => {
      writeFileSync(file(name), change(Buffer.from(bytes)));
      return file(name);
    };
    await expect(loadModel(variant('short.ntkm', (b) => b.subarray(0, b.length - 100)))).rejects.toThrow(/short\.ntkm: is truncated/);
    await expect(loadModel(variant('flip.ntkm', (b) => { b[b.length - 500] ^= 1; return b; }))).rejects.toThrow(/flip\.ntkm: is corrupted: its checksum does not match/);
    await expect(loadModel(variant('long.ntkm', (b) => Buffer.concat([b, Buffer.from([0])])))).rejects.toThrow(/bytes after its end/);
    await expect(loadModel(variant('magic.ntkm', (b) => { b.write('XXXX', 0); return b; }))).rejects.toThrow(/is not an ntk-sketch model file/);
    await expect(loadModel(variant('v2.ntkm', (b) => { b.writeUInt32LE(2, 8); return b; }))).rejects.toThrow(/model file version 2 is not supported \(this version of ntk-sketch reads version 1\)/);
    await expect(loadModel(file('missing.ntkm'))).rejects.toThrow(/missing\.ntkm: cannot read the model/);
  });
});
