// GPU exact NTK: the rows normalised on the device in float64, a
// register-tiled float64 Gram of the unit rows fused with the arc-cosine
// recursion (the same ntk_normalized() the CPU path uses) and the conversion
// to the output type, so each entry leaves the GPU once, already in T.
//
// Why this shape: the first version (16 x 16 shared-memory tiles, one output
// per thread, both outputs always computed in float64 and converted on the
// host) ran 4x slower than the 16-thread CPU path on an H100 at n = 8000:
// the float64 copies of outputs nobody asked for, a host conversion loop and
// a plain cudaMemcpy into a fresh JavaScript array (1 GB/s) dominated. A
// thread now owns a 4 x 4 block of outputs (64 x 64 per thread block, 16-wide
// k steps), only the requested outputs are written, they travel through
// copy_to_host, and the input crosses the bus in T rather than as float64
// unit rows.
//
// Symmetric inputs: every entry's dot product is one fma chain over k in
// increasing order, and fma(a, b, c) = fma(b, a, c), so entries (i, j) and
// (j, i) are bit-identical without a mirroring pass; the diagonal uses the
// exact cosine 1, as on the CPU.
#include <algorithm>

#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_util.cuh"
#include "kernels/arccos.hpp"

namespace ntk {

namespace {

constexpr int kTileRows = 64;  // outputs per thread block, each way
constexpr int kTileK = 16;     // k step staged in shared memory
constexpr int kThreadsSide = 16;
constexpr int kPerThread = kTileRows / kThreadsSide;  // 4 x 4 outputs per thread
// Rows of output per launch: at most this many entries per output buffer on
// the device (256 MiB of float64), so any n x m fits in bounded memory.
constexpr int64_t kChunkEntries = int64_t{1} << 25;

// Rows divided by their norms, in float64, as normalize_rows does on the CPU
// (scaled by the largest magnitude first, so squaring cannot overflow or
// underflow); one warp per row. Zero rows stay zero with norm 0.
template <typename T>
__global__ void normalize_rows_kernel(const T* __restrict__ x, int64_t n, int64_t d, double* __restrict__ unit,
                                      double* __restrict__ norms) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= n) return;
  const T* r = x + row * d;
  double* u = unit + row * d;
  double amax = 0;
  for (int64_t k = lane; k < d; k += 32) amax = fmax(amax, fabs(static_cast<double>(r[k])));
  for (int o = 16; o > 0; o /= 2) amax = fmax(amax, __shfl_xor_sync(0xffffffffu, amax, o));
  if (amax == 0) {
    for (int64_t k = lane; k < d; k += 32) u[k] = 0;
    if (lane == 0) norms[row] = 0;
    return;
  }
  double ss = 0;
  for (int64_t k = lane; k < d; k += 32) {
    const double v = static_cast<double>(r[k]) / amax;
    ss = fma(v, v, ss);
  }
  for (int o = 16; o > 0; o /= 2) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  const double scaled_norm = sqrt(ss);
  for (int64_t k = lane; k < d; k += 32) u[k] = (static_cast<double>(r[k]) / amax) / scaled_norm;
  if (lane == 0) norms[row] = amax * scaled_norm;
}

// Uploads the rows of x (n x d, in T) and normalises them on the device.
template <typename T>
void normalize_on_device(const T* x, int64_t n, int64_t d, DeviceBuffer<double>& unit, DeviceBuffer<double>& norms) {
  DeviceBuffer<T> raw(static_cast<size_t>(n * d));
  if (n * d > 0)
    cuda_check(cudaMemcpy(raw.ptr, x, static_cast<size_t>(n * d) * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  constexpr int kRowsPerBlock = 8;
  normalize_rows_kernel<T><<<static_cast<unsigned>((n + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock>>>(
      raw.ptr, n, d, unit.ptr, norms.ptr);
  cuda_check(cudaGetLastError(), "kernel launch");
  // raw is freed on return: cudaFree waits for the kernel.
}

// Output rows [i0, i0 + rows) against all cols. u: unit rows (i0.. of X),
// v: unit rows of Z (or X), nu / nv their norms. Thread (tx, ty) of a block
// owns rows ty + 16 a and columns tx + 16 b (a, b < 4): neighbouring threads
// write neighbouring columns (coalesced stores) and read distinct shared
// memory banks.
template <typename T>
__global__ void __launch_bounds__(kThreadsSide * kThreadsSide)
ntk_tile_kernel(const double* __restrict__ u, const double* __restrict__ v, const double* __restrict__ nu,
                const double* __restrict__ nv, int64_t rows, int64_t cols, int64_t d, int64_t i0,
                bool symmetric, int depth, T* __restrict__ theta_out, T* __restrict__ sigma_out) {
  __shared__ double su[kTileK][kTileRows + 1];
  __shared__ double sv[kTileK][kTileRows + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int tid = ty * kThreadsSide + tx;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTileRows;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTileRows;

  double acc[kPerThread][kPerThread];
#pragma unroll
  for (int a = 0; a < kPerThread; ++a)
#pragma unroll
    for (int b = 0; b < kPerThread; ++b) acc[a][b] = 0.0;

  for (int64_t k0 = 0; k0 < d; k0 += kTileK) {
    // 64 rows x 16 k of each operand, 4 loads per thread, consecutive
    // threads on consecutive k (coalesced).
#pragma unroll
    for (int s = 0; s < kPerThread; ++s) {
      const int r = tid / kTileK + s * (kThreadsSide * kThreadsSide / kTileK);
      const int c = tid % kTileK;
      const int64_t k = k0 + c;
      const int64_t ru = row0 + r, rv = col0 + r;
      su[c][r] = (ru < rows && k < d) ? u[ru * d + k] : 0.0;
      sv[c][r] = (rv < cols && k < d) ? v[rv * d + k] : 0.0;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      double ra[kPerThread], rb[kPerThread];
#pragma unroll
      for (int a = 0; a < kPerThread; ++a) ra[a] = su[kk][ty + a * kThreadsSide];
#pragma unroll
      for (int b = 0; b < kPerThread; ++b) rb[b] = sv[kk][tx + b * kThreadsSide];
#pragma unroll
      for (int a = 0; a < kPerThread; ++a)
#pragma unroll
        for (int b = 0; b < kPerThread; ++b) acc[a][b] = fma(ra[a], rb[b], acc[a][b]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int a = 0; a < kPerThread; ++a) {
    const int64_t li = row0 + ty + a * kThreadsSide;
    if (li >= rows) continue;
    const int64_t i = i0 + li;
#pragma unroll
    for (int b = 0; b < kPerThread; ++b) {
      const int64_t j = col0 + tx + b * kThreadsSide;
      if (j >= cols) continue;
      const double rho = (symmetric && i == j && nu[li] > 0) ? 1.0 : acc[a][b];
      double theta, sigma;
      ntk_normalized(rho, depth, &theta, &sigma);
      const double scale = nu[li] * nv[j];
      if (theta_out) theta_out[li * cols + j] = static_cast<T>(scale * theta);
      if (sigma_out) sigma_out[li * cols + j] = static_cast<T>(scale * sigma);
    }
  }
}

}  // namespace

template <typename T>
void ntk_exact_cuda(const T* x, int64_t n, const T* z, int64_t m, int64_t d, bool symmetric,
                    int depth, T* ntk, T* nngp, JobFlags flags) {
  require_device();
  if (symmetric) m = n;
  if (n == 0 || m == 0 || (!ntk && !nngp)) return;
  DeviceBuffer<double> du(static_cast<size_t>(n * d)), dnu(static_cast<size_t>(n));
  normalize_on_device(x, n, d, du, dnu);
  // Z's rows are X's when symmetric: one copy serves both operands.
  DeviceBuffer<double> dv(symmetric ? 0 : static_cast<size_t>(m * d)), dnv(symmetric ? 0 : static_cast<size_t>(m));
  if (!symmetric) normalize_on_device(z, m, d, dv, dnv);
  const double* v_ptr = symmetric ? du.ptr : dv.ptr;
  const double* nv_ptr = symmetric ? dnu.ptr : dnv.ptr;

  // Whole 64-row tiles per chunk (at least one), capped by kChunkEntries.
  const int64_t tiles = std::max<int64_t>(1, kChunkEntries / (m * kTileRows));
  const int64_t chunk = std::min<int64_t>(n, tiles * kTileRows);
  const size_t entries = static_cast<size_t>(chunk * m);
  DeviceBuffer<T> dtheta(ntk ? entries : 0), dsigma(nngp ? entries : 0);
  // Progress in the CPU kernel's units: 256 x 256 tiles (the lower
  // triangle's when symmetric) of the rows done.
  const int64_t tile_cols = (m + 255) / 256;
  auto tiles_before = [&](int64_t rows) {
    const int64_t t = (rows + 255) / 256;
    return symmetric ? t * (t + 1) / 2 : t * tile_cols;
  };
  for (int64_t i0 = 0; i0 < n; i0 += chunk) {
    if (flags.cancelled()) throw JobCancelled();
    const int64_t r = std::min(chunk, n - i0);
    const dim3 block(kThreadsSide, kThreadsSide);
    const dim3 grid(static_cast<unsigned>((m + kTileRows - 1) / kTileRows),
                    static_cast<unsigned>((r + kTileRows - 1) / kTileRows));
    ntk_tile_kernel<T><<<grid, block>>>(du.ptr + i0 * d, v_ptr, dnu.ptr + i0, nv_ptr, r, m, d, i0, symmetric,
                                        depth, dtheta.ptr, dsigma.ptr);
    cuda_check(cudaGetLastError(), "kernel launch");
    const size_t bytes = static_cast<size_t>(r * m) * sizeof(T);
    if (ntk) copy_to_host(ntk + i0 * m, dtheta.ptr, bytes);
    if (nngp) copy_to_host(nngp + i0 * m, dsigma.ptr, bytes);
    flags.done(static_cast<int32_t>(tiles_before(i0 + r) - tiles_before(i0)));
  }
}

template void ntk_exact_cuda<float>(const float*, int64_t, const float*, int64_t, int64_t, bool,
                                    int, float*, float*, JobFlags);
template void ntk_exact_cuda<double>(const double*, int64_t, const double*, int64_t, int64_t,
                                     bool, int, double*, double*, JobFlags);

}  // namespace ntk
