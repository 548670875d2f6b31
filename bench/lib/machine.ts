/** One line describing the machine and native backend, for benchmark reports. */
import os from 'node:os';
import { backends } from '../../src/index.js';

export function machineDescription(): string {
  const cpus = os.cpus();
  const cpu = backends().cpu;
  return (
    `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} logical cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, ` +
    `${os.platform()}-${os.arch()}, Node ${process.version}; ${cpu.blas.split(' ').slice(0, 2).join(' ')} (${cpu.blasCore} kernels), ` +
    `${cpu.threads} OpenMP threads`
  );
}
