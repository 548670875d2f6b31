/**
 * Exact CNTK on the GPU against the CPU in the same run: cntkKernelSync with
 * backend 'cuda' and 'cpu' (all OpenMP threads), X against itself,
 * MNIST-sized images (1 x 28 x 28, non-negative, mostly zero), depth 3,
 * filter 3, 'same' and 'valid', float64. Also reports the largest relative
 * difference between the backends. Skips with the reason when no CUDA device
 * is usable.
 *
 *   npx tsx bench/cntk-exact-cuda.bench.ts
 *   npx tsx bench/cntk-exact-cuda.bench.ts --images 50
 *
 * Writes bench/results/cntk-exact-cuda.md (or --out FILE).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends, cntkKernelSync } from '../src/index.js';
import type { KernelResult } from '../src/index.js';
import { gaussian } from '../test/reference/ntk-reference.ts';
import { machineDescription } from './lib/machine.ts';
import { benchArgs } from './lib/args.ts';

const cli = benchArgs({ images: { type: 'string' }, out: { type: 'string' } });
const N = cli.int('images', 120);
const info = backends();
if (!info.cuda.available) {
  console.log(`skipped: no usable CUDA device (${info.cuda.reason})`);
  process.exit(0);
}
const gpu = info.cuda.devices.map((dev) => `${dev.name} (compute ${dev.computeCapability})`).join(', ');
const machine = machineDescription();
console.log(`machine: ${machine}\nGPU:     ${gpu}`);

const rng = gaussian(3);
const data = Float64Array.from({ length: N * 784 }, () => {
  const g = rng();
  return g > 0.5 ? g : 0;
});
const X = { data, shape: [N, 1, 28, 28] };
const pairs = (N * (N + 1)) / 2;

function time(run: () => unknown): number {
  const t = performance.now();
  run();
  return performance.now() - t;
}

const lines: string[] = [];
for (const padding of ['same', 'valid'] as const) {
  const options = { depth: 3, filterSize: 3, padding };
  cntkKernelSync({ data: data.subarray(0, 2 * 784), shape: [2, 1, 28, 28] }, null, { ...options, backend: 'cuda' }); // warm-up
  let g: KernelResult | undefined;
  let c: KernelResult | undefined;
  const tg = time(() => (g = cntkKernelSync(X, null, { ...options, backend: 'cuda' })));
  const tc = time(() => (c = cntkKernelSync(X, null, { ...options, backend: 'cpu' })));
  let err = 0;
  for (let i = 0; i < g!.ntk.data.length; i++) {
    const a = g!.ntk.data[i], b = c!.ntk.data[i];
    err = Math.max(err, a === b ? 0 : Math.abs(a - b) / Math.abs(b));
  }
  const line = `| depth 3, filter 3, ${padding} | ${pairs} | ${(pairs / (tg / 1000)).toFixed(0)} | ${(pairs / (tc / 1000)).toFixed(0)} | ${(tc / tg).toFixed(1)} | ${err.toExponential(1)} |`;
  console.log(line);
  lines.push(line);
}

const report = `# Exact CNTK: CUDA against CPU

\`npx tsx bench/cntk-exact-cuda.bench.ts\`: cntkKernelSync of ${N} images (1 x 28 x 28, MNIST-like) against
themselves (one triangle of pairs, NTK + NNGP, float64), each backend once in the same run (after a
small warm-up call on the GPU). The last column is the largest relative difference between the
backends' NTK entries.

- Machine: ${machine}
- GPU: ${gpu}

| architecture | pairs | cuda pairs/s | cpu pairs/s | cpu time / cuda time | max rel. diff |
| --- | --- | --- | --- | --- | --- |
${lines.join('\n')}
`;
const out = resolve(cli.text('out', resolve(dirname(fileURLToPath(import.meta.url)), 'results', 'cntk-exact-cuda.md')));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, report);
console.log(`wrote ${out}`);
