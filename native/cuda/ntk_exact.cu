// GPU exact NTK: a tiled float64 Gram of the normalised rows fused with the
// arc-cosine recursion (the same ntk_normalized() the CPU path uses).
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cuda_backend.hpp"
#include "kernels/arccos.hpp"
#include "kernels/ntk_exact.hpp"

namespace ntk {

namespace {

constexpr int kTile = 16;

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(err));
}

template <typename V>
struct DeviceBuffer {
  V* ptr = nullptr;
  explicit DeviceBuffer(size_t count) {
    if (count) check(cudaMalloc(&ptr, count * sizeof(V)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// One thread per output (i, j) of a row block; u rows are i0.., v rows all.
__global__ void ntk_block_kernel(const double* u, const double* v, const double* nu,
                                 const double* nv, int64_t rows, int64_t cols, int64_t d,
                                 int64_t i0, bool symmetric, int depth, double* theta_out,
                                 double* sigma_out) {
  __shared__ double su[kTile][kTile + 1];
  __shared__ double sv[kTile][kTile + 1];
  const int64_t li = blockIdx.y * kTile + threadIdx.y;  // row within block
  const int64_t j = blockIdx.x * kTile + threadIdx.x;
  double acc = 0;
  for (int64_t k0 = 0; k0 < d; k0 += kTile) {
    const int64_t ru = blockIdx.y * kTile + threadIdx.y;
    const int64_t rv = blockIdx.x * kTile + threadIdx.y;
    const int64_t kk = k0 + threadIdx.x;
    su[threadIdx.y][threadIdx.x] = (ru < rows && kk < d) ? u[ru * d + kk] : 0.0;
    sv[threadIdx.y][threadIdx.x] = (rv < cols && kk < d) ? v[rv * d + kk] : 0.0;
    __syncthreads();
#pragma unroll
    for (int t = 0; t < kTile; ++t) acc += su[threadIdx.y][t] * sv[threadIdx.x][t];
    __syncthreads();
  }
  if (li >= rows || j >= cols) return;
  const int64_t i = i0 + li;
  const double rho = (symmetric && i == j && nu[li] > 0) ? 1.0 : acc;
  double theta, sigma;
  ntk_normalized(rho, depth, &theta, &sigma);
  const double scale = nu[li] * nv[j];
  theta_out[li * cols + j] = scale * theta;
  sigma_out[li * cols + j] = scale * sigma;
}

}  // namespace

template <typename T>
void ntk_exact_cuda(const T* x, int64_t n, const T* z, int64_t m, int64_t d, bool symmetric,
                    int depth, T* ntk, T* nngp) {
  const CudaInfo info = cuda_info();
  if (!info.available) throw std::runtime_error(info.reason);
  if (symmetric) m = n;
  if (n == 0 || m == 0) return;
  std::vector<double> ux, nx, uz, nz;
  normalize_rows(x, n, d, ux, nx);
  if (!symmetric) normalize_rows(z, m, d, uz, nz);
  const std::vector<double>& vz = symmetric ? ux : uz;
  const std::vector<double>& vn = symmetric ? nx : nz;

  DeviceBuffer<double> du(ux.size()), dnu(nx.size()), dv(vz.size()), dnv(vn.size());
  check(cudaMemcpy(du.ptr, ux.data(), ux.size() * sizeof(double), cudaMemcpyHostToDevice), "copy");
  check(cudaMemcpy(dnu.ptr, nx.data(), nx.size() * sizeof(double), cudaMemcpyHostToDevice), "copy");
  check(cudaMemcpy(dv.ptr, vz.data(), vz.size() * sizeof(double), cudaMemcpyHostToDevice), "copy");
  check(cudaMemcpy(dnv.ptr, vn.data(), vn.size() * sizeof(double), cudaMemcpyHostToDevice), "copy");

  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(n, (int64_t{16} << 20) / std::max<int64_t>(m, 1)));
  DeviceBuffer<double> dtheta(static_cast<size_t>(rows * m)), dsigma(static_cast<size_t>(rows * m));
  std::vector<double> htheta(static_cast<size_t>(rows * m)), hsigma(static_cast<size_t>(rows * m));
  for (int64_t i0 = 0; i0 < n; i0 += rows) {
    const int64_t r = std::min(rows, n - i0);
    const dim3 block(kTile, kTile);
    const dim3 grid(static_cast<unsigned>((m + kTile - 1) / kTile),
                    static_cast<unsigned>((r + kTile - 1) / kTile));
    ntk_block_kernel<<<grid, block>>>(du.ptr + i0 * d, dv.ptr, dnu.ptr + i0, dnv.ptr, r, m, d, i0,
                                      symmetric, depth, dtheta.ptr, dsigma.ptr);
    check(cudaGetLastError(), "kernel launch");
    check(cudaMemcpy(htheta.data(), dtheta.ptr, r * m * sizeof(double), cudaMemcpyDeviceToHost), "copy back");
    check(cudaMemcpy(hsigma.data(), dsigma.ptr, r * m * sizeof(double), cudaMemcpyDeviceToHost), "copy back");
    for (int64_t k = 0; k < r * m; ++k) {
      if (ntk) ntk[i0 * m + k] = static_cast<T>(htheta[k]);
      if (nngp) nngp[i0 * m + k] = static_cast<T>(hsigma[k]);
    }
  }
}

template void ntk_exact_cuda<float>(const float*, int64_t, const float*, int64_t, int64_t, bool,
                                    int, float*, float*);
template void ntk_exact_cuda<double>(const double*, int64_t, const double*, int64_t, int64_t,
                                     bool, int, double*, double*);

}  // namespace ntk
