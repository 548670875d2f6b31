// Smoke test of the node-gyp (CPU-only) build: load it, check the backends,
// and compare one kernel with the closed form Theta^L(x, x) = (L + 1)|x|^2.
import { backends, ntkKernelSync } from '../dist/index.js';

const info = backends();
if (info.cuda.compiled) throw new Error('the node-gyp build must be CPU-only');
const X = { data: new Float64Array([3, 4, 0, 1, 2, 2]), shape: [2, 3] };
const { ntk } = ntkKernelSync(X, null, { depth: 3 });
const expected = [4 * 25, 4 * 9];
for (let i = 0; i < 2; i++) {
  if (Math.abs(ntk.get(i, i) - expected[i]) > 1e-9 * expected[i]) {
    throw new Error(`gyp build: Theta(x${i}, x${i}) = ${ntk.get(i, i)}, expected ${expected[i]}`);
  }
}
console.log(`node-gyp build OK (${info.cpu.blas.split(' ').slice(0, 2).join(' ')}, ${info.cpu.threads} threads)`);
