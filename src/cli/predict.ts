/**
 * `ntk-sketch predict` and `ntk-sketch evaluate`: a fitted model file on the
 * rows of a data file, streamed. predict writes one row per input row
 * (classification: the label; regression: one column per target);
 * evaluate scores the predictions against the file's targets (accuracy for
 * classification, MSE and R^2 for regression).
 */
import { performance } from 'node:perf_hooks';
import { createDataWriter, type DataWriter } from '../data/writers.js';
import type { DataBatch, DataSource } from '../data/readers/index.js';
import { labelsOf } from '../regression/feature-ridge.js';
import { COMMON_FLAGS, COMMON_HELP, UsageError, parseFlags, type FlagValues, startCommand } from './args.js';
import { DATA_FLAGS, DATA_HELP, openDataFlags } from './data-options.js';
import { loadPredictor, type Predictor } from '../regression/model-file.js';
import { Progress } from './progress.js';
import { forEachBatch } from './stream.js';

export const PREDICT_HELP = `Usage: ntk-sketch predict --model MODEL --data FILE --out PREDICTIONS.csv|.npy [options]
       ntk-sketch evaluate --model MODEL --data FILE [--target COLS | --labels FILE] [options]

predict writes a prediction for every row of FILE (classification: the label;
regression: one column per target). evaluate prints the accuracy
(classification) or the MSE and R^2 (regression) against FILE's targets. A
CSV with a header that holds the model's target columns needs no --target.

${DATA_HELP}

  --model MODEL      a model file written by ntk-sketch fit (required)
  --out FILE         predict: the predictions, .csv, .tsv or .npy (required)
${COMMON_HELP}`;

const FLAGS = {
  ...DATA_FLAGS,
  model: { type: 'string' },
  out: { type: 'string' },
  ...COMMON_FLAGS,
} as const;

type Values = FlagValues<typeof FLAGS>;

/**
 * The data file opened for the model: rows (or images) of the map's input
 * and, when the file holds them, the targets — a CSV whose header holds the
 * model's target names uses those columns without --target.
 */
async function openForModel(values: Values, model: Predictor): Promise<DataSource> {
  const data = model.data;
  const extra = { flatten: model.imageShape === null };
  let source = await openDataFlags(values, model.dtype, extra);
  const names = source.featureNames;
  if (
    values.target === undefined && values.labels === undefined && names &&
    source.columns === data.columns + data.targetNames.length && data.targetNames.every((t) => names.includes(t))
  ) {
    source = await openDataFlags({ ...values, target: data.targetNames.join(',') }, model.dtype, extra);
  }
  if (source.columns !== data.columns) {
    throw new UsageError(`the model reads rows of ${data.columns} values, but the rows of ${source.path} have ${source.columns}`);
  }
  return source;
}

/** The model's outputs for a batch: labels (classification, n x 1) or targets (n x k). */
async function outputs(model: Predictor, X: DataBatch['X']): Promise<{ data: Float64Array; shape: [number, number] }> {
  const scores = await model.predict(X);
  const n = scores.shape[0];
  if (model.task === 'classification') return { data: labelsOf(scores.data, n, model.classes as number[]), shape: [n, 1] };
  return { data: scores.data, shape: [n, scores.shape[1]] };
}

export async function predict(argv: string[]): Promise<void> {
  const values = parseFlags(argv, FLAGS);
  const started = startCommand(values, PREDICT_HELP);
  if (!started) return;
  const { json } = started;
  if (!values.model) throw new UsageError('--model MODEL is required');
  const out = values.out;
  if (!out) throw new UsageError('--out PREDICTIONS.csv or .npy is required');
  if (!/\.(npy|csv|tsv)$/i.test(out)) throw new UsageError(`--out must name a .csv, .tsv or .npy file, got '${out}'`);
  const t0 = performance.now();
  const model = await loadPredictor(values.model);
  const data = model.data;
  const progress = new Progress(Boolean(process.stderr.isTTY) && !json);
  let writer: DataWriter | null = null;
  try {
    const source = await openForModel(values, model);
    const header = model.task === 'classification' ? ['label'] : data.targetNames;
    writer = await createDataWriter(out, { columns: header.length, header, dtype: 'float64' });
    const w = writer;
    progress.start(`predicting ${source.path}`, source.rows ?? 0, 'rows');
    const streamed = await forEachBatch(source, progress, async (batch) => {
      await w.write(await outputs(model, batch.X));
    });
    progress.clear();
    await writer.close();
    const summary = { command: 'predict', model: values.model, data: source.path, rows: streamed.rows, task: model.task, out, seconds: (performance.now() - t0) / 1000 };
    process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `${streamed.rows} predictions (${model.task}) of ${source.path} in ${out}\n`);
  } catch (error) {
    progress.clear();
    await writer?.abort();
    throw error;
  } finally {
    model.dispose();
  }
}

export async function evaluate(argv: string[]): Promise<void> {
  const values = parseFlags(argv, FLAGS);
  const started = startCommand(values, PREDICT_HELP);
  if (!started) return;
  const { json } = started;
  if (!values.model) throw new UsageError('--model MODEL is required');
  if (values.out !== undefined) throw new UsageError('--out applies to predict, not evaluate');
  const t0 = performance.now();
  const model = await loadPredictor(values.model);
  const data = model.data;
  const progress = new Progress(Boolean(process.stderr.isTTY) && !json);
  try {
    const source = await openForModel(values, model);
    const k = source.targetNames.length;
    if (k === 0) throw new UsageError(`${source.path} gives no targets to evaluate against: use --target or --labels`);
    const expected = model.task === 'classification' ? 1 : data.targetNames.length;
    if (k !== expected) throw new UsageError(`the model predicts ${expected} target(s), but ${source.path} gives ${k}`);
    let correct = 0;
    const sse = new Float64Array(k), sum = new Float64Array(k), sumSq = new Float64Array(k);
    progress.start(`evaluating on ${source.path}`, source.rows ?? 0, 'rows');
    const streamed = await forEachBatch(source, progress, async (batch) => {
      if (!batch.y) return;
      const pred = await outputs(model, batch.X);
      const y = batch.y.data;
      for (let i = 0; i < pred.data.length; i++) {
        const t = i % k;
        if (model.task === 'classification') correct += pred.data[i] === y[i] ? 1 : 0;
        sse[t] += (pred.data[i] - y[i]) ** 2;
        sum[t] += y[i];
        sumSq[t] += y[i] * y[i];
      }
    });
    progress.clear();
    const n = streamed.rows;
    if (n === 0) throw new UsageError(`${source.path} holds no rows`);
    const base = { command: 'evaluate', model: values.model, data: source.path, rows: n, task: model.task, seconds: (performance.now() - t0) / 1000 };
    if (model.task === 'classification') {
      const accuracy = correct / n;
      process.stdout.write(json ? `${JSON.stringify({ ...base, accuracy })}\n` : `accuracy ${accuracy.toFixed(4)} on ${n} rows of ${source.path}\n`);
      return;
    }
    // R^2 per target (1 - SSE / total sum of squares about the mean), averaged as scikit-learn's r2_score does.
    let r2 = 0, mse = 0;
    for (let t = 0; t < k; t++) {
      const total = sumSq[t] - (sum[t] * sum[t]) / n;
      r2 += (total > 0 ? 1 - sse[t] / total : sse[t] === 0 ? 1 : 0) / k;
      mse += sse[t] / (n * k);
    }
    process.stdout.write(json ? `${JSON.stringify({ ...base, mse, r2 })}\n` : `MSE ${mse.toPrecision(5)}, R^2 ${r2.toFixed(4)} on ${n} rows of ${source.path}\n`);
  } finally {
    progress.clear();
    model.dispose();
  }
}
