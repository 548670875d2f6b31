/**
 * The map flags of `transform` and `fit`: a saved map (--map) or a new one
 * (--method with its sizes), checked for the method they apply to before any
 * data is read, and built once the data's width is known.
 */
import { readFile } from 'node:fs/promises';
import type { DType } from '../core/arrays.js';
import { CNTKSketch } from '../maps/cntk-sketch.js';
import type { FeatureMap } from '../maps/feature-map.js';
import { LeverageSelection } from '../maps/leverage-selection.js';
import { NTKNystrom } from '../maps/ntk-nystrom.js';
import { NTKRandomFeatures } from '../maps/ntk-random-features.js';
import { NTKSketch, defaultSketchDim } from '../maps/ntk-sketch.js';
import { mapFromJSON } from '../maps/saved-map.js';
import type { DataSource, DenseRows, ImageRows } from '../data/readers/index.js';
import { UsageError, parseBackend, parseInteger } from './args.js';
import { flagMessage } from './data-options.js';

export const MAP_FLAGS = {
  map: { type: 'string' },
  method: { type: 'string' },
  features: { type: 'string' },
  depth: { type: 'string' },
  seed: { type: 'string' },
  dtype: { type: 'string' },
  'image-shape': { type: 'string' },
  filter: { type: 'string' },
  padding: { type: 'string' },
  pool: { type: 'string' },
  'pool-rows': { type: 'string' },
  'sketch-dim': { type: 'string' },
  backend: { type: 'string' },
  sampling: { type: 'string' },
  'landmark-rows': { type: 'string' },
} as const;

export const MAP_HELP = `Map (a saved one, or a new one):
  --map FILE         a map saved by transform or fit (.map.json)
  --method M         ntk-sketch, ntk-rf (NTKRandomFeatures), cntk-sketch or
                     nystrom (NTKNystrom: exact-NTK features of landmark rows)
  --features N       output features (required with --method; nystrom: the
                     number of landmarks)
  --depth L          hidden ReLU layers (required with --method)
  --seed S           seed of the map (default 0)
  --dtype D          float32 (default) or float64 features
  --image-shape C,H,W  cntk-sketch: the image shape of flat rows (.npy/IDX
                     images carry their own)
  --filter F         cntk-sketch: filter size (default 3)
  --padding P        cntk-sketch: same (default) or valid
  --pool N           ntk-sketch: keep the --features columns of an N-feature
                     NTKSketch chosen by ridge leverage scores (LeverageSelection)
  --pool-rows R      rows the selection scores the pool on (default 4000)
  --sketch-dim M     ntk-sketch, cntk-sketch: the internal sketch dimension
                     (default: the map's; very wide sparse rows may want more)
  --backend B        cpu, cuda or auto (ntk-sketch; default cpu)
  --sampling S       nystrom: leverage (default; ridge leverage scores) or
                     uniform landmarks
  --landmark-rows R  nystrom: rows the landmarks are chosen from, the first R
                     of the data (default 10000; fit: the first R rows outside
                     its validation split)`;

export const METHODS = ['ntk-sketch', 'ntk-rf', 'cntk-sketch', 'nystrom'] as const;
export type MapMethod = (typeof METHODS)[number];

type MapValues = Partial<Record<keyof typeof MAP_FLAGS, string>>;

/** What the flags ask for, checked, before the data is opened. */
export type MapRequest =
  | { kind: 'saved'; path: string }
  | {
      kind: 'new';
      method: MapMethod;
      features: number;
      depth: number;
      seed: number;
      dtype: DType;
      imageShape: [number, number, number] | null;
      filterSize: number;
      padding: 'same' | 'valid';
      pool: number | null;
      poolRows: number;
      sketchDim: number | null;
      backend: 'cpu' | 'cuda';
      sampling: 'uniform' | 'leverage';
      landmarkRows: number;
    };

/** Flags that only --method ... takes (a saved map fixes them). */
const NEW_MAP_ONLY = [
  'method', 'features', 'depth', 'seed', 'dtype', 'image-shape', 'filter', 'padding', 'pool', 'pool-rows', 'sketch-dim', 'backend', 'sampling', 'landmark-rows',
] as const;
/** Flags that apply to one method only. */
const METHOD_ONLY: Record<string, MapMethod> = {
  'image-shape': 'cntk-sketch', filter: 'cntk-sketch', padding: 'cntk-sketch', pool: 'ntk-sketch', 'pool-rows': 'ntk-sketch', backend: 'ntk-sketch',
  sampling: 'nystrom', 'landmark-rows': 'nystrom',
};

export function mapRequest(values: MapValues): MapRequest {
  if (values.map !== undefined) {
    const extra = NEW_MAP_ONLY.find((k) => values[k] !== undefined);
    if (extra) throw new UsageError(`--${extra} does not apply with --map (the saved map fixes it)`);
    return { kind: 'saved', path: values.map };
  }
  const method = values.method;
  if (method === undefined) throw new UsageError('give --map FILE or --method with --features and --depth');
  if (!(METHODS as readonly string[]).includes(method)) throw new UsageError(`--method must be one of ${METHODS.join(', ')}, got '${method}'`);
  for (const [flag, only] of Object.entries(METHOD_ONLY)) {
    if (values[flag as keyof MapValues] !== undefined && method !== only) throw new UsageError(`--${flag} applies to --method ${only} only`);
  }
  const features = parseInteger('--features', values.features, 1, 1 << 24);
  if (features === undefined) throw new UsageError(`--features is required with --method ${method}`);
  const depth = parseInteger('--depth', values.depth, 1, 1000);
  if (depth === undefined) throw new UsageError(`--depth is required with --method ${method}`);
  const dtype = values.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new UsageError(`--dtype must be float32 or float64, got '${dtype}'`);
  const padding = values.padding ?? 'same';
  if (padding !== 'same' && padding !== 'valid') throw new UsageError(`--padding must be same or valid, got '${padding}'`);
  let imageShape: [number, number, number] | null = null;
  if (values['image-shape'] !== undefined) {
    const parts = values['image-shape'].split(',');
    if (parts.length !== 3) throw new UsageError(`--image-shape must be C,H,W, got '${values['image-shape']}'`);
    imageShape = parts.map((p) => parseInteger('--image-shape', p, 1, 1 << 20) as number) as [number, number, number];
  }
  const pool = parseInteger('--pool', values.pool, 2, 1 << 24) ?? null;
  if (pool !== null && pool <= features) throw new UsageError(`--pool must exceed --features (${features}), got ${pool}`);
  if (values['pool-rows'] !== undefined && pool === null) throw new UsageError('--pool-rows applies with --pool only');
  if (values['sketch-dim'] !== undefined && (method === 'ntk-rf' || method === 'nystrom')) throw new UsageError('--sketch-dim applies to --method ntk-sketch or cntk-sketch');
  const sampling = values.sampling ?? 'leverage';
  if (sampling !== 'uniform' && sampling !== 'leverage') throw new UsageError(`--sampling must be leverage or uniform, got '${sampling}'`);
  if (values['sketch-dim'] !== undefined && values.pool !== undefined) throw new UsageError('--sketch-dim does not apply with --pool (the pool sets its own)');
  return {
    kind: 'new',
    method: method as MapMethod,
    features,
    depth,
    seed: parseInteger('--seed', values.seed, 0, Number.MAX_SAFE_INTEGER) ?? 0,
    dtype,
    imageShape,
    filterSize: parseInteger('--filter', values.filter, 1, 1 << 20) ?? 3,
    padding,
    pool,
    poolRows: parseInteger('--pool-rows', values['pool-rows'], 1, 1 << 24) ?? 4000,
    sketchDim: parseInteger('--sketch-dim', values['sketch-dim'], 1, 1 << 22) ?? null,
    backend: parseBackend(values.backend ?? 'cpu'),
    sampling,
    landmarkRows: parseInteger('--landmark-rows', values['landmark-rows'], 1, 1 << 24) ?? 10000,
  };
}

const MAP_OPTION_FLAGS: Record<string, string> = {
  features: '--features', depth: '--depth', seed: '--seed', dtype: '--dtype', filterSize: '--filter', padding: '--padding',
  inputShape: '--image-shape', backend: '--backend', sketchDim: '--sketch-dim', inputDim: 'the number of input columns',
  landmarks: '--features', sampling: '--sampling',
};

/** Runs a map constructor; its option errors become usage errors naming the flags. */
function build<M>(make: () => M): M {
  try {
    return make();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(flagMessage(error.message, MAP_OPTION_FLAGS));
    throw error;
  }
}

/**
 * The pool's internal sketchDim: half its features up to 16,384, and never
 * below NTKSketch's default. Every pool column shares the noise of the
 * internal sketches, which selection cannot remove; on Fashion-MNIST (depth
 * 2, 8,192 kept of 32,768 features, mean of 3 seeds, one set of draws) ridge
 * accuracy was 86.61 % with sketchDim 4,096, 86.73 % with 8,192 and 86.80 %
 * with 16,384. The kept rows' transform costs the hidden layers at this
 * sketchDim plus the kept rows, whatever the pool's size.
 */
export function poolSketchDim(pool: number): number {
  return Math.max(defaultSketchDim(pool), Math.min(16384, 2 ** Math.floor(Math.log2(pool / 2))));
}

/** The image shape a CNTK map reads from `source`: its own, or --image-shape for flat rows. */
function imagesOf(source: DataSource, shape: [number, number, number] | null): [number, number, number] {
  const s = shape ?? source.imageShape;
  if (!s) throw new UsageError(`--image-shape C,H,W is required: ${source.path} holds rows of ${source.columns} values, not images`);
  if (s[0] * s[1] * s[2] !== source.columns) {
    throw new UsageError(`--image-shape ${s.join(',')} holds ${s[0] * s[1] * s[2]} values, but the rows of ${source.path} have ${source.columns}`);
  }
  return s;
}

/** Reads a map saved by transform or fit (any kind). */
export async function loadMap(path: string): Promise<FeatureMap> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--map ${path}: ${(error as Error).message}`);
  }
  return build(() => mapFromJSON(text));
}

/** Whether a map of this request reads images (then the data is read as images, else as rows). */
export function readsImages(request: MapRequest, saved: FeatureMap | null): boolean {
  return saved ? saved.inputLayout.kind === 'images' : request.kind === 'new' && request.method === 'cntk-sketch';
}

/** Refuses data whose rows are not the map's inputs. */
export function checkWidth(map: FeatureMap, source: DataSource): void {
  const layout = map.inputLayout;
  if (layout.columns !== source.columns) {
    const what = layout.kind === 'images' ? `images [${layout.shape.join(', ')}]` : 'rows';
    throw new UsageError(`the map reads ${what} of ${layout.columns} values, but the rows of ${source.path} have ${source.columns}`);
  }
}

/**
 * A new map for `source` as the flags ask; a --pool selection is fitted on
 * the first --pool-rows rows, a Nyström map chooses its landmarks from the
 * first --landmark-rows rows for which `landmarkRow(index)` holds (all rows
 * when it is absent). `fit` passes the rows its validation split does not
 * hold out: a validation row that is a landmark is predicted through its
 * own kernel function, which the fit rows' coefficients do not control, and
 * its error stops speaking for unseen rows (on Fashion-MNIST it made small
 * lambdas look 13 points worse than they were on the test set).
 */
export async function newMap(r: Extract<MapRequest, { kind: 'new' }>, source: DataSource, landmarkRow?: (index: number) => boolean): Promise<FeatureMap> {
  const common = { depth: r.depth, features: r.features, seed: r.seed, dtype: r.dtype };
  const sketch = r.sketchDim === null ? {} : { sketchDim: r.sketchDim };
  if (r.method === 'cntk-sketch') {
    const inputShape = imagesOf(source, r.imageShape);
    return build(() => new CNTKSketch({ ...common, ...sketch, inputShape, filterSize: r.filterSize, padding: r.padding }));
  }
  const inputDim = source.columns;
  if (r.method === 'nystrom') {
    const map = build(() => new NTKNystrom({ depth: r.depth, landmarks: r.features, inputDim, sampling: r.sampling, seed: r.seed, dtype: r.dtype }));
    const rows = await firstRows(source, r.landmarkRows, landmarkRow);
    const n = rows.shape[0];
    if (n < r.features) {
      const which = landmarkRow ? ' outside the validation split' : '';
      throw new UsageError(`--features ${r.features} landmarks need at least as many rows${which} to choose from; ${source.path} gave ${n} (--landmark-rows ${r.landmarkRows})`);
    }
    return map.fit(rows);
  }
  if (r.method === 'ntk-rf') return build(() => new NTKRandomFeatures({ ...common, inputDim }));
  if (r.pool === null) return build(() => new NTKSketch({ ...common, ...sketch, inputDim, backend: r.backend }));
  const poolSize = r.pool;
  const pool = build(() => new NTKSketch({ ...common, inputDim, features: poolSize, sketchDim: poolSketchDim(poolSize), exactCopies: false, backend: r.backend }));
  const selection = build(() => new LeverageSelection({ map: pool, features: r.features, seed: r.seed }));
  await selection.fit(await firstRows(source, r.poolRows));
  return selection;
}

/** The first `count` rows of a dense or CSR source (those `keep` accepts, by index in the file), for fitting a selection. */
async function firstRows(
  source: DataSource, count: number, keep?: (index: number) => boolean,
): Promise<DenseRows | ImageRows | { indptr: Int32Array; indices: Int32Array; data: Float32Array | Float64Array; shape: [number, number] }> {
  const parts = [];
  let rows = 0, seen = 0;
  for await (const batch of source.batches(Math.min(count, source.batchRows))) {
    seen += batch.X.shape[0];
    const X = keep ? pickRows(batch.X, (i) => keep(batch.offset + i)) : batch.X;
    if (X.shape[0] === 0) continue;
    parts.push(X);
    rows += X.shape[0];
    if (rows >= count) break;
  }
  if (seen === 0) throw new UsageError(`${source.path} holds no rows`);
  if (rows === 0) throw new UsageError(`${source.path}: none of its ${seen} rows is outside the validation split`);
  return concatRows(parts, Math.min(rows, count));
}

/** The rows i of X (dense, images or CSR) for which keep(i) holds, in order. */
function pickRows<X extends { data: Float32Array | Float64Array; shape: number[]; indptr?: Int32Array; indices?: Int32Array }>(X: X, keep: (i: number) => boolean): X {
  const n = X.shape[0];
  const chosen: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) chosen.push(i);
  if (chosen.length === n) return X;
  const Ctor = X.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor;
  if (X.indptr === undefined || X.indices === undefined) {
    const per = X.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = new Ctor(chosen.length * per);
    chosen.forEach((r, t) => data.set(X.data.subarray(r * per, (r + 1) * per), t * per));
    return { data, shape: [chosen.length, ...X.shape.slice(1)] } as X;
  }
  const { indptr, indices } = X;
  const nnz = chosen.reduce((a, r) => a + indptr[r + 1] - indptr[r], 0);
  const outPtr = new Int32Array(chosen.length + 1), outIdx = new Int32Array(nnz), outData = new Ctor(nnz);
  chosen.forEach((r, t) => {
    const from = indptr[r], to = indptr[r + 1], at = outPtr[t];
    outIdx.set(indices.subarray(from, to), at);
    outData.set(X.data.subarray(from, to), at);
    outPtr[t + 1] = at + to - from;
  });
  return { indptr: outPtr, indices: outIdx, data: outData, shape: [chosen.length, X.shape[1]] } as unknown as X;
}

/** The first `rows` rows of consecutive batches, as one matrix of their layout. */
export function concatRows(parts: Array<{ data: Float32Array | Float64Array; shape: number[]; indptr?: Int32Array; indices?: Int32Array }>, rows: number) {
  const first = parts[0];
  const Ctor = first.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor;
  if (first.indptr === undefined) {
    const per = first.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = new Ctor(rows * per);
    let at = 0;
    for (const p of parts) {
      const take = Math.min(p.shape[0], rows - at);
      data.set(p.data.subarray(0, take * per), at * per);
      at += take;
      if (at === rows) break;
    }
    return { data, shape: [rows, ...first.shape.slice(1)] } as DenseRows;
  }
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  let at = 0;
  for (const p of parts) {
    const ip = p.indptr as Int32Array, ix = p.indices as Int32Array;
    for (let i = 0; i < p.shape[0] && at < rows; i++, at++) {
      for (let k = ip[i]; k < ip[i + 1]; k++) {
        indices.push(ix[k]);
        values.push(p.data[k]);
      }
      indptr[at + 1] = indices.length;
    }
  }
  return { indptr, indices: Int32Array.from(indices), data: Ctor.from(values), shape: [rows, first.shape[1]] as [number, number] };
}
