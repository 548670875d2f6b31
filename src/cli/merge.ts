/**
 * `ntk-sketch merge PART... --out MODEL`: the model of all the rows of the
 * parts (model files of disjoint row ranges fitted with the same map and
 * options, e.g. by `fit --shard I/N`): their statistics added one file at a
 * time, lambda chosen again on the merged validation rows, solved, written.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { mergeModelFiles } from '../regression/model-file.js';
import { UsageError } from './args.js';

export const MERGE_HELP = `Usage: ntk-sketch merge PART... --out MODEL [--json]

Merges model files fitted on disjoint rows with the same map and options (the
parts of a sharded fit: ntk-sketch fit ... --shard I/N --out part-I) into the
model one process would have fitted on all the rows. Parts of other maps,
options or targets, and parts whose row ranges overlap or leave rows out, are
refused with the reason.

  --out MODEL        the merged model file (required)
  --json             print the result as one JSON object
  -h, --help         show this help`;

export async function merge(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${MERGE_HELP}\n`);
    return;
  }
  if (!values.out) throw new UsageError('--out MODEL is required');
  if (positionals.length === 0) throw new UsageError('give the model files to merge');
  const t0 = performance.now();
  let model, data;
  try {
    ({ model, data } = await mergeModelFiles(positionals, values.out));
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  try {
    const summary = { command: 'merge', parts: positionals.length, rows: model.rows, lambda: model.lambda, ranges: data.ranges, out: values.out, seconds: (performance.now() - t0) / 1000 };
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `merged ${positionals.length} parts (${model.rows} rows), lambda ${(model.lambda as number).toExponential(3)}: ${values.out}\n`);
  } finally {
    model.map.dispose();
  }
}
