/**
 * NTKSketch: features whose inner products approximate the fully connected
 * NTK and NNGP (docs/math.md#ntksketch; Zandieh et al., "Scaling Neural Tangent Kernels
 * via Sketching and Random Features", NeurIPS 2021, Algorithm 1).
 *
 * The kernels are |x||z| times a function of the cosine, so the map works on
 * u = x/|x| and multiplies by |x|. With polynomials P1^h = sum_j a_j t^j ~ k1
 * and P0^h = sum_j b_j t^j ~ k0 (non-negative coefficients, degree q,
 * P(1) = 1) and sketch dimension m:
 *
 *     phi^0 = u (d <= 2m), else CountSketch(u)                          exact / O(nnz)
 *     phi^h = [ sqrt(a_j) Q_j(phi^(h-1)) ]_j                            ~ Sigma^h
 *     T^h   = [ sqrt(b_j) S(T^(h-1) (x) phi^(h-1)^(x)j) ]_j (+) [ sqrt(b_j) Q_(j+1)(phi^(h-1)) ]_j
 *     psi^h = T^h (+) phi^h                                             ~ Theta^h
 *     NTK features = |x| psi^L,   NNGP features = |x| phi^L   (features wide)
 *
 * ((+) is concatenation.) This is Algorithm 1 with the dSigma sketch kept in
 * factored form and every SRHT of a concatenation replaced by the
 * concatenation itself, the rows split among the blocks in proportion to
 * their weights. Each block is a product sketch: rows are products of
 * sampled entries of Walsh–Hadamard transforms of the layer input, of
 * T^(h-1) and of a small tree of sampled tensor products shared by the k1
 * and k0 branches. Every block is rescaled to its exact norm on unit inputs
 * (Sigma^h(x,x) = 1, Theta^h(x,x) = h + 1), which removes the per-row scale
 * error that dominates sampled sketches on data with high cosines (images);
 * the features are then unbiased only up to O(1/rows) (the sketch primitives
 * of sketches.ts are exactly unbiased).
 *
 * Cost per row: O(nnz(x) + L q m log m + features). The map is a pure
 * function of its parameters and seed: the same options give bit-identical
 * features on every run, thread count, batch split and vector instruction
 * set, and toJSON()/fromJSON() restore it from a few numbers.
 *
 * Accuracy: the Gram error is the polynomial approximation floor (mostly of
 * k0, whose square-root singularity at t = 1 limits degree-q polynomials to an
 * error ~ q^-1/2; see arcCosinePolynomial) plus a sketching error that falls
 * like 1/sqrt(features). 'nnls' fits each layer on the interval of cosines
 * it can see ([alpha_(h-1), 1], alpha_0 = -1, alpha_h = k1(alpha_(h-1))),
 * 'taylor' uses the truncated series everywhere. bench/results/ntk-sketch.md
 * has measured errors and timings.
 */
import { checkMemory, elementBytes, nextPow2, type DType } from '../core/arrays.js';
import { backends, resolveBackend, type BackendChoice } from '../core/backends.js';
import {
  FeatureMap,
  computePolynomials,
  nativeTarget,
  polynomialsToJSON,
  readPolynomials,
  readSaved,
  rowsInput,
  savedOptions,
  type FeatureKernel,
  type FeatureTransformOptions,
  type LayerPolynomials,
  type InputLayout,
  type MapInput,
  type NativeTarget,
  type PolynomialSource,
  type PolynomialsJSON,
  type SavedFormat,
  type TransformTarget,
} from './feature-map.js';
import { native, type NativeNtkSketchMap } from '../core/native.js';
import {
  field,
  fields,
  resolveOptions,
  savedKeys,
  savedValues,
  type OptionsOf,
  type SavedOf,
  type ValuesOf,
} from '../core/options.js';
import { approximationOption, type PolynomialApproximation } from '../sketches/primitives.js';

export const NTK_SKETCH_MAX_DEPTH = 32;
export const NTK_SKETCH_MAX_DEGREE = 16;
const MAX_FEATURES = 1 << 24;
const MAX_SKETCH_DIM = 1 << 22;
const MAX_INPUT_DIM = 2147483647;
const DEFAULT_MAX_SKETCH_DIM = 4096;

/** The sketchDim of an NTKSketch with this many features when none is given. */
export function defaultSketchDim(features: number): number {
  return Math.min(DEFAULT_MAX_SKETCH_DIM, Math.max(16, nextPow2(features)));
}

/** The options of NTKSketch, declared once: validation, defaults, types and the saved fields. */
const OPTIONS = {
  /** Input dimension d (columns of X), 1..2^31-1. */
  inputDim: fields.int(1, MAX_INPUT_DIM).save(),
  /** Hidden ReLU layers L, 1..32. */
  depth: fields.int(1, NTK_SKETCH_MAX_DEPTH).save(),
  /** Output features per row, 1..2^24. */
  features: fields.int(1, MAX_FEATURES).save(),
  /** Degree q of the polynomial approximations of k0 and k1, 1..16. Default 4. */
  degree: fields.int(1, NTK_SKETCH_MAX_DEGREE).default(4).save(),
  /** Non-negative safe integer. Default 0. */
  seed: fields.seed().save(),
  /** Dtype of the features (inputs are converted to it). Default 'float32':
   * sketch errors (~1e-2) dwarf float32 rounding, and it halves memory and time. */
  dtype: fields.dtype().save(),
  /** 'nnls' (default) or 'taylor'; see arcCosinePolynomial. */
  approximation: field<PolynomialApproximation>((name, v) => approximationOption(name, v)).default('nnls').save(),
  /**
   * Internal sketch dimension m, 8..2^22: entries of the hidden-layer sketches
   * and tree nodes (the output always has `features` entries). Default: the
   * next power of two >= features, at least 16 and at most 4096. The output
   * rows dominate the error (measured on Fashion-MNIST, depth 2, 8192
   * features: m = 2048, 4096 or 8192 give the same Gram error), while the cost
   * grows like m log m: beyond 4096 the transforms also leave the L1 cache.
   * A map used as a LeverageSelection pool is different: selection removes
   * much of the output rows' noise but none of the internal sketches', which
   * every column shares; there sketchDim 16384 is worth its cost (see
   * LeverageSelection).
   */
  sketchDim: fields.int(8, MAX_SKETCH_DIM).default(({ resolved }) => defaultSketchDim(resolved.features as number)).save(),
  /**
   * Where transforms run: 'cpu', 'cuda' (a RangeError giving the reason
   * when no CUDA device is usable) or 'auto' (CUDA when a device is usable).
   * Both compute the same operations in the same order: the features are
   * bit-identical. Default 'cpu'.
   */
  backend: field<'cpu' | 'cuda', BackendChoice>((name, v) => resolveBackend(name, v)).default('cpu'),
  /** Refuse maps or results needing more bytes than this. Default 4 GiB. */
  memoryLimit: fields.memoryLimit(),
  /**
   * Default true: an output block of one factor whose share of the rows
   * reaches the dimension of its input (the previous layer's features, or
   * the input itself) becomes an exact copy of that input, which lowers the
   * error. false samples every block like the others. A LeverageSelection
   * pool needs false: its kept rows are rescaled block by block, which
   * assumes that the rows of a block are alike, and the entries of a copy
   * are not (one can hold a third of its norm).
   */
  exactCopies: fields.boolean(true).save(),
};

export type NTKSketchOptions = OptionsOf<typeof OPTIONS>;
type Resolved = ValuesOf<typeof OPTIONS>;
const EXAMPLE = 'new NTKSketch({ inputDim: 784, depth: 2, features: 4096 })';

export type NTKSketchTransformOptions = FeatureTransformOptions;

/** What toJSON() writes: parameters, seed and the polynomial coefficients. */
export type NTKSketchJSON = { format: 'ntk-sketch/ntk-sketch'; version: 3 } & SavedOf<typeof OPTIONS> & { polynomials: PolynomialsJSON };

export const NTK_SKETCH_FORMAT = 'ntk-sketch/ntk-sketch';
/**
 * 3: adds `exactCopies` (version 2 documents, without it, are read as
 * exactCopies: true, the same map). 2: the product-block construction
 * (normalised blocks, no packed SRHTs). Version 1 documents described the
 * first construction, whose features differ for the same seed: they are
 * refused rather than silently giving another map.
 */
export const NTK_SKETCH_VERSION = 3;
/** Saved options; a saved map also holds its polynomials. */
const SAVED_OPTIONS = savedKeys(OPTIONS);
const SAVED_OPTIONS_V2 = SAVED_OPTIONS.filter((k) => k !== 'exactCopies');

const SAVED_V2: SavedFormat = { owner: 'NTKSketch', format: NTK_SKETCH_FORMAT, version: 2, fields: [...SAVED_OPTIONS_V2, 'polynomials'] };
const SAVED: SavedFormat = {
  owner: 'NTKSketch',
  format: NTK_SKETCH_FORMAT,
  version: NTK_SKETCH_VERSION,
  fields: [...SAVED_OPTIONS, 'polynomials'],
  retired: {
    1:
      `json.version 1 is not supported: it describes the first NTKSketch construction, whose features differ from this version's for the same seed; ` +
      `build a new map (new NTKSketch with the same options) and refit the model on its features (this library reads version ${NTK_SKETCH_VERSION})`,
  },
};

function resolve(options: unknown, fromJson: boolean): Resolved {
  return resolveOptions(OPTIONS, options, fromJson ? { prefix: 'json.', what: 'NTKSketch.fromJSON', example: EXAMPLE } : { what: 'NTKSketch', example: EXAMPLE });
}

/** The coefficients this version computes: 'nnls' fits layer h on [lower[h-1], 1]. */
function polynomialSource(r: Resolved, lower: Float64Array): PolynomialSource {
  const nat = native();
  return (kernel, h) => nat.arccosPolynomial(kernel, r.approximation, r.degree, Math.min(lower[h], 1 - 1e-12));
}

/** Upper bound on the bytes of the map's random parameters (checked before building it). */
function parameterBytesBound(r: Resolved): number {
  const elem = elementBytes(r.dtype);
  const m = r.sketchDim;
  const top = r.degree + 1; // highest block degree (q1 and q0 + 1)
  const nodes = 2 * nextPow2(top); // tree nodes, generously
  const parts = Math.ceil(Math.log2(top + 1)) + 3; // factors of one block, generously
  // Signs of the leaf and T transforms (the first leaf is at most 2m wide),
  // nodes (signs and one index per row), and one int32 index per factor and
  // row of the outputs (phi and T: m rows each; last layer: 2 x features).
  const layer = 2 * 2 * m * elem + nodes * m * (4 + elem) + (2 * m + 2 * r.features) * parts * 4;
  return r.depth * layer;
}

const restoreToken = Symbol('NTKSketch.restore');

/** The resolved options, as read-only properties of the map ('auto' backend resolved when it was built). */
export interface NTKSketch extends Readonly<Omit<Resolved, 'features'>> {}

export class NTKSketch extends FeatureMap {
  declare readonly features: number;
  declare readonly dtype: DType;
  declare readonly memoryLimit: number;

  /** Rows of inputDim values. */
  get inputLayout(): InputLayout {
    return { kind: 'rows', columns: this.inputDim };
  }
  readonly mapType = 'NTKSketch';
  private readonly k1: Float64Array[];
  private readonly k0: Float64Array[];
  private readonly lower: Float64Array;
  private readonly map: NativeNtkSketchMap;

  constructor(options: NTKSketchOptions, ...restore: [typeof restoreToken, LayerPolynomials] | []) {
    super();
    const fromJson = restore.length === 2 && restore[0] === restoreToken;
    const r = resolve(options, fromJson);
    Object.assign(this, r);
    checkMemory(`NTKSketch parameters (sketchDim ${r.sketchDim}, degree ${r.degree}, depth ${r.depth})`, parameterBytesBound(r), r.memoryLimit);
    const nat = native();
    this.lower = nat.layerLowerBounds(r.depth);
    const polynomials = fromJson ? restore[1]! : computePolynomials(r.depth, polynomialSource(r, this.lower));
    this.k1 = polynomials.k1;
    this.k0 = polynomials.k0;
    const { inputDim, depth, features, sketchDim, seed, dtype, exactCopies, backend } = r;
    this.map = new nat.NtkSketchMap({ inputDim, depth, features, sketchDim, seed, dtype, k1: this.k1, k0: this.k0, exactCopies, backend });
  }

  /**
   * The polynomials in use: for layer h (index h-1), the interval
   * [lower, 1] its cosines lie in, and the coefficients c_0..c_degree of
   * P1^h ~ k1 and P0^h ~ k0.
   */
  get polynomials(): PolynomialsJSON & { lower: number[] } {
    return { lower: Array.from(this.lower), ...polynomialsToJSON({ k1: this.k1, k0: this.k0 }) };
  }

  /** Bytes of the map's parameters, and of the scratch space each thread uses. */
  get memory(): { parameterBytes: number; workspaceBytes: number } {
    this.requireLive('memory');
    return this.map.info();
  }

  protected target(): TransformTarget {
    return nativeTarget(this.map, this.features, (input) => this.scratchBytes(this.map, input, this.backend));
  }

  protected release(): void {
    this.map.dispose();
  }

  /**
   * Per-thread scratch of a call of `map` (a dense row also needs an
   * inputDim buffer); the GPU's workspace is on the device, at most 1 GiB per
   * batch of rows.
   */
  private scratchBytes(map: NativeNtkSketchMap, input: MapInput, backend: 'cpu' | 'cuda'): number {
    const threads = backend === 'cpu' ? backends().cpu.threads : 0;
    const dense = 'x' in input.native ? this.inputDim * elementBytes(this.dtype) : 0;
    return threads * (map.info().workspaceBytes + dense);
  }

  /** @internal Dense or CSR rows. */
  readInput(X: unknown): MapInput {
    return rowsInput(X, this.inputDim, this.dtype, 'NTKSketch');
  }

  /**
   * @internal With `normalize`: a native map that computes only the given
   * output rows (increasing) of `kernel`'s features, row k times scales[k],
   * every block rescaled to its exact norm over its kept rows. It shares
   * this map's layers (it holds only its own output blocks, and keeps the
   * layers alive after this map's dispose()); the other output rows are never
   * computed. Runs on the CPU.
   */
  override keptColumns(columns: Int32Array, scales: Float64Array, kernel: FeatureKernel, normalize: boolean): NativeTarget | null {
    if (!normalize) return null;
    this.requireLive('keptColumns');
    const map = new (native().NtkSketchMap)({ pool: this.map, kept: { rows: columns, scales, kernel } });
    return nativeTarget(map, columns.length, (input) => this.scratchBytes(map, input, 'cpu'));
  }

  /** @internal Kept rows are rescaled block by block, which needs every block sampled. */
  override checkPool(normalize: boolean): void {
    if (normalize && this.exactCopies) {
      throw new RangeError(
        'map: an NTKSketch pool must be built with exactCopies: false (the kept rows are rescaled block by block, ' +
          'which needs every block sampled), or use normalize: false',
      );
    }
  }

  /**
   * @internal The output columns of `kernel`'s features that no random
   * parameter touches (the constant blocks, sqrt(c_0) |x|): exact for every
   * seed, so LeverageSelection always keeps them.
   */
  override constantColumns(kernel: FeatureKernel): Int32Array {
    this.requireLive('constantColumns');
    return this.map.constantRows(kernel);
  }

  /** A small document (parameters, seed, coefficients) that fromJSON turns back into the same map. */
  toJSON(): NTKSketchJSON {
    return {
      format: NTK_SKETCH_FORMAT,
      version: NTK_SKETCH_VERSION,
      ...savedValues(OPTIONS, this as unknown as Resolved),
      polynomials: polynomialsToJSON({ k1: this.k1, k0: this.k0 }),
    };
  }

  /**
   * Restores a map saved by toJSON (object or JSON string): same parameters,
   * seed and coefficients, hence bit-identical features. Refuses documents of
   * another format or version, and coefficients that are not what this
   * version computes for those parameters (corruption).
   */
  static fromJSON(json: unknown, options: { memoryLimit?: number; backend?: BackendChoice } = {}): NTKSketch {
    const { doc, memoryLimit, options: opts, format } = readSaved(json, options, SAVED, [SAVED_V2], ['memoryLimit', 'backend']);
    const params = {
      ...savedOptions(doc, format === SAVED_V2 ? SAVED_OPTIONS_V2 : SAVED_OPTIONS, memoryLimit),
      ...(opts.backend === undefined ? {} : { backend: opts.backend }),
    } as unknown as NTKSketchOptions;
    const r = resolve(params, true);
    const stored = readPolynomials(doc.polynomials, r, polynomialSource(r, native().layerLowerBounds(r.depth)));
    return new NTKSketch(params, restoreToken, stored);
  }
}
