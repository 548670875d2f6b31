/**
 * Throughput of `transform` from each data format to .npy: the same
 * Fashion-MNIST training images as
 *
 *   csv-int     CSV, a label column then 784 pixel bytes as integers (the
 *               layout of the widely shared fashion-mnist_train.csv), read
 *               with --target label --scale 1/255
 *   csv-float   the same CSV with the pixels as %.6f floats in [0, 1]
 *   npy         .npy float32 (values in [0, 1]) and the labels as .npy
 *   idx         the IDX files as installed (gzip), read with --labels and
 *               --scale 1/255
 *   libsvm      LIBSVM, the pixel bytes with the zeros dropped (about half
 *               the pixels), --columns 784 --scale 1/255
 *
 *   npx tsx bench/data-formats.bench.ts [--rows 60000] [--rounds 2] [--features 4096]
 *
 * For each format, timed with tinybench in interleaved rounds
 * (bench/lib/interleaved-timing.ts; round 0 is a warm-up), median of the rounds:
 *
 *   end to end  what `ntk-sketch transform` does, through the library:
 *               openData -> NTKSketch (depth 2, float32) transform of each
 *               batch -> NpyWriter (and the targets .npy), with the next batch
 *               read while the current one is featurised (src/cli/stream.ts)
 *   parse       one pass of the same reader, the batches thrown away
 *   featurise   transform of the same batches held in memory
 *   write       the same number of float32 feature rows into an NpyWriter
 *               (the same work for every format: timed once)
 *
 * The shares are of parse + featurise + write; end to end is less than that
 * sum as far as reading overlaps featurising. Then the command line itself
 * (`node --import tsx src/cli/main.ts transform ... --json`) runs once per
 * format as a check. Files go to a temporary directory that is removed at
 * the end. Writes bench/results/data-formats.md (or under --out-dir DIR).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { backends, NTKSketch } from '../src/index.js';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../src/data/datasets.js';
import { encodeNpyHeader } from '../src/data/npy.js';
import { openData, type DataBatch, type OpenDataOptions } from '../src/data/readers/index.js';
import { createDataWriter, NpyWriter } from '../src/data/writers.js';
import { forEachBatch } from '../src/cli/stream.js';
import { asMapInput } from '../src/maps/feature-map.js';
import { Progress } from '../src/cli/progress.js';
import { median, timeInterleaved, type TimedTask } from './lib/interleaved-timing.js';
import { machineDescription } from './lib/machine.js';
import { benchArgs } from './lib/args.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const flags = benchArgs({ 'out-dir': { type: 'string' }, rows: { type: 'string' }, rounds: { type: 'string' }, features: { type: 'string' } });
const args = flags.argv;
const ROWS = flags.int('rows', 60000);
const ROUNDS = flags.int('rounds', 2);
const FEATURES = flags.int('features', 4096);
const DEPTH = 2;
const D = 784;
const SCALE = 1 / 255;

const installed = { images: join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'), labels: join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz') };
if (!existsSync(installed.images) || !existsSync(installed.labels)) {
  console.error(`Fashion-MNIST is not installed (${installed.images}): apt-get install dataset-fashion-mnist`);
  process.exit(1);
}
if (!(Number.isInteger(ROWS) && ROWS >= 1 && ROWS <= 60000)) throw new RangeError('--rows must be 1..60000');

const dir = mkdtempSync(join(tmpdir(), 'ntk-data-formats-'));
const file = (name: string) => join(dir, name);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// ---- the files ---------------------------------------------------------
const t0 = performance.now();
const { train } = loadFashionMnist({ train: ROWS, test: 0 });
const pixels = Uint8Array.from(train.X, (v) => Math.round(v * 255));
const labels = train.labels;

/** Writes `lines(i)` for rows 0..ROWS-1 after `head`, in pieces. */
function writeText(path: string, head: string, line: (i: number) => string): void {
  const fd = openSync(path, 'w');
  try {
    let text = head;
    for (let i = 0; i < ROWS; i++) {
      text += line(i) + '\n';
      if (text.length > 1 << 22) {
        writeSync(fd, text);
        text = '';
      }
    }
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
const row = (i: number) => pixels.subarray(i * D, (i + 1) * D);
const csvHeader = ['label', ...Array.from({ length: D }, (_, j) => `pixel${j + 1}`)].join(',') + '\n';
writeText(file('fashion-int.csv'), csvHeader, (i) => `${labels[i]},${row(i).join(',')}`);
writeText(file('fashion-float.csv'), csvHeader, (i) => `${labels[i]},${Array.from(row(i), (p) => (p / 255).toFixed(6)).join(',')}`);
writeText(file('fashion.svm'), '', (i) => {
  const r = row(i);
  let s = String(labels[i]);
  for (let j = 0; j < D; j++) if (r[j] !== 0) s += ` ${j + 1}:${r[j]}`;
  return s;
});
const X32 = Float32Array.from(train.X);
writeFileSync(file('fashion.npy'), Buffer.concat([encodeNpyHeader('<f4', [ROWS, D]), new Uint8Array(X32.buffer)]));
writeFileSync(file('fashion-labels.npy'), Buffer.concat([encodeNpyHeader('<i4', [ROWS]), new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength)]));
let idx = installed;
if (ROWS < 60000) {
  // Fewer rows than the installed files hold: the first ROWS, in the same (gzip IDX) form.
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0);
  head.writeInt32BE(ROWS, 4);
  head.writeInt32BE(28, 8);
  head.writeInt32BE(28, 12);
  const lhead = Buffer.alloc(8);
  lhead.writeUInt32BE(0x801, 0);
  lhead.writeInt32BE(ROWS, 4);
  idx = { images: file('train-images-idx3-ubyte.gz'), labels: file('train-labels-idx1-ubyte.gz') };
  writeFileSync(idx.images, gzipSync(Buffer.concat([head, pixels])));
  writeFileSync(idx.labels, gzipSync(Buffer.concat([lhead, Uint8Array.from(labels)])));
}
console.log(`wrote the files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

interface Format {
  name: string;
  what: string;
  path: string;
  sizeFiles: string[];
  options: OpenDataOptions;
  flags: string[];
}
const scaleFlag = String(SCALE);
const formats: Format[] = [
  {
    name: 'csv-int', what: 'CSV, label + 784 integer pixels', path: file('fashion-int.csv'), sizeFiles: [file('fashion-int.csv')],
    options: { target: 'label', scale: SCALE }, flags: ['--target', 'label', '--scale', scaleFlag],
  },
  {
    name: 'csv-float', what: 'CSV, label + 784 pixels as %.6f', path: file('fashion-float.csv'), sizeFiles: [file('fashion-float.csv')],
    options: { target: 'label' }, flags: ['--target', 'label'],
  },
  {
    name: 'npy', what: '.npy float32 + labels .npy', path: file('fashion.npy'), sizeFiles: [file('fashion.npy'), file('fashion-labels.npy')],
    options: { labels: file('fashion-labels.npy') }, flags: ['--labels', file('fashion-labels.npy')],
  },
  {
    name: 'idx', what: `IDX gzip${ROWS === 60000 ? ', as installed' : ''} + labels`, path: idx.images, sizeFiles: [idx.images, idx.labels],
    options: { labels: idx.labels, scale: SCALE, flatten: true }, flags: ['--labels', idx.labels, '--scale', scaleFlag],
  },
  {
    name: 'libsvm', what: 'LIBSVM, nonzero integer pixels', path: file('fashion.svm'), sizeFiles: [file('fashion.svm')],
    options: { columns: D, scale: SCALE }, flags: ['--columns', String(D), '--scale', scaleFlag],
  },
];
const mb = (f: Format) => f.sizeFiles.reduce((s, p) => s + statSync(p).size, 0) / 1e6;

const newMap = () => new NTKSketch({ inputDim: D, depth: DEPTH, features: FEATURES, seed: 1, dtype: 'float32' });
const open = (f: Format) => openData(f.path, { ...f.options, dtype: 'float32' });

/** The command line's loop, through the library: read (one batch ahead) -> transform -> .npy. */
async function endToEnd(f: Format): Promise<void> {
  const out = file(`${f.name}-features.npy`);
  const source = await open(f);
  const map = newMap();
  const features = await NpyWriter.create(out, { columns: FEATURES, dtype: 'float32' });
  const targets = await createDataWriter(file(`${f.name}-targets.npy`), { columns: 1, dtype: 'float64' });
  try {
    const { rows } = await forEachBatch(source, new Progress(false), async (batch) => {
      await features.write(await map.transform(asMapInput(batch.X, map.inputLayout)));
      if (batch.y) await targets.write(batch.y);
    });
    if (rows !== ROWS) throw new Error(`${f.name}: ${rows} rows, expected ${ROWS}`);
    await features.close();
    await targets.close();
  } finally {
    await features.abort();
    await targets.abort();
    map.dispose();
    rmSync(out, { force: true });
    rmSync(file(`${f.name}-targets.npy`), { force: true });
  }
}

async function parseOnly(f: Format): Promise<void> {
  let rows = 0;
  for await (const b of (await open(f)).batches()) rows += b.X.shape[0];
  if (rows !== ROWS) throw new Error(`${f.name}: ${rows} rows, expected ${ROWS}`);
}

// The batches of each format in memory, for the featurise-only pass.
const held = new Map<string, DataBatch[]>();
for (const f of formats) {
  const batches: DataBatch[] = [];
  for await (const b of (await open(f)).batches()) batches.push(b);
  held.set(f.name, batches);
}
const map = newMap();
async function featuriseOnly(f: Format): Promise<void> {
  for (const b of held.get(f.name)!) await map.transform(asMapInput(b.X, map.inputLayout));
}

// Writing: ROWS rows of features, in the batches of the dense readers.
const batchRows = held.get('npy')![0].X.shape[0];
const someFeatures = (await map.transform(asMapInput(held.get('npy')![0].X, map.inputLayout))).data as Float32Array;
async function writeOnly(): Promise<void> {
  const out = file('write-only.npy');
  const w = await NpyWriter.create(out, { columns: FEATURES, dtype: 'float32' });
  try {
    for (let done = 0; done < ROWS; done += batchRows) {
      const n = Math.min(batchRows, ROWS - done);
      await w.write({ data: someFeatures.subarray(0, n * FEATURES), shape: [n, FEATURES] });
    }
    await w.close();
  } finally {
    await w.abort();
    rmSync(out, { force: true });
  }
}

const machine = machineDescription();
console.log(`${machine}\n${ROWS} Fashion-MNIST training images -> ${FEATURES} NTKSketch features (depth ${DEPTH}, float32); ${ROUNDS} interleaved rounds`);
const tasks: TimedTask[] = [['write', writeOnly]];
for (const f of formats) {
  tasks.push([`${f.name} e2e`, () => endToEnd(f)], [`${f.name} parse`, () => parseOnly(f)], [`${f.name} featurise`, () => featuriseOnly(f)]);
}
const samples = await timeInterleaved(tasks, ROUNDS);
map.dispose();
const sec = (name: string) => median(samples.get(name)!) / 1000;

// ---- the command line, once per format -----------------------------------
interface CliResult { rowsPerSecond: number; seconds: number; readSeconds: number; transformSeconds: number; writeSeconds: number }
function cli(f: Format): CliResult {
  const out = file(`${f.name}-cli.npy`);
  const argv = ['--import', 'tsx', 'src/cli/main.ts', 'transform', '--data', f.path, ...f.flags,
    '--method', 'ntk-sketch', '--features', String(FEATURES), '--depth', String(DEPTH), '--out', out, '--json'];
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  for (const p of [out, out.replace(/\.npy$/, '.map.json'), out.replace(/\.npy$/, '.targets.npy')]) rmSync(p, { force: true });
  if (r.status !== 0) throw new Error(`transform of ${f.name} failed (${r.status}): ${r.stderr}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as CliResult & { rows: number };
  if (summary.rows !== ROWS) throw new Error(`transform of ${f.name}: ${summary.rows} rows, expected ${ROWS}`);
  return summary;
}
const cliResults = new Map(formats.map((f) => [f.name, cli(f)]));

// ---- the report -----------------------------------------------------------
const rate = (s: number) => Math.round(ROWS / s).toLocaleString('en-US');
const pct = (part: number, whole: number) => `${Math.round((100 * part) / whole)}%`;
const tWrite = sec('write');
const table: string[] = [];
const cliTable: string[] = [];
for (const f of formats) {
  const [e2e, parse, feat] = [sec(`${f.name} e2e`), sec(`${f.name} parse`), sec(`${f.name} featurise`)];
  const sum = parse + feat + tWrite;
  table.push(
    `| ${f.name} | ${f.what} | ${mb(f).toFixed(0)} | **${rate(e2e)}** | ${e2e.toFixed(2)} | ${rate(parse)} | ${rate(feat)} | ${rate(tWrite)} | ` +
      `${pct(parse, sum)} | ${pct(feat, sum)} | ${pct(tWrite, sum)} | ${(e2e / sum).toFixed(2)} |`,
  );
  const c = cliResults.get(f.name)!;
  cliTable.push(
    `| ${f.name} | ${Math.round(c.rowsPerSecond).toLocaleString('en-US')} | ${c.seconds.toFixed(2)} | ${c.readSeconds.toFixed(2)} | ${c.transformSeconds.toFixed(2)} | ` +
      `${c.writeSeconds.toFixed(2)} | ${(c.seconds - c.transformSeconds - c.writeSeconds).toFixed(2)} |`,
  );
  console.log(`${f.name.padEnd(10)} e2e ${rate(e2e).padStart(7)} rows/s; parse ${rate(parse)}, featurise ${rate(feat)}, write ${rate(tWrite)} rows/s; CLI ${Math.round(c.rowsPerSecond)} rows/s`);
}

const md = [
  '# Data formats: `transform` throughput to .npy',
  '',
  `Generated by \`npx tsx bench/data-formats.bench.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  `Machine: ${machine}; sketch kernels: ${backends().cpu.simd}.`,
  '',
  `${ROWS.toLocaleString('en-US')} Fashion-MNIST training images (784 pixels, label as the target) -> ${FEATURES} NTKSketch features`,
  `(depth ${DEPTH}, seed 1, float32), written to .npy with the targets beside them. Each format holds the same images; the`,
  'readers use their default batch sizes. Median of ' + `${ROUNDS} interleaved rounds after a warm-up round (tinybench, task order`,
  'rotated per round, garbage collected before each task).',
  '',
  '- **end to end**: openData -> NTKSketch transform of each batch -> NpyWriter, the next batch read while the current one',
  '  is featurised (the loop of `ntk-sketch transform`, src/cli/stream.ts), map creation included.',
  '- **parse**: one pass of the same reader. **featurise**: transform of the same batches held in memory.',
  '  **write**: the same number of float32 feature rows into an NpyWriter (the same for every format).',
  '- **shares** are of parse + featurise + write; **overlap** is end to end / that sum (below 1: reading overlapped featurising).',
  '',
  '| format | file | MB | end to end rows/s | end to end s | parse rows/s | featurise rows/s | write rows/s | parse | featurise | write | overlap |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...table,
  '',
  '## The command line',
  '',
  `\`node --import tsx src/cli/main.ts transform --data FILE [format flags] --method ntk-sketch --features ${FEATURES} --depth ${DEPTH} --out OUT.npy --json\`,`,
  'once per format (format flags: CSV `--target label`, with `--scale 1/255` for the integer pixels; .npy and IDX `--labels`;',
  'LIBSVM `--columns 784`; IDX and LIBSVM `--scale 1/255`). Its rows/s and seconds are timed inside the command (from',
  'opening the data to the files closed, Node start-up excluded). transformSeconds: in the map; writeSeconds: the rest of each',
  'batch step (writing); readSeconds is what the command prints; the last column is the seconds outside the map and the',
  'writes (waiting for the reader, opening the data, making the map).',
  '',
  '| format | rows/s | seconds | readSeconds | transformSeconds | writeSeconds | seconds - transform - write |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...cliTable,
  '',
];
const outDir = resolve(flags.text('out-dir', resolve(here, 'results')));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'data-formats.md'), md.join('\n'));
console.log(`wrote ${join(outDir, 'data-formats.md')}`);
