// NTKRandomFeatures (docs/math.md#ntkrandomfeatures): arc-cosine random features combined by
// TensorSRHT, whose inner products approximate the fully connected NTK and
// NNGP. The dominant cost, the dense products Z W, runs through BLAS GEMM.
//
// Per layer h = 1..L, with z_nngp^0 = z_ntk^0 = x and W_h = [W0_h | W1_h]
// (input dimension K_h = d for h = 1, m1 after):
//   a       = sqrt(2/m0) step(W0_h^T z_nngp)            m0 step features  (~ dSigma^h)
//   b       = sqrt(2/m1) relu(W1_h^T z_nngp)            m1 arc-cosine features (~ Sigma^h)
//   z_ntk  <- [ b , TensorSRHT_h(z_ntk, a) in R^ms ]    m1 + ms          (~ Theta^h)
//   z_nngp <- b
// NTK features: z_ntk^L, followed by an SRHT to `features` when
// m1 + ms != features. NNGP features: `features` arc-cosine features of the
// last layer, sqrt(2/features) relu(w_j . z_nngp^(L-1)), j < features, whose
// first m1 columns are the W1_L columns of the NTK map (the others are drawn
// on first use: NTK-only users never pay for them).
//
// Leverage-score sampling (leverage = true): the columns of every W1_h are
// drawn from (|w|^2 / K) N(0, I_K) and feature j is weighted by
// sqrt(2 K / m1) / |w_j| instead of sqrt(2/m1); W0 is unchanged (the step
// function is scale-free).
//
// Orthogonal weights (orthogonal = true): the columns of W0 and W1 come in
// antithetic pairs (w, -w), and W1's directions in orthogonal blocks of K_h
// (random_weights.hpp, structured_columns). Every column keeps its law, so
// the estimator stays unbiased; the pairs cancel the odd part of relu
// (relu(z) = z/2 + |z|/2) and the constant part of step, and a full orthogonal
// block sums the linear part exactly. Only the first ceil(m/2) columns of
// each group go through the GEMM: the partner of column j is -(column j),
// whose product is exactly minus column j's, so the epilogue writes
// relu(-z) and step(-z) from the same value (half the GEMM flops).
//
// Normalisation (normalize = true): every row's b, TensorSRHT part and final
// output are rescaled to the exact norms of the kernels they estimate (known
// in closed form on the diagonal). This removes the per-row scale error that
// dominates the Gram error on data with large cosines (images), at the price
// of an O(1/m) bias (a ratio estimator).
//
// Rows are processed in blocks of kBlockRows; a partial block is zero-padded
// so that every GEMM has the same shape, and every row's features are then
// bit-identical whatever the thread count or the split of rows into calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/aligned_buffer.hpp"

#include "maps/feature_kernel.hpp"
#include "maps/feature_map.hpp"
#include "sketches/sketches.hpp"

namespace ntk {

struct NtkRandomFeaturesConfig {
  int64_t input_dim = 0;
  int depth = 0;
  /// Output columns (NTK and NNGP).
  int64_t features = 0;
  /// m0, m1, ms; m1 + ms >= features.
  int64_t step_features = 0;
  int64_t arccos_features = 0;
  int64_t sketch_features = 0;
  bool leverage = false;
  /// Rescale every row's b (to |x|), TensorSRHT part (to sqrt(h)|x| at layer
  /// h) and final output (to sqrt(L+1)|x|) to the exact diagonal of the
  /// kernels they estimate (Sigma^h(x,x) = |x|^2, Theta^(h-1)(x,x) dSigma^h(x,x)
  /// = h|x|^2, Theta^L(x,x) = (L+1)|x|^2).
  bool normalize = false;
  /// Antithetic pairs of weight columns (w, -w) in W0 and W1, and orthogonal
  /// blocks of directions in W1 (random_weights.hpp, structured_columns).
  bool orthogonal = false;
  uint64_t seed = 0;
};

template <typename T>
class NtkRandomFeatures final : public FeatureMap<T> {
 public:
  /// Rows per GEMM block (a multiple of the GEMM tile, kGemmTile).
  static constexpr int64_t kBlockRows = 256;

  explicit NtkRandomFeatures(const NtkRandomFeaturesConfig& config);
  const NtkRandomFeaturesConfig& config() const { return config_; }
  int64_t input_dim() const override { return config_.input_dim; }
  int64_t features() const override { return config_.features; }
  /// Whether the NTK output goes through a final SRHT (m1 + ms != features).
  bool final_srht() const { return final_.out_dim() > 0; }

  /// Bytes of the random parameters held now.
  int64_t parameter_bytes() const override;
  /// Per-thread scratch of an NTK transform of dense rows (call_bytes has the whole call).
  int64_t workspace_bytes() const override;
  /// Bytes the first NNGP transform adds (its extra last-layer columns; 0
  /// once drawn or when features <= m1).
  int64_t nngp_extra_bytes() const;
  /// Bytes one transform call allocates besides its output: row-block
  /// buffers, plus the per-thread scratch times `threads`.
  int64_t call_bytes(FeatureKernel kernel, bool dense, int threads) const;

  /// out (n x features, row-major) = features of the rows of x (n x input_dim).
  void transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const override;
  /// Same for a CSR matrix (indices sorted within rows and in range).
  void transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
                     FeatureKernel kernel) const override;

  /// Input dimension K_h of layer h (0-based).
  int64_t layer_input_dim(int h) const { return layers_[static_cast<size_t>(h)].in_dim; }
  /// Copies layer h's weights: step (K x m0), arccos (K x m1) row-major, and
  /// the relative feature weights sqrt(K) / |w_j| (leverage) or 1.
  void copy_weights(int h, T* step, T* arccos, double* weight) const;

 private:
  struct Layer {
    int64_t in_dim = 0;
    AlignedBuffer<T> w;          // in_dim x (m0 + m1): [W0 | W1]
    std::vector<double> weight;  // m1: sqrt(in_dim) / |w_j| (leverage) or 1
    std::vector<T> bscale;       // m1: sqrt(2/m1) weight_j
    TensorSrht<T> tensor;        // z_ntk^(h-1) x a -> ms
  };
  struct NngpExtra {
    // K_L x (features - m1): columns m1.. of W1_L, or, for orthogonal maps
    // (whose columns are drawn jointly) with features != m1, all `features`
    // columns of a last-layer matrix of their own (full = true).
    AlignedBuffer<T> w;
    bool full = false;
    std::vector<T> scale;  // features: sqrt(2/features) weight_j
  };
  const NngpExtra& nngp_extra() const;
  // A transform call and its steps (ntk_random_features.cpp).
  struct Pass;      // the call's shapes and reused buffers
  struct Epilogue;  // the epilogue of a layer's GEMM tiles
  template <typename Input>
  void run(Input& input, int64_t n, T* out, FeatureKernel kernel) const;
  Pass make_pass(FeatureKernel kernel, T* out) const;
  template <typename Input>
  const T* run_layer(Pass& p, Input& input, int h, int64_t start, int64_t rows, const T* zprev) const;
  void plan_segments(Pass& p, const Layer& layer, bool last, int64_t dir0, int64_t dir1) const;
  void gemm_tiles(Pass& p, const T* a, int64_t lda, int64_t k, const Epilogue& epilogue) const;
  template <typename Input>
  void row_pass(Pass& p, Input& input, int h, int64_t start, int64_t rows, const T* zprev, T* znext, int64_t ldnext,
                const Epilogue* csr_epilogue) const;
  void tensor_row(const Layer& layer, int h, const RowView<T>& prev, const T* a, T* t, T* wa, T* wb, double nx) const;
  void final_row(const T* z, T* o, T* work, double nx) const;

  NtkRandomFeaturesConfig config_;
  std::vector<Layer> layers_;
  Srht<T> final_;
  int64_t max_side_a_ = 0;
  mutable std::once_flag extra_once_;
  mutable NngpExtra extra_;
  mutable std::atomic<bool> extra_ready_{false};
};

}  // namespace ntk
