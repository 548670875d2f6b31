/**
 * NTKSketch input sparsity, through the benchmark tool's sparsity suite: the
 * only input-dependent cost of the map is one CountSketch of each row
 * (O(nnz)), so featurising CSR rows with d = 1,000,000 and 100 non-zeros
 * each should cost about what dense rows with d = 1,000 cost (target: at
 * most 1.5x). Depth 2, 8,192 features, float32, --rows (10,000) random rows,
 * --rounds (5) interleaved rounds; the ratio is taken per round.
 *
 *   npx tsx bench/ntk-sketch-sparse.bench.ts [--rows N] [--rounds R]
 *
 * The same suite at other sizes runs in `ntk-sketch bench --only sparsity`
 * (bench/results/report.md holds the full report).
 */
import { parseArgs } from 'node:util';
import { describeMachine, machineLine } from '../src/bench/machine.js';
import { selectMaps } from '../src/bench/maps.js';
import { sparsitySuite } from '../src/bench/sparsity.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' } }, strict: true });
const count = (flag: string, v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`--${flag} must be a positive integer, got '${v}'`);
  return n;
};
const result = await sparsitySuite(selectMaps(['ntk-sketch']), {
  rows: count('rows', values.rows), features: 8192, depth: 2, fixedDim: 1_000_000, nonZeros: [100], dims: [], fixedNonZeros: 100, denseDim: 1000, rounds: count('rounds', values.rounds),
});
const point = result.points[0];
console.log(`${machineLine(describeMachine())}`);
console.log(`dense d = 1000: ${result.dense[0].ms.median.toFixed(0)} ms; CSR d = 10^6, 100 non-zeros: ${point.ms.median.toFixed(0)} ms (min ${point.ms.min.toFixed(0)}, max ${point.ms.max.toFixed(0)})`);
console.log(`CSR / dense time per round: median ${point.ratioToDense.median.toFixed(2)}x (${point.ratioToDense.min.toFixed(2)} – ${point.ratioToDense.max.toFixed(2)}); target <= 1.5x: ${point.ratioToDense.median <= 1.5 ? 'met' : 'not met'}`);
