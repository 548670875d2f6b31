/**
 * `ntk-sketch fit`: ridge regression (or one-hot ridge classification) on
 * the features of a map, streamed from a data file (FeatureRidge: only the
 * m x m statistics are kept, never the data or the features), lambda chosen
 * on a validation share of the rows from those statistics, written as one
 * model file.
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_VALIDATION, FeatureRidge, isValidationRow, type Task } from '../regression/feature-ridge.js';
import { COMMON_FLAGS, COMMON_HELP, UsageError, parseFlags, type FlagValues, parseInteger, parseNumber, startCommand } from './args.js';
import { DATA_FLAGS, DATA_HELP, openDataFlags } from './data-options.js';
import { MAP_FLAGS, MAP_HELP, checkWidth, loadMap, mapRequest, newMap, readsImages, type MapRequest } from './map-options.js';
import { loadModel, saveExactModel, saveModel, type RowRange } from '../regression/model-file.js';
import { checkInterrupted, interruptSignal } from './interrupt.js';
import { ExactKernelRidge, type ExactKernel } from '../regression/exact-kernel-ridge.js';
import { readAll } from '../data/readers/index.js';
import { totalmem } from 'node:os';
import type { FeatureMap } from '../maps/feature-map.js';
import { Progress } from './progress.js';
import { countRows, forEachBatch } from './stream.js';
import { asMapInput } from '../maps/feature-map.js';
import type { DataBatch } from '../data/readers/index.js';

export const FIT_HELP = `Usage: ntk-sketch fit --data FILE (--target COLS | --labels FILE) (--map MAP | --method M --features N --depth L) --out MODEL [options]

Fits ridge regression on the map's features of every row of FILE, streamed
(only the features x features statistics are held), and writes one model file
for predict and evaluate.

${DATA_HELP}

${MAP_HELP}

Model:
  --method M         as above, or exact-ntk / exact-cntk: kernel ridge with the
                     exact kernel on every row, in memory (at most 20,000 rows;
                     --depth, and for exact-cntk --image-shape/--filter/--padding)
  --task T           regression (default; targets as they are) or
                     classification (one label per row; one-hot outputs)
  --lambda X         the ridge lambda (absolute); otherwise chosen on the
                     validation rows
  --validation F     share of rows held out to choose lambda, in (0, 0.5]
                     (default 0.1); the model is then refitted on all rows
  --no-intercept     fit no intercept (default: an intercept, by centring)
  --lambda-path S    how the validation errors of the lambdas are computed:
                     eigen, krylov, cholesky or auto (default: eigen up to
                     2,048 features, krylov above; the chosen lambda is then
                     solved exactly either way)
  --shard I/N        fit only shard I of N (I = 1..N): rows [(I-1) n/N, I n/N)
                     of the file; ntk-sketch merge joins the N parts
  --continue MODEL   continue MODEL's fit with the rows of FILE (its map and
                     options; map flags are refused)
  --out MODEL        the model file to write (required)
${COMMON_HELP}`;

const FLAGS = {
  ...DATA_FLAGS,
  ...MAP_FLAGS,
  task: { type: 'string' },
  lambda: { type: 'string' },
  validation: { type: 'string' },
  'no-intercept': { type: 'boolean' },
  'lambda-path': { type: 'string' },
  shard: { type: 'string' },
  continue: { type: 'string' },
  out: { type: 'string' },
  ...COMMON_FLAGS,
} as const;

/** --shard I/N as [I, N]. */
function parseShard(value: string | undefined): [number, number] | null {
  if (value === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const i = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1 && n <= 1_000_000) || !(i >= 1 && i <= n)) throw new UsageError(`--shard must be I/N with 1 <= I <= N, got '${value}'`);
  return [i, n];
}

type FitValues = FlagValues<typeof FLAGS>;

/** The largest training set of an exact kernel fit: its n x n float64 kernel, and the solver's copies. */
const MAX_EXACT_ROWS = 20000;

/**
 * `fit --method exact-ntk | exact-cntk`: kernel ridge with the exact kernel on
 * every row, held in memory (the ground truth of the feature maps, for data
 * small enough for an n x n kernel); the model keeps the training rows.
 */
async function fitExact(values: FitValues, out: string, task: Task, lambda: number | undefined, validation: number | undefined, json: boolean): Promise<void> {
  const method = values.method as 'exact-ntk' | 'exact-cntk';
  for (const flag of ['map', 'features', 'pool', 'pool-rows', 'sketch-dim', 'dtype', 'backend', 'shard', 'continue'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to --method ${method}`);
  }
  if (method === 'exact-ntk') {
    for (const flag of ['image-shape', 'filter', 'padding'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to --method exact-cntk or cntk-sketch only`);
  }
  const depth = parseInteger('--depth', values.depth, 1, 1000);
  if (depth === undefined) throw new UsageError(`--depth is required with --method ${method}`);
  const padding = values.padding ?? 'same';
  if (padding !== 'same' && padding !== 'valid') throw new UsageError(`--padding must be same or valid, got '${padding}'`);
  const t0 = performance.now();
  const source = await openDataFlags(values, 'float64', { flatten: method === 'exact-ntk' });
  if (source.targetNames.length === 0) throw new UsageError(`${source.path} gives no targets: name the target column(s) with --target, or a file with --labels`);
  if (task === 'classification' && source.targetNames.length !== 1) throw new UsageError(`--task classification needs one label column, got ${source.targetNames.length}`);
  if (source.layout === 'csr') throw new UsageError(`--method ${method} reads dense rows; ${source.path} is sparse (use a feature map)`);
  if (source.rows !== null && source.rows > MAX_EXACT_ROWS) {
    throw new UsageError(`${source.path} has ${source.rows} rows: an exact kernel fit holds an n x n kernel; use at most ${MAX_EXACT_ROWS} rows, or a feature map (--method ntk-sketch, cntk-sketch)`);
  }
  let kernel: ExactKernel;
  if (method === 'exact-ntk') {
    kernel = { kind: 'ntk', depth };
  } else {
    let shape = source.imageShape;
    if (values['image-shape'] !== undefined) {
      const parts = values['image-shape'].split(',').map((p) => parseInteger('--image-shape', p, 1, 1 << 20) as number);
      if (parts.length !== 3) throw new UsageError(`--image-shape must be C,H,W, got '${values['image-shape']}'`);
      shape = parts as [number, number, number];
    }
    if (!shape) throw new UsageError(`--image-shape C,H,W is required: ${source.path} holds rows, not images`);
    if (shape[0] * shape[1] * shape[2] !== source.columns) throw new UsageError(`--image-shape ${shape.join(',')} does not match the ${source.columns} values of each row`);
    kernel = { kind: 'cntk', depth, inputShape: shape, filterSize: parseInteger('--filter', values.filter, 1, 1 << 20) ?? 3, padding };
  }
  const progress = new Progress(Boolean(process.stderr.isTTY) && !json);
  progress.start(`reading ${source.path}`, source.rows ?? 0, 'rows');
  const all = await readAll(source);
  const n = all.X.shape[0];
  if (n > MAX_EXACT_ROWS) throw new UsageError(`${source.path} has ${n} rows: an exact kernel fit holds an n x n kernel; use at most ${MAX_EXACT_ROWS} rows, or a feature map`);
  progress.start(`exact ${kernel.kind.toUpperCase()} kernel of ${n} rows and the solve`, 0);
  const model = new ExactKernelRidge({
    kernel, task, seed: parseInteger('--seed', values.seed, 0, Number.MAX_SAFE_INTEGER) ?? 0, fitIntercept: !values['no-intercept'], memoryLimit: totalmem(),
    ...(lambda !== undefined ? { lambda } : {}), ...(validation !== undefined ? { validation } : {}),
  });
  interruptSignal();
  try {
    await model.fit(all.X.data as Float64Array, n, source.columns, (all.y as { data: Float64Array }).data, source.targetNames.length);
  } finally {
    progress.clear();
  }
  checkInterrupted();
  await saveExactModel(out, model, { columns: source.columns, targetNames: source.targetNames, ranges: [{ file: source.path, begin: 0, end: n }] });
  const summary = {
    command: 'fit', data: source.path, format: source.format, rows: n, columns: source.columns, task, targets: source.targetNames, classes: model.classes,
    map: null, method, depth, lambda: model.lambda, out, seconds: (performance.now() - t0) / 1000,
  };
  process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `${task} on ${n} rows of ${source.path}: exact ${kernel.kind.toUpperCase()} (depth ${depth}) kernel ridge, lambda ${(model.lambda as number).toExponential(3)}\nmodel: ${out}; ${summary.seconds.toFixed(2)} s\n`);
}

export async function fit(argv: string[]): Promise<void> {
  const values = parseFlags(argv, FLAGS);
  const started = startCommand(values, FIT_HELP);
  if (!started) return;
  const { json } = started;
  const resume = values.continue;
  const modelFlags = ['task', 'lambda', 'validation', 'no-intercept'] as const;
  if (resume !== undefined) {
    const extra = [...Object.keys(MAP_FLAGS), ...modelFlags].find((k) => values[k as keyof typeof values] !== undefined);
    if (extra) throw new UsageError(`--${extra} does not apply with --continue (the model fixes it)`);
  }
  const exact = values.method === 'exact-ntk' || values.method === 'exact-cntk';
  const request = resume === undefined && !exact ? mapRequest(values) : null;
  const out = values.out;
  if (!out) throw new UsageError('--out MODEL is required');
  const task = (values.task ?? 'regression') as Task;
  if (task !== 'regression' && task !== 'classification') throw new UsageError(`--task must be regression or classification, got '${values.task}'`);
  if (values.lambda !== undefined && values.validation !== undefined) throw new UsageError('give --lambda or --validation, not both');
  const lambda = values.lambda === undefined ? undefined : parseNumber('--lambda', values.lambda);
  if (lambda !== undefined && lambda < 0) throw new UsageError(`--lambda must be >= 0, got ${values.lambda}`);
  const validation = values.validation === undefined ? undefined : parseNumber('--validation', values.validation);
  if (validation !== undefined && !(validation > 0 && validation <= 0.5)) throw new UsageError(`--validation must be in (0, 0.5], got ${values.validation}`);
  const pathSolver = values['lambda-path'] ?? 'auto';
  if (pathSolver !== 'auto' && pathSolver !== 'eigen' && pathSolver !== 'krylov' && pathSolver !== 'cholesky') {
    throw new UsageError(`--lambda-path must be auto, eigen, krylov or cholesky, got '${pathSolver}'`);
  }
  if (values['lambda-path'] !== undefined && values.lambda !== undefined) throw new UsageError('--lambda-path chooses lambda; it cannot go with --lambda');
  const shard = parseShard(values.shard);
  if (exact) return fitExact(values, out, task, lambda, validation, json);

  const t0 = performance.now();
  const previous = resume === undefined ? null : await loadModel(resume, { solver: pathSolver });
  const saved = request?.kind === 'saved' ? await loadMap(request.path) : (previous?.map ?? null);
  const images = request ? readsImages(request, saved) : (saved as FeatureMap).inputLayout.kind === 'images';
  const dtype = saved ? saved.dtype : request?.kind === 'new' ? request.dtype : 'float32';
  const source = await openDataFlags(values, dtype, { flatten: !images });
  if (source.targetNames.length === 0) {
    throw new UsageError(`${source.path} gives no targets: name the target column(s) with --target, or a file with --labels`);
  }
  // A new map fitted on data (Nyström landmarks) sees only the rows the validation split keeps for fitting.
  const seed = request?.kind === 'new' ? request.seed : 0;
  const share = lambda !== undefined ? 0 : (validation ?? DEFAULT_VALIDATION);
  const fitRow = share > 0 && !previous ? (index: number) => !isValidationRow(seed, index, share) : undefined;
  const map = saved ?? (await newMap(request as Extract<MapRequest, { kind: 'new' }>, source, fitRow));
  checkWidth(map, source);
  const progress = new Progress(Boolean(process.stderr.isTTY) && !json);
  try {
    let model: FeatureRidge;
    if (previous) {
      model = previous.model;
      if (JSON.stringify(previous.data.targetNames) !== JSON.stringify(source.targetNames)) {
        throw new UsageError(`${source.path} gives targets ${source.targetNames.join(', ')}, but the model was fitted on ${previous.data.targetNames.join(', ')}`);
      }
    } else {
      if (task === 'classification' && source.targetNames.length !== 1) {
        throw new UsageError(`--task classification needs one label column, got ${source.targetNames.length} (${source.targetNames.join(', ')})`);
      }
      model = new FeatureRidge({
        map, task, seed, fitIntercept: !values['no-intercept'], solver: pathSolver,
        ...(lambda !== undefined ? { lambda } : {}),
        ...(validation !== undefined ? { validation } : {}),
      });
    }
    // The rows of this fit: all, or this shard's range. Rows keep their index
    // in the file, so the validation split is the single-process fit's.
    let range: [number, number] = [0, Infinity];
    if (shard) {
      const n = source.rows ?? (await countRows(source, progress));
      range = [Math.floor(((shard[0] - 1) * n) / shard[1]), Math.floor((shard[0] * n) / shard[1])];
    }
    progress.start(`fitting ${map.mapType} features of ${source.path}${shard ? ` (shard ${shard[0]}/${shard[1]})` : ''}`, source.rows === null ? 0 : Math.min(source.rows, range[1]) - range[0], 'rows');
    let fitted = 0;
    // Ctrl-C / SIGTERM: stop between batches; the model file is written only at the end, under a temporary name.
    const signal = interruptSignal();
    const streamed = await forEachBatch(source, progress, async (batch) => {
      checkInterrupted();
      const rows = sliceRows(batch, range[0], range[1]);
      if (!rows) return;
      await model.partialFit(asMapInput(rows.X, map.inputLayout), rows.y, rows.offset, { signal });
      fitted += rows.X.shape[0];
    }, range[1]);
    const end = Math.min(range[1], range[0] + fitted);
    progress.start(`solving (${map.features} x ${map.features}${model.lambdaChosen ? ', choosing lambda' : ''})`, 0);
    checkInterrupted();
    await model.solve();
    progress.clear();
    checkInterrupted();
    const ranges: RowRange[] = [...(previous?.data.ranges ?? []), { file: source.path, begin: range[0], end }];
    await saveModel(out, model, { columns: source.columns, targetNames: source.targetNames, ranges });
    const best = model.lambdaPath.reduce<{ lambda: number; mse: number } | null>((b, p) => (!b || p.mse < b.mse ? p : b), null);
    const summary = {
      command: 'fit',
      data: source.path,
      format: source.format,
      rows: fitted,
      range: [range[0], end],
      shard: shard ? `${shard[0]}/${shard[1]}` : null,
      totalRows: model.rows,
      columns: source.columns,
      task: model.task,
      targets: source.targetNames,
      classes: model.classes,
      map: map.mapType,
      features: map.features,
      seed: model.seed,
      lambda: model.lambda,
      validationMse: best ? best.mse : null,
      lambdaPath: model.lambdaPath,
      lambdaPathInfo: model.lambdaPathInfo,
      out,
      seconds: (performance.now() - t0) / 1000,
      readSeconds: streamed.times.read,
      featureSeconds: model.seconds.features,
      statisticsSeconds: model.seconds.statistics,
      lambdaPathSeconds: model.seconds.lambdaPath,
      solveSeconds: model.seconds.solve,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    process.stdout.write(
      `${model.task} on ${fitted} rows of ${source.path}${shard ? ` (shard ${shard[0]}/${shard[1]}: rows ${range[0]}..${end - 1})` : ''}` +
        `${previous ? ` (${model.rows} rows in all)` : ''}: ${map.features} ${map.mapType} features, lambda ${(model.lambda as number).toExponential(3)}` +
        `${best ? ` (validation MSE ${best.mse.toPrecision(4)})` : ''}${model.classes ? `, ${model.classes.length} classes` : ''}\n` +
        `model: ${out}; ${summary.seconds.toFixed(2)} s (reading ${streamed.times.read.toFixed(2)} s, features ${model.seconds.features.toFixed(2)} s, statistics ${model.seconds.statistics.toFixed(2)} s, lambda path ${model.seconds.lambdaPath.toFixed(2)} s, solve ${model.seconds.solve.toFixed(2)} s)\n`,
    );
  } finally {
    progress.clear();
    map.dispose();
  }
}

/** The rows of a batch within [begin, end) of the file, with their offset; null when none are. */
function sliceRows(batch: DataBatch, begin: number, end: number): DataBatch | null {
  const n = batch.X.shape[0], from = Math.max(begin - batch.offset, 0), to = Math.min(end - batch.offset, n);
  if (to <= from) return null;
  if (from === 0 && to === n) return batch;
  const X = batch.X as { data: Float32Array | Float64Array; shape: number[]; indptr?: Int32Array; indices?: Int32Array };
  let rows: DataBatch['X'];
  if (X.indptr && X.indices) {
    const base = X.indptr[from];
    rows = {
      indptr: Int32Array.from(X.indptr.subarray(from, to + 1), (p) => p - base),
      indices: X.indices.subarray(base, X.indptr[to]),
      data: X.data.subarray(base, X.indptr[to]),
      shape: [to - from, X.shape[1]],
    };
  } else {
    const per = X.shape.slice(1).reduce((a, b) => a * b, 1);
    rows = { data: X.data.subarray(from * per, to * per), shape: [to - from, ...X.shape.slice(1)] } as DataBatch['X'];
  }
  const y = batch.y && { data: batch.y.data.subarray(from * batch.y.shape[1], to * batch.y.shape[1]), shape: [to - from, batch.y.shape[1]] as [number, number] };
  return { X: rows, y, offset: batch.offset + from };
}
