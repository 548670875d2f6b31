/**
 * Loads the compiled addon and describes its raw interface.
 *
 * The addon is looked up in (1) the path in the `NTK_SKETCH_ADDON` environment
 * variable (alone), else (2) the cmake-js build (`build-cmake/Release`), (3) the
 * node-gyp build (`build/Release`), (4) the prebuilt addon shipped for this
 * platform (`prebuilds/linux-x64-glibc/`, see core/addon-platform.ts). The
 * first that loads wins. When none does, the error names each one and why it
 * failed (not built, no prebuild for this platform, a shared library missing,
 * another Node ABI) and says what to install and which command to run.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFromSourceInstructions, currentAddonPlatform, findPrebuild, prebuildTag, type AddonPlatform } from './addon-platform.js';

export type FloatArray = Float32Array | Float64Array;
export type NativeBackendName = 'cpu' | 'cuda';

/** The raw addon. Arguments are validated by the TypeScript layer first. */
export interface NativeAddon {
  backends(): NativeBackends;
  setThreads(n: number): void;
  /** The exact NTK / NNGP of the rows of x against z (x itself when z is null), on the backend named. */
  ntkKernel<T extends FloatArray>(
    options: {
      x: T; n: number; d: number; z: T | null; m: number; depth: number; ntkOut: T | null; nngpOut: T | null; backend?: NativeBackendName;
      /** [cancel, tiles done] (CPU): the job stops between tiles when [0] != 0 and counts tiles in [1]. */
      flags?: Int32Array;
    },
    async: boolean,
  ): Promise<void> | undefined;
  cntkLayout(shape: NativeCntkShape): { prepDoubles: number; scratchBytes: number; threads: number; outHeight: number; outWidth: number };
  cntkPrepare<T extends FloatArray>(
    options: { shape: NativeCntkShape; x: T; n: number; prep: Float64Array }, async: boolean,
  ): Promise<void> | undefined;
  /** Rows [rowBegin, rowEnd) of the n x m kernels, on the backend named. */
  cntkPairs<T extends FloatArray>(
    options: {
      shape: NativeCntkShape; prepX: Float64Array; n: number; prepZ: Float64Array | null; m: number;
      rowBegin: number; rowEnd: number; ntkOut: T | null; nngpOut: T | null; backend?: NativeBackendName;
    },
    async: boolean,
  ): Promise<void> | undefined;
  /** gram (m x m, upper triangle) += phi^T phi and rhs (m x k) += phi^T y (when y and rhs are given) for n rows of phi (n x m). */
  gramAccumulate<T extends FloatArray>(
    options: { phi: T; n: number; m: number; y: Float64Array | null; k: number; gram: Float64Array; rhs: Float64Array | null },
    async: boolean,
  ): Promise<void> | undefined;
  /** weights (m x k) = (gram + lambda I)^-1 rhs, gram's upper triangle read; status = [info, rcond]. */
  ridgeSolve(
    options: { gram: Float64Array; m: number; rhs: Float64Array; k: number; lambda: number; weights: Float64Array; status: Float64Array },
    async: boolean,
  ): Promise<void> | undefined;
  /** status = [info, lambda]: scores[j] = phi_j^T (Phi Phi^T + lambda I)^-1 phi_j, lambda = lambdaRel x mean diagonal. */
  ridgeLeverage<T extends FloatArray>(
    options: { phi: T; n: number; m: number; lambdaRel: number; scores: Float64Array; status: Float64Array },
    async: boolean,
  ): Promise<void> | undefined;
  /**
   * out (rows x columns.length) = pool (rows x poolFeatures)[:, columns] * scales, each row rescaled to its pool row's
   * norm when normalize (LeverageSelection).
   */
  gatherColumns<T extends FloatArray>(options: {
    pool: T; rows: number; poolFeatures: number; columns: Int32Array; scales: Float64Array; normalize: boolean; out: T;
  }): void;
  /** Ascending eigenvalues of a symmetric m x m matrix (upper triangle read); eigenvectors = V^T (one per row); status = [info]. */
  symmetricEigh(
    options: { matrix: Float64Array; m: number; eigenvalues: Float64Array; eigenvectors: Float64Array; status: Float64Array },
    async: boolean,
  ): Promise<void> | undefined;
  arccosPolynomial(kernel: 'k0' | 'k1', approximation: 'taylor' | 'nnls', degree: number, lower: number): Float64Array;
  layerLowerBounds(depth: number): Float64Array;
  polyKernelPackedDim(inDim: number, sketchDim: number, coeffs: Float64Array): number;
  /** One sketch primitive of the rows of x (n x inDim; CSR when indptr is not null) into out (n x the primitive's width). */
  sketchPrimitive<T extends FloatArray>(
    options: { x: T; n: number; inDim: number; indptr: Int32Array | null; indices: Int32Array | null; out: T } & NativeSketchPrimitive<T>,
  ): void;
  NtkSketchMap: new (options: NativeNtkSketchOptions | NativeNtkSketchKeptOptions) => NativeNtkSketchMap;
  NtkRandomFeaturesMap: new (options: {
    inputDim: number; depth: number; features: number; stepFeatures: number; arcCosineFeatures: number; sketchFeatures: number;
    seed: number; dtype: 'float32' | 'float64'; leverage?: boolean; normalize?: boolean; orthogonal?: boolean;
  }) => NativeNtkRandomFeaturesMap;
  cntkSketchPolynomial(kernel: 'k0' | 'k1', approximation: 'taylor' | 'nnls', degree: number, layer: number): Float64Array;
  CntkSketchMap: new (options: {
    channels: number; height: number; width: number; depth: number; filterSize: number; padding: 'valid' | 'same';
    features: number; sketchDim: number; seed: number; dtype: 'float32' | 'float64'; k1: Float64Array[]; k0: Float64Array[];
    /** Diagnostics: false skips projecting per-pixel vectors onto their exact norms. Default true. */
    renormalise?: boolean;
  }) => NativeCntkSketchMap;
  /** Registers a new result array: the first transform writing it prefaults it in bulk (bindings/result_memory.hpp). */
  markFreshResult(array: FloatArray): void;
  /** The arrays registered by markFreshResult and still alive. */
  freshResultInfo(): { arrays: number; bytes: number };
  /** c (m x n) = alpha op(a) op(b) + beta c, row-major, op(a) m x k and op(b) k x n. */
  gemm<T extends FloatArray>(
    options: {
      transA: boolean; transB: boolean; m: number; n: number; k: number; alpha: number;
      a: T; lda: number; b: T; ldb: number; beta: number; c: T; ldc: number;
      /** 'vendor': the BLAS library's own GEMM on the same tiles (benchmarks compare it with the core's). Default 'core'. */
      engine?: 'core' | 'vendor';
    },
    async: boolean,
  ): Promise<void> | undefined;
}

/** A sketch primitive and the fields it reads (bindings/sketches.cpp). */
export type NativeSketchPrimitive<T extends FloatArray> =
  /** Unnormalised Walsh–Hadamard transform of dense rows, inDim a power of two: out is n x inDim. */
  | { kind: 'fwht' }
  /** out is n x outDim. */
  | { kind: 'countsketch' | 'srht'; seed: number; outDim: number }
  /** With row i of y (n x inDimY, dense): out is n x outDim. */
  | { kind: 'tensorsrht'; seed: number; outDim: number; y: T; inDimY: number }
  /** degree leaves, each sketchDim wide: out is n x degree * sketchDim. */
  | { kind: 'polysketch'; seed: number; degree: number; sketchDim: number }
  /** out is n x outDim, or n x polyKernelPackedDim(inDim, sketchDim, coefficients) when outDim is 0. */
  | { kind: 'polykernel'; seed: number; coefficients: Float64Array; sketchDim: number; outDim: number };

/** Dense rows (or images) for {@link NativeFeatureMap.transform}: n x inputDim values, row-major. */
export interface NativeDenseArgs {
  x: FloatArray;
  n: number;
  out: FloatArray;
  kernel: 'ntk' | 'nngp';
}

/** CSR rows for {@link NativeFeatureMap.transform} (chosen by the presence of `indptr`). */
export interface NativeCsrArgs {
  indptr: Int32Array;
  indices: Int32Array;
  values: FloatArray;
  n: number;
  out: FloatArray;
  kernel: 'ntk' | 'nngp';
}

/**
 * Native half of a feature map: an immutable seeded map of n inputs (rows or images) to n x features.
 * The inputs (x, values) may be float32 or float64 whatever the map's dtype: the job converts them in
 * chunks of rows and first refuses a non-finite value (as converted) with a RangeError naming X
 * (X.data for CSR) and its flat index, before writing anything (async: the Promise rejects with it).
 * `out` is of the map's dtype. A map that reads dense input only (CNTKSketch) refuses CSR args with a
 * TypeError.
 */
export interface NativeFeatureMap {
  /** Runs on the backend chosen when the map was built. */
  transform(args: NativeDenseArgs | NativeCsrArgs, async: boolean): Promise<void> | undefined;
  /** Releases the parameters now (running async jobs keep their own reference); later calls throw. */
  dispose(): void;
}

/** Images and network of the exact CNTK. */
export interface NativeCntkShape {
  channels: number;
  height: number;
  width: number;
  depth: number;
  filterSize: number;
  padding: 'valid' | 'same';
}

/** The native NTKSketch's parameters, by name. */
export interface NativeNtkSketchOptions {
  inputDim: number;
  depth: number;
  features: number;
  sketchDim: number;
  seed: number;
  dtype: 'float32' | 'float64';
  k1: Float64Array[];
  k0: Float64Array[];
  /** Diagnostics: false skips the rescaling of blocks (the plain, unbiased product sketch). Default true. */
  normalize?: boolean;
  /** false: every block sampled, none an exact copy of its input (LeverageSelection pools). Default true. */
  exactCopies?: boolean;
  /** Where transforms run, chosen once: 'cuda' uploads the parameters to the device now. Default 'cpu'. */
  backend?: NativeBackendName;
}

/**
 * A kept-rows NTKSketch: only these output rows (increasing) of the pool's `kernel` features, times
 * `scales`, every block rescaled over its kept rows. It shares the pool's layers (they stay alive while
 * either map holds them: disposing the pool leaves the kept map working) and runs on the CPU.
 */
export interface NativeNtkSketchKeptOptions {
  pool: NativeNtkSketchMap;
  kept: { rows: Int32Array; scales: Float64Array; kernel: 'ntk' | 'nngp' };
}

/** Native half of NTKSketch. */
export interface NativeNtkSketchMap extends NativeFeatureMap {
  /** parameterBytes: what this map owns (a kept-rows map: its gathered blocks, not the pool's layers). */
  info(): { parameterBytes: number; workspaceBytes: number; deviceBytes: number };
  /** Output rows of `kernel`'s features that are the same for every seed (constant blocks). */
  constantRows(kernel: 'ntk' | 'nngp'): Int32Array;
}

/** Native half of NTKRandomFeatures. */
export interface NativeNtkRandomFeaturesMap extends NativeFeatureMap {
  info(): {
    parameterBytes: number;
    nngpExtraBytes: number;
    finalSrht: boolean;
    callBytes: { ntkDense: number; ntkCsr: number; nngpDense: number; nngpCsr: number };
  };
  weights(layer: number): { inputDim: number; step: FloatArray; arcCosine: FloatArray; weight: Float64Array };
}

/** Native half of CNTKSketch. */
export interface NativeCntkSketchMap extends NativeFeatureMap {
  info(): { parameterBytes: number; workspaceBytes: { ntk: number; nngp: number }; outHeight: number; outWidth: number };
}

export interface NativeBackends {
  cpu: {
    available: true; blas: string; blasCore: string; blasThreads: number; threads: number; openmp: boolean;
    /** Vector instruction set of the sketch kernels: 'avx512', 'avx2' or 'baseline' (NTK_SKETCH_SIMD caps it). */
    simd: 'avx512' | 'avx2' | 'baseline';
    /** The compiler the addon was built with and its build switches (e.g. 'gcc 12.2.0, NDEBUG'). */
    compiler: string;
  };
  cuda: {
    compiled: boolean;
    available: boolean;
    reason?: string;
    runtimeVersion: number;
    devices: { index: number; name: string; memoryBytes: number; computeCapability: string }[];
  };
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A place the addon may be loaded from; `unfit` says why it cannot be used here without trying. */
export interface AddonCandidate {
  path: string;
  /** env: NTK_SKETCH_ADDON; cmake / gyp: a build from source in the package; prebuild: shipped in the package. */
  kind: 'env' | 'cmake' | 'gyp' | 'prebuild';
  unfit?: string;
}

/**
 * Where the addon is looked up, in order: the path in `NTK_SKETCH_ADDON` (alone:
 * an explicit choice is never replaced by another addon), else a build from
 * source (`build-cmake/Release`, then `build/Release`: a local build wins, as it
 * was made on purpose), then the prebuilt addon for this platform.
 */
export function addonCandidates(
  env: NodeJS.ProcessEnv = process.env,
  root: string = packageRoot,
  platform: AddonPlatform = currentAddonPlatform(),
): AddonCandidate[] {
  if (env.NTK_SKETCH_ADDON) return [{ path: resolve(env.NTK_SKETCH_ADDON), kind: 'env' }];
  const prebuild = findPrebuild(root, platform);
  return [
    { path: resolve(root, 'build-cmake', 'Release', 'ntk_sketch.node'), kind: 'cmake' },
    { path: resolve(root, 'build', 'Release', 'ntk_sketch.node'), kind: 'gyp' },
    { path: prebuild.path, kind: 'prebuild', unfit: 'unfit' in prebuild ? prebuild.unfit : undefined },
  ];
}

/** One candidate that was considered and why it was not used. */
export interface AddonAttempt {
  path: string;
  kind: AddonCandidate['kind'];
  reason: string;
}

/**
 * Loads the first candidate that exists, fits and loads; throws an Error naming
 * every candidate, why each failed, and what to install and run.
 */
export function loadFirstAddon(
  candidates: AddonCandidate[],
  load: (path: string) => unknown,
  exists: (path: string) => boolean,
  platform: AddonPlatform,
): { addon: unknown; path: string } {
  const attempts: AddonAttempt[] = [];
  for (const c of candidates) {
    if (c.unfit) {
      attempts.push({ ...c, reason: c.unfit });
      continue;
    }
    if (!exists(c.path)) {
      attempts.push({ ...c, reason: c.kind === 'prebuild' ? 'the prebuilt addon is missing from the package' : 'not built' });
      continue;
    }
    try {
      return { addon: load(c.path), path: c.path };
    } catch (error) {
      attempts.push({ ...c, reason: explainLoadError(c.path, error) });
    }
  }
  throw new Error(noAddonMessage(attempts, platform));
}

/** The error when no candidate loaded: what was tried, why each failed, what to do. */
export function noAddonMessage(attempts: AddonAttempt[], platform: AddonPlatform): string {
  const label = { env: 'NTK_SKETCH_ADDON', cmake: 'source build (cmake-js)', gyp: 'source build (node-gyp)', prebuild: 'prebuilt addon' };
  const lines = [
    `ntk-sketch: no native addon could be loaded (Node ${platform.node}, ${prebuildTag(platform)}` +
      `${platform.glibcVersion ? ` ${platform.glibcVersion}` : ''}, Node-API ${platform.napi}). Tried:`,
    ...attempts.map((a) => `  - ${label[a.kind]} ${a.path}: ${a.reason}`),
  ];
  if (attempts.length === 1 && attempts[0].kind === 'env') {
    lines.push('Unset NTK_SKETCH_ADDON to use the addon of the package, or point it at a built ntk_sketch.node.');
  } else {
    lines.push(buildFromSourceInstructions(platform));
  }
  return lines.join('\n');
}

/** Turns a dlopen failure into a message that says what to do. */
export function explainLoadError(path: string, error: unknown): string {
  const msg = error instanceof Error ? error.message : String(error);
  const rebuild = '`npm rebuild ntk-sketch` from your project (`npm run build:native` in a checkout)';
  const missingLib = /([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file/.exec(msg);
  if (missingLib) {
    const lib = missingLib[1];
    const hint = /blas|lapack|gfortran/i.test(lib)
      ? `install the BLAS runtime (Debian/Ubuntu: apt-get install libopenblas-dev) and rebuild with ${rebuild}`
      : /gomp/i.test(lib)
        ? 'install the OpenMP runtime (Debian/Ubuntu: apt-get install libgomp1)'
        : `install the library it names, then rebuild with ${rebuild}`;
    return `ntk-sketch: the native addon at ${path} needs the shared library ${lib}, which is missing: ${hint}.`;
  }
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version|invalid ELF header|wrong ELF class/.test(msg)) {
    return `ntk-sketch: the native addon at ${path} was built for another Node.js ABI or platform (running Node ${process.version} on ${process.platform}-${process.arch}); rebuild it with ${rebuild}. (${msg})`;
  }
  if (/GLIBC(XX)?_[\d.]+' not found/.test(msg)) {
    return `ntk-sketch: the native addon at ${path} needs a newer C or C++ runtime than this system has (${msg}); build it from source with ${rebuild}.`;
  }
  if (/undefined symbol/.test(msg)) {
    return `ntk-sketch: the native addon at ${path} is incomplete or was linked against a different BLAS (${msg}); rebuild it with ${rebuild}.`;
  }
  return `ntk-sketch: failed to load the native addon at ${path}: ${msg}`;
}

/**
 * OpenBLAS kernel family to request from a DYNAMIC_ARCH OpenBLAS that may not
 * recognise this CPU. Debian 12's OpenBLAS 0.3.21 falls back to generic SSE3
 * ("Prescott") kernels on recent Xeons, about 5x slower for GEMM. The choice
 * is made from the CPU's own feature flags, so it never asks for instructions
 * the CPU lacks; a user's OPENBLAS_CORETYPE always wins.
 */
export function openblasCoreTypeFor(cpuFlags: ReadonlySet<string>): string | undefined {
  const has = (...flags: string[]) => flags.every((f) => cpuFlags.has(f));
  if (has('avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl')) return 'SkylakeX';
  if (has('avx2', 'fma')) return 'Haswell';
  return undefined;
}

function selectOpenblasCore(): void {
  if (process.env.OPENBLAS_CORETYPE || process.platform !== 'linux' || process.arch !== 'x64') return;
  let flags: Set<string>;
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^flags\s*:(.*)$/m.exec(info);
    if (!line) return;
    flags = new Set(line[1].trim().split(/\s+/));
  } catch {
    return;
  }
  const core = openblasCoreTypeFor(flags);
  if (core) process.env.OPENBLAS_CORETYPE = core;
}

let cached: NativeAddon | undefined;
let cachedPath = '';

/** The addon, loaded once; throws an Error explaining what failed. */
export function native(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const platform = currentAddonPlatform();
  selectOpenblasCore();
  const loaded = loadFirstAddon(addonCandidates(process.env, packageRoot, platform), (p) => require(p), existsSync, platform);
  cached = loaded.addon as NativeAddon;
  cachedPath = loaded.path;
  return cached;
}

/** The file the addon was loaded from (loading it first). */
export function loadedAddonPath(): string {
  native();
  return cachedPath;
}
