/**
 * Exact CNTK with global average pooling (SPEC §2.2): pairs of 28 x 28 x 1
 * images per second, depth 3, filters 3 ('valid' and 'same') and 4 ('valid'
 * only: 'same' needs an odd filter), X against itself (one triangle of pairs),
 * on all cores and on one; plus the literal plain-TypeScript reference of
 * test/reference/cntk-reference.ts on a few pairs (time and agreement).
 * Images: the first Fashion-MNIST test images when the dataset is installed
 * (/usr/share/datasets/fashion-mnist), else random non-negative images.
 *
 *   npx tsx bench/cntk-exact.bench.ts
 *   npx tsx bench/cntk-exact.bench.ts --images 16 [--out FILE]   (fewer images, quicker)
 *
 * Writes bench/results/cntk-exact.md (or --out FILE).
 */
import os from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { cntkKernelSync, backends, setThreads, loadFashionMnist, FASHION_MNIST_DIR } from '../src/index.js';
import type { KernelResult } from '../src/index.js';
import { gaussian } from '../test/reference/ntk-reference.ts';
import { cntkPairReference, type CntkArch } from '../test/reference/cntk-reference.ts';
import { benchArgs } from './lib/args.ts';

const cli = benchArgs({ images: { type: 'string' }, out: { type: 'string' } });
const N = cli.int('images', 32);
const N_ONE_THREAD = Math.min(N, 16);
const SIDE = 28;
const DEPTH = 3;
const REFERENCE_PAIRS = 2;

const here = dirname(fileURLToPath(import.meta.url));
const cpus = os.cpus();
const machine = `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} logical cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, ${os.platform()}-${os.arch()}, Node ${process.version}`;
const threads = backends().cpu.threads;
const loadBefore = os.loadavg()[0];

// --- images
let images: Float64Array;
let source: string;
if (existsSync(FASHION_MNIST_DIR)) {
  const { test } = loadFashionMnist({ train: 0, test: N });
  images = test.X;
  source = `Fashion-MNIST, the first ${N} test images (pixels in [0, 1])`;
} else {
  const rng = gaussian(2024);
  images = Float64Array.from({ length: N * SIDE * SIDE }, () => Math.max(0, rng()));
  source = `${N} random images (max(0, N(0, 1)) pixels; Fashion-MNIST not installed)`;
}
const input = (count: number) => ({ data: images.subarray(0, count * SIDE * SIDE), shape: [count, 1, SIDE, SIDE] });
const trianglePairs = (count: number) => (count * (count + 1)) / 2;

const configs: CntkArch[] = [
  { depth: DEPTH, filterSize: 3, padding: 'valid' },
  { depth: DEPTH, filterSize: 3, padding: 'same' },
  { depth: DEPTH, filterSize: 4, padding: 'valid' },
];
const label = (a: CntkArch) => `depth ${a.depth}, filter ${a.filterSize}, ${a.padding}`;

/** Pixel-pair entries (dual-activation steps) one pair of images costs: sum over layers and displacements of the slab sizes. */
function entriesPerPair(a: CntkArch): number {
  const edge = (h: number) => (a.padding === 'same' ? SIDE : SIDE - h * (a.filterSize - 1));
  const last = edge(a.depth);
  let total = 0;
  for (let h = 1; h <= a.depth; h++) {
    let axis = 0;
    for (let d = -(last - 1); d <= last - 1; d++) axis += edge(h) - Math.abs(d);
    total += axis * axis;
  }
  return total;
}

console.log(`machine: ${machine}`);
console.log(`threads: ${threads} (OpenMP), load average before: ${loadBefore.toFixed(2)}`);
console.log(`images:  ${source}`);

const bench = new Bench({ name: 'exact CNTK', iterations: 3, time: 0, warmupIterations: 1, warmupTime: 0, throws: true });
const results = new Map<string, KernelResult>();
for (const a of configs) {
  bench.add(`${label(a)}, ${threads} threads`, () => {
    results.set(label(a), cntkKernelSync(input(N), null, a));
  });
}
await bench.run();
const bench1 = new Bench({ name: 'exact CNTK, one thread', iterations: 2, time: 0, warmupIterations: 1, warmupTime: 0, throws: true });
for (const a of configs) {
  bench1.add(`${label(a)}, 1 thread`, () => {
    cntkKernelSync(input(N_ONE_THREAD), null, a);
  });
}
setThreads(1);
try {
  await bench1.run();
} finally {
  setThreads(0);
}
console.table(bench.table());
console.table(bench1.table());

function meanS(b: Bench, name: string): number {
  const task = b.tasks.find((t) => t.name === name);
  const r = task?.result as { state?: string; latency?: { mean: number } } | undefined;
  if (!r?.latency) throw new Error(`benchmark task ${name} has no result (${r?.state})`);
  return r.latency.mean / 1000;
}

// --- the literal reference on a few pairs (image 0 against images 1, 2, ...)
const shape = { channels: 1, height: SIDE, width: SIDE };
const img = (i: number) => images.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
const rows: [string, string][] = [
  ['machine', machine],
  ['threads', `${threads} OpenMP threads; load average (1 min) before the run ${loadBefore.toFixed(2)}, after ${os.loadavg()[0].toFixed(2)} (other processes share the cores)`],
  ['images', source],
  ['problem', `X vs X, ${N} images = ${trianglePairs(N)} pairs (one triangle), NTK + NNGP, float64; one-thread runs on ${N_ONE_THREAD} images = ${trianglePairs(N_ONE_THREAD)} pairs`],
];
const table: string[] = [
  `| architecture | pixel-pair entries per pair | pairs/s (${threads} threads) | pairs/s (1 thread) | ns per entry (1 thread) | plain-TS reference, s per pair | speed-up (1 thread) | max rel. diff vs reference |`,
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const a of configs) {
  const tAll = meanS(bench, `${label(a)}, ${threads} threads`);
  const tOne = meanS(bench1, `${label(a)}, 1 thread`);
  const pairsAll = trianglePairs(N) / tAll;
  const pairsOne = trianglePairs(N_ONE_THREAD) / tOne;
  const entries = entriesPerPair(a);
  const got = results.get(label(a))!;
  let maxDiff = 0;
  const t0 = performance.now();
  for (let j = 1; j <= REFERENCE_PAIRS; j++) {
    const ref = cntkPairReference(img(0), img(j), shape, a);
    maxDiff = Math.max(maxDiff, Math.abs(got.ntk.data[j] - ref.ntk) / Math.abs(ref.ntk), Math.abs(got.nngp.data[j] - ref.nngp) / Math.abs(ref.nngp));
  }
  const tRef = (performance.now() - t0) / 1000 / REFERENCE_PAIRS;
  console.log(`${label(a)}: ${pairsAll.toFixed(1)} pairs/s (${threads} threads), ${pairsOne.toFixed(1)} pairs/s (1 thread), reference ${tRef.toFixed(2)} s/pair, max rel diff ${maxDiff.toExponential(2)}`);
  table.push(
    `| ${label(a)} | ${(entries / 1e6).toFixed(2)} M | ${pairsAll.toFixed(1)} | ${pairsOne.toFixed(1)} | ${((tOne / trianglePairs(N_ONE_THREAD) / entries) * 1e9).toFixed(2)} | ${tRef.toFixed(2)} | ${(tRef * pairsOne).toFixed(0)}x | ${maxDiff.toExponential(2)} |`,
  );
}

const md = [
  '# Exact CNTK benchmark',
  '',
  `Generated by \`npx tsx bench/cntk-exact.bench.ts${cli.argv.length ? ' ' + cli.argv.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  '| quantity | value |',
  '| --- | --- |',
  ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`),
  '',
  ...table,
  '',
  'Notes: pairs/s is the number of image pairs divided by the mean wall time of',
  'cntkKernelSync (3 runs after 1 warm-up; 2 runs with one thread), including the',
  'per-image normalisers. A pair costs one dual-activation step (arccos) and two',
  'separable q x q box filters per pixel-pair entry and layer; the entry count is',
  'the sum over layers of (sum over displacements of the slab sizes), i.e.',
  '(H_h W_h)^2 per layer for \'same\' and fewer for \'valid\', where grids shrink and',
  'displacements that do not survive to the last layer are skipped. The reference',
  'is the literal SPEC §2.2 recursion on the full (HW)^2 tensors with q^2-tap patch',
  'sums in plain TypeScript, timed on image 0 against images 1..' + REFERENCE_PAIRS + '.',
  '',
].join('\n');
const out = resolve(cli.text('out', resolve(here, 'results', 'cntk-exact.md')));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(`\nwrote ${out}`);
