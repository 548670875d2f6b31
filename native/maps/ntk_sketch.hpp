// NTKSketch (docs/math.md#ntksketch; Zandieh et al., NeurIPS 2021, Algorithm 1): features
// whose inner products approximate the fully connected NTK / NNGP, at a cost
// per input of O(nnz(x) + L q m log m).
//
// With u = x / |x| (the kernels are |x||z| times a function of the cosine),
// P1^h = sum_j a_j t^j ~ k1 and P0^h = sum_j b_j t^j ~ k0 (a, b >= 0, sum 1):
//
//   phi^0 = u                 when d <= 2m (exact, no sketch needed)
//         = CountSketch(u)    otherwise (the only O(nnz) step), rescaled to |.| = 1
//   phi^h = [ sqrt(a_j) Q_j(phi^(h-1)) ]_j                               ~ Sigma^h
//   T^h   = [ sqrt(b_j) S(T^(h-1) (x) phi^(h-1)^(x)j) ]_j (+) [ sqrt(b_j) Q_(j+1)(phi^(h-1)) ]_j
//                                                                        ~ Theta^h - Sigma^h
//   psi^h = T^h (+) phi^h                                                ~ Theta^h
// ((+) is concatenation, T^0 is empty). This is Algorithm 1 with dphi^h =
// [sqrt(b_j) Q_j] kept in factored form: T(psi^(h-1), dphi^h) is sketched block
// by block, and since psi^(h-1) = T^(h-1) (+) phi^(h-1), its phi part merges
// into the polynomial blocks of degree j + 1.
//
// Every block is a *product sketch*: row r of a block with parts s_1..s_k is
// prod_i s_i[P_i(r)] with independent uniform row samples P_i, where the parts
// are Walsh–Hadamard transforms (H D v) of
//   - the layer input phi^(h-1) (the "leaf"; one transform serves every leaf
//     factor: E[(H D x)_a (H D y)_a | D] = <x, y> exactly for every D, so
//     independent samples of one transform give exact expectations),
//   - T^(h-1),
//   - tree nodes: a level-1 node is a sampled product of two leaf factors
//     (m rows, ~ phi^(x)2); a level-l node the sampled product of two
//     disjoint level-(l-1) nodes (~ phi^(x)2^l). A degree-k block multiplies
//     disjoint nodes (plus leaf factors) of total degree k: e.g. with q = 4,
//     Q_4 = N1_0 N1_1, Q_5 = N1_0 N1_1 leaf. Nodes are shared by all blocks of a
//     layer (the P1 and P0 branches share one tree); each block stays unbiased.
//
// This replaces the SRHTs from padded (q+1)m- and 2m-dimensional packed
// vectors of the first version by concatenation (the rows are allocated among
// the blocks in proportion to their weights, docs/math.md#polynomial-kernel-sketch: the final SRHT is
// optional), which is cheaper and adds no second sampling noise.
//
// Normalisation: on unit inputs the exact kernels satisfy Sigma^h(x,x) = 1,
// dSigma^h(x,x) = 1 and Theta^h(x,x) = h + 1, and every block has a known
// exact squared norm (its weight times 1 or h - 1). Each block is rescaled to
// exactly that norm. On data whose cosines are high (images: Fashion-MNIST
// cosines are mostly 0.3..0.95) the error of a sampled sketch is dominated by
// the shared per-row scale error; rescaling turns each block into a ratio
// estimator whose error vanishes as the cosine goes to 1 (variance ~ (1 -
// rho^2)^2 / m instead of ~ (1 + rho^2) / m). The price is a bias of order
// 1/rows (the features are no longer exactly unbiased; the primitives in
// sketches/ are, and the tests check them there).
//
// NTK features = |x| psi^L (features rows), NNGP features = |x| phi^L
// (features rows). A zero row gives zeros.
//
// Measured on 1,000 Fashion-MNIST rows, depth 2, 8,192 features (relative
// Frobenius Gram error, mean of 3 seeds; polynomial floor 0.025 at degree 4,
// 0.010 at degree 8), on the way from the first construction (0.043 / 0.032
// at degree 4 / 8, 5.5 x one sgemm of the same shape in float32):
//   - concatenation instead of the packed SRHTs, no normalisation: 0.040 / 0.031;
//   - blocks rescaled to their exact norms: 0.030 / 0.019 (the gain grows
//     with the cosines: on random Gaussian rows it is nil, there is no shared
//     scale error to remove);
//   - one tree shared by the P1 and P0 branches: same error (0.029 vs 0.030,
//     0.021 vs 0.019), half the tree work;
//   - internal sketch_dim 2048 .. 8192: same error at depth 1 and 2 (the
//     output rows dominate), 0.046 / 0.040 / 0.036 at depth 3;
//   - rows split in proportion to weight^a: a = 1 is best or equal (a = 0.5,
//     0.75 within noise, 1.25 worse); sampling without replacement: no change.
// Ridge regression on these features (test accuracy) is no better with
// degree 8 or a larger sketch_dim than with the defaults: at a fixed number
// of features it is limited by the sampling noise of the output rows.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "maps/feature_kernel.hpp"
#include "maps/feature_map.hpp"
#include "sketches/sketches.hpp"

namespace ntk {

struct NtkSketchConfig {
  int64_t input_dim = 0;
  int depth = 0;
  int64_t features = 0;
  /// Internal sketch dimension m: entries of phi^h and T^h (h < depth) and of
  /// every tree node.
  int64_t sketch_dim = 0;
  uint64_t seed = 0;
  /// Coefficients c_0..c_q of P1^h (~k1) and P0^h (~k0) for h = 1..depth:
  /// non-negative, finite, not all zero.
  std::vector<std::vector<double>> k1, k0;
  /// Rescale every block to its exact norm (the default). false gives the
  /// plain product sketch, unbiased for the polynomial recursion (for tests
  /// and diagnostics: it is less accurate).
  bool normalize = true;
  /// A single-factor block whose share of rows reaches its input's dimension
  /// becomes an exact copy of the input (less error). false samples every
  /// block instead, so that the rows of each block are alike, which
  /// LeverageSelection's kept rows need: the rows of a copy are the layer
  /// input's entries, and one of them can hold a third of its norm.
  bool exact_copies = true;
};

/// Output rows of one kernel's features that a kept-rows map computes
/// (LeverageSelection's columns, without computing the others): `rows`
/// strictly increasing and below the pool's features, row k times scales[k]
/// (finite, > 0).
struct NtkSketchKept {
  std::vector<int32_t> rows;
  std::vector<double> scales;
  FeatureKernel kernel = FeatureKernel::Ntk;
};

template <typename T>
class NtkSketch final : public FeatureMap<T> {
 public:
  explicit NtkSketch(const NtkSketchConfig& config);
  /// The kept rows of `pool`'s output, every block rescaled over its kept
  /// rows (requires normalize and no exact copies). The map shares the
  /// pool's layers (immutable; they live as long as either map) and owns
  /// only its gathered output blocks; it computes the kept kernel only.
  NtkSketch(std::shared_ptr<const NtkSketch> pool, const NtkSketchKept& kept);
  /// The config it was built from; for a kept-rows map, `features` is the kept count.
  const NtkSketchConfig& config() const { return config_; }
  /// Whether the map keeps only some rows of a pool's output.
  bool kept() const { return kept_; }
  /// The kernel whose rows a kept-rows map computes.
  FeatureKernel kept_kernel() const { return kept_kernel_; }
  /// The output rows of `kernel`'s features that no random parameter
  /// touches (constant blocks: sqrt(weight) |x|), increasing.
  std::vector<int64_t> constant_rows(FeatureKernel kernel) const;
  int64_t input_dim() const override { return config_.input_dim; }
  int64_t features() const override { return config_.features; }
  /// Bytes of the random parameters the map owns (a kept-rows map: its
  /// gathered blocks only, not the pool's layers it shares).
  int64_t parameter_bytes() const override { return parameter_bytes_; }
  /// Scratch bytes each thread allocates while transforming, plus input_dim
  /// entries for dense input (sparse rows need O(nnz) only).
  int64_t workspace_bytes() const override;
  /// Multiply-adds per transformed row, roughly (how many threads a call is worth: parallel_rows).
  int64_t row_work() const;

  /// out (n x features, row-major) = features of the rows of x (n x input_dim).
  void transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const override;
  /// Same for a CSR matrix (indices sorted within rows, in range).
  void transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
                     FeatureKernel kernel) const override;

  /// Sources of a layer's product factors: the transform of the layer input
  /// phi^(h-1), the transform of T^(h-1), then the tree nodes.
  static constexpr int kLeaf = 0, kTpart = 1, kFirstNode = 2;

  /// One block of an output vector: rows prod_i source_i[P_i(r)], rescaled
  /// to squared norm `weight`; no parts = the constant sqrt(weight); `copy` =
  /// the layer input itself (a single leaf / T^(h-1) part whose share of rows
  /// reaches its dimension: exact, no sampling).
  ///
  /// Row samples: with one part, P_0(r) = index[0][r], uniform and
  /// independent. With several, the first part is read sequentially,
  /// P_0(r) = (start + r) mod (its length), and the others are uniform and
  /// independent, P_i(r) = index[i-1][r]. Each row stays unbiased (over the
  /// random signs D, E[(H D x)_a (H D y)_a] = <x, y> for every fixed a; over a
  /// uniform index, exactly <x, y> for every D, which is what lets factors
  /// share one leaf transform), the sequential part covers its source evenly
  /// (a stratified sample: no more variance than uniform draws) and costs a
  /// contiguous load instead of a gather.
  struct Block {
    std::vector<int> parts;
    std::vector<std::vector<int32_t>> index;
    int64_t rows = 0, offset = 0, start = 0;
    /// Exact squared norm on a unit input; `coef` is the same without the
    /// |T^(h-1)|^2 = h - 1 factor (what scales the unnormalised sketch).
    double weight = 0, coef = 0;
    bool copy = false;
    /// Kept rows of a larger block (NtkSketchKept): every part,
    /// the first included, is gathered through `index`, and row r is times
    /// scales[r].
    bool gathered = false;
    std::vector<T> scales;
  };
  struct Output {
    std::vector<Block> blocks;
    int64_t dim = 0;
  };
  /// A tree node: the sampled product of two sources (sketch_dim rows, the
  /// first read sequentially from `start` as for blocks, the second at
  /// `index`), then H D (the signs carry the 1/sqrt(rows) scale).
  struct Node {
    int level = 0;
    int child[2] = {0, 0};
    int64_t start = 0;
    std::vector<int32_t> index;
    std::vector<T> signs;
    bool nngp = false;  // needed for NNGP features
  };
  struct Layer {
    int64_t phi_dim = 0, phi_padded = 0, t_dim = 0, t_padded = 0;
    std::vector<T> phi_signs, t_signs;
    std::vector<Node> nodes;
    Output phi;      // phi^h, sketch_dim rows (h < depth) or features rows (h = depth)
    Output tpart;    // T^h, sketch_dim rows (h < depth)
    Output psi;      // NTK output, features rows (h = depth)
  };
  /// The layers; a kept-rows map's last layer is the pool's, its output replaced by the kept blocks.
  const std::vector<Layer>& layers() const { return *layers_; }
  /// phi^0 is the unit input itself (input_dim <= 2 sketch_dim), else its CountSketch.
  bool identity_input() const { return identity0_; }
  /// Entries of phi^0; the CountSketch that makes it when not identity_input().
  int64_t input_sketch_dim() const { return dim0_; }
  const CountSketch<T>& input_sketch() const { return cs0_; }
  /// Padded length of a tree node; most nodes in a layer; longest leaf transform.
  int64_t node_padded() const { return node_padded_; }
  int64_t max_nodes() const { return max_nodes_; }
  int64_t max_leaf() const { return max_leaf_; }

 private:
  struct Workspace {
    std::vector<T> unit, sparse_unit, phi0, leaf, tsrc, nodes, phi[2], tpart[2];
  };
  // Construction steps.
  void choose_input_sketch();
  Layer make_layer(int h, int64_t phi_dim, int64_t t_dim);
  void draw_leaf_transforms(Layer& layer, int h, int64_t phi_dim, int64_t t_dim) const;
  void draw_nodes(Layer& layer, int h);
  static void allocate_rows(Output& out, int64_t total, int64_t leaf_dim, int64_t t_dim, bool copies);
  void draw_block_samples(Output& out, const Layer& layer, int h, int out_id);
  void check_kept(const NtkSketchKept& kept) const;
  void keep_rows(const NtkSketchKept& kept);
  const Output& last_output(bool ntk) const;
  const Output& final_output(bool ntk) const;
  int64_t source_padded(const Layer& layer, int source) const;
  void check_kernel(FeatureKernel kernel) const;
  Workspace make_workspace(FeatureKernel kernel, bool dense) const;
  // Steps of transform_row.
  void transform_row(const T* dense, const int32_t* index, const T* value, int64_t nnz, T* out,
                     Workspace& ws, FeatureKernel kernel) const;
  bool unit_row(const T* dense, const int32_t* index, const T* value, int64_t nnz, Workspace& ws, T& norm) const;
  const T* input_sketch_row(const T* dense, const int32_t* index, int64_t nnz, Workspace& ws) const;
  void transform_sources(const Layer& layer, const T* phi, const T* tprev, bool ntk, Workspace& ws) const;
  const T* source(const Workspace& ws, int s) const;
  void emit(const Layer& layer, const Output& o, const T* phi, const T* tprev, T* dst, T factor,
            const Workspace& ws) const;
  double sample_block(const Layer& layer, const Block& blk, const Workspace& ws, T* dd) const;

  NtkSketchConfig config_;
  bool identity0_ = false;
  int64_t dim0_ = 0;  // entries of phi^0
  int64_t node_padded_ = 0;
  CountSketch<T> cs0_;  // a counter-based hash: no table to share
  // Immutable once built: shared by a pool and the kept-rows maps made from it.
  std::shared_ptr<const std::vector<Layer>> layers_;
  int64_t parameter_bytes_ = 0, max_nodes_ = 0, max_leaf_ = 0;
  bool kept_ = false;
  FeatureKernel kept_kernel_ = FeatureKernel::Ntk;
  Output kept_out_;  // a kept-rows map's output, in place of the last layer's
};

}  // namespace ntk
