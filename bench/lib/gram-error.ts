/** The Gram-error measure the benches share is the tool's (src/bench/fidelity.ts). */
export { gramError } from '../../src/bench/fidelity.js';
