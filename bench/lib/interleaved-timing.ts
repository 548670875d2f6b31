/** The benches' interleaved timing is the tool's (src/bench/timing.ts). */
export { timeInterleaved, median, type TimedTask } from '../../src/bench/timing.js';
