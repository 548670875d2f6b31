/**
 * The data flags every file-reading subcommand shares: which file, its
 * format, where its targets are, and how it is cut into batches.
 */
import { openData, type DataSource, type OpenDataOptions } from '../data/readers/index.js';
import type { DType } from '../core/arrays.js';
import { UsageError, parseInteger, parseNumber } from './args.js';

/** parseArgs declarations of the data flags. */
export const DATA_FLAGS = {
  data: { type: 'string' },
  format: { type: 'string' },
  target: { type: 'string' },
  labels: { type: 'string' },
  header: { type: 'string' },
  delimiter: { type: 'string' },
  scale: { type: 'string' },
  'zero-based': { type: 'boolean' },
  columns: { type: 'string' },
  'batch-rows': { type: 'string' },
} as const;

export const DATA_HELP = `Data:
  --data FILE        .csv, .tsv, .npy, .svm/.libsvm or IDX (*-idx3-ubyte), each
                     optionally .gz (the format follows the name, or --format)
  --format F         csv, tsv, npy, libsvm or idx
  --target COLS      CSV/TSV (names or 0-based indices) or 2-D .npy (indices):
                     the target column(s), comma separated; the rest is X
  --labels FILE      targets from a second file (.npy, CSV/TSV, IDX labels)
  --header H         CSV/TSV: yes, no or auto (default: a header when the first
                     record has a field that is not a number)
  --delimiter C      CSV/TSV field delimiter (default , or tab)
  --scale X          multiply every input value by X (e.g. 0.00392 for bytes)
  --zero-based       LIBSVM indices start at 0 (default 1)
  --columns N        LIBSVM columns (default: the largest index, one extra pass)
  --batch-rows N     rows per batch (default: about 16 MiB of input)`;

type DataValues = Partial<Record<keyof typeof DATA_FLAGS, string | boolean>>;

/** The list of --target: integers are 0-based indices (negative from the end), other entries names. */
function targets(value: string): Array<string | number> {
  const list = value.split(',').map((t) => t.trim());
  if (list.some((t) => t === '')) throw new UsageError(`--target must list column names or indices separated by commas, got '${value}'`);
  return list.map((t) => (/^-?\d+$/.test(t) ? Number(t) : t));
}

/** openData's options from the data flags; `dtype` is the element type the map reads. */
export function dataOptions(values: DataValues, dtype: DType): { path: string; options: OpenDataOptions } {
  const path = values.data;
  if (typeof path !== 'string' || path === '') throw new UsageError('--data FILE is required');
  const options: OpenDataOptions = { dtype };
  if (typeof values.format === 'string') options.format = values.format as OpenDataOptions['format'];
  if (typeof values.target === 'string') options.target = targets(values.target);
  if (typeof values.labels === 'string') options.labels = values.labels;
  if (typeof values.header === 'string') {
    const h = { yes: true, no: false, auto: 'auto' as const }[values.header];
    if (h === undefined) throw new UsageError(`--header must be yes, no or auto, got '${values.header}'`);
    options.header = h;
  }
  if (typeof values.delimiter === 'string') options.delimiter = values.delimiter === '\\t' ? '\t' : values.delimiter;
  if (typeof values.scale === 'string') options.scale = parseNumber('--scale', values.scale);
  if (values['zero-based'] === true) options.zeroBased = true;
  if (typeof values.columns === 'string') options.columns = parseInteger('--columns', values.columns, 1, 2147483647);
  if (typeof values['batch-rows'] === 'string') options.batchRows = parseInteger('--batch-rows', values['batch-rows'], 1, 2 ** 24);
  return { path, options };
}

/** Opens the data file; a bad option becomes a usage error naming its flag. */
export async function openDataFlags(values: DataValues, dtype: DType, extra: OpenDataOptions = {}): Promise<DataSource> {
  const { path, options } = dataOptions(values, dtype);
  try {
    return await openData(path, { ...options, ...extra });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(flagMessage(error.message, DATA_OPTION_FLAGS));
    throw error;
  }
}

const DATA_OPTION_FLAGS: Record<string, string> = {
  format: '--format',
  target: '--target',
  labels: '--labels',
  header: '--header',
  delimiter: '--delimiter',
  scale: '--scale',
  zeroBased: '--zero-based',
  columns: '--columns',
  batchRows: '--batch-rows',
};

/** A library message that starts with (or names) an option, with that option spelled as its flag. */
export function flagMessage(message: string, flags: Record<string, string>): string {
  return message.replace(/^(?:options\.|json\.)?([A-Za-z]+)(?=[\s.[])/, (all, key: string) => flags[key] ?? all);
}
