/**
 * Exact convolutional NTK and CNN-GP kernels with global average pooling
 * (docs/math.md#convolutional-ntk).
 *
 * Images x, z of C channels on an H x W grid; L conv layers of q x q filters,
 * stride 1, no bias, ReLU, then global average pooling and a linear read-out.
 * With the patch sum on both pixel grids P[M]_{p,p'} = sum_{d in [q]^2} M_{p+d, p'+d}
 * ('same' padding: taps outside the grid are zero; 'valid': each layer shrinks
 * the grid by q - 1):
 *
 *     Gamma^1 = P[S^0],  S^0_{p,p'} = <x_p, z_p'>,   Xi^1 = Gamma^1
 *     N^h_x(p) = Gamma^h(x,x)_{p,p},  rho = Gamma^h_{p,p'} / sqrt(N^h_x(p) N^h_z(p'))
 *     Sigma^h = sqrt(N^h_x N^h_z) k1(rho),  dSigma^h = k0(rho),  T^h = Xi^h dSigma^h + Sigma^h
 *     Gamma^(h+1) = P[Sigma^h] / q^2,  Xi^(h+1) = P[T^h] / q^2
 *     CNTK = mean_{p,p'} T^L,  CNN-GP = mean_{p,p'} Sigma^L
 *
 * This is the kernel of f_1 = conv(x, W_1), g_h = sqrt(2/C_h) relu(f_h),
 * f_(h+1) = conv(g_h, W_(h+1)) / q, out = v . mean_p g_L, all weights N(0, 1),
 * in the infinite-width limit.
 *
 * Cost: O((HW)^2 L (q + one arccos)) per pair of images, computed in float64
 * whatever the input dtype, OpenMP-parallel over pairs (X vs X: one triangle)
 * with O(HW) scratch per thread. The normalisers N^h are computed once per
 * image. Results are bit-identical for any thread count and with or without
 * onProgress.
 */
import {
  allocate,
  checkMemory,
  checkOptions,
  describe,
  elementBytes,
  intOption,
  memoryLimitOption,
  toImages,
  toNdarray,
  type Images,
} from '../core/arrays.js';
import { native, type FloatArray, type NativeCntkShape } from '../core/native.js';
import { resolveBackend, type BackendChoice } from '../core/backends.js';
import type { ImagesLike } from '../core/inputs.js';
import { MAX_DEPTH, type KernelOutput, type KernelResult, type NngpResult, type NtkResult } from './ntk-kernel.js';
import { controlOptions, runAsync, runSync, type Steps } from '../core/steps.js';
import { jobCopy } from '../core/job-inputs.js';

export type Padding = 'valid' | 'same';

export interface CntkKernelOptions<O extends KernelOutput = KernelOutput> {
  /** Number of conv layers L (1..1000; with 'valid' padding also at most (min(H, W) - 1) / (filterSize - 1)). */
  depth: number;
  /** Filter edge q (1..min(H, W)); odd with 'same' padding. */
  filterSize: number;
  /** 'valid' (each layer shrinks the grid by filterSize - 1) or 'same' (zero padding, odd filterSize). */
  padding: Padding;
  /** Which kernels to compute. Default: both. */
  output?: O;
  /** Refuse work needing more bytes than this (results, per-image data, per-thread scratch). Default 4 GiB. */
  memoryLimit?: number;
  /**
   * 'cpu', 'cuda' (a RangeError giving the reason when no CUDA device is
   * usable) or 'auto' (CUDA when usable). The GPU computes in float64 too and
   * agrees with the CPU to rounding (a few sums run in another order).
   * Default 'cpu'.
   */
  backend?: BackendChoice;
  /**
   * Called with (pairs done, pairs in total) after each block of rows; when
   * given, the work is split into up to 100 row blocks. Results do not depend
   * on it. An exception thrown by it aborts the call.
   */
  onProgress?: (done: number, total: number) => void;
  /**
   * Aborts the call (async form): it rejects with an AbortError (DOMException)
   * when the block of rows running ends; the work is then split into up to
   * 1,000 row blocks (results do not depend on it).
   */
  signal?: AbortSignal;
}

interface Prepared {
  x: Images;
  z: Images | null;
  m: number;
  depth: number;
  filterSize: number;
  same: boolean;
  prepDoubles: number;
  ntk: FloatArray | null;
  nngp: FloatArray | null;
  onProgress: ((done: number, total: number) => void) | undefined;
  signal: AbortSignal | undefined;
  backend: 'cpu' | 'cuda';
}

const KNOWN = ['depth', 'filterSize', 'padding', 'output', 'memoryLimit', 'onProgress', 'backend', 'signal'] as const;

function prepare(fn: string, X: unknown, Z: unknown, options: unknown): Prepared {
  if (options === undefined) {
    throw new TypeError(`${fn}: options with depth, filterSize and padding are required, e.g. { depth: 2, filterSize: 3, padding: 'same' }`);
  }
  const opts = checkOptions(`${fn} options`, options, KNOWN);
  const depth = intOption('depth', opts.depth, 1, MAX_DEPTH);
  const filterSize = intOption('filterSize', opts.filterSize, 1, 1_000_000);
  const padding = opts.padding;
  if (typeof padding !== 'string') {
    throw new TypeError(`padding must be 'valid' or 'same', got ${describe(padding)}`);
  }
  if (padding !== 'valid' && padding !== 'same') {
    throw new RangeError(`padding must be 'valid' or 'same', got '${padding}'`);
  }
  const same = padding === 'same';
  const output = opts.output ?? 'both';
  if (output !== 'both' && output !== 'ntk' && output !== 'nngp') {
    throw new RangeError(`output must be 'both', 'ntk' or 'nngp', got ${describe(output)}`);
  }
  const memoryLimit = memoryLimitOption('memoryLimit', opts.memoryLimit);
  const backend = resolveBackend('backend', opts.backend);
  const onProgress = opts.onProgress;
  const { signal } = controlOptions(`${fn} options`, { signal: opts.signal });
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError(`onProgress must be a function (done, total) => void, got ${describe(onProgress)}`);
  }

  const x = toImages('X', X);
  let z: Images | null = null;
  if (Z !== null && Z !== undefined) {
    z = toImages('Z', Z, { like: x, likeName: 'those of X', dtype: x.dtype });
  }
  const { height, width } = x;
  if (filterSize > Math.min(height, width)) {
    throw new RangeError(`filterSize must be at most the image size ${height} x ${width} (min ${Math.min(height, width)}), got ${filterSize}`);
  }
  if (same && filterSize % 2 === 0) {
    throw new RangeError(`filterSize must be odd with padding 'same' (the patch is centred on the pixel), got ${filterSize}; use an odd size or padding 'valid'`);
  }
  if (!same && filterSize > 1) {
    const maxDepth = Math.floor((Math.min(height, width) - 1) / (filterSize - 1));
    if (depth > maxDepth) {
      throw new RangeError(
        `depth ${depth} with filterSize ${filterSize} and padding 'valid' shrinks the ${height} x ${width} images to nothing ` +
          `(each layer removes ${filterSize - 1} pixels per side length); depth must be at most ${maxDepth}, or use padding 'same'`,
      );
    }
  }

  const layout = native().cntkLayout({ channels: x.channels, height, width, depth, filterSize, padding: same ? 'same' : 'valid' });
  const n = x.count;
  const m = z ? z.count : n;
  const outputs = output === 'both' ? 2 : 1;
  const bytes =
    outputs * n * m * elementBytes(x.dtype) + 8 * layout.prepDoubles * (n + (z ? m : 0)) + layout.threads * layout.scratchBytes;
  checkMemory(`${fn}: a ${n} x ${m} kernel of ${height} x ${width} images`, bytes, memoryLimit);
  return {
    x,
    z,
    m,
    depth,
    filterSize,
    same,
    prepDoubles: layout.prepDoubles,
    ntk: output === 'nngp' ? null : allocate(x.dtype, n * m),
    nngp: output === 'ntk' ? null : allocate(x.dtype, n * m),
    onProgress: onProgress as Prepared['onProgress'],
    signal,
    backend,
  };
}

/** Pairs in rows [0, r) of the result. */
function pairsBefore(p: Prepared, r: number): number {
  return p.z ? r * p.m : (r * (r + 1)) / 2;
}

/**
 * Row blocks [r_k, r_(k+1)) holding about equal numbers of pairs: one block
 * without onProgress or signal, else up to 100 (onProgress) or 1,000 (signal: an
 * abort waits for one block), at least 64 pairs each where possible.
 */
function rowBlocks(p: Prepared): number[] {
  const n = p.x.count;
  const total = pairsBefore(p, n);
  const most = p.signal ? 1000 : p.onProgress ? 100 : 1;
  const blocks = Math.max(1, Math.min(most, n, Math.floor(total / 64)));
  const bounds = [0];
  let r = 0;
  for (let k = 1; k <= blocks; k++) {
    const target = (total * k) / blocks;
    while (r < n && pairsBefore(p, r) < target) r++;
    if (r > bounds[bounds.length - 1]) bounds.push(r);
  }
  if (bounds[bounds.length - 1] !== n) bounds.push(n);
  return bounds;
}

function prepBuffers(p: Prepared): { px: Float64Array; pz: Float64Array | null } {
  return {
    px: new Float64Array(p.x.count * p.prepDoubles),
    pz: p.z ? new Float64Array(p.z.count * p.prepDoubles) : null,
  };
}

/** The shape the native calls take. */
function shapeOf(p: Prepared): NativeCntkShape {
  const { channels, height, width } = p.x;
  return { channels, height, width, depth: p.depth, filterSize: p.filterSize, padding: p.same ? 'same' : 'valid' };
}

function prepareImages(p: Prepared, images: Images, out: Float64Array, async: boolean) {
  return native().cntkPrepare({ shape: shapeOf(p), x: images.data, n: images.count, prep: out }, async);
}

function pairs(p: Prepared, px: Float64Array, pz: Float64Array | null, r0: number, r1: number, async: boolean) {
  return native().cntkPairs(
    { shape: shapeOf(p), prepX: px, n: p.x.count, prepZ: pz, m: p.m, rowBegin: r0, rowEnd: r1, ntkOut: p.ntk, nngpOut: p.nngp, backend: p.backend },
    async,
  );
}

function result<O extends KernelOutput>(p: Prepared): KernelResult<O> {
  const out: Partial<NtkResult & NngpResult> = {};
  if (p.ntk) out.ntk = toNdarray(p.ntk, p.x.count, p.m);
  if (p.nngp) out.nngp = toNdarray(p.nngp, p.x.count, p.m);
  return out as KernelResult<O>;
}

/** The whole computation as native steps (sync or async), progress reported between row blocks. */
function* steps<O extends KernelOutput>(p: Prepared, async: boolean): Steps<KernelResult<O>> {
  const { px, pz } = prepBuffers(p);
  yield prepareImages(p, p.x, px, async);
  if (p.z && pz) yield prepareImages(p, p.z, pz, async);
  const bounds = rowBlocks(p);
  const total = pairsBefore(p, p.x.count);
  for (let k = 0; k + 1 < bounds.length; k++) {
    yield pairs(p, px, pz, bounds[k], bounds[k + 1], async);
    p.onProgress?.(pairsBefore(p, bounds[k + 1]), total);
  }
  return result<O>(p);
}

/**
 * Exact CNTK and CNN-GP Gram matrices between the images of X (n x C x H x W)
 * and Z (m x C x H x W), or of X with itself when Z is null (one triangle is
 * computed; a pair of an image with itself uses the exact cosine 1 on
 * p = p'). Output dtype follows X; Z is converted to X's dtype.
 */
export function cntkKernelSync<O extends KernelOutput = 'both'>(
  X: ImagesLike, Z: ImagesLike | null, options: CntkKernelOptions<O>,
): KernelResult<O> {
  const p = prepare('cntkKernelSync', X, Z, options);
  return runSync(steps<O>(p, false), p.signal);
}

/** Async form of {@link cntkKernelSync}: runs off the JavaScript thread; rejects on bad input. */
export async function cntkKernel<O extends KernelOutput = 'both'>(
  X: ImagesLike, Z: ImagesLike | null, options: CntkKernelOptions<O>,
): Promise<KernelResult<O>> {
  const p = prepare('cntkKernel', X, Z, options);
  // The job reads private copies of the images (core/job-inputs.ts): the caller may detach theirs meanwhile.
  p.x = { ...p.x, data: jobCopy(p.x.data) };
  if (p.z) p.z = { ...p.z, data: jobCopy(p.z.data) };
  return runAsync(steps<O>(p, true), p.signal);
}
