// The saved maps of the golden-file test: for each map (NTKSketch,
// NTKRandomFeatures, CNTKSketch, LeverageSelection), dense and CSR where the
// map reads CSR, float32 and float64, NTK and NNGP. `generate.ts` wrote
// saved-maps.json with this release; the test loads each document and
// rebuilds each map from its options, and both must give the stored bits.
import { createHash } from 'node:crypto';
import {
  CNTKSketch,
  LeverageSelection,
  NTKNystrom,
  NTKRandomFeatures,
  NTKSketch,
} from '../../src/index.js';
import { sparseRows, spreadRows } from '../helpers/rows.js';

export interface GoldenCase {
  name: string;
  /** Builds the map from options (the same seed and options as when the file was written). */
  build(): { toJSON(): unknown };
  load(document: unknown): { transformSync(X: unknown, options?: { kernel?: 'ntk' | 'nngp'; out?: unknown }): { data: Float32Array | Float64Array } };
  dtype: 'float32' | 'float64';
  input: 'dense' | 'csr' | 'images';
  /**
   * Why this case's features may move by rounding against the file (the one
   * allowed exception: the core's own GEMM replaced BLAS's, see the README's
   * determinism section): 'weights' when drawing the map rounds differently
   * (loaded documents and rebuilt maps), 'fit' when only a new fit does
   * (loaded documents stay bit-identical), 'spectrum' when a new fit keeps
   * the same landmarks but its LAPACK eigenvectors may round (or rotate
   * within near-equal eigenvalues) differently on another BLAS kernel
   * family: the features' inner products then agree within the rounding the
   * spectrum amplifies, not the features (loaded documents stay
   * bit-identical).
   */
  rounding?: 'weights' | 'fit' | 'spectrum';
}

export const ROWS = 37, DIM = 50;
export const IMAGE_SHAPE = [2, 6, 7] as const;

/** The inputs every case transforms, in the case's dtype. */
export function inputFor(c: GoldenCase): unknown {
  const cast = (a: ArrayLike<number>) => (c.dtype === 'float32' ? Float32Array.from(a) : Float64Array.from(a));
  if (c.input === 'images') {
    const [ch, h, w] = IMAGE_SHAPE;
    return { data: cast(spreadRows(5, ch * h * w, 31)), shape: [5, ch, h, w] };
  }
  if (c.input === 'csr') {
    const { csr } = sparseRows(ROWS, DIM, 0.15, 8);
    return { ...csr, data: cast(csr.data) };
  }
  return { data: cast(spreadRows(ROWS, DIM, 12)), shape: [ROWS, DIM] };
}

/** Rows of the features stored in full for the cases that may move by rounding. */
export const SAMPLE_ROWS = 8;

export function hashOf(a: Float32Array | Float64Array): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

const dtypes = ['float32', 'float64'] as const;

export const goldenCases: GoldenCase[] = [
  ...dtypes.flatMap((dtype) => (['dense', 'csr'] as const).map((input): GoldenCase => ({
    name: `NTKSketch ${dtype} ${input}`,
    build: () => new NTKSketch({ inputDim: DIM, depth: 3, features: 200, degree: 5, sketchDim: 64, seed: 11, dtype }),
    load: (doc) => NTKSketch.fromJSON(doc),
    dtype,
    input,
  }))),
  ...dtypes.flatMap((dtype) => (['dense', 'csr'] as const).map((input): GoldenCase => ({
    name: `NTKRandomFeatures ${dtype} ${input}`,
    build: () => new NTKRandomFeatures({ inputDim: DIM, depth: 2, features: 300, leverage: true, seed: 5, dtype }),
    load: (doc) => NTKRandomFeatures.fromJSON(doc),
    dtype,
    input,
  }))),
  ...dtypes.map((dtype): GoldenCase => ({
    name: `NTKRandomFeatures orthogonal ${dtype} dense`,
    build: () => new NTKRandomFeatures({ inputDim: DIM, depth: 3, features: 200, orthogonal: true, normalize: true, seed: 6, dtype }),
    load: (doc) => NTKRandomFeatures.fromJSON(doc),
    dtype,
    input: 'dense',
    rounding: 'weights',
  })),
  ...dtypes.map((dtype): GoldenCase => ({
    name: `CNTKSketch ${dtype} images`,
    build: () => new CNTKSketch({ inputShape: [...IMAGE_SHAPE], depth: 2, filterSize: 3, padding: 'same', features: 96, sketchDim: 32, seed: 3, dtype }),
    load: (doc) => CNTKSketch.fromJSON(doc),
    dtype,
    input: 'images',
  })),
  ...dtypes.flatMap((dtype) => (['dense', 'csr'] as const).map((input): GoldenCase => ({
    name: `LeverageSelection ${dtype} ${input}`,
    build: () => {
      const pool = new NTKSketch({ inputDim: DIM, depth: 2, features: 256, sketchDim: 64, seed: 2, dtype, exactCopies: false });
      const x = spreadRows(60, DIM, 40);
      return new LeverageSelection({ map: pool, features: 64, seed: 9 }).fitSync({ data: dtype === 'float32' ? Float32Array.from(x) : x, shape: [60, DIM] });
    },
    load: (doc) => LeverageSelection.fromJSON(doc),
    dtype,
    input,
    rounding: 'fit',
  }))),
  {
    name: 'LeverageSelection of NTKRandomFeatures float32 dense',
    build: () => {
      const pool = new NTKRandomFeatures({ inputDim: DIM, depth: 2, features: 256, seed: 4 });
      return new LeverageSelection({ map: pool, features: 64, kernel: 'nngp', seed: 9 }).fitSync({ data: Float32Array.from(spreadRows(60, DIM, 41)), shape: [60, DIM] });
    },
    load: (doc) => LeverageSelection.fromJSON(doc),
    dtype: 'float32',
    input: 'dense',
    rounding: 'fit',
  },
  // Added after 0.1.0 (format version 2: the projection is saved).
  ...([['float32', 'dense', 'leverage', 'ntk'], ['float64', 'csr', 'uniform', 'nngp']] as const).map(([dtype, input, sampling, kernel]): GoldenCase => ({
    name: `NTKNystrom ${dtype} ${input}`,
    build: () => {
      const x = spreadRows(60, DIM, 42);
      return new NTKNystrom({ depth: 2, landmarks: 24, sampling, kernel, seed: 3, dtype }).fitSync({ data: dtype === 'float32' ? Float32Array.from(x) : x, shape: [60, DIM] });
    },
    load: (doc) => NTKNystrom.fromJSON(doc),
    dtype,
    input,
    rounding: 'spectrum',
  })),
];
