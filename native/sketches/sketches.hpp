// Seeded linear sketches (docs/math.md#sketch-primitives): CountSketch, SRHT, TensorSRHT, PolySketch
// and the polynomial-kernel sketch. Each object holds only what its seed
// determines (signs, sampled rows, precomputed constant sub-trees), is
// immutable after construction, and is applied row by row with a per-thread
// workspace, so callers parallelise over rows and results never depend on the
// thread count or on how rows are batched.
//
// Scaling: H has entries +-1 (unnormalised), so E[(H D x)_i (H D y)_i] = <x, y>
// for every row i, and averaging m sampled rows (the 1/sqrt(m) factors) gives
// unbiased inner products.
#pragma once

#include <cstdint>
#include <vector>

#include "sketches/rng.hpp"

namespace ntk {

/// One input row: dense (values, dim) or sparse (sorted indices, values).
template <typename T>
struct RowView {
  int64_t dim = 0;
  const T* dense = nullptr;
  const int32_t* index = nullptr;
  const T* value = nullptr;
  int64_t nnz = 0;

  static RowView dense_row(const T* x, int64_t dim) {
    RowView r;
    r.dim = dim;
    r.dense = x;
    return r;
  }
  static RowView sparse_row(const int32_t* idx, const T* val, int64_t nnz, int64_t dim) {
    RowView r;
    r.dim = dim;
    r.index = idx;
    r.value = val;
    r.nnz = nnz;
    return r;
  }
};

/// CountSketch hash of coordinate i into m buckets: bucket, and whether its
/// sign is -1. Shared by the CPU sketch and the CUDA kernels.
NTK_HD void count_sketch_hash(const CounterRng& rng, int64_t m, int64_t i, int64_t* bucket, bool* negative) {
  const uint64_t b = rng.bits(static_cast<uint64_t>(i));
  *bucket = static_cast<int64_t>(CounterRng::mulhi(b, static_cast<uint64_t>(m)));
  *negative = (b & 1) != 0;
}

/// CountSketch R^d -> R^m: CS(x)_j = sum_{h(i) = j} s(i) x_i. The hash and sign
/// of coordinate i are computed from the counter RNG on the fly, so the sketch
/// needs no O(d) tables and costs O(nnz(x)).
template <typename T>
class CountSketch {
 public:
  CountSketch() = default;
  CountSketch(int64_t in_dim, int64_t out_dim, uint64_t seed, uint64_t stream);
  int64_t in_dim() const { return in_dim_; }
  int64_t out_dim() const { return out_dim_; }
  /// Bucket in [0, m) and sign (+-1) of input coordinate i.
  void hash(int64_t i, int64_t* bucket, T* sign) const {
    bool negative;
    count_sketch_hash(rng_, out_dim_, i, bucket, &negative);
    *sign = negative ? T(-1) : T(1);
  }
  /// The generator behind hash() (the CUDA path hashes on the device).
  const CounterRng& rng() const { return rng_; }
  /// out (out_dim entries) = CS(x); out is overwritten.
  void apply(const RowView<T>& x, T* out) const;

 private:
  int64_t in_dim_ = 0, out_dim_ = 0;
  CounterRng rng_{0, 0};
};

/// x -> H D x: random signs D, zero-padding to a power of two, unnormalised
/// Walsh–Hadamard transform.
template <typename T>
class SignedHadamard {
 public:
  SignedHadamard() = default;
  SignedHadamard(int64_t in_dim, uint64_t seed, uint64_t stream);
  int64_t in_dim() const { return in_dim_; }
  int64_t padded() const { return padded_; }
  /// out (padded() entries) = H D x, for x of in_dim() entries.
  void apply(const T* x, T* out) const;
  void apply(const RowView<T>& x, T* out) const;
  int64_t bytes() const { return static_cast<int64_t>(signs_.size() * sizeof(T)); }

 private:
  int64_t in_dim_ = 0, padded_ = 0;
  std::vector<T> signs_;
};

/// m row indices of a padded transform, uniform with replacement.
std::vector<int32_t> sample_rows(int64_t rows, int64_t padded, uint64_t seed, uint64_t stream);

/// SRHT R^d -> R^m: S(x) = (H D x)_P / sqrt(m).
template <typename T>
class Srht {
 public:
  Srht() = default;
  Srht(int64_t in_dim, int64_t out_dim, uint64_t seed, uint64_t stream);
  int64_t in_dim() const { return hd_.in_dim(); }
  int64_t out_dim() const { return static_cast<int64_t>(rows_.size()); }
  /// Scratch entries apply() needs.
  int64_t work_size() const { return hd_.padded(); }
  /// out = factor * S(x); work holds work_size() entries.
  void apply(const RowView<T>& x, T* out, T* work, T factor = T(1)) const;
  void apply(const T* x, T* out, T* work, T factor = T(1)) const;
  int64_t bytes() const { return hd_.bytes() + static_cast<int64_t>(rows_.size() * sizeof(int32_t)); }

 private:
  SignedHadamard<T> hd_;
  std::vector<int32_t> rows_;
};

/// out[r] = factor / sqrt(rows) * ta[ia[r]] * tb[ib[r]] for r < rows: the
/// sampling-and-product step of a TensorSRHT on pre-transformed inputs.
template <typename T>
void tensor_combine(const T* ta, const int32_t* ia, const T* tb, const int32_t* ib, int64_t rows,
                    T factor, T* out);

/// TensorSRHT R^a x R^b -> R^m: T(x, y) = (H D1 x)_P1 * (H D2 y)_P2 / sqrt(m).
template <typename T>
class TensorSrht {
 public:
  TensorSrht() = default;
  TensorSrht(int64_t dim_a, int64_t dim_b, int64_t out_dim, uint64_t seed, uint64_t stream);
  int64_t out_dim() const { return static_cast<int64_t>(rows_a_.size()); }
  const SignedHadamard<T>& side_a() const { return a_; }
  const SignedHadamard<T>& side_b() const { return b_; }
  /// Combines transformed inputs (side_a().apply(x), side_b().apply(y)),
  /// using the first `rows` sampled rows (<= out_dim), times factor.
  void combine(const T* ta, const T* tb, T* out, int64_t rows, T factor = T(1)) const {
    tensor_combine(ta, rows_a_.data(), tb, rows_b_.data(), rows, factor, out);
  }
  /// out = T(x, y); wa, wb hold side_a().padded() and side_b().padded() entries.
  void apply(const RowView<T>& x, const RowView<T>& y, T* out, T* wa, T* wb) const;
  int64_t bytes() const {
    return a_.bytes() + b_.bytes() + static_cast<int64_t>((rows_a_.size() + rows_b_.size()) * sizeof(int32_t));
  }

 private:
  SignedHadamard<T> a_, b_;
  std::vector<int32_t> rows_a_, rows_b_;
};

/// PolySketch (Ahle et al. 2020): a complete binary tree of TensorSRHTs over
/// p = 2^k leaves. Degree j (1..p) puts the input at leaves 0..j-1 and the
/// fixed unit vector e1 at the others, giving Q_j(x) in R^m with
/// E <Q_j x, Q_j y> = <x, y>^j. A sub-tree holding only e1 leaves is replaced
/// by e1 itself (see the constructor) and precomputed; sub-trees holding only
/// x are computed once per row and shared by all degrees, so all degrees
/// together cost (p - 1) + (#degrees) log2(p) TensorSRHT products at most.
///
/// Leaves: a CountSketch to m per leaf when the input dimension exceeds m
/// (the only input-dependent cost, O(nnz)); otherwise the input itself, which
/// is exact and no more expensive.
template <typename T>
class PolySketch {
 public:
  struct Workspace {
    std::vector<T> child_t;          // transformed all-x children, one slot each
    std::vector<unsigned char> ready;  // per slot: child_t computed for this row
    std::vector<T> value;            // per level: a node value before transforming
    std::vector<T> mixed_t;          // per level: transformed mixed child
    std::vector<T> leaf;             // CountSketch of the input
  };

  PolySketch() = default;
  PolySketch(int64_t in_dim, int64_t sketch_dim, int leaves, uint64_t seed, uint64_t stream);
  int leaves() const { return leaves_; }
  int64_t in_dim() const { return in_dim_; }
  int64_t sketch_dim() const { return m_; }
  bool countsketch_leaves() const { return !cs_.empty(); }
  Workspace make_workspace() const;
  int64_t workspace_bytes() const;
  int64_t bytes() const;

  /// For k < count: out[k] (rows[k] <= m entries) = factor[k] * Q_{degree[k]}(x)
  /// restricted to its first rows[k] sampled rows (scale 1/sqrt(rows[k])).
  void apply(const RowView<T>& x, int count, const int* degree, const int64_t* rows,
             const T* factor, T* const* out, Workspace& ws) const;

 private:
  int64_t slot(int level, int64_t k, int side) const { return 2 * (node_offset_[level] + k) + side; }
  const T* child_t(const RowView<T>& x, int level, int64_t k, int side, int degree, Workspace& ws) const;
  void node_value(const RowView<T>& x, int level, int64_t k, int degree, T* out, int64_t rows,
                  T factor, Workspace& ws) const;

  int64_t in_dim_ = 0, m_ = 0, leaf_dim_ = 0, leaf_padded_ = 0, node_padded_ = 0;
  int leaves_ = 0, levels_ = 0;
  std::vector<int64_t> node_offset_;
  std::vector<TensorSrht<T>> nodes_;
  std::vector<CountSketch<T>> cs_;
  std::vector<int64_t> slot_offset_;  // into child_t / const_t
  std::vector<T> const_t_;            // transformed e1 for every child slot
};

/// Sketch of the dot-product kernel P(<x, y>) = sum_j c_j <x, y>^j (c_j >= 0):
/// phi(x) = [sqrt(c_0), sqrt(c_j) Q_j x for each j >= 1 with c_j > 0], then
/// optionally an SRHT to out_dim, so E <phi x, phi y> = P(<x, y>). Zero
/// coefficients cost nothing. When c_0 > 0 the first Q block keeps m - 1 of
/// its m sampled rows, so the packed length is (#blocks) m: a power of two
/// (no wasted padding in the SRHT that follows) whenever m and #blocks are.
template <typename T>
class PolyKernelSketch {
 public:
  struct Workspace {
    typename PolySketch<T>::Workspace poly;
    std::vector<T> packed, work;
  };

  PolyKernelSketch() = default;
  /// out_dim = 0: no final SRHT, output is the packed vector.
  PolyKernelSketch(int64_t in_dim, int64_t sketch_dim, const std::vector<double>& coeffs,
                   int64_t out_dim, uint64_t seed, uint64_t stream);
  int64_t packed_dim() const { return packed_dim_; }
  int64_t out_dim() const { return srht_.out_dim() > 0 ? srht_.out_dim() : packed_dim_; }
  const std::vector<double>& coefficients() const { return coeffs_; }
  Workspace make_workspace() const;
  int64_t workspace_bytes() const;
  int64_t bytes() const { return poly_.bytes() + srht_.bytes(); }
  /// packed (packed_dim() entries) = phi(x) before the final SRHT.
  void apply_packed(const RowView<T>& x, T* packed, Workspace& ws) const;
  /// out (out_dim() entries) = factor * phi(x).
  void apply(const RowView<T>& x, T* out, Workspace& ws, T factor = T(1)) const;

 private:
  std::vector<double> coeffs_;
  int64_t packed_dim_ = 0;
  bool has_constant_ = false;
  std::vector<int> degrees_;
  std::vector<int64_t> rows_, offsets_;
  std::vector<T> factors_;
  PolySketch<T> poly_;
  Srht<T> srht_;
};

}  // namespace ntk
