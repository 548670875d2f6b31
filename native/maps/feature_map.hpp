// What every feature map is to the rest of the core (bindings, GPU copies,
// selections): its dimensions, its memory, and the transform of n input rows
// (dense, or CSR where the map reads it) into n x features. NtkSketch,
// NtkRandomFeatures and CntkSketch implement it on the CPU; a CUDA map built
// from a CPU map implements it on the device (cuda/cuda_backend.hpp).
#pragma once

#include <cstdint>

#include "maps/feature_kernel.hpp"

namespace ntk {

template <typename T>
class FeatureMap {
 public:
  using Scalar = T;
  virtual ~FeatureMap() = default;

  /// Values per input row (C * H * W for images).
  virtual int64_t input_dim() const = 0;
  /// Output features per row.
  virtual int64_t features() const = 0;
  /// Bytes of the map's parameters (host or device).
  virtual int64_t parameter_bytes() const = 0;
  /// Bytes of scratch one CPU thread uses during a transform (0 on a device).
  virtual int64_t workspace_bytes() const = 0;
  /// Whether transform_csr is implemented (image maps read dense images only).
  virtual bool reads_csr() const { return true; }
  /// Bytes of input per call when a caller converts X of the other dtype in
  /// chunks: on the CPU small enough to stay in cache while its rows are
  /// transformed; a device map wants few large calls (each is a round trip).
  virtual int64_t preferred_chunk_bytes() const { return int64_t{4} << 20; }

  /// out (n x features) = the features of n dense rows x (n x input_dim).
  virtual void transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const = 0;
  /// The same for n CSR rows (indptr n + 1 entries, 32-bit indices).
  virtual void transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
                             FeatureKernel kernel) const = 0;
};

}  // namespace ntk
