/**
 * `ntk-sketch transform`: the features of a data file, streamed batch by
 * batch from the reader through the map into a .npy (or .csv) file, with the
 * map saved beside them (FEATURES.map.json) so that other data can go
 * through the same map later (--map), and the targets, when the data has
 * them, as FEATURES.targets.npy. Nothing is left under any output name
 * unless the whole run succeeds.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setThreads } from '../core/backends.js';
import type { FeatureKernel, FeatureMap } from '../maps/feature-map.js';
import { createDataWriter, writeTextFile, type DataWriter } from '../data/writers.js';
import type { DataBatch, DataSource } from '../data/readers/index.js';
import { UsageError, parseInteger } from './args.js';
import { DATA_FLAGS, DATA_HELP, openDataFlags } from './data-options.js';
import { MAP_FLAGS, MAP_HELP, checkWidth, loadMap, mapRequest, newMap, readsImages } from './map-options.js';
import { Progress } from './progress.js';

export const TRANSFORM_HELP = `Usage: ntk-sketch transform --data FILE (--map MAP | --method M --features N --depth L) --out FEATURES.npy [options]

Writes the features of every row of FILE to FEATURES (.npy, or .csv for small
outputs), the map beside them as FEATURES.map.json (give it to --map to send
other data through the same map) and, when the data has targets, the targets
as FEATURES.targets.npy.

${DATA_HELP}

${MAP_HELP}

Output:
  --out FILE         the features: .npy or .csv (required)
  --kernel K         ntk (default) or nngp features
  --threads T        threads of the native core (default: all cores)
  --json             print the result as one JSON object
  -h, --help         show this help`;

const FLAGS = {
  ...DATA_FLAGS,
  ...MAP_FLAGS,
  out: { type: 'string' },
  kernel: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** FEATURES.npy -> FEATURES.<suffix> (the files written beside the features). */
export function besideOutput(out: string, suffix: string): string {
  return out.replace(/\.(npy|csv|tsv)$/i, '') + suffix;
}

/** The rows of a batch as the map reads them: flat rows of images reshaped when the map reads images. */
export function mapInput(batch: DataBatch, images: boolean, map: FeatureMap): DataBatch['X'] {
  const layout = map.inputLayout;
  if (!images || layout.kind !== 'images' || batch.X.shape.length === 4) return batch.X;
  const [C, H, W] = layout.shape;
  return { data: batch.X.data, shape: [batch.X.shape[0], C, H, W] };
}

/** Seconds spent waiting for the reader, in the map and in the writers. */
export interface StreamTimes {
  read: number;
  transform: number;
  write: number;
}

/**
 * Streams every batch of `source` through `map`, handing each batch's
 * features (and targets) to `sink`; the next batch is read while the map
 * works on the current one. Returns the rows and where the time went.
 */
export async function streamFeatures(
  source: DataSource, map: FeatureMap, kernel: FeatureKernel, images: boolean, progress: Progress,
  sink: (features: { data: Float32Array | Float64Array; shape: [number, number] }, batch: DataBatch) => Promise<void>,
): Promise<{ rows: number; times: StreamTimes }> {
  const times: StreamTimes = { read: 0, transform: 0, write: 0 };
  const iterator = source.batches()[Symbol.asyncIterator]();
  let rows = 0;
  let t = performance.now();
  let next = iterator.next();
  try {
    for (;;) {
      const item = await next;
      const now = performance.now();
      times.read += now - t;
      if (item.done) break;
      const batch = item.value;
      next = iterator.next(); // read ahead while the map works
      // Keep the read-ahead from rejecting unobserved if the map fails first.
      next.catch(() => undefined);
      const features = await map.transform(mapInput(batch, images, map), { kernel });
      const mid = performance.now();
      times.transform += mid - now;
      await sink({ data: features.data, shape: [features.shape[0], features.shape[1]] }, batch);
      t = performance.now();
      times.write += t - mid;
      rows += batch.X.shape[0];
      progress.advance(batch.X.shape[0]);
    }
  } finally {
    await iterator.return?.();
  }
  return { rows, times: { read: times.read / 1000, transform: times.transform / 1000, write: times.write / 1000 } };
}

export async function transform(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${TRANSFORM_HELP}\n`);
    return;
  }
  // Every flag is checked before any file is read.
  const request = mapRequest(values);
  const out = values.out;
  if (!out) throw new UsageError('--out FEATURES.npy is required');
  if (!/\.(npy|csv|tsv)$/i.test(out)) throw new UsageError(`--out must name a .npy, .csv or .tsv file, got '${out}'`);
  const kernel = values.kernel ?? 'ntk';
  if (kernel !== 'ntk' && kernel !== 'nngp') throw new UsageError(`--kernel must be ntk or nngp, got '${kernel}'`);
  const threads = parseInteger('--threads', values.threads, 0, 4096);
  if (threads !== undefined) setThreads(threads);
  const json = values.json ?? false;

  const t0 = performance.now();
  const saved = request.kind === 'saved' ? await loadMap(request.path) : null;
  const images = readsImages(request, saved);
  const dtype = saved ? saved.dtype : request.kind === 'new' ? request.dtype : 'float32';
  const source = await openDataFlags(values, dtype, { flatten: !images });
  const map = saved ?? (await newMap(request as Extract<typeof request, { kind: 'new' }>, source));
  checkWidth(map, source);
  const progress = new Progress(Boolean(process.stderr.isTTY) && !json);
  progress.start(`${map.mapType} features of ${source.path}`, source.rows ?? 0, 'rows');

  const writers: DataWriter[] = [];
  const targetsPath = besideOutput(out, '.targets.npy');
  const mapPath = besideOutput(out, '.map.json');
  let result;
  try {
    const features = await createDataWriter(out, { columns: map.features, dtype: map.dtype });
    writers.push(features);
    let targets: DataWriter | null = null;
    if (source.targetNames.length > 0) {
      targets = await createDataWriter(targetsPath, { columns: source.targetNames.length, dtype: 'float64' });
      writers.push(targets);
    }
    result = await streamFeatures(source, map, kernel, images, progress, async (phi, batch) => {
      await features.write(phi);
      if (targets && batch.y) await targets.write(batch.y);
    });
    progress.clear();
    // The map first: features never appear without the map that made them.
    await writeTextFile(mapPath, `${JSON.stringify(map)}\n`);
    for (const w of writers) await w.close();
  } catch (error) {
    progress.clear();
    for (const w of writers) await w.abort();
    throw error;
  } finally {
    map.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const summary = {
    command: 'transform',
    data: source.path,
    format: source.format,
    rows: result.rows,
    columns: source.columns,
    map: map.mapType,
    features: map.features,
    kernel,
    dtype: map.dtype,
    seed: (map as unknown as { seed?: number }).seed ?? null,
    out,
    mapFile: mapPath,
    targetsFile: source.targetNames.length > 0 ? targetsPath : null,
    seconds,
    rowsPerSecond: result.rows / seconds,
    readSeconds: result.times.read,
    transformSeconds: result.times.transform,
    writeSeconds: result.times.write,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  process.stdout.write(
    `${result.rows} rows of ${source.columns} values -> ${map.features} ${map.mapType} ${kernel} features (${map.dtype}) in ${out}\n` +
      `map: ${mapPath}${summary.targetsFile ? `, targets: ${summary.targetsFile}` : ''}\n` +
      `${seconds.toFixed(2)} s (${summary.rowsPerSecond.toFixed(0)} rows/s; reading ${result.times.read.toFixed(2)} s, ` +
      `features ${result.times.transform.toFixed(2)} s, writing ${result.times.write.toFixed(2)} s)\n`,
  );
}
