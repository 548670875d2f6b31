/**
 * Small transform calls and threads: the time of one call of a few rows with
 * 1 thread and with every thread (setThreads), as a ratio measured in the
 * same run (interleaved rounds, median). Waking threads and building their
 * workspaces costs more than a few rows of work, so a small call must not be
 * slower with more threads; a large call must still gain from them.
 *
 *   npx tsx bench/small-calls.bench.ts [rounds=15]
 */
import { CNTKSketch, NTKRandomFeatures, NTKSketch, backends, setThreads, type FeatureMap } from '../src/index.js';
import { median, timeInterleaved, type TimedTask } from './lib/interleaved-timing.js';
import { machineDescription } from './lib/machine.js';

const ROUNDS = Number(process.argv[2] ?? 15);
const maxThreads = backends().cpu.threads;
const d = 784;
const rows = (n: number) => ({ data: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.37) + 0.5), shape: [n, d] });
const images = (n: number) => ({ data: Float32Array.from({ length: n * d }, (_, i) => Math.cos(i * 0.11)), shape: [n, 1, 28, 28] });

const maps: [string, FeatureMap, (n: number) => unknown][] = [
  ['NTKSketch depth 2', new NTKSketch({ inputDim: d, depth: 2, features: 1024, seed: 1 }), rows],
  ['NTKRandomFeatures depth 2', new NTKRandomFeatures({ inputDim: d, depth: 2, features: 1024, seed: 1 }), rows],
  ['CNTKSketch depth 1, 28 x 28', new CNTKSketch({ inputShape: [1, 28, 28], depth: 1, filterSize: 3, padding: 'same', features: 1024, seed: 1 }), images],
];

/** Calls per sample: enough that one sample takes a few milliseconds. */
const CALLS: Record<number, number> = { 1: 200, 8: 50, 64: 10, 1024: 1 };

const tasks: TimedTask[] = [];
for (const [name, map, input] of maps) {
  for (const n of [1, 8, 64, 1024]) {
    if (name.startsWith('CNTK') && n === 1024) continue;
    const X = input(n) as Parameters<FeatureMap['transformSync']>[0];
    for (const threads of [1, maxThreads]) {
      tasks.push([`${name} | ${n} | ${threads}`, () => {
        setThreads(threads);
        for (let c = 0; c < CALLS[n]; c++) map.transformSync(X);
      }]);
    }
  }
}

const samples = await timeInterleaved(tasks, ROUNDS);
setThreads(0);
console.log(`Small transform calls, 784 inputs -> 1,024 features, float32; ${machineDescription()}`);
console.log(`median of ${ROUNDS} interleaved rounds, all in one run; time per call`);
console.log('');
console.log(`| map | rows | 1 thread µs | ${maxThreads} threads µs | ${maxThreads} threads / 1 thread |`);
console.log('|---|---|---|---|---|');
for (const [name] of maps) {
  for (const n of [1, 8, 64, 1024]) {
    const one = samples.get(`${name} | ${n} | 1`), many = samples.get(`${name} | ${n} | ${maxThreads}`);
    if (!one || !many) continue;
    const a = (median(one) * 1000) / CALLS[n], b = (median(many) * 1000) / CALLS[n];
    console.log(`| ${name} | ${n} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(2)} |`);
  }
}
