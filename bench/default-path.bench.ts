/**
 * The default transform path against the tuned one: features into a new
 * array vs into a reused `out` buffer, and float64 input (what most
 * JavaScript code holds) vs float32 input to a float32 map.
 *
 *   npx tsx bench/default-path.bench.ts [--rows 10000] [--features 8192] [--rounds 7] [--maps ntk-sketch,ntk-random-features]
 *   (or: npm run bench:default-path)
 *
 * Fashion-MNIST test images (784 columns; Gaussian rows when the dataset is
 * not installed), depth 2, float32 maps. For each map four tasks, timed with
 * tinybench in interleaved rounds (bench/lib/interleaved-timing.ts: order
 * rotated per round, garbage collected before each task), median of the rounds:
 *
 *   f32 new   float32 input, a new result array (the default)
 *   f32 out   float32 input, into a reused `out` buffer
 *   f64 new   float64 input, a new result array
 *   f64 out   float64 input, into a reused `out` buffer
 *
 * Targets: new / out <= 1.5 and f64 / f32 <= 1.2 (both for new arrays and
 * for `out` buffers). Writes bench/results/default-path.md (or under BENCH_OUT_DIR).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NTKRandomFeatures, NTKSketch, backends } from '../src/index.js';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../src/data/datasets.js';
import { median, timeInterleaved, type TimedTask } from './lib/interleaved-timing.js';
import { machineDescription } from './lib/machine.js';
import { gaussianRows } from './lib/gaussian-rows.js';
import { benchArgs } from './lib/args.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = benchArgs({ rows: { type: 'string' }, features: { type: 'string' }, rounds: { type: 'string' }, maps: { type: 'string' } });
const args = cli.argv;
const ROWS = cli.int('rows', 10000);
const FEATURES = cli.int('features', 8192);
const ROUNDS = cli.int('rounds', 7);
const MAPS = cli.text('maps', 'ntk-sketch,ntk-random-features').split(',');
const D = 784, DEPTH = 2;
const NEW_TARGET = 1.5, F64_TARGET = 1.2;


const fashion = existsSync(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`);
const X64 = fashion ? loadFashionMnist({ train: 0, test: ROWS }).test.X : gaussianRows(ROWS, D, 1);
const X32 = Float32Array.from(X64);
const data = fashion ? `${ROWS} Fashion-MNIST test images` : `${ROWS} Gaussian rows (Fashion-MNIST not installed)`;

interface Timed { label: string; map: NTKSketch | NTKRandomFeatures }
const maps: Timed[] = [];
if (MAPS.includes('ntk-sketch')) {
  maps.push({ label: 'NTKSketch', map: new NTKSketch({ inputDim: D, depth: DEPTH, features: FEATURES, seed: 1, dtype: 'float32' }) });
}
if (MAPS.includes('ntk-random-features')) {
  maps.push({ label: 'NTKRandomFeatures', map: new NTKRandomFeatures({ inputDim: D, depth: DEPTH, features: FEATURES, seed: 1, dtype: 'float32' }) });
}

const tasks: TimedTask[] = [];
for (const { label, map } of maps) {
  const reused = new Float32Array(ROWS * FEATURES);
  const x32 = { data: X32, shape: [ROWS, D] };
  const x64 = { data: X64, shape: [ROWS, D] };
  tasks.push(
    [`${label} f32 new`, () => map.transform(x32)],
    [`${label} f32 out`, () => map.transform(x32, { out: reused })],
    [`${label} f64 new`, () => map.transform(x64)],
    [`${label} f64 out`, () => map.transform(x64, { out: reused })],
  );
}

const machine = machineDescription();
console.log(`${machine}\n${data} x ${D} -> ${FEATURES} float32 features, depth ${DEPTH}; ${ROUNDS} interleaved rounds`);
const samples = await timeInterleaved(tasks, ROUNDS);
const ms = (name: string) => median(samples.get(name)!);

const rows: string[] = [];
const targets: string[] = [];
const yes = (ok: boolean) => (ok ? 'met' : 'NOT met');
for (const { label } of maps) {
  for (const kind of ['f32 new', 'f32 out', 'f64 new', 'f64 out']) {
    const name = `${label} ${kind}`;
    const all = samples.get(name)!;
    const line = `| ${label} | ${kind} | ${ms(name).toFixed(0)} | ${Math.min(...all).toFixed(0)}..${Math.max(...all).toFixed(0)} |`;
    rows.push(line);
    console.log(`${name.padEnd(28)} ${ms(name).toFixed(0).padStart(6)} ms  (${Math.min(...all).toFixed(0)}..${Math.max(...all).toFixed(0)})`);
  }
  const ratio = (a: string, b: string) => ms(`${label} ${a}`) / ms(`${label} ${b}`);
  const newOut = ratio('f32 new', 'f32 out');
  const f64New = ratio('f64 new', 'f32 new');
  const f64Out = ratio('f64 out', 'f32 out');
  targets.push(
    `| ${label} | new array / reused out (float32 input) <= ${NEW_TARGET} | ${newOut.toFixed(2)} | ${yes(newOut <= NEW_TARGET)} |`,
    `| ${label} | float64 / float32 input, new arrays <= ${F64_TARGET} | ${f64New.toFixed(2)} | ${yes(f64New <= F64_TARGET)} |`,
    `| ${label} | float64 / float32 input, reused out <= ${F64_TARGET} | ${f64Out.toFixed(2)} | ${yes(f64Out <= F64_TARGET)} |`,
  );
  console.log(`${label}: new/out ${newOut.toFixed(2)}, f64/f32 new ${f64New.toFixed(2)}, f64/f32 out ${f64Out.toFixed(2)}`);
}

const md = [
  '# Default transform path',
  '',
  `Generated by \`npx tsx bench/default-path.bench.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  `Machine: ${machine}; sketch kernels: ${backends().cpu.simd}.`,
  '',
  `${data} x ${D} -> ${FEATURES} float32 features (depth ${DEPTH}, seed 1), async \`transform\`; median of ${ROUNDS} interleaved`,
  'rounds (tinybench, task order rotated per round, garbage collected before each task).',
  '"new": the default, a new result array; "out": into a reused `options.out` buffer. "f32"/"f64": the dtype of X.',
  '',
  '## Targets',
  '',
  '| map | ratio | measured | |',
  '| --- | --- | --- | --- |',
  ...targets,
  '',
  '## Timings',
  '',
  '| map | task | median ms | min..max ms |',
  '| --- | --- | --- | --- |',
  ...rows,
  '',
];
const outDir = process.env.BENCH_OUT_DIR ? resolve(process.env.BENCH_OUT_DIR) : resolve(here, 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'default-path.md'), md.join('\n'));
console.log(`wrote ${join(outDir, 'default-path.md')}`);
for (const { map } of maps) map.dispose();
