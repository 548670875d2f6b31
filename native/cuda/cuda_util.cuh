// Small helpers shared by the CUDA sources: error checks, owning device
// buffers, and copies to pageable host memory (JavaScript arrays).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace ntk {

inline void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so later calls can run
    throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(err));
  }
}

/// Throws the reason when no CUDA device is usable. Cheap (a device count),
/// unlike cuda_info(), which reads every device's properties.
inline void require_device() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error(std::string("no usable CUDA device: ") + cudaGetErrorString(err));
  }
  if (count == 0) throw std::runtime_error("no CUDA device found");
}

/// cudaMalloc'd array of `count` V, freed on scope exit (also on exceptions).
template <typename V>
struct DeviceBuffer {
  V* ptr = nullptr;
  explicit DeviceBuffer(size_t count) {
    if (count) cuda_check(cudaMalloc(&ptr, count * sizeof(V)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

/// Copies `bytes` from device memory to pageable host memory after the work
/// queued on the default stream, through a pinned double buffer: the GPU
/// fills one half while the core's threads copy the other into place.
/// A plain cudaMemcpy into a freshly allocated JavaScript array ran at about
/// 1 GB/s on an H100 host (page faults behind one driver thread); this path
/// ran at about 20-30 GB/s there.
void copy_to_host(void* dst, const void* src, size_t bytes);

}  // namespace ntk
