/** The benches' plots are the tool's (src/bench/svg-plot.ts). */
export { lineChart, type Series, type PlotOptions } from '../../src/bench/svg-plot.js';
