/**
 * What the native library can run on: the CPU (BLAS vendor, threads) and
 * CUDA (compiled into this build? a device present at run time?).
 */
import { native, type NativeBackends } from './native.js';
import { describe, intOption } from './arrays.js';

export type BackendChoice = 'auto' | 'cpu' | 'cuda';
export type BackendInfo = NativeBackends;

/** Describes the CPU and CUDA backends of the loaded addon. */
export function backends(): BackendInfo {
  return native().backends();
}

/**
 * Sets the threads used by the native core (OpenMP regions and BLAS).
 * 0 restores the default (all cores). Results do not depend on it.
 * Native jobs running at the same time (concurrent async calls, calls from
 * worker threads) share it: each parallel region takes setting / running
 * jobs threads, at least one, so that they do not oversubscribe the cores.
 */
export function setThreads(threads: number): void {
  native().setThreads(intOption('threads', threads, 0, 4096));
}

/** Resolves a backend option to the backend that will run the job. */
export function resolveBackend(name: string, value: unknown): 'cpu' | 'cuda' {
  if (value === undefined || value === 'cpu') return 'cpu';
  if (typeof value !== 'string') throw new TypeError(`${name} must be 'auto', 'cpu' or 'cuda', got ${describe(value)}`);
  if (value !== 'auto' && value !== 'cuda') {
    throw new RangeError(`${name} must be 'auto', 'cpu' or 'cuda', got ${describe(value)}`);
  }
  const cuda = backends().cuda;
  if (cuda.available) return 'cuda';
  if (value === 'auto') return 'cpu';
  throw new RangeError(`${name} 'cuda' is not available: ${cuda.reason ?? 'unknown reason'}`);
}
