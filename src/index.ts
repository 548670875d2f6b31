/**
 * ntk-sketch: Neural Tangent Kernel regression at scale.
 *
 * Exact kernels (ground truth, small n), feature maps whose inner products
 * approximate them (large n), and ridge regression on either.
 */
export { ntkKernel, ntkKernelSync, MAX_DEPTH } from './kernels/ntk-kernel.js';
export type { NtkKernelOptions, KernelResult, KernelOutput, NtkResult, NngpResult } from './kernels/ntk-kernel.js';
export { cntkKernel, cntkKernelSync } from './kernels/cntk-kernel.js';
export type { CntkKernelOptions, Padding } from './kernels/cntk-kernel.js';
export { RidgeRegression, KernelRidgeRegression, oneHot, argmaxRows, MIN_RCOND, EIGEN_PATH_MAX_DIM } from './regression/ridge.js';
export type { RidgeOptions, LambdaPathOptions, LambdaScore, Metric, RidgeJSON } from './regression/ridge.js';
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
} from './sketches/primitives.js';
export type { ArcCosKernelName, PolynomialApproximation, ArcCosinePolynomialOptions } from './sketches/primitives.js';
export { NTKSketch, NTK_SKETCH_MAX_DEPTH, NTK_SKETCH_MAX_DEGREE } from './maps/ntk-sketch.js';
export type { NTKSketchOptions, NTKSketchTransformOptions, NTKSketchJSON } from './maps/ntk-sketch.js';
export { backends, setThreads } from './core/backends.js';
export type { BackendInfo, BackendChoice } from './core/backends.js';
export { DEFAULT_MEMORY_LIMIT } from './core/arrays.js';
export type { MatrixLike, CsrMatrixLike, DType, Images, Matrix, CsrMatrix } from './core/arrays.js';
export type { ImagesLike, RowsLike, TargetsLike } from './core/inputs.js';
export type { FloatArray, NativeBackends } from './core/native.js';
export type { Steps, CallControl } from './core/steps.js';
export { FeatureMap } from './maps/feature-map.js';
export type {
  FeatureKernel,
  FeatureMapOptions,
  FeatureTransformOptions,
  InputLayout,
  LayerPolynomials,
  MapInput,
  NativeInput,
  MapType,
  PolynomialMapOptions,
  PolynomialsJSON,
  PoolType,
  TransformTarget,
} from './maps/feature-map.js';
export {
  loadDigits,
  loadFashionMnist,
  splitIndices,
  permutation,
  parseIdxImages,
  parseIdxLabels,
  FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
} from './data/datasets.js';
export type { Dataset, FashionMnistOptions, IdxImages } from './data/datasets.js';
export { NTKRandomFeatures, NTK_RANDOM_FEATURES_MAX_DEPTH, ntkRandomFeaturesParameterBytes } from './maps/ntk-random-features.js';
export type {
  NTKRandomFeaturesOptions,
  NTKRandomFeaturesTransformOptions,
  NTKRandomFeaturesJSON,
  NTKRandomFeaturesLayerWeights,
} from './maps/ntk-random-features.js';
export { CNTKSketch, CNTK_SKETCH_MAX_DEPTH, CNTK_SKETCH_MAX_DEGREE } from './maps/cntk-sketch.js';
export { LeverageSelection, LEVERAGE_SELECTION_FORMAT, LEVERAGE_SELECTION_VERSION } from './maps/leverage-selection.js';
export type { LeverageSelectionOptions, LeverageSelectionJSON, PoolMap } from './maps/leverage-selection.js';
export { NTKNystrom, NTK_NYSTROM_FORMAT, NTK_NYSTROM_VERSION, NTK_NYSTROM_MAX_LANDMARKS } from './maps/ntk-nystrom.js';
export type { NTKNystromOptions, NTKNystromJSON, NTKNystromInfo } from './maps/ntk-nystrom.js';
export { mapFromJSON, SAVED_MAP_FORMATS } from './maps/saved-map.js';
export type { CNTKSketchOptions, CNTKSketchTransformOptions, CNTKSketchJSON } from './maps/cntk-sketch.js';
export { openData, readAll, formatFromName, defaultBatchRows, DataFileError, DATA_FORMATS } from './data/readers/index.js';
export type {
  OpenDataOptions,
  DataSource,
  DataBatch,
  DataFormat,
  DataFileLocation,
  DenseRows,
  CsrRows,
  ImageRows,
  Layout,
  Targets,
  AllRows,
} from './data/readers/index.js';
export { createNpyWriter, createCsvWriter, createDataWriter, writeData, writeTextFile, NpyWriter, CsvWriter } from './data/writers.js';
export type { DataWriter, NpyWriterOptions, CsvWriterOptions, DataWriterOptions } from './data/writers.js';
export { FeatureRidge, FEATURE_RIDGE_FORMAT, labelsOf, isValidationRow } from './regression/feature-ridge.js';
export type { FeatureRidgeOptions, FeatureRidgeJSON, TrainingBatch, LambdaChoice, LambdaPathInfo, Task, StatisticsData, FeatureRidgeState } from './regression/feature-ridge.js';
export { KRYLOV_TOLERANCE } from './regression/lambda-path.js';
export type { PathSolver } from './regression/lambda-path.js';
export { saveModel, saveExactModel, loadModel, loadPredictor, mergeModelFiles, MODEL_MAGIC, MODEL_VERSION } from './regression/model-file.js';
export type { ModelData, RowRange, Predictor, LoadModelOptions } from './regression/model-file.js';
export { ExactKernelRidge } from './regression/exact-kernel-ridge.js';
export type { ExactKernel, ExactKernelRidgeOptions } from './regression/exact-kernel-ridge.js';
