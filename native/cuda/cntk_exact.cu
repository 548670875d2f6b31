// GPU exact CNTK: the CPU path's computation (kernels/cntk_exact.cpp; read
// its header for the slab method) with one thread block per (image pair,
// row of displacements). A block keeps its slabs (at most H x W doubles
// each) in shared memory and walks the displacements of its row in the CPU's
// order; the threads split the entries of each slab. The per-entry
// arithmetic is the shared cntk_dual_step(); the per-image data come from
// the same cntk_prepare() (on the CPU: O(HW) per image), and the pairs are
// finished by the same cntk_finish_pair(). Only the order of a few sums
// differs from the CPU (the slab sums are tree reductions here), so results
// agree to rounding, not bit for bit.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_util.cuh"
#include "kernels/cntk_exact.hpp"

namespace ntk {

namespace {

constexpr int kThreads = 128;
// Pairs per launch (the y dimension of the grid).
constexpr int64_t kPairsPerLaunch = 65535;

// The layout as kernel arguments: grid edges and normaliser offsets live in
// a small device array (3 (L + 1) int64: gh, gw, norm_off).
struct DeviceLayout {
  int64_t channels, height, width, pixels, per_image;
  int depth, filter, offset;
  double inv_q2;
  const int64_t* geometry;
};

// out (rows_out x cols_out) = q x q patch sums of in (rows_in x cols_in),
// separable through tmp (rows_out x cols_in), taps in increasing order as on
// the CPU; taps outside `in` are zero. Ends with a barrier. Slab indices are
// 32-bit (a slab fits in shared memory): 64-bit division is emulated on GPUs.
__device__ void box_filter(const double* in, int rows_in, int cols_in, int rows_out, int cols_out, int q, int offset,
                           double* tmp, double* out) {
  for (int e = threadIdx.x; e < rows_out * cols_in; e += blockDim.x) {
    const int r = e / cols_in, c = e % cols_in;
    const int d_lo = max(0, offset - r), d_hi = min(q, rows_in + offset - r);
    double s = 0;
    for (int d = d_lo; d < d_hi; ++d) s += in[(r + d - offset) * cols_in + c];
    tmp[e] = s;
  }
  __syncthreads();
  for (int e = threadIdx.x; e < rows_out * cols_out; e += blockDim.x) {
    const int r = e / cols_out, c = e % cols_out;
    const int d_lo = max(0, offset - c), d_hi = min(q, cols_in + offset - c);
    const double* t = tmp + r * cols_in;
    double s = 0;
    for (int d = d_lo; d < d_hi; ++d) s += t[c + d - offset];
    out[e] = s;
  }
  __syncthreads();
}

// Sum over the block of one value per thread; every thread gets it.
__device__ double block_sum(double v, double* scratch) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  double total = 0;
  for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) total += scratch[w];
  __syncthreads();
  return total;
}

// Block (r, k): displacement row dy = r - (gh[L] - 1) of pair k (from
// pair_begin); writes the row's sums of T^L and Sigma^L.
__global__ void __launch_bounds__(kThreads)
cntk_rows_kernel(DeviceLayout lay, const double* __restrict__ prep_x, const double* __restrict__ prep_z,
                 int64_t x_first, int64_t m, bool symmetric, int64_t row_begin, int64_t pair_begin,
                 double* __restrict__ part_t, double* __restrict__ part_s) {
  extern __shared__ double smem[];
  __shared__ double scratch[kThreads / 32];
  const int L = lay.depth;
  const int64_t* gh = lay.geometry;
  const int64_t* gw = gh + (L + 1);
  const int64_t* norm_off = gw + (L + 1);
  const int64_t hl = gh[L], wl = gw[L];
  const int64_t ndy = 2 * hl - 1;
  const int64_t k = pair_begin + blockIdx.y;
  const int64_t dy = static_cast<int64_t>(blockIdx.x) - (hl - 1);
  int64_t i, j;
  cntk_pair_index(symmetric, m, row_begin, k, &i, &j);
  // prep_x holds images x_first.. (the rows a call needs); prep_z all of Z.
  const double* px = prep_x + (i - x_first) * lay.per_image;
  const double* pz = prep_z + j * lay.per_image;
  const bool self_pair = symmetric && i == j;

  double* slab[6];
  for (int s = 0; s < 6; ++s) slab[s] = smem + s * lay.pixels;
  const int ady = static_cast<int>(dy < 0 ? -dy : dy);
  const int ai = dy < 0 ? ady : 0, bi = dy > 0 ? ady : 0;
  const int width = static_cast<int>(lay.width), channels = static_cast<int>(lay.channels);
  double acc_t = 0, acc_s = 0;
  for (int dx = -static_cast<int>(wl - 1); dx <= static_cast<int>(wl - 1); ++dx) {
    const int adx = dx < 0 ? -dx : dx;
    const int aj = dx < 0 ? adx : 0, bj = dx > 0 ? adx : 0;
    const bool self = self_pair && dx == 0 && dy == 0;
    int rows = static_cast<int>(lay.height) - ady, cols = width - adx;
    // S^0_D(p) = <x_p, z_(p+D)> over the channels.
    double* s0 = slab[0];
    for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {
      const int r = e / cols, c = e % cols;
      const double* a = px + 1 + static_cast<int64_t>((ai + r) * width + aj + c) * channels;
      const double* b = pz + 1 + static_cast<int64_t>((bi + r) * width + bj + c) * channels;
      double s = 0;
      for (int ch = 0; ch < channels; ++ch) s += a[ch] * b[ch];
      s0[e] = s;
    }
    __syncthreads();
    const double* gin = s0;
    const double* xin = nullptr;
    double *g = slab[1], *x = slab[2], *g_next = slab[3], *x_next = slab[4], *tmp = slab[5];
    for (int h = 1; h <= L; ++h) {
      const int ghh = static_cast<int>(gh[h]), gwh = static_cast<int>(gw[h]);
      const int rout = ghh - ady, cout = gwh - adx;
      box_filter(gin, rows, cols, rout, cout, lay.filter, lay.offset, tmp, g);
      const double* xi = g;  // Xi^1 = Gamma^1
      if (h > 1) {
        box_filter(xin, rows, cols, rout, cout, lay.filter, lay.offset, tmp, x);
        xi = x;
      }
      const int grid = ghh * gwh;
      const double* sx = px + norm_off[h] + ai * gwh + aj;
      const double* sz = pz + norm_off[h] + bi * gwh + bj;
      const double post = h < L ? lay.inv_q2 : 1.0;
      double part_x = 0, part_g = 0;
      for (int e = threadIdx.x; e < rout * cout; e += blockDim.x) {
        const int r = e / cout, c = e % cout;
        const int o = r * gwh + c;
        double sigma, t;
        if (self)
          cntk_dual_step_self(xi[e], sx[o] * sz[o], &sigma, &t);
        else
          cntk_dual_step(g[e], xi[e], sx[o] * sz[o], sx[grid + o] * sz[grid + o], &sigma, &t);
        g[e] = sigma * post;
        x[e] = t * post;
        part_g += g[e];
        part_x += x[e];
      }
      __syncthreads();
      if (h < L) {
        gin = g;
        xin = x;
        double* swap = g;
        g = g_next;
        g_next = swap;
        swap = x;
        x = x_next;
        x_next = swap;
      } else {
        acc_t += block_sum(part_x, scratch);
        acc_s += block_sum(part_g, scratch);
      }
      rows = rout;
      cols = cout;
    }
  }
  if (threadIdx.x == 0) {
    part_t[blockIdx.y * ndy + blockIdx.x] = acc_t;
    part_s[blockIdx.y * ndy + blockIdx.x] = acc_s;
  }
}

}  // namespace

template <typename T>
void cntk_exact_rows_cuda(const double* prep_x, int64_t n, const double* prep_z, int64_t m, bool symmetric,
                          const CntkShape& shape, int64_t row_begin, int64_t row_end, T* ntk, T* nngp) {
  require_device();
  const CntkLayout lay(shape);
  if (!cntk_resolve_rows(prep_x, n, &prep_z, &m, symmetric, row_begin, row_end)) return;
  const int64_t npairs = cntk_pair_count(symmetric, m, row_begin, row_end);
  const int L = lay.depth;
  const int64_t ndy = 2 * lay.gh[L] - 1;

  const size_t smem = static_cast<size_t>(6 * lay.pixels) * sizeof(double);
  int device = 0, optin = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice");
  cuda_check(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "device attribute");
  if (smem + 1024 > static_cast<size_t>(optin))
    throw std::runtime_error("cntk: images of " + std::to_string(lay.height) + " x " + std::to_string(lay.width) +
                             " pixels need " + std::to_string(smem / 1024) + " KiB of shared memory per block, more than the device's " +
                             std::to_string(optin / 1024) + " KiB; use backend 'cpu'");
  cuda_check(cudaFuncSetAttribute(cntk_rows_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
             "cudaFuncSetAttribute");

  // The images the rows touch: X rows [x_first, row_end) (symmetric: from 0,
  // their partners), all of Z.
  const int64_t x_first = symmetric ? 0 : row_begin;
  const int64_t x_count = row_end - x_first;
  DeviceBuffer<double> dx(static_cast<size_t>(x_count * lay.per_image));
  cuda_check(cudaMemcpy(dx.ptr, prep_x + x_first * lay.per_image, x_count * lay.per_image * sizeof(double),
                        cudaMemcpyHostToDevice),
             "copy to device");
  DeviceBuffer<double> dz(symmetric ? 0 : static_cast<size_t>(m * lay.per_image));
  if (!symmetric)
    cuda_check(cudaMemcpy(dz.ptr, prep_z, m * lay.per_image * sizeof(double), cudaMemcpyHostToDevice), "copy to device");
  std::vector<int64_t> geometry;
  geometry.insert(geometry.end(), lay.gh.begin(), lay.gh.end());
  geometry.insert(geometry.end(), lay.gw.begin(), lay.gw.end());
  geometry.insert(geometry.end(), lay.norm_off.begin(), lay.norm_off.end());
  DeviceBuffer<int64_t> dgeo(geometry.size());
  cuda_check(cudaMemcpy(dgeo.ptr, geometry.data(), geometry.size() * sizeof(int64_t), cudaMemcpyHostToDevice),
             "copy to device");
  const DeviceLayout dl{lay.channels, lay.height, lay.width, lay.pixels, lay.per_image, lay.depth,
                        lay.filter,   lay.offset, lay.inv_q2, dgeo.ptr};

  const int64_t chunk = std::min(npairs, kPairsPerLaunch);
  DeviceBuffer<double> dpt(static_cast<size_t>(chunk * ndy)), dps(static_cast<size_t>(chunk * ndy));
  std::vector<double> hpt(static_cast<size_t>(chunk * ndy)), hps(static_cast<size_t>(chunk * ndy));
  for (int64_t k0 = 0; k0 < npairs; k0 += chunk) {
    const int64_t count = std::min(chunk, npairs - k0);
    const dim3 grid(static_cast<unsigned>(ndy), static_cast<unsigned>(count));
    cntk_rows_kernel<<<grid, kThreads, smem>>>(dl, dx.ptr, symmetric ? dx.ptr : dz.ptr, x_first, m, symmetric,
                                               row_begin, k0, dpt.ptr, dps.ptr);
    cuda_check(cudaGetLastError(), "kernel launch");
    cuda_check(cudaMemcpy(hpt.data(), dpt.ptr, count * ndy * sizeof(double), cudaMemcpyDeviceToHost), "copy back");
    cuda_check(cudaMemcpy(hps.data(), dps.ptr, count * ndy * sizeof(double), cudaMemcpyDeviceToHost), "copy back");
    for (int64_t k = 0; k < count; ++k) {
      int64_t i, j;
      cntk_pair_index(symmetric, m, row_begin, k0 + k, &i, &j);
      cntk_finish_pair(lay, prep_x, prep_z, m, symmetric, i, j, hpt.data() + k * ndy, hps.data() + k * ndy, ntk, nngp);
    }
  }
}

template void cntk_exact_rows_cuda<float>(const double*, int64_t, const double*, int64_t, bool, const CntkShape&,
                                          int64_t, int64_t, float*, float*);
template void cntk_exact_rows_cuda<double>(const double*, int64_t, const double*, int64_t, bool, const CntkShape&,
                                           int64_t, int64_t, double*, double*);

}  // namespace ntk
