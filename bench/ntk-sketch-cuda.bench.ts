/**
 * NTKSketch features on the GPU against the CPU in the same run:
 * transformSync with backend 'cuda' and 'cpu' (all OpenMP threads) on
 * 10,000 MNIST-sized dense rows (784 values, non-negative, mostly zero) and
 * on 10,000 CSR rows of width 1,000,000 with 100 non-zeros, depth 2,
 * degree 4, float32 and float64, 8,192 features. Also checks that both
 * backends give the same bits. Skips with the reason when no CUDA device is
 * usable.
 *
 *   npx tsx bench/ntk-sketch-cuda.bench.ts [--rows 10000] [--out FILE]
 *
 * Writes bench/results/ntk-sketch-cuda.md (or --out FILE).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { NTKSketch, backends } from '../src/index.js';
import { gaussian } from '../test/reference/ntk-reference.ts';
import { machineDescription } from './lib/machine.ts';
import { benchArgs } from './lib/args.ts';

const cli = benchArgs({ rows: { type: 'string' }, out: { type: 'string' } });
const N = cli.int('rows', 10000);
const info = backends();
if (!info.cuda.available) {
  console.log(`skipped: no usable CUDA device (${info.cuda.reason})`);
  process.exit(0);
}
const FEATURES = 8192;
const gpu = info.cuda.devices.map((dev) => `${dev.name} (compute ${dev.computeCapability})`).join(', ');
const machine = machineDescription();
console.log(`machine: ${machine}\nGPU:     ${gpu}`);

type Input = { name: string; inputDim: number; x: (dtype: 'float32' | 'float64') => unknown };
const rng = gaussian(7);
const dense64 = Float64Array.from({ length: N * 784 }, () => {
  const g = rng();
  return g > 0.8 ? g : 0;
});
const WIDE = 1_000_000, NNZ = 100;
const indptr = Int32Array.from({ length: N + 1 }, (_, i) => i * NNZ);
const indices = new Int32Array(N * NNZ);
const values64 = new Float64Array(N * NNZ);
for (let i = 0; i < N; i++) {
  const cols = new Set<number>();
  while (cols.size < NNZ) cols.add(Math.floor(((rng() + 6) / 12) * WIDE) % WIDE);
  Array.from(cols).sort((a, b) => a - b).forEach((c, k) => {
    indices[i * NNZ + k] = c;
    values64[i * NNZ + k] = rng();
  });
}
const inputs: Input[] = [
  { name: 'dense 784', inputDim: 784, x: (t) => ({ data: t === 'float32' ? Float32Array.from(dense64) : dense64, shape: [N, 784] }) },
  {
    name: `CSR 1e6, ${NNZ} nnz`,
    inputDim: WIDE,
    x: (t) => ({ indptr, indices, data: t === 'float32' ? Float32Array.from(values64) : values64, shape: [N, WIDE] }),
  },
];

const lines: string[] = [];
for (const input of inputs) {
  for (const dtype of ['float32', 'float64'] as const) {
    const options = { inputDim: input.inputDim, depth: 2, degree: 4, features: FEATURES, seed: 1, dtype };
    const onCpu = new NTKSketch(options);
    const onGpu = new NTKSketch({ ...options, backend: 'cuda' });
    const x = input.x(dtype);
    const a = onGpu.transformSync(x as never).data;
    const b = onCpu.transformSync(x as never).data;
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differ++;
    const bench = new Bench({ iterations: 3, time: 0, warmupIterations: 1, warmupTime: 0, throws: true });
    bench.add('cuda', () => void onGpu.transformSync(x as never)).add('cpu', () => void onCpu.transformSync(x as never));
    await bench.run();
    const ms = (name: string) => (bench.tasks.find((t) => t.name === name)!.result as { latency: { mean: number } }).latency.mean;
    const line = `| ${input.name} | ${dtype} | ${ms('cuda').toFixed(1)} | ${ms('cpu').toFixed(1)} | ${(ms('cpu') / ms('cuda')).toFixed(2)} | ${differ} |`;
    console.log(line);
    lines.push(line);
    onCpu.dispose();
    onGpu.dispose();
  }
}

const report = `# NTKSketch: CUDA against CPU

\`npx tsx bench/ntk-sketch-cuda.bench.ts\`: transformSync of ${N} rows, depth 2, degree 4, ${FEATURES} features
(default sketchDim), NTK features. Mean of 3 runs after a warm-up, both backends in one run. "Differ" counts
output entries whose bits differ between the backends (the GPU path mirrors the CPU's operation order).

- Machine: ${machine}
- GPU: ${gpu}

| input | dtype | cuda (ms) | cpu (ms) | cpu / cuda | differ |
| --- | --- | --- | --- | --- | --- |
${lines.join('\n')}
`;
const out = resolve(cli.text('out', resolve(dirname(fileURLToPath(import.meta.url)), 'results', 'ntk-sketch-cuda.md')));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, report);
console.log(`wrote ${out}`);
