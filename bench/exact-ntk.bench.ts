/**
 * Exact fully connected NTK (SPEC §2.1): native ntkKernelSync (float64 GEMM of
 * the normalised rows on tiles, fused with the recursion) against the plain-TypeScript
 * reference of test/reference/ntk-reference.ts, n = 4000, d = 784, depth 3,
 * X against itself.
 *
 *   npx tsx bench/exact-ntk.bench.ts            (or: npm run bench:exact-ntk)
 *   npx tsx bench/exact-ntk.bench.ts --rows 1000 [--out FILE]   (smaller, for a quick look)
 *
 * Writes bench/results/exact-ntk.md (or --out FILE).
 */
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { ntkKernelSync, backends } from '../src/index.js';
import type { KernelResult } from '../src/index.js';
import { native } from '../src/core/native.js';
import { ntkReference, gaussian, toRows } from '../test/reference/ntk-reference.ts';
import { benchArgs } from './lib/args.ts';

const cli = benchArgs({ rows: { type: 'string' }, out: { type: 'string' } });
const N = cli.int('rows', 4000);
const D = 784;
const DEPTH = 3;
/** Run the reference on the full problem only if it is projected to take less than this. */
const REFERENCE_FULL_LIMIT_S = 60;

const here = dirname(fileURLToPath(import.meta.url));
const cpus = os.cpus();
const machine = `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} logical cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, ${os.platform()}-${os.arch()}, Node ${process.version}`;
const info = backends();
console.log(`machine: ${machine}`);
console.log(`BLAS:    ${info.cpu.blas} (BLAS threads ${info.cpu.blasThreads}, OpenMP threads ${info.cpu.threads})`);
console.log(`problem: n = ${N}, d = ${D}, depth ${DEPTH}, float64, X vs X (symmetric)`);

// MNIST-like data: non-negative, mostly-sparse rows.
const rng = gaussian(2024);
const X = new Float64Array(N * D);
for (let i = 0; i < X.length; i++) {
  const g = rng();
  X[i] = g > 0.8 ? g : 0;
}
const input = { data: X, shape: [N, D] };

// --- The GEMM part. ntk_exact computes the lower triangle of 256 x 256 output
// tiles, one single-threaded GEMM per tile (OpenMP over tiles). native().gemm
// runs the same tiling on a full n x n product, so its time scaled by the
// fraction of tiles ntk_exact computes is the GEMM share.
const TILE = 256;
const tilesPerSide = Math.ceil(N / TILE);
const tileEdge = (t: number) => Math.min(TILE, N - t * TILE);
let executedEntries = 0;
for (let bi = 0; bi < tilesPerSide; bi++) for (let bj = 0; bj <= bi; bj++) executedEntries += tileEdge(bi) * tileEdge(bj);
const triangleEntries = (N * (N + 1)) / 2;
const flopsTriangle = triangleEntries * 2 * D; // what the result needs
const flopsExecuted = executedEntries * 2 * D; // what the tile GEMMs compute
const flopsFull = N * N * 2 * D; // a full n x n GEMM

const unit = new Float64Array(N * D); // the normalised rows, as the native core uses
for (let i = 0; i < N; i++) {
  let ss = 0;
  for (let k = 0; k < D; k++) ss += X[i * D + k] ** 2;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let k = 0; k < D; k++) unit[i * D + k] = X[i * D + k] * inv;
}
const fullBuf = new Float64Array(N * N);
const addon = native();

function fullGemm(): void {
  addon.gemm({ transA: false, transB: true, m: N, n: N, k: D, alpha: 1, a: unit, lda: D, b: unit, ldb: D, beta: 0, c: fullBuf, ldc: N }, false);
}

let nativeResult: KernelResult | undefined;
const bench = new Bench({ name: 'exact NTK', iterations: 5, time: 0, warmupIterations: 1, warmupTime: 0, throws: true });
bench
  .add('ntkKernelSync (native, float64)', () => {
    nativeResult = ntkKernelSync(input, null, { depth: DEPTH });
  })
  .add('full n x n GEMM (same size)', fullGemm);
await bench.run();
console.table(bench.table());

function meanMs(name: string): number {
  const task = bench.tasks.find((t) => t.name === name);
  const r = task?.result as { state?: string; latency?: { mean: number } } | undefined;
  if (!r?.latency) throw new Error(`benchmark task ${name} has no result (${r?.state})`);
  return r.latency.mean;
}
const tNative = meanMs('ntkKernelSync (native, float64)') / 1000;
const tFull = meanMs('full n x n GEMM (same size)') / 1000;
const tBlocked = (tFull * executedEntries) / (N * N);

const relDiff = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

// --- The plain-TypeScript reference: time a row subset first, then decide.
const Xrows = toRows(X, N, D);
const probeRows = Math.min(N, 40);
let t0 = performance.now();
const probe = ntkReference(Xrows.slice(0, probeRows), Xrows, DEPTH);
const tProbe = (performance.now() - t0) / 1000;
const projectedFull = (tProbe * N) / probeRows; // the reference computes all n x n pairs
let tReference: number;
let referenceHow: string;
let refMaxRelErr = 0;
if (projectedFull < REFERENCE_FULL_LIMIT_S) {
  console.log(`reference: projected ${projectedFull.toFixed(1)} s on the full problem: running it once in full...`);
  t0 = performance.now();
  const full = ntkReference(Xrows, null, DEPTH);
  tReference = (performance.now() - t0) / 1000;
  referenceHow = `measured once on the full ${N} x ${N} problem (all n^2 pairs)`;
  const got = nativeResult!.ntk.data;
  for (let i = 0; i < got.length; i++) refMaxRelErr = Math.max(refMaxRelErr, relDiff(got[i], full.ntk[i]));
} else {
  const rows = Math.min(N, Math.max(probeRows, Math.floor((probeRows * 20) / tProbe)));
  t0 = performance.now();
  const part = ntkReference(Xrows.slice(0, rows), Xrows, DEPTH);
  const tPart = (performance.now() - t0) / 1000;
  tReference = (tPart * N) / rows;
  referenceHow = `measured on ${rows} rows x ${N} columns (${(tPart).toFixed(1)} s) and scaled by the pair count x${(N / rows).toFixed(2)} (projected full run ${projectedFull.toFixed(0)} s > ${REFERENCE_FULL_LIMIT_S} s)`;
  const got = nativeResult!.ntk.data;
  for (let i = 0; i < rows * N; i++) if (i % N !== Math.floor(i / N)) refMaxRelErr = Math.max(refMaxRelErr, relDiff(got[i], part.ntk[i]));
}
{
  const got = nativeResult!.ntk.data;
  // Off the diagonal: the row-subset reference is not told that row i of X is
  // column i, so its diagonal goes through arccos(1 - ulp) (~1e-8 relative).
  for (let i = 0; i < probeRows * N; i++) if (i % N !== Math.floor(i / N)) refMaxRelErr = Math.max(refMaxRelErr, relDiff(got[i], probe.ntk[i]));
}

const gf = (flops: number, s: number) => flops / s / 1e9;
const rows: [string, string][] = [
  ['machine', machine],
  [
    'BLAS',
    `${info.cpu.blas}; BLAS threads ${info.cpu.blasThreads}, OpenMP threads ${info.cpu.threads}` +
      (process.env.OPENBLAS_CORETYPE ? `; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE}` : ''),
  ],
  ['problem', `n = ${N}, d = ${D}, depth ${DEPTH}, float64, X vs X (NTK + NNGP)`],
  ['ntkKernelSync (native)', `${tNative.toFixed(3)} s (mean of 5 runs after 1 warm-up)`],
  ['plain-TS reference', `${tReference.toFixed(1)} s — ${referenceHow}`],
  ['speed-up native / reference', `${(tReference / tNative).toFixed(0)}x`],
  ['max relative difference native vs reference', refMaxRelErr.toExponential(2)],
  [
    'GEMM flops',
    `lower triangle n(n+1)/2 * 2d = ${(flopsTriangle / 1e9).toFixed(2)} GFLOP; executed by the ${(tilesPerSide * (tilesPerSide + 1)) / 2} lower-triangle ${TILE} x ${TILE} tile GEMMs = ${(flopsExecuted / 1e9).toFixed(2)} GFLOP; full n x n = ${(flopsFull / 1e9).toFixed(2)} GFLOP`,
  ],
  ['tile GEMMs alone (full-GEMM time x executed tile fraction)', `${tBlocked.toFixed(3)} s (${gf(flopsTriangle, tBlocked).toFixed(1)} GFLOP/s useful)`],
  ['GEMM share of ntkKernelSync', `${((100 * tBlocked) / tNative).toFixed(0)} % (rest: normalisation, arccos recursion for ${DEPTH} layers on ${(triangleEntries / 1e6).toFixed(1)} M pairs, mirroring)`],
  ['ntkKernelSync as GEMM throughput', `${gf(flopsTriangle, tNative).toFixed(1)} GFLOP/s useful (triangle flops / total time)`],
  ['full n x n GEMM (native().gemm)', `${tFull.toFixed(3)} s = ${gf(flopsFull, tFull).toFixed(1)} GFLOP/s`],
];

console.log('');
for (const [k, v] of rows) console.log(`${k.padEnd(46)} ${v}`);

const md = [
  '# Exact NTK benchmark',
  '',
  `Generated by \`npx tsx bench/exact-ntk.bench.ts${cli.argv.length ? ' ' + cli.argv.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  '| quantity | value |',
  '| --- | --- |',
  ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`),
  '',
  'Notes: the reference is the literal SPEC §2.1 recursion in plain TypeScript',
  '(three dot products per pair, all n^2 pairs, no symmetry); the native path',
  'computes the lower triangle of 256 x 256 tiles with single-threaded float64 BLAS',
  'GEMMs in parallel over tiles (bit-identical for any thread count), fuses the',
  'recursion per tile, and mirrors the triangle.',
  '',
].join('\n');
const out = resolve(cli.text('out', resolve(here, 'results', 'exact-ntk.md')));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(`\nwrote ${out}`);
