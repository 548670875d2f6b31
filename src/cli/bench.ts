/**
 * `ntk-sketch bench`: the benchmark tool. Runs the suites (fidelity,
 * accuracy, throughput, input sparsity, data formats, backends) on this machine and the
 * chosen data and writes a self-contained report (report.md, results.json,
 * SVG plots); or, with --recommend, measures a few configurations of each
 * map on a sample of the user's file and recommends one within a budget.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkComparable, compareRuns, type RunConfiguration } from '../bench/compare.js';
import { BENCH_MAPS } from '../bench/maps.js';
import { fitDataFlags, loadBenchData, type DataRequest } from '../bench/data.js';
import { writeReport } from '../bench/report.js';
import { recommend, recommendationText } from '../bench/recommend.js';
import { PRESET_SIZES, SUITE_NAMES, SUITE_PRESETS, runBench, type BenchResults, type SuiteName, type SuitePreset, type SuiteSizes } from '../bench/run.js';
import { selectMaps } from '../bench/maps.js';
import { openData } from '../data/readers/index.js';
import { COMMON_FLAGS, COMMON_HELP, UsageError, parseBackend, parseFlags, parseInteger, parseNumber, startCommand } from './args.js';
import { DATA_FLAGS, dataOptions, flagMessage } from './data-options.js';

export const BENCH_HELP = `Usage: ntk-sketch bench [options]

Benchmarks the library on this machine and writes a report (report.md,
results.json with every raw number and the machine, SVG plots) into --out.

Suites: fidelity (Gram error and spectral epsilon against the exact kernel vs
features, every map and depth, NTK and NNGP), accuracy (ridge on features vs
exact kernel ridge, same split and lambda protocol), throughput (rows/s and
GFLOP/s of featurisation, exact kernels, Gram accumulation, the solve and
the lambda path, float32 and float64, vs threads and vs n with a fitted
line), sparsity (CSR input: cost vs non-zeros and input dimension),
formats (reading CSV, TSV, .npy, LIBSVM, IDX and gzip files, and reading +
featurising, against featurising the same rows from memory),
backends (CPU vs CUDA when a device exists). Speed figures are ratios to a baseline timed in the same
interleaved rounds (BLAS GEMM, a memory copy) with min/median/max.

Options:
  --suite S          quick (default; a few minutes on 2 cores), full (the
                     README's report) or tiny (seconds; a smoke test)
  --only LIST        run only these suites (${SUITE_NAMES.join(', ')})
  --maps LIST        maps to measure (default all: ${BENCH_MAPS.map((m) => m.name).join(', ')})
  --data D           digits (default; packaged), fashion-mnist (apt-get install
                     dataset-fashion-mnist) or a FILE (see Data below)
  --task T           FILE with targets: regression (default) or classification
  --image-shape C,H,W  FILE of flat rows that are images (for cntk-sketch)
  --backend B        auto (default: compare CPU and CUDA when a device exists),
                     cuda (same; says "no device" without one) or cpu
  --out DIR          report directory (default bench-report)
  --seed S           seed of the data split and validation rows (default 0)
  --rows N           rows of the fidelity suite
  --features LIST    feature counts of the fidelity and accuracy suites
  --depths LIST      depths of the fidelity and accuracy suites
  --train N, --test N  training / test rows of the accuracy suite
  --rounds R         interleaved timing rounds
  --compare FILE     an earlier run's results.json (same flags): the report
                     adds whether fidelity and accuracy are identical and
                     which speed medians fall outside its min – max
Which map for my data:
  --recommend        measure configurations of each map on a sample of --data
                     and print the trade-off and the recommended one (no report)
  --sample N         sample rows (default 2000; 80 % train, 20 % test)
  --budget-seconds S projected fit time on all rows, at most S
  --budget-mib M     projected memory, at most M MiB
  --total-rows N     rows of the whole data (default: counted)
${COMMON_HELP}

Data (a FILE):
  --format, --target, --labels, --header, --delimiter, --scale, --zero-based,
  --columns: as for ntk-sketch fit`;

const { 'batch-rows': _batchRows, ...FILE_FLAGS } = DATA_FLAGS;

const FLAGS = {
  ...COMMON_FLAGS,
  ...FILE_FLAGS,
  suite: { type: 'string' },
  only: { type: 'string' },
  maps: { type: 'string' },
  task: { type: 'string' },
  'image-shape': { type: 'string' },
  backend: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'string' },
  rows: { type: 'string' },
  features: { type: 'string' },
  depths: { type: 'string' },
  train: { type: 'string' },
  test: { type: 'string' },
  rounds: { type: 'string' },
  compare: { type: 'string' },
  recommend: { type: 'boolean' },
  sample: { type: 'string' },
  'budget-seconds': { type: 'string' },
  'budget-mib': { type: 'string' },
  'total-rows': { type: 'string' },
} as const;

/** A comma separated list of names, each one of `known`. */
function nameList(flag: string, value: string, known: readonly string[]): string[] {
  const list = value.split(',').map((s) => s.trim());
  for (const name of list) if (!known.includes(name)) throw new UsageError(`${flag} must list names among ${known.join(', ')}, got '${name}'`);
  return list;
}

/** A comma separated list of integers in [min, max]. */
function intList(flag: string, value: string, min: number, max: number): number[] {
  const list = value.split(',').map((s) => parseInteger(flag, s.trim(), min, max) as number);
  if (list.length === 0) throw new UsageError(`${flag} must list integers`);
  return [...new Set(list)].sort((a, b) => a - b);
}

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>;

/** The data the flags name. */
function dataRequest(v: Values): DataRequest {
  const name = v.data ?? 'digits';
  const fileOnly = ['format', 'target', 'labels', 'header', 'delimiter', 'scale', 'zero-based', 'columns', 'task', 'image-shape'] as const;
  if (name === 'digits' || name === 'fashion-mnist') {
    const extra = fileOnly.find((k) => v[k] !== undefined);
    if (extra) throw new UsageError(`--${extra} applies to --data FILE only`);
    return { kind: name };
  }
  const task = v.task ?? 'regression';
  if (task !== 'regression' && task !== 'classification') throw new UsageError(`--task must be regression or classification, got '${task}'`);
  let imageShape: [number, number, number] | null = null;
  if (v['image-shape'] !== undefined) {
    const parts = v['image-shape'].split(',');
    if (parts.length !== 3) throw new UsageError(`--image-shape must be C,H,W, got '${v['image-shape']}'`);
    imageShape = parts.map((p) => parseInteger('--image-shape', p, 1, 1 << 20) as number) as [number, number, number];
  }
  const { path, options } = dataOptions({ ...v, data: name }, 'float64');
  return { kind: 'file', path, options, task, imageShape };
}

/** Library errors about data become usage errors naming the flag. */
async function withFlags<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new UsageError(flagMessage(error.message, { maps: '--maps', rows: '--train/--test', task: '--task', imageShape: '--image-shape', data: '--data', format: '--format', target: '--target', labels: '--labels', header: '--header', scale: '--scale', columns: '--columns' }));
    }
    throw error;
  }
}

export async function bench(argv: string[]): Promise<void> {
  const v = parseFlags(argv, FLAGS);
  const started = startCommand(v, BENCH_HELP);
  if (!started) return;
  const suite = (v.suite ?? 'quick') as SuitePreset;
  if (!SUITE_PRESETS.includes(suite)) throw new UsageError(`--suite must be one of ${SUITE_PRESETS.join(', ')}, got '${v.suite}'`);
  const maps = v.maps === undefined ? null : nameList('--maps', v.maps, BENCH_MAPS.map((m) => m.name));
  const backend = v.backend === undefined || v.backend === 'auto' ? 'auto' : v.backend === 'cpu' ? 'cpu' : v.backend === 'cuda' ? 'cuda' : null;
  if (backend === null) throw new UsageError(`--backend must be 'auto', 'cpu' or 'cuda', got '${v.backend}'`);
  const seed = parseInteger('--seed', v.seed, 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const features = v.features === undefined ? undefined : intList('--features', v.features, 2, 1 << 20);
  const depths = v.depths === undefined ? undefined : intList('--depths', v.depths, 1, 10);
  const data = dataRequest(v);
  const recommendOnly = ['sample', 'budget-seconds', 'budget-mib', 'total-rows'] as const;

  if (v.recommend) {
    for (const flag of ['suite', 'only', 'out', 'train', 'test', 'compare'] as const) if (v[flag] !== undefined) throw new UsageError(`--${flag} does not apply with --recommend`);
    const sample = parseInteger('--sample', v.sample, 20, 1 << 22) ?? 2000;
    const budgetSeconds = v['budget-seconds'] === undefined ? null : parseNumber('--budget-seconds', v['budget-seconds']);
    if (budgetSeconds !== null && budgetSeconds <= 0) throw new UsageError(`--budget-seconds must be positive, got ${budgetSeconds}`);
    const budgetMib = v['budget-mib'] === undefined ? null : parseNumber('--budget-mib', v['budget-mib']);
    if (budgetMib !== null && budgetMib <= 0) throw new UsageError(`--budget-mib must be positive, got ${budgetMib}`);
    let totalRows = parseInteger('--total-rows', v['total-rows'], 1, Number.MAX_SAFE_INTEGER);
    const nTest = Math.round(0.2 * sample);
    const benchData = await withFlags(() => loadBenchData(data, sample - nTest, nTest, seed));
    // The projection is for a fit on every training row: a file's rows, digits' 1,797, Fashion-MNIST's 60,000.
    if (totalRows === undefined) totalRows = data.kind === 'file' ? await countRows(data) : data.kind === 'fashion-mnist' ? 60000 : benchData.train.n + benchData.test.n;
    const dataFlags = fitDataFlags(data, argvFlags(argv, ['format', 'target', 'labels', 'header', 'delimiter', 'scale', 'zero-based', 'columns']));
    const result = await withFlags(() => recommend(benchData, selectMaps(maps), {
      totalRows: totalRows as number, features: features ?? [256, 1024, 4096], depths: depths ?? [1, 2], fidelityRows: 500,
      rounds: parseInteger('--rounds', v.rounds, 1, 100) ?? 3, budgetSeconds, budgetBytes: budgetMib === null ? null : budgetMib * 2 ** 20, dataFlags, seed,
    }, (m) => { if (!started.json) process.stderr.write(`${m}\n`); }));
    process.stdout.write(started.json ? `${JSON.stringify(result)}\n` : recommendationText(result));
    return;
  }
  const extra = recommendOnly.find((k) => v[k] !== undefined);
  if (extra) throw new UsageError(`--${extra} applies with --recommend only`);
  const sizes: Partial<SuiteSizes> = {};
  if (v.rows !== undefined) sizes.fidelityRows = parseInteger('--rows', v.rows, 2, 1 << 20);
  if (features) Object.assign(sizes, { fidelityFeatures: features, accuracyFeatures: features });
  if (depths) Object.assign(sizes, { depths, accuracyDepths: depths });
  if (v.train !== undefined) sizes.trainRows = parseInteger('--train', v.train, 10, 1 << 22);
  if (v.test !== undefined) sizes.testRows = parseInteger('--test', v.test, 1, 1 << 22);
  if (v.rounds !== undefined) sizes.rounds = parseInteger('--rounds', v.rounds, 1, 1000);
  const only = v.only === undefined ? null : (nameList('--only', v.only, SUITE_NAMES) as SuiteName[]);
  const out = resolve(v.out ?? 'bench-report');
  const command = ['ntk-sketch bench', ...argv.filter((a, i) => !['--out', '--compare'].some((f) => a === f || argv[i - 1] === f || a.startsWith(`${f}=`)) && a !== '--json')].join(' ');
  const previous = v.compare === undefined ? null : await readPrevious(v.compare, { suite, seed, maps: selectMaps(maps).map((m) => m.name), sizes: { ...PRESET_SIZES[suite], ...sizes } });
  const results = await withFlags(() => runBench({
    suite, data, maps, only, backend, seed, sizes,
    progress: (m) => { if (!started.json) process.stderr.write(`${m}\n`); },
  }, command));
  if (previous) {
    try {
      results.repeatability = compareRuns(previous, results);
    } catch (error) {
      throw new UsageError(`--${(error as Error).message}`);
    }
  }
  const files = await writeReport(results, out);
  if (started.json) {
    process.stdout.write(`${JSON.stringify({ command: 'bench', out, files, seconds: results.seconds })}\n`);
    return;
  }
  process.stdout.write(`report: ${resolve(out, files.report)} (${files.plots.length} plots; raw numbers in ${files.results}); ${results.seconds.total} s\n`);
}

/** The results.json named by --compare, checked to have measured the configuration about to run. */
async function readPrevious(file: string, planned: RunConfiguration): Promise<BenchResults> {
  let previous: BenchResults;
  try {
    previous = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
  } catch (error) {
    throw new UsageError(`--compare: cannot read ${file} as JSON (${(error as Error).message})`);
  }
  try {
    checkComparable(previous, planned);
  } catch (error) {
    throw new UsageError(`--${(error as Error).message}`);
  }
  return previous;
}

/** The given data flags, as they appeared on the command line, for a reproducing command. */
function argvFlags(argv: string[], names: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '').split('=')[0];
    if (!argv[i].startsWith('--') || !names.includes(name)) continue;
    out.push(argv[i]);
    if (!argv[i].includes('=') && name !== 'zero-based' && i + 1 < argv.length) out.push(argv[++i]);
  }
  return out.length ? ` ${out.join(' ')}` : '';
}

/** Rows of a data file (one pass when the format does not say). */
async function countRows(data: Extract<DataRequest, { kind: 'file' }>): Promise<number> {
  const source = await openData(data.path, { ...data.options, dtype: 'float64' });
  if (source.rows !== null) return source.rows;
  let rows = 0;
  for await (const batch of source.batches()) rows += batch.X.shape[0];
  return rows;
}
