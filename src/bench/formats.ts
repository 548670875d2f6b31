/**
 * Data-formats suite: how fast the library's readers (`openData`) read the
 * benchmark rows from each file format, and what reading costs on top of
 * featurising, against featurising the same rows from memory, all timed in
 * the same interleaved rounds.
 *
 * The rows (training rows of the benchmark data, repeated up to `rows`) are
 * written once, untimed, to a temporary directory as
 *
 *   csv, csv.gz   a header, the X columns then the target column(s)
 *   tsv           the same, tab separated
 *   npy           X as float32 [n, d], the targets in a second .npy
 *   libsvm        the target (the first one; 0 without targets) then the
 *                 non-zeros as index:value, read with `columns` given
 *   idx, idx.gz   X as [n, H, W] (images of one channel) or [n, d], the
 *                 targets in a second IDX file (unsigned bytes for class
 *                 labels 0..255, else float64)
 *
 * When every value is a byte times a scale (digits: 1/16, Fashion-MNIST:
 * 1/255) the text formats and IDX hold the bytes and are read with `scale`,
 * as such files are distributed; otherwise text holds each value to 7
 * significant digits and IDX float32. Before timing, one pass of each
 * reader is checked against the rows written (largest absolute difference,
 * reported).
 *
 * Timed per round (a warm-up round first, the order rotated each round):
 *
 *   featurise   the baseline: NTKSketch (float32, `depth`, `features`) of
 *               the n rows held in memory as float32, one transform call
 *   read F      one pass of openData over F (float32, the reader's default
 *               batches), the batches thrown away: rows/s, MB/s (file
 *               bytes, targets file included), time / featurise
 *   end to end  openData -> NTKSketch transform of every batch, the next
 *               batch read while the current one is featurised (the loop
 *               of `ntk-sketch transform`, without the write): rows/s,
 *               time / featurise (1 + read / featurise when nothing
 *               overlaps; less as far as reading overlaps featurising)
 *
 * Cost: the files take about (n d) x (1 to 8) bytes each; each round reads
 * every file twice and featurises n rows 1 + (formats) times.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { forEachBatch } from '../cli/stream.js';
import { Progress } from '../cli/progress.js';
import { encodeNpyHeader } from '../data/npy.js';
import { openData, type DataFormat, type OpenDataOptions } from '../data/readers/index.js';
import { asMapInput } from '../maps/feature-map.js';
import { NTKSketch } from '../maps/ntk-sketch.js';
import type { BenchData } from './data.js';
import { spread, type Spread } from './stats.js';
import { timeInterleaved, type TimedTask } from './timing.js';

export interface FormatsOptions {
  /** Rows written to every file (training rows repeated when the data has fewer). */
  rows: number;
  features: number;
  depth: number;
  rounds: number;
}

export interface FormatFigure {
  /** Short name: csv, csv.gz, tsv, npy, libsvm, idx, idx.gz. */
  name: string;
  format: DataFormat;
  gzip: boolean;
  /** What the file holds. */
  description: string;
  /** Bytes of the file and its targets file. */
  bytes: number;
  /** The largest |value read - value written| over X (0 when the file holds the values exactly). */
  maxAbsDifference: number;
  read: { ms: Spread; rowsPerSecond: Spread; megabytesPerSecond: Spread; ratio: Spread };
  endToEnd: { ms: Spread; rowsPerSecond: Spread; ratio: Spread };
}

export interface FormatsResult {
  rows: number;
  columns: number;
  features: number;
  depth: number;
  rounds: number;
  /** Whether the files hold bytes read with `scale` (the scale), or the values themselves (null). */
  byteScale: number | null;
  /** The baseline: featurising the rows from memory. */
  featurise: { ms: Spread; rowsPerSecond: Spread };
  formats: FormatFigure[];
}

/** Scales tried for byte-valued rows: 1/255 (images in [0, 1]), 1/16 (the digits), 1 (raw bytes). */
const BYTE_SCALES = [1 / 255, 1 / 16, 1];

/** The scale s with every value = (an integer in 0..255) x s, or null. */
export function byteScaleOf(X: ArrayLike<number>): number | null {
  for (const s of BYTE_SCALES) {
    let ok = true;
    for (let i = 0; i < X.length && ok; i++) {
      const b = X[i] / s, r = Math.round(b);
      ok = r >= 0 && r <= 255 && Math.abs(b - r) <= 1e-9 * Math.max(1, r);
    }
    if (ok) return s;
  }
  return null;
}

/** The text of a value: its byte, or 7 significant digits (exact for float32 to half an ulp at 7 digits). */
const textOf = (v: number, scale: number | null) => (scale !== null ? String(Math.round(v / scale)) : v === 0 ? '0' : String(Number(v.toPrecision(7))));

interface WrittenFile {
  name: string;
  format: DataFormat;
  gzip: boolean;
  description: string;
  path: string;
  paths: string[];
  options: OpenDataOptions;
}

function idxFile(type: 0x08 | 0x0d | 0x0e, dims: number[], values: ArrayLike<number>): Uint8Array {
  const bytes = type === 0x08 ? 1 : type === 0x0d ? 4 : 8;
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + bytes * n);
  const view = new DataView(out.buffer);
  view.setUint32(0, (type << 8) | dims.length, false);
  dims.forEach((dim, i) => view.setInt32(4 + 4 * i, dim, false));
  const at = 4 + 4 * dims.length;
  for (let i = 0; i < n; i++) {
    if (type === 0x08) out[at + i] = values[i];
    else if (type === 0x0d) view.setFloat32(at + 4 * i, values[i], false);
    else view.setFloat64(at + 8 * i, values[i], false);
  }
  return out;
}

/** Writes the rows in every format into `dir`; returns the files and how the readers open them. */
async function writeFormats(dir: string, x32: Float32Array, y: Float64Array | null, n: number, d: number, k: number,
  imageShape: readonly [number, number, number] | null, labelsAreBytes: boolean, scale: number | null): Promise<WrittenFile[]> {
  const files: WrittenFile[] = [];
  const scaled: OpenDataOptions = scale !== null && scale !== 1 ? { scale } : {};
  const what = scale !== null ? `bytes, read with scale ${scale === 1 ? 1 : `1/${Math.round(1 / scale)}`}` : 'values to 7 digits';
  const targetNames = k === 1 ? ['y'] : Array.from({ length: k }, (_, j) => `y${j}`);
  const header = [...Array.from({ length: d }, (_, j) => `x${j}`), ...(y ? targetNames : [])];
  const text = (sep: string) => {
    const lines = [header.join(sep)];
    for (let i = 0; i < n; i++) {
      const fields: string[] = [];
      for (let j = 0; j < d; j++) fields.push(textOf(x32[i * d + j], scale));
      if (y) for (let j = 0; j < k; j++) fields.push(String(y[i * k + j]));
      lines.push(fields.join(sep));
    }
    return Buffer.from(`${lines.join('\n')}\n`);
  };
  const textOptions: OpenDataOptions = { ...scaled, header: true, ...(y ? { target: targetNames } : {}) };
  const csv = text(',');
  await writeFile(join(dir, 'rows.csv'), csv);
  files.push({ name: 'csv', format: 'csv', gzip: false, description: `CSV, header, ${what}`, path: join(dir, 'rows.csv'), paths: [join(dir, 'rows.csv')], options: textOptions });
  await writeFile(join(dir, 'rows.csv.gz'), gzipSync(csv));
  files.push({ name: 'csv.gz', format: 'csv', gzip: true, description: `the CSV, gzip`, path: join(dir, 'rows.csv.gz'), paths: [join(dir, 'rows.csv.gz')], options: textOptions });
  await writeFile(join(dir, 'rows.tsv'), text('\t'));
  files.push({ name: 'tsv', format: 'tsv', gzip: false, description: `TSV, header, ${what}`, path: join(dir, 'rows.tsv'), paths: [join(dir, 'rows.tsv')], options: textOptions });

  const npyPaths = [join(dir, 'rows.npy')];
  await writeFile(npyPaths[0], Buffer.concat([encodeNpyHeader('<f4', [n, d]), new Uint8Array(x32.buffer, x32.byteOffset, x32.byteLength)]));
  if (y) {
    npyPaths.push(join(dir, 'targets.npy'));
    await writeFile(npyPaths[1], Buffer.concat([encodeNpyHeader('<f8', k === 1 ? [n] : [n, k]), new Uint8Array(y.buffer, y.byteOffset, y.byteLength)]));
  }
  files.push({ name: 'npy', format: 'npy', gzip: false, description: `.npy float32${y ? ' + targets .npy' : ''}`, path: npyPaths[0], paths: npyPaths, options: y ? { labels: npyPaths[1] } : {} });

  const svm: string[] = [];
  for (let i = 0; i < n; i++) {
    let line = y ? String(y[i * k]) : '0';
    for (let j = 0; j < d; j++) if (x32[i * d + j] !== 0) line += ` ${j + 1}:${textOf(x32[i * d + j], scale)}`;
    svm.push(line);
  }
  await writeFile(join(dir, 'rows.svm'), `${svm.join('\n')}\n`);
  files.push({ name: 'libsvm', format: 'libsvm', gzip: false, description: `LIBSVM, non-zeros as ${scale !== null ? 'bytes' : 'values'}, columns given`, path: join(dir, 'rows.svm'), paths: [join(dir, 'rows.svm')], options: { ...scaled, columns: d } });

  const dims = imageShape && imageShape[0] === 1 ? [n, imageShape[1], imageShape[2]] : [n, d];
  const images = scale !== null ? idxFile(0x08, dims, Uint8Array.from(x32, (v) => Math.round(v / scale))) : idxFile(0x0d, dims, x32);
  const labels = y ? (labelsAreBytes ? idxFile(0x08, [n], y) : idxFile(0x0e, k === 1 ? [n] : [n, k], y)) : null;
  for (const gzip of [false, true]) {
    const suffix = gzip ? '.gz' : '';
    const paths = [join(dir, `rows-idx${dims.length}-ubyte${suffix}`)];
    await writeFile(paths[0], gzip ? gzipSync(images) : images);
    if (labels) {
      paths.push(join(dir, `targets-idx${k === 1 ? 1 : 2}-ubyte${suffix}`));
      await writeFile(paths[1], gzip ? gzipSync(labels) : labels);
    }
    files.push({
      name: `idx${suffix}`, format: 'idx', gzip, path: paths[0], paths,
      description: gzip ? 'the IDX files, gzip' : `IDX ${scale !== null ? 'bytes' : 'float32'} [${dims.map((v, i) => (i === 0 ? 'n' : v)).join(', ')}]${labels ? ` + targets IDX (${labelsAreBytes ? 'bytes' : 'float64'})` : ''}`,
      options: { ...scaled, flatten: true, ...(labels ? { labels: paths[1] } : {}) },
    });
  }
  return files;
}

/** The rows written are capped at this many values (128 MiB of float32; the text files are a few times larger). */
export const MAX_FORMAT_VALUES = 2 ** 25;

/**
 * Writes the rows in every format, checks each reader against them, and
 * times reading and read + featurise against featurising from memory.
 * `rows` beyond MAX_FORMAT_VALUES / d are cut to fit (the result says how many).
 */
export async function formatsSuite(data: BenchData, o: FormatsOptions, progress: (label: string) => void = () => {}): Promise<FormatsResult> {
  for (const key of ['rows', 'features', 'depth', 'rounds'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new RangeError(`${key} must be a positive integer, got ${o[key]}`);
  }
  if (data.train.n < 1) throw new RangeError('data: the formats suite needs at least one training row');
  const d = data.d, k = data.targets, have = data.train.n;
  const n = Math.min(o.rows, Math.max(1, Math.floor(MAX_FORMAT_VALUES / d)));
  // Training rows repeated up to n, as float32 (what the files hold and the readers return).
  const x32 = new Float32Array(n * d);
  const y = data.train.y && k > 0 ? new Float64Array(n * k) : null;
  for (let i = 0; i < n; i++) {
    const r = i % have;
    x32.set(data.train.X.subarray(r * d, (r + 1) * d), i * d);
    if (y) y.set(data.train.y!.subarray(r * k, (r + 1) * k), i * k);
  }
  const scale = byteScaleOf(x32);
  const labelsAreBytes = y !== null && k === 1 && y.every((v) => Number.isInteger(v) && v >= 0 && v <= 255);
  const dir = await mkdtemp(join(tmpdir(), 'ntk-bench-formats-'));
  const map = new NTKSketch({ inputDim: d, depth: o.depth, features: o.features, seed: 1, dtype: 'float32' });
  try {
    const files = await writeFormats(dir, x32, y, n, d, k, data.imageShape, labelsAreBytes, scale);
    const open = (f: WrittenFile) => openData(f.path, { ...f.options, format: f.format, dtype: 'float32' });

    // Each reader once, checked against the rows written.
    const differences = new Map<string, number>();
    for (const f of files) {
      let rows = 0, worst = 0;
      for await (const b of (await open(f)).batches()) {
        const X = b.X as { data: Float32Array; shape: number[]; indptr?: Int32Array; indices?: Int32Array };
        const m = X.shape[0];
        if (X.indptr && X.indices) {
          const dense = new Float32Array(m * d);
          for (let i = 0; i < m; i++) for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) dense[i * d + X.indices[p]] = X.data[p];
          for (let t = 0; t < m * d; t++) worst = Math.max(worst, Math.abs(dense[t] - x32[rows * d + t]));
        } else {
          for (let t = 0; t < m * d; t++) worst = Math.max(worst, Math.abs(X.data[t] - x32[rows * d + t]));
        }
        rows += m;
      }
      if (rows !== n) throw new Error(`formats: ${f.name} read ${rows} rows, expected ${n}`);
      differences.set(f.name, worst);
    }

    const input = asMapInput({ data: x32, shape: [n, d] }, map.inputLayout);
    const tasks: TimedTask[] = [['featurise', () => map.transform(input)]];
    for (const f of files) {
      tasks.push([`read ${f.name}`, async () => {
        let rows = 0;
        for await (const b of (await open(f)).batches()) rows += b.X.shape[0];
        if (rows !== n) throw new Error(`formats: ${f.name} read ${rows} rows, expected ${n}`);
      }]);
      tasks.push([`end to end ${f.name}`, async () => {
        const { rows } = await forEachBatch(await open(f), new Progress(false), async (batch) => {
          await map.transform(asMapInput(batch.X, map.inputLayout));
        });
        if (rows !== n) throw new Error(`formats: ${f.name} featurised ${rows} rows, expected ${n}`);
      }]);
    }
    progress(`formats: ${files.length} formats, ${tasks.length} tasks x ${o.rounds} rounds`);
    const samples = await timeInterleaved(tasks, o.rounds);
    const base = samples.get('featurise')!;
    const rowsPerSecond = (ms: number[]) => spread(ms.map((t) => n / (t / 1000)));
    const ratio = (ms: number[]) => spread(ms.map((t, r) => t / base[r]));
    const formats: FormatFigure[] = [];
    for (const f of files) {
      const bytes = (await Promise.all(f.paths.map((p) => stat(p)))).reduce((s, st) => s + st.size, 0);
      const read = samples.get(`read ${f.name}`)!, e2e = samples.get(`end to end ${f.name}`)!;
      formats.push({
        name: f.name, format: f.format, gzip: f.gzip, description: f.description, bytes, maxAbsDifference: differences.get(f.name)!,
        read: { ms: spread(read), rowsPerSecond: rowsPerSecond(read), megabytesPerSecond: spread(read.map((t) => bytes / 1e6 / (t / 1000))), ratio: ratio(read) },
        endToEnd: { ms: spread(e2e), rowsPerSecond: rowsPerSecond(e2e), ratio: ratio(e2e) },
      });
    }
    return { rows: n, columns: d, features: o.features, depth: o.depth, rounds: o.rounds, byteScale: scale, featurise: { ms: spread(base), rowsPerSecond: rowsPerSecond(base) }, formats };
  } finally {
    map.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
