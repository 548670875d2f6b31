// CUDA device discovery. Linked against the static CUDA runtime, which loads
// the driver lazily: on a machine without a driver or GPU this reports the
// reason instead of failing to load.
#include <cuda_runtime.h>

#include "cuda/cuda_backend.hpp"

namespace ntk {

CudaInfo cuda_info() {
  CudaInfo info{true, false, "", 0, {}};
  cudaRuntimeGetVersion(&info.runtime_version);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    info.reason = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error state
    return info;
  }
  if (count == 0) {
    info.reason = "no CUDA device found";
    return info;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    info.devices.push_back(CudaDevice{i, prop.name, static_cast<int64_t>(prop.totalGlobalMem),
                                      prop.major, prop.minor});
  }
  info.available = !info.devices.empty();
  if (!info.available) info.reason = "CUDA devices found but none could be queried";
  return info;
}

}  // namespace ntk
