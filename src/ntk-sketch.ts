/**
 * NTKSketch: features whose inner products approximate the fully connected
 * NTK and NNGP (SPEC §4.1; Zandieh et al., "Scaling Neural Tangent Kernels
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
import type { NdArray } from 'ndarray';
import {
  DEFAULT_MEMORY_LIMIT,
  allocate,
  checkMemory,
  checkOptions,
  describe,
  intOption,
  isCsrLike,
  nextPow2,
  numberOption,
  toCsr,
  toMatrix,
  toNdarray,
  type DType,
} from './arrays.js';
import { backends, type BackendChoice } from './backends.js';
import { native, type FloatArray, type NativeNtkSketchMap } from './native.js';
import { approximationOption, type PolynomialApproximation } from './sketches.js';

export interface NTKSketchOptions {
  /** Input dimension d (columns of X), 1..2^31-1. */
  inputDim: number;
  /** Hidden ReLU layers L, 1..32. */
  depth: number;
  /** Output features per row, 1..2^24. */
  features: number;
  /** Degree q of the polynomial approximations of k0 and k1, 1..16. Default 4. */
  degree?: number;
  /** Non-negative safe integer. Default 0. */
  seed?: number;
  /** Dtype of the features (inputs are converted to it). Default 'float32':
   * sketch errors (~1e-2) dwarf float32 rounding, and it halves memory and time. */
  dtype?: DType;
  /** 'nnls' (default) or 'taylor'; see arcCosinePolynomial. */
  approximation?: PolynomialApproximation;
  /**
   * Internal sketch dimension m, 8..2^22: entries of the hidden-layer sketches
   * and tree nodes (the output always has `features` entries). Default: the
   * next power of two >= features, at least 16 and at most 4096. The output
   * rows dominate the error (measured on Fashion-MNIST, depth 2, 8192
   * features: m = 2048, 4096 or 8192 give the same Gram error), while the cost
   * grows like m log m: beyond 4096 the transforms also leave the L1 cache.
   */
  sketchDim?: number;
  /** 'cpu' or 'auto' (NTKSketch runs on the CPU). Default 'cpu'. */
  backend?: BackendChoice;
  /** Refuse maps or results needing more bytes than this. Default 4 GiB. */
  memoryLimit?: number;
}

export interface NTKSketchTransformOptions {
  /** 'ntk' (default) or 'nngp'. */
  kernel?: 'ntk' | 'nngp';
}

/** What toJSON() writes: parameters, seed and the polynomial coefficients. */
export interface NTKSketchJSON {
  format: 'ntk-sketch/ntk-sketch';
  version: 2;
  inputDim: number;
  depth: number;
  degree: number;
  features: number;
  sketchDim: number;
  seed: number;
  dtype: DType;
  approximation: PolynomialApproximation;
  /** Coefficients c_0..c_degree of P1^h and P0^h for h = 1..depth. */
  polynomials: { k1: number[][]; k0: number[][] };
}

export const NTK_SKETCH_FORMAT = 'ntk-sketch/ntk-sketch';
/**
 * 2: the product-block construction (normalised blocks, no packed SRHTs).
 * Version 1 documents described the first construction, whose features
 * differ for the same seed: they are refused rather than silently giving
 * another map.
 */
export const NTK_SKETCH_VERSION = 2;
const DEFAULT_MAX_SKETCH_DIM = 4096;
export const NTK_SKETCH_MAX_DEPTH = 32;
export const NTK_SKETCH_MAX_DEGREE = 16;
const MAX_FEATURES = 1 << 24;
const MAX_SKETCH_DIM = 1 << 22;
const MAX_INPUT_DIM = 2147483647;
/** Stored coefficients must match recomputed ones this closely (they differ
 * only by libm rounding between machines). */
const COEFFICIENT_TOLERANCE = 1e-9;

interface Resolved {
  inputDim: number;
  depth: number;
  features: number;
  degree: number;
  seed: number;
  dtype: DType;
  approximation: PolynomialApproximation;
  sketchDim: number;
  memoryLimit: number;
}

const OPTION_KEYS = [
  'inputDim', 'depth', 'features', 'degree', 'seed', 'dtype', 'approximation', 'sketchDim', 'backend', 'memoryLimit',
] as const;

function resolveOptions(options: unknown, prefix: string, what: string): Resolved {
  if (options === undefined) {
    throw new TypeError(`${what} needs options { inputDim, depth, features }, e.g. new NTKSketch({ inputDim: 784, depth: 2, features: 4096 })`);
  }
  const opts = checkOptions(`${what} options`, options, OPTION_KEYS);
  const name = (k: string) => `${prefix}${k}`;
  const inputDim = intOption(name('inputDim'), opts.inputDim, 1, MAX_INPUT_DIM);
  const depth = intOption(name('depth'), opts.depth, 1, NTK_SKETCH_MAX_DEPTH);
  const features = intOption(name('features'), opts.features, 1, MAX_FEATURES);
  const degree = opts.degree === undefined ? 4 : intOption(name('degree'), opts.degree, 1, NTK_SKETCH_MAX_DEGREE);
  const seed = opts.seed === undefined ? 0 : intOption(name('seed'), opts.seed, 0, Number.MAX_SAFE_INTEGER);
  const dtype = opts.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new RangeError(`${name('dtype')} must be 'float32' or 'float64', got ${describe(dtype)}`);
  }
  const approximation = approximationOption(name('approximation'), opts.approximation);
  const sketchDim =
    opts.sketchDim === undefined
      ? Math.min(DEFAULT_MAX_SKETCH_DIM, Math.max(16, nextPow2(features)))
      : intOption(name('sketchDim'), opts.sketchDim, 8, MAX_SKETCH_DIM);
  if (opts.backend === 'cuda') throw new RangeError(`${name('backend')} 'cuda' is not available for NTKSketch: it runs on the CPU`);
  if (opts.backend !== undefined && opts.backend !== 'cpu' && opts.backend !== 'auto') {
    throw new RangeError(`${name('backend')} must be 'auto', 'cpu' or 'cuda', got ${describe(opts.backend)}`);
  }
  const memoryLimit =
    opts.memoryLimit === undefined ? DEFAULT_MEMORY_LIMIT : numberOption(name('memoryLimit'), opts.memoryLimit, 0, Number.MAX_SAFE_INTEGER);
  return { inputDim, depth, features, degree, seed, dtype, approximation, sketchDim, memoryLimit };
}

/** Upper bound on the bytes of the map's random parameters (checked before building it). */
function parameterBytesBound(r: Resolved): number {
  const elem = r.dtype === 'float32' ? 4 : 8;
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

export class NTKSketch {
  readonly inputDim: number;
  readonly depth: number;
  readonly features: number;
  readonly degree: number;
  readonly seed: number;
  readonly dtype: DType;
  readonly approximation: PolynomialApproximation;
  readonly sketchDim: number;
  readonly memoryLimit: number;
  private readonly k1: Float64Array[];
  private readonly k0: Float64Array[];
  private readonly lower: Float64Array;
  private readonly map: NativeNtkSketchMap;

  constructor(options: NTKSketchOptions, ...restore: [typeof restoreToken, { k1: Float64Array[]; k0: Float64Array[] }] | []) {
    const fromJson = restore.length === 2 && restore[0] === restoreToken;
    const r = resolveOptions(options, fromJson ? 'json.' : '', fromJson ? 'NTKSketch.fromJSON' : 'NTKSketch');
    this.inputDim = r.inputDim;
    this.depth = r.depth;
    this.features = r.features;
    this.degree = r.degree;
    this.seed = r.seed;
    this.dtype = r.dtype;
    this.approximation = r.approximation;
    this.sketchDim = r.sketchDim;
    this.memoryLimit = r.memoryLimit;
    checkMemory(`NTKSketch parameters (sketchDim ${r.sketchDim}, degree ${r.degree}, depth ${r.depth})`, parameterBytesBound(r), r.memoryLimit);
    const nat = native();
    this.lower = nat.layerLowerBounds(r.depth);
    const poly = (kernel: 'k0' | 'k1') =>
      Array.from(this.lower, (lower) => nat.arccosPolynomial(kernel, r.approximation, r.degree, Math.min(lower, 1 - 1e-12)));
    if (fromJson) {
      this.k1 = restore[1]!.k1;
      this.k0 = restore[1]!.k0;
    } else {
      this.k1 = poly('k1');
      this.k0 = poly('k0');
    }
    this.map = new nat.NtkSketchMap(r.inputDim, r.depth, r.features, r.sketchDim, r.seed, r.dtype, this.k1, this.k0);
  }

  /**
   * The polynomials in use: for layer h (index h-1), the interval
   * [lower, 1] its cosines lie in, and the coefficients c_0..c_degree of
   * P1^h ~ k1 and P0^h ~ k0.
   */
  get polynomials(): { lower: number[]; k1: number[][]; k0: number[][] } {
    return {
      lower: Array.from(this.lower),
      k1: this.k1.map((c) => Array.from(c)),
      k0: this.k0.map((c) => Array.from(c)),
    };
  }

  /** Bytes of the map's parameters, and of the scratch space each thread uses. */
  get memory(): { parameterBytes: number; workspaceBytes: number } {
    return this.map.info();
  }

  private prepare(fn: string, X: unknown, options: unknown) {
    const opts = checkOptions(`${fn} options`, options, ['kernel']);
    const kernel = opts.kernel ?? 'ntk';
    if (kernel !== 'ntk' && kernel !== 'nngp') throw new RangeError(`kernel must be 'ntk' or 'nngp', got ${describe(kernel)}`);
    const colsName = 'the inputDim of this NTKSketch';
    const sparse = isCsrLike(X);
    const x = sparse
      ? toCsr('X', X, { cols: this.inputDim, colsName, dtype: this.dtype, nonEmpty: false })
      : toMatrix('X', X, { cols: this.inputDim, colsName, dtype: this.dtype, nonEmpty: false });
    const elem = this.dtype === 'float32' ? 4 : 8;
    const threads = backends().cpu.threads;
    // Output, plus per-thread scratch (a dense row needs an inputDim buffer).
    const scratch = this.map.info().workspaceBytes + (sparse ? 0 : this.inputDim * elem);
    checkMemory(`${fn}: ${x.rows} x ${this.features} features`, x.rows * this.features * elem + threads * scratch, this.memoryLimit);
    const out = allocate(this.dtype, x.rows * this.features);
    return { x, out, kernel: kernel as 'ntk' | 'nngp', sparse };
  }

  private run(p: ReturnType<NTKSketch['prepare']>, async: boolean): Promise<void> | undefined {
    if (p.x.rows === 0) return async ? Promise.resolve() : undefined;
    if (p.sparse) {
      const c = p.x as ReturnType<typeof toCsr>;
      return this.map.transformCsr(c.indptr, c.indices, c.data, c.rows, p.out, p.kernel, async);
    }
    return this.map.transform(p.x.data, p.x.rows, p.out, p.kernel, async);
  }

  /**
   * Features of the rows of X: a dense n x inputDim matrix (ndarray or
   * { data, shape }) or a CSR matrix { indptr, indices, data, shape }.
   * Returns an n x features ndarray of this map's dtype.
   */
  transformSync(X: unknown, options?: NTKSketchTransformOptions): NdArray<FloatArray> {
    const p = this.prepare('transformSync', X, options);
    this.run(p, false);
    return toNdarray(p.out, p.x.rows, this.features);
  }

  /** Async form of {@link transformSync}: runs off the JavaScript thread; rejects on bad input. */
  async transform(X: unknown, options?: NTKSketchTransformOptions): Promise<NdArray<FloatArray>> {
    const p = this.prepare('transform', X, options);
    await this.run(p, true);
    return toNdarray(p.out, p.x.rows, this.features);
  }

  /** A small document (parameters, seed, coefficients) that fromJSON turns back into the same map. */
  toJSON(): NTKSketchJSON {
    return {
      format: NTK_SKETCH_FORMAT,
      version: NTK_SKETCH_VERSION,
      inputDim: this.inputDim,
      depth: this.depth,
      degree: this.degree,
      features: this.features,
      sketchDim: this.sketchDim,
      seed: this.seed,
      dtype: this.dtype,
      approximation: this.approximation,
      polynomials: { k1: this.k1.map((c) => Array.from(c)), k0: this.k0.map((c) => Array.from(c)) },
    };
  }

  /**
   * Restores a map saved by toJSON (object or JSON string): same parameters,
   * seed and coefficients, hence bit-identical features. Refuses documents of
   * another format or version, and coefficients that are not what this
   * version computes for those parameters (corruption).
   */
  static fromJSON(json: unknown, options: { memoryLimit?: number } = {}): NTKSketch {
    let doc: unknown = json;
    if (typeof json === 'string') {
      try {
        doc = JSON.parse(json);
      } catch (error) {
        throw new TypeError(`json is not valid JSON: ${(error as Error).message}`);
      }
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || (doc as { format?: unknown }).format !== NTK_SKETCH_FORMAT) {
      throw new TypeError(`json is not a saved NTKSketch (format must be '${NTK_SKETCH_FORMAT}')`);
    }
    const d = doc as Partial<NTKSketchJSON>;
    if ((d.version as unknown) === 1) {
      throw new RangeError(
        `json.version 1 is not supported: it describes the first NTKSketch construction, whose features differ from this version's for the same seed; ` +
          `build a new map (new NTKSketch with the same options) and refit the model on its features (this library reads version ${NTK_SKETCH_VERSION})`,
      );
    }
    if (d.version !== NTK_SKETCH_VERSION) {
      throw new RangeError(`json.version ${typeof d.version === 'number' ? d.version : describe(d.version)} is not supported (this library reads version ${NTK_SKETCH_VERSION})`);
    }
    const fromOpts = checkOptions('fromJSON options', options, ['memoryLimit']);
    const known = ['format', 'version', 'inputDim', 'depth', 'degree', 'features', 'sketchDim', 'seed', 'dtype', 'approximation', 'polynomials'];
    for (const key of Object.keys(d)) {
      if (!known.includes(key)) throw new RangeError(`json.${key} is not a field of a saved NTKSketch`);
    }
    for (const key of ['inputDim', 'depth', 'degree', 'features', 'sketchDim', 'seed', 'dtype', 'approximation', 'polynomials'] as const) {
      if (d[key] === undefined) throw new TypeError(`json.${key} is missing`);
    }
    const params: NTKSketchOptions = {
      inputDim: d.inputDim as number,
      depth: d.depth as number,
      degree: d.degree,
      features: d.features as number,
      sketchDim: d.sketchDim,
      seed: d.seed,
      dtype: d.dtype,
      approximation: d.approximation,
      ...(fromOpts.memoryLimit === undefined ? {} : { memoryLimit: fromOpts.memoryLimit as number }),
    };
    const r = resolveOptions(params, 'json.', 'NTKSketch.fromJSON');
    const stored = readPolynomials(d.polynomials, r);
    return new NTKSketch(params, restoreToken, stored);
  }
}

/** Validates json.polynomials against the coefficients computed for these parameters. */
function readPolynomials(value: unknown, r: Resolved): { k1: Float64Array[]; k0: Float64Array[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`json.polynomials must be an object { k1, k0 }, got ${describe(value)}`);
  }
  const nat = native();
  const lower = nat.layerLowerBounds(r.depth);
  const out: { k1: Float64Array[]; k0: Float64Array[] } = { k1: [], k0: [] };
  for (const kernel of ['k1', 'k0'] as const) {
    const layers = (value as Record<string, unknown>)[kernel];
    const name = `json.polynomials.${kernel}`;
    if (!Array.isArray(layers)) throw new TypeError(`${name} must be an array of coefficient arrays, got ${describe(layers)}`);
    if (layers.length !== r.depth) throw new RangeError(`${name} must hold ${r.depth} polynomials (one per layer), got ${layers.length}`);
    layers.forEach((coeffs: unknown, h: number) => {
      if (!Array.isArray(coeffs)) throw new TypeError(`${name}[${h}] must be an array of numbers, got ${describe(coeffs)}`);
      if (coeffs.length !== r.degree + 1) {
        throw new RangeError(`${name}[${h}] must hold degree + 1 = ${r.degree + 1} coefficients, got ${coeffs.length}`);
      }
      const expected = nat.arccosPolynomial(kernel, r.approximation, r.degree, Math.min(lower[h], 1 - 1e-12));
      const c = new Float64Array(coeffs.length);
      coeffs.forEach((v: unknown, j: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
          throw new RangeError(`${name}[${h}][${j}] must be a finite number >= 0, got ${describe(v)}`);
        }
        if (Math.abs(v - expected[j]) > COEFFICIENT_TOLERANCE) {
          throw new RangeError(
            `${name}[${h}][${j}] = ${v} does not match the ${r.approximation} coefficient ${expected[j]} for these parameters: ` +
              'the document is corrupted or was written by an incompatible version',
          );
        }
        c[j] = v;
      });
      out[kernel].push(c);
    });
  }
  return out;
}
