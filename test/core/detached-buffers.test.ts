// Detaching (transferring) an input's or a caller-supplied output's
// ArrayBuffer while an async call runs: the job reads a private copy of its
// inputs taken at the call, so the result is that of the values at the call;
// a detached `out` is a TypeError, never a write into memory that now
// belongs to someone else (core/job-inputs.ts). The last test frees the
// transferred memory (a forced GC) while the job runs: before these copies
// that read garbage or crashed the process.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CNTKSketch, KernelRidgeRegression, NTKSketch, RidgeRegression, cntkKernel, ntkKernel } from '../../src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Transfers the buffer of `a` away and overwrites it in its new owner; `a` is left detached. */
function detachAndScribble(a: Float32Array | Float64Array): void {
  const moved = structuredClone(a.buffer, { transfer: [a.buffer] });
  new Uint8Array(moved).fill(0x41);
  expect(a.length).toBe(0);
}

/** The same bits (a byte comparison: toEqual is slow on millions of elements). */
function expectSameBits(a: ArrayBufferView, b: ArrayBufferView): void {
  expect(a.byteLength).toBe(b.byteLength);
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
}

const rowsOf = (n: number, d: number, seed: number) => Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.013 + seed));

describe('detached buffers during async calls', () => {
  it('transform: X detached after the call gives the features of X at the call (dense, with and without a signal; images)', async () => {
    const d = 24, n = 2000;
    const map = new NTKSketch({ inputDim: d, depth: 2, features: 1024, seed: 1 });
    const expected = map.transformSync({ data: rowsOf(n, d, 1), shape: [n, d] }).data;
    for (const options of [undefined, { signal: new AbortController().signal }]) {
      const X = rowsOf(n, d, 1);
      const call = map.transform({ data: X, shape: [n, d] }, options);
      detachAndScribble(X);
      expectSameBits((await call).data, expected);
    }
    const cntk = new CNTKSketch({ inputShape: [2, 6, 6], depth: 1, filterSize: 3, padding: 'same', features: 64, seed: 2 });
    const images = () => Float64Array.from({ length: 20 * 72 }, (_, i) => Math.cos(i * 0.1));
    const want = cntk.transformSync({ data: images(), shape: [20, 2, 6, 6] }).data;
    const I = images();
    const call = cntk.transform({ data: I, shape: [20, 2, 6, 6] });
    detachAndScribble(I);
    expect((await call).data).toEqual(want);
  });

  it("transform: a caller's out detached during the call is a TypeError naming it; an attached out gets the same bits", async () => {
    const d = 24, n = 2000, f = 1024;
    const map = new NTKSketch({ inputDim: d, depth: 2, features: f, seed: 1 });
    const X = { data: rowsOf(n, d, 2), shape: [n, d] };
    const expected = map.transformSync(X).data;
    const out = new Float32Array(n * f);
    await map.transform(X, { out });
    expectSameBits(out, expected);
    const lost = new Float32Array(n * f);
    const call = map.transform(X, { out: lost });
    structuredClone(lost.buffer, { transfer: [lost.buffer] });
    await expect(call).rejects.toThrow(TypeError);
    await expect(map.transform(X, { out: new Float32Array(n * f).buffer as never })).rejects.toThrow(/options.out/);
    const again = new Float32Array(n * f);
    const call2 = map.transform(X, { out: again });
    structuredClone(again.buffer, { transfer: [again.buffer] });
    await expect(call2).rejects.toThrow(/options.out was detached \(its ArrayBuffer transferred\) while the transform ran/);
    // An out larger than one private block (32 MiB: 8,192 rows of 1,024 float32 features) is filled block by
    // block with the same bits; detached after the first block, the rest is not written.
    const big = 20000, Xbig = { data: rowsOf(big, d, 3), shape: [big, d] };
    const wantBig = map.transformSync(Xbig).data;
    const outBig = new Float32Array(big * f);
    await map.transform(Xbig, { out: outBig });
    expectSameBits(outBig, wantBig);
    const lostBig = new Float32Array(big * f);
    let blocks = 0;
    const call3 = map.transform(Xbig, { out: lostBig, onProgress: (done) => {
      if (done > 0 && blocks++ === 0) structuredClone(lostBig.buffer, { transfer: [lostBig.buffer] });
    } });
    await expect(call3).rejects.toThrow(/options.out was detached .* rows from \d+ on were not written/);
    // Overlap with X is still refused before any work.
    const shared = new Float32Array(n * d + n * f);
    await expect(map.transform({ data: shared.subarray(0, n * d), shape: [n, d] }, { out: shared.subarray(n * d - 1, n * d - 1 + n * f) })).rejects.toThrow(/must not share memory with X/);
  });

  it('exact kernels and ridge fits: inputs detached after the call give the results of the inputs at the call', async () => {
    const d = 8, n = 300;
    const Xk = () => Float64Array.from(rowsOf(n, d, 3));
    const want = ntkKernel({ data: Xk(), shape: [n, d] }, null, { depth: 2 });
    const X = Xk();
    const call = ntkKernel({ data: X, shape: [n, d] }, null, { depth: 2 });
    detachAndScribble(X);
    const got = await call;
    expect(got.ntk.data).toEqual((await want).ntk.data);
    const img = () => Float64Array.from({ length: 6 * 2 * 5 * 5 }, (_, i) => Math.sin(i * 0.2));
    const cWant = (await cntkKernel({ data: img(), shape: [6, 2, 5, 5] }, null, { depth: 2, filterSize: 3, padding: 'same' })).ntk.data;
    const I = img();
    const cCall = cntkKernel({ data: I, shape: [6, 2, 5, 5] }, null, { depth: 2, filterSize: 3, padding: 'same' });
    detachAndScribble(I);
    expect((await cCall).ntk.data).toEqual(cWant);

    const m = 40;
    const phi = () => Float64Array.from({ length: n * m }, (_, i) => Math.cos(i * 0.7));
    const y = () => Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const ridge = new RidgeRegression({ lambda: 0.5 }).fitSync({ data: phi(), shape: [n, m] }, y()).coefficients().data;
    const P = phi(), Y = y();
    const fit = new RidgeRegression({ lambda: 0.5 }).fit({ data: P, shape: [n, m] }, Y);
    detachAndScribble(P);
    detachAndScribble(Y);
    const model = await fit;
    expect(model.coefficients().data).toEqual(ridge);
    // coefficients() is a copy: detaching it leaves the model's weights.
    const w = model.coefficients().data;
    structuredClone(w.buffer, { transfer: [w.buffer] });
    expect(model.coefficients().data).toEqual(ridge);
    const V = phi().subarray(0, 50 * m).slice();
    const pred = model.predict({ data: V, shape: [50, m] });
    const predWant = model.predictSync({ data: phi().subarray(0, 50 * m), shape: [50, m] }).data;
    detachAndScribble(V);
    expect((await pred).data).toEqual(predWant);

    const G = (await want).ntk.data as Float64Array;
    const krrWant = new KernelRidgeRegression({ lambda: 1 }).fitSync({ data: G.slice(), shape: [n, n] }, y()).coefficients().data;
    const K = G.slice();
    const krr = new KernelRidgeRegression({ lambda: 1 }).fit({ data: K, shape: [n, n] }, y());
    detachAndScribble(K);
    expect((await krr).coefficients().data).toEqual(krrWant);
    // A sync fit keeps the caller's K; a later async solve reads a copy of it.
    const K2 = G.slice();
    const kept = new KernelRidgeRegression({ lambda: 1 }).fitSync({ data: K2, shape: [n, n] }, y());
    kept.lambda = 2;
    const solving = kept.predict({ data: G.subarray(0, 10 * n), shape: [10, n] });
    detachAndScribble(K2);
    expect((await solving).data).toEqual(new KernelRidgeRegression({ lambda: 2 }).fitSync({ data: G, shape: [n, n] }, y()).predictSync({ data: G.subarray(0, 10 * n), shape: [10, n] }).data);
  });

  it('the transferred memory freed (forced GC) while the job runs: a correct result or a TypeError, no crash', () => {
    const script = `
      import { NTKSketch } from './src/index.ts';
      const d = 256, n = 8000, f = 2048;
      const map = new NTKSketch({ inputDim: d, depth: 2, features: f, seed: 1 });
      const rows = () => Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.001));
      const want = map.transformSync({ data: rows(), shape: [n, d] }).data;
      const settle = async (p) => p.then((r) => r, (e) => e);
      const x = rows();
      const a = settle(map.transform({ data: x, shape: [n, d] }));
      structuredClone(x.buffer, { transfer: [x.buffer] });
      const out = new Float32Array(n * f);
      const b = settle(map.transform({ data: rows(), shape: [n, d] }, { out }));
      structuredClone(out.buffer, { transfer: [out.buffer] });
      for (let i = 0; i < 4; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 5)); }
      const junk = [];
      for (let i = 0; i < 8; i++) junk.push(new Float32Array(n * f).fill(7));
      const ra = await a, rb = await b;
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff += ra.data[i] === want[i] ? 0 : 1;
      console.log(JSON.stringify({ diff, b: rb instanceof TypeError ? 'TypeError' : String(rb) }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toEqual({ diff: 0, b: 'TypeError' });
  });
});
