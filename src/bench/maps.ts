/**
 * The maps a benchmark measures, one entry each: how to build one of a given
 * size for the data, which exact kernel it approximates, and the `fit`
 * flags that reproduce it. Adding a map to every suite (and to the
 * recommendation) is one entry in BENCH_MAPS.
 */
import type { DType } from '../core/arrays.js';
import type { RowsLike } from '../core/inputs.js';
import { CNTKSketch } from '../maps/cntk-sketch.js';
import { asMapInput, type FeatureKernel, type FeatureMap } from '../maps/feature-map.js';
import { LeverageSelection } from '../maps/leverage-selection.js';
import { NTKRandomFeatures } from '../maps/ntk-random-features.js';
import { NTKNystrom } from '../maps/ntk-nystrom.js';
import { NTKSketch } from '../maps/ntk-sketch.js';
import { poolSketchDim } from '../cli/map-options.js';

/** The size and seed of one map, and what its input rows are. */
export interface MapConfig {
  inputDim: number;
  /** [C, H, W] of the rows when they are images, else null. */
  imageShape: readonly [number, number, number] | null;
  depth: number;
  features: number;
  seed: number;
  dtype: DType;
}

/** The exact kernel a map approximates (the CNTK of 3 x 3 'same' convolutions, as CNTKSketch defaults). */
export type ExactKernelKind = 'ntk' | 'cntk';

export interface BenchMap {
  /** Short name, as --maps lists it. */
  name: string;
  /** What it is, for reports. */
  label: string;
  exactKernel: ExactKernelKind;
  /** The kernels whose features it computes. */
  kernels: readonly FeatureKernel[];
  /** Whether it reads CSR rows (the input-sparsity suite). */
  sparseInput: boolean;
  /** Why the input-sparsity suite skips it, when sparseInput is false. */
  denseOnlyReason?: string;
  /**
   * Whether the rows it is fitted on must be other rows than those its
   * features are measured on (Nyström landmarks reproduce the kernel exactly
   * between themselves, so an in-sample Gram error would flatter it).
   */
  fitsOnHeldOutRows?: boolean;
  /**
   * Why it cannot run on `config` (e.g. it needs images, or more rows to fit
   * on than the `fitRows` create would be given), or null when it can.
   */
  unavailable(config: MapConfig, fitRows: number): string | null;
  /** A new map; `rows` (dense or CSR rows of the data, flat) are what maps that are fitted (selections, landmarks) are fitted on. */
  create(config: MapConfig, rows: RowsLike): Promise<FeatureMap>;
  /** The `ntk-sketch fit` flags that build the same map. */
  cliFlags(config: MapConfig): string;
}

const common = (c: MapConfig) => ({ depth: c.depth, features: c.features, seed: c.seed, dtype: c.dtype });
const baseFlags = (method: string, c: MapConfig) => `--method ${method} --features ${c.features} --depth ${c.depth} --seed ${c.seed}${c.dtype === 'float64' ? ' --dtype float64' : ''}`;

/** The convolution of the CNTK maps and kernels the benchmark measures. */
export const CNTK_FILTER = 3;
export const CNTK_PADDING = 'same' as const;

/**
 * Pixel-pair entries (summed over layers) one exact CNTK kernel of a
 * benchmark may cost: about 7 ns each per thread, so some 15 s on 2 cores.
 * An image pair costs (H W)^2 entries per layer ('same' padding).
 */
export const EXACT_CNTK_ENTRY_BUDGET = 4e9;

/**
 * How many of `rows` images (and `extra` more per row, e.g. test images
 * against them) an exact CNTK of `depth` layers can take within
 * EXACT_CNTK_ENTRY_BUDGET: r with (r (r + 1) / 2 + r extra) (H W)^2 depth <= budget.
 */
export function exactCntkRows(shape: readonly [number, number, number], depth: number, rows: number, extraPerRow = 0): number {
  const pairs = EXACT_CNTK_ENTRY_BUDGET / ((shape[1] * shape[2]) ** 2 * depth);
  // r^2 / 2 + r (extra + 1/2) - pairs = 0
  const b = extraPerRow + 0.5;
  const r = Math.floor(-b + Math.sqrt(b * b + 2 * pairs));
  return Math.max(2, Math.min(rows, r));
}

/** Pool features of the leverage selection: four times the kept ones. */
export const SELECTION_POOL_FACTOR = 4;

export const BENCH_MAPS: readonly BenchMap[] = [
  {
    name: 'ntk-sketch',
    label: 'NTKSketch (degree 4, default sketchDim)',
    exactKernel: 'ntk',
    kernels: ['ntk', 'nngp'],
    sparseInput: true,
    unavailable: () => null,
    create: async (c) => new NTKSketch({ ...common(c), inputDim: c.inputDim }),
    cliFlags: (c) => baseFlags('ntk-sketch', c),
  },
  {
    name: 'ntk-rf',
    label: 'NTKRandomFeatures (Gaussian weights, arc-cosine and step features)',
    exactKernel: 'ntk',
    kernels: ['ntk', 'nngp'],
    sparseInput: true,
    unavailable: (c) => (c.features < 2 ? 'needs at least 2 features' : null),
    create: async (c) => new NTKRandomFeatures({ ...common(c), inputDim: c.inputDim }),
    cliFlags: (c) => baseFlags('ntk-rf', c),
  },
  {
    name: 'leverage',
    label: `LeverageSelection (features kept of a ${SELECTION_POOL_FACTOR}x NTKSketch pool)`,
    exactKernel: 'ntk',
    kernels: ['ntk'],
    sparseInput: true,
    unavailable: () => null,
    create: async (c, rows) => {
      const poolSize = c.features * SELECTION_POOL_FACTOR;
      const pool = new NTKSketch({ ...common(c), inputDim: c.inputDim, features: poolSize, sketchDim: poolSketchDim(poolSize), exactCopies: false });
      const selection = new LeverageSelection({ map: pool, features: c.features, seed: c.seed });
      await selection.fit(rows);
      return selection;
    },
    cliFlags: (c) => `${baseFlags('ntk-sketch', c)} --pool ${c.features * SELECTION_POOL_FACTOR}`,
  },
  {
    name: 'cntk-sketch',
    label: 'CNTKSketch (3 x 3 filters, same padding)',
    exactKernel: 'cntk',
    kernels: ['ntk', 'nngp'],
    sparseInput: false,
    unavailable: (c) => (c.imageShape ? null : 'needs image rows (give --image-shape C,H,W)'),
    create: async (c) => new CNTKSketch({ ...common(c), inputShape: c.imageShape as [number, number, number], filterSize: CNTK_FILTER, padding: CNTK_PADDING }),
    cliFlags: (c) => `${baseFlags('cntk-sketch', c)}${c.imageShape ? ` --image-shape ${c.imageShape.join(',')}` : ''}`,
  },
  {
    name: 'nystrom',
    label: 'NTKNystrom (exact-NTK features of leverage-sampled landmark rows; features = landmarks)',
    exactKernel: 'ntk',
    // One kernel per fitted map: NNGP features would need a second fit.
    kernels: ['ntk'],
    sparseInput: false,
    denseOnlyReason: 'fit and transform make dense float64 copies of the rows (n x d), too large at these input widths',
    fitsOnHeldOutRows: true,
    unavailable: (c, fitRows) =>
      fitRows < c.features ? `${c.features} landmarks need at least ${c.features} rows to choose from; the sample has ${fitRows}` : null,
    create: async (c, rows) => {
      const map = new NTKNystrom({ depth: c.depth, landmarks: c.features, inputDim: c.inputDim, seed: c.seed, dtype: c.dtype });
      await map.fit(rows);
      return map;
    },
    cliFlags: (c) => baseFlags('nystrom', c),
  },
];

/** The maps named in `names` (in BENCH_MAPS order); a RangeError names an unknown one. */
export function selectMaps(names: readonly string[] | null): BenchMap[] {
  if (names === null) return [...BENCH_MAPS];
  const known = BENCH_MAPS.map((m) => m.name);
  for (const name of names) if (!known.includes(name)) throw new RangeError(`maps: unknown map '${name}' (known: ${known.join(', ')})`);
  return BENCH_MAPS.filter((m) => names.includes(m.name));
}

/** Rows as a map reads them (images reshaped for convolutional maps). */
export function mapInput(map: FeatureMap, X: Float64Array | Float32Array, n: number, d: number): RowsLike {
  return asMapInput({ data: X, shape: [n, d] }, map.inputLayout) as RowsLike;
}
