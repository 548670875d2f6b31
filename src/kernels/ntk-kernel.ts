/**
 * Exact fully connected NTK and NNGP kernels (docs/math.md#fully-connected-ntk).
 *
 * For a depth-L ReLU network f = W_(L+1) g_L, g_h = sqrt(2/width) relu(W_h g_(h-1)),
 * g_0 = x, all weights N(0, 1), in the infinite-width limit:
 *
 *     Sigma^0 = <x, z>,  rho^h = Sigma^h / (|x||z|)
 *     Sigma^h = |x||z| k1(rho^(h-1)),  dSigma^h = k0(rho^(h-1))
 *     Theta^0 = Sigma^0,  Theta^h = Theta^(h-1) dSigma^h + Sigma^h
 *
 * with the arc-cosine kernels k0(t) = (pi - arccos t)/pi and
 * k1(t) = (sqrt(1 - t^2) + t (pi - arccos t))/pi. NTK = Theta^L, NNGP = Sigma^L.
 *
 * Cost: float64 GEMMs of the row-normalised inputs on 256 x 256 output tiles
 * (2 n m d flops; about half for the symmetric X-vs-X case, where only the
 * lower triangle of tiles is computed) fused with the O(n m L) recursion,
 * OpenMP-parallel over tiles. Results are bit-identical for any thread count, row split and BLAS kernel family
 * (the cosines come from the core's FMA-chain GEMM, linalg/fma_gemm.hpp). Cosines are computed in float64 whatever the input dtype;
 * float32 outputs are rounded from float64 results (relative error <= 6e-8).
 * Cosines within ~1e-16 of 1 between distinct but identical rows lose ~1e-8
 * relative accuracy (arccos is not Lipschitz at 1); the diagonal of the
 * symmetric case uses the exact cosine 1, so Theta(x, x) = (L+1)|x|^2.
 */
import type { NdArray } from 'ndarray';
import {
  allocate,
  checkMemory,
  checkOptions,
  elementBytes,
  intOption,
  memoryLimitOption,
  toMatrix,
  toNdarray,
  type Matrix,
  type MatrixLike,
} from '../core/arrays.js';
import { native, type FloatArray } from '../core/native.js';
import { resolveBackend, type BackendChoice } from '../core/backends.js';
import { jobCopy } from '../core/job-inputs.js';
import { CONTROL_KEYS, checkAborted, controlOptions, type CallControl } from '../core/steps.js';

/** Which kernels a call computes. */
export type KernelOutput = 'both' | 'ntk' | 'nngp';

export interface NtkKernelOptions<O extends KernelOutput = KernelOutput> {
  /** Number of hidden ReLU layers L (1..1000). */
  depth: number;
  /** Which kernels to compute. Default: both. */
  output?: O;
  /** 'auto' (CUDA when available, else CPU), 'cpu' or 'cuda'. Default 'cpu'. */
  backend?: BackendChoice;
  /** Refuse results needing more bytes than this. Default 4 GiB. */
  memoryLimit?: number;
  /**
   * Aborts the call (async form): the native job stops at its next 256 x 256
   * tile (CUDA: its next chunk of rows, up to 2^25 entries) and the call
   * rejects with an AbortError (DOMException).
   */
  signal?: AbortSignal;
  /** Called with (tiles done, tiles) while the async form runs (every 50 ms; CUDA: per chunk of rows) and when it ends. */
  onProgress?: (done: number, total: number) => void;
}

/** Theta^L, n x m: present unless output is 'nngp'. */
export interface NtkResult<T extends FloatArray = FloatArray> {
  ntk: NdArray<T>;
}

/** Sigma^L, n x m: present unless output is 'ntk'. */
export interface NngpResult<T extends FloatArray = FloatArray> {
  nngp: NdArray<T>;
}

/**
 * The kernels a call returns, typed by the output it asked for: `ntk` and
 * `nngp` for 'both' (the default), only `ntk` for 'ntk', only `nngp` for
 * 'nngp'. Output dtype follows X.
 */
export type KernelResult<O extends KernelOutput = 'both', T extends FloatArray = FloatArray> = O extends 'ntk'
  ? NtkResult<T>
  : O extends 'nngp'
    ? NngpResult<T>
    : NtkResult<T> & NngpResult<T>;

export const MAX_DEPTH = 1000;

interface Prepared {
  x: Matrix;
  z: Matrix | null;
  m: number;
  depth: number;
  ntk: FloatArray | null;
  nngp: FloatArray | null;
  backend: 'cpu' | 'cuda';
  control: CallControl;
  /** [cancel, tiles done], shared with the native job. */
  flags: Int32Array;
}

function prepare(fn: string, X: unknown, Z: unknown, options: unknown): Prepared {
  const opts = checkOptions(`${fn} options`, options, ['depth', 'output', 'backend', 'memoryLimit', ...CONTROL_KEYS]);
  const control = controlOptions(`${fn} options`, opts);
  if (options === undefined) throw new TypeError(`${fn}: options with a depth are required, e.g. { depth: 2 }`);
  const depth = intOption('depth', opts.depth, 1, MAX_DEPTH);
  const output = opts.output ?? 'both';
  if (output !== 'both' && output !== 'ntk' && output !== 'nngp') {
    throw new RangeError(`output must be 'both', 'ntk' or 'nngp', got ${String(output)}`);
  }
  const memoryLimit = memoryLimitOption('memoryLimit', opts.memoryLimit);
  const x = toMatrix('X', X);
  let z: Matrix | null = null;
  if (Z !== null && Z !== undefined) {
    z = toMatrix('Z', Z, { cols: x.cols, colsName: 'the columns of X', dtype: x.dtype });
  }
  const m = z ? z.rows : x.rows;
  const outputs = output === 'both' ? 2 : 1;
  // Results, plus the float64 normalised copies of the inputs.
  const bytes = outputs * x.rows * m * elementBytes(x.dtype) + 8 * (x.rows + (z ? z.rows : 0)) * x.cols;
  checkMemory(`${fn}: a ${x.rows} x ${m} kernel`, bytes, memoryLimit);
  const backend = resolveBackend('backend', opts.backend);
  return {
    x,
    z,
    m,
    depth,
    ntk: output === 'nngp' ? null : allocate(x.dtype, x.rows * m),
    nngp: output === 'ntk' ? null : allocate(x.dtype, x.rows * m),
    backend,
    control,
    flags: new Int32Array(2),
  };
}

/** Tiles of 256 x 256 entries the native job computes (the lower triangle when symmetric). */
function tileCount(p: Prepared): number {
  const ti = Math.ceil(p.x.rows / 256), tj = Math.ceil(p.m / 256);
  return p.z ? ti * tj : (ti * (ti + 1)) / 2;
}

function result<O extends KernelOutput>(p: Prepared): KernelResult<O> {
  const out: Partial<NtkResult & NngpResult> = {};
  if (p.ntk) out.ntk = toNdarray(p.ntk, p.x.rows, p.m);
  if (p.nngp) out.nngp = toNdarray(p.nngp, p.x.rows, p.m);
  return out as KernelResult<O>;
}

function run(p: Prepared, async: boolean) {
  return native().ntkKernel(
    { x: p.x.data, n: p.x.rows, d: p.x.cols, z: p.z ? p.z.data : null, m: p.m, depth: p.depth, ntkOut: p.ntk, nngpOut: p.nngp, backend: p.backend, flags: p.flags },
    async,
  );
}

/**
 * Exact NTK and NNGP Gram matrices between the rows of X (n x d) and Z
 * (m x d), or of X with itself when Z is null (symmetric; one triangle is
 * computed). Output dtype follows X; Z is converted to X's dtype.
 */
export function ntkKernelSync<O extends KernelOutput = 'both'>(
  X: MatrixLike, Z: MatrixLike | null, options: NtkKernelOptions<O>,
): KernelResult<O> {
  const p = prepare('ntkKernelSync', X, Z, options);
  checkAborted(p.control.signal);
  run(p, false);
  p.control.onProgress?.(tileCount(p), tileCount(p));
  return result<O>(p);
}

/** Async form of {@link ntkKernelSync}: runs off the JavaScript thread; rejects on bad input. */
export async function ntkKernel<O extends KernelOutput = 'both'>(
  X: MatrixLike, Z: MatrixLike | null, options: NtkKernelOptions<O>,
): Promise<KernelResult<O>> {
  const p = prepare('ntkKernel', X, Z, options);
  // The job reads private copies of X and Z (core/job-inputs.ts): the caller may detach theirs meanwhile.
  p.x = { ...p.x, data: jobCopy(p.x.data) };
  if (p.z) p.z = { ...p.z, data: jobCopy(p.z.data) };
  const { signal, onProgress } = p.control;
  checkAborted(signal);
  // The native job polls flags[0] between tiles and counts tiles in flags[1].
  const cancel = () => Atomics.store(p.flags, 0, 1);
  signal?.addEventListener('abort', cancel, { once: true });
  const tiles = tileCount(p);
  const timer = onProgress ? setInterval(() => onProgress(Atomics.load(p.flags, 1), tiles), 50) : undefined;
  timer?.unref();
  try {
    await run(p, true);
  } catch (error) {
    checkAborted(signal);
    throw error;
  } finally {
    clearInterval(timer);
    signal?.removeEventListener('abort', cancel);
  }
  checkAborted(signal);
  onProgress?.(tiles, tiles);
  return result<O>(p);
}
