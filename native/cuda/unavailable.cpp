// Stand-in for the CUDA backend in builds without a CUDA compiler.
#include <stdexcept>

#include "cuda/cuda_backend.hpp"

namespace ntk {

CudaInfo cuda_info() {
  return CudaInfo{false, false,
                  "built without CUDA (no CUDA compiler found, or NTK_SKETCH_CUDA=OFF)", 0, {}};
}

template <typename T>
void ntk_exact_cuda(const T*, int64_t, const T*, int64_t, int64_t, bool, int, T*, T*) {
  throw std::runtime_error(cuda_info().reason);
}

template void ntk_exact_cuda<float>(const float*, int64_t, const float*, int64_t, int64_t, bool,
                                    int, float*, float*);
template void ntk_exact_cuda<double>(const double*, int64_t, const double*, int64_t, int64_t,
                                     bool, int, double*, double*);

}  // namespace ntk
