/**
 * CNTKSketch: features whose inner products approximate the convolutional
 * NTK and CNN-GP with global average pooling (docs/math.md#convolutional-ntk, #cntksketch), at a cost
 * linear in the number of pixels (the exact kernel costs (HW)^2 per pair).
 *
 * The CNTK recursion runs per pixel: every pixel p keeps phi_p (~ Sigma) and
 * psi_p = [t_p, phi_p] (~ T = Xi dSigma + Sigma). With u_p the patch vector
 * v_p normalised, and polynomials P1^h ~ k1, P0^h ~ k0 (non-negative
 * coefficients, P(1) = 1):
 *
 *     v^1_p = raw patch (C q^2 values, exact),  xi^1_p = v^1_p
 *     phi^h_p = sqrt(N^h(p)) PolySketch_P1(u_p),  dphi^h_p = PolySketch_P0(u_p)
 *     t^h_p = TensorSRHT(xi^h_p, dphi^h_p)
 *     v^(h+1)_p  = patch sum of the q^2 neighbours' phi / q, sketched back to m
 *     xi^(h+1)_p = v^(h+1)_p + patch sum of the neighbours' t / q, sketched back to m
 *     NTK features  = [ mean_p t^L_p  (features/2 TensorSRHT rows, used as they are),
 *                       SRHT(mean_p phi^L_p) (the other half) ]
 *     NNGP features = SRHT(mean_p phi^L_p)
 *
 * The patch sums are CountSketches with one random cyclic shift and random
 * signs per neighbour (O(q^2 m) per pixel, no transform); the sketches are
 * applied to 16 pixels at once (one SIMD lane each); all row samples are
 * balanced; and every per-pixel vector is rescaled to its exact norm (the
 * diagonals N^h and Xi^h(p, p) cost a patch sum per image), so that the
 * sketch only estimates cosines. See native/maps/cntk_sketch.hpp.
 *
 * Cost per image O(HW L (q^2 m + poly(degree) m log m)); scratch per thread
 * O(q W m); the map is a pure function of its parameters and seed, so the
 * same options give bit-identical features on every run, thread count and
 * batch split, and toJSON()/fromJSON() restore it from a few numbers.
 *
 * Q_1(u) = H D u / sqrt(m), the transform of the tree's first leaf (an
 * orthogonal image of u, so inner products are kept exactly; u itself
 * measured 40 % worse), and with 'nnls' the layers after the first use
 * polynomials on the degrees 0, 1, 2, 4, 8, ... only (fitted as accurately
 * as with all degrees), whose sketches are the nodes of a single PolySketch
 * tree.
 *
 * Accuracy: Gram errors fall like 1/sqrt(sketchDim) to the floor set by the
 * polynomial approximation of k0 (whose square-root singularity at t = 1
 * limits degree-q polynomials): on Fashion-MNIST (depth 3, filter 3, 'same')
 * the NTK floor is about 3.5% at degree 4, 1.5% at degree 8 (the default
 * below 16,384 features) and 0.6% at degree 16 (the default from 16,384 on).
 */
import type { NdArray } from 'ndarray';
import { checkMemory, describe, elementBytes, intOption, nextPow2, toImages, type DType } from '../core/arrays.js';
import { backends, type BackendChoice } from '../core/backends.js';
import type { Padding } from '../kernels/cntk-kernel.js';
import {
  FeatureMap,
  computePolynomials,
  cpuBackendOption,
  nativeTarget,
  polynomialsToJSON,
  readPolynomials,
  readSaved,
  savedOptions,
  type FeatureTransformOptions,
  type LayerPolynomials,
  type InputLayout,
  type MapInput,
  type PolynomialSource,
  type PolynomialsJSON,
  type SavedFormat,
  type TransformTarget,
} from './feature-map.js';
import type { ImagesLike } from '../core/inputs.js';
import { native, type FloatArray, type NativeCntkSketchMap } from '../core/native.js';
import {
  field,
  fields,
  resolveOptions,
  savedKeys,
  savedValues,
  type OptionsOf,
  type ReadContext,
  type SavedOf,
  type ValuesOf,
} from '../core/options.js';
import { approximationOption, type PolynomialApproximation } from '../sketches/primitives.js';

export const CNTK_SKETCH_FORMAT = 'ntk-sketch/cntk-sketch';
export const CNTK_SKETCH_VERSION = 1;
export const CNTK_SKETCH_MAX_DEPTH = 32;
export const CNTK_SKETCH_MAX_DEGREE = 16;
const MAX_FEATURES = 1 << 24;
const MAX_SKETCH_DIM = 1 << 20;
const MAX_EDGE = 1 << 20;

function readInputShape(name: string, shape: unknown): [number, number, number] {
  if (!Array.isArray(shape)) throw new TypeError(`${name} must be an array [channels, height, width], got ${describe(shape)}`);
  if (shape.length !== 3) {
    throw new RangeError(
      `${name} must have 3 entries [channels, height, width], got ${shape.length}` +
        (shape.length === 2 ? '; for single-channel images use [1, height, width]' : ''),
    );
  }
  const axes = ['channels', 'height', 'width'] as const;
  return axes.map((axis, k) => intOption(`${name}[${k}] (${axis})`, shape[k], 1, MAX_EDGE)) as [number, number, number];
}

/** The filter and padding must fit the images and the depth (read after inputShape, depth and filterSize). */
function readPadding(name: string, value: unknown, context: ReadContext): Padding {
  const padding = fields.oneOf(['valid', 'same']).read(name, value, context);
  const { resolved } = context;
  const [, height, width] = resolved.inputShape as [number, number, number];
  const depth = resolved.depth as number, filterSize = resolved.filterSize as number;
  const edge = Math.min(height, width);
  if (filterSize > edge) {
    throw new RangeError(`${context.name('filterSize')} must be at most the image size ${height} x ${width} (min ${edge}), got ${filterSize}`);
  }
  if (padding === 'same' && filterSize % 2 === 0) {
    throw new RangeError(
      `${context.name('filterSize')} must be odd with padding 'same' (the patch is centred on the pixel), got ${filterSize}; use an odd size or padding 'valid'`,
    );
  }
  if (padding === 'valid' && filterSize > 1) {
    const maxDepth = Math.floor((edge - 1) / (filterSize - 1));
    if (depth > maxDepth) {
      throw new RangeError(
        `${context.name('depth')} ${depth} with filterSize ${filterSize} and padding 'valid' shrinks the ${height} x ${width} images to nothing ` +
          `(each layer removes ${filterSize - 1} pixels per side length); depth must be at most ${maxDepth}, or use padding 'same'`,
      );
    }
  }
  return padding;
}

function powerOfTwo(name: string, value: unknown): number {
  const m = intOption(name, value, 16, MAX_SKETCH_DIM);
  if (nextPow2(m) !== m) throw new RangeError(`${name} must be a power of two, got ${m}`);
  return m;
}

/** The options of CNTKSketch, declared once: validation, defaults, types and the saved fields. */
const OPTIONS = {
  /** Shape of each image: [channels, height, width] (positive integers, at most 2^20 each). */
  inputShape: field<[number, number, number], readonly [number, number, number]>(readInputShape).save(),
  /** Conv layers L, 1..32; with 'valid' padding also at most (min(H, W) - 1) / (filterSize - 1). */
  depth: fields.int(1, CNTK_SKETCH_MAX_DEPTH).save(),
  /** Filter edge q, 1..min(H, W); odd with 'same' padding. */
  filterSize: fields.int(1, MAX_EDGE).save(),
  /** 'valid' (each layer shrinks the grid by filterSize - 1) or 'same' (zero padding, odd filterSize). */
  padding: field<Padding>(readPadding).save(),
  /** Output features per image, 1..2^24. */
  features: fields.int(1, MAX_FEATURES).save(),
  /**
   * Degree of the polynomial approximations of k0 and k1, 1..16. Default 8,
   * and 16 from 16,384 features on: there the sketch error falls below the
   * degree-8 polynomial floor (NTK Gram error ~1.5-2% on Fashion-MNIST; 0.6%
   * at degree 16), at about 1.8x the time per image.
   */
  degree: fields.int(1, CNTK_SKETCH_MAX_DEGREE).default(({ resolved }) => ((resolved.features as number) >= 16384 ? 16 : 8)).save(),
  /** Non-negative safe integer. Default 0. */
  seed: fields.seed().save(),
  /** Dtype of the features (images are converted to it). Default 'float32'. */
  dtype: fields.dtype().save(),
  /** 'nnls' (default) or 'taylor'; see arcCosinePolynomial. */
  approximation: field<PolynomialApproximation>((name, v) => approximationOption(name, v)).default('nnls').save(),
  /** Internal per-pixel sketch dimension m, a power of two in [16, 2^20]. Default max(16, nextPow2(features) / 4). */
  sketchDim: field<number>(powerOfTwo)
    .default(({ resolved }) => Math.min(MAX_SKETCH_DIM, Math.max(16, nextPow2(resolved.features as number) / 4)))
    .save(),
  /** 'cpu' or 'auto' (CNTKSketch runs on the CPU). Default 'cpu'. */
  backend: field<'cpu', BackendChoice>((name, v) => (cpuBackendOption(name, v, 'CNTKSketch'), 'cpu')).default('cpu'),
  /** Refuse maps or results needing more bytes than this. Default 4 GiB. */
  memoryLimit: fields.memoryLimit(),
};

export type CNTKSketchOptions = OptionsOf<typeof OPTIONS>;
export type CNTKSketchTransformOptions = FeatureTransformOptions;
type Resolved = ValuesOf<typeof OPTIONS>;
const EXAMPLE = "new CNTKSketch({ inputShape: [1, 28, 28], depth: 3, filterSize: 3, padding: 'same', features: 4096 })";

/** What toJSON() writes: parameters, seed and the polynomial coefficients. */
export type CNTKSketchJSON = { format: 'ntk-sketch/cntk-sketch'; version: 1 } & SavedOf<typeof OPTIONS> & { polynomials: PolynomialsJSON };

function resolve(options: unknown, fromJson: boolean): Resolved {
  return resolveOptions(OPTIONS, options, fromJson ? { prefix: 'json.', what: 'CNTKSketch.fromJSON', example: EXAMPLE } : { what: 'CNTKSketch', example: EXAMPLE });
}

/** Lower end of the interval the cosines of layer h = 1..depth lie in: [-1, 1] at layer 1, [0, 1] after. */
function layerLower(h: number): number {
  return h === 1 ? -1 : 0;
}

/** The coefficients this version computes for layer h + 1. */
function polynomialSource(r: Resolved): PolynomialSource {
  const nat = native();
  return (kernel, h) => nat.cntkSketchPolynomial(kernel, r.approximation, r.degree, h + 1);
}

/** Upper bound on the bytes of the map's random parameters (checked before building it). */
function parameterBytesBound(r: Resolved): number {
  const elem = elementBytes(r.dtype);
  const m = r.sketchDim;
  const leaves = Math.max(2, nextPow2(r.degree));
  const inPad = nextPow2(Math.max(r.inputShape[0] * r.filterSize * r.filterSize, m));
  // Tree nodes (signs for two children, two row samples), the TensorSRHT, the
  // sign-shift maps of the patch sums and compression, the final SRHT.
  const tree = (leaves - 1) * (2 * inPad * elem + 2 * m * 4);
  const packed = (r.degree + 1) * m;
  const tensor = (inPad + packed) * elem + 2 * Math.max(m, r.features) * 4;
  const maps = (2 * r.filterSize * r.filterSize + r.degree + 1) * m * elem;
  const final = 2 * (nextPow2((r.degree + 2) * m) * elem + r.features * 4);
  return r.depth * (tree + tensor + maps) + final;
}

/** Saved options; a saved map also holds its polynomials. */
const SAVED_OPTIONS = savedKeys(OPTIONS);

const SAVED: SavedFormat = {
  owner: 'CNTKSketch',
  format: CNTK_SKETCH_FORMAT,
  version: CNTK_SKETCH_VERSION,
  fields: [...SAVED_OPTIONS, 'polynomials'],
};

const restoreToken = Symbol('CNTKSketch.restore');

/** The resolved options, as read-only properties of the map. */
export interface CNTKSketch extends Readonly<Omit<Resolved, 'features' | 'inputShape' | 'backend'>> {}

export class CNTKSketch extends FeatureMap {
  declare readonly features: number;
  declare readonly dtype: DType;
  readonly mapType = 'CNTKSketch';

  declare readonly memoryLimit: number;

  /** Images of inputShape. */
  get inputLayout(): InputLayout {
    const [C, H, W] = this.inputShape;
    return { kind: 'images', shape: this.inputShape, columns: C * H * W };
  }

  /** @internal Images [n, C, H, W] of this map's inputShape, in blocks of images. */
  readInput(X: unknown): MapInput {
    const [C, H, W] = this.inputShape;
    const shape = (X as { shape?: unknown } | null)?.shape;
    if (Array.isArray(shape) && shape.length === 4 && shape[0] === 0) {
      // An empty batch of the right image shape: no work, an empty result.
      if (shape[1] !== C || shape[2] !== H || shape[3] !== W) this.shapeError(shape);
      const none = new Float32Array(0);
      return { count: 0, arrays: [], native: { x: none }, slice: () => ({ data: none, shape: [0, C, H, W] }) };
    }
    const images = toImages('X', X, { dtype: this.dtype, nativeValues: true });
    if (images.channels !== C || images.height !== H || images.width !== W) {
      this.shapeError([images.count, images.channels, images.height, images.width]);
    }
    const per = C * H * W;
    return {
      count: images.count,
      arrays: [images.data],
      native: { x: images.data },
      slice: (b, e) => ({ data: images.data.subarray(b * per, e * per), shape: [e - b, C, H, W] }),
    };
  }
  declare readonly inputShape: readonly [number, number, number];
  private readonly k1: Float64Array[];
  private readonly k0: Float64Array[];
  private readonly map: NativeCntkSketchMap;

  constructor(options: CNTKSketchOptions, ...restore: [typeof restoreToken, LayerPolynomials] | []) {
    super();
    const fromJson = restore.length === 2 && restore[0] === restoreToken;
    const r = resolve(options, fromJson);
    const { backend: _cpu, ...values } = r;
    Object.assign(this, values, { inputShape: Object.freeze([...r.inputShape] as [number, number, number]) });
    checkMemory(
      `CNTKSketch parameters (sketchDim ${r.sketchDim}, degree ${r.degree}, depth ${r.depth})`,
      parameterBytesBound(r),
      r.memoryLimit,
    );
    const polynomials = fromJson ? restore[1]! : computePolynomials(r.depth, polynomialSource(r));
    this.k1 = polynomials.k1;
    this.k0 = polynomials.k0;
    const [channels, height, width] = r.inputShape;
    const { depth, filterSize, padding, features, sketchDim, seed, dtype } = r;
    this.map = new (native().CntkSketchMap)({
      channels, height, width, depth, filterSize, padding, features, sketchDim, seed, dtype, k1: this.k1, k0: this.k0,
    });
  }

  /**
   * The polynomials in use: for layer h (index h-1), the interval
   * [lower, 1] its cosines lie in, and the coefficients c_0..c_degree of
   * P1^h ~ k1 and P0^h ~ k0. With 'nnls', layer 1 is fitted on [-1, 1] with
   * all degrees, later layers on [0, 1] with degrees 0, 1 and the powers of
   * two (as accurate, and one PolySketch tree computes them all).
   */
  get polynomials(): PolynomialsJSON & { lower: number[] } {
    return {
      lower: Array.from({ length: this.depth }, (_, h) => layerLower(h + 1)),
      ...polynomialsToJSON({ k1: this.k1, k0: this.k0 }),
    };
  }

  /**
   * Bytes of the map's parameters, and of the scratch space each thread uses
   * while transforming (NTK features; NNGP features need less).
   */
  get memory(): { parameterBytes: number; workspaceBytes: number } {
    this.requireLive('memory');
    const info = this.map.info();
    return { parameterBytes: info.parameterBytes, workspaceBytes: info.workspaceBytes.ntk };
  }

  protected target(): TransformTarget {
    // Per-thread scratch (one thread per image at most).
    return nativeTarget(this.map, this.features, (input, kernel) => {
      const workspace = this.map.info().workspaceBytes;
      return Math.min(backends().cpu.threads, input.count) * (kernel === 'ntk' ? workspace.ntk : workspace.nngp);
    });
  }

  protected release(): void {
    this.map.dispose();
  }

  private shapeError(shape: readonly unknown[]): never {
    const [C, H, W] = this.inputShape;
    throw new RangeError(
      `X must hold images of shape [${C}, ${H}, ${W}] (the inputShape of this CNTKSketch), got [${shape.slice(1).join(', ')}] ` +
        `(X has shape [${shape.join(', ')}])`,
    );
  }

  /**
   * Features of the images of X: an ndarray or { data, shape } of shape
   * [n, channels, height, width] matching inputShape (any strides; float32,
   * float64 or number[] data). Returns an n x features ndarray of this map's
   * dtype.
   */
  override transformSync(X: ImagesLike, options?: CNTKSketchTransformOptions): NdArray<FloatArray> {
    return super.transformSync(X, options);
  }

  /** A small document (parameters, seed, coefficients) that fromJSON turns back into the same map. */
  toJSON(): CNTKSketchJSON {
    const values = savedValues(OPTIONS, this as unknown as Resolved);
    return {
      format: CNTK_SKETCH_FORMAT,
      version: CNTK_SKETCH_VERSION,
      ...values,
      inputShape: [...values.inputShape] as [number, number, number],
      polynomials: polynomialsToJSON({ k1: this.k1, k0: this.k0 }),
    };
  }

  /**
   * Restores a map saved by toJSON (object or JSON string): same parameters,
   * seed and coefficients, hence bit-identical features. Refuses documents of
   * another format or version, unknown or missing fields, and coefficients
   * that are not what this version computes for those parameters (corruption).
   */
  static fromJSON(json: unknown, options: { memoryLimit?: number } = {}): CNTKSketch {
    const { doc, memoryLimit } = readSaved(json, options, SAVED);
    const params = savedOptions(doc, SAVED_OPTIONS, memoryLimit) as unknown as CNTKSketchOptions;
    const r = resolve(params, true);
    const stored = readPolynomials(doc.polynomials, r, polynomialSource(r), 'CNTKSketch');
    return new CNTKSketch(params, restoreToken, stored);
  }
}
