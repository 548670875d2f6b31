// NTKSketch (SPEC §4.1; Zandieh et al., NeurIPS 2021, Algorithm 1): features
// whose inner products approximate the fully connected NTK / NNGP, at a cost
// per input of O(nnz(x) + L poly(q) m log m).
//
// With u = x / |x| (the kernels are |x||z| times a function of the cosine):
//   phi^0  = u                          when d <= m (exact, no sketch needed)
//          = SRHT_m(CountSketch_2m(u))  otherwise (the only O(nnz) step)
//   phi^h  = SRHT_m[ polysketch of P1^h applied to phi^(h-1) ]      ~ Sigma^h
//   dphi^h = polysketch of P0^h applied to phi^(h-1)                ~ dSigma^h
//   psi^h  = SRHT_m[ TensorSRHT(psi^(h-1), dphi^h) (+) phi^h ]      ~ Theta^h
// with psi^0 = phi^0; the last SRHT of each branch maps to `features`.
// NTK features = |x| psi^L, NNGP features = |x| phi^L. A zero row gives zeros.
#pragma once

#include <cstdint>
#include <vector>

#include "sketches/sketches.hpp"

namespace ntk {

enum class FeatureKernel { Ntk, Nngp };

struct NtkSketchConfig {
  int64_t input_dim = 0;
  int depth = 0;
  int64_t features = 0;
  /// Internal sketch dimension m (every intermediate vector has m entries).
  int64_t sketch_dim = 0;
  uint64_t seed = 0;
  /// Coefficients c_0..c_q of P1^h (~k1) and P0^h (~k0) for h = 1..depth:
  /// non-negative, finite.
  std::vector<std::vector<double>> k1, k0;
};

template <typename T>
class NtkSketch {
 public:
  explicit NtkSketch(const NtkSketchConfig& config);
  const NtkSketchConfig& config() const { return config_; }
  int64_t features() const { return config_.features; }
  /// Bytes held by the map's random parameters and constants.
  int64_t parameter_bytes() const { return parameter_bytes_; }
  /// Scratch bytes each thread allocates while transforming, plus input_dim
  /// entries for dense input (sparse rows need O(nnz) only).
  int64_t workspace_bytes() const;

  /// out (n x features, row-major) = features of the rows of x (n x input_dim).
  void transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const;
  /// Same for a CSR matrix (indices sorted within rows, in range).
  void transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
                     FeatureKernel kernel) const;

 private:
  struct Layer {
    PolyKernelSketch<T> p1, p0;
    Srht<T> phi_srht;      // packed P1 sketch -> m
    Srht<T> phi_out_srht;  // packed P1 sketch -> features (last layer only)
    TensorSrht<T> tensor;  // psi^(h-1) x dphi^h -> m
    Srht<T> psi_srht;      // [tensor, phi^h] -> m (features at the last layer)
  };
  struct Workspace {
    std::vector<T> unit, sparse_unit, phi0, cs, work, phi[2], psi[2], packed1, packed0, wa, wb, cat;
    std::vector<typename PolyKernelSketch<T>::Workspace> p1, p0;
  };
  Workspace make_workspace(FeatureKernel kernel, bool dense) const;
  void transform_row(const T* dense, const int32_t* index, const T* value, int64_t nnz, T* out,
                     Workspace& ws, FeatureKernel kernel) const;

  NtkSketchConfig config_;
  bool identity0_ = false;
  int64_t dim0_ = 0;  // entries of phi^0
  CountSketch<T> cs0_;
  Srht<T> srht0_;
  std::vector<Layer> layers_;
  int64_t max_work_ = 0, parameter_bytes_ = 0;
};

}  // namespace ntk
