// Computes an exact NTK and an NTKSketch transform with the ntk-sketch that
// `import 'ntk-sketch'` resolves to (the checkout itself, or an installed
// package), and prints their SHA-256 digests and the addon and OpenBLAS files that ran them.
// scripts/pack-check.mjs runs it in both places and compares the digests.
import { createHash } from 'node:crypto';
import { NTKSketch, ntkKernelSync } from 'ntk-sketch';

// Deterministic inputs: 48 rows of 20 values from a 32-bit LCG, in [-1, 1).
const n = 48, d = 20;
const x = new Float64Array(n * d);
let state = 12345;
for (let i = 0; i < x.length; i++) {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  x[i] = state / 2 ** 31 - 1;
}
const X = { data: x, shape: [n, d] };
const digest = (a) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

const { ntk } = ntkKernelSync(X, null, { depth: 3 });
const sketch = new NTKSketch({ inputDim: d, depth: 2, features: 256, seed: 7, dtype: 'float64' });
const features = await sketch.transform(X, { kernel: 'ntk' });
const loaded = process.report.getReport().sharedObjects;
const addon = loaded.find((p) => p.endsWith('ntk_sketch.node'));
const openblas = loaded.find((p) => /libopenblas/.test(p));
console.log(JSON.stringify({
  addon,
  openblas,
  ntk: digest(ntk.data),
  ntkSketch: digest(features.data),
  ntk00: ntk.data[0],
  feature0: features.data[0],
}));
