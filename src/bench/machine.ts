/**
 * The machine a benchmark ran on, as a report records it: CPU model, cores,
 * memory, the BLAS library and the kernel family it chose, threads, the
 * sketch kernels' vector instruction set, CUDA devices (or why there are
 * none), Node and library versions, how the native addon was built, and the
 * date.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends } from '../core/backends.js';
import { loadedAddonPath } from '../core/native.js';

export interface MachineInfo {
  date: string;
  cpu: { model: string; logicalCores: number; memoryGiB: number; platform: string; arch: string; loadAverage: number[] };
  blas: { vendor: string; version: string; config: string; kernelFamily: string; blasThreads: number };
  threads: number;
  simd: string;
  gpu: { compiled: boolean; available: boolean; reason: string | null; devices: { name: string; memoryGiB: number; computeCapability: string }[] };
  versions: { node: string; library: string; v8: string };
  build: {
    addon: string;
    /** cmake or node-gyp: a build folder beside the addon; prebuilt: shipped in the package; unknown: elsewhere. */
    kind: 'cmake' | 'node-gyp' | 'prebuilt' | 'unknown';
    /** The compiler and switches the addon reports (every kind). */
    compiler: string;
    buildType: string | null;
    cxxFlags: string | null;
    cuda: string | null;
    cudaArchitectures: string | null;
  };
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function libraryVersion(): string {
  return (createRequire(import.meta.url)(resolve(packageRoot, 'package.json')) as { version: string }).version;
}

/** How the loaded addon was built: from the CMake cache beside it when there is one. */
function buildInfo(): MachineInfo['build'] {
  const addon = loadedAddonPath();
  const where = relative(packageRoot, addon) || addon;
  const cache = resolve(dirname(addon), '..', 'CMakeCache.txt');
  const info = backends();
  const compiler = info.cpu.compiler;
  const cuda = info.cuda.compiled ? 'ON' : 'OFF';
  if (!existsSync(cache)) {
    const kind = /(^|[\/])build[\/]Release[\/]/.test(addon) ? 'node-gyp' : /(^|[\/])prebuilds[\/]/.test(addon) ? 'prebuilt' : 'unknown';
    return { addon: where, kind, compiler, buildType: null, cxxFlags: null, cuda, cudaArchitectures: null };
  }
  const text = readFileSync(cache, 'utf8');
  const entry = (key: string) => new RegExp(`^${key}:[A-Z]+=(.*)$`, 'm').exec(text)?.[1] ?? null;
  const type = entry('CMAKE_BUILD_TYPE');
  const flags = [entry('CMAKE_CXX_FLAGS'), type ? entry(`CMAKE_CXX_FLAGS_${type.toUpperCase()}`) : null].filter((f) => f).join(' ');
  return { addon: where, kind: 'cmake', compiler, buildType: type, cxxFlags: flags || null, cuda: entry('NTK_SKETCH_CUDA') ?? cuda, cudaArchitectures: entry('NTK_SKETCH_CUDA_ARCHITECTURES') };
}

/** Describes this machine and the loaded native backend now. */
export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  const info = backends();
  const [vendor = 'unknown', version = '', ...config] = info.cpu.blas.split(' ');
  return {
    date: new Date().toISOString(),
    cpu: {
      model: cpus[0]?.model?.trim() ?? 'unknown CPU',
      logicalCores: cpus.length,
      memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
      platform: os.platform(),
      arch: os.arch(),
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    },
    blas: { vendor, version, config: config.join(' '), kernelFamily: info.cpu.blasCore, blasThreads: info.cpu.blasThreads },
    threads: info.cpu.threads,
    simd: info.cpu.simd,
    gpu: {
      compiled: info.cuda.compiled,
      available: info.cuda.available,
      reason: info.cuda.available ? null : (info.cuda.reason ?? 'unknown'),
      devices: info.cuda.devices.map((d) => ({ name: d.name, memoryGiB: Number((d.memoryBytes / 1024 ** 3).toFixed(1)), computeCapability: d.computeCapability })),
    },
    versions: { node: process.version, library: libraryVersion(), v8: process.versions.v8 },
    build: buildInfo(),
  };
}

/** One line naming the machine, for report headers and speed figures. */
export function machineLine(m: MachineInfo): string {
  const gpu = m.gpu.available ? m.gpu.devices.map((d) => d.name).join(', ') : 'no CUDA device';
  return (
    `${m.cpu.model}, ${m.cpu.logicalCores} logical cores, ${m.cpu.memoryGiB} GiB, ${m.cpu.platform}-${m.cpu.arch}, Node ${m.versions.node}; ` +
    `${m.blas.vendor} ${m.blas.version} (${m.blas.kernelFamily} kernels), ${m.threads} threads, ${m.simd} sketch kernels; ${gpu}`
  );
}
