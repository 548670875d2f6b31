/**
 * The report of a benchmark run, self-contained in one directory:
 * results.json (every raw number and the machine), report.md (tables that
 * render on GitHub, linking the plots) and SVG plots with axes, units and
 * legends.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { machineLine } from './machine.js';
import type { FormatsResult } from './formats.js';
import type { BenchResults } from './run.js';
import { isNoisy, NOISY_SPREAD, type Spread } from './stats.js';
import { barChart, lineChart, type Series } from './svg-plot.js';

/** The files a report consists of (relative to its directory). */
export interface ReportFiles {
  results: string;
  report: string;
  plots: string[];
}

const sig = (v: number, digits = 3) => (Number.isFinite(v) ? (Math.abs(v) >= 10 ** digits ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(digits)))) : String(v));
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const span = (s: Spread, f: (v: number) => string = (v) => sig(v)) => `${f(s.median)} (${f(s.min)} – ${f(s.max)})`;
/** A time's spread, marked ‡ when its rounds disagree (isNoisy). */
const timeSpan = (s: Spread) => `${span(s)}${isNoisy(s) ? ' ‡' : ''}`;
const NOISY_NOTE = `‡: the rounds disagree (slowest more than ${NOISY_SPREAD}x the fastest): the machine's load changed during the run, and a rerun's median may fall outside this spread.`;
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const table = (head: string[], rows: (string | number)[][]) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');

/** The plots of a run: file name and SVG text. */
export function reportPlots(r: BenchResults): { file: string; svg: string; title: string }[] {
  const plots: { file: string; svg: string; title: string }[] = [];
  const f = r.fidelity;
  if (f && f.points.length > 0) {
    for (const kernel of ['ntk', 'nngp'] as const) {
      for (const measure of ['gramError', 'spectralEpsilon'] as const) {
        const pts = f.points.filter((p) => p.kernel === kernel && p[measure] !== null);
        if (pts.length === 0) continue;
        const keys = [...new Set(pts.map((p) => `${p.map}|${p.depth}`))];
        const series: Series[] = keys.map((key) => {
          const [map, depth] = key.split('|');
          return { name: `${map}, depth ${depth}`, points: pts.filter((p) => `${p.map}|${p.depth}` === key).map((p) => [p.features, p[measure] as number]) };
        });
        const title = `${kernel.toUpperCase()} ${measure === 'gramError' ? 'Gram relative error' : 'spectral epsilon'} vs features (${r.data.name}, ${f.rows} rows)`;
        const yLabel = measure === 'gramError' ? '||ΦΦᵀ − K||_F / ||K||_F' : `spectral ε (λ = ${f.spectralLambdaRel} × mean diag K)`;
        plots.push({ file: `fidelity-${measure === 'gramError' ? 'gram' : 'spectral'}-${kernel}.svg`, title, svg: lineChart(series, { title, xLabel: 'features m', yLabel, logX: true, logY: true, xTicks: f.points.map((p) => p.features) }) });
      }
    }
  }
  const a = r.accuracy;
  if (a && a.points.some((p) => p.features !== null)) {
    const fs = a.points.filter((p) => p.features !== null).map((p) => p.features as number);
    const [lo, hi] = [Math.min(...fs), Math.max(...fs)];
    const series: Series[] = [];
    for (const p of a.points.filter((q) => q.features === null)) series.push({ name: `${p.method}, depth ${p.depth}`, points: [[lo, p.score], [hi, p.score]], dashed: true });
    const keys = [...new Set(a.points.filter((p) => p.features !== null).map((p) => `${p.method}|${p.depth}`))];
    for (const key of keys) {
      const [method, depth] = key.split('|');
      series.push({ name: `${method}, depth ${depth}`, points: a.points.filter((p) => `${p.method}|${p.depth}` === key).map((p) => [p.features as number, p.score]) });
    }
    const label = a.metric === 'accuracy' ? 'test accuracy (fraction)' : 'test R²';
    const title = `Ridge on features vs exact kernel ridge (${r.data.name})`;
    plots.push({ file: 'accuracy.svg', title, svg: lineChart(series, { title, xLabel: 'features m', yLabel: label, logX: true, xTicks: fs }) });
  }
  const t = r.throughput;
  if (t && t.scaling.length > 0) {
    const series: Series[] = [];
    for (const s of t.scaling) {
      series.push({ name: s.map, points: s.rows.map((n, i) => [n, s.medianMs[i]]) });
      series.push({ name: `${s.map}: fitted line`, points: s.rows.map((n) => [n, s.intercept + s.slope * n]), dashed: true, color: '#999' });
    }
    const title = `Featurisation time vs rows (${t.features} features, float32, depth ${t.depth})`;
    plots.push({ file: 'throughput-rows.svg', title, svg: lineChart(series, { title, xLabel: 'rows n', yLabel: 'median time (ms)', logX: true, logY: true, xTicks: t.scaling[0].rows }) });
  }
  const th = t?.figures.filter((x) => x.group === 'threads') ?? [];
  if (t && th.length > 0) {
    const series: Series[] = [];
    for (const name of [...new Set(th.map((x) => x.map ?? 'sgemm'))]) {
      const full = t.figures.find((x) => (name === 'sgemm' ? x.name === 'sgemm' : x.map === name && x.group === 'featurise' && x.dtype === 'float32'))!;
      const pts = th.filter((x) => (x.map ?? 'sgemm') === name).map((x) => [x.threads, full.ms.median / x.ms.median] as [number, number]);
      pts.push([full.threads, 1]);
      series.push({ name, points: pts });
    }
    const title = `Scaling with threads (${t.rows} rows, ${t.features} features)`;
    const ticks = [...new Set([...th.map((x) => x.threads), r.machine.threads])].sort((a, b) => a - b);
    plots.push({ file: 'throughput-threads.svg', title, svg: lineChart(series, { title, xLabel: 'threads', yLabel: `speed / speed at ${r.machine.threads} threads`, xTicks: ticks }) });
  }
  const sp = r.sparsity;
  if (sp && sp.points.length > 0) {
    for (const series of ['non-zeros', 'dimension'] as const) {
      const pts = sp.points.filter((p) => p.series === series);
      if (pts.length === 0) continue;
      const lines: Series[] = [...new Set(pts.map((p) => p.map))].map((map) => ({
        name: map, points: pts.filter((p) => p.map === map).map((p) => [series === 'non-zeros' ? p.nonZerosPerRow : p.inputDim, p.ms.median]),
      }));
      const title = series === 'non-zeros'
        ? `CSR input: time vs non-zeros per row (d = ${pts[0].inputDim}, ${sp.rows} rows)`
        : `CSR input: time vs input dimension (${pts[0].nonZerosPerRow} non-zeros per row, ${sp.rows} rows)`;
      plots.push({ file: `sparsity-${series === 'non-zeros' ? 'nnz' : 'dim'}.svg`, title, svg: lineChart(lines, { title, xLabel: series === 'non-zeros' ? 'non-zeros per row' : 'input dimension d', yLabel: 'median time (ms)', logX: true, logY: true, xTicks: pts.map((p) => (series === 'non-zeros' ? p.nonZerosPerRow : p.inputDim)) }) });
    }
  }
  const fm = r.formats;
  if (fm && fm.formats.length > 0) {
    const title = `Reading each format vs featurising from memory (${fm.rows} rows, ${fm.features} features)`;
    const bars = [
      { name: 'read (openData pass)', pick: (x: FormatsResult['formats'][number]) => x.read.ratio },
      { name: 'read + NTKSketch (end to end)', pick: (x: FormatsResult['formats'][number]) => x.endToEnd.ratio },
    ].map((b) => ({ name: b.name, values: fm.formats.map((x) => b.pick(x).median), ranges: fm.formats.map((x) => [b.pick(x).min, b.pick(x).max] as [number, number]) }));
    plots.push({
      file: 'formats.svg', title,
      svg: barChart(fm.formats.map((x) => x.name), bars, {
        title, xLabel: 'file format (whiskers: min – max over rounds)', yLabel: 'time / featurise-from-memory time, same round', logY: true,
        reference: { value: 1, name: 'featurise from memory' },
      }),
    });
  }
  return plots;
}

/** The headline table: per map, at the largest feature count, fidelity, accuracy and speed. */
function headline(r: BenchResults): string {
  const depth = r.accuracy?.points.some((p) => p.depth === 2) ? 2 : (r.fidelity?.points[0]?.depth ?? 1);
  const rows: string[][] = [];
  for (const m of r.maps) {
    const fid = r.fidelity?.points.filter((p) => p.map === m.name && p.kernel === 'ntk' && p.depth === depth) ?? [];
    const fTop = fid.sort((a, b) => b.features - a.features)[0];
    const acc = r.accuracy?.points.filter((p) => p.method === m.name && p.depth === depth).sort((a, b) => (b.features ?? 0) - (a.features ?? 0))[0];
    const exact = r.accuracy?.points.find((p) => p.method === `exact-${m.exactKernel}` && p.depth === depth);
    const speed = r.throughput?.figures.find((x) => x.map === m.name && x.group === 'featurise' && x.dtype === 'float32');
    const metric = (v: number) => (r.accuracy?.metric === 'accuracy' ? pct(v) : sig(v, 4));
    rows.push([
      m.name,
      fTop ? `${sig(fTop.gramError)} / ${fTop.spectralEpsilon === null ? '–' : sig(fTop.spectralEpsilon)} (${fTop.features})` : '–',
      acc ? `${metric(acc.score)} (${acc.features})` : '–',
      exact ? metric(exact.score) : '–',
      speed ? sig(speed.rate.median) : '–',
      speed?.ratio ? `${sig(speed.ratio.median)}x` : '–',
    ]);
  }
  const t = r.throughput;
  return table(
    ['map', `NTK Gram error / spectral ε (features), depth ${depth}`, `test ${r.accuracy?.metric ?? 'score'} (features)`, 'exact kernel ridge', `rows/s, float32${t ? `, ${t.features} features` : ''}`, 'time / sgemm of the same shape'],
    rows,
  );
}

/** report.md of a run; `plots` are the plot files written beside it. */
export function reportMarkdown(r: BenchResults, plots: { file: string; title: string }[]): string {
  const m = r.machine;
  const out: string[] = [];
  const img = (prefix: string) => plots.filter((p) => p.file.startsWith(prefix)).map((p) => `![${p.title}](${p.file})`).join('\n\n');
  out.push('# ntk-sketch benchmark report', '');
  out.push(`Generated by \`${r.command || 'ntk-sketch bench'}\` on ${m.date} (suite \`${r.suite}\`, ${r.seconds.total} s). Raw numbers: [results.json](results.json).`, '');
  out.push(`**Machine:** ${machineLine(m)}.`, '');
  out.push(table(['quantity', 'value'], [
    ['CPU', `${m.cpu.model}, ${m.cpu.logicalCores} logical cores, ${m.cpu.memoryGiB} GiB, load average ${m.cpu.loadAverage.join(' / ')} at the start${r.loadAverageEnd?.length ? `, ${r.loadAverageEnd.join(' / ')} at the end` : ''}`],
    ['BLAS', `${m.blas.vendor} ${m.blas.version} ${m.blas.config}; kernel family ${m.blas.kernelFamily}`],
    ['threads', `${m.threads} (native core), BLAS threads ${m.blas.blasThreads}; sketch kernels ${m.simd}`],
    ['GPU', m.gpu.available ? m.gpu.devices.map((d) => `${d.name} (${d.memoryGiB} GiB, sm ${d.computeCapability})`).join(', ') : `none (${m.gpu.reason})`],
    ['versions', `Node ${m.versions.node}, ntk-sketch ${m.versions.library}`],
    ['build', `${m.build.kind}${m.build.buildType ? ` ${m.build.buildType}` : ''}${m.build.cxxFlags ? ` ${m.build.cxxFlags}` : ''} (${m.build.compiler}); CUDA ${m.build.cuda ?? 'unknown'}`],
    ['data', `${r.data.name}: ${r.data.trainRows} training and ${r.data.testRows} test rows of ${r.data.d} columns${r.data.imageShape ? ` (images ${r.data.imageShape.join(' x ')})` : ''}`],
  ]), '');
  out.push('Speed figures are medians with (min – max) over interleaved rounds; each ratio is against a baseline timed in the same rounds on this machine. Timings on a shared machine are noisy: compare ratios, not absolute figures across machines.', '');
  out.push('## Headline', '', headline(r), '');

  const f = r.fidelity;
  if (f) {
    out.push('## Fidelity', '');
    out.push(`Gram relative error ||ΦΦᵀ − K||_F / ||K||_F and spectral ε (the smallest ε with (1 − ε)(K + λI) ⪯ ΦΦᵀ + λI ⪯ (1 + ε)(K + λI), λ = ${f.spectralLambdaRel} × mean diagonal of K) of float32 features against the exact kernel on ${f.rows} training rows${Object.values(f.cntkRows).some((r) => r !== f.rows) ? ` (the CNTK maps on ${Object.entries(f.cntkRows).map(([d, r]) => `${r} at depth ${d}`).join(', ')}: an exact CNTK pair costs (HW)² per layer)` : ''}; mean over seeds ${f.seeds.join(', ')}.`, '');
    out.push(table(['map', 'kernel', 'depth', 'features', 'Gram error', 'spectral ε'], f.points.map((p) => [p.map, p.kernel.toUpperCase(), p.depth, p.features, sig(p.gramError), p.spectralEpsilon === null ? '–' : sig(p.spectralEpsilon)])), '');
    for (const s of f.skipped) out.push(`- ${s.map}: skipped (${s.reason})`);
    out.push('', img('fidelity-'), '');
  }
  const a = r.accuracy;
  if (a) {
    out.push('## Accuracy', '');
    out.push(`Ridge on each map's features against exact kernel ridge on the same training rows (lambda chosen on the seeded validation rows, seed ${a.seed}, then refitted on all of them), scored once on the test rows. The CNTK comparison uses the first rows of the same split (an exact CNTK pair costs (HW)² per layer).`, '');
    out.push(table(['method', 'depth', 'features', 'train / test rows', a.metric === 'accuracy' ? 'test accuracy' : 'test R²', 'lambda', 'seconds'], a.points.map((p) => [p.method, p.depth, p.features ?? 'exact', `${p.trainRows} / ${p.testRows}`, a.metric === 'accuracy' ? pct(p.score) : sig(p.score, 4), p.lambda.toExponential(2), sig(p.seconds)])), '');
    for (const s of a.skipped) out.push(`- ${s.map}: skipped (${s.reason})`);
    out.push('', img('accuracy'), '');
  } else if (r.seconds.accuracy !== undefined) {
    out.push('## Accuracy', '', 'Skipped: the data has no targets.', '');
  }
  const t = r.throughput;
  if (t) {
    out.push('## Throughput', '');
    out.push(`${t.rows} rows, ${t.features} features, depth ${t.depth}, ${t.rounds} interleaved rounds. Featurisation GFLOP/s are GEMM-equivalent (2 n d m, the flops of a dense random-feature layer of the same shape); ratio = time / the baseline's time in the same round (for thread rows: time / the same task at all threads).`, '');
    out.push(table(['task', 'rows', 'threads', 'median ms (min – max)', 'rate', 'GFLOP/s', 'ratio (baseline)'], t.figures.map((x) => [
      x.name, x.rows, x.threads, timeSpan(x.ms), `${span(x.rate)} ${x.rateUnit}`, x.gflops ? sig(x.gflops.median) : '–', x.ratio ? `${span(x.ratio)} (${x.baseline})` : 'baseline',
    ])), '');
    if (t.figures.some((x) => isNoisy(x.ms))) out.push(NOISY_NOTE, '');
    if (t.scaling.length > 0) {
      out.push('Cost against n (float32 featurisation): least-squares line through the medians; a small relative residual means the cost is linear in n.', '');
      out.push(table(['map', 'rows', 'slope (µs per row)', 'intercept (ms)', 'relative residual', 'R²'], t.scaling.map((s) => [s.map, s.rows.join(', '), sig(s.slope * 1000), sig(s.intercept), sig(s.relativeResidual, 2), sig(s.r2, 4)])), '');
    }
    for (const s of t.skipped) out.push(`- ${s.map}: skipped (${s.reason})`);
    out.push('', img('throughput-'), '');
  }
  const sp = r.sparsity;
  if (sp) {
    out.push('## Input sparsity', '');
    out.push(`CSR rows (${sp.rows} rows, ${sp.features} features, depth ${sp.depth}), against baselines in the same rounds: a copy of the output's size (${span(sp.copyMs)} ms) and the same map on dense rows of ${sp.denseDim} columns (${sp.dense.map((x) => `${x.map} ${span(x.ms)} ms`).join(', ')}).`, '');
    out.push(table(['map', 'input dimension', 'non-zeros per row', 'median ms (min – max)', 'rows/s', 'time / copy', `time / dense d = ${sp.denseDim}`], sp.points.map((p) => [p.map, p.inputDim, p.nonZerosPerRow, timeSpan(p.ms), sig(p.rowsPerSecond.median), sig(p.ratio.median), span(p.ratioToDense)])), '');
    if (sp.points.some((p) => isNoisy(p.ms))) out.push(NOISY_NOTE, '');
    if (sp.fits.length > 0) out.push(table(['map', 'ms per non-zero per row (slope)', 'intercept (ms)', 'relative residual'], sp.fits.map((x) => [x.map, sig(x.slope), sig(x.intercept), sig(x.relativeResidual, 2)])), '');
    for (const s of sp.skipped) out.push(`- ${s.map}: skipped (${s.reason})`);
    out.push('', img('sparsity-'), '');
  }
  const fm = r.formats;
  if (fm) {
    out.push('## Data formats', '');
    const held = fm.byteScale === null ? 'the values (text: 7 significant digits; IDX: float32)' : `the bytes of the values, read with scale ${fm.byteScale === 1 ? 1 : `1/${Math.round(1 / fm.byteScale)}`}`;
    out.push(`The same ${fm.rows} rows of ${fm.columns} columns (training rows, repeated) written to a file of each format, holding ${held} (.npy: float32), and read by the library's readers (\`openData\`, float32, default batches). **read**: one pass, the batches thrown away; **end to end**: each batch read (the next one while the current one is featurised) and featurised by NTKSketch (depth ${fm.depth}, ${fm.features} features, float32), the loop of \`ntk-sketch transform\` without the write. Both against the baseline timed in the same ${fm.rounds} interleaved rounds: featurising the rows from memory (${span(fm.featurise.ms)} ms, ${sig(fm.featurise.rowsPerSecond.median)} rows/s). MB: the file and its targets file; max difference: the largest absolute difference between the values read and those written.`, '');
    out.push(table(['format', 'file', 'MB', 'max difference', 'read rows/s', 'read MB/s', 'read / featurise', 'end to end rows/s', 'end to end / featurise'], fm.formats.map((x) => [
      x.name, x.description, sig(x.bytes / 1e6), x.maxAbsDifference === 0 ? '0' : x.maxAbsDifference.toExponential(1), sig(x.read.rowsPerSecond.median), sig(x.read.megabytesPerSecond.median),
      span(x.read.ratio), sig(x.endToEnd.rowsPerSecond.median), span(x.endToEnd.ratio),
    ])), '');
    if ([fm.featurise.ms, ...fm.formats.flatMap((x) => [x.read.ms, x.endToEnd.ms])].some(isNoisy)) out.push(NOISY_NOTE, '');
    out.push(img('formats'), '');
  }
  const b = r.backends;
  if (b) {
    out.push('## Backends', '');
    if (!b.ran) out.push(`CPU vs CUDA: skipped, ${b.reason}.`, '');
    else out.push(table(['task', 'rows', 'CPU ms', 'CUDA ms', 'CUDA / CPU time'], b.pairs.map((p) => [p.task, p.rows, span(p.cpuMs), span(p.cudaMs), span(p.ratio)])), '');
  }
  const rep = r.repeatability;
  if (rep) {
    out.push('## Repeatability', '');
    const loads = (start: number[], end: number[]) => `${start.join(' / ')}${end.length ? ` at the start, ${end.join(' / ')} at the end` : ' at the start'}`;
    out.push(`Against the run of ${rep.previous.date} (\`${rep.previous.command}\`), same configuration and seeds. Load averages: that run ${loads(rep.previous.loadAverage, rep.previous.loadAverageEnd)}; this run ${loads(m.cpu.loadAverage, r.loadAverageEnd ?? [])}.`, '');
    const same = (x: { compared: number; changed: unknown[] }) => (x.changed.length === 0 ? `all ${x.compared} identical` : `${x.changed.length} of ${x.compared} differ`);
    out.push(table(['measure', 'result'], [
      ['fidelity (Gram errors, spectral ε)', same(rep.fidelity)],
      ['accuracy (scores, lambdas)', same(rep.accuracy)],
      ['speed (medians of times and ratios within the earlier min – max)', `${rep.speed.compared - rep.speed.outside.length} of ${rep.speed.compared} within`],
    ]), '');
    for (const c of [...rep.fidelity.changed, ...rep.accuracy.changed]) out.push(`- changed: ${c.what}: ${c.previous} then ${c.current}`);
    if (rep.speed.outside.length > 0) {
      out.push('Speed figures whose median falls outside the earlier run\'s min – max (on a shared machine the load between runs varies more than between the interleaved rounds of one run):', '');
      out.push(table(['figure', 'measure', 'earlier median (min – max)', 'this run'], rep.speed.outside.map((o) => [o.what, o.measure, span(o.previous), timeSpan(o.current)])), '');
    }
  }
  out.push('## Suite times', '', table(['suite', 'seconds'], Object.entries(r.seconds).map(([k, v]) => [k, v as number])), '');
  return `${out.join('\n')}\n`;
}

/** Writes results.json, report.md and the plots into `dir` (created). */
export async function writeReport(r: BenchResults, dir: string): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const plots = reportPlots(r);
  for (const p of plots) await writeFile(join(dir, p.file), `${p.svg}\n`);
  await writeFile(join(dir, 'results.json'), `${JSON.stringify(r, null, 1)}\n`);
  await writeFile(join(dir, 'report.md'), reportMarkdown(r, plots));
  return { results: 'results.json', report: 'report.md', plots: plots.map((p) => p.file) };
}
