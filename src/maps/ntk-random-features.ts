/**
 * NTKRandomFeatures: arc-cosine random features combined by TensorSRHT whose
 * inner products approximate the fully connected NTK and NNGP (docs/math.md#ntkrandomfeatures;
 * Zandieh et al., "Scaling Neural Tangent Kernels via Sketching and Random
 * Features", NeurIPS 2021, NTKRF).
 *
 * Per layer h = 1..L, from z_nngp and z_ntk (both x at the start), with
 * Gaussian weights W0_h (K_h x m0) and W1_h (K_h x m1), K_1 = d, K_h = m1 after:
 *
 *     a      = sqrt(2/m0) step(W0_h^T z_nngp)       E<a, a'> = k0(cos)            (dSigma^h)
 *     b      = sqrt(2/m1) relu(W1_h^T z_nngp)       E<b, b'> = |z||z'| k1(cos)    (Sigma^h)
 *     z_ntk  <- [ b , TensorSRHT(z_ntk, a) ]        m1 + ms entries               (Theta^h)
 *     z_nngp <- b
 *
 * NTK features: z_ntk^L, followed by an SRHT to `features` when
 * m1 + ms != features. NNGP features: `features` arc-cosine features of the
 * last layer (sqrt(2/features) relu(w_j . z_nngp^(L-1)), j < features; the first
 * m1 columns are those of W1_L, the others are drawn on the first NNGP call;
 * with `orthogonal` all `features` columns are drawn then, unless features = m1).
 *
 * Feature budget. `features` is the output width; by default it is split as
 * ms = sketchFeatures = round(5/8 * features) TensorSRHT features and
 * m1 = features - ms arc-cosine features, with m0 = m1 step features (these
 * are not output: they only weight the sketch). For 8,192 features that is
 * 3,072 + 5,120, next to the issue's reference 3,192 + 5,000. Why most columns
 * go to the sketch: on the diagonal the sketched product Theta^(h-1) dSigma^h
 * carries h of the h + 1 units of Theta^h, and its relative variance per
 * column (~8/ms: two SRHT factors of kurtosis 3) exceeds that of the
 * arc-cosine part (~5/m1); minimising the variance of the sum gives
 * ms/m1 ~ 1.3 at depth 1 and ~ 2.5 at depth 2 (5/8 is ms/m1 = 1.67). Measured
 * Gram errors are flat within seed noise for ms/features in [0.4, 0.75].
 * With arcCosineFeatures given, m1 + ms may exceed features, and a final SRHT
 * maps the m1 + ms entries to `features`.
 *
 * Depth: layer h >= 2 takes the previous layer's m1 arc-cosine features as
 * input (K_h = m1): its GEMM is (rows x m1) by (m1 x (m0 + m1)), and its
 * TensorSRHT combines the previous z_ntk (m1 + ms entries) with a.
 *
 * Leverage-score sampling (`leverage: true`): the columns w of every W1_h are
 * drawn from (|w|^2 / K) N(0, I_K) with the exact sampler w = (g/|g|)|h|,
 * g ~ N(0, I_K), h ~ N(0, I_(K+2)), and feature j is weighted by
 * sqrt(2K/m1)/|w_j|. Because relu is positively homogeneous, such a feature
 * equals sqrt(2/m1) relu(sqrt(K) u_j . z) with u_j uniform on the sphere: it
 * removes only the chi-distributed length of Gaussian columns, a variance
 * factor (K + 2)/K on the b features. Step features are unchanged.
 *
 * Orthogonal weights (`orthogonal: true`, off by default): the columns of W0
 * and W1 are drawn jointly instead of independently. They come in antithetic
 * pairs (w, -w): relu(z) = z/2 + |z|/2 and step(z) = 1/2 + sign(z)/2, so the
 * odd part cancels between the two relu features and the constant part of
 * the step features becomes exact. The directions of W1 also come in
 * orthogonal blocks of K_h (the Q factor of a Gaussian block, with positive
 * diagonal R: Haar distributed), each with the length of its own Gaussian
 * column (or the leverage length): a full block sums the linear part z/2
 * exactly. Every column keeps its distribution, so the features stay
 * unbiased; only their errors become correlated. Measured at depth 2 on
 * Fashion-MNIST (1,000 rows, 8,192 features, seeds 1-3): NNGP Gram error
 * 0.0137 -> 0.0045, NTK 0.0219 -> 0.0183, and featurising is 1.6x faster
 * (only ceil(m/2) columns per group go through the GEMMs; the partners are
 * -z). But it is not the default because ridge regression does not gain:
 * test accuracy (10,000 / 10,000 split, seeds 1-3) 85.51 % vs 85.45 % at
 * 8,192 features and 85.68 % vs 86.14 % at 16,384. The pairs leave half as
 * many independent directions for the even part |z|, whose noise is what
 * the small eigen-directions see (eps at lambda = 1e-3 x the mean diagonal:
 * 2.07 vs 1.95). Use it for NNGP features or Gram matrices, or for speed.
 * Drawing costs a Cholesky QR per block, O(K_h k^2) for k directions (0.40 s
 * vs 0.12 s at 8,192 features, depth 2). NNGP features with features != m1
 * draw a last-layer matrix of their own (the pairs are drawn jointly).
 *
 * Normalisation (`normalize`, on by default): the diagonal of every
 * kernel estimated along the way is known in closed form (Sigma^h(x,x) =
 * |x|^2, Theta^(h-1)(x,x) dSigma^h(x,x) = h|x|^2, Theta^L(x,x) = (L+1)|x|^2), so
 * each row's b, TensorSRHT part and final output are rescaled to those norms.
 * This removes the per-row scale error, which dominates the Gram error on
 * data with large cosines such as images (measured: about half the NTK Gram
 * error and a fifth of the NNGP one on Fashion-MNIST at 8,192 features), at
 * the price of an O(1/m) bias (a ratio estimator). It is the default because
 * it meets the issue's Gram error target where the plain estimator does not
 * (8,192 features, depth 2: 0.022 vs 0.053); `normalize: false` gives the
 * plain estimator of docs/math.md#ntkrandomfeatures-recursion.
 *
 * Accuracy at a fixed output width (bench/results/ntk-random-features-accuracy.md:
 * Fashion-MNIST, 10,000 / 10,000 images, the CLI's ridge protocol, 8,192
 * features, one seed). How the budget is spent moves ridge accuracy little:
 * at depth 2 every option (split, stepFeatures, leverage, orthogonal, wider
 * internal layers) gives 85.2..85.8 %, and LeverageSelection from 32,768
 * columns 86.0 %, against 87.71 % for exact NTK kernel ridge. Wider internal
 * layers behind the final SRHT (arcCosineFeatures = sketchFeatures = w)
 * help where they are cheap, at depth 1, and saturate: 85.63 % (default),
 * 86.00 % (w = 16,384), 86.08 % (w = 32,768; exact: 87.72 %) at 4x and 8x
 * the transform time: the 8,192 output dimensions, more than the internal
 * noise, seem to bound such a data-oblivious map. NTKSketch reaches 86.2 %
 * plain and 86.8 % with LeverageSelection at the same width.
 *
 * Cost per row: 2 sum_h K_h (m0 + m1) flops (half that with `orthogonal`) in float32/float64 GEMMs (the core's
 * FMA-chain GEMM, at OpenBLAS's speed but independent of its kernel family)
 * (rows in blocks of 256), plus O(L (m1 + ms + m0) log) for the TensorSRHTs.
 * CSR input uses a sparse-dense product for layer 1 (2 nnz (m0 + m1) flops).
 * The weights take 4 (or 8) sum_h K_h (m0 + m1) bytes. Every value is a pure
 * function of the options and seed: bit-identical features for every thread
 * count, any split of the rows into calls and any OpenBLAS kernel family (`orthogonal` weights come from a
 * LAPACK Cholesky factorisation, rounded per kernel family); toJSON() stores only the options.
 */
import type { NdArray } from 'ndarray';
import { checkMemory, describe, elementBytes, intOption, toNdarray, type DType } from '../core/arrays.js';
import {
  FeatureMap,
  nativeTarget,
  readSaved,
  rowsInput,
  savedOptions,
  type FeatureKernel,
  type FeatureTransformOptions,
  type InputLayout,
  type MapInput,
  type SavedFormat,
  type TransformTarget,
} from './feature-map.js';
import { native, type FloatArray, type NativeNtkRandomFeaturesMap } from '../core/native.js';
import { field, fields, resolveOptions, savedKeys, savedValues, type OptionsOf, type SavedOf, type ValuesOf } from '../core/options.js';

export const NTK_RANDOM_FEATURES_MAX_DEPTH = 32;
/** Default share of the output given to the TensorSRHT features. */
export const DEFAULT_SKETCH_SHARE = 5 / 8;
const MAX_FEATURES = 1 << 24;
const MAX_INPUT_DIM = 2 ** 30;

/** The options of NTKRandomFeatures, declared once: validation, defaults, types and the saved fields (in checksum order). */
const OPTIONS = {
  /** Input dimension d (columns of X), 1..2^30 (the first layer holds d x (m0 + m1) weights). */
  inputDim: fields.int(1, MAX_INPUT_DIM).save(),
  /** Hidden ReLU layers L, 1..32. */
  depth: fields.int(1, NTK_RANDOM_FEATURES_MAX_DEPTH).save(),
  /** Output features per row, 2..2^24. */
  features: fields.int(2, MAX_FEATURES).save(),
  /**
   * TensorSRHT features ms per layer. Default round(5/8 * features). Without
   * arcCosineFeatures it must leave at least one arc-cosine feature:
   * 1..features - 1.
   */
  sketchFeatures: fields
    .int(1, ({ raw, resolved }) => (raw.arcCosineFeatures === undefined ? (resolved.features as number) - 1 : MAX_FEATURES))
    .default(({ raw, resolved, name }) => {
      const features = resolved.features as number;
      if (raw.arcCosineFeatures === undefined) return Math.min(features - 1, Math.max(1, Math.round(DEFAULT_SKETCH_SHARE * features)));
      return Math.max(1, features - intOption(name('arcCosineFeatures'), raw.arcCosineFeatures, 1, MAX_FEATURES));
    })
    .save(),
  /** Arc-cosine (relu) features m1 per layer, 1..2^24. Default features - sketchFeatures. */
  arcCosineFeatures: field<number>((name, value, { resolved, name: nameOf }) => {
    const m1 = intOption(name, value, 1, MAX_FEATURES);
    const features = resolved.features as number, ms = resolved.sketchFeatures as number;
    if (m1 + ms < features) {
      throw new RangeError(
        `${name} + ${nameOf('sketchFeatures')} must be at least ${nameOf('features')} (${features}), got ${m1} + ${ms}`,
      );
    }
    return m1;
  })
    .default(({ resolved }) => (resolved.features as number) - (resolved.sketchFeatures as number))
    .save(),
  /** Step features m0 per layer, 1..2^24. Default arcCosineFeatures. */
  stepFeatures: fields.int(1, MAX_FEATURES).default(({ resolved }) => resolved.arcCosineFeatures as number).save(),
  /** Leverage-score sampling of the arc-cosine weights. Default false. */
  leverage: fields.boolean(false).save(),
  /**
   * Rescale every row's features to the exact diagonal of the kernels they
   * estimate (see the class notes). Default true; false gives the plain,
   * unbiased estimator (docs/math.md).
   */
  normalize: fields.boolean(true).save(),
  /**
   * Draw the weight columns jointly (see the class notes): antithetic pairs
   * (w, -w) in W0 and W1 and orthogonal blocks of directions in W1. Each
   * column keeps its distribution, so the features stay unbiased. Lower Gram
   * error (NNGP a third) and 1.6x faster, but no better for ridge regression.
   * Default false: every column drawn independently.
   */
  orthogonal: fields.boolean(false).save(),
  /** Non-negative safe integer. Default 0. */
  seed: fields.seed().save(),
  /** Dtype of weights and features (inputs are converted to it). Default 'float32'. */
  dtype: fields.dtype().save(),
  /** Refuse maps or results needing more bytes than this. Default 4 GiB. */
  memoryLimit: fields.memoryLimit(),
};

export type NTKRandomFeaturesOptions = OptionsOf<typeof OPTIONS>;
type Resolved = ValuesOf<typeof OPTIONS>;
const EXAMPLE = 'new NTKRandomFeatures({ inputDim: 784, depth: 2, features: 8192 })';

function resolve(options: unknown, fromJson: boolean): Resolved {
  return resolveOptions(
    OPTIONS,
    options,
    fromJson ? { prefix: 'json.', what: 'NTKRandomFeatures.fromJSON', example: EXAMPLE } : { what: 'NTKRandomFeatures', example: EXAMPLE },
  );
}

export type NTKRandomFeaturesTransformOptions = FeatureTransformOptions;

/** What toJSON() writes: the options (the weights follow from the seed) and a checksum of them. */
export type NTKRandomFeaturesJSON = { format: 'ntk-sketch/ntk-random-features'; version: 2 } & SavedOf<typeof OPTIONS> & {
  /** FNV-1a (32-bit, hex) of the fields above: detects corrupted documents. */
  checksum: string;
};

/** One layer's random weights, as returned by {@link NTKRandomFeatures.weights}. */
export interface NTKRandomFeaturesLayerWeights {
  /** K_h: d for layer 0, arcCosineFeatures after. */
  inputDim: number;
  /** W0 (K_h x m0): columns ~ N(0, I). */
  step: NdArray<FloatArray>;
  /** W1 (K_h x m1): columns ~ N(0, I), or (|w|^2/K) N(0, I) with leverage. */
  arcCosine: NdArray<FloatArray>;
  /** Relative weight of each arc-cosine feature: sqrt(K)/|w_j| with leverage, else 1. */
  weight: Float64Array;
}

export const NTK_RANDOM_FEATURES_FORMAT = 'ntk-sketch/ntk-random-features';
export const NTK_RANDOM_FEATURES_VERSION = 2;
/** Bytes of the map's parameters (checked before drawing them). */
function parameterBytes(r: Resolved): number {
  const elem = elementBytes(r.dtype);
  const width = r.stepFeatures + r.arcCosineFeatures;
  const stride = r.arcCosineFeatures + r.sketchFeatures;
  let bytes = 0;
  for (let h = 0; h < r.depth; h++) {
    const k = h === 0 ? r.inputDim : r.arcCosineFeatures;
    bytes += elem * k * width + (8 + elem) * r.arcCosineFeatures; // weights, feature weights and scales
    bytes += elem * ((h === 0 ? r.inputDim : stride) + r.stepFeatures) + 8 * r.sketchFeatures; // TensorSRHT
  }
  if (stride !== r.features) bytes += elem * stride + 4 * r.features; // final SRHT
  return bytes;
}

/**
 * Transient float64 scratch of drawing orthogonal weights: the largest block
 * of k directions in K_h dimensions that is orthogonalised (k >= K_h / 8),
 * 8 (K_h k + k^2) bytes (native random_weights, structured_columns).
 */
function drawScratchBytes(r: Resolved): number {
  if (!r.orthogonal) return 0;
  let bytes = 0;
  for (let h = 0; h < r.depth; h++) {
    const K = h === 0 ? r.inputDim : r.arcCosineFeatures;
    const k = Math.min(K, Math.ceil(r.arcCosineFeatures / 2));
    if (8 * k >= K) bytes = Math.max(bytes, 8 * (K * k + k * k));
  }
  return bytes;
}

/** FNV-1a, 32 bits, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const SAVED_FIELDS = savedKeys(OPTIONS);
/** Version 1 documents predate `orthogonal`: their maps drew independent columns. */
const SAVED_FIELDS_V1 = SAVED_FIELDS.filter((k) => k !== 'orthogonal');

function checksumOf(doc: Record<string, unknown>, version: number, fields: readonly string[]): string {
  return fnv1a(`${NTK_RANDOM_FEATURES_FORMAT}/${version}:` + fields.map((k) => `${k}=${String(doc[k])}`).join(';'));
}

const SAVED: SavedFormat = {
  owner: 'NTKRandomFeatures',
  format: NTK_RANDOM_FEATURES_FORMAT,
  version: NTK_RANDOM_FEATURES_VERSION,
  fields: [...SAVED_FIELDS, 'checksum'],
};
const SAVED_V1: SavedFormat = { ...SAVED, version: 1, fields: [...SAVED_FIELDS_V1, 'checksum'] };

const restoreToken = Symbol('NTKRandomFeatures.restore');

/**
 * The resolved options, as read-only properties of the map: sketchFeatures
 * (ms, TensorSRHT features per layer), arcCosineFeatures (m1, relu features
 * per layer), stepFeatures (m0, step features per layer) and the rest.
 */
export interface NTKRandomFeatures extends Readonly<Omit<Resolved, 'features'>> {}

export class NTKRandomFeatures extends FeatureMap {
  declare readonly features: number;
  declare readonly dtype: DType;
  readonly mapType = 'NTKRandomFeatures';

  declare readonly memoryLimit: number;

  /** Rows of inputDim values. */
  get inputLayout(): InputLayout {
    return { kind: 'rows', columns: this.inputDim };
  }

  /** @internal Dense or CSR rows. */
  readInput(X: unknown): MapInput {
    return rowsInput(X, this.inputDim, this.dtype, 'NTKRandomFeatures');
  }
  private readonly map: NativeNtkRandomFeaturesMap;

  constructor(options: NTKRandomFeaturesOptions, ...restore: [typeof restoreToken] | []) {
    super();
    const fromJson = restore[0] === restoreToken;
    const r = resolve(options, fromJson);
    Object.assign(this, r);
    checkMemory(
      `NTKRandomFeatures weights (inputDim ${r.inputDim}, depth ${r.depth}, ${r.stepFeatures} + ${r.arcCosineFeatures} columns per layer` +
        `${r.orthogonal ? ', plus the scratch of orthogonalising them' : ''})`,
      parameterBytes(r) + drawScratchBytes(r),
      r.memoryLimit,
    );
    const { memoryLimit: _limit, ...parameters } = r;
    this.map = new (native().NtkRandomFeaturesMap)(parameters);
  }

  /** Whether NTK features pass through a final SRHT (arcCosineFeatures + sketchFeatures != features). */
  get finalSrht(): boolean {
    return this.arcCosineFeatures + this.sketchFeatures !== this.features;
  }

  /** Bytes of the weights held now (the NNGP-only columns count once drawn). */
  get memory(): { parameterBytes: number } {
    this.requireLive('memory');
    return { parameterBytes: this.map.info().parameterBytes };
  }

  /** Copies of layer `layer`'s (0-based) random weights. */
  weights(layer: number): NTKRandomFeaturesLayerWeights {
    this.requireLive('weights');
    intOption('layer', layer, 0, this.depth - 1);
    const w = this.map.weights(layer);
    return {
      inputDim: w.inputDim,
      step: toNdarray(w.step, w.inputDim, this.stepFeatures),
      arcCosine: toNdarray(w.arcCosine, w.inputDim, this.arcCosineFeatures),
      weight: w.weight,
    };
  }

  protected target(): TransformTarget {
    return nativeTarget(this.map, this.features, (input, kernel) => this.scratchBytes(input, kernel));
  }

  protected release(): void {
    this.map.dispose();
  }

  /** The block buffers and per-thread scratch of one call, and the NNGP-only weights its first NNGP call draws. */
  private scratchBytes(input: MapInput, kernel: FeatureKernel): number {
    const info = this.map.info();
    const call = info.callBytes[`${kernel}${'x' in input.native ? 'Dense' : 'Csr'}`];
    return call + (kernel === 'nngp' ? info.nngpExtraBytes : 0);
  }

  /** The options (the weights follow from the seed) and their checksum. */
  toJSON(): NTKRandomFeaturesJSON {
    const saved = savedValues(OPTIONS, this as unknown as Resolved);
    return {
      format: NTK_RANDOM_FEATURES_FORMAT,
      version: NTK_RANDOM_FEATURES_VERSION,
      ...saved,
      checksum: checksumOf(saved, NTK_RANDOM_FEATURES_VERSION, SAVED_FIELDS),
    };
  }

  /**
   * Restores a map saved by toJSON (object or JSON string): the same options
   * and seed, hence bit-identical features. Refuses documents of another
   * format (TypeError) or version, with unknown, missing or invalid fields, or
   * whose checksum does not match their fields (RangeError). Version 1
   * documents (before `orthogonal`) restore maps with `orthogonal: false`,
   * which is what they drew.
   */
  static fromJSON(json: unknown, options: { memoryLimit?: number } = {}): NTKRandomFeatures {
    const { doc, memoryLimit, format } = readSaved(json, options, SAVED, [SAVED_V1]);
    const v1 = format === SAVED_V1;
    const fields = v1 ? SAVED_FIELDS_V1 : SAVED_FIELDS;
    if (typeof doc.checksum !== 'string') throw new TypeError(`json.checksum must be a string, got ${describe(doc.checksum)}`);
    const expected = checksumOf(doc, format.version, fields);
    if (doc.checksum !== expected) {
      throw new RangeError(
        `json.checksum ${doc.checksum} does not match the saved fields (expected ${expected}): the document is corrupted or was edited`,
      );
    }
    const params = {
      ...savedOptions(doc, fields, memoryLimit),
      ...(v1 ? { orthogonal: false } : {}),
    } as unknown as NTKRandomFeaturesOptions;
    return new NTKRandomFeatures(params, restoreToken);
  }
}

/** Bytes a NTKRandomFeatures map with these options holds (for planning). */
export function ntkRandomFeaturesParameterBytes(options: NTKRandomFeaturesOptions): number {
  return parameterBytes(resolveOptions(OPTIONS, options, { what: 'ntkRandomFeaturesParameterBytes', example: EXAMPLE }));
}
