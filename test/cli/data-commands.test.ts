// The file subcommands end to end, as a user runs them: transform writes
// features that NumPy reads bit for bit as the library computes them; fit +
// predict give what scikit-learn's Ridge gives on those features; bad files
// and flags fail with a clear message, the right exit code and no output
// left behind.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CNTKSketch, KernelRidgeRegression, NTKSketch, mapFromJSON, ntkKernel, openData, readAll, writeData } from '../../src/index.js';
import { findPython, runPython } from '../helpers/python.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ntk-cli-'));
const file = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Regression data: rows of d values and a smooth target with an offset. */
function table(n: number, d: number, seed: number): { X: Float64Array; y: Float64Array; csv: string } {
  let s = seed;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const X = Float64Array.from({ length: n * d }, u);
  const y = Float64Array.from({ length: n }, (_, i) => 3 + Math.sin(2 * X[i * d]) + X[i * d + 1] * X[i * d + 2]);
  const lines = [[...Array.from({ length: d }, (_, j) => `x${j}`), 'y'].join(',')];
  for (let i = 0; i < n; i++) lines.push([...X.subarray(i * d, (i + 1) * d), y[i]].map((v) => String(v)).join(','));
  return { X, y, csv: `${lines.join('\n')}\n` };
}

const d = 8;
const train = table(300, d, 1), test = table(120, d, 2);
writeFileSync(file('train.csv'), train.csv);
writeFileSync(file('test.csv'), test.csv);
const sha = (a: ArrayBufferView) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const numpy = findPython(['numpy']);
const sklearn = findPython(['numpy', 'sklearn']);

describe('ntk-sketch transform / fit / predict / evaluate', () => {
  it('transform: NumPy reads the features bit for bit as the library computes them; the map and targets lie beside them', async () => {
    const r = cli('transform', '--data', file('train.csv'), '--target', 'y', '--method', 'ntk-rf', '--features', '64', '--depth', '2', '--seed', '3', '--dtype', 'float64', '--out', file('train.npy'), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ command: 'transform', rows: 300, columns: d, map: 'NTKRandomFeatures', features: 64, dtype: 'float64', seed: 3 });
    // Where the time went: every phase measured, none more than the whole.
    for (const phase of ['readSeconds', 'transformSeconds', 'writeSeconds']) {
      expect(summary[phase]).toBeGreaterThan(0);
      expect(summary[phase]).toBeLessThan(summary.seconds);
    }
    const map = mapFromJSON(readFileSync(file('train.map.json'), 'utf8'));
    const expected = map.transformSync({ data: train.X, shape: [300, d] }).data;
    const ours = await readAll(await openData(file('train.npy')));
    expect(sha(ours.X.data)).toBe(sha(expected));
    expect(Array.from((await readAll(await openData(file('train.targets.npy')))).X.data)).toEqual(Array.from(train.y));
    if (numpy.exe === null) return console.warn(`skipped the NumPy half: ${numpy.missing}`);
    const out = runPython(numpy.exe, 'import numpy as np, sys, hashlib\na = np.load(sys.argv[1])\nprint(a.shape, a.dtype, hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())', file('train.npy'));
    expect(out.trim()).toBe(`(300, 64) float64 ${sha(expected)}`);
  });

  it('fit + predict give what scikit-learn Ridge (same lambda, with an intercept) predicts on the exported features', async () => {
    expect(cli('fit', '--data', file('train.csv'), '--target', 'y', '--map', file('train.map.json'), '--lambda', '0.5', '--out', file('model.json')).code).toBe(0);
    expect(cli('transform', '--data', file('test.csv'), '--target', 'y', '--map', file('train.map.json'), '--out', file('test.npy')).code).toBe(0);
    const p = cli('predict', '--model', file('model.json'), '--data', file('test.csv'), '--out', file('pred.npy'), '--json');
    expect(p.stderr).toBe('');
    expect(JSON.parse(p.stdout)).toMatchObject({ command: 'predict', rows: 120, task: 'regression' });
    const pred = (await readAll(await openData(file('pred.npy')))).X.data;
    expect(pred.length).toBe(120);
    // evaluate on the same file: R^2 well above 0 (the target is smooth).
    const e = JSON.parse(cli('evaluate', '--model', file('model.json'), '--data', file('test.csv'), '--json').stdout);
    expect(e.r2).toBeGreaterThan(0.5);
    let sse = 0;
    for (let i = 0; i < 120; i++) sse += (pred[i] - test.y[i]) ** 2;
    expect(e.mse).toBeCloseTo(sse / 120, 10);
    if (sklearn.exe === null) return console.warn(`skipped the scikit-learn half: ${sklearn.missing}`);
    const code = [
      'import numpy as np, sys',
      'from sklearn.linear_model import Ridge',
      'Xtr, ytr, Xte = (np.load(f) for f in sys.argv[1:4])',
      'm = Ridge(alpha=0.5, fit_intercept=True, solver="cholesky").fit(Xtr, ytr.ravel())',
      'sys.stdout.write(" ".join(repr(v) for v in m.predict(Xte)))',
    ].join('\n');
    const skl = runPython(sklearn.exe, code, file('train.npy'), file('train.targets.npy'), file('test.npy')).trim().split(' ').map(Number);
    let worst = 0, scale = 0;
    for (let i = 0; i < 120; i++) {
      worst = Math.max(worst, Math.abs(skl[i] - pred[i]));
      scale = Math.max(scale, Math.abs(skl[i]));
    }
    expect(worst).toBeLessThan(1e-6 * scale);
  });

  it('fit chooses lambda on validation rows; classification predicts labels; images and LIBSVM go through the right maps', async () => {
    const f = JSON.parse(cli('fit', '--data', file('train.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '128', '--depth', '1', '--validation', '0.2', '--out', file('m2.json'), '--json').stdout);
    expect(f.lambda).toBeGreaterThan(0);
    expect(f.lambdaPath).toHaveLength(9);
    expect(f.validationMse).toBe(Math.min(...f.lambdaPath.map((p: { mse: number }) => p.mse)));
    expect(f.lambdaPathInfo).toEqual({ solver: 'eigen', iterations: 0, converged: true, unsettled: 0 });
    // --lambda-path krylov: the same choice here (errors settle to 1e-6), its steps reported.
    const kf = JSON.parse(cli('fit', '--data', file('train.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '128', '--depth', '1', '--validation', '0.2', '--lambda-path', 'krylov', '--out', file('m2k.json'), '--json').stdout);
    expect(kf.lambdaPathInfo.solver).toBe('krylov');
    expect(kf.lambdaPathInfo.iterations).toBeGreaterThan(0);
    expect(kf.lambda).toBe(f.lambda);
    // Classification: labels 7 and 9 by the sign of the target's deviation.
    const labels = Float64Array.from(train.y, (v) => (v > 3 ? 9 : 7));
    await writeData(file('labels.npy'), labels);
    await writeData(file('train-x.npy'), { data: train.X, shape: [300, d] });
    const c = JSON.parse(cli('fit', '--data', file('train-x.npy'), '--labels', file('labels.npy'), '--task', 'classification', '--method', 'ntk-sketch', '--features', '128', '--depth', '1', '--out', file('m3.json'), '--json').stdout);
    expect([...c.classes].sort()).toEqual([7, 9]);
    const acc = JSON.parse(cli('evaluate', '--model', file('m3.json'), '--data', file('train-x.npy'), '--labels', file('labels.npy'), '--json').stdout);
    expect(acc.accuracy).toBeGreaterThan(0.8);
    // 4-D images through CNTKSketch: the library's features.
    const images = Float32Array.from({ length: 10 * 2 * 6 * 6 }, (_, i) => Math.sin(0.37 * i));
    await writeData(file('images.npy'), { data: images, shape: [10, 2 * 6 * 6] });
    const img = cli('transform', '--data', file('images.npy'), '--method', 'cntk-sketch', '--image-shape', '2,6,6', '--features', '32', '--depth', '1', '--out', file('img.npy'));
    expect(img.stderr).toBe('');
    const cntk = new CNTKSketch({ inputShape: [2, 6, 6], depth: 1, filterSize: 3, padding: 'same', features: 32 });
    expect(sha((await readAll(await openData(file('img.npy'), { dtype: 'float32' }))).X.data)).toBe(sha(cntk.transformSync({ data: images, shape: [10, 2, 6, 6] }).data));
    // LIBSVM rows into CSR: the library's features of the same dense rows.
    writeFileSync(file('rows.svm'), '1 1:0.5 3:-1\n0 2:2 4:0.25\n1 4:1\n');
    expect(cli('transform', '--data', file('rows.svm'), '--method', 'ntk-sketch', '--features', '16', '--depth', '2', '--out', file('svm.npy')).code).toBe(0);
    const dense = Float64Array.of(0.5, 0, -1, 0, 0, 2, 0, 0.25, 0, 0, 0, 1);
    const sketch = new NTKSketch({ inputDim: 4, depth: 2, features: 16 });
    expect(sha((await readAll(await openData(file('svm.npy'), { dtype: 'float32' }))).X.data)).toBe(sha(sketch.transformSync({ data: dense, shape: [3, 4] }).data));
    // --sketch-dim reaches the map (and its saved document).
    expect(cli('transform', '--data', file('rows.svm'), '--method', 'ntk-sketch', '--features', '16', '--depth', '2', '--sketch-dim', '64', '--out', file('svm64.npy')).code).toBe(0);
    expect(JSON.parse(readFileSync(file('svm64.map.json'), 'utf8')).sketchDim).toBe(64);
  });

  it('fit --method exact-ntk: kernel ridge with the exact NTK (centred targets), predicting what the library computes', async () => {
    const f = cli('fit', '--data', file('train.csv'), '--target', 'y', '--method', 'exact-ntk', '--depth', '2', '--lambda', '0.01', '--out', file('exact.ntkm'), '--json');
    expect(f.stderr).toBe('');
    expect(JSON.parse(f.stdout)).toMatchObject({ rows: 300, method: 'exact-ntk', depth: 2, lambda: 0.01, map: null });
    expect(cli('predict', '--model', file('exact.ntkm'), '--data', file('test.csv'), '--out', file('exact.npy')).code).toBe(0);
    const pred = (await readAll(await openData(file('exact.npy')))).X.data;
    // The reference: K alpha = y - mean(y), predictions K(test, train) alpha + mean(y).
    const mean = train.y.reduce((a, b) => a + b, 0) / 300;
    const K = (await ntkKernel({ data: train.X, shape: [300, d] }, null, { depth: 2, output: 'ntk' })).ntk;
    const model = await new KernelRidgeRegression({ lambda: 0.01 }).fit(K, { data: Float64Array.from(train.y, (v) => v - mean), shape: [300, 1] });
    const Kt = (await ntkKernel({ data: test.X, shape: [120, d] }, { data: train.X, shape: [300, d] }, { depth: 2, output: 'ntk' })).ntk;
    const expected = (await model.predict(Kt)).data.map((v) => v + mean);
    let worst = 0;
    for (let i = 0; i < 120; i++) worst = Math.max(worst, Math.abs(pred[i] - expected[i]) / Math.abs(expected[i]));
    expect(worst).toBeLessThan(1e-10);
    expect(JSON.parse(cli('evaluate', '--model', file('exact.ntkm'), '--data', file('test.csv'), '--json').stdout).r2).toBeGreaterThan(0.5);
    expect(cli('fit', '--data', file('train.csv'), '--target', 'y', '--method', 'exact-ntk', '--depth', '2', '--features', '8', '--out', file('x.ntkm')).stderr).toMatch(/--features does not apply to --method exact-ntk/);
    expect(cli('fit', '--data', file('test.csv'), '--target', 'y', '--continue', file('exact.ntkm'), '--out', file('x.ntkm')).stderr).toMatch(/holds an exact kernel model .* cannot continue a fit/);
  });

  it('bad files and flags: a message naming the file and line or the flag, exit 1 or 2, no output left behind', () => {
    writeFileSync(file('bad.csv'), 'a,b,y\n1,2,3\n4,5,6\n7,x,9\n');
    const before = readdirSync(dir).length;
    const bad = cli('transform', '--data', file('bad.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--out', file('bad.npy'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad\.csv, line 4, column 1: .*"x"/);
    expect(readdirSync(dir).length).toBe(before); // no bad.npy, bad.map.json, bad.targets.npy or temporary file
    const asJson = cli('transform', '--data', file('bad.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--out', file('bad.npy'), '--json');
    expect(asJson.stdout).toBe('');
    expect(JSON.parse(asJson.stderr)).toMatchObject({ kind: 'data', file: file('bad.csv'), line: 4 });
    const usage = (args: string[], pattern: RegExp) => {
      const r = cli(...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(pattern);
    };
    usage(['transform', '--data', file('train.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '8', '--depth', '99', '--out', file('x.npy')], /--depth must be/);
    usage(['transform', '--data', file('train.csv'), '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--filter', '3', '--out', file('x.npy')], /--filter applies to --method cntk-sketch only/);
    usage(['transform', '--data', file('train.csv'), '--map', file('train.map.json'), '--features', '8', '--out', file('x.npy')], /--features does not apply with --map/);
    usage(['transform', '--data', file('train-x.npy'), '--map', file('img.map.json'), '--out', file('x.npy')], /the map reads images \[2, 6, 6\] of 72 values, but the rows of .*train-x\.npy have 8/);
    usage(['fit', '--data', file('train.csv'), '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--out', file('x.json')], /gives no targets/);
    usage(['transform', '--data', file('train.csv'), '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--out', file('x.npy'), '--bogus'], /Unknown option '--bogus'/);
    usage(['frobnicate'], /unknown command 'frobnicate'/);
    usage(['fit', '--data', file('train.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--lambda-path', 'qr', '--out', file('x.json')], /--lambda-path must be auto, eigen, krylov or cholesky, got 'qr'/);
    usage(['fit', '--data', file('train.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--lambda-path', 'krylov', '--lambda', '1', '--out', file('x.json')], /--lambda-path chooses lambda/);
    usage(['transform', '--data', file('train.csv'), '--method', 'ntk-rf', '--features', '8', '--depth', '1', '--sketch-dim', '64', '--out', file('x.npy')], /--sketch-dim applies to --method ntk-sketch or cntk-sketch/);
    usage(['transform', '--data', file('train.csv'), '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--sketch-dim', '4', '--out', file('x.npy')], /--sketch-dim must be/);
    const unwritable = cli('transform', '--data', file('train.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '8', '--depth', '1', '--out', join(dir, 'missing', 'f.npy'));
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/missing.*f\.npy.*directory does not exist/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(cli('--version').stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });
});
