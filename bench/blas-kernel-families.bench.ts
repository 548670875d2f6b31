/**
 * The cost of reproducibility, per OpenBLAS kernel family.
 *
 *   npx tsx bench/blas-kernel-families.bench.ts [--quick]
 *   (or: npm run bench:blas-kernel-families)
 *
 * Every product whose rows are data runs on the core's own GEMM
 * (native/linalg/fma_gemm.hpp: one FMA chain per element, bit-identical
 * wherever a row sits), not on the BLAS library's. For each x86-64 kernel
 * family this CPU can run (OPENBLAS_CORETYPE = Haswell, Zen, Prescott, and
 * SkylakeX with AVX-512; one child process each, since OpenBLAS reads the
 * variable when it loads), this measures in one run, interleaved:
 *
 * 1. GEMM: the core's vs the BLAS library's on the same 256 x 256 tiles
 *    (native().gemm with engine 'vendor'), float32 and float64, at the shapes
 *    of a depth-2, 8,192-feature NTKRandomFeatures map on 784-pixel inputs
 *    (1,024 rows; k = 784 for the first layer, 3,072 for the second);
 * 2. whether the library's GEMM is itself position-invariant: rows 13.. of a
 *    300-row product recomputed as a call of their own, count of elements
 *    whose bits change;
 * 3. the whole map: NTKRandomFeatures featurising 2,000 rows (float32), whose
 *    GEMMs are the fma_gemm ones whatever the family.
 *
 * Writes bench/results/blas-kernel-families.md (--quick: fewer rounds, to the
 * temporary directory).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NTKRandomFeatures, backends } from '../src/index.js';
import { native, openblasCoreTypeFor } from '../src/core/native.js';
import { median, timeInterleaved, type TimedTask } from './lib/interleaved-timing.js';
import { machineDescription } from './lib/machine.js';
import { benchArgs } from './lib/args.js';

// --child: internal, one kernel family's measurements as JSON (the parent sets OPENBLAS_CORETYPE).
const cli = benchArgs({ quick: { type: 'boolean' }, child: { type: 'boolean' } });
const quick = cli.flag('quick');
const ROUNDS = quick ? 3 : 7;
const ROWS = 1024, WIDTH = 3072;
const here = dirname(fileURLToPath(import.meta.url));

interface FamilyResult {
  core: string;
  simd: string;
  /** name -> median ms */
  ms: Record<string, number>;
  gflops: Record<string, number>;
  /** elements whose bits change when rows 13.. of a 300-row product are recomputed alone */
  vendorMoved: Record<string, number>;
  coreMoved: Record<string, number>;
}

function operand(len: number, seed: number, dtype: 'float32' | 'float64') {
  const a = dtype === 'float32' ? new Float32Array(len) : new Float64Array(len);
  for (let i = 0; i < len; i++) a[i] = Math.sin(i * 0.7311 + seed) * 0.5;
  return a;
}

function movedElements(engine: 'core' | 'vendor', dtype: 'float32' | 'float64', k: number): number {
  const m = 300, n = 256, s = 13;
  const a = operand(m * k, 1, dtype), b = operand(k * n, 2, dtype);
  const whole = dtype === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n);
  const part = dtype === 'float32' ? new Float32Array((m - s) * n) : new Float64Array((m - s) * n);
  native().gemm({ transA: false, transB: false, m, n, k, alpha: 1, a, lda: k, b, ldb: n, beta: 0, c: whole, ldc: n, engine }, false);
  native().gemm({ transA: false, transB: false, m: m - s, n, k, alpha: 1, a: a.subarray(s * k), lda: k, b, ldb: n, beta: 0, c: part, ldc: n, engine }, false);
  let moved = 0;
  for (let i = 0; i < part.length; i++) if (part[i] !== whole[s * n + i]) moved++;
  return moved;
}

async function child(): Promise<FamilyResult> {
  const tasks: TimedTask[] = [];
  const flops: Record<string, number> = {};
  for (const dtype of ['float32', 'float64'] as const) {
    for (const k of [784, 3072]) {
      const a = operand(ROWS * k, 1, dtype), b = operand(k * WIDTH, 2, dtype);
      const c = dtype === 'float32' ? new Float32Array(ROWS * WIDTH) : new Float64Array(ROWS * WIDTH);
      for (const engine of ['core', 'vendor'] as const) {
        const name = `gemm ${dtype} k=${k} ${engine}`;
        flops[name] = 2 * ROWS * WIDTH * k;
        tasks.push([name, () => native().gemm({ transA: false, transB: false, m: ROWS, n: WIDTH, k, alpha: 1, a, lda: k, b, ldb: WIDTH, beta: 0, c, ldc: WIDTH, engine }, true) as Promise<void>]);
      }
    }
  }
  const map = new NTKRandomFeatures({ inputDim: 784, depth: 2, features: 8192, seed: 1 });
  const x = operand(2000 * 784, 3, 'float32').map((v) => Math.abs(v));
  const out = new Float32Array(2000 * 8192);
  tasks.push(['NTKRandomFeatures 2,000 x 784 -> 8,192', () => map.transform({ data: x, shape: [2000, 784] }, { out })]);
  const samples = await timeInterleaved(tasks, ROUNDS);
  const ms: Record<string, number> = {}, gflops: Record<string, number> = {};
  for (const [name, values] of samples) {
    ms[name] = median(values);
    if (flops[name]) gflops[name] = flops[name] / (ms[name] * 1e6);
  }
  const vendorMoved: Record<string, number> = {}, coreMoved: Record<string, number> = {};
  for (const dtype of ['float32', 'float64'] as const) {
    vendorMoved[dtype] = movedElements('vendor', dtype, 784);
    coreMoved[dtype] = movedElements('core', dtype, 784);
  }
  const cpu = backends().cpu;
  return { core: cpu.blasCore, simd: cpu.simd, ms, gflops, vendorMoved, coreMoved };
}

function families(): string[] {
  const flags = new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  const list = ['Prescott'];
  if (flags.has('avx2') && flags.has('fma')) list.push('Haswell', 'Zen');
  if (openblasCoreTypeFor(flags) === 'SkylakeX') list.push('SkylakeX');
  return list;
}

async function main(): Promise<void> {
  if (cli.flag('child')) {
    console.log(JSON.stringify(await child()));
    return;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log('blas-kernel-families: OpenBLAS kernel families are an x86-64 Linux notion; nothing to measure here.');
    return;
  }
  const started = new Date();
  const machine = machineDescription();
  console.log(`BLAS kernel families bench: ${machine}`);
  const results: FamilyResult[] = [];
  for (const core of families()) {
    console.log(`OPENBLAS_CORETYPE=${core} ...`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...(quick ? ['--quick'] : [])], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_CORETYPE: core },
      maxBuffer: 1 << 24,
    });
    if (run.status !== 0) throw new Error(`child for ${core} failed: ${run.stderr}`);
    results.push(JSON.parse(run.stdout.trim().split('\n').pop()!) as FamilyResult);
  }

  const lines: string[] = [];
  lines.push('# The cost of reproducibility per OpenBLAS kernel family');
  lines.push('');
  lines.push(`Machine: ${machine}. Date: ${started.toISOString().slice(0, 10)}. Median of ${ROUNDS} interleaved rounds per family (one child process each).`);
  lines.push('');
  lines.push('`core`: the library\'s own GEMM (native/linalg/fma_gemm.hpp, one FMA chain per element, vector kernel ' +
    `${results[0]?.simd ?? ''}); \`vendor\`: OpenBLAS's GEMM on the same 256 x 256 tiles, what the library used before. ` +
    `Shapes of a depth-2, 8,192-feature NTKRandomFeatures map: ${ROWS} rows x ${WIDTH} columns, k = 784 (first layer) and 3,072 (second layer).`);
  lines.push('');
  lines.push('| family (loaded) | dtype | k | core GFLOP/s | vendor GFLOP/s | core / vendor time |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    for (const dtype of ['float32', 'float64']) {
      for (const k of [784, 3072]) {
        const c = `gemm ${dtype} k=${k} core`, v = `gemm ${dtype} k=${k} vendor`;
        lines.push(`| ${r.core} | ${dtype} | ${k} | ${r.gflops[c].toFixed(1)} | ${r.gflops[v].toFixed(1)} | ${(r.ms[c] / r.ms[v]).toFixed(2)} |`);
      }
    }
  }
  lines.push('');
  lines.push('Position invariance: rows 13..299 of a 300 x 256 x 784 product recomputed as a call of their own; elements whose bits change (of 73,472):');
  lines.push('');
  lines.push('| family | vendor float32 | vendor float64 | core float32 | core float64 |');
  lines.push('| --- | --- | --- | --- | --- |');
  for (const r of results) lines.push(`| ${r.core} | ${r.vendorMoved.float32} | ${r.vendorMoved.float64} | ${r.coreMoved.float32} | ${r.coreMoved.float64} |`);
  lines.push('');
  const mapTask = 'NTKRandomFeatures 2,000 x 784 -> 8,192';
  lines.push(`NTKRandomFeatures featurising 2,000 rows to 8,192 features (float32, depth 2), ms: ` +
    results.map((r) => `${r.core} ${r.ms[mapTask].toFixed(0)}`).join(', ') + '.');
  lines.push('');
  const file = quick ? resolve(tmpdir(), 'blas-kernel-families.md') : resolve(here, 'results', 'blas-kernel-families.md');
  writeFileSync(file, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  console.log(`wrote ${file}`);
}

await main();
