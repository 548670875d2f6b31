// The CUDA backend as seen from plain C++ (no CUDA headers): device discovery
// and the GPU versions of the core computations. When the library is built
// without CUDA, unavailable.cpp provides the same functions, reporting why.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/threads.hpp"
#include "maps/feature_kernel.hpp"

namespace ntk {

template <typename T>
class NtkSketch;
template <typename T>
class FeatureMap;
struct CntkShape;

struct CudaDevice {
  int index;
  std::string name;
  int64_t memory_bytes;
  int compute_major;
  int compute_minor;
};

struct CudaInfo {
  bool compiled;   ///< CUDA sources were part of this build
  bool available;  ///< a usable device and driver were found at run time
  std::string reason;  ///< why not available (empty when available)
  int runtime_version;
  std::vector<CudaDevice> devices;
};

/// Probes the CUDA runtime once per call; never throws.
CudaInfo cuda_info();

/// GPU version of ntk_exact (same contract, flags included: the job stops
/// between chunks of rows when asked, throwing JobCancelled, and counts the
/// 256 x 256 tiles of the rows done); throws std::runtime_error when no
/// device is available or a CUDA call fails.
template <typename T>
void ntk_exact_cuda(const T* x, int64_t n, const T* z, int64_t m, int64_t d, bool symmetric,
                    int depth, T* ntk, T* nngp, JobFlags flags = {});

/// GPU version of cntk_exact_rows (same contract; float64 throughout,
/// equal to the CPU's results to rounding); throws std::runtime_error when
/// no device is available, the images need more shared memory per block
/// than the device has, or a CUDA call fails.
template <typename T>
void cntk_exact_rows_cuda(const double* prep_x, int64_t n, const double* prep_z, int64_t m, bool symmetric,
                          const CntkShape& shape, int64_t row_begin, int64_t row_end, T* ntk, T* nngp);

/// The GPU copy of a CPU NtkSketch (as faiss copies a CPU index to a GPU):
/// its parameters are uploaded here, once, and stay on the device for the
/// returned map's lifetime; its transforms give the CPU map's features bit
/// for bit. Throws std::runtime_error when no device is available.
template <typename T>
std::shared_ptr<const FeatureMap<T>> ntk_sketch_on_cuda(std::shared_ptr<const NtkSketch<T>> map);

}  // namespace ntk
