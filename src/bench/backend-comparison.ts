/**
 * Backends suite: the CPU and CUDA backends side by side on the same work
 * (NTKSketch featurisation in float32 and float64, the exact NTK), timed in
 * the same interleaved rounds; the ratio is CUDA time / CPU time. Without a
 * usable CUDA device (or with --backend cpu) it records why and skips.
 */
import { backends } from '../core/backends.js';
import { ntkKernel } from '../kernels/ntk-kernel.js';
import { NTKSketch } from '../maps/ntk-sketch.js';
import { spread, type Spread } from './stats.js';
import { timeInterleaved, type TimedTask } from './timing.js';
import type { BenchData } from './data.js';

export interface BackendOptions {
  /** 'cpu': no comparison; 'cuda' or 'auto': compare when a device exists. */
  backend: 'cpu' | 'cuda' | 'auto';
  rows: number;
  features: number;
  depth: number;
  exactRows: number;
  rounds: number;
}

export interface BackendPair {
  task: string;
  rows: number;
  cpuMs: Spread;
  cudaMs: Spread;
  /** CUDA time / CPU time per round. */
  ratio: Spread;
}

export interface BackendResult {
  /** Whether the comparison ran; when not, why. */
  ran: boolean;
  reason: string | null;
  devices: { name: string; memoryGiB: number; computeCapability: string }[];
  pairs: BackendPair[];
}

export async function backendSuite(data: BenchData, o: BackendOptions): Promise<BackendResult> {
  const cuda = backends().cuda;
  const devices = cuda.devices.map((d) => ({ name: d.name, memoryGiB: Number((d.memoryBytes / 1024 ** 3).toFixed(1)), computeCapability: d.computeCapability }));
  if (o.backend === 'cpu') return { ran: false, reason: 'CPU only (--backend cpu)', devices, pairs: [] };
  if (!cuda.available) return { ran: false, reason: `no device (${(cuda.reason ?? (cuda.compiled ? 'no usable CUDA device' : 'CUDA not compiled into this build')).replace(/^no usable CUDA device: /, '')})`, devices, pairs: [] };
  const n = o.rows, d = data.d;
  const x64 = new Float64Array(n * d);
  for (let i = 0; i < n; i++) x64.set(data.train.X.subarray((i % data.train.n) * d, (i % data.train.n + 1) * d), i * d);
  const x32 = Float32Array.from(x64);
  const tasks: TimedTask[] = [];
  const maps: NTKSketch[] = [];
  const jobs: { task: string; rows: number }[] = [];
  for (const dtype of ['float32', 'float64'] as const) {
    const x = { data: dtype === 'float32' ? x32 : x64, shape: [n, d] };
    for (const backend of ['cpu', 'cuda'] as const) {
      const map = new NTKSketch({ inputDim: d, depth: o.depth, features: o.features, seed: 1, dtype, backend });
      maps.push(map);
      tasks.push([`ntk-sketch ${dtype} ${backend}`, () => map.transform(x)]);
    }
    jobs.push({ task: `ntk-sketch ${dtype}`, rows: n });
  }
  const ne = Math.min(o.exactRows, n);
  for (const backend of ['cpu', 'cuda'] as const) {
    tasks.push([`exact NTK ${backend}`, () => ntkKernel({ data: x64.subarray(0, ne * d), shape: [ne, d] }, null, { depth: o.depth, backend })]);
  }
  jobs.push({ task: 'exact NTK', rows: ne });
  const samples = await timeInterleaved(tasks, o.rounds);
  for (const map of maps) map.dispose();
  const pairs = jobs.map(({ task, rows }) => {
    const cpu = samples.get(`${task} cpu`)!, gpu = samples.get(`${task} cuda`)!;
    return { task, rows, cpuMs: spread(cpu), cudaMs: spread(gpu), ratio: spread(gpu.map((t, r) => t / cpu[r])) };
  });
  return { ran: true, reason: null, devices, pairs };
}
