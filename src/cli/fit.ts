/**
 * `ntk-sketch fit`: ridge regression (or one-hot ridge classification) on
 * the features of a map, streamed from a data file (FeatureRidge: only the
 * m x m statistics are kept, never the data or the features), lambda chosen
 * on a validation share of the rows from those statistics, written as one
 * model file.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setThreads } from '../core/backends.js';
import { FeatureRidge, type Task } from '../regression/feature-ridge.js';
import { UsageError, parseInteger, parseNumber } from './args.js';
import { DATA_FLAGS, DATA_HELP, openDataFlags } from './data-options.js';
import { MAP_FLAGS, MAP_HELP, checkWidth, loadMap, mapRequest, newMap, readsImages } from './map-options.js';
import { writeModel } from './model-file.js';
import { Progress } from './progress.js';
import { forEachBatch, mapInput } from './stream.js';

export const FIT_HELP = `Usage: ntk-sketch fit --data FILE (--target COLS | --labels FILE) (--map MAP | --method M --features N --depth L) --out MODEL [options]

Fits ridge regression on the map's features of every row of FILE, streamed
(only the features x features statistics are held), and writes one model file
for predict and evaluate.

${DATA_HELP}

${MAP_HELP}

Model:
  --task T           regression (default; targets as they are) or
                     classification (one label per row; one-hot outputs)
  --lambda X         the ridge lambda (absolute); otherwise chosen on the
                     validation rows
  --validation F     share of rows held out to choose lambda, in (0, 0.5]
                     (default 0.1); the model is then refitted on all rows
  --no-intercept     fit no intercept (default: an intercept, by centring)
  --out MODEL        the model file to write (required)
  --threads T        threads of the native core (default: all cores)
  --json             print the result as one JSON object
  -h, --help         show this help`;

const FLAGS = {
  ...DATA_FLAGS,
  ...MAP_FLAGS,
  task: { type: 'string' },
  lambda: { type: 'string' },
  validation: { type: 'string' },
  'no-intercept': { type: 'boolean' },
  out: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function fit(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${FIT_HELP}\n`);
    return;
  }
  const request = mapRequest(values);
  const out = values.out;
  if (!out) throw new UsageError('--out MODEL is required');
  const task = (values.task ?? 'regression') as Task;
  if (task !== 'regression' && task !== 'classification') throw new UsageError(`--task must be regression or classification, got '${values.task}'`);
  if (values.lambda !== undefined && values.validation !== undefined) throw new UsageError('give --lambda or --validation, not both');
  const lambda = values.lambda === undefined ? undefined : parseNumber('--lambda', values.lambda);
  if (lambda !== undefined && lambda < 0) throw new UsageError(`--lambda must be >= 0, got ${values.lambda}`);
  const validation = values.validation === undefined ? undefined : parseNumber('--validation', values.validation);
  if (validation !== undefined && !(validation > 0 && validation <= 0.5)) throw new UsageError(`--validation must be in (0, 0.5], got ${values.validation}`);
  const threads = parseInteger('--threads', values.threads, 0, 4096);
  if (threads !== undefined) setThreads(threads);
  const json = values.json ?? false;

  const t0 = performance.now();
  const saved = request.kind === 'saved' ? await loadMap(request.path) : null;
  const images = readsImages(request, saved);
  const dtype = saved ? saved.dtype : request.kind === 'new' ? request.dtype : 'float32';
  const source = await openDataFlags(values, dtype, { flatten: !images });
  if (source.targetNames.length === 0) {
    throw new UsageError(`${source.path} gives no targets: name the target column(s) with --target, or a file with --labels`);
  }
  if (task === 'classification' && source.targetNames.length !== 1) {
    throw new UsageError(`--task classification needs one label column, got ${source.targetNames.length} (${source.targetNames.join(', ')})`);
  }
  const map = saved ?? (await newMap(request as Extract<typeof request, { kind: 'new' }>, source));
  checkWidth(map, source);
  const seed = request.kind === 'new' ? request.seed : 0;
  const model = new FeatureRidge({
    map, task, seed, fitIntercept: !values['no-intercept'],
    ...(lambda !== undefined ? { lambda } : {}),
    ...(validation !== undefined ? { validation } : {}),
  });
  const progress = new Progress(Boolean(process.stderr.isTTY) && !json);
  try {
    progress.start(`fitting ${map.mapType} features of ${source.path}`, source.rows ?? 0, 'rows');
    const streamed = await forEachBatch(source, progress, async (batch) => {
      await model.partialFit(mapInput(batch.X, map), batch.y, batch.offset);
    });
    progress.start(`solving (${map.features} x ${map.features}${lambda === undefined ? ', choosing lambda' : ''})`, 0);
    const ts = performance.now();
    await model.solve();
    const solveSeconds = (performance.now() - ts) / 1000;
    progress.clear();
    await writeModel(out, model, { columns: source.columns, targetNames: source.targetNames, rows: streamed.rows });
    const best = model.lambdaPath.reduce<{ lambda: number; mse: number } | null>((b, p) => (!b || p.mse < b.mse ? p : b), null);
    const summary = {
      command: 'fit',
      data: source.path,
      format: source.format,
      rows: streamed.rows,
      columns: source.columns,
      task,
      targets: source.targetNames,
      classes: model.classes,
      map: map.mapType,
      features: map.features,
      seed,
      lambda: model.lambda,
      validationMse: best ? best.mse : null,
      lambdaPath: model.lambdaPath,
      out,
      seconds: (performance.now() - t0) / 1000,
      readSeconds: streamed.times.read,
      fitSeconds: streamed.times.work,
      solveSeconds,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    process.stdout.write(
      `${task} on ${streamed.rows} rows of ${source.path}: ${map.features} ${map.mapType} features, lambda ${(model.lambda as number).toExponential(3)}` +
        `${best ? ` (validation MSE ${best.mse.toPrecision(4)})` : ''}${model.classes ? `, ${model.classes.length} classes` : ''}\n` +
        `model: ${out}; ${summary.seconds.toFixed(2)} s (reading ${streamed.times.read.toFixed(2)} s, features and statistics ${streamed.times.work.toFixed(2)} s, solve ${solveSeconds.toFixed(2)} s)\n`,
    );
  } finally {
    progress.clear();
    map.dispose();
  }
}
