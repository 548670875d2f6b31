/**
 * `ntk-sketch transform`: the features of a data file, streamed batch by
 * batch from the reader through the map into a .npy (or .csv) file, with the
 * map saved beside them (FEATURES.map.json) so that other data can go
 * through the same map later (--map), and the targets, when the data has
 * them, as FEATURES.targets.npy. Nothing is left under any output name
 * unless the whole run succeeds.
 */
import { performance } from 'node:perf_hooks';
import { createDataWriter, writeTextFile, type DataWriter } from '../data/writers.js';
import { COMMON_FLAGS, COMMON_HELP, UsageError, parseFlags, startCommand } from './args.js';
import { DATA_FLAGS, DATA_HELP, openDataFlags } from './data-options.js';
import { MAP_FLAGS, MAP_HELP, checkWidth, loadMap, mapRequest, newMap, readsImages } from './map-options.js';
import { Progress } from './progress.js';
import { forEachBatch } from './stream.js';
import { checkInterrupted, interruptSignal } from './interrupt.js';
import { asMapInput } from '../maps/feature-map.js';

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
${COMMON_HELP}`;

const FLAGS = {
  ...DATA_FLAGS,
  ...MAP_FLAGS,
  out: { type: 'string' },
  kernel: { type: 'string' },
  ...COMMON_FLAGS,
} as const;

/** FEATURES.npy -> FEATURES.<suffix> (the files written beside the features). */
export function besideOutput(out: string, suffix: string): string {
  return out.replace(/\.(npy|csv|tsv)$/i, '') + suffix;
}

export async function transform(argv: string[]): Promise<void> {
  const values = parseFlags(argv, FLAGS);
  const started = startCommand(values, TRANSFORM_HELP);
  if (!started) return;
  const { json } = started;
  // Every flag is checked before any file is read.
  const request = mapRequest(values);
  const out = values.out;
  if (!out) throw new UsageError('--out FEATURES.npy is required');
  if (!/\.(npy|csv|tsv)$/i.test(out)) throw new UsageError(`--out must name a .npy, .csv or .tsv file, got '${out}'`);
  const kernel = values.kernel ?? 'ntk';
  if (kernel !== 'ntk' && kernel !== 'nngp') throw new UsageError(`--kernel must be ntk or nngp, got '${kernel}'`);

  const t0 = performance.now();
  const saved = request.kind === 'saved' ? await loadMap(request.path) : null;
  const images = readsImages(request, saved);
  const dtype = saved ? saved.dtype : request.kind === 'new' ? request.dtype : 'float32';
  const source = await openDataFlags(values, dtype, { flatten: !images });
  const map = saved ?? (await newMap(request as Extract<typeof request, { kind: 'new' }>, source));
  checkWidth(map, source);
  const progress = new Progress(Boolean(process.stderr.isTTY) && !json);
  progress.start(`${map.mapType} features of ${source.path}`, source.rows ?? 0, 'rows');

  // Ctrl-C / SIGTERM: stop at the next block of rows and remove the temporaries.
  const signal = interruptSignal();
  const writers: DataWriter[] = [];
  const targetsPath = besideOutput(out, '.targets.npy');
  const mapPath = besideOutput(out, '.map.json');
  let result;
  let times = { read: 0, transform: 0, write: 0 };
  try {
    const features = await createDataWriter(out, { columns: map.features, dtype: map.dtype });
    writers.push(features);
    let targets: DataWriter | null = null;
    if (source.targetNames.length > 0) {
      targets = await createDataWriter(targetsPath, { columns: source.targetNames.length, dtype: 'float64' });
      writers.push(targets);
    }
    let transformSeconds = 0;
    result = await forEachBatch(source, progress, async (batch) => {
      const t = performance.now();
      const phi = await map.transform(asMapInput(batch.X, map.inputLayout), { kernel, signal });
      transformSeconds += (performance.now() - t) / 1000;
      await features.write(phi);
      if (targets && batch.y) await targets.write(batch.y);
    });
    result.times.work -= transformSeconds;
    times = { read: result.times.read, transform: transformSeconds, write: result.times.work };
    progress.clear();
    checkInterrupted();
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
    readSeconds: times.read,
    transformSeconds: times.transform,
    writeSeconds: times.write,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  process.stdout.write(
    `${result.rows} rows of ${source.columns} values -> ${map.features} ${map.mapType} ${kernel} features (${map.dtype}) in ${out}\n` +
      `map: ${mapPath}${summary.targetsFile ? `, targets: ${summary.targetsFile}` : ''}\n` +
      `${seconds.toFixed(2)} s (${summary.rowsPerSecond.toFixed(0)} rows/s; reading ${times.read.toFixed(2)} s, ` +
      `features ${times.transform.toFixed(2)} s, writing ${times.write.toFixed(2)} s)\n`,
  );
}
