// Stand-in for the CUDA backend in builds without a CUDA compiler.
#include <stdexcept>

#include "cuda/cuda_backend.hpp"
#include "maps/feature_map.hpp"
#include "maps/ntk_sketch.hpp"

namespace ntk {

CudaInfo cuda_info() {
  return CudaInfo{false, false,
                  "built without CUDA (no CUDA compiler found, or NTK_SKETCH_CUDA=OFF)", 0, {}};
}

template <typename T>
void ntk_exact_cuda(const T*, int64_t, const T*, int64_t, int64_t, bool, int, T*, T*, JobFlags) {
  throw std::runtime_error(cuda_info().reason);
}

template void ntk_exact_cuda<float>(const float*, int64_t, const float*, int64_t, int64_t, bool,
                                    int, float*, float*, JobFlags);
template void ntk_exact_cuda<double>(const double*, int64_t, const double*, int64_t, int64_t,
                                     bool, int, double*, double*, JobFlags);

template <typename T>
std::shared_ptr<const FeatureMap<T>> ntk_sketch_on_cuda(std::shared_ptr<const NtkSketch<T>>) {
  throw std::runtime_error(cuda_info().reason);
}

template std::shared_ptr<const FeatureMap<float>> ntk_sketch_on_cuda<float>(std::shared_ptr<const NtkSketch<float>>);
template std::shared_ptr<const FeatureMap<double>> ntk_sketch_on_cuda<double>(std::shared_ptr<const NtkSketch<double>>);

template <typename T>
void cntk_exact_rows_cuda(const double*, int64_t, const double*, int64_t, bool, const CntkShape&, int64_t, int64_t, T*,
                          T*) {
  throw std::runtime_error(cuda_info().reason);
}

template void cntk_exact_rows_cuda<float>(const double*, int64_t, const double*, int64_t, bool, const CntkShape&,
                                          int64_t, int64_t, float*, float*);
template void cntk_exact_rows_cuda<double>(const double*, int64_t, const double*, int64_t, bool, const CntkShape&,
                                           int64_t, int64_t, double*, double*);

}  // namespace ntk
