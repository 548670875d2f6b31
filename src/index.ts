/**
 * ntk-sketch: Neural Tangent Kernel regression at scale.
 *
 * Exact kernels (ground truth, small n), feature maps whose inner products
 * approximate them (large n), and ridge regression on either.
 */
export { ntkKernel, ntkKernelSync, MAX_DEPTH } from './ntk-kernel.js';
export type { NtkKernelOptions, KernelResult } from './ntk-kernel.js';
export { cntkKernel, cntkKernelSync } from './cntk-kernel.js';
export type { CntkKernelOptions, Padding } from './cntk-kernel.js';
export { RidgeRegression, KernelRidgeRegression, oneHot, argmaxRows, MIN_RCOND, EIGEN_PATH_MAX_DIM } from './ridge.js';
export type { RidgeOptions, LambdaPathOptions, LambdaScore, Metric, RidgeJSON } from './ridge.js';
export {
  arcCosinePolynomial,
  layerLowerBounds,
  evaluatePolynomial,
  walshHadamard,
  countSketch,
  srht,
  tensorSrht,
  polySketch,
  polyKernelSketch,
  MAX_POLYNOMIAL_DEGREE,
} from './sketches.js';
export type { ArcCosKernelName, PolynomialApproximation, ArcCosinePolynomialOptions } from './sketches.js';
export { NTKSketch, NTK_SKETCH_MAX_DEPTH, NTK_SKETCH_MAX_DEGREE } from './ntk-sketch.js';
export type { NTKSketchOptions, NTKSketchTransformOptions, NTKSketchJSON } from './ntk-sketch.js';
export { backends, setThreads } from './backends.js';
export type { BackendInfo, BackendChoice } from './backends.js';
export { DEFAULT_MEMORY_LIMIT } from './arrays.js';
export type { MatrixLike, CsrMatrixLike, DType, Images } from './arrays.js';
export {
  loadDigits,
  loadFashionMnist,
  splitIndices,
  permutation,
  parseIdxImages,
  parseIdxLabels,
  FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
} from './datasets.js';
export type { Dataset, FashionMnistOptions, IdxImages } from './datasets.js';
export { NTKRandomFeatures, NTK_RANDOM_FEATURES_MAX_DEPTH, ntkRandomFeaturesParameterBytes } from './ntk-random-features.js';
export type {
  NTKRandomFeaturesOptions,
  NTKRandomFeaturesTransformOptions,
  NTKRandomFeaturesJSON,
  NTKRandomFeaturesLayerWeights,
} from './ntk-random-features.js';
export { CNTKSketch, CNTK_SKETCH_MAX_DEPTH, CNTK_SKETCH_MAX_DEGREE } from './cntk-sketch.js';
export { LeverageSelection, LEVERAGE_SELECTION_FORMAT, LEVERAGE_SELECTION_VERSION } from './leverage-selection.js';
export type { LeverageSelectionOptions, LeverageSelectionJSON, PoolMap } from './leverage-selection.js';
export type { CNTKSketchOptions, CNTKSketchTransformOptions, CNTKSketchJSON } from './cntk-sketch.js';
