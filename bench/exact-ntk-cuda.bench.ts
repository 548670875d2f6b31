/**
 * Exact fully connected NTK on the GPU against the CPU in the same run:
 * ntkKernelSync with backend 'cuda' and 'cpu' (all OpenMP threads), X against
 * itself, d = 784 (MNIST-sized rows), depth 3, float32 and float64, both
 * outputs and the NTK alone. Skips with the reason when no CUDA device is
 * usable.
 *
 *   npx tsx bench/exact-ntk-cuda.bench.ts
 *   npx tsx bench/exact-ntk-cuda.bench.ts --rows 2000,4000
 *
 * Writes bench/results/exact-ntk-cuda.md (or --out FILE).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { ntkKernelSync, backends } from '../src/index.js';
import { gaussian } from '../test/reference/ntk-reference.ts';
import { machineDescription } from './lib/machine.ts';
import { benchArgs } from './lib/args.ts';

const cli = benchArgs({ rows: { type: 'string' }, out: { type: 'string' } });
const NS = cli.ints('rows', [4000, 10000]);
const info = backends();
if (!info.cuda.available) {
  console.log(`skipped: no usable CUDA device (${info.cuda.reason})`);
  process.exit(0);
}
const D = 784;
const DEPTH = 3;
const gpu = info.cuda.devices.map((dev) => `${dev.name} (compute ${dev.computeCapability})`).join(', ');
const machine = machineDescription();
console.log(`machine: ${machine}\nGPU:     ${gpu}`);

const lines: string[] = [];
for (const n of NS) {
  // MNIST-like rows: non-negative, mostly zero.
  const rng = gaussian(n);
  const x64 = Float64Array.from({ length: n * D }, () => {
    const g = rng();
    return g > 0.8 ? g : 0;
  });
  for (const dtype of ['float32', 'float64'] as const) {
    const x = { data: dtype === 'float32' ? Float32Array.from(x64) : x64, shape: [n, D] };
    for (const output of ['both', 'ntk'] as const) {
      const bench = new Bench({ iterations: 3, time: 0, warmupIterations: 1, warmupTime: 0, throws: true });
      bench
        .add('cuda', () => void ntkKernelSync(x, null, { depth: DEPTH, output, backend: 'cuda' }))
        .add('cpu', () => void ntkKernelSync(x, null, { depth: DEPTH, output, backend: 'cpu' }));
      await bench.run();
      const ms = (name: string) => (bench.tasks.find((t) => t.name === name)!.result as { latency: { mean: number } }).latency.mean;
      const cuda = ms('cuda');
      const cpu = ms('cpu');
      const bytes = n * n * (dtype === 'float32' ? 4 : 8) * (output === 'both' ? 2 : 1);
      const line = `| ${n} | ${dtype} | ${output} | ${cuda.toFixed(1)} | ${cpu.toFixed(1)} | ${(cpu / cuda).toFixed(2)} | ${(bytes / 1e6 / cuda).toFixed(2)} |`;
      console.log(line);
      lines.push(line);
    }
  }
}

const report = `# Exact NTK: CUDA against CPU

\`npx tsx bench/exact-ntk-cuda.bench.ts\`: ntkKernelSync, X against itself, d = ${D}, depth ${DEPTH},
MNIST-like rows (non-negative, mostly zero). Mean of 3 runs after a warm-up, both backends in one run.
"GB/s out" is the bytes of the returned matrices per second of the CUDA call: every entry crosses
the bus once, so this bounds the speed once the GPU's arithmetic is fast enough.

- Machine: ${machine}
- GPU: ${gpu}

| n | dtype | output | cuda (ms) | cpu (ms) | cpu / cuda | GB/s out |
| --- | --- | --- | --- | --- | --- | --- |
${lines.join('\n')}
`;
const out = resolve(cli.text('out', resolve(dirname(fileURLToPath(import.meta.url)), 'results', 'exact-ntk-cuda.md')));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, report);
console.log(`wrote ${out}`);
